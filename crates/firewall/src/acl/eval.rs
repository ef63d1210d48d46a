//! Evaluating a plan: rules in priority order, AWS's terminating and non-terminating actions,
//! labels, rule group overrides, and the verdict the edge acts on and logs.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::net::IpAddr;

use super::rate::RateTracker;
use super::stmt::{self, GroupRef, GroupRules, Rate, Stmt};
use super::{Body, CustomResponse, InsertHeaders, Plan, Rule, RuleAction, RuleKind};
use crate::inspect::Inspection;
use crate::request::Request;

/// Country and ASN of an address (a database the operator supplies).
pub trait GeoLookup: Send + Sync {
    fn country(&self, ip: IpAddr) -> Option<[u8; 2]>;
    fn asn(&self, ip: IpAddr) -> Option<u32>;
}

/// What the request's `aws-waf-token` says, as the edge verified it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenState {
    /// Seconds since a CAPTCHA was solved with this token.
    pub captcha_age_s: Option<u64>,
    /// Seconds since a challenge was answered with this token.
    pub challenge_age_s: Option<u64>,
}

/// The world a plan evaluates in.
pub struct EvalEnv<'a> {
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
    pub rates: &'a RateTracker,
    pub geo: Option<&'a dyn GeoLookup>,
    pub token: TokenState,
}

/// The final action for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    Allow,
    Block,
    Captcha,
    Challenge,
}

impl Terminal {
    pub fn as_str(self) -> &'static str {
        match self {
            Terminal::Allow => "ALLOW",
            Terminal::Block => "BLOCK",
            Terminal::Captcha => "CAPTCHA",
            Terminal::Challenge => "CHALLENGE",
        }
    }
}

/// The rule that decided (`terminatingRuleId` / `terminatingRuleType` of WAF logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminating {
    /// The web ACL rule's name, or `Default_Action`.
    pub rule_id: String,
    /// `REGULAR`, `RATE_BASED`, `GROUP`, `MANAGED_RULE_GROUP` or `DEFAULT`.
    pub rule_type: &'static str,
    /// The metric name of the deciding web ACL rule (or of the web ACL).
    pub metric_name: String,
    pub sampled: bool,
}

/// A rule that matched without ending evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonTerminating {
    pub rule_id: String,
    pub action: &'static str,
    pub metric_name: String,
    pub sampled: bool,
}

/// What happened inside a rule group (`ruleGroupList` of WAF logs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleGroupHit {
    pub rule_group_id: String,
    /// The group's rule that terminated, and its action.
    pub terminating: Option<(String, &'static str)>,
    pub non_terminating: Vec<(String, &'static str)>,
    pub excluded: Vec<String>,
}

/// A rate-based rule that is limiting this request's key (`rateBasedRuleList`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateHit {
    pub rule_id: String,
    /// `IP`, `FORWARDED_IP`, `CONSTANT` or `CUSTOM_KEYS`.
    pub limit_key: &'static str,
    pub limit_value: String,
    pub max_rate_allowed: u64,
    pub window_s: u64,
}

/// A response the edge sends instead of forwarding the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
}

/// The outcome of evaluating one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub action: Terminal,
    pub terminating: Terminating,
    pub non_terminating: Vec<NonTerminating>,
    pub rule_groups: Vec<RuleGroupHit>,
    pub rate_limited: Vec<RateHit>,
    /// Every label the request collected, in order.
    pub labels: Vec<String>,
    /// Headers to insert into the forwarded request (Allow / Count ...).
    pub insert_headers: InsertHeaders,
    /// For Block / Captcha / Challenge: what to answer.
    pub response: Option<Response>,
}

/// Per-request evaluation state.
pub(crate) struct Cx<'r, 'e> {
    pub req: &'r Request,
    pub body_limit: usize,
    pub labels: Vec<String>,
    env: &'e EvalEnv<'e>,
    ins: OnceCell<Inspection<'r>>,
    countries: HashMap<IpAddr, Option<[u8; 2]>>,
    rate_hits: Vec<RateHit>,
    current_rule: String,
}

impl<'r> Cx<'r, '_> {
    pub(crate) fn country(&mut self, ip: IpAddr) -> Option<[u8; 2]> {
        if let Some(c) = self.countries.get(&ip) {
            return *c;
        }
        let c = self.env.geo.and_then(|g| g.country(ip));
        self.countries.insert(ip, c);
        if let Some(cc) = c {
            let label = format!(
                "awswaf:clientip:geo:country:{}",
                String::from_utf8_lossy(&cc)
            );
            if !self.labels.contains(&label) {
                self.labels.push(label);
            }
        }
        c
    }

    pub(crate) fn asn(&self, ip: IpAddr) -> Option<u32> {
        self.env.geo.and_then(|g| g.asn(ip))
    }

    fn inspection(&self) -> &Inspection<'r> {
        self.ins
            .get_or_init(|| Inspection::with_body_limit(self.req, self.body_limit))
    }

    pub(crate) fn rate(&mut self, r: &Rate) -> bool {
        if let Some(sd) = &r.scope_down {
            if !sd.matches(self) {
                return false;
            }
        }
        let key = match stmt::aggregate(r, self) {
            Ok(k) => k,
            Err(fallback) => return fallback,
        };
        let n = self
            .env
            .rates
            .hit(&r.key, &key, self.env.now_ms, r.window_s, r.limit);
        if n > r.limit {
            self.rate_hits.push(RateHit {
                rule_id: self.current_rule.clone(),
                limit_key: match r.agg {
                    stmt::AggKey::Ip => "IP",
                    stmt::AggKey::ForwardedIp(_) => "FORWARDED_IP",
                    stmt::AggKey::Constant => "CONSTANT",
                    stmt::AggKey::Custom(_) => "CUSTOM_KEYS",
                },
                limit_value: key,
                max_rate_allowed: r.limit,
                window_s: r.window_s,
            });
            true
        } else {
            false
        }
    }

    fn add_labels(&mut self, labels: &[String]) {
        for l in labels {
            if !self.labels.contains(l) {
                self.labels.push(l.clone());
            }
        }
    }
}

/// What an action does to evaluation.
enum Outcome {
    Continue(&'static str, InsertHeaders),
    Stop(Terminal, Option<Response>, InsertHeaders),
}

const BLOCK_PAGE: &str = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n</body>\r\n</html>\r\n";

fn default_block() -> Response {
    Response {
        status: 403,
        headers: Vec::new(),
        body: Some(Body {
            content_type: "text/html",
            content: BLOCK_PAGE.to_string(),
        }),
    }
}

fn interstitial(status: u16, what: &str) -> Response {
    Response {
        status,
        headers: vec![("x-amzn-waf-action".to_string(), what.to_ascii_lowercase())],
        body: Some(Body {
            content_type: "text/html",
            content: format!(
                "<!DOCTYPE html>\n<html><head><title>Human verification</title></head><body>\
                 <p>This request needs a {what} token (aws-waf-token) before it can continue.</p>\
                 </body></html>\n"
            ),
        }),
    }
}

fn outcome(a: &RuleAction, token: TokenState, cx: &mut Cx<'_, '_>) -> Outcome {
    match a {
        RuleAction::Allow(h) => Outcome::Stop(Terminal::Allow, None, h.clone()),
        RuleAction::Count(h) => Outcome::Continue("COUNT", h.clone()),
        RuleAction::Block(custom) => Outcome::Stop(
            Terminal::Block,
            Some(match custom {
                Some(CustomResponse {
                    status,
                    headers,
                    body,
                }) => Response {
                    status: *status,
                    headers: headers.clone(),
                    body: body.clone(),
                },
                None => default_block(),
            }),
            Vec::new(),
        ),
        RuleAction::Captcha {
            headers,
            immunity_s,
        } => {
            if token.captcha_age_s.is_some_and(|a| a <= *immunity_s) {
                cx.add_labels(&["awswaf:managed:token:accepted".to_string()]);
                Outcome::Continue("CAPTCHA", headers.clone())
            } else {
                let l = if token.captcha_age_s.is_some() {
                    "awswaf:managed:captcha:expired"
                } else {
                    "awswaf:managed:token:absent"
                };
                cx.add_labels(&[l.to_string()]);
                Outcome::Stop(
                    Terminal::Captcha,
                    Some(interstitial(405, "CAPTCHA")),
                    Vec::new(),
                )
            }
        }
        RuleAction::Challenge {
            headers,
            immunity_s,
        } => {
            if token.challenge_age_s.is_some_and(|a| a <= *immunity_s) {
                cx.add_labels(&["awswaf:managed:token:accepted".to_string()]);
                Outcome::Continue("CHALLENGE", headers.clone())
            } else {
                cx.add_labels(&["awswaf:managed:token:absent".to_string()]);
                Outcome::Stop(
                    Terminal::Challenge,
                    Some(interstitial(202, "challenge")),
                    Vec::new(),
                )
            }
        }
    }
}

impl Plan {
    /// Evaluates `req`.
    pub fn evaluate(&self, req: &Request, env: &EvalEnv<'_>) -> Verdict {
        let mut cx = Cx {
            req,
            body_limit: self.body_limit,
            labels: Vec::new(),
            env,
            ins: OnceCell::new(),
            countries: HashMap::new(),
            rate_hits: Vec::new(),
            current_rule: String::new(),
        };
        let mut non_terminating = Vec::new();
        let mut rule_groups = Vec::new();
        let mut insert: InsertHeaders = Vec::new();
        for rule in &self.rules {
            cx.current_rule.clone_from(&rule.name);
            let stop = match (&rule.kind, &rule.stmt) {
                (RuleKind::Group { count }, Stmt::Group(g)) => {
                    let (hit, stop) = eval_group(g, *count, &mut cx, env.token);
                    let matched = hit.terminating.is_some() || !hit.non_terminating.is_empty();
                    if matched {
                        cx.add_labels(&rule.labels);
                    }
                    if matched && stop.is_none() {
                        non_terminating.push(NonTerminating {
                            rule_id: rule.name.clone(),
                            action: "COUNT",
                            metric_name: rule.metric_name.clone(),
                            sampled: rule.sampled,
                        });
                    }
                    if matched {
                        rule_groups.push(hit);
                    }
                    stop.map(|(t, resp, h)| {
                        let ty = match g.rules {
                            GroupRules::Managed(_) | GroupRules::IpLists(_) => "MANAGED_RULE_GROUP",
                            GroupRules::Custom(_) => "GROUP",
                        };
                        (t, resp, h, ty)
                    })
                }
                (RuleKind::Action(a), s) => {
                    if s.matches(&mut cx) {
                        cx.add_labels(&rule.labels);
                        match outcome(a, env.token, &mut cx) {
                            Outcome::Continue(action, h) => {
                                insert.extend(h);
                                non_terminating.push(NonTerminating {
                                    rule_id: rule.name.clone(),
                                    action,
                                    metric_name: rule.metric_name.clone(),
                                    sampled: rule.sampled,
                                });
                                None
                            }
                            Outcome::Stop(t, resp, h) => {
                                let ty = if s.is_rate() { "RATE_BASED" } else { "REGULAR" };
                                Some((t, resp, h, ty))
                            }
                        }
                    } else {
                        None
                    }
                }
                // A group statement under an Action (or the reverse) does not compile.
                (RuleKind::Group { .. }, _) => None,
            };
            if let Some((action, response, h, rule_type)) = stop {
                insert.extend(h);
                return Verdict {
                    action,
                    terminating: Terminating {
                        rule_id: rule.name.clone(),
                        rule_type,
                        metric_name: rule.metric_name.clone(),
                        sampled: rule.sampled,
                    },
                    non_terminating,
                    rule_groups,
                    rate_limited: cx.rate_hits,
                    labels: cx.labels,
                    insert_headers: if action == Terminal::Allow {
                        insert
                    } else {
                        Vec::new()
                    },
                    response,
                };
            }
        }
        let (action, response, h) = match outcome(&self.default_action, env.token, &mut cx) {
            Outcome::Stop(t, r, h) => (t, r, h),
            Outcome::Continue(_, h) => (Terminal::Allow, None, h),
        };
        insert.extend(h);
        Verdict {
            action,
            terminating: Terminating {
                rule_id: "Default_Action".to_string(),
                rule_type: "REGULAR",
                metric_name: self.metric_name.clone(),
                sampled: self.sampled,
            },
            non_terminating,
            rule_groups,
            rate_limited: cx.rate_hits,
            labels: cx.labels,
            insert_headers: if action == Terminal::Allow {
                insert
            } else {
                Vec::new()
            },
            response,
        }
    }
}

type Stop = Option<(Terminal, Option<Response>, InsertHeaders)>;

/// Evaluates a rule group's rules as one web ACL rule.
fn eval_group(
    g: &GroupRef,
    count_all: bool,
    cx: &mut Cx<'_, '_>,
    token: TokenState,
) -> (RuleGroupHit, Stop) {
    let mut hit = RuleGroupHit {
        rule_group_id: g.id.clone(),
        ..RuleGroupHit::default()
    };
    if let Some(sd) = &g.scope_down {
        if !sd.matches(cx) {
            return (hit, None);
        }
    }
    let effective = |name: &str, own: RuleAction| -> RuleAction {
        if g.excluded.contains(name) {
            return RuleAction::Count(Vec::new());
        }
        g.overrides.get(name).cloned().unwrap_or(own)
    };
    // Under an OverrideAction of Count, the group is evaluated as usual up to its first
    // terminating match, which then only counts and ends the group's evaluation.
    let count_stop = |hit: &mut RuleGroupHit, name: String, t: Terminal| -> (RuleGroupHit, Stop) {
        hit.terminating = Some((name, t.as_str()));
        (std::mem::take(hit), None)
    };
    match &g.rules {
        GroupRules::Managed(group) => {
            for r in &group.rules {
                if !r.matches(cx.inspection()) {
                    continue;
                }
                if let Some(done) = managed_match(
                    r.name, &r.label, r.action, g, &mut hit, cx, token, count_all, &effective,
                ) {
                    return done;
                }
            }
        }
        GroupRules::IpLists(rules) => {
            let ip = cx.req.source_ip.map(crate::acl::ip::canonical);
            for r in rules.iter() {
                if !ip.is_some_and(|a| r.set.contains(a)) {
                    continue;
                }
                if let Some(done) = managed_match(
                    r.name, &r.label, r.action, g, &mut hit, cx, token, count_all, &effective,
                ) {
                    return done;
                }
            }
        }
        GroupRules::Custom(rules) => {
            for r in rules.iter() {
                if let Some((t, resp, h)) = eval_custom_rule(r, g, &mut hit, cx, token, &effective)
                {
                    if count_all {
                        return count_stop(&mut hit, r.name.clone(), t);
                    }
                    return (hit, Some((t, resp, h)));
                }
            }
        }
    }
    (hit, None)
}

/// A matching rule of a managed group: its label, its (overridden) action; `Some` when the
/// group's evaluation ends here.
#[allow(clippy::too_many_arguments)]
fn managed_match(
    name: &'static str,
    label: &str,
    action: crate::managed::Action,
    g: &GroupRef,
    hit: &mut RuleGroupHit,
    cx: &mut Cx<'_, '_>,
    token: TokenState,
    count_all: bool,
    effective: &dyn Fn(&str, RuleAction) -> RuleAction,
) -> Option<(RuleGroupHit, Stop)> {
    cx.add_labels(&[label.to_string()]);
    let own = match action {
        crate::managed::Action::Block => RuleAction::Block(None),
        crate::managed::Action::Count => RuleAction::Count(Vec::new()),
        crate::managed::Action::Allow => RuleAction::Allow(Vec::new()),
    };
    let a = effective(name, own);
    if g.excluded.contains(name) {
        hit.excluded.push(name.to_string());
    }
    match outcome(&a, token, cx) {
        Outcome::Continue(action, _) => {
            hit.non_terminating.push((name.to_string(), action));
            None
        }
        Outcome::Stop(t, _, _) if count_all => {
            hit.terminating = Some((name.to_string(), t.as_str()));
            Some((std::mem::take(hit), None))
        }
        Outcome::Stop(t, resp, h) => {
            hit.terminating = Some((name.to_string(), t.as_str()));
            Some((std::mem::take(hit), Some((t, resp, h))))
        }
    }
}

fn eval_custom_rule(
    r: &Rule,
    g: &GroupRef,
    hit: &mut RuleGroupHit,
    cx: &mut Cx<'_, '_>,
    token: TokenState,
    effective: &dyn Fn(&str, RuleAction) -> RuleAction,
) -> Option<(Terminal, Option<Response>, InsertHeaders)> {
    let RuleKind::Action(own) = &r.kind else {
        return None;
    };
    if !r.stmt.matches(cx) {
        return None;
    }
    cx.add_labels(&r.labels);
    let a = effective(&r.name, own.clone());
    if g.excluded.contains(&r.name) {
        hit.excluded.push(r.name.clone());
    }
    match outcome(&a, token, cx) {
        Outcome::Continue(action, _) => {
            hit.non_terminating.push((r.name.clone(), action));
            None
        }
        Outcome::Stop(t, resp, h) => {
            hit.terminating = Some((r.name.clone(), t.as_str()));
            Some((t, resp, h))
        }
    }
}
