//! The audit trail.
//!
//! Every request leaves exactly one event in CloudTrail's record format. Events are appended to
//! the store's trail table by the store's single writer, each row carrying
//! `SHA-256("rampart-trail-v1" || seq || previous hash || record)`, so editing, inserting or
//! deleting a row breaks the chain. Every [`DIGEST_EVERY`] events (and when the server stops) a
//! digest signs the chain head with an HMAC key derived from the root of trust: rewriting the
//! whole chain after an edit then needs the root key too.
#![forbid(unsafe_code)]

mod event;
mod service;
mod verify;

pub use event::{AuditEvent, Resource};
pub use service::CloudTrailService;
pub use verify::{verify, Problem, VerifyReport};

use aws_lc_rs::{digest, hmac};
use rampart_store::{Store, StoreError, StoreExt, TrailDigest, TrailRow, Tx};
use std::sync::Arc;

/// A digest is written after this many events.
pub const DIGEST_EVERY: i64 = 1000;

/// The hash of `row` given the previous row's hash. Every column is covered (length-prefixed,
/// so no two different rows hash alike), not just the record: the columns LookupEvents filters
/// on cannot be edited apart from it.
pub fn chain_hash(row: &TrailRow, prev: &[u8]) -> Vec<u8> {
    fn field(ctx: &mut digest::Context, bytes: &[u8]) {
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    }
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"rampart-trail-v1");
    ctx.update(&row.seq.to_be_bytes());
    ctx.update(prev);
    for f in [
        row.account_id.as_str(),
        row.region.as_str(),
        row.event_id.as_str(),
        row.event_name.as_str(),
        row.event_source.as_str(),
        row.username.as_str(),
        row.access_key_id.as_str(),
        row.resource_type.as_str(),
        row.resource_name.as_str(),
        row.record.as_str(),
    ] {
        field(&mut ctx, f.as_bytes());
    }
    ctx.update(&row.event_time_ms.to_be_bytes());
    ctx.update(&[u8::from(row.read_only)]);
    ctx.finish().as_ref().to_vec()
}

/// The MAC over a digest.
pub fn digest_mac(key: &hmac::Key, seq: i64, time_ms: i64, head: &[u8]) -> Vec<u8> {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(b"rampart-trail-digest-v1");
    ctx.update(&seq.to_be_bytes());
    ctx.update(&time_ms.to_be_bytes());
    ctx.update(head);
    ctx.sign().as_ref().to_vec()
}

/// Appends events and signs digests.
#[derive(Clone)]
pub struct Trail {
    store: Arc<dyn Store>,
    mac_key: hmac::Key,
}

impl Trail {
    /// `mac_key_bytes` is derived from the root key (purpose `trail-digest`).
    pub fn new(store: Arc<dyn Store>, mac_key_bytes: &[u8; 32]) -> Self {
        Trail {
            store,
            mac_key: hmac::Key::new(hmac::HMAC_SHA256, mac_key_bytes),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn mac_key(&self) -> &hmac::Key {
        &self.mac_key
    }

    /// Appends `event`. With `wait`, returns once it is durable; otherwise it commits with the
    /// writer's next group (the read-only path).
    pub fn record(&self, event: &AuditEvent, wait: bool) -> Result<(), StoreError> {
        let row = event.to_row();
        let key = self.mac_key.clone();
        let job = move |tx: &mut dyn Tx| append_row(tx, row, &key);
        // No savepoint: the append is one insert (SQLite makes each statement atomic) and,
        // every 1000 events, a digest insert after it; a failure leaves the chain intact.
        if wait {
            self.store.write_as(job, false)
        } else {
            self.store.write_detached_as(job, false);
            Ok(())
        }
    }

    /// Signs the current head (on shutdown, and periodically) so no event goes unsigned long.
    pub fn sign_head(&self) -> Result<(), StoreError> {
        let key = self.mac_key.clone();
        self.store.write(move |tx: &mut dyn Tx| {
            if let Some((seq, hash)) = tx.trail_head()? {
                let last = tx.digests()?.last().map(|d| d.seq).unwrap_or(0);
                if seq > last {
                    put_digest(tx, &key, seq, &hash)?;
                }
            }
            Ok(())
        })
    }

    /// Waits until every queued event is durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.store
            .write(|_tx: &mut dyn Tx| Ok::<(), StoreError>(()))
    }
}

fn put_digest(tx: &mut dyn Tx, key: &hmac::Key, seq: i64, hash: &[u8]) -> Result<(), StoreError> {
    let time_ms = chrono::Utc::now().timestamp_millis();
    let signature = digest_mac(key, seq, time_ms, hash);
    tx.digest_put(&TrailDigest {
        seq,
        time_ms,
        head_hash: hash.to_vec(),
        signature,
    })
}

fn append_row(tx: &mut dyn Tx, mut row: TrailRow, key: &hmac::Key) -> Result<(), StoreError> {
    let (seq, prev) = match tx.trail_head()? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, vec![0u8; 32]),
    };
    row.seq = seq;
    row.hash = chain_hash(&row, &prev);
    tx.trail_append(&row)?;
    if seq % DIGEST_EVERY == 0 {
        put_digest(tx, key, seq, &row.hash)?;
    }
    Ok(())
}
