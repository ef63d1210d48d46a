//! Identifiers in AWS's formats: request ids, account ids, IAM unique ids and access key ids.
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// Fills `buf` from the system CSPRNG. Failure of the OS random source is not recoverable.
pub fn random_bytes(buf: &mut [u8]) {
    // aws-lc-rs reads the OS random source; it only fails when the kernel cannot supply
    // randomness, in which case continuing would be unsafe.
    if SystemRandom::new().fill(buf).is_err() {
        panic!("the system random number generator failed");
    }
}

pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random 12-digit AWS account id (never starting with 0, so it never collides with the
/// `--dev` account `000000000000`).
pub fn account_id() -> String {
    let mut b = [0u8; 8];
    random_bytes(&mut b);
    let n = u64::from_le_bytes(b) % 900_000_000_000 + 100_000_000_000;
    n.to_string()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An IAM-style unique id: a 4-letter prefix (`AIDA`, `AROA`, `AKIA`, ...) and 16 characters
/// of base32 (upper-case letters and digits 2-7), 20 characters in all.
pub fn iam_id(prefix: &str) -> String {
    let mut b = [0u8; 16];
    random_bytes(&mut b);
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    for byte in b {
        s.push(BASE32[(byte % 32) as usize] as char);
    }
    s
}

/// A 40-character secret access key (base64 alphabet, as AWS issues them).
pub fn secret_access_key() -> String {
    const ALPHA: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b = [0u8; 40];
    random_bytes(&mut b);
    b.iter().map(|x| ALPHA[(x % 64) as usize] as char).collect()
}

/// True for a 12-digit account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Lower-case hex of `bytes`, by table (hashes, signatures and key-material ids on the request
/// path; the `hex` crate goes a char at a time).
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(is_account_id(&account_id()));
        let id = iam_id("AKIA");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("AKIA"));
        assert_eq!(secret_access_key().len(), 40);
    }
}
