//! Compilation of a validated [`Policy`] into a form that evaluates without parsing or
//! allocating: lowercased action patterns, ARN patterns split into segments, condition values
//! parsed as numbers, dates, CIDR blocks and bytes, condition keys lowercased.

use crate::context::{ContextKeys, ContextValue, Principal, PrincipalKind};
use crate::document::{Effect, Policy, PolicyKind, PolicyVersion, Statement};
use crate::error::PolicyError;
use crate::operator::{ConditionOperator, OperatorBase, OperatorFamily, SetQualifier};
use crate::pattern::{ArnPattern, Pattern, Syntax};
use crate::values::{parse_bool, parse_date, parse_number, Cidr};
use base64::Engine as _;
use std::sync::Arc;

/// A policy ready for evaluation. Cheap to share (`Arc` it); evaluation borrows it.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    name: Option<Arc<str>>,
    policy: Policy,
    pub(crate) statements: Vec<CStatement>,
}

impl CompiledPolicy {
    /// Compiles a validated policy.
    pub fn new(policy: Policy) -> CompiledPolicy {
        let variables = policy.effective_version() == PolicyVersion::V2012_10_17;
        let statements = policy
            .statements
            .iter()
            .map(|s| CStatement::new(s, variables))
            .collect();
        CompiledPolicy {
            name: None,
            policy,
            statements,
        }
    }

    /// Compiles a validated policy and names it (the name shows in [`crate::StatementRef`]).
    pub fn named(policy: Policy, name: &str) -> CompiledPolicy {
        let mut c = CompiledPolicy::new(policy);
        c.name = Some(Arc::from(name));
        c
    }

    /// Parses, validates for `kind` and compiles.
    pub fn parse(doc: &str, kind: PolicyKind) -> Result<CompiledPolicy, PolicyError> {
        Ok(CompiledPolicy::new(Policy::parse_as(doc, kind)?))
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub(crate) fn name_arc(&self) -> Option<&Arc<str>> {
        self.name.as_ref()
    }

    /// The policy this was compiled from.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CStatement {
    pub(crate) sid: Option<Arc<str>>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<CPrincipal>,
    actions_negated: bool,
    actions_any: bool,
    actions: Vec<Pattern>,
    /// `None`: no `Resource` element (resource policies): covers the resource.
    resources: Option<CResources>,
    conditions: Vec<CCondition>,
}

#[derive(Debug, Clone)]
struct CResources {
    negated: bool,
    any: bool,
    patterns: Vec<ArnPattern>,
}

impl CStatement {
    fn new(s: &Statement, variables: bool) -> CStatement {
        let action_syntax = Syntax {
            wildcards: true,
            variables: false,
            ignore_case: true,
        };
        let actions: Vec<Pattern> = s
            .action
            .values
            .iter()
            .map(|a| Pattern::new(a, action_syntax))
            .collect();
        let resource_syntax = Syntax {
            wildcards: true,
            variables,
            ignore_case: false,
        };
        let resources = s.resource.as_ref().map(|r| {
            let patterns: Vec<ArnPattern> = r
                .values
                .iter()
                .map(|v| ArnPattern::new(v, resource_syntax))
                .collect();
            CResources {
                negated: r.negated,
                any: patterns.iter().any(ArnPattern::is_match_all),
                patterns,
            }
        });
        CStatement {
            sid: s.sid.as_deref().map(Arc::from),
            effect: s.effect,
            principal: s.principal.as_ref().map(CPrincipal::new),
            actions_negated: s.action.negated,
            actions_any: actions.iter().any(Pattern::is_match_all),
            actions,
            resources,
            conditions: s
                .conditions
                .iter()
                .map(|c| CCondition::new(c.operator, &c.key, &c.values, variables))
                .collect(),
        }
    }

    pub(crate) fn action_matches(&self, action: &str, ctx: &ContextKeys) -> bool {
        let hit = self.actions_any || self.actions.iter().any(|p| p.matches(action, ctx));
        hit != self.actions_negated
    }

    pub(crate) fn resource_matches(&self, resource: &str, ctx: &ContextKeys) -> bool {
        match &self.resources {
            None => true,
            Some(r) => {
                let hit = r.any || r.patterns.iter().any(|p| p.matches(resource, ctx));
                hit != r.negated
            }
        }
    }

    pub(crate) fn conditions_match(&self, ctx: &ContextKeys) -> bool {
        self.conditions.iter().all(|c| c.eval(ctx))
    }

    /// Action, resource and conditions (not the principal) match the request.
    pub(crate) fn matches_request(&self, action: &str, resource: &str, ctx: &ContextKeys) -> bool {
        self.action_matches(action, ctx)
            && self.resource_matches(resource, ctx)
            && self.conditions_match(ctx)
    }
}

// ---- principals -------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum PEntry {
    Account(String),
    Arn(String),
    UniqueId(String),
    Service(String),
    Federated(String),
    Canonical(String),
}

/// How a resource policy statement names the caller, which decides what limits its grant
/// (see [`crate::evaluate`]). Ordered from weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalMatch {
    /// The caller's account (`"AWS": "111122223333"` or `arn:aws:iam::111122223333:root`):
    /// the account delegates to its IAM policies; for the root user itself, a direct grant.
    Account,
    /// The role a session was assumed from, or the IAM user a federated user session came from
    /// (also an IAM role evaluated as itself): limited by permissions boundaries and session
    /// policies.
    Issuer,
    /// The caller itself (its user, session, service or provider ARN, its unique id) or
    /// everyone (`*`): not limited by implicit denies elsewhere in the same account.
    Direct,
}

#[derive(Debug, Clone)]
pub(crate) struct CPrincipal {
    pub(crate) negated: bool,
    any: bool,
    entries: Vec<PEntry>,
}

fn account_of_root_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(_), Some("iam"), Some(""), Some(account), Some("root")) => Some(account),
        _ => None,
    }
}

impl CPrincipal {
    fn new(p: &crate::document::PrincipalElement) -> CPrincipal {
        let mut entries = Vec::new();
        for a in &p.aws {
            if a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()) {
                entries.push(PEntry::Account(a.clone()));
            } else if let Some(acct) = account_of_root_arn(a) {
                entries.push(PEntry::Account(acct.to_owned()));
            } else if a.starts_with("arn:") {
                entries.push(PEntry::Arn(a.clone()));
            } else {
                entries.push(PEntry::UniqueId(a.clone()));
            }
        }
        entries.extend(p.service.iter().cloned().map(PEntry::Service));
        entries.extend(p.federated.iter().cloned().map(PEntry::Federated));
        entries.extend(p.canonical_user.iter().cloned().map(PEntry::Canonical));
        CPrincipal {
            negated: p.negated,
            any: p.any,
            entries,
        }
    }

    fn entry_match(e: &PEntry, caller: &Principal) -> Option<PrincipalMatch> {
        use PrincipalKind as K;
        let authenticated_iam = matches!(
            caller.kind,
            K::Root | K::User | K::Role | K::AssumedRole | K::FederatedUser
        );
        match e {
            PEntry::Account(acct) => (authenticated_iam && *acct == caller.account).then(|| {
                if caller.kind == K::Root {
                    PrincipalMatch::Direct
                } else {
                    PrincipalMatch::Account
                }
            }),
            PEntry::Arn(arn) => {
                if !authenticated_iam {
                    None
                } else if *arn == caller.arn {
                    Some(if caller.kind == K::Role {
                        PrincipalMatch::Issuer
                    } else {
                        PrincipalMatch::Direct
                    })
                } else if caller.session_issuer.as_deref() == Some(arn.as_str()) {
                    Some(PrincipalMatch::Issuer)
                } else {
                    None
                }
            }
            PEntry::UniqueId(id) => {
                if !authenticated_iam || caller.user_id.is_empty() {
                    None
                } else if *id == caller.user_id {
                    Some(if caller.kind == K::Role {
                        PrincipalMatch::Issuer
                    } else {
                        PrincipalMatch::Direct
                    })
                } else if caller
                    .user_id
                    .strip_prefix(id.as_str())
                    .is_some_and(|r| r.starts_with(':'))
                {
                    Some(PrincipalMatch::Issuer)
                } else {
                    None
                }
            }
            PEntry::Service(s) => (caller.kind == K::Service
                && s.eq_ignore_ascii_case(&caller.arn))
            .then_some(PrincipalMatch::Direct),
            PEntry::Federated(f) => (caller.kind == K::WebIdentity && *f == caller.arn)
                .then_some(PrincipalMatch::Direct),
            PEntry::Canonical(c) => (caller.canonical_id.as_deref() == Some(c.as_str()))
                .then_some(PrincipalMatch::Direct),
        }
    }

    /// The strongest way the `Principal` list names the caller (ignores negation).
    pub(crate) fn best_match(&self, caller: &Principal) -> Option<PrincipalMatch> {
        if self.any {
            return Some(PrincipalMatch::Direct);
        }
        self.entries
            .iter()
            .filter_map(|e| CPrincipal::entry_match(e, caller))
            .max()
    }

    /// For `NotPrincipal`: whether every identity in the caller's chain (its account, the role
    /// or user a session came from, the caller itself) is listed. AWS evaluates each link, so
    /// a `NotPrincipal` naming a session but not its role or account still covers the caller.
    pub(crate) fn lists_whole_chain(&self, caller: &Principal) -> bool {
        if self.any {
            return true;
        }
        let listed = |pred: &dyn Fn(&PEntry) -> bool| self.entries.iter().any(pred);
        use PrincipalKind as K;
        match caller.kind {
            K::Anonymous => false,
            K::Service | K::WebIdentity => {
                listed(&|e| CPrincipal::entry_match(e, caller).is_some())
            }
            _ => {
                let account_listed =
                    listed(&|e| matches!(e, PEntry::Account(a) if *a == caller.account));
                if !account_listed {
                    return false;
                }
                if caller.kind == K::Root {
                    return true;
                }
                let self_listed = listed(&|e| match e {
                    PEntry::Arn(a) => *a == caller.arn,
                    PEntry::UniqueId(id) => *id == caller.user_id,
                    _ => false,
                });
                let issuer_listed = match &caller.session_issuer {
                    Some(issuer) if caller.kind.is_session() => {
                        listed(&|e| matches!(e, PEntry::Arn(a) if a == issuer))
                    }
                    _ => true,
                };
                self_listed && issuer_listed
            }
        }
    }

    /// For `NotPrincipal`: whether any identity of the caller's chain is listed.
    pub(crate) fn lists_any_of_chain(&self, caller: &Principal) -> bool {
        self.any
            || self
                .entries
                .iter()
                .any(|e| CPrincipal::entry_match(e, caller).is_some())
    }
}

// ---- conditions -------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum CValues {
    /// String operators and `Bool` (compared as text, ignoring case).
    Patterns(Vec<Pattern>),
    Arns(Vec<ArnPattern>),
    Numbers(Vec<f64>),
    Dates(Vec<i64>),
    Binary(Vec<Vec<u8>>),
    Ips(Vec<Cidr>),
    Null(Vec<bool>),
}

#[derive(Debug, Clone)]
struct CCondition {
    op: ConditionOperator,
    key: String,
    values: CValues,
}

impl CCondition {
    fn new(op: ConditionOperator, key: &str, values: &[String], variables: bool) -> CCondition {
        use OperatorBase as O;
        let vars = variables && op.base.supports_variables();
        let pats = |wildcards: bool, ignore_case: bool| {
            CValues::Patterns(
                values
                    .iter()
                    .map(|v| {
                        Pattern::new(
                            v,
                            Syntax {
                                wildcards,
                                variables: vars,
                                ignore_case,
                            },
                        )
                    })
                    .collect(),
            )
        };
        let values = match op.family() {
            OperatorFamily::String => match op.base {
                O::StringLike | O::StringNotLike => pats(true, false),
                O::StringEqualsIgnoreCase | O::StringNotEqualsIgnoreCase => pats(false, true),
                _ => pats(false, false),
            },
            OperatorFamily::Bool => pats(false, true),
            OperatorFamily::Arn => CValues::Arns(
                values
                    .iter()
                    .map(|v| {
                        ArnPattern::new(
                            v,
                            Syntax {
                                wildcards: true,
                                variables: vars,
                                ignore_case: false,
                            },
                        )
                    })
                    .collect(),
            ),
            // The parser refuses values that do not parse; `filter_map` keeps compilation
            // total for policies built by hand.
            OperatorFamily::Numeric => {
                CValues::Numbers(values.iter().filter_map(|v| parse_number(v)).collect())
            }
            OperatorFamily::Date => {
                CValues::Dates(values.iter().filter_map(|v| parse_date(v)).collect())
            }
            OperatorFamily::Binary => CValues::Binary(
                values
                    .iter()
                    .filter_map(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
                    .collect(),
            ),
            OperatorFamily::Ip => {
                CValues::Ips(values.iter().filter_map(|v| Cidr::parse(v)).collect())
            }
            OperatorFamily::Null => {
                CValues::Null(values.iter().filter_map(|v| parse_bool(v)).collect())
            }
        };
        CCondition {
            op,
            key: key.to_lowercase(),
            values,
        }
    }

    /// Whether one request value matches at least one policy value, by the positive form of
    /// the operator (`StringNotEquals` compares as `StringEquals`; the caller negates).
    fn positive(&self, v: &ContextValue, ctx: &ContextKeys) -> bool {
        use OperatorBase as O;
        match &self.values {
            CValues::Patterns(ps) => ps.iter().any(|p| p.matches(v.as_str(), ctx)),
            CValues::Arns(ps) => ps.iter().any(|p| p.matches(v.as_str(), ctx)),
            CValues::Numbers(ns) => {
                let Some(x) = v.number() else { return false };
                ns.iter().any(|&n| match self.op.base {
                    O::NumericLessThan => x < n,
                    O::NumericLessThanEquals => x <= n,
                    O::NumericGreaterThan => x > n,
                    O::NumericGreaterThanEquals => x >= n,
                    _ => x == n,
                })
            }
            CValues::Dates(ds) => {
                let Some(x) = v.epoch_ms() else { return false };
                ds.iter().any(|&d| match self.op.base {
                    O::DateLessThan => x < d,
                    O::DateLessThanEquals => x <= d,
                    O::DateGreaterThan => x > d,
                    O::DateGreaterThanEquals => x >= d,
                    _ => x == d,
                })
            }
            CValues::Binary(bs) => bs.iter().any(|b| b.as_slice() == v.bytes()),
            CValues::Ips(cs) => match v.ip() {
                Some(ip) => cs.iter().any(|c| c.contains(&ip)),
                None => false,
            },
            CValues::Null(_) => false,
        }
    }

    fn eval(&self, ctx: &ContextKeys) -> bool {
        let present = ctx.get_lower(&self.key).filter(|v| !v.is_empty());
        if let CValues::Null(wants) = &self.values {
            let absent = present.is_none();
            return wants.contains(&absent);
        }
        let negated = self.op.base.is_negated();
        let Some(vals) = present else {
            if self.op.if_exists {
                return true;
            }
            return match self.op.qualifier {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => negated,
            };
        };
        match self.op.qualifier {
            Some(SetQualifier::ForAllValues) => {
                vals.iter().all(|v| self.positive(v, ctx) != negated)
            }
            Some(SetQualifier::ForAnyValue) => {
                vals.iter().any(|v| self.positive(v, ctx) != negated)
            }
            None => vals.iter().any(|v| self.positive(v, ctx)) != negated,
        }
    }
}
