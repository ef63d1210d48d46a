//! Unit tests of `root`.
use super::*;

fn fast() -> SealParams {
    SealParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    }
}

#[test]
fn sealed_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let k1 = RootKey::open_or_create(dir.path(), Some(b"pass"), fast()).unwrap();
    let w = k1.seal(b"r", b"v").unwrap();
    let k2 = RootKey::open_or_create(dir.path(), Some(b"pass"), fast()).unwrap();
    assert_eq!(&k2.open(b"r", &w).unwrap()[..], b"v");
    assert!(matches!(
        RootKey::open_or_create(dir.path(), Some(b"nope"), fast()),
        Err(CryptoError::BadPassphrase)
    ));
    assert!(matches!(
        RootKey::open_or_create(dir.path(), None, fast()),
        Err(CryptoError::PassphraseRequired)
    ));
    let text = std::fs::read_to_string(dir.path().join(SEALED_FILE)).unwrap();
    assert!(!text.contains(&hex::encode(&k1.raw[..])));
}

#[test]
fn key_file_round_trip_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let k1 = RootKey::open_or_create(dir.path(), None, fast()).unwrap();
    let k2 = RootKey::open_or_create(dir.path(), None, fast()).unwrap();
    assert_eq!(k1.fingerprint(), k2.fingerprint());
    assert_eq!(*k1.derive_key("a").unwrap(), *k2.derive_key("a").unwrap());
    assert_ne!(*k1.derive_key("a").unwrap(), *k1.derive_key("b").unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(PLAIN_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
