//! Replication to a secret of another account. The replica account's owner creates the
//! replica (`CreateSecret` with `CrossAccountPrimaryARN` and a customer managed key): it has no
//! value and a resource policy that lets the primary's account accept replication into it.
//! The primary account's owner then calls `AssociateCrossAccountReplica`, which checks, as the
//! caller, `secretsmanager:GetSecretValue` and the primary key's `kms:Decrypt` on the primary
//! and `secretsmanager:AcceptCrossAccountReplication` on the replica (its resource policy and
//! the caller's identity policies: both sides), then copies every version of the primary into
//! the replica, encrypted under the replica's key, and again after every change of the
//! primary. The replica's value is read-only; its policy, tags, description and lifecycle are
//! its own. `DisassociateCrossAccountReplica` stops replication; the replica keeps the values
//! it has and becomes a standalone secret.
use crate::record::{CrossPrimaryRec, CrossReplicaRec, SecretRec, VersionRec};
use crate::{find, not_found, rkey, service_ctx, SecretsService, R, SECRETS};
use rampart_core::{AwsError, RequestContext, ResourceAccess};
use rampart_model::secretsmanager as m;
use rampart_store::Tx;

const IN_SYNC: &str = "InSync";
const FAILED: &str = "Failed";
const IN_PROGRESS: &str = "InProgress";
const PENDING: &str = "Pending";
const DETACHED: &str = "Detached";
/// The name AWS gives the resource policy a new replica starts with.
pub(crate) const REPLICA_POLICY: &str = "cross-account-replication";

/// Which account answers for which organization (set by the binary from Organizations).
pub type OrgOf = dyn Fn(&str) -> Option<String> + Send + Sync;

pub(crate) fn status(s: &str) -> m::StatusType {
    match s {
        IN_SYNC => m::StatusType::InSync,
        FAILED => m::StatusType::Failed,
        PENDING => m::StatusType::Pending,
        DETACHED => m::StatusType::Detached,
        _ => m::StatusType::InProgress,
    }
}

/// `(region, account)` of a secret ARN.
fn arn_parts(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:secretsmanager:")?;
    let mut it = rest.splitn(4, ':');
    let (region, account, kind) = (it.next()?, it.next()?, it.next()?);
    let name = it.next()?;
    (kind == "secret"
        && !name.is_empty()
        && rampart_core::ids::is_account_id(account)
        && !region.is_empty())
    .then_some((region, account))
}

/// Refusal of a value change on a cross-account replica.
pub(crate) fn on_replica() -> AwsError {
    m::invalid_request_exception(
        "You can't change the value of a cross-account replica secret. Change the primary secret instead.",
    )
}

/// Checks `CreateSecret`'s `CrossAccountPrimaryARN` (and what may go with it) and returns the
/// link, with the resource policy the replica starts with.
pub(crate) fn check_create(
    ctx: &RequestContext,
    primary: &str,
    input: &m::CreateSecretRequest,
) -> R<CrossPrimaryRec> {
    let Some((region, account)) = arn_parts(primary) else {
        return Err(m::invalid_parameter_exception(
            "CrossAccountPrimaryARN must be the ARN of a secret.",
        ));
    };
    if region != ctx.region {
        return Err(m::invalid_parameter_exception(
            "The primary secret must be in the same Region as the replica secret.",
        ));
    }
    if account == ctx.account_id {
        return Err(m::invalid_parameter_exception(
            "The primary secret must be in a different account than the replica secret.",
        ));
    }
    for (given, what) in [
        (input.secret_string.is_some(), "SecretString"),
        (input.secret_binary.is_some(), "SecretBinary"),
        (input.description.is_some(), "Description"),
        (input.r#type.is_some(), "Type"),
    ] {
        if given {
            return Err(m::invalid_parameter_exception(format!(
                "You can't specify {what} for a cross-account replica secret: it comes from the primary secret."
            )));
        }
    }
    if input
        .add_replica_regions
        .as_ref()
        .is_some_and(|r| !r.is_empty())
    {
        return Err(m::invalid_parameter_exception(
            "You can't replicate a cross-account replica secret to other Regions.",
        ));
    }
    let key = input.kms_key_id.as_deref().unwrap_or("");
    if key.is_empty() || key == "alias/aws/secretsmanager" {
        return Err(m::invalid_parameter_exception(
            "A cross-account replica secret must be encrypted with a customer managed KMS key: the AWS managed key aws/secretsmanager does not support cross-account access.",
        ));
    }
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowCrossAccountReplication",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "secretsmanager:AcceptCrossAccountReplication",
            "Resource": "*"
        }]
    })
    .to_string();
    Ok(CrossPrimaryRec {
        primary_arn: primary.to_string(),
        status: Some(PENDING.to_string()),
        status_message: None,
        policy,
        revision: 0,
    })
}

impl SecretsService {
    fn check_as_caller(&self, ctx: &RequestContext, access: ResourceAccess) -> R<()> {
        match &self.access {
            Some(c) => c.check(ctx, &access),
            None => Ok(()),
        }
    }

    pub(crate) fn associate_cross_account(
        &self,
        ctx: &RequestContext,
        input: m::AssociateCrossAccountReplicaRequest,
    ) -> R<m::AssociateCrossAccountReplicaResponse> {
        let primary = self.load_live(ctx, &input.secret_id)?;
        if primary.primary_region.is_some() {
            return Err(crate::replication::on_replica());
        }
        if primary.cross_account_primary.is_some() {
            return Err(m::invalid_request_exception(
                "A cross-account replica secret can't be the primary of another replica.",
            ));
        }
        let replica_arn = input.cross_account_replica_arn.clone();
        let Some((region, account)) = arn_parts(&replica_arn) else {
            return Err(m::invalid_parameter_exception(
                "CrossAccountReplicaARN must be the ARN of a secret.",
            ));
        };
        let (region, account) = (region.to_string(), account.to_string());
        if region != ctx.region {
            return Err(m::invalid_parameter_exception(
                "The primary and replica secrets must be in the same Region.",
            ));
        }
        if account == ctx.account_id {
            return Err(m::invalid_parameter_exception(
                "The replica secret must be in a different account than the primary secret.",
            ));
        }
        if let Some(x) = &primary.cross_account_replica {
            if x.replica_arn != replica_arn {
                return Err(m::invalid_request_exception(format!(
                    "The secret {} already has a cross-account replica ({}); a primary secret can have at most one.",
                    primary.name, x.replica_arn
                )));
            }
        }
        if let Some(role) = &input.replication_role_arn {
            let ok = role
                .strip_prefix(&format!("arn:aws:iam::{}:role/", ctx.account_id))
                .is_some_and(|n| !n.is_empty());
            if !ok {
                return Err(m::invalid_parameter_exception(
                    "ReplicationRoleARN must be the ARN of an IAM role in the primary secret's account.",
                ));
            }
        }
        let same_org = !matches!(
            input.replica_restriction,
            Some(m::ReplicaRestrictionType::NoRestriction)
        );
        if same_org {
            let org = |a: &str| self.org_of.as_ref().and_then(|f| f(a));
            let mine = org(&ctx.account_id);
            if mine.is_none() || mine != org(&account) {
                return Err(m::invalid_request_exception(
                    "The replica account isn't in the same organization as the primary account. Use ReplicaRestriction NoRestriction to replicate outside the organization.",
                ));
            }
        }
        let raw = replica_arn.clone();
        let replica = self
            .read(|tx| find(tx, &account, &region, &raw))?
            .filter(|r| r.arn == replica_arn)
            .ok_or_else(not_found)?;
        if replica.deleted() {
            return Err(crate::marked_for_deletion());
        }
        match &replica.cross_account_primary {
            Some(p) if p.primary_arn == primary.arn => {}
            _ => {
                return Err(m::invalid_request_exception(format!(
                    "The secret {replica_arn} isn't a cross-account replica of {}: create it with CrossAccountPrimaryARN set to the primary secret's ARN.",
                    primary.arn
                )))
            }
        }
        // As the caller: read the primary, and accept replication into the replica (its
        // resource policy and the caller's identity policies).
        let read = serde_json::json!({"SecretId": primary.arn});
        for a in self.accesses(ctx, "GetSecretValue", &read)? {
            self.check_as_caller(ctx, a)?;
        }
        self.check_as_caller(
            ctx,
            ResourceAccess {
                action: "secretsmanager:AcceptCrossAccountReplication".to_string(),
                resource: replica.arn.clone(),
                resource_type: "AWS::SecretsManager::Secret".to_string(),
                policy: replica_policy(&replica),
                policy_required: false,
                context: crate::authz::condition_keys(&replica, &read),
                grant: None,
                account: Some(account.clone()),
            },
        )?;
        if let Some(role) = &input.replication_role_arn {
            self.check_as_caller(
                ctx,
                ResourceAccess {
                    action: "iam:PassRole".to_string(),
                    resource: role.clone(),
                    context: vec![(
                        "iam:PassedToService".to_string(),
                        vec!["secretsmanager.amazonaws.com".to_string()],
                    )],
                    ..Default::default()
                },
            )?;
        }
        // The primary's key, as the caller (a dry run: decrypt the current value).
        if let Some(v) = primary.versions.iter().find(|v| v.ciphertext.is_some()) {
            self.open(ctx, &primary.arn, v)?;
        }
        let key = rkey(&primary);
        let link = CrossReplicaRec {
            replica_arn: replica_arn.clone(),
            role_arn: input.replication_role_arn.clone(),
            status: IN_PROGRESS.to_string(),
            status_message: None,
        };
        let (r_account, r_region, r_arn) = (account.clone(), region.clone(), replica_arn.clone());
        self.write(move |tx: &mut dyn Tx| {
            let Some(mut rec) = tx.get_json::<SecretRec>(SECRETS, &key)? else {
                return Err(not_found().into());
            };
            // AcceptCrossAccountReplication: the replica's side first.
            let Some(mut replica) = find(tx, &r_account, &r_region, &r_arn)?
                .filter(|r| r.arn == r_arn)
            else {
                return Err(not_found().into());
            };
            match replica.cross_account_primary.as_mut() {
                Some(p) if p.primary_arn == rec.arn => {
                    p.status = Some(IN_PROGRESS.to_string());
                    p.status_message = None;
                }
                _ => {
                    return Err(m::invalid_request_exception(
                        "The replica secret is no longer a cross-account replica of this secret.",
                    )
                    .into())
                }
            }
            replica.revision += 1;
            tx.put_json(SECRETS, &rkey(&replica), &replica)?;
            if rec
                .cross_account_replica
                .as_ref()
                .is_some_and(|x| x.replica_arn != link.replica_arn)
            {
                return Err(m::invalid_request_exception(
                    "The secret already has a cross-account replica; a primary secret can have at most one.",
                )
                .into());
            }
            rec.cross_account_replica = Some(link);
            rec.revision += 1;
            tx.put_json(SECRETS, &key, &rec)?;
            Ok(())
        })?;
        self.sync_cross_account(&primary.account_id, &primary.region, &primary.arn);
        let rec = self.load(ctx, &primary.arn)?;
        Ok(m::AssociateCrossAccountReplicaResponse {
            arn: Some(rec.arn.clone()),
            cross_account_replica_arn: Some(replica_arn),
            replication_status: rec
                .cross_account_replica
                .as_ref()
                .map(|x| status(&x.status)),
        })
    }

    pub(crate) fn disassociate_cross_account(
        &self,
        ctx: &RequestContext,
        input: m::DisassociateCrossAccountReplicaRequest,
    ) -> R<m::DisassociateCrossAccountReplicaResponse> {
        let primary = self.load(ctx, &input.secret_id)?;
        let replica_arn = input.cross_account_replica_arn.clone();
        if primary
            .cross_account_replica
            .as_ref()
            .is_none_or(|x| x.replica_arn != replica_arn)
        {
            return Err(m::resource_not_found_exception(format!(
                "The secret {} has no cross-account replica {replica_arn}.",
                primary.name
            )));
        }
        let key = rkey(&primary);
        let arn = primary.arn.clone();
        self.write(move |tx: &mut dyn Tx| {
            if let Some(mut rec) = tx.get_json::<SecretRec>(SECRETS, &key)? {
                rec.cross_account_replica = None;
                rec.revision += 1;
                tx.put_json(SECRETS, &key, &rec)?;
            }
            // The replica keeps its values and gets no more: Detached until its owner stops
            // replication from its side (StopReplicationToReplica) and it becomes standalone.
            if let Some((region, account)) = arn_parts(&replica_arn) {
                if let Some(mut r) = find(tx, account, region, &replica_arn)? {
                    if let Some(p) = r
                        .cross_account_primary
                        .as_mut()
                        .filter(|p| p.primary_arn == arn)
                    {
                        p.status = Some(DETACHED.to_string());
                        p.status_message = Some(
                            "Replication was stopped by the primary secret's owner.".to_string(),
                        );
                        r.revision += 1;
                        tx.put_json(SECRETS, &rkey(&r), &r)?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(m::DisassociateCrossAccountReplicaResponse {
            arn: Some(primary.arn),
            cross_account_replica_arn: Some(input.cross_account_replica_arn),
        })
    }

    /// Copies the primary `arn` (of `account`, `region`) into its cross-account replica, as
    /// Secrets Manager itself: the primary's versions are decrypted in the primary's account
    /// and encrypted under the replica's key in the replica's account. Records the outcome on
    /// both secrets.
    pub(crate) fn sync_cross_account(&self, account: &str, region: &str, arn: &str) {
        let pctx = service_ctx(account, region, "ReplicateSecretVersion");
        let Ok(primary) = self.load(&pctx, arn) else {
            return;
        };
        let Some(link) = primary
            .cross_account_replica
            .clone()
            .filter(|x| x.status != DETACHED)
        else {
            return;
        };
        let Some((r_region, r_account)) = arn_parts(&link.replica_arn) else {
            return;
        };
        let rctx = service_ctx(r_account, r_region, "ReplicateSecretVersion");
        let outcome = self.copy_into_replica(&pctx, &rctx, &primary, &link.replica_arn);
        let (st, msg) = match &outcome {
            Ok(()) => (IN_SYNC, "Replication succeeded".to_string()),
            Err(e) => (FAILED, format!("Replication failed: {}", e.message)),
        };
        let (key, replica_arn) = (rkey(&primary), link.replica_arn.clone());
        let (ra, rr) = (r_account.to_string(), r_region.to_string());
        let primary_arn = primary.arn.clone();
        let r = self.write(move |tx: &mut dyn Tx| {
            if let Some(mut rec) = tx.get_json::<SecretRec>(SECRETS, &key)? {
                if let Some(x) = rec
                    .cross_account_replica
                    .as_mut()
                    .filter(|x| x.replica_arn == replica_arn && x.status != DETACHED)
                {
                    if x.status != st || x.status_message.as_deref() != Some(msg.as_str()) {
                        x.status = st.to_string();
                        x.status_message = Some(msg.clone());
                        tx.put_json(SECRETS, &key, &rec)?;
                    }
                }
            }
            if let Some(mut r) = find(tx, &ra, &rr, &replica_arn)? {
                let ours = |p: &&mut CrossPrimaryRec| {
                    p.primary_arn == primary_arn && p.status.as_deref() != Some(DETACHED)
                };
                if let Some(p) = r.cross_account_primary.as_mut().filter(ours) {
                    if p.status.as_deref() != Some(st) {
                        p.status = Some(st.to_string());
                        p.status_message = Some(msg);
                        tx.put_json(SECRETS, &rkey(&r), &r)?;
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            tracing::warn!(secret = %arn, code = %e.code, "cross-account replication status not stored");
        }
    }

    fn copy_into_replica(
        &self,
        pctx: &RequestContext,
        rctx: &RequestContext,
        primary: &SecretRec,
        replica_arn: &str,
    ) -> R<()> {
        let replica = self
            .read(|tx| find(tx, &rctx.account_id, &rctx.region, replica_arn))?
            .filter(|r| r.arn == replica_arn)
            .ok_or_else(|| {
                m::resource_not_found_exception("The replica secret no longer exists.")
            })?;
        if replica.deleted() {
            return Err(crate::marked_for_deletion());
        }
        if replica
            .cross_account_primary
            .as_ref()
            .is_none_or(|p| p.primary_arn != primary.arn)
        {
            return Err(m::invalid_request_exception(
                "The replica secret is no longer a cross-account replica of this secret.",
            ));
        }
        let mut versions: Vec<VersionRec> = Vec::new();
        for v in &primary.versions {
            let mut nv = v.clone();
            nv.ciphertext = None;
            nv.kms_key_arn = None;
            nv.last_accessed = None;
            let kept = replica
                .version(&v.id)
                .filter(|ev| ev.ciphertext.is_some() && v.ciphertext.is_some());
            if let Some(ev) = kept {
                nv.ciphertext = ev.ciphertext.clone();
                nv.kms_key_arn = ev.kms_key_arn.clone();
                nv.last_accessed = ev.last_accessed;
            } else if v.ciphertext.is_some() {
                let pt = self.open(pctx, &primary.arn, v)?;
                let (ct, key_arn) = self.seal(
                    rctx,
                    replica.kms_key_id.as_deref(),
                    &replica.arn,
                    &v.id,
                    &pt,
                )?;
                nv.ciphertext = Some(ct);
                nv.kms_key_arn = Some(key_arn);
            }
            versions.push(nv);
        }
        let key = rkey(&replica);
        let (expect, changed) = (replica.arn.clone(), primary.last_changed);
        let (primary_arn, primary_rev) = (primary.arn.clone(), primary.revision);
        self.write(move |tx: &mut dyn Tx| {
            let Some(mut r) = tx.get_json::<SecretRec>(SECRETS, &key)? else {
                return Err(not_found().into());
            };
            if r.arn != expect {
                return Err(not_found().into());
            }
            // Still linked (not stopped or detached meanwhile), and not overtaken by a copy
            // of a newer revision of the primary.
            let Some(link) = r
                .cross_account_primary
                .as_mut()
                .filter(|p| p.primary_arn == primary_arn && p.status.as_deref() != Some(DETACHED))
            else {
                return Err(m::invalid_request_exception(
                    "The replica secret is no longer a cross-account replica of this secret.",
                )
                .into());
            };
            if link.revision > primary_rev {
                return Ok(());
            }
            link.revision = primary_rev;
            r.versions = versions;
            r.last_changed = changed.or(r.last_changed);
            r.revision += 1;
            tx.put_json(SECRETS, &key, &r)?;
            Ok(())
        })?;
        Ok(())
    }
}

impl SecretsService {
    /// StopReplicationToReplica on a cross-account replica: it becomes a standalone secret
    /// (its managed resource policy removed, its values kept) and the primary's entry for it
    /// becomes Detached. `Ok(None)`: `raw` is no cross-account replica.
    pub(crate) fn stop_cross_account(&self, ctx: &RequestContext, raw: &str) -> R<Option<String>> {
        let (account, region, raw) = (ctx.account_id.clone(), ctx.region.clone(), raw.to_string());
        self.write(move |tx: &mut dyn Tx| {
            let Some(mut rec) = find(tx, &account, &region, &raw)? else {
                return Ok(None);
            };
            let Some(link) = rec.cross_account_primary.take() else {
                return Ok(None);
            };
            rec.revision += 1;
            tx.put_json(SECRETS, &rkey(&rec), &rec)?;
            if let Some((pr, pa)) = arn_parts(&link.primary_arn) {
                if let Some(mut p) = find(tx, pa, pr, &link.primary_arn)? {
                    if let Some(x) = p
                        .cross_account_replica
                        .as_mut()
                        .filter(|x| x.replica_arn == rec.arn)
                    {
                        x.status = DETACHED.to_string();
                        x.status_message = Some(
                            "Replication was stopped by the replica secret's owner.".to_string(),
                        );
                        p.revision += 1;
                        tx.put_json(SECRETS, &rkey(&p), &p)?;
                    }
                }
            }
            Ok(Some(rec.arn))
        })
    }
}

/// The replica's resource policies as one document: the owner's own (`default`) and the
/// one AWS attaches for replication (an explicit deny in either wins).
fn replica_policy(rec: &SecretRec) -> Option<String> {
    let statements = |doc: &str| -> Vec<serde_json::Value> {
        match serde_json::from_str::<serde_json::Value>(doc)
            .ok()
            .and_then(|v| v.get("Statement").cloned())
        {
            Some(serde_json::Value::Array(a)) => a,
            Some(one @ serde_json::Value::Object(_)) => vec![one],
            _ => Vec::new(),
        }
    };
    let mut all = Vec::new();
    if let Some(p) = &rec.policy {
        all.extend(statements(p));
    }
    if let Some(x) = &rec.cross_account_primary {
        all.extend(statements(&x.policy));
    }
    (!all.is_empty())
        .then(|| serde_json::json!({"Version": "2012-10-17", "Statement": all}).to_string())
}

/// DeleteSecret's refusal while cross-account replication is set up on `rec`'s side.
pub(crate) fn blocks_delete(rec: &SecretRec) -> Option<AwsError> {
    if let Some(x) = &rec.cross_account_replica {
        return Some(m::invalid_request_exception(format!(
            "You can't delete secret {} while it has a cross-account replica ({}). Call DisassociateCrossAccountReplica first.",
            rec.name, x.replica_arn
        )));
    }
    if rec.cross_account_primary.is_some() {
        return Some(m::invalid_request_exception(format!(
            "You can't delete secret {} while it is a cross-account replica. Call StopReplicationToReplica first.",
            rec.name
        )));
    }
    None
}

/// DescribeSecret's `CrossAccountPrimary` and `CrossAccountReplicas`.
pub(crate) fn describe(
    rec: &SecretRec,
) -> (
    Option<m::CrossAccountPrimaryType>,
    Option<Vec<m::CrossAccountReplicaEntry>>,
) {
    let primary = rec
        .cross_account_primary
        .as_ref()
        .map(|p| m::CrossAccountPrimaryType {
            primary_secret_arn: Some(p.primary_arn.clone()),
            replication_status: p.status.as_deref().map(status),
            status_message: p.status_message.clone(),
        });
    let replicas = rec.cross_account_replica.as_ref().map(|x| {
        vec![m::CrossAccountReplicaEntry {
            replica_secret_arn: Some(x.replica_arn.clone()),
            replication_role_arn: x.role_arn.clone(),
            replication_status: Some(status(&x.status)),
            status_message: x.status_message.clone(),
        }]
    });
    (primary, replicas)
}
