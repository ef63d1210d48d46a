//! Unit tests of `wrap`.
use super::*;

#[test]
fn round_trip_and_binding() {
    let s = Sealed::new(&[7u8; 32]).unwrap();
    let w = s.seal(b"rec/1", b"secret").unwrap();
    assert_eq!(w.len(), 6 + WRAP_OVERHEAD);
    assert_eq!(&s.open(b"rec/1", &w).unwrap()[..], b"secret");
    assert!(matches!(s.open(b"rec/2", &w), Err(CryptoError::Unwrap)));
    let mut t = w.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    assert!(matches!(s.open(b"rec/1", &t), Err(CryptoError::Unwrap)));
    assert!(matches!(
        s.open(b"rec/1", &w[..5]),
        Err(CryptoError::Malformed)
    ));
    let other = Sealed::new(&[8u8; 32]).unwrap();
    assert!(matches!(other.open(b"rec/1", &w), Err(CryptoError::Unwrap)));
}
