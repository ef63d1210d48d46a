//! Arbitrary bytes as a ciphertext blob: the header parser and `open` must reject them without
//! panicking; a blob sealed here must open, and no mutation of it may open.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_kms::blob;
use std::collections::BTreeMap;
use uuid::Uuid;

const KEY: [u8; 32] = [7u8; 32];

fuzz_target!(|data: &[u8]| {
    let mut ctx = BTreeMap::new();
    if let Some((&n, rest)) = data.split_first() {
        let cut = usize::from(n).min(rest.len());
        let (k, v) = rest.split_at(cut);
        ctx.insert(String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned());
    }
    let _ = blob::header(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = blob::header_b64(text);
    }
    assert!(blob::open(data, &KEY, &ctx).is_err() || data.len() >= blob::OVERHEAD);
    // Round trip, then flip one byte chosen by the input: the flipped blob never opens.
    let sealed = blob::seal(Uuid::from_bytes([1; 16]), Uuid::from_bytes([2; 16]), &KEY, &ctx, data)
        .expect("seal");
    assert_eq!(&blob::open(&sealed, &KEY, &ctx).expect("open")[..], data);
    if !sealed.is_empty() {
        let mut bad = sealed.clone();
        let i = data.len() % bad.len();
        bad[i] ^= 0x80;
        assert!(blob::open(&bad, &KEY, &ctx).is_err());
    }
});
