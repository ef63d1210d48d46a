//! The root of trust and everything wrapped under it.
//!
//! A 256-bit root key wraps every secret the store holds (access-key secrets, KMS key
//! material, ...) with AES-256-GCM; the additional authenticated data binds each wrapped value
//! to the identity of the record that holds it, so a wrapped value moved to another record
//! fails to unwrap. The root key itself lives either sealed in `root.sealed` under a key derived
//! with Argon2id from a passphrase, or (development) in a 0600 `root.key` file.
#![forbid(unsafe_code)]

pub mod keys;
mod root;
mod wrap;

pub use root::{RootKey, RootSource, SealParams};
pub use wrap::{Sealed, WRAP_OVERHEAD};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the wrapped value does not authenticate under the root key (wrong key, wrong record, or tampered)")]
    Unwrap,
    #[error("the wrapped value is malformed")]
    Malformed,
    #[error("the root key is sealed and no passphrase was given (set RAMPART_UNSEAL_PASSPHRASE)")]
    PassphraseRequired,
    #[error("the passphrase does not unseal the root key")]
    BadPassphrase,
    #[error("root key file {0}: {1}")]
    File(String, String),
    #[error("cryptographic failure: {0}")]
    Internal(&'static str),
}
