//! Statements: compiled from the API's `Statement` JSON and evaluated against a request.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine as _;
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde_json::Value;

use super::eval::Cx;
use super::field::{Field, Values};
use super::ip::{self, Position};
use super::{
    bad, compile_action, compile_bodies, compile_rules, valid_label, CompileError, CompileOptions,
    Level, Obj, Resolver, Rule, RuleAction, REASON_EXACTLY_ONE, REASON_FORMAT, REASON_REFERENCE,
    REASON_REQUIRED, REASON_THRESHOLD, REASON_TOP_LEVEL,
};
use crate::managed::ManagedGroup;
use crate::sqli::{self, Sensitivity};
use crate::transform::{apply_all, Transformation};
use crate::xss;

/// Nesting deeper than this is refused (AWS limits nesting of logical statements).
const MAX_DEPTH: usize = 20;
/// A compiled regex may use at most this much memory (guards against pathological patterns).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// `PositionalConstraint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positional {
    Exactly,
    StartsWith,
    EndsWith,
    Contains,
    ContainsWord,
}

/// `ComparisonOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Le,
    Lt,
    Ge,
    Gt,
}

/// Where an address comes from: the connection, or a forwarded-IP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// Lowercased header name.
    pub header: String,
    /// The statement's result when the header is missing or malformed.
    pub fallback_match: bool,
    pub position: Position,
}

/// The inspected component, its transformations.
#[derive(Debug, Clone)]
pub struct Inspect {
    pub field: Field,
    pub transforms: Vec<Transformation>,
}

/// How a rate-based statement aggregates requests.
#[derive(Debug, Clone)]
pub enum AggKey {
    Ip,
    ForwardedIp(Forwarded),
    Constant,
    Custom(Vec<CustomKey>),
}

/// One `RateBasedStatementCustomKey`.
#[derive(Debug, Clone)]
pub enum CustomKey {
    Header(String, Vec<Transformation>),
    Cookie(String, Vec<Transformation>),
    QueryArgument(String, Vec<Transformation>),
    QueryString(Vec<Transformation>),
    UriPath(Vec<Transformation>),
    Method,
    Ip,
    ForwardedIp,
    LabelNamespace(String),
    Asn,
    /// A TLS fingerprint the edge does not compute: the fallback decides.
    Unavailable(bool),
}

/// A compiled rate-based statement.
#[derive(Debug, Clone)]
pub struct Rate {
    /// The counter key (web ACL id / rule name).
    pub key: String,
    pub limit: u64,
    pub window_s: u64,
    pub agg: AggKey,
    /// The forwarded-IP settings used by `ForwardedIP` custom keys.
    pub forwarded: Option<Forwarded>,
    pub scope_down: Option<Box<Stmt>>,
}

/// A rule group as a web ACL rule evaluates it.
#[derive(Debug, Clone)]
pub struct GroupRef {
    /// `AWS#AWSManagedRulesCommonRuleSet` for managed groups, the ARN for rule groups (the
    /// `ruleGroupId` of WAF logs).
    pub id: String,
    pub rules: GroupRules,
    /// `ExcludedRules` (they only count).
    pub excluded: HashSet<String>,
    /// `RuleActionOverrides`.
    pub overrides: HashMap<String, RuleAction>,
    pub scope_down: Option<Box<Stmt>>,
}

/// The rules of a referenced group.
#[derive(Debug, Clone)]
pub enum GroupRules {
    Managed(Arc<ManagedGroup>),
    /// An IP reputation group: each rule an address list the operator supplies.
    IpLists(Arc<Vec<IpListRule>>),
    Custom(Arc<Vec<Rule>>),
}

/// A rule of an IP reputation group.
#[derive(Debug, Clone)]
pub struct IpListRule {
    pub name: &'static str,
    pub label: String,
    pub action: crate::managed::Action,
    pub set: Arc<ip::IpSet>,
}

/// A compiled statement.
#[derive(Debug, Clone)]
pub enum Stmt {
    Byte {
        inspect: Inspect,
        pos: Positional,
        needle: Vec<u8>,
    },
    Regex {
        inspect: Inspect,
        re: Regex,
    },
    RegexSet {
        inspect: Inspect,
        set: RegexSet,
    },
    Sqli {
        inspect: Inspect,
        level: Sensitivity,
    },
    Xss {
        inspect: Inspect,
    },
    Size {
        inspect: Inspect,
        cmp: Cmp,
        size: u64,
    },
    Geo {
        countries: Vec<[u8; 2]>,
        forwarded: Option<Forwarded>,
    },
    IpSet {
        set: Arc<ip::IpSet>,
        forwarded: Option<Forwarded>,
    },
    Asn {
        asns: Vec<u32>,
        forwarded: Option<Forwarded>,
    },
    Label {
        namespace: bool,
        /// The key as given.
        key: String,
        /// The namespace of the web ACL or rule group the statement is in (keys that are
        /// not fully qualified match labels added in that context only).
        context: String,
    },
    And(Vec<Stmt>),
    Or(Vec<Stmt>),
    Not(Box<Stmt>),
    Rate(Box<Rate>),
    Group(Box<GroupRef>),
}

impl Stmt {
    /// Whether this is a rule group reference (managed or not).
    pub fn is_group(&self) -> bool {
        matches!(self, Stmt::Group(_))
    }

    /// Whether this is a rate-based statement.
    pub fn is_rate(&self) -> bool {
        matches!(self, Stmt::Rate(_))
    }
}

const STATEMENTS: &[(&str, &str)] = &[
    ("ByteMatchStatement", "BYTE_MATCH_STATEMENT"),
    ("SqliMatchStatement", "SQLI_MATCH_STATEMENT"),
    ("XssMatchStatement", "XSS_MATCH_STATEMENT"),
    ("SizeConstraintStatement", "SIZE_CONSTRAINT_STATEMENT"),
    ("GeoMatchStatement", "GEO_MATCH_STATEMENT"),
    (
        "RuleGroupReferenceStatement",
        "RULE_GROUP_REFERENCE_STATEMENT",
    ),
    ("IPSetReferenceStatement", "IP_SET_REFERENCE_STATEMENT"),
    (
        "RegexPatternSetReferenceStatement",
        "REGEX_PATTERN_REFERENCE_STATEMENT",
    ),
    ("RateBasedStatement", "RATE_BASED_STATEMENT"),
    ("AndStatement", "AND_STATEMENT"),
    ("OrStatement", "OR_STATEMENT"),
    ("NotStatement", "NOT_STATEMENT"),
    ("ManagedRuleGroupStatement", "MANAGED_RULE_SET_STATEMENT"),
    ("LabelMatchStatement", "LABEL_MATCH_STATEMENT"),
    ("RegexMatchStatement", "REGEX_MATCH_STATEMENT"),
    ("AsnMatchStatement", "ASN_MATCH_STATEMENT"),
];

/// The one statement type set in a `Statement` object, and its body.
pub(crate) fn which(v: &Value) -> Result<(&str, &'static str, &Value), CompileError> {
    let o = Obj::new(v, "STATEMENT")?;
    let keys = o.keys();
    let [key] = keys.as_slice() else {
        return Err(bad("STATEMENT", "Statement", REASON_EXACTLY_ONE));
    };
    let field = STATEMENTS
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, f)| *f)
        .ok_or_else(|| bad("STATEMENT", key, REASON_FORMAT))?;
    let body = o.get(key).unwrap_or(&Value::Null);
    Ok((key, field, body))
}

fn transforms(o: &Obj<'_>) -> Result<Vec<Transformation>, CompileError> {
    let mut list: Vec<(i64, Transformation)> = Vec::new();
    let mut seen = HashSet::new();
    for t in o.list("TextTransformations") {
        let to = Obj::new(t, "TEXT_TRANSFORMATION")?;
        let p = to
            .get("Priority")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("TEXT_TRANSFORMATION", "Priority", REASON_REQUIRED))?;
        if !seen.insert(p) {
            return Err(bad(
                "TEXT_TRANSFORMATION",
                &p.to_string(),
                super::REASON_DUPLICATE,
            ));
        }
        let ty = to.str_req("Type", "TEXT_TRANSFORMATION")?;
        let t: Transformation = ty
            .parse()
            .map_err(|_| bad("TEXT_TRANSFORMATION", ty, REASON_FORMAT))?;
        list.push((p, t));
    }
    if list.len() > 10 {
        return Err(bad(
            "TEXT_TRANSFORMATION",
            "TextTransformations",
            REASON_FORMAT,
        ));
    }
    list.sort_by_key(|(p, _)| *p);
    Ok(list
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| *t != Transformation::None)
        .collect())
}

fn inspect(o: &Obj<'_>) -> Result<Inspect, CompileError> {
    let f = o
        .get("FieldToMatch")
        .ok_or_else(|| bad("FIELD_TO_MATCH", "FieldToMatch", REASON_REQUIRED))?;
    Ok(Inspect {
        field: Field::compile(f)?,
        transforms: transforms(o)?,
    })
}

fn forwarded(o: &Obj<'_>, key: &str, ip_set: bool) -> Result<Option<Forwarded>, CompileError> {
    let field = if ip_set {
        "IP_SET_FORWARDED_IP_CONFIG"
    } else {
        "FORWARDED_IP_CONFIG"
    };
    let Some(v) = o.get(key) else {
        return Ok(None);
    };
    let f = Obj::new(v, field)?;
    let header = f.str_req("HeaderName", "HEADER_NAME")?;
    if header.is_empty()
        || !header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(bad("HEADER_NAME", header, REASON_FORMAT));
    }
    let fallback_match = match f.str_req("FallbackBehavior", "FALLBACK_BEHAVIOR")? {
        "MATCH" => true,
        "NO_MATCH" => false,
        other => return Err(bad("FALLBACK_BEHAVIOR", other, REASON_FORMAT)),
    };
    let position = if ip_set {
        match f.str_req("Position", "POSITION")? {
            "FIRST" => Position::First,
            "LAST" => Position::Last,
            "ANY" => Position::Any,
            other => return Err(bad("POSITION", other, REASON_FORMAT)),
        }
    } else {
        Position::First
    };
    Ok(Some(Forwarded {
        header: header.to_ascii_lowercase(),
        fallback_match,
        position,
    }))
}

fn build_regex(s: &str) -> Result<Regex, CompileError> {
    RegexBuilder::new(s)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|_| bad("REGEX_MATCH_STATEMENT", s, REASON_FORMAT))
}

/// Compiles a statement that may stand at the top of a rule (rate-based and rule group
/// statements only there).
pub(crate) fn compile_top(
    v: &Value,
    level: Level,
    ns: &str,
    resolver: &dyn Resolver,
    opts: &CompileOptions,
    rate_key: &str,
) -> Result<Stmt, CompileError> {
    let (key, field, body) = which(v)?;
    let o = Obj::new(body, field)?;
    match key {
        "RateBasedStatement" => compile_rate(&o, ns, resolver, rate_key),
        "ManagedRuleGroupStatement" | "RuleGroupReferenceStatement"
            if level == Level::RuleGroup =>
        {
            Err(bad(field, key, REASON_TOP_LEVEL))
        }
        "ManagedRuleGroupStatement" => compile_managed(&o, ns, resolver, opts),
        "RuleGroupReferenceStatement" => compile_group_ref(&o, resolver, opts, rate_key),
        _ => compile(v, ns, resolver, 0),
    }
}

fn compile_managed(
    o: &Obj<'_>,
    ns: &str,
    resolver: &dyn Resolver,
    opts: &CompileOptions,
) -> Result<Stmt, CompileError> {
    let vendor = o.str_req("VendorName", "MANAGED_RULE_SET_STATEMENT")?;
    let name = o.str_req("Name", "MANAGED_RULE_SET_STATEMENT")?;
    if let (Some(g), "AWS") = (crate::managed::ip_group(name), vendor) {
        let names: HashSet<&str> = g.rules.iter().map(|(r, _)| *r).collect();
        let (excluded, overrides) = overrides(o, &names, opts, false)?;
        let scope_down = match o.get("ScopeDownStatement") {
            Some(s) => Some(Box::new(compile(s, ns, resolver, 1)?)),
            None => None,
        };
        let rules = g
            .rules
            .iter()
            .map(|(rule, action)| IpListRule {
                name: rule,
                label: format!("{}:{rule}", g.namespace),
                action: *action,
                set: resolver.managed_ip_list(rule).unwrap_or_default(),
            })
            .collect();
        return Ok(Stmt::Group(Box::new(GroupRef {
            id: format!("{vendor}#{name}"),
            rules: GroupRules::IpLists(Arc::new(rules)),
            excluded,
            overrides,
            scope_down,
        })));
    }
    let group = resolver
        .managed_group(vendor, name)
        .ok_or_else(|| CompileError::Nonexistent(format!("{vendor}#{name}")))?;
    let names: HashSet<&str> = group.rules.iter().map(|r| r.name).collect();
    // AWS ignores overrides naming rules a managed group does not have.
    let (excluded, overrides) = overrides(o, &names, opts, false)?;
    let scope_down = match o.get("ScopeDownStatement") {
        Some(s) => Some(Box::new(compile(s, ns, resolver, 1)?)),
        None => None,
    };
    Ok(Stmt::Group(Box::new(GroupRef {
        id: format!("{vendor}#{name}"),
        rules: GroupRules::Managed(Arc::new(group)),
        excluded,
        overrides,
        scope_down,
    })))
}

fn overrides(
    o: &Obj<'_>,
    names: &HashSet<&str>,
    opts: &CompileOptions,
    strict: bool,
) -> Result<(HashSet<String>, HashMap<String, RuleAction>), CompileError> {
    let mut excluded = HashSet::new();
    for e in o.list("ExcludedRules") {
        let n = Obj::new(e, "EXCLUDED_RULE")?.str_req("Name", "EXCLUDED_RULE")?;
        if !names.contains(n) {
            if strict {
                return Err(bad("EXCLUDED_RULE", n, REASON_REFERENCE));
            }
            continue;
        }
        excluded.insert(n.to_string());
    }
    let mut map = HashMap::new();
    let empty = HashMap::new();
    for ov in o.list("RuleActionOverrides") {
        let ovo = Obj::new(ov, "RULE_ACTION_OVERRIDE")?;
        let n = ovo.str_req("Name", "RULE_ACTION_OVERRIDE")?;
        if !names.contains(n) {
            if strict {
                return Err(bad("RULE_ACTION_OVERRIDE", n, REASON_REFERENCE));
            }
            continue;
        }
        let a = ovo
            .get("ActionToUse")
            .ok_or_else(|| bad("RULE_ACTION_OVERRIDE", "ActionToUse", REASON_REQUIRED))?;
        if map
            .insert(
                n.to_string(),
                compile_action(a, "RULE_ACTION", &empty, None, opts)?,
            )
            .is_some()
        {
            return Err(bad("RULE_ACTION_OVERRIDE", n, super::REASON_DUPLICATE));
        }
    }
    Ok((excluded, map))
}

fn compile_group_ref(
    o: &Obj<'_>,
    resolver: &dyn Resolver,
    opts: &CompileOptions,
    rate_key: &str,
) -> Result<Stmt, CompileError> {
    let arn = o.str_req("ARN", "RULE_GROUP_REFERENCE_STATEMENT")?;
    let def = resolver
        .rule_group(arn)
        .ok_or_else(|| CompileError::Nonexistent(arn.to_string()))?;
    let bodies = compile_bodies(Some(&def.bodies))?;
    let mut group_opts = opts.clone();
    group_opts.rate_key_prefix = rate_key.to_string();
    let rules = compile_rules(
        &def.rules,
        Level::RuleGroup,
        &def.label_namespace,
        &bodies,
        resolver,
        &group_opts,
    )?;
    let names: HashSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    let (excluded, overrides) = overrides(o, &names, opts, true)?;
    Ok(Stmt::Group(Box::new(GroupRef {
        id: def.arn.clone(),
        rules: GroupRules::Custom(Arc::new(rules)),
        excluded,
        overrides,
        scope_down: None,
    })))
}

fn compile_rate(
    o: &Obj<'_>,
    ns: &str,
    resolver: &dyn Resolver,
    rate_key: &str,
) -> Result<Stmt, CompileError> {
    let limit = o
        .u64_opt("Limit")
        .ok_or_else(|| bad("RATE_BASED_STATEMENT", "Limit", REASON_REQUIRED))?;
    if !(10..=2_000_000_000).contains(&limit) {
        return Err(bad(
            "RATE_BASED_STATEMENT",
            &limit.to_string(),
            REASON_FORMAT,
        ));
    }
    let window_s = o.u64_opt("EvaluationWindowSec").unwrap_or(300);
    if ![60, 120, 300, 600].contains(&window_s) {
        return Err(bad(
            "RATE_BASED_STATEMENT",
            &window_s.to_string(),
            REASON_FORMAT,
        ));
    }
    let fwd = forwarded(o, "ForwardedIPConfig", false)?;
    let agg = match o.str_req("AggregateKeyType", "RATE_BASED_STATEMENT")? {
        "IP" => AggKey::Ip,
        "CONSTANT" => AggKey::Constant,
        "FORWARDED_IP" => AggKey::ForwardedIp(
            fwd.clone()
                .ok_or_else(|| bad("FORWARDED_IP_CONFIG", "ForwardedIPConfig", REASON_REQUIRED))?,
        ),
        "CUSTOM_KEYS" => {
            let keys = o.list("CustomKeys");
            if keys.is_empty() || keys.len() > 5 {
                return Err(bad("CUSTOM_KEYS", "CustomKeys", REASON_FORMAT));
            }
            let mut out = Vec::new();
            for k in keys {
                out.push(custom_key(k)?);
            }
            if out.iter().any(|k| matches!(k, CustomKey::ForwardedIp)) && fwd.is_none() {
                return Err(bad(
                    "FORWARDED_IP_CONFIG",
                    "ForwardedIPConfig",
                    REASON_REQUIRED,
                ));
            }
            // IP and ForwardedIP need another key (alone, use the IP aggregate key types);
            // QueryString, HTTPMethod and UriPath may appear once.
            if out.len() == 1 && matches!(out.first(), Some(CustomKey::Ip | CustomKey::ForwardedIp))
            {
                return Err(bad("CUSTOM_KEYS", "CustomKeys", REASON_FORMAT));
            }
            let once = |f: fn(&CustomKey) -> bool| out.iter().filter(|k| f(k)).count() > 1;
            if once(|k| matches!(k, CustomKey::QueryString(_)))
                || once(|k| matches!(k, CustomKey::Method))
                || once(|k| matches!(k, CustomKey::UriPath(_)))
            {
                return Err(bad("CUSTOM_KEYS", "CustomKeys", super::REASON_DUPLICATE));
            }
            AggKey::Custom(out)
        }
        other => return Err(bad("RATE_BASED_STATEMENT", other, REASON_FORMAT)),
    };
    if !matches!(agg, AggKey::Custom(_)) && o.has("CustomKeys") {
        return Err(bad("CUSTOM_KEYS", "CustomKeys", REASON_FORMAT));
    }
    if matches!(agg, AggKey::Constant) && o.get("ScopeDownStatement").is_none() {
        return Err(bad("SCOPE_DOWN", "ScopeDownStatement", REASON_REQUIRED));
    }
    let scope_down = match o.get("ScopeDownStatement") {
        Some(s) => Some(Box::new(compile(s, ns, resolver, 1)?)),
        None => None,
    };
    Ok(Stmt::Rate(Box::new(Rate {
        key: rate_key.to_string(),
        limit,
        window_s,
        agg,
        forwarded: fwd,
        scope_down,
    })))
}

fn custom_key(v: &Value) -> Result<CustomKey, CompileError> {
    let o = Obj::new(v, "CUSTOM_KEYS")?;
    let keys = o.keys();
    let [key] = keys.as_slice() else {
        return Err(bad("CUSTOM_KEYS", "CustomKey", REASON_EXACTLY_ONE));
    };
    let inner = o.obj(key, "CUSTOM_KEYS")?;
    let name = || -> Result<String, CompileError> {
        Ok(inner.str_req("Name", "CUSTOM_KEYS")?.to_string())
    };
    Ok(match *key {
        "Header" => CustomKey::Header(name()?.to_ascii_lowercase(), transforms(&inner)?),
        "Cookie" => CustomKey::Cookie(name()?, transforms(&inner)?),
        "QueryArgument" => CustomKey::QueryArgument(name()?, transforms(&inner)?),
        "QueryString" => CustomKey::QueryString(transforms(&inner)?),
        "UriPath" => CustomKey::UriPath(transforms(&inner)?),
        "HTTPMethod" => CustomKey::Method,
        "IP" => CustomKey::Ip,
        "ForwardedIP" => CustomKey::ForwardedIp,
        "ASN" => CustomKey::Asn,
        "LabelNamespace" => {
            let ns = inner.str_req("Namespace", "CUSTOM_KEYS")?;
            if !ns.ends_with(':') || !valid_label(ns.trim_end_matches(':')) {
                return Err(bad("CUSTOM_KEYS", ns, REASON_FORMAT));
            }
            CustomKey::LabelNamespace(ns.to_string())
        }
        "JA3Fingerprint" | "JA4Fingerprint" => {
            CustomKey::Unavailable(inner.str_opt("FallbackBehavior") == Some("MATCH"))
        }
        other => return Err(bad("CUSTOM_KEYS", other, REASON_FORMAT)),
    })
}

fn country_code(s: &str) -> Option<[u8; 2]> {
    let b = s.as_bytes();
    match b {
        [a, c] if a.is_ascii_uppercase() && c.is_ascii_uppercase() => Some([*a, *c]),
        _ => None,
    }
}

/// Compiles a statement below the top of a rule.
pub(crate) fn compile(
    v: &Value,
    ns: &str,
    resolver: &dyn Resolver,
    depth: usize,
) -> Result<Stmt, CompileError> {
    if depth > MAX_DEPTH {
        return Err(bad("STATEMENT", "Statement", REASON_FORMAT));
    }
    let (key, field, body) = which(v)?;
    let o = Obj::new(body, field)?;
    Ok(match key {
        "ByteMatchStatement" => {
            let b64 = o.str_req("SearchString", field)?;
            let needle = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| bad(field, "SearchString", REASON_FORMAT))?;
            if needle.is_empty() || needle.len() > 200 {
                return Err(bad(field, "SearchString", REASON_FORMAT));
            }
            let word_only = needle.iter().all(|&b| is_word(b));
            let pos = match o.str_req("PositionalConstraint", field)? {
                "EXACTLY" => Positional::Exactly,
                "STARTS_WITH" => Positional::StartsWith,
                "ENDS_WITH" => Positional::EndsWith,
                "CONTAINS" => Positional::Contains,
                "CONTAINS_WORD" if word_only => Positional::ContainsWord,
                "CONTAINS_WORD" => return Err(bad(field, "SearchString", REASON_FORMAT)),
                other => return Err(bad(field, other, REASON_FORMAT)),
            };
            Stmt::Byte {
                inspect: inspect(&o)?,
                pos,
                needle,
            }
        }
        "RegexMatchStatement" => Stmt::Regex {
            re: build_regex(o.str_req("RegexString", field)?)?,
            inspect: inspect(&o)?,
        },
        "RegexPatternSetReferenceStatement" => {
            let arn = o.str_req("ARN", field)?;
            let patterns = resolver
                .regex_set(arn)
                .ok_or_else(|| CompileError::Nonexistent(arn.to_string()))?;
            let set = RegexSetBuilder::new(&patterns)
                .size_limit(REGEX_SIZE_LIMIT * 4)
                .build()
                .map_err(|_| bad("REGEX_PATTERN_REFERENCE_STATEMENT", arn, REASON_FORMAT))?;
            Stmt::RegexSet {
                set,
                inspect: inspect(&o)?,
            }
        }
        "SqliMatchStatement" => Stmt::Sqli {
            level: match o.str_opt("SensitivityLevel") {
                None | Some("LOW") => Sensitivity::Low,
                Some("HIGH") => Sensitivity::High,
                Some(other) => return Err(bad(field, other, REASON_FORMAT)),
            },
            inspect: inspect(&o)?,
        },
        "XssMatchStatement" => Stmt::Xss {
            inspect: inspect(&o)?,
        },
        "SizeConstraintStatement" => Stmt::Size {
            cmp: match o.str_req("ComparisonOperator", field)? {
                "EQ" => Cmp::Eq,
                "NE" => Cmp::Ne,
                "LE" => Cmp::Le,
                "LT" => Cmp::Lt,
                "GE" => Cmp::Ge,
                "GT" => Cmp::Gt,
                other => return Err(bad(field, other, REASON_FORMAT)),
            },
            size: o
                .u64_opt("Size")
                .ok_or_else(|| bad(field, "Size", REASON_REQUIRED))?,
            inspect: inspect(&o)?,
        },
        "GeoMatchStatement" => {
            let mut countries = Vec::new();
            for c in o.list("CountryCodes") {
                let s = c.as_str().unwrap_or_default();
                countries.push(country_code(s).ok_or_else(|| bad(field, s, REASON_FORMAT))?);
            }
            if countries.is_empty() {
                return Err(bad(field, "CountryCodes", REASON_REQUIRED));
            }
            Stmt::Geo {
                countries,
                forwarded: forwarded(&o, "ForwardedIPConfig", false)?,
            }
        }
        "IPSetReferenceStatement" => {
            let arn = o.str_req("ARN", field)?;
            let def = resolver
                .ip_set(arn)
                .ok_or_else(|| CompileError::Nonexistent(arn.to_string()))?;
            Stmt::IpSet {
                set: def.set,
                forwarded: forwarded(&o, "IPSetForwardedIPConfig", true)?,
            }
        }
        "AsnMatchStatement" => {
            let mut asns = Vec::new();
            for a in o.list("AsnList") {
                let n = a
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad(field, &a.to_string(), REASON_FORMAT))?;
                asns.push(n);
            }
            if asns.is_empty() {
                return Err(bad(field, "AsnList", REASON_REQUIRED));
            }
            Stmt::Asn {
                asns,
                forwarded: forwarded(&o, "ForwardedIPConfig", false)?,
            }
        }
        "LabelMatchStatement" => {
            let namespace = match o.str_req("Scope", field)? {
                "LABEL" => false,
                "NAMESPACE" => true,
                other => return Err(bad(field, other, REASON_FORMAT)),
            };
            let key = o.str_req("Key", field)?;
            let bare = key.trim_end_matches(':');
            if !valid_label(bare) || (namespace != key.ends_with(':')) {
                return Err(bad(field, key, REASON_FORMAT));
            }
            Stmt::Label {
                namespace,
                key: key.to_string(),
                context: ns.to_string(),
            }
        }
        "AndStatement" | "OrStatement" => {
            let list = o.list("Statements");
            if list.len() < 2 {
                let p = if key == "AndStatement" {
                    "AndStatement"
                } else {
                    "OrStatement"
                };
                return Err(bad(field, p, REASON_THRESHOLD));
            }
            let mut out = Vec::with_capacity(list.len());
            for s in list {
                out.push(compile(s, ns, resolver, depth + 1)?);
            }
            if key == "AndStatement" {
                Stmt::And(out)
            } else {
                Stmt::Or(out)
            }
        }
        "NotStatement" => {
            let s = o
                .get("Statement")
                .ok_or_else(|| bad(field, "Statement", REASON_REQUIRED))?;
            Stmt::Not(Box::new(compile(s, ns, resolver, depth + 1)?))
        }
        _ => return Err(bad(field, key, REASON_TOP_LEVEL)),
    })
}

/// The label keys that LabelMatch statements in `v` look for.
pub(crate) fn consumed_labels(v: &Value, out: &mut Vec<String>) {
    let Ok((key, _, body)) = which(v) else {
        return;
    };
    match key {
        "LabelMatchStatement" => {
            if let Some(k) = body.get("Key").and_then(Value::as_str) {
                out.push(k.to_string());
            }
        }
        "AndStatement" | "OrStatement" => {
            for s in body
                .get("Statements")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                consumed_labels(s, out);
            }
        }
        "NotStatement" => {
            if let Some(s) = body.get("Statement") {
                consumed_labels(s, out);
            }
        }
        "RateBasedStatement" | "ManagedRuleGroupStatement" => {
            if let Some(s) = body.get("ScopeDownStatement") {
                consumed_labels(s, out);
            }
        }
        _ => {}
    }
}

/// Whether label `l` matches a LabelMatch key: a key starting with `awswaf:` is fully
/// qualified; any other key matches labels added in the statement's context (the web ACL or
/// rule group namespace) whose trailing components are the key (LABEL) or that contain the key
/// as contiguous namespaces (NAMESPACE).
fn label_matches(l: &str, key: &str, context: &str, namespace: bool) -> bool {
    let (scope, key) = if key.starts_with("awswaf:") {
        (l, key)
    } else {
        match l.strip_prefix(context) {
            Some(rest) => (rest, key),
            None => return false,
        }
    };
    if namespace {
        let at = if scope.starts_with(key) {
            Some(0)
        } else {
            scope.find(&format!(":{key}")).map(|i| i + 1)
        };
        at.is_some_and(|i| scope.len() > i + key.len())
    } else {
        scope == key || scope.ends_with(&format!(":{key}"))
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn byte_match(hay: &[u8], needle: &[u8], pos: Positional) -> bool {
    match pos {
        Positional::Exactly => hay == needle,
        Positional::StartsWith => hay.starts_with(needle),
        Positional::EndsWith => hay.ends_with(needle),
        Positional::Contains => memchr::memmem::find(hay, needle).is_some(),
        Positional::ContainsWord => memchr::memmem::find_iter(hay, needle).any(|i| {
            let before = i == 0 || hay.get(i - 1).is_some_and(|&b| !is_word(b));
            let end = i + needle.len();
            let after = end >= hay.len() || hay.get(end).is_some_and(|&b| !is_word(b));
            before && after
        }),
    }
}

fn compare(len: u64, cmp: Cmp, size: u64) -> bool {
    match cmp {
        Cmp::Eq => len == size,
        Cmp::Ne => len != size,
        Cmp::Le => len <= size,
        Cmp::Lt => len < size,
        Cmp::Ge => len >= size,
        Cmp::Gt => len > size,
    }
}

impl Inspect {
    /// Whether any transformed value of the component passes `test`.
    fn any(&self, cx: &Cx<'_, '_>, test: impl Fn(&[u8]) -> bool) -> bool {
        match self.field.values(cx.req, cx.body_limit) {
            Values::Decided(m) => m,
            Values::Some(vals) => vals.iter().any(|v| {
                if self.transforms.is_empty() {
                    test(v)
                } else {
                    test(&apply_all(&self.transforms, v))
                }
            }),
        }
    }
}

/// The address a statement looks at: the client's, or one from a forwarded-IP header.
/// `Err(fallback)` when the header is missing or malformed.
pub(crate) fn addresses(cx: &Cx<'_, '_>, fwd: Option<&Forwarded>) -> Result<Vec<IpAddr>, bool> {
    match fwd {
        None => Ok(cx.req.source_ip.map(ip::canonical).into_iter().collect()),
        Some(f) => {
            let value = cx
                .req
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&f.header))
                .map(|(_, v)| v.as_str());
            // A missing header: the statement does not apply (no fallback); a malformed
            // one: the fallback behaviour decides.
            let Some(value) = value else {
                return Ok(Vec::new());
            };
            let Some(list) = ip::forwarded(value) else {
                return Err(f.fallback_match);
            };
            let list: Vec<IpAddr> = list.into_iter().map(ip::canonical).collect();
            Ok(match f.position {
                Position::First => list.first().copied().into_iter().collect(),
                Position::Last => list.last().copied().into_iter().collect(),
                // ANY inspects at most the last 10 addresses.
                Position::Any => {
                    let skip = list.len().saturating_sub(10);
                    list.into_iter().skip(skip).collect()
                }
            })
        }
    }
}

impl Stmt {
    /// Whether the statement matches (rate-based statements count the request).
    pub(crate) fn matches(&self, cx: &mut Cx<'_, '_>) -> bool {
        match self {
            Stmt::Byte {
                inspect,
                pos,
                needle,
            } => inspect.any(cx, |v| byte_match(v, needle, *pos)),
            Stmt::Regex { inspect, re } => inspect.any(cx, |v| re.is_match(v)),
            Stmt::RegexSet { inspect, set } => inspect.any(cx, |v| set.is_match(v)),
            Stmt::Sqli { inspect, level } => inspect.any(cx, |v| sqli::is_sqli(v, *level)),
            Stmt::Xss { inspect } => inspect.any(cx, |v| xss::is_xss(v, Sensitivity::Low)),
            Stmt::Size { inspect, cmp, size } => {
                inspect.any(cx, |v| compare(v.len() as u64, *cmp, *size))
            }
            Stmt::Geo {
                countries,
                forwarded,
            } => match addresses(cx, forwarded.as_ref()) {
                Err(fallback) => fallback,
                Ok(addrs) => addrs.into_iter().any(|a| match cx.country(a) {
                    Some(c) => countries.contains(&c),
                    None => false,
                }),
            },
            Stmt::IpSet { set, forwarded } => match addresses(cx, forwarded.as_ref()) {
                Err(fallback) => fallback,
                Ok(addrs) => addrs.into_iter().any(|a| set.contains(a)),
            },
            Stmt::Asn { asns, forwarded } => match addresses(cx, forwarded.as_ref()) {
                Err(fallback) => fallback,
                Ok(addrs) => addrs
                    .into_iter()
                    .any(|a| cx.asn(a).is_some_and(|n| asns.contains(&n))),
            },
            Stmt::Label {
                namespace,
                key,
                context,
            } => cx
                .labels
                .iter()
                .any(|l| label_matches(l, key, context, *namespace)),
            Stmt::And(list) => list.iter().all(|s| s.matches(cx)),
            Stmt::Or(list) => list.iter().any(|s| s.matches(cx)),
            Stmt::Not(s) => !s.matches(cx),
            Stmt::Rate(r) => cx.rate(r),
            // Rule groups are evaluated rule by rule by the plan, never as a condition.
            Stmt::Group(_) => false,
        }
    }
}

/// The aggregation key of a request for a rate-based statement; `Err(fallback)` when a key
/// component is missing (`Err(false)`: the request is not counted).
pub(crate) fn aggregate(r: &Rate, cx: &Cx<'_, '_>) -> Result<String, bool> {
    let first_addr = |fwd: Option<&Forwarded>| -> Result<IpAddr, bool> {
        addresses(cx, fwd)?.first().copied().ok_or(false)
    };
    match &r.agg {
        AggKey::Ip => first_addr(None).map(|a| a.to_string()),
        AggKey::ForwardedIp(f) => first_addr(Some(f)).map(|a| a.to_string()),
        AggKey::Constant => Ok(String::new()),
        AggKey::Custom(keys) => {
            let mut parts: Vec<String> = Vec::with_capacity(keys.len());
            for k in keys {
                let v = match k {
                    CustomKey::Header(n, t) => {
                        let h = cx.req.header(n).ok_or(false)?;
                        lossy(&apply_all(t, h.as_bytes()))
                    }
                    CustomKey::Cookie(n, t) => {
                        let c = cx.req.cookies();
                        let (_, v) = c.iter().find(|(k, _)| k == n).ok_or(false)?;
                        lossy(&apply_all(t, v.as_bytes()))
                    }
                    CustomKey::QueryArgument(n, t) => {
                        let vals = cx.req.single_query_arg(n);
                        let v = vals.first().ok_or(false)?;
                        lossy(&apply_all(t, v))
                    }
                    CustomKey::QueryString(t) => {
                        if cx.req.query_string.is_empty() {
                            return Err(false);
                        }
                        lossy(&apply_all(t, cx.req.query_string.as_bytes()))
                    }
                    CustomKey::UriPath(t) => lossy(&apply_all(t, cx.req.uri_path.as_bytes())),
                    CustomKey::Method => cx.req.method.clone(),
                    CustomKey::Ip => first_addr(None)?.to_string(),
                    CustomKey::ForwardedIp => first_addr(r.forwarded.as_ref())?.to_string(),
                    CustomKey::Asn => {
                        let a = first_addr(None)?;
                        cx.asn(a)
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "0".into())
                    }
                    CustomKey::LabelNamespace(ns) => cx
                        .labels
                        .iter()
                        .find(|l| l.starts_with(ns.as_str()))
                        .cloned()
                        .ok_or(false)?,
                    CustomKey::Unavailable(m) => return Err(*m),
                };
                parts.push(v);
            }
            Ok(parts.join("\u{1f}"))
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
pub(crate) fn tests_label_matches(l: &str, key: &str, context: &str, namespace: bool) -> bool {
    label_matches(l, key, context, namespace)
}
