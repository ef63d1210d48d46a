//! STS (`sts`, awsQuery). `GetCallerIdentity` answers who signed the request; the rest of STS
//! (AssumeRole, GetSessionToken, ...) comes with the identity issue and answers
//! not-implemented until then.
use rampart_core::{AwsError, PrincipalKind, RequestContext};
use rampart_model::sts::{GetCallerIdentityRequest, GetCallerIdentityResponse, Sts};

pub struct StsService;

impl Sts for StsService {
    fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: GetCallerIdentityRequest,
    ) -> Result<GetCallerIdentityResponse, AwsError> {
        let p = &ctx.principal;
        let user_id = match p.kind {
            PrincipalKind::Root => p.account_id.clone(),
            _ => p.principal_id.clone(),
        };
        Ok(GetCallerIdentityResponse {
            user_id: Some(user_id),
            account: Some(p.account_id.clone()),
            arn: Some(p.arn.clone()),
        })
    }
}
