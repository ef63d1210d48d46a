//! The services this binary serves, registered with the request path.
use rampart_core::{AwsError, RequestContext};
use rampart_identity::Identity;
use rampart_server::{Dispatch, Registry};
use rampart_trail::{CloudTrailService, Trail};
use serde_json::Value;
use std::sync::Arc;

/// Wraps a service's dispatch so that every authenticated request notes the use of its
/// access key (`GetAccessKeyLastUsed`; cheap: in memory, flushed at most once a minute).
fn noting_key_use(
    identity: &Identity,
    f: impl Fn(&RequestContext, &str, Value) -> Result<Value, AwsError> + Send + Sync + 'static,
) -> Dispatch {
    let identity = identity.clone();
    Arc::new(move |ctx, op, input| {
        if let Some(akid) = ctx.principal.access_key_id.as_deref() {
            identity.record_key_use(akid, &ctx.service, &ctx.region);
        }
        f(ctx, op, input)
    })
}

/// KMS operations AWS lets a principal of another account call on a key (named by its key or
/// alias ARN) when the key policy allows it.
const KMS_CROSS_ACCOUNT: &[&str] = &[
    "CreateGrant",
    "Decrypt",
    "DeriveSharedSecret",
    "DescribeKey",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GetKeyRotationStatus",
    "GetPublicKey",
    "ListGrants",
    "RetireGrant",
    "RevokeGrant",
    "Sign",
    "Verify",
    "VerifyMac",
];

/// For a request naming a resource of another account of this node by its ARN (`field` of
/// `input`): the request's context in the owner's scope, the caller unchanged. The service
/// then finds the resource where it lives and the authorizer, seeing owner and caller differ,
/// requires both the resource's policy and the caller's own.
fn owner_scope(
    ctx: &RequestContext,
    input: &Value,
    field: &str,
    service: &str,
) -> Option<RequestContext> {
    ctx.owner_scope(input.get(field)?.as_str()?, service)
}

/// A request moved into another account's scope whose resource was not found (or not yet):
/// it is refused as a cross-account call without a resource policy, rather than decided by
/// the caller's identity policies alone, as AWS answers for another account's resources.
fn fail_closed(
    owned: Option<&RequestContext>,
    service: &str,
    op: &str,
    input: &Value,
    field: &str,
    accesses: Vec<rampart_core::ResourceAccess>,
) -> Vec<rampart_core::ResourceAccess> {
    match owned {
        Some(o) if accesses.is_empty() => vec![rampart_core::ResourceAccess {
            action: format!("{service}:{op}"),
            resource: input
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or("*")
                .to_string(),
            account: Some(o.account_id.clone()),
            ..Default::default()
        }],
        _ => accesses,
    }
}

/// A KMS request's context in the scope of the account owning its key, when that is another
/// account of this node: the key named by ARN, or (Decrypt without `KeyId`) the key the
/// ciphertext names.
fn kms_scope(
    kms: &rampart_kms::KmsService,
    ctx: &RequestContext,
    op: &str,
    input: &Value,
) -> Option<RequestContext> {
    if !KMS_CROSS_ACCOUNT.contains(&op) {
        return None;
    }
    if let Some(owned) = owner_scope(ctx, input, "KeyId", "kms") {
        return Some(owned);
    }
    if op != "Decrypt" || input.get("KeyId").is_some() {
        return None;
    }
    let blob = input.get("CiphertextBlob")?.as_str()?;
    let owner = kms.blob_owner(&ctx.region, blob)?;
    (owner != ctx.account_id).then(|| {
        let mut owned = ctx.clone();
        owned.account_id = owner;
        owned
    })
}

/// The registered services, and the edge (its proxies are stopped on a `--dev` reset and its
/// counters served on `/metrics`).
pub struct Services {
    pub registry: Registry,
    pub edge: rampart_edge::Edge,
    pub waf: Arc<rampart_waf::WafService>,
    /// Their caches are cleared on a `--dev` reset.
    pub kms: Arc<rampart_kms::KmsService>,
    pub secrets: Arc<rampart_secrets::SecretsService>,
}

pub fn registry(
    identity: &Identity,
    trail: &Trail,
    root: Arc<rampart_crypto::RootKey>,
    authorizer: Option<Arc<rampart_server::authz::Authorizer>>,
    cfg: &crate::config::Config,
) -> anyhow::Result<Services> {
    let regions = &cfg.regions;
    // Checks made inside an operation: the secrets of a batch read, and the KMS key Secrets
    // Manager uses on the caller's behalf.
    let access = authorizer.map(|a| a as Arc<dyn rampart_core::AccessCheck>);
    let data_dir = &cfg.data_dir;
    let mut r = Registry::default();
    let sts = Arc::new(rampart_identity::sts::TokenService::new(identity.clone()));
    r.add(
        &rampart_model::sts::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::sts::dispatch(sts.as_ref(), ctx, op, input)
        }),
    );
    // IAM is global: its event source is iam.amazonaws.com and it answers in every region
    // the node serves (AWS signs IAM requests for us-east-1).
    let iam = Arc::new(rampart_identity::iam::IamService::new(identity.clone()));
    r.add_with_resources(
        &rampart_model::iam::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::iam::dispatch(iam.as_ref(), ctx, op, input)
        }),
        // Putting a role in an instance profile passes the role (iam:PassRole), as on AWS;
        // every other IAM request is decided on the resource it names.
        Arc::new(|ctx, op, input| {
            let s = |k: &str| input.get(k).and_then(Value::as_str).unwrap_or_default();
            let acct = &ctx.account_id;
            Ok(match op {
                "AddRoleToInstanceProfile" => vec![
                    rampart_core::ResourceAccess {
                        action: "iam:AddRoleToInstanceProfile".to_string(),
                        resource: format!(
                            "arn:aws:iam::{acct}:instance-profile/{}",
                            s("InstanceProfileName")
                        ),
                        ..Default::default()
                    },
                    rampart_core::ResourceAccess {
                        action: "iam:PassRole".to_string(),
                        resource: format!("arn:aws:iam::{acct}:role/{}", s("RoleName")),
                        ..Default::default()
                    },
                ],
                _ => Vec::new(),
            })
        }),
    );
    // Organizations is global like IAM: member accounts are tenants of this node.
    let org = Arc::new(rampart_identity::org::OrgService::new(identity.clone()));
    r.add(
        &rampart_model::organizations::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::organizations::dispatch(org.as_ref(), ctx, op, input)
        }),
    );
    let kms = Arc::new(
        rampart_kms::KmsService::new(trail.store().clone(), root.clone())
            .with_regions(regions.to_vec()),
    );
    if let Err(e) = kms.index_key_owners() {
        tracing::error!(code = %e.code, "KMS key owners could not be indexed");
    }
    // Deletes keys at the end of their waiting period and rotates keys when due.
    kms.start_scheduler(std::time::Duration::from_secs(60));
    let kms_dispatch = kms.clone();
    let kms_resources = kms.clone();
    r.add_with_resources(
        &rampart_model::kms::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            let owned = kms_scope(&kms_dispatch, ctx, op, &input);
            let ctx = owned.as_ref().unwrap_or(ctx);
            rampart_model::kms::dispatch(kms_dispatch.as_ref(), ctx, op, input)
        }),
        // Key policies (and grants) decide with the caller's IAM policies.
        Arc::new(move |ctx, op, input| {
            let owned = kms_scope(&kms_resources, ctx, op, input);
            let accesses = kms_resources.accesses(owned.as_ref().unwrap_or(ctx), op, input)?;
            Ok(fail_closed(
                owned.as_ref(),
                "kms",
                op,
                input,
                "KeyId",
                accesses,
            ))
        }),
    );
    r.set_event_hook(
        &rampart_model::kms::SERVICE,
        Arc::new(|op, out, ev| {
            rampart_kms::complete_event(op, &mut ev.request_parameters, out, &mut ev.additional)
        }),
    );
    // ---- Secrets Manager (crates/secrets): values envelope-encrypted through KMS ----------
    let mut secrets = rampart_secrets::SecretsService::new(
        trail.store().clone(),
        Arc::new(KmsEnvelope {
            kms: kms.clone(),
            trail: trail.clone(),
            access: access.clone(),
        }),
        secrets_rotators(&cfg.secrets)?,
    );
    secrets = secrets.with_regions(regions.to_vec());
    let orgs = identity.clone();
    secrets = secrets.with_organizations(Arc::new(move |account: &str| {
        orgs.organization_of(account)
            .ok()
            .flatten()
            .map(|(org, _)| org)
    }));
    if let Some(a) = &access {
        secrets = secrets.with_access_check(a.clone());
    }
    let secrets = Arc::new(secrets);
    // Deletes secrets at the end of their recovery window and starts due rotations.
    if let Err(e) = secrets.start_scheduler() {
        tracing::error!(error = %e, "the Secrets Manager scheduler could not start");
    }
    let secrets_resources = secrets.clone();
    let secrets_svc = secrets.clone();
    r.add_with_resources(
        &rampart_model::secretsmanager::SERVICE,
        // A secret of another account named by its ARN is found in its owner's scope.
        noting_key_use(identity, move |ctx, op, input| {
            let owned = owner_scope(ctx, &input, "SecretId", "secretsmanager");
            let ctx = owned.as_ref().unwrap_or(ctx);
            rampart_model::secretsmanager::dispatch(secrets.as_ref(), ctx, op, input)
        }),
        // Secret resource policies decide with the caller's IAM policies.
        Arc::new(move |ctx, op, input| {
            let owned = owner_scope(ctx, input, "SecretId", "secretsmanager");
            let accesses = secrets_resources.accesses(owned.as_ref().unwrap_or(ctx), op, input)?;
            let field = "SecretId";
            Ok(fail_closed(
                owned.as_ref(),
                "secretsmanager",
                op,
                input,
                field,
                accesses,
            ))
        }),
    );
    // ---- end Secrets Manager ----------------------------------------------------------------
    let ct = Arc::new(CloudTrailService::new(trail.store().clone()));
    r.add(
        &rampart_model::cloudtrail::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::cloudtrail::dispatch(ct.as_ref(), ctx, op, input)
        }),
    );
    // ---- WAF (crates/waf) and the edge's proxies that enforce it (crates/edge) ---------------
    let geo: Option<Arc<dyn rampart_firewall::acl::GeoLookup>> = match &cfg.waf.geo_database {
        Some(p) => Some(Arc::new(
            rampart_edge::geo::GeoDb::load(p)
                .map_err(|e| anyhow::anyhow!("waf.geo_database: {e}"))?,
        )),
        None => None,
    };
    let token_key = root
        .derive_key("waf-token")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let edge = rampart_edge::Edge::new(
        trail.store().clone(),
        data_dir.join("waf-logs"),
        geo,
        token_key.as_slice(),
    );
    let lists_dir = cfg
        .waf
        .ip_lists_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("waf-ip-lists"));
    let waf = Arc::new(
        rampart_waf::WafService::new(trail.store().clone(), Arc::new(edge.clone()))
            .with_ip_lists(lists_dir),
    );
    let forget = waf.clone();
    edge.on_deleted(move |account, region, arn| forget.resource_deleted(account, region, arn));
    // Proxies listen again after a restart, with the plans of their web ACLs.
    edge.start_all();
    waf.publish_all();
    let waf_api = waf.clone();
    r.add(
        &rampart_model::wafv2::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::wafv2::dispatch(waf_api.as_ref(), ctx, op, input)
        }),
    );
    let edge_api = edge.clone();
    r.add(
        &rampart_model::edge::SERVICE,
        noting_key_use(identity, move |ctx, op, input| {
            rampart_model::edge::dispatch(&edge_api, ctx, op, input)
        }),
    );
    Ok(Services {
        registry: r,
        edge,
        waf,
        kms,
        secrets: secrets_svc,
    })
}

/// The identity store as the request path's source of policies.
struct IdentityPolicies(Identity);

impl rampart_server::authz::PolicySource for IdentityPolicies {
    fn policies_for(
        &self,
        principal: &rampart_core::Principal,
    ) -> Result<rampart_server::authz::PolicyDocs, AwsError> {
        let pp = self.0.policies_for(principal).map_err(AwsError::from)?;
        let session = pp.has_session_policies().then(|| {
            pp.session_policy
                .iter()
                .cloned()
                .chain(pp.session_policy_arns.iter().map(|(_, d)| d.clone()))
                .collect()
        });
        Ok(rampart_server::authz::PolicyDocs {
            identity: pp.identity_policies.clone(),
            boundary: pp
                .permissions_boundary
                .clone()
                .map(|d| ("PermissionsBoundary".to_string(), d)),
            session,
            tags: pp.principal_tags.clone(),
            session_issuer: pp.session_issuer.clone(),
            session_times: pp.temporary.map(|t| rampart_server::authz::SessionTimes {
                issued: t.issued,
                mfa_authenticated: t.mfa_authenticated,
            }),
            org_id: pp.org_id.clone(),
        })
    }
}

/// Identity-based authorization of every request, from the identity store's policies.
pub fn authorizer(identity: &Identity) -> Option<Arc<rampart_server::authz::Authorizer>> {
    Some(Arc::new(rampart_server::authz::Authorizer::new(Arc::new(
        IdentityPolicies(identity.clone()),
    ))))
}

// ---- Secrets Manager: its KMS envelope and rotators -----------------------------------------

/// The rotators of `[secrets]`: local commands in `rotators_dir` (or `RAMPART_ROTATORS_DIR`),
/// which call back `rotator_endpoint` (or `RAMPART_ROTATOR_ENDPOINT`, given to them as
/// `AWS_ENDPOINT_URL`), and the HTTPS webhooks.
fn secrets_rotators(
    cfg: &crate::config::SecretsConfig,
) -> anyhow::Result<rampart_secrets::Rotators> {
    let webhooks = crate::webhook::WebhookRotators::load(cfg)?;
    Ok(rampart_secrets::Rotators {
        dir: cfg
            .rotators_dir
            .clone()
            .or_else(|| std::env::var_os("RAMPART_ROTATORS_DIR").map(std::path::PathBuf::from)),
        endpoint: cfg
            .rotator_endpoint
            .clone()
            .or_else(|| std::env::var("RAMPART_ROTATOR_ENDPOINT").ok()),
        webhooks: webhooks.map(|w| Arc::new(w) as Arc<dyn rampart_secrets::Webhooks>),
        ..Default::default()
    })
}

/// Secrets Manager's envelope encryption through Rampart's KMS. Like AWS, each KMS call leaves
/// its own trail event (`kms.amazonaws.com`, invoked by `secretsmanager.amazonaws.com`) with the
/// key and the encryption context, never the plaintext.
struct KmsEnvelope {
    kms: Arc<rampart_kms::KmsService>,
    trail: Trail,
    /// The caller's permission to use the key through Secrets Manager (`kms:ViaService`).
    access: Option<Arc<dyn rampart_core::AccessCheck>>,
}

impl KmsEnvelope {
    /// Whether the caller may do KMS `op` (with `input` as a direct call would send it)
    /// through Secrets Manager: the key policy and the caller's IAM policies decide, with
    /// `kms:ViaService` set as AWS sets it. A refusal is AWS's "Access to KMS is not allowed";
    /// `refused` then names the key, for the trail.
    fn authorize(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: &Value,
        refused: &mut Option<String>,
    ) -> Result<(), AwsError> {
        let Some(check) = &self.access else {
            return Ok(());
        };
        let via = format!("secretsmanager.{}.amazonaws.com", ctx.region);
        for mut a in self.kms.accesses(ctx, op, input)? {
            a.context
                .push(("kms:ViaService".to_string(), vec![via.clone()]));
            match check.check(ctx, &a) {
                Err(e) if e.code == "AccessDeniedException" => {
                    *refused = Some(a.resource);
                    return Err(AwsError::access_denied("Access to KMS is not allowed"));
                }
                r => r?,
            }
        }
        Ok(())
    }

    fn record(
        &self,
        ctx: &RequestContext,
        event_name: &str,
        params: Value,
        key_arn: Option<&str>,
        material: Option<String>,
        err: Option<&AwsError>,
    ) {
        let mut ev = rampart_trail::AuditEvent::from_context(ctx, "kms.amazonaws.com", true);
        ev.event_name = event_name.to_string();
        ev.request_id = rampart_core::ids::request_id();
        ev.user_agent = "secretsmanager.amazonaws.com".to_string();
        ev.source_ip = "secretsmanager.amazonaws.com".to_string();
        if let Value::Object(ui) = &mut ev.user_identity {
            ui.insert("invokedBy".into(), "secretsmanager.amazonaws.com".into());
        }
        ev.request_parameters = params;
        if let Some(k) = key_arn {
            ev.resources = vec![rampart_trail::Resource {
                resource_type: "AWS::KMS::Key".to_string(),
                resource_name: k.to_string(),
            }];
        }
        if let Some(m) = material {
            ev.additional = serde_json::json!({ "keyMaterialId": m });
        }
        if let Some(e) = err {
            ev.error_code = Some(e.code.to_string());
            ev.error_message = Some(e.message.clone());
        }
        if let Err(e) = self.trail.record(&ev, false) {
            tracing::error!(error = %e, "audit event could not be written");
        }
    }
}

impl rampart_secrets::Envelope for KmsEnvelope {
    fn encrypt(
        &self,
        ctx: &RequestContext,
        key: Option<&str>,
        context: &std::collections::BTreeMap<String, String>,
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, String), AwsError> {
        let key = match key {
            Some(k) => k.to_string(),
            None => self.kms.aws_managed_key(ctx, "secretsmanager")?,
        };
        let mut refused = None;
        let r = self
            .authorize(
                ctx,
                "GenerateDataKey",
                &serde_json::json!({"KeyId": key, "EncryptionContext": context}),
                &mut refused,
            )
            .and_then(|()| self.kms.encrypt_for(ctx, &key, context, plaintext));
        let params = serde_json::json!({
            "keyId": key,
            "encryptionContext": context,
            "keySpec": "AES_256",
        });
        self.record(
            ctx,
            "GenerateDataKey",
            params,
            r.as_ref()
                .ok()
                .map(|(_, arn)| arn.as_str())
                .or(refused.as_deref()),
            r.as_ref()
                .ok()
                .and_then(|(b, _)| rampart_kms::blob_material_id(b)),
            r.as_ref().err(),
        );
        r
    }

    fn decrypt(
        &self,
        ctx: &RequestContext,
        context: &std::collections::BTreeMap<String, String>,
        blob: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, AwsError> {
        use base64::Engine as _;
        let input = serde_json::json!({
            "CiphertextBlob": base64::engine::general_purpose::STANDARD.encode(blob),
            "EncryptionContext": context,
        });
        let mut refused = None;
        let r = self
            .authorize(ctx, "Decrypt", &input, &mut refused)
            .and_then(|()| self.kms.decrypt_for(ctx, blob, context));
        let params = serde_json::json!({
            "encryptionContext": context,
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        });
        self.record(
            ctx,
            "Decrypt",
            params,
            r.as_ref()
                .ok()
                .map(|(_, arn)| arn.as_str())
                .or(refused.as_deref()),
            r.as_ref()
                .ok()
                .and_then(|_| rampart_kms::blob_material_id(blob)),
            r.as_ref().err(),
        );
        r.map(|(pt, _)| pt)
    }
}
