//! Ed25519ph (RFC 8032 section 5.1 with SHA-512 pre-hashing, KMS's `ED25519_PH_SHA_512`),
//! ML-DSA signing of an external mu (FIPS 204's mu, KMS's `MessageType: EXTERNAL_MU`) and
//! ML-KEM key generation from a seed (FIPS 203 `ML-KEM.KeyGen_internal(d, z)`, for private keys
//! in RFC 9935's seed form): aws-lc implements them, aws-lc-rs's safe API does not expose them. Each function here wraps one
//! aws-lc call with fixed-size inputs, checks every return code and frees what it allocates;
//! nothing else in Rampart uses unsafe code.

use aws_lc_sys as ffi;
use std::ptr;
use zeroize::Zeroizing;

/// An ML-DSA parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlDsa {
    MlDsa44,
    MlDsa65,
    MlDsa87,
}

impl MlDsa {
    fn nid(self) -> i32 {
        match self {
            MlDsa::MlDsa44 => ffi::NID_MLDSA44,
            MlDsa::MlDsa65 => ffi::NID_MLDSA65,
            MlDsa::MlDsa87 => ffi::NID_MLDSA87,
        }
    }

    /// Signature length in bytes (FIPS 204, table 2).
    pub fn signature_len(self) -> usize {
        match self {
            MlDsa::MlDsa44 => 2420,
            MlDsa::MlDsa65 => 3309,
            MlDsa::MlDsa87 => 4627,
        }
    }
}

/// Signs a SHA-512 `digest` with Ed25519ph (empty context), the key given by its 32-byte
/// `seed` and 32-byte `public` key. `None` if aws-lc refuses.
pub fn ed25519ph_sign(seed: &[u8; 32], public: &[u8; 32], digest: &[u8; 64]) -> Option<[u8; 64]> {
    let mut private = [0u8; 64];
    private[..32].copy_from_slice(seed);
    private[32..].copy_from_slice(public);
    let mut sig = [0u8; 64];
    // SAFETY: every pointer is to a live local or argument of exactly the size the C
    // function reads or writes (64-byte signature, 64-byte digest, 64-byte private key); the
    // context is empty (null pointer with length 0, which the function allows).
    let ok = unsafe {
        ffi::ED25519ph_sign_digest(
            sig.as_mut_ptr(),
            digest.as_ptr(),
            private.as_ptr(),
            ptr::null(),
            0,
        )
    };
    cleanse(&mut private);
    (ok == 1).then_some(sig)
}

/// Verifies an Ed25519ph `signature` of a SHA-512 `digest` (empty context).
pub fn ed25519ph_verify(public: &[u8; 32], digest: &[u8; 64], signature: &[u8]) -> bool {
    let Ok(sig) = <&[u8; 64]>::try_from(signature) else {
        return false;
    };
    // SAFETY: the digest and signature are 64 bytes and the public key 32, as the function
    // reads; the context is empty.
    let ok = unsafe {
        ffi::ED25519ph_verify_digest(
            digest.as_ptr(),
            sig.as_ptr(),
            public.as_ptr(),
            ptr::null(),
            0,
        )
    };
    ok == 1
}

/// An aws-lc `EVP_PKEY_CTX` for the ML-DSA key of a 32-byte FIPS 204 `seed`, freed (with its
/// key, whose memory aws-lc cleanses) on drop.
struct PqdsaCtx {
    pkey: *mut ffi::EVP_PKEY,
    ctx: *mut ffi::EVP_PKEY_CTX,
}

impl PqdsaCtx {
    fn from_seed(set: MlDsa, seed: &[u8; 32]) -> Option<PqdsaCtx> {
        // SAFETY: `seed` is 32 readable bytes, the length passed; the function copies them and
        // returns a new key or null.
        let pkey = unsafe {
            ffi::EVP_PKEY_pqdsa_new_raw_private_key(set.nid(), seed.as_ptr(), seed.len())
        };
        if pkey.is_null() {
            return None;
        }
        // SAFETY: `pkey` is a valid key we own; the context takes its own reference to it.
        let ctx = unsafe { ffi::EVP_PKEY_CTX_new(pkey, ptr::null_mut()) };
        let me = PqdsaCtx { pkey, ctx };
        (!ctx.is_null()).then_some(me)
    }
}

impl Drop for PqdsaCtx {
    fn drop(&mut self) {
        // SAFETY: both were allocated by aws-lc in `from_seed` and are freed once, here
        // (freeing null is allowed).
        unsafe {
            ffi::EVP_PKEY_CTX_free(self.ctx);
            ffi::EVP_PKEY_free(self.pkey);
        }
    }
}

/// Signs a 64-byte external `mu` with the ML-DSA key of `seed` (FIPS 204 ML-DSA.Sign_internal
/// with mu given, hedged).
pub fn ml_dsa_sign_mu(set: MlDsa, seed: &[u8; 32], mu: &[u8; 64]) -> Option<Vec<u8>> {
    let c = PqdsaCtx::from_seed(set, seed)?;
    let mut sig = vec![0u8; set.signature_len()];
    let mut len = sig.len();
    // SAFETY: `c.ctx` is a valid context; `sig` has `len` writable bytes (the signature
    // length of the set, which aws-lc checks) and `mu` 64 readable bytes, the length passed.
    let ok = unsafe {
        ffi::EVP_PKEY_sign_init(c.ctx) == 1
            && ffi::EVP_PKEY_sign(c.ctx, sig.as_mut_ptr(), &mut len, mu.as_ptr(), mu.len()) == 1
    };
    if !ok || len != set.signature_len() {
        return None;
    }
    Some(sig)
}

/// Verifies an ML-DSA `signature` of an external `mu` with the key of `seed`.
pub fn ml_dsa_verify_mu(set: MlDsa, seed: &[u8; 32], mu: &[u8; 64], signature: &[u8]) -> bool {
    let Some(c) = PqdsaCtx::from_seed(set, seed) else {
        return false;
    };
    // SAFETY: `c.ctx` is a valid context; `signature` and `mu` are readable for the lengths
    // passed.
    let ok = unsafe {
        ffi::EVP_PKEY_verify_init(c.ctx) == 1
            && ffi::EVP_PKEY_verify(
                c.ctx,
                signature.as_ptr(),
                signature.len(),
                mu.as_ptr(),
                mu.len(),
            ) == 1
    };
    // A failed verification leaves an error on aws-lc's thread-local queue: clear it.
    // SAFETY: no arguments; clears this thread's error queue.
    unsafe { ffi::ERR_clear_error() };
    ok
}

/// An ML-KEM parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlKem {
    MlKem512,
    MlKem768,
    MlKem1024,
}

impl MlKem {
    fn nid(self) -> i32 {
        match self {
            MlKem::MlKem512 => ffi::NID_MLKEM512,
            MlKem::MlKem768 => ffi::NID_MLKEM768,
            MlKem::MlKem1024 => ffi::NID_MLKEM1024,
        }
    }

    /// Lengths of the encapsulation key and of the (expanded) decapsulation key (FIPS 203,
    /// table 3).
    pub fn key_lens(self) -> (usize, usize) {
        match self {
            MlKem::MlKem512 => (800, 1632),
            MlKem::MlKem768 => (1184, 2400),
            MlKem::MlKem1024 => (1568, 3168),
        }
    }
}

/// The ML-KEM key pair of a 64-byte `seed` (d ‖ z): the expanded decapsulation key (zeroized
/// on drop) and the encapsulation key. `None` if aws-lc refuses.
pub fn ml_kem_from_seed(set: MlKem, seed: &[u8; 64]) -> Option<(Zeroizing<Vec<u8>>, Vec<u8>)> {
    struct Guard(*mut ffi::EVP_PKEY_CTX, *mut ffi::EVP_PKEY);
    impl Drop for Guard {
        fn drop(&mut self) {
            // SAFETY: both are null or were allocated by aws-lc below, and are freed once.
            unsafe {
                ffi::EVP_PKEY_free(self.1);
                ffi::EVP_PKEY_CTX_free(self.0);
            }
        }
    }
    // SAFETY: creates a new context (or null) for the KEM key type; no pointers passed.
    let ctx = unsafe { ffi::EVP_PKEY_CTX_new_id(ffi::EVP_PKEY_KEM, ptr::null_mut()) };
    let mut g = Guard(ctx, ptr::null_mut());
    if ctx.is_null() {
        return None;
    }
    let mut seed_len = seed.len();
    // SAFETY: `ctx` is a valid context; `g.1` is a null key pointer aws-lc sets to a new key
    // it allocates; `seed` has `seed_len` (64) readable bytes, the seed length of every
    // ML-KEM set, which aws-lc checks.
    let ok = unsafe {
        ffi::EVP_PKEY_CTX_kem_set_params(ctx, set.nid()) == 1
            && ffi::EVP_PKEY_keygen_init(ctx) == 1
            && ffi::EVP_PKEY_keygen_deterministic(ctx, &mut g.1, seed.as_ptr(), &mut seed_len) == 1
    };
    if !ok || g.1.is_null() {
        return None;
    }
    let (ek_len, dk_len) = set.key_lens();
    let mut dk = Zeroizing::new(vec![0u8; dk_len]);
    let mut ek = vec![0u8; ek_len];
    let (mut dl, mut el) = (dk.len(), ek.len());
    // SAFETY: `g.1` is the valid key made above; each buffer is writable for the length
    // passed, which aws-lc checks against the key's and sets to what it wrote.
    let ok = unsafe {
        ffi::EVP_PKEY_get_raw_private_key(g.1, dk.as_mut_ptr(), &mut dl) == 1
            && ffi::EVP_PKEY_get_raw_public_key(g.1, ek.as_mut_ptr(), &mut el) == 1
    };
    (ok && dl == dk_len && el == ek_len).then_some((dk, ek))
}

/// Zeroes `buf` in a way the compiler does not remove.
fn cleanse(buf: &mut [u8]) {
    // SAFETY: `buf` is writable for its length.
    unsafe { ffi::OPENSSL_cleanse(buf.as_mut_ptr().cast(), buf.len()) };
}

#[cfg(test)]
mod tests;
