//! The request as the rule engine sees it, and the AWS `FieldToMatch` components.

use std::borrow::Cow;
use std::net::IpAddr;

/// AWS WAF's default body inspection limit for regional resources (ALB, API Gateway): 8 KB.
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024;

/// Upper bound on parsed form fields / multipart parts / JSON nodes per request.
const MAX_FIELDS: usize = 1024;

/// One HTTP request, as received by the edge. Header order and duplicates are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Request method as sent (`GET`, `POST`, `PROPFIND`, ...).
    pub method: String,
    /// The path part of the request target, raw (not percent-decoded).
    pub uri_path: String,
    /// The query string without the leading `?`, raw.
    pub query_string: String,
    /// Headers in arrival order, duplicates kept, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes (the edge may have truncated them).
    pub body: Vec<u8>,
    /// The client address, when known.
    pub source_ip: Option<IpAddr>,
    /// The size of the whole body when `body` holds only its first part (the edge reads no
    /// more than it inspects); `None` when `body` is all of it.
    pub body_size: Option<usize>,
    /// The HTTP version as it appears in logs (`HTTP/1.1`, `HTTP/2.0`).
    pub http_version: String,
}

/// Which part of a JSON body a `JsonBody` match inspects (WAFv2 `JsonMatchScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonMatchScope {
    /// Keys and values.
    All,
    /// Object keys only.
    Key,
    /// Scalar values only.
    Value,
}

/// The request component a statement inspects (WAFv2 `FieldToMatch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldToMatch {
    /// The path, raw.
    UriPath,
    /// The raw query string.
    QueryString,
    /// The values of one query argument (name compared case-insensitively).
    SingleQueryArgument(String),
    /// The values of all query arguments.
    AllQueryArguments,
    /// The values of one header (name compared case-insensitively).
    SingleHeader(String),
    /// The values of all headers.
    Headers,
    /// The values of all cookies.
    Cookies,
    /// The body, up to the inspection limit.
    Body,
    /// The JSON body, parsed, with the given scope.
    JsonBody(JsonMatchScope),
    /// The method.
    Method,
}

/// The kind of body, from `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`
    Form,
    /// `multipart/form-data` with its boundary
    Multipart(String),
    /// `application/json` or `*+json`
    Json,
    /// `*/xml` or `*+xml`
    Xml,
    /// Anything else (or no content type).
    Other,
}

impl Request {
    /// A request from a method and a request target (`/path?query`). An absolute-form target
    /// (`http://host/path`) keeps only its path and query.
    pub fn new(method: &str, target: &str) -> Self {
        let (path, query) = split_target(target);
        Request {
            method: method.to_string(),
            uri_path: path.to_string(),
            query_string: query.to_string(),
            ..Request::default()
        }
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Cookies from every `Cookie` header, in order (`name=value; ...`; a pair without `=` has an
    /// empty name).
    pub fn cookies(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for h in self.header_values("cookie") {
            for part in h.split(';') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                match part.split_once('=') {
                    Some((n, v)) => out.push((n.trim().to_string(), v.trim().to_string())),
                    None => out.push((String::new(), part.to_string())),
                }
                if out.len() >= MAX_FIELDS {
                    return out;
                }
            }
        }
        out
    }

    /// Query arguments, percent- and `+`-decoded, as bytes (the encoding may not be UTF-8).
    pub fn query_args(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        parse_urlencoded(self.query_string.as_bytes())
    }

    /// The values of one query argument (name compared case-insensitively, as AWS does).
    pub fn single_query_arg(&self, name: &str) -> Vec<Vec<u8>> {
        self.query_args()
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
            .collect()
    }

    /// The size of the whole body.
    pub fn body_len(&self) -> usize {
        self.body_size.unwrap_or(0).max(self.body.len())
    }

    /// The body up to `limit` bytes (AWS inspects only the first 8 KB by default).
    pub fn body_inspected(&self, limit: usize) -> &[u8] {
        let end = self.body.len().min(limit);
        self.body.get(..end).unwrap_or(&[])
    }

    /// The kind of body from its `Content-Type`.
    pub fn body_kind(&self) -> BodyKind {
        let Some(ct) = self.header("content-type") else {
            return BodyKind::Other;
        };
        let lower = ct.to_ascii_lowercase();
        let mime = lower.split(';').next().unwrap_or("").trim();
        if mime == "application/x-www-form-urlencoded" {
            BodyKind::Form
        } else if mime.starts_with("multipart/") {
            match boundary_of(ct) {
                Some(b) => BodyKind::Multipart(b),
                None => BodyKind::Other,
            }
        } else if mime.ends_with("/json") || mime.ends_with("+json") {
            BodyKind::Json
        } else if mime.ends_with("/xml") || mime.ends_with("+xml") {
            BodyKind::Xml
        } else {
            BodyKind::Other
        }
    }

    /// Form fields from a urlencoded or multipart body (within `limit`), else empty. Multipart
    /// parts give their `name` and content; a file part's filename is given as a field named
    /// `filename`.
    pub fn form_fields(&self, limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let body = self.body_inspected(limit);
        match self.body_kind() {
            BodyKind::Form => parse_urlencoded(body),
            BodyKind::Multipart(b) => parse_multipart(body, b.as_bytes()),
            _ => Vec::new(),
        }
    }

    /// The strings of a JSON body for the scope, or `None` when the body is not valid JSON.
    pub fn json_body(&self, scope: JsonMatchScope, limit: usize) -> Option<Vec<String>> {
        let body = self.body_inspected(limit);
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let mut out = Vec::new();
        collect_json(&value, scope, &mut out, 0);
        Some(out)
    }

    /// The content of a request component, as AWS hands it to a statement (before
    /// transformations). Components with several values give one entry each.
    pub fn field<'a>(&'a self, field: &'a FieldToMatch, body_limit: usize) -> Vec<Cow<'a, [u8]>> {
        match field {
            FieldToMatch::UriPath => vec![Cow::Borrowed(self.uri_path.as_bytes())],
            FieldToMatch::QueryString => vec![Cow::Borrowed(self.query_string.as_bytes())],
            FieldToMatch::SingleQueryArgument(n) => self
                .single_query_arg(n)
                .into_iter()
                .map(Cow::Owned)
                .collect(),
            FieldToMatch::AllQueryArguments => self
                .query_args()
                .into_iter()
                .map(|(_, v)| Cow::Owned(v))
                .collect(),
            FieldToMatch::SingleHeader(n) => self
                .header_values(n)
                .map(|v| Cow::Borrowed(v.as_bytes()))
                .collect(),
            FieldToMatch::Headers => self
                .headers
                .iter()
                .map(|(_, v)| Cow::Borrowed(v.as_bytes()))
                .collect(),
            FieldToMatch::Cookies => self
                .cookies()
                .into_iter()
                .map(|(_, v)| Cow::Owned(v.into_bytes()))
                .collect(),
            FieldToMatch::Body => vec![Cow::Borrowed(self.body_inspected(body_limit))],
            FieldToMatch::JsonBody(scope) => self
                .json_body(*scope, body_limit)
                .unwrap_or_default()
                .into_iter()
                .map(|s| Cow::Owned(s.into_bytes()))
                .collect(),
            FieldToMatch::Method => vec![Cow::Borrowed(self.method.as_bytes())],
        }
    }
}

/// Splits a request target into path and query (without `?`). Absolute-form targets lose their
/// scheme and authority.
pub fn split_target(target: &str) -> (&str, &str) {
    let mut t = target;
    if let Some(rest) = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
    {
        t = match rest.find(['/', '?']) {
            Some(i) => rest.get(i..).unwrap_or(""),
            None => "/",
        };
    }
    match t.split_once('?') {
        Some((p, q)) => (p, q),
        None => (t, ""),
    }
}

fn boundary_of(content_type: &str) -> Option<String> {
    for part in content_type.split(';') {
        let part = part.trim();
        if part.len() > 9 && part.get(..9)?.eq_ignore_ascii_case("boundary=") {
            let b = part.get(9..)?.trim_matches('"');
            if !b.is_empty() {
                return Some(b.to_string());
            }
        }
    }
    None
}

fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes (and turns `+` into a space when `plus` is set). Invalid escapes stay as
/// they are.
pub fn percent_decode(input: &[u8], plus: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input.get(i).copied().unwrap_or(0);
        if b == b'%' {
            let h = input.get(i + 1).copied().and_then(hexval);
            let l = input.get(i + 2).copied().and_then(hexval);
            if let (Some(h), Some(l)) = (h, l) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if plus && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// `a=1&b=2` into decoded pairs (`;` is not a separator).
pub fn parse_urlencoded(input: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    input
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .take(MAX_FIELDS)
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(i) => (
                percent_decode(p.get(..i).unwrap_or(&[]), true),
                percent_decode(p.get(i + 1..).unwrap_or(&[]), true),
            ),
            None => (Vec::new(), percent_decode(p, true)),
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Parses a multipart body into (name, content) pairs; a part's filename becomes an extra
/// (`filename`, value) pair. Lenient: a missing final boundary ends the last part at the end.
pub fn parse_multipart(body: &[u8], boundary: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut out = Vec::new();
    let Some(mut pos) = find(body, &delim, 0) else {
        return out;
    };
    while out.len() < MAX_FIELDS {
        let start = pos + delim.len();
        if body.get(start..start + 2) == Some(b"--") {
            break;
        }
        let next = find(body, &delim, start);
        let end = next.unwrap_or(body.len());
        let part = body.get(start..end).unwrap_or(&[]);
        let part = part
            .strip_prefix(b"\r\n")
            .or(part.strip_prefix(b"\n"))
            .unwrap_or(part);
        let (head, content) = match find(part, b"\r\n\r\n", 0) {
            Some(i) => (
                part.get(..i).unwrap_or(&[]),
                part.get(i + 4..).unwrap_or(&[]),
            ),
            None => match find(part, b"\n\n", 0) {
                Some(i) => (
                    part.get(..i).unwrap_or(&[]),
                    part.get(i + 2..).unwrap_or(&[]),
                ),
                None => (part, &[][..]),
            },
        };
        let content = content
            .strip_suffix(b"\r\n")
            .or(content.strip_suffix(b"\n"))
            .unwrap_or(content);
        let head_s = String::from_utf8_lossy(head);
        let mut name = Vec::new();
        for line in head_s.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition") {
                if let Some(n) = disposition_param(line, "name") {
                    name = n.into_bytes();
                }
                if let Some(f) = disposition_param(line, "filename") {
                    out.push((b"filename".to_vec(), f.into_bytes()));
                }
            }
        }
        out.push((name, content.to_vec()));
        match next {
            Some(n) => pos = n,
            None => break,
        }
    }
    out
}

fn disposition_param(line: &str, key: &str) -> Option<String> {
    for part in line.split(';').skip(1) {
        let (k, v) = part.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(key) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// Every key and scalar value of a JSON document, as strings.
pub fn collect_json_pub(v: &serde_json::Value, out: &mut Vec<String>) {
    collect_json(v, JsonMatchScope::All, out, 0);
}

fn collect_json(v: &serde_json::Value, scope: JsonMatchScope, out: &mut Vec<String>, depth: usize) {
    if out.len() >= MAX_FIELDS || depth > 64 {
        return;
    }
    let values = scope != JsonMatchScope::Key;
    match v {
        serde_json::Value::Null => {}
        serde_json::Value::Bool(b) if values => out.push(b.to_string()),
        serde_json::Value::Number(n) if values => out.push(n.to_string()),
        serde_json::Value::String(s) if values => out.push(s.clone()),
        serde_json::Value::Array(a) => {
            for x in a {
                collect_json(x, scope, out, depth + 1);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                if scope != JsonMatchScope::Value {
                    out.push(k.clone());
                }
                collect_json(x, scope, out, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "tests/request.rs"]
mod tests;
