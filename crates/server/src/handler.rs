//! One request, start to finish.
use crate::protocol::{self, header, Proto};
use crate::serve::Body;
use crate::State;
use bytes::Bytes;
use chrono::Utc;
use http::request::Parts;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use rampart_core::{AwsError, Principal, RequestContext};
use rampart_identity::Identity;
use rampart_sigv4::{SigError, SignedRequest};
use rampart_trail::AuditEvent;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// A response before it becomes an HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    fn into_response(self) -> Response<Body> {
        let mut b = Response::builder().status(self.status);
        for (k, v) in &self.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|_| {
                let mut r = Response::new(Full::new(Bytes::new()));
                *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                r
            })
    }
}

const SIG_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const BAD_TOKEN: &str = "The security token included in the request is invalid.";

/// The AWS error for an authentication failure, in the protocol's dialect.
fn auth_error(proto: Proto, e: AuthFailure) -> AwsError {
    let query = proto == Proto::Query;
    match e {
        AuthFailure::Sig(SigError::Missing) => {
            if query {
                AwsError::new(
                    "MissingAuthenticationToken",
                    403,
                    "Request is missing Authentication Token",
                )
            } else {
                AwsError::new(
                    "MissingAuthenticationTokenException",
                    403,
                    "Missing Authentication Token",
                )
            }
        }
        AuthFailure::Sig(SigError::Incomplete(m)) | AuthFailure::Sig(SigError::Malformed(m)) => {
            if query {
                AwsError::new("IncompleteSignature", 400, m)
            } else {
                AwsError::new("IncompleteSignatureException", 400, m)
            }
        }
        AuthFailure::Sig(SigError::UnsupportedAlgorithm(m)) => {
            if query {
                AwsError::new("IncompleteSignature", 400, m)
            } else {
                AwsError::new("IncompleteSignatureException", 400, m)
            }
        }
        AuthFailure::Sig(SigError::Expired(m)) | AuthFailure::Sig(SigError::NotYetValid(m)) => {
            if query {
                AwsError::new("SignatureDoesNotMatch", 403, m)
            } else {
                AwsError::new("InvalidSignatureException", 400, m)
            }
        }
        AuthFailure::Sig(SigError::InvalidSignature)
        | AuthFailure::Sig(SigError::PayloadHashMismatch) => {
            if query {
                AwsError::new("SignatureDoesNotMatch", 403, SIG_MISMATCH)
            } else {
                AwsError::new("InvalidSignatureException", 400, SIG_MISMATCH)
            }
        }
        AuthFailure::Region(region) => {
            let m = format!("Credential should be scoped to a valid region, not '{region}'.");
            if query {
                AwsError::new("SignatureDoesNotMatch", 403, m)
            } else {
                AwsError::new("InvalidSignatureException", 400, m)
            }
        }
        AuthFailure::Expired => {
            let m = "The security token included in the request is expired";
            if query {
                AwsError::new("ExpiredToken", 403, m)
            } else {
                AwsError::new("ExpiredTokenException", 400, m)
            }
        }
        AuthFailure::UnknownKey => {
            if query {
                AwsError::new("InvalidClientTokenId", 403, BAD_TOKEN)
            } else {
                AwsError::new("UnrecognizedClientException", 400, BAD_TOKEN)
            }
        }
        AuthFailure::Internal => AwsError::internal(),
    }
}

enum AuthFailure {
    Sig(SigError),
    /// Temporary credentials past their expiry.
    Expired,
    /// Signed for a region this node does not serve.
    Region(String),
    UnknownKey,
    Internal,
}

/// Who signed the request, once the signature checks out.
struct Authenticated {
    principal: Principal,
    region: String,
    service: String,
}

/// A refused authentication: why, the key id and the signing service when they could be read.
type Refusal = (AuthFailure, Option<String>, Option<String>);

fn authenticate(state: &State, parts: &Parts, body: &[u8]) -> Result<Authenticated, Refusal> {
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if !parts.headers.contains_key("host") {
        if let Some(a) = parts.uri.authority() {
            headers.push(("host".into(), a.as_str().to_string()));
        }
    }
    let raw_path = parts.uri.path();
    let raw_query = parts.uri.query().unwrap_or("");
    let req = SignedRequest {
        method: parts.method.as_str(),
        raw_path,
        raw_query,
        headers: &headers,
        body,
    };
    let auth = rampart_sigv4::parse(&req).map_err(|e| (AuthFailure::Sig(e), None, None))?;
    if auth.kind == rampart_sigv4::AuthKind::Anonymous {
        return Err((AuthFailure::Sig(SigError::Missing), None, None));
    }
    let akid = auth.access_key_id.clone();
    let svc = Some(auth.service.clone());
    if !state.regions.iter().any(|r| r == &auth.region) {
        return Err((AuthFailure::Region(auth.region.clone()), Some(akid), svc));
    }
    let lookup = state.identity.lookup_key(&akid).map_err(|e| {
        tracing::error!(error = %e, "access key lookup failed");
        (AuthFailure::Internal, Some(akid.clone()), svc.clone())
    })?;
    match lookup {
        Some(k) => {
            // Temporary credentials are valid only with their session token; a long-term key
            // never carries one.
            match (&k.session_token, &auth.security_token) {
                (Some(expected), Some(given)) => {
                    let same: bool = expected.as_bytes().ct_eq(given.as_bytes()).into();
                    if !same {
                        return Err((AuthFailure::UnknownKey, Some(akid), svc));
                    }
                }
                (None, None) if k.active => {}
                _ => return Err((AuthFailure::UnknownKey, Some(akid), svc)),
            }
            rampart_sigv4::verify(
                &req,
                &auth,
                k.secret.as_str(),
                Utc::now(),
                Some(&state.sig_cache),
            )
            .map_err(|e| (AuthFailure::Sig(e), Some(akid.clone()), svc.clone()))?;
            if k.expires.is_some_and(|t| t <= Utc::now()) {
                return Err((AuthFailure::Expired, Some(akid), svc));
            }
            Ok(Authenticated {
                principal: k.principal,
                region: auth.region,
                service: auth.service,
            })
        }
        None if state.dev => Ok(Authenticated {
            principal: Identity::dev_principal(&akid),
            region: auth.region,
            service: auth.service,
        }),
        None => Err((AuthFailure::UnknownKey, Some(akid), svc)),
    }
}

fn error_response(
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
    proto: Proto,
) -> Response<Body> {
    protocol::encode_err(
        proto,
        None,
        &AwsError::new(code.to_string(), status, message),
        request_id,
    )
    .into_response()
}

/// Refuses a request before it could be authenticated (limits, time-outs), leaving its audit
/// event like every other refusal.
async fn refuse(
    state: &Arc<State>,
    parts: &Parts,
    peer: SocketAddr,
    secure: bool,
    request_id: &str,
    proto: Proto,
    err: AwsError,
) -> Response<Body> {
    let st = state.clone();
    let op = protocol::operation_hint(parts, &[]).unwrap_or_default();
    let ua = header(parts, "user-agent").unwrap_or("").to_string();
    let rid = request_id.to_string();
    let e = err.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let source = "rampart.amazonaws.com";
        let origin = Origin {
            peer,
            secure,
            user_agent: &ua,
            request_id: &rid,
        };
        record_unauthenticated(&st, &origin, &op, source, None, &e);
    })
    .await;
    protocol::encode_err(proto, None, &err, request_id).into_response()
}

/// Handles one HTTP request.
pub async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
    peer: SocketAddr,
    secure: bool,
) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let proto_guess = Proto::guess(&parts);

    // Limits before reading the body.
    let declared = header(&parts, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.limits.max_body_bytes as u64) {
        let msg = format!(
            "The request body exceeds the limit of {} bytes.",
            state.limits.max_body_bytes
        );
        let err = AwsError::new("RequestEntityTooLarge", 413, msg);
        return refuse(&state, &parts, peer, secure, &request_id, proto_guess, err).await;
    }
    let collected = tokio::time::timeout(
        state.limits.body_timeout,
        Limited::new(body, state.limits.max_body_bytes).collect(),
    )
    .await;
    let body: Bytes = match collected {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e)) => {
            let too_big = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let (status, code, msg) = if too_big {
                (
                    413,
                    "RequestEntityTooLarge",
                    format!(
                        "The request body exceeds the limit of {} bytes.",
                        state.limits.max_body_bytes
                    ),
                )
            } else {
                (
                    400,
                    "IncompleteBody",
                    "The request body ended before its declared length.".to_string(),
                )
            };
            let err = AwsError::new(code, status, msg);
            return refuse(&state, &parts, peer, secure, &request_id, proto_guess, err).await;
        }
        Err(_) => {
            let msg = "The request body was not received in time.";
            let err = AwsError::new("RequestTimeout", 408, msg);
            return refuse(&state, &parts, peer, secure, &request_id, proto_guess, err).await;
        }
    };

    let path = parts.uri.path();
    if path == "/_rampart/health" && parts.method == http::Method::GET {
        return Reply::new(200, "application/json", br#"{"status":"ok"}"#.to_vec()).into_response();
    }
    if path == "/metrics" && parts.method == http::Method::GET {
        let text = state.metrics.as_ref().map(|f| f()).unwrap_or_default();
        return Reply::new(200, "text/plain; version=0.0.4", text.into_bytes()).into_response();
    }
    if state.dev
        && parts.method == http::Method::POST
        && (path == "/moto-api/reset" || path == "/_rampart/reset")
    {
        let st = state.clone();
        let r = tokio::task::spawn_blocking(move || reset(&st)).await;
        return match r {
            Ok(Ok(())) => {
                Reply::new(200, "application/json", br#"{"reset":true}"#.to_vec()).into_response()
            }
            _ => error_response(
                500,
                "InternalFailure",
                "The reset failed.",
                &request_id,
                proto_guess,
            ),
        };
    }

    // A read-only JSON operation runs on the connection's task: it only reads the store (a
    // page-cache lookup) and queues its audit event, so moving it to the blocking pool would
    // cost more (two thread hand-offs) than it saves. Anything that may wait for a write's
    // commit runs on the blocking pool.
    if !state.strict_trail && read_only_json(&state, &parts) {
        return process(
            &state,
            &parts,
            &body,
            peer,
            secure,
            &request_id,
            proto_guess,
        )
        .into_response();
    }
    let st = state.clone();
    let reply = tokio::task::spawn_blocking(move || {
        process(&st, &parts, &body, peer, secure, &request_id, proto_guess)
    })
    .await;
    match reply {
        Ok(r) => r.into_response(),
        Err(_) => {
            let rid = uuid::Uuid::new_v4().to_string();
            error_response(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", &rid, proto_guess)
        }
    }
}

fn reset(state: &State) -> Result<(), String> {
    use rampart_store::StoreExt;
    state
        .store
        .write(|tx: &mut dyn rampart_store::Tx| tx.wipe())
        .map_err(|e| e.to_string())?;
    state.identity.clear_cache();
    if let Some(f) = &state.on_reset {
        f()?;
    }
    Ok(())
}

/// Operations the models call read-only that still do heavy work (RSA key generation) or
/// write (an import's wrapping key): they run on the blocking pool like writes.
const HEAVY_READS: &[&str] = &[
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GetParametersForImport",
];

/// Whether the request names (by `X-Amz-Target`) a light read-only operation of a JSON
/// service, which runs on the connection's task.
fn read_only_json(state: &State, parts: &Parts) -> bool {
    let Some(target) = header(parts, "x-amz-target") else {
        return false;
    };
    let Some((prefix, op)) = target.rsplit_once('.') else {
        return false;
    };
    if HEAVY_READS.contains(&op) {
        return false;
    }
    state
        .registry
        .by_target_prefix(prefix)
        .and_then(|e| e.model.operation(op))
        .is_some_and(|o| o.read_only)
}

/// Authenticates, routes, decodes, validates, dispatches and audits one request.
fn process(
    state: &State,
    parts: &Parts,
    body: &[u8],
    peer: SocketAddr,
    secure: bool,
    request_id: &str,
    proto_guess: Proto,
) -> Reply {
    let now = Utc::now();
    let user_agent = header(parts, "user-agent").unwrap_or("").to_string();
    let origin = Origin {
        peer,
        secure,
        user_agent: &user_agent,
        request_id,
    };

    let authn = authenticate(state, parts, body);
    let auth = match authn {
        Ok(a) => a,
        Err((failure, akid, service)) => {
            let entry = service
                .as_deref()
                .and_then(|s| state.registry.by_signing_name(s));
            let proto = entry
                .map(|e| Proto::of_model(e.model))
                .unwrap_or(proto_guess);
            let err = auth_error(proto, failure);
            let op = protocol::operation_hint(parts, body).unwrap_or_default();
            let source = entry
                .map(|e| e.model.event_source)
                .unwrap_or("rampart.amazonaws.com");
            record_unauthenticated(state, &origin, &op, source, akid.as_deref(), &err);
            return protocol::encode_err(proto, entry.map(|e| e.model), &err, request_id);
        }
    };

    let Some(entry) = state.registry.by_signing_name(&auth.service).cloned() else {
        let msg = format!("Rampart does not serve the service '{}'.", auth.service);
        let err = match proto_guess {
            Proto::Query => AwsError::new("InvalidAction", 400, msg),
            _ => AwsError::unknown_operation(msg),
        };
        let op = protocol::operation_hint(parts, body).unwrap_or_default();
        let source = format!("{}.amazonaws.com", auth.service);
        let akid = auth.principal.access_key_id.clone();
        record_unauthenticated(state, &origin, &op, &source, akid.as_deref(), &err);
        return protocol::encode_err(proto_guess, None, &err, request_id);
    };
    let model = entry.model;
    let proto = Proto::of_model(model);

    let mut ctx = RequestContext {
        request_id: request_id.to_string(),
        account_id: auth.principal.account_id.clone(),
        region: auth.region.clone(),
        principal: auth.principal,
        source_ip: peer.ip(),
        secure_transport: secure,
        time: now,
        user_agent,
        service: auth.service.clone(),
        operation: protocol::operation_hint(parts, body).unwrap_or_default(),
    };

    let decoded = protocol::decode(&entry, parts, body);
    let (op, input) = match decoded {
        Ok(x) => x,
        Err(err) => {
            let mut ev = AuditEvent::from_context(&ctx, model.event_source, false);
            ev.error_code = Some(err.code.to_string());
            ev.error_message = Some(err.message.clone());
            record(state, &ev, false);
            return protocol::encode_err(proto, Some(model), &err, request_id);
        }
    };
    ctx.operation = op.name.to_string();

    let mut ev = AuditEvent::from_context(&ctx, model.event_source, op.read_only);
    ev.request_parameters = match op.input {
        Some(shape) if input.as_object().is_some_and(|o| !o.is_empty()) => {
            rampart_model::trail_view(model, shape, &input)
        }
        _ => Value::Null,
    };

    let validated = match op.input {
        Some(shape) => rampart_model::validate(model, shape, &input),
        None => Ok(()),
    };
    // Authorization plugs in here: the identity issue's policy evaluator decides on
    // (principal, action, resource, context) before the service runs. Until it lands every
    // authenticated principal is an administrator of its account.
    let result = validated
        .and_then(|()| authorize(state, &ctx, &entry, op.name, &input, proto, &mut ev))
        .and_then(|()| (entry.dispatch)(&ctx, op.name, input));

    match result {
        Ok(out) => {
            if !op.read_only {
                if let Some(shape) = op.output {
                    ev.response_elements = rampart_model::trail_view(model, shape, &out);
                }
            }
            if let Some(hook) = &entry.event {
                hook(op.name, Some(&out), &mut ev);
            }
            // A change is acknowledged only once its event is durable too (and the copies a
            // call across accounts leaves the resources' owners).
            let wait = !op.read_only || state.strict_trail;
            let copies = ev.owner_copies();
            for e in std::iter::once(&ev).chain(copies.iter()) {
                if let Err(e) = state.trail.record(e, wait) {
                    tracing::error!(error = %e, "audit event could not be written");
                    return protocol::encode_err(
                        proto,
                        Some(model),
                        &AwsError::internal(),
                        request_id,
                    );
                }
            }
            protocol::encode_ok(proto, model, op, &out, request_id)
        }
        Err(err) => {
            if err.status >= 500 {
                tracing::warn!(request_id, operation = op.name, code = %err.code, "request failed");
            }
            ev.error_code = Some(err.code.to_string());
            ev.error_message = Some(err.message.clone());
            if let Some(hook) = &entry.event {
                hook(op.name, None, &mut ev);
            }
            let copies = ev.owner_copies();
            record(state, &ev, false);
            for c in &copies {
                record(state, c, false);
            }
            protocol::encode_err(proto, Some(model), &err, request_id)
        }
    }
}

/// The permission check of the request path: the caller's identity policies, with the
/// resource policies of the resources the service says the operation acts on. The decisions
/// (and the statements or grant that decided) go into the audit event's
/// `additionalEventData`.
#[allow(clippy::too_many_arguments)]
fn authorize(
    state: &State,
    ctx: &RequestContext,
    entry: &crate::ServiceEntry,
    op: &str,
    input: &Value,
    proto: Proto,
    ev: &mut AuditEvent,
) -> Result<(), AwsError> {
    let Some(authorizer) = &state.authorizer else {
        return Ok(());
    };
    let model = entry.model;
    // As on AWS, GetFederationToken credentials call no IAM operation and no STS operation
    // but GetCallerIdentity, whatever their policies say.
    if ctx.principal.kind == rampart_core::PrincipalKind::FederatedUser
        && (model.signing_name == "iam"
            || (model.signing_name == "sts" && op != "GetCallerIdentity"))
    {
        let msg = format!(
            "User: {} is not authorized to perform: {}:{op} because federated user sessions can't call {}",
            ctx.principal.arn,
            model.signing_name,
            model.signing_name.to_uppercase()
        );
        return Err(if proto == Proto::Query {
            AwsError::new("AccessDenied", 403, msg)
        } else {
            AwsError::new("AccessDeniedException", 400, msg)
        });
    }
    if crate::authz::exempt(model.signing_name, op) {
        return Ok(());
    }
    let accesses = match &entry.resources {
        Some(r) => r(ctx, op, input)?,
        None => Vec::new(),
    };
    // The resources the request acts on go into its event (CloudTrail's `resources`).
    for a in accesses.iter().filter(|a| !a.resource_type.is_empty()) {
        let r = rampart_trail::Resource {
            resource_type: a.resource_type.clone(),
            resource_name: a.resource.clone(),
        };
        if !ev.resources.contains(&r) {
            ev.resources.push(r);
        }
    }
    let tags = crate::authz::request_tag_keys(input);
    let outcomes = if accesses.is_empty() {
        if ctx.principal.kind == rampart_core::PrincipalKind::Root {
            return Ok(());
        }
        let action = format!("{}:{}", model.signing_name, op);
        let resource = crate::authz::resource_for(ctx, model.signing_name, op, input);
        vec![authorizer.check(ctx, &action, &resource, &tags)?]
    } else {
        accesses
            .iter()
            .map(|a| authorizer.check_access(ctx, a, &tags))
            .collect::<Result<Vec<_>, _>>()?
    };
    let views: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let d = &o.decision;
            let mut v = json!({
                "action": o.request.action,
                "resource": o.request.resource,
                "decision": format!("{:?}", d.effect),
                "policy": d.deciding.as_ref().and_then(|s| s.policy_name.as_deref().map(str::to_string)),
                "sid": d.deciding.as_ref().and_then(|s| s.sid.as_deref().map(str::to_string)),
            });
            if let (Some(g), false) = (&o.grant, d.is_allowed()) {
                v["grantId"] = json!(g);
            }
            v
        })
        .collect();
    ev.additional = json!({
        "authorization": if views.len() == 1 { views.into_iter().next().unwrap_or(Value::Null) } else { Value::Array(views) }
    });
    match outcomes.iter().find(|o| !o.is_allowed()) {
        None => Ok(()),
        Some(o) => Err(crate::authz::denied(o, proto == Proto::Query)),
    }
}

fn record(state: &State, ev: &AuditEvent, wait: bool) {
    if let Err(e) = state.trail.record(ev, wait || state.strict_trail) {
        tracing::error!(error = %e, "audit event could not be written");
    }
}

/// What the connection tells about a request before anyone is authenticated.
struct Origin<'a> {
    peer: SocketAddr,
    secure: bool,
    user_agent: &'a str,
    request_id: &'a str,
}

fn record_unauthenticated(
    state: &State,
    origin: &Origin<'_>,
    op: &str,
    event_source: &str,
    akid: Option<&str>,
    err: &AwsError,
) {
    let account = state
        .identity
        .primary_account()
        .ok()
        .flatten()
        .unwrap_or_else(|| rampart_identity::DEV_ACCOUNT.to_string());
    let mut ui = serde_json::Map::new();
    ui.insert("type".into(), json!("Unknown"));
    if let Some(a) = akid {
        ui.insert("accessKeyId".into(), json!(a));
    }
    let ev = AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        event_time: Utc::now(),
        event_source: event_source.to_string(),
        event_name: if op.is_empty() {
            "UnknownOperation".to_string()
        } else {
            op.to_string()
        },
        aws_region: state.default_region.clone(),
        source_ip: origin.peer.ip().to_string(),
        user_agent: origin.user_agent.to_string(),
        request_id: origin.request_id.to_string(),
        user_identity: Value::Object(ui),
        username: String::new(),
        access_key_id: akid.unwrap_or("").to_string(),
        recipient_account_id: account,
        request_parameters: Value::Null,
        response_elements: Value::Null,
        error_code: Some(err.code.to_string()),
        error_message: Some(err.message.clone()),
        read_only: false,
        secure_transport: origin.secure,
        resources: Vec::new(),
        additional: Value::Null,
        shared_event_id: None,
    };
    record(state, &ev, false);
}
