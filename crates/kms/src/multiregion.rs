//! Multi-Region keys: `mrk-` ids, one record per Region holding the same material (each copy
//! sealed for its own ARN), `ReplicateKey` into the Regions this node serves,
//! `UpdatePrimaryRegion`. A ciphertext made in one Region decrypts in any Region that holds a
//! replica, because blobs name keys by id and material id, never by Region.
use crate::record::{key_arn, metadata, now, resolve, ImportedRec, KeyRecord, TagRec, KEYS};
use crate::{internal, KmsError, KmsService, TxR, R};
use rampart_core::{AwsError, RequestContext};
use rampart_model::kms as m;
use rampart_store::Tx;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The Regions of a multi-Region key, the same in every copy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct MrkRec {
    pub primary_region: String,
    /// Every Region holding a copy, the primary included.
    pub regions: Vec<String>,
}

/// A new multi-Region key id: `mrk-` and 32 hex digits.
pub(crate) fn new_id() -> String {
    format!("mrk-{}", Uuid::new_v4().simple())
}

/// The 16 bytes a key id puts in a ciphertext blob (UUID ids and `mrk-` ids alike).
pub(crate) fn id_bytes(key_id: &str) -> Option<Uuid> {
    match key_id.strip_prefix("mrk-") {
        Some(hex) if hex.len() == 32 => Uuid::parse_str(hex).ok(),
        Some(_) => None,
        None => Uuid::parse_str(key_id).ok(),
    }
}

/// The ids a blob's 16 key-id bytes may stand for.
pub(crate) fn ids_of(u: Uuid) -> [String; 2] {
    let mut buf = Uuid::encode_buffer();
    let id = u.hyphenated().encode_lower(&mut buf).to_string();
    let mrk = ["mrk-", u.simple().encode_lower(&mut buf)].concat();
    [id, mrk]
}

/// Whether `id` is well-formed (a UUID or `mrk-` and 32 hex digits).
pub(crate) fn valid_id(id: &str) -> bool {
    id_bytes(id).is_some()
}

fn regional_ctx(ctx: &RequestContext, region: &str) -> RequestContext {
    let mut c = ctx.clone();
    c.region = region.to_string();
    c
}

pub(crate) fn copies(tx: &mut dyn Tx, k: &KeyRecord) -> TxR<Vec<KeyRecord>> {
    let Some(mrk) = &k.multi_region else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for r in &mrk.regions {
        let key = format!("{}/{r}/{}", k.account_id, k.key_id);
        if let Some(c) = tx.get_json::<KeyRecord>(KEYS, &key)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// `k` and, for a multi-Region key, every related copy (read in `tx`), with the index of `k`.
pub(crate) fn with_copies(tx: &mut dyn Tx, k: KeyRecord) -> TxR<(Vec<KeyRecord>, usize)> {
    let mut set = copies(tx, &k)?;
    let me = match set.iter().position(|c| c.region == k.region) {
        Some(i) => i,
        None => {
            set.push(k);
            set.len() - 1
        }
    };
    Ok((set, me))
}

/// Whether `k` is the replica of a multi-Region key.
pub(crate) fn is_replica(k: &KeyRecord) -> bool {
    k.multi_region
        .as_ref()
        .is_some_and(|m| m.primary_region != k.region)
}

/// Brings the imported-material associations of related multi-Region keys in line (`copies`
/// is every copy, read in one transaction): each replica knows every material its primary has
/// associated (without the material itself: each related key imports its own copy), a
/// replica's pending material shows `PENDING_ROTATION`, and the primary's shows
/// `PENDING_MULTI_REGION_IMPORT_AND_ROTATION` until every replica has imported it, then
/// `PENDING_ROTATION`. Key states follow ([`KeyRecord::sync_imported`]).
pub(crate) fn settle_imported(copies: &mut [KeyRecord]) {
    use m::KeyMaterialState as S;
    let Some(p) = copies.iter().position(|c| !is_replica(c)) else {
        return;
    };
    if copies[p].origin != m::OriginType::External {
        return;
    }
    for c in copies.iter_mut() {
        c.migrate_imported();
    }
    let primary = copies[p].imported.clone();
    for (i, c) in copies.iter_mut().enumerate() {
        if i == p {
            continue;
        }
        for rec in &primary {
            if c.imported.iter().any(|r| r.id == rec.id) {
                continue;
            }
            c.imported.push(ImportedRec {
                id: rec.id.clone(),
                description: rec.description.clone(),
                state: rec.state,
                expiration_model: None,
                valid_to: None,
                material: None,
                rotation_date: rec.rotation_date,
            });
        }
        for r in &mut c.imported {
            if r.state == S::PendingMultiRegionImportAndRotation {
                r.state = S::PendingRotation;
            }
        }
    }
    let held = |id: &str, copies: &[KeyRecord]| {
        copies.iter().enumerate().all(|(i, c)| {
            i == p
                || c.imported
                    .iter()
                    .any(|r| r.id == id && r.material.is_some())
        })
    };
    let pending: Vec<(usize, bool)> = copies[p]
        .imported
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            matches!(
                r.state,
                S::PendingRotation | S::PendingMultiRegionImportAndRotation
            )
        })
        .map(|(j, r)| (j, held(&r.id, copies)))
        .collect();
    for (j, everywhere) in pending {
        copies[p].imported[j].state = if everywhere {
            S::PendingRotation
        } else {
            S::PendingMultiRegionImportAndRotation
        };
    }
    for c in copies.iter_mut() {
        c.sync_imported();
    }
}

pub(crate) fn configuration(k: &KeyRecord) -> Option<m::MultiRegionConfiguration> {
    let mrk = k.multi_region.as_ref()?;
    let arn_in = |r: &str| format!("arn:aws:kms:{r}:{}:key/{}", k.account_id, k.key_id);
    Some(m::MultiRegionConfiguration {
        multi_region_key_type: Some(if mrk.primary_region == k.region {
            m::MultiRegionKeyType::Primary
        } else {
            m::MultiRegionKeyType::Replica
        }),
        primary_key: Some(m::MultiRegionKey {
            arn: Some(arn_in(&mrk.primary_region)),
            region: Some(mrk.primary_region.clone()),
        }),
        replica_keys: Some(
            mrk.regions
                .iter()
                .filter(|r| **r != mrk.primary_region)
                .map(|r| m::MultiRegionKey {
                    arn: Some(arn_in(r)),
                    region: Some(r.clone()),
                })
                .collect(),
        ),
    })
}

impl KmsService {
    /// Regions this node serves (replicas go only there).
    pub fn with_regions(mut self, regions: Vec<String>) -> Self {
        self.regions = regions;
        self
    }

    fn require_mrk(k: &KeyRecord) -> R<&MrkRec> {
        k.multi_region.as_ref().ok_or_else(|| {
            m::unsupported_operation_exception(format!("{} is not a multi-Region key.", k.arn))
        })
    }

    pub(crate) fn replicate(
        &self,
        ctx: &RequestContext,
        input: m::ReplicateKeyRequest,
    ) -> R<m::ReplicateKeyResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        let mrk = Self::require_mrk(&k)?.clone();
        if mrk.primary_region != k.region {
            return Err(m::unsupported_operation_exception(format!(
                "{} is not a primary key; replicate the primary key in {}.",
                k.arn, mrk.primary_region
            )));
        }
        // A primary with imported material may be replicated before its import.
        if !(k.origin == m::OriginType::External && k.state == m::KeyState::PendingImport) {
            k.require_changeable()?;
        }
        let region = input.replica_region.clone();
        if region == k.region {
            return Err(AwsError::validation(format!(
                "The replica Region {region} is the Region of the primary key."
            )));
        }
        if !self.regions.contains(&region) {
            return Err(AwsError::validation(format!(
                "Region {region} is not served by this Rampart node."
            )));
        }
        let rctx = regional_ctx(ctx, &region);
        let policy = match input.policy {
            Some(p) => {
                crate::lifecycle::check_policy(
                    ctx,
                    &p,
                    input.bypass_policy_lockout_safety_check != Some(true),
                )?;
                p
            }
            None => crate::lifecycle::default_policy(&ctx.account_id),
        };
        let arn = key_arn(&rctx, &k.key_id);
        // A key with imported material: the replica starts without any (PendingImport); the
        // same material is imported into each related key, as on AWS.
        let external = k.origin == m::OriginType::External;
        let mut materials = Vec::new();
        if !external {
            for mat in &k.materials {
                let plain = self.unwrap_material(&k, mat)?;
                materials.push(self.seal_material_as(&arn, &mat.id, &plain, mat.rotation_type)?);
            }
        }
        let tags: Vec<TagRec> = input
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| TagRec {
                key: t.tag_key,
                value: t.tag_value,
            })
            .collect();
        let replica = KeyRecord {
            arn,
            region: region.clone(),
            created: now(),
            description: input.description.unwrap_or_else(|| k.description.clone()),
            tags,
            policy,
            materials,
            deletion_date: None,
            pending_window_days: None,
            state: if external {
                m::KeyState::PendingImport
            } else if k.state == m::KeyState::Disabled {
                m::KeyState::Disabled
            } else {
                m::KeyState::Enabled
            },
            imported: Vec::new(),
            imported_id: None,
            valid_to: None,
            expiration_model: None,
            ..KeyRecord::clone(&k)
        };
        let ctx2 = ctx.clone();
        let key_ref = k.key_id.clone();
        let saved = self.write(move |tx| {
            let primary = resolve(tx, &ctx2, &key_ref)?;
            if tx
                .get_json::<KeyRecord>(KEYS, &replica.store_key())?
                .is_some()
            {
                return Err(m::already_exists_exception(format!(
                    "A replica of {} already exists in {}.",
                    primary.arn, replica.region
                ))
                .into());
            }
            let mut mrk = primary
                .multi_region
                .clone()
                .ok_or_else(|| KmsError::Aws(internal("multi-Region record")))?;
            mrk.regions.push(replica.region.clone());
            let mut replica = replica;
            replica.multi_region = Some(mrk.clone());
            let mut all = copies(tx, &primary)?;
            all.push(replica);
            for c in &mut all {
                c.multi_region = Some(mrk.clone());
            }
            // The replica learns the materials its primary has associated (to import each).
            settle_imported(&mut all);
            for c in &all {
                crate::record::put_key(tx, c)?;
            }
            all.pop()
                .ok_or_else(|| KmsError::Aws(internal("replica record")))
        })?;
        Ok(m::ReplicateKeyResponse {
            replica_key_metadata: Some(metadata(&saved)),
            replica_policy: Some(saved.policy.clone()),
            replica_tags: Some(saved.tags_model()),
        })
    }

    pub(crate) fn update_primary(
        &self,
        ctx: &RequestContext,
        input: m::UpdatePrimaryRegionRequest,
    ) -> R<()> {
        let ctx2 = ctx.clone();
        self.write(move |tx| {
            let k = resolve(tx, &ctx2, &input.key_id)?;
            let mut mrk = Self::require_mrk(&k)?.clone();
            if mrk.primary_region != k.region {
                return Err(m::unsupported_operation_exception(format!(
                    "{} is not a primary key.",
                    k.arn
                ))
                .into());
            }
            k.require_changeable()?;
            if !mrk.regions.contains(&input.primary_region) {
                return Err(m::not_found_exception(format!(
                    "{} has no replica in {}.",
                    k.arn, input.primary_region
                ))
                .into());
            }
            mrk.primary_region = input.primary_region.clone();
            let mut all = copies(tx, &k)?;
            for c in &mut all {
                c.multi_region = Some(mrk.clone());
            }
            settle_imported(&mut all);
            for c in &all {
                crate::record::put_key(tx, c)?;
            }
            Ok(())
        })
    }

    /// After a rotation of a multi-Region key, gives every replica the new material (sealed
    /// for the replica's ARN).
    pub(crate) fn propagate_material(&self, ctx: &RequestContext, key_id: &str) -> R<()> {
        let k = self.lookup(ctx, key_id)?;
        let Some(mrk) = &k.multi_region else {
            return Ok(());
        };
        let Ok(newest) = k.current() else {
            return Ok(());
        };
        let plain = self.unwrap_material(&k, newest)?;
        for r in mrk.regions.iter().filter(|r| **r != k.region) {
            let rctx = regional_ctx(ctx, r);
            let sealed = self.seal_material_as(
                &key_arn(&rctx, &k.key_id),
                &newest.id,
                &plain,
                newest.rotation_type,
            )?;
            let key = format!("{}/{r}/{}", k.account_id, k.key_id);
            let rotation = k.rotation.clone();
            self.write(move |tx| {
                if let Some(mut c) = tx.get_json::<KeyRecord>(KEYS, &key)? {
                    if c.material(&sealed.id).is_none() {
                        c.materials.push(sealed);
                    }
                    c.rotation = rotation;
                    crate::record::put_key(tx, &c)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// A deleted copy leaves the other copies' Region lists.
    pub(crate) fn forget_region(tx: &mut dyn Tx, k: &KeyRecord) -> TxR<()> {
        let Some(mrk) = &k.multi_region else {
            return Ok(());
        };
        let mut mrk = mrk.clone();
        mrk.regions.retain(|r| *r != k.region);
        let mut rest: Vec<KeyRecord> = copies(tx, k)?
            .into_iter()
            .filter(|c| c.region != k.region)
            .collect();
        for c in &mut rest {
            c.multi_region = Some(mrk.clone());
        }
        // Material pending in the primary may now be held by every remaining replica.
        settle_imported(&mut rest);
        for c in &rest {
            crate::record::put_key(tx, c)?;
        }
        Ok(())
    }
}
