//! Replication to other regions of the same account: a replica is a read-only copy of the
//! primary (same name, same ARN suffix, the replica's region) whose versions are encrypted
//! under a KMS key of the replica's region. Every change to the primary is copied to its
//! replicas right after it is stored.
use crate::record::{ReplicaRec, SecretRec};
use crate::{find, not_found, rkey, skey, SecretsService, R, SECRETS};
use rampart_core::{AwsError, RequestContext};
use rampart_model::secretsmanager as m;
use rampart_store::Tx;

const IN_SYNC: &str = "InSync";
const FAILED: &str = "Failed";
const IN_PROGRESS: &str = "InProgress";

pub(crate) fn on_replica() -> AwsError {
    m::invalid_parameter_exception(
        "Operation not permitted on a replica secret. Call must be made in primary secret's region.",
    )
}

pub(crate) fn has_replicas(rec: &SecretRec) -> AwsError {
    let regions: Vec<&str> = rec.replicas.iter().map(|r| r.region.as_str()).collect();
    m::invalid_parameter_exception(format!(
        "You can't delete secret {} that still has replica regions [{}]",
        rec.name,
        regions.join(",")
    ))
}

/// `PrimaryRegion` as DescribeSecret shows it: on a replica and on a replicated primary.
pub(crate) fn primary_region(rec: &SecretRec) -> Option<String> {
    match &rec.primary_region {
        Some(p) => Some(p.clone()),
        None if !rec.replicas.is_empty() => Some(rec.region.clone()),
        None => None,
    }
}

pub(crate) fn statuses(rec: &SecretRec) -> Option<Vec<m::ReplicationStatusType>> {
    if rec.replicas.is_empty() {
        return None;
    }
    Some(
        rec.replicas
            .iter()
            .map(|r| m::ReplicationStatusType {
                region: Some(r.region.clone()),
                kms_key_id: Some(
                    r.kms_key_id
                        .clone()
                        .unwrap_or_else(|| "alias/aws/secretsmanager".to_string()),
                ),
                status: Some(crate::xaccount::status(&r.status)),
                status_message: r.status_message.clone(),
                last_accessed_date: None,
            })
            .collect(),
    )
}

fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts
            .first()
            .is_some_and(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Checks AddReplicaRegions: valid names, not the caller's region, no repeats.
/// Replica regions: valid names, not the primary's, no repeats, and (when `served` is not
/// empty) regions this node serves.
pub(crate) fn check_regions(
    ctx: &RequestContext,
    served: &[String],
    regions: &[m::ReplicaRegionType],
) -> R<()> {
    let mut seen = Vec::new();
    for r in regions {
        let region = r.region.as_deref().unwrap_or_default();
        if !valid_region(region) || region == ctx.region || seen.contains(&region) {
            return Err(m::invalid_parameter_exception("Invalid replica region."));
        }
        if !served.is_empty() && !served.iter().any(|s| s == region) {
            return Err(m::invalid_parameter_exception(format!(
                "Invalid replica region: this Rampart node does not serve {region}."
            )));
        }
        seen.push(region);
    }
    Ok(())
}

fn replica_arn(primary_arn: &str, region: &str) -> String {
    let mut parts: Vec<&str> = primary_arn.splitn(5, ':').collect();
    if let Some(p) = parts.get_mut(3) {
        *p = region;
    }
    parts.join(":")
}

fn in_region(ctx: &RequestContext, region: &str) -> RequestContext {
    let mut c = ctx.clone();
    c.region = region.to_string();
    c
}

impl SecretsService {
    /// Adds replica regions to the primary `arn` and copies it there.
    pub(crate) fn add_replicas(
        &self,
        ctx: &RequestContext,
        arn: &str,
        regions: Vec<m::ReplicaRegionType>,
        force: bool,
    ) -> R<Option<Vec<m::ReplicationStatusType>>> {
        let (account, region, raw) = (ctx.account_id.clone(), ctx.region.clone(), arn.to_string());
        self.write(move |tx: &mut dyn Tx| {
            let mut rec = find(tx, &account, &region, &raw)?.ok_or_else(not_found)?;
            if rec.primary_region.is_some() {
                return Err(on_replica().into());
            }
            for r in regions {
                let Some(dest) = r.region else { continue };
                if rec.replicas.iter().any(|x| x.region == dest) {
                    continue;
                }
                let dest_key = skey(&account, &dest, &rec.name);
                if force {
                    let other: Option<SecretRec> = tx.get_json(SECRETS, &dest_key)?;
                    if other.is_some_and(|o| o.arn != replica_arn(&rec.arn, &dest)) {
                        tx.delete(SECRETS, &dest_key)?;
                    }
                }
                rec.replicas.push(ReplicaRec {
                    region: dest,
                    kms_key_id: r.kms_key_id,
                    status: IN_PROGRESS.to_string(),
                    status_message: None,
                });
            }
            rec.revision += 1;
            tx.put_json(SECRETS, &rkey(&rec), &rec)?;
            Ok(())
        })?;
        self.sync_replicas(ctx, arn);
        Ok(statuses(&self.load(ctx, arn)?))
    }

    /// Copies the primary `arn` to its replica regions and its cross-account replica.
    pub(crate) fn sync_all_replicas(&self, ctx: &RequestContext, arn: &str) {
        self.sync_replicas(ctx, arn);
        self.sync_cross_account(&ctx.account_id, &ctx.region, arn);
    }

    /// Copies the primary `arn` to each of its replica regions and records the outcome.
    pub(crate) fn sync_replicas(&self, ctx: &RequestContext, arn: &str) {
        let Ok(primary) = self.load(ctx, arn) else {
            return;
        };
        let mut outcome: Vec<(String, &str, String)> = Vec::new();
        for rep in &primary.replicas {
            let rctx = in_region(ctx, &rep.region);
            let dest_key = skey(&primary.account_id, &rep.region, &primary.name);
            let r_arn = replica_arn(&primary.arn, &rep.region);
            let dk = dest_key.clone();
            let existing: Option<SecretRec> =
                match self.read(|tx| Ok(tx.get_json::<SecretRec>(SECRETS, &dk)?)) {
                    Ok(e) => e,
                    Err(_) => continue,
                };
            if existing.as_ref().is_some_and(|e| e.arn != r_arn) {
                outcome.push((
                    rep.region.clone(),
                    FAILED,
                    format!(
                        "Replication failed: Secret name {} already exists in the destination Region.",
                        primary.name
                    ),
                ));
                continue;
            }
            let mut versions = Vec::new();
            let mut failed = None;
            for v in &primary.versions {
                let mut nv = v.clone();
                nv.ciphertext = None;
                nv.kms_key_arn = None;
                if v.ciphertext.is_some() {
                    let kept = existing
                        .as_ref()
                        .and_then(|e| e.version(&v.id))
                        .filter(|ev| ev.ciphertext.is_some());
                    if let Some(ev) = kept {
                        nv.ciphertext = ev.ciphertext.clone();
                        nv.kms_key_arn = ev.kms_key_arn.clone();
                    } else {
                        let sealed = self.open(ctx, &primary.arn, v).and_then(|pt| {
                            self.seal(&rctx, rep.kms_key_id.as_deref(), &r_arn, &v.id, &pt)
                        });
                        match sealed {
                            Ok((ct, key_arn)) => {
                                nv.ciphertext = Some(ct);
                                nv.kms_key_arn = Some(key_arn);
                            }
                            Err(e) => {
                                failed = Some(e.message);
                                break;
                            }
                        }
                    }
                }
                versions.push(nv);
            }
            if let Some(msg) = failed {
                outcome.push((
                    rep.region.clone(),
                    FAILED,
                    format!("Replication failed: {msg}"),
                ));
                continue;
            }
            let replica = SecretRec {
                name: primary.name.clone(),
                arn: r_arn.clone(),
                account_id: primary.account_id.clone(),
                region: rep.region.clone(),
                description: primary.description.clone(),
                kms_key_id: rep.kms_key_id.clone(),
                tags: primary.tags.clone(),
                created: existing.as_ref().map_or(primary.created, |e| e.created),
                last_changed: primary.last_changed,
                last_accessed: existing.as_ref().and_then(|e| e.last_accessed),
                deletion_date: None,
                policy: None,
                rotation: Default::default(),
                r#type: primary.r#type.clone(),
                versions,
                replicas: Vec::new(),
                primary_region: Some(primary.region.clone()),
                revision: primary.revision,
                cross_account_primary: None,
                cross_account_replica: None,
            };
            let stored = self.write(move |tx: &mut dyn Tx| {
                let cur: Option<SecretRec> = tx.get_json(SECRETS, &dest_key)?;
                match cur {
                    Some(c) if c.arn != r_arn => return Ok(false),
                    // A newer copy is already there.
                    Some(c) if c.revision > replica.revision => return Ok(true),
                    _ => {}
                }
                tx.put_json(SECRETS, &dest_key, &replica)?;
                Ok(true)
            });
            outcome.push(match stored {
                Ok(true) => (
                    rep.region.clone(),
                    IN_SYNC,
                    "Replication succeeded".to_string(),
                ),
                _ => (
                    rep.region.clone(),
                    FAILED,
                    "Replication failed: the replica could not be stored.".to_string(),
                ),
            });
        }
        let key = rkey(&primary);
        let r = self.write(move |tx: &mut dyn Tx| {
            let Some(mut rec) = tx.get_json::<SecretRec>(SECRETS, &key)? else {
                return Ok(());
            };
            let mut changed = false;
            for (region, status, msg) in outcome {
                if let Some(r) = rec.replicas.iter_mut().find(|r| r.region == region) {
                    if r.status != status || r.status_message.as_deref() != Some(msg.as_str()) {
                        r.status = status.to_string();
                        r.status_message = Some(msg);
                        changed = true;
                    }
                }
            }
            if changed {
                tx.put_json(SECRETS, &key, &rec)?;
            }
            Ok(())
        });
        if let Err(e) = r {
            tracing::warn!(secret = %arn, code = %e.code, "replication status not stored");
        }
    }

    /// RemoveRegionsFromReplication: forgets the regions and deletes their replicas.
    pub(crate) fn remove_replicas(
        &self,
        ctx: &RequestContext,
        raw: &str,
        regions: Vec<String>,
    ) -> R<(String, Option<Vec<m::ReplicationStatusType>>)> {
        let (account, region, raw) = (ctx.account_id.clone(), ctx.region.clone(), raw.to_string());
        self.write(move |tx: &mut dyn Tx| {
            let mut rec = find(tx, &account, &region, &raw)?.ok_or_else(not_found)?;
            if rec.primary_region.is_some() {
                return Err(on_replica().into());
            }
            for r in &regions {
                if !rec.replicas.iter().any(|x| x.region == *r) {
                    return Err(m::invalid_parameter_exception("Invalid replica region.").into());
                }
            }
            for r in &regions {
                let dest_key = skey(&account, r, &rec.name);
                let other: Option<SecretRec> = tx.get_json(SECRETS, &dest_key)?;
                if other.is_some_and(|o| o.arn == replica_arn(&rec.arn, r)) {
                    tx.delete(SECRETS, &dest_key)?;
                }
            }
            rec.replicas.retain(|x| !regions.contains(&x.region));
            tx.put_json(SECRETS, &rkey(&rec), &rec)?;
            Ok((rec.arn.clone(), statuses(&rec)))
        })
    }

    /// StopReplicationToReplica, called in the replica's region: the replica becomes a
    /// standalone secret and the primary forgets it.
    pub(crate) fn promote_replica(&self, ctx: &RequestContext, raw: &str) -> R<String> {
        let (account, region, raw) = (ctx.account_id.clone(), ctx.region.clone(), raw.to_string());
        self.write(move |tx: &mut dyn Tx| {
            let mut rec = find(tx, &account, &region, &raw)?.ok_or_else(not_found)?;
            let Some(primary_region) = rec.primary_region.take() else {
                return Err(m::invalid_request_exception(
                    "This operation is only valid on a replica secret.",
                )
                .into());
            };
            let pkey = skey(&account, &primary_region, &rec.name);
            if let Some(mut p) = tx.get_json::<SecretRec>(SECRETS, &pkey)? {
                p.replicas.retain(|x| x.region != region);
                tx.put_json(SECRETS, &pkey, &p)?;
            }
            tx.put_json(SECRETS, &rkey(&rec), &rec)?;
            Ok(rec.arn)
        })
    }
}
