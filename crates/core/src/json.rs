//! Compact JSON output for the request path: byte for byte what `serde_json::to_writer`
//! writes, but a string that needs no escaping (nearly all of them: ids, ARNs, base64) is
//! checked a vector at a time and copied in one piece, where serde_json inspects and
//! dispatches on every byte. A KMS response or audit record is mostly such strings.

use serde_json::Value;

/// Appends `v` as compact JSON (object keys in the map's order).
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Numbers as serde_json writes them (itoa / ryu); writing to a Vec cannot fail.
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Appends `s` as a JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether any byte must be escaped in a JSON string (a control character, `"` or `\`):
/// the characters serde_json escapes. No early exit, so the loop vectorizes.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// A JSON object written field by field, for records whose shape is fixed in code.
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(b':');
        self.out
    }

    pub fn str(&mut self, key: &str, v: &str) -> &mut Self {
        let out = self.key(key);
        write_str(out, v);
        self
    }

    pub fn opt_str(&mut self, key: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.str(key, v);
        }
        self
    }

    pub fn bool(&mut self, key: &str, v: bool) -> &mut Self {
        let out = self.key(key);
        out.extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    pub fn value(&mut self, key: &str, v: &Value) -> &mut Self {
        let out = self.key(key);
        write_value(out, v);
        self
    }

    /// A field whose value the caller writes (an array or nested object).
    pub fn raw(&mut self, key: &str, write: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        let out = self.key(key);
        write(out);
        self
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        write_value(&mut out, v);
        out
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let samples = [
            json!(null),
            json!(true),
            json!({"a": false, "b": [1, -2, 3.5, 1e300, -0.0, 18446744073709551615u64, i64::MIN]}),
            json!({"CiphertextBlob": "AQIDBAUGBwgJ+/=", "KeyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd"}),
            json!({"quote\"d": "back\\slash", "ctl": "tab\tnl\ncr\rnul\u{0}bell\u{7}us\u{1f}", "del": "\u{7f}"}),
            json!({"unicode": "é中文🔐", "empty": "", "nested": {"x": [[], {}, [{"y": null}]]}}),
            json!(["</script>", "\u{2028}\u{2029}", "a/b"]),
        ];
        for v in &samples {
            assert_eq!(
                String::from_utf8(ours(v)).unwrap(),
                serde_json::to_string(v).unwrap(),
                "{v}"
            );
        }
        // Every single byte value a string may hold, alone and among plain text.
        for c in 0u32..=0x80 {
            let ch = char::from_u32(c).unwrap();
            for s in [ch.to_string(), format!("abc{ch}def")] {
                let v = Value::String(s);
                assert_eq!(ours(&v), serde_json::to_vec(&v).unwrap(), "{c:#x}");
            }
        }
    }

    #[test]
    fn object_writer_matches_a_map() {
        let mut out = Vec::new();
        let mut w = ObjectWriter::new(&mut out);
        w.str("a", "x\"y")
            .opt_str("skipped", None)
            .opt_str("b", Some("z"))
            .bool("c", true)
            .value("d", &json!({"e": [1, "f"]}))
            .raw("g", |o| o.extend_from_slice(b"[]"));
        w.end();
        let expected = json!({"a": "x\"y", "b": "z", "c": true, "d": {"e": [1, "f"]}, "g": []});
        assert_eq!(String::from_utf8(out).unwrap(), expected.to_string());
    }
}
