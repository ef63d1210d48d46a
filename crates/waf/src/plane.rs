//! The data plane as the WAF API sees it: the protected resources (Rampart's proxies) and what
//! each enforces. Implemented by the edge; the API pushes a compiled plan whenever a web ACL,
//! something it references, an association or a logging configuration changes.

use std::sync::Arc;

use rampart_firewall::acl::Plan;
use serde_json::Value;

/// Where and how a web ACL's traffic is logged (`PutLoggingConfiguration`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// The destination ARN (`arn:aws:logs:...:log-group:aws-waf-logs-...`).
    pub destination: String,
    /// The destination's name (`aws-waf-logs-...`): the edge writes to a file of that name.
    pub name: String,
    /// `RedactedFields`, as the API stores them.
    pub redacted_fields: Vec<Value>,
    /// `LoggingFilter`, as the API stores it.
    pub filter: Option<Value>,
}

/// What one protected resource enforces.
#[derive(Debug, Clone)]
pub struct Enforcement {
    pub plan: Arc<Plan>,
    pub logging: Option<Arc<LogConfig>>,
}

/// A sample of requests (`GetSampledRequests`).
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// `SampledHTTPRequest` objects as the API returns them.
    pub requests: Vec<Value>,
    /// How many requests matched in the time window (`PopulationSize`).
    pub population: u64,
}

pub trait DataPlane: Send + Sync {
    /// Whether `arn` is a protected resource (a proxy) in `account` / `region`.
    fn resource_exists(&self, account: &str, region: &str, arn: &str) -> bool;
    /// Sets what `resource` enforces (`None`: no web ACL, everything passes).
    fn enforce(&self, resource: &str, what: Option<Enforcement>);
    /// Sampled requests of a web ACL for a rule's metric name (or the web ACL's own).
    fn sampled(
        &self,
        web_acl_arn: &str,
        metric: &str,
        start_ms: u64,
        end_ms: u64,
        max: usize,
    ) -> Samples;
    /// The aggregation keys a rate-based rule is limiting now.
    fn rate_limited(&self, rate_key: &str) -> Vec<String>;
}

/// A data plane with no resources (the API alone, in tests).
pub struct NoDataPlane;

impl DataPlane for NoDataPlane {
    fn resource_exists(&self, _: &str, _: &str, _: &str) -> bool {
        false
    }
    fn enforce(&self, _: &str, _: Option<Enforcement>) {}
    fn sampled(&self, _: &str, _: &str, _: u64, _: u64, _: usize) -> Samples {
        Samples::default()
    }
    fn rate_limited(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}
