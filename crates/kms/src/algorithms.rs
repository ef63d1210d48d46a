//! Which key usages each key spec allows, and the algorithms `DescribeKey` lists for a
//! (spec, usage) pair, as AWS documents them.
use crate::R;
use m::KeySpec as S;
use m::KeyUsageType as U;
use rampart_core::AwsError;
use rampart_model::kms as m;

/// The algorithm lists of a key's metadata (`None` where AWS leaves the member out).
#[derive(Default)]
pub(crate) struct Algorithms {
    pub encryption: Option<Vec<m::EncryptionAlgorithmSpec>>,
    pub signing: Option<Vec<m::SigningAlgorithmSpec>>,
    pub agreement: Option<Vec<m::KeyAgreementAlgorithmSpec>>,
    pub mac: Option<Vec<m::MacAlgorithmSpec>>,
}

fn is_rsa(s: S) -> bool {
    matches!(s, S::Rsa2048 | S::Rsa3072 | S::Rsa4096)
}

fn is_nist_ecc(s: S) -> bool {
    matches!(s, S::EccNistP256 | S::EccNistP384 | S::EccNistP521)
}

pub(crate) fn is_hmac(s: S) -> bool {
    matches!(s, S::Hmac224 | S::Hmac256 | S::Hmac384 | S::Hmac512)
}

/// The type of key a spec makes, as UpdateAlias compares them: 0 symmetric encryption,
/// 1 HMAC, 2 asymmetric.
pub(crate) fn key_class(s: S) -> u8 {
    match s {
        S::SymmetricDefault => 0,
        _ if is_hmac(s) => 1,
        _ => 2,
    }
}

/// The usages a spec may have; the first is the default where AWS has one.
pub(crate) fn usages(s: S) -> &'static [U] {
    match s {
        S::SymmetricDefault => &[U::EncryptDecrypt],
        _ if is_rsa(s) => &[U::EncryptDecrypt, U::SignVerify],
        _ if is_nist_ecc(s) => &[U::SignVerify, U::KeyAgreement],
        S::EccSecgP256k1 | S::EccNistEdwards25519 | S::MlDsa44 | S::MlDsa65 | S::MlDsa87 => {
            &[U::SignVerify]
        }
        S::MlKem512 | S::MlKem768 | S::MlKem1024 => &[U::EncapsulateDecapsulate],
        _ if is_hmac(s) => &[U::GenerateVerifyMac],
        _ => &[],
    }
}

/// The usage a new key gets: the one asked for if the spec allows it. `KeyUsage` is optional
/// only for symmetric encryption keys (AWS's CreateKey: "This parameter is optional when you
/// are creating a symmetric encryption KMS key; otherwise, it is required"), HMAC and
/// single-usage specs included.
pub(crate) fn usage_for(spec: S, asked: Option<U>) -> R<U> {
    let allowed = usages(spec);
    match asked {
        Some(u) if allowed.contains(&u) => Ok(u),
        Some(u) => Err(AwsError::validation(format!(
            "KeyUsage {u} is not compatible with KeySpec {spec}"
        ))),
        None if spec == S::SymmetricDefault => Ok(U::EncryptDecrypt),
        None => Err(AwsError::validation(format!(
            "You must specify a KeyUsage value for a KMS key with KeySpec {spec}."
        ))),
    }
}

pub(crate) fn signing(s: S) -> Vec<m::SigningAlgorithmSpec> {
    use m::SigningAlgorithmSpec as A;
    match s {
        _ if is_rsa(s) => vec![
            A::RsassaPssSha256,
            A::RsassaPssSha384,
            A::RsassaPssSha512,
            A::RsassaPkcs1V15Sha256,
            A::RsassaPkcs1V15Sha384,
            A::RsassaPkcs1V15Sha512,
        ],
        S::EccNistP256 | S::EccSecgP256k1 => vec![A::EcdsaSha256],
        S::EccNistP384 => vec![A::EcdsaSha384],
        S::EccNistP521 => vec![A::EcdsaSha512],
        S::EccNistEdwards25519 => vec![A::Ed25519Sha512, A::Ed25519PhSha512],
        S::MlDsa44 | S::MlDsa65 | S::MlDsa87 => vec![A::MlDsaShake256],
        _ => Vec::new(),
    }
}

pub(crate) fn encryption(s: S) -> Vec<m::EncryptionAlgorithmSpec> {
    use m::EncryptionAlgorithmSpec as A;
    match s {
        S::SymmetricDefault => vec![A::SymmetricDefault],
        _ if is_rsa(s) => vec![A::RsaesOaepSha1, A::RsaesOaepSha256],
        _ => Vec::new(),
    }
}

pub(crate) fn mac(s: S) -> Vec<m::MacAlgorithmSpec> {
    use m::MacAlgorithmSpec as A;
    match s {
        S::Hmac224 => vec![A::HmacSha224],
        S::Hmac256 => vec![A::HmacSha256],
        S::Hmac384 => vec![A::HmacSha384],
        S::Hmac512 => vec![A::HmacSha512],
        _ => Vec::new(),
    }
}

fn some<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

pub(crate) fn for_spec(s: S, u: U) -> Algorithms {
    match u {
        U::EncryptDecrypt => Algorithms {
            encryption: some(encryption(s)),
            ..Default::default()
        },
        U::SignVerify => Algorithms {
            signing: some(signing(s)),
            ..Default::default()
        },
        U::KeyAgreement => Algorithms {
            agreement: Some(vec![m::KeyAgreementAlgorithmSpec::Ecdh]),
            ..Default::default()
        },
        U::GenerateVerifyMac => Algorithms {
            mac: some(mac(s)),
            ..Default::default()
        },
        U::EncapsulateDecapsulate => Algorithms::default(),
    }
}
