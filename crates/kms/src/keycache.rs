//! What the request path reads about keys (the key record, its aliases, its grants), kept in
//! memory between requests. Every KMS write moves a generation counter on once it has
//! committed; an entry is used only while the counter has not moved since the read that
//! filled it began, so a request never sees a key older than the last write this node
//! acknowledged. (Several nodes sharing a database would need the generation in the store;
//! Rampart's store is single-node today.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::grants::GrantRecord;
use crate::record::KeyRecord;

/// Entries kept at most; beyond that the cache starts over.
const MAX_ENTRIES: usize = 30_000;

#[derive(Clone)]
pub(crate) enum Entry {
    Key(Arc<KeyRecord>),
    /// The names of the aliases that point at a key.
    Aliases(Arc<Vec<String>>),
    Grants(Arc<Vec<GrantRecord>>),
}

#[derive(Default)]
pub(crate) struct KeyCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<String, (u64, Entry)>>,
}

impl KeyCache {
    /// The generation to tag a read with: take it before reading the store.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Every entry is stale from now on (after a write commits, or the store was wiped).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
    }

    pub fn get(&self, key: &str) -> Option<Entry> {
        let g = self.generation();
        let e = self.entries.lock().ok()?;
        match e.get(key) {
            Some((gen, entry)) if *gen == g => Some(entry.clone()),
            _ => None,
        }
    }

    pub fn put(&self, key: String, generation: u64, entry: Entry) {
        if generation != self.generation() {
            return;
        }
        if let Ok(mut e) = self.entries.lock() {
            if e.len() >= MAX_ENTRIES {
                e.clear();
            }
            e.insert(key, (generation, entry));
        }
    }
}
