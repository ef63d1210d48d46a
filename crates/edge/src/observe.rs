//! What the edge remembers of the traffic it saw: sampled requests per web ACL and metric
//! name (the last three hours, as `GetSampledRequests` offers), and request counters per web
//! ACL, rule and action (Prometheus text on `/metrics`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value;

/// AWS keeps samples for three hours.
const WINDOW_MS: u64 = 3 * 3600 * 1000;
/// Samples kept per (web ACL, metric name); older ones are dropped first.
const MAX_SAMPLES: usize = 5_000;

#[derive(Default)]
struct Bucket {
    /// (time ms, `SampledHTTPRequest` JSON)
    samples: VecDeque<(u64, Value)>,
    /// (time ms) of every request counted, for `PopulationSize` (bounded like the samples).
    seen: VecDeque<u64>,
}

/// Sampled requests and counters.
#[derive(Default)]
pub struct Observations {
    samples: Mutex<HashMap<(String, String), Bucket>>,
    counters: Mutex<BTreeMap<(String, String, &'static str), u64>>,
}

impl Observations {
    /// Records a request under a web ACL and one of its metric names.
    pub fn sample(&self, acl_arn: &str, metric: &str, now_ms: u64, sample: Value) {
        let Ok(mut m) = self.samples.lock() else {
            return;
        };
        let b = m
            .entry((acl_arn.to_string(), metric.to_string()))
            .or_default();
        let horizon = now_ms.saturating_sub(WINDOW_MS);
        while b.samples.front().is_some_and(|(t, _)| *t < horizon) || b.samples.len() >= MAX_SAMPLES
        {
            b.samples.pop_front();
        }
        while b.seen.front().is_some_and(|t| *t < horizon) || b.seen.len() >= MAX_SAMPLES * 20 {
            b.seen.pop_front();
        }
        b.samples.push_back((now_ms, sample));
        b.seen.push_back(now_ms);
    }

    /// Up to `max` samples in `[start, end]`, newest first, and how many requests there were.
    pub fn sampled(
        &self,
        acl_arn: &str,
        metric: &str,
        start_ms: u64,
        end_ms: u64,
        max: usize,
    ) -> (Vec<Value>, u64) {
        let Ok(m) = self.samples.lock() else {
            return (Vec::new(), 0);
        };
        let Some(b) = m.get(&(acl_arn.to_string(), metric.to_string())) else {
            return (Vec::new(), 0);
        };
        let inside = |t: u64| t >= start_ms && t <= end_ms;
        let population = b.seen.iter().filter(|t| inside(**t)).count() as u64;
        let out = b
            .samples
            .iter()
            .rev()
            .filter(|(t, _)| inside(*t))
            .take(max)
            .map(|(_, v)| v.clone())
            .collect();
        (out, population)
    }

    /// Counts a request: `action` is `AllowedRequests`, `BlockedRequests`, `CountedRequests`,
    /// `CaptchaRequests` or `ChallengeRequests`, as AWS WAF's CloudWatch metrics are named.
    pub fn count(&self, acl: &str, rule: &str, action: &'static str) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry((acl.to_string(), rule.to_string(), action))
                .or_insert(0) += 1;
        }
    }

    /// The counters in Prometheus text format.
    pub fn prometheus(&self) -> String {
        let mut out = String::from(
            "# HELP rampart_waf_requests_total Requests by web ACL, rule and action (AWS WAF's AllowedRequests, BlockedRequests, CountedRequests, CaptchaRequests, ChallengeRequests).\n# TYPE rampart_waf_requests_total counter\n",
        );
        if let Ok(c) = self.counters.lock() {
            for ((acl, rule, action), n) in c.iter() {
                out.push_str(&format!(
                    "rampart_waf_requests_total{{web_acl=\"{}\",rule=\"{}\",metric=\"{action}\"}} {n}\n",
                    esc(acl),
                    esc(rule)
                ));
            }
        }
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
