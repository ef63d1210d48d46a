//! Protocol adapters: wire request -> (operation, input value) and output/error -> wire
//! response, for awsJson1_0/1_1, restJson1 and awsQuery. They translate shapes only; the model
//! runtime does the shape-driven work.
use crate::handler::Reply;
use crate::ServiceEntry;
use http::request::Parts;
use rampart_core::AwsError;
use rampart_model::{Operation, Protocol, ServiceModel};
use serde_json::{json, Map, Value};

/// The protocol a reply is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Json { version_10: bool },
    RestJson,
    Query,
}

impl Proto {
    pub fn of_model(m: &ServiceModel) -> Proto {
        match m.protocol {
            Protocol::Json => Proto::Json {
                version_10: m.json_version == "1.0",
            },
            Protocol::RestJson => Proto::RestJson,
            Protocol::Query => Proto::Query,
        }
    }

    /// Before the service is known (authentication failures), guess from the request.
    pub fn guess(parts: &Parts) -> Proto {
        if parts.headers.contains_key("x-amz-target") {
            let v10 = header(parts, "content-type").is_some_and(|c| c.contains("1.0"));
            return Proto::Json { version_10: v10 };
        }
        let form = header(parts, "content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        let action_in_query = parts.uri.query().is_some_and(|q| q.contains("Action="));
        if form || action_in_query {
            Proto::Query
        } else {
            Proto::RestJson
        }
    }
}

pub fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The operation name a request asks for, if it can be told without the model (for the
/// trail event of a request refused before routing).
pub fn operation_hint(parts: &Parts, body: &[u8]) -> Option<String> {
    if let Some(t) = header(parts, "x-amz-target") {
        return t.rsplit('.').next().map(str::to_string);
    }
    query_params(parts, body)
        .into_iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v)
}

fn query_params(parts: &Parts, body: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(q) = parts.uri.query() {
        out.extend(
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .filter(|(k, _)| !k.starts_with("X-Amz-")),
        );
    }
    let form = header(parts, "content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if form {
        out.extend(form_urlencoded::parse(body).into_owned());
    }
    out
}

/// Decodes a request for `entry` into its operation and input value (not yet validated).
pub fn decode(
    entry: &ServiceEntry,
    parts: &Parts,
    body: &[u8],
) -> Result<(&'static Operation, Value), AwsError> {
    let model = entry.model;
    match model.protocol {
        Protocol::Json => {
            let target = header(parts, "x-amz-target").ok_or_else(|| {
                AwsError::unknown_operation(
                    "The request has no X-Amz-Target header naming the operation.",
                )
            })?;
            let (prefix, name) = target.rsplit_once('.').ok_or_else(|| {
                AwsError::unknown_operation(format!(
                    "X-Amz-Target '{target}' does not name an operation."
                ))
            })?;
            if prefix != model.target_prefix {
                return Err(AwsError::unknown_operation(format!(
                    "X-Amz-Target prefix '{prefix}' is not that of {} ('{}').",
                    model.module, model.target_prefix
                )));
            }
            let op = model.operation(name).ok_or_else(|| {
                AwsError::unknown_operation(format!(
                    "Operation {name} is not defined by {}.",
                    model.module
                ))
            })?;
            if let Some(ct) = header(parts, "content-type") {
                let ok = ct.starts_with("application/x-amz-json-1.")
                    || ct.starts_with("application/json");
                if !ok {
                    return Err(AwsError::serialization(format!(
                        "Content-Type '{ct}' is not supported; send application/x-amz-json-{}.",
                        model.json_version
                    )));
                }
            }
            let input = parse_json_object(body)?;
            Ok((op, input))
        }
        Protocol::Query => {
            let params = query_params(parts, body);
            let action = params
                .iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.clone());
            let Some(action) = action else {
                return Err(AwsError::new("MissingAction", 400, "Missing Action"));
            };
            let op = model.operation(&action).ok_or_else(|| {
                AwsError::new(
                    "InvalidAction",
                    400,
                    format!(
                        "Could not find operation {action} for version {}",
                        model.api_version
                    ),
                )
            })?;
            let input = match op.input {
                Some(shape) => rampart_model::decode_query(model, shape, &params)?,
                None => Value::Object(Map::new()),
            };
            Ok((op, input))
        }
        Protocol::RestJson => {
            let path = parts.uri.path();
            let (op, path_params) = rampart_model::match_rest(model, parts.method.as_str(), path)
                .ok_or_else(|| {
                AwsError::unknown_operation(format!(
                    "No operation of {} matches {} {path}.",
                    model.module, parts.method
                ))
            })?;
            let query: Vec<(String, String)> = parts
                .uri
                .query()
                .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default();
            let headers: Vec<(String, String)> = parts
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    v.to_str()
                        .ok()
                        .map(|v| (k.as_str().to_string(), v.to_string()))
                })
                .collect();
            let input =
                rampart_model::decode_rest(model, op, &path_params, &query, &headers, body)?;
            Ok((op, input))
        }
    }
}

fn parse_json_object(body: &[u8]) -> Result<Value, AwsError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Object(Map::new()));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| AwsError::serialization(format!("The request body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(AwsError::serialization(
            "The request body must be a JSON object.",
        ));
    }
    Ok(v)
}

pub fn encode_ok(
    proto: Proto,
    model: &ServiceModel,
    op: &Operation,
    out: &Value,
    request_id: &str,
) -> Reply {
    match proto {
        Proto::Json { version_10 } => {
            // Straight into bytes (strings copied whole where serde_json escapes byte by
            // byte: `rampart_core::json`), in a buffer that holds a typical response (a KMS
            // ciphertext or data key is 1-2 KiB of base64) without growing: every growth
            // copies, and leaves the old buffer, possibly holding a plaintext, to the allocator.
            let body = match out {
                Value::Null => b"{}".to_vec(),
                v => {
                    let mut buf = Vec::with_capacity(2048);
                    rampart_core::json::write_value(&mut buf, v);
                    buf
                }
            };
            Reply::new(200, json_ct(version_10), body).header("x-amzn-RequestId", request_id)
        }
        Proto::Query => {
            let xml = rampart_model::encode_query_response(model, op, out, request_id);
            Reply::new(200, "text/xml", xml.into_bytes()).header("x-amzn-RequestId", request_id)
        }
        Proto::RestJson => {
            let (status, headers, body) = rampart_model::encode_rest_response(model, op, out);
            let mut r =
                Reply::new(status, "application/json", body).header("x-amzn-RequestId", request_id);
            for (k, v) in headers {
                r = r.header(&k, &v);
            }
            r
        }
    }
}

fn json_ct(version_10: bool) -> &'static str {
    if version_10 {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    }
}

pub fn encode_err(
    proto: Proto,
    model: Option<&ServiceModel>,
    err: &AwsError,
    request_id: &str,
) -> Reply {
    match proto {
        Proto::Json { version_10 } => {
            let mut body = json!({"__type": err.code, "message": err.message});
            if let Some(o) = body.as_object_mut() {
                for (k, v) in &err.fields {
                    o.insert((*k).to_string(), v.clone().into());
                }
            }
            Reply::new(
                err.status,
                json_ct(version_10),
                body.to_string().into_bytes(),
            )
            .header("x-amzn-RequestId", request_id)
            .header("x-amzn-ErrorType", &err.code)
        }
        Proto::Query => {
            let xml = match model {
                Some(m) => rampart_model::encode_query_error(m, err, request_id),
                None => generic_query_error(err, request_id),
            };
            Reply::new(err.status, "text/xml", xml.into_bytes())
                .header("x-amzn-RequestId", request_id)
        }
        Proto::RestJson => {
            let mut body =
                json!({"__type": err.code, "message": err.message, "Message": err.message});
            if let Some(o) = body.as_object_mut() {
                for (k, v) in &err.fields {
                    o.insert((*k).to_string(), v.clone().into());
                }
            }
            Reply::new(
                err.status,
                "application/json",
                body.to_string().into_bytes(),
            )
            .header("x-amzn-RequestId", request_id)
            .header("x-amzn-ErrorType", &err.code)
        }
    }
}

/// An awsQuery error for a request whose service is unknown (no XML namespace to give).
fn generic_query_error(err: &AwsError, request_id: &str) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
    }
    format!(
        "<ErrorResponse><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        if err.sender_fault { "Sender" } else { "Receiver" },
        esc(&err.code),
        esc(&err.message),
        esc(request_id)
    )
}
