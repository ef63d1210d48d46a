//! The canonical request: method, URI, query, headers, signed-header list and payload hash.

use std::collections::BTreeMap;

use crate::encode::{percent_decode, uri_encode};
use crate::{AuthKind, ParsedAuth, SignedRequest, X_AMZ_SIGNATURE};

/// How the canonical URI is derived from the path on the wire.
///
/// Every AWS service but S3 normalises the path (`.`/`..` segments removed, `//` collapsed) and
/// URI-encodes the (already encoded) path a second time; S3 does neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanonicalOptions {
    /// Remove `.` and `..` segments and collapse empty segments (`//`).
    pub normalize_path: bool,
    /// Encode the wire path as it is (so `%` becomes `%25`). When false, the path is decoded
    /// first and encoded once (S3).
    pub double_encode_path: bool,
}

impl CanonicalOptions {
    /// Rules for all services but S3.
    pub const STANDARD: CanonicalOptions = CanonicalOptions {
        normalize_path: true,
        double_encode_path: true,
    };
    /// Rules for S3 (and S3-like services): no normalisation, single encoding.
    pub const S3: CanonicalOptions = CanonicalOptions {
        normalize_path: false,
        double_encode_path: false,
    };

    /// The rules AWS applies for the signing name `service`.
    pub fn for_service(service: &str) -> CanonicalOptions {
        if service == "s3" || service == "s3-object-lambda" || service == "s3express" {
            CanonicalOptions::S3
        } else {
            CanonicalOptions::STANDARD
        }
    }
}

impl Default for CanonicalOptions {
    fn default() -> Self {
        CanonicalOptions::STANDARD
    }
}

/// Removes `.`/`..` segments and empty segments; keeps a trailing slash. Always absolute.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    if trailing && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// The canonical URI for a wire path (`raw_path`, still percent-encoded as received).
pub fn canonical_uri(raw_path: &str, opts: CanonicalOptions) -> String {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let normalized;
    let path = if opts.normalize_path {
        normalized = normalize_path(path);
        normalized.as_str()
    } else {
        path
    };
    if opts.double_encode_path {
        uri_encode(path.as_bytes(), true)
    } else {
        uri_encode(&percent_decode(path.as_bytes()), true)
    }
}

/// Splits a raw query string into decoded `(name, value)` pairs, in order. Empty pieces
/// (`a=1&&b=2`) are skipped; a piece without `=` has an empty value.
pub(crate) fn query_pairs(raw_query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k.as_bytes()), percent_decode(v.as_bytes()))
        })
        .collect()
}

/// The canonical query string: every parameter decoded and re-encoded with the SigV4 rule,
/// sorted by name then value; `X-Amz-Signature` is left out when `exclude_signature` is set
/// (presigned requests).
pub fn canonical_query(raw_query: &str, exclude_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(raw_query)
        .into_iter()
        .filter(|(k, _)| !(exclude_signature && k.as_slice() == X_AMZ_SIGNATURE.as_bytes()))
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort_unstable();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Trims a header value and collapses each run of whitespace to one space.
fn push_header_value(out: &mut String, value: &str) {
    let mut pending_space = false;
    for c in value.trim_matches(is_ws).chars() {
        if is_ws(c) {
            pending_space = true;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
}

/// The signed header names as they go into the canonical request: lower-case, sorted, unique.
pub fn canonical_signed_headers(signed_headers: &[String]) -> Vec<String> {
    let mut names: Vec<String> = signed_headers
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The canonical request with the rules AWS applies for `auth.service`
/// ([`CanonicalOptions::for_service`]).
pub fn canonical_request(req: &SignedRequest, auth: &ParsedAuth, payload_hash: &str) -> String {
    canonical_request_with(
        req,
        auth,
        payload_hash,
        CanonicalOptions::for_service(&auth.service),
    )
}

/// The canonical request with explicit URI rules.
pub fn canonical_request_with(
    req: &SignedRequest,
    auth: &ParsedAuth,
    payload_hash: &str,
    opts: CanonicalOptions,
) -> String {
    let names = canonical_signed_headers(&auth.signed_headers);

    // Gather the values of the signed headers only, in the order received.
    let mut values: BTreeMap<&str, Vec<&str>> =
        names.iter().map(|n| (n.as_str(), Vec::new())).collect();
    for (name, value) in req.headers {
        let lname = name.trim().to_ascii_lowercase();
        if let Some(v) = values.get_mut(lname.as_str()) {
            v.push(value.as_str());
        }
    }
    // HTTP/2 carries the host as `:authority`; accept it for a signed `host`.
    if let Some(host) = values.get_mut("host") {
        if host.is_empty() {
            host.extend(
                req.headers
                    .iter()
                    .filter(|(n, _)| n.trim() == ":authority")
                    .map(|(_, v)| v.as_str()),
            );
        }
    }

    let mut out = String::with_capacity(256 + req.raw_path.len() + req.raw_query.len());
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.raw_path, opts));
    out.push('\n');
    out.push_str(&canonical_query(
        req.raw_query,
        auth.kind == AuthKind::Presigned,
    ));
    out.push('\n');
    for (name, vals) in &values {
        out.push_str(name);
        out.push(':');
        for (i, v) in vals.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_header_value(&mut out, v);
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        let n = |p| canonical_uri(p, CanonicalOptions::STANDARD);
        assert_eq!(n(""), "/");
        assert_eq!(n("/"), "/");
        assert_eq!(n("//"), "/");
        assert_eq!(n("/./"), "/");
        assert_eq!(n("/example/.."), "/");
        assert_eq!(n("/example1/example2/../.."), "/");
        assert_eq!(n("/./example"), "/example");
        assert_eq!(n("//example//"), "/example/");
        assert_eq!(n("/a/b/.."), "/a/");
        assert_eq!(n("/a/b/."), "/a/b/");
        assert_eq!(n("/../../a"), "/a");
        assert_eq!(n("/example space/"), "/example%20space/");
        assert_eq!(n("/a%20b"), "/a%2520b");
        assert_eq!(n("relative"), "/relative");
    }

    #[test]
    fn s3_paths_are_encoded_once_and_kept() {
        let s = |p| canonical_uri(p, CanonicalOptions::S3);
        assert_eq!(s("//a/./b/../c%20d"), "//a/./b/../c%20d");
        assert_eq!(s("/a b+c"), "/a%20b%2Bc");
        assert_eq!(s(""), "/");
    }

    #[test]
    fn canonical_query_sorts_and_reencodes() {
        assert_eq!(canonical_query("", false), "");
        assert_eq!(
            canonical_query("Param2=value2&Param1=value1", false),
            "Param1=value1&Param2=value2"
        );
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", false),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query("b=2&a&&c=", false), "a=&b=2&c=");
        assert_eq!(canonical_query("k=a%20b&k=a+b", false), "k=a%20b&k=a%2Bb");
        assert_eq!(canonical_query("X-Amz-Signature=abc&x=1", true), "x=1");
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&x=1", false),
            "X-Amz-Signature=abc&x=1"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        let mut s = String::new();
        push_header_value(&mut s, "  \"a   b \t c\"  ");
        assert_eq!(s, "\"a b c\"");
        let mut s = String::new();
        push_header_value(&mut s, "value1\r\n  value2");
        assert_eq!(s, "value1 value2");
    }
}
