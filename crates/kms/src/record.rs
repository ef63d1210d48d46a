//! What KMS stores: keys (with every version of their backing material), aliases, and how a
//! `KeyId` parameter resolves to a key. Also the key-state gates: which error an operation
//! gets for a key in each state, as AWS's key-state table has it.
use crate::{TxR, R};
use rampart_core::{AwsError, RequestContext};
use rampart_model::kms as m;
use rampart_model::Timestamp;
use rampart_store::Tx;
use serde::{Deserialize, Serialize};

pub(crate) const KEYS: &str = "kms_key";
/// `<region>/<key id>` -> the account that owns the key (a ciphertext names its key by id
/// only; a Decrypt from another account that names no key finds the owner here).
pub(crate) const KEY_OWNERS: &str = "kms_key_owner";
pub(crate) const ALIASES: &str = "kms_alias";
/// `account/region/key id/alias name` -> alias name: the aliases of a key without a scan of
/// every alias (the request path reads them for `kms:ResourceAliases`).
const ALIASES_BY_KEY: &str = "kms_alias_by_key";
pub(crate) const ALIAS_PREFIX: &str = "alias/";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TagRec {
    pub key: String,
    pub value: String,
}

/// One version of a key's backing material, sealed under the root key.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct MaterialRec {
    pub id: String,
    /// Sealed material (base64). For asymmetric keys, the private key (PKCS#8 or the
    /// algorithm's own form).
    pub wrapped: String,
    pub created: f64,
    /// `None` for the key's first material; `AUTOMATIC` / `ON_DEMAND` for rotations.
    pub rotation_type: Option<m::RotationType>,
}

impl std::fmt::Debug for MaterialRec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaterialRec")
            .field("id", &self.id)
            .field("created", &self.created)
            .field("rotation_type", &self.rotation_type)
            .finish_non_exhaustive()
    }
}

/// The id AWS shows for a key material (`KeyMaterialId`: 64 lowercase hex digits), from
/// Rampart's internal one (the UUID a ciphertext names).
pub(crate) fn public_material_id(id: &str) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"rampart-kms-key-material\0");
    ctx.update(id.as_bytes());
    rampart_core::ids::hex_lower(ctx.finish().as_ref())
}

/// One key material associated with an `EXTERNAL` key, imported or not (symmetric keys may
/// have several: the first, one per on-demand rotation, and one pending rotation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImportedRec {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `CURRENT`, `NON_CURRENT`, `PENDING_ROTATION` or (a multi-Region primary's, until
    /// every replica has it) `PENDING_MULTI_REGION_IMPORT_AND_ROTATION`.
    pub state: m::KeyMaterialState,
    pub expiration_model: Option<m::ExpirationModelType>,
    pub valid_to: Option<f64>,
    /// The sealed material while imported; `None`: `PENDING_IMPORT` (deleted or expired).
    pub material: Option<MaterialRec>,
    /// When an on-demand rotation made it current.
    #[serde(default)]
    pub rotation_date: Option<f64>,
}

/// Automatic rotation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RotationRec {
    pub period_days: i32,
    /// When the scheduler rotates next (seconds since the epoch).
    pub next: f64,
}

/// A KMS key as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyRecord {
    pub key_id: String,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    /// Seconds since the Unix epoch.
    pub created: f64,
    pub state: m::KeyState,
    pub description: String,
    pub tags: Vec<TagRec>,
    pub policy: String,
    pub spec: m::KeySpec,
    pub usage: m::KeyUsageType,
    /// Every material version, oldest first; the last is current.
    pub materials: Vec<MaterialRec>,
    /// An AWS managed key (`alias/aws/<service>`), created by another Rampart service.
    #[serde(default)]
    pub aws_managed: bool,
    /// When a key pending deletion is deleted.
    #[serde(default)]
    pub deletion_date: Option<f64>,
    #[serde(default)]
    pub pending_window_days: Option<i32>,
    #[serde(default)]
    pub rotation: Option<RotationRec>,
    #[serde(default)]
    pub on_demand_rotations: u32,
    /// `AWS_KMS`, or `EXTERNAL` for imported material.
    #[serde(default = "aws_kms")]
    pub origin: m::OriginType,
    /// The id of the material imported into an `EXTERNAL` key (it may be re-imported, never
    /// replaced by other material).
    #[serde(default)]
    pub imported_id: Option<String>,
    /// When imported material expires.
    #[serde(default)]
    pub valid_to: Option<f64>,
    #[serde(default)]
    pub expiration_model: Option<m::ExpirationModelType>,
    /// For a multi-Region key, its Regions (the same in every copy).
    #[serde(default)]
    pub multi_region: Option<crate::multiregion::MrkRec>,
    /// Every material associated with an `EXTERNAL` key, in the order they were; `materials`,
    /// `imported_id`, `valid_to` and `expiration_model` follow from it
    /// ([`KeyRecord::sync_imported`]).
    #[serde(default)]
    pub imported: Vec<ImportedRec>,
}

fn aws_kms() -> m::OriginType {
    m::OriginType::AwsKms
}

impl KeyRecord {
    pub fn store_key(&self) -> String {
        format!("{}/{}/{}", self.account_id, self.region, self.key_id)
    }

    /// The current material version.
    pub fn current(&self) -> R<&MaterialRec> {
        self.materials
            .last()
            .ok_or_else(|| crate::internal("key has no material"))
    }

    pub fn material(&self, id: &str) -> Option<&MaterialRec> {
        self.materials.iter().find(|x| x.id == id)
    }

    /// The current material's `KeyMaterialId` as responses show it.
    pub fn current_public_id(&self) -> String {
        public_material_id(&self.current_material_id())
    }

    pub fn current_material_id(&self) -> String {
        self.materials
            .last()
            .map(|x| x.id.clone())
            .unwrap_or_default()
    }

    /// Fills `imported` for an `EXTERNAL` key stored before it existed (one material).
    pub fn migrate_imported(&mut self) {
        if !self.imported.is_empty() {
            return;
        }
        if let Some(id) = &self.imported_id {
            self.imported.push(ImportedRec {
                id: id.clone(),
                description: None,
                state: m::KeyMaterialState::Current,
                expiration_model: self.expiration_model,
                valid_to: self.valid_to,
                material: self.materials.first().cloned(),
                rotation_date: None,
            });
        }
    }

    /// Derives the usable materials (non-current ones in order, the current one last), the
    /// current material's id and expiry, and the key state (`PendingImport` exactly while a
    /// material permanently associated with the key, current or not, is not imported, as AWS
    /// documents) from `imported`.
    pub fn sync_imported(&mut self) {
        use m::KeyMaterialState as S;
        let current = self.imported.iter().find(|r| r.state == S::Current);
        let usable = current.is_some()
            && self
                .imported
                .iter()
                .filter(|r| matches!(r.state, S::Current | S::NonCurrent))
                .all(|r| r.material.is_some());
        self.imported_id = current.map(|r| r.id.clone());
        self.valid_to = current.and_then(|r| r.valid_to);
        self.expiration_model = current.and_then(|r| r.expiration_model);
        let mut materials: Vec<MaterialRec> = self
            .imported
            .iter()
            .filter(|r| r.state == S::NonCurrent)
            .filter_map(|r| r.material.clone())
            .collect();
        materials.extend(current.and_then(|r| r.material.clone()));
        self.materials = materials;
        match (usable, self.state) {
            (_, m::KeyState::PendingDeletion) => {}
            (false, _) => self.state = m::KeyState::PendingImport,
            (true, m::KeyState::PendingImport) => self.state = m::KeyState::Enabled,
            _ => {}
        }
    }

    pub fn is_symmetric(&self) -> bool {
        self.spec == m::KeySpec::SymmetricDefault
    }

    /// The key may be used for cryptographic operations.
    pub fn require_usable(&self) -> R<()> {
        match self.state {
            m::KeyState::Enabled => Ok(()),
            m::KeyState::Disabled => {
                Err(m::disabled_exception(format!("{} is disabled.", self.arn)))
            }
            _ => Err(self.invalid_state()),
        }
    }

    /// The key's configuration may change (not pending deletion or import).
    pub fn require_changeable(&self) -> R<()> {
        match self.state {
            m::KeyState::Enabled | m::KeyState::Disabled => Ok(()),
            _ => Err(self.invalid_state()),
        }
    }

    pub fn invalid_state(&self) -> AwsError {
        let what = match self.state {
            m::KeyState::PendingDeletion => "pending deletion",
            m::KeyState::PendingImport => "pending import",
            m::KeyState::Disabled => "disabled",
            m::KeyState::Enabled => "enabled",
            _ => "unavailable",
        };
        m::kms_invalid_state_exception(format!("{} is {what}.", self.arn))
    }

    pub fn tags_model(&self) -> Vec<m::Tag> {
        self.tags
            .iter()
            .map(|t| m::Tag {
                tag_key: t.key.clone(),
                tag_value: t.value.clone(),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AliasRecord {
    pub alias_name: String,
    pub target_key_id: String,
    pub created: f64,
    pub updated: f64,
}

pub(crate) fn scope(ctx: &RequestContext) -> String {
    format!("{}/{}/", ctx.account_id, ctx.region)
}

pub(crate) fn key_arn(ctx: &RequestContext, id: &str) -> String {
    [
        "arn:aws:kms:",
        &ctx.region,
        ":",
        &ctx.account_id,
        ":key/",
        id,
    ]
    .concat()
}

pub(crate) fn alias_arn(ctx: &RequestContext, name: &str) -> String {
    ["arn:aws:kms:", &ctx.region, ":", &ctx.account_id, ":", name].concat()
}

pub(crate) fn key_not_found(what: &str) -> AwsError {
    m::not_found_exception(format!("Key '{what}' does not exist"))
}

pub(crate) fn alias_not_found(arn: &str) -> AwsError {
    m::not_found_exception(format!("Alias {arn} is not found."))
}

pub(crate) fn now() -> f64 {
    Timestamp::now().secs()
}

/// What a `KeyId` parameter names, after checking region and account.
pub(crate) enum KeyRef {
    Id(String),
    Alias(String),
}

pub(crate) fn parse_key_ref(ctx: &RequestContext, raw: &str) -> R<KeyRef> {
    if let Some(rest) = raw.strip_prefix("arn:") {
        // arn:aws:kms:REGION:ACCOUNT:key/ID or ...:alias/NAME
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, region, account, resource] = parts.as_slice() else {
            return Err(m::invalid_arn_exception(format!("Invalid arn {raw}")));
        };
        if *service != "kms" || partition.is_empty() {
            return Err(m::invalid_arn_exception(format!("Invalid arn {raw}")));
        }
        if *region != ctx.region || *account != ctx.account_id {
            return Err(if resource.starts_with(ALIAS_PREFIX) {
                alias_not_found(raw)
            } else {
                key_not_found(raw)
            });
        }
        if let Some(id) = resource.strip_prefix("key/") {
            return Ok(KeyRef::Id(id.to_string()));
        }
        if resource.starts_with(ALIAS_PREFIX) {
            return Ok(KeyRef::Alias(resource.to_string()));
        }
        return Err(m::invalid_arn_exception(format!("Invalid arn {raw}")));
    }
    if raw.starts_with(ALIAS_PREFIX) {
        return Ok(KeyRef::Alias(raw.to_string()));
    }
    Ok(KeyRef::Id(raw.to_string()))
}

/// Finds the key a `KeyId` parameter names (key id, key ARN, alias name or alias ARN).
pub(crate) fn resolve(tx: &mut dyn Tx, ctx: &RequestContext, raw: &str) -> TxR<KeyRecord> {
    let id = match parse_key_ref(ctx, raw)? {
        KeyRef::Id(id) => {
            if !crate::multiregion::valid_id(&id) {
                return Err(m::not_found_exception(format!("Invalid keyId '{raw}'")).into());
            }
            id
        }
        KeyRef::Alias(name) => {
            let a: Option<AliasRecord> = tx.get_json(ALIASES, &format!("{}{name}", scope(ctx)))?;
            match a {
                Some(a) => a.target_key_id,
                None => return Err(alias_not_found(&alias_arn(ctx, &name)).into()),
            }
        }
    };
    let rec: Option<KeyRecord> = tx.get_json(KEYS, &format!("{}{id}", scope(ctx)))?;
    rec.ok_or_else(|| key_not_found(&key_arn(ctx, &id)).into())
}

/// Finds a key by id only (ciphertext blobs name their key by id).
pub(crate) fn by_id(tx: &mut dyn Tx, ctx: &RequestContext, id: &str) -> TxR<Option<KeyRecord>> {
    Ok(tx.get_json(KEYS, &format!("{}{id}", scope(ctx)))?)
}

/// The aliases that point at `key_id`.
pub(crate) fn aliases_of(
    tx: &mut dyn Tx,
    ctx: &RequestContext,
    key_id: &str,
) -> TxR<Vec<AliasRecord>> {
    let names = tx.scan(
        ALIASES_BY_KEY,
        &format!("{}{key_id}/", scope(ctx)),
        None,
        crate::MAX_SCAN,
    )?;
    let mut out = Vec::with_capacity(names.len());
    for (_, name) in names {
        let name = String::from_utf8_lossy(&name).into_owned();
        if let Some(a) = tx.get_json::<AliasRecord>(ALIASES, &format!("{}{name}", scope(ctx)))? {
            if a.target_key_id == key_id {
                out.push(a);
            }
        }
    }
    Ok(out)
}

fn alias_index_key(ctx: &RequestContext, key_id: &str, name: &str) -> String {
    format!("{}{key_id}/{name}", scope(ctx))
}

/// Stores an alias and its entry in the by-key index (moving it from the key it pointed at).
pub(crate) fn put_alias(tx: &mut dyn Tx, ctx: &RequestContext, a: &AliasRecord) -> TxR<()> {
    let key = format!("{}{}", scope(ctx), a.alias_name);
    if let Some(old) = tx.get_json::<AliasRecord>(ALIASES, &key)? {
        tx.delete(
            ALIASES_BY_KEY,
            &alias_index_key(ctx, &old.target_key_id, &old.alias_name),
        )?;
    }
    tx.put_json(ALIASES, &key, a)?;
    tx.put(
        ALIASES_BY_KEY,
        &alias_index_key(ctx, &a.target_key_id, &a.alias_name),
        a.alias_name.as_bytes(),
    )?;
    Ok(())
}

/// Deletes an alias and its index entry; whether it existed.
pub(crate) fn delete_alias(tx: &mut dyn Tx, ctx: &RequestContext, name: &str) -> TxR<bool> {
    let key = format!("{}{name}", scope(ctx));
    let Some(old) = tx.get_json::<AliasRecord>(ALIASES, &key)? else {
        return Ok(false);
    };
    tx.delete(
        ALIASES_BY_KEY,
        &alias_index_key(ctx, &old.target_key_id, name),
    )?;
    Ok(tx.delete(ALIASES, &key)?)
}

pub(crate) fn put_key(tx: &mut dyn Tx, k: &KeyRecord) -> TxR<()> {
    tx.put_json(KEYS, &k.store_key(), k)?;
    tx.put_json(
        KEY_OWNERS,
        &format!("{}/{}", k.region, k.key_id),
        &k.account_id,
    )?;
    Ok(())
}

pub(crate) fn metadata(k: &KeyRecord) -> m::KeyMetadata {
    let algs = crate::algorithms::for_spec(k.spec, k.usage);
    m::KeyMetadata {
        aws_account_id: Some(k.account_id.clone()),
        key_id: k.key_id.clone(),
        arn: Some(k.arn.clone()),
        creation_date: Some(Timestamp(k.created)),
        enabled: Some(k.state == m::KeyState::Enabled),
        description: Some(k.description.clone()),
        key_usage: Some(k.usage),
        key_state: Some(k.state),
        deletion_date: k.deletion_date.map(Timestamp),
        origin: Some(k.origin),
        valid_to: k.valid_to.map(Timestamp),
        expiration_model: k.expiration_model,
        key_manager: Some(if k.aws_managed {
            m::KeyManagerType::Aws
        } else {
            m::KeyManagerType::Customer
        }),
        customer_master_key_spec: k.spec.as_str().parse::<m::CustomerMasterKeySpec>().ok(),
        key_spec: Some(k.spec),
        encryption_algorithms: algs.encryption,
        signing_algorithms: algs.signing,
        key_agreement_algorithms: algs.agreement,
        encapsulation_algorithms: (k.usage == m::KeyUsageType::EncapsulateDecapsulate)
            .then(|| vec![m::EncapsulationAlgorithmSpec::MlKem]),
        mac_algorithms: algs.mac,
        multi_region: Some(k.multi_region.is_some()),
        multi_region_configuration: crate::multiregion::configuration(k),
        pending_deletion_window_in_days: k.pending_window_days,
        current_key_material_id: if k.origin == m::OriginType::External {
            k.imported_id.as_deref().map(public_material_id)
        } else {
            Some(k.current_material_id())
                .filter(|id| !id.is_empty())
                .map(|id| public_material_id(&id))
        },
        ..Default::default()
    }
}
