//! Evaluation: the policies that apply to a request combined as AWS combines them.
//!
//! # The rules (AWS "Policy evaluation logic")
//!
//! 1. **Explicit deny wins.** A matching `Deny` statement in any applicable policy — identity
//!    policies, the resource policy, the permissions boundary, session policies — denies. When
//!    several policy types deny, the decision names the first of identity, resource, boundary,
//!    session (AWS names only one type too).
//! 2. **Same account** (the resource's account is the caller's; a resource ARN without an
//!    account, as S3's, counts as the caller's unless [`EvalInput::resource_account`] says
//!    otherwise). The request is allowed when any of these holds:
//!    - *identity path*: an identity policy allows **and** the permissions boundary (if any)
//!      allows **and** the session policies (for session principals, if any were passed)
//!      allow — the three intersect. A federated user session (`GetFederationToken`) without a
//!      session policy has no identity-path permissions.
//!    - the resource policy allows the caller **directly**: its own ARN (IAM user, role session,
//!      federated user session), its unique id, or `*`. Not limited by an implicit deny in
//!      identity policies, boundaries or session policies ("Policy evaluation logic": an IAM
//!      user ARN "not limited by an implicit deny in an identity-based policy or permissions
//!      boundary"; a role session ARN or federated user ARN "not limited by an implicit deny in
//!      an identity-based policy, a permissions boundary, or session policy"; the
//!      `aws:PrincipalArn` + `"Principal": "*"` pattern likewise, per "AWS JSON policy elements:
//!      Principal").
//!    - the resource policy allows the caller's **issuer** — the role of a role session, the
//!      IAM user of a federated user session: then not limited by identity policies but
//!      limited by the boundary and session policies ("Resource-based policies that grant
//!      permissions to an IAM role ARN are limited by an implicit deny in a permissions
//!      boundary or session policy").
//!    - a resource policy naming the **account** (`"AWS": "111122223333"` or
//!      `arn:aws:iam::111122223333:root`) delegates to the account's IAM policies: it grants
//!      nothing by itself (the identity path decides), except to the root user.
//!
//!    With [`EvalInput::resource_policy_required`] (KMS key policies, IAM role trust policies)
//!    the resource policy must allow: a direct or issuer grant as above, or an account grant
//!    that delegates to the identity path. No matching statement denies with
//!    [`DenyReason::NoResourcePolicyAllows`] — even for the root user.
//!
//!    The root user has no identity policies, boundary or session policies: it is allowed
//!    unless explicitly denied (or a required resource policy does not allow it).
//! 3. **Cross account**: both the caller's account (the identity path, or the root user) and
//!    the resource policy (any grant naming the caller, its issuer, its account or `*`) must
//!    allow. No resource policy, no access.
//! 4. **Services, web identities, anonymous callers** have no identity policies: the resource
//!    policy alone decides.
//!
//! `NotPrincipal` with `Deny` denies unless every link of the caller's chain (account, role or
//! user a session came from, the session or user itself) is listed; and it always denies a
//! caller with a permissions boundary, as AWS documents ("Permissions boundaries for IAM
//! entities"). `NotPrincipal` with `Allow` grants (directly) to callers of which no link is
//! listed. A resource policy statement without `Principal`/`NotPrincipal` (possible only when
//! parsed with [`crate::PolicyKind::Any`]) grants nothing and denies everyone.

use crate::compile::{CStatement, CompiledPolicy, PrincipalMatch};
use crate::context::{PrincipalKind, Request};
use crate::document::Effect;
use std::fmt;
use std::sync::Arc;

/// Which kind of policy a statement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    Identity,
    Resource,
    PermissionsBoundary,
    Session,
}

/// A statement of one of the evaluated policies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatementRef {
    pub policy_type: PolicyType,
    /// Index in [`EvalInput::identity_policies`] / [`EvalInput::session_policies`] (0 for the
    /// resource policy and the boundary).
    pub policy_index: usize,
    /// The name given to [`CompiledPolicy::named`].
    pub policy_name: Option<Arc<str>>,
    pub sid: Option<Arc<str>>,
    /// Index of the statement in its policy.
    pub statement_index: usize,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionEffect {
    Allow,
    /// Nothing allows (AWS's `implicitDeny`).
    ImplicitDeny,
    /// A `Deny` statement matched (AWS's `explicitDeny`).
    ExplicitDeny,
}

impl DecisionEffect {
    /// The `EvalDecision` value of IAM's policy simulator.
    pub fn simulator_name(self) -> &'static str {
        match self {
            DecisionEffect::Allow => "allowed",
            DecisionEffect::ImplicitDeny => "implicitDeny",
            DecisionEffect::ExplicitDeny => "explicitDeny",
        }
    }
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenyReason {
    NoIdentityPolicyAllows,
    NoResourcePolicyAllows,
    NoPermissionsBoundaryAllows,
    NoSessionPolicyAllows,
    ExplicitDenyInIdentityPolicy,
    ExplicitDenyInResourcePolicy,
    ExplicitDenyInPermissionsBoundary,
    ExplicitDenyInSessionPolicy,
}

impl DenyReason {
    fn explicit(t: PolicyType) -> DenyReason {
        match t {
            PolicyType::Identity => DenyReason::ExplicitDenyInIdentityPolicy,
            PolicyType::Resource => DenyReason::ExplicitDenyInResourcePolicy,
            PolicyType::PermissionsBoundary => DenyReason::ExplicitDenyInPermissionsBoundary,
            PolicyType::Session => DenyReason::ExplicitDenyInSessionPolicy,
        }
    }

    /// The end of AWS's AccessDenied message, after `... on resource: <arn>`.
    pub fn message_tail(self, action: &str) -> String {
        match self {
            DenyReason::NoIdentityPolicyAllows => {
                format!("because no identity-based policy allows the {action} action")
            }
            DenyReason::NoResourcePolicyAllows => {
                format!("because no resource-based policy allows the {action} action")
            }
            DenyReason::NoPermissionsBoundaryAllows => {
                format!("because no permissions boundary allows the {action} action")
            }
            DenyReason::NoSessionPolicyAllows => {
                format!("because no session policy allows the {action} action")
            }
            DenyReason::ExplicitDenyInIdentityPolicy => {
                "with an explicit deny in an identity-based policy".to_owned()
            }
            DenyReason::ExplicitDenyInResourcePolicy => {
                "with an explicit deny in a resource-based policy".to_owned()
            }
            DenyReason::ExplicitDenyInPermissionsBoundary => {
                "with an explicit deny in a permissions boundary".to_owned()
            }
            DenyReason::ExplicitDenyInSessionPolicy => {
                "with an explicit deny in a session policy".to_owned()
            }
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DenyReason::NoIdentityPolicyAllows => "no identity-based policy allows",
            DenyReason::NoResourcePolicyAllows => "no resource-based policy allows",
            DenyReason::NoPermissionsBoundaryAllows => "no permissions boundary allows",
            DenyReason::NoSessionPolicyAllows => "no session policy allows",
            DenyReason::ExplicitDenyInIdentityPolicy => "explicit deny in an identity-based policy",
            DenyReason::ExplicitDenyInResourcePolicy => "explicit deny in a resource-based policy",
            DenyReason::ExplicitDenyInPermissionsBoundary => {
                "explicit deny in a permissions boundary"
            }
            DenyReason::ExplicitDenyInSessionPolicy => "explicit deny in a session policy",
        })
    }
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub effect: DecisionEffect,
    /// The statement that decided: the matching `Deny`, or the `Allow` that granted (an
    /// identity policy's when the identity path allowed, else the resource policy's). `None`
    /// for implicit denies and for the root user allowed without a statement.
    pub deciding: Option<StatementRef>,
    /// `None` when allowed.
    pub reason: Option<DenyReason>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.effect == DecisionEffect::Allow
    }

    fn allow(deciding: Option<StatementRef>) -> Decision {
        Decision {
            effect: DecisionEffect::Allow,
            deciding,
            reason: None,
        }
    }

    fn implicit(reason: DenyReason) -> Decision {
        Decision {
            effect: DecisionEffect::ImplicitDeny,
            deciding: None,
            reason: Some(reason),
        }
    }

    fn explicit(s: StatementRef) -> Decision {
        Decision {
            effect: DecisionEffect::ExplicitDeny,
            reason: Some(DenyReason::explicit(s.policy_type)),
            deciding: Some(s),
        }
    }
}

/// Everything an evaluation reads.
#[derive(Debug, Clone, Copy)]
pub struct EvalInput<'a> {
    pub request: &'a Request,
    /// The caller's identity policies: its user's inline and managed policies and its groups'
    /// (or the role's, for a role session).
    pub identity_policies: &'a [&'a CompiledPolicy],
    /// The policy attached to the resource (key policy, secret policy, trust policy, ...).
    pub resource_policy: Option<&'a CompiledPolicy>,
    /// The account that owns the resource; `None`: the account in the resource ARN, or the
    /// caller's when the ARN has none.
    pub resource_account: Option<&'a str>,
    /// The caller's (user's or role's) permissions boundary.
    pub permissions_boundary: Option<&'a CompiledPolicy>,
    /// The session policies passed when the session was created (`None`: none were passed).
    /// Read only for session principals.
    pub session_policies: Option<&'a [&'a CompiledPolicy]>,
    /// The resource policy must allow (KMS key policies, role trust policies): identity
    /// policies count only where it delegates to the account.
    pub resource_policy_required: bool,
}

impl<'a> EvalInput<'a> {
    /// An input with no policies.
    pub fn new(request: &'a Request) -> EvalInput<'a> {
        EvalInput {
            request,
            identity_policies: &[],
            resource_policy: None,
            resource_account: None,
            permissions_boundary: None,
            session_policies: None,
            resource_policy_required: false,
        }
    }
}

/// One statement as an evaluation saw it (for `SimulatePrincipalPolicy`'s `MatchedStatements`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementResult {
    pub statement: StatementRef,
    pub effect: Effect,
    /// The statement applies: action, resource, principal (resource policies) and conditions
    /// all match.
    pub matched: bool,
}

/// A decision with the result of every statement evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub statements: Vec<StatementResult>,
}

impl Evaluation {
    /// The statements that matched.
    pub fn matched(&self) -> impl Iterator<Item = &StatementResult> {
        self.statements.iter().filter(|s| s.matched)
    }
}

/// Evaluates a request; does not allocate beyond what the decision holds.
pub fn evaluate(input: &EvalInput<'_>) -> Decision {
    run(input, None)
}

/// Evaluates a request and reports every statement of every applicable policy (no
/// short-circuit), for policy simulation.
pub fn evaluate_with_trace(input: &EvalInput<'_>) -> Evaluation {
    let mut statements = Vec::new();
    let decision = run(input, Some(&mut statements));
    Evaluation {
        decision,
        statements,
    }
}

/// AWS's AccessDenied message for a denied decision: `User: <arn> is not authorized to perform:
/// <action> on resource: <resource> because no identity-based policy allows the <action>
/// action` and the like (the `on resource:` part is left out for `*`). `None` when allowed.
pub fn access_denied_message(decision: &Decision, request: &Request) -> Option<String> {
    let reason = decision.reason?;
    let on = if request.resource.is_empty() || request.resource == "*" {
        String::new()
    } else {
        format!(" on resource: {}", request.resource)
    };
    Some(format!(
        "User: {} is not authorized to perform: {}{} {}",
        request.principal.arn,
        request.action,
        on,
        reason.message_tail(&request.action)
    ))
}

#[derive(Default)]
struct SetScan {
    deny: Option<StatementRef>,
    allow: Option<StatementRef>,
}

fn sref(t: PolicyType, pi: usize, p: &CompiledPolicy, si: usize, s: &CStatement) -> StatementRef {
    StatementRef {
        policy_type: t,
        policy_index: pi,
        policy_name: p.name_arc().cloned(),
        sid: s.sid.clone(),
        statement_index: si,
    }
}

type Trace<'t> = Option<&'t mut Vec<StatementResult>>;

fn record(trace: &mut Trace<'_>, r: &StatementRef, effect: Effect, matched: bool) {
    if let Some(t) = trace.as_deref_mut() {
        t.push(StatementResult {
            statement: r.clone(),
            effect,
            matched,
        });
    }
}

/// Scans identity-like policies (identity, boundary, session), where `Principal` plays no part.
fn scan_set(
    t: PolicyType,
    policies: &[&CompiledPolicy],
    req: &Request,
    trace: &mut Trace<'_>,
) -> SetScan {
    let mut out = SetScan::default();
    let tracing = trace.is_some();
    for (pi, p) in policies.iter().enumerate() {
        for (si, s) in p.statements.iter().enumerate() {
            let done = match s.effect {
                Effect::Allow => out.allow.is_some(),
                Effect::Deny => out.deny.is_some(),
            };
            if done && !tracing {
                continue;
            }
            let matched = s.matches_request(&req.action, &req.resource, &req.context);
            if !matched && !tracing {
                continue;
            }
            let r = sref(t, pi, p, si, s);
            record(trace, &r, s.effect, matched);
            if matched {
                let slot = match s.effect {
                    Effect::Allow => &mut out.allow,
                    Effect::Deny => &mut out.deny,
                };
                if slot.is_none() {
                    *slot = Some(r);
                }
            }
        }
    }
    out
}

#[derive(Default)]
struct ResourceScan {
    deny: Option<StatementRef>,
    grant: Option<(PrincipalMatch, StatementRef)>,
}

fn scan_resource(
    p: &CompiledPolicy,
    req: &Request,
    has_boundary: bool,
    trace: &mut Trace<'_>,
) -> ResourceScan {
    let mut out = ResourceScan::default();
    let tracing = trace.is_some();
    let caller = &req.principal;
    for (si, s) in p.statements.iter().enumerate() {
        let principal = match (s.effect, &s.principal) {
            (Effect::Allow, None) => None,
            (Effect::Deny, None) => Some(PrincipalMatch::Direct),
            (Effect::Allow, Some(pr)) if pr.negated => {
                (!pr.lists_any_of_chain(caller)).then_some(PrincipalMatch::Direct)
            }
            (Effect::Deny, Some(pr)) if pr.negated => {
                (has_boundary || !pr.lists_whole_chain(caller)).then_some(PrincipalMatch::Direct)
            }
            (_, Some(pr)) => pr.best_match(caller),
        };
        let useful = match (s.effect, principal) {
            (_, None) => false,
            (Effect::Deny, Some(_)) => out.deny.is_none(),
            (Effect::Allow, Some(m)) => out.grant.as_ref().is_none_or(|(g, _)| m > *g),
        };
        if !useful && !tracing {
            continue;
        }
        let matched =
            principal.is_some() && s.matches_request(&req.action, &req.resource, &req.context);
        if !matched && !tracing {
            continue;
        }
        let r = sref(PolicyType::Resource, 0, p, si, s);
        record(trace, &r, s.effect, matched);
        if matched {
            match (s.effect, principal) {
                (Effect::Deny, _) => {
                    if out.deny.is_none() {
                        out.deny = Some(r);
                    }
                }
                (Effect::Allow, Some(m)) => {
                    if out.grant.as_ref().is_none_or(|(g, _)| m > *g) {
                        out.grant = Some((m, r));
                    }
                }
                (Effect::Allow, None) => {}
            }
        }
    }
    out
}

fn same_account(input: &EvalInput<'_>) -> bool {
    let caller = &input.request.principal.account;
    if let Some(a) = input.resource_account {
        return a == caller;
    }
    let mut parts = input.request.resource.splitn(6, ':');
    match (parts.next(), parts.nth(3)) {
        (Some("arn"), Some(acct)) if !acct.is_empty() => acct == caller,
        _ => true,
    }
}

fn run(input: &EvalInput<'_>, mut trace: Trace<'_>) -> Decision {
    let req = input.request;
    let caller = &req.principal;
    let kind = caller.kind;
    let tracing = trace.is_some();
    let iam_identity = matches!(
        kind,
        PrincipalKind::User
            | PrincipalKind::Role
            | PrincipalKind::AssumedRole
            | PrincipalKind::FederatedUser
    );
    let boundary = input.permissions_boundary.filter(|_| iam_identity);
    let sessions = input.session_policies.filter(|_| kind.is_session());

    // 1. Explicit denies, and the allows of each policy type.
    let id = if iam_identity {
        scan_set(
            PolicyType::Identity,
            input.identity_policies,
            req,
            &mut trace,
        )
    } else {
        SetScan::default()
    };
    if let (Some(d), false) = (&id.deny, tracing) {
        return Decision::explicit(d.clone());
    }
    let res = match input.resource_policy {
        Some(p) => scan_resource(p, req, boundary.is_some(), &mut trace),
        None => ResourceScan::default(),
    };
    if let (Some(d), false) = (&res.deny, tracing) {
        return Decision::explicit(d.clone());
    }
    let bnd = match boundary {
        Some(b) => scan_set(PolicyType::PermissionsBoundary, &[b], req, &mut trace),
        None => SetScan::default(),
    };
    if let (Some(d), false) = (&bnd.deny, tracing) {
        return Decision::explicit(d.clone());
    }
    let ses = match sessions {
        Some(list) => scan_set(PolicyType::Session, list, req, &mut trace),
        None => SetScan::default(),
    };
    if let Some(d) = [&id.deny, &res.deny, &bnd.deny, &ses.deny]
        .into_iter()
        .flatten()
        .next()
    {
        return Decision::explicit(d.clone());
    }

    let grant = res.grant.as_ref().map(|(m, _)| *m);
    let grant_ref = || res.grant.as_ref().map(|(_, r)| r.clone());

    // 4. Callers without identity policies: the resource policy alone decides.
    if !iam_identity && kind != PrincipalKind::Root {
        return match grant {
            Some(_) => Decision::allow(grant_ref()),
            None => Decision::implicit(DenyReason::NoResourcePolicyAllows),
        };
    }

    let id_ok = id.allow.is_some();
    let b_ok = boundary.is_none() || bnd.allow.is_some();
    let s_ok = match sessions {
        Some(_) => ses.allow.is_some(),
        None => kind != PrincipalKind::FederatedUser,
    };
    let limits_ok = b_ok && s_ok;
    let first_identity_failure = || {
        if !id_ok {
            DenyReason::NoIdentityPolicyAllows
        } else if !b_ok {
            DenyReason::NoPermissionsBoundaryAllows
        } else {
            DenyReason::NoSessionPolicyAllows
        }
    };
    let limit_failure = || {
        if !b_ok {
            DenyReason::NoPermissionsBoundaryAllows
        } else {
            DenyReason::NoSessionPolicyAllows
        }
    };

    if !same_account(input) {
        // 3. Cross account: the caller's account and the resource policy must both allow.
        let identity_side = kind == PrincipalKind::Root || (id_ok && limits_ok);
        if !identity_side {
            return Decision::implicit(first_identity_failure());
        }
        return match grant {
            Some(_) => Decision::allow(if kind == PrincipalKind::Root {
                grant_ref()
            } else {
                id.allow.clone().or_else(grant_ref)
            }),
            None => Decision::implicit(DenyReason::NoResourcePolicyAllows),
        };
    }

    // 2. Same account.
    if kind == PrincipalKind::Root {
        if input.resource_policy_required && grant.is_none() {
            return Decision::implicit(DenyReason::NoResourcePolicyAllows);
        }
        return Decision::allow(grant_ref());
    }
    let identity_path = id_ok && limits_ok && (!input.resource_policy_required || grant.is_some());
    match grant {
        _ if identity_path => Decision::allow(id.allow.clone()),
        Some(PrincipalMatch::Direct) => Decision::allow(grant_ref()),
        Some(PrincipalMatch::Issuer) if limits_ok => Decision::allow(grant_ref()),
        None if input.resource_policy_required => {
            Decision::implicit(DenyReason::NoResourcePolicyAllows)
        }
        Some(PrincipalMatch::Issuer) => Decision::implicit(limit_failure()),
        _ => Decision::implicit(first_identity_failure()),
    }
}
