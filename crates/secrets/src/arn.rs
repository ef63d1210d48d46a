//! Secret ARNs (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX`) and how a
//! `SecretId` names a secret: by name, by full ARN, or by partial ARN (the ARN without the
//! six-character suffix), as AWS resolves them.

const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Six random letters and digits, the suffix AWS appends to a secret's name in its ARN.
pub fn suffix() -> String {
    let mut out = String::with_capacity(6);
    while out.len() < 6 {
        let mut b = [0u8; 1];
        rampart_core::ids::random_bytes(&mut b);
        // 248 = 4 * 62: no modulo bias.
        if b[0] < 248 {
            out.push(ALNUM[(b[0] % 62) as usize] as char);
        }
    }
    out
}

pub fn secret_arn(region: &str, account: &str, name: &str, suffix: &str) -> String {
    format!("arn:aws:secretsmanager:{region}:{account}:secret:{name}-{suffix}")
}

/// A name AWS accepts: ASCII letters, digits and `/_+=.@-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
}

/// The names a `SecretId` may stand for, most specific first, each with the ARN the secret
/// must have (`None`: any). An ARN of another account or region names nothing here.
pub fn candidates(region: &str, account: &str, raw: &str) -> Vec<(String, Option<String>)> {
    let Some(rest) = raw.strip_prefix("arn:") else {
        return vec![(raw.to_string(), None)];
    };
    let parts: Vec<&str> = rest.splitn(6, ':').collect();
    let [_partition, service, r, a, kind, resource] = parts.as_slice() else {
        return Vec::new();
    };
    if *service != "secretsmanager" || *kind != "secret" || *r != region || *a != account {
        return Vec::new();
    }
    let mut out = Vec::new();
    // A full ARN: NAME-XXXXXX.
    if let Some((name, sfx)) = resource.rsplit_once('-') {
        if sfx.len() == 6 && sfx.bytes().all(|b| b.is_ascii_alphanumeric()) && !name.is_empty() {
            out.push((name.to_string(), Some(raw.to_string())));
        }
    }
    // A partial ARN: the name itself.
    out.push((resource.to_string(), None));
    out
}

#[cfg(test)]
#[path = "tests/arn.rs"]
mod tests;
