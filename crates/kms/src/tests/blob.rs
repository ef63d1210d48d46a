//! Unit tests of `blob`.
use super::*;

fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn setup() -> (Uuid, Uuid, [u8; 32]) {
    let mut m = [0u8; 32];
    rampart_core::ids::random_bytes(&mut m);
    (Uuid::new_v4(), Uuid::new_v4(), m)
}

#[test]
fn round_trip() {
    let (k, v, m) = setup();
    let c = ctx(&[("purpose", "test")]);
    for len in [1usize, 17, 4096] {
        let pt = vec![7u8; len];
        let b = seal(k, v, &m, &c, &pt).unwrap();
        assert_eq!(b.len(), pt.len() + OVERHEAD);
        const { assert!(OVERHEAD < 150) };
        assert_eq!(
            header(&b).unwrap(),
            Header {
                key_id: k,
                material_id: v
            }
        );
        assert_eq!(&open(&b, &m, &c).unwrap()[..], &pt[..]);
    }
}

#[test]
fn context_is_bound_injectively() {
    let (k, v, m) = setup();
    let ab_c = ctx(&[("ab", "c")]);
    let a_bc = ctx(&[("a", "bc")]);
    assert_ne!(encode_context(&ab_c), encode_context(&a_bc));
    let b = seal(k, v, &m, &ab_c, b"secret").unwrap();
    assert_eq!(open(&b, &m, &a_bc), Err(BlobError::Unauthentic));
    assert_eq!(open(&b, &m, &BTreeMap::new()), Err(BlobError::Unauthentic));
    assert_eq!(&open(&b, &m, &ab_c).unwrap()[..], b"secret");
    let none = seal(k, v, &m, &BTreeMap::new(), b"x").unwrap();
    assert_eq!(
        open(&none, &m, &ctx(&[("", "")])),
        Err(BlobError::Unauthentic)
    );
}

#[test]
fn any_tampered_byte_fails() {
    let (k, v, m) = setup();
    let c = BTreeMap::new();
    let b = seal(k, v, &m, &c, b"hello world").unwrap();
    for i in 0..b.len() {
        let mut t = b.clone();
        t[i] ^= 0x01;
        assert!(open(&t, &m, &c).is_err(), "byte {i}");
    }
}

#[test]
fn garbage_and_truncation_fail() {
    let (k, v, m) = setup();
    let c = BTreeMap::new();
    let b = seal(k, v, &m, &c, b"hello").unwrap();
    for n in 0..b.len() {
        assert!(open(&b[..n], &m, &c).is_err());
    }
    assert_eq!(header(b"garbage"), Err(BlobError::Malformed));
    let mut other = [0u8; 32];
    rampart_core::ids::random_bytes(&mut other);
    assert_eq!(open(&b, &other, &c), Err(BlobError::Unauthentic));
}

#[test]
fn header_from_base64_prefix() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let ctx = BTreeMap::new();
    for len in [0usize, 1, 2, 3, 4096] {
        let sealed = seal(
            Uuid::from_bytes([1; 16]),
            Uuid::from_bytes([2; 16]),
            &[7u8; 32],
            &ctx,
            &vec![9u8; len],
        )
        .unwrap();
        let text = b64.encode(&sealed);
        assert_eq!(header_b64(&text).unwrap(), header(&sealed).unwrap());
    }
    assert!(header_b64("").is_err());
    assert!(header_b64("not base64 at all!").is_err());
    assert!(header_b64(&b64.encode([1u8; 20])).is_err());
}
