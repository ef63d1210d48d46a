#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn quoting() {
    assert_eq!(quote_ident("app"), "\"app\"");
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    assert_eq!(quote_literal("it's"), "'it''s'");
}

#[test]
fn error_fields() {
    let body = b"SFATAL\0C28P01\0Mpassword authentication failed for user \"app\"\0\0";
    assert_eq!(
        error_message(body),
        "password authentication failed for user \"app\""
    );
    assert_eq!(error_message(b"\0"), "error");
}

#[test]
fn refused_connection_is_an_error() {
    // Port 1 on loopback: nothing listens.
    let c = Conn {
        host: "127.0.0.1",
        port: 1,
        user: "u",
        password: "p",
        dbname: "d",
    };
    assert!(run(&c, &["SELECT 1"]).is_err());
}
