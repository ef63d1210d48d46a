//! One service model (botocore JSON) to one Rust module.
use crate::{javaregex, BOTOCORE_VERSION};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

pub struct Generated {
    pub code: String,
    pub stats: String,
    /// (shape, pattern, error) for the patterns emitted as `None`.
    pub bad_patterns: Vec<(String, String, String)>,
}

/// Operation-name prefixes taken as read-only (CloudTrail's `readOnly`) when the model does
/// not say; `readonly` in the model (or in patches.json) wins.
const READ_ONLY_PREFIXES: &[&str] = &[
    "Get", "List", "Describe", "Lookup", "Check", "Simulate", "Search", "BatchGet", "Validate",
];

/// Names the generated modules use for runtime and prelude items; shapes with these names
/// get a `Shape` suffix.
const RESERVED_TYPES: &[&str] = &[
    "Option",
    "Result",
    "String",
    "Vec",
    "Box",
    "Default",
    "Some",
    "None",
    "Ok",
    "Err",
    "Self",
    "Send",
    "Sync",
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "Ord",
    "PartialOrd",
    "Sized",
    "Drop",
    "Fn",
    "Iterator",
    "Unit",
    "Blob",
    "Timestamp",
    "Kind",
    "Location",
    "Member",
    "Operation",
    "Shape",
    "ServiceModel",
    "Protocol",
    "ErrorInfo",
    "AwsError",
    "RequestContext",
    "BTreeMap",
    "Value",
];

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn flag(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn lit(x: &str) -> String {
    format!("{x:?}")
}

/// `KMSKeyId` -> `kms_key_id`, `S3BucketName` -> `s3_bucket_name`.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("v_{out}")
    } else {
        out
    }
}

fn ident(snake: String) -> String {
    match snake.as_str() {
        "self" | "super" | "crate" | "Self" => format!("{snake}_"),
        s if KEYWORDS.contains(&s) => format!("r#{snake}"),
        _ => snake,
    }
}

/// An enum value as a variant name: `RSA_2048` -> `Rsa2048`, `PendingDeletion` stays.
fn variant(value: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = value.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let split = match prev {
                Some(p) if p.is_ascii_lowercase() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if split {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut out: String = words
        .iter()
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut cs = lower.chars();
            match cs.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    if out == "Self" {
        out.push('_');
    }
    out
}

/// `KMS` -> `Kms`, `Secrets Manager` -> `SecretsManager`, `CloudTrail` stays.
fn trait_name(service_id: &str) -> String {
    service_id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            let first = cs
                .next()
                .map(|c| c.to_ascii_uppercase())
                .unwrap_or_default();
            let rest: String = if w.len() > 1 && w.chars().all(|c| !c.is_ascii_lowercase()) {
                cs.as_str().to_ascii_lowercase()
            } else {
                cs.as_str().to_string()
            };
            format!("{first}{rest}")
        })
        .collect()
}

fn f64_lit(v: &Value) -> Option<String> {
    v.as_f64().map(|x| format!("{x:?}"))
}

struct Gen<'a> {
    module: &'a str,
    shapes: &'a Map<String, Value>,
    /// Shape names, sorted: the index is the ShapeId.
    names: Vec<&'a str>,
    ids: HashMap<&'a str, usize>,
    /// Rust type names of structure and enum shapes.
    types: HashMap<&'a str, String>,
    bad_patterns: Vec<(String, String, String)>,
}

impl<'a> Gen<'a> {
    fn shape(&self, name: &str) -> Result<&'a Value, String> {
        self.shapes.get(name).ok_or_else(|| {
            format!(
                "{}: shape {name} is referenced but not defined",
                self.module
            )
        })
    }

    fn id(&self, name: &str) -> Result<usize, String> {
        self.ids.get(name).copied().ok_or_else(|| {
            format!(
                "{}: shape {name} is referenced but not defined",
                self.module
            )
        })
    }

    fn target(&self, member: &'a Value) -> Result<&'a str, String> {
        s(member, "shape").ok_or_else(|| format!("{}: a member has no shape", self.module))
    }

    fn is_struct(&self, name: &str) -> bool {
        self.shapes.get(name).is_some_and(|s| {
            s.get("type").and_then(Value::as_str) == Some("structure") && !flag(s, "document")
        })
    }

    fn is_enum(sh: &Value) -> bool {
        s(sh, "type") == Some("string")
            && sh
                .get("enum")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
    }

    fn members(sh: &'a Value) -> Vec<(&'a str, &'a Value)> {
        sh.get("members")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    }

    fn required(sh: &Value, member: &str) -> bool {
        sh.get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(member)))
    }

    /// Whether structure `from` reaches structure `to` through members that are not
    /// behind a list or map (so a field of type `to` inside `from` needs a `Box`).
    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(cur) = stack.pop() {
            if cur == to {
                return true;
            }
            if !seen.insert(cur.clone()) {
                continue;
            }
            if let Some(sh) = self.shapes.get(&cur) {
                for (_, m) in Self::members(sh) {
                    if let Some(t) = s(m, "shape") {
                        if self.is_struct(t) {
                            stack.push(t.to_string());
                        }
                    }
                }
            }
        }
        false
    }

    fn rust_type(&self, name: &str) -> Result<String, String> {
        let sh = self.shape(name)?;
        Ok(match s(sh, "type").unwrap_or_default() {
            "structure" if flag(sh, "document") => "serde_json::Value".to_string(),
            "structure" => self.types.get(name).cloned().unwrap_or_default(),
            "string" if Self::is_enum(sh) => self.types.get(name).cloned().unwrap_or_default(),
            "string" => "String".to_string(),
            "list" => {
                let m = sh.get("member").ok_or("list without member")?;
                format!("Vec<{}>", self.rust_type(self.target(m)?)?)
            }
            "map" => {
                let v = sh.get("value").ok_or("map without value")?;
                format!(
                    "::std::collections::BTreeMap<String, {}>",
                    self.rust_type(self.target(v)?)?
                )
            }
            "integer" | "short" | "byte" => "i32".to_string(),
            "long" | "bigInteger" => "i64".to_string(),
            "float" | "double" | "bigDecimal" => "f64".to_string(),
            "boolean" => "bool".to_string(),
            "timestamp" => "crate::Timestamp".to_string(),
            "blob" => "crate::Blob".to_string(),
            other => {
                return Err(format!(
                    "{}: shape {name} has unsupported type {other}",
                    self.module
                ))
            }
        })
    }

    /// Whether the value of a member of this shape holds a sensitive scalar directly (itself
    /// or through lists and maps); structures print themselves.
    fn debug_sensitive(&self, name: &str) -> bool {
        let Some(sh) = self.shapes.get(name) else {
            return false;
        };
        if flag(sh, "sensitive") {
            return true;
        }
        match s(sh, "type") {
            Some("list") => sh
                .get("member")
                .and_then(|m| s(m, "shape"))
                .is_some_and(|t| self.debug_sensitive(t)),
            Some("map") => ["key", "value"]
                .iter()
                .filter_map(|k| sh.get(*k).and_then(|m| s(m, "shape")))
                .any(|t| self.debug_sensitive(t)),
            _ => false,
        }
    }

    fn shape_entry(&mut self, name: &str) -> Result<String, String> {
        let sh = self.shape(name)?;
        let ty = s(sh, "type").unwrap_or_default();
        let mut f: Vec<String> = vec![format!("name: {}", lit(name))];
        let mut comment = String::new();
        let kind = match ty {
            "structure" => {
                let payload = s(sh, "payload");
                let mut ms = Vec::new();
                for (mname, m) in Self::members(sh) {
                    let target = self.target(m)?;
                    let tsh = self.shape(target)?;
                    let mut mf = vec![
                        format!("name: {}", lit(mname)),
                        format!("shape: {}", self.id(target)?),
                    ];
                    if Self::required(sh, mname) {
                        mf.push("required: true".into());
                    }
                    let loc = match s(m, "location") {
                        None => None,
                        Some("uri") => Some("Uri"),
                        Some("querystring") => Some("Querystring"),
                        Some("header") => Some("Header"),
                        Some("headers") => Some("Headers"),
                        Some("statusCode") => Some("StatusCode"),
                        Some(other) => {
                            return Err(format!(
                                "{}: {name}.{mname}: unknown location {other}",
                                self.module
                            ))
                        }
                    };
                    if let Some(l) = loc {
                        mf.push(format!("location: Location::{l}"));
                    }
                    if let Some(ln) = s(m, "locationName") {
                        mf.push(format!("location_name: Some({})", lit(ln)));
                    }
                    if flag(m, "sensitive") || flag(tsh, "sensitive") {
                        mf.push("sensitive: true".into());
                    }
                    for (key, field) in [
                        ("idempotencyToken", "idempotency_token"),
                        ("flattened", "flattened"),
                        ("xmlAttribute", "xml_attribute"),
                        ("jsonvalue", "json_value"),
                    ] {
                        if flag(m, key) {
                            mf.push(format!("{field}: true"));
                        }
                    }
                    if payload == Some(mname) {
                        mf.push("payload: true".into());
                    }
                    ms.push(format!("Member {{ {}, ..Member::EMPTY }}", mf.join(", ")));
                }
                format!("Kind::Structure {{ members: &[{}] }}", ms.join(", "))
            }
            "list" => {
                let m = sh.get("member").ok_or("list without member")?;
                let ln = s(m, "locationName").map(|l| format!("Some({})", lit(l)));
                format!(
                    "Kind::List {{ member: {}, member_location_name: {} }}",
                    self.id(self.target(m)?)?,
                    ln.unwrap_or_else(|| "None".into())
                )
            }
            "map" => {
                let k = sh.get("key").ok_or("map without key")?;
                let v = sh.get("value").ok_or("map without value")?;
                format!(
                    "Kind::Map {{ key: {}, value: {}, key_name: {}, value_name: {} }}",
                    self.id(self.target(k)?)?,
                    self.id(self.target(v)?)?,
                    lit(s(k, "locationName").unwrap_or("key")),
                    lit(s(v, "locationName").unwrap_or("value"))
                )
            }
            "string" => "Kind::String".into(),
            "integer" | "short" | "byte" => "Kind::Integer".into(),
            "long" | "bigInteger" => "Kind::Long".into(),
            "float" => "Kind::Float".into(),
            "double" | "bigDecimal" => "Kind::Double".into(),
            "boolean" => "Kind::Boolean".into(),
            "timestamp" => "Kind::Timestamp".into(),
            "blob" => "Kind::Blob".into(),
            other => {
                return Err(format!(
                    "{}: shape {name} has unsupported type {other}",
                    self.module
                ))
            }
        };
        f.push(format!("kind: {kind}"));
        if flag(sh, "sensitive") {
            f.push("sensitive: true".into());
        }
        if let Some(x) = sh.get("min").and_then(f64_lit) {
            f.push(format!("min: Some({x})"));
        }
        if let Some(x) = sh.get("max").and_then(f64_lit) {
            f.push(format!("max: Some({x})"));
        }
        if let Some(p) = s(sh, "pattern") {
            match regex::Regex::new(&javaregex::to_rust(p)) {
                Ok(_) => f.push(format!("pattern: Some({})", lit(p))),
                Err(e) => {
                    let first = e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    comment = format!(
                        "// pattern not checked (the regex crate cannot compile it): {}\n",
                        lit(p)
                    );
                    self.bad_patterns
                        .push((name.to_string(), p.to_string(), first));
                }
            }
        }
        if let Some(vals) = sh.get("enum").and_then(Value::as_array) {
            let vals: Vec<String> = vals.iter().filter_map(Value::as_str).map(lit).collect();
            f.push(format!("enum_values: &[{}]", vals.join(", ")));
        }
        if let Some(t) = s(sh, "timestampFormat") {
            f.push(format!("timestamp_format: Some({})", lit(t)));
        }
        if flag(sh, "flattened") {
            f.push("flattened: true".into());
        }
        if flag(sh, "exception") {
            let err = sh.get("error");
            let fault = flag(sh, "fault");
            let code = err.and_then(|e| s(e, "code")).unwrap_or(name);
            let status = err
                .and_then(|e| e.get("httpStatusCode"))
                .and_then(Value::as_u64)
                .unwrap_or(if fault { 500 } else { 400 });
            let sender = err
                .and_then(|e| e.get("senderFault"))
                .and_then(Value::as_bool)
                .unwrap_or(!fault);
            f.push(format!(
                "error: Some(ErrorInfo {{ code: {}, http_status: {status}, sender_fault: {sender} }})",
                lit(code)
            ));
            f.push("exception: true".into());
        }
        if flag(sh, "union") {
            f.push("union: true".into());
        }
        if flag(sh, "document") {
            f.push("document: true".into());
        }
        Ok(format!(
            "{comment}Shape {{ {}, ..Shape::EMPTY }},\n",
            f.join(", ")
        ))
    }

    fn struct_def(&self, name: &str, out: &mut String) -> Result<(), String> {
        struct Field {
            id: String,
            ty: String,
            wire: String,
            required: bool,
            redacted: bool,
        }
        let sh = self.shape(name)?;
        let ty = self.types.get(name).cloned().unwrap_or_default();
        let union = flag(sh, "union");
        let mut fields: Vec<Field> = Vec::new();
        let mut used = HashSet::new();
        for (mname, m) in Self::members(sh) {
            let target = self.target(m)?;
            let mut base = snake(mname);
            while !used.insert(base.clone()) {
                base.push('_');
            }
            let mut rt = self.rust_type(target)?;
            if self.is_struct(target) && self.reaches(target, name) {
                rt = format!("Box<{rt}>");
            }
            let required = Self::required(sh, mname) && !union;
            fields.push(Field {
                id: ident(base),
                ty: if required {
                    rt
                } else {
                    format!("Option<{rt}>")
                },
                wire: mname.to_string(),
                required,
                redacted: flag(m, "sensitive") || self.debug_sensitive(target),
            });
        }
        let any_redacted = fields.iter().any(|f| f.redacted);
        let derives = if any_redacted {
            "Clone, Default, PartialEq"
        } else {
            "Debug, Clone, Default, PartialEq"
        };
        let _ = writeln!(out, "/// The `{name}` structure.");
        let _ = writeln!(out, "#[derive({derives})]");
        let _ = writeln!(out, "pub struct {ty} {{");
        for f in &fields {
            let _ = writeln!(
                out,
                "    /// `{}`{}",
                f.wire,
                if f.required { " (required)" } else { "" }
            );
            let _ = writeln!(out, "    pub {}: {},", f.id, f.ty);
        }
        let _ = writeln!(out, "}}\n");

        // Serialize: members under their model names, absent optional ones skipped.
        let n_req = fields.iter().filter(|f| f.required).count();
        let mut terms: Vec<String> = Vec::new();
        if n_req > 0 || fields.is_empty() {
            terms.push(n_req.to_string());
        }
        for f in fields.iter().filter(|f| !f.required) {
            terms.push(format!("usize::from(self.{}.is_some())", f.id));
        }
        let len = terms.join(" + ");
        let st = if fields.is_empty() { "st" } else { "mut st" };
        let _ = writeln!(
            out,
            "impl serde::Serialize for {ty} {{\n    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {{\n        use serde::ser::SerializeStruct as _;\n        let {st} = s.serialize_struct({}, {len})?;",
            lit(&ty)
        );
        for f in &fields {
            if f.required {
                let _ = writeln!(
                    out,
                    "        st.serialize_field({}, &self.{})?;",
                    lit(&f.wire),
                    f.id
                );
            } else {
                let _ = writeln!(
                    out,
                    "        if let Some(v) = &self.{} {{\n            st.serialize_field({}, v)?;\n        }}",
                    f.id,
                    lit(&f.wire)
                );
            }
        }
        let _ = writeln!(out, "        st.end()\n    }}\n}}\n");

        // Deserialize: by model name; unknown members ignored, missing ones default.
        let m = if fields.is_empty() { "_m" } else { "mut m" };
        let _ = writeln!(
            out,
            "impl<'de> serde::Deserialize<'de> for {ty} {{\n    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {{\n        let {m} = crate::serde_impl::StructReader::new(d)?;\n        Ok(Self {{"
        );
        for f in &fields {
            let _ = writeln!(
                out,
                "            {}: m.{}({})?,",
                f.id,
                if f.required { "req" } else { "opt" },
                lit(&f.wire)
            );
        }
        let _ = writeln!(out, "        }})\n    }}\n}}\n");

        if any_redacted {
            let _ = writeln!(
                out,
                "impl std::fmt::Debug for {ty} {{\nfn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\nf.debug_struct({})",
                lit(&ty)
            );
            for f in &fields {
                let shown = f.id.trim_start_matches("r#");
                if f.redacted {
                    let _ = writeln!(out, ".field({}, &crate::Redacted)", lit(shown));
                } else {
                    let _ = writeln!(out, ".field({}, &self.{})", lit(shown), f.id);
                }
            }
            let _ = writeln!(out, ".finish()\n}}\n}}\n");
        }
        Ok(())
    }

    fn enum_def(&self, name: &str, out: &mut String) -> Result<(), String> {
        let sh = self.shape(name)?;
        let ty = self.types.get(name).cloned().unwrap_or_default();
        let mut used = HashSet::new();
        let mut variants = Vec::new();
        for v in sh
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(v) = v.as_str() else { continue };
            let base = variant(v);
            let mut var = base.clone();
            let mut n = 2;
            while !used.insert(var.clone()) {
                var = format!("{base}{n}");
                n += 1;
            }
            variants.push(format!("    {var} => {},", lit(v)));
        }
        let _ = writeln!(
            out,
            "crate::model_enum! {{\n    /// The `{name}` enum.\n    {ty} {{\n{}\n    }}\n}}\n",
            variants
                .iter()
                .map(|v| format!("    {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        Ok(())
    }
}

pub fn generate(module: &str, model: &Value) -> Result<Generated, String> {
    let meta = model.get("metadata").ok_or("model without metadata")?;
    // The model's protocol, or the first of its `protocols` that Rampart speaks (Shield lists
    // `smithy-rpc-v2-cbor` first, then `json`).
    let supported = |p: &str| match p {
        "json" => Some("Json"),
        "rest-json" => Some("RestJson"),
        "query" => Some("Query"),
        _ => None,
    };
    let protocol = s(meta, "protocol")
        .and_then(supported)
        .or_else(|| {
            meta.get("protocols")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find_map(supported)
        })
        .ok_or_else(|| {
            format!(
                "{module}: protocol {:?} is not supported",
                s(meta, "protocol")
            )
        })?;
    let shapes = model
        .get("shapes")
        .and_then(Value::as_object)
        .ok_or("model without shapes")?;
    let ops = model
        .get("operations")
        .and_then(Value::as_object)
        .ok_or("model without operations")?;
    let mut names: Vec<&str> = shapes.keys().map(String::as_str).collect();
    names.sort_unstable();
    if names.len() > usize::from(u16::MAX) {
        return Err(format!("{module}: too many shapes"));
    }
    let ids: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let service_trait = trait_name(s(meta, "serviceId").unwrap_or(module));

    // Rust names of the structure and enum shapes.
    let mut types = HashMap::new();
    let mut taken: HashSet<String> = RESERVED_TYPES.iter().map(|s| s.to_string()).collect();
    taken.insert(service_trait.clone());
    for n in &names {
        let sh = &shapes[*n];
        let named =
            (s(sh, "type") == Some("structure") && !flag(sh, "document")) || Gen::is_enum(sh);
        if !named {
            continue;
        }
        let mut cs = n.chars();
        let base: String = cs
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let mut t = base.clone();
        if taken.contains(&t) {
            t = format!("{base}Shape");
        }
        let mut k = 2;
        while taken.contains(&t) {
            t = format!("{base}Shape{k}");
            k += 1;
        }
        taken.insert(t.clone());
        types.insert(*n, t);
    }

    let mut g = Gen {
        module,
        shapes,
        names,
        ids,
        types,
        bad_patterns: Vec::new(),
    };

    let mut code = String::with_capacity(256 * 1024);
    let _ = writeln!(
        code,
        "// @generated by codegen from botocore {BOTOCORE_VERSION}; do not edit"
    );
    let _ = writeln!(
        code,
        "//! `{}` {} (`{}`), generated from botocore's `{}` model.",
        module,
        s(meta, "apiVersion").unwrap_or_default(),
        s(meta, "serviceFullName").unwrap_or_default(),
        s(meta, "uid").unwrap_or(module),
    );
    code.push_str(
        "#![allow(unused_imports, non_camel_case_types, clippy::upper_case_acronyms, clippy::enum_variant_names, \
         clippy::large_enum_variant, clippy::too_many_lines, clippy::doc_markdown, clippy::derivable_impls)]\n\n",
    );
    code.push_str("use crate::{ErrorInfo, Kind, Location, Member, Operation, Protocol, ServiceModel, Shape};\n");
    code.push_str("use rampart_core::{AwsError, RequestContext};\n\n");

    // The operation table.
    let mut op_names: Vec<&str> = ops.keys().map(String::as_str).collect();
    op_names.sort_unstable();
    let _ = writeln!(
        code,
        "/// The `{module}` model.\npub static SERVICE: ServiceModel = ServiceModel {{ module: {}, signing_name: {}, endpoint_prefix: {}, protocol: Protocol::{protocol}, json_version: {}, target_prefix: {}, api_version: {}, xml_namespace: {}, event_source: {}, operations: OPERATIONS, shapes: SHAPES }};\n",
        lit(module),
        lit(s(meta, "signingName").or_else(|| s(meta, "endpointPrefix")).unwrap_or(module)),
        lit(s(meta, "endpointPrefix").unwrap_or(module)),
        lit(s(meta, "jsonVersion").unwrap_or_default()),
        lit(s(meta, "targetPrefix").unwrap_or_default()),
        lit(s(meta, "apiVersion").unwrap_or_default()),
        lit(meta.get("xmlNamespace").and_then(|x| x.as_str().or_else(|| s(x, "uri"))).unwrap_or_default()),
        lit(&s(meta, "rampartEventSource")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}.amazonaws.com", s(meta, "endpointPrefix").unwrap_or(module)))),
    );
    let _ = writeln!(
        code,
        "/// The operation called `name`.\npub fn operation(name: &str) -> Option<&'static Operation> {{\n    SERVICE.operation(name)\n}}\n"
    );
    code.push_str("const OPERATIONS: &[Operation] = &[\n");
    let mut read_only_count = 0;
    for name in &op_names {
        let op = &ops[*name];
        let http = op.get("http").cloned().unwrap_or(Value::Null);
        let input = match op.get("input").and_then(|i| s(i, "shape")) {
            Some(t) => format!("Some({})", g.id(t)?),
            None => "None".into(),
        };
        let output = match op.get("output").and_then(|i| s(i, "shape")) {
            Some(t) => format!("Some({})", g.id(t)?),
            None => "None".into(),
        };
        let wrapper = match op.get("output").and_then(|o| s(o, "resultWrapper")) {
            Some(w) => format!("Some({})", lit(w)),
            None => "None".into(),
        };
        let mut errors = Vec::new();
        for e in op
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = s(e, "shape") {
                errors.push(g.id(t)?.to_string());
            }
        }
        let read_only = op
            .get("readonly")
            .and_then(Value::as_bool)
            .unwrap_or_else(|| READ_ONLY_PREFIXES.iter().any(|p| name.starts_with(p)));
        if read_only {
            read_only_count += 1;
        }
        let _ = writeln!(
            code,
            "Operation {{ name: {}, http_method: {}, request_uri: {}, response_code: {}, input: {input}, output: {output}, result_wrapper: {wrapper}, errors: &[{}], read_only: {read_only} }},",
            lit(name),
            lit(s(&http, "method").unwrap_or("POST")),
            lit(s(&http, "requestUri").unwrap_or("/")),
            http.get("responseCode").and_then(Value::as_u64).unwrap_or(200),
            errors.join(", "),
        );
    }
    code.push_str("];\n\n");

    // The shape table.
    code.push_str("const SHAPES: &[Shape] = &[\n");
    let names = g.names.clone();
    for (i, name) in names.iter().enumerate() {
        let _ = write!(code, "// {i}\n{}", g.shape_entry(name)?);
    }
    code.push_str("];\n\n");

    // Error constructors.
    let mut fns: HashSet<String> = ["dispatch", "operation"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut n_errors = 0;
    for name in &names {
        let sh = &shapes[*name];
        if !flag(sh, "exception") {
            continue;
        }
        n_errors += 1;
        let mut f = snake(name);
        while !fns.insert(f.clone()) {
            f.push('_');
        }
        let err = sh.get("error");
        let fault = flag(sh, "fault");
        let code_str = err.and_then(|e| s(e, "code")).unwrap_or(name);
        let status = err
            .and_then(|e| e.get("httpStatusCode"))
            .and_then(Value::as_u64)
            .unwrap_or(if fault { 500 } else { 400 });
        let sender = err
            .and_then(|e| e.get("senderFault"))
            .and_then(Value::as_bool)
            .unwrap_or(!fault);
        let _ = writeln!(
            code,
            "/// `{code_str}` (HTTP {status}, {}).\npub fn {}(message: impl Into<String>) -> AwsError {{\n    crate::error({}, {status}, {sender}, message)\n}}\n",
            if sender { "the caller's fault" } else { "the service's fault" },
            ident(f),
            lit(code_str),
        );
    }

    // Types.
    let mut n_structs = 0;
    let mut n_enums = 0;
    for name in &names {
        let sh = &shapes[*name];
        if !g.types.contains_key(name) {
            continue;
        }
        if s(sh, "type") == Some("structure") {
            n_structs += 1;
            g.struct_def(name, &mut code)?;
        } else {
            n_enums += 1;
            g.enum_def(name, &mut code)?;
        }
    }

    // The service trait and dispatch.
    let io_type = |op: &Value, key: &str| -> Result<String, String> {
        match op.get(key).and_then(|i| s(i, "shape")) {
            Some(t) => g
                .types
                .get(t)
                .cloned()
                .ok_or_else(|| format!("{module}: {t} is not a structure")),
            None => Ok("crate::Unit".to_string()),
        }
    };
    let _ = writeln!(
        code,
        "/// The operations of `{module}`; each answers `NotImplementedException` until implemented.\npub trait {service_trait}: Send + Sync {{"
    );
    let mut arms = String::new();
    for name in &op_names {
        let op = &ops[*name];
        let method = ident(snake(name));
        let (input, output) = (io_type(op, "input")?, io_type(op, "output")?);
        let _ = writeln!(
            code,
            "    /// `{name}`.\n    fn {method}(&self, _ctx: &RequestContext, _input: {input}) -> Result<{output}, AwsError> {{\n        Err(AwsError::not_implemented({}))\n    }}\n",
            lit(name)
        );
        let _ = writeln!(
            arms,
            "        {} => crate::to_value(svc.{method}(ctx, crate::from_value(input)?)?),",
            lit(name)
        );
    }
    code.push_str("}\n\n");
    let _ = writeln!(
        code,
        "/// Calls the `{service_trait}` method of `operation` with the (validated) canonical input and returns the canonical output.\npub fn dispatch<T: {service_trait} + ?Sized>(svc: &T, ctx: &RequestContext, operation: &str, input: serde_json::Value) -> Result<serde_json::Value, AwsError> {{\n    match operation {{\n{arms}        _ => Err(crate::unknown_operation(operation)),\n    }}\n}}"
    );

    let n_patterns = names
        .iter()
        .filter(|n| shapes[**n].get("pattern").is_some())
        .count();
    let stats = format!(
        "{} operations ({read_only_count} read-only), {} shapes: {n_structs} structures, {n_enums} enums, {n_errors} errors, {n_patterns} patterns ({} not checked); trait {service_trait}",
        op_names.len(),
        names.len(),
        g.bad_patterns.len()
    );
    Ok(Generated {
        code,
        stats,
        bad_patterns: g.bad_patterns,
    })
}

pub fn generate_mod<'a>(modules: impl Iterator<Item = &'a str>) -> String {
    let modules: Vec<&str> = modules.collect();
    let mut code = String::new();
    let _ = writeln!(
        code,
        "// @generated by codegen from botocore {BOTOCORE_VERSION}; do not edit"
    );
    code.push_str("//! The generated service modules (`cargo run -p codegen`).\n\n");
    for m in &modules {
        let _ = writeln!(code, "pub mod {m};");
    }
    let _ = writeln!(
        code,
        "\n/// Every generated service model.\npub static SERVICES: &[&crate::ServiceModel] = &[{}];",
        modules.iter().map(|m| format!("&{m}::SERVICE")).collect::<Vec<_>>().join(", ")
    );
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("KMSKeyId"), "kms_key_id");
        assert_eq!(snake("S3BucketName"), "s3_bucket_name");
        assert_eq!(
            snake("GenerateDataKeyPairWithoutPlaintext"),
            "generate_data_key_pair_without_plaintext"
        );
        assert_eq!(snake("KeyARN"), "key_arn");
        assert_eq!(ident(snake("Type")), "r#type");
        assert_eq!(variant("RSA_2048"), "Rsa2048");
        assert_eq!(variant("PendingDeletion"), "PendingDeletion");
        assert_eq!(variant("application/json"), "ApplicationJson");
        assert_eq!(variant("*"), "V");
        assert_eq!(trait_name("Secrets Manager"), "SecretsManager");
        assert_eq!(trait_name("KMS"), "Kms");
        assert_eq!(trait_name("CloudTrail"), "CloudTrail");
    }
}
