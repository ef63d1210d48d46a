//! Asymmetric (RSA, ECC, Ed25519, ML-DSA, ML-KEM) and HMAC keys, over
//! `rampart_crypto::keys`. Key generation for the slow specs (RSA, ML-*) runs under a bound
//! on concurrency so a burst of CreateKey calls cannot take every core.
use crate::record::KeyRecord;
use crate::{dry_run, grants, internal, KmsService, R};
use rampart_core::{AwsError, RequestContext};
use rampart_crypto::keys::{self, KeyError};
use rampart_model::kms as m;
use rampart_model::Blob;
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use zeroize::Zeroizing;

pub(crate) fn spec(s: m::KeySpec) -> R<keys::KeySpec> {
    use keys::KeySpec as K;
    use m::KeySpec as S;
    Ok(match s {
        S::Rsa2048 => K::Rsa2048,
        S::Rsa3072 => K::Rsa3072,
        S::Rsa4096 => K::Rsa4096,
        S::EccNistP256 => K::EccNistP256,
        S::EccNistP384 => K::EccNistP384,
        S::EccNistP521 => K::EccNistP521,
        S::EccSecgP256k1 => K::EccSecgP256k1,
        S::EccNistEdwards25519 => K::EccNistEdwards25519,
        S::MlDsa44 => K::MlDsa44,
        S::MlDsa65 => K::MlDsa65,
        S::MlDsa87 => K::MlDsa87,
        S::MlKem512 => K::MlKem512,
        S::MlKem768 => K::MlKem768,
        S::MlKem1024 => K::MlKem1024,
        S::Hmac224 => K::Hmac224,
        S::Hmac256 => K::Hmac256,
        S::Hmac384 => K::Hmac384,
        S::Hmac512 => K::Hmac512,
        S::SymmetricDefault | S::Sm2 => {
            return Err(m::unsupported_operation_exception(format!(
                "KeySpec {s} has no asymmetric material."
            )))
        }
    })
}

fn signing(a: m::SigningAlgorithmSpec) -> R<keys::SigningAlgorithm> {
    use keys::SigningAlgorithm as K;
    use m::SigningAlgorithmSpec as A;
    Ok(match a {
        A::RsassaPssSha256 => K::RsassaPssSha256,
        A::RsassaPssSha384 => K::RsassaPssSha384,
        A::RsassaPssSha512 => K::RsassaPssSha512,
        A::RsassaPkcs1V15Sha256 => K::RsassaPkcs1V15Sha256,
        A::RsassaPkcs1V15Sha384 => K::RsassaPkcs1V15Sha384,
        A::RsassaPkcs1V15Sha512 => K::RsassaPkcs1V15Sha512,
        A::EcdsaSha256 => K::EcdsaSha256,
        A::EcdsaSha384 => K::EcdsaSha384,
        A::EcdsaSha512 => K::EcdsaSha512,
        A::MlDsaShake256 => K::MlDsaShake256,
        A::Ed25519Sha512 => K::Ed25519Sha512,
        A::Ed25519PhSha512 => K::Ed25519PhSha512,
        A::Sm2dsa => {
            return Err(m::unsupported_operation_exception(
                "SM2DSA is only available in China Regions.",
            ))
        }
    })
}

fn message_type(t: Option<m::MessageType>) -> keys::MessageType {
    match t {
        None | Some(m::MessageType::Raw) => keys::MessageType::Raw,
        Some(m::MessageType::Digest) => keys::MessageType::Digest,
        Some(m::MessageType::ExternalMu) => keys::MessageType::ExternalMu,
    }
}

fn mac_alg(a: m::MacAlgorithmSpec) -> keys::MacAlgorithm {
    match a {
        m::MacAlgorithmSpec::HmacSha224 => keys::MacAlgorithm::HmacSha224,
        m::MacAlgorithmSpec::HmacSha256 => keys::MacAlgorithm::HmacSha256,
        m::MacAlgorithmSpec::HmacSha384 => keys::MacAlgorithm::HmacSha384,
        m::MacAlgorithmSpec::HmacSha512 => keys::MacAlgorithm::HmacSha512,
    }
}

/// The RSA encryption algorithm; `None` for SYMMETRIC_DEFAULT (or absent).
pub(crate) fn rsa_alg(a: Option<m::EncryptionAlgorithmSpec>) -> Option<keys::EncryptionAlgorithm> {
    match a {
        Some(m::EncryptionAlgorithmSpec::RsaesOaepSha1) => {
            Some(keys::EncryptionAlgorithm::RsaesOaepSha1)
        }
        Some(m::EncryptionAlgorithmSpec::RsaesOaepSha256) => {
            Some(keys::EncryptionAlgorithm::RsaesOaepSha256)
        }
        _ => None,
    }
}

/// AWS's error for an algorithm the key does not support.
fn incompatible(alg: &str, k: &KeyRecord) -> AwsError {
    m::invalid_key_usage_exception(format!(
        "Algorithm {alg} is incompatible with key spec {}.",
        k.spec
    ))
}

fn key_error(e: KeyError, alg: &str, k: &KeyRecord) -> AwsError {
    match e {
        KeyError::UnsupportedAlgorithm => incompatible(alg, k),
        KeyError::InvalidMessage(msg) => AwsError::validation(msg),
        KeyError::InvalidCiphertext => m::invalid_ciphertext_exception(""),
        KeyError::InvalidPublicKey => AwsError::validation(
            "The public key is not a valid DER-encoded X.509 SubjectPublicKeyInfo for this key spec.",
        ),
        _ => internal("key operation"),
    }
}

/// The key's usage must be `usage` (InvalidKeyUsageException otherwise).
fn require_usage(k: &KeyRecord, usage: m::KeyUsageType, op: &str) -> R<()> {
    if k.usage == usage {
        return Ok(());
    }
    Err(m::invalid_key_usage_exception(format!(
        "{} key usage is {} which is not valid for {op}.",
        k.arn, k.usage
    )))
}

/// A generated data key pair: the private key (PKCS#8), its ciphertext blob, the public key
/// (SubjectPublicKeyInfo) and the symmetric key that encrypted it.
pub(crate) type DataKeyPair = (Zeroizing<Vec<u8>>, Vec<u8>, Vec<u8>, Arc<KeyRecord>);

/// A bound on concurrent slow key generations.
pub(crate) struct KeygenGate {
    busy: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

impl KeygenGate {
    pub fn new(limit: usize) -> Self {
        KeygenGate {
            busy: Mutex::new(0),
            freed: Condvar::new(),
            limit: limit.max(1),
        }
    }

    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        if let Ok(mut n) = self.busy.lock() {
            while *n >= self.limit {
                match self.freed.wait(n) {
                    Ok(g) => n = g,
                    Err(_) => return f(),
                }
            }
            *n += 1;
        }
        let out = f();
        if let Ok(mut n) = self.busy.lock() {
            *n = n.saturating_sub(1);
        }
        self.freed.notify_one();
        out
    }
}

/// Private material for a new key of `s` (PKCS#8 for RSA/ECC/Ed25519, the seed or
/// decapsulation key for ML-*, random bytes for HMAC).
pub(crate) fn generate(gate: &KeygenGate, s: m::KeySpec) -> R<Zeroizing<Vec<u8>>> {
    let k = spec(s)?;
    let slow = matches!(
        s,
        m::KeySpec::Rsa2048 | m::KeySpec::Rsa3072 | m::KeySpec::Rsa4096
    );
    let out = if slow {
        gate.run(|| keys::generate(k))
    } else {
        keys::generate(k)
    };
    out.map_err(|_| internal("key generation"))
}

impl KmsService {
    /// The usable key `raw` names and its current private material.
    fn private(
        &self,
        ctx: &RequestContext,
        raw: &str,
        tokens: Option<&[String]>,
    ) -> R<(Arc<KeyRecord>, crate::symmetric::Material)> {
        grants::check_tokens(tokens)?;
        let k = self.lookup(ctx, raw)?;
        k.require_usable()?;
        let mat = self.unwrap_material(&k, k.current()?)?;
        Ok((k, mat))
    }

    pub(crate) fn public_key(
        &self,
        ctx: &RequestContext,
        input: m::GetPublicKeyRequest,
    ) -> R<m::GetPublicKeyResponse> {
        let (k, mat) = self.private(ctx, &input.key_id, input.grant_tokens.as_deref())?;
        if k.is_symmetric() || crate::algorithms::is_hmac(k.spec) {
            return Err(m::unsupported_operation_exception(format!(
                "{} key spec {} does not have a public key.",
                k.arn, k.spec
            )));
        }
        let der = keys::public_key_der(spec(k.spec)?, &mat)
            .map_err(|e| key_error(e, k.spec.as_str(), &k))?;
        let algs = crate::algorithms::for_spec(k.spec, k.usage);
        Ok(m::GetPublicKeyResponse {
            key_id: Some(k.arn.clone()),
            public_key: Some(Blob::new(der)),
            customer_master_key_spec: k.spec.as_str().parse().ok(),
            key_spec: Some(k.spec),
            key_usage: Some(k.usage),
            encryption_algorithms: algs.encryption,
            signing_algorithms: algs.signing,
            key_agreement_algorithms: algs.agreement,
            encapsulation_algorithms: (k.usage == m::KeyUsageType::EncapsulateDecapsulate)
                .then(|| vec![m::EncapsulationAlgorithmSpec::MlKem]),
        })
    }

    fn checked_signing(
        &self,
        ctx: &RequestContext,
        raw: &str,
        alg: m::SigningAlgorithmSpec,
        tokens: Option<&[String]>,
        op: &str,
    ) -> R<(
        Arc<KeyRecord>,
        crate::symmetric::Material,
        keys::SigningAlgorithm,
    )> {
        let (k, mat) = self.private(ctx, raw, tokens)?;
        require_usage(&k, m::KeyUsageType::SignVerify, op)?;
        if !crate::algorithms::signing(k.spec).contains(&alg) {
            return Err(incompatible(alg.as_str(), &k));
        }
        Ok((k, mat, signing(alg)?))
    }

    pub(crate) fn sign(&self, ctx: &RequestContext, input: m::SignRequest) -> R<m::SignResponse> {
        let (k, mat, alg) = self.checked_signing(
            ctx,
            &input.key_id,
            input.signing_algorithm,
            input.grant_tokens.as_deref(),
            "Sign",
        )?;
        let sig = keys::sign(
            spec(k.spec)?,
            &mat,
            alg,
            message_type(input.message_type),
            input.message.as_bytes(),
        )
        .map_err(|e| key_error(e, input.signing_algorithm.as_str(), &k))?;
        dry_run(input.dry_run)?;
        Ok(m::SignResponse {
            key_id: Some(k.arn.clone()),
            signature: Some(Blob::new(sig)),
            signing_algorithm: Some(input.signing_algorithm),
        })
    }

    pub(crate) fn verify(
        &self,
        ctx: &RequestContext,
        input: m::VerifyRequest,
    ) -> R<m::VerifyResponse> {
        let (k, mat, alg) = self.checked_signing(
            ctx,
            &input.key_id,
            input.signing_algorithm,
            input.grant_tokens.as_deref(),
            "Verify",
        )?;
        let ok = keys::verify(
            spec(k.spec)?,
            &mat,
            alg,
            message_type(input.message_type),
            input.message.as_bytes(),
            input.signature.as_bytes(),
        )
        .map_err(|e| key_error(e, input.signing_algorithm.as_str(), &k))?;
        dry_run(input.dry_run)?;
        if !ok {
            return Err(m::kms_invalid_signature_exception(""));
        }
        Ok(m::VerifyResponse {
            key_id: Some(k.arn.clone()),
            signature_valid: Some(true),
            signing_algorithm: Some(input.signing_algorithm),
        })
    }

    /// RSA-OAEP encryption under an asymmetric ENCRYPT_DECRYPT key.
    pub(crate) fn rsa_encrypt(
        &self,
        k: &KeyRecord,
        alg: Option<m::EncryptionAlgorithmSpec>,
        plaintext: &[u8],
    ) -> R<Vec<u8>> {
        let name = alg.map_or("SYMMETRIC_DEFAULT", |a| a.as_str());
        require_usage(k, m::KeyUsageType::EncryptDecrypt, "Encrypt")?;
        let a = rsa_alg(alg).ok_or_else(|| incompatible(name, k))?;
        let kspec = spec(k.spec)?;
        if let Some(max) = keys::max_plaintext(kspec, a).filter(|max| plaintext.len() > *max) {
            return Err(AwsError::validation(format!(
                "Algorithm {name} and key spec {} cannot encrypt data larger than {max} bytes.",
                k.spec
            )));
        }
        let mat = self.unwrap_material(k, k.current()?)?;
        keys::encrypt(kspec, &mat, a, plaintext).map_err(|e| key_error(e, name, k))
    }

    pub(crate) fn rsa_decrypt(
        &self,
        k: &KeyRecord,
        alg: Option<m::EncryptionAlgorithmSpec>,
        ciphertext: &[u8],
    ) -> R<Zeroizing<Vec<u8>>> {
        let name = alg.map_or("SYMMETRIC_DEFAULT", |a| a.as_str());
        require_usage(k, m::KeyUsageType::EncryptDecrypt, "Decrypt")?;
        let a = rsa_alg(alg).ok_or_else(|| incompatible(name, k))?;
        let mat = self.unwrap_material(k, k.current()?)?;
        keys::decrypt(spec(k.spec)?, &mat, a, ciphertext).map_err(|e| key_error(e, name, k))
    }

    /// A data key pair: the private key (PKCS#8; ML-KEM in its 64-byte seed form) and its
    /// encryption under the symmetric key `raw`, and the public key (SubjectPublicKeyInfo).
    pub(crate) fn data_key_pair(
        &self,
        ctx: &RequestContext,
        raw: &str,
        pair: m::DataKeyPairSpec,
        context: Option<&BTreeMap<String, String>>,
        tokens: Option<&[String]>,
    ) -> R<DataKeyPair> {
        grants::check_tokens(tokens)?;
        let ks: m::KeySpec = pair
            .as_str()
            .parse()
            .map_err(|_| AwsError::validation(format!("Unsupported KeyPairSpec {pair}")))?;
        let kspec = spec(ks)?;
        // The key's state and type first: no key pair (RSA generation is slow) for a call
        // that fails anyway.
        let k = self.lookup(ctx, raw)?;
        k.require_usable()?;
        crate::symmetric::require_symmetric(&k, "GenerateDataKeyPair")?;
        let (private, public) = if matches!(
            ks,
            m::KeySpec::MlKem512 | m::KeySpec::MlKem768 | m::KeySpec::MlKem1024
        ) {
            // PKCS#8 with the seed, as AWS returns ML-KEM private keys.
            keys::ml_kem_data_key_pair(kspec).map_err(|_| internal("ML-KEM data key pair"))?
        } else {
            let private = generate(&self.keygen, ks)?;
            let public = keys::public_key_der(kspec, &private)
                .map_err(|_| internal("data key pair public key"))?;
            (private, public)
        };
        let empty = BTreeMap::new();
        let blob = self.encrypt_with(
            &k,
            context.unwrap_or(&empty),
            &private,
            "GenerateDataKeyPair",
        )?;
        Ok((private, blob, public, k))
    }

    pub(crate) fn shared_secret(
        &self,
        ctx: &RequestContext,
        input: m::DeriveSharedSecretRequest,
    ) -> R<m::DeriveSharedSecretResponse> {
        if input.recipient.is_some() {
            return Err(m::unsupported_operation_exception(
                "Recipient is not supported by Rampart yet.",
            ));
        }
        let (k, mat) = self.private(ctx, &input.key_id, input.grant_tokens.as_deref())?;
        require_usage(&k, m::KeyUsageType::KeyAgreement, "DeriveSharedSecret")?;
        let secret = keys::derive_shared_secret(spec(k.spec)?, &mat, input.public_key.as_bytes())
            .map_err(|e| key_error(e, "ECDH", &k))?;
        dry_run(input.dry_run)?;
        Ok(m::DeriveSharedSecretResponse {
            key_id: Some(k.arn.clone()),
            shared_secret: Some(Blob::new(secret.to_vec())),
            ciphertext_for_recipient: None,
            key_agreement_algorithm: Some(m::KeyAgreementAlgorithmSpec::Ecdh),
            key_origin: Some(m::OriginType::AwsKms),
        })
    }

    fn checked_mac(
        &self,
        ctx: &RequestContext,
        raw: &str,
        alg: m::MacAlgorithmSpec,
        tokens: Option<&[String]>,
        op: &str,
    ) -> R<(Arc<KeyRecord>, crate::symmetric::Material)> {
        let (k, mat) = self.private(ctx, raw, tokens)?;
        require_usage(&k, m::KeyUsageType::GenerateVerifyMac, op)?;
        if !crate::algorithms::mac(k.spec).contains(&alg) {
            return Err(incompatible(alg.as_str(), &k));
        }
        Ok((k, mat))
    }

    pub(crate) fn generate_mac(
        &self,
        ctx: &RequestContext,
        input: m::GenerateMacRequest,
    ) -> R<m::GenerateMacResponse> {
        let (k, mat) = self.checked_mac(
            ctx,
            &input.key_id,
            input.mac_algorithm,
            input.grant_tokens.as_deref(),
            "GenerateMac",
        )?;
        let tag = keys::mac(
            spec(k.spec)?,
            &mat,
            mac_alg(input.mac_algorithm),
            input.message.as_bytes(),
        )
        .map_err(|e| key_error(e, input.mac_algorithm.as_str(), &k))?;
        dry_run(input.dry_run)?;
        Ok(m::GenerateMacResponse {
            mac: Some(Blob::new(tag)),
            mac_algorithm: Some(input.mac_algorithm),
            key_id: Some(k.arn.clone()),
        })
    }

    pub(crate) fn verify_mac(
        &self,
        ctx: &RequestContext,
        input: m::VerifyMacRequest,
    ) -> R<m::VerifyMacResponse> {
        let (k, mat) = self.checked_mac(
            ctx,
            &input.key_id,
            input.mac_algorithm,
            input.grant_tokens.as_deref(),
            "VerifyMac",
        )?;
        let ok = keys::verify_mac(
            spec(k.spec)?,
            &mat,
            mac_alg(input.mac_algorithm),
            input.message.as_bytes(),
            input.mac.as_bytes(),
        )
        .map_err(|e| key_error(e, input.mac_algorithm.as_str(), &k))?;
        dry_run(input.dry_run)?;
        if !ok {
            return Err(m::kms_invalid_mac_exception(""));
        }
        Ok(m::VerifyMacResponse {
            key_id: Some(k.arn.clone()),
            mac_valid: Some(true),
            mac_algorithm: Some(input.mac_algorithm),
        })
    }

    pub(crate) fn encapsulate(
        &self,
        ctx: &RequestContext,
        input: m::EncapsulateRequest,
    ) -> R<m::EncapsulateResponse> {
        let (k, mat) = self.private(ctx, &input.key_id, input.grant_tokens.as_deref())?;
        require_usage(&k, m::KeyUsageType::EncapsulateDecapsulate, "Encapsulate")?;
        let kspec = spec(k.spec)?;
        let public = keys::public_key_der(kspec, &mat).map_err(|e| key_error(e, "ML_KEM", &k))?;
        let (ct, secret) =
            keys::encapsulate(kspec, &public).map_err(|e| key_error(e, "ML_KEM", &k))?;
        dry_run(input.dry_run)?;
        Ok(m::EncapsulateResponse {
            key_id: Some(k.arn.clone()),
            shared_secret: Some(Blob::new(secret.to_vec())),
            shared_secret_ciphertext_blob: Some(Blob::new(ct)),
            encapsulation_algorithm: Some(m::EncapsulationAlgorithmSpec::MlKem),
        })
    }

    pub(crate) fn decapsulate(
        &self,
        ctx: &RequestContext,
        input: m::DecapsulateRequest,
    ) -> R<m::DecapsulateResponse> {
        let (k, mat) = self.private(ctx, &input.key_id, input.grant_tokens.as_deref())?;
        require_usage(&k, m::KeyUsageType::EncapsulateDecapsulate, "Decapsulate")?;
        let secret = keys::decapsulate(
            spec(k.spec)?,
            &mat,
            input.shared_secret_ciphertext_blob.as_bytes(),
        )
        .map_err(|e| key_error(e, "ML_KEM", &k))?;
        dry_run(input.dry_run)?;
        Ok(m::DecapsulateResponse {
            key_id: Some(k.arn.clone()),
            shared_secret: Some(Blob::new(secret.to_vec())),
            encapsulation_algorithm: Some(m::EncapsulationAlgorithmSpec::MlKem),
        })
    }
}
