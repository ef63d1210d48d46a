//! STS (`sts`, awsQuery): `GetCallerIdentity`, `AssumeRole` (the role's trust policy is
//! evaluated with `rampart_policy`; session policies, session tags, `DurationSeconds`) and
//! `GetSessionToken`. Temporary credentials (`ASIA...` key ids with a session token) are
//! stored with their secret and token wrapped under the root of trust;
//! [`crate::Identity::lookup_key`] resolves them for the SigV4 layer.
use crate::policydoc::{self, DocKind};
use crate::records::{
    load, name_key, now, save, session_secret_aad, session_token_aad, Role, SessionRecord, TagRec,
    SESSIONS,
};
use crate::{Identity, IdentityError};
use chrono::{DateTime, Utc};
use rampart_core::{ids, AwsError, Principal, PrincipalKind, RequestContext};
use rampart_model::sts::{
    self as m, AssumeRoleRequest, AssumeRoleResponse, GetCallerIdentityRequest,
    GetCallerIdentityResponse, GetSessionTokenRequest, GetSessionTokenResponse, Sts,
};
use rampart_model::Timestamp;
use rampart_policy as pol;
use rampart_store::{StoreExt, Tx};
use zeroize::Zeroizing;

fn caller_identity(ctx: &RequestContext) -> GetCallerIdentityResponse {
    let p = &ctx.principal;
    let user_id = match p.kind {
        PrincipalKind::Root => p.account_id.clone(),
        _ => p.principal_id.clone(),
    };
    GetCallerIdentityResponse {
        user_id: Some(user_id),
        account: Some(p.account_id.clone()),
        arn: Some(p.arn.clone()),
    }
}

/// The full STS over an [`Identity`].
pub struct TokenService {
    id: Identity,
}

/// STS's refusal (`AccessDenied`, HTTP 403).
fn access_denied(msg: impl Into<String>) -> AwsError {
    AwsError::new("AccessDenied", 403, msg)
}

fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", 400, msg)
}

/// The role name of `arn:aws:iam::<account>:role/<path/><name>`, with the account.
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, res) = rest.split_once(':')?;
    let path_name = res.strip_prefix("role/")?;
    let name = path_name.rsplit('/').next().filter(|n| !n.is_empty())?;
    ids::is_account_id(account).then_some((account, name))
}

/// A session token: 160 characters of base64 over random bytes.
fn session_token() -> Zeroizing<String> {
    use base64::Engine as _;
    let mut b = Zeroizing::new([0u8; 120]);
    ids::random_bytes(b.as_mut());
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
}

/// Refuses session tags whose keys repeat (in any case).
fn session_tags(tags: Option<&[m::Tag]>) -> Result<Vec<TagRec>, AwsError> {
    let mut out: Vec<TagRec> = Vec::new();
    for t in tags.unwrap_or_default() {
        if out
            .iter()
            .any(|x| x.key.to_lowercase() == t.key.to_lowercase())
        {
            return Err(AwsError::new(
                "InvalidParameterValue",
                400,
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
        out.push(TagRec {
            key: t.key.clone(),
            value: t.value.clone(),
        });
    }
    Ok(out)
}

/// What a new set of temporary credentials carries.
struct Issue {
    principal: Principal,
    role: Option<String>,
    expires: DateTime<Utc>,
    session_policy: Option<String>,
    policy_arns: Vec<String>,
    tags: Vec<TagRec>,
    /// For a role session: the role's region of last use to record.
    region: String,
    /// An MFA code was checked for this call.
    mfa: bool,
}

/// The ARNs of a request's `PolicyArns` (managed session policies).
fn arns_of(list: &Option<Vec<m::PolicyDescriptorType>>) -> Vec<String> {
    list.iter()
        .flatten()
        .filter_map(|p| p.arn.clone())
        .collect()
}

impl TokenService {
    pub fn new(id: Identity) -> Self {
        TokenService { id }
    }

    /// Whether the role's trust policy (and, where it delegates to the account, the caller's
    /// own policies) lets the caller assume it.
    fn trust_allows(
        &self,
        ctx: &RequestContext,
        role: &Role,
        input: &AssumeRoleRequest,
        tags: &[TagRec],
        mfa: bool,
    ) -> Result<bool, AwsError> {
        let Ok(trust) = pol::CompiledPolicy::parse(&role.trust_policy, pol::PolicyKind::Resource)
        else {
            return Ok(false);
        };
        let caller = &ctx.principal;
        let kind = match caller.kind {
            PrincipalKind::Root => pol::PrincipalKind::Root,
            PrincipalKind::IamUser => pol::PrincipalKind::User,
            PrincipalKind::AssumedRole => pol::PrincipalKind::AssumedRole,
            PrincipalKind::FederatedUser => pol::PrincipalKind::FederatedUser,
        };
        let user_id = match caller.kind {
            PrincipalKind::Root => caller.account_id.as_str(),
            _ => caller.principal_id.as_str(),
        };
        let policies = self.id.policies_for(caller).map_err(AwsError::from)?;
        let mut principal = pol::Principal::new(kind, &caller.arn, &caller.account_id, user_id);
        principal.tags = policies.principal_tags.clone();
        principal.session_issuer = policies.session_issuer.clone();
        // MFA checked in this call, or (for temporary credentials) when they were issued;
        // AWS sets aws:MultiFactorAuthPresent only for temporary credentials or with MFA.
        let session = policies.temporary;
        let mfa_time = if mfa {
            Some(ctx.time)
        } else {
            session.and_then(|s| s.mfa_authenticated)
        };
        let env = pol::RequestEnvironment {
            now: ctx.time,
            source_ip: Some(ctx.source_ip),
            secure_transport: ctx.secure_transport,
            requested_region: Some(ctx.region.clone()),
            mfa_present: (session.is_some() || mfa).then_some(mfa_time.is_some()),
            token_issue_time: session.and_then(|s| s.issued),
            mfa_auth_time: mfa_time,
        };
        let mut context = pol::ContextKeys::for_request(&principal, &env);
        context.set("sts:RoleSessionName", [input.role_session_name.as_str()]);
        if let Some(org) = &policies.org_id {
            context.set("aws:PrincipalOrgID", [org.as_str()]);
        }
        if let Some(e) = &input.external_id {
            context.set("sts:ExternalId", [e.as_str()]);
        }
        if let Some(s) = &input.source_identity {
            context.set("sts:SourceIdentity", [s.as_str()]);
        }
        if !tags.is_empty() {
            for t in tags {
                context.set(&format!("aws:RequestTag/{}", t.key), [t.value.as_str()]);
            }
            context.set("aws:TagKeys", tags.iter().map(|t| t.key.as_str()));
        }
        if let Some(keys) = &input.transitive_tag_keys {
            context.set("sts:TransitiveTagKeys", keys.iter().map(String::as_str));
        }
        let request = pol::Request {
            principal,
            action: "sts:AssumeRole".to_string(),
            resource: role.arn.clone(),
            context,
        };
        let compile = |name: &str, doc: &str| {
            pol::CompiledPolicy::parse(doc, pol::PolicyKind::Identity)
                .ok()
                .map(|c| pol::CompiledPolicy::named(c.policy().clone(), name))
        };
        let identity: Vec<pol::CompiledPolicy> = policies
            .identity_policies
            .iter()
            .filter_map(|(n, d)| compile(n, d))
            .collect();
        let identity_refs: Vec<&pol::CompiledPolicy> = identity.iter().collect();
        let boundary = policies
            .permissions_boundary
            .as_deref()
            .and_then(|d| compile("PermissionsBoundary", d));
        let mut session: Vec<pol::CompiledPolicy> = Vec::new();
        if let Some(d) = &policies.session_policy {
            session.extend(compile("SessionPolicy", d));
        }
        for (n, d) in &policies.session_policy_arns {
            session.extend(compile(n, d));
        }
        let session_refs: Vec<&pol::CompiledPolicy> = session.iter().collect();
        let eval = pol::EvalInput {
            request: &request,
            identity_policies: &identity_refs,
            resource_policy: Some(&trust),
            resource_account: Some(&role.account_id),
            permissions_boundary: boundary.as_ref(),
            session_policies: policies
                .has_session_policies()
                .then_some(session_refs.as_slice()),
            resource_policy_required: true,
        };
        Ok(pol::evaluate(&eval).is_allowed())
    }

    /// Checks the MFA code of a call that gives `SerialNumber` and `TokenCode` (both or
    /// neither): `Ok(true)` when checked, `Ok(false)` when none was given.
    fn mfa(
        &self,
        ctx: &RequestContext,
        serial: Option<&str>,
        code: Option<&str>,
    ) -> Result<bool, AwsError> {
        match (serial, code) {
            (None, None) => Ok(false),
            (Some(s), Some(c)) => self.id.authenticate_mfa(ctx, s, c).map(|()| true),
            _ => Err(validation(
                "SerialNumber and TokenCode must be given together.",
            )),
        }
    }

    /// Creates and stores temporary credentials.
    fn issue(&self, issue: Issue) -> Result<m::Credentials, AwsError> {
        // Whole seconds, as AWS gives `Expiration`.
        let expires =
            DateTime::from_timestamp(issue.expires.timestamp(), 0).unwrap_or(issue.expires);
        let akid = ids::iam_id("ASIA");
        let secret = Zeroizing::new(ids::secret_access_key());
        let token = session_token();
        let secret_wrapped = self
            .id
            .wrap(&session_secret_aad(&akid), secret.as_bytes())
            .map_err(AwsError::from)?;
        let token_wrapped = self
            .id
            .wrap(&session_token_aad(&akid), token.as_bytes())
            .map_err(AwsError::from)?;
        let mut principal = issue.principal;
        principal.access_key_id = Some(akid.clone());
        let rec = SessionRecord {
            access_key_id: akid.clone(),
            account_id: principal.account_id.clone(),
            principal,
            role: issue.role,
            issued: now(),
            expires: expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            secret_wrapped,
            token_wrapped,
            session_policy: issue.session_policy,
            policy_arns: issue.policy_arns,
            tags: issue.tags,
            mfa_authenticated: issue.mfa.then(now),
        };
        let region = issue.region;
        self.id
            .store
            .write(move |tx: &mut dyn Tx| -> Result<(), IdentityError> {
                tx.put_json(SESSIONS, &rec.access_key_id, &rec)?;
                if let Some(role_key) = &rec.role {
                    // RoleLastUsed.
                    if let Ok(mut role) = load::<Role>(tx, &rec.account_id, role_key) {
                        role.last_used = Some((now(), region));
                        save(tx, &rec.account_id, &role)?;
                    }
                }
                Ok(())
            })
            .map_err(AwsError::from)?;
        self.id.purge_sessions();
        Ok(m::Credentials {
            access_key_id: akid,
            secret_access_key: secret.to_string(),
            session_token: token.to_string(),
            expiration: Timestamp::from_datetime(expires),
        })
    }
}

/// `PackedPolicySize`: the share (in percent) of the session's allotted space its session
/// policy and tags take; over 100 is `PackedPolicyTooLarge`.
fn packed_size(policy: Option<&str>, tags: &[TagRec]) -> Result<Option<i32>, AwsError> {
    let packed = (policy.is_some() || !tags.is_empty()).then(|| {
        let chars = policy.map(policydoc::size).unwrap_or(0)
            + tags
                .iter()
                .map(|t| t.key.chars().count() + t.value.chars().count())
                .sum::<usize>();
        let pct = chars * 100 / policydoc::SESSION_POLICY_SIZE;
        i32::try_from(pct.max(1)).unwrap_or(i32::MAX)
    });
    if let Some(p) = packed.filter(|p| *p > 100) {
        return Err(m::packed_policy_too_large_exception(format!(
            "Packed policy consumes {p}% of allotted space, please use smaller policy."
        )));
    }
    Ok(packed)
}

impl Sts for TokenService {
    /// A federated user session for an IAM user (or the root user, for at most an hour): the
    /// session has what both the user's policies and the session policies passed here allow,
    /// and nothing without a session policy, as on AWS.
    fn get_federation_token(
        &self,
        ctx: &RequestContext,
        input: m::GetFederationTokenRequest,
    ) -> Result<m::GetFederationTokenResponse, AwsError> {
        let p = &ctx.principal;
        let temporary = p.kind != PrincipalKind::IamUser && p.kind != PrincipalKind::Root
            || p.access_key_id
                .as_deref()
                .is_some_and(|k| k.starts_with("ASIA"));
        if temporary {
            return Err(access_denied(
                "Cannot call GetFederationToken with session credentials",
            ));
        }
        if let Some(doc) = &input.policy {
            policydoc::validate(doc, DocKind::Session)
                .map_err(|e| m::malformed_policy_document_exception(e.message))?;
        }
        let tags = session_tags(input.tags.as_deref())?;
        let packed = packed_size(input.policy.as_deref(), &tags)?;
        let mut duration = input.duration_seconds.unwrap_or(43_200);
        if p.kind == PrincipalKind::Root {
            duration = duration.min(3600);
        }
        let account = p.account_id.clone();
        let arn = format!("arn:aws:sts::{account}:federated-user/{}", input.name);
        let federated_id = format!("{account}:{}", input.name);
        let creds = self.issue(Issue {
            principal: Principal {
                kind: PrincipalKind::FederatedUser,
                account_id: account,
                arn: arn.clone(),
                principal_id: federated_id.clone(),
                // Whose policies the session is cut from (`None`: the root user).
                user_name: p.user_name.clone(),
                access_key_id: None,
            },
            role: None,
            expires: ctx.time + chrono::Duration::seconds(i64::from(duration)),
            session_policy: input.policy.clone(),
            policy_arns: arns_of(&input.policy_arns),
            tags,
            region: ctx.region.clone(),
            mfa: false,
        })?;
        Ok(m::GetFederationTokenResponse {
            credentials: Some(creds),
            federated_user: Some(m::FederatedUser {
                federated_user_id: federated_id,
                arn,
            }),
            packed_policy_size: packed,
            ..Default::default()
        })
    }

    fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: GetCallerIdentityRequest,
    ) -> Result<GetCallerIdentityResponse, AwsError> {
        Ok(caller_identity(ctx))
    }

    fn assume_role(
        &self,
        ctx: &RequestContext,
        input: AssumeRoleRequest,
    ) -> Result<AssumeRoleResponse, AwsError> {
        let denied = || {
            access_denied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                ctx.principal.arn, input.role_arn
            ))
        };
        let Some((account, role_name)) = parse_role_arn(&input.role_arn) else {
            return Err(validation(format!("{} is invalid", input.role_arn)));
        };
        let key = name_key(account, role_name);
        let role = self
            .id
            .store
            .read(|tx| tx.get_json::<Role>(crate::records::ROLES, &key))
            .map_err(|e| AwsError::from(IdentityError::from(e)))?;
        // A role that does not exist is refused like one that does not trust the caller.
        let Some(role) = role.filter(|r| r.arn == input.role_arn) else {
            return Err(denied());
        };
        if let Some(doc) = &input.policy {
            policydoc::validate(doc, DocKind::Session)
                .map_err(|e| m::malformed_policy_document_exception(e.message))?;
        }
        let tags = session_tags(input.tags.as_deref())?;
        let mfa = self.mfa(
            ctx,
            input.serial_number.as_deref(),
            input.token_code.as_deref(),
        )?;
        if !self.trust_allows(ctx, &role, &input, &tags, mfa)? {
            return Err(denied());
        }
        let duration = input.duration_seconds.unwrap_or(3600);
        if ctx.principal.kind == PrincipalKind::AssumedRole && duration > 3600 {
            return Err(validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ));
        }
        if duration > role.max_session_duration {
            return Err(validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ));
        }
        let session = input.role_session_name.clone();
        let assumed_arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{session}",
            role.account_id, role.role_name
        );
        let assumed_id = format!("{}:{session}", role.role_id);
        let packed = packed_size(input.policy.as_deref(), &tags)?;
        let creds = self.issue(Issue {
            principal: Principal {
                kind: PrincipalKind::AssumedRole,
                account_id: role.account_id.clone(),
                arn: assumed_arn.clone(),
                principal_id: assumed_id.clone(),
                user_name: None,
                access_key_id: None,
            },
            role: Some(role.role_name.to_ascii_lowercase()),
            expires: ctx.time + chrono::Duration::seconds(i64::from(duration)),
            session_policy: input.policy.clone(),
            policy_arns: arns_of(&input.policy_arns),
            tags,
            region: ctx.region.clone(),
            mfa,
        })?;
        Ok(AssumeRoleResponse {
            credentials: Some(creds),
            assumed_role_user: Some(m::AssumedRoleUser {
                assumed_role_id: assumed_id,
                arn: assumed_arn,
            }),
            packed_policy_size: packed,
            source_identity: input.source_identity,
            ..Default::default()
        })
    }

    fn get_session_token(
        &self,
        ctx: &RequestContext,
        input: GetSessionTokenRequest,
    ) -> Result<GetSessionTokenResponse, AwsError> {
        let p = &ctx.principal;
        let temporary = p.kind == PrincipalKind::AssumedRole
            || p.access_key_id
                .as_deref()
                .is_some_and(|k| k.starts_with("ASIA"));
        if temporary {
            return Err(access_denied(
                "Cannot call GetSessionToken with session credentials",
            ));
        }
        let mut duration = input.duration_seconds.unwrap_or(43_200);
        if p.kind == PrincipalKind::Root {
            // The root user's sessions last at most an hour.
            duration = duration.min(3600);
        }
        let mfa = self.mfa(
            ctx,
            input.serial_number.as_deref(),
            input.token_code.as_deref(),
        )?;
        let creds = self.issue(Issue {
            principal: p.clone(),
            role: None,
            expires: ctx.time + chrono::Duration::seconds(i64::from(duration)),
            session_policy: None,
            policy_arns: Vec::new(),
            tags: Vec::new(),
            region: ctx.region.clone(),
            mfa,
        })?;
        Ok(GetSessionTokenResponse {
            credentials: Some(creds),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::111122223333:role/app/admin"),
            Some(("111122223333", "admin"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::111122223333:role/r"),
            Some(("111122223333", "r"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::111122223333:user/r"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::1:role/r"), None);
        assert_eq!(session_token().len(), 160);
    }
}
