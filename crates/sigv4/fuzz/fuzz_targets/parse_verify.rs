//! Feeds arbitrary bytes, split into method / path / query / headers / body, through
//! `parse` and `verify`. Nothing may panic; nothing random may verify.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use rampart_sigv4::{check_scope, parse, parse_amz_date, verify, SignedRequest, SigningKeyCache};
use std::sync::OnceLock;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static CACHE: OnceLock<SigningKeyCache> = OnceLock::new();

/// Input layout: `method \0 path \0 query \0 headers \0 body`, headers as `name:value` lines.
/// Missing pieces are empty. Bytes that are not UTF-8 are replaced (the HTTP layer only hands
/// over `&str`).
fn split(data: &[u8]) -> (String, String, String, Vec<(String, String)>, Vec<u8>) {
    let mut parts = data.splitn(5, |b| *b == 0);
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let method = text();
    let path = text();
    let query = text();
    let header_block = text();
    let body = parts.next().unwrap_or_default().to_vec();
    let headers = header_block
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(':') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect();
    (method, path, query, headers, body)
}

fuzz_target!(|data: &[u8]| {
    let (method, path, query, headers, body) = split(data);
    let req = SignedRequest {
        method: &method,
        raw_path: &path,
        raw_query: &query,
        headers: &headers,
        body: &body,
    };
    let Ok(auth) = parse(&req) else {
        return;
    };
    let _ = check_scope(&auth, "us-east-1", "iam");
    let cache = CACHE.get_or_init(|| SigningKeyCache::new(64));
    // At the request's own time (so the time checks pass and the signature code runs) and at a
    // fixed time (so the expiry paths run).
    let own_time = parse_amz_date(&auth.amz_date);
    let fixed = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).single();
    for now in [own_time, fixed].into_iter().flatten() {
        let r = verify(&req, &auth, SECRET, now, Some(cache));
        // Only a well-formed (64 hex digit) signature can ever match.
        assert!(r.is_err() || auth.signature.len() == 64);
        let _ = verify(&req, &auth, SECRET, now, None);
    }
});
