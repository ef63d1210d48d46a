//! Key lifecycle: creation, enabling and disabling, scheduled deletion (carried out by
//! [`KmsService::sweep`], which also rotates keys whose automatic rotation is due), rotation,
//! tags and the key policy.
use crate::record::{
    self, aliases_of, key_arn, now, KeyRecord, MaterialRec, RotationRec, TagRec, KEYS,
};
use crate::{algorithms, decode_marker, limit_of, page, KmsService, R};
use rampart_core::{AwsError, RequestContext};
use rampart_model::kms as m;
use rampart_model::{Timestamp, Unit};
use rampart_policy as pol;
use zeroize::Zeroizing;

const DAY: f64 = 86_400.0;
const MAX_ON_DEMAND_ROTATIONS: u32 = 25;
const MAX_TAGS: usize = 50;
const MAX_POLICY_BYTES: usize = 32_768;

/// AWS's default key policy: the account (and so IAM policies) may use the key.
pub(crate) fn default_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// The key policy of the AWS managed key of `service` (`alias/aws/secretsmanager`) as AWS
/// writes it: every principal of the account may use the key through that service only
/// (`kms:ViaService`), and the account may read its metadata directly.
pub(crate) fn aws_managed_policy(account: &str, service: &str, region: &str) -> String {
    let through = format!("Allow access through {service} for all principals in the account that are authorized to use {service}");
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": format!("auto-{service}-2"),
        "Statement": [{
            "Sid": through,
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:CallerAccount": account,
                "kms:ViaService": format!("{service}.{region}.amazonaws.com"),
            }}
        }, {
            // AWS repeats the first Sid here; Rampart's policy parser (as IAM's) wants them
            // unique.
            "Sid": format!("{through} to generate data keys"),
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account},
                "StringLike": {"kms:ViaService": format!("{service}.*.amazonaws.com")},
            }
        }, {
            "Sid": "Allow direct access to key metadata to the account",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
            "Resource": "*"
        }]
    })
    .to_string()
}

pub(crate) fn no_custom_key_store(id: &str) -> AwsError {
    m::custom_key_store_not_found_exception(format!(
        "Custom key store '{id}' does not exist. Custom key stores are not available on this Rampart node."
    ))
}

fn tag_recs(tags: Option<Vec<m::Tag>>) -> R<Vec<TagRec>> {
    let mut out: Vec<TagRec> = Vec::new();
    for t in tags.unwrap_or_default() {
        merge_tag(&mut out, t)?;
    }
    Ok(out)
}

fn merge_tag(tags: &mut Vec<TagRec>, t: m::Tag) -> R<()> {
    if t.tag_key.starts_with("aws:") {
        return Err(m::tag_exception(format!(
            "Tag key {} uses the reserved prefix aws:.",
            t.tag_key
        )));
    }
    match tags.iter_mut().find(|x| x.key == t.tag_key) {
        Some(x) => x.value = t.tag_value,
        None => tags.push(TagRec {
            key: t.tag_key,
            value: t.tag_value,
        }),
    }
    if tags.len() > MAX_TAGS {
        return Err(m::tag_exception(
            "Tag limit exceeded: a key has at most 50 tags.",
        ));
    }
    Ok(())
}

/// The policy-language principal for the caller (for the lockout safety check). A role
/// session carries its role as issuer, so a key policy naming the role matches the session
/// as it does on the request path.
fn caller(ctx: &RequestContext) -> pol::Principal {
    let p = &ctx.principal;
    let kind = match p.kind {
        rampart_core::PrincipalKind::Root => pol::PrincipalKind::Root,
        rampart_core::PrincipalKind::IamUser => pol::PrincipalKind::User,
        rampart_core::PrincipalKind::AssumedRole => pol::PrincipalKind::AssumedRole,
        rampart_core::PrincipalKind::FederatedUser => pol::PrincipalKind::FederatedUser,
    };
    let mut out = pol::Principal::new(kind, &p.arn, &p.account_id, &p.principal_id);
    if kind == pol::PrincipalKind::AssumedRole {
        out.session_issuer = pol::Principal::from_arn(&p.arn).and_then(|x| x.session_issuer);
    }
    out
}

/// Validates a key policy document; with `lockout_check`, refuses one that would not let the
/// caller change it again (AWS's policy lockout safety check: a policy that delegates to the
/// account passes, since IAM policies then decide).
pub(crate) fn check_policy(ctx: &RequestContext, doc: &str, lockout_check: bool) -> R<()> {
    if doc.len() > MAX_POLICY_BYTES {
        return Err(m::limit_exceeded_exception(
            "The key policy exceeds the maximum size of 32768 bytes.",
        ));
    }
    let policy = pol::Policy::parse_as(doc, pol::PolicyKind::Resource)
        .map_err(|e| m::malformed_policy_document_exception(e.to_string()))?;
    if !lockout_check {
        return Ok(());
    }
    let compiled = pol::CompiledPolicy::new(policy);
    let allow_all = pol::CompiledPolicy::new(
        pol::Policy::parse_as(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            pol::PolicyKind::Identity,
        )
        .map_err(|_| crate::internal("allow-all policy"))?,
    );
    let principal = caller(ctx);
    // The caller's request as the request path would see a later PutKeyPolicy: its
    // environment and the KMS keys every call carries (kms:CallerAccount).
    let mut env = pol::RequestEnvironment::new(ctx.time);
    env.source_ip = Some(ctx.source_ip);
    env.secure_transport = ctx.secure_transport;
    env.requested_region = Some(ctx.region.clone());
    let mut context = pol::ContextKeys::for_request(&principal, &env);
    context.set("kms:CallerAccount", [ctx.principal.account_id.as_str()]);
    let request = pol::Request {
        principal,
        action: "kms:PutKeyPolicy".to_string(),
        resource: "*".to_string(),
        context,
    };
    let identity = [&allow_all];
    let mut input = pol::EvalInput::new(&request);
    input.identity_policies = &identity;
    input.resource_policy = Some(&compiled);
    input.resource_account = Some(&ctx.account_id);
    input.resource_policy_required = true;
    if pol::evaluate(&input).is_allowed() {
        Ok(())
    } else {
        Err(m::malformed_policy_document_exception(
            "The new key policy will not allow you to update the key policy in the future.",
        ))
    }
}

impl KmsService {
    pub(crate) fn new_key_record(
        &self,
        ctx: &RequestContext,
        spec: m::KeySpec,
        usage: m::KeyUsageType,
        description: String,
        tags: Vec<TagRec>,
        policy: String,
    ) -> R<KeyRecord> {
        self.new_key_record_as(
            ctx,
            uuid::Uuid::new_v4().to_string(),
            spec,
            usage,
            description,
            tags,
            policy,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_key_record_as(
        &self,
        ctx: &RequestContext,
        key_id: String,
        spec: m::KeySpec,
        usage: m::KeyUsageType,
        description: String,
        tags: Vec<TagRec>,
        policy: String,
    ) -> R<KeyRecord> {
        let arn = key_arn(ctx, &key_id);
        let material = self.new_material(spec)?;
        let mat = self.seal_material(&arn, &material, None)?;
        Ok(Self::key_record(
            ctx,
            key_id,
            arn,
            spec,
            usage,
            description,
            tags,
            policy,
            vec![mat],
        ))
    }

    /// A key record holding `materials` (none for a key awaiting imported material).
    #[allow(clippy::too_many_arguments)]
    fn key_record(
        ctx: &RequestContext,
        key_id: String,
        arn: String,
        spec: m::KeySpec,
        usage: m::KeyUsageType,
        description: String,
        tags: Vec<TagRec>,
        policy: String,
        materials: Vec<MaterialRec>,
    ) -> KeyRecord {
        KeyRecord {
            key_id,
            arn,
            account_id: ctx.account_id.clone(),
            region: ctx.region.clone(),
            created: now(),
            state: m::KeyState::Enabled,
            description,
            tags,
            policy,
            spec,
            usage,
            materials,
            aws_managed: false,
            deletion_date: None,
            pending_window_days: None,
            rotation: None,
            on_demand_rotations: 0,
            origin: m::OriginType::AwsKms,
            imported_id: None,
            valid_to: None,
            expiration_model: None,
            multi_region: None,
            imported: Vec::new(),
        }
    }

    pub(crate) fn create(
        &self,
        ctx: &RequestContext,
        input: m::CreateKeyRequest,
    ) -> R<m::CreateKeyResponse> {
        let spec = match (input.key_spec, input.customer_master_key_spec) {
            (Some(_), Some(_)) => {
                return Err(AwsError::validation(
                    "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec instead.",
                ))
            }
            (Some(s), None) => s,
            (None, Some(c)) => c
                .as_str()
                .parse()
                .map_err(|_| AwsError::validation("Unsupported CustomerMasterKeySpec"))?,
            (None, None) => m::KeySpec::SymmetricDefault,
        };
        if spec == m::KeySpec::Sm2 {
            return Err(m::unsupported_operation_exception(
                "KeySpec SM2 is only available in China Regions.",
            ));
        }
        if let Some(id) = input.custom_key_store_id {
            return Err(no_custom_key_store(&id));
        }
        let usage = algorithms::usage_for(spec, input.key_usage)?;
        let external = match input.origin {
            None | Some(m::OriginType::AwsKms) => false,
            Some(m::OriginType::External) if crate::imports::importable(spec) => true,
            Some(o) => {
                return Err(m::unsupported_operation_exception(format!(
                    "Origin {o} is not supported by Rampart yet for KeySpec {spec}."
                )))
            }
        };
        let multi_region = input.multi_region == Some(true);
        let policy = match input.policy {
            Some(p) => {
                check_policy(
                    ctx,
                    &p,
                    input.bypass_policy_lockout_safety_check != Some(true),
                )?;
                p
            }
            None => default_policy(&ctx.account_id),
        };
        let key_id = if multi_region {
            crate::multiregion::new_id()
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        let description = input.description.unwrap_or_default();
        let tags = tag_recs(input.tags)?;
        let mut rec = if external {
            // No material (nor a wasted key generation) until ImportKeyMaterial.
            let arn = key_arn(ctx, &key_id);
            Self::key_record(
                ctx,
                key_id,
                arn,
                spec,
                usage,
                description,
                tags,
                policy,
                Vec::new(),
            )
        } else {
            self.new_key_record_as(ctx, key_id, spec, usage, description, tags, policy)?
        };
        if multi_region {
            rec.multi_region = Some(crate::multiregion::MrkRec {
                primary_region: ctx.region.clone(),
                regions: vec![ctx.region.clone()],
            });
        }
        if external {
            rec.origin = m::OriginType::External;
            rec.state = m::KeyState::PendingImport;
        }
        let saved = rec.clone();
        self.write(move |tx| record::put_key(tx, &saved))?;
        Ok(m::CreateKeyResponse {
            key_metadata: Some(record::metadata(&rec)),
        })
    }

    pub(crate) fn set_enabled(&self, ctx: &RequestContext, raw: &str, enabled: bool) -> R<Unit> {
        self.update_key(ctx, raw, move |k| {
            k.require_changeable()?;
            k.state = if enabled {
                m::KeyState::Enabled
            } else {
                m::KeyState::Disabled
            };
            Ok(Unit::default())
        })
    }

    pub(crate) fn schedule_deletion(
        &self,
        ctx: &RequestContext,
        input: m::ScheduleKeyDeletionRequest,
    ) -> R<m::ScheduleKeyDeletionResponse> {
        let days = input.pending_window_in_days.unwrap_or(30);
        if !(7..=30).contains(&days) {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30"
            )));
        }
        self.update_key(ctx, &input.key_id, move |k| {
            if k.aws_managed {
                return Err(AwsError::new(
                    "UnsupportedOperationException",
                    400,
                    format!("{} is an AWS managed key and cannot be deleted.", k.arn),
                ));
            }
            k.require_changeable()?;
            if let Some(mrk) = &k.multi_region {
                if mrk.primary_region == k.region && mrk.regions.len() > 1 {
                    return Err(m::unsupported_operation_exception(format!(
                        "{} is a primary key with replicas: delete the replicas first, or make another Region primary (UpdatePrimaryRegion).",
                        k.arn
                    )));
                }
            }
            let date = (now() + f64::from(days) * DAY).floor();
            k.state = m::KeyState::PendingDeletion;
            k.deletion_date = Some(date);
            k.pending_window_days = Some(days);
            Ok(m::ScheduleKeyDeletionResponse {
                key_id: Some(k.arn.clone()),
                deletion_date: Some(Timestamp(date)),
                key_state: Some(m::KeyState::PendingDeletion),
                pending_window_in_days: Some(days),
            })
        })
    }

    pub(crate) fn cancel_deletion(
        &self,
        ctx: &RequestContext,
        input: m::CancelKeyDeletionRequest,
    ) -> R<m::CancelKeyDeletionResponse> {
        self.update_key(ctx, &input.key_id, |k| {
            if k.state != m::KeyState::PendingDeletion {
                return Err(m::kms_invalid_state_exception(format!(
                    "{} is not pending deletion.",
                    k.arn
                )));
            }
            // AWS returns a key whose deletion was cancelled to Disabled.
            k.state = m::KeyState::Disabled;
            k.deletion_date = None;
            k.pending_window_days = None;
            Ok(m::CancelKeyDeletionResponse {
                key_id: Some(k.arn.clone()),
            })
        })
    }

    /// One pass of the scheduler at time `at`: deletes keys whose deletion date has passed
    /// (with their aliases) and rotates keys whose automatic rotation is due. Returns
    /// (deleted, rotated).
    pub fn sweep(&self, at: f64) -> R<(usize, usize)> {
        let all: Vec<(String, KeyRecord)> =
            self.read(|tx| Ok(tx.scan_json(KEYS, "", None, crate::MAX_SCAN)?))?;
        let (mut deleted, mut rotated) = (0, 0);
        for (_, k) in all {
            match self.expire_imported(&k, at) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(code = %e.code, key = %k.arn, "imported material expiry failed")
                }
            }
            if k.state == m::KeyState::PendingDeletion && k.deletion_date.is_some_and(|d| d <= at) {
                let key = k.store_key();
                let ctx = k.scope_context();
                let id = k.key_id.clone();
                let done = self.write(move |tx| {
                    let Some(cur) = tx.get_json::<KeyRecord>(KEYS, &key)? else {
                        return Ok(false);
                    };
                    if cur.state != m::KeyState::PendingDeletion {
                        return Ok(false);
                    }
                    for a in aliases_of(tx, &ctx, &id)? {
                        record::delete_alias(tx, &ctx, &a.alias_name)?;
                    }
                    crate::grants::delete_all(tx, &ctx, &id)?;
                    KmsService::forget_region(tx, &cur)?;
                    tx.delete(KEYS, &key)?;
                    Ok(true)
                })?;
                if done {
                    self.cache.forget(&k);
                    tracing::info!(key = %k.arn, "kms key deleted at the end of its waiting period");
                    deleted += 1;
                }
            } else if k.state == m::KeyState::Enabled
                && k.rotation.as_ref().is_some_and(|r| r.next <= at)
            {
                let ctx = k.scope_context();
                if self
                    .rotate(&ctx, &k.key_id, m::RotationType::Automatic, at)
                    .is_ok()
                {
                    rotated += 1;
                }
            }
        }
        Ok((deleted, rotated))
    }

    /// Runs [`KmsService::sweep`] now and then every `every` on a background thread.
    pub fn start_scheduler(self: &std::sync::Arc<Self>, every: std::time::Duration) {
        let me = std::sync::Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("kms-scheduler".into())
            .spawn(move || loop {
                let Some(svc) = me.upgrade() else { return };
                if let Err(e) = svc.sweep(now()) {
                    tracing::warn!(code = %e.code, "kms scheduler pass failed");
                }
                drop(svc);
                std::thread::sleep(every);
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "kms scheduler thread could not start");
        }
    }

    fn rotatable(k: &KeyRecord) -> R<()> {
        if !k.is_symmetric() || k.aws_managed || k.origin != m::OriginType::AwsKms {
            return Err(m::unsupported_operation_exception(format!(
                "{} does not support automatic or on-demand rotation: only symmetric encryption keys with key material generated by KMS can rotate.",
                k.arn
            )));
        }
        Ok(())
    }

    pub(crate) fn set_rotation(
        &self,
        ctx: &RequestContext,
        raw: &str,
        period: Option<Option<i32>>,
    ) -> R<Unit> {
        if let Some(Some(p)) = period {
            if !(90..=2560).contains(&p) {
                return Err(AwsError::validation(format!(
                    "1 validation error detected: Value '{p}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between 90 and 2560"
                )));
            }
        }
        let key = self.lookup(ctx, raw)?;
        if let Some(mrk) = &key.multi_region {
            if mrk.primary_region != key.region {
                return Err(m::unsupported_operation_exception(format!(
                    "{} is a replica key: manage rotation on the primary key in {}.",
                    key.arn, mrk.primary_region
                )));
            }
        }
        self.update_key(ctx, raw, move |k| {
            k.require_usable()?;
            Self::rotatable(k)?;
            k.rotation = period.map(|p| {
                let days = p.unwrap_or(365);
                RotationRec {
                    period_days: days,
                    next: (now() + f64::from(days) * DAY).floor(),
                }
            });
            Ok(Unit::default())
        })
    }

    pub(crate) fn rotation_status(
        &self,
        ctx: &RequestContext,
        input: m::GetKeyRotationStatusRequest,
    ) -> R<m::GetKeyRotationStatusResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        // Asymmetric and HMAC keys cannot rotate, and their status is simply false (AWS
        // answers so rather than refusing; Terraform reads it for every key).
        // While a key is pending deletion its rotation status is false and it does not rotate;
        // cancelling the deletion restores the setting (AWS's GetKeyRotationStatus).
        let r = k
            .rotation
            .as_ref()
            .filter(|_| k.state != m::KeyState::PendingDeletion && k.is_symmetric());
        Ok(m::GetKeyRotationStatusResponse {
            key_rotation_enabled: Some(r.is_some()),
            key_id: Some(k.arn.clone()),
            rotation_period_in_days: r.map(|r| r.period_days),
            next_rotation_date: r.map(|r| Timestamp(r.next)),
            on_demand_rotation_start_date: None,
        })
    }

    /// Adds a new material version to the key `raw` names.
    fn rotate(&self, ctx: &RequestContext, raw: &str, kind: m::RotationType, at: f64) -> R<String> {
        let k = self.lookup(ctx, raw)?;
        let material = self.new_material(k.spec)?;
        let mat = self.seal_material(&k.arn, &material, Some(kind))?;
        self.update_key(ctx, raw, move |k| {
            k.require_usable()?;
            Self::rotatable(k)?;
            if kind == m::RotationType::OnDemand {
                if k.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS {
                    return Err(m::limit_exceeded_exception(format!(
                        "{} has reached the maximum number of on-demand rotations (25).",
                        k.arn
                    )));
                }
                k.on_demand_rotations += 1;
            }
            if let Some(r) = k.rotation.as_mut() {
                r.next = (at + f64::from(r.period_days) * DAY).floor();
            }
            k.materials.push(mat);
            Ok(k.arn.clone())
        })
        .and_then(|arn| {
            // A multi-Region key rotates as one: every replica gets the new material.
            self.propagate_material(ctx, raw)?;
            Ok(arn)
        })
    }

    pub(crate) fn rotate_on_demand(
        &self,
        ctx: &RequestContext,
        input: m::RotateKeyOnDemandRequest,
    ) -> R<m::RotateKeyOnDemandResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        let arn = if k.origin == m::OriginType::External && k.is_symmetric() && !k.aws_managed {
            // Imported material: the material pending rotation becomes current.
            self.rotate_imported(ctx, &input.key_id, MAX_ON_DEMAND_ROTATIONS)?
        } else {
            self.rotate(ctx, &input.key_id, m::RotationType::OnDemand, now())?
        };
        Ok(m::RotateKeyOnDemandResponse { key_id: Some(arn) })
    }

    pub(crate) fn rotations(
        &self,
        ctx: &RequestContext,
        input: m::ListKeyRotationsRequest,
    ) -> R<m::ListKeyRotationsResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        let imported = k.origin == m::OriginType::External && k.is_symmetric() && !k.aws_managed;
        if !imported {
            Self::rotatable(&k)?;
        }
        let after = decode_marker(input.marker.as_deref())?;
        let current = k.current_material_id();
        let all = input.include_key_material == Some(m::IncludeKeyMaterial::AllKeyMaterial);
        let entries: Vec<(String, m::RotationsListEntry)> = if imported {
            Self::imported_rotations(&k, all)
                .into_iter()
                .enumerate()
                .map(|(i, e)| (format!("{i:08}"), e))
                .collect()
        } else {
            k.materials
                .iter()
                .enumerate()
                .filter(|(_, x)| all || x.rotation_type.is_some())
                .map(|(i, x)| {
                    (
                        format!("{i:08}"),
                        m::RotationsListEntry {
                            key_id: Some(k.arn.clone()),
                            key_material_id: Some(record::public_material_id(&x.id)),
                            key_material_state: Some(if x.id == current {
                                m::KeyMaterialState::Current
                            } else {
                                m::KeyMaterialState::NonCurrent
                            }),
                            rotation_date: x.rotation_type.map(|_| Timestamp(x.created)),
                            rotation_type: x.rotation_type,
                            ..Default::default()
                        },
                    )
                })
                .collect()
        };
        let (rows, next) = page(
            entries,
            after.as_deref(),
            limit_of(input.limit, 100, 1000)?,
            |e| e.0.clone(),
        );
        Ok(m::ListKeyRotationsResponse {
            rotations: Some(rows.into_iter().map(|(_, e)| e).collect()),
            truncated: Some(next.is_some()),
            next_marker: next,
        })
    }

    pub(crate) fn tag(&self, ctx: &RequestContext, input: m::TagResourceRequest) -> R<Unit> {
        self.update_key(ctx, &input.key_id, move |k| {
            k.require_changeable()?;
            for t in input.tags {
                merge_tag(&mut k.tags, t)?;
            }
            Ok(Unit::default())
        })
    }

    pub(crate) fn untag(&self, ctx: &RequestContext, input: m::UntagResourceRequest) -> R<Unit> {
        self.update_key(ctx, &input.key_id, move |k| {
            k.require_changeable()?;
            k.tags.retain(|t| !input.tag_keys.contains(&t.key));
            Ok(Unit::default())
        })
    }

    pub(crate) fn put_policy(
        &self,
        ctx: &RequestContext,
        input: m::PutKeyPolicyRequest,
    ) -> R<Unit> {
        if input.policy_name.as_deref().is_some_and(|n| n != "default") {
            return Err(m::not_found_exception("No such policy exists"));
        }
        check_policy(
            ctx,
            &input.policy,
            input.bypass_policy_lockout_safety_check != Some(true),
        )?;
        // PutKeyPolicy works in every key state, pending deletion included (AWS's key-state
        // table), so a key can be made manageable again before its deletion is cancelled.
        self.update_key(ctx, &input.key_id, move |k| {
            k.policy = input.policy;
            Ok(Unit::default())
        })
    }
}

impl KeyRecord {
    /// A context naming this key's account and region (for the scheduler, which acts on
    /// keys of every account).
    pub(crate) fn scope_context(&self) -> RequestContext {
        RequestContext::internal(&self.account_id, &self.region)
    }
}

impl KmsService {
    /// Fresh backing material for a key of `spec`.
    fn new_material(&self, spec: m::KeySpec) -> R<Zeroizing<Vec<u8>>> {
        if spec == m::KeySpec::SymmetricDefault {
            let mut material = Zeroizing::new(vec![0u8; 32]);
            rampart_core::ids::random_bytes(&mut material[..]);
            return Ok(material);
        }
        crate::asymmetric::generate(&self.keygen, spec)
    }
}
