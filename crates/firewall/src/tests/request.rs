#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn splits_target() {
    let r = Request::new("GET", "/a/b?x=1&y=2");
    assert_eq!(r.uri_path, "/a/b");
    assert_eq!(r.query_string, "x=1&y=2");
    let r = Request::new("GET", "http://host:8080/p?q");
    assert_eq!((r.uri_path.as_str(), r.query_string.as_str()), ("/p", "q"));
    assert_eq!(split_target("https://h"), ("/", ""));
}

#[test]
fn query_args_decode_and_keep_duplicates() {
    let r = Request::new("GET", "/?a=1+2&a=%3Cx%3E&flag&N%61me=v&bad=%zz");
    let args = r.query_args();
    assert_eq!(args.len(), 5);
    assert_eq!(args[0], (b"a".to_vec(), b"1 2".to_vec()));
    assert_eq!(args[1].1, b"<x>");
    assert_eq!(args[2], (Vec::new(), b"flag".to_vec()));
    assert_eq!(r.single_query_arg("NAME"), vec![b"v".to_vec()]);
    assert_eq!(r.single_query_arg("bad"), vec![b"%zz".to_vec()]);
}

#[test]
fn latin1_bytes_survive() {
    let r = Request::new("GET", "/?q=A%F1adir");
    assert_eq!(r.query_args()[0].1, b"A\xf1adir");
}

#[test]
fn headers_and_cookies() {
    let r = Request::new("GET", "/")
        .with_header("Cookie", "a=1; b = two ;c")
        .with_header("cookie", "d=4")
        .with_header("X-Dup", "1")
        .with_header("x-dup", "2");
    assert_eq!(r.header("COOKIE"), Some("a=1; b = two ;c"));
    assert_eq!(r.header_values("x-dup").collect::<Vec<_>>(), ["1", "2"]);
    let c = r.cookies();
    assert_eq!(
        c,
        vec![
            ("a".into(), "1".into()),
            ("b".into(), "two".into()),
            (String::new(), "c".into()),
            ("d".into(), "4".into())
        ]
    );
}

#[test]
fn body_limit() {
    let r = Request::new("POST", "/").with_body(vec![b'a'; 10_000]);
    assert_eq!(r.body_inspected(DEFAULT_BODY_LIMIT).len(), 8192);
    assert_eq!(r.body_inspected(5), b"aaaaa");
}

#[test]
fn form_body() {
    let r = Request::new("POST", "/")
        .with_header(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .with_body("user=bob&msg=hi+there%21");
    assert_eq!(r.body_kind(), BodyKind::Form);
    let f = r.form_fields(DEFAULT_BODY_LIMIT);
    assert_eq!(f[1], (b"msg".to_vec(), b"hi there!".to_vec()));
}

#[test]
fn multipart_body() {
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue one\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../x.php\"\r\nContent-Type: text/plain\r\n\r\n<?php ?>\r\n--XyZ--\r\n";
    let r = Request::new("POST", "/")
        .with_header("Content-Type", "multipart/form-data; boundary=\"XyZ\"")
        .with_body(body);
    assert_eq!(r.body_kind(), BodyKind::Multipart("XyZ".into()));
    let f = r.form_fields(DEFAULT_BODY_LIMIT);
    assert_eq!(f[0], (b"a".to_vec(), b"value one".to_vec()));
    assert_eq!(f[1], (b"filename".to_vec(), b"../x.php".to_vec()));
    assert_eq!(f[2], (b"f".to_vec(), b"<?php ?>".to_vec()));
    // unterminated: last part runs to the end
    let r = Request::new("POST", "/")
        .with_header("Content-Type", "multipart/form-data; boundary=B")
        .with_body("--B\nContent-Disposition: form-data; name=\"n\"\n\nv");
    assert_eq!(r.form_fields(100), vec![(b"n".to_vec(), b"v".to_vec())]);
}

#[test]
fn json_body_scopes() {
    let r = Request::new("POST", "/")
        .with_header("Content-Type", "application/json")
        .with_body(r#"{"k": "v", "n": [1, {"deep": true}], "z": null}"#);
    assert_eq!(r.body_kind(), BodyKind::Json);
    let all = r
        .json_body(JsonMatchScope::All, DEFAULT_BODY_LIMIT)
        .unwrap();
    assert_eq!(all, ["k", "v", "n", "1", "deep", "true", "z"]);
    let keys = r
        .json_body(JsonMatchScope::Key, DEFAULT_BODY_LIMIT)
        .unwrap();
    assert_eq!(keys, ["k", "n", "deep", "z"]);
    let vals = r
        .json_body(JsonMatchScope::Value, DEFAULT_BODY_LIMIT)
        .unwrap();
    assert_eq!(vals, ["v", "1", "true"]);
    let bad = Request::new("POST", "/").with_body("{nope");
    assert!(bad.json_body(JsonMatchScope::All, 100).is_none());
}

#[test]
fn fields_to_match() {
    let r = Request::new("PUT", "/p?a=1&b=2")
        .with_header("User-Agent", "ua")
        .with_header("Cookie", "s=3")
        .with_body("body");
    let get = |f: FieldToMatch| -> Vec<Vec<u8>> {
        r.field(&f, DEFAULT_BODY_LIMIT)
            .into_iter()
            .map(|c| c.into_owned())
            .collect()
    };
    assert_eq!(get(FieldToMatch::UriPath), [b"/p".to_vec()]);
    assert_eq!(get(FieldToMatch::QueryString), [b"a=1&b=2".to_vec()]);
    assert_eq!(
        get(FieldToMatch::AllQueryArguments),
        [b"1".to_vec(), b"2".to_vec()]
    );
    assert_eq!(
        get(FieldToMatch::SingleQueryArgument("B".into())),
        [b"2".to_vec()]
    );
    assert_eq!(
        get(FieldToMatch::SingleHeader("user-agent".into())),
        [b"ua".to_vec()]
    );
    assert_eq!(get(FieldToMatch::Headers).len(), 2);
    assert_eq!(get(FieldToMatch::Cookies), [b"3".to_vec()]);
    assert_eq!(get(FieldToMatch::Body), [b"body".to_vec()]);
    assert_eq!(get(FieldToMatch::Method), [b"PUT".to_vec()]);
    assert!(get(FieldToMatch::JsonBody(JsonMatchScope::All)).is_empty());
}
