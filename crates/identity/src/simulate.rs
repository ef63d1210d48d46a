//! `SimulatePrincipalPolicy` and `SimulateCustomPolicy`: the request path's evaluator answering
//! "would this be allowed, and which statements decide it?" for the aws CLI.
use crate::records::{name_key, Role, User, ROLES, USERS};
use crate::{push_entity_policies, Identity, IdentityError};
use rampart_core::{AwsError, RequestContext};
use rampart_model::iam as m;
use rampart_policy::{self as pol, CompiledPolicy, ContextKeys, EvalInput, PolicyKind};
use rampart_store::{StoreError, StoreExt, Tx};

/// The most evaluation results one response carries (AWS's default page is 100 too).
const MAX_RESULTS: usize = 1000;

/// A principal's policy documents, boundary document and tags.
type Gathered = (Vec<(String, String)>, Option<String>, Vec<(String, String)>);

struct Source {
    id: String,
    kind: m::PolicySourceType,
    doc: String,
}

fn malformed(what: &str, e: pol::PolicyError) -> AwsError {
    m::malformed_policy_document_exception(format!("{what}: {e}"))
}

fn compile(src: &Source, kind: PolicyKind) -> Result<CompiledPolicy, AwsError> {
    pol::Policy::parse_as(&src.doc, kind)
        .map(|p| CompiledPolicy::named(p, &src.id))
        .map_err(|e| malformed(&src.id, e))
}

/// The simulation's request context: what the principal itself determines (`aws:username`,
/// `aws:userid`, `aws:PrincipalArn`, `aws:PrincipalTag/*`, ...) and the current time, as on the
/// request path, then the caller's `ContextEntries` over them. Transport keys
/// (`aws:SecureTransport`, `aws:SourceIp`) exist only when given.
fn context(
    principal: &pol::Principal,
    entries: Option<&[m::ContextEntry]>,
) -> Result<ContextKeys, AwsError> {
    let env = pol::RequestEnvironment::new(chrono::Utc::now());
    let mut keys = ContextKeys::for_request(principal, &env);
    keys.remove("aws:SecureTransport");
    for e in entries.unwrap_or_default() {
        let Some(name) = e.context_key_name.as_deref() else {
            continue;
        };
        let values = e.context_key_values.clone().unwrap_or_default();
        let ty = e.context_key_type.map(|t| t.as_str()).unwrap_or("string");
        let bad = |v: &str| {
            m::invalid_input_exception(format!(
                "Invalid value {v} for context key {name} of type {ty}."
            ))
        };
        let mut out: Vec<pol::Value> = Vec::with_capacity(values.len());
        for v in &values {
            let parsed = match ty {
                "numeric" | "numericList" => {
                    pol::Value::Number(v.parse::<f64>().map_err(|_| bad(v))?)
                }
                "boolean" | "booleanList" => {
                    pol::Value::Bool(match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad(v)),
                    })
                }
                "ip" | "ipList" => pol::Value::Ip(v.parse().map_err(|_| bad(v))?),
                "date" | "dateList" => match chrono::DateTime::parse_from_rfc3339(v) {
                    Ok(t) => pol::Value::Date(t.with_timezone(&chrono::Utc)),
                    Err(_) => pol::Value::String(v.clone()),
                },
                _ => pol::Value::String(v.clone()),
            };
            out.push(parsed);
        }
        keys.set(name, out);
    }
    Ok(keys)
}

fn source_type(t: pol::PolicyType, sources: &[Source], name: Option<&str>) -> m::PolicySourceType {
    match t {
        pol::PolicyType::Resource => m::PolicySourceType::Resource,
        pol::PolicyType::PermissionsBoundary => m::PolicySourceType::None,
        _ => name
            .and_then(|n| sources.iter().find(|s| s.id == n))
            .map(|s| s.kind)
            .unwrap_or(m::PolicySourceType::None),
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    principal: pol::Principal,
    identity: Vec<Source>,
    boundary: Vec<Source>,
    resource_policy: Option<String>,
    resource_owner: Option<String>,
    actions: Vec<String>,
    resources: Option<Vec<String>>,
    entries: Option<&[m::ContextEntry]>,
) -> Result<m::SimulatePolicyResponse, AwsError> {
    let compiled: Vec<CompiledPolicy> = identity
        .iter()
        .map(|s| compile(s, PolicyKind::Identity))
        .collect::<Result<_, _>>()?;
    let boundary_c: Vec<CompiledPolicy> = boundary
        .iter()
        .map(|s| compile(s, PolicyKind::Identity))
        .collect::<Result<_, _>>()?;
    let resource_c = match resource_policy {
        Some(doc) => Some(
            pol::Policy::parse_as(&doc, PolicyKind::Resource)
                .map(|p| CompiledPolicy::named(p, "ResourcePolicy"))
                .map_err(|e| malformed("ResourcePolicy", e))?,
        ),
        None => None,
    };
    let keys = context(&principal, entries)?;
    let refs: Vec<&CompiledPolicy> = compiled.iter().collect();
    let resources = resources
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| vec!["*".to_string()]);
    if actions.len() * resources.len() > MAX_RESULTS {
        return Err(m::invalid_input_exception(format!(
            "The simulation asks for {} evaluations; at most {MAX_RESULTS} are allowed.",
            actions.len() * resources.len()
        )));
    }
    let mut results = Vec::with_capacity(actions.len() * resources.len());
    for action in &actions {
        for resource in &resources {
            let request = pol::Request {
                principal: principal.clone(),
                action: action.clone(),
                resource: resource.clone(),
                context: keys.clone(),
            };
            let mut input = EvalInput::new(&request);
            input.identity_policies = &refs;
            input.permissions_boundary = boundary_c.first();
            input.resource_policy = resource_c.as_ref();
            input.resource_account = resource_owner
                .as_deref()
                .and_then(|o| o.rsplit(':').nth(1))
                .or(Some(principal.account.as_str()));
            let trace = pol::evaluate_with_trace(&input);
            let decision = match trace.decision.effect {
                pol::DecisionEffect::Allow => m::PolicyEvaluationDecisionType::Allowed,
                pol::DecisionEffect::ExplicitDeny => m::PolicyEvaluationDecisionType::ExplicitDeny,
                pol::DecisionEffect::ImplicitDeny => m::PolicyEvaluationDecisionType::ImplicitDeny,
            };
            let matched = trace
                .matched()
                .map(|s| {
                    let name = s.statement.policy_name.as_deref();
                    m::Statement {
                        source_policy_id: name.map(str::to_string),
                        source_policy_type: Some(source_type(
                            s.statement.policy_type,
                            &identity,
                            name,
                        )),
                        start_position: None,
                        end_position: None,
                    }
                })
                .collect();
            results.push(m::EvaluationResult {
                eval_action_name: action.clone(),
                eval_resource_name: Some(resource.clone()),
                eval_decision: decision,
                matched_statements: Some(matched),
                missing_context_values: Some(Vec::new()),
                ..Default::default()
            });
        }
    }
    Ok(m::SimulatePolicyResponse {
        evaluation_results: Some(results),
        is_truncated: Some(false),
        marker: None,
    })
}

fn inputs(list: Option<Vec<String>>, prefix: &str) -> Vec<Source> {
    list.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, doc)| Source {
            id: format!("{prefix}.{}", i + 1),
            kind: m::PolicySourceType::None,
            doc,
        })
        .collect()
}

pub(crate) fn principal_policy(
    id: &Identity,
    ctx: &RequestContext,
    input: m::SimulatePrincipalPolicyRequest,
) -> Result<m::SimulatePolicyResponse, AwsError> {
    let arn = input.policy_source_arn.clone();
    let parsed = pol::Principal::from_arn(&arn).filter(|p| !p.account.is_empty());
    let Some(mut principal) = parsed else {
        return Err(m::invalid_input_exception(format!("Invalid ARN: {arn}")));
    };
    let account = principal.account.clone();
    if account != ctx.account_id {
        return Err(m::no_such_entity_exception(format!(
            "The entity {arn} cannot be found."
        )));
    }
    let name = arn.rsplit('/').next().unwrap_or_default().to_string();
    let kind = principal.kind;
    let arn2 = arn.clone();
    let gathered = id.store.read(
        |tx: &mut dyn Tx| -> Result<Option<Gathered>, IdentityError> {
            let mut docs = Vec::new();
            match kind {
                pol::PrincipalKind::User => {
                    let Some(u) = tx.get_json::<User>(USERS, &name_key(&account, &name))? else {
                        return Ok(None);
                    };
                    push_entity_policies(tx, &mut docs, &u.inline_policies, &u.attached_policies)?;
                    for g in &u.groups {
                        if let Some(group) = tx.get_json::<crate::records::Group>(
                            crate::records::GROUPS,
                            &name_key(&account, g),
                        )? {
                            push_entity_policies(
                                tx,
                                &mut docs,
                                &group.inline_policies,
                                &group.attached_policies,
                            )?;
                        }
                    }
                    let b = match &u.permissions_boundary {
                        Some(b) => crate::managed_document(tx, b)?,
                        None => None,
                    };
                    Ok(Some((
                        docs,
                        b,
                        u.tags
                            .iter()
                            .map(|t| (t.key.clone(), t.value.clone()))
                            .collect(),
                    )))
                }
                pol::PrincipalKind::Role => {
                    let Some(r) = tx.get_json::<Role>(ROLES, &name_key(&account, &name))? else {
                        return Ok(None);
                    };
                    push_entity_policies(tx, &mut docs, &r.inline_policies, &r.attached_policies)?;
                    let b = match &r.permissions_boundary {
                        Some(b) => crate::managed_document(tx, b)?,
                        None => None,
                    };
                    Ok(Some((
                        docs,
                        b,
                        r.tags
                            .iter()
                            .map(|t| (t.key.clone(), t.value.clone()))
                            .collect(),
                    )))
                }
                _ => Err(IdentityError::Store(StoreError::Backend(format!(
                    "unsupported source {arn2}"
                )))),
            }
        },
    );
    let (docs, boundary_doc, tags) = match gathered {
        Ok(Some(x)) => x,
        Ok(None) => {
            return Err(m::no_such_entity_exception(format!(
                "The entity {arn} cannot be found."
            )))
        }
        Err(IdentityError::Store(StoreError::Backend(msg)))
            if msg.starts_with("unsupported source") =>
        {
            return Err(m::invalid_input_exception(format!(
                "Invalid ARN: {arn}: simulate a user or a role."
            )))
        }
        Err(e) => return Err(e.into()),
    };
    principal.tags = tags;
    let excluded: Vec<String> = input
        .policy_exclusion_list
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect();
    let mut identity: Vec<Source> = docs
        .into_iter()
        .filter(|(n, _)| !excluded.contains(n))
        .map(|(n, doc)| {
            let kind = if n.starts_with("arn:aws:iam::aws:") {
                m::PolicySourceType::AwsManaged
            } else if n.starts_with("arn:") {
                m::PolicySourceType::UserManaged
            } else if kind == pol::PrincipalKind::Role {
                m::PolicySourceType::Role
            } else {
                m::PolicySourceType::User
            };
            Source { id: n, kind, doc }
        })
        .collect();
    identity.extend(inputs(input.policy_input_list, "PolicyInputList"));
    let mut boundary = inputs(
        input.permissions_boundary_policy_input_list,
        "PermissionsBoundaryPolicyInputList",
    );
    if boundary.is_empty() {
        if let Some(doc) = boundary_doc {
            boundary.push(Source {
                id: "PermissionsBoundary".into(),
                kind: m::PolicySourceType::None,
                doc,
            });
        }
    }
    if let Some(caller) = input.caller_arn.as_deref() {
        if let Some(p) = pol::Principal::from_arn(caller) {
            principal = p;
        }
    }
    run(
        principal,
        identity,
        boundary,
        input.resource_policy,
        input.resource_owner,
        input.action_names,
        input.resource_arns,
        input.context_entries.as_deref(),
    )
}

pub(crate) fn custom_policy(
    ctx: &RequestContext,
    input: m::SimulateCustomPolicyRequest,
) -> Result<m::SimulatePolicyResponse, AwsError> {
    let caller = input
        .caller_arn
        .clone()
        .unwrap_or_else(|| format!("arn:aws:iam::{}:user/simulated-caller", ctx.account_id));
    let principal = pol::Principal::from_arn(&caller)
        .ok_or_else(|| m::invalid_input_exception(format!("Invalid ARN: {caller}")))?;
    let identity = inputs(Some(input.policy_input_list), "PolicyInputList");
    let boundary = inputs(
        input.permissions_boundary_policy_input_list,
        "PermissionsBoundaryPolicyInputList",
    );
    run(
        principal,
        identity,
        boundary,
        input.resource_policy,
        input.resource_owner,
        input.action_names,
        input.resource_arns,
        input.context_entries.as_deref(),
    )
}
