//! What each KMS operation acts on, for the request path's authorizer: the key (its key
//! policy required, as on AWS), KMS's condition keys, and a grant that allows the call.
use crate::record::{self, alias_arn, parse_key_ref, KeyRecord, KeyRef};
use crate::{blob, KmsService, R};
use rampart_core::{RequestContext, ResourceAccess};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Operations authorized by identity policies alone (resource `*`), as AWS documents them.
const IDENTITY_ONLY: &[&str] = &[
    "CreateKey",
    "ListKeys",
    "ListAliases",
    "GenerateRandom",
    "ListRetirableGrants",
    "CreateCustomKeyStore",
    "DescribeCustomKeyStores",
    "ConnectCustomKeyStore",
    "DisconnectCustomKeyStore",
    "UpdateCustomKeyStore",
    "DeleteCustomKeyStore",
];

/// Request members that become `kms:` condition keys.
const MEMBER_KEYS: &[(&str, &str)] = &[
    ("EncryptionAlgorithm", "kms:EncryptionAlgorithm"),
    ("SigningAlgorithm", "kms:SigningAlgorithm"),
    ("MessageType", "kms:MessageType"),
    ("MacAlgorithm", "kms:MacAlgorithm"),
    ("KeyPairSpec", "kms:DataKeyPairSpec"),
    ("KeyAgreementAlgorithm", "kms:KeyAgreementAlgorithm"),
    ("GranteePrincipal", "kms:GranteePrincipal"),
    ("RetiringPrincipal", "kms:RetiringPrincipal"),
    (
        "PendingWindowInDays",
        "kms:ScheduleKeyDeletionPendingWindowInDays",
    ),
    ("RotationPeriodInDays", "kms:RotationPeriodInDays"),
    (
        "BypassPolicyLockoutSafetyCheck",
        "kms:BypassPolicyLockoutSafetyCheck",
    ),
];

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn context_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The header of the ciphertext blob (base64 in the JSON input) `member` holds.
fn blob_header(input: &Value, member: &str) -> Option<blob::Header> {
    blob::header_b64(input.get(member)?.as_str()?).ok()
}

/// The key id a ciphertext blob (base64 in the JSON input) names.
fn blob_key(input: &Value, member: &str) -> Option<String> {
    blob_header(input, member).map(|h| h.key_id.to_string())
}

/// A key another account of this node does not have (or not yet): refused as a cross-account
/// call without a key policy, never decided by the caller's identity policies alone.
fn unknown_foreign(
    owned: Option<&RequestContext>,
    action: &str,
    raw: &str,
) -> Option<ResourceAccess> {
    owned.map(|o| ResourceAccess {
        action: action.to_string(),
        resource: raw.to_string(),
        account: Some(o.account_id.clone()),
        ..Default::default()
    })
}

impl KmsService {
    /// The accesses `op` needs (empty: identity policies alone, on `*`).
    pub fn accesses(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: &Value,
    ) -> R<Vec<ResourceAccess>> {
        if IDENTITY_ONLY.contains(&op) {
            return Ok(Vec::new());
        }
        let s = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
        let action = ["kms:", op].concat();
        let mut out = Vec::new();
        match op {
            "CreateAlias" | "UpdateAlias" | "DeleteAlias" => {
                let alias = s("AliasName").unwrap_or_default();
                out.push(ResourceAccess {
                    action: action.clone(),
                    resource: alias_arn(ctx, &alias),
                    ..Default::default()
                });
                if op != "CreateAlias" {
                    // The key the alias points at now.
                    if let Ok(k) = self.lookup(ctx, &alias) {
                        out.push(self.key_access(ctx, &k, &action, None, input, None)?);
                    }
                }
                if let Some(target) = s("TargetKeyId") {
                    if matches!(parse_key_ref(ctx, &target)?, KeyRef::Id(_)) {
                        let k = self.lookup(ctx, &target)?;
                        out.push(self.key_access(ctx, &k, &action, None, input, None)?);
                    }
                }
            }
            "Decrypt" => {
                let raw = s("KeyId").or_else(|| blob_key(input, "CiphertextBlob"));
                if let Some(raw) = raw {
                    let c = context_map(input.get("EncryptionContext"));
                    out.extend(self.access_in(ctx, None, &raw, &action, s("KeyId"), input, &c)?);
                }
            }
            "ReEncrypt" => {
                // Each key in its owner's scope: either may be another account's.
                let src_raw = s("SourceKeyId");
                let sctx = self.owner_ctx(
                    ctx,
                    src_raw.as_deref(),
                    blob_header(input, "CiphertextBlob"),
                );
                let src = src_raw
                    .clone()
                    .or_else(|| blob_key(input, "CiphertextBlob"));
                if let Some(raw) = src {
                    let c = context_map(input.get("SourceEncryptionContext"));
                    out.extend(self.access_in(
                        ctx,
                        sctx.as_ref(),
                        &raw,
                        "kms:ReEncryptFrom",
                        src_raw,
                        input,
                        &c,
                    )?);
                }
                if let Some(raw) = s("DestinationKeyId") {
                    let dctx = self.owner_ctx(ctx, Some(&raw), None);
                    if dctx.is_none() {
                        // The caller's own destination must exist (NotFoundException).
                        self.lookup(ctx, &raw)?;
                    }
                    let c = context_map(input.get("DestinationEncryptionContext"));
                    out.extend(self.access_in(
                        ctx,
                        dctx.as_ref(),
                        &raw,
                        "kms:ReEncryptTo",
                        Some(raw.clone()),
                        input,
                        &c,
                    )?);
                }
            }
            // The retiring principal or grantee may retire without a policy; the service
            // checks who is calling.
            "RetireGrant" => {}
            _ => {
                if let Some(raw) = s("KeyId") {
                    let k = self.lookup(ctx, &raw)?;
                    let c = input.get("EncryptionContext").map(|v| context_map(Some(v)));
                    out.push(self.key_access(ctx, &k, &action, Some(raw), input, c.as_ref())?);
                }
            }
        }
        Ok(out)
    }

    /// The access to the key `raw` names, found in `owned`'s scope (another account's) or the
    /// caller's: a key that does not exist there gives none in the caller's scope (the
    /// operation answers for it) and a refusal in another account's ([`unknown_foreign`]).
    #[allow(clippy::too_many_arguments)]
    fn access_in(
        &self,
        ctx: &RequestContext,
        owned: Option<&RequestContext>,
        raw: &str,
        action: &str,
        requested: Option<String>,
        input: &Value,
        enc_context: &BTreeMap<String, String>,
    ) -> R<Option<ResourceAccess>> {
        let scope = owned.unwrap_or(ctx);
        Ok(match self.find_for_auth(scope, raw)? {
            Some(k) => {
                Some(self.key_access(scope, &k, action, requested, input, Some(enc_context))?)
            }
            None => unknown_foreign(owned, action, raw),
        })
    }

    /// A key named by id or alias, or `None` when a blob names a key that does not exist
    /// (the operation then answers InvalidCiphertextException itself).
    fn find_for_auth(&self, ctx: &RequestContext, raw: &str) -> R<Option<Arc<KeyRecord>>> {
        // A blob names a multi-Region key by the 16 bytes of its `mrk-` id.
        let mut tries = vec![raw.to_string()];
        if let Ok(u) = uuid::Uuid::parse_str(raw) {
            tries.push(crate::multiregion::ids_of(u)[1].clone());
        }
        for t in tries {
            match self.lookup(ctx, &t) {
                Ok(k) => return Ok(Some(k)),
                Err(e) if e.code == "NotFoundException" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// The names of the aliases of a key (cached like the key).
    fn alias_names(&self, ctx: &RequestContext, key_id: &str) -> R<Arc<Vec<String>>> {
        let cache_key = ["a\n", &ctx.account_id, "\n", &ctx.region, "\n", key_id].concat();
        if let Some(crate::keycache::Entry::Aliases(a)) = self.keys.get(&cache_key) {
            return Ok(a);
        }
        let generation = self.keys.generation();
        let names: Vec<String> = self
            .read(|tx| record::aliases_of(tx, ctx, key_id))?
            .into_iter()
            .map(|a| a.alias_name)
            .collect();
        let names = Arc::new(names);
        self.keys.put(
            cache_key,
            generation,
            crate::keycache::Entry::Aliases(names.clone()),
        );
        Ok(names)
    }

    fn key_access(
        &self,
        ctx: &RequestContext,
        k: &KeyRecord,
        action: &str,
        requested: Option<String>,
        input: &Value,
        enc_context: Option<&BTreeMap<String, String>>,
    ) -> R<ResourceAccess> {
        let mut c: Vec<(String, Vec<String>)> = vec![
            (
                "kms:CallerAccount".into(),
                vec![ctx.principal.account_id.clone()],
            ),
            ("kms:KeySpec".into(), vec![k.spec.as_str().to_string()]),
            ("kms:KeyUsage".into(), vec![k.usage.as_str().to_string()]),
            ("kms:KeyOrigin".into(), vec!["AWS_KMS".into()]),
            ("kms:MultiRegion".into(), vec!["false".into()]),
        ];
        for t in &k.tags {
            c.push((["aws:ResourceTag/", &t.key].concat(), vec![t.value.clone()]));
        }
        for (member, key) in MEMBER_KEYS {
            if let Some(v) = input.get(*member).and_then(text) {
                c.push(((*key).to_string(), vec![v]));
            }
        }
        let encrypts = action.ends_with("Encrypt")
            || action.ends_with("Decrypt")
            || action.contains("ReEncrypt")
            || action.contains("GenerateDataKey");
        if encrypts && k.is_symmetric() && input.get("EncryptionAlgorithm").is_none() {
            c.push((
                "kms:EncryptionAlgorithm".into(),
                vec!["SYMMETRIC_DEFAULT".into()],
            ));
        }
        if let Some(ops) = input.get("Operations").and_then(Value::as_array) {
            c.push((
                "kms:GrantOperations".into(),
                ops.iter().filter_map(text).collect(),
            ));
            c.push(("kms:GrantIsForAWSResource".into(), vec!["false".into()]));
        }
        let context = enc_context.cloned().unwrap_or_default();
        if enc_context.is_some() {
            for (ek, ev) in &context {
                c.push((["kms:EncryptionContext:", ek].concat(), vec![ev.clone()]));
            }
            if !context.is_empty() {
                c.push((
                    "kms:EncryptionContextKeys".into(),
                    context.keys().cloned().collect(),
                ));
            }
        }
        if let Some(raw) = &requested {
            if let KeyRef::Alias(name) = parse_key_ref(ctx, raw)? {
                c.push(("kms:RequestAlias".into(), vec![name]));
            }
        }
        let aliases = self.alias_names(ctx, &k.key_id)?;
        if !aliases.is_empty() {
            c.push(("kms:ResourceAliases".into(), aliases.to_vec()));
        }
        let op = action.trim_start_matches("kms:");
        let grant = self.grant_for(ctx, k, op, &context)?;
        Ok(ResourceAccess {
            action: action.to_string(),
            resource: k.arn.clone(),
            resource_type: "AWS::KMS::Key".to_string(),
            policy: Some(k.policy.clone()),
            policy_required: true,
            context: c,
            grant,
            // The owner, which may not be the caller (a key of another account named by
            // its ARN).
            account: Some(k.account_id.clone()),
        })
    }
}
