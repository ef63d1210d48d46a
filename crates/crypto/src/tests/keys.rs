//! Unit tests of `keys`.
use super::*;
use aws_lc_rs::signature::{ParsedPublicKey, VerificationAlgorithm};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

const MSG: &[u8] = b"the quick brown fox jumps over the lazy dog";

fn rsa2048() -> &'static [u8] {
    static KEY: OnceLock<Zeroizing<Vec<u8>>> = OnceLock::new();
    KEY.get_or_init(|| generate(KeySpec::Rsa2048).unwrap())
}

/// An independent verifier for `spec`/`alg`, to check the SPKI with aws-lc-rs's own API.
fn verifier(spec: KeySpec, alg: SigningAlgorithm) -> &'static dyn VerificationAlgorithm {
    use SigningAlgorithm::*;
    match (spec, alg) {
        (_, RsassaPssSha256) => &sig::RSA_PSS_2048_8192_SHA256,
        (_, RsassaPssSha384) => &sig::RSA_PSS_2048_8192_SHA384,
        (_, RsassaPssSha512) => &sig::RSA_PSS_2048_8192_SHA512,
        (_, RsassaPkcs1V15Sha256) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (_, RsassaPkcs1V15Sha384) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (_, RsassaPkcs1V15Sha512) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (KeySpec::EccNistP256, EcdsaSha256) => &sig::ECDSA_P256_SHA256_ASN1,
        (KeySpec::EccSecgP256k1, EcdsaSha256) => &sig::ECDSA_P256K1_SHA256_ASN1,
        (KeySpec::EccNistP384, EcdsaSha384) => &sig::ECDSA_P384_SHA384_ASN1,
        (KeySpec::EccNistP521, EcdsaSha512) => &sig::ECDSA_P521_SHA512_ASN1,
        (KeySpec::MlDsa44, MlDsaShake256) => &sig::ML_DSA_44,
        (KeySpec::MlDsa65, MlDsaShake256) => &sig::ML_DSA_65,
        (KeySpec::MlDsa87, MlDsaShake256) => &sig::ML_DSA_87,
        (KeySpec::EccNistEdwards25519, _) => &sig::ED25519,
        other => panic!("no verifier for {other:?}"),
    }
}

/// What `sign` must answer for `alg` with `msg_type`, when `alg` is valid for the key.
fn expected(alg: SigningAlgorithm, msg_type: MessageType) -> Result<(), KeyError> {
    use SigningAlgorithm::*;
    match (alg, msg_type) {
        (MlDsaShake256, MessageType::ExternalMu) => Ok(()),
        (MlDsaShake256 | Ed25519Sha512, MessageType::Raw) => Ok(()),
        (MlDsaShake256 | Ed25519Sha512, _) | (_, MessageType::ExternalMu) => {
            Err(KeyError::InvalidMessage(format!(
                "Message type {} is not valid for algorithm {}.",
                msg_type.name(),
                alg.name()
            )))
        }
        _ => Ok(()),
    }
}

fn message(alg: SigningAlgorithm, msg_type: MessageType) -> Vec<u8> {
    match (msg_type, alg.hash()) {
        (MessageType::Digest, Some(h)) => digest::digest(h, MSG).as_ref().to_vec(),
        (MessageType::ExternalMu, _) => vec![7u8; 64],
        _ => MSG.to_vec(),
    }
}

fn flip(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[0] ^= 1;
    out
}

/// Every signing algorithm and message type on one key of `spec`, and every algorithm the
/// spec does not list.
fn check_signing(spec: KeySpec, key: &[u8]) {
    let algs = signing_algorithms(spec);
    let types = [
        MessageType::Raw,
        MessageType::Digest,
        MessageType::ExternalMu,
    ];
    for &alg in &algs {
        let parsed = ParsedPublicKey::new(verifier(spec, alg), public_key_der(spec, key).unwrap());
        let parsed = parsed.unwrap();
        for msg_type in types {
            let msg = message(alg, msg_type);
            let signed = sign(spec, key, alg, msg_type, &msg);
            let want = expected(alg, msg_type);
            assert_eq!(
                signed.as_ref().err(),
                want.as_ref().err(),
                "{spec:?} {alg:?} {msg_type:?}"
            );
            let verified = verify(spec, key, alg, msg_type, &msg, &[0u8; 8]);
            assert_eq!(verified.err(), want.err());
            let Ok(signature) = signed else { continue };
            assert!(verify(spec, key, alg, msg_type, &msg, &signature).unwrap());
            assert!(!verify(spec, key, alg, msg_type, &flip(&msg), &signature).unwrap());
            assert!(!verify(spec, key, alg, msg_type, &msg, &flip(&signature)).unwrap());
            assert!(!verify(spec, key, alg, msg_type, &msg, &[]).unwrap());
            // Whatever the message type, the signature is over the raw message (Ed25519ph
            // and external mu are other schemes: aws-lc-rs has no verifier for them).
            if alg != SigningAlgorithm::Ed25519PhSha512 && msg_type != MessageType::ExternalMu {
                parsed.verify_sig(MSG, &signature).unwrap();
            }
        }
        if let (Some(h), Ok(())) = (alg.hash(), expected(alg, MessageType::Digest)) {
            let short = vec![0u8; h.output_len() - 1];
            let err = KeyError::InvalidMessage(format!(
                "Digest is invalid length for algorithm {}.",
                alg.name()
            ));
            assert_eq!(
                sign(spec, key, alg, MessageType::Digest, &short),
                Err(err.clone())
            );
            let long = vec![0u8; h.output_len() + 1];
            assert_eq!(
                verify(spec, key, alg, MessageType::Digest, &long, &[1]),
                Err(err)
            );
        }
    }
    for alg in all_signing_algorithms()
        .into_iter()
        .filter(|a| !algs.contains(a))
    {
        let unsupported = Some(KeyError::UnsupportedAlgorithm);
        assert_eq!(
            sign(spec, key, alg, MessageType::Raw, MSG).err(),
            unsupported
        );
        let verified = verify(spec, key, alg, MessageType::Raw, MSG, &[1]);
        assert_eq!(verified.err(), unsupported);
    }
}

fn all_signing_algorithms() -> Vec<SigningAlgorithm> {
    let mut all = signing_algorithms(KeySpec::Rsa2048);
    all.extend([SigningAlgorithm::EcdsaSha256, SigningAlgorithm::EcdsaSha384]);
    all.extend([
        SigningAlgorithm::EcdsaSha512,
        SigningAlgorithm::MlDsaShake256,
    ]);
    all.extend(signing_algorithms(KeySpec::EccNistEdwards25519));
    all
}

/// Operations of other key usages are refused on `spec`.
fn check_other_usages(spec: KeySpec, key: &[u8]) {
    let unsupported = KeyError::UnsupportedAlgorithm;
    if encryption_algorithms(spec).is_empty() {
        let alg = EncryptionAlgorithm::RsaesOaepSha256;
        assert_eq!(max_plaintext(spec, alg), None);
        assert_eq!(encrypt(spec, key, alg, b"x"), Err(unsupported.clone()));
        assert_eq!(
            decrypt(spec, key, alg, &[0; 256]).err(),
            Some(unsupported.clone())
        );
    }
    if mac_algorithms(spec).is_empty() {
        let alg = MacAlgorithm::HmacSha256;
        assert_eq!(mac(spec, key, alg, MSG), Err(unsupported.clone()));
        assert_eq!(
            verify_mac(spec, key, alg, MSG, &[0; 32]),
            Err(unsupported.clone())
        );
    }
    if !matches!(
        spec,
        KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521
    ) {
        let derived = derive_shared_secret(spec, key, &[0x30, 0]);
        assert_eq!(derived.err(), Some(unsupported.clone()));
    }
    if !matches!(
        spec,
        KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024
    ) {
        assert_eq!(
            encapsulate(spec, &[0; 800]).err(),
            Some(unsupported.clone())
        );
        assert_eq!(decapsulate(spec, key, &[0; 768]).err(), Some(unsupported));
    }
}

fn check_spec(spec: KeySpec) -> Zeroizing<Vec<u8>> {
    let key = generate(spec).unwrap();
    assert_ne!(generate(spec).unwrap(), key, "{spec:?} keys differ");
    check_signing(spec, &key);
    check_other_usages(spec, &key);
    key
}

fn check_rsa_encryption(spec: KeySpec, key: &[u8], limits: [usize; 2]) {
    let algs = encryption_algorithms(spec);
    assert_eq!(
        algs,
        [
            EncryptionAlgorithm::RsaesOaepSha1,
            EncryptionAlgorithm::RsaesOaepSha256
        ]
    );
    for (alg, limit) in algs.into_iter().zip(limits) {
        assert_eq!(max_plaintext(spec, alg), Some(limit));
        let plaintext = vec![0x5a; limit];
        let ciphertext = encrypt(spec, key, alg, &plaintext).unwrap();
        assert_eq!(ciphertext.len(), limits[0] + 42, "one modulus long");
        assert_eq!(
            &decrypt(spec, key, alg, &ciphertext).unwrap()[..],
            &plaintext[..]
        );
        assert_eq!(
            &decrypt(spec, key, alg, &encrypt(spec, key, alg, b"").unwrap()).unwrap()[..],
            b""
        );
        let too_long = encrypt(spec, key, alg, &vec![0; limit + 1]);
        assert!(
            matches!(too_long, Err(KeyError::InvalidMessage(_))),
            "{too_long:?}"
        );
        let bad = decrypt(spec, key, alg, &flip(&ciphertext));
        assert_eq!(bad.err(), Some(KeyError::InvalidCiphertext));
        let short = decrypt(spec, key, alg, &ciphertext[1..]);
        assert_eq!(short.err(), Some(KeyError::InvalidCiphertext));
    }
    let sha1 = encrypt(spec, key, EncryptionAlgorithm::RsaesOaepSha1, MSG).unwrap();
    let wrong = decrypt(spec, key, EncryptionAlgorithm::RsaesOaepSha256, &sha1);
    assert_eq!(wrong.err(), Some(KeyError::InvalidCiphertext));
}

#[test]
fn rsa_2048() {
    let key = rsa2048();
    check_signing(KeySpec::Rsa2048, key);
    check_other_usages(KeySpec::Rsa2048, key);
    check_rsa_encryption(KeySpec::Rsa2048, key, [214, 190]);
}

#[test]
fn rsa_3072() {
    let key = check_spec(KeySpec::Rsa3072);
    check_rsa_encryption(KeySpec::Rsa3072, &key, [342, 318]);
}

#[test]
fn rsa_4096() {
    let key = check_spec(KeySpec::Rsa4096);
    check_rsa_encryption(KeySpec::Rsa4096, &key, [470, 446]);
    // The key is the key of its spec only.
    assert_eq!(
        public_key_der(KeySpec::EccNistP256, &key),
        Err(KeyError::Internal)
    );
}

#[test]
fn algorithm_lists() {
    use SigningAlgorithm::*;
    assert_eq!(signing_algorithms(KeySpec::EccNistP256), [EcdsaSha256]);
    assert_eq!(signing_algorithms(KeySpec::EccNistP384), [EcdsaSha384]);
    assert_eq!(signing_algorithms(KeySpec::EccNistP521), [EcdsaSha512]);
    assert_eq!(signing_algorithms(KeySpec::EccSecgP256k1), [EcdsaSha256]);
    assert_eq!(signing_algorithms(KeySpec::Rsa3072).len(), 6);
    assert_eq!(
        signing_algorithms(KeySpec::EccNistEdwards25519),
        [Ed25519Sha512, Ed25519PhSha512]
    );
    assert_eq!(signing_algorithms(KeySpec::MlDsa65), [MlDsaShake256]);
    assert_eq!(mac_algorithms(KeySpec::Hmac384), [MacAlgorithm::HmacSha384]);
    for spec in KeySpec::ALL {
        let usages = [
            !signing_algorithms(spec).is_empty(),
            !encryption_algorithms(spec).is_empty(),
            !mac_algorithms(spec).is_empty(),
        ];
        let kem = matches!(
            spec,
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024
        );
        let rsa = matches!(spec, KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096);
        let expected = usize::from(!kem) + usize::from(rsa);
        assert_eq!(usages.iter().filter(|u| **u).count(), expected, "{spec:?}");
    }
}

#[test]
fn ecc_and_ecdh() {
    let curves = [
        (KeySpec::EccNistP256, 32),
        (KeySpec::EccNistP384, 48),
        (KeySpec::EccNistP521, 66),
    ];
    for (spec, len) in curves {
        let a = check_spec(spec);
        let b = generate(spec).unwrap();
        let (a_pub, b_pub) = (
            public_key_der(spec, &a).unwrap(),
            public_key_der(spec, &b).unwrap(),
        );
        let ab = derive_shared_secret(spec, &a, &b_pub).unwrap();
        assert_eq!(ab, derive_shared_secret(spec, &b, &a_pub).unwrap());
        assert_eq!(ab.len(), len);
        let junk = derive_shared_secret(spec, &a, &a_pub[1..]);
        assert_eq!(junk.err(), Some(KeyError::InvalidPublicKey));
    }
    let p256 = generate(KeySpec::EccNistP256).unwrap();
    let p384 = public_key_der(
        KeySpec::EccNistP384,
        &generate(KeySpec::EccNistP384).unwrap(),
    );
    let mixed = derive_shared_secret(KeySpec::EccNistP256, &p256, &p384.unwrap());
    assert_eq!(mixed.err(), Some(KeyError::InvalidPublicKey));
    check_spec(KeySpec::EccSecgP256k1);
}

#[test]
fn ed25519() {
    let key = check_spec(KeySpec::EccNistEdwards25519);
    // Pure Ed25519 is deterministic: the same message signs the same.
    let alg = SigningAlgorithm::Ed25519Sha512;
    let signed = || {
        sign(
            KeySpec::EccNistEdwards25519,
            &key,
            alg,
            MessageType::Raw,
            MSG,
        )
        .unwrap()
    };
    let (one, two) = (signed(), signed());
    assert_eq!((one.len(), &one), (64, &two));
}

#[test]
fn ml_dsa() {
    for (spec, sig_len) in [
        (KeySpec::MlDsa44, 2420),
        (KeySpec::MlDsa65, 3309),
        (KeySpec::MlDsa87, 4627),
    ] {
        let key = check_spec(spec);
        assert_eq!(key.len(), 32, "the stored form is the seed");
        let alg = SigningAlgorithm::MlDsaShake256;
        assert_eq!(
            sign(spec, &key, alg, MessageType::Raw, MSG).unwrap().len(),
            sig_len
        );
    }
}

#[test]
fn ml_kem() {
    for (spec, public_len, ct_len) in [
        (KeySpec::MlKem512, 800, 768),
        (KeySpec::MlKem768, 1184, 1088),
        (KeySpec::MlKem1024, 1568, 1568),
    ] {
        let key = check_spec(spec);
        let spki = public_key_der(spec, &key).unwrap();
        assert_eq!(spki.len(), public_len + 22);
        assert_eq!(&spki[..2], &[0x30, 0x82]);
        let (ct, shared) = encapsulate(spec, &spki).unwrap();
        assert_eq!((ct.len(), shared.len()), (ct_len, 32));
        assert_eq!(decapsulate(spec, &key, &ct).unwrap(), shared);
        let (ct2, shared2) = encapsulate(spec, &spki[22..]).unwrap();
        assert_eq!(decapsulate(spec, &key, &ct2).unwrap(), shared2);
        // Implicit rejection: a tampered ciphertext decapsulates to an unrelated secret.
        assert_ne!(decapsulate(spec, &key, &flip(&ct)).unwrap(), shared);
        let short = decapsulate(spec, &key, &ct[1..]);
        assert_eq!(short.err(), Some(KeyError::InvalidCiphertext));
        let bad_spki = encapsulate(spec, &flip(&spki));
        assert_eq!(bad_spki.err(), Some(KeyError::InvalidPublicKey));
        assert_eq!(
            encapsulate(spec, &spki[1..]).err(),
            Some(KeyError::InvalidPublicKey)
        );
        assert_eq!(
            encapsulate(spec, &spki[23..]).err(),
            Some(KeyError::InvalidPublicKey)
        );
        let mut corrupt = key.clone();
        corrupt[public_len] ^= 1;
        assert_eq!(public_key_der(spec, &corrupt), Err(KeyError::Internal));
    }
    let k512 = public_key_der(KeySpec::MlKem512, &generate(KeySpec::MlKem512).unwrap());
    let wrong = encapsulate(KeySpec::MlKem768, &k512.unwrap());
    assert_eq!(wrong.err(), Some(KeyError::InvalidPublicKey));
}

#[test]
fn hmac_rfc4231_case_2() {
    let cases = [
        (KeySpec::Hmac224, MacAlgorithm::HmacSha224, 28, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"),
        (KeySpec::Hmac256, MacAlgorithm::HmacSha256, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (KeySpec::Hmac384, MacAlgorithm::HmacSha384, 48, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"),
        (KeySpec::Hmac512, MacAlgorithm::HmacSha512, 64, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
    ];
    let data = b"what do ya want for nothing?";
    for (spec, alg, key_len, tag) in cases {
        let tag = hex::decode(tag).unwrap();
        assert_eq!(mac(spec, b"Jefe", alg, data).unwrap(), tag);
        assert!(verify_mac(spec, b"Jefe", alg, data, &tag).unwrap());
        assert!(!verify_mac(spec, b"Jefe", alg, data, &flip(&tag)).unwrap());
        assert!(!verify_mac(spec, b"Jefe", alg, data, &tag[1..]).unwrap());
        assert!(!verify_mac(spec, b"Jeff", alg, data, &tag).unwrap());
        let key = check_spec(spec);
        assert_eq!(key.len(), key_len);
        let generated = mac(spec, &key, alg, data).unwrap();
        assert!(verify_mac(spec, &key, alg, data, &generated).unwrap());
        assert_eq!(
            public_key_der(spec, &key),
            Err(KeyError::UnsupportedAlgorithm)
        );
        for other in mac_algorithms(KeySpec::Hmac224)
            .into_iter()
            .chain(mac_algorithms(KeySpec::Hmac512))
            .filter(|a| *a != alg)
        {
            assert_eq!(
                mac(spec, &key, other, data),
                Err(KeyError::UnsupportedAlgorithm)
            );
        }
    }
}

/// Runs `openssl` in `dir`; `None` when it is not installed.
fn openssl(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()
}

#[test]
fn openssl_interop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if openssl(d, &["version"]).is_none() {
        eprintln!("skipping openssl_interop: the `openssl` command is not installed");
        return;
    }
    std::fs::write(d.join("msg.bin"), MSG).unwrap();
    let verified = |spec: KeySpec, key: &[u8], alg, args: &[&str]| {
        std::fs::write(d.join("pub.der"), public_key_der(spec, key).unwrap()).unwrap();
        let signature = sign(spec, key, alg, MessageType::Raw, MSG).unwrap();
        std::fs::write(d.join("sig.bin"), signature).unwrap();
        let out = openssl(d, args).unwrap();
        assert!(
            out.status.success(),
            "{alg:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let dgst = |hash: &'static str, pss: bool| {
        let mut args = vec!["dgst", hash, "-keyform", "DER", "-verify", "pub.der"];
        if pss {
            args.extend([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
            ]);
        }
        args.extend(["-signature", "sig.bin", "msg.bin"]);
        args
    };
    let p256 = generate(KeySpec::EccNistP256).unwrap();
    verified(
        KeySpec::EccNistP256,
        &p256,
        SigningAlgorithm::EcdsaSha256,
        &dgst("-sha256", false),
    );
    // A DIGEST-type signature verifies as a raw-digest signature too.
    std::fs::write(d.join("digest.bin"), digest::digest(&digest::SHA256, MSG)).unwrap();
    let pkeyutl = [
        "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", "pub.der",
    ];
    let raw_verify = [&pkeyutl[..], &["-in", "digest.bin", "-sigfile", "sig.bin"]].concat();
    let out = openssl(d, &raw_verify).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = rsa2048();
    let rsa = KeySpec::Rsa2048;
    verified(
        rsa,
        key,
        SigningAlgorithm::RsassaPssSha256,
        &dgst("-sha256", true),
    );
    verified(
        rsa,
        key,
        SigningAlgorithm::RsassaPssSha512,
        &dgst("-sha512", true),
    );
    verified(
        rsa,
        key,
        SigningAlgorithm::RsassaPkcs1V15Sha384,
        &dgst("-sha384", false),
    );
    let ed = generate(KeySpec::EccNistEdwards25519).unwrap();
    let ed_args = [
        &pkeyutl[..],
        &["-rawin", "-in", "msg.bin", "-sigfile", "sig.bin"],
    ]
    .concat();
    verified(
        KeySpec::EccNistEdwards25519,
        &ed,
        SigningAlgorithm::Ed25519Sha512,
        &ed_args,
    );

    // OpenSSL encrypts to the SPKI; `decrypt` opens it.
    std::fs::write(d.join("pub.der"), public_key_der(rsa, key).unwrap()).unwrap();
    for (alg, md) in [
        (EncryptionAlgorithm::RsaesOaepSha256, "sha256"),
        (EncryptionAlgorithm::RsaesOaepSha1, "sha1"),
    ] {
        let (oaep_md, mgf1_md) = (format!("rsa_oaep_md:{md}"), format!("rsa_mgf1_md:{md}"));
        let mut args = vec![
            "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", "pub.der",
        ];
        args.extend(["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", &oaep_md]);
        args.extend(["-pkeyopt", &mgf1_md, "-in", "msg.bin", "-out", "ct.bin"]);
        let out = openssl(d, &args).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ciphertext = std::fs::read(d.join("ct.bin")).unwrap();
        assert_eq!(&decrypt(rsa, key, alg, &ciphertext).unwrap()[..], MSG);
    }

    // The hand-written ML-KEM SPKI is well-formed DER with the FIPS 203 OID.
    let kem_key = generate(KeySpec::MlKem768).unwrap();
    std::fs::write(
        d.join("kem.der"),
        public_key_der(KeySpec::MlKem768, &kem_key).unwrap(),
    )
    .unwrap();
    let out = openssl(d, &["asn1parse", "-inform", "DER", "-in", "kem.der"]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("2.16.840.1.101.3.4.4.2"),
        "{text}"
    );
    assert!(text.contains("BIT STRING"), "{text}");
}

#[test]
fn ml_kem_data_key_pairs_are_pkcs8_seeds() {
    for (spec, set, arc) in [
        (KeySpec::MlKem512, rampart_lc_ext::MlKem::MlKem512, 1u8),
        (KeySpec::MlKem768, rampart_lc_ext::MlKem::MlKem768, 2),
        (KeySpec::MlKem1024, rampart_lc_ext::MlKem::MlKem1024, 3),
    ] {
        let (private, public) = ml_kem_data_key_pair(spec).unwrap();
        assert_eq!(private.len(), 86);
        let head = [
            0x30, 0x54, 2, 1, 0, 0x30, 0x0b, 6, 9, 0x60, 0x86, 0x48, 1, 0x65, 3, 4, 4, arc, 4,
            0x42, 0x80, 0x40,
        ];
        assert_eq!(&private[..head.len()], &head);
        let seed: [u8; 64] = private[head.len()..].try_into().unwrap();
        let (_, ek) = rampart_lc_ext::ml_kem_from_seed(set, &seed).unwrap();
        assert!(public.ends_with(&ek));
        assert_eq!(public, ml_kem_spki(arc, &ek));
    }
    assert_eq!(
        ml_kem_data_key_pair(KeySpec::Rsa2048).err(),
        Some(KeyError::UnsupportedAlgorithm)
    );
}
