//! Symmetric operations on Rampart's blobs, and the bounded cache of unwrapped material.
use crate::record::{self, KeyRecord, MaterialRec};
use crate::{blob, internal, invalid_ciphertext, KmsService, R};
use base64::Engine as _;
use rampart_core::{AwsError, RequestContext};
use rampart_model::kms as m;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use uuid::Uuid;
use zeroize::Zeroizing;

/// A data key: its plaintext, its ciphertext blob, and the KMS key it is encrypted under.
pub(crate) type DataKey = (Zeroizing<Vec<u8>>, Vec<u8>, Arc<KeyRecord>);

pub(crate) type Material = Arc<Zeroizing<Vec<u8>>>;

/// Unwrapped material by material id (ids are random UUIDs, unique across keys). Bounded:
/// when full, an arbitrary entry makes room. Entries are dropped (and zeroized) when their
/// key is deleted.
pub(crate) struct MaterialCache {
    map: Mutex<HashMap<String, Material>>,
    cap: usize,
}

impl MaterialCache {
    pub fn new(cap: usize) -> Self {
        MaterialCache {
            map: Mutex::new(HashMap::new()),
            cap,
        }
    }

    fn get(&self, id: &str) -> Option<Material> {
        self.map.lock().ok().and_then(|m| m.get(id).cloned())
    }

    fn put(&self, id: &str, v: Material) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.cap {
                if let Some(k) = map.keys().next().cloned() {
                    map.remove(&k);
                }
            }
            map.insert(id.to_string(), v);
        }
    }

    pub fn forget(&self, k: &KeyRecord) {
        if let Ok(mut map) = self.map.lock() {
            for mat in &k.materials {
                map.remove(&mat.id);
            }
        }
    }
}

pub(crate) fn material_aad(arn: &str, material_id: &str) -> Vec<u8> {
    format!("rampart-kms-material-v1\0{arn}\0{material_id}").into_bytes()
}

pub(crate) fn check_algorithm(alg: Option<m::EncryptionAlgorithmSpec>) -> R<()> {
    match alg {
        None | Some(m::EncryptionAlgorithmSpec::SymmetricDefault) => Ok(()),
        Some(other) => Err(m::invalid_key_usage_exception(format!(
            "Algorithm {other} is incompatible with key spec SYMMETRIC_DEFAULT."
        ))),
    }
}

/// The symmetric-encryption gate: the key must be a SYMMETRIC_DEFAULT key. AWS words the
/// refusal by what is wrong: the (defaulted) algorithm for an RSA encryption key, the key
/// usage otherwise.
pub(crate) fn require_symmetric(k: &KeyRecord, op: &str) -> R<()> {
    if k.is_symmetric() {
        return Ok(());
    }
    if k.usage == m::KeyUsageType::EncryptDecrypt {
        return Err(m::invalid_key_usage_exception(format!(
            "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec {}.",
            k.spec
        )));
    }
    Err(m::invalid_key_usage_exception(format!(
        "{} key usage is {} which is not valid for {op}.",
        k.arn, k.usage
    )))
}

impl KmsService {
    /// Seals fresh material for key `arn`, returning its record.
    pub(crate) fn seal_material(
        &self,
        arn: &str,
        material: &[u8],
        rotation_type: Option<m::RotationType>,
    ) -> R<MaterialRec> {
        self.seal_material_as(arn, &Uuid::new_v4().to_string(), material, rotation_type)
    }

    /// Seals `material` for key `arn` as material version `id`.
    pub(crate) fn seal_material_as(
        &self,
        arn: &str,
        id: &str,
        material: &[u8],
        rotation_type: Option<m::RotationType>,
    ) -> R<MaterialRec> {
        let wrapped = self
            .root
            .seal(&material_aad(arn, id), material)
            .map_err(|_| internal("seal"))?;
        Ok(MaterialRec {
            id: id.to_string(),
            wrapped: base64::engine::general_purpose::STANDARD.encode(wrapped),
            created: record::now(),
            rotation_type,
        })
    }

    /// One material version of `k`, unwrapped (from the cache when it can).
    pub(crate) fn unwrap_material(&self, k: &KeyRecord, mat: &MaterialRec) -> R<Material> {
        if let Some(v) = self.cache.get(&mat.id) {
            return Ok(v);
        }
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(&mat.wrapped)
            .map_err(|_| internal("material base64"))?;
        let material = self
            .root
            .open(&material_aad(&k.arn, &mat.id), &wrapped)
            .map_err(|_| internal("material open"))?;
        let v: Material = Arc::new(material);
        self.cache.put(&mat.id, v.clone());
        Ok(v)
    }

    /// Encrypts under the (enabled, symmetric) key `raw` names, with its current material.
    pub(crate) fn encrypt_under(
        &self,
        ctx: &RequestContext,
        raw: &str,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
        op: &str,
    ) -> R<(Vec<u8>, Arc<KeyRecord>)> {
        let k = self.lookup(ctx, raw)?;
        let b = self.encrypt_with(&k, context, plaintext, op)?;
        Ok((b, k))
    }

    /// Encrypts under `k` (enabled, symmetric) with its current material, for the operation
    /// `op` (named in the refusal for a key of another usage).
    pub(crate) fn encrypt_with(
        &self,
        k: &KeyRecord,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
        op: &str,
    ) -> R<Vec<u8>> {
        k.require_usable()?;
        require_symmetric(k, op)?;
        let mat = k.current()?;
        let material = self.unwrap_material(k, mat)?;
        let key_id = crate::multiregion::id_bytes(&k.key_id).ok_or_else(|| internal("key id"))?;
        let material_id = Uuid::parse_str(&mat.id).map_err(|_| internal("material id"))?;
        blob::seal(key_id, material_id, &material, context, plaintext)
            .map_err(|_| AwsError::internal())
    }

    /// Decrypts a blob: the key comes from the blob; `key_id`, when given, must name it.
    pub(crate) fn decrypt_blob(
        &self,
        ctx: &RequestContext,
        blob_bytes: &[u8],
        named: Option<Arc<KeyRecord>>,
        context: &BTreeMap<String, String>,
    ) -> R<(Zeroizing<Vec<u8>>, Arc<KeyRecord>)> {
        let header = blob::header(blob_bytes).map_err(|_| invalid_ciphertext())?;
        let ids = crate::multiregion::ids_of(header.key_id);
        if let Some(n) = &named {
            if !ids.contains(&n.key_id) {
                return Err(m::incorrect_key_exception(
                    "The key ID in the request does not identify a CMK that can perform this operation.",
                ));
            }
        }
        let k = match named {
            Some(n) => n,
            None => {
                let mut found = None;
                for id in &ids {
                    match self.lookup(ctx, id) {
                        Ok(k) => {
                            found = Some(k);
                            break;
                        }
                        Err(e) if e.code == "NotFoundException" => {}
                        Err(e) => return Err(e),
                    }
                }
                found.ok_or_else(invalid_ciphertext)?
            }
        };
        k.require_usable()?;
        require_symmetric(&k, "Decrypt")?;
        let mat = k
            .material(&header.material_id.to_string())
            .ok_or_else(invalid_ciphertext)?;
        let material = self.unwrap_material(&k, mat)?;
        let pt = blob::open(blob_bytes, &material, context).map_err(|_| invalid_ciphertext())?;
        Ok((pt, k))
    }

    pub(crate) fn data_key(
        &self,
        ctx: &RequestContext,
        key_id: &str,
        context: Option<&BTreeMap<String, String>>,
        spec: Option<m::DataKeySpec>,
        number_of_bytes: Option<i32>,
        op: &str,
    ) -> R<DataKey> {
        let len = match (spec, number_of_bytes) {
            (Some(m::DataKeySpec::Aes256), None) => 32,
            (Some(m::DataKeySpec::Aes128), None) => 16,
            (None, Some(n)) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| {
                    AwsError::validation(format!(
                        "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
                    ))
                })?,
            _ => {
                return Err(AwsError::validation(
                    "Please specify either number of bytes or key spec.",
                ))
            }
        };
        let mut pt = Zeroizing::new(vec![0u8; len]);
        rampart_core::ids::random_bytes(&mut pt);
        let empty = BTreeMap::new();
        let (b, k) = self.encrypt_under(ctx, key_id, context.unwrap_or(&empty), &pt, op)?;
        Ok((pt, b, k))
    }
}
