//! AWS KMS (`TrentService`): customer managed symmetric keys (`SYMMETRIC_DEFAULT`), aliases,
//! and the symmetric cryptographic operations. Each key's 256-bit backing material is stored
//! only wrapped under the root of trust (AAD binds the key ARN and the material id); the
//! ciphertexts handed out are Rampart's own versioned blobs ([`blob`]).
#![forbid(unsafe_code)]

pub mod blob;

use base64::Engine as _;
use rampart_core::{AwsError, RequestContext};
use rampart_crypto::RootKey;
use rampart_model::kms::{self as m, Kms};
use rampart_model::{Blob, Timestamp, Unit};
use rampart_store::{Store, StoreError, StoreExt, Tx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;
use zeroize::Zeroizing;

const KEYS: &str = "kms_key";
const ALIASES: &str = "kms_alias";
const ALIAS_PREFIX: &str = "alias/";
const MAX_SCAN: usize = 100_000;

type R<T> = Result<T, AwsError>;

/// Errors inside a store transaction.
enum KmsError {
    Aws(AwsError),
    Store(StoreError),
}

impl From<StoreError> for KmsError {
    fn from(e: StoreError) -> Self {
        KmsError::Store(e)
    }
}

impl From<AwsError> for KmsError {
    fn from(e: AwsError) -> Self {
        KmsError::Aws(e)
    }
}

impl From<KmsError> for AwsError {
    fn from(e: KmsError) -> Self {
        match e {
            KmsError::Aws(a) => a,
            KmsError::Store(s) => {
                tracing::error!(error = %s, "kms store failure");
                m::kms_internal_exception("The request failed because of an internal error.")
                    .with_status(500)
            }
        }
    }
}

type TxR<T> = Result<T, KmsError>;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TagRec {
    key: String,
    value: String,
}

/// A KMS key as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRecord {
    key_id: String,
    arn: String,
    account_id: String,
    region: String,
    /// Seconds since the Unix epoch.
    created: f64,
    enabled: bool,
    description: String,
    tags: Vec<TagRec>,
    policy: String,
    /// The current backing material version.
    material_id: String,
    /// The backing material, sealed under the root key (base64).
    wrapped_material: String,
    /// An AWS managed key (`alias/aws/<service>`), created by another Rampart service.
    #[serde(default)]
    aws_managed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AliasRecord {
    alias_name: String,
    target_key_id: String,
    created: f64,
    updated: f64,
}

/// The KMS service.
pub struct KmsService {
    store: Arc<dyn Store>,
    root: Arc<RootKey>,
}

fn scope(ctx: &RequestContext) -> String {
    format!("{}/{}/", ctx.account_id, ctx.region)
}

fn key_arn(ctx: &RequestContext, id: &str) -> String {
    format!("arn:aws:kms:{}:{}:key/{id}", ctx.region, ctx.account_id)
}

fn alias_arn(ctx: &RequestContext, name: &str) -> String {
    format!("arn:aws:kms:{}:{}:{name}", ctx.region, ctx.account_id)
}

fn material_aad(arn: &str, material_id: &str) -> Vec<u8> {
    format!("rampart-kms-material-v1\0{arn}\0{material_id}").into_bytes()
}

/// AWS's default key policy: the account (and so IAM policies) may use the key.
fn default_policy(account: &str) -> String {
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

fn invalid_ciphertext() -> AwsError {
    m::invalid_ciphertext_exception("")
}

fn disabled(arn: &str) -> AwsError {
    m::disabled_exception(format!("{arn} is disabled."))
}

fn key_not_found(what: &str) -> AwsError {
    m::not_found_exception(format!("Key '{what}' does not exist"))
}

fn alias_not_found(arn: &str) -> AwsError {
    m::not_found_exception(format!("Alias {arn} is not found."))
}

fn now() -> f64 {
    Timestamp::now().secs()
}

/// What a `KeyId` parameter names, after checking region and account.
enum KeyRef {
    Id(String),
    Alias(String),
}

fn parse_key_ref(ctx: &RequestContext, raw: &str) -> R<KeyRef> {
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
fn resolve(tx: &mut dyn Tx, ctx: &RequestContext, raw: &str) -> TxR<KeyRecord> {
    let id = match parse_key_ref(ctx, raw)? {
        KeyRef::Id(id) => {
            if Uuid::parse_str(&id).is_err() {
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

fn metadata(k: &KeyRecord) -> m::KeyMetadata {
    m::KeyMetadata {
        aws_account_id: Some(k.account_id.clone()),
        key_id: k.key_id.clone(),
        arn: Some(k.arn.clone()),
        creation_date: Some(Timestamp(k.created)),
        enabled: Some(k.enabled),
        description: Some(k.description.clone()),
        key_usage: Some(m::KeyUsageType::EncryptDecrypt),
        key_state: Some(if k.enabled {
            m::KeyState::Enabled
        } else {
            m::KeyState::Disabled
        }),
        origin: Some(m::OriginType::AwsKms),
        key_manager: Some(if k.aws_managed {
            m::KeyManagerType::Aws
        } else {
            m::KeyManagerType::Customer
        }),
        customer_master_key_spec: Some(m::CustomerMasterKeySpec::SymmetricDefault),
        key_spec: Some(m::KeySpec::SymmetricDefault),
        encryption_algorithms: Some(vec![m::EncryptionAlgorithmSpec::SymmetricDefault]),
        multi_region: Some(false),
        current_key_material_id: Some(k.material_id.clone()),
        ..Default::default()
    }
}

fn check_algorithm(alg: Option<m::EncryptionAlgorithmSpec>) -> R<()> {
    match alg {
        None | Some(m::EncryptionAlgorithmSpec::SymmetricDefault) => Ok(()),
        Some(other) => Err(m::invalid_key_usage_exception(format!(
            "The encryption algorithm {other} is not compatible with the key spec SYMMETRIC_DEFAULT."
        ))),
    }
}

fn check_alias_name(name: &str) -> R<()> {
    if !name.starts_with(ALIAS_PREFIX) {
        return Err(m::invalid_alias_name_exception(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(AwsError::new("NotAuthorizedException", 400, ""));
    }
    if name.len() <= ALIAS_PREFIX.len() {
        return Err(m::invalid_alias_name_exception(format!(
            "Alias name {name} is not valid."
        )));
    }
    Ok(())
}

fn decode_marker(marker: Option<&str>) -> R<Option<String>> {
    match marker {
        None => Ok(None),
        Some(mk) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(mk)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| m::invalid_marker_exception("Invalid marker")),
    }
}

fn encode_marker(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn limit_of(limit: Option<i32>) -> usize {
    usize::try_from(limit.unwrap_or(100).clamp(1, 1000)).unwrap_or(100)
}

/// The material of an enabled key, unwrapped.
struct Unwrapped {
    key_id: Uuid,
    material_id: Uuid,
    material: Zeroizing<Vec<u8>>,
}

impl KmsService {
    pub fn new(store: Arc<dyn Store>, root: Arc<RootKey>) -> Self {
        KmsService { store, root }
    }

    fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> TxR<T>) -> R<T> {
        self.store.read(f).map_err(AwsError::from)
    }

    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> TxR<T> + Send + 'static,
    ) -> R<T> {
        self.store.write(f).map_err(AwsError::from)
    }

    fn lookup(&self, ctx: &RequestContext, raw: &str) -> R<KeyRecord> {
        self.read(|tx| resolve(tx, ctx, raw))
    }

    fn unwrap_material(&self, k: &KeyRecord) -> R<Unwrapped> {
        let fail = |what: &str| {
            tracing::error!(key = %k.arn, what, "kms key material cannot be unwrapped");
            m::kms_internal_exception("The request failed because of an internal error.")
                .with_status(500)
        };
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(&k.wrapped_material)
            .map_err(|_| fail("base64"))?;
        let material = self
            .root
            .open(&material_aad(&k.arn, &k.material_id), &wrapped)
            .map_err(|_| fail("open"))?;
        Ok(Unwrapped {
            key_id: Uuid::parse_str(&k.key_id).map_err(|_| fail("key id"))?,
            material_id: Uuid::parse_str(&k.material_id).map_err(|_| fail("material id"))?,
            material,
        })
    }

    /// Encrypts under the key `raw` names (enabled), returning the blob and the key.
    fn encrypt_under(
        &self,
        ctx: &RequestContext,
        raw: &str,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
    ) -> R<(Vec<u8>, KeyRecord)> {
        let k = self.lookup(ctx, raw)?;
        if !k.enabled {
            return Err(disabled(&k.arn));
        }
        let u = self.unwrap_material(&k)?;
        let b = blob::seal(u.key_id, u.material_id, &u.material, context, plaintext)
            .map_err(|_| AwsError::internal())?;
        Ok((b, k))
    }

    /// Decrypts a blob: the key comes from the blob; `key_id`, when given, must name it.
    fn decrypt_blob(
        &self,
        ctx: &RequestContext,
        blob_bytes: &[u8],
        key_id: Option<&str>,
        context: &BTreeMap<String, String>,
    ) -> R<(Zeroizing<Vec<u8>>, KeyRecord)> {
        let header = blob::header(blob_bytes).map_err(|_| invalid_ciphertext())?;
        let id = header.key_id.to_string();
        let named = match key_id {
            Some(raw) => Some(self.lookup(ctx, raw)?),
            None => None,
        };
        if let Some(n) = &named {
            if n.key_id != id {
                return Err(m::incorrect_key_exception(
                    "The key ID in the request does not identify a CMK that can perform this operation.",
                ));
            }
        }
        let k = match named {
            Some(n) => n,
            None => {
                let key = format!("{}{id}", scope(ctx));
                let rec: Option<KeyRecord> = self.read(|tx| Ok(tx.get_json(KEYS, &key)?))?;
                rec.ok_or_else(invalid_ciphertext)?
            }
        };
        if !k.enabled {
            return Err(disabled(&k.arn));
        }
        if header.material_id.to_string() != k.material_id {
            return Err(invalid_ciphertext());
        }
        let u = self.unwrap_material(&k)?;
        let pt = blob::open(blob_bytes, &u.material, context).map_err(|_| invalid_ciphertext())?;
        Ok((pt, k))
    }

    fn data_key(
        &self,
        ctx: &RequestContext,
        key_id: &str,
        context: Option<&BTreeMap<String, String>>,
        spec: Option<m::DataKeySpec>,
        number_of_bytes: Option<i32>,
    ) -> R<(Zeroizing<Vec<u8>>, Vec<u8>, KeyRecord)> {
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
        let (b, k) = self.encrypt_under(ctx, key_id, context.unwrap_or(&empty), &pt)?;
        Ok((pt, b, k))
    }

    fn set_enabled(&self, ctx: &RequestContext, raw: &str, enabled: bool) -> R<Unit> {
        let ctx = ctx.clone();
        let raw = raw.to_string();
        self.write(move |tx| {
            let mut k = resolve(tx, &ctx, &raw)?;
            k.enabled = enabled;
            tx.put_json(KEYS, &format!("{}{}", scope(&ctx), k.key_id), &k)?;
            Ok(Unit::default())
        })
    }

    fn put_alias(
        &self,
        ctx: &RequestContext,
        name: String,
        target: String,
        create: bool,
    ) -> R<Unit> {
        check_alias_name(&name)?;
        let ctx = ctx.clone();
        self.write(move |tx| {
            let k = resolve(tx, &ctx, &target)?;
            let key = format!("{}{name}", scope(&ctx));
            let existing: Option<AliasRecord> = tx.get_json(ALIASES, &key)?;
            let t = now();
            let rec = match (existing, create) {
                (Some(_), true) => {
                    return Err(m::already_exists_exception(format!(
                        "An alias with the name {} already exists",
                        alias_arn(&ctx, &name)
                    ))
                    .into())
                }
                (None, false) => return Err(alias_not_found(&alias_arn(&ctx, &name)).into()),
                (Some(a), false) => AliasRecord {
                    target_key_id: k.key_id,
                    updated: t,
                    ..a
                },
                (None, true) => AliasRecord {
                    alias_name: name,
                    target_key_id: k.key_id,
                    created: t,
                    updated: t,
                },
            };
            tx.put_json(ALIASES, &key, &rec)?;
            Ok(Unit::default())
        })
    }
}

/// The API other Rampart services use for envelope encryption (as AWS services call KMS on
/// a caller's behalf). The caller's service records its own trail event for these calls.
impl KmsService {
    /// Encrypts `plaintext` under the key `key` names (id, ARN, alias name or alias ARN);
    /// returns the ciphertext blob and the key's ARN.
    pub fn encrypt_for(
        &self,
        ctx: &RequestContext,
        key: &str,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
    ) -> R<(Vec<u8>, String)> {
        let (b, k) = self.encrypt_under(ctx, key, context, plaintext)?;
        Ok((b, k.arn))
    }

    /// Decrypts a blob made by [`KmsService::encrypt_for`] (or `Encrypt`); returns the
    /// plaintext and the key's ARN.
    pub fn decrypt_for(
        &self,
        ctx: &RequestContext,
        blob_bytes: &[u8],
        context: &BTreeMap<String, String>,
    ) -> R<(Zeroizing<Vec<u8>>, String)> {
        let (pt, k) = self.decrypt_blob(ctx, blob_bytes, None, context)?;
        Ok((pt, k.arn))
    }

    /// The AWS managed key `alias/aws/<service>` of the caller's account and region, created
    /// on first use as AWS does; returns its ARN.
    pub fn aws_managed_key(&self, ctx: &RequestContext, service: &str) -> R<String> {
        let alias = format!("alias/aws/{service}");
        let existing = self.read(|tx| {
            let a: Option<AliasRecord> = tx.get_json(ALIASES, &format!("{}{alias}", scope(ctx)))?;
            Ok(a)
        })?;
        if let Some(a) = existing {
            return Ok(key_arn(ctx, &a.target_key_id));
        }
        let mut rec = self.new_key_record(
            ctx,
            format!("Default key that protects my {service} data when no other key is defined"),
            Vec::new(),
            default_policy(&ctx.account_id),
        )?;
        rec.aws_managed = true;
        let ctx2 = ctx.clone();
        self.write(move |tx| {
            let akey = format!("{}{alias}", scope(&ctx2));
            // Two first uses at once: the first to commit wins, the other's key is not stored.
            if let Some(a) = tx.get_json::<AliasRecord>(ALIASES, &akey)? {
                return Ok(key_arn(&ctx2, &a.target_key_id));
            }
            let t = now();
            tx.put_json(KEYS, &format!("{}{}", scope(&ctx2), rec.key_id), &rec)?;
            tx.put_json(
                ALIASES,
                &akey,
                &AliasRecord {
                    alias_name: alias,
                    target_key_id: rec.key_id.clone(),
                    created: t,
                    updated: t,
                },
            )?;
            Ok(rec.arn)
        })
    }

    fn new_key_record(
        &self,
        ctx: &RequestContext,
        description: String,
        tags: Vec<TagRec>,
        policy: String,
    ) -> R<KeyRecord> {
        let key_id = Uuid::new_v4().to_string();
        let material_id = Uuid::new_v4().to_string();
        let arn = key_arn(ctx, &key_id);
        let mut material = Zeroizing::new([0u8; 32]);
        rampart_core::ids::random_bytes(&mut material[..]);
        let wrapped = self
            .root
            .seal(&material_aad(&arn, &material_id), &material[..])
            .map_err(|_| AwsError::internal())?;
        Ok(KeyRecord {
            key_id,
            arn,
            account_id: ctx.account_id.clone(),
            region: ctx.region.clone(),
            created: now(),
            enabled: true,
            description,
            tags,
            policy,
            material_id,
            wrapped_material: base64::engine::general_purpose::STANDARD.encode(wrapped),
            aws_managed: false,
        })
    }
}

impl Kms for KmsService {
    fn create_key(
        &self,
        ctx: &RequestContext,
        input: m::CreateKeyRequest,
    ) -> R<m::CreateKeyResponse> {
        if let Some(spec) = input.key_spec {
            if spec != m::KeySpec::SymmetricDefault {
                return Err(m::unsupported_operation_exception(format!(
                    "KeySpec {spec} is not supported by Rampart yet; only SYMMETRIC_DEFAULT keys can be created."
                )));
            }
        }
        if let Some(spec) = input.customer_master_key_spec {
            if spec != m::CustomerMasterKeySpec::SymmetricDefault {
                return Err(m::unsupported_operation_exception(format!(
                    "CustomerMasterKeySpec {spec} is not supported by Rampart yet; only SYMMETRIC_DEFAULT keys can be created."
                )));
            }
        }
        if let Some(usage) = input.key_usage {
            if usage != m::KeyUsageType::EncryptDecrypt {
                return Err(AwsError::validation(format!(
                    "KeyUsage {usage} is not compatible with KeySpec SYMMETRIC_DEFAULT"
                )));
            }
        }
        if let Some(o) = input.origin {
            if o != m::OriginType::AwsKms {
                return Err(m::unsupported_operation_exception(format!(
                    "Origin {o} is not supported by Rampart yet."
                )));
            }
        }
        if input.custom_key_store_id.is_some() {
            return Err(m::custom_key_store_not_found_exception(""));
        }
        if input.multi_region == Some(true) {
            return Err(m::unsupported_operation_exception(
                "Multi-Region keys are not supported by Rampart yet.",
            ));
        }
        let policy = match input.policy {
            Some(p) => {
                if serde_json::from_str::<serde_json::Value>(&p)
                    .ok()
                    .is_none_or(|v| !v.is_object())
                {
                    return Err(m::malformed_policy_document_exception(
                        "The new key policy will not allow you to update the key policy in the future.",
                    ));
                }
                p
            }
            None => default_policy(&ctx.account_id),
        };
        let rec = self.new_key_record(
            ctx,
            input.description.unwrap_or_default(),
            input
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| TagRec {
                    key: t.tag_key,
                    value: t.tag_value,
                })
                .collect(),
            policy,
        )?;
        let key_id = rec.key_id.clone();
        let key = format!("{}{key_id}", scope(ctx));
        let saved = rec.clone();
        self.write(move |tx| {
            tx.put_json(KEYS, &key, &saved)?;
            Ok(())
        })?;
        Ok(m::CreateKeyResponse {
            key_metadata: Some(metadata(&rec)),
        })
    }

    fn describe_key(
        &self,
        ctx: &RequestContext,
        input: m::DescribeKeyRequest,
    ) -> R<m::DescribeKeyResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        Ok(m::DescribeKeyResponse {
            key_metadata: Some(metadata(&k)),
        })
    }

    fn list_keys(&self, ctx: &RequestContext, input: m::ListKeysRequest) -> R<m::ListKeysResponse> {
        let limit = limit_of(input.limit);
        let after = decode_marker(input.marker.as_deref())?;
        let prefix = scope(ctx);
        let after_key = after.map(|a| format!("{prefix}{a}"));
        let mut rows: Vec<(String, KeyRecord)> =
            self.read(|tx| Ok(tx.scan_json(KEYS, &prefix, after_key.as_deref(), limit + 1)?))?;
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        let next = if truncated {
            rows.last().map(|(_, k)| encode_marker(&k.key_id))
        } else {
            None
        };
        Ok(m::ListKeysResponse {
            keys: Some(
                rows.into_iter()
                    .map(|(_, k)| m::KeyListEntry {
                        key_id: Some(k.key_id),
                        key_arn: Some(k.arn),
                    })
                    .collect(),
            ),
            next_marker: next,
            truncated: Some(truncated),
        })
    }

    fn enable_key(&self, ctx: &RequestContext, input: m::EnableKeyRequest) -> R<Unit> {
        self.set_enabled(ctx, &input.key_id, true)
    }

    fn disable_key(&self, ctx: &RequestContext, input: m::DisableKeyRequest) -> R<Unit> {
        self.set_enabled(ctx, &input.key_id, false)
    }

    fn update_key_description(
        &self,
        ctx: &RequestContext,
        input: m::UpdateKeyDescriptionRequest,
    ) -> R<Unit> {
        let ctx = ctx.clone();
        self.write(move |tx| {
            let mut k = resolve(tx, &ctx, &input.key_id)?;
            k.description = input.description;
            tx.put_json(KEYS, &format!("{}{}", scope(&ctx), k.key_id), &k)?;
            Ok(Unit::default())
        })
    }

    fn get_key_policy(
        &self,
        ctx: &RequestContext,
        input: m::GetKeyPolicyRequest,
    ) -> R<m::GetKeyPolicyResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        let name = input.policy_name.unwrap_or_else(|| "default".to_string());
        if name != "default" {
            return Err(m::not_found_exception("No such policy exists"));
        }
        Ok(m::GetKeyPolicyResponse {
            policy: Some(k.policy),
            policy_name: Some(name),
        })
    }

    fn list_key_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListKeyPoliciesRequest,
    ) -> R<m::ListKeyPoliciesResponse> {
        self.lookup(ctx, &input.key_id)?;
        Ok(m::ListKeyPoliciesResponse {
            policy_names: Some(vec!["default".to_string()]),
            next_marker: None,
            truncated: Some(false),
        })
    }

    fn create_alias(&self, ctx: &RequestContext, input: m::CreateAliasRequest) -> R<Unit> {
        self.put_alias(ctx, input.alias_name, input.target_key_id, true)
    }

    fn update_alias(&self, ctx: &RequestContext, input: m::UpdateAliasRequest) -> R<Unit> {
        self.put_alias(ctx, input.alias_name, input.target_key_id, false)
    }

    fn delete_alias(&self, ctx: &RequestContext, input: m::DeleteAliasRequest) -> R<Unit> {
        check_alias_name(&input.alias_name)?;
        let ctx = ctx.clone();
        self.write(move |tx| {
            let key = format!("{}{}", scope(&ctx), input.alias_name);
            if !tx.delete(ALIASES, &key)? {
                return Err(alias_not_found(&alias_arn(&ctx, &input.alias_name)).into());
            }
            Ok(Unit::default())
        })
    }

    fn list_aliases(
        &self,
        ctx: &RequestContext,
        input: m::ListAliasesRequest,
    ) -> R<m::ListAliasesResponse> {
        let limit = limit_of(input.limit);
        let after = decode_marker(input.marker.as_deref())?;
        let prefix = scope(ctx);
        let filter = match &input.key_id {
            Some(raw) => Some(self.lookup(ctx, raw)?.key_id),
            None => None,
        };
        let all: Vec<(String, AliasRecord)> =
            self.read(|tx| Ok(tx.scan_json(ALIASES, &prefix, None, MAX_SCAN)?))?;
        let mut rows: Vec<AliasRecord> = all
            .into_iter()
            .map(|(_, a)| a)
            .filter(|a| filter.as_ref().is_none_or(|f| *f == a.target_key_id))
            .filter(|a| after.as_ref().is_none_or(|m| a.alias_name > *m))
            .take(limit + 1)
            .collect();
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        let next = if truncated {
            rows.last().map(|a| encode_marker(&a.alias_name))
        } else {
            None
        };
        Ok(m::ListAliasesResponse {
            aliases: Some(
                rows.into_iter()
                    .map(|a| m::AliasListEntry {
                        alias_arn: Some(alias_arn(ctx, &a.alias_name)),
                        alias_name: Some(a.alias_name),
                        target_key_id: Some(a.target_key_id),
                        creation_date: Some(Timestamp(a.created)),
                        last_updated_date: Some(Timestamp(a.updated)),
                    })
                    .collect(),
            ),
            next_marker: next,
            truncated: Some(truncated),
        })
    }

    fn encrypt(&self, ctx: &RequestContext, input: m::EncryptRequest) -> R<m::EncryptResponse> {
        check_algorithm(input.encryption_algorithm)?;
        let context = input.encryption_context.unwrap_or_default();
        let (b, k) =
            self.encrypt_under(ctx, &input.key_id, &context, input.plaintext.as_bytes())?;
        Ok(m::EncryptResponse {
            ciphertext_blob: Some(Blob::new(b)),
            key_id: Some(k.arn),
            encryption_algorithm: Some(m::EncryptionAlgorithmSpec::SymmetricDefault),
        })
    }

    fn decrypt(&self, ctx: &RequestContext, input: m::DecryptRequest) -> R<m::DecryptResponse> {
        check_algorithm(input.encryption_algorithm)?;
        if input.recipient.is_some() {
            return Err(m::unsupported_operation_exception(
                "Recipient is not supported by Rampart yet.",
            ));
        }
        let blob_in = input.ciphertext_blob.ok_or_else(invalid_ciphertext)?;
        let context = input.encryption_context.unwrap_or_default();
        let (pt, k) =
            self.decrypt_blob(ctx, blob_in.as_bytes(), input.key_id.as_deref(), &context)?;
        Ok(m::DecryptResponse {
            key_id: Some(k.arn),
            plaintext: Some(Blob::new(pt.to_vec())),
            encryption_algorithm: Some(m::EncryptionAlgorithmSpec::SymmetricDefault),
            ciphertext_for_recipient: None,
            key_material_id: Some(k.material_id),
        })
    }

    fn re_encrypt(
        &self,
        ctx: &RequestContext,
        input: m::ReEncryptRequest,
    ) -> R<m::ReEncryptResponse> {
        check_algorithm(input.source_encryption_algorithm)?;
        check_algorithm(input.destination_encryption_algorithm)?;
        let blob_in = input.ciphertext_blob.ok_or_else(invalid_ciphertext)?;
        let src_ctx = input.source_encryption_context.unwrap_or_default();
        let (pt, src) = self.decrypt_blob(
            ctx,
            blob_in.as_bytes(),
            input.source_key_id.as_deref(),
            &src_ctx,
        )?;
        let dst_ctx = input.destination_encryption_context.unwrap_or_default();
        let (b, dst) = self.encrypt_under(ctx, &input.destination_key_id, &dst_ctx, &pt)?;
        Ok(m::ReEncryptResponse {
            ciphertext_blob: Some(Blob::new(b)),
            source_key_id: Some(src.arn),
            key_id: Some(dst.arn),
            source_encryption_algorithm: Some(m::EncryptionAlgorithmSpec::SymmetricDefault),
            destination_encryption_algorithm: Some(m::EncryptionAlgorithmSpec::SymmetricDefault),
            source_key_material_id: Some(src.material_id),
            destination_key_material_id: Some(dst.material_id),
        })
    }

    fn generate_data_key(
        &self,
        ctx: &RequestContext,
        input: m::GenerateDataKeyRequest,
    ) -> R<m::GenerateDataKeyResponse> {
        if input.recipient.is_some() {
            return Err(m::unsupported_operation_exception(
                "Recipient is not supported by Rampart yet.",
            ));
        }
        let (pt, b, k) = self.data_key(
            ctx,
            &input.key_id,
            input.encryption_context.as_ref(),
            input.key_spec,
            input.number_of_bytes,
        )?;
        Ok(m::GenerateDataKeyResponse {
            ciphertext_blob: Some(Blob::new(b)),
            plaintext: Some(Blob::new(pt.to_vec())),
            key_id: Some(k.arn),
            ciphertext_for_recipient: None,
            key_material_id: Some(k.material_id),
        })
    }

    fn generate_data_key_without_plaintext(
        &self,
        ctx: &RequestContext,
        input: m::GenerateDataKeyWithoutPlaintextRequest,
    ) -> R<m::GenerateDataKeyWithoutPlaintextResponse> {
        let (_pt, b, k) = self.data_key(
            ctx,
            &input.key_id,
            input.encryption_context.as_ref(),
            input.key_spec,
            input.number_of_bytes,
        )?;
        Ok(m::GenerateDataKeyWithoutPlaintextResponse {
            ciphertext_blob: Some(Blob::new(b)),
            key_id: Some(k.arn),
            key_material_id: Some(k.material_id),
        })
    }

    fn generate_random(
        &self,
        _ctx: &RequestContext,
        input: m::GenerateRandomRequest,
    ) -> R<m::GenerateRandomResponse> {
        if input.custom_key_store_id.is_some() {
            return Err(m::custom_key_store_not_found_exception(""));
        }
        if input.recipient.is_some() {
            return Err(m::unsupported_operation_exception(
                "Recipient is not supported by Rampart yet.",
            ));
        }
        let n = input
            .number_of_bytes
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| {
                AwsError::validation("Please specify number of bytes between 1 and 1024.")
            })?;
        let mut out = vec![0u8; n];
        rampart_core::ids::random_bytes(&mut out);
        Ok(m::GenerateRandomResponse {
            plaintext: Some(Blob::new(out)),
            ciphertext_for_recipient: None,
        })
    }
}
