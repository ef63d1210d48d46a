//! The services this binary serves, registered with the request path.
use rampart_core::{AwsError, RequestContext};
use rampart_identity::Identity;
use rampart_server::{Dispatch, Registry};
use rampart_trail::{CloudTrailService, Trail};
use serde_json::Value;
use std::sync::Arc;

/// Wraps a service's dispatch so that every authenticated request notes the use of its
/// access key (`GetAccessKeyLastUsed`; cheap: in memory, flushed at most once a minute).
fn noting_key_use(
    identity: &Identity,
    f: impl Fn(&RequestContext, &str, Value) -> Result<Value, AwsError> + Send + Sync + 'static,
) -> Dispatch {
    let identity = identity.clone();
    Arc::new(move |ctx, op, input| {
        if let Some(akid) = ctx.principal.access_key_id.as_deref() {
            identity.record_key_use(akid, &ctx.service, &ctx.region);
        }
        f(ctx, op, input)
    })
}

pub fn registry(
    identity: &Identity,
    trail: &Trail,
    root: Arc<rampart_crypto::RootKey>,
) -> Registry {
    let mut r = Registry::default();
    let sts = Arc::new(rampart_identity::sts::TokenService::new(identity.clone()));
    r.add(
        &rampart_model::sts::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::sts::dispatch(sts.as_ref(), ctx, op, input)
        }),
    );
    // IAM is global: its event source is iam.amazonaws.com and it answers in every region
    // the node serves (AWS signs IAM requests for us-east-1).
    let iam = Arc::new(rampart_identity::iam::IamService::new(identity.clone()));
    r.add(
        &rampart_model::iam::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::iam::dispatch(iam.as_ref(), ctx, op, input)
        }),
    );
    let kms = Arc::new(rampart_kms::KmsService::new(trail.store().clone(), root));
    r.add(
        &rampart_model::kms::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::kms::dispatch(kms.as_ref(), ctx, op, input)
        }),
    );
    let ct = Arc::new(CloudTrailService::new(trail.store().clone()));
    r.add(
        &rampart_model::cloudtrail::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::cloudtrail::dispatch(ct.as_ref(), ctx, op, input)
        }),
    );
    r
}

/// The identity store as the request path's source of policies.
struct IdentityPolicies(Identity);

impl rampart_server::authz::PolicySource for IdentityPolicies {
    fn policies_for(
        &self,
        principal: &rampart_core::Principal,
    ) -> Result<rampart_server::authz::PolicyDocs, AwsError> {
        let pp = self.0.policies_for(principal).map_err(AwsError::from)?;
        let session = pp.has_session_policies().then(|| {
            pp.session_policy
                .iter()
                .cloned()
                .chain(pp.session_policy_arns.iter().map(|(_, d)| d.clone()))
                .collect()
        });
        Ok(rampart_server::authz::PolicyDocs {
            identity: pp.identity_policies.clone(),
            boundary: pp
                .permissions_boundary
                .clone()
                .map(|d| ("PermissionsBoundary".to_string(), d)),
            session,
            tags: pp.principal_tags.clone(),
            session_issuer: pp.session_issuer.clone(),
        })
    }
}

/// Identity-based authorization of every request, from the identity store's policies.
pub fn authorizer(identity: &Identity) -> Option<Arc<rampart_server::authz::Authorizer>> {
    Some(Arc::new(rampart_server::authz::Authorizer::new(Arc::new(
        IdentityPolicies(identity.clone()),
    ))))
}
