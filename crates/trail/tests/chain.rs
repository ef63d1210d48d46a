#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_core::{Principal, PrincipalKind, RequestContext};
use rampart_store::SqliteStore;
use rampart_trail::{verify, AuditEvent, Problem, Trail, DIGEST_EVERY};
use std::sync::Arc;

fn ctx(op: &str) -> RequestContext {
    RequestContext {
        request_id: "r".into(),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        principal: Principal {
            kind: PrincipalKind::IamUser,
            account_id: "111122223333".into(),
            arn: "arn:aws:iam::111122223333:user/admin".into(),
            principal_id: "AIDAEXAMPLE".into(),
            user_name: Some("admin".into()),
            access_key_id: Some("AKIAEXAMPLE".into()),
        },
        source_ip: "127.0.0.1".parse().unwrap(),
        secure_transport: false,
        time: chrono::Utc::now(),
        user_agent: "test".into(),
        service: "sts".into(),
        operation: op.into(),
    }
}

fn setup(n: usize) -> (tempfile::TempDir, Trail) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let trail = Trail::new(store, &[9u8; 32]);
    for i in 0..n {
        let ev = AuditEvent::from_context(&ctx(&format!("Op{i}")), "sts.amazonaws.com", true);
        trail.record(&ev, i % 2 == 0).unwrap();
    }
    trail.flush().unwrap();
    (dir, trail)
}

fn sql(dir: &tempfile::TempDir, q: &str) {
    let c = rusqlite::Connection::open(dir.path().join("db")).unwrap();
    c.execute_batch(q).unwrap();
}

#[test]
fn intact_chain_verifies() {
    let (_d, trail) = setup(20);
    trail.sign_head().unwrap();
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert_eq!(r.events, 20);
    assert_eq!(r.digests, 1);
    assert_eq!(r.problem, None);
}

#[test]
fn edit_is_named() {
    let (d, trail) = setup(10);
    sql(
        &d,
        "UPDATE trail SET record = replace(record, 'Op4', 'Op5') WHERE seq = 5",
    );
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert!(
        matches!(r.problem, Some(Problem::Edited { seq: 5, .. })),
        "{:?}",
        r.problem
    );
}

#[test]
fn delete_and_insert_are_found() {
    let (d, trail) = setup(10);
    sql(&d, "DELETE FROM trail WHERE seq = 3");
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert_eq!(r.problem, Some(Problem::Gap { after: 2, next: 4 }));

    let (d, trail) = setup(10);
    sql(&d, "CREATE TEMP TABLE copy AS SELECT * FROM trail WHERE seq = 10; UPDATE copy SET seq = 11; INSERT INTO trail SELECT * FROM copy");
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert!(
        matches!(r.problem, Some(Problem::Edited { seq: 11, .. })),
        "{:?}",
        r.problem
    );
}

#[test]
fn truncation_and_rewrite_are_found_by_digests() {
    let (d, trail) = setup(10);
    trail.sign_head().unwrap();
    sql(&d, "DELETE FROM trail WHERE seq > 8");
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert_eq!(r.problem, Some(Problem::Truncated { seq: 10, last: 8 }));

    // Recomputing the whole chain without the root-derived key fails on the digest.
    let (d, trail) = setup(5);
    trail.sign_head().unwrap();
    let other = Trail::new(trail.store().clone(), &[1u8; 32]);
    let r = verify(trail.store().as_ref(), other.mac_key()).unwrap();
    assert_eq!(r.problem, Some(Problem::BadDigest { seq: 5 }));
    drop(d);
}

#[test]
fn periodic_digest() {
    let (_d, trail) = setup(DIGEST_EVERY as usize + 3);
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert_eq!(r.digests, 1);
    assert_eq!(r.problem, None);
}

#[test]
fn edited_lookup_columns_are_found() {
    let (d, trail) = setup(6);
    sql(
        &d,
        "UPDATE trail SET username = 'mallory', read_only = 0 WHERE seq = 2",
    );
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert!(
        matches!(r.problem, Some(Problem::Edited { seq: 2, .. })),
        "{:?}",
        r.problem
    );
    let (d, trail) = setup(6);
    sql(
        &d,
        "UPDATE trail SET account_id = '999999999999' WHERE seq = 3",
    );
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert!(
        matches!(r.problem, Some(Problem::Edited { seq: 3, .. })),
        "{:?}",
        r.problem
    );
}

#[test]
fn rows_hidden_from_lookups_are_found() {
    // The chain covers the columns, not the integer keys lookups go through: editing a key
    // hides the row from LookupEvents without breaking a hash, and verify still names it.
    let (d, trail) = setup(6);
    sql(
        &d,
        "UPDATE trail SET k_username = k_username + 1 WHERE seq = 4",
    );
    let r = verify(trail.store().as_ref(), trail.mac_key()).unwrap();
    assert!(
        matches!(r.problem, Some(Problem::Unindexed { seq: 4, .. })),
        "{:?}",
        r.problem
    );
    assert!(r
        .problem
        .unwrap()
        .to_string()
        .contains("hidden from lookups"));
}
