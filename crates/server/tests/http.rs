//! The server in-process on a loopback port, driven with raw HTTP: limits, TLS-only binds,
//! authentication errors and a correctly signed request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_crypto::{RootKey, RootSource};
use rampart_identity::Identity;
use rampart_server::{Limits, Listener, Registry, State};
use rampart_sigv4::{AuthKind, ParsedAuth, SignedRequest};
use rampart_store::{SqliteStore, Store};
use rampart_trail::Trail;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

struct Running {
    addr: SocketAddr,
    akid: String,
    secret: String,
    _dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn start(allow_plain: bool, limits: Limits) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let root = Arc::new(RootKey::from_bytes(&[5u8; 32], RootSource::KeyFile).unwrap());
    let identity = Identity::new(store.clone(), root);
    let creds = identity.bootstrap(None, None).unwrap().unwrap();
    let trail = Trail::new(store.clone(), &[6u8; 32]);
    let mut registry = Registry::default();
    let sts = Arc::new(rampart_identity::sts::TokenService::new(identity.clone()));
    registry.add(
        &rampart_model::sts::SERVICE,
        Arc::new(move |ctx, op, input| rampart_model::sts::dispatch(sts.as_ref(), ctx, op, input)),
    );
    let state = Arc::new(State {
        registry,
        identity,
        trail,
        store,
        sig_cache: rampart_sigv4::SigningKeyCache::new(16),
        limits,
        dev: false,
        on_reset: None,
        metrics: None,
        default_region: "us-east-1".into(),
        regions: vec!["us-east-1".into()],
        strict_trail: false,
        authorizer: None,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tcp, addr) = rt.block_on(async {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        (tcp, addr)
    });
    let (_tx, rx) = tokio::sync::watch::channel(false);
    rt.spawn(async move {
        let _keep = _tx;
        rampart_server::serve(
            Listener {
                tcp,
                tls: None,
                allow_plain,
            },
            state,
            rx,
        )
        .await;
    });
    Running {
        addr,
        akid: creds.access_key_id,
        secret: creds.secret_access_key.to_string(),
        _dir: dir,
        _rt: rt,
    }
}

fn send(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Signs a Query-protocol STS request the way an SDK does.
fn signed_sts(addr: SocketAddr, akid: &str, secret: &str, body: &str) -> Vec<u8> {
    let now = chrono::Utc::now();
    let amz_date = rampart_sigv4::format_amz_date(now);
    let host = addr.to_string();
    let headers = vec![
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
        ("host".to_string(), host.clone()),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    let auth = ParsedAuth {
        kind: AuthKind::Header,
        access_key_id: akid.into(),
        date: amz_date[..8].to_string(),
        region: "us-east-1".into(),
        service: "sts".into(),
        signed_headers: vec!["content-type".into(), "host".into(), "x-amz-date".into()],
        signature: String::new(),
        amz_date: amz_date.clone(),
        security_token: None,
        expires: None,
    };
    let req = SignedRequest {
        method: "POST",
        raw_path: "/",
        raw_query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let hash = hex::encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes()).as_ref(),
    );
    let creq = rampart_sigv4::canonical_request(&req, &auth, &hash);
    let sts = rampart_sigv4::string_to_sign(&auth, &creq);
    let key = rampart_sigv4::signing_key(secret, &auth.date, "us-east-1", "sts");
    let sig = rampart_sigv4::sign(&key, &sts);
    format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nX-Amz-Date: {amz_date}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={akid}/{}/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        auth.date,
        body.len()
    )
    .into_bytes()
}

#[test]
fn signed_request_succeeds_and_wrong_secret_fails() {
    let r = start(true, Limits::default());
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let out = send(r.addr, &signed_sts(r.addr, &r.akid, &r.secret, body));
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("<GetCallerIdentityResult>"), "{out}");
    assert!(out.contains(":user/admin</Arn>"), "{out}");

    let out = send(r.addr, &signed_sts(r.addr, &r.akid, "not-the-secret", body));
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(out.contains("<Code>SignatureDoesNotMatch</Code>"), "{out}");

    let out = send(
        r.addr,
        &signed_sts(r.addr, "AKIAUNKNOWN000000000", &r.secret, body),
    );
    assert!(out.contains("<Code>InvalidClientTokenId</Code>"), "{out}");
}

#[test]
fn unsigned_request_is_refused() {
    let r = start(true, Limits::default());
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let out = send(r.addr, raw.as_bytes());
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(
        out.contains("<Code>MissingAuthenticationToken</Code>"),
        "{out}"
    );
}

#[test]
fn declared_oversized_body_is_refused_before_reading() {
    let r = start(
        true,
        Limits {
            max_body_bytes: 2048,
            ..Limits::default()
        },
    );
    // Declares 1 MB but sends nothing: the answer must come without waiting for the body.
    let raw = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.Encrypt\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 1000000\r\n\r\n";
    let out = send(r.addr, raw.as_bytes());
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(out.contains("RequestEntityTooLarge"), "{out}");
}

#[test]
fn chunked_oversized_body_is_refused() {
    let r = start(
        true,
        Limits {
            max_body_bytes: 2048,
            ..Limits::default()
        },
    );
    let chunk = "a".repeat(4096);
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.Encrypt\r\nContent-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let out = send(r.addr, raw.as_bytes());
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
}

#[test]
fn too_many_headers_are_refused() {
    let r = start(
        true,
        Limits {
            max_headers: 20,
            ..Limits::default()
        },
    );
    let mut raw = String::from("GET /_rampart/health HTTP/1.1\r\nHost: x\r\n");
    for i in 0..40 {
        raw.push_str(&format!("X-Filler-{i}: v\r\n"));
    }
    raw.push_str("Connection: close\r\n\r\n");
    let out = send(r.addr, raw.as_bytes());
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
}

#[test]
fn slow_body_times_out() {
    let r = start(
        true,
        Limits {
            body_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
    );
    let raw = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\nConnection: close\r\n\r\nAction=";
    let out = send(r.addr, raw.as_bytes());
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
}

#[test]
fn health_and_plain_http_policy() {
    let r = start(true, Limits::default());
    let out = send(
        r.addr,
        b"GET /_rampart/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    // A TLS-only listener closes a plain-HTTP connection without answering.
    let r = start(false, Limits::default());
    let out = send(
        r.addr,
        b"GET /_rampart/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(out, "");
}

#[test]
fn malformed_requests_get_aws_errors() {
    let r = start(true, Limits::default());
    // Garbage form body, no auth: refused as unauthenticated, never a panic.
    let raw = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\nConnection: close\r\n\r\n%%%&&&===";
    let out = send(r.addr, raw.as_bytes());
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    // A malformed Authorization header.
    let raw = "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=/,,\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let out = send(r.addr, raw.as_bytes());
    assert!(out.starts_with("HTTP/1.1 4"), "{out}");
    assert!(
        out.contains("IncompleteSignature") || out.contains("InvalidSignature"),
        "{out}"
    );
}
