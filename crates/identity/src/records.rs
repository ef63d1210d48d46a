//! What the identity crate keeps in the store: one JSON record per account, user, group, role,
//! customer managed policy, access key and temporary credential, and the helpers that read
//! and write them inside a transaction.
//!
//! Keys: `<account>/<lower-cased name>` for users, groups, roles and managed policies (IAM
//! names are unique per account regardless of case and path), the key id for access keys and
//! temporary credentials.
use crate::IdentityError;
use chrono::{DateTime, Utc};
use rampart_core::{AwsError, Principal};
use rampart_model::iam as m;
use rampart_model::Timestamp;
use rampart_store::{StoreError, Tx};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub(crate) const ACCOUNTS: &str = "account";
pub(crate) const USERS: &str = "iam_user";
pub(crate) const GROUPS: &str = "iam_group";
pub(crate) const ROLES: &str = "iam_role";
pub(crate) const POLICIES: &str = "iam_policy";
pub(crate) const KEYS: &str = "access_key";
/// `<account>/<lower user>/<key id>` -> key id: the access keys of a user.
pub(crate) const KEYS_BY_USER: &str = "access_key_user";
/// Key id -> [`LastUsed`].
pub(crate) const KEYS_LAST_USED: &str = "access_key_used";
pub(crate) const SESSIONS: &str = "sts_session";
pub(crate) const META: &str = "meta";

/// AWS's default IAM quotas.
pub(crate) const MAX_KEYS_PER_USER: usize = 2;
pub(crate) const MAX_POLICY_VERSIONS: usize = 5;
pub(crate) const MAX_ATTACHED: usize = 10;
pub(crate) const MAX_GROUPS_PER_USER: usize = 10;
pub(crate) const MAX_TAGS: usize = 50;
pub(crate) const MAX_USERS: usize = 5000;
pub(crate) const MAX_GROUPS: usize = 300;
pub(crate) const MAX_ROLES: usize = 1000;
pub(crate) const MAX_POLICIES: usize = 1500;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRec {
    pub key: String,
    pub value: String,
}

/// An inline (embedded) policy of a user, group or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    /// The document as the caller sent it.
    pub document: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub account_id: String,
    pub user_name: String,
    pub user_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: String,
    /// Managed policy ARNs attached to the user.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
    /// The groups the user belongs to (lower-cased group names).
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagRec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub account_id: String,
    pub group_name: String,
    pub group_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: String,
    #[serde(default)]
    pub attached_policies: Vec<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub account_id: String,
    pub role_name: String,
    pub role_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: String,
    /// The trust policy (`AssumeRolePolicyDocument`) as the caller sent it.
    pub trust_policy: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_duration: i32,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagRec>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
    #[serde(default)]
    pub inline_policies: Vec<InlinePolicy>,
    /// When and in which region the role was last assumed.
    #[serde(default)]
    pub last_used: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyVersionRec {
    pub version_id: String,
    pub document: String,
    pub create_date: String,
}

/// A customer managed policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub account_id: String,
    pub policy_name: String,
    pub policy_id: String,
    pub path: String,
    pub arn: String,
    #[serde(default)]
    pub description: Option<String>,
    pub create_date: String,
    pub update_date: String,
    pub default_version: String,
    /// The number of the next version (`v<n>`; version ids are never reused).
    pub next_version: u32,
    pub versions: Vec<PolicyVersionRec>,
    #[serde(default)]
    pub tags: Vec<TagRec>,
}

impl ManagedPolicy {
    pub fn default_document(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version)
            .map(|v| v.document.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct AccessKeyRecord {
    pub access_key_id: String,
    pub account_id: String,
    pub user_name: String,
    pub status: KeyStatus,
    pub create_date: String,
    /// The secret, wrapped under the root key (base64).
    pub secret_wrapped: String,
}

/// When, where and for which service an access key was last used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LastUsed {
    pub date: String,
    pub service: String,
    pub region: String,
}

/// Temporary credentials issued by STS.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub access_key_id: String,
    pub account_id: String,
    /// Who the credentials act as (an assumed-role session, or the IAM user that called
    /// `GetSessionToken`), with `access_key_id` set to this key.
    pub principal: Principal,
    /// For a role session: the role's lower-cased name.
    #[serde(default)]
    pub role: Option<String>,
    pub issued: String,
    pub expires: String,
    pub secret_wrapped: String,
    pub token_wrapped: String,
    /// The inline session policy passed to `AssumeRole`.
    #[serde(default)]
    pub session_policy: Option<String>,
    /// Managed session policies (`PolicyArns`).
    #[serde(default)]
    pub policy_arns: Vec<String>,
    /// Session tags (they override the role's tags of the same key).
    #[serde(default)]
    pub tags: Vec<TagRec>,
    /// When an MFA code was checked to issue the credentials (RFC 3339); `None`: no MFA.
    #[serde(default)]
    pub mfa_authenticated: Option<String>,
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A stored RFC 3339 time as a model timestamp (the epoch if it does not parse).
pub(crate) fn ts(s: &str) -> Timestamp {
    parse_time(s)
        .map(Timestamp::from_datetime)
        .unwrap_or_default()
}

/// The store key of a named entity: IAM names are unique per account regardless of case.
pub(crate) fn name_key(account: &str, name: &str) -> String {
    format!("{account}/{}", name.to_ascii_lowercase())
}

pub(crate) fn user_keys_prefix(account: &str, user: &str) -> String {
    format!("{account}/{}/", user.to_ascii_lowercase())
}

pub(crate) fn key_aad(akid: &str) -> Vec<u8> {
    format!("access-key/{akid}").into_bytes()
}

pub(crate) fn session_secret_aad(akid: &str) -> Vec<u8> {
    format!("sts-secret/{akid}").into_bytes()
}

pub(crate) fn session_token_aad(akid: &str) -> Vec<u8> {
    format!("sts-token/{akid}").into_bytes()
}

/// Every record of `coll` whose key starts with `prefix`, in key order.
pub(crate) fn scan_all<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    coll: &str,
    prefix: &str,
) -> Result<Vec<(String, T)>, StoreError> {
    const PAGE: usize = 500;
    let mut out: Vec<(String, T)> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page: Vec<(String, T)> = tx.scan_json(coll, prefix, after.as_deref(), PAGE)?;
        let n = page.len();
        after = page.last().map(|(k, _)| k.clone());
        out.extend(page);
        if n < PAGE {
            return Ok(out);
        }
    }
}

/// How many records of `coll` start with `prefix`, counting up to `limit`.
pub(crate) fn count(
    tx: &mut dyn Tx,
    coll: &str,
    prefix: &str,
    limit: usize,
) -> Result<usize, StoreError> {
    Ok(tx.scan(coll, prefix, None, limit)?.len())
}

/// The three kinds of IAM identities that hold policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
    Role,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
        }
    }

    pub fn not_found(self, name: &str) -> AwsError {
        m::no_such_entity_exception(format!(
            "The {} with name {name} cannot be found.",
            self.word()
        ))
    }

    pub fn inline_not_found(self, name: &str) -> AwsError {
        m::no_such_entity_exception(format!(
            "The {} policy with name {name} cannot be found.",
            self.word()
        ))
    }

    /// AWS's limit on the inline policies of one entity together (characters without white
    /// space).
    pub fn inline_limit(self) -> usize {
        match self {
            Kind::User => 2_048,
            Kind::Group => 5_120,
            Kind::Role => 10_240,
        }
    }

    pub fn attached_quota(self) -> &'static str {
        match self {
            Kind::User => "PoliciesPerUser",
            Kind::Group => "PoliciesPerGroup",
            Kind::Role => "PoliciesPerRole",
        }
    }
}

/// A user, group or role: something policies attach to.
pub(crate) trait Entity: Serialize + DeserializeOwned + Clone + Send + 'static {
    const COLL: &'static str;
    const KIND: Kind;
    fn name(&self) -> &str;
    fn attached(&self) -> &Vec<String>;
    fn attached_mut(&mut self) -> &mut Vec<String>;
    fn inline(&self) -> &Vec<InlinePolicy>;
    fn inline_mut(&mut self) -> &mut Vec<InlinePolicy>;
}

/// `Entity` for a record type with `attached_policies` and `inline_policies` fields.
macro_rules! entity {
    ($t:ty, $coll:expr, $kind:expr, $name:ident) => {
        impl Entity for $t {
            const COLL: &'static str = $coll;
            const KIND: Kind = $kind;
            fn name(&self) -> &str {
                &self.$name
            }
            fn attached(&self) -> &Vec<String> {
                &self.attached_policies
            }
            fn attached_mut(&mut self) -> &mut Vec<String> {
                &mut self.attached_policies
            }
            fn inline(&self) -> &Vec<InlinePolicy> {
                &self.inline_policies
            }
            fn inline_mut(&mut self) -> &mut Vec<InlinePolicy> {
                &mut self.inline_policies
            }
        }
    };
}

entity!(User, USERS, Kind::User, user_name);
entity!(Group, GROUPS, Kind::Group, group_name);
entity!(Role, ROLES, Kind::Role, role_name);

/// Loads an entity, or `NoSuchEntity`.
pub(crate) fn load<E: Entity>(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
) -> Result<E, IdentityError> {
    tx.get_json::<E>(E::COLL, &name_key(account, name))?
        .ok_or_else(|| IdentityError::Aws(E::KIND.not_found(name)))
}

pub(crate) fn save<E: Entity>(tx: &mut dyn Tx, account: &str, e: &E) -> Result<(), StoreError> {
    tx.put_json(E::COLL, &name_key(account, e.name()), e)
}

/// Tags in the model's shape.
pub(crate) fn tags_out(tags: &[TagRec]) -> Vec<m::Tag> {
    tags.iter()
        .map(|t| m::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// Merges `new` into `tags` as `Tag*` does: a key already present (in any case) takes the
/// new value; refuses duplicate keys in one request and more than 50 tags in all.
pub(crate) fn merge_tags(tags: &mut Vec<TagRec>, new: &[m::Tag]) -> Result<(), AwsError> {
    let mut seen: Vec<String> = Vec::with_capacity(new.len());
    for t in new {
        let k = t.key.to_lowercase();
        if seen.contains(&k) {
            return Err(m::invalid_input_exception(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
        seen.push(k);
    }
    let mut merged = tags.clone();
    for t in new {
        match merged
            .iter_mut()
            .find(|x| x.key.to_lowercase() == t.key.to_lowercase())
        {
            Some(x) => {
                x.key = t.key.clone();
                x.value = t.value.clone();
            }
            None => merged.push(TagRec {
                key: t.key.clone(),
                value: t.value.clone(),
            }),
        }
    }
    if merged.len() > MAX_TAGS {
        return Err(m::limit_exceeded_exception(
            "The number of tags has reached the maximum limit.",
        ));
    }
    *tags = merged;
    Ok(())
}

pub(crate) fn remove_tags(tags: &mut Vec<TagRec>, keys: &[String]) {
    let lower: Vec<String> = keys.iter().map(|k| k.to_lowercase()).collect();
    tags.retain(|t| !lower.contains(&t.key.to_lowercase()));
}

pub(crate) fn tags_in(tags: Option<&[m::Tag]>) -> Result<Vec<TagRec>, AwsError> {
    let mut out = Vec::new();
    if let Some(t) = tags {
        merge_tags(&mut out, t)?;
    }
    Ok(out)
}

/// `(account, name)` of a managed policy ARN `arn:aws:iam::<account>:policy<path><name>`.
pub(crate) fn parse_policy_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, res) = rest.split_once(':')?;
    let path_name = res.strip_prefix("policy")?;
    if !path_name.starts_with('/') {
        return None;
    }
    let name = path_name.rsplit('/').next().filter(|n| !n.is_empty())?;
    Some((account, name))
}

/// The ARN of an IAM entity: `arn:aws:iam::<account>:<kind><path><name>`.
pub(crate) fn entity_arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}
