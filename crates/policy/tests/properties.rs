//! Properties of evaluation over random policy sets:
//! - adding a `Deny` statement that matches the request, in any policy type that applies to the
//!   caller, always yields `ExplicitDeny`;
//! - removing every `Deny` statement never turns an `Allow` into a deny;
//! - `evaluate` and `evaluate_with_trace` agree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rampart_policy::{
    evaluate, evaluate_with_trace, CompiledPolicy, ContextKeys, DecisionEffect, EvalInput,
    PolicyKind, Principal, Request,
};

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "kms:Encrypt",
    "kms:Decrypt",
    "iam:CreateUser",
];
const ACTION_PATTERNS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "kms:*crypt",
    "kms:?ncrypt",
    "iam:CreateUser",
    "KMS:DECRYPT",
];
const RESOURCES: &[&str] = &[
    "arn:aws:s3:::bucket/key",
    "arn:aws:s3:::logs/2024/file",
    "arn:aws:kms:us-east-1:111122223333:key/k1",
    "arn:aws:kms:us-east-1:444455556666:key/k2",
    "*",
];
const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::*log*",
    "arn:aws:kms:*:111122223333:key/*",
    "arn:aws:kms:us-east-1:*:key/k?",
    "arn:aws:s3:::${aws:username}/*",
];
const CONDITIONS: &[&str] = &[
    "",
    r#","Condition":{"StringEquals":{"aws:username":"alice"}}"#,
    r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
    r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
    r#","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["team*"]}}"#,
    r#","Condition":{"StringNotEqualsIfExists":{"x:k":"v"}}"#,
    r#","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
    r#","Condition":{"Null":{"x:k":"false"}}"#,
];
const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"111122223333"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:role/app"}"#,
    r#"{"AWS":"arn:aws:iam::444455556666:root"}"#,
    r#"{"Service":"kms.amazonaws.com"}"#,
];
const CALLERS: &[&str] = &[
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:sts::111122223333:assumed-role/app/s1",
    "arn:aws:iam::444455556666:user/bob",
    "arn:aws:iam::111122223333:root",
    "kms.amazonaws.com",
    "anonymous",
];

#[derive(Debug, Clone)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<usize>,
    not_resource: bool,
    resources: Vec<usize>,
    condition: usize,
    principal: usize,
    not_principal: bool,
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..ACTION_PATTERNS.len(), 1..3),
        prop::bool::weighted(0.15),
        prop::collection::vec(0..RESOURCE_PATTERNS.len(), 1..3),
        0..CONDITIONS.len(),
        0..PRINCIPALS.len(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(
                deny,
                not_action,
                actions,
                not_resource,
                resources,
                condition,
                principal,
                not_principal,
            )| Stmt {
                deny,
                not_action,
                actions,
                not_resource,
                resources,
                condition,
                principal,
                not_principal,
            },
        )
}

fn list(items: &[usize], table: &[&str]) -> String {
    let v: Vec<String> = items
        .iter()
        .map(|&i| format!("\"{}\"", table.get(i).copied().unwrap_or("*")))
        .collect();
    format!("[{}]", v.join(","))
}

fn statement_json(s: &Stmt, resource_policy: bool) -> String {
    let principal = if resource_policy {
        let key = if s.not_principal && s.deny {
            "NotPrincipal"
        } else {
            "Principal"
        };
        format!(
            r#""{key}":{},"#,
            PRINCIPALS.get(s.principal).copied().unwrap_or("\"*\"")
        )
    } else {
        String::new()
    };
    format!(
        r#"{{{principal}"Effect":"{}","{}":{},"{}":{}{}}}"#,
        if s.deny { "Deny" } else { "Allow" },
        if s.not_action { "NotAction" } else { "Action" },
        list(&s.actions, ACTION_PATTERNS),
        if s.not_resource {
            "NotResource"
        } else {
            "Resource"
        },
        list(&s.resources, RESOURCE_PATTERNS),
        CONDITIONS.get(s.condition).copied().unwrap_or(""),
    )
}

fn policy_json(stmts: &[Stmt], extra: Option<&str>, resource_policy: bool) -> String {
    let mut parts: Vec<String> = stmts
        .iter()
        .map(|s| statement_json(s, resource_policy))
        .collect();
    if let Some(e) = extra {
        parts.push(e.to_owned());
    }
    if parts.is_empty() {
        // A statement that matches nothing keeps the policy valid.
        let principal = if resource_policy {
            r#""Principal":"*","#
        } else {
            ""
        };
        parts.push(format!(
            r#"{{{principal}"Effect":"Allow","Action":"none:Nothing","Resource":"*"}}"#
        ));
    }
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        parts.join(",")
    )
}

#[derive(Debug, Clone)]
struct Scenario {
    caller: usize,
    action: usize,
    resource: usize,
    identity: Vec<Vec<Stmt>>,
    resource_policy: Option<Vec<Stmt>>,
    boundary: Option<Vec<Stmt>>,
    session: Option<Vec<Vec<Stmt>>>,
    required: bool,
    ip: bool,
    tag_keys: bool,
    /// Where the matching deny goes: 0 identity, 1 resource, 2 boundary, 3 session.
    deny_at: usize,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let policy = || prop::collection::vec(stmt(), 1..5);
    (
        (0..CALLERS.len(), 0..ACTIONS.len(), 0..RESOURCES.len()),
        prop::collection::vec(policy(), 0..3),
        prop::option::of(policy()),
        prop::option::of(policy()),
        prop::option::of(prop::collection::vec(policy(), 1..3)),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        0..4usize,
    )
        .prop_map(
            |(
                (caller, action, resource),
                identity,
                resource_policy,
                boundary,
                session,
                (required, ip, tag_keys),
                deny_at,
            )| {
                Scenario {
                    caller,
                    action,
                    resource,
                    identity,
                    resource_policy,
                    boundary,
                    session,
                    required,
                    ip,
                    tag_keys,
                    deny_at,
                }
            },
        )
}

struct Built {
    request: Request,
    identity: Vec<CompiledPolicy>,
    resource_policy: Option<CompiledPolicy>,
    boundary: Option<CompiledPolicy>,
    session: Option<Vec<CompiledPolicy>>,
    required: bool,
}

impl Built {
    fn decide(&self) -> (DecisionEffect, DecisionEffect) {
        let ids: Vec<&CompiledPolicy> = self.identity.iter().collect();
        let ses: Option<Vec<&CompiledPolicy>> = self.session.as_ref().map(|s| s.iter().collect());
        let input = EvalInput {
            request: &self.request,
            identity_policies: &ids,
            resource_policy: self.resource_policy.as_ref(),
            resource_account: None,
            permissions_boundary: self.boundary.as_ref(),
            session_policies: ses.as_deref(),
            resource_policy_required: self.required,
        };
        (
            evaluate(&input).effect,
            evaluate_with_trace(&input).decision.effect,
        )
    }
}

/// Builds the scenario; `deny` adds a statement that matches the request where it applies to
/// the caller; `strip_denies` drops every random `Deny`.
fn build(s: &Scenario, deny: bool, strip_denies: bool) -> Built {
    let caller_arn = CALLERS.get(s.caller).copied().unwrap_or("anonymous");
    let principal = Principal::from_arn(caller_arn).unwrap();
    let action = ACTIONS.get(s.action).copied().unwrap_or("s3:GetObject");
    let resource = RESOURCES.get(s.resource).copied().unwrap_or("*");
    let mut context = ContextKeys::new();
    context.insert("aws:username", "alice");
    context.insert("aws:SecureTransport", true);
    if s.ip {
        context.insert("aws:SourceIp", "10.1.2.3");
    }
    if s.tag_keys {
        context.set("aws:TagKeys", ["team", "env"]);
    }
    let request = Request {
        principal: principal.clone(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        context,
    };

    // Where can a deny apply? Identity, boundary: IAM users and role sessions. Session: role
    // sessions. Resource: everyone (with `Principal: *`).
    let iam = matches!(s.caller, 0..=2);
    let session_caller = s.caller == 1;
    let mut at = s.deny_at;
    if (at == 0 || at == 2) && !iam {
        at = 1;
    }
    if at == 3 && !session_caller {
        at = 1;
    }
    let deny_identity =
        format!(r#"{{"Sid":"Added","Effect":"Deny","Action":"{action}","Resource":"{resource}"}}"#);
    let deny_resource = format!(
        r#"{{"Sid":"Added","Effect":"Deny","Principal":"*","Action":"{action}","Resource":"{resource}"}}"#
    );
    let keep = |v: &Vec<Stmt>| -> Vec<Stmt> {
        v.iter()
            .filter(|st| !(strip_denies && st.deny))
            .cloned()
            .collect()
    };
    let compile = |doc: String, kind| CompiledPolicy::parse(&doc, kind).unwrap();

    let mut identity: Vec<CompiledPolicy> = s
        .identity
        .iter()
        .map(|p| compile(policy_json(&keep(p), None, false), PolicyKind::Identity))
        .collect();
    if deny && at == 0 {
        identity.push(compile(
            policy_json(&[], Some(&deny_identity), false),
            PolicyKind::Identity,
        ));
    }
    let resource_policy = match (&s.resource_policy, deny && at == 1) {
        (Some(p), add) => Some(compile(
            policy_json(&keep(p), add.then_some(deny_resource.as_str()), true),
            PolicyKind::Resource,
        )),
        (None, true) => Some(compile(
            policy_json(&[], Some(&deny_resource), true),
            PolicyKind::Resource,
        )),
        (None, false) => None,
    };
    let boundary = match (&s.boundary, deny && at == 2) {
        (Some(p), add) => Some(compile(
            policy_json(&keep(p), add.then_some(deny_identity.as_str()), false),
            PolicyKind::Identity,
        )),
        (None, true) => Some(compile(
            policy_json(&[], Some(&deny_identity), false),
            PolicyKind::Identity,
        )),
        (None, false) => None,
    };
    let mut session: Option<Vec<CompiledPolicy>> = s.session.as_ref().map(|list| {
        list.iter()
            .map(|p| compile(policy_json(&keep(p), None, false), PolicyKind::Identity))
            .collect()
    });
    if deny && at == 3 {
        session.get_or_insert_with(Vec::new).push(compile(
            policy_json(&[], Some(&deny_identity), false),
            PolicyKind::Identity,
        ));
    }
    Built {
        request,
        identity,
        resource_policy,
        boundary,
        session,
        required: s.required,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn a_matching_deny_always_denies(s in scenario()) {
        let (fast, traced) = build(&s, true, false).decide();
        prop_assert_eq!(fast, DecisionEffect::ExplicitDeny);
        prop_assert_eq!(traced, DecisionEffect::ExplicitDeny);
    }

    #[test]
    fn removing_denies_never_removes_an_allow(s in scenario()) {
        let (with, traced) = build(&s, false, false).decide();
        prop_assert_eq!(with, traced);
        let (without, _) = build(&s, false, true).decide();
        if with == DecisionEffect::Allow {
            prop_assert_eq!(without, DecisionEffect::Allow);
        }
        prop_assert_ne!(without, DecisionEffect::ExplicitDeny);
    }
}
