//! Rampart's symmetric ciphertext blob, version 1:
//!
//! ```text
//! version (1) | key id (16, uuid bytes) | material id (16) | nonce (12) | ciphertext | tag (16)
//! ```
//!
//! AES-256-GCM under the key's backing material. The associated data is the 45-byte header
//! followed by the encryption context in an injective encoding (pairs sorted by key, each key
//! and value length-prefixed), so every header byte and the exact context are authenticated.
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use std::collections::BTreeMap;
use uuid::Uuid;
use zeroize::Zeroizing;

pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 1 + 16 + 16 + NONCE_LEN;
pub const TAG_LEN: usize = 16;
/// Bytes a blob adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

/// Why a blob could not be opened. Callers answer `InvalidCiphertextException` for all of
/// them: the reason is not the caller's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobError {
    Malformed,
    Unauthentic,
    Crypto,
}

/// The parsed, not yet authenticated, header of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub key_id: Uuid,
    pub material_id: Uuid,
}

impl Header {
    /// The `KeyMaterialId` AWS shows for the material this ciphertext names.
    pub fn public_material_id(&self) -> String {
        crate::record::public_material_id(&self.material_id.to_string())
    }
}

/// Reads the header of `blob` (which key and material it names).
pub fn header(blob: &[u8]) -> Result<Header, BlobError> {
    if blob.len() < OVERHEAD || blob.first() != Some(&VERSION) {
        return Err(BlobError::Malformed);
    }
    let id = |r: std::ops::Range<usize>| -> Result<Uuid, BlobError> {
        let b: [u8; 16] = blob
            .get(r)
            .and_then(|s| s.try_into().ok())
            .ok_or(BlobError::Malformed)?;
        Ok(Uuid::from_bytes(b))
    };
    Ok(Header {
        key_id: id(1..17)?,
        material_id: id(17..33)?,
    })
}

/// Reads the header of a blob given in base64 (as requests carry it), decoding only as much
/// of it as the header needs; the rest is not examined.
pub fn header_b64(b64: &str) -> Result<Header, BlobError> {
    use base64::Engine as _;
    // Whole 4-character groups covering OVERHEAD bytes; a longer blob has no padding there.
    let need = OVERHEAD.div_ceil(3) * 4;
    let part = if b64.len() > need {
        b64.get(..need).ok_or(BlobError::Malformed)?
    } else {
        b64
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(part)
        .map_err(|_| BlobError::Malformed)?;
    header(&bytes)
}

/// The injective encoding of an encryption context: a count, then each pair in key order,
/// key and value each prefixed with its length (u32, big-endian).
pub fn encode_context(ctx: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + ctx.len() * 16);
    out.extend_from_slice(&len32(ctx.len()));
    for (k, v) in ctx {
        out.extend_from_slice(&len32(k.len()));
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&len32(v.len()));
        out.extend_from_slice(v.as_bytes());
    }
    out
}

fn len32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

fn aead_key(material: &[u8]) -> Result<LessSafeKey, BlobError> {
    let k = UnboundKey::new(&AES_256_GCM, material).map_err(|_| BlobError::Crypto)?;
    Ok(LessSafeKey::new(k))
}

/// Encrypts `plaintext` under `material` (32 bytes) as a version-1 blob.
pub fn seal(
    key_id: Uuid,
    material_id: Uuid,
    material: &[u8],
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> Result<Vec<u8>, BlobError> {
    let key = aead_key(material)?;
    let mut nonce = [0u8; NONCE_LEN];
    rampart_core::ids::random_bytes(&mut nonce);
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(VERSION);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(material_id.as_bytes());
    out.extend_from_slice(&nonce);
    let mut aad = out.clone();
    aad.extend_from_slice(&encode_context(context));
    let mut body = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad[..]),
            &mut body,
        )
        .map_err(|_| BlobError::Crypto)?;
    out.extend_from_slice(&body);
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens a blob whose header named `material`'s key and version.
pub fn open(
    blob: &[u8],
    material: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Zeroizing<Vec<u8>>, BlobError> {
    header(blob)?;
    let key = aead_key(material)?;
    let head = blob.get(..HEADER_LEN).ok_or(BlobError::Malformed)?;
    let nonce_bytes: [u8; NONCE_LEN] = blob
        .get(33..HEADER_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(BlobError::Malformed)?;
    let mut aad = head.to_vec();
    aad.extend_from_slice(&encode_context(context));
    let mut body = Zeroizing::new(blob.get(HEADER_LEN..).ok_or(BlobError::Malformed)?.to_vec());
    let n = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(&aad[..]),
            &mut body[..],
        )
        .map_err(|_| BlobError::Unauthentic)?
        .len();
    body.truncate(n);
    Ok(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/blob.rs"]
mod tests;
