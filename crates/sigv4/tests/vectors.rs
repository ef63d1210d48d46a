//! Runs every case of `tests/vectors.toml` (the AWS SigV4 test suite, restated): parse, canonical
//! request, string to sign, signature, `verify` at the vector's time, and refusal of the same
//! request with one character of the signature changed or at a later time.

use chrono::{DateTime, TimeDelta, Utc};
use rampart_sigv4::{
    canonical_request_with, parse, parse_amz_date, sign, signing_key, string_to_sign, verify,
    verify_with, AuthKind, CanonicalOptions, SigError, SignedRequest, SigningKeyCache,
    VerifyOptions,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    credentials: Credentials,
    vector: Vec<Vector>,
}

#[derive(Deserialize)]
struct Credentials {
    access_key_id: String,
    secret: String,
    region: String,
    service: String,
    time: String,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    kind: String,
    normalize: bool,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: String,
    canonical_request: String,
    string_to_sign: String,
    signature: String,
}

fn load() -> File {
    let text = include_str!("vectors.toml");
    match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => panic!("vectors.toml does not parse: {e}"),
    }
}

fn options(v: &Vector) -> VerifyOptions {
    VerifyOptions {
        canonical: Some(CanonicalOptions {
            normalize_path: v.normalize,
            double_encode_path: true,
        }),
        ..VerifyOptions::default()
    }
}

/// The same request with the signature's first hex digit changed.
fn tamper(v: &Vector) -> (String, Vec<(String, String)>) {
    let flip = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        if let Some(first) = c.first_mut() {
            *first = if *first == '0' { '1' } else { '0' };
        }
        c.into_iter().collect::<String>()
    };
    let new_sig = flip(&v.signature);
    let query = v.query.replace(&v.signature, &new_sig);
    let headers = v
        .headers
        .iter()
        .map(|(n, val)| (n.clone(), val.replace(&v.signature, &new_sig)))
        .collect();
    (query, headers)
}

fn now_of(creds: &Credentials) -> DateTime<Utc> {
    match parse_amz_date(&creds.time) {
        Some(t) => t,
        None => panic!("bad time {}", creds.time),
    }
}

#[test]
fn vector_file_covers_the_suite() {
    let file = load();
    assert!(
        file.vector.len() >= 20,
        "only {} vectors",
        file.vector.len()
    );
    for wanted in [
        "get-vanilla",
        "get-vanilla-query-order-key-case",
        "get-header-value-trim",
        "get-space-normalized",
        "get-slash-normalized",
        "get-slashes-normalized",
        "get-slash-dot-slash-normalized",
        "get-slash-pointless-dot-normalized",
        "get-relative-normalized",
        "get-relative-relative-normalized",
        "get-utf8",
        "get-unreserved",
        "post-x-www-form-urlencoded",
        "post-header-key-sort",
        "post-vanilla-query",
        "get-vanilla-with-session-token",
    ] {
        assert!(
            file.vector.iter().any(|v| v.name == wanted),
            "missing {wanted}"
        );
    }
}

#[test]
fn every_vector_matches_and_verifies() {
    let file = load();
    let creds = &file.credentials;
    let now = now_of(creds);
    let cache = SigningKeyCache::default();
    let mut failures = Vec::new();

    for v in &file.vector {
        let req = SignedRequest {
            method: &v.method,
            raw_path: &v.path,
            raw_query: &v.query,
            headers: &v.headers,
            body: v.body.as_bytes(),
        };
        let label = format!("{} [{}]", v.name, v.kind);
        let auth = match parse(&req) {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{label}: parse failed: {e}"));
                continue;
            }
        };
        let expected_kind = if v.kind == "presigned" {
            AuthKind::Presigned
        } else {
            AuthKind::Header
        };
        assert_eq!(auth.kind, expected_kind, "{label}");
        assert_eq!(auth.access_key_id, creds.access_key_id, "{label}");
        assert_eq!(auth.region, creds.region, "{label}");
        assert_eq!(auth.service, creds.service, "{label}");
        assert_eq!(auth.amz_date, creds.time, "{label}");
        assert_eq!(auth.signature, v.signature, "{label}");
        if expected_kind == AuthKind::Presigned {
            assert_eq!(auth.expires, Some(3600), "{label}");
        }

        // The suite signs the body's hash (empty body: e3b0...).
        let payload_hash = v
            .canonical_request
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .to_owned();
        let opts = options(v).canonical.unwrap_or_default();
        let creq = canonical_request_with(&req, &auth, &payload_hash, opts);
        if creq != v.canonical_request {
            failures.push(format!(
                "{label}: canonical request differs\n--- expected\n{}\n--- got\n{}",
                v.canonical_request, creq
            ));
            continue;
        }
        let sts = string_to_sign(&auth, &creq);
        if sts != v.string_to_sign {
            failures.push(format!("{label}: string to sign differs:\n{sts}"));
            continue;
        }
        let key = signing_key(&creds.secret, &auth.date, &auth.region, &auth.service);
        let sig = sign(&key, &sts);
        if sig != v.signature {
            failures.push(format!("{label}: signature {sig} != {}", v.signature));
            continue;
        }

        // verify accepts it, with and without the cache.
        let o = options(v);
        if let Err(e) = verify_with(&req, &auth, &creds.secret, now, None, &o) {
            failures.push(format!("{label}: verify refused: {e:?}"));
            continue;
        }
        if let Err(e) = verify_with(&req, &auth, &creds.secret, now, Some(&cache), &o) {
            failures.push(format!("{label}: verify (cached) refused: {e:?}"));
            continue;
        }
        // The normalised cases verify with the service's default rules too.
        if v.normalize {
            if let Err(e) = verify(&req, &auth, &creds.secret, now, None) {
                failures.push(format!("{label}: verify (defaults) refused: {e:?}"));
                continue;
            }
        }

        // One character of the signature changed: refused.
        let (query, headers) = tamper(v);
        let bad_req = SignedRequest {
            raw_query: &query,
            headers: &headers,
            ..req
        };
        match parse(&bad_req) {
            Ok(bad_auth) => {
                assert_ne!(bad_auth.signature, v.signature, "{label}");
                let r = verify_with(&bad_req, &bad_auth, &creds.secret, now, Some(&cache), &o);
                if r != Err(SigError::InvalidSignature) {
                    failures.push(format!("{label}: tampered signature gave {r:?}"));
                }
            }
            Err(e) => failures.push(format!("{label}: tampered request did not parse: {e}")),
        }

        // Wrong secret: refused.
        let r = verify_with(&req, &auth, "not-the-secret", now, Some(&cache), &o);
        if r != Err(SigError::InvalidSignature) {
            failures.push(format!("{label}: wrong secret gave {r:?}"));
        }

        // Too late: header signatures after 15 minutes, presigned ones after X-Amz-Expires.
        let late = match auth.kind {
            AuthKind::Presigned => now + TimeDelta::seconds(3601),
            _ => now + TimeDelta::seconds(901),
        };
        match verify_with(&req, &auth, &creds.secret, late, Some(&cache), &o) {
            Err(SigError::Expired(_)) => {}
            r => failures.push(format!("{label}: late verify gave {r:?}")),
        }
        // Too early (the request is more than 15 minutes in the future): refused.
        let early = now - TimeDelta::seconds(901);
        match verify_with(&req, &auth, &creds.secret, early, Some(&cache), &o) {
            Err(SigError::NotYetValid(_)) => {}
            r => failures.push(format!("{label}: early verify gave {r:?}")),
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        file.vector.len(),
        failures.join("\n\n")
    );
    println!("{} vectors passed", file.vector.len());
}
