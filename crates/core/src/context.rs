//! The request context: who is calling, from where, when. The HTTP layer builds it once per
//! request after authentication; services and the audit trail read it.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalKind {
    Root,
    IamUser,
    AssumedRole,
    /// A `GetFederationToken` session (`arn:aws:sts::<account>:federated-user/<name>`); its
    /// `user_name` is the IAM user who federated.
    FederatedUser,
}

impl PrincipalKind {
    /// The `userIdentity.type` value CloudTrail uses.
    pub fn trail_type(self) -> &'static str {
        match self {
            PrincipalKind::Root => "Root",
            PrincipalKind::IamUser => "IAMUser",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub account_id: String,
    /// `arn:aws:iam::111122223333:user/alice`, `arn:aws:iam::111122223333:root`, ...
    pub arn: String,
    /// The unique id (`AIDA...` for a user, the account id for root).
    pub principal_id: String,
    pub user_name: Option<String>,
    pub access_key_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub account_id: String,
    pub region: String,
    pub principal: Principal,
    pub source_ip: IpAddr,
    pub secure_transport: bool,
    pub time: DateTime<Utc>,
    pub user_agent: String,
    /// The signing name of the service called (`kms`, `sts`, ...).
    pub service: String,
    pub operation: String,
}

impl RequestContext {
    pub fn principal_arn(&self) -> &str {
        &self.principal.arn
    }

    /// For a resource of another account of this node named by its ARN (`arn` of `service`,
    /// in the request's region): the request's context in the owner's scope, the caller
    /// unchanged. `None` for anything else (a name, an ARN of the caller's account or of
    /// another region).
    pub fn owner_scope(&self, arn: &str, service: &str) -> Option<RequestContext> {
        let rest = arn.strip_prefix("arn:aws:")?.strip_prefix(service)?;
        let mut parts = rest.strip_prefix(':')?.splitn(3, ':');
        let (region, account) = (parts.next()?, parts.next()?);
        if region != self.region
            || account == self.account_id
            || !crate::ids::is_account_id(account)
        {
            return None;
        }
        let mut owned = self.clone();
        owned.account_id = account.to_string();
        Some(owned)
    }

    /// A context for work Rampart does itself in an account and region (schedulers: key
    /// deletion, rotation), acting as the account.
    pub fn internal(account_id: &str, region: &str) -> RequestContext {
        RequestContext {
            request_id: String::new(),
            account_id: account_id.to_string(),
            region: region.to_string(),
            principal: Principal {
                kind: PrincipalKind::Root,
                account_id: account_id.to_string(),
                arn: format!("arn:aws:iam::{account_id}:root"),
                principal_id: account_id.to_string(),
                user_name: None,
                access_key_id: None,
            },
            source_ip: IpAddr::from([127, 0, 0, 1]),
            secure_transport: true,
            time: Utc::now(),
            user_agent: "rampart".to_string(),
            service: String::new(),
            operation: String::new(),
        }
    }
}

/// The request path's permission check, for services that act on several resources within
/// one request (a batch read) or on another service's resources on the caller's behalf
/// (Secrets Manager using a KMS key): the same evaluator as every request's.
pub trait AccessCheck: Send + Sync {
    /// `Ok` when `ctx`'s caller may do `access`; else the AccessDenied error to answer.
    fn check(&self, ctx: &RequestContext, access: &ResourceAccess) -> Result<(), crate::AwsError>;
}

/// What an operation acts on, as a service with resource policies describes it to the request
/// path's authorizer (which evaluates the caller's identity policies together with `policy`).
/// An operation may need several (KMS `ReEncrypt`: `kms:ReEncryptFrom` on the source key and
/// `kms:ReEncryptTo` on the destination).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAccess {
    /// The IAM action (`kms:Decrypt`).
    pub action: String,
    /// The resource's ARN.
    pub resource: String,
    /// Its CloudTrail resource type (`AWS::KMS::Key`); empty: not listed in the event's
    /// `resources`.
    pub resource_type: String,
    /// The resource's policy document (a key policy, a secret policy).
    pub policy: Option<String>,
    /// The resource policy must allow (KMS key policies): identity policies count only where
    /// it delegates to the account.
    pub policy_required: bool,
    /// The service's condition keys for this request (`kms:EncryptionContext:...`) and
    /// `aws:ResourceTag/...`.
    pub context: Vec<(String, Vec<String>)>,
    /// A grant that allows this call when the policies do not (its id, for the audit event).
    pub grant: Option<String>,
    /// The account that owns the resource when it is not the caller's (cross-account access:
    /// both the caller's identity policies and the resource policy must allow).
    pub account: Option<String>,
}
