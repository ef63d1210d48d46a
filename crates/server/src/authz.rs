//! Authorization on the request path: the principal's identity policies (and permissions
//! boundary and session policies) evaluated by `rampart-policy` for the action and resource
//! of every request. Services with resource policies (KMS key policies, secret policies, role
//! trust policies) evaluate those themselves with the same evaluator; see [`Authorizer`].
use chrono::{DateTime, Utc};
use rampart_core::{AwsError, Principal, PrincipalKind, RequestContext, ResourceAccess};
use rampart_policy::{
    self as pol, CompiledPolicy, ContextKeys, Decision, EvalInput, PolicyKind, RequestEnvironment,
};
use serde_json::Value;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};

/// The caches' hasher: seeded per process, so nobody outside can aim documents at one bucket.
type Seeded = foldhash::quality::RandomState;

/// A principal's policy documents, as the identity store holds them.
#[derive(Debug, Clone, Default)]
pub struct PolicyDocs {
    /// `(name or ARN, JSON)` of every identity policy: inline and attached, the user's and its
    /// groups' (or the role's, for a role session).
    pub identity: Vec<(String, String)>,
    pub boundary: Option<(String, String)>,
    /// Session policies passed when temporary credentials were created (`None`: none).
    pub session: Option<Vec<String>>,
    pub tags: Vec<(String, String)>,
    /// For a role session, the role's ARN.
    pub session_issuer: Option<String>,
    /// For temporary credentials: when issued and when MFA was checked (`None`: long-term
    /// credentials).
    pub session_times: Option<SessionTimes>,
    /// The organization of the principal's account (`aws:PrincipalOrgID`).
    pub org_id: Option<String>,
}

/// When temporary credentials were issued, and when MFA was checked for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionTimes {
    pub issued: Option<DateTime<Utc>>,
    pub mfa_authenticated: Option<DateTime<Utc>>,
}

/// Where the request path reads a principal's policies from (the identity service).
pub trait PolicySource: Send + Sync {
    fn policies_for(&self, principal: &Principal) -> Result<PolicyDocs, AwsError>;
}

struct Compiled {
    identity: Vec<CompiledPolicy>,
    boundary: Option<CompiledPolicy>,
    session: Option<Vec<CompiledPolicy>>,
}

/// The documents a compiled set was built from, kept to confirm a cache hit document by
/// document (a hash alone could collide).
struct Source {
    identity: Vec<(String, String)>,
    boundary: Option<(String, String)>,
    session: Option<Vec<String>>,
}

impl Source {
    fn of(docs: &PolicyDocs) -> Source {
        Source {
            identity: docs.identity.clone(),
            boundary: docs.boundary.clone(),
            session: docs.session.clone(),
        }
    }

    fn matches(&self, docs: &PolicyDocs) -> bool {
        self.identity == docs.identity
            && self.boundary == docs.boundary
            && self.session == docs.session
    }
}

/// The compiled sets whose documents hash alike (nearly always one).
type Bucket = Vec<(Source, Arc<Compiled>)>;

/// Evaluates identity-based permissions, caching compiled policies by their documents (so
/// any policy change takes effect on the next request).
pub struct Authorizer {
    source: Arc<dyn PolicySource>,
    /// Compiled identity policy sets by a hash of their documents; each entry keeps the
    /// documents it was built from.
    cache: Mutex<HashMap<u64, Bucket, Seeded>>,
    hasher: Seeded,
    /// Compiled resource policies by their text.
    resource_cache: Mutex<HashMap<String, Arc<CompiledPolicy>, Seeded>>,
    /// The account root's identity permissions: everything in its account.
    root: Option<CompiledPolicy>,
}

/// The outcome the audit event records.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    pub request: pol::Request,
    /// The grant that allowed the call where the policies alone did not.
    pub grant: Option<String>,
}

impl Outcome {
    /// Allowed by the policies, or by a grant where no policy denies explicitly.
    pub fn is_allowed(&self) -> bool {
        self.decision.is_allowed()
            || (self.grant.is_some() && self.decision.effect != pol::DecisionEffect::ExplicitDeny)
    }
}

impl Authorizer {
    pub fn new(source: Arc<dyn PolicySource>) -> Self {
        let root = pol::Policy::parse_as(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            PolicyKind::Identity,
        )
        .map(|p| CompiledPolicy::named(p, "account root"))
        .ok();
        Authorizer {
            source,
            cache: Mutex::default(),
            hasher: Seeded::default(),
            resource_cache: Mutex::default(),
            root,
        }
    }

    fn resource_policy(&self, doc: &str) -> Result<Arc<CompiledPolicy>, AwsError> {
        if let Some(c) = self
            .resource_cache
            .lock()
            .ok()
            .and_then(|c| c.get(doc).cloned())
        {
            return Ok(c);
        }
        let c = pol::Policy::parse_as(doc, PolicyKind::Resource)
            .map(|p| Arc::new(CompiledPolicy::named(p, "resource policy")))
            .map_err(|e| {
                tracing::error!(error = %e, "a stored resource policy does not parse; denying");
                AwsError::internal()
            })?;
        if let Ok(mut cache) = self.resource_cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(doc.to_string(), c.clone());
        }
        Ok(c)
    }

    fn compiled(&self, docs: &PolicyDocs) -> Result<Arc<Compiled>, AwsError> {
        let mut h = self.hasher.build_hasher();
        let mut feed = |tag: u8, s: &str| {
            h.write_u8(tag);
            h.write_usize(s.len());
            h.write(s.as_bytes());
        };
        for (n, d) in &docs.identity {
            feed(b'i', n);
            feed(b'd', d);
        }
        if let Some((n, d)) = &docs.boundary {
            feed(b'b', n);
            feed(b'd', d);
        }
        if let Some(s) = &docs.session {
            for d in s {
                feed(b's', d);
            }
        }
        let key = h.finish();
        let hit = self.cache.lock().ok().and_then(|c| {
            c.get(&key)?
                .iter()
                .find(|(source, _)| source.matches(docs))
                .map(|(_, c)| c.clone())
        });
        if let Some(c) = hit {
            return Ok(c);
        }
        let compile = |name: &str, doc: &str| -> Result<CompiledPolicy, AwsError> {
            pol::Policy::parse_as(doc, PolicyKind::Identity)
                .map(|p| CompiledPolicy::named(p, name))
                .map_err(|e| {
                    // Stored policies were validated when written; a failure here is a bug or
                    // a policy written by an older version. Deny, loudly.
                    tracing::error!(policy = name, error = %e, "a stored policy does not parse; denying");
                    AwsError::internal()
                })
        };
        let identity = docs
            .identity
            .iter()
            .map(|(n, d)| compile(n, d))
            .collect::<Result<Vec<_>, _>>()?;
        let boundary = docs
            .boundary
            .as_ref()
            .map(|(n, d)| compile(n, d))
            .transpose()?;
        let session = docs
            .session
            .as_ref()
            .map(|s| {
                s.iter()
                    .enumerate()
                    .map(|(i, d)| compile(&format!("session-policy-{i}"), d))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let c = Arc::new(Compiled {
            identity,
            boundary,
            session,
        });
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            let bucket = cache.entry(key).or_default();
            if !bucket.iter().any(|(source, _)| source.matches(docs)) {
                bucket.push((Source::of(docs), c.clone()));
            }
        }
        Ok(c)
    }

    /// The policy-language principal for a request's caller.
    pub fn principal(ctx: &RequestContext, docs: &PolicyDocs) -> pol::Principal {
        let p = &ctx.principal;
        let kind = match p.kind {
            PrincipalKind::Root => pol::PrincipalKind::Root,
            PrincipalKind::IamUser => pol::PrincipalKind::User,
            PrincipalKind::AssumedRole => pol::PrincipalKind::AssumedRole,
            PrincipalKind::FederatedUser => pol::PrincipalKind::FederatedUser,
        };
        let mut out = pol::Principal::new(kind, &p.arn, &p.account_id, &p.principal_id);
        out.tags = docs.tags.clone();
        out.session_issuer = docs.session_issuer.clone();
        out
    }

    /// Evaluates `action` on `resource` for the caller with its identity policies (no resource
    /// policy). The account root is allowed everything in its account, as on AWS.
    pub fn check(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: &str,
        extra: &[(String, Vec<String>)],
    ) -> Result<Outcome, AwsError> {
        let access = ResourceAccess {
            action: action.to_string(),
            resource: resource.to_string(),
            ..Default::default()
        };
        self.check_access(ctx, &access, extra)
    }

    /// Evaluates one access a service described (its resource policy included) for the
    /// caller. The account root's identity permissions are everything in its account; a
    /// required resource policy (a KMS key policy) binds the root too.
    pub fn check_access(
        &self,
        ctx: &RequestContext,
        access: &ResourceAccess,
        extra: &[(String, Vec<String>)],
    ) -> Result<Outcome, AwsError> {
        let is_root = ctx.principal.kind == PrincipalKind::Root;
        let docs = self.source.policies_for(&ctx.principal)?;
        let principal = Self::principal(ctx, &docs);
        let env = RequestEnvironment {
            now: ctx.time,
            source_ip: Some(ctx.source_ip),
            secure_transport: ctx.secure_transport,
            requested_region: Some(ctx.region.clone()),
            mfa_present: docs.session_times.map(|t| t.mfa_authenticated.is_some()),
            token_issue_time: docs.session_times.and_then(|t| t.issued),
            mfa_auth_time: docs.session_times.and_then(|t| t.mfa_authenticated),
        };
        let mut context = ContextKeys::for_request(&principal, &env);
        if let Some(org) = &docs.org_id {
            context.set("aws:PrincipalOrgID", [org.as_str()]);
        }
        for (k, vs) in extra.iter().chain(access.context.iter()) {
            context.set(k, vs.iter().map(String::as_str));
        }
        let request = pol::Request {
            principal,
            action: access.action.clone(),
            resource: access.resource.clone(),
            context,
        };
        let compiled = self.compiled(&docs)?;
        let mut identity: Vec<&CompiledPolicy> = compiled.identity.iter().collect();
        if let (true, Some(root)) = (is_root, &self.root) {
            identity.push(root);
        }
        let session: Option<Vec<&CompiledPolicy>> =
            compiled.session.as_ref().map(|s| s.iter().collect());
        let resource_policy = access
            .policy
            .as_deref()
            .map(|d| self.resource_policy(d))
            .transpose()?;
        let mut input = EvalInput::new(&request);
        input.identity_policies = &identity;
        input.permissions_boundary = compiled.boundary.as_ref();
        // Without a resource policy the resource counts as the caller's own (AWS-managed
        // policy ARNs name the account `aws`).
        input.resource_account = Some(access.account.as_deref().unwrap_or(&ctx.account_id));
        input.session_policies = session.as_deref();
        input.resource_policy = resource_policy.as_deref();
        input.resource_policy_required = access.policy_required;
        let decision = pol::evaluate(&input);
        Ok(Outcome {
            decision,
            request,
            grant: access.grant.clone(),
        })
    }
}

impl rampart_core::AccessCheck for Authorizer {
    fn check(&self, ctx: &RequestContext, access: &ResourceAccess) -> Result<(), AwsError> {
        let o = self.check_access(ctx, access, &[])?;
        if o.is_allowed() {
            Ok(())
        } else {
            Err(denied(&o, false))
        }
    }
}

/// AWS's refusal for a denied decision, in the protocol's dialect.
pub fn denied(outcome: &Outcome, query_protocol: bool) -> AwsError {
    let msg =
        pol::access_denied_message(&outcome.decision, &outcome.request).unwrap_or_else(|| {
            format!(
                "User: {} is not authorized to perform: {}",
                outcome.request.principal.arn, outcome.request.action
            )
        });
    if query_protocol {
        AwsError::new("AccessDenied", 403, msg)
    } else {
        AwsError::new("AccessDeniedException", 400, msg)
    }
}

/// The resource an operation acts on, for the services whose resources the request itself
/// names (IAM, STS); `*` otherwise. Services with resource policies check those themselves.
pub fn resource_for(ctx: &RequestContext, service: &str, op: &str, input: &Value) -> String {
    let acct = &ctx.account_id;
    let s = |k: &str| input.get(k).and_then(Value::as_str);
    match service {
        "iam" => {
            if let Some(arn) = s("PolicyArn") {
                return arn.to_string();
            }
            if let Some(p) = s("InstanceProfileName") {
                return format!("arn:aws:iam::{acct}:instance-profile/{p}");
            }
            if let Some(r) = s("RoleName") {
                return format!("arn:aws:iam::{acct}:role/{r}");
            }
            if let Some(g) = s("GroupName") {
                if !op.contains("User") || s("UserName").is_none() {
                    return format!("arn:aws:iam::{acct}:group/{g}");
                }
            }
            if let Some(u) = s("UserName") {
                return format!("arn:aws:iam::{acct}:user/{u}");
            }
            // Operations on "the caller" when no user is named (GetUser, ListAccessKeys, ...).
            let self_ops = [
                "GetUser",
                "ListAccessKeys",
                "CreateAccessKey",
                "UpdateAccessKey",
                "DeleteAccessKey",
                "ListUserPolicies",
                "ListAttachedUserPolicies",
                "ListGroupsForUser",
                "ListUserTags",
            ];
            if self_ops.contains(&op) && ctx.principal.kind == PrincipalKind::IamUser {
                return ctx.principal.arn.clone();
            }
            "*".to_string()
        }
        "sts" => match (op, s("RoleArn"), s("Name")) {
            (_, Some(role), _) => role.to_string(),
            ("GetFederationToken", _, Some(name)) => {
                format!("arn:aws:sts::{acct}:federated-user/{name}")
            }
            _ => "*".to_string(),
        },
        _ => "*".to_string(),
    }
}

/// The tag condition keys a request carries: `aws:RequestTag/<key>` for each tag it sets and
/// `aws:TagKeys` for the keys it sets or removes (`Tags: [{Key, Value}]` or `TagKeys: [..]`, the
/// shapes IAM, KMS, Secrets Manager and most services use).
pub fn request_tag_keys(input: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut keys = Vec::new();
    if let Some(tags) = input.get("Tags").and_then(Value::as_array) {
        for t in tags {
            let k = t
                .get("Key")
                .or_else(|| t.get("TagKey"))
                .and_then(Value::as_str);
            let v = t
                .get("Value")
                .or_else(|| t.get("TagValue"))
                .and_then(Value::as_str);
            if let (Some(k), Some(v)) = (k, v) {
                out.push((format!("aws:RequestTag/{k}"), vec![v.to_string()]));
                keys.push(k.to_string());
            }
        }
    }
    if let Some(tk) = input.get("TagKeys").and_then(Value::as_array) {
        keys.extend(tk.iter().filter_map(Value::as_str).map(str::to_string));
    }
    if !keys.is_empty() {
        out.push(("aws:TagKeys".to_string(), keys));
    }
    out
}

/// Operations that need no permission (AWS documents GetCallerIdentity and GetSessionToken so)
/// or whose permission the service decides itself (AssumeRole: the trust policy; RetireGrant:
/// the grant's retiring principal or grantee).
pub fn exempt(service: &str, op: &str) -> bool {
    matches!(
        (service, op),
        ("sts", "GetCallerIdentity")
            | ("sts", "GetSessionToken")
            | ("sts", "AssumeRole")
            | ("kms", "RetireGrant")
    )
}
