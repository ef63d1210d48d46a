//! Virtual MFA devices (RFC 6238 TOTP: HMAC-SHA1, 6 digits, 30-second steps), as IAM has them:
//! `CreateVirtualMFADevice` hands out the seed once (base32 and as a QR code PNG) and keeps it
//! only wrapped under the root of trust; `EnableMFADevice` assigns the device to a user after
//! two consecutive codes; STS (`GetSessionToken`, `AssumeRole` with `SerialNumber` and
//! `TokenCode`) checks a code, each code being accepted once, and marks the session
//! MFA-authenticated (`aws:MultiFactorAuthPresent`, `aws:MultiFactorAuthAge`).
use crate::records::{
    entity_arn, load, merge_tags, name_key, now, remove_tags, scan_all, tags_in, tags_out, ts,
    TagRec, User, USERS,
};
use crate::{Identity, IdentityError};
use chrono::{DateTime, Utc};
use rampart_core::{AwsError, PrincipalKind, RequestContext};
use rampart_model::iam as m;
use rampart_store::{StoreExt, Tx};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

type R<T> = Result<T, AwsError>;
type TxR<T> = Result<T, IdentityError>;

/// `<account>/<lower-cased device name>` -> [`MfaDevice`].
pub(crate) const MFA: &str = "iam_mfa";
/// MFA devices a user may have (AWS's quota).
const MAX_PER_USER: usize = 8;
const STEP_SECS: i64 = 30;
const SEED_LEN: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MfaDevice {
    pub account_id: String,
    pub name: String,
    pub path: String,
    /// The device ARN, its serial number.
    pub serial: String,
    pub create_date: String,
    /// The TOTP seed, sealed under the root key (base64).
    pub seed_wrapped: String,
    /// The user it is enabled for (as the user is named).
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub enable_date: Option<String>,
    /// The last time step whose code was accepted: a code works once.
    #[serde(default)]
    pub last_step: i64,
    #[serde(default)]
    pub tags: Vec<TagRec>,
}

fn seed_aad(serial: &str) -> Vec<u8> {
    format!("rampart-iam-mfa-seed-v1\0{serial}").into_bytes()
}

fn fail<T>(e: AwsError) -> TxR<T> {
    Err(IdentityError::Aws(e))
}

fn no_device(serial: &str) -> AwsError {
    m::no_such_entity_exception(format!("MFA device with serial number {serial} not found."))
}

fn invalid_code() -> AwsError {
    m::invalid_authentication_code_exception("Authentication code for device is not valid.")
}

/// The device a serial number (its ARN) names in `account`, with its store key.
fn find(tx: &mut dyn Tx, account: &str, serial: &str) -> TxR<(String, MfaDevice)> {
    let name = serial
        .strip_prefix(&format!("arn:aws:iam::{account}:mfa/"))
        .and_then(|rest| rest.rsplit('/').next())
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        return fail(no_device(serial));
    };
    let key = name_key(account, name);
    match tx.get_json::<MfaDevice>(MFA, &key)? {
        Some(d) if d.serial == serial => Ok((key, d)),
        _ => fail(no_device(serial)),
    }
}

/// RFC 4226 HOTP value of `counter`, 6 digits.
fn hotp(seed: &[u8], counter: i64) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = aws_lc_rs::hmac::sign(&key, &counter.to_be_bytes());
    let h = tag.as_ref();
    let off = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

fn step_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(STEP_SECS)
}

/// Constant-time comparison of two codes.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The time step of the second of two consecutive codes within `window` steps of `now`,
/// later than `after`.
fn consecutive(seed: &[u8], c1: &str, c2: &str, now: i64, window: i64, after: i64) -> Option<i64> {
    (now - window..=now + window)
        .filter(|s| s + 1 > after)
        .find(|&s| same(&hotp(seed, s), c1) && same(&hotp(seed, s + 1), c2))
        .map(|s| s + 1)
}

/// RFC 4648 base32 (no padding: 20 bytes are exactly 32 characters).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A PNG of the QR code of `text`: black modules 4 pixels wide, a 4-module quiet zone.
fn qr_png(text: &str) -> R<Vec<u8>> {
    const SCALE: usize = 4;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|_| AwsError::internal())?;
    let n = code.width();
    let colors = code.to_colors();
    let side = (n + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % n + QUIET, i / n + QUIET);
            for dy in 0..SCALE {
                let row = (y * SCALE + dy) * side;
                pixels[row + x * SCALE..row + (x + 1) * SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let side32 = u32::try_from(side).map_err(|_| AwsError::internal())?;
    let mut enc = png::Encoder::new(&mut out, side32, side32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|_| AwsError::internal())?;
    w.write_image_data(&pixels)
        .map_err(|_| AwsError::internal())?;
    w.finish().map_err(|_| AwsError::internal())?;
    Ok(out)
}

fn user_of(tx: &mut dyn Tx, account: &str, d: &MfaDevice) -> TxR<Option<m::User>> {
    let Some(u) = &d.user else { return Ok(None) };
    Ok(tx
        .get_json::<User>(USERS, &name_key(account, u))?
        .map(|u| crate::iam::user_summary(&u)))
}

fn device_out(tx: &mut dyn Tx, account: &str, d: &MfaDevice) -> TxR<m::VirtualMFADevice> {
    Ok(m::VirtualMFADevice {
        serial_number: d.serial.clone(),
        user: user_of(tx, account, d)?,
        enable_date: d.enable_date.as_deref().map(ts),
        tags: (!d.tags.is_empty()).then(|| tags_out(&d.tags)),
        ..Default::default()
    })
}

impl Identity {
    fn seed_of(&self, d: &MfaDevice) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
        use base64::Engine as _;
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(&d.seed_wrapped)
            .map_err(|_| IdentityError::Aws(AwsError::internal()))?;
        Ok(self.root.open(&seed_aad(&d.serial), &wrapped)?)
    }

    /// Checks `code` from the device `serial` of the calling IAM user (STS's MFA check) and
    /// spends it. Refusals are STS's `AccessDenied`.
    pub(crate) fn authenticate_mfa(
        &self,
        ctx: &RequestContext,
        serial: &str,
        code: &str,
    ) -> Result<(), AwsError> {
        let denied = |msg: &str| AwsError::new("AccessDenied", 403, msg);
        let unknown = "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.";
        let p = &ctx.principal;
        let Some(user) = p
            .user_name
            .clone()
            .filter(|_| p.kind == PrincipalKind::IamUser)
        else {
            return Err(denied(unknown));
        };
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(denied(
                "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
            ));
        }
        let (account, serial, code) = (p.account_id.clone(), serial.to_string(), code.to_string());
        let id = self.clone();
        let at = step_of(ctx.time);
        let r = self.store.write(move |tx: &mut dyn Tx| -> TxR<bool> {
            let Ok((key, mut d)) = find(tx, &account, &serial) else {
                return Ok(false);
            };
            if !d
                .user
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(&user))
            {
                return Ok(false);
            }
            let seed = id.seed_of(&d)?;
            // The current step and one on either side (clock drift), each code once.
            let step = (at - 1..=at + 1)
                .filter(|s| *s > d.last_step)
                .find(|s| same(&hotp(&seed, *s), &code));
            match step {
                Some(s) => {
                    d.last_step = s;
                    tx.put_json(MFA, &key, &d)?;
                    Ok(true)
                }
                None => fail(denied(
                    "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                )),
            }
        });
        match r.map_err(AwsError::from)? {
            true => Ok(()),
            false => Err(denied(unknown)),
        }
    }
}

pub(crate) fn create(
    id: &Identity,
    ctx: &RequestContext,
    input: m::CreateVirtualMFADeviceRequest,
) -> R<m::CreateVirtualMFADeviceResponse> {
    let account = ctx.account_id.clone();
    let path = input.path.unwrap_or_else(|| "/".to_string());
    if !(path.starts_with('/') && path.ends_with('/')) {
        return Err(m::invalid_input_exception(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
        ));
    }
    let tags = tags_in(input.tags.as_deref())?;
    let name = input.virtual_mfa_device_name;
    let serial = entity_arn(&account, "mfa", &path, &name);
    let mut seed = Zeroizing::new(vec![0u8; SEED_LEN]);
    rampart_core::ids::random_bytes(&mut seed);
    let b32 = Zeroizing::new(base32(&seed));
    // AWS's otpauth URI: the device name, then the account.
    let uri = Zeroizing::new(format!(
        "otpauth://totp/{name}@{account}?secret={}",
        b32.as_str()
    ));
    let png = qr_png(&uri)?;
    let wrapped = id.wrap(&seed_aad(&serial), &seed).map_err(AwsError::from)?;
    let dev = MfaDevice {
        account_id: account.clone(),
        name: name.clone(),
        path,
        serial: serial.clone(),
        create_date: now(),
        seed_wrapped: wrapped,
        user: None,
        enable_date: None,
        last_step: 0,
        tags,
    };
    let saved = dev.clone();
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            let key = name_key(&account, &name);
            if tx.get(MFA, &key)?.is_some() {
                return fail(m::entity_already_exists_exception(
                    "MFADevice entity at the same path and name already exists.",
                ));
            }
            tx.put_json(MFA, &key, &saved)?;
            Ok(())
        })
        .map_err(AwsError::from)?;
    id.invalidate();
    Ok(m::CreateVirtualMFADeviceResponse {
        virtual_mfa_device: m::VirtualMFADevice {
            serial_number: serial,
            base32_string_seed: Some(rampart_model::Blob::new(b32.as_bytes().to_vec())),
            qr_code_png: Some(rampart_model::Blob::new(png)),
            tags: (!dev.tags.is_empty()).then(|| tags_out(&dev.tags)),
            ..Default::default()
        },
    })
}

/// `EnableMFADevice` (`resync: false`) and `ResyncMFADevice` (`true`): two consecutive codes.
pub(crate) fn enable(
    id: &Identity,
    ctx: &RequestContext,
    user: String,
    serial: String,
    c1: String,
    c2: String,
    resync: bool,
) -> R<()> {
    let account = ctx.account_id.clone();
    let at = step_of(ctx.time);
    let id2 = id.clone();
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            let u = load::<User>(tx, &account, &user)?;
            let (key, mut d) = find(tx, &account, &serial)?;
            match (&d.user, resync) {
                (Some(_), false) => {
                    return fail(m::entity_already_exists_exception(
                        "MFA Device is already in use.",
                    ))
                }
                (Some(owner), true) if owner.eq_ignore_ascii_case(&u.user_name) => {}
                (_, true) => return fail(no_device(&serial)),
                (None, false) => {}
            }
            if !resync {
                let mine = scan_all::<MfaDevice>(tx, MFA, &format!("{account}/"))?
                    .into_iter()
                    .filter(|(_, x)| {
                        x.user
                            .as_deref()
                            .is_some_and(|o| o.eq_ignore_ascii_case(&u.user_name))
                    })
                    .count();
                if mine >= MAX_PER_USER {
                    return fail(m::limit_exceeded_exception(format!(
                        "Cannot exceed quota for MFADevicesPerUser: {MAX_PER_USER}"
                    )));
                }
            }
            let seed = id2.seed_of(&d)?;
            // Enabling looks a few minutes around now; resynchronising, ten minutes.
            let window = if resync { 20 } else { 10 };
            let Some(step) = consecutive(&seed, &c1, &c2, at, window, d.last_step) else {
                return fail(invalid_code());
            };
            d.last_step = step;
            if !resync {
                d.user = Some(u.user_name.clone());
                d.enable_date = Some(now());
            }
            tx.put_json(MFA, &key, &d)?;
            Ok(())
        })
        .map_err(AwsError::from)?;
    id.invalidate();
    Ok(())
}

pub(crate) fn deactivate(
    id: &Identity,
    ctx: &RequestContext,
    input: m::DeactivateMFADeviceRequest,
) -> R<()> {
    let account = ctx.account_id.clone();
    let user = input.user_name;
    let serial = input.serial_number;
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            if let Some(u) = &user {
                load::<User>(tx, &account, u)?;
            }
            let (key, mut d) = find(tx, &account, &serial)?;
            let owner_ok = match (&d.user, &user) {
                (Some(o), Some(u)) => o.eq_ignore_ascii_case(u),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !owner_ok {
                return fail(no_device(&serial));
            }
            d.user = None;
            d.enable_date = None;
            tx.put_json(MFA, &key, &d)?;
            Ok(())
        })
        .map_err(AwsError::from)?;
    id.invalidate();
    Ok(())
}

pub(crate) fn delete(id: &Identity, ctx: &RequestContext, serial: String) -> R<()> {
    let account = ctx.account_id.clone();
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            let (key, d) = find(tx, &account, &serial)?;
            if d.user.is_some() {
                return fail(m::delete_conflict_exception(
                    "MFA device is still in use: deactivate it first.",
                ));
            }
            tx.delete(MFA, &key)?;
            Ok(())
        })
        .map_err(AwsError::from)?;
    id.invalidate();
    Ok(())
}

/// Every device of the account, by store key order (`<account>/<lower name>`).
fn all(tx: &mut dyn Tx, account: &str) -> TxR<Vec<MfaDevice>> {
    Ok(scan_all::<MfaDevice>(tx, MFA, &format!("{account}/"))?
        .into_iter()
        .map(|(_, d)| d)
        .collect())
}

pub(crate) fn list_virtual(
    id: &Identity,
    ctx: &RequestContext,
    status: Option<m::AssignmentStatusType>,
) -> R<Vec<m::VirtualMFADevice>> {
    let account = ctx.account_id.clone();
    id.store
        .read(|tx: &mut dyn Tx| -> TxR<Vec<m::VirtualMFADevice>> {
            let mut out = Vec::new();
            for d in all(tx, &account)? {
                let keep = match status {
                    Some(m::AssignmentStatusType::Assigned) => d.user.is_some(),
                    Some(m::AssignmentStatusType::Unassigned) => d.user.is_none(),
                    _ => true,
                };
                if keep {
                    out.push(device_out(tx, &account, &d)?);
                }
            }
            Ok(out)
        })
        .map_err(AwsError::from)
}

/// The devices enabled for a user (the caller when none is named).
pub(crate) fn list_for_user(
    id: &Identity,
    ctx: &RequestContext,
    user: Option<String>,
) -> R<Vec<m::MFADevice>> {
    let user = crate::iam::key_user(ctx, user)?;
    let account = ctx.account_id.clone();
    id.store
        .read(|tx: &mut dyn Tx| -> TxR<Vec<m::MFADevice>> {
            let u = load::<User>(tx, &account, &user)?;
            Ok(all(tx, &account)?
                .into_iter()
                .filter(|d| {
                    d.user
                        .as_deref()
                        .is_some_and(|o| o.eq_ignore_ascii_case(&u.user_name))
                })
                .map(|d| m::MFADevice {
                    user_name: u.user_name.clone(),
                    serial_number: d.serial.clone(),
                    enable_date: ts(d.enable_date.as_deref().unwrap_or(&d.create_date)),
                })
                .collect())
        })
        .map_err(AwsError::from)
}

/// The account's virtual MFA devices, and how many are assigned to a user.
pub(crate) fn counts(tx: &mut dyn Tx, account: &str) -> TxR<(usize, usize)> {
    let all = all(tx, account)?;
    let in_use = all.iter().filter(|d| d.user.is_some()).count();
    Ok((all.len(), in_use))
}

/// Whether `user` has MFA devices enabled (they must go before the user).
pub(crate) fn user_has_devices(tx: &mut dyn Tx, account: &str, user: &str) -> TxR<bool> {
    Ok(all(tx, account)?.iter().any(|d| {
        d.user
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(user))
    }))
}

pub(crate) fn get(
    id: &Identity,
    ctx: &RequestContext,
    input: m::GetMFADeviceRequest,
) -> R<m::GetMFADeviceResponse> {
    let account = ctx.account_id.clone();
    id.store
        .read(|tx: &mut dyn Tx| -> TxR<m::GetMFADeviceResponse> {
            let (_, d) = find(tx, &account, &input.serial_number)?;
            if let Some(u) = &input.user_name {
                if !d.user.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(u)) {
                    return fail(no_device(&input.serial_number));
                }
            }
            Ok(m::GetMFADeviceResponse {
                user_name: d.user.clone(),
                serial_number: d.serial.clone(),
                enable_date: d.enable_date.as_deref().map(ts),
                certifications: None,
            })
        })
        .map_err(AwsError::from)
}

/// `TagMFADevice` / `UntagMFADevice`.
pub(crate) fn retag(
    id: &Identity,
    ctx: &RequestContext,
    serial: String,
    add: Vec<m::Tag>,
    remove: Vec<String>,
) -> R<()> {
    let account = ctx.account_id.clone();
    id.store
        .write(move |tx: &mut dyn Tx| -> TxR<()> {
            let (key, mut d) = find(tx, &account, &serial)?;
            merge_tags(&mut d.tags, &add)?;
            remove_tags(&mut d.tags, &remove);
            tx.put_json(MFA, &key, &d)?;
            Ok(())
        })
        .map_err(AwsError::from)
}

pub(crate) fn tags(id: &Identity, ctx: &RequestContext, serial: &str) -> R<Vec<TagRec>> {
    let account = ctx.account_id.clone();
    id.store
        .read(|tx: &mut dyn Tx| -> TxR<Vec<TagRec>> { Ok(find(tx, &account, serial)?.1.tags) })
        .map_err(AwsError::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B (SHA-1 seed "12345678901234567890"), last 6 digits.
        let seed = b"12345678901234567890";
        for (t, want) in [
            (59i64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(hotp(seed, t / 30), want, "t={t}");
        }
    }

    #[test]
    fn base32_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn consecutive_codes() {
        let seed = [7u8; 20];
        let now = 1_000_000;
        let (c1, c2) = (hotp(&seed, now - 2), hotp(&seed, now - 1));
        assert_eq!(consecutive(&seed, &c1, &c2, now, 10, 0), Some(now - 1));
        // Spent steps do not count again.
        assert_eq!(consecutive(&seed, &c1, &c2, now, 10, now - 1), None);
        assert_eq!(consecutive(&seed, &c2, &c1, now, 10, 0), None);
        assert!(qr_png("otpauth://totp/x@1?secret=AAAA")
            .unwrap()
            .starts_with(b"\x89PNG"));
    }
}
