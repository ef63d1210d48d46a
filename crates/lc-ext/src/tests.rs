#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use aws_lc_rs::digest;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn ed25519ph_rfc8032_vector() {
    // RFC 8032, section 7.3 ("TEST abc").
    let seed: [u8; 32] = hex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
        .try_into()
        .unwrap();
    let public: [u8; 32] = hex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
        .try_into()
        .unwrap();
    let want = hex(concat!(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41",
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
    ));
    let d: [u8; 64] = digest::digest(&digest::SHA512, b"abc")
        .as_ref()
        .try_into()
        .unwrap();
    let sig = ed25519ph_sign(&seed, &public, &d).unwrap();
    assert_eq!(sig.to_vec(), want);
    assert!(ed25519ph_verify(&public, &d, &sig));
    let mut bad = sig;
    bad[0] ^= 1;
    assert!(!ed25519ph_verify(&public, &d, &bad));
    assert!(!ed25519ph_verify(&public, &d, &sig[..63]));
    let other: [u8; 64] = digest::digest(&digest::SHA512, b"abd")
        .as_ref()
        .try_into()
        .unwrap();
    assert!(!ed25519ph_verify(&public, &other, &sig));
}

#[test]
fn ml_dsa_external_mu_round_trip() {
    for set in [MlDsa::MlDsa44, MlDsa::MlDsa65, MlDsa::MlDsa87] {
        let seed = [7u8; 32];
        let mu = [0x42u8; 64];
        let sig = ml_dsa_sign_mu(set, &seed, &mu).unwrap();
        assert_eq!(sig.len(), set.signature_len());
        assert!(ml_dsa_verify_mu(set, &seed, &mu, &sig));
        let mut other = mu;
        other[0] ^= 1;
        assert!(!ml_dsa_verify_mu(set, &seed, &other, &sig));
        assert!(!ml_dsa_verify_mu(set, &[8u8; 32], &mu, &sig));
        assert!(!ml_dsa_verify_mu(set, &seed, &mu, &sig[1..]));
    }
}

#[test]
fn ml_kem_from_seed_is_a_working_deterministic_pair() {
    use aws_lc_rs::kem;
    for (set, alg) in [
        (MlKem::MlKem512, &kem::ML_KEM_512),
        (MlKem::MlKem768, &kem::ML_KEM_768),
        (MlKem::MlKem1024, &kem::ML_KEM_1024),
    ] {
        let seed = [9u8; 64];
        let (dk, ek) = ml_kem_from_seed(set, &seed).unwrap();
        let (dk2, ek2) = ml_kem_from_seed(set, &seed).unwrap();
        assert_eq!((dk.as_slice(), &ek), (dk2.as_slice(), &ek2));
        assert_ne!(ml_kem_from_seed(set, &[8u8; 64]).unwrap().1, ek);
        // The expanded key holds the encapsulation key (FIPS 203: dk_pke ‖ ek ‖ H(ek) ‖ z),
        // z is the seed's second half, and the pair works with aws-lc-rs.
        let (ek_len, dk_len) = set.key_lens();
        assert_eq!(dk.len(), dk_len);
        assert_eq!(&dk[ek_len - 32..2 * ek_len - 32], ek.as_slice());
        assert_eq!(&dk[dk_len - 32..], &seed[32..]);
        let public = kem::EncapsulationKey::new(alg, &ek).unwrap();
        let (ct, secret) = public.encapsulate().unwrap();
        let private = kem::DecapsulationKey::new(alg, &dk).unwrap();
        let opened = private.decapsulate(ct.as_ref().into()).unwrap();
        assert_eq!(secret.as_ref(), opened.as_ref());
    }
}
