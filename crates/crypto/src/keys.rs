//! KMS key material over raw bytes: generation, public keys, signing, RSA-OAEP, ECDH, HMAC
//! and ML-KEM, with the algorithm rules of AWS KMS per key spec.
//!
//! Private keys are stored as: PKCS#8 v1 DER (RSA, ECC, Ed25519); the 32-byte FIPS 204 seed
//! (ML-DSA); the expanded decapsulation key (ML-KEM); random bytes of the digest length (HMAC).
//! Public keys are X.509 SubjectPublicKeyInfo DER, as `GetPublicKey` returns. aws-lc-rs has no
//! SPKI encoding for ML-KEM, so this module writes it (RFC 9935: the algorithm OID with absent
//! parameters, then the raw encapsulation key).
//!
//! Ed25519ph (`ED25519_PH_SHA_512`) and ML-DSA with an external mu (`EXTERNAL_MU`) are not in
//! aws-lc-rs's safe API: they go to aws-lc itself through `rampart-lc-ext`.
use aws_lc_rs::agreement;
use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::kem;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    KeySize, OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{self as sig, KeyPair as _};
use zeroize::Zeroizing;

/// A KMS key spec (`KeySpec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySpec {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EccNistP256,
    EccNistP384,
    EccNistP521,
    EccSecgP256k1,
    EccNistEdwards25519,
    MlDsa44,
    MlDsa65,
    MlDsa87,
    MlKem512,
    MlKem768,
    MlKem1024,
    Hmac224,
    Hmac256,
    Hmac384,
    Hmac512,
}

impl KeySpec {
    /// Every asymmetric and HMAC key spec.
    pub const ALL: [KeySpec; 18] = [
        KeySpec::Rsa2048,
        KeySpec::Rsa3072,
        KeySpec::Rsa4096,
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
        KeySpec::EccSecgP256k1,
        KeySpec::EccNistEdwards25519,
        KeySpec::MlDsa44,
        KeySpec::MlDsa65,
        KeySpec::MlDsa87,
        KeySpec::MlKem512,
        KeySpec::MlKem768,
        KeySpec::MlKem1024,
        KeySpec::Hmac224,
        KeySpec::Hmac256,
        KeySpec::Hmac384,
        KeySpec::Hmac512,
    ];
}

/// A KMS signing algorithm (`SigningAlgorithmSpec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    RsassaPssSha256,
    RsassaPssSha384,
    RsassaPssSha512,
    RsassaPkcs1V15Sha256,
    RsassaPkcs1V15Sha384,
    RsassaPkcs1V15Sha512,
    EcdsaSha256,
    EcdsaSha384,
    EcdsaSha512,
    MlDsaShake256,
    Ed25519Sha512,
    Ed25519PhSha512,
}

impl SigningAlgorithm {
    /// The AWS name, e.g. `ECDSA_SHA_256`.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::RsassaPssSha256 => "RSASSA_PSS_SHA_256",
            SigningAlgorithm::RsassaPssSha384 => "RSASSA_PSS_SHA_384",
            SigningAlgorithm::RsassaPssSha512 => "RSASSA_PSS_SHA_512",
            SigningAlgorithm::RsassaPkcs1V15Sha256 => "RSASSA_PKCS1_V1_5_SHA_256",
            SigningAlgorithm::RsassaPkcs1V15Sha384 => "RSASSA_PKCS1_V1_5_SHA_384",
            SigningAlgorithm::RsassaPkcs1V15Sha512 => "RSASSA_PKCS1_V1_5_SHA_512",
            SigningAlgorithm::EcdsaSha256 => "ECDSA_SHA_256",
            SigningAlgorithm::EcdsaSha384 => "ECDSA_SHA_384",
            SigningAlgorithm::EcdsaSha512 => "ECDSA_SHA_512",
            SigningAlgorithm::MlDsaShake256 => "ML_DSA_SHAKE_256",
            SigningAlgorithm::Ed25519Sha512 => "ED25519_SHA_512",
            SigningAlgorithm::Ed25519PhSha512 => "ED25519_PH_SHA_512",
        }
    }

    /// The hash a `DIGEST` message must be, for the algorithms that take one.
    fn hash(self) -> Option<&'static digest::Algorithm> {
        match self {
            SigningAlgorithm::RsassaPssSha256
            | SigningAlgorithm::RsassaPkcs1V15Sha256
            | SigningAlgorithm::EcdsaSha256 => Some(&digest::SHA256),
            SigningAlgorithm::RsassaPssSha384
            | SigningAlgorithm::RsassaPkcs1V15Sha384
            | SigningAlgorithm::EcdsaSha384 => Some(&digest::SHA384),
            SigningAlgorithm::RsassaPssSha512
            | SigningAlgorithm::RsassaPkcs1V15Sha512
            | SigningAlgorithm::EcdsaSha512
            | SigningAlgorithm::Ed25519PhSha512 => Some(&digest::SHA512),
            SigningAlgorithm::MlDsaShake256 | SigningAlgorithm::Ed25519Sha512 => None,
        }
    }
}

/// How `Sign`/`Verify` interpret the message (`MessageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    Raw,
    Digest,
    ExternalMu,
}

impl MessageType {
    /// The AWS name, e.g. `DIGEST`.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Raw => "RAW",
            MessageType::Digest => "DIGEST",
            MessageType::ExternalMu => "EXTERNAL_MU",
        }
    }
}

/// A KMS asymmetric encryption algorithm (`EncryptionAlgorithmSpec`, RSA only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncryptionAlgorithm {
    RsaesOaepSha1,
    RsaesOaepSha256,
}

/// A KMS MAC algorithm (`MacAlgorithmSpec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    HmacSha224,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

/// Failures of key operations; messages never carry key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the algorithm is not valid for this key spec")]
    UnsupportedAlgorithm,
    #[error("{0}")]
    InvalidMessage(String),
    #[error("the ciphertext is invalid for this key")]
    InvalidCiphertext,
    #[error("the public key is invalid")]
    InvalidPublicKey,
    #[error("internal cryptographic failure")]
    Internal,
}

/// What a key spec is, for the operations below.
enum Family {
    Rsa(KeySize),
    /// ECDSA (ASN.1 signatures) and the one algorithm KMS allows on the curve.
    Ec(&'static sig::EcdsaSigningAlgorithm, SigningAlgorithm),
    Ed25519,
    MlDsa(
        &'static sig::PqdsaSigningAlgorithm,
        &'static sig::PqdsaVerificationAlgorithm,
    ),
    /// Algorithm, last arc of its OID, encapsulation key length.
    MlKem(&'static kem::Algorithm, u8, usize),
    Hmac(MacAlgorithm),
}

fn family(spec: KeySpec) -> Family {
    use SigningAlgorithm::{EcdsaSha256, EcdsaSha384, EcdsaSha512};
    match spec {
        KeySpec::Rsa2048 => Family::Rsa(KeySize::Rsa2048),
        KeySpec::Rsa3072 => Family::Rsa(KeySize::Rsa3072),
        KeySpec::Rsa4096 => Family::Rsa(KeySize::Rsa4096),
        KeySpec::EccNistP256 => Family::Ec(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaSha256),
        KeySpec::EccNistP384 => Family::Ec(&sig::ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaSha384),
        KeySpec::EccNistP521 => Family::Ec(&sig::ECDSA_P521_SHA512_ASN1_SIGNING, EcdsaSha512),
        KeySpec::EccSecgP256k1 => Family::Ec(&sig::ECDSA_P256K1_SHA256_ASN1_SIGNING, EcdsaSha256),
        KeySpec::EccNistEdwards25519 => Family::Ed25519,
        KeySpec::MlDsa44 => Family::MlDsa(&sig::ML_DSA_44_SIGNING, &sig::ML_DSA_44),
        KeySpec::MlDsa65 => Family::MlDsa(&sig::ML_DSA_65_SIGNING, &sig::ML_DSA_65),
        KeySpec::MlDsa87 => Family::MlDsa(&sig::ML_DSA_87_SIGNING, &sig::ML_DSA_87),
        KeySpec::MlKem512 => Family::MlKem(&kem::ML_KEM_512, 1, 800),
        KeySpec::MlKem768 => Family::MlKem(&kem::ML_KEM_768, 2, 1184),
        KeySpec::MlKem1024 => Family::MlKem(&kem::ML_KEM_1024, 3, 1568),
        KeySpec::Hmac224 => Family::Hmac(MacAlgorithm::HmacSha224),
        KeySpec::Hmac256 => Family::Hmac(MacAlgorithm::HmacSha256),
        KeySpec::Hmac384 => Family::Hmac(MacAlgorithm::HmacSha384),
        KeySpec::Hmac512 => Family::Hmac(MacAlgorithm::HmacSha512),
    }
}

fn hmac_algorithm(alg: MacAlgorithm) -> hmac::Algorithm {
    match alg {
        MacAlgorithm::HmacSha224 => hmac::HMAC_SHA224,
        MacAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
        MacAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
        MacAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
    }
}

fn rsa_algorithms(
    alg: SigningAlgorithm,
) -> Option<(
    &'static sig::RsaSignatureEncoding,
    &'static sig::RsaParameters,
)> {
    Some(match alg {
        SigningAlgorithm::RsassaPssSha256 => (&sig::RSA_PSS_SHA256, &sig::RSA_PSS_2048_8192_SHA256),
        SigningAlgorithm::RsassaPssSha384 => (&sig::RSA_PSS_SHA384, &sig::RSA_PSS_2048_8192_SHA384),
        SigningAlgorithm::RsassaPssSha512 => (&sig::RSA_PSS_SHA512, &sig::RSA_PSS_2048_8192_SHA512),
        SigningAlgorithm::RsassaPkcs1V15Sha256 => {
            (&sig::RSA_PKCS1_SHA256, &sig::RSA_PKCS1_2048_8192_SHA256)
        }
        SigningAlgorithm::RsassaPkcs1V15Sha384 => {
            (&sig::RSA_PKCS1_SHA384, &sig::RSA_PKCS1_2048_8192_SHA384)
        }
        SigningAlgorithm::RsassaPkcs1V15Sha512 => {
            (&sig::RSA_PKCS1_SHA512, &sig::RSA_PKCS1_2048_8192_SHA512)
        }
        _ => return None,
    })
}

fn oaep_algorithm(alg: EncryptionAlgorithm) -> (&'static OaepAlgorithm, usize) {
    match alg {
        EncryptionAlgorithm::RsaesOaepSha1 => (&OAEP_SHA1_MGF1SHA1, 20),
        EncryptionAlgorithm::RsaesOaepSha256 => (&OAEP_SHA256_MGF1SHA256, 32),
    }
}

fn random(len: usize) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    SystemRandom::new().fill(&mut out).map_err(internal)?;
    Ok(out)
}

fn secret(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(bytes.to_vec())
}

fn internal<E>(_: E) -> KeyError {
    KeyError::Internal
}

/// Generates a private key of `spec`, in the stored form described in the module docs.
pub fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    match family(spec) {
        Family::Rsa(size) => {
            let key = aws_lc_rs::rsa::KeyPair::generate(size).map_err(internal)?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der = key.as_der().map_err(internal)?;
            Ok(secret(der.as_ref()))
        }
        Family::Ec(curve, _) => {
            let key = sig::EcdsaKeyPair::generate(curve).map_err(internal)?;
            Ok(secret(key.to_pkcs8v1().map_err(internal)?.as_ref()))
        }
        Family::Ed25519 => {
            let key = sig::Ed25519KeyPair::generate().map_err(internal)?;
            Ok(secret(key.to_pkcs8v1().map_err(internal)?.as_ref()))
        }
        Family::MlDsa(alg, _) => random(alg.seed_len()),
        Family::MlKem(alg, ..) => {
            let key = kem::DecapsulationKey::generate(alg).map_err(internal)?;
            Ok(secret(key.key_bytes().map_err(internal)?.as_ref()))
        }
        Family::Hmac(alg) => random(hmac_algorithm(alg).digest_algorithm().output_len()),
    }
}

/// Imported asymmetric key material (a PKCS#8 DER private key, v1 or v2) checked against
/// `spec` (RSA modulus size, curve) and re-encoded in the stored form (PKCS#8 v1), so the same
/// key always gives the same bytes. ML-DSA, ML-KEM and HMAC keys are not PKCS#8 here.
pub fn import_private(spec: KeySpec, der: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    fn bad<E>(_: E) -> KeyError {
        KeyError::InvalidMessage("not a PKCS#8 private key of this key spec".to_string())
    }
    match family(spec) {
        Family::Rsa(size) => {
            let key = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(bad)?;
            if key.public_modulus_len() != size.len() {
                return Err(bad(()));
            }
            let out: aws_lc_rs::encoding::Pkcs8V1Der = key.as_der().map_err(internal)?;
            Ok(secret(out.as_ref()))
        }
        Family::Ec(curve, _) => {
            let key = sig::EcdsaKeyPair::from_pkcs8(curve, der).map_err(bad)?;
            Ok(secret(key.to_pkcs8v1().map_err(internal)?.as_ref()))
        }
        Family::Ed25519 => {
            let key = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?;
            Ok(secret(key.to_pkcs8v1().map_err(internal)?.as_ref()))
        }
        _ => Err(KeyError::UnsupportedAlgorithm),
    }
}

/// An ML-KEM data key pair as `GenerateDataKeyPair` returns it (as AWS does): the private key
/// as PKCS#8 DER holding only the 64-byte seed (RFC 9935's `seed [0]` form) and the public
/// key's SubjectPublicKeyInfo DER.
pub fn ml_kem_data_key_pair(spec: KeySpec) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), KeyError> {
    let (set, arc) = match spec {
        KeySpec::MlKem512 => (rampart_lc_ext::MlKem::MlKem512, 1),
        KeySpec::MlKem768 => (rampart_lc_ext::MlKem::MlKem768, 2),
        KeySpec::MlKem1024 => (rampart_lc_ext::MlKem::MlKem1024, 3),
        _ => return Err(KeyError::UnsupportedAlgorithm),
    };
    let mut seed = Zeroizing::new([0u8; 64]);
    SystemRandom::new().fill(&mut *seed).map_err(internal)?;
    let (_, ek) = rampart_lc_ext::ml_kem_from_seed(set, &seed).ok_or(KeyError::Internal)?;
    // PrivateKeyInfo { version 0, AlgorithmIdentifier { id-alg-ml-kem-* }, OCTET STRING {
    // [0] IMPLICIT OCTET STRING (64 bytes) } }.
    let oid = [6, 9, 0x60, 0x86, 0x48, 1, 0x65, 3, 4, 4, arc];
    let mut body = Zeroizing::new(vec![2, 1, 0]);
    body.extend(der_header(0x30, oid.len()));
    body.extend_from_slice(&oid);
    body.extend(der_header(0x04, 2 + seed.len()));
    body.extend(der_header(0x80, seed.len()));
    body.extend_from_slice(&*seed);
    let mut der = Zeroizing::new(der_header(0x30, body.len()));
    der.extend_from_slice(&body);
    Ok((der, ml_kem_spki(arc, &ek)))
}

/// The X.509 SubjectPublicKeyInfo DER of the key (`GetPublicKey`); HMAC keys have none.
pub fn public_key_der(spec: KeySpec, private: &[u8]) -> Result<Vec<u8>, KeyError> {
    let der: aws_lc_rs::encoding::PublicKeyX509Der = match family(spec) {
        Family::Rsa(_) => rsa_key(private)?.public_key().as_der(),
        Family::Ec(curve, _) => ec_key(curve, private)?.public_key().as_der(),
        Family::Ed25519 => ed25519_key(private)?.public_key().as_der(),
        Family::MlDsa(alg, _) => ml_dsa_key(alg, private)?.public_key().as_der(),
        Family::MlKem(alg, arc, key_len) => {
            let raw = ml_kem_public(private, key_len)?;
            kem::EncapsulationKey::new(alg, raw).map_err(internal)?;
            return Ok(ml_kem_spki(arc, raw));
        }
        Family::Hmac(_) => return Err(KeyError::UnsupportedAlgorithm),
    }
    .map_err(internal)?;
    Ok(der.as_ref().to_vec())
}

fn rsa_key(private: &[u8]) -> Result<aws_lc_rs::rsa::KeyPair, KeyError> {
    aws_lc_rs::rsa::KeyPair::from_pkcs8(private).map_err(internal)
}

fn ec_key(
    curve: &'static sig::EcdsaSigningAlgorithm,
    private: &[u8],
) -> Result<sig::EcdsaKeyPair, KeyError> {
    sig::EcdsaKeyPair::from_pkcs8(curve, private).map_err(internal)
}

fn ed25519_key(private: &[u8]) -> Result<sig::Ed25519KeyPair, KeyError> {
    sig::Ed25519KeyPair::from_pkcs8(private).map_err(internal)
}

/// The 32-byte seed and public key of a PKCS#8 Ed25519 key (for Ed25519ph).
fn ed25519_parts(private: &[u8]) -> Result<(Zeroizing<[u8; 32]>, [u8; 32]), KeyError> {
    use aws_lc_rs::encoding::AsBigEndian as _;
    let pair = ed25519_key(private)?;
    let seed = pair.seed().map_err(internal)?;
    let seed = seed.as_be_bytes().map_err(internal)?;
    let seed = <[u8; 32]>::try_from(seed.as_ref()).map_err(internal)?;
    let public = <[u8; 32]>::try_from(pair.public_key().as_ref()).map_err(internal)?;
    Ok((Zeroizing::new(seed), public))
}

fn digest64(d: &Digest) -> Result<&[u8; 64], KeyError> {
    <&[u8; 64]>::try_from(d.as_ref()).map_err(internal)
}

/// An ML-DSA key's stored seed.
fn seed32(private: &[u8]) -> Result<&[u8; 32], KeyError> {
    <&[u8; 32]>::try_from(private).map_err(internal)
}

fn ml_dsa_set(spec: KeySpec) -> Result<rampart_lc_ext::MlDsa, KeyError> {
    match spec {
        KeySpec::MlDsa44 => Ok(rampart_lc_ext::MlDsa::MlDsa44),
        KeySpec::MlDsa65 => Ok(rampart_lc_ext::MlDsa::MlDsa65),
        KeySpec::MlDsa87 => Ok(rampart_lc_ext::MlDsa::MlDsa87),
        _ => Err(KeyError::UnsupportedAlgorithm),
    }
}

fn ml_dsa_key(
    alg: &'static sig::PqdsaSigningAlgorithm,
    private: &[u8],
) -> Result<sig::PqdsaKeyPair, KeyError> {
    sig::PqdsaKeyPair::from_seed(alg, private).map_err(internal)
}

fn ml_kem_key(
    alg: &'static kem::Algorithm,
    private: &[u8],
) -> Result<kem::DecapsulationKey, KeyError> {
    kem::DecapsulationKey::new(alg, private).map_err(internal)
}

/// The encapsulation key inside a FIPS 203 decapsulation key, dk = dk_pke ‖ ek ‖ H(ek) ‖ z
/// with |dk_pke| = |ek| - 32 and |z| = 32 (aws-lc-rs cannot derive it from a reloaded key).
fn ml_kem_public(private: &[u8], key_len: usize) -> Result<&[u8], KeyError> {
    let (ek, rest) = private
        .get(key_len - 32..)
        .and_then(|tail| tail.split_at_checked(key_len))
        .filter(|_| private.len() == 2 * key_len + 32)
        .ok_or(KeyError::Internal)?;
    if rest.get(..32) != Some(digest::digest(&digest::SHA3_256, ek).as_ref()) {
        return Err(KeyError::Internal);
    }
    Ok(ek)
}

/// DER header (tag, length) for contents of `len` bytes; KMS objects stay below 64 KiB.
fn der_header(tag: u8, len: usize) -> Vec<u8> {
    match u8::try_from(len) {
        Ok(l) if l < 0x80 => vec![tag, l],
        Ok(l) => vec![tag, 0x81, l],
        Err(_) => {
            let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
            vec![tag, 0x82, hi, lo]
        }
    }
}

/// SubjectPublicKeyInfo of an ML-KEM encapsulation key: SEQUENCE { SEQUENCE { OID
/// id-alg-ml-kem-* = 2.16.840.1.101.3.4.4.`arc` }, BIT STRING }.
fn ml_kem_spki(arc: u8, raw: &[u8]) -> Vec<u8> {
    let oid = [6, 9, 0x60, 0x86, 0x48, 1, 0x65, 3, 4, 4, arc];
    let mut body = der_header(0x30, oid.len());
    body.extend_from_slice(&oid);
    body.extend(der_header(0x03, raw.len() + 1));
    body.push(0);
    body.extend_from_slice(raw);
    let mut out = der_header(0x30, body.len());
    out.extend(body);
    out
}

/// The signing algorithms KMS lists for `spec` (empty when it cannot sign).
pub fn signing_algorithms(spec: KeySpec) -> Vec<SigningAlgorithm> {
    use SigningAlgorithm::*;
    match family(spec) {
        Family::Rsa(_) => vec![
            RsassaPssSha256,
            RsassaPssSha384,
            RsassaPssSha512,
            RsassaPkcs1V15Sha256,
            RsassaPkcs1V15Sha384,
            RsassaPkcs1V15Sha512,
        ],
        Family::Ec(_, alg) => vec![alg],
        Family::Ed25519 => vec![Ed25519Sha512, Ed25519PhSha512],
        Family::MlDsa(..) => vec![MlDsaShake256],
        Family::MlKem(..) | Family::Hmac(_) => Vec::new(),
    }
}

/// The encryption algorithms KMS lists for `spec` (RSA only).
pub fn encryption_algorithms(spec: KeySpec) -> Vec<EncryptionAlgorithm> {
    match family(spec) {
        Family::Rsa(_) => vec![
            EncryptionAlgorithm::RsaesOaepSha1,
            EncryptionAlgorithm::RsaesOaepSha256,
        ],
        _ => Vec::new(),
    }
}

/// The MAC algorithms KMS lists for `spec` (HMAC specs only).
pub fn mac_algorithms(spec: KeySpec) -> Vec<MacAlgorithm> {
    match family(spec) {
        Family::Hmac(alg) => vec![alg],
        _ => Vec::new(),
    }
}

/// The signing input after the message type is applied.
enum Input<'a> {
    Message(&'a [u8]),
    Digest(Digest),
    /// FIPS 204's mu, 64 bytes (ML-DSA `EXTERNAL_MU`).
    Mu(&'a [u8; 64]),
}

/// Checks `alg` against `spec` and `msg_type` against `alg`, hashing `RAW` messages for the
/// hash-then-sign algorithms so every RSA/ECDSA operation takes a digest.
fn input<'a>(
    spec: KeySpec,
    alg: SigningAlgorithm,
    msg_type: MessageType,
    message: &'a [u8],
) -> Result<Input<'a>, KeyError> {
    if !signing_algorithms(spec).contains(&alg) {
        return Err(KeyError::UnsupportedAlgorithm);
    }
    match (alg, msg_type, alg.hash()) {
        (SigningAlgorithm::MlDsaShake256, MessageType::ExternalMu, _) => {
            <&[u8; 64]>::try_from(message).map(Input::Mu).map_err(|_| {
                KeyError::InvalidMessage(
                    "Message of type EXTERNAL_MU must be the 64-byte mu of FIPS 204.".to_string(),
                )
            })
        }
        (_, MessageType::Raw, None) => Ok(Input::Message(message)),
        (_, MessageType::Raw, Some(hash)) => Ok(Input::Digest(digest::digest(hash, message))),
        (_, MessageType::Digest, Some(hash)) => Digest::import_less_safe(message, hash)
            .map(Input::Digest)
            .map_err(|_| {
                KeyError::InvalidMessage(format!(
                    "Digest is invalid length for algorithm {}.",
                    alg.name()
                ))
            }),
        (_, MessageType::Digest | MessageType::ExternalMu, _) => {
            Err(KeyError::InvalidMessage(format!(
                "Message type {} is not valid for algorithm {}.",
                msg_type.name(),
                alg.name()
            )))
        }
    }
}

/// Signs `message` (`Sign`): DER ECDSA, PSS with salt = hash length, pure Ed25519/ML-DSA.
pub fn sign(
    spec: KeySpec,
    private: &[u8],
    alg: SigningAlgorithm,
    msg_type: MessageType,
    message: &[u8],
) -> Result<Vec<u8>, KeyError> {
    let input = input(spec, alg, msg_type, message)?;
    match (family(spec), input, rsa_algorithms(alg)) {
        (Family::Rsa(_), Input::Digest(d), Some((encoding, _))) => {
            let key = rsa_key(private)?;
            let mut out = vec![0u8; key.public_modulus_len()];
            key.sign_digest(encoding, &d, &mut out).map_err(internal)?;
            Ok(out)
        }
        (Family::Ec(curve, _), Input::Digest(d), _) => {
            let signature = ec_key(curve, private)?.sign_digest(&d).map_err(internal)?;
            Ok(signature.as_ref().to_vec())
        }
        (Family::Ed25519, Input::Message(m), _) => {
            Ok(ed25519_key(private)?.sign(m).as_ref().to_vec())
        }
        (Family::Ed25519, Input::Digest(d), _) => {
            let (seed, public) = ed25519_parts(private)?;
            rampart_lc_ext::ed25519ph_sign(&seed, &public, digest64(&d)?)
                .map(|s| s.to_vec())
                .ok_or(KeyError::Internal)
        }
        (Family::MlDsa(..), Input::Mu(mu), _) => {
            rampart_lc_ext::ml_dsa_sign_mu(ml_dsa_set(spec)?, seed32(private)?, mu)
                .ok_or(KeyError::Internal)
        }
        (Family::MlDsa(a, _), Input::Message(m), _) => {
            let mut out = vec![0u8; a.signature_len()];
            let n = ml_dsa_key(a, private)?
                .sign(m, &mut out)
                .map_err(internal)?;
            out.truncate(n);
            Ok(out)
        }
        _ => Err(KeyError::UnsupportedAlgorithm),
    }
}

/// Verifies `signature` (`Verify`) against the key's public half: `Ok(false)` when it does
/// not verify, `Err` only for misuse.
pub fn verify(
    spec: KeySpec,
    private: &[u8],
    alg: SigningAlgorithm,
    msg_type: MessageType,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, KeyError> {
    let input = input(spec, alg, msg_type, message)?;
    match (family(spec), &input) {
        (Family::Ed25519, Input::Digest(d)) => {
            let (_, public) = ed25519_parts(private)?;
            return Ok(rampart_lc_ext::ed25519ph_verify(
                &public,
                digest64(d)?,
                signature,
            ));
        }
        (Family::MlDsa(..), Input::Mu(mu)) => {
            return Ok(rampart_lc_ext::ml_dsa_verify_mu(
                ml_dsa_set(spec)?,
                seed32(private)?,
                mu,
                signature,
            ));
        }
        _ => {}
    }
    let verifier: &'static dyn sig::VerificationAlgorithm =
        match (family(spec), rsa_algorithms(alg)) {
            (Family::Rsa(_), Some((_, params))) => params,
            (Family::Ec(curve, _), _) => &**curve,
            (Family::Ed25519, _) => &sig::ED25519,
            (Family::MlDsa(_, v), _) => v,
            _ => return Err(KeyError::UnsupportedAlgorithm),
        };
    let public = sig::UnparsedPublicKey::new(verifier, public_key_der(spec, private)?);
    Ok(match input {
        Input::Message(m) => public.verify(m, signature),
        Input::Digest(d) => public.verify_digest(&d, signature),
        Input::Mu(_) => return Err(KeyError::UnsupportedAlgorithm),
    }
    .is_ok())
}

/// The largest plaintext KMS accepts for RSA-OAEP with `alg` (`None`: not an RSA key).
pub fn max_plaintext(spec: KeySpec, alg: EncryptionAlgorithm) -> Option<usize> {
    match family(spec) {
        Family::Rsa(size) => Some(size.len() - 2 * oaep_algorithm(alg).1 - 2),
        _ => None,
    }
}

/// RSA-OAEP encryption under the key's public half (`Encrypt` with an asymmetric key).
pub fn encrypt(
    spec: KeySpec,
    private: &[u8],
    alg: EncryptionAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>, KeyError> {
    let max = max_plaintext(spec, alg).ok_or(KeyError::UnsupportedAlgorithm)?;
    if plaintext.len() > max {
        return Err(KeyError::InvalidMessage(format!(
            "Plaintext is too long: at most {max} bytes for this key spec and algorithm."
        )));
    }
    let public = PrivateDecryptingKey::from_pkcs8(private)
        .map_err(internal)?
        .public_key();
    let key = OaepPublicEncryptingKey::new(public).map_err(internal)?;
    let mut out = vec![0u8; key.ciphertext_size()];
    let n = key
        .encrypt(oaep_algorithm(alg).0, plaintext, &mut out, None)
        .map_err(internal)?
        .len();
    out.truncate(n);
    Ok(out)
}

/// RSA-OAEP decryption (`Decrypt` with an asymmetric key).
pub fn decrypt(
    spec: KeySpec,
    private: &[u8],
    alg: EncryptionAlgorithm,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    max_plaintext(spec, alg).ok_or(KeyError::UnsupportedAlgorithm)?;
    let key = PrivateDecryptingKey::from_pkcs8(private).map_err(internal)?;
    let key = OaepPrivateDecryptingKey::new(key).map_err(internal)?;
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let plaintext = key
        .decrypt(oaep_algorithm(alg).0, ciphertext, &mut out, None)
        .map_err(|_| KeyError::InvalidCiphertext)?;
    Ok(secret(plaintext))
}

/// ECDH (`DeriveSharedSecret`): the raw shared x-coordinate with the peer's SPKI DER key.
pub fn derive_shared_secret(
    spec: KeySpec,
    private: &[u8],
    peer_public_spki_der: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let alg = match spec {
        KeySpec::EccNistP256 => &agreement::ECDH_P256,
        KeySpec::EccNistP384 => &agreement::ECDH_P384,
        KeySpec::EccNistP521 => &agreement::ECDH_P521,
        _ => return Err(KeyError::UnsupportedAlgorithm),
    };
    let key = agreement::PrivateKey::from_private_key_der(alg, private).map_err(internal)?;
    let peer = agreement::UnparsedPublicKey::new(alg, peer_public_spki_der);
    agreement::agree(&key, peer, KeyError::InvalidPublicKey, |s| Ok(secret(s)))
}

fn hmac_key(spec: KeySpec, key: &[u8], alg: MacAlgorithm) -> Result<hmac::Key, KeyError> {
    match family(spec) {
        Family::Hmac(a) if a == alg => Ok(hmac::Key::new(hmac_algorithm(alg), key)),
        _ => Err(KeyError::UnsupportedAlgorithm),
    }
}

/// HMAC tag of `message` (`GenerateMac`).
pub fn mac(
    spec: KeySpec,
    key: &[u8],
    alg: MacAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, KeyError> {
    Ok(hmac::sign(&hmac_key(spec, key, alg)?, message)
        .as_ref()
        .to_vec())
}

/// Constant-time check of an HMAC tag (`VerifyMac`).
pub fn verify_mac(
    spec: KeySpec,
    key: &[u8],
    alg: MacAlgorithm,
    message: &[u8],
    tag: &[u8],
) -> Result<bool, KeyError> {
    Ok(hmac::verify(&hmac_key(spec, key, alg)?, message, tag).is_ok())
}

/// ML-KEM encapsulation to `public` (the SPKI DER from [`public_key_der`], or the raw
/// encapsulation key): returns (ciphertext, shared secret).
pub fn encapsulate(
    spec: KeySpec,
    public: &[u8],
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), KeyError> {
    let Family::MlKem(alg, arc, key_len) = family(spec) else {
        return Err(KeyError::UnsupportedAlgorithm);
    };
    let (header, raw) = public.split_at(public.len().saturating_sub(key_len));
    if !header.is_empty() && ml_kem_spki(arc, raw) != public {
        return Err(KeyError::InvalidPublicKey);
    }
    let key = kem::EncapsulationKey::new(alg, raw).map_err(|_| KeyError::InvalidPublicKey)?;
    let (ciphertext, shared) = key.encapsulate().map_err(internal)?;
    Ok((ciphertext.as_ref().to_vec(), secret(shared.as_ref())))
}

/// ML-KEM decapsulation of `ciphertext` with the stored decapsulation key.
pub fn decapsulate(
    spec: KeySpec,
    private: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let Family::MlKem(alg, ..) = family(spec) else {
        return Err(KeyError::UnsupportedAlgorithm);
    };
    let shared = ml_kem_key(alg, private)?
        .decapsulate(ciphertext.into())
        .map_err(|_| KeyError::InvalidCiphertext)?;
    Ok(secret(shared.as_ref()))
}

#[cfg(test)]
#[path = "tests/keys.rs"]
mod tests;
