//! restJson1 routing and decoding of arbitrary requests (method, path with query, headers,
//! body) against every operation of a model: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // method \n path?query \n header lines (name:value) ... \n\n body
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let method = lines.next().unwrap_or("GET");
    let target = lines.next().unwrap_or("/");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let svc = &rampart_model::cloudtrail::SERVICE;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if let Some((op, params)) = rampart_model::match_rest(svc, method, target) {
        let _ = rampart_model::decode_rest(svc, op, &params, &query, &headers, body.as_bytes());
    }
    let pick = data.first().copied().unwrap_or(0);
    if let Some(op) = svc.operations.get(usize::from(pick) % svc.operations.len()) {
        let params = vec![("Name".to_string(), path.to_string())];
        if let Ok(v) = rampart_model::decode_rest(svc, op, &params, &query, &headers, body.as_bytes()) {
            let _ = rampart_model::encode_rest_response(svc, op, &v);
        }
    }
});
