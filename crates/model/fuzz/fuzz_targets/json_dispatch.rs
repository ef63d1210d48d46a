//! JSON 1.1 request bodies through validation and typed deserialization (the generated
//! dispatch into a service that implements nothing): never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

struct Nothing;
impl rampart_model::kms::Kms for Nothing {}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let svc = &rampart_model::kms::SERVICE;
    let Some(op) = svc.operations.get(usize::from(pick) % svc.operations.len()) else { return };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return };
    if let Some(shape) = op.input {
        if rampart_model::validate(svc, shape, &v).is_ok() {
            let _ = rampart_model::redact(svc, shape, &v);
            let ctx = ctx();
            let _ = rampart_model::kms::dispatch(&Nothing, &ctx, op.name, v);
        }
    }
});

fn ctx() -> rampart_core::RequestContext {
    let p = rampart_core::Principal {
        kind: rampart_core::PrincipalKind::Root,
        account_id: "000000000000".into(),
        arn: "arn:aws:iam::000000000000:root".into(),
        principal_id: "000000000000".into(),
        user_name: None,
        access_key_id: None,
    };
    rampart_core::RequestContext {
        request_id: "r".into(),
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        principal: p,
        source_ip: std::net::IpAddr::from([127, 0, 0, 1]),
        secure_transport: false,
        time: chrono::Utc::now(),
        user_agent: String::new(),
        service: "kms".into(),
        operation: String::new(),
    }
}
