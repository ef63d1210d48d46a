//! Imported key material (keys with origin `EXTERNAL`): GetParametersForImport hands out an RSA
//! wrapping public key and an import token (valid 24 hours; the latest one per key), the caller
//! wraps its material (RSAES-OAEP, or RSA-AES key wrap: RSA-OAEP of an AES key followed by
//! AES-KWP of the material), ImportKeyMaterial unwraps it and seals it under the root of trust.
//! The material id is derived from the material itself, so re-importing the same material
//! after DeleteImportedKeyMaterial (or expiry) restores the ciphertexts made under it.
use crate::record::{now, resolve, KeyRecord, MaterialRec};
use crate::{internal, KmsService, R};
use aws_lc_rs::{digest, key_wrap};
use base64::Engine as _;
use rampart_core::{AwsError, RequestContext};
use rampart_crypto::keys;
use rampart_model::kms as m;
use rampart_model::{Blob, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

const IMPORTS: &str = "kms_import";
const TOKEN_PREFIX: &[u8] = b"RIT1";
const TOKEN_LIFETIME: f64 = 86_400.0;

/// The pending import parameters of a key.
#[derive(Serialize, Deserialize)]
struct ImportParams {
    token_id: String,
    algorithm: m::AlgorithmSpec,
    wrapping_spec: m::WrappingKeySpec,
    /// The wrapping private key (PKCS#8), sealed under the root key (base64).
    wrapped_private: String,
    valid_to: f64,
}

fn params_aad(arn: &str, token_id: &str) -> Vec<u8> {
    format!("rampart-kms-import-v1\0{arn}\0{token_id}").into_bytes()
}

fn wrapping_spec(s: m::WrappingKeySpec) -> R<keys::KeySpec> {
    match s {
        m::WrappingKeySpec::Rsa2048 => Ok(keys::KeySpec::Rsa2048),
        m::WrappingKeySpec::Rsa3072 => Ok(keys::KeySpec::Rsa3072),
        m::WrappingKeySpec::Rsa4096 => Ok(keys::KeySpec::Rsa4096),
        m::WrappingKeySpec::Sm2 => Err(m::unsupported_operation_exception(
            "SM2 wrapping keys are only available in China Regions.",
        )),
    }
}

/// The material's length for the key's spec (symmetric keys take 256 bits; HMAC keys their
/// size). Asymmetric private keys are not importable yet.
/// The imported material checked against the key's spec, in the form the key stores:
/// 32 bytes (symmetric), the HMAC key lengths AWS allows, or a PKCS#8 private key of the
/// key spec (RSA, ECC, Ed25519), re-encoded so the same key always gives the same bytes.
fn checked_material(k: &KeyRecord, material: Zeroizing<Vec<u8>>) -> R<Zeroizing<Vec<u8>>> {
    let len = material.len();
    let ok = match k.spec {
        m::KeySpec::SymmetricDefault => len == 32,
        m::KeySpec::Hmac224 => (28..=64).contains(&len),
        m::KeySpec::Hmac256 => (32..=64).contains(&len),
        m::KeySpec::Hmac384 => (48..=128).contains(&len),
        m::KeySpec::Hmac512 => (64..=128).contains(&len),
        _ => {
            let spec = crate::asymmetric::spec(k.spec)?;
            return match keys::import_private(spec, &material) {
                Ok(m) => Ok(m),
                Err(keys::KeyError::UnsupportedAlgorithm) => Err(unsupported_import(k)),
                Err(_) => Err(incorrect_material(k)),
            };
        }
    };
    if ok {
        Ok(material)
    } else {
        Err(incorrect_material(k))
    }
}

fn incorrect_material(k: &KeyRecord) -> AwsError {
    m::incorrect_key_material_exception(format!(
        "The key material is not valid for key spec {}.",
        k.spec
    ))
}

/// Key specs whose material Rampart cannot import (ML-DSA, ML-KEM, SM2).
pub(crate) fn importable(spec: m::KeySpec) -> bool {
    !matches!(
        spec,
        m::KeySpec::MlDsa44
            | m::KeySpec::MlDsa65
            | m::KeySpec::MlDsa87
            | m::KeySpec::MlKem512
            | m::KeySpec::MlKem768
            | m::KeySpec::MlKem1024
            | m::KeySpec::Sm2
    )
}

fn unsupported_import(k: &KeyRecord) -> AwsError {
    m::unsupported_operation_exception(format!(
        "Importing key material for {} keys is not supported by Rampart yet.",
        k.spec
    ))
}

fn require_external(k: &KeyRecord) -> R<()> {
    if k.origin == m::OriginType::External {
        return Ok(());
    }
    Err(m::unsupported_operation_exception(format!(
        "{} origin is {} which is not valid for this operation.",
        k.arn, k.origin
    )))
}

impl KmsService {
    /// The id of imported material: derived from the material under a key only the root of
    /// trust yields, so equal material gets the same id and nothing about it leaks.
    fn imported_material_id(&self, k: &KeyRecord, material: &[u8]) -> R<String> {
        let salt = self
            .root
            .derive_key(&format!("rampart-kms-imported-material-id\0{}", k.arn))
            .map_err(|_| internal("derive"))?;
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&salt[..]);
        ctx.update(material);
        let d = ctx.finish();
        let bytes: [u8; 16] = d
            .as_ref()
            .get(..16)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| internal("digest"))?;
        Ok(Uuid::from_bytes(bytes).to_string())
    }

    pub(crate) fn parameters_for_import(
        &self,
        ctx: &RequestContext,
        input: m::GetParametersForImportRequest,
    ) -> R<m::GetParametersForImportResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        require_external(&k)?;
        if k.state == m::KeyState::PendingDeletion {
            return Err(k.invalid_state());
        }
        let spec = wrapping_spec(input.wrapping_key_spec)?;
        if matches!(input.wrapping_algorithm, m::AlgorithmSpec::Sm2pke) {
            return Err(m::unsupported_operation_exception(
                "SM2PKE is only available in China Regions.",
            ));
        }
        if matches!(input.wrapping_algorithm, m::AlgorithmSpec::RsaesPkcs1V15) {
            return Err(AwsError::validation(
                "RSAES_PKCS1_V1_5 is no longer supported for importing key material.",
            ));
        }
        let private = crate::asymmetric::generate(
            &self.keygen,
            match spec {
                keys::KeySpec::Rsa3072 => m::KeySpec::Rsa3072,
                keys::KeySpec::Rsa4096 => m::KeySpec::Rsa4096,
                _ => m::KeySpec::Rsa2048,
            },
        )?;
        let public = keys::public_key_der(spec, &private).map_err(|_| internal("import key"))?;
        let token_id = Uuid::new_v4().to_string();
        let sealed = self
            .root
            .seal(&params_aad(&k.arn, &token_id), &private)
            .map_err(|_| internal("seal import key"))?;
        let valid_to = (now() + TOKEN_LIFETIME).floor();
        let params = ImportParams {
            token_id: token_id.clone(),
            algorithm: input.wrapping_algorithm,
            wrapping_spec: input.wrapping_key_spec,
            wrapped_private: base64::engine::general_purpose::STANDARD.encode(sealed),
            valid_to,
        };
        let store_key = k.store_key();
        self.write(move |tx| {
            tx.put_json(IMPORTS, &store_key, &params)?;
            Ok(())
        })?;
        let mut token = TOKEN_PREFIX.to_vec();
        token.extend_from_slice(
            Uuid::parse_str(&token_id)
                .map_err(|_| internal("token"))?
                .as_bytes(),
        );
        Ok(m::GetParametersForImportResponse {
            key_id: Some(k.arn),
            import_token: Some(Blob::new(token)),
            public_key: Some(Blob::new(public)),
            parameters_valid_to: Some(Timestamp(valid_to)),
        })
    }

    /// Unwraps `encrypted` with the import parameters' private key.
    fn unwrap_import(
        &self,
        k: &KeyRecord,
        p: &ImportParams,
        encrypted: &[u8],
    ) -> R<Zeroizing<Vec<u8>>> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&p.wrapped_private)
            .map_err(|_| internal("import params"))?;
        let private = self
            .root
            .open(&params_aad(&k.arn, &p.token_id), &sealed)
            .map_err(|_| internal("import params"))?;
        let spec = wrapping_spec(p.wrapping_spec)?;
        let bad = || {
            m::invalid_ciphertext_exception("The wrapped key material could not be decrypted with the wrapping key of the import token.")
        };
        let oaep = |alg, ct: &[u8]| keys::decrypt(spec, &private, alg, ct).map_err(|_| bad());
        use keys::EncryptionAlgorithm as E;
        match p.algorithm {
            m::AlgorithmSpec::RsaesOaepSha1 => oaep(E::RsaesOaepSha1, encrypted),
            m::AlgorithmSpec::RsaesOaepSha256 => oaep(E::RsaesOaepSha256, encrypted),
            m::AlgorithmSpec::RsaAesKeyWrapSha1 | m::AlgorithmSpec::RsaAesKeyWrapSha256 => {
                let alg = if p.algorithm == m::AlgorithmSpec::RsaAesKeyWrapSha1 {
                    E::RsaesOaepSha1
                } else {
                    E::RsaesOaepSha256
                };
                // RSA-OAEP(AES-256 key) || AES-KWP(material), the RSA part as long as the modulus.
                let n = match spec {
                    keys::KeySpec::Rsa3072 => 384,
                    keys::KeySpec::Rsa4096 => 512,
                    _ => 256,
                };
                if encrypted.len() <= n {
                    return Err(bad());
                }
                let (rsa_part, kwp_part) = encrypted.split_at(n);
                let aes = oaep(alg, rsa_part)?;
                use key_wrap::KeyWrapPadded as _;
                let kek = key_wrap::AesKek::new(&key_wrap::AES_256, &aes).map_err(|_| bad())?;
                let mut out = Zeroizing::new(vec![0u8; kwp_part.len()]);
                let len = kek
                    .unwrap_with_padding(kwp_part, &mut out)
                    .map_err(|_| bad())?
                    .len();
                out.truncate(len);
                Ok(out)
            }
            _ => Err(bad()),
        }
    }

    pub(crate) fn import_material(
        &self,
        ctx: &RequestContext,
        input: m::ImportKeyMaterialRequest,
    ) -> R<m::ImportKeyMaterialResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        require_external(&k)?;
        if k.state == m::KeyState::PendingDeletion {
            return Err(k.invalid_state());
        }
        let token = input.import_token.as_bytes();
        let token_id = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|b| Uuid::from_slice(b).ok())
            .map(|u| u.to_string())
            .ok_or_else(|| m::invalid_import_token_exception("Import token is invalid."))?;
        let store_key = k.store_key();
        let params: Option<ImportParams> = self.read(|tx| Ok(tx.get_json(IMPORTS, &store_key)?))?;
        let params = params
            .filter(|p| p.token_id == token_id)
            .ok_or_else(|| {
                m::invalid_import_token_exception(
                    "Import token is invalid for this key (use the latest GetParametersForImport response).",
                )
            })?;
        if params.valid_to <= now() {
            return Err(m::expired_import_token_exception(
                "Import token has expired.",
            ));
        }
        let expires =
            input.expiration_model != Some(m::ExpirationModelType::KeyMaterialDoesNotExpire);
        let valid_to =
            match (expires, input.valid_to) {
                (true, Some(t)) => {
                    let t = t.secs();
                    let max = now() + 365.0 * 86_400.0;
                    if t <= now() || t > max {
                        return Err(AwsError::validation(
                            "ValidTo must be in the future and at most 365 days from now.",
                        ));
                    }
                    Some(t)
                }
                (true, None) => {
                    return Err(AwsError::validation(
                        "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.",
                    ))
                }
                (false, Some(_)) => return Err(AwsError::validation(
                    "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.",
                )),
                (false, None) => None,
            };
        let material = self.unwrap_import(&k, &params, input.encrypted_key_material.as_bytes())?;
        let material = checked_material(&k, material)?;
        let id = self.imported_material_id(&k, &material)?;
        let mat: MaterialRec = self.seal_material_as(&k.arn, &id, &material, None)?;
        let ctx2 = ctx.clone();
        let key_ref = k.key_id.clone();
        let model = input.expiration_model;
        self.write(move |tx| {
            let mut k = resolve(tx, &ctx2, &key_ref)?;
            let previous = k.imported_id.clone();
            if let Some(prev) = &previous {
                if *prev != id {
                    return Err(m::incorrect_key_material_exception(
                        "The key material doesn't match the key material previously imported into this KMS key.",
                    )
                    .into());
                }
            }
            if k.state == m::KeyState::PendingDeletion {
                return Err(k.invalid_state().into());
            }
            k.imported_id = Some(id.clone());
            k.materials = vec![mat];
            k.valid_to = valid_to;
            k.expiration_model = Some(model.unwrap_or(m::ExpirationModelType::KeyMaterialExpires));
            if k.state == m::KeyState::PendingImport {
                k.state = m::KeyState::Enabled;
            }
            crate::record::put_key(tx, &k)?;
            tx.delete(IMPORTS, &k.store_key())?;
            Ok(m::ImportKeyMaterialResponse {
                key_id: Some(k.arn.clone()),
                key_material_id: Some(id),
            })
        })
    }

    pub(crate) fn delete_imported(
        &self,
        ctx: &RequestContext,
        input: m::DeleteImportedKeyMaterialRequest,
    ) -> R<m::DeleteImportedKeyMaterialResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        require_external(&k)?;
        let out = self.update_key(ctx, &input.key_id, move |k| {
            if k.state == m::KeyState::PendingDeletion {
                return Err(k.invalid_state());
            }
            let id = k.current_material_id();
            if let Some(want) = &input.key_material_id {
                if *want != id {
                    return Err(m::not_found_exception(format!(
                        "Key material {want} does not exist for {}.",
                        k.arn
                    )));
                }
            }
            k.materials.clear();
            k.valid_to = None;
            k.state = m::KeyState::PendingImport;
            Ok(m::DeleteImportedKeyMaterialResponse {
                key_id: Some(k.arn.clone()),
                key_material_id: (!id.is_empty()).then_some(id),
            })
        })?;
        self.cache.forget(&k);
        Ok(out)
    }

    /// Expires imported material whose ValidTo passed (the scheduler calls it).
    pub(crate) fn expire_imported(&self, k: &KeyRecord, at: f64) -> R<bool> {
        if k.origin != m::OriginType::External || k.valid_to.is_none_or(|t| t > at) {
            return Ok(false);
        }
        let ctx = k.scope_context();
        let id = k.key_id.clone();
        self.update_key(&ctx, &id, move |k| {
            if k.valid_to.is_some_and(|t| t <= at) {
                k.materials.clear();
                k.valid_to = None;
                if k.state != m::KeyState::PendingDeletion {
                    k.state = m::KeyState::PendingImport;
                }
            }
            Ok(())
        })?;
        self.cache.forget(k);
        Ok(true)
    }
}
