//! What the request path reads about keys (the key record, its aliases, its grants), kept in
//! memory between requests ([`rampart_store::cache::ReadCache`]; every KMS write invalidates
//! it).

use std::sync::Arc;
use std::time::Duration;

use crate::grants::GrantRecord;
use crate::record::KeyRecord;

#[derive(Clone)]
pub(crate) enum Entry {
    Key(Arc<KeyRecord>),
    /// The names of the aliases that point at a key.
    Aliases(Arc<Vec<String>>),
    Grants(Arc<Vec<GrantRecord>>),
}

pub(crate) type KeyCache = rampart_store::cache::ReadCache<Entry>;

pub(crate) fn new() -> KeyCache {
    KeyCache::new(30_000, Duration::from_secs(60))
}
