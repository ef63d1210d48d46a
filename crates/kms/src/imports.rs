//! Imported key material (keys with origin `EXTERNAL`): GetParametersForImport hands out an RSA
//! wrapping public key and an import token (valid 24 hours; the latest one per key), the caller
//! wraps its material (RSAES-OAEP, or RSA-AES key wrap: RSA-OAEP of an AES key followed by
//! AES-KWP of the material), ImportKeyMaterial unwraps it and seals it under the root of trust.
//! The material id is derived from the material itself, so re-importing the same material
//! after DeleteImportedKeyMaterial (or expiry) restores the ciphertexts made under it.
use crate::record::{now, public_material_id, resolve, ImportedRec, KeyRecord, MaterialRec};
use crate::{internal, KmsService, TxR, R};
use aws_lc_rs::{digest, key_wrap};
use base64::Engine as _;
use rampart_core::{AwsError, RequestContext};
use rampart_crypto::keys;
use rampart_model::kms as m;
use rampart_model::{Blob, Timestamp};
use rampart_store::Tx;
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
    /// A multi-Region key's related keys share the id (it is derived from the key id, which
    /// they share, rather than the ARN), so one ciphertext names the same material in each.
    fn imported_material_id(&self, k: &KeyRecord, material: &[u8]) -> R<String> {
        let scope = if k.multi_region.is_some() {
            format!("mrk\0{}\0{}", k.account_id, k.key_id)
        } else {
            k.arn.clone()
        };
        let salt = self
            .root
            .derive_key(&format!("rampart-kms-imported-material-id\0{scope}"))
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
            key_id: Some(k.arn.clone()),
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
        let symmetric = k.is_symmetric();
        if !symmetric
            && (input.import_type.is_some()
                || input.key_material_description.is_some()
                || input.key_material_id.is_some())
        {
            return Err(AwsError::validation(
                "ImportType, KeyMaterialDescription and KeyMaterialId are only valid for symmetric encryption keys.",
            ));
        }
        if input.import_type == Some(m::ImportType::NewKeyMaterial)
            && input.key_material_id.is_some()
        {
            return Err(AwsError::validation(
                "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.",
            ));
        }
        let material = self.unwrap_import(&k, &params, input.encrypted_key_material.as_bytes())?;
        let material = checked_material(&k, material)?;
        let id = self.imported_material_id(&k, &material)?;
        let mat: MaterialRec = self.seal_material_as(&k.arn, &id, &material, None)?;
        let model = Some(
            input
                .expiration_model
                .unwrap_or(m::ExpirationModelType::KeyMaterialExpires),
        );
        self.with_related(ctx, &k.key_id, move |tx, set, me| {
            if set[me].state == m::KeyState::PendingDeletion {
                return Err(set[me].invalid_state().into());
            }
            // A multi-Region key's first material is the one its related keys already have
            // (read in this transaction, so two first imports can't disagree). A replica
            // already lists what its primary has associated, pending material included.
            let related: Vec<String> = set
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != me)
                .flat_map(|(_, c)| c.imported.iter().map(|r| r.id.clone()))
                .collect();
            let replica = crate::multiregion::is_replica(&set[me]);
            let k = &mut set[me];
            let first = k.imported.is_empty();
            let kind = input.import_type.unwrap_or(if first {
                m::ImportType::NewKeyMaterial
            } else {
                m::ImportType::ExistingKeyMaterial
            });
            let mismatch = || {
                m::incorrect_key_material_exception(
                    "The key material doesn't match the key material previously imported into this KMS key.",
                )
            };
            match kind {
                m::ImportType::NewKeyMaterial => {
                    if !first && !symmetric {
                        return Err(mismatch().into());
                    }
                    if replica && !first {
                        let primary = k
                            .multi_region
                            .as_ref()
                            .map(|x| x.primary_region.clone())
                            .unwrap_or_default();
                        return Err(m::unsupported_operation_exception(format!(
                            "{} is a replica key: import new key material into its primary key (in {primary}), then the same material into each replica key with ImportType EXISTING_KEY_MATERIAL.",
                            k.arn
                        ))
                        .into());
                    }
                    if first && !related.is_empty() && !related.contains(&id) {
                        return Err(m::incorrect_key_material_exception(
                            "The key material doesn't match the key material imported into the related multi-Region keys.",
                        )
                        .into());
                    }
                    if k.imported.iter().any(|r| r.id == id) {
                        return Err(m::incorrect_key_material_exception(format!(
                            "This key material is already associated with {}: import it with ImportType EXISTING_KEY_MATERIAL.",
                            k.arn
                        ))
                        .into());
                    }
                    if k.imported.iter().any(|r| {
                        matches!(
                            r.state,
                            m::KeyMaterialState::PendingRotation
                                | m::KeyMaterialState::PendingMultiRegionImportAndRotation
                        )
                    }) {
                        return Err(AwsError::validation(format!(
                            "{} already has key material pending rotation: rotate the key on demand, or delete that key material, first.",
                            k.arn
                        ))
                        .into());
                    }
                    k.imported.push(ImportedRec {
                        id: id.clone(),
                        description: input.key_material_description,
                        state: if first {
                            m::KeyMaterialState::Current
                        } else {
                            m::KeyMaterialState::PendingRotation
                        },
                        expiration_model: model,
                        valid_to,
                        material: Some(mat),
                        rotation_date: None,
                    });
                }
                m::ImportType::ExistingKeyMaterial => {
                    if input
                        .key_material_id
                        .as_ref()
                        .is_some_and(|want| *want != public_material_id(&id))
                    {
                        return Err(mismatch().into());
                    }
                    let r = k
                        .imported
                        .iter_mut()
                        .find(|r| r.id == id)
                        .ok_or_else(mismatch)?;
                    r.material = Some(mat);
                    r.expiration_model = model;
                    r.valid_to = valid_to;
                    if input.key_material_description.is_some() {
                        r.description = input.key_material_description;
                    }
                }
            }
            // The token is spent. (New material reaches the replicas' lists, and the primary's
            // pending material waits until every replica has imported it, as the copies are
            // settled and stored.)
            tx.delete(IMPORTS, &k.store_key())?;
            Ok(m::ImportKeyMaterialResponse {
                key_id: Some(k.arn.clone()),
                key_material_id: Some(public_material_id(&id)),
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
        let out = self.with_related(ctx, &input.key_id, move |_, set, me| {
            let k = &set[me];
            if k.state == m::KeyState::PendingDeletion {
                return Err(k.invalid_state().into());
            }
            let target = match input.key_material_id {
                Some(id) => id,
                None => k
                    .imported_id
                    .as_deref()
                    .map(public_material_id)
                    .unwrap_or_default(),
            };
            let Some(rec) = k
                .imported
                .iter()
                .find(|r| public_material_id(&r.id) == target)
            else {
                return Err(m::not_found_exception(format!(
                    "Key material {target} does not exist for {}.",
                    k.arn
                ))
                .into());
            };
            let id = rec.id.clone();
            let pending = matches!(
                rec.state,
                m::KeyMaterialState::PendingRotation
                    | m::KeyMaterialState::PendingMultiRegionImportAndRotation
            );
            let arn = k.arn.clone();
            if pending && !crate::multiregion::is_replica(k) {
                // Material pending rotation is not yet the key's: it goes entirely, from the
                // replicas of a multi-Region primary too.
                for c in set.iter_mut() {
                    c.imported.retain(|r| r.id != id);
                }
            } else if let Some(r) = set[me].imported.iter_mut().find(|r| r.id == id) {
                // A replica's pending material stays associated (its primary has it).
                r.material = None;
                r.valid_to = None;
            }
            Ok(m::DeleteImportedKeyMaterialResponse {
                key_id: Some(arn),
                key_material_id: (!target.is_empty()).then_some(target),
            })
        })?;
        self.cache.forget(&k);
        Ok(out)
    }

    /// On-demand rotation of a symmetric `EXTERNAL` key: the material imported as
    /// `NEW_KEY_MATERIAL` (state `PENDING_ROTATION`) becomes current. A multi-Region key is
    /// rotated through its primary, once every replica has imported that material, and all
    /// related keys rotate together.
    pub(crate) fn rotate_imported(&self, ctx: &RequestContext, raw: &str, max: u32) -> R<String> {
        self.with_related(ctx, raw, move |_, set, me| {
            let k = &set[me];
            k.require_usable()?;
            if let Some(mrk) = k.multi_region.as_ref().filter(|x| x.primary_region != k.region) {
                return Err(m::unsupported_operation_exception(format!(
                    "{} is a replica key: rotate its primary key (in {}), which rotates every related key.",
                    k.arn, mrk.primary_region
                )).into());
            }
            let Some(rec) = k.imported.iter().find(|r| {
                matches!(
                    r.state,
                    m::KeyMaterialState::PendingRotation
                        | m::KeyMaterialState::PendingMultiRegionImportAndRotation
                ) && r.material.is_some()
            }) else {
                return Err(m::kms_invalid_state_exception(format!(
                    "{} has no imported key material in PENDING_ROTATION state: import new key material (ImportType NEW_KEY_MATERIAL) first.",
                    k.arn
                )).into());
            };
            if rec.state == m::KeyMaterialState::PendingMultiRegionImportAndRotation {
                return Err(m::kms_invalid_state_exception(format!(
                    "Key material {} of {} is in PENDING_MULTI_REGION_IMPORT_AND_ROTATION state: import it into every replica key (ImportType EXISTING_KEY_MATERIAL) first.",
                    public_material_id(&rec.id),
                    k.arn
                )).into());
            }
            if k.on_demand_rotations >= max {
                return Err(m::limit_exceeded_exception(format!(
                    "{} has reached the maximum number of on-demand rotations ({max}).",
                    k.arn
                )).into());
            }
            let (id, arn, at) = (rec.id.clone(), k.arn.clone(), now());
            for c in set.iter_mut() {
                if !c.imported.iter().any(|r| r.id == id) {
                    continue;
                }
                c.on_demand_rotations += 1;
                for r in &mut c.imported {
                    if r.id == id {
                        r.state = m::KeyMaterialState::Current;
                        r.rotation_date = Some(at);
                    } else if r.state == m::KeyMaterialState::Current {
                        r.state = m::KeyMaterialState::NonCurrent;
                    }
                }
            }
            Ok(arn)
        })
    }

    /// Reads the key `raw` names with its related multi-Region copies (a replica already
    /// listing what its primary has associated), applies `f` to them (`set[me]` is the key),
    /// settles their imported materials and stores them all, in one
    /// transaction.
    fn with_related<T: Send + 'static>(
        &self,
        ctx: &RequestContext,
        raw: &str,
        f: impl FnOnce(&mut dyn Tx, &mut [KeyRecord], usize) -> TxR<T> + Send + 'static,
    ) -> R<T> {
        let ctx = ctx.clone();
        let raw = raw.to_string();
        self.write(move |tx| {
            let k = resolve(tx, &ctx, &raw)?;
            let (mut set, me) = crate::multiregion::with_copies(tx, k)?;
            crate::multiregion::settle_imported(&mut set);
            let out = f(tx, &mut set, me)?;
            crate::multiregion::settle_imported(&mut set);
            for c in &set {
                crate::record::put_key(tx, c)?;
            }
            Ok(out)
        })
    }

    /// The entries of `ListKeyRotations` for an `EXTERNAL` key: the materials made current by
    /// a rotation, or (`all`) every associated material.
    pub(crate) fn imported_rotations(k: &KeyRecord, all: bool) -> Vec<m::RotationsListEntry> {
        let mut k = k.clone();
        k.migrate_imported();
        k.imported
            .iter()
            .filter(|r| all || r.rotation_date.is_some())
            .map(|r| m::RotationsListEntry {
                key_id: Some(k.arn.clone()),
                key_material_id: Some(public_material_id(&r.id)),
                key_material_description: r.description.clone(),
                import_state: Some(if r.material.is_some() {
                    m::ImportState::Imported
                } else {
                    m::ImportState::PendingImport
                }),
                key_material_state: Some(r.state),
                expiration_model: r.expiration_model,
                valid_to: r.valid_to.map(Timestamp),
                rotation_date: r.rotation_date.map(Timestamp),
                rotation_type: r.rotation_date.map(|_| m::RotationType::OnDemand),
            })
            .collect()
    }

    /// Expires imported material whose ValidTo passed (the scheduler calls it).
    pub(crate) fn expire_imported(&self, k: &KeyRecord, at: f64) -> R<bool> {
        let due = |k: &KeyRecord| {
            k.valid_to.is_some_and(|t| t <= at)
                || k.imported
                    .iter()
                    .any(|r| r.material.is_some() && r.valid_to.is_some_and(|t| t <= at))
        };
        if k.origin != m::OriginType::External || !due(k) {
            return Ok(false);
        }
        let ctx = k.scope_context();
        let id = k.key_id.clone();
        // Through the related keys: a replica's expired copy of pending material puts its
        // primary back to waiting.
        self.with_related(&ctx, &id, move |_, set, me| {
            for r in &mut set[me].imported {
                if r.material.is_some() && r.valid_to.is_some_and(|t| t <= at) {
                    r.material = None;
                    r.valid_to = None;
                }
            }
            Ok(())
        })?;
        self.cache.forget(k);
        Ok(true)
    }
}
