//! Unit tests of `sqlite`.
use super::*;
use crate::StoreExt;
use std::sync::Arc;

#[test]
fn kv_round_trip_scan_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("db")).unwrap();
    s.write(|tx| -> Result<(), StoreError> {
        for k in ["a/1", "a/2", "a/3", "b/1"] {
            tx.put("c", k, k.as_bytes())?;
        }
        Ok(())
    })
    .unwrap();
    // A failing job leaves nothing behind.
    let r: Result<(), StoreError> = s.write(|tx| {
        tx.put("c", "a/9", b"x")?;
        Err(StoreError::Backend("boom".into()))
    });
    assert!(r.is_err());
    let keys: Vec<String> = s
        .read(|tx| tx.scan("c", "a/", Some("a/1"), 10))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec!["a/2", "a/3"]);
    assert_eq!(s.read(|tx| tx.get("c", "a/9")).unwrap(), None);
    assert!(s.write(|tx| tx.delete("c", "a/1")).unwrap());
    assert!(!s.write(|tx| tx.delete("c", "a/1")).unwrap());
}

#[test]
fn concurrent_writers_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let mut hs = vec![];
    for t in 0..8 {
        let s = s.clone();
        hs.push(std::thread::spawn(move || {
            for i in 0..50 {
                let key = format!("{t}/{i}");
                s.write(move |tx| tx.put("n", &key, b"v")).unwrap();
            }
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
    let n = s.read(|tx| tx.scan("n", "", None, 10_000)).unwrap().len();
    assert_eq!(n, 400);
    drop(s);
    // Reopen: everything acknowledged is there.
    let s = SqliteStore::open(&dir.path().join("db")).unwrap();
    assert_eq!(
        s.read(|tx| tx.scan("n", "", None, 10_000)).unwrap().len(),
        400
    );
}

#[test]
fn scan_prefix_after_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("db")).unwrap();
    s.write(|tx| -> Result<(), StoreError> {
        // Neighbours on both sides of the prefix, in another coll, and a key equal to the
        // prefix minus its last character.
        for k in ["a", "a.x", "a/", "a/1", "a/2", "a/3", "a0", "b/1"] {
            tx.put("c", k, k.as_bytes())?;
        }
        tx.put("d", "a/1", b"other coll")?;
        Ok(())
    })
    .unwrap();
    let keys = |prefix: &str, after: Option<&str>, limit: usize| -> Vec<String> {
        s.read(|tx| tx.scan("c", prefix, after, limit))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(keys("a/", None, 10), vec!["a/", "a/1", "a/2", "a/3"]);
    assert_eq!(keys("a/", None, 2), vec!["a/", "a/1"]);
    assert_eq!(keys("a/", Some("a/1"), 10), vec!["a/2", "a/3"]);
    assert_eq!(keys("a/", Some("a/3"), 10), Vec::<String>::new());
    // An `after` before the prefix starts at the prefix.
    assert_eq!(keys("a/", Some("a"), 10), vec!["a/", "a/1", "a/2", "a/3"]);
    assert_eq!(keys("", None, 100).len(), 8);
    assert_eq!(keys("b/", None, 10), vec!["b/1"]);
    assert_eq!(keys("z", None, 10), Vec::<String>::new());
    assert_eq!(keys("a/", None, 0), Vec::<String>::new());
}

fn row(seq: i64, account: &str, region: &str, name: &str, user: &str, resource: &str) -> TrailRow {
    TrailRow {
        seq,
        account_id: account.into(),
        region: region.into(),
        event_id: format!("ev-{seq}"),
        event_time_ms: 1_000 * seq,
        event_name: name.into(),
        event_source: format!("{}.amazonaws.com", name.to_lowercase()),
        username: user.into(),
        access_key_id: format!("AKIA{user}"),
        read_only: seq % 2 == 0,
        resource_type: "AWS::KMS::Key".into(),
        resource_name: resource.into(),
        record: "{}".into(),
        hash: vec![seq as u8; 32],
        indexed: true,
    }
}

/// Twelve rows over two accounts and two regions.
fn sample_rows() -> Vec<TrailRow> {
    let mut rows = Vec::new();
    for seq in 1..=12 {
        let account = if seq % 3 == 0 {
            "222233334444"
        } else {
            "111122223333"
        };
        let region = if seq % 4 == 0 {
            "eu-west-1"
        } else {
            "us-east-1"
        };
        let name = ["Encrypt", "Decrypt", "CreateKey"][(seq / 2 % 3) as usize];
        let user = if seq < 7 { "alice" } else { "bob" };
        let resource = format!("arn:aws:kms:{region}:{account}:key/{}", seq % 2);
        rows.push(row(seq, account, region, name, user, &resource));
    }
    rows
}

fn query(attribute: Option<(TrailAttribute, &str)>) -> TrailQuery {
    TrailQuery {
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        attribute: attribute.map(|(a, v)| (a, v.to_string())),
        start_ms: None,
        end_ms: None,
        before_seq: None,
        limit: 50,
    }
}

fn seqs(s: &SqliteStore, q: &TrailQuery) -> Vec<i64> {
    s.read(|tx| tx.trail_query(q))
        .unwrap()
        .into_iter()
        .map(|r| {
            assert!(r.indexed, "row {} reads back as not indexed", r.seq);
            r.seq
        })
        .collect()
}

/// What a lookup must return, computed from the rows themselves (newest first).
fn expected(rows: &[TrailRow], f: impl Fn(&TrailRow) -> bool) -> Vec<i64> {
    let mut v: Vec<i64> = rows
        .iter()
        .filter(|r| r.account_id == "111122223333" && r.region == "us-east-1" && f(r))
        .map(|r| r.seq)
        .collect();
    v.reverse();
    v
}

fn check_lookups(s: &SqliteStore, rows: &[TrailRow]) {
    use TrailAttribute as A;
    assert_eq!(seqs(s, &query(None)), expected(rows, |_| true));
    type Case = (A, &'static str, fn(&TrailRow) -> bool);
    let cases: [Case; 9] = [
        (A::EventName, "Encrypt", |r| r.event_name == "Encrypt"),
        (A::EventName, "CreateKey", |r| r.event_name == "CreateKey"),
        (A::Username, "bob", |r| r.username == "bob"),
        (A::EventId, "ev-5", |r| r.event_id == "ev-5"),
        (A::EventSource, "decrypt.amazonaws.com", |r| {
            r.event_name == "Decrypt"
        }),
        (A::AccessKeyId, "AKIAalice", |r| r.username == "alice"),
        (
            A::ResourceName,
            "arn:aws:kms:us-east-1:111122223333:key/1",
            |r| r.seq % 2 == 1,
        ),
        (A::ReadOnly, "true", |r| r.read_only),
        (A::ResourceType, "AWS::KMS::Key", |_| true),
    ];
    for (attr, value, f) in cases {
        let got = seqs(s, &query(Some((attr, value))));
        let want = expected(rows, f);
        assert!(
            !want.is_empty(),
            "{attr:?} {value}: the sample should match something"
        );
        assert_eq!(got, want, "{attr:?} = {value}");
    }
    // Another account's and another region's values find nothing here.
    assert!(seqs(s, &query(Some((A::EventId, "ev-3")))).is_empty());
    assert!(seqs(s, &query(Some((A::EventId, "ev-4")))).is_empty());
    // Pages (before_seq) and time ranges narrow the same lookup.
    let mut q = query(Some((A::Username, "alice")));
    q.limit = 2;
    assert_eq!(seqs(s, &q), vec![5, 2]);
    q.before_seq = Some(2);
    assert_eq!(seqs(s, &q), vec![1]);
    let mut q = query(Some((A::Username, "bob")));
    q.start_ms = Some(8_000);
    q.end_ms = Some(10_000);
    assert_eq!(seqs(s, &q), vec![10]);
}

#[test]
fn trail_lookups_by_every_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("db")).unwrap();
    let rows = sample_rows();
    let r2 = rows.clone();
    s.write(move |tx| -> Result<(), StoreError> {
        for r in &r2 {
            tx.trail_append(r)?;
        }
        Ok(())
    })
    .unwrap();
    check_lookups(&s, &rows);
    drop(s);

    // A key colliding with the one looked up (forged here) does not bring in a row whose
    // text differs: the query compares both.
    let c = Connection::open(dir.path().join("db")).unwrap();
    let bob = lookup_key(Lookup::Username, "111122223333", "us-east-1", "bob");
    c.execute("UPDATE trail SET k_username = ?1 WHERE seq = 1", [bob])
        .unwrap();
    drop(c);
    let s = SqliteStore::open(&dir.path().join("db")).unwrap();
    let got = seqs_any(&s, &query(Some((TrailAttribute::Username, "bob"))));
    assert!(!got.contains(&1), "{got:?}");
    // ... and the edited row reads back as not indexed.
    let first = s.read(|tx| tx.trail_range(0, 1)).unwrap();
    assert!(!first[0].indexed);
}

fn seqs_any(s: &SqliteStore, q: &TrailQuery) -> Vec<i64> {
    s.read(|tx| tx.trail_query(q))
        .unwrap()
        .into_iter()
        .map(|r| r.seq)
        .collect()
}

#[test]
fn a_version_1_trail_is_migrated_to_integer_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let rows = sample_rows();
    {
        let c = Connection::open(&path).unwrap();
        let Migration::Sql(v1) = &MIGRATIONS[0] else {
            panic!("migration 1 is SQL")
        };
        c.execute_batch(v1).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        for r in &rows {
            c.execute(
                "INSERT INTO trail VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    r.seq,
                    r.account_id,
                    r.region,
                    r.event_id,
                    r.event_time_ms,
                    r.event_name,
                    r.event_source,
                    r.username,
                    r.access_key_id,
                    r.read_only as i64,
                    r.resource_type,
                    r.resource_name,
                    r.record,
                    r.hash
                ],
            )
            .unwrap();
        }
    }
    let s = SqliteStore::open(&path).unwrap();
    check_lookups(&s, &rows);
    // The text indexes are gone; appends after the migration chain to the old head.
    assert_eq!(s.read(|tx| tx.trail_head()).unwrap().unwrap().0, 12);
    let next = row(13, "111122223333", "us-east-1", "Encrypt", "carol", "k");
    s.write(move |tx| tx.trail_append(&next)).unwrap();
    let q = query(Some((TrailAttribute::Username, "carol")));
    assert_eq!(seqs(&s, &q), vec![13]);
    drop(s);
    let c = Connection::open(&path).unwrap();
    let text_indexes: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('trail_account', 'trail_event_name', 'trail_username')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(text_indexes, 0);
    let version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len() as i64);
}

#[test]
fn the_writer_trail_head_survives_rollbacks_and_wipes() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("db")).unwrap();
    let head = |s: &SqliteStore| s.write(|tx| tx.trail_head()).unwrap().map(|h| h.0);
    assert_eq!(head(&s), None);
    s.write(|tx| tx.trail_append(&row(1, "1", "r", "A", "u", "x")))
        .unwrap();
    assert_eq!(head(&s), Some(1));
    // A job that appends and then fails leaves the head where it was.
    let r: Result<(), StoreError> = s.write(|tx| {
        tx.trail_append(&row(2, "1", "r", "A", "u", "x"))?;
        assert_eq!(tx.trail_head()?.map(|h| h.0), Some(2));
        Err(StoreError::Backend("boom".into()))
    });
    assert!(r.is_err());
    assert_eq!(head(&s), Some(1));
    // A failed append (seq taken) does too.
    assert!(s
        .write(|tx| tx.trail_append(&row(1, "1", "r", "A", "u", "x")))
        .is_err());
    assert_eq!(head(&s), Some(1));
    s.write(|tx| tx.wipe()).unwrap();
    assert_eq!(head(&s), None);
    s.write(|tx| tx.trail_append(&row(1, "1", "r", "B", "u", "x")))
        .unwrap();
    assert_eq!(s.read(|tx| tx.trail_head()).unwrap().map(|h| h.0), head(&s));
}

#[test]
fn event_id_keys_follow_time_order() {
    let ids: Vec<String> = (0..50)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(1));
            uuid::Uuid::now_v7().to_string()
        })
        .collect();
    let keys: Vec<i64> = ids
        .iter()
        .map(|id| lookup_key(Lookup::EventId, "a", "r", id))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    assert!(keys.iter().all(|k| *k >= 0));
    // Not a UUID (or one with a multi-byte character where a digit should be): hashed.
    for odd in [
        "",
        "ev-5",
        "0189abcd-ef01-7abc-8def-0123456789ab-x",
        "0189abcd-ef01-7aé-8def-0123456789ab",
    ] {
        assert_eq!(uuid_prefix(odd), None, "{odd}");
        let _ = lookup_key(Lookup::EventId, "a", "r", odd);
    }
    assert_eq!(uuid_prefix("00000000-0000-0002-8def-0123456789ab"), Some(1));
}
