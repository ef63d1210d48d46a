//! Checks a canonical request value against the model, with AWS's wording.
//!
//! What AWS's front end (Coral) does, as observed in its messages:
//! - a value of the wrong JSON type fails deserialization before any constraint is looked
//!   at: `SerializationException`, and nothing else is reported;
//! - every failed constraint is one entry `Value 'v' at 'path' failed to satisfy constraint:
//!   Member must ...`; the message is `1 validation error detected: <entry>` or `N validation
//!   errors detected: <entry>; <entry>`, with at most 10 entries (and N counts those);
//! - the path is the member name with its first letter lower-cased, `parent.child` for
//!   nested structures, `list.N.member` (1-based) for the elements of a list, and
//!   `map.<key>.member` for the values of a map;
//! - a list of scalars whose elements break the element shape's constraints gets one entry
//!   for the whole list, `Member must satisfy constraint: [<every constraint of the element
//!   shape>]`; maps likewise with `Map keys must satisfy constraint: [...]` and `Map value
//!   must satisfy constraint: [...]`;
//! - the value of a sensitive member is not shown (`Value at 'plaintext' failed ...`), a
//!   missing one is `Value null`, a blob is shown as Java prints a byte buffer
//!   (`java.nio.HeapByteBuffer[pos=0 lim=N cap=N]`), a list as `[a, b]`, a map as `{k=v}`.
//!
//! Members the model does not know are ignored, as AWS does.
use crate::{error, lower_first, Kind, ServiceModel, Shape, ShapeId};
use base64::Engine as _;
use rampart_core::AwsError;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// AWS lists at most this many failed constraints.
const MAX_ERRORS: usize = 10;

/// Checks `v` (a structure's canonical value; `null` counts as `{}`) against `shape`.
pub fn validate(svc: &ServiceModel, shape: ShapeId, v: &Value) -> Result<(), AwsError> {
    let mut cx = Cx {
        svc,
        errors: Vec::new(),
    };
    let empty = Value::Object(Map::new());
    let v = if v.is_null() { &empty } else { v };
    cx.check(shape, v, "", false)?;
    if cx.errors.is_empty() {
        return Ok(());
    }
    let n = cx.errors.len();
    let msg = format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        cx.errors.join("; ")
    );
    Err(error(svc.validation_code(), 400, true, msg))
}

struct Cx<'a> {
    svc: &'a ServiceModel,
    errors: Vec<String>,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        lower_first(name)
    } else {
        format!("{path}.{}", lower_first(name))
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a structure or map",
    }
}

pub(crate) fn type_error(path: &str, expected: &str, v: &Value) -> AwsError {
    let at = if path.is_empty() {
        "the request".to_string()
    } else {
        format!("'{path}'")
    };
    AwsError::serialization(format!(
        "Cannot deserialize {at}: expected {expected}, found {}",
        json_type(v)
    ))
}

fn is_scalar(s: &Shape) -> bool {
    !matches!(
        s.kind,
        Kind::Structure { .. } | Kind::List { .. } | Kind::Map { .. }
    )
}

/// Formats a bound as AWS does: `1.0` for floating-point shapes, `1` otherwise.
fn bound(s: &Shape, x: f64, length: bool) -> String {
    if !length && matches!(s.kind, Kind::Float | Kind::Double) {
        if x.fract() == 0.0 && x.abs() < 1.0e15 {
            format!("{x:.1}")
        } else {
            format!("{x}")
        }
    } else {
        format!("{}", x as i64)
    }
}

fn has_length(s: &Shape) -> bool {
    matches!(
        s.kind,
        Kind::String | Kind::Blob | Kind::List { .. } | Kind::Map { .. }
    )
}

fn max_msg(s: &Shape, x: f64) -> String {
    let what = if has_length(s) { "length" } else { "value" };
    format!(
        "Member must have {what} less than or equal to {}",
        bound(s, x, has_length(s))
    )
}

fn min_msg(s: &Shape, x: f64) -> String {
    let what = if has_length(s) { "length" } else { "value" };
    format!(
        "Member must have {what} greater than or equal to {}",
        bound(s, x, has_length(s))
    )
}

fn pattern_msg(p: &str) -> String {
    format!("Member must satisfy regular expression pattern: {p}")
}

fn enum_msg(s: &Shape) -> String {
    format!(
        "Member must satisfy enum value set: [{}]",
        s.enum_values.join(", ")
    )
}

/// Every constraint of a shape, in the order AWS lists them in `[...]`.
fn all_constraints(s: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(x) = s.max {
        out.push(max_msg(s, x));
    }
    if let Some(x) = s.min {
        out.push(min_msg(s, x));
    }
    if let Some(p) = s.pattern {
        out.push(pattern_msg(p));
    }
    if !s.enum_values.is_empty() {
        out.push(enum_msg(s));
    }
    out
}

/// Whether `s` fully matches the (Java) pattern `p`. A pattern the `regex` crate cannot
/// compile is not checked (codegen already emits `None` for those).
pub(crate) fn pattern_matches(p: &'static str, s: &str) -> bool {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let re = {
        let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(p)
            .or_insert_with(|| regex::Regex::new(&crate::javaregex::to_rust(p)).ok())
            .clone()
    };
    re.is_none_or(|re| re.is_match(s))
}

fn decode_blob(path: &str, s: &str) -> Result<usize, AwsError> {
    base64_len(s).ok_or_else(|| {
        AwsError::serialization(format!(
            "Cannot deserialize '{path}': the value is not valid base64"
        ))
    })
}

/// The length of what `s` decodes to under the standard alphabet with canonical padding
/// (exactly what `STANDARD.decode` accepts), without decoding it: validation only needs the
/// length, and the service decodes the value once afterwards.
fn base64_len(s: &str) -> Option<usize> {
    /// Each byte's value in the standard alphabet; 0xff for bytes outside it.
    const VALUES: [u8; 256] = {
        let mut t = [0xffu8; 256];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut i = 0;
        while i < 64 {
            t[alphabet[i] as usize] = i as u8;
            i += 1;
        }
        t
    };
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let pad = b.iter().rev().take(2).take_while(|&&c| c == b'=').count();
    let data = b.get(..b.len() - pad)?;
    // One pass, no branch per byte: any byte outside the alphabet sets the high bit.
    let all = data
        .iter()
        .fold(0u8, |acc, &c| acc | VALUES[usize::from(c)]);
    if all & 0x80 != 0 {
        return None;
    }
    let last = data.last().map_or(0, |&c| VALUES[usize::from(c)]);
    // The bits after the last whole byte must be zero (no two encodings of one value).
    let spare = match pad {
        1 => last & 0b11,
        2 => last & 0b1111,
        _ => 0,
    };
    (spare == 0).then_some(b.len() / 4 * 3 - pad)
}

fn java_number(n: &serde_json::Number, s: &Shape) -> String {
    if let Some(i) = n.as_i64() {
        if matches!(s.kind, Kind::Float | Kind::Double) {
            return format!("{i}.0");
        }
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1.0e15 => format!("{f:.1}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

impl Cx<'_> {
    fn push(&mut self, shown: Option<String>, path: &str, msg: &str) {
        if self.errors.len() >= MAX_ERRORS {
            return;
        }
        let value = match shown {
            Some(v) => format!(" '{v}'"),
            None => String::new(),
        };
        self.errors.push(format!(
            "Value{value} at '{path}' failed to satisfy constraint: {msg}"
        ));
    }

    fn push_null(&mut self, path: &str) {
        if self.errors.len() >= MAX_ERRORS {
            return;
        }
        self.errors.push(format!(
            "Value null at '{path}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// How AWS shows a value in a message (Java's `toString`).
    fn render(&self, shape: ShapeId, v: &Value) -> String {
        let s = self.svc.shape(shape);
        if s.sensitive {
            return "*** Sensitive Data Redacted ***".to_string();
        }
        match (&s.kind, v) {
            (_, Value::Null) => "null".to_string(),
            (Kind::Blob, Value::String(b)) => {
                let n = base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map(|b| b.len())
                    .unwrap_or(0);
                format!("java.nio.HeapByteBuffer[pos=0 lim={n} cap={n}]")
            }
            (_, Value::String(x)) => x.clone(),
            (_, Value::Number(n)) => java_number(n, s),
            (_, Value::Bool(b)) => b.to_string(),
            (Kind::List { member, .. }, Value::Array(items)) => {
                let parts: Vec<String> = items.iter().map(|x| self.render(*member, x)).collect();
                format!("[{}]", parts.join(", "))
            }
            (Kind::Map { value, .. }, Value::Object(o)) => {
                let parts: Vec<String> = o
                    .iter()
                    .map(|(k, x)| format!("{k}={}", self.render(*value, x)))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            (Kind::Structure { members }, Value::Object(o)) => {
                let parts: Vec<String> = members
                    .iter()
                    .filter_map(|m| {
                        let x = o.get(m.name).filter(|x| !x.is_null())?;
                        let shown = if m.sensitive {
                            "*** Sensitive Data Redacted ***".to_string()
                        } else {
                            self.render(m.shape, x)
                        };
                        Some(format!("{}={shown}", m.name))
                    })
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            (_, other) => other.to_string(),
        }
    }

    /// Type-checks a scalar and returns the constraints it breaks.
    fn scalar_failures(
        &self,
        shape: ShapeId,
        v: &Value,
        path: &str,
    ) -> Result<Vec<String>, AwsError> {
        let s = self.svc.shape(shape);
        let mut out = Vec::new();
        let check_len = |len: f64, out: &mut Vec<String>| {
            if let Some(min) = s.min.filter(|m| len < *m) {
                out.push(min_msg(s, min));
            }
            if let Some(max) = s.max.filter(|m| len > *m) {
                out.push(max_msg(s, max));
            }
        };
        match s.kind {
            Kind::String => {
                let Value::String(x) = v else {
                    return Err(type_error(path, "a string", v));
                };
                check_len(x.encode_utf16().count() as f64, &mut out);
                if let Some(p) = s.pattern {
                    if !pattern_matches(p, x) {
                        out.push(pattern_msg(p));
                    }
                }
                if !s.enum_values.is_empty() && !s.enum_values.contains(&x.as_str()) {
                    out.push(enum_msg(s));
                }
            }
            Kind::Blob => {
                let Value::String(x) = v else {
                    return Err(type_error(path, "a base64 string", v));
                };
                check_len(decode_blob(path, x)? as f64, &mut out);
            }
            Kind::Integer | Kind::Long | Kind::Float | Kind::Double => {
                let Value::Number(n) = v else {
                    return Err(type_error(path, "a number", v));
                };
                let x = match s.kind {
                    Kind::Integer => n
                        .as_i64()
                        .and_then(|i| i32::try_from(i).ok())
                        .map(f64::from)
                        .ok_or_else(|| type_error(path, "an integer (32 bits)", v))?,
                    Kind::Long => n
                        .as_i64()
                        .map(|i| i as f64)
                        .ok_or_else(|| type_error(path, "an integer (64 bits)", v))?,
                    _ => n.as_f64().unwrap_or(0.0),
                };
                if let Some(min) = s.min.filter(|m| x < *m) {
                    out.push(min_msg(s, min));
                }
                if let Some(max) = s.max.filter(|m| x > *m) {
                    out.push(max_msg(s, max));
                }
            }
            Kind::Boolean => {
                if !v.is_boolean() {
                    return Err(type_error(path, "a boolean", v));
                }
            }
            Kind::Timestamp => {
                if !v.is_number() {
                    return Err(type_error(path, "a timestamp (epoch seconds)", v));
                }
            }
            Kind::Structure { .. } | Kind::List { .. } | Kind::Map { .. } => {}
        }
        Ok(out)
    }

    /// Checks every element of a list or every key or value of a map against a scalar
    /// shape; true when one of them breaks a constraint (or is null).
    fn scalars_fail<'v>(
        &self,
        shape: ShapeId,
        items: impl Iterator<Item = &'v Value>,
        path: &str,
        any_null: &mut bool,
    ) -> Result<bool, AwsError> {
        let mut failed = false;
        for item in items {
            if item.is_null() {
                *any_null = true;
                failed = true;
                continue;
            }
            if !self.scalar_failures(shape, item, path)?.is_empty() {
                failed = true;
            }
        }
        Ok(failed)
    }

    fn bracket(&self, shape: ShapeId, any_null: bool) -> String {
        let mut all = all_constraints(self.svc.shape(shape));
        if any_null {
            all.push("Member must not be null".to_string());
        }
        format!("[{}]", all.join(", "))
    }

    fn check(
        &mut self,
        shape: ShapeId,
        v: &Value,
        path: &str,
        sensitive: bool,
    ) -> Result<(), AwsError> {
        let s = self.svc.shape(shape);
        if s.document {
            return Ok(());
        }
        let sensitive = sensitive || s.sensitive;
        let shown = |cx: &Self| {
            if sensitive {
                None
            } else {
                Some(cx.render(shape, v))
            }
        };
        match s.kind {
            Kind::Structure { members } => {
                let Value::Object(o) = v else {
                    return Err(type_error(path, "a structure", v));
                };
                if s.union {
                    let set = members
                        .iter()
                        .filter(|m| o.get(m.name).is_some_and(|x| !x.is_null()))
                        .count();
                    if set != 1 {
                        let names: Vec<&str> = members.iter().map(|m| m.name).collect();
                        let msg = format!(
                            "Member must have exactly one of its members set: [{}] (found {set})",
                            names.join(", ")
                        );
                        let at = if path.is_empty() {
                            lower_first(s.name)
                        } else {
                            path.to_string()
                        };
                        self.push(None, &at, &msg);
                    }
                }
                for m in members {
                    let child = join(path, m.name);
                    let x = match o.get(m.name) {
                        None | Some(Value::Null) => {
                            if m.required {
                                self.push_null(&child);
                            }
                            continue;
                        }
                        Some(x) => x,
                    };
                    let target = self.svc.shape(m.shape);
                    if is_scalar(target) && !target.document {
                        let failures = self.scalar_failures(m.shape, x, &child)?;
                        let hide = m.sensitive || target.sensitive;
                        for f in failures {
                            let shown = if hide {
                                None
                            } else {
                                Some(self.render(m.shape, x))
                            };
                            self.push(shown, &child, &f);
                        }
                    } else {
                        self.check(m.shape, x, &child, sensitive || m.sensitive)?;
                    }
                }
            }
            Kind::List { member, .. } => {
                let Value::Array(items) = v else {
                    return Err(type_error(path, "a list", v));
                };
                self.check_count(s, items.len(), path, shown(self));
                let ms = self.svc.shape(member);
                if is_scalar(ms) && !ms.document {
                    let mut any_null = false;
                    if self.scalars_fail(member, items.iter(), path, &mut any_null)? {
                        let msg = format!(
                            "Member must satisfy constraint: {}",
                            self.bracket(member, any_null)
                        );
                        self.push(shown(self), path, &msg);
                    }
                } else {
                    for (i, item) in items.iter().enumerate() {
                        let child = format!("{path}.{}.member", i + 1);
                        if item.is_null() {
                            self.push_null(&child);
                        } else {
                            self.check(member, item, &child, sensitive)?;
                        }
                    }
                }
            }
            Kind::Map { key, value, .. } => {
                let Value::Object(o) = v else {
                    return Err(type_error(path, "a map", v));
                };
                self.check_count(s, o.len(), path, shown(self));
                let keys: Vec<Value> = o.keys().map(|k| Value::String(k.clone())).collect();
                let mut any_null = false;
                if self.scalars_fail(key, keys.iter(), path, &mut any_null)? {
                    let msg = format!(
                        "Map keys must satisfy constraint: {}",
                        self.bracket(key, false)
                    );
                    self.push(shown(self), path, &msg);
                }
                let vs = self.svc.shape(value);
                if is_scalar(vs) && !vs.document {
                    let mut any_null = false;
                    if self.scalars_fail(value, o.values(), path, &mut any_null)? {
                        let msg = format!(
                            "Map value must satisfy constraint: {}",
                            self.bracket(value, any_null)
                        );
                        self.push(shown(self), path, &msg);
                    }
                } else {
                    for (k, item) in o {
                        let child = format!("{path}.{k}.member");
                        if item.is_null() {
                            self.push_null(&child);
                        } else {
                            self.check(value, item, &child, sensitive)?;
                        }
                    }
                }
            }
            _ => {
                // A scalar reached directly (the top level, or an element of a list of lists).
                for f in self.scalar_failures(shape, v, path)? {
                    self.push(shown(self), path, &f);
                }
            }
        }
        Ok(())
    }

    fn check_count(&mut self, s: &Shape, n: usize, path: &str, shown: Option<String>) {
        let n = n as f64;
        if let Some(min) = s.min.filter(|m| n < *m) {
            self.push(shown.clone(), path, &min_msg(s, min));
        }
        if let Some(max) = s.max.filter(|m| n > *m) {
            self.push(shown, path, &max_msg(s, max));
        }
    }
}

#[cfg(test)]
mod base64_tests {
    use base64::Engine as _;

    #[test]
    fn base64_len_accepts_exactly_what_decoding_accepts() {
        let alphabet = b"AQgw+/=a9Z";
        let mut cases: Vec<String> = vec![
            String::new(),
            "====".into(),
            "QQ==".into(),
            "QR==".into(),
            "QUI=".into(),
            "QUJ=".into(),
        ];
        // Every string of up to 8 characters over a small alphabet that hits each rule.
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &frontier {
                for &c in alphabet {
                    next.push(format!("{p}{}", c as char));
                }
            }
            cases.extend(next.iter().cloned());
            frontier = next;
        }
        for p in frontier.iter().take(2000) {
            cases.push(format!("AAAA{p}"));
        }
        for c in &cases {
            let want = base64::engine::general_purpose::STANDARD
                .decode(c)
                .ok()
                .map(|v| v.len());
            assert_eq!(super::base64_len(c), want, "{c:?}");
        }
    }
}
