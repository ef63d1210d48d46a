//! awsQuery decoding + validation + XML encoding of arbitrary form bodies: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let svc = &rampart_model::sts::SERVICE;
    let Some(op) = svc.operations.get(usize::from(pick) % svc.operations.len()) else { return };
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    if let Some(shape) = op.input {
        if let Ok(v) = rampart_model::decode_query(svc, shape, &params) {
            let _ = rampart_model::validate(svc, shape, &v);
            let _ = rampart_model::redact(svc, shape, &v);
        }
    }
    if let Some(out) = op.output {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            let _ = rampart_model::redact(svc, out, &v);
            let _ = rampart_model::encode_query_response(svc, op, &v, "rid");
        }
    }
});
