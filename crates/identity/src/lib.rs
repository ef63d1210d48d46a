//! Identities: accounts, IAM users and their access keys, and the authentication of an access
//! key id to a principal for the SigV4 layer. Access-key secrets are stored only wrapped under
//! the root of trust; unwrapped copies live in a zeroizing in-memory cache.
#![forbid(unsafe_code)]

pub mod sts;

use base64::Engine;
use chrono::Utc;
use rampart_core::{ids, AwsError, Principal, PrincipalKind};
use rampart_crypto::RootKey;
use rampart_store::{Store, StoreError, StoreExt, Tx};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

const ACCOUNTS: &str = "account";
const USERS: &str = "iam_user";
const KEYS: &str = "access_key";
const META: &str = "meta";

/// The account `--dev` uses, and the fallback for unknown key ids in `--dev`.
pub const DEV_ACCOUNT: &str = "000000000000";

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("root of trust: {0}")]
    Crypto(#[from] rampart_crypto::CryptoError),
}

impl From<IdentityError> for AwsError {
    fn from(e: IdentityError) -> Self {
        tracing::error!(error = %e, "identity store failure");
        AwsError::internal()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub created: String,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

#[derive(Clone, Serialize, Deserialize)]
struct AccessKeyRecord {
    access_key_id: String,
    account_id: String,
    user_name: String,
    status: KeyStatus,
    create_date: String,
    /// The secret, wrapped under the root key (base64).
    secret_wrapped: String,
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
    pub active: bool,
}

#[derive(Clone)]
pub struct Identity {
    store: Arc<dyn Store>,
    root: Arc<RootKey>,
    cache: Arc<Mutex<HashMap<String, KeyLookup>>>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn user_key(account: &str, name: &str) -> String {
    format!("{account}/{name}")
}

fn key_aad(akid: &str) -> Vec<u8> {
    format!("access-key/{akid}").into_bytes()
}

pub const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

impl Identity {
    pub fn new(store: Arc<dyn Store>, root: Arc<RootKey>) -> Self {
        Identity {
            store,
            root,
            cache: Arc::new(Mutex::new(HashMap::new())),
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
    /// `--dev` does with `test`/`test`). Returns `None` when already bootstrapped.
    pub fn bootstrap(
        &self,
        account: Option<&str>,
        fixed_key: Option<(&str, &str)>,
    ) -> Result<Option<NewCredentials>, IdentityError> {
        if self.primary_account()?.is_some() {
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
        let wrapped = self.root.seal(&key_aad(&akid), secret.as_bytes())?;
        let user = User {
            account_id: account_id.clone(),
            user_name: user_name.clone(),
            user_id: ids::iam_id("AIDA"),
            path: "/".into(),
            arn: format!("arn:aws:iam::{account_id}:user/{user_name}"),
            create_date: now(),
            attached_policies: vec![ADMIN_POLICY.into()],
        };
        let rec = AccessKeyRecord {
            access_key_id: akid.clone(),
            account_id: account_id.clone(),
            user_name: user_name.clone(),
            status: KeyStatus::Active,
            create_date: now(),
            secret_wrapped: base64::engine::general_purpose::STANDARD.encode(wrapped),
        };
        let acct = Account {
            account_id: account_id.clone(),
            created: now(),
        };
        let aid = account_id.clone();
        self.store
            .write(move |tx: &mut dyn Tx| -> Result<(), StoreError> {
                tx.put_json(ACCOUNTS, &aid, &acct)?;
                tx.put_json(USERS, &user_key(&aid, &user.user_name), &user)?;
                tx.put_json(KEYS, &rec.access_key_id, &rec)?;
                tx.put_json(META, "primary-account", &aid)?;
                Ok(())
            })?;
        Ok(Some(NewCredentials {
            account_id,
            user_name,
            access_key_id: akid,
            secret_access_key: secret,
        }))
    }

    /// Looks up an access key id. `None` when Rampart does not know it.
    pub fn lookup_key(&self, akid: &str) -> Result<Option<KeyLookup>, IdentityError> {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(akid).cloned()) {
            return Ok(Some(hit));
        }
        let akid_owned = akid.to_string();
        let found = self.store.read(
            |tx| -> Result<Option<(AccessKeyRecord, Option<User>)>, StoreError> {
                let Some(rec) = tx.get_json::<AccessKeyRecord>(KEYS, &akid_owned)? else {
                    return Ok(None);
                };
                let user =
                    tx.get_json::<User>(USERS, &user_key(&rec.account_id, &rec.user_name))?;
                Ok(Some((rec, user)))
            },
        )?;
        let Some((rec, user)) = found else {
            return Ok(None);
        };
        let Some(user) = user else { return Ok(None) };
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(&rec.secret_wrapped)
            .map_err(|_| StoreError::Corrupt {
                coll: KEYS.into(),
                key: akid.into(),
                reason: "secret is not base64".into(),
            })?;
        let plain = self.root.open(&key_aad(akid), &wrapped)?;
        let secret = Zeroizing::new(String::from_utf8_lossy(&plain).into_owned());
        let lookup = KeyLookup {
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
        };
        if let Ok(mut c) = self.cache.lock() {
            if c.len() > 10_000 {
                c.clear();
            }
            c.insert(akid.to_string(), lookup.clone());
        }
        Ok(Some(lookup))
    }

    /// Forgets cached keys (after a reset or a key change).
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_store::SqliteStore;

    #[test]
    fn bootstrap_and_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
        let root =
            Arc::new(RootKey::from_bytes(&[3u8; 32], rampart_crypto::RootSource::KeyFile).unwrap());
        let id = Identity::new(store.clone(), root);
        let creds = id.bootstrap(None, None).unwrap().unwrap();
        assert!(id.bootstrap(None, None).unwrap().is_none());
        let k = id.lookup_key(&creds.access_key_id).unwrap().unwrap();
        assert_eq!(k.secret.as_str(), creds.secret_access_key.as_str());
        assert_eq!(
            k.principal.arn,
            format!("arn:aws:iam::{}:user/admin", creds.account_id)
        );
        assert!(id.lookup_key("AKIANOPE").unwrap().is_none());
        // The secret is not in the store in the clear.
        let raw = store
            .read(|tx| tx.scan("access_key", "", None, 10))
            .unwrap();
        let text = String::from_utf8_lossy(&raw[0].1).to_string();
        assert!(!text.contains(creds.secret_access_key.as_str()));
        assert_eq!(
            Identity::dev_principal("123456789012").account_id,
            "123456789012"
        );
        assert_eq!(Identity::dev_principal("AKIAXYZ").account_id, DEV_ACCOUNT);
    }
}
