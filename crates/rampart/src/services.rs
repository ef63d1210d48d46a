//! The services this binary serves, registered with the request path.
use rampart_identity::Identity;
use rampart_server::Registry;
use rampart_trail::{CloudTrailService, Trail};
use std::sync::Arc;

pub fn registry(_identity: &Identity, trail: &Trail) -> Registry {
    let mut r = Registry::default();
    let sts = Arc::new(rampart_identity::sts::StsService);
    r.add(
        &rampart_model::sts::SERVICE,
        Arc::new(move |ctx, op, input| rampart_model::sts::dispatch(sts.as_ref(), ctx, op, input)),
    );
    let ct = Arc::new(CloudTrailService::new(trail.store().clone()));
    r.add(
        &rampart_model::cloudtrail::SERVICE,
        Arc::new(move |ctx, op, input| {
            rampart_model::cloudtrail::dispatch(ct.as_ref(), ctx, op, input)
        }),
    );
    r
}
