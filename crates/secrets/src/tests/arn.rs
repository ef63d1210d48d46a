#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn suffix_and_names() {
    let s = suffix();
    assert_eq!(s.len(), 6);
    assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(valid_name("prod/db+x=y.z@w-1_2"));
    assert!(!valid_name("bad name"));
    assert!(!valid_name("bad!"));
    assert!(!valid_name(""));
}

#[test]
fn resolution_candidates() {
    let r = "us-east-1";
    let a = "111122223333";
    assert_eq!(
        candidates(r, a, "app/db"),
        vec![("app/db".to_string(), None)]
    );
    let full = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbC123";
    assert_eq!(
        candidates(r, a, full),
        vec![
            ("app/db".to_string(), Some(full.to_string())),
            ("app/db-AbC123".to_string(), None)
        ]
    );
    let partial = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db";
    assert_eq!(
        candidates(r, a, partial),
        vec![("app/db".to_string(), None)]
    );
    // Another region or account, or another service: nothing.
    assert!(candidates("eu-west-1", a, full).is_empty());
    assert!(candidates(r, "999999999999", full).is_empty());
    assert!(candidates(r, a, "arn:aws:kms:us-east-1:111122223333:key/x").is_empty());
}
