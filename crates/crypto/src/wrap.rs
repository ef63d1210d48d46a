use crate::CryptoError;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Format version of a wrapped value.
const VERSION: u8 = 1;
/// Bytes a wrapped value adds to its plaintext: version, nonce, tag.
pub const WRAP_OVERHEAD: usize = 1 + NONCE_LEN + 16;

/// An AES-256-GCM key that wraps and unwraps values bound to a record identity.
pub struct Sealed {
    key: LessSafeKey,
}

impl Sealed {
    pub fn new(key: &[u8; 32]) -> Result<Self, CryptoError> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::Internal("aes key"))?;
        Ok(Sealed {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Wraps `plaintext`; `aad` names the record (e.g. `access-key/AKIA...`).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Internal("random"))?;
        let mut out = Vec::with_capacity(plaintext.len() + WRAP_OVERHEAD);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(full_aad(aad)),
                &mut body,
            )
            .map_err(|_| CryptoError::Internal("seal"))?;
        out.extend_from_slice(&body);
        // `body` held ciphertext only; the plaintext copy above was consumed in place.
        Ok(out)
    }

    /// Unwraps a value produced by [`Sealed::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (&version, rest) = wrapped.split_first().ok_or(CryptoError::Malformed)?;
        if version != VERSION || rest.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(full_aad(aad)), &mut buf)
            .map_err(|_| CryptoError::Unwrap)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// The version byte is authenticated too, so a downgrade of the format is detected.
fn full_aad(aad: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(aad.len() + 9);
    v.extend_from_slice(b"rampart");
    v.push(VERSION);
    v.push(0);
    v.extend_from_slice(aad);
    v
}

#[cfg(test)]
#[path = "tests/wrap.rs"]
mod tests;
