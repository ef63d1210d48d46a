//! Per-request inspection views: each request component is split into the values a detector
//! looks at, and each value is normalised once (repeated URL / JS / HTML-entity decoding,
//! overlong UTF-8 and full-width folding, NULs removed, lowercased), with an extra view for
//! values that are Base64 text. Views are computed lazily and shared by every rule.

use std::cell::OnceCell;

use crate::request::{BodyKind, JsonMatchScope, Request, DEFAULT_BODY_LIMIT};
use crate::transform::{self, apply, Transformation as T};

/// The request zones that managed rules inspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zone {
    /// The URI path.
    UriPath,
    /// Query argument names and values (`QUERYARGUMENTS`).
    QueryArgs,
    /// The whole query string (`QUERYSTRING`).
    QueryString,
    /// The body: parsed fields (form, multipart, JSON) and the whole body.
    Body,
    /// Cookie values.
    Cookie,
    /// Header values, except structural ones (Host, Content-Length, Accept*, Cookie...).
    Header,
}

/// Normalised views of one request, computed on first use.
pub struct Inspection<'r> {
    /// The request.
    pub req: &'r Request,
    body_limit: usize,
    uri: OnceCell<Vec<Vec<u8>>>,
    args: OnceCell<Vec<Vec<u8>>>,
    qs: OnceCell<Vec<Vec<u8>>>,
    body: OnceCell<Vec<Vec<u8>>>,
    cookie: OnceCell<Vec<Vec<u8>>>,
    header: OnceCell<Vec<Vec<u8>>>,
}

const SKIP_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "connection",
    "cookie",
    "cache-control",
    "pragma",
    "upgrade-insecure-requests",
    "if-modified-since",
    "if-none-match",
    "te",
    "keep-alive",
    "sec-fetch-site",
    "sec-fetch-mode",
    "sec-fetch-dest",
    "sec-fetch-user",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "transfer-encoding",
    "authorization",
    "dnt",
    "priority",
];

impl<'r> Inspection<'r> {
    /// Views of `req` with AWS's default 8 KB body inspection limit.
    pub fn new(req: &'r Request) -> Self {
        Self::with_body_limit(req, DEFAULT_BODY_LIMIT)
    }

    /// Views of `req` inspecting at most `body_limit` body bytes.
    pub fn with_body_limit(req: &'r Request, body_limit: usize) -> Self {
        Inspection {
            req,
            body_limit,
            uri: OnceCell::new(),
            args: OnceCell::new(),
            qs: OnceCell::new(),
            body: OnceCell::new(),
            cookie: OnceCell::new(),
            header: OnceCell::new(),
        }
    }

    /// The normalised values of a zone.
    pub fn zone(&self, z: Zone) -> &[Vec<u8>] {
        match z {
            Zone::UriPath => self.uri.get_or_init(|| {
                let mut v = Vec::new();
                push_views(&mut v, self.req.uri_path.as_bytes());
                for seg in self.req.uri_path.split('/') {
                    if let Some(d) = base64_text(seg.as_bytes()) {
                        v.push(normalize(&d));
                    }
                }
                v
            }),
            Zone::QueryArgs => self.args.get_or_init(|| {
                let mut v = Vec::new();
                for (n, val) in self.req.query_args() {
                    push_pair_views(&mut v, &n, &val);
                }
                v
            }),
            Zone::QueryString => self.qs.get_or_init(|| {
                let mut v = Vec::new();
                if !self.req.query_string.is_empty() {
                    push_views(&mut v, self.req.query_string.as_bytes());
                }
                v
            }),
            Zone::Body => self.body.get_or_init(|| self.body_views()),
            Zone::Cookie => self.cookie.get_or_init(|| {
                let mut v = Vec::new();
                for (n, val) in self.req.cookies() {
                    push_pair_views(&mut v, n.as_bytes(), val.as_bytes());
                }
                // The whole header too: `;` inside a value splits it into cookies.
                for h in self.req.header_values("cookie") {
                    if h.contains(';') {
                        push_views(&mut v, h.as_bytes());
                    }
                }
                v
            }),
            Zone::Header => self.header.get_or_init(|| {
                let mut v = Vec::new();
                for (n, val) in &self.req.headers {
                    let lower = n.to_ascii_lowercase();
                    if SKIP_HEADERS.contains(&lower.as_str()) {
                        continue;
                    }
                    push_views(&mut v, val.as_bytes());
                }
                v
            }),
        }
    }

    fn body_views(&self) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        let body = self.req.body_inspected(self.body_limit);
        if body.is_empty() {
            return v;
        }
        match self.req.body_kind() {
            BodyKind::Form | BodyKind::Multipart(_) => {
                for (n, val) in self.req.form_fields(self.body_limit) {
                    push_pair_views(&mut v, &n, &val);
                }
                if v.is_empty() {
                    push_views(&mut v, body);
                }
            }
            BodyKind::Json => match self.req.json_body(JsonMatchScope::All, self.body_limit) {
                Some(items) => {
                    for s in items {
                        push_views(&mut v, s.as_bytes());
                    }
                }
                None => push_views(&mut v, body),
            },
            BodyKind::Xml => {
                push_views(&mut v, body);
                // Text and attribute content of the XML, entity-decoded.
                for piece in xml_text(body) {
                    push_views(&mut v, &piece);
                }
            }
            BodyKind::Other => {
                // Try the body as JSON, then as a form, else whole.
                if let Ok(val) = serde_json::from_slice::<serde_json::Value>(body) {
                    if val.is_object() || val.is_array() {
                        let mut items = Vec::new();
                        crate::request::collect_json_pub(&val, &mut items);
                        for s in items {
                            push_views(&mut v, s.as_bytes());
                        }
                        return v;
                    }
                }
                push_views(&mut v, body);
                if body.contains(&b'=') && !body.contains(&b'\n') {
                    for (_, val) in crate::request::parse_urlencoded(body) {
                        push_views(&mut v, &val);
                    }
                }
            }
        }
        v
    }

    /// The normalised `User-Agent` (empty when absent).
    pub fn user_agent(&self) -> Option<&str> {
        self.req.header("user-agent")
    }
}

/// Text between XML tags and attribute values, so that entity-encoded payloads are seen.
fn xml_text(body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut in_tag = false;
    let mut quote: Option<u8> = None;
    for &b in body {
        match (in_tag, quote, b) {
            (true, Some(q), _) if b == q => {
                out.push(std::mem::take(&mut cur));
                quote = None;
            }
            (true, Some(_), _) => cur.push(b),
            (true, None, b'"' | b'\'') => quote = Some(b),
            (true, None, b'>') => in_tag = false,
            (true, None, _) => {}
            (false, _, b'<') => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                in_tag = true;
            }
            (false, _, _) => cur.push(b),
        }
        if out.len() > 256 {
            break;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.retain(|p| p.iter().any(|b| !b.is_ascii_whitespace()));
    out
}

/// Folds overlong UTF-8 encodings of ASCII (`C0 AE`, `E0 80 AE`) and full-width ASCII
/// (U+FF01..U+FF5E) to ASCII; everything else is left alone.
pub fn fold_overlong(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input.get(i).copied().unwrap_or(0);
        let b1 = input.get(i + 1).copied().unwrap_or(0);
        let b2 = input.get(i + 2).copied().unwrap_or(0);
        if (b == 0xc0 || b == 0xc1) && b1 & 0xc0 == 0x80 {
            let c = ((b & 0x1f) << 6) | (b1 & 0x3f);
            // C1 forms land on letters too; only punctuation is worth folding there.
            if b == 0xc0 || !c.is_ascii_alphanumeric() {
                out.push(c);
                i += 2;
                continue;
            }
        }
        if b == 0xe0 && b1 == 0x80 && i + 2 < input.len() && b2 & 0xc0 == 0x80 {
            out.push(b2 & 0x3f);
            i += 3;
            continue;
        }
        if b == 0xef && (b1 == 0xbc || b1 == 0xbd) && i + 2 < input.len() && b2 & 0xc0 == 0x80 {
            let cp = 0xf000u32 | (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f);
            if (0xff01..=0xff5e).contains(&cp) {
                out.push(transform::unicode_to_byte(cp));
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Decodes only the JS escapes that encode characters (`\uHHHH`, `\u{H..}`, `\xHH`), so
/// that Windows paths and regular backslashes survive.
pub fn js_unicode_decode(input: &[u8]) -> Vec<u8> {
    if !input.contains(&b'\\') {
        return input.to_vec();
    }
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input.get(i).copied().unwrap_or(0);
        if b == b'\\' {
            let c = input.get(i + 1).copied().unwrap_or(0);
            if c == b'u' || c == b'U' {
                if input.get(i + 2) == Some(&b'{') {
                    let mut j = i + 3;
                    let mut cp = 0u32;
                    while let Some(d) = input.get(j).copied().and_then(hex).filter(|_| j < i + 10) {
                        cp = cp * 16 + d;
                        j += 1;
                    }
                    if input.get(j) == Some(&b'}') && j > i + 3 {
                        push_cp(&mut out, cp);
                        i = j + 1;
                        continue;
                    }
                }
                let ds: Option<Vec<u32>> = (2..6)
                    .map(|k| input.get(i + k).copied().and_then(hex))
                    .collect();
                if let Some(ds) = ds {
                    push_cp(&mut out, ds.iter().fold(0, |a, d| a * 16 + d));
                    i += 6;
                    continue;
                }
            } else if c == b'x' || c == b'X' {
                if let (Some(h), Some(l)) = (
                    input.get(i + 2).copied().and_then(hex),
                    input.get(i + 3).copied().and_then(hex),
                ) {
                    out.push((h * 16 + l) as u8);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn push_cp(out: &mut Vec<u8>, cp: u32) {
    if (0xff01..=0xff5e).contains(&cp) || cp < 0x80 {
        out.push(transform::unicode_to_byte(cp));
    } else if let Some(c) = char::from_u32(cp) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

/// Decodes a value until it stops changing (at most a few rounds): URL (with `%u`), JS
/// escapes, HTML entities, overlong UTF-8; then NULs go and the result is lowercased.
pub fn normalize(input: &[u8]) -> Vec<u8> {
    let mut cur = input.to_vec();
    for _ in 0..4 {
        // `+` was already turned into a space by the argument parser where it means one.
        let mut next = if cur.contains(&b'%') {
            transform::url_decode(&cur, true, false).into_owned()
        } else {
            cur.clone()
        };
        if next.contains(&b'\\') {
            next = js_unicode_decode(&next);
        }
        if next.contains(&b'&') {
            next = apply(T::HtmlEntityDecode, &next).into_owned();
        }
        if !next.is_ascii() {
            next = fold_overlong(&next);
        }
        if next == cur {
            break;
        }
        cur = next;
    }
    let cur = apply(T::RemoveNulls, &cur).into_owned();
    strip_invisible(&cur).to_ascii_lowercase()
}

/// Removes zero-width and bidirectional control characters (U+200B..U+200F, U+202A..U+202E,
/// U+2060..U+2064, U+FEFF) and soft hyphens, which browsers ignore and filters trip over.
pub fn strip_invisible(input: &[u8]) -> Vec<u8> {
    if input.is_ascii() {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b0 = input.get(i).copied().unwrap_or(0);
        let b1 = input.get(i + 1).copied().unwrap_or(0);
        let b2 = input.get(i + 2).copied().unwrap_or(0);
        let invisible3 = (b0 == 0xe2 && b1 == 0x80 && matches!(b2, 0x8b..=0x8f | 0xaa..=0xae))
            || (b0 == 0xe2 && b1 == 0x81 && matches!(b2, 0xa0..=0xa4))
            || (b0 == 0xef && b1 == 0xbb && b2 == 0xbf);
        if invisible3 {
            i += 3;
            continue;
        }
        if b0 == 0xc2 && b1 == 0xad {
            i += 2;
            continue;
        }
        out.push(b0);
        i += 1;
    }
    out
}

/// Base64 text: only the Base64 alphabet, long enough, and decoding to mostly printable text.
pub fn base64_text(input: &[u8]) -> Option<Vec<u8>> {
    // A `+` may have become a space in form decoding.
    let spaced: Vec<u8>;
    let input = if input.contains(&b' ') {
        spaced = input
            .iter()
            .map(|&b| if b == b' ' { b'+' } else { b })
            .collect();
        &spaced[..]
    } else {
        input
    };
    let input = input.trim_ascii_end();
    let t = input
        .strip_suffix(b"==")
        .or(input.strip_suffix(b"="))
        .unwrap_or(input);
    if t.len() < 8
        || !t
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
    {
        return None;
    }
    // Plain words and hex strings are not Base64 payloads.
    let has_upper = t.iter().any(u8::is_ascii_uppercase);
    let has_lower = t.iter().any(u8::is_ascii_lowercase);
    if !(has_upper && has_lower) {
        return None;
    }
    let dec = apply(T::Base64DecodeExt, t).into_owned();
    if dec.len() < 5 {
        return None;
    }
    let printable = dec
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'))
        .count();
    if printable * 100 >= dec.len() * 95
        || std::str::from_utf8(&dec)
            .is_ok_and(|s| s.chars().all(|c| !c.is_control() || c.is_whitespace()))
    {
        Some(dec)
    } else {
        None
    }
}

/// Adds the views of one raw value.
pub fn push_views(out: &mut Vec<Vec<u8>>, raw: &[u8]) {
    if raw.is_empty() || out.len() > 2048 {
        return;
    }
    let n = normalize(raw);
    // A Base64 value, raw or after URL decoding.
    let b64 = base64_text(raw).or_else(|| {
        let d = apply(T::UrlDecode, raw);
        if d.as_ref() != raw {
            base64_text(&d)
        } else {
            None
        }
    });
    // Backslash escapes of every kind (octal, `\\c`), for script-string obfuscation.
    if n.contains(&b'\\') {
        let full = apply(T::JsDecode, &n).to_ascii_lowercase();
        if full != n {
            out.push(full);
        }
    }
    out.push(n);
    if let Some(d) = b64 {
        out.push(normalize(&d));
    }
}

/// Adds the views of a `name=value` pair: the value, the name when it is more than a plain
/// identifier, and the joined pair when the name itself looks like part of a payload.
pub fn push_pair_views(out: &mut Vec<Vec<u8>>, name: &[u8], value: &[u8]) {
    let plain = name
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']'));
    if plain && name.len() >= 12 && value.iter().all(|&b| b == b'=') {
        // A bare Base64 value whose padding was taken for the name/value separator.
        let mut joined = name.to_vec();
        joined.push(b'=');
        joined.extend_from_slice(value);
        if let Some(d) = base64_text(&joined) {
            out.push(normalize(&d));
        }
    }
    if plain && name.contains(&b'.') && name.len() > 3 {
        // Dotted names (`java.io.File=`, `a.b.c`) carry class and property paths.
        push_views(out, name);
    }
    if !plain {
        push_views(out, name);
        let mut joined = name.to_vec();
        joined.push(b'=');
        joined.extend_from_slice(value);
        push_views(out, &joined);
    } else if name.len() > 2 && name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"on")) {
        // An event handler name used as the parameter name.
        let mut joined = name.to_vec();
        joined.push(b'=');
        joined.extend_from_slice(value);
        push_views(out, &joined);
    }
    push_views(out, value);
}

#[cfg(test)]
#[path = "tests/inspect.rs"]
mod tests;
