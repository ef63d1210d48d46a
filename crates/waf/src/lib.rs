//! AWS WAFv2 (`AWSWAF_20190729`): web ACLs, rule groups, IP sets and regex pattern sets with
//! optimistic locking, associations with Rampart's proxies (modelled as Application Load
//! Balancers), logging configurations, permission policies, tags, managed rule group discovery,
//! sampled requests and rate-limited keys. Every change that affects what a proxy enforces
//! recompiles the plans of the region's associated web ACLs (`rampart_firewall::acl`) and
//! pushes them to the data plane ([`DataPlane`]).
#![forbid(unsafe_code)]

pub mod apikeys;
pub mod entity;
pub mod lists;
mod managed;
pub mod plane;

use std::collections::HashMap;
use std::sync::Arc;

use entity::{Entity, EntityArn, Kind, Tag, ASSOCIATIONS, ENTITIES};
pub use plane::{DataPlane, Enforcement, LogConfig, NoDataPlane, Samples};
use rampart_core::{AwsError, RequestContext};
use rampart_firewall::acl::{self, ip, CompileError, Plan};
use rampart_model::wafv2::{self as m, Wafv2};
use rampart_model::{from_value, to_value};
use rampart_store::{Store, StoreExt, Tx, TxError};
use serde_json::{json, Value};

type R<T> = Result<T, AwsError>;
type TxR<T> = Result<T, TxError>;

const MAX_TAGS: usize = 50;
const MAX_ADDRESSES: usize = 10_000;
const MAX_REGEXES: usize = 10;
const MAX_REGEX_LEN: usize = 200;
const MAX_WEB_ACL_WCU: u64 = 5_000;
const MAX_RULE_GROUP_WCU: u64 = 5_000;
const MAX_REFERENCES: usize = 50;

// ---- errors, with the texts AWS returns -------------------------------------------------------

pub fn nonexistent() -> AwsError {
    m::waf_nonexistent_item_exception(
        "AWS WAF couldn\u{2019}t perform the operation because your resource doesn\u{2019}t exist.",
    )
}

fn duplicate() -> AwsError {
    m::waf_duplicate_item_exception(
        "AWS WAF couldn\u{2019}t perform the operation because some resource in your request is a duplicate of an existing one.",
    )
}

fn optimistic_lock() -> AwsError {
    m::waf_optimistic_lock_exception(
        "AWS WAF couldn\u{2019}t save your changes because someone changed the resource after you started to edit it. Reapply your changes.",
    )
}

fn associated() -> AwsError {
    m::waf_associated_item_exception(
        "AWS WAF couldn\u{2019}t perform the operation because your resource is being used by another resource or it\u{2019}s associated with another resource.",
    )
}

fn limits() -> AwsError {
    m::waf_limits_exceeded_exception(
        "AWS WAF couldn\u{2019}t perform the operation because you exceeded your resource limit. For example, the maximum number of WebACL objects that you can create for an AWS account. For more information, see Limits in the AWS WAF Developer Guide.",
    )
}

fn internal() -> AwsError {
    m::waf_internal_error_exception(
        "Your request is valid, but AWS WAF couldn\u{2019}t perform the operation because of a system problem. Retry your request.",
    )
}

/// `WAFInvalidParameterException` with its `Field`, `Parameter` and `Reason` members.
pub fn invalid(field: &str, parameter: &str, reason: &str) -> AwsError {
    let parameter = if parameter.is_empty() {
        "null"
    } else {
        parameter
    };
    m::waf_invalid_parameter_exception(format!(
        "Error reason: {reason}, field: {field}, parameter: {parameter}"
    ))
    .with_field("Field", field)
    .with_field("Parameter", parameter)
    .with_field("Reason", reason)
}

const BAD_ARN: &str =
    "The ARN isn't valid. A valid ARN begins with arn: and includes other information separated by colons or slashes.";

fn compile_error(e: CompileError) -> AwsError {
    match e {
        CompileError::Invalid {
            field,
            parameter,
            reason,
        } => invalid(field, &parameter, reason),
        CompileError::Nonexistent(what) => match what.split_once('#') {
            Some((vendor, name)) => m::waf_nonexistent_item_exception(format!(
                "ManagedRules with name {name} by vendor {vendor} does not exist. Please check your inputs"
            )),
            None => invalid("RULE", "Statement", acl::REASON_REFERENCE),
        },
    }
}

fn tx_err(e: TxError) -> AwsError {
    e.into_aws("wafv2", internal)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The members of a typed request as stored: its JSON without the identity members.
fn spec_of<T: serde::Serialize>(input: &T, drop: &[&str]) -> R<Value> {
    let mut v = to_value(input)?;
    if let Value::Object(o) = &mut v {
        for k in ["Name", "Scope", "Id", "LockToken", "Tags", "Description"]
            .iter()
            .chain(drop)
        {
            o.remove(*k);
        }
        o.retain(|_, v| !v.is_null());
    }
    Ok(v)
}

fn tags_in(tags: Option<Vec<m::Tag>>) -> R<Vec<Tag>> {
    let tags: Vec<Tag> = tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| Tag {
            key: t.key,
            value: t.value,
        })
        .collect();
    if tags.len() > MAX_TAGS {
        return Err(limits());
    }
    Ok(tags)
}

// ---- the region's entities as the rule engine's resolver --------------------------------------

/// Every entity of one account and scope, read in one transaction.
struct ScopeView {
    entities: Vec<Entity>,
    account: String,
    lists: Arc<lists::IpLists>,
}

impl ScopeView {
    fn load(tx: &mut dyn Tx, account: &str, region: &str) -> TxR<ScopeView> {
        let mut entities = Vec::new();
        for kind in [Kind::WebAcl, Kind::RuleGroup, Kind::IpSet, Kind::RegexSet] {
            for (_, e) in tx.scan_json::<Entity>(
                ENTITIES,
                &entity::prefix(account, region, kind),
                None,
                10_000,
            )? {
                entities.push(e);
            }
        }
        Ok(ScopeView {
            entities,
            account: account.to_string(),
            lists: Arc::default(),
        })
    }

    fn with_lists(mut self, lists: Arc<lists::IpLists>) -> ScopeView {
        self.lists = lists;
        self
    }

    fn by_arn(&self, arn: &str, kind: Kind) -> Option<&Entity> {
        self.entities
            .iter()
            .find(|e| e.kind == kind && e.arn == arn)
    }

    fn of(&self, kind: Kind) -> impl Iterator<Item = &Entity> {
        self.entities.iter().filter(move |e| e.kind == kind)
    }
}

fn ip_family(spec: &Value) -> ip::Family {
    if spec.get("IPAddressVersion").and_then(Value::as_str) == Some("IPV6") {
        ip::Family::V6
    } else {
        ip::Family::V4
    }
}

impl acl::Resolver for ScopeView {
    fn managed_ip_list(&self, rule: &str) -> Option<Arc<ip::IpSet>> {
        self.lists.sets.get(rule).cloned()
    }

    fn ip_set(&self, arn: &str) -> Option<acl::IpSetDef> {
        let e = self.by_arn(arn, Kind::IpSet)?;
        let fam = ip_family(&e.spec);
        let blocks: Vec<ip::Cidr> = e
            .spec
            .get("Addresses")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|a| a.as_str().and_then(|s| ip::Cidr::parse(s, fam).ok()))
            .collect();
        Some(acl::IpSetDef {
            set: Arc::new(ip::IpSet::new(&blocks)),
        })
    }

    fn regex_set(&self, arn: &str) -> Option<Vec<String>> {
        let e = self.by_arn(arn, Kind::RegexSet)?;
        Some(
            e.spec
                .get("RegularExpressionList")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .filter_map(|r| r.get("RegexString").and_then(Value::as_str))
                .map(str::to_string)
                .collect(),
        )
    }

    fn rule_group(&self, arn: &str) -> Option<acl::RuleGroupDef> {
        let e = self.by_arn(arn, Kind::RuleGroup)?;
        Some(acl::RuleGroupDef {
            name: e.name.clone(),
            id: e.id.clone(),
            arn: e.arn.clone(),
            label_namespace: format!("awswaf:{}:rulegroup:{}:", self.account, e.name),
            rules: e.spec.get("Rules").cloned().unwrap_or(Value::Null),
            bodies: e
                .spec
                .get("CustomResponseBodies")
                .cloned()
                .unwrap_or(Value::Null),
            capacity: e.capacity,
        })
    }
}

/// References (`ARN` members of reference statements) in a list of rules.
fn references(rules: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if k == "ARN" {
                        if let Some(s) = x.as_str() {
                            out.push(s.to_string());
                        }
                    } else {
                        walk(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(rules, &mut out);
    out
}

fn count_statements(rules: &Value, key: &str) -> usize {
    fn walk(v: &Value, key: &str) -> usize {
        match v {
            Value::Object(o) => o
                .iter()
                .map(|(k, x)| usize::from(k == key) + walk(x, key))
                .sum(),
            Value::Array(a) => a.iter().map(|x| walk(x, key)).sum(),
            _ => 0,
        }
    }
    walk(rules, key)
}

/// Checks a web ACL's members and returns its capacity.
fn check_web_acl(view: &ScopeView, spec: &Value, name: &str) -> R<u64> {
    let rules = spec.get("Rules").cloned().unwrap_or(Value::Null);
    let refs = references(&rules).len() + count_statements(&rules, "ManagedRuleGroupStatement");
    if refs > MAX_REFERENCES || count_statements(&rules, "RateBasedStatement") > 10 {
        return Err(limits());
    }
    let plan = Plan::compile(
        spec,
        acl::AclIdentity {
            name: name.to_string(),
            ..Default::default()
        },
        view,
        &acl::CompileOptions {
            account: view.account.clone(),
            ..Default::default()
        },
    )
    .map_err(compile_error)?;
    if plan.capacity > MAX_WEB_ACL_WCU {
        return Err(invalid(
            "WEB_ACL",
            &plan.capacity.to_string(),
            acl::REASON_CAPACITY,
        ));
    }
    Ok(plan.capacity)
}

fn check_rule_group(view: &ScopeView, spec: &Value, name: &str, capacity: u64) -> R<()> {
    let rules = spec.get("Rules").cloned().unwrap_or(Value::Null);
    if references(&rules).len() > MAX_REFERENCES
        || count_statements(&rules, "RateBasedStatement") > 4
    {
        return Err(limits());
    }
    let ns = format!("awswaf:{}:rulegroup:{name}:", view.account);
    let need = acl::check_rule_group(&rules, spec.get("CustomResponseBodies"), &ns, view)
        .map_err(compile_error)?;
    if need > capacity {
        return Err(invalid(
            "RULE_GROUP",
            &need.to_string(),
            acl::REASON_CAPACITY,
        ));
    }
    Ok(())
}

fn check_addresses(addresses: &[String], version: &str) -> R<()> {
    if addresses.len() > MAX_ADDRESSES {
        return Err(limits());
    }
    let fam = if version == "IPV6" {
        ip::Family::V6
    } else {
        ip::Family::V4
    };
    for a in addresses {
        ip::Cidr::parse(a, fam).map_err(|_| invalid("IP_ADDRESS", a, acl::REASON_FORMAT))?;
    }
    Ok(())
}

fn check_regexes(list: &[m::Regex]) -> R<()> {
    if list.len() > MAX_REGEXES {
        return Err(limits());
    }
    for r in list {
        let s = r.regex_string.as_deref().unwrap_or_default();
        if s.len() > MAX_REGEX_LEN {
            return Err(limits());
        }
        regex::bytes::RegexBuilder::new(s)
            .size_limit(1 << 20)
            .build()
            .map_err(|_| invalid("REGEX_PATTERN_SET", s, acl::REASON_FORMAT))?;
    }
    Ok(())
}

/// A log destination ARN: a Firehose stream, S3 bucket or CloudWatch Logs group whose name
/// starts with `aws-waf-logs-`; returns that name.
fn log_destination_name(arn: &str) -> Option<String> {
    let mut p = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(service), Some(_region), Some(_account), Some(res)) =
        (p.next(), p.next(), p.next(), p.next(), p.next(), p.next())
    else {
        return None;
    };
    let name = match service {
        "firehose" => res.strip_prefix("deliverystream/")?,
        "s3" => res,
        "logs" => res.strip_prefix("log-group:")?.trim_end_matches(":*"),
        _ => return None,
    };
    (name.starts_with("aws-waf-logs-")
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')))
    .then(|| name.to_string())
}

/// Checks a rule group permission policy as AWS does.
fn check_permission_policy(doc: &str) -> R<()> {
    let bad = |why: &str| {
        m::waf_invalid_permission_policy_exception(format!(
            "The operation failed because the specified policy isn't in the proper format. {why}"
        ))
    };
    let v: Value = serde_json::from_str(doc).map_err(|_| bad("The policy is not valid JSON."))?;
    match v.get("Version").and_then(Value::as_str) {
        Some("2012-10-17" | "2015-01-01") => {}
        _ => return Err(bad("The policy must use IAM policy version 2012-10-17.")),
    }
    let statements = match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => return Err(bad("The policy must have a Statement.")),
    };
    const ALLOWED: &[&str] = &[
        "wafv2:CreateWebACL",
        "wafv2:UpdateWebACL",
        "wafv2:PutFirewallManagerRuleGroups",
        "wafv2:GetRuleGroup",
    ];
    for s in &statements {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            return Err(bad("Effect must specify Allow."));
        }
        if s.get("Principal").is_none() {
            return Err(bad("The policy must specify a Principal."));
        }
        if s.get("Resource").is_some() || s.get("NotResource").is_some() {
            return Err(bad("The policy must not include a Resource parameter."));
        }
        let actions: Vec<&str> = match s.get("Action") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(bad("The policy must specify an Action.")),
        };
        for required in &ALLOWED[..3] {
            if !actions.contains(required) {
                return Err(bad(
                    "Action must specify wafv2:CreateWebACL, wafv2:UpdateWebACL, and wafv2:PutFirewallManagerRuleGroups.",
                ));
            }
        }
        if actions.iter().any(|a| !ALLOWED.contains(a)) {
            return Err(bad(
                "The policy must not include extra or wildcard actions.",
            ));
        }
    }
    Ok(())
}

fn page_limit(limit: Option<i32>) -> usize {
    limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(100)
        .clamp(1, 100)
}

/// The web ACL's `LabelNamespace` and other members Get returns besides the stored ones.
fn describe(e: &Entity) -> Value {
    let mut v = e.full();
    if let Value::Object(o) = &mut v {
        match e.kind {
            Kind::WebAcl => {
                o.insert("Capacity".into(), e.capacity.into());
                o.insert("ManagedByFirewallManager".into(), false.into());
                o.insert("RetrofittedByFirewallManager".into(), false.into());
                o.insert(
                    "LabelNamespace".into(),
                    format!("awswaf:{}:webacl:{}:", e.account, e.name).into(),
                );
                o.entry("Rules").or_insert_with(|| json!([]));
            }
            Kind::RuleGroup => {
                let ns = format!("awswaf:{}:rulegroup:{}:", e.account, e.name);
                let rules = e.spec.get("Rules").cloned().unwrap_or(json!([]));
                let (available, consumed) = acl::rule_labels(&rules, &ns);
                o.insert("Capacity".into(), e.capacity.into());
                o.insert("LabelNamespace".into(), ns.into());
                o.entry("Rules").or_insert_with(|| json!([]));
                let names = |v: Vec<String>| -> Value {
                    v.into_iter().map(|n| json!({"Name": n})).collect()
                };
                if !available.is_empty() {
                    o.insert("AvailableLabels".into(), names(available));
                }
                if !consumed.is_empty() {
                    o.insert("ConsumedLabels".into(), names(consumed));
                }
            }
            Kind::IpSet | Kind::RegexSet => {}
        }
    }
    v
}

/// The service.
pub struct WafService {
    store: Arc<dyn Store>,
    plane: Arc<dyn DataPlane>,
    /// Where the IP reputation lists live, and what was read from there.
    lists_dir: Option<std::path::PathBuf>,
    lists: std::sync::RwLock<Arc<lists::IpLists>>,
}

impl WafService {
    pub fn new(store: Arc<dyn Store>, plane: Arc<dyn DataPlane>) -> WafService {
        WafService {
            store,
            plane,
            lists_dir: None,
            lists: std::sync::RwLock::new(Arc::default()),
        }
    }

    /// Feeds the IP reputation groups from the lists in `dir` (see [`lists`]).
    pub fn with_ip_lists(mut self, dir: std::path::PathBuf) -> WafService {
        let l = lists::IpLists::load(&dir);
        for (rule, n) in &l.counts {
            tracing::info!(rule, addresses = n, "IP reputation list loaded");
        }
        self.lists = std::sync::RwLock::new(Arc::new(l));
        self.lists_dir = Some(dir);
        self
    }

    fn current_lists(&self) -> Arc<lists::IpLists> {
        self.lists.read().map(|l| l.clone()).unwrap_or_default()
    }

    /// Re-reads the IP reputation lists if their files changed, and republishes the plans.
    pub fn refresh_ip_lists(&self) {
        let Some(dir) = &self.lists_dir else {
            return;
        };
        if !self.current_lists().changed(dir) {
            return;
        }
        let l = Arc::new(lists::IpLists::load(dir));
        tracing::info!(lists = ?l.counts, "IP reputation lists changed");
        if let Ok(mut g) = self.lists.write() {
            *g = l;
        }
        self.publish_all();
    }

    fn region_of(ctx: &RequestContext, scope: m::Scope) -> R<String> {
        let scope = scope.as_str();
        if scope == "CLOUDFRONT" && ctx.region != "us-east-1" {
            return Err(invalid("SCOPE_VALUE", scope, "The scope is not valid."));
        }
        Ok(entity::scope_region(scope, &ctx.region))
    }

    /// Finds an entity by name and id in the caller's scope.
    fn get_entity(
        &self,
        ctx: &RequestContext,
        kind: Kind,
        scope: m::Scope,
        name: &str,
        id: &str,
    ) -> R<Entity> {
        let region = Self::region_of(ctx, scope)?;
        let key = entity::key(&ctx.account_id, &region, kind, id);
        let e: Option<Entity> = self
            .store
            .read(|tx| tx.get_json::<Entity>(ENTITIES, &key).map_err(TxError::from))
            .map_err(tx_err)?;
        match e {
            Some(e) if e.name == name => Ok(e),
            _ => Err(nonexistent()),
        }
    }

    /// Finds an entity by ARN (in the caller's account).
    fn by_arn(&self, ctx: &RequestContext, arn: &str) -> R<Entity> {
        let a = EntityArn::parse(arn).ok_or_else(|| invalid("RESOURCE_ARN", arn, BAD_ARN))?;
        if a.account != ctx.account_id {
            return Err(nonexistent());
        }
        let key = entity::key(&a.account, &a.scope_region, a.kind, &a.id);
        let e: Option<Entity> = self
            .store
            .read(|tx| tx.get_json::<Entity>(ENTITIES, &key).map_err(TxError::from))
            .map_err(tx_err)?;
        match e {
            Some(e) if e.arn == arn => Ok(e),
            _ => Err(nonexistent()),
        }
    }

    /// Creates an entity after `check` accepts it against the scope's other entities.
    #[allow(clippy::too_many_arguments)]
    fn create(
        &self,
        ctx: &RequestContext,
        kind: Kind,
        scope: m::Scope,
        name: String,
        description: Option<String>,
        spec: Value,
        tags: Vec<Tag>,
        check: impl FnOnce(&ScopeView, &Value) -> R<u64> + Send + 'static,
    ) -> R<Value> {
        let region = Self::region_of(ctx, scope)?;
        let account = ctx.account_id.clone();
        let scope_s = scope.as_str();
        let id = new_id();
        let arn = entity::make_arn(&account, &ctx.region, scope_s, kind, &name, &id);
        let e = Entity {
            kind,
            account: account.clone(),
            region: region.clone(),
            name,
            id,
            arn,
            description,
            lock_token: new_id(),
            spec,
            capacity: 0,
            tags,
            policy: None,
            logging: None,
        };
        let e = self
            .store
            .write(move |tx| -> TxR<Entity> {
                let view = ScopeView::load(tx, &account, &region)?;
                if view.of(kind).any(|x| x.name == e.name) {
                    return Err(duplicate().into());
                }
                if view.of(kind).count() >= kind.quota() {
                    return Err(limits().into());
                }
                let mut e = e;
                let cap = check(&view, &e.spec)?;
                if kind == Kind::WebAcl {
                    e.capacity = cap;
                }
                tx.put_json(ENTITIES, &e.key(), &e)?;
                Ok(e)
            })
            .map_err(tx_err)?;
        Ok(json!({"Summary": e.summary()}))
    }

    /// Replaces an entity's spec (and description) under its lock token, then republishes.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &self,
        ctx: &RequestContext,
        kind: Kind,
        scope: m::Scope,
        name: String,
        id: String,
        lock_token: String,
        description: Option<String>,
        spec: Value,
        check: impl FnOnce(&ScopeView, &Value, &Entity) -> R<u64> + Send + 'static,
    ) -> R<String> {
        let region = Self::region_of(ctx, scope)?;
        let account = ctx.account_id.clone();
        let key = entity::key(&account, &region, kind, &id);
        let (region2, account2) = (region.clone(), account.clone());
        let next = self
            .store
            .write(move |tx| -> TxR<String> {
                let mut e: Entity = match tx.get_json::<Entity>(ENTITIES, &key)? {
                    Some(e) if e.name == name => e,
                    _ => return Err(nonexistent().into()),
                };
                if e.lock_token != lock_token {
                    return Err(optimistic_lock().into());
                }
                let view = ScopeView::load(tx, &account2, &region2)?;
                let cap = check(&view, &spec, &e)?;
                if kind == Kind::WebAcl {
                    e.capacity = cap;
                }
                e.spec = spec;
                e.description = description;
                e.lock_token = new_id();
                tx.put_json(ENTITIES, &e.key(), &e)?;
                // Web ACLs that use a changed rule group, IP set or regex set must still compile.
                if kind != Kind::WebAcl {
                    let view = ScopeView::load(tx, &account2, &region2)?;
                    for acl_e in view.of(Kind::WebAcl) {
                        let uses = references(&acl_e.spec).contains(&e.arn);
                        if uses {
                            check_web_acl(&view, &acl_e.spec, &acl_e.name)?;
                        }
                    }
                }
                Ok(e.lock_token)
            })
            .map_err(tx_err)?;
        self.publish(&account, &region);
        Ok(next)
    }

    fn delete(
        &self,
        ctx: &RequestContext,
        kind: Kind,
        scope: m::Scope,
        name: String,
        id: String,
        lock_token: String,
    ) -> R<()> {
        let region = Self::region_of(ctx, scope)?;
        let account = ctx.account_id.clone();
        let key = entity::key(&account, &region, kind, &id);
        let (account2, region2) = (account.clone(), region.clone());
        self.store
            .write(move |tx| -> TxR<()> {
                let e: Entity = match tx.get_json::<Entity>(ENTITIES, &key)? {
                    Some(e) if e.name == name => e,
                    _ => return Err(nonexistent().into()),
                };
                if e.lock_token != lock_token {
                    return Err(optimistic_lock().into());
                }
                if kind == Kind::WebAcl {
                    let assoc = tx.scan(
                        ASSOCIATIONS,
                        &format!("{account2}/{region2}/"),
                        None,
                        100_000,
                    )?;
                    if assoc.iter().any(|(_, v)| v.as_slice() == e.arn.as_bytes()) {
                        return Err(associated().into());
                    }
                } else {
                    let view = ScopeView::load(tx, &account2, &region2)?;
                    let used = view
                        .entities
                        .iter()
                        .any(|x| x.arn != e.arn && references(&x.spec).contains(&e.arn));
                    if used {
                        return Err(associated().into());
                    }
                }
                tx.delete(ENTITIES, &key)?;
                Ok(())
            })
            .map_err(tx_err)
    }

    fn list(
        &self,
        ctx: &RequestContext,
        kind: Kind,
        scope: m::Scope,
        marker: Option<String>,
        limit: Option<i32>,
    ) -> R<(Vec<Value>, Option<String>)> {
        let region = Self::region_of(ctx, scope)?;
        let prefix = entity::prefix(&ctx.account_id, &region, kind);
        let mut all: Vec<Entity> = self
            .store
            .read(|tx| {
                tx.scan_json::<Entity>(ENTITIES, &prefix, None, 100_000)
                    .map_err(TxError::from)
            })
            .map_err(tx_err)?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let limit = page_limit(limit);
        let page: Vec<&Entity> = all
            .iter()
            .filter(|e| {
                marker
                    .as_ref()
                    .is_none_or(|mk| e.name.as_str() > mk.as_str())
            })
            .take(limit)
            .collect();
        let next = page.last().map(|e| e.name.clone());
        Ok((page.iter().map(|e| e.summary()).collect(), next))
    }

    /// Recompiles every associated web ACL of an account and region and hands the plans to
    /// the data plane.
    pub fn publish(&self, account: &str, region: &str) {
        if region == "global" {
            return;
        }
        let prefix = format!("{account}/{region}/");
        let lists = self.current_lists();
        let r = self
            .store
            .read(|tx| -> TxR<(ScopeView, Vec<(String, String)>)> {
                let view = ScopeView::load(tx, account, region)?.with_lists(lists);
                let assoc = tx
                    .scan(ASSOCIATIONS, &prefix, None, 100_000)?
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k.strip_prefix(&prefix).unwrap_or(&k).to_string(),
                            String::from_utf8_lossy(&v).into_owned(),
                        )
                    })
                    .collect();
                Ok((view, assoc))
            });
        let (view, assoc) = match r {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = ?e, "web ACL plans could not be read");
                return;
            }
        };
        let mut compiled: HashMap<String, Option<Enforcement>> = HashMap::new();
        for (resource, acl_arn) in assoc {
            let what = compiled
                .entry(acl_arn.clone())
                .or_insert_with(|| {
                    let e = view.by_arn(&acl_arn, Kind::WebAcl)?;
                    match compile_plan(&view, e) {
                        Ok(p) => Some(p),
                        Err(err) => {
                            tracing::error!(web_acl = %acl_arn, error = %err, "web ACL does not compile; its resources keep their previous plan");
                            None
                        }
                    }
                })
                .clone();
            if let Some(w) = what {
                self.plane.enforce(&resource, Some(w));
            }
        }
    }

    /// Pushes the plans of every region's associations (at start-up).
    pub fn publish_all(&self) {
        let keys = self.store.read(|tx| {
            tx.scan(ASSOCIATIONS, "", None, 1_000_000)
                .map_err(TxError::from)
        });
        let mut scopes: Vec<(String, String)> = Vec::new();
        for (k, _) in keys.unwrap_or_default() {
            let mut p = k.splitn(3, '/');
            if let (Some(a), Some(r)) = (p.next(), p.next()) {
                let s = (a.to_string(), r.to_string());
                if !scopes.contains(&s) {
                    scopes.push(s);
                }
            }
        }
        for (a, r) in scopes {
            self.publish(&a, &r);
        }
    }

    /// Forgets a deleted resource's association.
    pub fn resource_deleted(&self, account: &str, region: &str, resource: &str) {
        let key = format!("{account}/{region}/{resource}");
        let r = self
            .store
            .write(move |tx| -> TxR<bool> { tx.delete(ASSOCIATIONS, &key).map_err(TxError::from) });
        if let Err(e) = r {
            tracing::error!(error = ?e, "association of a deleted resource could not be removed");
        }
        self.plane.enforce(resource, None);
    }

    fn web_acl_for(&self, ctx: &RequestContext, resource: &str) -> R<Option<Entity>> {
        let key = format!("{}/{}/{resource}", ctx.account_id, ctx.region);
        let arn = self
            .store
            .read(|tx| tx.get(ASSOCIATIONS, &key).map_err(TxError::from))
            .map_err(tx_err)?;
        match arn {
            None => Ok(None),
            Some(a) => {
                let arn = String::from_utf8_lossy(&a).into_owned();
                self.by_arn(ctx, &arn).map(Some)
            }
        }
    }

    fn check_resource(&self, ctx: &RequestContext, arn: &str) -> R<()> {
        let (region, account) =
            entity::parse_alb_arn(arn).ok_or_else(|| invalid("RESOURCE_ARN", arn, BAD_ARN))?;
        if region != ctx.region || account != ctx.account_id {
            return Err(nonexistent());
        }
        if !self.plane.resource_exists(&account, &region, arn) {
            return Err(nonexistent());
        }
        Ok(())
    }

    fn mutate_entity(
        &self,
        ctx: &RequestContext,
        arn: &str,
        f: impl FnOnce(&mut Entity) -> R<()> + Send + 'static,
    ) -> R<Entity> {
        let e = self.by_arn(ctx, arn)?;
        let key = e.key();
        let arn = arn.to_string();
        self.store
            .write(move |tx| -> TxR<Entity> {
                let mut e: Entity = match tx.get_json::<Entity>(ENTITIES, &key)? {
                    Some(e) if e.arn == arn => e,
                    _ => return Err(nonexistent().into()),
                };
                f(&mut e)?;
                tx.put_json(ENTITIES, &key, &e)?;
                Ok(e)
            })
            .map_err(tx_err)
    }
}

fn compile_plan(view: &ScopeView, e: &Entity) -> Result<Enforcement, String> {
    let plan = Plan::compile(
        &e.spec,
        acl::AclIdentity {
            name: e.name.clone(),
            id: e.id.clone(),
            arn: e.arn.clone(),
        },
        view,
        &acl::CompileOptions {
            account: e.account.clone(),
            rate_key_prefix: e.id.clone(),
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let logging = e.logging.as_ref().and_then(|l| {
        let dest = l
            .get("LogDestinationConfigs")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)?
            .to_string();
        Some(Arc::new(LogConfig {
            name: log_destination_name(&dest)?,
            destination: dest,
            redacted_fields: l
                .get("RedactedFields")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            filter: l.get("LoggingFilter").cloned(),
        }))
    });
    Ok(Enforcement {
        plan: Arc::new(plan),
        logging,
    })
}

fn out<T: serde::de::DeserializeOwned>(v: Value) -> R<T> {
    from_value(v).map_err(|e| {
        tracing::error!(error = %e.message, "wafv2 response does not match its shape");
        internal()
    })
}

fn web_acl_check(view: &ScopeView, spec: &Value, name: &str) -> R<u64> {
    check_web_acl(view, spec, name)
}

impl Wafv2 for WafService {
    // ---- web ACLs ------------------------------------------------------------------------------

    fn create_web_acl(
        &self,
        ctx: &RequestContext,
        input: m::CreateWebACLRequest,
    ) -> R<m::CreateWebACLResponse> {
        let spec = spec_of(&input, &[])?;
        let tags = tags_in(input.tags)?;
        let name = input.name.clone();
        let n2 = name.clone();
        out(self.create(
            ctx,
            Kind::WebAcl,
            input.scope,
            name,
            input.description,
            spec,
            tags,
            move |view, spec| web_acl_check(view, spec, &n2),
        )?)
    }

    fn get_web_acl(
        &self,
        ctx: &RequestContext,
        input: m::GetWebACLRequest,
    ) -> R<m::GetWebACLResponse> {
        let e = match (input.name, input.scope, input.id, input.arn) {
            (_, _, _, Some(arn)) => {
                let e = self.by_arn(ctx, &arn)?;
                if e.kind != Kind::WebAcl {
                    return Err(nonexistent());
                }
                e
            }
            (Some(n), Some(s), Some(id), None) => self.get_entity(ctx, Kind::WebAcl, s, &n, &id)?,
            _ => return Err(invalid("WEB_ACL", "WebACL", acl::REASON_EXACTLY_ONE)),
        };
        let mut body = json!({"WebACL": describe(&e), "LockToken": e.lock_token});
        // A web ACL with CAPTCHA or Challenge actions is where the JavaScript integration serves.
        let rules = body["WebACL"]["Rules"].to_string();
        if rules.contains("\"Captcha\":") || rules.contains("\"Challenge\":") {
            body["ApplicationIntegrationURL"] = json!(apikeys::INTEGRATION_PATH);
        }
        out(body)
    }

    fn update_web_acl(
        &self,
        ctx: &RequestContext,
        input: m::UpdateWebACLRequest,
    ) -> R<m::UpdateWebACLResponse> {
        let spec = spec_of(&input, &[])?;
        let name = input.name.clone();
        let n2 = name.clone();
        let next = self.update(
            ctx,
            Kind::WebAcl,
            input.scope,
            name,
            input.id,
            input.lock_token,
            input.description,
            spec,
            move |view, spec, _| web_acl_check(view, spec, &n2),
        )?;
        out(json!({"NextLockToken": next}))
    }

    fn delete_web_acl(
        &self,
        ctx: &RequestContext,
        input: m::DeleteWebACLRequest,
    ) -> R<m::DeleteWebACLResponse> {
        self.delete(
            ctx,
            Kind::WebAcl,
            input.scope,
            input.name,
            input.id,
            input.lock_token,
        )?;
        out(json!({}))
    }

    fn list_web_ac_ls(
        &self,
        ctx: &RequestContext,
        input: m::ListWebACLsRequest,
    ) -> R<m::ListWebACLsResponse> {
        let (items, next) = self.list(
            ctx,
            Kind::WebAcl,
            input.scope,
            input.next_marker,
            input.limit,
        )?;
        out(json!({"WebACLs": items, "NextMarker": next}))
    }

    fn check_capacity(
        &self,
        ctx: &RequestContext,
        input: m::CheckCapacityRequest,
    ) -> R<m::CheckCapacityResponse> {
        let region = Self::region_of(ctx, input.scope)?;
        let rules = to_value(&input.rules)?;
        let account = ctx.account_id.clone();
        let view = self
            .store
            .read(|tx| ScopeView::load(tx, &account, &region))
            .map_err(tx_err)?;
        let spec = json!({"DefaultAction": {"Allow": {}}, "Rules": rules,
            "VisibilityConfig": {"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "CheckCapacity"}});
        let plan = Plan::compile(
            &spec,
            acl::AclIdentity::default(),
            &view,
            &acl::CompileOptions {
                account: account.clone(),
                ..Default::default()
            },
        )
        .map_err(compile_error)?;
        out(json!({"Capacity": plan.capacity}))
    }

    // ---- rule groups ---------------------------------------------------------------------------

    fn create_rule_group(
        &self,
        ctx: &RequestContext,
        input: m::CreateRuleGroupRequest,
    ) -> R<m::CreateRuleGroupResponse> {
        let capacity = u64::try_from(input.capacity).unwrap_or(0);
        if capacity > MAX_RULE_GROUP_WCU {
            return Err(invalid(
                "RULE_GROUP",
                &capacity.to_string(),
                acl::REASON_CAPACITY,
            ));
        }
        let spec = spec_of(&input, &["Capacity"])?;
        let tags = tags_in(input.tags)?;
        let name = input.name.clone();
        let n2 = name.clone();
        let region = Self::region_of(ctx, input.scope)?;
        let r = self.create(
            ctx,
            Kind::RuleGroup,
            input.scope,
            name,
            input.description,
            spec,
            tags,
            move |view, spec| {
                check_rule_group(view, spec, &n2, capacity)?;
                Ok(capacity)
            },
        )?;
        // The capacity is the group's setting, not what its rules use now.
        if let Some(id) = r.pointer("/Summary/Id").and_then(Value::as_str) {
            let key = entity::key(&ctx.account_id, &region, Kind::RuleGroup, id);
            self.store
                .write(move |tx| -> TxR<()> {
                    if let Some(mut e) = tx.get_json::<Entity>(ENTITIES, &key)? {
                        e.capacity = capacity;
                        tx.put_json(ENTITIES, &key, &e)?;
                    }
                    Ok(())
                })
                .map_err(tx_err)?;
        }
        out(r)
    }

    fn get_rule_group(
        &self,
        ctx: &RequestContext,
        input: m::GetRuleGroupRequest,
    ) -> R<m::GetRuleGroupResponse> {
        let e = match (input.name, input.scope, input.id, input.arn) {
            (_, _, _, Some(arn)) => {
                let e = self.by_arn(ctx, &arn)?;
                if e.kind != Kind::RuleGroup {
                    return Err(nonexistent());
                }
                e
            }
            (Some(n), Some(s), Some(id), None) => {
                self.get_entity(ctx, Kind::RuleGroup, s, &n, &id)?
            }
            _ => return Err(invalid("RULE_GROUP", "RuleGroup", acl::REASON_EXACTLY_ONE)),
        };
        out(json!({"RuleGroup": describe(&e), "LockToken": e.lock_token}))
    }

    fn update_rule_group(
        &self,
        ctx: &RequestContext,
        input: m::UpdateRuleGroupRequest,
    ) -> R<m::UpdateRuleGroupResponse> {
        let spec = spec_of(&input, &[])?;
        let name = input.name.clone();
        let n2 = name.clone();
        let next = self.update(
            ctx,
            Kind::RuleGroup,
            input.scope,
            name,
            input.id,
            input.lock_token,
            input.description,
            spec,
            move |view, spec, e| {
                // Check against the other entities with this group's new rules in place.
                let mut view = ScopeView {
                    entities: view.entities.clone(),
                    account: view.account.clone(),
                    lists: view.lists.clone(),
                };
                for x in view.entities.iter_mut() {
                    if x.arn == e.arn {
                        x.spec = spec.clone();
                    }
                }
                check_rule_group(&view, spec, &n2, e.capacity)?;
                Ok(e.capacity)
            },
        )?;
        out(json!({"NextLockToken": next}))
    }

    fn delete_rule_group(
        &self,
        ctx: &RequestContext,
        input: m::DeleteRuleGroupRequest,
    ) -> R<m::DeleteRuleGroupResponse> {
        self.delete(
            ctx,
            Kind::RuleGroup,
            input.scope,
            input.name,
            input.id,
            input.lock_token,
        )?;
        out(json!({}))
    }

    fn list_rule_groups(
        &self,
        ctx: &RequestContext,
        input: m::ListRuleGroupsRequest,
    ) -> R<m::ListRuleGroupsResponse> {
        let (items, next) = self.list(
            ctx,
            Kind::RuleGroup,
            input.scope,
            input.next_marker,
            input.limit,
        )?;
        out(json!({"RuleGroups": items, "NextMarker": next}))
    }

    // ---- IP sets ---------------------------------------------------------------------------------

    fn create_ip_set(
        &self,
        ctx: &RequestContext,
        input: m::CreateIPSetRequest,
    ) -> R<m::CreateIPSetResponse> {
        check_addresses(&input.addresses, input.ip_address_version.as_str())?;
        let spec = spec_of(&input, &[])?;
        let tags = tags_in(input.tags)?;
        out(self.create(
            ctx,
            Kind::IpSet,
            input.scope,
            input.name,
            input.description,
            spec,
            tags,
            |_, _| Ok(0),
        )?)
    }

    fn get_ip_set(
        &self,
        ctx: &RequestContext,
        input: m::GetIPSetRequest,
    ) -> R<m::GetIPSetResponse> {
        let e = self.get_entity(ctx, Kind::IpSet, input.scope, &input.name, &input.id)?;
        out(json!({"IPSet": describe(&e), "LockToken": e.lock_token}))
    }

    fn update_ip_set(
        &self,
        ctx: &RequestContext,
        input: m::UpdateIPSetRequest,
    ) -> R<m::UpdateIPSetResponse> {
        let current = self.get_entity(ctx, Kind::IpSet, input.scope, &input.name, &input.id)?;
        let version = current
            .spec
            .get("IPAddressVersion")
            .and_then(Value::as_str)
            .unwrap_or("IPV4")
            .to_string();
        check_addresses(&input.addresses, &version)?;
        let spec = json!({"IPAddressVersion": version, "Addresses": input.addresses});
        let next = self.update(
            ctx,
            Kind::IpSet,
            input.scope,
            input.name,
            input.id,
            input.lock_token,
            input.description,
            spec,
            |_, _, _| Ok(0),
        )?;
        out(json!({"NextLockToken": next}))
    }

    fn delete_ip_set(
        &self,
        ctx: &RequestContext,
        input: m::DeleteIPSetRequest,
    ) -> R<m::DeleteIPSetResponse> {
        self.delete(
            ctx,
            Kind::IpSet,
            input.scope,
            input.name,
            input.id,
            input.lock_token,
        )?;
        out(json!({}))
    }

    // ---- API keys (crates/waf/src/apikeys.rs) -------------------------------------------------

    fn create_api_key(
        &self,
        ctx: &RequestContext,
        input: m::CreateAPIKeyRequest,
    ) -> R<m::CreateAPIKeyResponse> {
        self.api_key_create(ctx, input)
    }

    fn get_decrypted_api_key(
        &self,
        ctx: &RequestContext,
        input: m::GetDecryptedAPIKeyRequest,
    ) -> R<m::GetDecryptedAPIKeyResponse> {
        self.api_key_decrypted(ctx, input)
    }

    fn delete_api_key(
        &self,
        ctx: &RequestContext,
        input: m::DeleteAPIKeyRequest,
    ) -> R<m::DeleteAPIKeyResponse> {
        self.api_key_delete(ctx, input)?;
        Ok(m::DeleteAPIKeyResponse {})
    }

    fn list_api_keys(
        &self,
        ctx: &RequestContext,
        input: m::ListAPIKeysRequest,
    ) -> R<m::ListAPIKeysResponse> {
        self.api_key_list(ctx, input)
    }

    fn list_ip_sets(
        &self,
        ctx: &RequestContext,
        input: m::ListIPSetsRequest,
    ) -> R<m::ListIPSetsResponse> {
        let (items, next) = self.list(
            ctx,
            Kind::IpSet,
            input.scope,
            input.next_marker,
            input.limit,
        )?;
        out(json!({"IPSets": items, "NextMarker": next}))
    }

    // ---- regex pattern sets --------------------------------------------------------------------

    fn create_regex_pattern_set(
        &self,
        ctx: &RequestContext,
        input: m::CreateRegexPatternSetRequest,
    ) -> R<m::CreateRegexPatternSetResponse> {
        check_regexes(&input.regular_expression_list)?;
        let spec = spec_of(&input, &[])?;
        let tags = tags_in(input.tags)?;
        out(self.create(
            ctx,
            Kind::RegexSet,
            input.scope,
            input.name,
            input.description,
            spec,
            tags,
            |_, _| Ok(0),
        )?)
    }

    fn get_regex_pattern_set(
        &self,
        ctx: &RequestContext,
        input: m::GetRegexPatternSetRequest,
    ) -> R<m::GetRegexPatternSetResponse> {
        let e = self.get_entity(ctx, Kind::RegexSet, input.scope, &input.name, &input.id)?;
        out(json!({"RegexPatternSet": describe(&e), "LockToken": e.lock_token}))
    }

    fn update_regex_pattern_set(
        &self,
        ctx: &RequestContext,
        input: m::UpdateRegexPatternSetRequest,
    ) -> R<m::UpdateRegexPatternSetResponse> {
        check_regexes(&input.regular_expression_list)?;
        let spec = spec_of(&input, &[])?;
        let next = self.update(
            ctx,
            Kind::RegexSet,
            input.scope,
            input.name,
            input.id,
            input.lock_token,
            input.description,
            spec,
            |_, _, _| Ok(0),
        )?;
        out(json!({"NextLockToken": next}))
    }

    fn delete_regex_pattern_set(
        &self,
        ctx: &RequestContext,
        input: m::DeleteRegexPatternSetRequest,
    ) -> R<m::DeleteRegexPatternSetResponse> {
        self.delete(
            ctx,
            Kind::RegexSet,
            input.scope,
            input.name,
            input.id,
            input.lock_token,
        )?;
        out(json!({}))
    }

    fn list_regex_pattern_sets(
        &self,
        ctx: &RequestContext,
        input: m::ListRegexPatternSetsRequest,
    ) -> R<m::ListRegexPatternSetsResponse> {
        let (items, next) = self.list(
            ctx,
            Kind::RegexSet,
            input.scope,
            input.next_marker,
            input.limit,
        )?;
        out(json!({"RegexPatternSets": items, "NextMarker": next}))
    }

    // ---- associations ----------------------------------------------------------------------------

    fn associate_web_acl(
        &self,
        ctx: &RequestContext,
        input: m::AssociateWebACLRequest,
    ) -> R<m::AssociateWebACLResponse> {
        self.check_resource(ctx, &input.resource_arn)?;
        let e = self.by_arn(ctx, &input.web_acl_arn)?;
        if e.kind != Kind::WebAcl {
            return Err(invalid("RESOURCE_ARN", &input.web_acl_arn, BAD_ARN));
        }
        if e.region != ctx.region {
            return Err(invalid("RESOURCE_ARN", &input.web_acl_arn, BAD_ARN));
        }
        let prefix = format!("{}/{}/", ctx.account_id, ctx.region);
        let key = format!("{prefix}{}", input.resource_arn);
        let acl_arn = e.arn.clone();
        self.store
            .write(move |tx| -> TxR<()> {
                let n = tx
                    .scan(ASSOCIATIONS, &prefix, None, 100_000)?
                    .iter()
                    .filter(|(k, v)| *k != key && v.as_slice() == acl_arn.as_bytes())
                    .count();
                if n >= 100 {
                    return Err(limits().into());
                }
                // A resource has one web ACL: associating another replaces it.
                tx.put(ASSOCIATIONS, &key, acl_arn.as_bytes())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.publish(&ctx.account_id, &ctx.region);
        out(json!({}))
    }

    fn disassociate_web_acl(
        &self,
        ctx: &RequestContext,
        input: m::DisassociateWebACLRequest,
    ) -> R<m::DisassociateWebACLResponse> {
        self.check_resource(ctx, &input.resource_arn)?;
        let key = format!("{}/{}/{}", ctx.account_id, ctx.region, input.resource_arn);
        self.store
            .write(move |tx| -> TxR<bool> { tx.delete(ASSOCIATIONS, &key).map_err(TxError::from) })
            .map_err(tx_err)?;
        self.plane.enforce(&input.resource_arn, None);
        out(json!({}))
    }

    fn get_web_acl_for_resource(
        &self,
        ctx: &RequestContext,
        input: m::GetWebACLForResourceRequest,
    ) -> R<m::GetWebACLForResourceResponse> {
        self.check_resource(ctx, &input.resource_arn)?;
        match self.web_acl_for(ctx, &input.resource_arn)? {
            Some(e) => out(json!({"WebACL": describe(&e)})),
            None => out(json!({})),
        }
    }

    fn list_resources_for_web_acl(
        &self,
        ctx: &RequestContext,
        input: m::ListResourcesForWebACLRequest,
    ) -> R<m::ListResourcesForWebACLResponse> {
        let e = self.by_arn(ctx, &input.web_acl_arn)?;
        let ty = input
            .resource_type
            .map(|t| t.as_str())
            .unwrap_or("APPLICATION_LOAD_BALANCER");
        if ty != "APPLICATION_LOAD_BALANCER" {
            return out(json!({"ResourceArns": []}));
        }
        let prefix = format!("{}/{}/", ctx.account_id, e.region);
        let list = self
            .store
            .read(|tx| {
                tx.scan(ASSOCIATIONS, &prefix, None, 100_000)
                    .map_err(TxError::from)
            })
            .map_err(tx_err)?;
        let arns: Vec<String> = list
            .into_iter()
            .filter(|(_, v)| v.as_slice() == e.arn.as_bytes())
            .map(|(k, _)| k.strip_prefix(&prefix).unwrap_or(&k).to_string())
            .collect();
        out(json!({"ResourceArns": arns}))
    }

    // ---- logging ---------------------------------------------------------------------------------

    fn put_logging_configuration(
        &self,
        ctx: &RequestContext,
        input: m::PutLoggingConfigurationRequest,
    ) -> R<m::PutLoggingConfigurationResponse> {
        let cfg = input.logging_configuration;
        let dests = &cfg.log_destination_configs;
        let [dest] = dests.as_slice() else {
            return Err(invalid(
                "LOG_DESTINATION",
                "LogDestinationConfigs",
                acl::REASON_EXACTLY_ONE,
            ));
        };
        if log_destination_name(dest).is_none() {
            return Err(invalid("LOG_DESTINATION", dest, BAD_ARN));
        }
        let mut v = to_value(&cfg)?;
        if let Value::Object(o) = &mut v {
            o.retain(|_, x| !x.is_null());
            o.entry("ManagedByFirewallManager").or_insert(false.into());
            o.entry("LogType").or_insert("WAF_LOGS".into());
            o.entry("LogScope").or_insert("CUSTOMER".into());
        }
        let stored = v.clone();
        let e = self.mutate_entity(ctx, &cfg.resource_arn, move |e| {
            if e.kind != Kind::WebAcl {
                return Err(nonexistent());
            }
            e.logging = Some(stored);
            Ok(())
        })?;
        self.publish(&e.account, &e.region);
        out(json!({"LoggingConfiguration": v}))
    }

    fn get_logging_configuration(
        &self,
        ctx: &RequestContext,
        input: m::GetLoggingConfigurationRequest,
    ) -> R<m::GetLoggingConfigurationResponse> {
        let e = self.by_arn(ctx, &input.resource_arn)?;
        match e.logging {
            Some(l) if e.kind == Kind::WebAcl => out(json!({"LoggingConfiguration": l})),
            _ => Err(nonexistent()),
        }
    }

    fn delete_logging_configuration(
        &self,
        ctx: &RequestContext,
        input: m::DeleteLoggingConfigurationRequest,
    ) -> R<m::DeleteLoggingConfigurationResponse> {
        let e = self.mutate_entity(ctx, &input.resource_arn, |e| {
            if e.kind != Kind::WebAcl || e.logging.is_none() {
                return Err(nonexistent());
            }
            e.logging = None;
            Ok(())
        })?;
        self.publish(&e.account, &e.region);
        out(json!({}))
    }

    fn list_logging_configurations(
        &self,
        ctx: &RequestContext,
        input: m::ListLoggingConfigurationsRequest,
    ) -> R<m::ListLoggingConfigurationsResponse> {
        let region = Self::region_of(ctx, input.scope)?;
        let prefix = entity::prefix(&ctx.account_id, &region, Kind::WebAcl);
        let mut all: Vec<Entity> = self
            .store
            .read(|tx| {
                tx.scan_json::<Entity>(ENTITIES, &prefix, None, 100_000)
                    .map_err(TxError::from)
            })
            .map_err(tx_err)?
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| e.logging.is_some())
            .collect();
        all.sort_by(|a, b| a.arn.cmp(&b.arn));
        let limit = page_limit(input.limit);
        let marker = input.next_marker;
        let page: Vec<&Entity> = all
            .iter()
            .filter(|e| {
                marker
                    .as_ref()
                    .is_none_or(|mk| e.arn.as_str() > mk.as_str())
            })
            .take(limit)
            .collect();
        let next = (page.len() == limit)
            .then(|| page.last().map(|e| e.arn.clone()))
            .flatten();
        let items: Vec<Value> = page.iter().filter_map(|e| e.logging.clone()).collect();
        out(json!({"LoggingConfigurations": items, "NextMarker": next}))
    }

    // ---- permission policies, tags -----------------------------------------------------------------

    fn put_permission_policy(
        &self,
        ctx: &RequestContext,
        input: m::PutPermissionPolicyRequest,
    ) -> R<m::PutPermissionPolicyResponse> {
        check_permission_policy(&input.policy)?;
        let policy = input.policy;
        self.mutate_entity(ctx, &input.resource_arn, move |e| {
            if e.kind != Kind::RuleGroup {
                return Err(nonexistent());
            }
            e.policy = Some(policy);
            Ok(())
        })?;
        out(json!({}))
    }

    fn get_permission_policy(
        &self,
        ctx: &RequestContext,
        input: m::GetPermissionPolicyRequest,
    ) -> R<m::GetPermissionPolicyResponse> {
        let e = self.by_arn(ctx, &input.resource_arn)?;
        if e.kind != Kind::RuleGroup {
            return Err(nonexistent());
        }
        out(json!({"Policy": e.policy}))
    }

    fn delete_permission_policy(
        &self,
        ctx: &RequestContext,
        input: m::DeletePermissionPolicyRequest,
    ) -> R<m::DeletePermissionPolicyResponse> {
        self.mutate_entity(ctx, &input.resource_arn, |e| {
            if e.kind != Kind::RuleGroup {
                return Err(nonexistent());
            }
            e.policy = None;
            Ok(())
        })?;
        out(json!({}))
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: m::TagResourceRequest,
    ) -> R<m::TagResourceResponse> {
        let new = tags_in(Some(input.tags))?;
        self.mutate_entity(ctx, &input.resource_arn, move |e| {
            for t in new {
                match e.tags.iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value = t.value,
                    None => e.tags.push(t),
                }
            }
            if e.tags.len() > MAX_TAGS {
                return Err(limits());
            }
            Ok(())
        })?;
        out(json!({}))
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: m::UntagResourceRequest,
    ) -> R<m::UntagResourceResponse> {
        let keys = input.tag_keys;
        self.mutate_entity(ctx, &input.resource_arn, move |e| {
            e.tags.retain(|t| !keys.contains(&t.key));
            Ok(())
        })?;
        out(json!({}))
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: m::ListTagsForResourceRequest,
    ) -> R<m::ListTagsForResourceResponse> {
        let e = self.by_arn(ctx, &input.resource_arn)?;
        let limit = page_limit(input.limit);
        let start: usize = match input.next_marker.as_deref() {
            None | Some("") => 0,
            Some(mk) => mk
                .parse()
                .map_err(|_| invalid("TAGS", mk, acl::REASON_FORMAT))?,
        };
        let page: Vec<Value> = e
            .tags
            .iter()
            .skip(start)
            .take(limit)
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect();
        let next = if start + limit < e.tags.len() {
            (start + limit).to_string()
        } else {
            String::new()
        };
        out(
            json!({"NextMarker": next, "TagInfoForResource": {"ResourceARN": e.arn, "TagList": page}}),
        )
    }

    // ---- managed rule groups -------------------------------------------------------------------

    fn list_available_managed_rule_groups(
        &self,
        ctx: &RequestContext,
        input: m::ListAvailableManagedRuleGroupsRequest,
    ) -> R<m::ListAvailableManagedRuleGroupsResponse> {
        Self::region_of(ctx, input.scope)?;
        out(managed::list(
            input.next_marker.as_deref(),
            page_limit(input.limit),
        ))
    }

    fn list_available_managed_rule_group_versions(
        &self,
        ctx: &RequestContext,
        input: m::ListAvailableManagedRuleGroupVersionsRequest,
    ) -> R<m::ListAvailableManagedRuleGroupVersionsResponse> {
        Self::region_of(ctx, input.scope)?;
        out(managed::versions(&input.vendor_name, &input.name)?)
    }

    fn describe_managed_rule_group(
        &self,
        ctx: &RequestContext,
        input: m::DescribeManagedRuleGroupRequest,
    ) -> R<m::DescribeManagedRuleGroupResponse> {
        Self::region_of(ctx, input.scope)?;
        out(managed::describe(
            &input.vendor_name,
            &input.name,
            input.version_name.as_deref(),
        )?)
    }

    fn describe_all_managed_products(
        &self,
        ctx: &RequestContext,
        input: m::DescribeAllManagedProductsRequest,
    ) -> R<m::DescribeAllManagedProductsResponse> {
        Self::region_of(ctx, input.scope)?;
        out(managed::products())
    }

    fn describe_managed_products_by_vendor(
        &self,
        ctx: &RequestContext,
        input: m::DescribeManagedProductsByVendorRequest,
    ) -> R<m::DescribeManagedProductsByVendorResponse> {
        Self::region_of(ctx, input.scope)?;
        if input.vendor_name != "AWS" {
            return out(json!({"ManagedProducts": []}));
        }
        out(managed::products())
    }

    fn list_managed_rule_sets(
        &self,
        ctx: &RequestContext,
        input: m::ListManagedRuleSetsRequest,
    ) -> R<m::ListManagedRuleSetsResponse> {
        // Managed rule sets are for rule group vendors; an account sells none.
        Self::region_of(ctx, input.scope)?;
        out(json!({"ManagedRuleSets": []}))
    }

    // ---- traffic -------------------------------------------------------------------------------

    fn get_sampled_requests(
        &self,
        ctx: &RequestContext,
        input: m::GetSampledRequestsRequest,
    ) -> R<m::GetSampledRequestsResponse> {
        let e = self.by_arn(ctx, &input.web_acl_arn)?;
        if e.kind != Kind::WebAcl {
            return Err(nonexistent());
        }
        let now = now_ms() as f64 / 1000.0;
        let start = input.time_window.start_time.secs();
        let end = input.time_window.end_time.secs().min(now);
        if start >= end {
            return Err(invalid(
                "EXPIRE_TIMESTAMP",
                "TimeWindow",
                acl::REASON_FORMAT,
            ));
        }
        if start < now - 3.0 * 3600.0 - 60.0 {
            return Err(invalid(
                "EXPIRE_TIMESTAMP",
                "TimeWindow",
                "The time window must be in the previous three hours.",
            ));
        }
        let max = usize::try_from(input.max_items).unwrap_or(1).clamp(1, 500);
        let s = self.plane.sampled(
            &e.arn,
            &input.rule_metric_name,
            (start * 1000.0) as u64,
            (end * 1000.0) as u64,
            max,
        );
        out(json!({
            "SampledRequests": s.requests,
            "PopulationSize": s.population,
            "TimeWindow": {"StartTime": start, "EndTime": end},
        }))
    }

    fn get_rate_based_statement_managed_keys(
        &self,
        ctx: &RequestContext,
        input: m::GetRateBasedStatementManagedKeysRequest,
    ) -> R<m::GetRateBasedStatementManagedKeysResponse> {
        let e = self.get_entity(
            ctx,
            Kind::WebAcl,
            input.scope,
            &input.web_acl_name,
            &input.web_acl_id,
        )?;
        let find = |rules: &Value, name: &str| -> Option<Value> {
            rules
                .as_array()?
                .iter()
                .find(|r| r.get("Name").and_then(Value::as_str) == Some(name))
                .cloned()
        };
        let acl_rules = e.spec.get("Rules").cloned().unwrap_or(Value::Null);
        let (rule, key) = match &input.rule_group_rule_name {
            None => (
                find(&acl_rules, &input.rule_name),
                format!("{}/{}", e.id, input.rule_name),
            ),
            Some(group_rule) => {
                let gr = find(&acl_rules, group_rule).ok_or_else(nonexistent)?;
                let arn = gr
                    .pointer("/Statement/RuleGroupReferenceStatement/ARN")
                    .and_then(Value::as_str)
                    .ok_or_else(nonexistent)?
                    .to_string();
                let g = self.by_arn(ctx, &arn)?;
                let rules = g.spec.get("Rules").cloned().unwrap_or(Value::Null);
                (
                    find(&rules, &input.rule_name),
                    format!("{}/{group_rule}/{}", e.id, input.rule_name),
                )
            }
        };
        let rule = rule.ok_or_else(nonexistent)?;
        let rate = rule
            .pointer("/Statement/RateBasedStatement")
            .ok_or_else(nonexistent)?;
        match rate.get("AggregateKeyType").and_then(Value::as_str) {
            Some("IP" | "FORWARDED_IP") => {}
            _ => {
                return Err(m::waf_unsupported_aggregate_key_type_exception(
                    "The rule that you've named doesn't aggregate solely on the IP address or solely on the forwarded IP address. This call is only available for rate-based rules with an AggregateKeyType setting of IP or FORWARDED_IP.",
                ))
            }
        }
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for k in self.plane.rate_limited(&key) {
            match k.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(a)) => v4.push(format!("{a}/32")),
                Ok(std::net::IpAddr::V6(a)) => v6.push(format!("{a}/128")),
                Err(_) => {}
            }
        }
        out(json!({
            "ManagedKeysIPV4": {"IPAddressVersion": "IPV4", "Addresses": v4},
            "ManagedKeysIPV6": {"IPAddressVersion": "IPV6", "Addresses": v6},
        }))
    }
}
