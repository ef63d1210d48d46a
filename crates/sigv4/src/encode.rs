//! Percent-encoding as SigV4 wants it, hex and SHA-256 helpers. Byte-oriented on purpose: a
//! request may carry any bytes in its path or query and none of this may panic on them.

use aws_lc_rs::digest;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded (besides `/` in paths).
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `bytes` to `out`, percent-encoding (upper-case hex) everything but unreserved
/// characters, and `/` too when `keep_slash` is set.
pub(crate) fn uri_encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
}

/// Percent-encodes `bytes` with the SigV4 rule (unreserved kept, everything else `%XX`).
pub(crate) fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
    uri_encode_into(&mut out, bytes, keep_slash);
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes. A `%` not followed by two hex digits is kept literally (it will be
/// re-encoded as `%25`). `+` is left alone: SigV4 clients encode a space as `%20`.
pub(crate) fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            if let (Some(hi), Some(lo)) = (
                input.get(i + 1).copied().and_then(hex_val),
                input.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push((hi << 4) | lo);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    rampart_core::ids::hex_lower(digest::digest(&digest::SHA256, data).as_ref())
}

/// True for exactly 64 hex digits (either case).
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lower_matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        assert_eq!(rampart_core::ids::hex_lower(&bytes), hex::encode(&bytes));
        assert_eq!(rampart_core::ids::hex_lower(&[]), "");
    }

    #[test]
    fn encodes_like_aws() {
        assert_eq!(uri_encode(b"a b/c~d", true), "a%20b/c~d");
        assert_eq!(uri_encode(b"a b/c~d", false), "a%20b%2Fc~d");
        assert_eq!(uri_encode("\u{1234}".as_bytes(), false), "%E1%88%B4");
        assert_eq!(uri_encode(b"%20", true), "%2520");
        assert_eq!(uri_encode(b"+=&", false), "%2B%3D%26");
    }

    #[test]
    fn decodes_leniently() {
        assert_eq!(percent_decode(b"a%20b"), b"a b");
        assert_eq!(percent_decode(b"%e1%88%b4"), "\u{1234}".as_bytes());
        assert_eq!(percent_decode(b"%zz%2"), b"%zz%2");
        assert_eq!(percent_decode(b"%"), b"%");
        assert_eq!(percent_decode(b"a+b"), b"a+b");
    }

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_sha256_hex(&sha256_hex(b"x")));
        assert!(!is_sha256_hex("UNSIGNED-PAYLOAD"));
    }
}
