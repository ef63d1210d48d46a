//! The HTTP(S) front of Rampart: one request path for every API.
//!
//! ```text
//! TLS -> limits -> SigV4 (access key -> principal) -> route (service, operation)
//!   -> decode + validate (from the model) -> authorize -> service -> audit event -> encode
//! ```
//! Services plug in as a [`ServiceEntry`]: the generated model of their API and a dispatch
//! function. They never see HTTP.
#![forbid(unsafe_code)]

pub mod authz;
mod handler;
mod protocol;
pub mod tls;

pub use handler::{handle, Reply};

use rampart_core::{AwsError, RequestContext};
use rampart_identity::Identity;
use rampart_model::ServiceModel;
use rampart_sigv4::SigningKeyCache;
use rampart_store::Store;
use rampart_trail::{AuditEvent, Trail};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A service's operations: `(context, operation name, validated input) -> output`.
pub type Dispatch =
    Arc<dyn Fn(&RequestContext, &str, Value) -> Result<Value, AwsError> + Send + Sync>;

/// What an operation acts on, for services with resource policies:
/// `(context, operation name, validated input) -> the accesses to authorize`. An empty list
/// falls back to the identity-only check of [`authz::resource_for`].
pub type Resources = Arc<
    dyn Fn(&RequestContext, &str, &Value) -> Result<Vec<rampart_core::ResourceAccess>, AwsError>
        + Send
        + Sync,
>;

/// What a service adds to an operation's audit event beyond the model's view of the request
/// and response: `(operation name, output when it succeeded, event)`. KMS uses it for the
/// members CloudTrail always shows (the default encryption algorithm, the key material used).
pub type EventHook = Arc<dyn Fn(&str, Option<&Value>, &mut AuditEvent) + Send + Sync>;

/// One API served by Rampart.
#[derive(Clone)]
pub struct ServiceEntry {
    pub model: &'static ServiceModel,
    pub dispatch: Dispatch,
    pub resources: Option<Resources>,
    pub event: Option<EventHook>,
}

/// The services, indexed by SigV4 signing name and by JSON target prefix.
#[derive(Clone, Default)]
pub struct Registry {
    by_signing_name: HashMap<&'static str, ServiceEntry>,
    by_target: HashMap<&'static str, ServiceEntry>,
}

impl Registry {
    pub fn add(&mut self, model: &'static ServiceModel, dispatch: Dispatch) {
        self.add_entry(ServiceEntry {
            model,
            dispatch,
            resources: None,
            event: None,
        });
    }

    /// Adds a service whose resources carry policies (see [`Resources`]).
    pub fn add_with_resources(
        &mut self,
        model: &'static ServiceModel,
        dispatch: Dispatch,
        resources: Resources,
    ) {
        self.add_entry(ServiceEntry {
            model,
            dispatch,
            resources: Some(resources),
            event: None,
        });
    }

    /// Sets the audit-event hook of the service registered under `model`.
    pub fn set_event_hook(&mut self, model: &'static ServiceModel, hook: EventHook) {
        if let Some(e) = self.by_signing_name.get_mut(model.signing_name) {
            e.event = Some(hook.clone());
        }
        if let Some(e) = self.by_target.get_mut(model.target_prefix) {
            e.event = Some(hook);
        }
    }

    fn add_entry(&mut self, e: ServiceEntry) {
        let model = e.model;
        self.by_signing_name.insert(model.signing_name, e.clone());
        if !model.target_prefix.is_empty() {
            self.by_target.insert(model.target_prefix, e);
        }
    }

    pub fn by_signing_name(&self, name: &str) -> Option<&ServiceEntry> {
        self.by_signing_name.get(name)
    }

    pub fn by_target_prefix(&self, prefix: &str) -> Option<&ServiceEntry> {
        self.by_target.get(prefix)
    }
}

/// Request limits, enforced before bodies are read.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_headers: usize,
    /// Time allowed to receive the request head.
    pub header_timeout: Duration,
    /// Time allowed to receive the whole body.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 * 1024 * 1024,
            max_headers: 100,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything a request needs.
pub struct State {
    pub registry: Registry,
    pub identity: Identity,
    pub trail: Trail,
    pub store: Arc<dyn Store>,
    pub sig_cache: SigningKeyCache,
    pub limits: Limits,
    /// `--dev`: unknown key ids are accepted unsigned, and the reset endpoints exist.
    pub dev: bool,
    /// Called by the `--dev` reset after the store is wiped (re-creates the dev account).
    pub on_reset: Option<Arc<dyn Fn() -> Result<(), String> + Send + Sync>>,
    /// Prometheus text for `GET /metrics` (unauthenticated, like `/_rampart/health`).
    pub metrics: Option<Arc<dyn Fn() -> String + Send + Sync>>,
    pub default_region: String,
    /// The regions this node serves; a request signed for another is refused.
    pub regions: Vec<String>,
    /// `trail.sync = "strict"`: every audit event, read-only calls' included, is durable
    /// before the response is sent (otherwise read-only events commit with the next group).
    pub strict_trail: bool,
    /// Identity-based authorization of every request; `None` allows every authenticated
    /// caller (embedded uses and tests).
    pub authorizer: Option<Arc<authz::Authorizer>>,
}

pub mod serve;
pub use serve::{serve, Listener};

/// AWS's commercial regions: what a node serves unless configured otherwise.
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Whether plain HTTP may be offered on `addr`.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
