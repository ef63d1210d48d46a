//! Web ACLs and rule groups: the WAFv2 JSON (as the API stores it) compiled into an evaluation
//! plan, and the plan evaluated per request with AWS's semantics (priority order, terminating
//! and non-terminating actions, labels, rule group overrides, rate-based rules, custom
//! responses and inserted headers). Pure: addresses of referenced sets come from a
//! [`Resolver`], time and rate counters from the caller.

mod eval;
pub mod field;
pub mod ip;
pub mod json;
pub mod rate;
mod stmt;
pub mod wcu;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

pub use eval::{
    EvalEnv, GeoLookup, NonTerminating, RateHit, Response, RuleGroupHit, Terminal, Terminating,
    TokenState, Verdict,
};
pub use rate::RateTracker;
pub use stmt::Stmt;

use crate::managed::ManagedGroup;

/// AWS's reason texts of `WAFInvalidParameterException`.
pub const REASON_FORMAT: &str = "The parameter contains formatting that is not valid.";
pub const REASON_EXACTLY_ONE: &str =
    "You have used none or multiple values for a field that requires exactly one value.";
pub const REASON_REQUIRED: &str = "A required field is missing from the parameter.";
pub const REASON_DUPLICATE: &str = "The key is duplicated.";
pub const REASON_TOP_LEVEL: &str = "The statement is not supported at this level.";
pub const REASON_REFERENCE: &str = "A reference in your rule statement is not valid.";
pub const REASON_THRESHOLD: &str = "You haven't met a minimum requirement for a threshold setting. Examples include a rule group capacity setting that's too low and an OR statement with only one nested statement.";
pub const REASON_CAPACITY: &str = "You exceeded the capacity limit for a rule group or web ACL.";

/// Why a web ACL or rule group cannot be compiled: the `Field`, `Parameter` and reason of
/// AWS's `WAFInvalidParameterException`, or a reference to something that does not exist
/// (`WAFNonexistentItemException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    Invalid {
        field: &'static str,
        parameter: String,
        reason: &'static str,
    },
    /// A referenced IP set, regex pattern set, rule group or managed rule group (its ARN or
    /// name) does not exist.
    Nonexistent(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Invalid {
                field,
                parameter,
                reason,
            } => write!(
                f,
                "Error reason: {reason}, field: {field}, parameter: {parameter}"
            ),
            CompileError::Nonexistent(_) => f.write_str(
                "AWS WAF couldn\u{2019}t perform the operation because your resource doesn\u{2019}t exist.",
            ),
        }
    }
}

impl std::error::Error for CompileError {}

pub(crate) fn bad(field: &'static str, parameter: &str, reason: &'static str) -> CompileError {
    CompileError::Invalid {
        field,
        parameter: parameter.to_string(),
        reason,
    }
}

/// A JSON object with error-reporting accessors.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    map: Option<&'a serde_json::Map<String, Value>>,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(v: &'a Value, field: &'static str) -> Result<Obj<'a>, CompileError> {
        match v {
            Value::Object(m) => Ok(Obj { map: Some(m) }),
            _ => Err(bad(field, &v.to_string(), REASON_FORMAT)),
        }
    }

    pub(crate) fn get(&self, k: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(k)).filter(|v| !v.is_null())
    }

    pub(crate) fn has(&self, k: &str) -> bool {
        self.get(k).is_some()
    }

    pub(crate) fn keys(&self) -> Vec<&'a str> {
        self.map
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn str_opt(&self, k: &str) -> Option<&'a str> {
        self.get(k).and_then(Value::as_str)
    }

    pub(crate) fn str_req(&self, k: &str, field: &'static str) -> Result<&'a str, CompileError> {
        self.str_opt(k)
            .ok_or_else(|| bad(field, k, REASON_REQUIRED))
    }

    pub(crate) fn u64_opt(&self, k: &str) -> Option<u64> {
        self.get(k).and_then(Value::as_u64)
    }

    pub(crate) fn list(&self, k: &str) -> &'a [Value] {
        self.get(k)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub(crate) fn obj(&self, k: &str, field: &'static str) -> Result<Obj<'a>, CompileError> {
        match self.get(k) {
            Some(v) => Obj::new(v, field),
            None => Err(bad(field, k, REASON_REQUIRED)),
        }
    }
}

/// An IP set's contents, as the resolver supplies them.
#[derive(Debug, Clone)]
pub struct IpSetDef {
    pub set: Arc<ip::IpSet>,
}

/// A custom response body (`CustomResponseBody`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// `text/plain`, `text/html` or `application/json`.
    pub content_type: &'static str,
    pub content: String,
}

/// A rule group as the resolver supplies it: its stored JSON and identity.
#[derive(Debug, Clone)]
pub struct RuleGroupDef {
    pub name: String,
    pub id: String,
    pub arn: String,
    /// `awswaf:<account>:rulegroup:<name>:`
    pub label_namespace: String,
    /// The group's `Rules`.
    pub rules: Value,
    /// The group's `CustomResponseBodies`.
    pub bodies: Value,
    pub capacity: u64,
}

/// Where compiled plans find what web ACLs reference.
pub trait Resolver {
    fn ip_set(&self, arn: &str) -> Option<IpSetDef>;
    /// The regular expressions of a regex pattern set.
    fn regex_set(&self, arn: &str) -> Option<Vec<String>>;
    fn rule_group(&self, arn: &str) -> Option<RuleGroupDef>;
    /// The addresses of a rule of an IP reputation group (`AWSManagedIPReputationList`,
    /// `AnonymousIPList`, ...), as the operator supplies them; none by default.
    fn managed_ip_list(&self, _rule: &str) -> Option<Arc<ip::IpSet>> {
        None
    }
    /// An AWS managed rule group (`vendor`, `name`); the default looks up Rampart's
    /// implementations.
    fn managed_group(&self, vendor: &str, name: &str) -> Option<ManagedGroup> {
        if vendor == "AWS" {
            ManagedGroup::by_name(name)
        } else {
            None
        }
    }
}

/// A resolver with nothing in it (statements without references compile with it).
pub struct NoReferences;

impl Resolver for NoReferences {
    fn ip_set(&self, _: &str) -> Option<IpSetDef> {
        None
    }
    fn regex_set(&self, _: &str) -> Option<Vec<String>> {
        None
    }
    fn rule_group(&self, _: &str) -> Option<RuleGroupDef> {
        None
    }
}

/// `CustomRequestHandling.InsertHeaders`, names already prefixed with `x-amzn-waf-`.
pub type InsertHeaders = Vec<(String, String)>;

/// A rule's action once it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    Allow(InsertHeaders),
    Block(Option<CustomResponse>),
    Count(InsertHeaders),
    /// Terminates unless the request carries a token solved within the immunity time.
    Captcha {
        headers: InsertHeaders,
        immunity_s: u64,
    },
    Challenge {
        headers: InsertHeaders,
        immunity_s: u64,
    },
}

impl RuleAction {
    /// The action name used in logs and sampled requests.
    pub fn name(&self) -> &'static str {
        match self {
            RuleAction::Allow(_) => "ALLOW",
            RuleAction::Block(_) => "BLOCK",
            RuleAction::Count(_) => "COUNT",
            RuleAction::Captcha { .. } => "CAPTCHA",
            RuleAction::Challenge { .. } => "CHALLENGE",
        }
    }
}

/// `CustomResponse` of a Block action, its body resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
}

/// What a rule does when its statement matches.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// A rule with an `Action`.
    Action(RuleAction),
    /// A rule group (managed or referenced) under an `OverrideAction` (`count`: every match
    /// in the group only counts).
    Group { count: bool },
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub priority: i64,
    pub stmt: Stmt,
    pub kind: RuleKind,
    /// Fully qualified labels added when the rule matches.
    pub labels: Vec<String>,
    pub metric_name: String,
    pub sampled: bool,
}

/// Options of a compilation.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// The account of the web ACL (label namespaces).
    pub account: String,
    /// The body inspection limit, bytes.
    pub body_limit: usize,
    /// A prefix for rate-based rules' counter keys (the web ACL's id), so that a rule keeps
    /// its counts across plan changes.
    pub rate_key_prefix: String,
    /// Default CAPTCHA / challenge immunity, seconds.
    pub captcha_immunity_s: u64,
    pub challenge_immunity_s: u64,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            account: "000000000000".to_string(),
            body_limit: crate::request::DEFAULT_BODY_LIMIT,
            rate_key_prefix: String::new(),
            captcha_immunity_s: 300,
            challenge_immunity_s: 300,
        }
    }
}

/// A compiled web ACL, ready to evaluate requests.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub metric_name: String,
    pub sampled: bool,
    /// The default action (`Allow` or `Block`).
    pub default_action: RuleAction,
    pub rules: Vec<Rule>,
    pub body_limit: usize,
    pub capacity: u64,
    /// `awswaf:<account>:webacl:<name>:`
    pub label_namespace: String,
}

/// The identity of a web ACL being compiled.
#[derive(Debug, Clone, Default)]
pub struct AclIdentity {
    pub name: String,
    pub id: String,
    pub arn: String,
}

fn content_type(s: &str) -> Option<&'static str> {
    match s {
        "TEXT_PLAIN" => Some("text/plain"),
        "TEXT_HTML" => Some("text/html"),
        "APPLICATION_JSON" => Some("application/json"),
        _ => None,
    }
}

/// Parses `CustomResponseBodies` (key -> {ContentType, Content}).
pub fn compile_bodies(v: Option<&Value>) -> Result<HashMap<String, Body>, CompileError> {
    let mut out = HashMap::new();
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let Value::Object(m) = v else {
        return Err(bad("CUSTOM_RESPONSE_BODY", &v.to_string(), REASON_FORMAT));
    };
    for (k, b) in m {
        let o = Obj::new(b, "CUSTOM_RESPONSE_BODY")?;
        let ct = o.str_req("ContentType", "RESPONSE_CONTENT_TYPE")?;
        let content_type =
            content_type(ct).ok_or_else(|| bad("RESPONSE_CONTENT_TYPE", ct, REASON_FORMAT))?;
        let content = o.str_req("Content", "CUSTOM_RESPONSE_BODY")?.to_string();
        if content_type == "application/json" && serde_json::from_str::<Value>(&content).is_err() {
            return Err(bad("CUSTOM_RESPONSE_BODY", k, REASON_FORMAT));
        }
        out.insert(
            k.clone(),
            Body {
                content_type,
                content,
            },
        );
    }
    Ok(out)
}

fn insert_headers(action: &Obj<'_>) -> Result<InsertHeaders, CompileError> {
    let Some(h) = action.get("CustomRequestHandling") else {
        return Ok(Vec::new());
    };
    let h = Obj::new(h, "CUSTOM_REQUEST_HANDLING")?;
    let mut out: InsertHeaders = Vec::new();
    for x in h.list("InsertHeaders") {
        let o = Obj::new(x, "CUSTOM_REQUEST_HANDLING")?;
        let name = o.str_req("Name", "HEADER_NAME")?;
        let value = o.str_req("Value", "CUSTOM_REQUEST_HANDLING")?;
        let full = format!("x-amzn-waf-{}", name.to_ascii_lowercase());
        if out.iter().any(|(n, _)| *n == full) {
            return Err(bad("HEADER_NAME", name, REASON_DUPLICATE));
        }
        out.push((full, value.to_string()));
    }
    Ok(out)
}

fn immunity(v: Option<&Value>, default: u64) -> u64 {
    v.and_then(|c| c.get("ImmunityTimeProperty"))
        .and_then(|p| p.get("ImmunityTime"))
        .and_then(Value::as_u64)
        .unwrap_or(default)
}

/// Compiles a rule `Action` (`{"Block": {...}}`, exactly one member).
pub(crate) fn compile_action(
    v: &Value,
    field: &'static str,
    bodies: &HashMap<String, Body>,
    rule: Option<&Obj<'_>>,
    opts: &CompileOptions,
) -> Result<RuleAction, CompileError> {
    let o = Obj::new(v, field)?;
    let keys = o.keys();
    let [key] = keys.as_slice() else {
        return Err(bad(field, "Action", REASON_EXACTLY_ONE));
    };
    let inner = o.obj(key, field)?;
    Ok(match *key {
        "Allow" => RuleAction::Allow(insert_headers(&inner)?),
        "Count" => RuleAction::Count(insert_headers(&inner)?),
        "Captcha" => RuleAction::Captcha {
            headers: insert_headers(&inner)?,
            immunity_s: immunity(
                rule.and_then(|r| r.get("CaptchaConfig")),
                opts.captcha_immunity_s,
            ),
        },
        "Challenge" => RuleAction::Challenge {
            headers: insert_headers(&inner)?,
            immunity_s: immunity(
                rule.and_then(|r| r.get("ChallengeConfig")),
                opts.challenge_immunity_s,
            ),
        },
        "Block" => {
            let Some(cr) = inner.get("CustomResponse") else {
                return Ok(RuleAction::Block(None));
            };
            let cr = Obj::new(cr, "CUSTOM_RESPONSE")?;
            let status = cr
                .u64_opt("ResponseCode")
                .filter(|c| (200..=599).contains(c))
                .ok_or_else(|| bad("CUSTOM_RESPONSE", "ResponseCode", REASON_FORMAT))?;
            let body = match cr.str_opt("CustomResponseBodyKey") {
                None => None,
                Some(k) => Some(
                    bodies
                        .get(k)
                        .cloned()
                        .ok_or_else(|| bad("CUSTOM_RESPONSE_BODY", k, REASON_REFERENCE))?,
                ),
            };
            let mut headers: Vec<(String, String)> = Vec::new();
            for h in cr.list("ResponseHeaders") {
                let ho = Obj::new(h, "CUSTOM_RESPONSE")?;
                let name = ho.str_req("Name", "HEADER_NAME")?;
                let value = ho.str_req("Value", "CUSTOM_RESPONSE")?;
                if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    return Err(bad("HEADER_NAME", name, REASON_DUPLICATE));
                }
                headers.push((name.to_string(), value.to_string()));
            }
            RuleAction::Block(Some(CustomResponse {
                status: u16::try_from(status).unwrap_or(403),
                headers,
                body,
            }))
        }
        other => return Err(bad(field, other, REASON_FORMAT)),
    })
}

/// Label names: letters, digits, `_`, `-`, `:` separating namespaces; no empty parts.
pub(crate) fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 1024
        && s.split(':').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        })
}

/// Words a rule's own labels may not use as a namespace or name (AWS reserves them).
const RESERVED_LABEL_WORDS: &[&str] = &[
    "awswaf",
    "aws",
    "waf",
    "rulegroup",
    "webacl",
    "regexpatternset",
    "ipset",
    "managed",
];

/// Where a list of rules lives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    WebAcl,
    RuleGroup,
}

/// Compiles a `Rules` list (sorted by priority; names and priorities unique).
pub(crate) fn compile_rules(
    rules: &Value,
    level: Level,
    label_namespace: &str,
    bodies: &HashMap<String, Body>,
    resolver: &dyn Resolver,
    opts: &CompileOptions,
) -> Result<Vec<Rule>, CompileError> {
    let list = match rules {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        other => return Err(bad("RULE", &other.to_string(), REASON_FORMAT)),
    };
    let mut out: Vec<Rule> = Vec::with_capacity(list.len());
    let mut names = std::collections::HashSet::new();
    let mut priorities = std::collections::HashSet::new();
    for r in list {
        let o = Obj::new(r, "RULE")?;
        let name = o.str_req("Name", "RULE")?;
        if !names.insert(name.to_string()) {
            return Err(bad("RULE", name, REASON_DUPLICATE));
        }
        let priority = o
            .get("Priority")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("RULE", "Priority", REASON_REQUIRED))?;
        if !priorities.insert(priority) {
            return Err(bad("RULE", &priority.to_string(), REASON_DUPLICATE));
        }
        let stmt_v = o
            .get("Statement")
            .ok_or_else(|| bad("RULE", "Statement", REASON_REQUIRED))?;
        let rate_key = format!("{}/{}", opts.rate_key_prefix, name);
        let stmt = stmt::compile_top(stmt_v, level, label_namespace, resolver, opts, &rate_key)?;
        let is_group = stmt.is_group();
        let kind = match (o.get("Action"), o.get("OverrideAction")) {
            (Some(a), None) if !is_group => {
                RuleKind::Action(compile_action(a, "RULE_ACTION", bodies, Some(&o), opts)?)
            }
            (None, Some(ov)) if is_group => {
                let ovo = Obj::new(ov, "OVERRIDE_ACTION")?;
                match ovo.keys().as_slice() {
                    ["None"] => RuleKind::Group { count: false },
                    ["Count"] => RuleKind::Group { count: true },
                    _ => return Err(bad("OVERRIDE_ACTION", "OverrideAction", REASON_EXACTLY_ONE)),
                }
            }
            (None, None) | (Some(_), Some(_)) => {
                return Err(bad("RULE", "Rule", REASON_EXACTLY_ONE));
            }
            (Some(_), None) => return Err(bad("RULE_ACTION", "RuleAction", REASON_EXACTLY_ONE)),
            (None, Some(_)) => {
                return Err(bad("OVERRIDE_ACTION", "OverrideAction", REASON_EXACTLY_ONE))
            }
        };
        let mut labels = Vec::new();
        if is_group && !o.list("RuleLabels").is_empty() {
            return Err(bad("RULE", "RuleLabels", REASON_FORMAT));
        }
        if stmt.is_rate() {
            if let RuleKind::Action(RuleAction::Allow(_)) = kind {
                return Err(bad("RULE_ACTION", "Allow", REASON_FORMAT));
            }
        }
        for l in o.list("RuleLabels") {
            let n = Obj::new(l, "RULE")?.str_req("Name", "RULE")?;
            if !valid_label(n) || n.split(':').any(|p| RESERVED_LABEL_WORDS.contains(&p)) {
                return Err(bad("RULE", n, REASON_FORMAT));
            }
            labels.push(format!("{label_namespace}{n}"));
        }
        let vc = o.obj("VisibilityConfig", "RULE")?;
        out.push(Rule {
            name: name.to_string(),
            priority,
            stmt,
            kind,
            labels,
            metric_name: vc.str_opt("MetricName").unwrap_or(name).to_string(),
            sampled: vc
                .get("SampledRequestsEnabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    out.sort_by_key(|r| r.priority);
    Ok(out)
}

impl Plan {
    /// Compiles a web ACL from its API JSON (`DefaultAction`, `Rules`, `VisibilityConfig`,
    /// `CustomResponseBodies`, `CaptchaConfig`, `ChallengeConfig`).
    pub fn compile(
        acl: &Value,
        identity: AclIdentity,
        resolver: &dyn Resolver,
        opts: &CompileOptions,
    ) -> Result<Plan, CompileError> {
        let o = Obj::new(acl, "WEB_ACL")?;
        let bodies = compile_bodies(o.get("CustomResponseBodies"))?;
        let mut opts = opts.clone();
        opts.captcha_immunity_s = immunity(o.get("CaptchaConfig"), opts.captcha_immunity_s);
        opts.challenge_immunity_s = immunity(o.get("ChallengeConfig"), opts.challenge_immunity_s);
        let default_action = {
            let d = o
                .get("DefaultAction")
                .ok_or_else(|| bad("DEFAULT_ACTION", "DefaultAction", REASON_REQUIRED))?;
            let a = compile_action(d, "DEFAULT_ACTION", &bodies, None, &opts)?;
            if !matches!(a, RuleAction::Allow(_) | RuleAction::Block(_)) {
                return Err(bad("DEFAULT_ACTION", a.name(), REASON_FORMAT));
            }
            a
        };
        let label_namespace = format!("awswaf:{}:webacl:{}:", opts.account, identity.name);
        let rules = compile_rules(
            o.get("Rules").unwrap_or(&Value::Null),
            Level::WebAcl,
            &label_namespace,
            &bodies,
            resolver,
            &opts,
        )?;
        let capacity = wcu::rules_capacity(o.get("Rules").unwrap_or(&Value::Null), resolver)?;
        let vc = o.get("VisibilityConfig");
        Ok(Plan {
            metric_name: vc
                .and_then(|v| v.get("MetricName"))
                .and_then(Value::as_str)
                .unwrap_or(&identity.name)
                .to_string(),
            sampled: vc
                .and_then(|v| v.get("SampledRequestsEnabled"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            name: identity.name,
            id: identity.id,
            arn: identity.arn,
            default_action,
            rules,
            body_limit: opts.body_limit,
            capacity,
            label_namespace,
        })
    }

    /// Whether any rule inspects the body (the edge then reads up to `body_limit` bytes of it
    /// before deciding).
    pub fn inspects_body(&self) -> bool {
        true
    }
}

/// Validates a rule group's rules (as CreateRuleGroup / UpdateRuleGroup do) and returns the
/// capacity they need.
pub fn check_rule_group(
    rules: &Value,
    bodies: Option<&Value>,
    label_namespace: &str,
    resolver: &dyn Resolver,
) -> Result<u64, CompileError> {
    let bodies = compile_bodies(bodies)?;
    compile_rules(
        rules,
        Level::RuleGroup,
        label_namespace,
        &bodies,
        resolver,
        &CompileOptions::default(),
    )?;
    wcu::rules_capacity(rules, resolver)
}

/// The labels a list of rules can add, and the labels its LabelMatch statements consume
/// (`AvailableLabels` / `ConsumedLabels` of a rule group).
pub fn rule_labels(rules: &Value, label_namespace: &str) -> (Vec<String>, Vec<String>) {
    let mut available = Vec::new();
    let mut consumed = Vec::new();
    for r in rules.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        for l in r
            .get("RuleLabels")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            if let Some(n) = l.get("Name").and_then(Value::as_str) {
                available.push(format!("{label_namespace}{n}"));
            }
        }
        if let Some(s) = r.get("Statement") {
            stmt::consumed_labels(s, &mut consumed);
        }
    }
    (dedup(available), dedup(consumed))
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeMap::new();
    v.retain(|x| seen.insert(x.clone(), ()).is_none());
    v
}

#[cfg(test)]
#[path = "../tests/acl.rs"]
mod tests;
