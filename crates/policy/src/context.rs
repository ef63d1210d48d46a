//! The request an evaluation answers: who (a [`Principal`]), what ([`Request::action`]), on
//! what ([`Request::resource`]) and the condition context keys ([`ContextKeys`]).

use crate::values::{parse_date, parse_number};
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;

/// The context map's hasher: foldhash, several times cheaper than SipHash on these short
/// keys (a request sets 15-20 of them), seeded per process.
type KeyHasher = foldhash::fast::RandomState;
use std::net::IpAddr;
use std::sync::OnceLock;

/// What kind of caller a [`Principal`] is. It decides which policy types apply (a root user has
/// no identity policies; a role session can have session policies) and how a resource policy
/// naming the caller combines with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::111122223333:root`).
    Root,
    /// An IAM user (`arn:aws:iam::111122223333:user/alice`).
    User,
    /// An IAM role itself (`arn:aws:iam::111122223333:role/r`), as in a simulation; requests
    /// are made by [`PrincipalKind::AssumedRole`] sessions.
    Role,
    /// A role session (`arn:aws:sts::111122223333:assumed-role/r/session`);
    /// [`Principal::session_issuer`] is the role's ARN.
    AssumedRole,
    /// A federated user session from `GetFederationToken`
    /// (`arn:aws:sts::111122223333:federated-user/bob`); [`Principal::session_issuer`] is the
    /// ARN of the IAM user who federated.
    FederatedUser,
    /// An AWS service; [`Principal::arn`] is its service principal (`kms.amazonaws.com`).
    Service,
    /// A web identity or SAML provider, as in a role trust policy; [`Principal::arn`] is the
    /// provider (`cognito-identity.amazonaws.com` or a `saml-provider` ARN).
    WebIdentity,
    /// An unauthenticated caller.
    Anonymous,
}

impl PrincipalKind {
    /// The value of `aws:PrincipalType`.
    pub fn principal_type(self) -> &'static str {
        match self {
            PrincipalKind::Root => "Account",
            PrincipalKind::User => "User",
            PrincipalKind::Role | PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::Service => "Service",
            PrincipalKind::WebIdentity => "WebIdentityUser",
            PrincipalKind::Anonymous => "Anonymous",
        }
    }

    /// True for the session principals (role sessions and federated user sessions).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
        )
    }
}

/// The caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's ARN (for a service or web identity, the principal's name).
    pub arn: String,
    /// The caller's account id (empty for services and anonymous callers).
    pub account: String,
    pub kind: PrincipalKind,
    /// `aws:userid`: `AIDA...` for a user, `AROA...:session` for a role session, the account
    /// id for root, `account:name` for a federated user, `anonymous`.
    pub user_id: String,
    /// The principal's tags (a role session's: the role's tags overridden by session tags).
    pub tags: Vec<(String, String)>,
    /// For a role session, the role's ARN (with its path); for a federated user, the ARN of the
    /// IAM user who federated. A resource policy that names this ARN grants the session
    /// permissions that boundaries and session policies still limit.
    pub session_issuer: Option<String>,
    /// The S3 canonical user id of the caller's account, matched by `CanonicalUser`.
    pub canonical_id: Option<String>,
}

impl Principal {
    /// A principal with the given fields and no tags, issuer or canonical id.
    pub fn new(kind: PrincipalKind, arn: &str, account: &str, user_id: &str) -> Principal {
        Principal {
            arn: arn.to_owned(),
            account: account.to_owned(),
            kind,
            user_id: user_id.to_owned(),
            tags: Vec::new(),
            session_issuer: None,
            canonical_id: None,
        }
    }

    /// An unauthenticated caller.
    pub fn anonymous() -> Principal {
        Principal::new(PrincipalKind::Anonymous, "anonymous", "", "anonymous")
    }

    /// Infers the kind, the account and (for sessions) the issuer from an ARN:
    /// `arn:aws:iam::A:root`, `...:user/path/name`, `...:role/path/name`,
    /// `arn:aws:sts::A:assumed-role/role/session`, `arn:aws:sts::A:federated-user/name`;
    /// `*.amazonaws.com` is a service and `anonymous` the anonymous caller. `user_id` is the
    /// account id for root, `account:name` for a federated user and empty otherwise; a
    /// federated user's issuer is not in its ARN and is left unset. `None` for anything else.
    pub fn from_arn(arn: &str) -> Option<Principal> {
        if arn == "anonymous" || arn == "*" {
            return Some(Principal::anonymous());
        }
        if !arn.starts_with("arn:") && arn.ends_with(".amazonaws.com") {
            return Some(Principal::new(PrincipalKind::Service, arn, "", arn));
        }
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(_region), Some(account), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let mut p = match (service, res) {
            ("iam", "root") => Principal::new(PrincipalKind::Root, arn, account, account),
            ("iam", r) if r.starts_with("user/") => {
                Principal::new(PrincipalKind::User, arn, account, "")
            }
            ("iam", r) if r.starts_with("role/") => {
                Principal::new(PrincipalKind::Role, arn, account, "")
            }
            ("sts", r) if r.starts_with("assumed-role/") => {
                let mut it = r.splitn(3, '/').skip(1);
                let role = it.next().filter(|s| !s.is_empty())?;
                it.next().filter(|s| !s.is_empty())?;
                let mut p = Principal::new(PrincipalKind::AssumedRole, arn, account, "");
                p.session_issuer = Some(format!("arn:{partition}:iam::{account}:role/{role}"));
                p
            }
            ("sts", r) if r.starts_with("federated-user/") => {
                let name = r
                    .strip_prefix("federated-user/")
                    .filter(|s| !s.is_empty())?;
                // The federating IAM user is not in the ARN: callers set `session_issuer`.
                let mut p = Principal::new(PrincipalKind::FederatedUser, arn, account, "");
                p.user_id = format!("{account}:{name}");
                p
            }
            _ => return None,
        };
        p.account = account.to_owned();
        Some(p)
    }

    /// The friendly name of an IAM user (`aws:username`): the last path segment of the ARN.
    pub fn user_name(&self) -> Option<&str> {
        if self.kind != PrincipalKind::User {
            return None;
        }
        self.arn.rsplit('/').next()
    }

    /// The value of `aws:PrincipalArn`: a role session's role ARN, otherwise the caller's ARN.
    pub fn principal_arn(&self) -> &str {
        match (self.kind, &self.session_issuer) {
            (PrincipalKind::AssumedRole, Some(role)) => role,
            _ => &self.arn,
        }
    }
}

/// A value a caller puts in the request context. Every value is also kept as text, so any
/// operator can read any value (`"10"` is a number to `NumericEquals` and a string to
/// `StringEquals`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Number(f64),
    Bool(bool),
    Date(DateTime<Utc>),
    Ip(IpAddr),
    Binary(Vec<u8>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::String(s.clone())
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Value {
        // Context numbers are small (counts, sizes, epoch seconds); exact below 2^53.
        #[allow(clippy::cast_precision_loss)]
        Value::Number(n as f64)
    }
}
impl From<f64> for Value {
    fn from(n: f64) -> Value {
        Value::Number(n)
    }
}
impl From<IpAddr> for Value {
    fn from(ip: IpAddr) -> Value {
        Value::Ip(ip)
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(d: DateTime<Utc>) -> Value {
        Value::Date(d)
    }
}

/// One value of a context key. Its readings as every type (text, number, date, address) are
/// made on first use and kept, so evaluation parses each at most once and a context built
/// for a request whose policies test few keys costs little.
#[derive(Debug, Clone)]
pub struct ContextValue {
    value: Value,
    text: OnceLock<String>,
    number: OnceLock<Option<f64>>,
    epoch_ms: OnceLock<Option<i64>>,
    ip: OnceLock<Option<IpAddr>>,
}

impl PartialEq for ContextValue {
    fn eq(&self, other: &ContextValue) -> bool {
        self.value == other.value
    }
}

/// A key name in the case the map keeps (ASCII names, nearly all, without Unicode tables).
fn lower(key: &str) -> String {
    if key.is_ascii() {
        key.to_ascii_lowercase()
    } else {
        key.to_lowercase()
    }
}

/// Whether text may be a number or a date: those start with a digit or a sign, so names,
/// ARNs and the like (most values) skip the parsers.
fn numeric(text: &str) -> bool {
    text.trim_start()
        .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')
}

impl ContextValue {
    fn new(value: Value) -> ContextValue {
        ContextValue {
            value,
            text: OnceLock::new(),
            number: OnceLock::new(),
            epoch_ms: OnceLock::new(),
            ip: OnceLock::new(),
        }
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        match &self.value {
            Value::String(s) => s,
            v => self.text.get_or_init(|| match v {
                Value::Number(n) => format_number(*n),
                Value::Bool(b) => b.to_string(),
                Value::Date(d) => d.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                Value::Ip(ip) => ip.to_string(),
                Value::Binary(b) => base64::engine::general_purpose::STANDARD.encode(b),
                Value::String(s) => s.clone(),
            }),
        }
    }
    pub(crate) fn number(&self) -> Option<f64> {
        *self.number.get_or_init(|| match &self.value {
            Value::String(s) if numeric(s) => parse_number(s),
            Value::Number(n) => Some(*n),
            _ => None,
        })
    }
    pub(crate) fn epoch_ms(&self) -> Option<i64> {
        *self.epoch_ms.get_or_init(|| match &self.value {
            Value::String(s) if numeric(s) => parse_date(s),
            Value::Number(n) => epoch_ms_of_seconds(*n),
            Value::Date(d) => Some(d.timestamp_millis()),
            _ => None,
        })
    }
    pub(crate) fn ip(&self) -> Option<IpAddr> {
        *self.ip.get_or_init(|| match &self.value {
            Value::String(s) if s.contains(['.', ':']) => s.trim().parse::<IpAddr>().ok(),
            Value::Ip(ip) => Some(*ip),
            _ => None,
        })
    }
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.value {
            Value::Binary(b) => b,
            _ => self.as_str().as_bytes(),
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        // Exact: an integral value below 2^53.
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        i.to_string()
    } else {
        n.to_string()
    }
}

fn epoch_ms_of_seconds(n: f64) -> Option<i64> {
    let ms = n * 1000.0;
    // In range and finite, so the cast does not saturate.
    #[allow(clippy::cast_possible_truncation)]
    (ms.is_finite() && ms.abs() < 9.0e18).then_some(ms as i64)
}

/// The condition context: case-insensitive key names, each with zero or more values. A key
/// with no values is treated as absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextKeys {
    map: HashMap<String, Vec<ContextValue>, KeyHasher>,
}

impl ContextKeys {
    pub fn new() -> ContextKeys {
        ContextKeys::default()
    }

    /// Adds a value to `key` (after any it already has).
    pub fn insert(&mut self, key: &str, value: impl Into<Value>) -> &mut ContextKeys {
        self.map
            .entry(lower(key))
            .or_default()
            .push(ContextValue::new(value.into()));
        self
    }

    /// Sets `key` to exactly these values (none: the key is present with no values, which
    /// evaluates as absent).
    pub fn set<V: Into<Value>>(
        &mut self,
        key: &str,
        values: impl IntoIterator<Item = V>,
    ) -> &mut ContextKeys {
        let vals = values
            .into_iter()
            .map(|v| ContextValue::new(v.into()))
            .collect();
        self.map.insert(lower(key), vals);
        self
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> &mut ContextKeys {
        self.map.remove(&lower(key));
        self
    }

    /// The values of `key` (any case), if present.
    pub fn get(&self, key: &str) -> Option<&[ContextValue]> {
        if key.bytes().any(|b| b.is_ascii_uppercase()) || !key.is_ascii() {
            self.map.get(&lower(key)).map(Vec::as_slice)
        } else {
            self.get_lower(key)
        }
    }

    /// Lookup of an already lowercased key; no allocation.
    pub(crate) fn get_lower(&self, key: &str) -> Option<&[ContextValue]> {
        self.map.get(key).map(Vec::as_slice)
    }

    /// The single value of `key` as text: `None` when absent or multivalued (a multivalued key
    /// cannot be a policy variable).
    pub(crate) fn single_text_lower(&self, key: &str) -> Option<&str> {
        match self.map.get(key).map(Vec::as_slice) {
            Some([v]) => Some(v.as_str()),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The keys (lowercased) and their values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[ContextValue])> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// A context holding the global keys of `principal` and `env`; see
    /// [`ContextKeys::add_global_keys`].
    pub fn for_request(principal: &Principal, env: &RequestEnvironment) -> ContextKeys {
        // Room for the global keys and a service's own without growing (each growth rehashes
        // every key).
        let mut c = ContextKeys {
            map: HashMap::with_capacity_and_hasher(32, KeyHasher::default()),
        };
        c.add_global_keys(principal, env);
        c
    }

    /// Adds the global condition keys AWS puts in every request context:
    /// `aws:CurrentTime`, `aws:EpochTime`, `aws:SecureTransport`, `aws:SourceIp` (when known),
    /// `aws:RequestedRegion` (when given), `aws:PrincipalType`, `aws:userid`,
    /// and for authenticated callers `aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:PrincipalTag/<key>` per tag, `aws:username` (IAM users only),
    /// `aws:MultiFactorAuthPresent` and `aws:TokenIssueTime` (when given, as for temporary
    /// credentials), `aws:PrincipalIsAWSService` and for services `aws:PrincipalServiceName`.
    /// Callers add `aws:RequestTag/*`, `aws:ResourceTag/*`, `aws:TagKeys` and service keys.
    pub fn add_global_keys(&mut self, principal: &Principal, env: &RequestEnvironment) {
        self.set("aws:CurrentTime", [Value::Date(env.now)]);
        self.set("aws:EpochTime", [Value::from(env.now.timestamp())]);
        self.set("aws:SecureTransport", [env.secure_transport]);
        if let Some(ip) = env.source_ip {
            self.set("aws:SourceIp", [ip]);
        }
        if let Some(region) = &env.requested_region {
            self.set("aws:RequestedRegion", [region.as_str()]);
        }
        self.set("aws:PrincipalType", [principal.kind.principal_type()]);
        if !principal.user_id.is_empty() {
            self.set("aws:userid", [principal.user_id.as_str()]);
        }
        let is_service = principal.kind == PrincipalKind::Service;
        self.set("aws:PrincipalIsAWSService", [is_service]);
        if is_service {
            self.set("aws:PrincipalServiceName", [principal.arn.as_str()]);
            return;
        }
        if matches!(
            principal.kind,
            PrincipalKind::Anonymous | PrincipalKind::WebIdentity
        ) {
            return;
        }
        self.set("aws:PrincipalArn", [principal.principal_arn()]);
        if !principal.account.is_empty() {
            self.set("aws:PrincipalAccount", [principal.account.as_str()]);
        }
        if let Some(name) = principal.user_name() {
            self.set("aws:username", [name]);
        }
        for (k, v) in &principal.tags {
            self.set(&format!("aws:PrincipalTag/{k}"), [v.as_str()]);
        }
        if let Some(mfa) = env.mfa_present {
            self.set("aws:MultiFactorAuthPresent", [mfa]);
        }
        if let Some(t) = env.token_issue_time {
            self.set("aws:TokenIssueTime", [Value::Date(t)]);
        }
        if let Some(t) = env.mfa_auth_time {
            let age = (env.now - t).num_seconds().max(0);
            self.set("aws:MultiFactorAuthAge", [Value::Number(age as f64)]);
        }
    }
}

/// What the transport and the caller's credentials tell about a request, for
/// [`ContextKeys::add_global_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEnvironment {
    pub now: DateTime<Utc>,
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    pub requested_region: Option<String>,
    /// `Some` for requests signed with temporary credentials (AWS sets the key only then).
    pub mfa_present: Option<bool>,
    /// When the temporary credentials were issued.
    pub token_issue_time: Option<DateTime<Utc>>,
    /// When MFA was checked for them (`aws:MultiFactorAuthAge`; absent without MFA).
    pub mfa_auth_time: Option<DateTime<Utc>>,
}

impl RequestEnvironment {
    pub fn new(now: DateTime<Utc>) -> RequestEnvironment {
        RequestEnvironment {
            now,
            source_ip: None,
            secure_transport: true,
            requested_region: None,
            mfa_present: None,
            token_issue_time: None,
            mfa_auth_time: None,
        }
    }
}

/// One authorization question.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub principal: Principal,
    /// `service:Action`, as `kms:Encrypt`.
    pub action: String,
    /// The resource ARN, or `*` for actions without a resource.
    pub resource: String,
    pub context: ContextKeys,
}

impl Request {
    pub fn new(principal: Principal, action: &str, resource: &str) -> Request {
        Request {
            principal,
            action: action.to_owned(),
            resource: resource.to_owned(),
            context: ContextKeys::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_from_arns() {
        let p = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/Admin/s1");
        assert!(p
            .as_ref()
            .is_some_and(|p| p.kind == PrincipalKind::AssumedRole
                && p.account == "111122223333"
                && p.session_issuer.as_deref() == Some("arn:aws:iam::111122223333:role/Admin")
                && p.principal_arn() == "arn:aws:iam::111122223333:role/Admin"));
        let u = Principal::from_arn("arn:aws:iam::111122223333:user/div/alice");
        assert!(u.as_ref().is_some_and(|u| u.user_name() == Some("alice")));
        assert!(Principal::from_arn("arn:aws:iam::111122223333:root")
            .is_some_and(|p| p.kind == PrincipalKind::Root));
        assert!(Principal::from_arn("kms.amazonaws.com")
            .is_some_and(|p| p.kind == PrincipalKind::Service));
        assert!(Principal::from_arn("arn:aws:s3:::bucket").is_none());
        assert!(Principal::from_arn("arn:aws:sts::1:assumed-role/").is_none());
    }

    #[test]
    fn keys_are_case_insensitive_and_typed() {
        let mut c = ContextKeys::new();
        c.insert("AWS:SourceIp", "10.1.2.3");
        c.insert("s3:max-keys", 10_i64);
        let ip = c.get("aws:sourceip");
        assert!(ip.is_some_and(|v| v.len() == 1 && v.iter().all(|v| v.ip().is_some())));
        let n = c.get("S3:MAX-KEYS");
        assert!(n.is_some_and(|v| v
            .iter()
            .all(|v| v.as_str() == "10" && v.number() == Some(10.0))));
        c.set::<&str>("aws:TagKeys", []);
        assert!(c.get("aws:tagkeys").is_some_and(<[ContextValue]>::is_empty));
    }
}
