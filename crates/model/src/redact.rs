//! Copies of values with sensitive members hidden, as CloudTrail writes them.
use crate::{Kind, ServiceModel, ShapeId};
use serde_json::Value;

/// What CloudTrail writes in place of a sensitive value.
pub const REDACTED: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Members the models do not mark sensitive that CloudTrail hides all the same: one-time MFA
/// codes (`EnableMFADevice`, `ResyncMFADevice`, STS's `TokenCode`).
const HIDDEN_MEMBERS: &[&str] = &["TokenCode", "AuthenticationCode1", "AuthenticationCode2"];

/// A copy of `v` (a canonical value of `shape`) in which the value of every sensitive member,
/// and every value of a sensitive shape, at any depth (inside lists and maps too), is
/// replaced by [`REDACTED`].
pub fn redact(svc: &ServiceModel, shape: ShapeId, v: &Value) -> Value {
    view(svc, shape, v, false)
}

/// `v` as CloudTrail records it in `requestParameters` / `responseElements`: sensitive values
/// hidden, binary members (blobs) left out, structure members in lowerCamelCase (`keyId`, `encryptionContext`; map keys are
/// data and stay as they are), timestamps in CloudTrail's `Nov 25, 2026, 3:04:05 PM` form, and
/// members the model does not define left out (they are not part of the API, and could carry
/// anything).
pub fn trail_view(svc: &ServiceModel, shape: ShapeId, v: &Value) -> Value {
    view(svc, shape, v, true)
}

/// The walk both share: `trail` adds CloudTrail's naming, time format and dropping of
/// undefined members to the redaction.
fn view(svc: &ServiceModel, shape: ShapeId, v: &Value, trail: bool) -> Value {
    let s = svc.shape(shape);
    if v.is_null() {
        return Value::Null;
    }
    if s.sensitive {
        return Value::String(REDACTED.to_string());
    }
    match (&s.kind, v) {
        (Kind::Structure { members }, Value::Object(o)) if !s.document => {
            let mut out = serde_json::Map::with_capacity(o.len());
            for (k, x) in o {
                let (key, shown) = match members.iter().find(|m| m.name == k) {
                    // Binary payloads (ciphertexts, plaintexts, messages, signatures) are left
                    // out of the trail altogether, as CloudTrail omits them.
                    Some(m) if trail && matches!(svc.shape(m.shape).kind, Kind::Blob) => continue,
                    Some(m)
                        if (m.sensitive || HIDDEN_MEMBERS.contains(&k.as_str()))
                            && !x.is_null() =>
                    {
                        (k.clone(), Value::String(REDACTED.to_string()))
                    }
                    Some(m) => (k.clone(), view(svc, m.shape, x, trail)),
                    None if trail => continue,
                    None => (k.clone(), x.clone()),
                };
                out.insert(if trail { lower_camel(&key) } else { key }, shown);
            }
            Value::Object(out)
        }
        (Kind::List { member, .. }, Value::Array(items)) => {
            Value::Array(items.iter().map(|x| view(svc, *member, x, trail)).collect())
        }
        (Kind::Map { value, .. }, Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), view(svc, *value, x, trail)))
                .collect(),
        ),
        (Kind::Timestamp, Value::Number(n)) if trail => {
            match n.as_f64().and_then(|f| crate::Timestamp(f).to_datetime()) {
                Some(t) => Value::String(t.format("%b %-d, %Y, %-I:%M:%S %p").to_string()),
                None => v.clone(),
            }
        }
        _ => v.clone(),
    }
}

fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
