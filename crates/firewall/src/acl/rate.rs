//! Counters of rate-based rules: per rule and aggregation key, a ring of 60 buckets spanning
//! the rule's evaluation window (1-second buckets for a 60-second window, 10-second buckets
//! for 600 seconds), so a count is the number of requests in the trailing window.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

const BUCKETS: usize = 60;
const SHARDS: usize = 16;
/// At most this many aggregation keys are tracked per rule (AWS tracks 10,000 addresses per
/// rate-based rule; Rampart keeps more and drops the idle ones first).
pub const MAX_KEYS_PER_RULE: usize = 100_000;

#[derive(Debug, Clone)]
struct Window {
    /// Index (in buckets since the epoch) of the newest bucket written.
    head: u64,
    counts: [u32; BUCKETS],
}

impl Window {
    fn new() -> Self {
        Window {
            head: 0,
            counts: [0; BUCKETS],
        }
    }

    fn advance(&mut self, bucket: u64) {
        if bucket <= self.head {
            return;
        }
        let gap = bucket - self.head;
        if gap >= BUCKETS as u64 {
            self.counts = [0; BUCKETS];
        } else {
            for b in self.head + 1..=bucket {
                if let Some(c) = self.counts.get_mut((b % BUCKETS as u64) as usize) {
                    *c = 0;
                }
            }
        }
        self.head = bucket;
    }

    fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }
}

#[derive(Debug, Default)]
struct RuleState {
    limit: u64,
    window_s: u64,
    keys: HashMap<String, Window>,
}

/// Shared counters of every rate-based rule of the web ACLs an edge enforces.
#[derive(Debug)]
pub struct RateTracker {
    shards: Vec<Mutex<HashMap<String, RuleState>>>,
}

impl Default for RateTracker {
    fn default() -> Self {
        RateTracker {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

fn bucket_of(now_ms: u64, window_s: u64) -> u64 {
    let width_ms = (window_s.max(1) * 1000 / BUCKETS as u64).max(1);
    now_ms / width_ms
}

impl RateTracker {
    fn shard(&self, rule: &str) -> &Mutex<HashMap<String, RuleState>> {
        let mut h = DefaultHasher::new();
        rule.hash(&mut h);
        let i = (h.finish() as usize) % self.shards.len().max(1);
        // `shards` is never empty (built with SHARDS entries).
        &self.shards[i]
    }

    /// Counts one request of `key` for `rule` and returns the requests in the trailing
    /// window, this one included.
    pub fn hit(&self, rule: &str, key: &str, now_ms: u64, window_s: u64, limit: u64) -> u64 {
        let bucket = bucket_of(now_ms, window_s);
        let Ok(mut map) = self.shard(rule).lock() else {
            return 0;
        };
        let state = map.entry(rule.to_string()).or_default();
        if state.window_s != window_s {
            state.keys.clear();
        }
        state.limit = limit;
        state.window_s = window_s;
        if !state.keys.contains_key(key) && state.keys.len() >= MAX_KEYS_PER_RULE {
            let horizon = bucket.saturating_sub(BUCKETS as u64);
            state.keys.retain(|_, w| w.head > horizon);
            if state.keys.len() >= MAX_KEYS_PER_RULE {
                return 1;
            }
        }
        let w = state
            .keys
            .entry(key.to_string())
            .or_insert_with(Window::new);
        w.advance(bucket);
        if let Some(c) = w.counts.get_mut((bucket % BUCKETS as u64) as usize) {
            *c = c.saturating_add(1);
        }
        w.total()
    }

    /// The keys of `rule` whose count in the trailing window is over its limit.
    pub fn over_limit(&self, rule: &str, now_ms: u64) -> Vec<String> {
        let Ok(mut map) = self.shard(rule).lock() else {
            return Vec::new();
        };
        let Some(state) = map.get_mut(rule) else {
            return Vec::new();
        };
        let bucket = bucket_of(now_ms, state.window_s);
        let limit = state.limit;
        let mut out: Vec<String> = state
            .keys
            .iter_mut()
            .filter_map(|(k, w)| {
                w.advance(bucket);
                (w.total() > limit).then(|| k.clone())
            })
            .collect();
        out.sort();
        out
    }

    /// Forgets every rule whose key starts with `prefix` (a deleted web ACL).
    pub fn forget(&self, prefix: &str) {
        for s in &self.shards {
            if let Ok(mut m) = s.lock() {
                m.retain(|k, _| !k.starts_with(prefix));
            }
        }
    }
}
