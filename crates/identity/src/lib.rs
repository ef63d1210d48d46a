//! Identities: accounts, IAM users, groups, roles, managed and inline policies, access keys
//! and STS temporary credentials; the authentication of an access key id to a principal for
//! the SigV4 layer; and the policies that apply to a principal, for the authorizer.
//!
//! Secrets (secret access keys, session tokens) are stored only wrapped under the root of
//! trust; unwrapped copies live in a zeroizing in-memory cache that every IAM change
//! invalidates, so a key deleted or deactivated stops working on the very next request.
//!
//! - [`iam::IamService`] implements the IAM API (`rampart_model::iam::Iam`).
//! - [`sts::TokenService`] implements STS (`AssumeRole`, `GetSessionToken`,
//!   `GetCallerIdentity`, `GetAccessKeyInfo`).
#![forbid(unsafe_code)]

pub mod iam;
mod login;
mod mfa;
pub mod org;
mod policydoc;
mod profiles;
mod records;
mod simulate;
pub mod sts;

pub use records::{
    Account, Group, InlinePolicy, KeyStatus, ManagedPolicy, PolicyVersionRec, Role, TagRec, User,
};

use base64::Engine;
use chrono::{DateTime, Utc};
use rampart_core::{ids, AwsError, Principal, PrincipalKind};
use rampart_crypto::RootKey;
use rampart_store::{Store, StoreError, StoreExt, Tx};
use records::{
    key_aad, name_key, parse_time, scan_all, session_secret_aad, session_token_aad,
    AccessKeyRecord, LastUsed, SessionRecord, ACCOUNTS, GROUPS, KEYS, KEYS_BY_USER, KEYS_LAST_USED,
    META, POLICIES, ROLES, SESSIONS, USERS,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The account `--dev` uses, and the fallback for unknown key ids in `--dev`.
pub const DEV_ACCOUNT: &str = "000000000000";

pub const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// How often at most the last use of one access key is written to the store.
const LAST_USED_FLUSH: Duration = Duration::from_secs(60);
/// The schema version of the identity records (see [`Identity::bootstrap`]).
const SCHEMA: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("root of trust: {0}")]
    Crypto(#[from] rampart_crypto::CryptoError),
    /// An error to answer the caller with as it is (`NoSuchEntity`, ...).
    #[error("{0}")]
    Aws(AwsError),
}

impl From<AwsError> for IdentityError {
    fn from(e: AwsError) -> Self {
        IdentityError::Aws(e)
    }
}

impl From<IdentityError> for AwsError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Aws(a) => a,
            other => {
                tracing::error!(error = %other, "identity store failure");
                AwsError::internal()
            }
        }
    }
}

/// Credentials created by bootstrap: shown once (written to the credentials file).
pub struct NewCredentials {
    pub account_id: String,
    pub user_name: String,
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
}

impl std::fmt::Debug for NewCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredentials")
            .field("account_id", &self.account_id)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"*** redacted ***")
            .finish()
    }
}

/// What SigV4 needs to check a request signed with a key.
#[derive(Clone)]
pub struct KeyLookup {
    pub secret: Arc<Zeroizing<String>>,
    pub principal: Principal,
    /// Whether a request signed with this key may be accepted on its signature alone: true
    /// for an `Active` long-term key; false for an `Inactive` one, and for temporary
    /// credentials, which are accepted only with their session token (see `session_token`).
    pub active: bool,
    /// For temporary credentials (`ASIA...`): the session token the request must carry in
    /// `X-Amz-Security-Token` (compare in constant time). `None` for long-term keys, which
    /// must not carry one.
    pub session_token: Option<Arc<Zeroizing<String>>>,
    /// For temporary credentials: when they expire (refuse with `ExpiredToken` after).
    pub expires: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for KeyLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLookup")
            .field("principal", &self.principal)
            .field("active", &self.active)
            .field("temporary", &self.session_token.is_some())
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The policies that apply to a principal, as documents, for the policy evaluator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalPolicies {
    /// `(name, document)`: inline policies by name, managed policies by ARN. For a user: its
    /// inline and attached policies, then those of each of its groups; for a role session:
    /// the role's. Empty for the account root (which needs none).
    pub identity_policies: Vec<(String, String)>,
    /// The document of the user's or role's permissions boundary.
    pub permissions_boundary: Option<String>,
    /// The inline session policy passed to `AssumeRole` (`Policy`).
    pub session_policy: Option<String>,
    /// The managed session policies passed to `AssumeRole` (`PolicyArns`), `(arn, document)`.
    /// When this or `session_policy` is present the session may do only what one of them
    /// allows (and its identity policies allow).
    pub session_policy_arns: Vec<(String, String)>,
    /// `aws:PrincipalTag/*`: the user's tags, or the role's overridden by session tags.
    pub principal_tags: Vec<(String, String)>,
    /// For a role session, the role's ARN (with its path): `aws:PrincipalArn`, and what a
    /// resource policy names to grant the session.
    pub session_issuer: Option<String>,
    /// Temporary credentials: when they were issued (`aws:TokenIssueTime`) and when MFA was
    /// checked for them (`aws:MultiFactorAuthPresent`, `aws:MultiFactorAuthAge`).
    pub temporary: Option<SessionTimes>,
    /// The organization of the principal's account (`aws:PrincipalOrgID`).
    pub org_id: Option<String>,
}

/// When a set of temporary credentials was issued, and with MFA when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    pub issued: Option<chrono::DateTime<chrono::Utc>>,
    pub mfa_authenticated: Option<chrono::DateTime<chrono::Utc>>,
}

impl PrincipalPolicies {
    /// True when session policies limit the principal.
    pub fn has_session_policies(&self) -> bool {
        self.session_policy.is_some() || !self.session_policy_arns.is_empty()
    }
}

#[derive(Clone)]
struct KeyUse {
    date: DateTime<Utc>,
    service: String,
    region: String,
    flushed: Option<Instant>,
}

/// Cached entries, each with the generation it was read in.
type Cache<T> = Arc<Mutex<HashMap<String, (u64, T)>>>;

#[derive(Clone)]
pub struct Identity {
    store: Arc<dyn Store>,
    root: Arc<RootKey>,
    /// Bumped by every IAM change; cached entries from an older generation are not used.
    generation: Arc<AtomicU64>,
    cache: Cache<KeyLookup>,
    policy_cache: Cache<Arc<PrincipalPolicies>>,
    usage: Arc<Mutex<HashMap<String, KeyUse>>>,
    last_purge: Arc<Mutex<Option<Instant>>>,
}

impl Identity {
    pub fn new(store: Arc<dyn Store>, root: Arc<RootKey>) -> Self {
        Identity {
            store,
            root,
            generation: Arc::new(AtomicU64::new(0)),
            cache: Arc::new(Mutex::new(HashMap::new())),
            policy_cache: Arc::new(Mutex::new(HashMap::new())),
            usage: Arc::new(Mutex::new(HashMap::new())),
            last_purge: Arc::new(Mutex::new(None)),
        }
    }

    /// The account created at bootstrap, if any.
    pub fn primary_account(&self) -> Result<Option<String>, IdentityError> {
        Ok(self
            .store
            .read(|tx| tx.get_json::<String>(META, "primary-account"))?)
    }

    /// On a new data directory: creates an account (random id, or `account` when given), an
    /// admin user with `AdministratorAccess` and an access key (`fixed_key` when given, as
    /// `--dev` does with `test`/`test`). Returns `None` when already bootstrapped (after
    /// bringing records written by an older version up to date).
    pub fn bootstrap(
        &self,
        account: Option<&str>,
        fixed_key: Option<(&str, &str)>,
    ) -> Result<Option<NewCredentials>, IdentityError> {
        if self.primary_account()?.is_some() {
            self.migrate()?;
            return Ok(None);
        }
        let account_id = account.map(str::to_string).unwrap_or_else(ids::account_id);
        let user_name = "admin".to_string();
        let (akid, secret) = match fixed_key {
            Some((a, s)) => (a.to_string(), Zeroizing::new(s.to_string())),
            None => (
                ids::iam_id("AKIA"),
                Zeroizing::new(ids::secret_access_key()),
            ),
        };
        let secret_wrapped = self.wrap(&key_aad(&akid), secret.as_bytes())?;
        let user = User {
            account_id: account_id.clone(),
            user_name: user_name.clone(),
            user_id: ids::iam_id("AIDA"),
            path: "/".into(),
            arn: format!("arn:aws:iam::{account_id}:user/{user_name}"),
            create_date: records::now(),
            attached_policies: vec![ADMIN_POLICY.into()],
            inline_policies: Vec::new(),
            groups: Vec::new(),
            permissions_boundary: None,
            tags: Vec::new(),
        };
        let rec = AccessKeyRecord {
            access_key_id: akid.clone(),
            account_id: account_id.clone(),
            user_name: user_name.clone(),
            status: KeyStatus::Active,
            create_date: records::now(),
            secret_wrapped,
        };
        let acct = Account {
            account_id: account_id.clone(),
            created: records::now(),
        };
        let aid = account_id.clone();
        self.store
            .write(move |tx: &mut dyn Tx| -> Result<(), StoreError> {
                tx.put_json(ACCOUNTS, &aid, &acct)?;
                tx.put_json(USERS, &name_key(&aid, &user.user_name), &user)?;
                tx.put_json(KEYS, &rec.access_key_id, &rec)?;
                let by_user = format!(
                    "{}{}",
                    records::user_keys_prefix(&aid, &user.user_name),
                    rec.access_key_id
                );
                tx.put_json(KEYS_BY_USER, &by_user, &rec.access_key_id)?;
                tx.put_json(META, "primary-account", &aid)?;
                tx.put_json(META, "identity-schema", &SCHEMA)?;
                Ok(())
            })?;
        self.invalidate();
        Ok(Some(NewCredentials {
            account_id,
            user_name,
            access_key_id: akid,
            secret_access_key: secret,
        }))
    }

    /// Brings records written by an older Rampart up to date: schema 1 had no index of the
    /// access keys of a user.
    fn migrate(&self) -> Result<(), IdentityError> {
        let version: Option<u32> = self
            .store
            .read(|tx| tx.get_json::<u32>(META, "identity-schema"))?;
        if version.unwrap_or(1) >= SCHEMA {
            return Ok(());
        }
        self.store
            .write(|tx: &mut dyn Tx| -> Result<(), StoreError> {
                for (_, rec) in scan_all::<AccessKeyRecord>(tx, KEYS, "")? {
                    let k = format!(
                        "{}{}",
                        records::user_keys_prefix(&rec.account_id, &rec.user_name),
                        rec.access_key_id
                    );
                    tx.put_json(KEYS_BY_USER, &k, &rec.access_key_id)?;
                }
                tx.put_json(META, "identity-schema", &SCHEMA)
            })?;
        Ok(())
    }

    /// Looks up an access key id: a long-term key (`AKIA...`) or temporary credentials
    /// (`ASIA...`). `None` when Rampart does not know it.
    pub fn lookup_key(&self, akid: &str) -> Result<Option<KeyLookup>, IdentityError> {
        let gen = self.generation.load(Ordering::SeqCst);
        if let Some(hit) = self.cache.lock().ok().and_then(|c| {
            c.get(akid)
                .filter(|(g, _)| *g == gen)
                .map(|(_, l)| l.clone())
        }) {
            return Ok(Some(hit));
        }
        let akid_owned = akid.to_string();
        let found = self.store.read(
            |tx| -> Result<Option<(AccessKeyRecord, Option<User>)>, StoreError> {
                let Some(rec) = tx.get_json::<AccessKeyRecord>(KEYS, &akid_owned)? else {
                    return Ok(None);
                };
                let user =
                    tx.get_json::<User>(USERS, &name_key(&rec.account_id, &rec.user_name))?;
                Ok(Some((rec, user)))
            },
        )?;
        let lookup = match found {
            Some((rec, Some(user))) => {
                let secret = self.unwrap_text(&key_aad(akid), &rec.secret_wrapped, KEYS, akid)?;
                KeyLookup {
                    secret: Arc::new(secret),
                    principal: Principal {
                        kind: PrincipalKind::IamUser,
                        account_id: rec.account_id.clone(),
                        arn: user.arn.clone(),
                        principal_id: user.user_id.clone(),
                        user_name: Some(user.user_name.clone()),
                        access_key_id: Some(rec.access_key_id.clone()),
                    },
                    active: rec.status == KeyStatus::Active,
                    session_token: None,
                    expires: None,
                }
            }
            Some((_, None)) => return Ok(None),
            None => {
                let akid_owned = akid.to_string();
                let session = self
                    .store
                    .read(|tx| tx.get_json::<SessionRecord>(SESSIONS, &akid_owned))?;
                let Some(s) = session else { return Ok(None) };
                let secret =
                    self.unwrap_text(&session_secret_aad(akid), &s.secret_wrapped, SESSIONS, akid)?;
                let token =
                    self.unwrap_text(&session_token_aad(akid), &s.token_wrapped, SESSIONS, akid)?;
                KeyLookup {
                    secret: Arc::new(secret),
                    principal: s.principal.clone(),
                    // Never on the signature alone: the session token must match too.
                    active: false,
                    session_token: Some(Arc::new(token)),
                    // An unreadable expiry is taken as expired.
                    expires: Some(parse_time(&s.expires).unwrap_or(DateTime::UNIX_EPOCH)),
                }
            }
        };
        if let Ok(mut c) = self.cache.lock() {
            if c.len() > 10_000 {
                c.clear();
            }
            if self.generation.load(Ordering::SeqCst) == gen {
                c.insert(akid.to_string(), (gen, lookup.clone()));
            }
        }
        Ok(Some(lookup))
    }

    /// Forgets cached keys and policies (after a reset or a key change).
    pub fn clear_cache(&self) {
        self.invalidate();
    }

    /// Called after every change of identities, keys or policies: nothing cached before it
    /// is used again.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
        if let Ok(mut c) = self.policy_cache.lock() {
            c.clear();
        }
    }

    /// Notes that `akid` signed a request for `service` in `region` (for
    /// `GetAccessKeyLastUsed`). Cheap: kept in memory, written to the store at most once a
    /// minute per key, without waiting.
    pub fn record_key_use(&self, akid: &str, service: &str, region: &str) {
        if akid.is_empty() {
            return;
        }
        let now = Utc::now();
        let inst = Instant::now();
        let flush = {
            let Ok(mut map) = self.usage.lock() else {
                return;
            };
            if map.len() > 100_000 {
                map.clear();
            }
            let e = map.entry(akid.to_string()).or_insert_with(|| KeyUse {
                date: now,
                service: service.to_string(),
                region: region.to_string(),
                flushed: None,
            });
            e.date = now;
            if e.service != service {
                e.service = service.to_string();
            }
            if e.region != region {
                e.region = region.to_string();
            }
            let due = e
                .flushed
                .is_none_or(|f| inst.duration_since(f) >= LAST_USED_FLUSH);
            if due {
                e.flushed = Some(inst);
            }
            due.then(|| LastUsed {
                date: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                service: e.service.clone(),
                region: e.region.clone(),
            })
        };
        if let Some(rec) = flush {
            let akid = akid.to_string();
            self.store.write_detached(move |tx| {
                // Only keys that exist (dev-mode callers use any key id; a key deleted since).
                if tx.get(KEYS, &akid)?.is_some() {
                    tx.put_json(KEYS_LAST_USED, &akid, &rec)?;
                }
                Ok(())
            });
        }
    }

    /// The last use of a long-term key: memory first (newest), then the store.
    pub(crate) fn last_used(
        &self,
        tx: &mut dyn Tx,
        akid: &str,
    ) -> Result<Option<LastUsed>, StoreError> {
        if let Some(u) = self.usage.lock().ok().and_then(|m| m.get(akid).cloned()) {
            return Ok(Some(LastUsed {
                date: u.date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                service: u.service,
                region: u.region,
            }));
        }
        tx.get_json::<LastUsed>(KEYS_LAST_USED, akid)
    }

    pub(crate) fn forget_key_use(&self, akid: &str) {
        if let Ok(mut m) = self.usage.lock() {
            m.remove(akid);
        }
    }

    /// The policies that apply to `principal` (see [`PrincipalPolicies`]). Cached until the
    /// next IAM change.
    pub fn policies_for(
        &self,
        principal: &Principal,
    ) -> Result<Arc<PrincipalPolicies>, IdentityError> {
        let key = format!(
            "{}|{}",
            principal.arn,
            principal.access_key_id.as_deref().unwrap_or("")
        );
        let gen = self.generation.load(Ordering::SeqCst);
        if let Some(hit) = self.policy_cache.lock().ok().and_then(|c| {
            c.get(&key)
                .filter(|(g, _)| *g == gen)
                .map(|(_, p)| p.clone())
        }) {
            return Ok(hit);
        }
        let p = principal.clone();
        let out = Arc::new(self.store.read(|tx| gather_policies(tx, &p))?);
        if let Ok(mut c) = self.policy_cache.lock() {
            if c.len() > 10_000 {
                c.clear();
            }
            if self.generation.load(Ordering::SeqCst) == gen {
                c.insert(key, (gen, out.clone()));
            }
        }
        Ok(out)
    }

    /// The principal `--dev` attributes to a key id it does not know: an administrator of the
    /// account whose 12-digit number the key id is, else of `000000000000`.
    pub fn dev_principal(akid: &str) -> Principal {
        let account = if ids::is_account_id(akid) {
            akid.to_string()
        } else {
            DEV_ACCOUNT.to_string()
        };
        Principal {
            kind: PrincipalKind::Root,
            arn: format!("arn:aws:iam::{account}:root"),
            principal_id: account.clone(),
            account_id: account,
            user_name: None,
            access_key_id: Some(akid.to_string()),
        }
    }

    /// Deletes temporary credentials that expired more than a day ago (at most every ten
    /// minutes; without waiting). Recently expired ones stay so that they are refused as
    /// expired rather than unknown.
    pub(crate) fn purge_sessions(&self) {
        let due = match self.last_purge.lock() {
            Ok(mut last) => {
                let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(600));
                if due {
                    *last = Some(Instant::now());
                }
                due
            }
            Err(_) => false,
        };
        if !due {
            return;
        }
        let cutoff = Utc::now() - chrono::Duration::days(1);
        self.store.write_detached(move |tx| {
            for (k, s) in scan_all::<SessionRecord>(tx, SESSIONS, "")? {
                if parse_time(&s.expires).is_none_or(|e| e < cutoff) {
                    tx.delete(SESSIONS, &k)?;
                }
            }
            Ok(())
        });
    }

    /// Wraps a secret under the root key (base64 of the wrapped bytes).
    /// Reads in one transaction, answering the service's error.
    pub(crate) fn query<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, IdentityError>,
    ) -> Result<T, AwsError> {
        self.store.read(f).map_err(AwsError::from)
    }

    /// Runs a change in one transaction and invalidates the identity caches (whether or not
    /// it succeeded).
    pub(crate) fn change<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, IdentityError> + Send + 'static,
    ) -> Result<T, AwsError> {
        let r = self.store.write(f);
        self.invalidate();
        r.map_err(AwsError::from)
    }

    pub(crate) fn wrap(&self, aad: &[u8], plain: &[u8]) -> Result<String, IdentityError> {
        let wrapped = self.root.seal(aad, plain)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(wrapped))
    }

    fn unwrap_text(
        &self,
        aad: &[u8],
        b64: &str,
        coll: &str,
        key: &str,
    ) -> Result<Zeroizing<String>, IdentityError> {
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| StoreError::Corrupt {
                coll: coll.into(),
                key: key.into(),
                reason: "wrapped secret is not base64".into(),
            })?;
        let plain = self.root.open(aad, &wrapped)?;
        let text = std::str::from_utf8(&plain).map_err(|_| StoreError::Corrupt {
            coll: coll.into(),
            key: key.into(),
            reason: "secret is not UTF-8".into(),
        })?;
        Ok(Zeroizing::new(text.to_string()))
    }
}

/// The document of a managed policy's default version (AWS managed or of `account`).
pub(crate) fn managed_document(tx: &mut dyn Tx, arn: &str) -> Result<Option<String>, StoreError> {
    if let Some(p) = policydoc::aws_managed(arn) {
        return Ok(Some(p.document.to_string()));
    }
    let Some((account, name)) = records::parse_policy_arn(arn) else {
        return Ok(None);
    };
    Ok(tx
        .get_json::<ManagedPolicy>(POLICIES, &name_key(account, name))?
        .filter(|p| p.arn == arn)
        .and_then(|p| p.default_document().map(str::to_string)))
}

fn push_entity_policies(
    tx: &mut dyn Tx,
    out: &mut Vec<(String, String)>,
    inline: &[InlinePolicy],
    attached: &[String],
) -> Result<(), StoreError> {
    for p in inline {
        out.push((p.name.clone(), p.document.clone()));
    }
    for arn in attached {
        if let Some(doc) = managed_document(tx, arn)? {
            out.push((arn.clone(), doc));
        }
    }
    Ok(())
}

/// An IAM user's identity policies (its own and its groups'), boundary and tags.
fn user_policies(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
    out: &mut PrincipalPolicies,
) -> Result<(), IdentityError> {
    let Some(user) = tx.get_json::<User>(USERS, &name_key(account, name))? else {
        return Ok(());
    };
    push_entity_policies(
        tx,
        &mut out.identity_policies,
        &user.inline_policies,
        &user.attached_policies,
    )?;
    for g in &user.groups {
        if let Some(group) = tx.get_json::<Group>(GROUPS, &name_key(account, g))? {
            push_entity_policies(
                tx,
                &mut out.identity_policies,
                &group.inline_policies,
                &group.attached_policies,
            )?;
        }
    }
    out.identity_policies
        .extend(crate::login::change_grant(tx, account)?);
    if let Some(b) = &user.permissions_boundary {
        out.permissions_boundary = managed_document(tx, b)?;
    }
    out.principal_tags = user
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    Ok(())
}

fn gather_policies(tx: &mut dyn Tx, p: &Principal) -> Result<PrincipalPolicies, IdentityError> {
    let mut out = PrincipalPolicies {
        org_id: org::org_id_in(tx, &p.account_id)?,
        ..Default::default()
    };
    if let Some(akid) = p.access_key_id.as_deref().filter(|k| k.starts_with("ASIA")) {
        let parse = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        out.temporary = Some(match tx.get_json::<SessionRecord>(SESSIONS, akid)? {
            Some(s) => SessionTimes {
                issued: parse(&s.issued),
                mfa_authenticated: s.mfa_authenticated.as_deref().and_then(parse),
            },
            None => SessionTimes {
                issued: None,
                mfa_authenticated: None,
            },
        });
    }
    match p.kind {
        PrincipalKind::Root => {}
        PrincipalKind::FederatedUser => {
            // The federating user's policies (none for the root user's sessions: everything
            // in the account, as the root's), cut down by the session policies and tags.
            match p.user_name.as_deref() {
                Some(name) => user_policies(tx, &p.account_id, name, &mut out)?,
                None => out.identity_policies.push((
                    "account root".to_string(),
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                        .to_string(),
                )),
            }
            out.principal_tags = Vec::new();
            if let Some(s) = p
                .access_key_id
                .as_deref()
                .map(|akid| tx.get_json::<SessionRecord>(SESSIONS, akid))
                .transpose()?
                .flatten()
            {
                out.session_policy = s.session_policy.clone();
                for arn in &s.policy_arns {
                    if let Some(doc) = managed_document(tx, arn)? {
                        out.session_policy_arns.push((arn.clone(), doc));
                    }
                }
                out.principal_tags = s
                    .tags
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone()))
                    .collect();
            }
            out.session_issuer = p
                .user_name
                .as_ref()
                .map(|u| format!("arn:aws:iam::{}:user/{u}", p.account_id));
        }
        PrincipalKind::IamUser => {
            let Some(name) = p.user_name.as_deref() else {
                return Ok(out);
            };
            user_policies(tx, &p.account_id, name, &mut out)?;
        }
        PrincipalKind::AssumedRole => {
            let Some(akid) = p.access_key_id.as_deref() else {
                return Ok(out);
            };
            let Some(s) = tx.get_json::<SessionRecord>(SESSIONS, akid)? else {
                return Ok(out);
            };
            let Some(role_key) = s.role.as_deref() else {
                return Ok(out);
            };
            let Some(role) = tx.get_json::<Role>(ROLES, &name_key(&s.account_id, role_key))? else {
                return Ok(out);
            };
            push_entity_policies(
                tx,
                &mut out.identity_policies,
                &role.inline_policies,
                &role.attached_policies,
            )?;
            if let Some(b) = &role.permissions_boundary {
                out.permissions_boundary = managed_document(tx, b)?;
            }
            out.session_policy = s.session_policy.clone();
            for arn in &s.policy_arns {
                if let Some(doc) = managed_document(tx, arn)? {
                    out.session_policy_arns.push((arn.clone(), doc));
                }
            }
            let mut tags: Vec<(String, String)> = role
                .tags
                .iter()
                .filter(|t| {
                    !s.tags
                        .iter()
                        .any(|st| st.key.to_lowercase() == t.key.to_lowercase())
                })
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
            tags.extend(s.tags.iter().map(|t| (t.key.clone(), t.value.clone())));
            out.principal_tags = tags;
            out.session_issuer = Some(role.arn.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
