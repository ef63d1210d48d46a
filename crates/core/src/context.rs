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
}

impl PrincipalKind {
    /// The `userIdentity.type` value CloudTrail uses.
    pub fn trail_type(self) -> &'static str {
        match self {
            PrincipalKind::Root => "Root",
            PrincipalKind::IamUser => "IAMUser",
            PrincipalKind::AssumedRole => "AssumedRole",
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
}
