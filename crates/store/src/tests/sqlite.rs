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
