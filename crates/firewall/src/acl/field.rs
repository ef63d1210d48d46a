//! `FieldToMatch`: which part of a request a statement inspects, with AWS's oversize handling,
//! match patterns and scopes.

use std::borrow::Cow;

use serde_json::Value;

use super::json;
use super::{bad, CompileError, Obj};
use crate::request::{parse_urlencoded, Request};

/// AWS WAF inspects at most this many headers and cookies, and this many bytes of them.
pub const MAX_HEADERS: usize = 200;
pub const MAX_COOKIES: usize = 200;
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// `OversizeHandling`: what to do with a component larger than AWS WAF inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Inspect what fits.
    Continue,
    /// Treat the statement as matching.
    Match,
    /// Treat the statement as not matching.
    NoMatch,
}

/// `MapMatchScope` / `JsonMatchScope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Key,
    Value,
}

/// Which headers or cookies a statement inspects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapPattern {
    All,
    /// Names, lowercased for headers, as given for cookies.
    Included(Vec<String>),
    Excluded(Vec<String>),
}

/// `BodyParsingFallbackBehavior` for JSON bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidJson {
    /// Not set: evaluate what parsed before the first error.
    Partial,
    Match,
    NoMatch,
    EvaluateAsString,
}

/// A compiled `FieldToMatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Lowercased header name.
    SingleHeader(String),
    /// Query argument name (compared case-insensitively).
    SingleQueryArgument(String),
    AllQueryArguments,
    UriPath,
    QueryString,
    Body(Oversize),
    Method,
    JsonBody {
        /// `None`: every node.
        paths: Option<Vec<String>>,
        scope: Scope,
        invalid: InvalidJson,
        oversize: Oversize,
    },
    Headers {
        pattern: MapPattern,
        scope: Scope,
        oversize: Oversize,
    },
    Cookies {
        pattern: MapPattern,
        scope: Scope,
        oversize: Oversize,
    },
    HeaderOrder(Oversize),
    /// A component the edge cannot see (TLS fingerprints, the URI fragment): the fallback
    /// behaviour decides.
    Unavailable(bool),
}

/// What a field gives a statement.
pub enum Values<'a> {
    /// The values to inspect (after which the statement's own test decides).
    Some(Vec<Cow<'a, [u8]>>),
    /// Decided without inspection (oversize / fallback MATCH or NO_MATCH).
    Decided(bool),
}

fn oversize(o: &Obj<'_>, required: bool, field: &'static str) -> Result<Oversize, CompileError> {
    match o.str_opt("OversizeHandling") {
        None if required => Err(bad(field, "OversizeHandling", super::REASON_REQUIRED)),
        None | Some("CONTINUE") => Ok(Oversize::Continue),
        Some("MATCH") => Ok(Oversize::Match),
        Some("NO_MATCH") => Ok(Oversize::NoMatch),
        Some(other) => Err(bad("OVERSIZE_HANDLING", other, super::REASON_FORMAT)),
    }
}

fn scope(o: &Obj<'_>, field: &'static str) -> Result<Scope, CompileError> {
    match o.str_opt("MatchScope") {
        Some("ALL") => Ok(Scope::All),
        Some("KEY") => Ok(Scope::Key),
        Some("VALUE") => Ok(Scope::Value),
        Some(other) => Err(bad(field, other, super::REASON_FORMAT)),
        None => Err(bad(field, "MatchScope", super::REASON_REQUIRED)),
    }
}

fn fallback(o: &Obj<'_>) -> Result<bool, CompileError> {
    match o.str_opt("FallbackBehavior") {
        Some("MATCH") => Ok(true),
        Some("NO_MATCH") => Ok(false),
        Some(other) => Err(bad("FALLBACK_BEHAVIOR", other, super::REASON_FORMAT)),
        None => Err(bad(
            "FALLBACK_BEHAVIOR",
            "FallbackBehavior",
            super::REASON_REQUIRED,
        )),
    }
}

fn map_pattern(
    o: &Obj<'_>,
    all: &str,
    included: &str,
    excluded: &str,
    field: &'static str,
    lower: bool,
) -> Result<MapPattern, CompileError> {
    let p = o.obj("MatchPattern", field)?;
    let names = |k: &str| -> Vec<String> {
        p.list(k)
            .iter()
            .filter_map(Value::as_str)
            .map(|s| {
                if lower {
                    s.to_ascii_lowercase()
                } else {
                    s.to_string()
                }
            })
            .collect()
    };
    let set = [all, included, excluded]
        .iter()
        .filter(|k| p.has(k))
        .count();
    if set != 1 {
        return Err(bad(field, "MatchPattern", super::REASON_EXACTLY_ONE));
    }
    if p.has(all) {
        Ok(MapPattern::All)
    } else if p.has(included) {
        Ok(MapPattern::Included(names(included)))
    } else {
        Ok(MapPattern::Excluded(names(excluded)))
    }
}

impl Field {
    /// Compiles a `FieldToMatch` object.
    pub fn compile(v: &Value) -> Result<Field, CompileError> {
        let o = Obj::new(v, "FIELD_TO_MATCH")?;
        let keys = o.keys();
        if keys.len() != 1 {
            return Err(bad(
                "FIELD_TO_MATCH",
                "FieldToMatch",
                super::REASON_EXACTLY_ONE,
            ));
        }
        let key = keys.first().copied().unwrap_or_default();
        let inner = o.obj(key, "FIELD_TO_MATCH")?;
        Ok(match key {
            "SingleHeader" => {
                let name = inner.str_req("Name", "SINGLE_HEADER")?;
                if name.is_empty() {
                    return Err(bad("SINGLE_HEADER", name, super::REASON_FORMAT));
                }
                Field::SingleHeader(name.to_ascii_lowercase())
            }
            "SingleQueryArgument" => {
                let name = inner.str_req("Name", "SINGLE_QUERY_ARGUMENT")?;
                if name.is_empty() {
                    return Err(bad("SINGLE_QUERY_ARGUMENT", name, super::REASON_FORMAT));
                }
                Field::SingleQueryArgument(name.to_string())
            }
            "AllQueryArguments" => Field::AllQueryArguments,
            "UriPath" => Field::UriPath,
            "QueryString" => Field::QueryString,
            "Method" => Field::Method,
            "Body" => Field::Body(oversize(&inner, false, "FIELD_TO_MATCH")?),
            "JsonBody" => {
                let p = inner.obj("MatchPattern", "JSON_MATCH_PATTERN")?;
                let paths = match (p.has("All"), p.has("IncludedPaths")) {
                    (true, false) => None,
                    (false, true) => {
                        let mut out = Vec::new();
                        for x in p.list("IncludedPaths") {
                            let s = x.as_str().unwrap_or_default();
                            if !(s.is_empty() || s.starts_with('/')) {
                                return Err(bad("JSON_MATCH_PATTERN", s, super::REASON_FORMAT));
                            }
                            out.push(s.to_string());
                        }
                        Some(out)
                    }
                    _ => {
                        return Err(bad(
                            "JSON_MATCH_PATTERN",
                            "MatchPattern",
                            super::REASON_EXACTLY_ONE,
                        ))
                    }
                };
                let invalid = match inner.str_opt("InvalidFallbackBehavior") {
                    None => InvalidJson::Partial,
                    Some("MATCH") => InvalidJson::Match,
                    Some("NO_MATCH") => InvalidJson::NoMatch,
                    Some("EVALUATE_AS_STRING") => InvalidJson::EvaluateAsString,
                    Some(other) => {
                        return Err(bad(
                            "BODY_PARSING_FALLBACK_BEHAVIOR",
                            other,
                            super::REASON_FORMAT,
                        ))
                    }
                };
                Field::JsonBody {
                    paths,
                    scope: scope(&inner, "JSON_MATCH_SCOPE")?,
                    invalid,
                    oversize: oversize(&inner, false, "FIELD_TO_MATCH")?,
                }
            }
            "Headers" => Field::Headers {
                pattern: map_pattern(
                    &inner,
                    "All",
                    "IncludedHeaders",
                    "ExcludedHeaders",
                    "HEADER_MATCH_PATTERN",
                    true,
                )?,
                scope: scope(&inner, "MAP_MATCH_SCOPE")?,
                oversize: oversize(&inner, true, "FIELD_TO_MATCH")?,
            },
            "Cookies" => Field::Cookies {
                pattern: map_pattern(
                    &inner,
                    "All",
                    "IncludedCookies",
                    "ExcludedCookies",
                    "COOKIE_MATCH_PATTERN",
                    false,
                )?,
                scope: scope(&inner, "MAP_MATCH_SCOPE")?,
                oversize: oversize(&inner, true, "FIELD_TO_MATCH")?,
            },
            "HeaderOrder" => Field::HeaderOrder(oversize(&inner, true, "FIELD_TO_MATCH")?),
            "JA3Fingerprint" | "JA4Fingerprint" | "UriFragment" => {
                Field::Unavailable(fallback(&inner)?)
            }
            other => return Err(bad("FIELD_TO_MATCH", other, super::REASON_FORMAT)),
        })
    }

    /// Whether this field inspects the request body (for WCU and body buffering).
    pub fn is_body(&self) -> bool {
        matches!(self, Field::Body(_) | Field::JsonBody { .. })
    }

    /// The values of this component of `req`.
    pub fn values<'a>(&self, req: &'a Request, body_limit: usize) -> Values<'a> {
        match self {
            Field::SingleHeader(n) => Values::Some(
                req.headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| Cow::Borrowed(v.as_bytes()))
                    .collect(),
            ),
            Field::SingleQueryArgument(n) => Values::Some(
                parse_urlencoded(req.query_string.as_bytes())
                    .into_iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(n.as_bytes()))
                    .map(|(_, v)| Cow::Owned(v))
                    .collect(),
            ),
            Field::AllQueryArguments => Values::Some(
                parse_urlencoded(req.query_string.as_bytes())
                    .into_iter()
                    .map(|(_, v)| Cow::Owned(v))
                    .collect(),
            ),
            Field::UriPath => Values::Some(vec![Cow::Borrowed(req.uri_path.as_bytes())]),
            Field::QueryString => Values::Some(vec![Cow::Borrowed(req.query_string.as_bytes())]),
            Field::Method => Values::Some(vec![Cow::Borrowed(req.method.as_bytes())]),
            Field::Body(o) => {
                if req.body_len() > body_limit {
                    match o {
                        Oversize::Match => return Values::Decided(true),
                        Oversize::NoMatch => return Values::Decided(false),
                        Oversize::Continue => {}
                    }
                }
                Values::Some(vec![Cow::Borrowed(req.body_inspected(body_limit))])
            }
            Field::JsonBody {
                paths,
                scope,
                invalid,
                oversize,
            } => {
                if req.body_len() > body_limit {
                    match oversize {
                        Oversize::Match => return Values::Decided(true),
                        Oversize::NoMatch => return Values::Decided(false),
                        Oversize::Continue => {}
                    }
                }
                let body = req.body_inspected(body_limit);
                if body.iter().all(u8::is_ascii_whitespace) {
                    return Values::Some(Vec::new());
                }
                let scan = json::scan(body);
                if !scan.valid {
                    match invalid {
                        InvalidJson::Match => return Values::Decided(true),
                        InvalidJson::NoMatch => return Values::Decided(false),
                        InvalidJson::EvaluateAsString => {
                            return Values::Some(vec![Cow::Borrowed(body)])
                        }
                        InvalidJson::Partial => {}
                    }
                }
                Values::Some(
                    scan.nodes
                        .into_iter()
                        .filter(|n| match scope {
                            Scope::All => true,
                            Scope::Key => n.is_key,
                            Scope::Value => !n.is_key,
                        })
                        .filter(|n| paths.as_ref().is_none_or(|p| json::included(&n.pointer, p)))
                        .map(|n| Cow::Owned(n.text))
                        .collect(),
                )
            }
            Field::Headers {
                pattern,
                scope,
                oversize,
            } => {
                let total: usize = req.headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
                if req.headers.len() > MAX_HEADERS || total > MAX_HEADER_BYTES {
                    match oversize {
                        Oversize::Match => return Values::Decided(true),
                        Oversize::NoMatch => return Values::Decided(false),
                        Oversize::Continue => {}
                    }
                }
                let pairs = req.headers.iter().take(MAX_HEADERS).filter(|(k, _)| {
                    let lk = k.to_ascii_lowercase();
                    match pattern {
                        MapPattern::All => true,
                        MapPattern::Included(n) => n.contains(&lk),
                        MapPattern::Excluded(n) => !n.contains(&lk),
                    }
                });
                let mut out = Vec::new();
                for (k, v) in pairs {
                    if *scope != Scope::Value {
                        out.push(Cow::Borrowed(k.as_bytes()));
                    }
                    if *scope != Scope::Key {
                        out.push(Cow::Borrowed(v.as_bytes()));
                    }
                }
                Values::Some(out)
            }
            Field::Cookies {
                pattern,
                scope,
                oversize,
            } => {
                let cookies = req.cookies();
                let total: usize = cookies.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
                if cookies.len() > MAX_COOKIES || total > MAX_HEADER_BYTES {
                    match oversize {
                        Oversize::Match => return Values::Decided(true),
                        Oversize::NoMatch => return Values::Decided(false),
                        Oversize::Continue => {}
                    }
                }
                let mut out = Vec::new();
                for (k, v) in cookies.into_iter().take(MAX_COOKIES) {
                    let keep = match pattern {
                        MapPattern::All => true,
                        MapPattern::Included(n) => n.contains(&k),
                        MapPattern::Excluded(n) => !n.contains(&k),
                    };
                    if !keep {
                        continue;
                    }
                    if *scope != Scope::Value {
                        out.push(Cow::Owned(k.into_bytes()));
                    }
                    if *scope != Scope::Key {
                        out.push(Cow::Owned(v.into_bytes()));
                    }
                }
                Values::Some(out)
            }
            Field::HeaderOrder(oversize) => {
                if req.headers.len() > MAX_HEADERS {
                    match oversize {
                        Oversize::Match => return Values::Decided(true),
                        Oversize::NoMatch => return Values::Decided(false),
                        Oversize::Continue => {}
                    }
                }
                let order = req
                    .headers
                    .iter()
                    .take(MAX_HEADERS)
                    .map(|(k, _)| k.to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join(":");
                Values::Some(vec![Cow::Owned(order.into_bytes())])
            }
            Field::Unavailable(m) => Values::Decided(*m),
        }
    }
}
