use crate::{CryptoError, Sealed};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

const SEALED_FILE: &str = "root.sealed";
const PLAIN_FILE: &str = "root.key";

/// Argon2id cost parameters stored beside the sealed key.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for SealParams {
    /// OWASP's recommended Argon2id setting (19 MiB, 2 passes, 1 lane).
    fn default() -> Self {
        SealParams {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct SealedFile {
    format: String,
    kdf: String,
    params: SealParams,
    salt: String,
    /// The root key wrapped under the passphrase-derived key (hex).
    wrapped: String,
}

/// Where the root key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    /// Sealed under a passphrase (`root.sealed`).
    Passphrase,
    /// A plain 0600 key file (`root.key`): development only.
    KeyFile,
}

/// The 256-bit root of trust, held in zeroizing memory.
pub struct RootKey {
    sealed: Sealed,
    raw: Box<Zeroizing<[u8; 32]>>,
    fingerprint: String,
    source: RootSource,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RootKey({}, {:?})", self.fingerprint, self.source)
    }
}

impl RootKey {
    /// Opens the root key of `dir`, creating it on first use. With a passphrase, a new key is
    /// sealed under it; without one, a new key goes into a 0600 key file. An existing sealed key
    /// always needs the passphrase.
    pub fn open_or_create(
        dir: &Path,
        passphrase: Option<&[u8]>,
        params: SealParams,
    ) -> Result<Self, CryptoError> {
        let sealed_path = dir.join(SEALED_FILE);
        let plain_path = dir.join(PLAIN_FILE);
        if sealed_path.exists() {
            let pass = passphrase.ok_or(CryptoError::PassphraseRequired)?;
            return Self::unseal(&sealed_path, pass);
        }
        if plain_path.exists() {
            let text = Zeroizing::new(read(&plain_path)?);
            let mut raw = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(text.trim(), &mut raw[..]).map_err(|_| {
                CryptoError::File(
                    plain_path.display().to_string(),
                    "not a 64-hex-digit key".into(),
                )
            })?;
            return Self::from_bytes(&raw, RootSource::KeyFile);
        }
        let mut raw = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(&mut raw[..])
            .map_err(|_| CryptoError::Internal("random"))?;
        match passphrase {
            Some(pass) => {
                let mut salt = [0u8; 16];
                SystemRandom::new()
                    .fill(&mut salt)
                    .map_err(|_| CryptoError::Internal("random"))?;
                let kek = derive(pass, &salt, params)?;
                let wrapped = Sealed::new(&kek)?.seal(b"root-key", &raw[..])?;
                let file = SealedFile {
                    format: "rampart-root-v1".into(),
                    kdf: "argon2id".into(),
                    params,
                    salt: hex::encode(salt),
                    wrapped: hex::encode(wrapped),
                };
                let json =
                    serde_json::to_vec_pretty(&file).map_err(|_| CryptoError::Internal("json"))?;
                write_private(&sealed_path, &json)?;
                Self::from_bytes(&raw, RootSource::Passphrase)
            }
            None => {
                let text = Zeroizing::new(hex::encode(&raw[..]));
                write_private(&plain_path, text.as_bytes())?;
                Self::from_bytes(&raw, RootSource::KeyFile)
            }
        }
    }

    fn unseal(path: &Path, pass: &[u8]) -> Result<Self, CryptoError> {
        let text = read(path)?;
        let file: SealedFile = serde_json::from_str(&text)
            .map_err(|e| CryptoError::File(path.display().to_string(), e.to_string()))?;
        let salt = hex::decode(&file.salt).map_err(|_| CryptoError::Malformed)?;
        let wrapped = hex::decode(&file.wrapped).map_err(|_| CryptoError::Malformed)?;
        let kek = derive(pass, &salt, file.params)?;
        let raw = Sealed::new(&kek)?
            .open(b"root-key", &wrapped)
            .map_err(|e| match e {
                CryptoError::Unwrap => CryptoError::BadPassphrase,
                other => other,
            })?;
        let arr: &[u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Self::from_bytes(arr, RootSource::Passphrase)
    }

    /// A root key from raw bytes (tests, and the providers above).
    pub fn from_bytes(raw: &[u8; 32], source: RootSource) -> Result<Self, CryptoError> {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, raw);
        let fingerprint = hex::encode(&d.as_ref()[..8]);
        Ok(RootKey {
            sealed: Sealed::new(raw)?,
            raw: Box::new(Zeroizing::new(*raw)),
            fingerprint,
            source,
        })
    }

    pub fn source(&self) -> RootSource {
        self.source
    }

    /// A non-secret identifier of the key (first 8 bytes of its SHA-256).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sealed.seal(aad, plaintext)
    }

    pub fn open(&self, aad: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.sealed.open(aad, wrapped)
    }

    /// Derives a 256-bit key bound to `purpose` (HKDF-SHA256 over the root key), e.g. the key
    /// that signs the trail's digests. Changing the root key changes every derived key.
    pub fn derive_key(&self, purpose: &str) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
        let salt = Salt::new(HKDF_SHA256, b"rampart-root-derive-v1");
        let prk = salt.extract(&self.raw[..]);
        let info = [purpose.as_bytes()];
        let okm = prk
            .expand(&info, HKDF_SHA256)
            .map_err(|_| CryptoError::Internal("hkdf"))?;
        let mut out = Zeroizing::new([0u8; 32]);
        okm.fill(&mut out[..])
            .map_err(|_| CryptoError::Internal("hkdf"))?;
        Ok(out)
    }
}

fn derive(pass: &[u8], salt: &[u8], p: SealParams) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let params = Params::new(p.m_cost_kib, p.t_cost, p.p_cost, Some(32))
        .map_err(|_| CryptoError::Internal("argon2 params"))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pass, salt, &mut out[..])
        .map_err(|_| CryptoError::Internal("argon2"))?;
    Ok(out)
}

fn read(path: &Path) -> Result<String, CryptoError> {
    fs::read_to_string(path)
        .map_err(|e| CryptoError::File(path.display().to_string(), e.to_string()))
}

/// Writes a file readable by its owner only, durably (fsync file and directory).
pub(crate) fn write_private(path: &Path, data: &[u8]) -> Result<(), CryptoError> {
    let err = |e: std::io::Error| CryptoError::File(path.display().to_string(), e.to_string());
    let tmp: PathBuf = path.with_extension("tmp");
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(data).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    fs::rename(&tmp, path).map_err(err)?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl Drop for RootKey {
    fn drop(&mut self) {
        self.fingerprint.zeroize();
    }
}

#[cfg(test)]
#[path = "tests/root.rs"]
mod tests;
