#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn normalize_decodes_layers() {
    assert_eq!(normalize(b"%253Cscript%253E"), b"<script>");
    assert_eq!(normalize(b"\\u0025\\u0033\\u0043x"), b"<x");
    assert_eq!(normalize(b"&lt;IMG&#x20;"), b"<img ");
    assert_eq!(normalize(b"%c0%ae%c0%ae/"), b"../");
    assert_eq!(normalize(b"a\0b"), b"ab");
    // Windows paths keep their backslashes
    assert_eq!(normalize(b"..\\..\\boot.ini"), b"..\\..\\boot.ini");
    // bidi and zero-width characters go
    assert_eq!(normalize("<\u{202e}script>".as_bytes()), b"<script>");
}

#[test]
fn fold_overlong_keeps_letters() {
    assert_eq!(fold_overlong(b"\xc0\xaf"), b"/");
    assert_eq!(fold_overlong(b"\xc1\x9c"), b"\\");
    // C1 AF would be 'o': left alone
    assert_eq!(fold_overlong(b"\xc1\xaf"), b"\xc1\xaf");
    assert_eq!(fold_overlong("\u{ff0e}".as_bytes()), b".");
}

#[test]
fn base64_values() {
    assert_eq!(
        base64_text(b"PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==").unwrap(),
        b"<script>alert(1)</script>"
    );
    assert!(base64_text(b"password").is_none());
    assert!(base64_text(b"deadbeefcafebabe").is_none());
    assert!(base64_text(b"JSESSIONID06B7B675C88D").is_none());
}

#[test]
fn zones_collect_values() {
    let req = Request::new("POST", "/a/PHN2Zy9vbmxvYWQ9YWxlcnQoMSk+?q=%3Cb%3E&x%3Dy=1")
        .with_header("Cookie", "s=1; t=%27or")
        .with_header("User-Agent", "UA")
        .with_header("Accept", "*/*")
        .with_header("Content-Type", "application/json")
        .with_body(r#"{"k": "V"}"#);
    let ins = Inspection::new(&req);
    assert!(ins
        .zone(Zone::UriPath)
        .iter()
        .any(|v| v == b"<svg/onload=alert(1)>"));
    assert!(ins.zone(Zone::QueryArgs).iter().any(|v| v == b"<b>"));
    assert!(ins.zone(Zone::QueryArgs).iter().any(|v| v == b"x=y=1"));
    assert!(ins.zone(Zone::Cookie).iter().any(|v| v == b"'or"));
    assert_eq!(ins.zone(Zone::Header), [b"ua".to_vec()]);
    assert_eq!(ins.zone(Zone::Body), [b"k".to_vec(), b"v".to_vec()]);
    assert_eq!(ins.zone(Zone::QueryString).len(), 1);
}
