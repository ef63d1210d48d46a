//! Runs every case of `tests/cases/*.toml`: evaluation cases (policies, a request, the
//! expected decision, deciding `Sid`, reason and AccessDenied message) and parse cases (a
//! document and the expected error message, or that it parses).
//!
//! Case format (all fields but `name`, `action`/`resource` and `expect` optional):
//!
//! ```toml
//! [[case]]
//! name = "string-equals-match"
//! doc = "IAM JSON policy elements: Condition operators"   # the AWS page the case restates
//! principal = "arn:aws:iam::111122223333:user/alice"     # default; from_arn infers the kind
//! user_id = "AIDA..."                                    # aws:userid
//! session_issuer = "arn:aws:iam::111122223333:user/bob"  # federated users
//! tags = { team = "blue" }                               # principal tags
//! action = "s3:GetObject"
//! resource = "arn:aws:s3:::bucket/key"
//! context = { "aws:SourceIp" = "10.0.0.1", "aws:TagKeys" = ["a", "b"] }
//! policy = '''{...}'''            # one identity policy (or identity = ['''...''', ...])
//! condition = '''{"StringEquals": {"aws:username": "alice"}}'''  # an Allow *:* policy with it
//! resource_policy = '''{...}'''
//! resource_account = "444455556666"
//! boundary = '''{...}'''
//! session = ['''{...}''']
//! resource_policy_required = true
//! expect = "allow" | "implicit" | "explicit"
//! sid = "DenyLogs"                # the deciding statement's Sid ("" for none)
//! reason = "no-identity" | "no-resource" | "no-boundary" | "no-session" | "explicit-identity"
//!        | "explicit-resource" | "explicit-boundary" | "explicit-session"
//! message = "User: ... is not authorized to perform: ..."
//! matched = ["Sid1"]              # Sids of the statements that matched (trace)
//!
//! [[parse]]
//! name = "..."
//! kind = "identity" | "resource" | "any"    # default any
//! policy = '''...'''
//! error = "Syntax errors in policy."        # absent: the document must parse
//! ```
//!
//! Every request context gets the principal's global keys (`aws:username`, `aws:userid`,
//! `aws:PrincipalArn`, `aws:PrincipalTag/*`, ..., `aws:CurrentTime` = 2024-06-01T12:00:00Z,
//! `aws:SecureTransport` = true) before the case's `context` (which overrides them; a key set
//! to `"<absent>"` is removed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use rampart_policy::{
    access_denied_message, evaluate, evaluate_with_trace, CompiledPolicy, ContextKeys,
    DecisionEffect, DenyReason, EvalInput, Policy, PolicyKind, Principal, PrincipalKind, Request,
    RequestEnvironment, Value,
};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    case: Vec<Case>,
    #[serde(default)]
    parse: Vec<ParseCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    doc: Option<String>,
    principal: Option<String>,
    /// Overrides the kind `from_arn` infers: "web-identity", "role".
    principal_kind: Option<String>,
    user_id: Option<String>,
    session_issuer: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    action: String,
    resource: String,
    #[serde(default)]
    context: BTreeMap<String, toml::Value>,
    policy: Option<String>,
    #[serde(default)]
    identity: Vec<String>,
    condition: Option<String>,
    resource_policy: Option<String>,
    resource_account: Option<String>,
    boundary: Option<String>,
    session: Option<Vec<String>>,
    #[serde(default)]
    resource_policy_required: bool,
    expect: String,
    sid: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    matched: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseCase {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    doc: Option<String>,
    kind: Option<String>,
    policy: String,
    error: Option<String>,
}

fn now() -> DateTime<Utc> {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

fn toml_values(v: &toml::Value) -> Vec<Value> {
    match v {
        toml::Value::String(s) => vec![Value::String(s.clone())],
        toml::Value::Integer(i) => vec![Value::from(*i)],
        toml::Value::Float(f) => vec![Value::Number(*f)],
        toml::Value::Boolean(b) => vec![Value::Bool(*b)],
        toml::Value::Array(items) => items.iter().flat_map(toml_values).collect(),
        other => panic!("unsupported context value {other:?}"),
    }
}

fn compile(doc: &str, kind: PolicyKind, what: &str, case: &str) -> Result<CompiledPolicy, String> {
    CompiledPolicy::parse(doc, kind).map_err(|e| format!("{case}: {what} does not parse: {e}"))
}

fn reason_name(r: Option<DenyReason>) -> &'static str {
    match r {
        None => "",
        Some(DenyReason::NoIdentityPolicyAllows) => "no-identity",
        Some(DenyReason::NoResourcePolicyAllows) => "no-resource",
        Some(DenyReason::NoPermissionsBoundaryAllows) => "no-boundary",
        Some(DenyReason::NoSessionPolicyAllows) => "no-session",
        Some(DenyReason::ExplicitDenyInIdentityPolicy) => "explicit-identity",
        Some(DenyReason::ExplicitDenyInResourcePolicy) => "explicit-resource",
        Some(DenyReason::ExplicitDenyInPermissionsBoundary) => "explicit-boundary",
        Some(DenyReason::ExplicitDenyInSessionPolicy) => "explicit-session",
        Some(_) => "other",
    }
}

fn run_case(c: &Case) -> Result<(), String> {
    let arn = c
        .principal
        .as_deref()
        .unwrap_or("arn:aws:iam::111122223333:user/alice");
    let mut principal = if c.principal_kind.as_deref() == Some("web-identity") {
        Principal::new(PrincipalKind::WebIdentity, arn, "", arn)
    } else {
        Principal::from_arn(arn).ok_or_else(|| format!("{}: bad principal {arn}", c.name))?
    };
    principal.user_id = match (&c.user_id, principal.user_id.is_empty()) {
        (Some(u), _) => u.clone(),
        (None, false) => principal.user_id.clone(),
        (None, true) => "AIDAEXAMPLEUSERID0001".to_owned(),
    };
    match c.principal_kind.as_deref() {
        None => {}
        Some("web-identity") => principal.kind = PrincipalKind::WebIdentity,
        Some("role") => principal.kind = PrincipalKind::Role,
        Some(k) => return Err(format!("{}: unknown principal_kind {k}", c.name)),
    }
    if let Some(i) = &c.session_issuer {
        principal.session_issuer = Some(i.clone());
    }
    principal.tags = c.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();

    let mut env = RequestEnvironment::new(now());
    env.requested_region = Some("us-east-1".into());
    let mut context = ContextKeys::for_request(&principal, &env);
    for (k, v) in &c.context {
        if v.as_str() == Some("<absent>") {
            context.remove(k);
        } else {
            context.set(k, toml_values(v));
        }
    }
    let request = Request {
        principal,
        action: c.action.clone(),
        resource: c.resource.clone(),
        context,
    };

    let mut identity = Vec::new();
    if let Some(p) = &c.policy {
        identity.push(compile(p, PolicyKind::Identity, "policy", &c.name)?);
    }
    for p in &c.identity {
        identity.push(compile(
            p,
            PolicyKind::Identity,
            "identity policy",
            &c.name,
        )?);
    }
    if let Some(cond) = &c.condition {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Sid":"Cond","Effect":"Allow","Action":"*","Resource":"*","Condition":{cond}}}}}"#
        );
        identity.push(compile(&doc, PolicyKind::Identity, "condition", &c.name)?);
    }
    let resource_policy = match &c.resource_policy {
        Some(p) => Some(compile(
            p,
            PolicyKind::Resource,
            "resource policy",
            &c.name,
        )?),
        None => None,
    };
    let boundary = match &c.boundary {
        Some(p) => Some(compile(p, PolicyKind::Identity, "boundary", &c.name)?),
        None => None,
    };
    let session: Option<Vec<CompiledPolicy>> = match &c.session {
        Some(list) => Some(
            list.iter()
                .map(|p| compile(p, PolicyKind::Identity, "session policy", &c.name))
                .collect::<Result<_, _>>()?,
        ),
        None => None,
    };
    let identity_refs: Vec<&CompiledPolicy> = identity.iter().collect();
    let session_refs: Option<Vec<&CompiledPolicy>> = session.as_ref().map(|s| s.iter().collect());
    let input = EvalInput {
        request: &request,
        identity_policies: &identity_refs,
        resource_policy: resource_policy.as_ref(),
        resource_account: c.resource_account.as_deref(),
        permissions_boundary: boundary.as_ref(),
        session_policies: session_refs.as_deref(),
        resource_policy_required: c.resource_policy_required,
    };
    let d = evaluate(&input);
    let traced = evaluate_with_trace(&input);
    let mut errs = Vec::new();
    if traced.decision != d {
        errs.push(format!(
            "traced decision {:?} differs from {:?}",
            traced.decision, d
        ));
    }
    let got = match d.effect {
        DecisionEffect::Allow => "allow",
        DecisionEffect::ImplicitDeny => "implicit",
        DecisionEffect::ExplicitDeny => "explicit",
    };
    if got != c.expect {
        errs.push(format!("expected {}, got {got} ({:?})", c.expect, d));
    }
    if let Some(sid) = &c.sid {
        let got_sid = d
            .deciding
            .as_ref()
            .and_then(|s| s.sid.as_deref())
            .unwrap_or("");
        if got_sid != sid {
            errs.push(format!("expected deciding sid {sid:?}, got {got_sid:?}"));
        }
    }
    if let Some(r) = &c.reason {
        if reason_name(d.reason) != r {
            errs.push(format!(
                "expected reason {r}, got {}",
                reason_name(d.reason)
            ));
        }
    }
    if let Some(m) = &c.message {
        let got_m = access_denied_message(&d, &request).unwrap_or_default();
        if &got_m != m {
            errs.push(format!("expected message\n    {m}\n  got\n    {got_m}"));
        }
    }
    if let Some(want) = &c.matched {
        let got_m: Vec<String> = traced
            .matched()
            .map(|s| s.statement.sid.as_deref().unwrap_or("").to_owned())
            .collect();
        if &got_m != want {
            errs.push(format!("expected matched {want:?}, got {got_m:?}"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", c.name, errs.join("; ")))
    }
}

fn run_parse(p: &ParseCase) -> Result<(), String> {
    let kind = match p.kind.as_deref() {
        None | Some("any") => PolicyKind::Any,
        Some("identity") => PolicyKind::Identity,
        Some("resource") => PolicyKind::Resource,
        Some(k) => return Err(format!("{}: unknown kind {k}", p.name)),
    };
    let got = Policy::parse_as(&p.policy, kind);
    match (&p.error, got) {
        (None, Ok(_)) => Ok(()),
        (None, Err(e)) => Err(format!("{}: expected to parse, got {e:?}", p.name)),
        (Some(want), Ok(_)) => Err(format!("{}: expected error {want:?}, parsed", p.name)),
        (Some(want), Err(e)) if e.to_string() == *want => Ok(()),
        (Some(want), Err(e)) => Err(format!(
            "{}: expected error {want:?}, got {:?}",
            p.name,
            e.to_string()
        )),
    }
}

#[test]
fn corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut names = std::collections::HashSet::new();
    let (mut evals, mut parses) = (0usize, 0usize);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file: File = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        let fname = path.file_name().unwrap().to_string_lossy().to_string();
        for c in &file.case {
            evals += 1;
            assert!(
                names.insert(c.name.clone()),
                "duplicate case name {}",
                c.name
            );
            if let Err(e) = run_case(c) {
                failures.push(format!("{fname}: {e}"));
            }
        }
        for p in &file.parse {
            parses += 1;
            assert!(
                names.insert(p.name.clone()),
                "duplicate case name {}",
                p.name
            );
            if let Err(e) = run_parse(p) {
                failures.push(format!("{fname}: {e}"));
            }
        }
    }
    println!(
        "{evals} evaluation cases, {parses} parse cases in {} files",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        evals + parses,
        failures.join("\n")
    );
    assert!(evals + parses >= 200, "only {} cases", evals + parses);
}
