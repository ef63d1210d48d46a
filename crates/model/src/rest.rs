//! restJson1: routing by method and URI template, members bound to the path, query string,
//! headers, status code and a JSON (or raw payload) body.
use crate::query::{epoch_value, scalar, scalar_text};
use crate::{time, Kind, Location, Member, Operation, ServiceModel, Shape, ShapeId};
use base64::Engine as _;
use rampart_core::AwsError;
use serde_json::{Map, Value};

#[derive(Debug)]
enum Seg<'a> {
    Literal(&'a str),
    Label(&'a str),
    Greedy(&'a str),
}

fn template_segments(t: &str) -> Vec<Seg<'_>> {
    t.trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(g) => Seg::Greedy(g),
                    None => Seg::Label(name),
                },
                None => Seg::Literal(s),
            },
        )
        .collect()
}

/// Percent-decodes a path segment or query component (`+` stays `+` in paths).
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| -> Option<u8> {
            let h = bytes.get(at..at + 2)?;
            u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
        };
        match b {
            b'%' => match hex(i + 1) {
                Some(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                None => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(p, true), String::new()),
        })
        .collect()
}

fn match_segments(tpl: &[Seg<'_>], req: &[&str], caps: &mut Vec<(String, String)>) -> bool {
    let Some((first, rest)) = tpl.split_first() else {
        return req.is_empty();
    };
    match first {
        Seg::Literal(l) => match req.split_first() {
            Some((r, req_rest)) if percent_decode(r, false) == *l => {
                match_segments(rest, req_rest, caps)
            }
            _ => false,
        },
        Seg::Label(name) => match req.split_first() {
            Some((r, req_rest)) if !r.is_empty() => {
                caps.push(((*name).to_string(), percent_decode(r, false)));
                if match_segments(rest, req_rest, caps) {
                    return true;
                }
                caps.pop();
                false
            }
            _ => false,
        },
        Seg::Greedy(name) => {
            // One or more segments; the longest that lets the rest match.
            for take in (1..=req.len()).rev() {
                let (head, tail) = req.split_at(take);
                caps.push(((*name).to_string(), percent_decode(&head.join("/"), false)));
                if match_segments(rest, tail, caps) {
                    return true;
                }
                caps.pop();
            }
            false
        }
    }
}

/// The operation a restJson1 request is for, and the values of its URI labels
/// (percent-decoded, named as in the template). `path` may carry the query string
/// (`/p?a=b`): templates with query literals (`/{Bucket}?acl`, `?list-type=2`) then only match
/// when those are present. When several templates match, the most specific wins: more
/// literal segments, then no greedy label, then more query literals.
pub fn match_rest(
    svc: &'static ServiceModel,
    method: &str,
    path: &str,
) -> Option<(&'static Operation, Vec<(String, String)>)> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let query = parse_query(query);
    let req: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    type Candidate = (
        (usize, bool, usize),
        &'static Operation,
        Vec<(String, String)>,
    );
    let mut best: Option<Candidate> = None;
    for op in svc.operations {
        if !op.http_method.eq_ignore_ascii_case(method) {
            continue;
        }
        let (tpath, tquery) = op
            .request_uri
            .split_once('?')
            .unwrap_or((op.request_uri, ""));
        let literals = parse_query(tquery);
        let query_ok = literals.iter().all(|(k, v)| {
            query
                .iter()
                .any(|(qk, qv)| qk == k && (v.is_empty() || qv == v))
        });
        if !query_ok {
            continue;
        }
        let segs = template_segments(tpath);
        let mut caps = Vec::new();
        if !match_segments(&segs, &req, &mut caps) {
            continue;
        }
        let score = (
            segs.iter().filter(|s| matches!(s, Seg::Literal(_))).count(),
            !segs.iter().any(|s| matches!(s, Seg::Greedy(_))),
            literals.len(),
        );
        if best.as_ref().is_none_or(|(b, _, _)| score > *b) {
            best = Some((score, op, caps));
        }
    }
    best.map(|(_, op, caps)| (op, caps))
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Decodes a restJson1 request into the canonical value of `op`'s input: URI labels
/// (`path_params` as [`match_rest`] returns them), query parameters (`query_pairs`,
/// decoded; a map-typed querystring member takes the parameters no other member binds),
/// headers (timestamps as HTTP dates, lists comma-separated, `jsonvalue` headers base64 JSON,
/// prefixed header maps), and the body: the payload member's raw bytes, or a JSON object
/// whose keys are the members' wire names (`locationName`).
pub fn decode_rest(
    svc: &ServiceModel,
    op: &Operation,
    path_params: &[(String, String)],
    query_pairs: &[(String, String)],
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Value, AwsError> {
    let mut obj = Map::new();
    let Some(input) = op.input else {
        return Ok(Value::Object(obj));
    };
    let s = svc.shape(input);
    let members = s.members();
    let bound_query: Vec<&str> = members
        .iter()
        .filter(|m| {
            m.location == Location::Querystring
                && !matches!(svc.shape(m.shape).kind, Kind::Map { .. })
        })
        .map(|m| m.wire_name())
        .collect();
    for m in members {
        let target = svc.shape(m.shape);
        let v = match m.location {
            Location::Uri => match path_params.iter().find(|(k, _)| k == m.wire_name()) {
                Some((_, text)) => Some(scalar(svc, target, m.wire_name(), text)?),
                None => None,
            },
            Location::Querystring => query_member(svc, m, target, query_pairs, &bound_query)?,
            Location::Header => match header(headers, m.wire_name()) {
                Some(text) => Some(header_value(svc, m, target, text)?),
                None => None,
            },
            Location::Headers => {
                let prefix = m.wire_name().to_ascii_lowercase();
                let map: Map<String, Value> = headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let lk = k.to_ascii_lowercase();
                        let rest = lk.strip_prefix(&prefix)?;
                        Some((rest.to_string(), Value::String(v.clone())))
                    })
                    .collect();
                (!map.is_empty()).then_some(Value::Object(map))
            }
            Location::StatusCode | Location::Body => None,
        };
        if let Some(v) = v {
            obj.insert(m.name.to_string(), v);
        }
    }
    if let Some(p) = members.iter().find(|m| m.payload) {
        if !body.is_empty() {
            let target = svc.shape(p.shape);
            let v = match target.kind {
                Kind::Blob => Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
                Kind::String => {
                    Value::String(String::from_utf8(body.to_vec()).map_err(|_| {
                        AwsError::serialization("The request body is not valid UTF-8")
                    })?)
                }
                _ => from_wire(svc, p.shape, parse_json(body)?),
            };
            obj.insert(p.name.to_string(), v);
        }
    } else if members.iter().any(|m| m.location == Location::Body) {
        let wire = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            parse_json(body)?
        };
        let Value::Object(mut wire) = wire else {
            return Err(AwsError::serialization(
                "The request body must be a JSON object",
            ));
        };
        for m in members.iter().filter(|m| m.location == Location::Body) {
            if let Some(v) = wire.remove(m.wire_name()) {
                obj.insert(m.name.to_string(), from_wire(svc, m.shape, v));
            }
        }
    }
    Ok(Value::Object(obj))
}

fn parse_json(body: &[u8]) -> Result<Value, AwsError> {
    serde_json::from_slice(body)
        .map_err(|e| AwsError::serialization(format!("The request body is not valid JSON: {e}")))
}

fn query_member(
    svc: &ServiceModel,
    m: &Member,
    target: &Shape,
    query: &[(String, String)],
    bound: &[&str],
) -> Result<Option<Value>, AwsError> {
    let name = m.wire_name();
    match target.kind {
        Kind::List { member, .. } => {
            let item = svc.shape(member);
            let mut items = Vec::new();
            for (_, v) in query.iter().filter(|(k, _)| k == name) {
                items.push(scalar(svc, item, name, v)?);
            }
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        Kind::Map { value, .. } => {
            let vs = svc.shape(value);
            let mut map = Map::new();
            for (k, v) in query.iter().filter(|(k, _)| !bound.contains(&k.as_str())) {
                match vs.kind {
                    Kind::List { .. } => {
                        let entry = map
                            .entry(k.clone())
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(a) = entry {
                            a.push(Value::String(v.clone()));
                        }
                    }
                    _ => {
                        map.entry(k.clone())
                            .or_insert_with(|| Value::String(v.clone()));
                    }
                }
            }
            Ok((!map.is_empty()).then_some(Value::Object(map)))
        }
        _ => match query.iter().find(|(k, _)| k == name) {
            Some((_, v)) => Ok(Some(scalar(svc, target, name, v)?)),
            None => Ok(None),
        },
    }
}

fn header_value(
    svc: &ServiceModel,
    m: &Member,
    target: &Shape,
    text: &str,
) -> Result<Value, AwsError> {
    let name = m.wire_name();
    if m.json_value {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| AwsError::serialization(format!("Header {name} is not valid base64")))?;
        let json = String::from_utf8(raw)
            .map_err(|_| AwsError::serialization(format!("Header {name} is not valid UTF-8")))?;
        return Ok(Value::String(json));
    }
    match target.kind {
        Kind::List { member, .. } => {
            let item = svc.shape(member);
            let mut items = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                items.push(header_scalar(svc, item, name, part)?);
            }
            Ok(Value::Array(items))
        }
        _ => header_scalar(svc, target, name, text),
    }
}

fn header_scalar(svc: &ServiceModel, s: &Shape, name: &str, text: &str) -> Result<Value, AwsError> {
    if matches!(s.kind, Kind::Timestamp) {
        let secs = time::parse_any(text, Some(s.timestamp_format.unwrap_or("rfc822"))).ok_or_else(
            || {
                crate::error(
                    svc.validation_code(),
                    400,
                    true,
                    format!("Invalid value '{text}' for header {name}: expected an HTTP date"),
                )
            },
        )?;
        return Ok(epoch_value(secs));
    }
    scalar(svc, s, name, text.trim())
}

/// Wire JSON (keys are `locationName`s, timestamps as the model formats them) to the
/// canonical value. Values of the wrong type are left for `validate` to refuse.
fn from_wire(svc: &ServiceModel, shape: ShapeId, v: Value) -> Value {
    let s = svc.shape(shape);
    match (&s.kind, v) {
        (Kind::Structure { members }, Value::Object(mut o)) if !s.document => {
            let mut out = Map::new();
            for m in members.iter() {
                if let Some(x) = o.remove(m.wire_name()) {
                    out.insert(m.name.to_string(), from_wire(svc, m.shape, x));
                }
            }
            Value::Object(out)
        }
        (Kind::List { member, .. }, Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|x| from_wire(svc, *member, x))
                .collect(),
        ),
        (Kind::Map { value, .. }, Value::Object(o)) => Value::Object(
            o.into_iter()
                .map(|(k, x)| (k, from_wire(svc, *value, x)))
                .collect(),
        ),
        (Kind::Timestamp, Value::String(t)) => match time::parse_any(&t, s.timestamp_format) {
            Some(secs) => epoch_value(secs),
            None => Value::String(t),
        },
        (_, v) => v,
    }
}

/// The canonical value to wire JSON (keys are `locationName`s, timestamps epoch seconds
/// unless the model says otherwise).
fn to_wire(svc: &ServiceModel, shape: ShapeId, v: &Value) -> Value {
    let s = svc.shape(shape);
    match (&s.kind, v) {
        (Kind::Structure { members }, Value::Object(o)) if !s.document => {
            let mut out = Map::new();
            for m in members.iter() {
                if let Some(x) = o.get(m.name).filter(|x| !x.is_null()) {
                    out.insert(m.wire_name().to_string(), to_wire(svc, m.shape, x));
                }
            }
            Value::Object(out)
        }
        (Kind::List { member, .. }, Value::Array(items)) => {
            Value::Array(items.iter().map(|x| to_wire(svc, *member, x)).collect())
        }
        (Kind::Map { value, .. }, Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), to_wire(svc, *value, x)))
                .collect(),
        ),
        (Kind::Timestamp, Value::Number(n))
            if matches!(s.timestamp_format, Some("iso8601") | Some("rfc822")) =>
        {
            Value::String(time::format(
                n.as_f64().unwrap_or(0.0),
                s.timestamp_format,
                "unixTimestamp",
            ))
        }
        (_, v) => v.clone(),
    }
}

/// Encodes the canonical output of `op` as a restJson1 response: the status (the
/// operation's `responseCode`, or a `statusCode` member), headers (header and prefixed
/// header-map members; `Content-Type`), and the body: the payload member's raw bytes, or a
/// JSON object of the body members under their wire names. An operation without output
/// answers an empty body.
pub fn encode_rest_response(
    svc: &ServiceModel,
    op: &Operation,
    out: &Value,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut status = if op.response_code == 0 {
        200
    } else {
        op.response_code
    };
    let mut headers = Vec::new();
    let Some(output) = op.output else {
        return (status, headers, Vec::new());
    };
    let s = svc.shape(output);
    let empty = Map::new();
    let o = out.as_object().unwrap_or(&empty);
    let members = s.members();
    for m in members {
        let Some(v) = o.get(m.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let target = svc.shape(m.shape);
        match m.location {
            Location::Header => {
                let text = if m.json_value {
                    let json = match v {
                        Value::String(t) => t.clone(),
                        other => other.to_string(),
                    };
                    base64::engine::general_purpose::STANDARD.encode(json)
                } else if let (Kind::List { member, .. }, Value::Array(items)) = (&target.kind, v) {
                    let item = svc.shape(*member);
                    items
                        .iter()
                        .map(|x| scalar_text(item, x, "rfc822"))
                        .collect::<Vec<_>>()
                        .join(",")
                } else {
                    scalar_text(target, v, "rfc822")
                };
                headers.push((m.wire_name().to_string(), text));
            }
            Location::Headers => {
                if let Value::Object(map) = v {
                    for (k, x) in map {
                        let text = match x {
                            Value::String(t) => t.clone(),
                            other => other.to_string(),
                        };
                        headers.push((format!("{}{k}", m.wire_name()), text));
                    }
                }
            }
            Location::StatusCode => {
                if let Some(code) = v.as_u64().and_then(|c| u16::try_from(c).ok()) {
                    status = code;
                }
            }
            Location::Uri | Location::Querystring | Location::Body => {}
        }
    }
    let body = if let Some(p) = members.iter().find(|m| m.payload) {
        let target = svc.shape(p.shape);
        match (o.get(p.name), &target.kind) {
            (None | Some(Value::Null), _) => Vec::new(),
            (Some(Value::String(b)), Kind::Blob) => {
                headers.push((
                    "Content-Type".to_string(),
                    "application/octet-stream".to_string(),
                ));
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .unwrap_or_default()
            }
            (Some(Value::String(t)), Kind::String) => {
                headers.push(("Content-Type".to_string(), "text/plain".to_string()));
                t.clone().into_bytes()
            }
            (Some(v), _) => {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
                to_wire(svc, p.shape, v).to_string().into_bytes()
            }
        }
    } else {
        let mut body = Map::new();
        for m in members.iter().filter(|m| m.location == Location::Body) {
            if let Some(v) = o.get(m.name).filter(|v| !v.is_null()) {
                body.insert(m.wire_name().to_string(), to_wire(svc, m.shape, v));
            }
        }
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
        Value::Object(body).to_string().into_bytes()
    };
    (status, headers, body)
}
