//! Console passwords of IAM users (login profiles) and the account password policy, as IAM
//! keeps them: passwords are checked against the policy (AWS's default one when none is set),
//! stored only as Argon2id hashes with a random salt, and compared in constant time;
//! `ChangePassword` lets a user change their own (old password required, reuse of the last
//! `PasswordReusePrevention` passwords refused).
use crate::records::{load, name_key, now, ts, User};
use crate::{Identity, IdentityError};
use base64::Engine as _;
use rampart_core::{AwsError, PrincipalKind, RequestContext};
use rampart_model::iam as m;
use rampart_store::{StoreExt, Tx};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

type R<T> = Result<T, AwsError>;
type TxR<T> = Result<T, IdentityError>;

/// `<account>/<lower user name>` -> [`LoginProfile`].
const LOGINS: &str = "iam_login";
/// `<account>` -> [`PasswordPolicy`].
const POLICIES: &str = "iam_password_policy";
/// Argon2id parameters (OWASP's minimum: 19 MiB, 2 passes).
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;

#[derive(Clone, Serialize, Deserialize)]
struct LoginProfile {
    user_name: String,
    create_date: String,
    reset_required: bool,
    /// `salt.hash` (base64), newest last: the current password and the ones before it (as
    /// many as the reuse prevention needs).
    hashes: Vec<String>,
}

impl std::fmt::Debug for LoginProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginProfile")
            .field("user_name", &self.user_name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PasswordPolicy {
    minimum_length: i32,
    symbols: bool,
    numbers: bool,
    uppercase: bool,
    lowercase: bool,
    allow_change: bool,
    max_age: Option<i32>,
    reuse_prevention: Option<i32>,
    hard_expiry: Option<bool>,
}

/// The symbols AWS counts as such.
const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

fn fail<T>(e: AwsError) -> TxR<T> {
    Err(IdentityError::Aws(e))
}

fn no_profile(user: &str) -> AwsError {
    m::no_such_entity_exception(format!("Login Profile for User {user} cannot be found."))
}

fn hash(password: &str) -> R<String> {
    let mut salt = [0u8; 16];
    rampart_core::ids::random_bytes(&mut salt);
    let out = derive(password, &salt)?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    Ok(format!(
        "{}.{}",
        b64.encode(salt),
        b64.encode(out.as_slice())
    ))
}

fn derive(password: &str, salt: &[u8]) -> R<Zeroizing<[u8; 32]>> {
    let params =
        argon2::Params::new(M_COST, T_COST, 1, Some(32)).map_err(|_| AwsError::internal())?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    a.hash_password_into(password.as_bytes(), salt, out.as_mut())
        .map_err(|_| AwsError::internal())?;
    Ok(out)
}

/// Whether `password` is the one `stored` (`salt.hash`) was made from, in constant time.
fn matches(password: &str, stored: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let Some((salt, want)) = stored.split_once('.') else {
        return false;
    };
    let (Ok(salt), Ok(want)) = (b64.decode(salt), b64.decode(want)) else {
        return false;
    };
    let Ok(got) = derive(password, &salt) else {
        return false;
    };
    got.len() == want.len() && got.iter().zip(&want).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Checks `password` against the account's policy, or AWS's default one: at least 8
/// characters with three of uppercase, lowercase, digits and symbols.
fn check(policy: Option<&PasswordPolicy>, user: &str, password: &str) -> R<()> {
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password
        .chars()
        .any(|c| SYMBOLS.contains(c) || (!c.is_ascii_alphanumeric() && !c.is_whitespace()));
    let len = password.chars().count();
    let problem = match policy {
        None => {
            let kinds = [upper, lower, digit, symbol].iter().filter(|x| **x).count();
            if len < 8 {
                Some("Password should have at least 8 characters")
            } else if kinds < 3 {
                Some("Password should have at least three of: uppercase letters, lowercase letters, numbers and symbols")
            } else if password.eq_ignore_ascii_case(user) {
                Some("Password should not be the user name")
            } else {
                None
            }
        }
        Some(p) => {
            if len < usize::try_from(p.minimum_length).unwrap_or(6) {
                Some("Password should have a minimum length of the account policy's MinimumPasswordLength")
            } else if p.uppercase && !upper {
                Some("Password should have at least one uppercase letter")
            } else if p.lowercase && !lower {
                Some("Password should have at least one lowercase letter")
            } else if p.numbers && !digit {
                Some("Password should have at least one number")
            } else if p.symbols && !symbol {
                Some("Password should have at least one symbol")
            } else {
                None
            }
        }
    };
    match problem {
        Some(why) => Err(m::password_policy_violation_exception(format!(
            "Password does not conform to the account password policy: {why}."
        ))),
        None => Ok(()),
    }
}

fn policy_of(tx: &mut dyn Tx, account: &str) -> TxR<Option<PasswordPolicy>> {
    Ok(tx.get_json::<PasswordPolicy>(POLICIES, account)?)
}

/// With `AllowUsersToChangePassword`, IAM lets every user change their own password and read
/// the policy, without a policy of theirs: this document stands for that grant.
pub(crate) fn change_grant(tx: &mut dyn Tx, account: &str) -> TxR<Option<(String, String)>> {
    if !policy_of(tx, account)?.is_some_and(|p| p.allow_change) {
        return Ok(None);
    }
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["iam:ChangePassword", "iam:GetAccountPasswordPolicy"],
            "Resource": "*"
        }]
    });
    Ok(Some(("AccountPasswordPolicy".to_string(), doc.to_string())))
}

/// Whether a user has a console password (it must go before the user).
pub(crate) fn has_profile(tx: &mut dyn Tx, account: &str, user: &str) -> TxR<bool> {
    Ok(tx.get(LOGINS, &name_key(account, user))?.is_some())
}

fn out(p: &LoginProfile) -> m::LoginProfile {
    m::LoginProfile {
        user_name: p.user_name.clone(),
        create_date: ts(&p.create_date),
        password_reset_required: Some(p.reset_required),
    }
}

/// Keeps the current hash and as many before it as the reuse prevention needs.
fn push_hash(p: &mut LoginProfile, h: String, policy: Option<&PasswordPolicy>) {
    p.hashes.push(h);
    let keep = policy
        .and_then(|x| x.reuse_prevention)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(1)
        .max(1);
    let excess = p.hashes.len().saturating_sub(keep);
    p.hashes.drain(..excess);
}

pub(crate) fn create(
    id: &Identity,
    ctx: &RequestContext,
    input: m::CreateLoginProfileRequest,
) -> R<m::CreateLoginProfileResponse> {
    let user = crate::iam::key_user(ctx, input.user_name)?;
    let Some(password) = input.password.map(Zeroizing::new) else {
        return Err(AwsError::new(
            "ValidationError",
            400,
            "Password is required to create a login profile for an IAM user.",
        ));
    };
    let account = ctx.account_id.clone();
    let policy = id
        .store
        .read(|tx: &mut dyn Tx| -> TxR<Option<PasswordPolicy>> {
            load::<User>(tx, &account, &user)?;
            policy_of(tx, &account)
        })
        .map_err(AwsError::from)?;
    check(policy.as_ref(), &user, &password)?;
    let h = hash(&password)?;
    let reset = input.password_reset_required.unwrap_or(false);
    let profile = id
        .store
        .write(move |tx: &mut dyn Tx| -> TxR<LoginProfile> {
            let u = load::<User>(tx, &account, &user)?;
            let key = name_key(&account, &u.user_name);
            if tx.get(LOGINS, &key)?.is_some() {
                return fail(m::entity_already_exists_exception(format!(
                    "Login Profile for user {} already exists.",
                    u.user_name
                )));
            }
            let p = LoginProfile {
                user_name: u.user_name.clone(),
                create_date: now(),
                reset_required: reset,
                hashes: vec![h],
            };
            tx.put_json(LOGINS, &key, &p)?;
            Ok(p)
        })
        .map_err(AwsError::from)?;
    Ok(m::CreateLoginProfileResponse {
        login_profile: out(&profile),
    })
}

pub(crate) fn get(id: &Identity, ctx: &RequestContext, user: Option<String>) -> R<m::LoginProfile> {
    let user = crate::iam::key_user(ctx, user)?;
    let account = ctx.account_id.clone();
    id.store
        .read(|tx: &mut dyn Tx| -> TxR<m::LoginProfile> {
            let u = load::<User>(tx, &account, &user)?;
            match tx.get_json::<LoginProfile>(LOGINS, &name_key(&account, &u.user_name))? {
                Some(p) => Ok(out(&p)),
                None => fail(no_profile(&u.user_name)),
            }
        })
        .map_err(AwsError::from)
}

/// `UpdateLoginProfile` (an administrator sets a new password and/or the reset flag).
pub(crate) fn update(
    id: &Identity,
    ctx: &RequestContext,
    input: m::UpdateLoginProfileRequest,
) -> R<()> {
    set_password(
        id,
        ctx,
        input.user_name,
        None,
        input.password.map(Zeroizing::new),
        input.password_reset_required,
    )
}

/// `ChangePassword`: the calling IAM user, with the old password.
pub(crate) fn change(
    id: &Identity,
    ctx: &RequestContext,
    input: m::ChangePasswordRequest,
) -> R<()> {
    let p = &ctx.principal;
    let (PrincipalKind::IamUser, Some(user)) = (&p.kind, &p.user_name) else {
        return Err(m::invalid_user_type_exception(
            "Only IAM users can change their own password.",
        ));
    };
    let account = ctx.account_id.clone();
    let allowed = id
        .store
        .read(|tx: &mut dyn Tx| -> TxR<bool> {
            Ok(policy_of(tx, &account)?.is_none_or(|p| p.allow_change))
        })
        .map_err(AwsError::from)?;
    if !allowed {
        return Err(AwsError::new(
            "AccessDenied",
            403,
            "The account password policy does not allow users to change their own password.",
        ));
    }
    set_password(
        id,
        ctx,
        user.clone(),
        Some(Zeroizing::new(input.old_password)),
        Some(Zeroizing::new(input.new_password)),
        Some(false),
    )
}

fn set_password(
    id: &Identity,
    ctx: &RequestContext,
    user: String,
    old: Option<Zeroizing<String>>,
    new: Option<Zeroizing<String>>,
    reset: Option<bool>,
) -> R<()> {
    let account = ctx.account_id.clone();
    let (profile, policy) = id
        .store
        .read(
            |tx: &mut dyn Tx| -> TxR<(LoginProfile, Option<PasswordPolicy>)> {
                let u = load::<User>(tx, &account, &user)?;
                let Some(p) =
                    tx.get_json::<LoginProfile>(LOGINS, &name_key(&account, &u.user_name))?
                else {
                    return fail(no_profile(&u.user_name));
                };
                Ok((p, policy_of(tx, &account)?))
            },
        )
        .map_err(AwsError::from)?;
    if let Some(old) = &old {
        if !profile.hashes.last().is_some_and(|h| matches(old, h)) {
            return Err(AwsError::new(
                "AccessDenied",
                403,
                "The old password is incorrect.",
            ));
        }
    }
    let new_hash = match &new {
        Some(pw) => {
            check(policy.as_ref(), &profile.user_name, pw)?;
            if policy.as_ref().and_then(|p| p.reuse_prevention).is_some()
                && profile.hashes.iter().any(|h| matches(pw, h))
            {
                return Err(m::password_policy_violation_exception(
                    "Password does not conform to the account password policy: it was used recently.",
                ));
            }
            Some(hash(pw)?)
        }
        None => None,
    };
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            let key = name_key(&account, &profile.user_name);
            let Some(mut p) = tx.get_json::<LoginProfile>(LOGINS, &key)? else {
                return fail(no_profile(&profile.user_name));
            };
            if let Some(h) = new_hash {
                push_hash(&mut p, h, policy.as_ref());
            }
            if let Some(r) = reset {
                p.reset_required = r;
            }
            tx.put_json(LOGINS, &key, &p)?;
            Ok(())
        })
        .map_err(AwsError::from)
}

pub(crate) fn delete(id: &Identity, ctx: &RequestContext, user: Option<String>) -> R<()> {
    let user = crate::iam::key_user(ctx, user)?;
    let account = ctx.account_id.clone();
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            let u = load::<User>(tx, &account, &user)?;
            if !tx.delete(LOGINS, &name_key(&account, &u.user_name))? {
                return fail(no_profile(&u.user_name));
            }
            Ok(())
        })
        .map_err(AwsError::from)
}

pub(crate) fn put_policy(
    id: &Identity,
    ctx: &RequestContext,
    input: m::UpdateAccountPasswordPolicyRequest,
) -> R<()> {
    // No partial updates: what is not given takes its default.
    let p = PasswordPolicy {
        minimum_length: input.minimum_password_length.unwrap_or(6),
        symbols: input.require_symbols.unwrap_or(false),
        numbers: input.require_numbers.unwrap_or(false),
        uppercase: input.require_uppercase_characters.unwrap_or(false),
        lowercase: input.require_lowercase_characters.unwrap_or(false),
        allow_change: input.allow_users_to_change_password.unwrap_or(false),
        max_age: input.max_password_age,
        reuse_prevention: input.password_reuse_prevention,
        hard_expiry: input.hard_expiry,
    };
    let account = ctx.account_id.clone();
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            tx.put_json(POLICIES, &account, &p)?;
            Ok(())
        })
        .map_err(AwsError::from)?;
    // AllowUsersToChangePassword changes every user's permissions.
    id.invalidate();
    Ok(())
}

pub(crate) fn get_policy(id: &Identity, ctx: &RequestContext) -> R<m::PasswordPolicy> {
    let account = ctx.account_id.clone();
    let p = id
        .store
        .read(|tx: &mut dyn Tx| -> TxR<Option<PasswordPolicy>> { policy_of(tx, &account) })
        .map_err(AwsError::from)?;
    let Some(p) = p else {
        return Err(m::no_such_entity_exception(format!(
            "The Password Policy with domain name {account} cannot be found."
        )));
    };
    Ok(m::PasswordPolicy {
        minimum_password_length: Some(p.minimum_length),
        require_symbols: Some(p.symbols),
        require_numbers: Some(p.numbers),
        require_uppercase_characters: Some(p.uppercase),
        require_lowercase_characters: Some(p.lowercase),
        allow_users_to_change_password: Some(p.allow_change),
        expire_passwords: Some(p.max_age.is_some_and(|a| a > 0)),
        max_password_age: p.max_age,
        password_reuse_prevention: p.reuse_prevention,
        hard_expiry: p.hard_expiry,
    })
}

pub(crate) fn delete_policy(id: &Identity, ctx: &RequestContext) -> R<()> {
    let account = ctx.account_id.clone();
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            if !tx.delete(POLICIES, &account)? {
                return fail(m::no_such_entity_exception(
                    "The account policy with name PasswordPolicy cannot be found.",
                ));
            }
            Ok(())
        })
        .map_err(AwsError::from)?;
    id.invalidate();
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("Correct-Horse-9").unwrap();
        let b = hash("Correct-Horse-9").unwrap();
        assert_ne!(a, b, "random salts");
        assert!(matches("Correct-Horse-9", &a) && matches("Correct-Horse-9", &b));
        assert!(!matches("correct-horse-9", &a));
        assert!(!matches("x", "garbage"));
    }

    #[test]
    fn default_and_custom_policies() {
        assert!(check(None, "bob", "Short1!").is_err());
        assert!(check(None, "bob", "alllowercase").is_err());
        assert!(check(None, "bob", "Lower-and-1").is_ok());
        let p = PasswordPolicy {
            minimum_length: 12,
            symbols: true,
            ..Default::default()
        };
        assert!(check(Some(&p), "bob", "longenough123").is_err());
        assert!(check(Some(&p), "bob", "longenough12!").is_ok());
    }
}
