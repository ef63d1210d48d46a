//! A bounded, thread-safe cache of derived signing keys.
//!
//! Deriving a signing key costs four HMACs; a busy server sees the same
//! (access key, date, region, service) over and over. Entries are keyed by that tuple *and* a
//! keyed fingerprint of the secret, so a rotated or changed secret never meets a key derived
//! from the old one. The fingerprint is an HMAC under a random per-cache key: it reveals nothing
//! comparable outside this process. Stored keys are zeroized when evicted or dropped.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use aws_lc_rs::{hmac, rand};
use zeroize::Zeroizing;

use crate::signing_key_zeroizing;

/// Default number of entries a [`SigningKeyCache`] holds.
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
    secret_fingerprint: [u8; 32],
}

struct Inner {
    map: HashMap<CacheKey, Zeroizing<[u8; 32]>>,
    /// Insertion order, oldest first, for eviction. Holds exactly the keys of `map`.
    order: VecDeque<CacheKey>,
    hits: u64,
    misses: u64,
}

/// Hit and miss counters of a [`SigningKeyCache`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

/// Bounded (oldest-first eviction), thread-safe cache of derived SigV4 signing keys.
pub struct SigningKeyCache {
    capacity: usize,
    fingerprint_key: hmac::Key,
    inner: Mutex<Inner>,
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        SigningKeyCache::new(DEFAULT_CACHE_CAPACITY)
    }
}

impl SigningKeyCache {
    /// A cache holding at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        let rng = rand::SystemRandom::new();
        let fingerprint_key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).unwrap_or_else(|_| {
            // The system RNG failing is next to impossible; a fixed key still keeps
            // different secrets apart, it only makes fingerprints predictable.
            hmac::Key::new(hmac::HMAC_SHA256, b"rampart-sigv4-signing-key-cache")
        });
        SigningKeyCache {
            capacity: capacity.max(1),
            fingerprint_key,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
                hits: 0,
                misses: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent in a way that
        // matters (worst case a stale order entry), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fingerprint(&self, secret: &str) -> [u8; 32] {
        let tag = hmac::sign(&self.fingerprint_key, secret.as_bytes());
        let mut out = [0u8; 32];
        for (o, t) in out.iter_mut().zip(tag.as_ref()) {
            *o = *t;
        }
        out
    }

    /// The signing key for the scope, derived from `secret` on a miss.
    pub fn get_or_derive(
        &self,
        access_key_id: &str,
        secret: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> Zeroizing<[u8; 32]> {
        let key = CacheKey {
            access_key_id: access_key_id.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            secret_fingerprint: self.fingerprint(secret),
        };
        {
            let mut inner = self.lock();
            if let Some(k) = inner.map.get(&key) {
                let found = Zeroizing::new(**k);
                inner.hits = inner.hits.saturating_add(1);
                return found;
            }
            inner.misses = inner.misses.saturating_add(1);
        }
        // Derive outside the lock.
        let derived = signing_key_zeroizing(secret, date, region, service);
        let mut inner = self.lock();
        if !inner.map.contains_key(&key) {
            while inner.map.len() >= self.capacity {
                match inner.order.pop_front() {
                    Some(old) => {
                        inner.map.remove(&old);
                    }
                    None => break,
                }
            }
            inner.order.push_back(key.clone());
            inner.map.insert(key, Zeroizing::new(*derived));
        }
        derived
    }

    /// Drops every key derived for `access_key_id` (call when its secret changes or the key is
    /// deleted; entries are also keyed by the secret, so this is about memory, not correctness).
    pub fn invalidate(&self, access_key_id: &str) {
        let mut inner = self.lock();
        inner.map.retain(|k, _| k.access_key_id != access_key_id);
        inner.order.retain(|k| k.access_key_id != access_key_id);
    }

    /// Drops every key.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.map.clear();
        inner.order.clear();
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when no key is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Maximum number of cached keys.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Hit and miss counts since creation.
    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            hits: inner.hits,
            misses: inner.misses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing_key;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn hit_returns_the_same_key_as_derivation() {
        let cache = SigningKeyCache::new(8);
        let a = cache.get_or_derive("AKID", SECRET, "20150830", "us-east-1", "iam");
        let b = cache.get_or_derive("AKID", SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(*a, signing_key(SECRET, "20150830", "us-east-1", "iam"));
        assert_eq!(*a, *b);
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn scope_and_secret_are_part_of_the_key() {
        let cache = SigningKeyCache::new(8);
        let base = cache.get_or_derive("AKID", SECRET, "20150830", "us-east-1", "iam");
        for (akid, secret, date, region, service) in [
            ("AKID", "other-secret", "20150830", "us-east-1", "iam"),
            ("AKID", SECRET, "20150831", "us-east-1", "iam"),
            ("AKID", SECRET, "20150830", "eu-west-1", "iam"),
            ("AKID", SECRET, "20150830", "us-east-1", "kms"),
        ] {
            let k = cache.get_or_derive(akid, secret, date, region, service);
            assert_ne!(*k, *base);
            assert_eq!(*k, signing_key(secret, date, region, service));
        }
        assert_eq!(cache.stats().hits, 0);
        assert_eq!(cache.len(), 5);
    }

    #[test]
    fn bounded_with_oldest_evicted() {
        let cache = SigningKeyCache::new(3);
        for d in ["20150801", "20150802", "20150803", "20150804"] {
            cache.get_or_derive("AKID", SECRET, d, "us-east-1", "iam");
        }
        assert_eq!(cache.len(), 3);
        // The newest is still there, the oldest is gone.
        cache.get_or_derive("AKID", SECRET, "20150804", "us-east-1", "iam");
        assert_eq!(cache.stats().hits, 1);
        cache.get_or_derive("AKID", SECRET, "20150801", "us-east-1", "iam");
        assert_eq!(cache.stats().hits, 1);
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn invalidate_and_clear() {
        let cache = SigningKeyCache::new(8);
        cache.get_or_derive("A", SECRET, "20150830", "us-east-1", "iam");
        cache.get_or_derive("B", SECRET, "20150830", "us-east-1", "iam");
        cache.invalidate("A");
        assert_eq!(cache.len(), 1);
        cache.get_or_derive("A", SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(cache.stats().hits, 0);
        cache.clear();
        assert!(cache.is_empty());
        assert_eq!(cache.capacity(), 8);
        assert_eq!(SigningKeyCache::new(0).capacity(), 1);
    }

    #[test]
    fn shared_between_threads() {
        let cache = std::sync::Arc::new(SigningKeyCache::new(16));
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let c = cache.clone();
                std::thread::spawn(move || {
                    let region = if i % 2 == 0 { "us-east-1" } else { "eu-west-1" };
                    for _ in 0..50 {
                        let k = c.get_or_derive("AKID", SECRET, "20150830", region, "iam");
                        assert_eq!(*k, signing_key(SECRET, "20150830", region, "iam"));
                    }
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().is_ok());
        }
        assert_eq!(cache.len(), 2);
    }
}
