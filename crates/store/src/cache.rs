//! A cache of what a service read from the store, for the request path. A service moves the
//! cache's generation on after each of its writes commits; an entry is used only while the
//! generation has not moved since the read that filled it began, and for at most `ttl`, so a
//! request never sees a record older than the last write this node acknowledged (nor, for
//! writes the service did not see, such as detached jobs, older than `ttl`). Several nodes
//! sharing one database would need the generation in the store; Rampart's store is
//! single-node today.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct ReadCache<V: Clone> {
    generation: AtomicU64,
    entries: Mutex<HashMap<String, (u64, Instant, V)>>,
    ttl: Duration,
    max: usize,
}

impl<V: Clone> ReadCache<V> {
    /// A cache of at most `max` entries (it starts over beyond), each used for up to `ttl`.
    pub fn new(max: usize, ttl: Duration) -> Self {
        ReadCache {
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
            ttl,
            max,
        }
    }

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

    pub fn get(&self, key: &str) -> Option<V> {
        let g = self.generation();
        let e = self.entries.lock().ok()?;
        match e.get(key) {
            Some((gen, at, v)) if *gen == g && at.elapsed() < self.ttl => Some(v.clone()),
            _ => None,
        }
    }

    /// Stores what a read that began at `generation` found.
    pub fn put(&self, key: String, generation: u64, value: V) {
        if generation != self.generation() {
            return;
        }
        if let Ok(mut e) = self.entries.lock() {
            if e.len() >= self.max {
                e.clear();
            }
            e.insert(key, (generation, Instant::now(), value));
        }
    }

    /// The cached value of `key`, or `read()`'s (then cached).
    pub fn get_or<E>(&self, key: String, read: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some(v) = self.get(&key) {
            return Ok(v);
        }
        let g = self.generation();
        let v = read()?;
        self.put(key, g, v.clone());
        Ok(v)
    }
}
