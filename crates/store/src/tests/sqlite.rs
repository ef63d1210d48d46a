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
