//! AWS Secrets Manager (`secretsmanager`): secrets with versions and staging labels, each
//! version's value envelope-encrypted through KMS ([`Envelope`]) with AWS's encryption context
//! (`SecretARN`, `SecretVersionId`), scheduled deletion and rotation.
//!
//! A secret and all its versions are one store record, so every change to versions and labels
//! happens in one write transaction (the store runs writes one at a time): concurrent
//! `PutSecretValue` calls never lose a version or leave two `AWSCURRENT` labels. KMS calls are
//! made outside write transactions (KMS may itself write, e.g. to create the AWS managed key).
#![forbid(unsafe_code)]

pub mod arn;
pub mod authz;
pub mod labels;
pub mod password;
mod pg;
pub mod policy;
pub mod record;
mod replication;
mod rotation;
mod xaccount;
pub use xaccount::OrgOf;
pub mod schedule;

pub use rotation::{valid_function_name, Rotators, Webhooks, POSTGRES_ROTATOR, RANDOM_ROTATOR};

use base64::Engine as _;
use labels::CURRENT;
use rampart_core::{AwsError, RequestContext};
use rampart_model::secretsmanager::{self as m, SecretsManager};
use rampart_model::{Blob, Timestamp, Unit};
use rampart_store::{Store, StoreExt, Tx};
use record::{RotationRec, RulesRec, SecretRec, TagRec, VersionRec};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

const SECRETS: &str = "sm_secret";
const MAX_SCAN: usize = 100_000;
const MAX_TAGS: usize = 50;

type R<T> = Result<T, AwsError>;

/// Envelope encryption on a caller's behalf (implemented over Rampart's KMS by the binary).
pub trait Envelope: Send + Sync {
    /// Encrypts under `key` (`None`: the AWS managed key `alias/aws/secretsmanager`); returns
    /// the ciphertext and the key's ARN.
    fn encrypt(
        &self,
        ctx: &RequestContext,
        key: Option<&str>,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, String), AwsError>;
    fn decrypt(
        &self,
        ctx: &RequestContext,
        context: &BTreeMap<String, String>,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AwsError>;
}

use rampart_store::TxError as TxErr;

type TxR<T> = Result<T, TxErr>;

fn internal() -> AwsError {
    m::internal_service_error("An error occurred on the server side.")
}

pub fn not_found() -> AwsError {
    m::resource_not_found_exception("Secrets Manager can't find the specified secret.")
}

pub fn marked_for_deletion() -> AwsError {
    m::invalid_request_exception(
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
}

fn decryption_failure() -> AwsError {
    m::decryption_failure(
        "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
    )
}

fn encryption_failure(e: &AwsError) -> AwsError {
    m::encryption_failure(format!(
        "Secrets Manager can't encrypt the protected secret text using the provided KMS key. {}",
        e.message
    ))
}

fn now() -> f64 {
    Timestamp::now().secs()
}

/// Midnight (UTC) of the day `t` falls in: AWS reports access dates to the day.
fn day_of(t: f64) -> f64 {
    (t / 86_400.0).floor() * 86_400.0
}

fn skey(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

fn scope(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

fn rkey(rec: &SecretRec) -> String {
    skey(&rec.account_id, &rec.region, &rec.name)
}

fn enc_context(arn: &str, version_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("SecretARN".to_string(), arn.to_string()),
        ("SecretVersionId".to_string(), version_id.to_string()),
    ])
}

/// Finds the secret `raw` names, in `account`/`region`.
fn find(tx: &mut dyn Tx, account: &str, region: &str, raw: &str) -> TxR<Option<SecretRec>> {
    for (name, want_arn) in arn::candidates(region, account, raw) {
        let rec: Option<SecretRec> = tx.get_json(SECRETS, &skey(account, region, &name))?;
        if let Some(rec) = rec {
            if want_arn.as_ref().is_none_or(|a| *a == rec.arn) {
                return Ok(Some(rec));
            }
        }
    }
    Ok(None)
}

/// A plaintext as stored: a tag byte (`S`tring or `B`inary) then the value.
fn encode_value(s: Option<&str>, b: Option<&Blob>) -> R<Option<Zeroizing<Vec<u8>>>> {
    match (s, b) {
        (Some(_), Some(_)) => Err(m::invalid_parameter_exception(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        )),
        (Some(s), None) => {
            let mut v = Zeroizing::new(Vec::with_capacity(s.len() + 1));
            v.push(b'S');
            v.extend_from_slice(s.as_bytes());
            Ok(Some(v))
        }
        (None, Some(b)) => {
            let mut v = Zeroizing::new(Vec::with_capacity(b.len() + 1));
            v.push(b'B');
            v.extend_from_slice(b.as_bytes());
            Ok(Some(v))
        }
        (None, None) => Ok(None),
    }
}

/// The value of a stored plaintext: `(SecretString, SecretBinary)`.
fn decode_value(pt: &[u8]) -> R<(Option<String>, Option<Blob>)> {
    match pt.split_first() {
        Some((b'S', rest)) => String::from_utf8(rest.to_vec())
            .map(|s| (Some(s), None))
            .map_err(|_| internal()),
        Some((b'B', rest)) => Ok((None, Some(Blob::new(rest.to_vec())))),
        _ => Err(internal()),
    }
}

fn tags_out(tags: &[TagRec]) -> Option<Vec<m::Tag>> {
    if tags.is_empty() {
        return None;
    }
    Some(
        tags.iter()
            .map(|t| m::Tag {
                key: Some(t.key.clone()),
                value: Some(t.value.clone()),
            })
            .collect(),
    )
}

/// Tag keys and values starting with `aws:` are AWS's: callers may not set or remove them.
fn reserved_tag(s: &str) -> bool {
    s.len() >= 4 && s[..4].eq_ignore_ascii_case("aws:")
}

fn reserved_tag_error() -> AwsError {
    m::invalid_parameter_exception(
        "Tag keys and values can't start with aws: (reserved for AWS use).",
    )
}

fn merge_tags(tags: &mut Vec<TagRec>, new: Vec<m::Tag>) -> R<()> {
    for t in new {
        let key = t.key.ok_or_else(|| {
            m::invalid_parameter_exception("You must specify a Key for every tag.")
        })?;
        let value = t.value.unwrap_or_default();
        if reserved_tag(&key) || reserved_tag(&value) {
            return Err(reserved_tag_error());
        }
        match tags.iter_mut().find(|x| x.key == key) {
            Some(x) => x.value = value,
            None => tags.push(TagRec { key, value }),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(m::limit_exceeded_exception(format!(
            "A secret can have at most {MAX_TAGS} tags."
        )));
    }
    Ok(())
}

fn stages_map(rec: &SecretRec) -> Option<BTreeMap<String, Vec<String>>> {
    if rec.versions.is_empty() {
        return None;
    }
    Some(
        rec.versions
            .iter()
            .filter(|v| !v.stages.is_empty())
            .map(|v| (v.id.clone(), v.stages.clone()))
            .collect(),
    )
}

fn rules_out(r: &RulesRec) -> m::RotationRulesType {
    m::RotationRulesType {
        automatically_after_days: r.automatically_after_days,
        duration: r.duration.clone(),
        schedule_expression: r.schedule_expression.clone(),
    }
}

fn describe(rec: &SecretRec) -> m::DescribeSecretResponse {
    let rot = &rec.rotation;
    let (cross_primary, cross_replicas) = xaccount::describe(rec);
    m::DescribeSecretResponse {
        arn: Some(rec.arn.clone()),
        name: Some(rec.name.clone()),
        r#type: rec.r#type.clone(),
        description: rec.description.clone(),
        kms_key_id: rec.kms_key_id.clone(),
        rotation_enabled: Some(rot.enabled),
        rotation_lambda_arn: rot.lambda_arn.clone(),
        rotation_rules: rot.rules.as_ref().map(rules_out),
        last_rotated_date: rot.last_rotated.map(Timestamp),
        last_changed_date: rec.last_changed.map(Timestamp),
        last_accessed_date: rec.last_accessed.map(Timestamp),
        deleted_date: rec.deletion_date.map(Timestamp),
        next_rotation_date: if rot.enabled {
            rot.next_rotation.map(Timestamp)
        } else {
            None
        },
        tags: tags_out(&rec.tags),
        version_ids_to_stages: stages_map(rec),
        created_date: Some(Timestamp(rec.created)),
        primary_region: replication::primary_region(rec),
        replication_status: replication::statuses(rec),
        cross_account_primary: cross_primary,
        cross_account_replicas: cross_replicas,
        ..Default::default()
    }
}

fn list_entry(rec: &SecretRec) -> m::SecretListEntry {
    let d = describe(rec);
    m::SecretListEntry {
        arn: d.arn,
        name: d.name,
        r#type: d.r#type,
        description: d.description,
        kms_key_id: d.kms_key_id,
        rotation_enabled: d.rotation_enabled,
        rotation_lambda_arn: d.rotation_lambda_arn,
        rotation_rules: d.rotation_rules,
        last_rotated_date: d.last_rotated_date,
        last_changed_date: d.last_changed_date,
        last_accessed_date: d.last_accessed_date,
        deleted_date: d.deleted_date,
        next_rotation_date: d.next_rotation_date,
        tags: d.tags,
        secret_versions_to_stages: d.version_ids_to_stages,
        created_date: d.created_date,
        primary_region: d.primary_region,
        ..Default::default()
    }
}

// ------------------------------------------------------------------------------------------
// ListSecrets filters

/// Words of an attribute or a filter value, for the `all` filter.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn attr_values(rec: &SecretRec, key: m::FilterNameStringType) -> Vec<String> {
    use m::FilterNameStringType as K;
    match key {
        K::Name => vec![rec.name.clone()],
        K::Description => rec.description.iter().cloned().collect(),
        K::TagKey => rec.tags.iter().map(|t| t.key.clone()).collect(),
        K::TagValue => rec.tags.iter().map(|t| t.value.clone()).collect(),
        K::PrimaryRegion => vec![rec.primary_region.clone().unwrap_or(rec.region.clone())],
        K::OwningService => Vec::new(),
        K::All => {
            let mut v = vec![rec.name.clone(), rec.region.clone()];
            v.extend(rec.description.iter().cloned());
            v.extend(rec.tags.iter().map(|t| t.key.clone()));
            v.extend(rec.tags.iter().map(|t| t.value.clone()));
            v
        }
    }
}

fn value_matches(key: m::FilterNameStringType, pattern: &str, attr: &str) -> bool {
    use m::FilterNameStringType as K;
    match key {
        K::Description => attr.to_lowercase().starts_with(&pattern.to_lowercase()),
        K::All => {
            let aw = words(attr);
            let pw = words(pattern);
            !pw.is_empty()
                && pw
                    .iter()
                    .all(|p| aw.iter().any(|a| a.starts_with(p.as_str())))
        }
        _ => attr.starts_with(pattern),
    }
}

/// One filter: any positive value matches (prefix) and no negated (`!`) value matches.
fn filter_matches(rec: &SecretRec, f: &ParsedFilter) -> bool {
    let attrs = attr_values(rec, f.key);
    let (neg, pos): (Vec<&String>, Vec<&String>) =
        f.values.iter().partition(|v| v.starts_with('!'));
    let pos_ok = pos.is_empty()
        || pos
            .iter()
            .any(|p| attrs.iter().any(|a| value_matches(f.key, p, a)));
    let neg_ok = neg.iter().all(|n| {
        let p = n.get(1..).unwrap_or_default();
        !attrs.iter().any(|a| value_matches(f.key, p, a))
    });
    pos_ok && neg_ok
}

struct ParsedFilter {
    key: m::FilterNameStringType,
    values: Vec<String>,
}

fn parse_filters(filters: Option<Vec<m::Filter>>) -> R<Vec<ParsedFilter>> {
    filters
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let key = f
                .key
                .ok_or_else(|| m::invalid_parameter_exception("Invalid filter key"))?;
            let values = f.values.unwrap_or_default();
            if values.is_empty() {
                return Err(m::invalid_parameter_exception(
                    "Invalid filter values: you must specify at least one value.",
                ));
            }
            Ok(ParsedFilter { key, values })
        })
        .collect()
}

fn decode_token(t: Option<&str>) -> R<usize> {
    match t {
        None => Ok(0),
        Some(t) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| m::invalid_next_token_exception("The NextToken value is invalid.")),
    }
}

fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn page_size(n: Option<i32>, default: usize) -> usize {
    n.and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

const DEFAULT_POLICY: &str = "default";

/// Only the `default` resource policy can be attached.
fn check_policy_name(name: Option<String>) -> R<Option<String>> {
    match name {
        Some(n) if n != DEFAULT_POLICY => Err(m::invalid_parameter_exception(format!(
            "You can only attach the {DEFAULT_POLICY} resource policy; {n} is not supported."
        ))),
        other => Ok(other),
    }
}

/// A context for work the service does on its own (scheduled deletion and rotation).
pub fn service_ctx(account: &str, region: &str, operation: &str) -> RequestContext {
    RequestContext {
        request_id: uuid::Uuid::new_v4().to_string(),
        account_id: account.to_string(),
        region: region.to_string(),
        principal: rampart_core::Principal {
            kind: rampart_core::PrincipalKind::Root,
            account_id: account.to_string(),
            arn: format!("arn:aws:iam::{account}:root"),
            principal_id: "secretsmanager.amazonaws.com".to_string(),
            user_name: None,
            access_key_id: None,
        },
        source_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        secure_transport: true,
        time: chrono::Utc::now(),
        user_agent: "secretsmanager.amazonaws.com".to_string(),
        service: "secretsmanager".to_string(),
        operation: operation.to_string(),
    }
}

/// Metadata an UpdateSecret changes along with a new value.
#[derive(Debug, Clone, Default)]
struct Meta {
    description: Option<String>,
    /// `Some(None)`: back to the AWS managed key (an empty `KmsKeyId`).
    kms_key_id: Option<Option<String>>,
    r#type: Option<String>,
}

impl Meta {
    fn apply(self, rec: &mut SecretRec) {
        if let Some(d) = self.description {
            rec.description = Some(d);
        }
        if let Some(k) = self.kms_key_id {
            rec.kms_key_id = k;
        }
        if let Some(t) = self.r#type {
            rec.r#type = Some(t);
        }
    }
}

/// The outcome of storing a version.
#[derive(Debug, Clone)]
pub struct Stored {
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub stages: Vec<String>,
}

enum Attempt {
    Done(Stored),
    Retry,
}

/// The Secrets Manager service. Cheap to clone (rotation workers hold clones).
#[derive(Clone)]
pub struct SecretsService {
    store: Arc<dyn Store>,
    envelope: Arc<dyn Envelope>,
    rotators: Arc<Rotators>,
    /// ARNs of secrets being rotated by a worker of this process.
    rotating: Arc<Mutex<HashSet<String>>>,
    /// Secret records as the request path read them (every write invalidates it).
    cache: Arc<rampart_store::cache::ReadCache<Option<Arc<SecretRec>>>>,
    /// The request path's permission check, for the secrets of a batch read.
    access: Option<Arc<dyn rampart_core::AccessCheck>>,
    /// The regions the node serves (empty: any).
    regions: Arc<Vec<String>>,
    /// The organization of an account (cross-account replication restricted to one).
    org_of: Option<Arc<OrgOf>>,
}

impl SecretsService {
    pub fn new(store: Arc<dyn Store>, envelope: Arc<dyn Envelope>, rotators: Rotators) -> Self {
        SecretsService {
            store,
            envelope,
            rotators: Arc::new(rotators),
            rotating: Arc::new(Mutex::new(HashSet::new())),
            cache: Arc::new(rampart_store::cache::ReadCache::new(
                30_000,
                std::time::Duration::from_secs(1),
            )),
            access: None,
            org_of: None,
            regions: Arc::new(Vec::new()),
        }
    }

    /// The regions this node serves: replicas go only there (default: any region).
    pub fn with_regions(mut self, regions: Vec<String>) -> Self {
        self.regions = Arc::new(regions);
        self
    }

    fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> TxR<T>) -> R<T> {
        self.store
            .read(f)
            .map_err(|e: TxErr| e.into_aws("secretsmanager", internal))
    }

    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> TxR<T> + Send + 'static,
    ) -> R<T> {
        let r = self
            .store
            .write(f)
            .map_err(|e: TxErr| e.into_aws("secretsmanager", internal));
        // Whatever the write changed (or, failing, may have), cached secrets are stale now.
        self.cache.invalidate();
        r
    }

    /// The secret `raw` names in the caller's account and region, from the cache when nothing
    /// changed since it was read.
    pub(crate) fn find_cached(&self, ctx: &RequestContext, raw: &str) -> R<Option<Arc<SecretRec>>> {
        let key = format!("{}\n{}\n{raw}", ctx.account_id, ctx.region);
        self.cache.get_or(key, || {
            self.read(|tx| find(tx, &ctx.account_id, &ctx.region, raw))
                .map(|r| r.map(Arc::new))
        })
    }

    /// How to tell the organization of an account (`ReplicaRestriction` `SameOrg`).
    pub fn with_organizations(mut self, org_of: Arc<OrgOf>) -> Self {
        self.org_of = Some(org_of);
        self
    }

    /// Checks each secret of `BatchGetSecretValue` as `GetSecretValue` on it (identity and
    /// resource policies), as AWS does.
    pub fn with_access_check(mut self, check: Arc<dyn rampart_core::AccessCheck>) -> Self {
        self.access = Some(check);
        self
    }

    /// Whether the caller may `GetSecretValue` on `id` (the batch operation's per-secret
    /// check); `Ok` also when the secret does not exist (reading it then says so).
    fn may_read(&self, ctx: &RequestContext, id: &str) -> R<()> {
        let Some(check) = &self.access else {
            return Ok(());
        };
        let input = serde_json::json!({"SecretId": id});
        for a in self.accesses(ctx, "GetSecretValue", &input)? {
            check.check(ctx, &a)?;
        }
        Ok(())
    }

    /// Forgets cached secrets (the store was wiped behind the service's back: `--dev` reset).
    pub fn clear_cache(&self) {
        self.cache.invalidate();
    }

    /// The secret `raw` names (scheduled for deletion or not).
    fn load(&self, ctx: &RequestContext, raw: &str) -> R<SecretRec> {
        self.find_cached(ctx, raw)?
            .map(|r| SecretRec::clone(&r))
            .ok_or_else(not_found)
    }

    /// The secret `raw` names, refusing one scheduled for deletion.
    fn load_live(&self, ctx: &RequestContext, raw: &str) -> R<SecretRec> {
        let rec = self.load(ctx, raw)?;
        if rec.deleted() {
            return Err(marked_for_deletion());
        }
        Ok(rec)
    }

    /// Changes the secret `raw` names in one write transaction.
    fn mutate<T: Send + 'static>(
        &self,
        ctx: &RequestContext,
        raw: &str,
        live: bool,
        f: impl FnOnce(&mut SecretRec) -> R<T> + Send + 'static,
    ) -> R<T> {
        let (account, region, raw) = (ctx.account_id.clone(), ctx.region.clone(), raw.to_string());
        let (out, replicated) = self.write(move |tx| {
            let mut rec = find(tx, &account, &region, &raw)?.ok_or_else(not_found)?;
            if rec.primary_region.is_some() {
                return Err(replication::on_replica().into());
            }
            if live && rec.deleted() {
                return Err(marked_for_deletion().into());
            }
            let out = f(&mut rec)?;
            rec.revision += 1;
            tx.put_json(SECRETS, &rkey(&rec), &rec)?;
            let replicated = rec.is_replicated().then(|| rec.arn.clone());
            Ok((out, replicated))
        })?;
        if let Some(arn) = replicated {
            self.sync_all_replicas(ctx, &arn);
        }
        Ok(out)
    }

    fn seal(
        &self,
        ctx: &RequestContext,
        key: Option<&str>,
        arn: &str,
        version_id: &str,
        plaintext: &[u8],
    ) -> R<(String, String)> {
        let (blob, key_arn) = self
            .envelope
            .encrypt(ctx, key, &enc_context(arn, version_id), plaintext)
            .map_err(|e| {
                if e.status >= 500 {
                    internal()
                } else if e.code == "AccessDeniedException" {
                    // The caller may not use the key: AWS says so as it is.
                    e
                } else {
                    encryption_failure(&e)
                }
            })?;
        Ok((
            base64::engine::general_purpose::STANDARD.encode(blob),
            key_arn,
        ))
    }

    /// The plaintext of a version that has a value.
    fn open(&self, ctx: &RequestContext, arn: &str, v: &VersionRec) -> R<Zeroizing<Vec<u8>>> {
        let Some(ct) = &v.ciphertext else {
            return Err(internal());
        };
        let blob = base64::engine::general_purpose::STANDARD
            .decode(ct)
            .map_err(|_| internal())?;
        self.envelope
            .decrypt(ctx, &enc_context(arn, &v.id), &blob)
            .map_err(|e| {
                if e.status >= 500 {
                    internal()
                } else if e.code == "AccessDeniedException" {
                    e
                } else {
                    decryption_failure()
                }
            })
    }

    /// Stores `value` as version `token` of the secret `raw` names, attaching `stages`
    /// (default `AWSCURRENT`), all label moves and pruning in one transaction. Same token and
    /// same value: nothing changes; same token, another value: `ResourceExistsException`.
    fn put_version(
        &self,
        ctx: &RequestContext,
        raw: &str,
        token: String,
        value: &[u8],
        stages: Option<Vec<String>>,
        meta: Option<Meta>,
    ) -> R<Stored> {
        for _ in 0..5 {
            let rec = self.load_live(ctx, raw)?;
            if let Some(v) = rec.version(&token) {
                if v.ciphertext.is_some() {
                    let old = self.open(ctx, &rec.arn, v)?;
                    if old.as_slice() == value {
                        return Ok(Stored {
                            arn: rec.arn.clone(),
                            name: rec.name.clone(),
                            version_id: token,
                            stages: v.stages.clone(),
                        });
                    }
                    return Err(m::resource_exists_exception(
                        "You can't modify an existing version, you can only create a new version.",
                    ));
                }
            }
            let key = match meta.as_ref().and_then(|m| m.kms_key_id.clone()) {
                Some(k) => k,
                None => rec.kms_key_id.clone(),
            };
            let (ct, key_arn) = self.seal(ctx, key.as_deref(), &rec.arn, &token, value)?;
            let (account, region, raw2) =
                (ctx.account_id.clone(), ctx.region.clone(), raw.to_string());
            let (token2, stages2, meta2, expect_arn) =
                (token.clone(), stages.clone(), meta.clone(), rec.arn.clone());
            let attempt = self.write(move |tx| {
                let Some(mut rec) = find(tx, &account, &region, &raw2)? else {
                    return Err(not_found().into());
                };
                if rec.deleted() {
                    return Err(marked_for_deletion().into());
                }
                if rec.primary_region.is_some() {
                    return Err(replication::on_replica().into());
                }
                if rec.cross_account_primary.is_some() {
                    return Err(xaccount::on_replica().into());
                }
                if let Some(meta) = meta2 {
                    meta.apply(&mut rec);
                }
                // The secret was replaced or its key changed since we encrypted: again.
                if rec.arn != expect_arn || rec.kms_key_id != key {
                    return Ok(Attempt::Retry);
                }
                let t = now();
                match rec.version_mut(&token2) {
                    Some(v) if v.ciphertext.is_some() => return Ok(Attempt::Retry),
                    Some(v) => {
                        v.ciphertext = Some(ct);
                        v.kms_key_arn = Some(key_arn);
                    }
                    None => {
                        let mut v = VersionRec::new(&token2, Vec::new(), t);
                        v.ciphertext = Some(ct);
                        v.kms_key_arn = Some(key_arn);
                        rec.versions.push(v);
                    }
                }
                let stages = stages2.unwrap_or_else(|| vec![CURRENT.to_string()]);
                labels::attach(&mut rec.versions, &token2, &stages)?;
                if rec.with_stage(CURRENT).is_none() {
                    labels::attach(&mut rec.versions, &token2, &[CURRENT.to_string()])?;
                }
                labels::prune_for_new(&mut rec.versions, t)?;
                rec.last_changed = Some(t);
                rec.revision += 1;
                // With AutomaticallyAfterDays, a new current value counts as a rotation.
                let became_current = rec.version(&token2).is_some_and(|v| v.has(CURRENT));
                let days = rec
                    .rotation
                    .rules
                    .as_ref()
                    .is_some_and(|r| r.automatically_after_days.is_some());
                if became_current && days && rec.rotation.enabled {
                    rec.rotation.next_rotation =
                        rotation::next_after(rec.rotation.rules.as_ref(), t);
                }
                tx.put_json(SECRETS, &rkey(&rec), &rec)?;
                let stages = rec
                    .version(&token2)
                    .map(|v| v.stages.clone())
                    .unwrap_or_default();
                Ok(Attempt::Done(Stored {
                    arn: rec.arn.clone(),
                    name: rec.name.clone(),
                    version_id: token2,
                    stages,
                }))
            })?;
            if let Attempt::Done(s) = attempt {
                if rec.is_replicated() {
                    self.sync_all_replicas(ctx, &s.arn);
                }
                return Ok(s);
            }
        }
        Err(internal())
    }

    /// The value of a version: by id, by staging label (default `AWSCURRENT`) or both.
    fn read_value(
        &self,
        ctx: &RequestContext,
        raw: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> R<(SecretRec, VersionRec, Zeroizing<Vec<u8>>)> {
        let rec = self.load_live(ctx, raw)?;
        let v = match (version_id, stage) {
            (Some(id), st) => {
                let v = rec.version(id).ok_or_else(|| {
                    m::resource_not_found_exception(format!(
                        "Secrets Manager can't find the specified secret value for VersionId: {id}"
                    ))
                })?;
                if let Some(st) = st {
                    if !v.has(st) {
                        return Err(m::invalid_request_exception(
                            "You provided a VersionStage that is not associated to the provided VersionId.",
                        ));
                    }
                }
                if v.ciphertext.is_none() {
                    return Err(m::resource_not_found_exception(format!(
                        "Secrets Manager can't find the specified secret value for VersionId: {id}"
                    )));
                }
                v
            }
            (None, st) => {
                let st = st.unwrap_or(CURRENT);
                rec.with_stage(st)
                    .filter(|v| v.ciphertext.is_some())
                    .ok_or_else(|| {
                        m::resource_not_found_exception(format!(
                            "Secrets Manager can't find the specified secret value for staging label: {st}"
                        ))
                    })?
            }
        };
        let v = v.clone();
        let pt = self.open(ctx, &rec.arn, &v)?;
        self.note_access(&rec, &v);
        Ok((rec, v, pt))
    }

    /// Records the day a secret and version were read (once a day: no write per read).
    fn note_access(&self, rec: &SecretRec, v: &VersionRec) {
        let today = day_of(now());
        if rec.last_accessed == Some(today) && v.last_accessed == Some(today) {
            return;
        }
        let (key, vid) = (rkey(rec), v.id.clone());
        // The cache forgets the record now; the detached write lands within milliseconds, and
        // an entry read in between lives at most the cache's second.
        self.cache.invalidate();
        self.store.write_detached(move |tx| {
            let Some(mut rec) = tx.get_json::<SecretRec>(SECRETS, &key)? else {
                return Ok(());
            };
            rec.last_accessed = Some(today);
            if let Some(v) = rec.version_mut(&vid) {
                v.last_accessed = Some(today);
            }
            tx.put_json(SECRETS, &key, &rec)
        });
    }

    /// Secrets of the caller's account and region matching `filters`, sorted.
    fn matching(
        &self,
        ctx: &RequestContext,
        filters: &[ParsedFilter],
        include_deleted: bool,
        sort_by: Option<m::SortByType>,
        sort_order: Option<m::SortOrderType>,
    ) -> R<Vec<SecretRec>> {
        let prefix = scope(&ctx.account_id, &ctx.region);
        let all: Vec<(String, SecretRec)> =
            self.read(|tx| Ok(tx.scan_json(SECRETS, &prefix, None, MAX_SCAN)?))?;
        let mut out: Vec<SecretRec> = all
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| include_deleted || !r.deleted())
            .filter(|r| filters.iter().all(|f| filter_matches(r, f)))
            .collect();
        match sort_by.unwrap_or(m::SortByType::CreatedDate) {
            m::SortByType::Name => out.sort_by(|a, b| a.name.cmp(&b.name)),
            m::SortByType::CreatedDate => {
                out.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.name.cmp(&b.name)))
            }
            m::SortByType::LastChangedDate => out.sort_by(|a, b| {
                a.last_changed
                    .unwrap_or(a.created)
                    .total_cmp(&b.last_changed.unwrap_or(b.created))
                    .then(a.name.cmp(&b.name))
            }),
            m::SortByType::LastAccessedDate => out.sort_by(|a, b| {
                a.last_accessed
                    .unwrap_or(0.0)
                    .total_cmp(&b.last_accessed.unwrap_or(0.0))
                    .then(a.name.cmp(&b.name))
            }),
        }
        if sort_order == Some(m::SortOrderType::Desc) {
            out.reverse();
        }
        Ok(out)
    }

    /// Re-encrypts the AWSCURRENT, AWSPENDING and AWSPREVIOUS versions under the secret's
    /// (new) key, as UpdateSecret does when KmsKeyId changes. Best effort, like AWS: a version
    /// the key cannot take stays as it is.
    fn reencrypt(&self, ctx: &RequestContext, arn: &str) {
        let Ok(rec) = self.load_live(ctx, arn) else {
            return;
        };
        let mut done = Vec::new();
        for v in &rec.versions {
            let labeled = [CURRENT, labels::PENDING, labels::PREVIOUS]
                .iter()
                .any(|s| v.has(s));
            if !labeled || v.ciphertext.is_none() {
                continue;
            }
            let Ok(pt) = self.open(ctx, &rec.arn, v) else {
                continue;
            };
            match self.seal(ctx, rec.kms_key_id.as_deref(), &rec.arn, &v.id, &pt) {
                Ok((ct, key_arn)) if Some(&key_arn) != v.kms_key_arn.as_ref() => {
                    done.push((v.id.clone(), v.ciphertext.clone(), ct, key_arn));
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
        if done.is_empty() {
            return;
        }
        let (key, expect_key) = (rkey(&rec), rec.kms_key_id.clone());
        let r = self.write(move |tx| {
            let Some(mut rec) = tx.get_json::<SecretRec>(SECRETS, &key)? else {
                return Ok(());
            };
            if rec.kms_key_id != expect_key {
                return Ok(());
            }
            for (id, old, ct, key_arn) in done {
                if let Some(v) = rec.version_mut(&id).filter(|v| v.ciphertext == old) {
                    v.ciphertext = Some(ct);
                    v.kms_key_arn = Some(key_arn);
                }
            }
            tx.put_json(SECRETS, &key, &rec)?;
            Ok(())
        });
        if let Err(e) = r {
            tracing::warn!(secret = %arn, code = %e.code, "re-encryption under the new key not stored");
        }
    }

    /// For the request path's authorization: the ARN and resource policy of the secret
    /// `secret_id` names, `None` when there is no such secret.
    pub fn resource_policy(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
    ) -> R<Option<(String, Option<String>)>> {
        let rec = self.find_cached(ctx, secret_id)?;
        Ok(rec.map(|r| (r.arn.clone(), r.policy.clone())))
    }

    /// Deletes secrets whose deletion date has passed and starts due rotations. The
    /// scheduler calls this once at start and then every minute.
    pub fn sweep(&self, at: f64) -> R<()> {
        let all: Vec<(String, SecretRec)> =
            self.read(|tx| Ok(tx.scan_json(SECRETS, "", None, MAX_SCAN)?))?;
        for (key, rec) in all {
            if rec.deletion_date.is_some_and(|d| d <= at) {
                let k = key.clone();
                let deleted = self.write(move |tx| {
                    let cur: Option<SecretRec> = tx.get_json(SECRETS, &k)?;
                    if cur.and_then(|c| c.deletion_date).is_some_and(|d| d <= at) {
                        return Ok(tx.delete(SECRETS, &k)?);
                    }
                    Ok(false)
                })?;
                if deleted {
                    tracing::info!(secret = %rec.arn, "secret deleted at the end of its recovery window");
                }
                continue;
            }
            if !rec.deleted()
                && rec.rotation.enabled
                && rec.rotation.next_rotation.is_some_and(|t| t <= at)
            {
                self.start_scheduled_rotation(&rec);
            }
        }
        Ok(())
    }

    /// Resumes the rotations a previous run left unfinished, then runs
    /// [`SecretsService::sweep`] now and every minute, on a thread of its own.
    pub fn start_scheduler(&self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let svc = self.clone();
        std::thread::Builder::new()
            .name("secrets-scheduler".into())
            .spawn(move || {
                match svc.read(|tx| Ok(tx.scan_json::<SecretRec>(SECRETS, "", None, MAX_SCAN)?)) {
                    Ok(all) => {
                        let recs: Vec<SecretRec> = all.into_iter().map(|(_, r)| r).collect();
                        svc.resume_rotations(&recs);
                    }
                    Err(e) => tracing::warn!(code = %e.code, "interrupted rotations not resumed"),
                }
                loop {
                    if let Err(e) = svc.sweep(now()) {
                        tracing::warn!(error = %e, "secrets scheduler sweep failed");
                    }
                    std::thread::sleep(std::time::Duration::from_secs(60));
                }
            })
    }
}

impl SecretsManager for SecretsService {
    fn create_secret(
        &self,
        ctx: &RequestContext,
        input: m::CreateSecretRequest,
    ) -> R<m::CreateSecretResponse> {
        let name = input.name.clone();
        if !arn::valid_name(&name) {
            return Err(m::invalid_parameter_exception(
                "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
            ));
        }
        let cross = input
            .cross_account_primary_arn
            .as_deref()
            .map(|p| xaccount::check_create(ctx, p, &input))
            .transpose()?;
        let add_replicas = input.add_replica_regions.clone().unwrap_or_default();
        let force_replicas = input.force_overwrite_replica_secret.unwrap_or(false);
        replication::check_regions(ctx, &self.regions, &add_replicas)?;
        let value = encode_value(input.secret_string.as_deref(), input.secret_binary.as_ref())?;
        // An empty KmsKeyId means the AWS managed key.
        let kms_key_id = input.kms_key_id.filter(|k| !k.is_empty());
        let key = skey(&ctx.account_id, &ctx.region, &name);
        let k2 = key.clone();
        let existing: Option<SecretRec> = self.read(|tx| Ok(tx.get_json(SECRETS, &k2)?))?;
        if let Some(rec) = existing {
            if rec.deleted() {
                return Err(m::invalid_request_exception(
                    "You can't create this secret because a secret with this name is already scheduled for deletion.",
                ));
            }
            if let (Some(tok), Some(val)) = (&input.client_request_token, &value) {
                if let Some(v) = rec.version(tok).filter(|v| v.ciphertext.is_some()) {
                    if self.open(ctx, &rec.arn, v)?.as_slice() == val.as_slice() {
                        return Ok(m::CreateSecretResponse {
                            arn: Some(rec.arn.clone()),
                            name: Some(rec.name.clone()),
                            version_id: Some(tok.clone()),
                            replication_status: None,
                        });
                    }
                }
            }
            return Err(m::resource_exists_exception(format!(
                "The operation failed because the secret {name} already exists."
            )));
        }
        let arn = arn::secret_arn(&ctx.region, &ctx.account_id, &name, &arn::suffix());
        let vid = input
            .client_request_token
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let t = now();
        let mut tags = Vec::new();
        merge_tags(&mut tags, input.tags.unwrap_or_default())?;
        let mut versions = Vec::new();
        if let Some(val) = &value {
            let (ct, key_arn) = self.seal(ctx, kms_key_id.as_deref(), &arn, &vid, val)?;
            let mut v = VersionRec::new(&vid, vec![CURRENT.to_string()], t);
            v.ciphertext = Some(ct);
            v.kms_key_arn = Some(key_arn);
            versions.push(v);
        }
        let rec = SecretRec {
            name: name.clone(),
            arn: arn.clone(),
            account_id: ctx.account_id.clone(),
            region: ctx.region.clone(),
            description: input.description,
            kms_key_id,
            tags,
            created: t,
            last_changed: Some(t),
            last_accessed: None,
            deletion_date: None,
            policy: None,
            rotation: RotationRec::default(),
            r#type: input.r#type,
            versions,
            replicas: Vec::new(),
            primary_region: None,
            revision: 0,
            cross_account_primary: None,
            cross_account_replica: None,
        };
        let mut rec = rec;
        rec.cross_account_primary = cross;
        let n2 = name.clone();
        self.write(move |tx| {
            if tx.get(SECRETS, &key)?.is_some() {
                return Err(m::resource_exists_exception(format!(
                    "The operation failed because the secret {n2} already exists."
                ))
                .into());
            }
            tx.put_json(SECRETS, &key, &rec)?;
            Ok(())
        })?;
        let replication_status = if add_replicas.is_empty() {
            None
        } else {
            self.add_replicas(ctx, &arn, add_replicas, force_replicas)?
        };
        Ok(m::CreateSecretResponse {
            arn: Some(arn),
            name: Some(name),
            version_id: value.is_some().then_some(vid),
            replication_status,
        })
    }

    fn describe_secret(
        &self,
        ctx: &RequestContext,
        input: m::DescribeSecretRequest,
    ) -> R<m::DescribeSecretResponse> {
        Ok(describe(&self.load(ctx, &input.secret_id)?))
    }

    fn get_secret_value(
        &self,
        ctx: &RequestContext,
        input: m::GetSecretValueRequest,
    ) -> R<m::GetSecretValueResponse> {
        let (rec, v, pt) = self.read_value(
            ctx,
            &input.secret_id,
            input.version_id.as_deref(),
            input.version_stage.as_deref(),
        )?;
        let (s, b) = decode_value(&pt)?;
        Ok(m::GetSecretValueResponse {
            arn: Some(rec.arn),
            name: Some(rec.name),
            version_id: Some(v.id),
            secret_binary: b,
            secret_string: s,
            version_stages: Some(v.stages),
            created_date: Some(Timestamp(v.created)),
        })
    }

    fn put_secret_value(
        &self,
        ctx: &RequestContext,
        input: m::PutSecretValueRequest,
    ) -> R<m::PutSecretValueResponse> {
        let value = encode_value(input.secret_string.as_deref(), input.secret_binary.as_ref())?
            .ok_or_else(|| {
                m::invalid_request_exception(
                    "You must provide either SecretString or SecretBinary.",
                )
            })?;
        let token = input
            .client_request_token
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let s = self.put_version(
            ctx,
            &input.secret_id,
            token,
            &value,
            input.version_stages,
            None,
        )?;
        Ok(m::PutSecretValueResponse {
            arn: Some(s.arn),
            name: Some(s.name),
            version_id: Some(s.version_id),
            version_stages: Some(s.stages),
        })
    }

    fn update_secret(
        &self,
        ctx: &RequestContext,
        input: m::UpdateSecretRequest,
    ) -> R<m::UpdateSecretResponse> {
        let value = encode_value(input.secret_string.as_deref(), input.secret_binary.as_ref())?;
        let key_change = input
            .kms_key_id
            .map(|k| if k.is_empty() { None } else { Some(k) });
        let rekey = key_change.is_some();
        let meta = Meta {
            description: input.description,
            kms_key_id: key_change,
            r#type: input.r#type,
        };
        let out = if let Some(value) = value {
            let token = input
                .client_request_token
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let s = self.put_version(ctx, &input.secret_id, token, &value, None, Some(meta))?;
            m::UpdateSecretResponse {
                arn: Some(s.arn),
                name: Some(s.name),
                version_id: Some(s.version_id),
            }
        } else {
            let (arn, name) = self.mutate(ctx, &input.secret_id, true, move |rec| {
                meta.apply(rec);
                rec.last_changed = Some(now());
                Ok((rec.arn.clone(), rec.name.clone()))
            })?;
            m::UpdateSecretResponse {
                arn: Some(arn),
                name: Some(name),
                version_id: None,
            }
        };
        if rekey {
            if let Some(arn) = &out.arn {
                self.reencrypt(ctx, arn);
            }
        }
        Ok(out)
    }

    fn list_secret_version_ids(
        &self,
        ctx: &RequestContext,
        input: m::ListSecretVersionIdsRequest,
    ) -> R<m::ListSecretVersionIdsResponse> {
        let rec = self.load_live(ctx, &input.secret_id)?;
        let all = input.include_deprecated.unwrap_or(false);
        let versions: Vec<&VersionRec> = rec
            .versions
            .iter()
            .filter(|v| all || !v.stages.is_empty())
            .collect();
        let start = decode_token(input.next_token.as_deref())?;
        let size = page_size(input.max_results, 100);
        let page: Vec<m::SecretVersionsListEntry> = versions
            .iter()
            .skip(start)
            .take(size)
            .map(|v| m::SecretVersionsListEntry {
                version_id: Some(v.id.clone()),
                version_stages: Some(v.stages.clone()),
                last_accessed_date: v.last_accessed.map(Timestamp),
                created_date: Some(Timestamp(v.created)),
                kms_key_ids: v.kms_key_arn.clone().map(|k| vec![k]),
            })
            .collect();
        let next = (start + size < versions.len()).then(|| encode_token(start + size));
        Ok(m::ListSecretVersionIdsResponse {
            versions: Some(page),
            next_token: next,
            arn: Some(rec.arn.clone()),
            name: Some(rec.name.clone()),
        })
    }

    fn list_secrets(
        &self,
        ctx: &RequestContext,
        input: m::ListSecretsRequest,
    ) -> R<m::ListSecretsResponse> {
        let filters = parse_filters(input.filters)?;
        let all = self.matching(
            ctx,
            &filters,
            input.include_planned_deletion.unwrap_or(false),
            input.sort_by,
            input.sort_order,
        )?;
        let start = decode_token(input.next_token.as_deref())?;
        let size = page_size(input.max_results, 100);
        let page = all.iter().skip(start).take(size).map(list_entry).collect();
        let next = (start + size < all.len()).then(|| encode_token(start + size));
        Ok(m::ListSecretsResponse {
            secret_list: Some(page),
            next_token: next,
        })
    }

    fn update_secret_version_stage(
        &self,
        ctx: &RequestContext,
        input: m::UpdateSecretVersionStageRequest,
    ) -> R<m::UpdateSecretVersionStageResponse> {
        let (arn, name) = self.mutate(ctx, &input.secret_id, true, move |rec| {
            if rec.cross_account_primary.is_some() {
                return Err(xaccount::on_replica());
            }
            labels::update_stage(
                &mut rec.versions,
                &input.version_stage,
                input.remove_from_version_id.as_deref(),
                input.move_to_version_id.as_deref(),
            )?;
            let t = now();
            labels::prune(&mut rec.versions, t);
            rec.last_changed = Some(t);
            Ok((rec.arn.clone(), rec.name.clone()))
        })?;
        Ok(m::UpdateSecretVersionStageResponse {
            arn: Some(arn),
            name: Some(name),
        })
    }

    fn delete_secret(
        &self,
        ctx: &RequestContext,
        input: m::DeleteSecretRequest,
    ) -> R<m::DeleteSecretResponse> {
        let force = input.force_delete_without_recovery.unwrap_or(false);
        if force && input.recovery_window_in_days.is_some() {
            return Err(m::invalid_parameter_exception(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
            ));
        }
        let days = input.recovery_window_in_days.unwrap_or(30);
        if !(7..=30).contains(&days) {
            return Err(m::invalid_parameter_exception(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
            ));
        }
        let (account, region, raw) = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            input.secret_id.clone(),
        );
        let t = now();
        let (arn, name, date) = self.write(move |tx| {
            let mut rec = find(tx, &account, &region, &raw)?.ok_or_else(not_found)?;
            if rec.primary_region.is_some() {
                return Err(replication::on_replica().into());
            }
            if !rec.replicas.is_empty() {
                return Err(replication::has_replicas(&rec).into());
            }
            if let Some(e) = xaccount::blocks_delete(&rec) {
                return Err(e.into());
            }
            if force {
                tx.delete(SECRETS, &rkey(&rec))?;
                return Ok((rec.arn, rec.name, t));
            }
            if rec.deleted() {
                return Err(marked_for_deletion().into());
            }
            let date = t + (days as f64) * 86_400.0;
            rec.deletion_date = Some(date);
            tx.put_json(SECRETS, &rkey(&rec), &rec)?;
            Ok((rec.arn, rec.name, date))
        })?;
        Ok(m::DeleteSecretResponse {
            arn: Some(arn),
            name: Some(name),
            deletion_date: Some(Timestamp(date)),
        })
    }

    fn restore_secret(
        &self,
        ctx: &RequestContext,
        input: m::RestoreSecretRequest,
    ) -> R<m::RestoreSecretResponse> {
        let (arn, name) = self.mutate(ctx, &input.secret_id, false, |rec| {
            rec.deletion_date = None;
            Ok((rec.arn.clone(), rec.name.clone()))
        })?;
        Ok(m::RestoreSecretResponse {
            arn: Some(arn),
            name: Some(name),
        })
    }

    fn tag_resource(&self, ctx: &RequestContext, input: m::TagResourceRequest) -> R<Unit> {
        self.mutate(ctx, &input.secret_id, true, move |rec| {
            merge_tags(&mut rec.tags, input.tags)
        })?;
        Ok(Unit::default())
    }

    fn untag_resource(&self, ctx: &RequestContext, input: m::UntagResourceRequest) -> R<Unit> {
        if input.tag_keys.iter().any(|k| reserved_tag(k)) {
            return Err(reserved_tag_error());
        }
        self.mutate(ctx, &input.secret_id, true, move |rec| {
            rec.tags.retain(|t| !input.tag_keys.contains(&t.key));
            Ok(())
        })?;
        Ok(Unit::default())
    }

    fn put_resource_policy(
        &self,
        ctx: &RequestContext,
        input: m::PutResourcePolicyRequest,
    ) -> R<m::PutResourcePolicyResponse> {
        let policy_name = check_policy_name(input.policy_name)?;
        let doc = input.resource_policy;
        let errs = policy::validate(&doc);
        if let Some((check, msg)) = errs.iter().find(|(c, _)| c != "PUBLIC_POLICY") {
            tracing::debug!(check = %check, "resource policy refused");
            return Err(m::malformed_policy_document_exception(format!(
                "This resource policy contains a syntax error: {msg}"
            )));
        }
        if input.block_public_policy.unwrap_or(false) && !errs.is_empty() {
            return Err(m::public_policy_exception(
                "This resource policy grants public access to the secret; BlockPublicPolicy is set, so it was not attached.",
            ));
        }
        let (arn, name) = self.mutate(ctx, &input.secret_id, true, move |rec| {
            rec.policy = Some(doc);
            Ok((rec.arn.clone(), rec.name.clone()))
        })?;
        Ok(m::PutResourcePolicyResponse {
            arn: Some(arn),
            name: Some(name),
            policy_name,
        })
    }

    fn get_resource_policy(
        &self,
        ctx: &RequestContext,
        input: m::GetResourcePolicyRequest,
    ) -> R<m::GetResourcePolicyResponse> {
        let policy_name = check_policy_name(input.policy_name)?;
        let rec = self.load_live(ctx, &input.secret_id)?;
        Ok(m::GetResourcePolicyResponse {
            arn: Some(rec.arn),
            name: Some(rec.name),
            resource_policy: rec.policy,
            policy_name,
        })
    }

    fn delete_resource_policy(
        &self,
        ctx: &RequestContext,
        input: m::DeleteResourcePolicyRequest,
    ) -> R<m::DeleteResourcePolicyResponse> {
        let policy_name = check_policy_name(input.policy_name)?;
        let (arn, name) = self.mutate(ctx, &input.secret_id, true, |rec| {
            rec.policy = None;
            Ok((rec.arn.clone(), rec.name.clone()))
        })?;
        Ok(m::DeleteResourcePolicyResponse {
            arn: Some(arn),
            name: Some(name),
            policy_name,
        })
    }

    fn list_resource_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListResourcePoliciesRequest,
    ) -> R<m::ListResourcePoliciesResponse> {
        let rec = self.load_live(ctx, &input.secret_id)?;
        let mut policies: Vec<m::ResourcePolicySummary> = rec
            .policy
            .iter()
            .map(|_| m::ResourcePolicySummary {
                policy_name: Some(DEFAULT_POLICY.to_string()),
            })
            .collect();
        if rec.cross_account_primary.is_some() {
            policies.push(m::ResourcePolicySummary {
                policy_name: Some(xaccount::REPLICA_POLICY.to_string()),
            });
        }
        Ok(m::ListResourcePoliciesResponse {
            resource_policies: policies,
            next_token: None,
        })
    }

    fn validate_resource_policy(
        &self,
        ctx: &RequestContext,
        input: m::ValidateResourcePolicyRequest,
    ) -> R<m::ValidateResourcePolicyResponse> {
        if let Some(id) = &input.secret_id {
            self.load_live(ctx, id)?;
        }
        let errs = policy::validate(&input.resource_policy);
        Ok(m::ValidateResourcePolicyResponse {
            policy_validation_passed: Some(errs.is_empty()),
            validation_errors: Some(
                errs.into_iter()
                    .map(|(c, msg)| m::ValidationErrorsEntry {
                        check_name: Some(c),
                        error_message: Some(msg),
                    })
                    .collect(),
            ),
        })
    }

    fn get_random_password(
        &self,
        _ctx: &RequestContext,
        input: m::GetRandomPasswordRequest,
    ) -> R<m::GetRandomPasswordResponse> {
        let spec = password::Spec {
            length: input
                .password_length
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(password::DEFAULT_LENGTH),
            exclude_characters: input.exclude_characters.unwrap_or_default(),
            exclude_numbers: input.exclude_numbers.unwrap_or(false),
            exclude_punctuation: input.exclude_punctuation.unwrap_or(false),
            exclude_uppercase: input.exclude_uppercase.unwrap_or(false),
            exclude_lowercase: input.exclude_lowercase.unwrap_or(false),
            include_space: input.include_space.unwrap_or(false),
            require_each_included_type: input.require_each_included_type.unwrap_or(true),
        };
        if !(1..=4096).contains(&spec.length) {
            return Err(m::invalid_parameter_exception(
                "PasswordLength must be between 1 and 4096.",
            ));
        }
        let p = password::generate(&spec)?;
        Ok(m::GetRandomPasswordResponse {
            random_password: Some(p.to_string()),
        })
    }

    fn batch_get_secret_value(
        &self,
        ctx: &RequestContext,
        input: m::BatchGetSecretValueRequest,
    ) -> R<m::BatchGetSecretValueResponse> {
        let ids = input.secret_id_list.filter(|l| !l.is_empty());
        let has_filters = input.filters.as_ref().is_some_and(|f| !f.is_empty());
        if ids.is_some() && has_filters {
            return Err(m::invalid_parameter_exception(
                "Either 'SecretIdList' or 'Filters' must be provided, but not both.",
            ));
        }
        if ids.is_none() && !has_filters {
            return Err(m::invalid_parameter_exception(
                "Either 'SecretIdList' or 'Filters' must be provided.",
            ));
        }
        if input.max_results.is_some() && !has_filters {
            return Err(m::invalid_parameter_exception(
                "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.",
            ));
        }
        let (targets, next) = match ids {
            Some(ids) => (ids, None),
            None => {
                let filters = parse_filters(input.filters)?;
                let all = self.matching(ctx, &filters, false, None, None)?;
                let start = decode_token(input.next_token.as_deref())?;
                let size = page_size(input.max_results, 20);
                let next = (start + size < all.len()).then(|| encode_token(start + size));
                (
                    all.into_iter()
                        .skip(start)
                        .take(size)
                        .map(|r| r.arn)
                        .collect(),
                    next,
                )
            }
        };
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for id in targets {
            match self
                .may_read(ctx, &id)
                .and_then(|()| self.read_value(ctx, &id, None, None))
            {
                Ok((rec, v, pt)) => {
                    let (s, b) = decode_value(&pt)?;
                    values.push(m::SecretValueEntry {
                        arn: Some(rec.arn),
                        name: Some(rec.name),
                        version_id: Some(v.id),
                        secret_binary: b,
                        secret_string: s,
                        version_stages: Some(v.stages),
                        created_date: Some(Timestamp(v.created)),
                    });
                }
                Err(e) if e.status < 500 => errors.push(m::APIErrorType {
                    secret_id: Some(id),
                    error_code: Some(e.code.to_string()),
                    message: Some(e.message),
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(m::BatchGetSecretValueResponse {
            secret_values: Some(values),
            next_token: next,
            errors: Some(errors),
        })
    }

    fn replicate_secret_to_regions(
        &self,
        ctx: &RequestContext,
        input: m::ReplicateSecretToRegionsRequest,
    ) -> R<m::ReplicateSecretToRegionsResponse> {
        replication::check_regions(ctx, &self.regions, &input.add_replica_regions)?;
        let rec = self.load_live(ctx, &input.secret_id)?;
        if rec.primary_region.is_some() {
            return Err(replication::on_replica());
        }
        let status = self.add_replicas(
            ctx,
            &rec.arn,
            input.add_replica_regions,
            input.force_overwrite_replica_secret.unwrap_or(false),
        )?;
        Ok(m::ReplicateSecretToRegionsResponse {
            arn: Some(rec.arn),
            replication_status: status,
        })
    }

    fn remove_regions_from_replication(
        &self,
        ctx: &RequestContext,
        input: m::RemoveRegionsFromReplicationRequest,
    ) -> R<m::RemoveRegionsFromReplicationResponse> {
        let (arn, status) =
            self.remove_replicas(ctx, &input.secret_id, input.remove_replica_regions)?;
        Ok(m::RemoveRegionsFromReplicationResponse {
            arn: Some(arn),
            replication_status: status,
        })
    }

    fn stop_replication_to_replica(
        &self,
        ctx: &RequestContext,
        input: m::StopReplicationToReplicaRequest,
    ) -> R<m::StopReplicationToReplicaResponse> {
        if let Some(arn) = self.stop_cross_account(ctx, &input.secret_id)? {
            return Ok(m::StopReplicationToReplicaResponse { arn: Some(arn) });
        }
        let arn = self.promote_replica(ctx, &input.secret_id)?;
        Ok(m::StopReplicationToReplicaResponse { arn: Some(arn) })
    }

    fn rotate_secret(
        &self,
        ctx: &RequestContext,
        input: m::RotateSecretRequest,
    ) -> R<m::RotateSecretResponse> {
        if self
            .load(ctx, &input.secret_id)?
            .cross_account_primary
            .is_some()
        {
            return Err(xaccount::on_replica());
        }
        self.rotate(ctx, input)
    }

    fn associate_cross_account_replica(
        &self,
        ctx: &RequestContext,
        input: m::AssociateCrossAccountReplicaRequest,
    ) -> R<m::AssociateCrossAccountReplicaResponse> {
        self.associate_cross_account(ctx, input)
    }

    fn disassociate_cross_account_replica(
        &self,
        ctx: &RequestContext,
        input: m::DisassociateCrossAccountReplicaRequest,
    ) -> R<m::DisassociateCrossAccountReplicaResponse> {
        self.disassociate_cross_account(ctx, input)
    }

    fn cancel_rotate_secret(
        &self,
        ctx: &RequestContext,
        input: m::CancelRotateSecretRequest,
    ) -> R<m::CancelRotateSecretResponse> {
        self.cancel_rotation(ctx, &input.secret_id)
    }
}

#[cfg(test)]
#[path = "tests/service.rs"]
mod tests;
