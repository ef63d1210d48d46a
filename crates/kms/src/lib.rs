//! AWS KMS (`TrentService`). Each key's backing material (every rotation version of it) is
//! stored only sealed under the root of trust (AAD binds the key ARN and the material id);
//! unwrapped copies live in a bounded cache of zeroizing buffers. Symmetric ciphertexts are
//! Rampart's own versioned blobs ([`blob`]).
//!
//! Modules: [`record`] (what is stored, key-state gates), `lifecycle` (create, states,
//! deletion and its scheduler, rotation, tags), `symmetric` (the blob operations),
//! `algorithms` (spec/usage/algorithm tables).
#![forbid(unsafe_code)]

mod algorithms;
mod asymmetric;
mod authz;
pub mod blob;
mod events;
mod grants;
mod imports;
mod keycache;
mod lifecycle;
mod multiregion;
mod record;
mod symmetric;
mod usage;

use base64::Engine as _;
use rampart_core::{AwsError, RequestContext};
use rampart_crypto::RootKey;
use rampart_model::kms::{self as m, Kms};
use rampart_model::{Blob, Timestamp, Unit};
use rampart_store::{Store, StoreExt, Tx};
use record::{
    alias_arn, alias_not_found, key_arn, now, resolve, scope, AliasRecord, KeyRecord, ALIASES,
    ALIAS_PREFIX, KEYS,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use zeroize::Zeroizing;

pub use events::complete_event;

/// The `KeyMaterialId` of the material a symmetric ciphertext names.
pub fn blob_material_id(blob: &[u8]) -> Option<String> {
    blob::header(blob).ok().map(|h| h.public_material_id())
}

pub(crate) const MAX_SCAN: usize = 100_000;

pub(crate) type R<T> = Result<T, AwsError>;

pub(crate) use rampart_store::TxError as KmsError;

pub(crate) type TxR<T> = Result<T, KmsError>;

/// KMS's internal error (logged with `what`; the caller sees only AWS's message).
pub(crate) fn internal(what: &str) -> AwsError {
    tracing::error!(what, "kms internal error");
    m::kms_internal_exception("The request failed because of an internal error.").with_status(500)
}

fn invalid_ciphertext() -> AwsError {
    m::invalid_ciphertext_exception("")
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

/// A page size: `Limit` when given (1 to `max`, AWS's range for the operation), else the
/// operation's default.
fn limit_of(limit: Option<i32>, default: usize, max: usize) -> R<usize> {
    let Some(n) = limit else {
        return Ok(default);
    };
    match usize::try_from(n) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ if n < 1 => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
        _ => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to {max}"
        ))),
    }
}

/// One page of `items` after `after` (by `name`, the order pages come in), and the marker
/// for the next.
fn page<T>(
    mut items: Vec<T>,
    after: Option<&str>,
    limit: usize,
    name: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    // The marker is the last name of a page, so the pages must be in name order whatever
    // order the items came in (tags in insertion order, retirable grants across keys).
    items.sort_by_cached_key(&name);
    let mut rows: Vec<T> = items
        .into_iter()
        .filter(|x| after.is_none_or(|a| name(x).as_str() > a))
        .take(limit + 1)
        .collect();
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    let next = if truncated {
        rows.last().map(|x| encode_marker(&name(x)))
    } else {
        None
    };
    (rows, next)
}

/// The KMS service.
pub struct KmsService {
    store: Arc<dyn Store>,
    root: Arc<RootKey>,
    cache: symmetric::MaterialCache,
    keys: keycache::KeyCache,
    keygen: asymmetric::KeygenGate,
    /// The Regions this node serves (multi-Region replicas go only there).
    regions: Vec<String>,
    /// `<region>/<key id>` -> owning account, as read from the store (a key's owner never
    /// changes): Decrypt without a key id looks it up on every call.
    owners: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl KmsService {
    pub fn new(store: Arc<dyn Store>, root: Arc<RootKey>) -> Self {
        KmsService {
            store,
            root,
            owners: std::sync::Mutex::new(std::collections::HashMap::new()),
            cache: symmetric::MaterialCache::new(4096),
            keys: keycache::new(),
            regions: Vec::new(),
            keygen: asymmetric::KeygenGate::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        }
    }

    /// The account owning the key the symmetric ciphertext `blob_b64` (base64) names in
    /// `region`, for a Decrypt from another account that names no key (as AWS finds it).
    pub fn blob_owner(&self, region: &str, blob_b64: &str) -> Option<String> {
        self.blob_owner_of(region, blob::header_b64(blob_b64).ok()?)
    }

    /// The scope of the account owning the key a request names, when that is another account
    /// of this node (the caller unchanged): a key or alias ARN of that account, or, when the
    /// request names the key by its bare id or not at all, the owner of the key the symmetric
    /// ciphertext `blob` names. ReEncrypt scopes its source and destination keys apart.
    pub(crate) fn owner_ctx(
        &self,
        ctx: &RequestContext,
        raw: Option<&str>,
        blob: Option<blob::Header>,
    ) -> Option<RequestContext> {
        if let Some(raw) = raw {
            if raw.starts_with("arn:") {
                return ctx.owner_scope(raw, "kms");
            }
        }
        let h = blob?;
        let ids = crate::multiregion::ids_of(h.key_id);
        if raw.is_some_and(|r| !ids.iter().any(|id| id == r)) {
            return None;
        }
        let owner = self.blob_owner_of(&ctx.region, h)?;
        (owner != ctx.account_id).then(|| {
            let mut owned = ctx.clone();
            owned.account_id = owner;
            owned
        })
    }

    fn blob_owner_of(&self, region: &str, h: blob::Header) -> Option<String> {
        crate::multiregion::ids_of(h.key_id)
            .into_iter()
            .find_map(|id| {
                let k = [region, "/", &id].concat();
                if let Some(a) = self.owners.lock().ok().and_then(|m| m.get(&k).cloned()) {
                    return Some(a);
                }
                let a = self
                    .read(|tx| Ok(tx.get_json::<String>(record::KEY_OWNERS, &k)?))
                    .ok()
                    .flatten()?;
                if let Ok(mut m) = self.owners.lock() {
                    if m.len() > 100_000 {
                        m.clear();
                    }
                    m.insert(k, a.clone());
                }
                Some(a)
            })
    }

    /// Indexes the owners of keys written before the index existed (once per data directory).
    pub fn index_key_owners(&self) -> R<()> {
        self.write(|tx| {
            if tx.get(record::KEY_OWNERS, "#indexed")?.is_some() {
                return Ok(());
            }
            let mut after: Option<String> = None;
            loop {
                let page: Vec<(String, KeyRecord)> =
                    tx.scan_json(KEYS, "", after.as_deref(), 500)?;
                let n = page.len();
                after = page.last().map(|(k, _)| k.clone());
                for (_, k) in page {
                    let key = format!("{}/{}", k.region, k.key_id);
                    tx.put_json(record::KEY_OWNERS, &key, &k.account_id)?;
                }
                if n < 500 {
                    break;
                }
            }
            tx.put_json(record::KEY_OWNERS, "#indexed", &true)?;
            Ok(())
        })
    }

    fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> TxR<T>) -> R<T> {
        self.store
            .read(f)
            .map_err(|e: KmsError| e.into_aws("kms", || internal("store")))
    }

    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> TxR<T> + Send + 'static,
    ) -> R<T> {
        let r = self
            .store
            .write(f)
            .map_err(|e: KmsError| e.into_aws("kms", || internal("store")));
        // Whatever the write changed (or, failing, may have), cached keys are stale now.
        self.keys.invalidate();
        r
    }

    /// The key `raw` names (an id, ARN, alias name or alias ARN), from the key cache when
    /// nothing changed since it was read.
    /// Shared with the cache, not copied: a request reads its key once or twice, and a copy
    /// (policy, tags, materials) is a few dozen allocations.
    fn lookup(&self, ctx: &RequestContext, raw: &str) -> R<Arc<KeyRecord>> {
        let cache_key = ["k\n", &ctx.account_id, "\n", &ctx.region, "\n", raw].concat();
        if let Some(keycache::Entry::Key(k)) = self.keys.get(&cache_key) {
            return Ok(k);
        }
        let generation = self.keys.generation();
        let k = Arc::new(self.read(|tx| resolve(tx, ctx, raw))?);
        self.keys
            .put(cache_key, generation, keycache::Entry::Key(k.clone()));
        Ok(k)
    }

    /// Forgets cached keys (the store was wiped behind the service's back: `--dev` reset).
    pub fn clear_cache(&self) {
        self.keys.invalidate();
    }

    /// Reads the key `raw` names, applies `f` to it and stores it, in one transaction.
    fn update_key<T: Send + 'static>(
        &self,
        ctx: &RequestContext,
        raw: &str,
        f: impl FnOnce(&mut KeyRecord) -> R<T> + Send + 'static,
    ) -> R<T> {
        let ctx = ctx.clone();
        let raw = raw.to_string();
        self.write(move |tx| {
            let mut k = resolve(tx, &ctx, &raw)?;
            let out = f(&mut k)?;
            record::put_key(tx, &k)?;
            Ok(out)
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
        if matches!(
            record::parse_key_ref(ctx, &target)?,
            record::KeyRef::Alias(_)
        ) {
            return Err(AwsError::validation(format!(
                "Aliases must refer to keys. Not aliases: {target}"
            )));
        }
        let ctx = ctx.clone();
        self.write(move |tx| {
            let k = resolve(tx, &ctx, &target)?;
            k.require_changeable()?;
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
                (Some(a), false) => {
                    // The same type (symmetric, asymmetric or HMAC) and key usage; the spec
                    // may differ (AWS's UpdateAlias: RSA_2048 to ECC_NIST_P256 signing keys is
                    // fine, symmetric to RSA encryption keys is not).
                    if let Some(old) = record::by_id(tx, &ctx, &a.target_key_id)? {
                        if algorithms::key_class(old.spec) != algorithms::key_class(k.spec)
                            || old.usage != k.usage
                        {
                            return Err(AwsError::validation(format!(
                                "{} key usage or key spec does not match the key currently associated with {}",
                                k.arn,
                                alias_arn(&ctx, &name)
                            ))
                            .into());
                        }
                    }
                    AliasRecord {
                        target_key_id: k.key_id,
                        updated: t,
                        ..a
                    }
                }
                (None, true) => {
                    if record::aliases_of(tx, &ctx, &k.key_id)?.len() >= 50 {
                        return Err(m::limit_exceeded_exception(format!(
                            "Too many aliases for key {}: the limit is 50.",
                            k.arn
                        ))
                        .into());
                    }
                    AliasRecord {
                        alias_name: name,
                        target_key_id: k.key_id,
                        created: t,
                        updated: t,
                    }
                }
            };
            record::put_alias(tx, &ctx, &rec)?;
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
        let (b, k) = self.encrypt_under(ctx, key, context, plaintext, "Encrypt")?;
        Ok((b, k.arn.clone()))
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
        Ok((pt, k.arn.clone()))
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
            m::KeySpec::SymmetricDefault,
            m::KeyUsageType::EncryptDecrypt,
            format!("Default key that protects my {service} data when no other key is defined"),
            Vec::new(),
            lifecycle::aws_managed_policy(&ctx.account_id, service, &ctx.region),
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
            record::put_key(tx, &rec)?;
            record::put_alias(
                tx,
                &ctx2,
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
}

impl Kms for KmsService {
    fn create_key(
        &self,
        ctx: &RequestContext,
        input: m::CreateKeyRequest,
    ) -> R<m::CreateKeyResponse> {
        self.create(ctx, input)
    }

    fn describe_key(
        &self,
        ctx: &RequestContext,
        input: m::DescribeKeyRequest,
    ) -> R<m::DescribeKeyResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        Ok(m::DescribeKeyResponse {
            key_metadata: Some(record::metadata(&k)),
        })
    }

    fn list_keys(&self, ctx: &RequestContext, input: m::ListKeysRequest) -> R<m::ListKeysResponse> {
        let limit = limit_of(input.limit, 100, 1000)?;
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
        self.update_key(ctx, &input.key_id, move |k| {
            k.require_changeable()?;
            k.description = input.description;
            Ok(Unit::default())
        })
    }

    fn schedule_key_deletion(
        &self,
        ctx: &RequestContext,
        input: m::ScheduleKeyDeletionRequest,
    ) -> R<m::ScheduleKeyDeletionResponse> {
        self.schedule_deletion(ctx, input)
    }

    fn cancel_key_deletion(
        &self,
        ctx: &RequestContext,
        input: m::CancelKeyDeletionRequest,
    ) -> R<m::CancelKeyDeletionResponse> {
        self.cancel_deletion(ctx, input)
    }

    fn enable_key_rotation(
        &self,
        ctx: &RequestContext,
        input: m::EnableKeyRotationRequest,
    ) -> R<Unit> {
        self.set_rotation(ctx, &input.key_id, Some(input.rotation_period_in_days))
    }

    fn disable_key_rotation(
        &self,
        ctx: &RequestContext,
        input: m::DisableKeyRotationRequest,
    ) -> R<Unit> {
        self.set_rotation(ctx, &input.key_id, None)
    }

    fn get_key_rotation_status(
        &self,
        ctx: &RequestContext,
        input: m::GetKeyRotationStatusRequest,
    ) -> R<m::GetKeyRotationStatusResponse> {
        self.rotation_status(ctx, input)
    }

    fn rotate_key_on_demand(
        &self,
        ctx: &RequestContext,
        input: m::RotateKeyOnDemandRequest,
    ) -> R<m::RotateKeyOnDemandResponse> {
        self.rotate_on_demand(ctx, input)
    }

    fn list_key_rotations(
        &self,
        ctx: &RequestContext,
        input: m::ListKeyRotationsRequest,
    ) -> R<m::ListKeyRotationsResponse> {
        self.rotations(ctx, input)
    }

    fn tag_resource(&self, ctx: &RequestContext, input: m::TagResourceRequest) -> R<Unit> {
        self.tag(ctx, input)
    }

    fn untag_resource(&self, ctx: &RequestContext, input: m::UntagResourceRequest) -> R<Unit> {
        self.untag(ctx, input)
    }

    fn list_resource_tags(
        &self,
        ctx: &RequestContext,
        input: m::ListResourceTagsRequest,
    ) -> R<m::ListResourceTagsResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        let after = decode_marker(input.marker.as_deref())?;
        let (tags, next) = page(
            k.tags_model(),
            after.as_deref(),
            limit_of(input.limit, 50, 50)?,
            |t| t.tag_key.clone(),
        );
        Ok(m::ListResourceTagsResponse {
            tags: Some(tags),
            truncated: Some(next.is_some()),
            next_marker: next,
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
            policy: Some(k.policy.clone()),
            policy_name: Some(name),
        })
    }

    fn put_key_policy(&self, ctx: &RequestContext, input: m::PutKeyPolicyRequest) -> R<Unit> {
        self.put_policy(ctx, input)
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
            if !record::delete_alias(tx, &ctx, &input.alias_name)? {
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
        let after = decode_marker(input.marker.as_deref())?;
        let prefix = scope(ctx);
        let filter = match &input.key_id {
            Some(raw) => Some(self.lookup(ctx, raw)?.key_id.clone()),
            None => None,
        };
        let all: Vec<(String, AliasRecord)> =
            self.read(|tx| Ok(tx.scan_json(ALIASES, &prefix, None, MAX_SCAN)?))?;
        let items: Vec<AliasRecord> = all
            .into_iter()
            .map(|(_, a)| a)
            .filter(|a| filter.as_ref().is_none_or(|f| *f == a.target_key_id))
            .collect();
        let (rows, next) = page(
            items,
            after.as_deref(),
            limit_of(input.limit, 50, 100)?,
            |a| a.alias_name.clone(),
        );
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
            truncated: Some(next.is_some()),
            next_marker: next,
        })
    }

    fn encrypt(&self, ctx: &RequestContext, input: m::EncryptRequest) -> R<m::EncryptResponse> {
        grants::check_tokens(input.grant_tokens.as_deref())?;
        let k = self.lookup(ctx, &input.key_id)?;
        let (b, alg) = if k.is_symmetric() {
            symmetric::check_algorithm(input.encryption_algorithm)?;
            let context = input.encryption_context.unwrap_or_default();
            let b = self.encrypt_with(&k, &context, input.plaintext.as_bytes(), "Encrypt")?;
            (b, m::EncryptionAlgorithmSpec::SymmetricDefault)
        } else {
            k.require_usable()?;
            no_context_for_asymmetric(input.encryption_context.as_ref())?;
            let b = self.rsa_encrypt(&k, input.encryption_algorithm, input.plaintext.as_bytes())?;
            (b, input.encryption_algorithm.unwrap_or_default())
        };
        dry_run(input.dry_run)?;
        Ok(m::EncryptResponse {
            ciphertext_blob: Some(Blob::new(b)),
            key_id: Some(k.arn.clone()),
            encryption_algorithm: Some(alg),
        })
    }

    fn decrypt(&self, ctx: &RequestContext, input: m::DecryptRequest) -> R<m::DecryptResponse> {
        grants::check_tokens(input.grant_tokens.as_deref())?;
        if input.recipient.is_some() {
            return Err(m::unsupported_operation_exception(
                "Recipient is not supported by Rampart yet.",
            ));
        }
        let blob_in = input.ciphertext_blob.ok_or_else(invalid_ciphertext)?;
        let named = match &input.key_id {
            Some(raw) => Some(self.lookup(ctx, raw)?),
            // An asymmetric ciphertext does not name its key: KMS needs the KeyId.
            None if asymmetric::rsa_alg(input.encryption_algorithm).is_some() => {
                return Err(AwsError::validation("KeyId must not be null"));
            }
            None => None,
        };
        if let Some(k) = named.as_ref().filter(|k| !k.is_symmetric()) {
            k.require_usable()?;
            no_context_for_asymmetric(input.encryption_context.as_ref())?;
            if input.encryption_algorithm.is_none() && k.usage == m::KeyUsageType::EncryptDecrypt {
                // The defaulted SYMMETRIC_DEFAULT: AWS reads the bytes as its own
                // symmetric ciphertext format first, and RSA output is not one.
                return Err(invalid_ciphertext());
            }
            let pt = self.rsa_decrypt(k, input.encryption_algorithm, blob_in.as_bytes())?;
            dry_run(input.dry_run)?;
            return Ok(m::DecryptResponse {
                key_id: Some(k.arn.clone()),
                plaintext: Some(Blob::new(pt.to_vec())),
                encryption_algorithm: input.encryption_algorithm,
                ciphertext_for_recipient: None,
                key_material_id: Some(k.current_public_id()),
            });
        }
        symmetric::check_algorithm(input.encryption_algorithm)?;
        let context = input.encryption_context.unwrap_or_default();
        let (pt, k) = self.decrypt_blob(ctx, blob_in.as_bytes(), named, &context)?;
        dry_run(input.dry_run)?;
        let material = blob_material_id(blob_in.as_bytes());
        Ok(m::DecryptResponse {
            key_id: Some(k.arn.clone()),
            plaintext: Some(Blob::new(pt.to_vec())),
            encryption_algorithm: Some(m::EncryptionAlgorithmSpec::SymmetricDefault),
            ciphertext_for_recipient: None,
            key_material_id: material,
        })
    }

    fn re_encrypt(
        &self,
        ctx: &RequestContext,
        input: m::ReEncryptRequest,
    ) -> R<m::ReEncryptResponse> {
        let blob_in = input.ciphertext_blob.ok_or_else(invalid_ciphertext)?;
        let src_ctx = input.source_encryption_context.unwrap_or_default();
        grants::check_tokens(input.grant_tokens.as_deref())?;
        // Either key may belong to another account of this node (named by ARN; the source
        // also by the ciphertext): each is found in its owner's scope.
        let src_scope = self.owner_ctx(
            ctx,
            input.source_key_id.as_deref(),
            blob::header(blob_in.as_bytes()).ok(),
        );
        let dst_scope = self.owner_ctx(ctx, Some(&input.destination_key_id), None);
        let (sctx, dctx) = (
            src_scope.as_ref().unwrap_or(ctx),
            dst_scope.as_ref().unwrap_or(ctx),
        );
        let named = match &input.source_key_id {
            Some(raw) => Some(self.lookup(sctx, raw)?),
            None => None,
        };
        // An RSA source or destination key (AWS re-encrypts between any encryption keys; an
        // asymmetric source must be named by SourceKeyId).
        let (pt, src, src_alg, src_material) = match named {
            Some(k) if !k.is_symmetric() => {
                k.require_usable()?;
                let pt =
                    self.rsa_decrypt(&k, input.source_encryption_algorithm, blob_in.as_bytes())?;
                let alg = input.source_encryption_algorithm.unwrap_or_default();
                let material = k.current_public_id();
                (pt, k, alg, Some(material))
            }
            named => {
                symmetric::check_algorithm(input.source_encryption_algorithm)?;
                let (pt, k) = self.decrypt_blob(sctx, blob_in.as_bytes(), named, &src_ctx)?;
                let material = blob_material_id(blob_in.as_bytes());
                (
                    pt,
                    k,
                    m::EncryptionAlgorithmSpec::SymmetricDefault,
                    material,
                )
            }
        };
        let dst_ctx = input.destination_encryption_context.unwrap_or_default();
        let dst = self.lookup(dctx, &input.destination_key_id)?;
        let (b, dst_alg) = if dst.is_symmetric() {
            symmetric::check_algorithm(input.destination_encryption_algorithm)?;
            let b = self.encrypt_with(&dst, &dst_ctx, &pt, "ReEncrypt")?;
            (b, m::EncryptionAlgorithmSpec::SymmetricDefault)
        } else {
            dst.require_usable()?;
            let b = self.rsa_encrypt(&dst, input.destination_encryption_algorithm, &pt)?;
            (
                b,
                input.destination_encryption_algorithm.unwrap_or_default(),
            )
        };
        dry_run(input.dry_run)?;
        Ok(m::ReEncryptResponse {
            ciphertext_blob: Some(Blob::new(b)),
            source_key_id: Some(src.arn.clone()),
            source_encryption_algorithm: Some(src_alg),
            destination_encryption_algorithm: Some(dst_alg),
            source_key_material_id: src_material,
            destination_key_material_id: Some(dst.current_public_id()),
            key_id: Some(dst.arn.clone()),
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
            "GenerateDataKey",
        )?;
        dry_run(input.dry_run)?;
        Ok(m::GenerateDataKeyResponse {
            ciphertext_blob: Some(Blob::new(b)),
            plaintext: Some(Blob::new(pt.to_vec())),
            key_material_id: Some(k.current_public_id()),
            key_id: Some(k.arn.clone()),
            ciphertext_for_recipient: None,
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
            "GenerateDataKeyWithoutPlaintext",
        )?;
        dry_run(input.dry_run)?;
        Ok(m::GenerateDataKeyWithoutPlaintextResponse {
            ciphertext_blob: Some(Blob::new(b)),
            key_material_id: Some(k.current_public_id()),
            key_id: Some(k.arn.clone()),
        })
    }

    fn generate_data_key_pair(
        &self,
        ctx: &RequestContext,
        input: m::GenerateDataKeyPairRequest,
    ) -> R<m::GenerateDataKeyPairResponse> {
        if input.recipient.is_some() {
            return Err(m::unsupported_operation_exception(
                "Recipient is not supported by Rampart yet.",
            ));
        }
        let (private, blob, public, k) = self.data_key_pair(
            ctx,
            &input.key_id,
            input.key_pair_spec,
            input.encryption_context.as_ref(),
            input.grant_tokens.as_deref(),
        )?;
        dry_run(input.dry_run)?;
        Ok(m::GenerateDataKeyPairResponse {
            private_key_ciphertext_blob: Some(Blob::new(blob)),
            private_key_plaintext: Some(Blob::new(private.to_vec())),
            public_key: Some(Blob::new(public)),
            key_material_id: Some(k.current_public_id()),
            key_id: Some(k.arn.clone()),
            key_pair_spec: Some(input.key_pair_spec),
            ciphertext_for_recipient: None,
        })
    }

    fn generate_data_key_pair_without_plaintext(
        &self,
        ctx: &RequestContext,
        input: m::GenerateDataKeyPairWithoutPlaintextRequest,
    ) -> R<m::GenerateDataKeyPairWithoutPlaintextResponse> {
        let (_private, blob, public, k) = self.data_key_pair(
            ctx,
            &input.key_id,
            input.key_pair_spec,
            input.encryption_context.as_ref(),
            input.grant_tokens.as_deref(),
        )?;
        dry_run(input.dry_run)?;
        Ok(m::GenerateDataKeyPairWithoutPlaintextResponse {
            private_key_ciphertext_blob: Some(Blob::new(blob)),
            public_key: Some(Blob::new(public)),
            key_material_id: Some(k.current_public_id()),
            key_id: Some(k.arn.clone()),
            key_pair_spec: Some(input.key_pair_spec),
        })
    }

    fn get_public_key(
        &self,
        ctx: &RequestContext,
        input: m::GetPublicKeyRequest,
    ) -> R<m::GetPublicKeyResponse> {
        self.public_key(ctx, input)
    }

    fn sign(&self, ctx: &RequestContext, input: m::SignRequest) -> R<m::SignResponse> {
        KmsService::sign(self, ctx, input)
    }

    fn verify(&self, ctx: &RequestContext, input: m::VerifyRequest) -> R<m::VerifyResponse> {
        KmsService::verify(self, ctx, input)
    }

    fn derive_shared_secret(
        &self,
        ctx: &RequestContext,
        input: m::DeriveSharedSecretRequest,
    ) -> R<m::DeriveSharedSecretResponse> {
        self.shared_secret(ctx, input)
    }

    fn generate_mac(
        &self,
        ctx: &RequestContext,
        input: m::GenerateMacRequest,
    ) -> R<m::GenerateMacResponse> {
        KmsService::generate_mac(self, ctx, input)
    }

    fn verify_mac(
        &self,
        ctx: &RequestContext,
        input: m::VerifyMacRequest,
    ) -> R<m::VerifyMacResponse> {
        KmsService::verify_mac(self, ctx, input)
    }

    fn encapsulate(
        &self,
        ctx: &RequestContext,
        input: m::EncapsulateRequest,
    ) -> R<m::EncapsulateResponse> {
        KmsService::encapsulate(self, ctx, input)
    }

    fn decapsulate(
        &self,
        ctx: &RequestContext,
        input: m::DecapsulateRequest,
    ) -> R<m::DecapsulateResponse> {
        KmsService::decapsulate(self, ctx, input)
    }

    fn create_grant(
        &self,
        ctx: &RequestContext,
        input: m::CreateGrantRequest,
    ) -> R<m::CreateGrantResponse> {
        KmsService::create_grant(self, ctx, input)
    }

    fn list_grants(
        &self,
        ctx: &RequestContext,
        input: m::ListGrantsRequest,
    ) -> R<m::ListGrantsResponse> {
        KmsService::list_grants(self, ctx, input)
    }

    fn list_retirable_grants(
        &self,
        ctx: &RequestContext,
        input: m::ListRetirableGrantsRequest,
    ) -> R<m::ListGrantsResponse> {
        self.list_retirable(ctx, input)
    }

    fn retire_grant(&self, ctx: &RequestContext, input: m::RetireGrantRequest) -> R<Unit> {
        KmsService::retire_grant(self, ctx, input)
    }

    fn revoke_grant(&self, ctx: &RequestContext, input: m::RevokeGrantRequest) -> R<Unit> {
        KmsService::revoke_grant(self, ctx, input)
    }

    fn get_key_last_usage(
        &self,
        ctx: &RequestContext,
        input: m::GetKeyLastUsageRequest,
    ) -> R<m::GetKeyLastUsageResponse> {
        self.last_usage(ctx, input)
    }

    // Custom key stores come with the CloudHSM service; until then every store named is one
    // that does not exist, as AWS answers for it.
    fn describe_custom_key_stores(
        &self,
        _ctx: &RequestContext,
        input: m::DescribeCustomKeyStoresRequest,
    ) -> R<m::DescribeCustomKeyStoresResponse> {
        if let Some(id) = input.custom_key_store_id.or(input.custom_key_store_name) {
            return Err(lifecycle::no_custom_key_store(&id));
        }
        Ok(m::DescribeCustomKeyStoresResponse {
            custom_key_stores: Some(Vec::new()),
            next_marker: None,
            truncated: Some(false),
        })
    }

    fn create_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: m::CreateCustomKeyStoreRequest,
    ) -> R<m::CreateCustomKeyStoreResponse> {
        if input.custom_key_store_type == Some(m::CustomKeyStoreType::ExternalKeyStore) {
            return Err(m::xks_proxy_uri_unreachable_exception(format!(
                "The external key store proxy at {} is not reachable from this Rampart node.",
                input.xks_proxy_uri_endpoint.unwrap_or_default()
            )));
        }
        Err(m::cloud_hsm_cluster_not_found_exception(format!(
            "AWS CloudHSM cluster {} not found.",
            input.cloud_hsm_cluster_id.unwrap_or_default()
        )))
    }

    fn connect_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: m::ConnectCustomKeyStoreRequest,
    ) -> R<m::ConnectCustomKeyStoreResponse> {
        Err(lifecycle::no_custom_key_store(&input.custom_key_store_id))
    }

    fn disconnect_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: m::DisconnectCustomKeyStoreRequest,
    ) -> R<m::DisconnectCustomKeyStoreResponse> {
        Err(lifecycle::no_custom_key_store(&input.custom_key_store_id))
    }

    fn delete_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: m::DeleteCustomKeyStoreRequest,
    ) -> R<m::DeleteCustomKeyStoreResponse> {
        Err(lifecycle::no_custom_key_store(&input.custom_key_store_id))
    }

    fn update_custom_key_store(
        &self,
        _ctx: &RequestContext,
        input: m::UpdateCustomKeyStoreRequest,
    ) -> R<m::UpdateCustomKeyStoreResponse> {
        Err(lifecycle::no_custom_key_store(&input.custom_key_store_id))
    }

    fn get_parameters_for_import(
        &self,
        ctx: &RequestContext,
        input: m::GetParametersForImportRequest,
    ) -> R<m::GetParametersForImportResponse> {
        self.parameters_for_import(ctx, input)
    }

    fn import_key_material(
        &self,
        ctx: &RequestContext,
        input: m::ImportKeyMaterialRequest,
    ) -> R<m::ImportKeyMaterialResponse> {
        self.import_material(ctx, input)
    }

    fn delete_imported_key_material(
        &self,
        ctx: &RequestContext,
        input: m::DeleteImportedKeyMaterialRequest,
    ) -> R<m::DeleteImportedKeyMaterialResponse> {
        self.delete_imported(ctx, input)
    }

    fn replicate_key(
        &self,
        ctx: &RequestContext,
        input: m::ReplicateKeyRequest,
    ) -> R<m::ReplicateKeyResponse> {
        self.replicate(ctx, input)
    }

    fn update_primary_region(
        &self,
        ctx: &RequestContext,
        input: m::UpdatePrimaryRegionRequest,
    ) -> R<Unit> {
        self.update_primary(ctx, input)?;
        Ok(Unit::default())
    }

    fn generate_random(
        &self,
        _ctx: &RequestContext,
        input: m::GenerateRandomRequest,
    ) -> R<m::GenerateRandomResponse> {
        if let Some(id) = input.custom_key_store_id {
            return Err(lifecycle::no_custom_key_store(&id));
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

/// AWS's refusal of an encryption context with an asymmetric key (RSA-OAEP has no
/// associated data to bind it to).
fn no_context_for_asymmetric(context: Option<&BTreeMap<String, String>>) -> R<()> {
    if context.is_some_and(|c| !c.is_empty()) {
        return Err(AwsError::validation(
            "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.",
        ));
    }
    Ok(())
}

/// `DryRun: true`: every check passed, nothing is returned (AWS answers
/// `DryRunOperationException`).
pub(crate) fn dry_run(flag: Option<bool>) -> R<()> {
    if flag == Some(true) {
        return Err(m::dry_run_operation_exception(
            "The request would have succeeded, but the DryRun option is set.",
        ));
    }
    Ok(())
}
