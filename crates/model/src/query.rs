//! awsQuery: form-encoded requests in, XML responses out (IAM, STS).
use crate::{time, Kind, Member, Operation, ServiceModel, Shape, ShapeId};
use rampart_core::AwsError;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Decodes awsQuery form parameters into the canonical value of `shape` (an operation's
/// input structure): members by name (or `locationName`), nested structures `A.B`, lists
/// `Name.member.N` (`Name.N` when flattened, `Name.<locationName>.N` when the list names its
/// member; an empty value for `Name` is an empty list), maps `Name.entry.N.key` /
/// `Name.entry.N.value` (`Name.N.key` when flattened), numbers and booleans parsed from
/// text, timestamps from ISO 8601 (or epoch seconds) to epoch numbers. `Action`, `Version`
/// and unknown parameters are ignored. A number, boolean or timestamp that does not parse
/// is refused with the service's validation code.
pub fn decode_query(
    svc: &ServiceModel,
    shape: ShapeId,
    params: &[(String, String)],
) -> Result<Value, AwsError> {
    let s = svc.shape(shape);
    let mut index: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in params {
        let top_level_meta =
            (k == "Action" || k == "Version") && !s.members().iter().any(|m| m.wire_name() == k);
        if !top_level_meta {
            index.insert(k.as_str(), v.as_str());
        }
    }
    let d = Decoder { svc, index };
    Ok(d.structure(s, "")?
        .unwrap_or_else(|| Value::Object(Map::new())))
}

struct Decoder<'a> {
    svc: &'a ServiceModel,
    index: BTreeMap<&'a str, &'a str>,
}

impl Decoder<'_> {
    fn has_prefix(&self, prefix: &str) -> bool {
        self.index
            .range(prefix..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(prefix))
    }

    /// The distinct indexes N of the keys `{base}.N` and `{base}.N.*`, ascending.
    fn indexes(&self, base: &str) -> Vec<u64> {
        let prefix = format!("{base}.");
        let mut out: Vec<u64> = self
            .index
            .range(prefix.as_str()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| {
                let rest = k.get(prefix.len()..)?;
                rest.split('.').next()?.parse::<u64>().ok()
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn structure(&self, s: &Shape, prefix: &str) -> Result<Option<Value>, AwsError> {
        let mut obj = Map::new();
        for m in s.members() {
            let key = if prefix.is_empty() {
                m.wire_name().to_string()
            } else {
                format!("{prefix}.{}", m.wire_name())
            };
            if let Some(v) = self.value(m.shape, &key, Some(m))? {
                obj.insert(m.name.to_string(), v);
            }
        }
        Ok((!obj.is_empty()).then_some(Value::Object(obj)))
    }

    fn value(
        &self,
        shape: ShapeId,
        key: &str,
        member: Option<&Member>,
    ) -> Result<Option<Value>, AwsError> {
        let s = self.svc.shape(shape);
        let flattened = s.flattened || member.is_some_and(|m| m.flattened);
        match s.kind {
            Kind::Structure { .. } => {
                if s.document {
                    return Ok(self.index.get(key).map(|v| Value::String((*v).to_string())));
                }
                if !self.has_prefix(&format!("{key}.")) {
                    return Ok(None);
                }
                self.structure(s, key)
            }
            Kind::List {
                member: item,
                member_location_name,
            } => {
                let base = if flattened {
                    match member_location_name {
                        // A flattened list whose member is named: `Parent.<name>.N`.
                        Some(name) => match key.rsplit_once('.') {
                            Some((parent, _)) => format!("{parent}.{name}"),
                            None => name.to_string(),
                        },
                        None => key.to_string(),
                    }
                } else {
                    format!("{key}.{}", member_location_name.unwrap_or("member"))
                };
                let idx = self.indexes(&base);
                if idx.is_empty() {
                    return Ok(match self.index.get(key) {
                        Some(&"") => Some(Value::Array(Vec::new())),
                        _ => None,
                    });
                }
                let mut items = Vec::with_capacity(idx.len());
                for i in idx {
                    if let Some(v) = self.value(item, &format!("{base}.{i}"), None)? {
                        items.push(v);
                    }
                }
                Ok(Some(Value::Array(items)))
            }
            Kind::Map {
                key: _,
                value,
                key_name,
                value_name,
            } => {
                let base = if flattened {
                    key.to_string()
                } else {
                    format!("{key}.entry")
                };
                let idx = self.indexes(&base);
                if idx.is_empty() {
                    return Ok(match self.index.get(key) {
                        Some(&"") => Some(Value::Object(Map::new())),
                        _ => None,
                    });
                }
                let mut obj = Map::new();
                for i in idx {
                    let Some(k) = self.index.get(format!("{base}.{i}.{key_name}").as_str()) else {
                        continue;
                    };
                    let v = self
                        .value(value, &format!("{base}.{i}.{value_name}"), None)?
                        .unwrap_or(Value::Null);
                    obj.insert((*k).to_string(), v);
                }
                Ok(Some(Value::Object(obj)))
            }
            _ => match self.index.get(key) {
                Some(text) => scalar(self.svc, s, key, text).map(Some),
                None => Ok(None),
            },
        }
    }
}

fn bad_value(svc: &ServiceModel, key: &str, text: &str, expected: &str) -> AwsError {
    crate::error(
        svc.validation_code(),
        400,
        true,
        format!("Invalid value '{text}' for parameter {key}: expected {expected}"),
    )
}

/// Parses the text form of a scalar (query strings, headers, URI labels) into its canonical
/// JSON value.
pub(crate) fn scalar(
    svc: &ServiceModel,
    s: &Shape,
    key: &str,
    text: &str,
) -> Result<Value, AwsError> {
    Ok(match s.kind {
        Kind::Integer | Kind::Long => Value::Number(
            text.trim()
                .parse::<i64>()
                .map_err(|_| bad_value(svc, key, text, "an integer"))?
                .into(),
        ),
        Kind::Float | Kind::Double => {
            let f = text
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .ok_or_else(|| bad_value(svc, key, text, "a number"))?;
            Value::Number(f)
        }
        Kind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad_value(svc, key, text, "true or false")),
        },
        Kind::Timestamp => {
            let secs = time::parse_any(text, s.timestamp_format)
                .ok_or_else(|| bad_value(svc, key, text, "an ISO 8601 timestamp"))?;
            epoch_value(secs)
        }
        _ => Value::String(text.to_string()),
    })
}

/// Epoch seconds as a JSON number: an integer when whole.
pub(crate) fn epoch_value(secs: f64) -> Value {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        Value::Number((secs as i64).into())
    } else {
        Number::from_f64(secs)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// The awsQuery XML response of `op` with the canonical output value `out`:
/// `<{Op}Response xmlns="{ns}"><{Op}Result>...</{Op}Result><ResponseMetadata><RequestId>..
/// </RequestId></ResponseMetadata></{Op}Response>` (no result element when the operation has
/// no output).
pub fn encode_query_response(
    svc: &ServiceModel,
    op: &Operation,
    out: &Value,
    request_id: &str,
) -> String {
    let mut x = String::with_capacity(512);
    x.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = write!(
        x,
        "<{}Response xmlns=\"{}\">",
        op.name,
        escape(svc.xml_namespace)
    );
    if let Some(output) = op.output {
        let wrapper = op
            .result_wrapper
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}Result", op.name));
        let empty = Value::Object(Map::new());
        let out = if out.is_object() { out } else { &empty };
        write_value(&mut x, svc, output, out, &wrapper, false);
    }
    let _ = write!(
        x,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{}Response>",
        escape(request_id),
        op.name
    );
    x
}

/// The awsQuery XML error: `<ErrorResponse xmlns="{ns}"><Error><Type>Sender|Receiver</Type>
/// <Code>..</Code><Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>`.
pub fn encode_query_error(svc: &ServiceModel, err: &AwsError, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse xmlns=\"{}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(svc.xml_namespace),
        if err.sender_fault { "Sender" } else { "Receiver" },
        escape(&err.code),
        escape(&err.message),
        escape(request_id),
    )
}

/// XML text and attribute escaping.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// The text of a scalar in XML (and in headers, with another timestamp default).
pub(crate) fn scalar_text(s: &Shape, v: &Value, ts_default: &str) -> String {
    match (&s.kind, v) {
        (Kind::Timestamp, Value::Number(n)) => {
            time::format(n.as_f64().unwrap_or(0.0), s.timestamp_format, ts_default)
        }
        (_, Value::String(t)) => t.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Number(n)) => n.to_string(),
        (_, Value::Null) => String::new(),
        (_, other) => other.to_string(),
    }
}

fn write_value(
    x: &mut String,
    svc: &ServiceModel,
    shape: ShapeId,
    v: &Value,
    name: &str,
    flattened: bool,
) {
    if v.is_null() {
        return;
    }
    let s = svc.shape(shape);
    let flattened = flattened || s.flattened;
    match (&s.kind, v) {
        (Kind::Structure { members }, Value::Object(o)) if !s.document => {
            let _ = write!(x, "<{name}");
            for m in members.iter().filter(|m| m.xml_attribute) {
                if let Some(a) = o.get(m.name).filter(|a| !a.is_null()) {
                    let text = scalar_text(svc.shape(m.shape), a, "iso8601");
                    let _ = write!(x, " {}=\"{}\"", m.wire_name(), escape(&text));
                }
            }
            x.push('>');
            for m in members.iter().filter(|m| !m.xml_attribute) {
                if let Some(item) = o.get(m.name) {
                    write_value(x, svc, m.shape, item, m.wire_name(), m.flattened);
                }
            }
            let _ = write!(x, "</{name}>");
        }
        (
            Kind::List {
                member,
                member_location_name,
            },
            Value::Array(items),
        ) => {
            if flattened {
                let tag = member_location_name.unwrap_or(name);
                for item in items {
                    write_value(x, svc, *member, item, tag, false);
                }
            } else {
                let tag = member_location_name.unwrap_or("member");
                let _ = write!(x, "<{name}>");
                for item in items {
                    write_value(x, svc, *member, item, tag, false);
                }
                let _ = write!(x, "</{name}>");
            }
        }
        (
            Kind::Map {
                key,
                value,
                key_name,
                value_name,
            },
            Value::Object(o),
        ) => {
            if !flattened {
                let _ = write!(x, "<{name}>");
            }
            for (k, item) in o {
                let _ = write!(x, "<{}>", if flattened { name } else { "entry" });
                write_value(x, svc, *key, &Value::String(k.clone()), key_name, false);
                write_value(x, svc, *value, item, value_name, false);
                let _ = write!(x, "</{}>", if flattened { name } else { "entry" });
            }
            if !flattened {
                let _ = write!(x, "</{name}>");
            }
        }
        _ => {
            let _ = write!(
                x,
                "<{name}>{}</{name}>",
                escape(&scalar_text(s, v, "iso8601"))
            );
        }
    }
}
