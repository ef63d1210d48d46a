//! One proxy listener: accepts HTTP/1.1 and HTTP/2 (optionally over TLS), evaluates the web
//! ACL its resource enforces, answers blocked requests itself and forwards the others to the
//! upstream over a keep-alive pool, adding `X-Forwarded-*` and the headers rules insert.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use rampart_firewall::acl::{EvalEnv, Terminal, Verdict};
use rampart_firewall::Request;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::log::{self, Seen};
use crate::token;
use crate::{now_ms, Inner, ProxyRec};
use rampart_waf::apikeys::INTEGRATION_PATH;

/// Bodies larger than this are refused with 413 (the edge buffers what it forwards).
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Slow clients get this long to send their headers (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// And this long for the body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

pub type Body = BoxBody<Bytes, hyper::Error>;

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// An error page as an Application Load Balancer sends it.
fn alb_page(status: u16, reason: &str) -> hyper::Response<Body> {
    let body = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    let mut r = hyper::Response::new(full(body));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html"),
    );
    r.headers_mut()
        .insert(http::header::SERVER, HeaderValue::from_static("awselb/2.0"));
    r
}

/// Runs the accept loop until `stop` turns true.
pub async fn run(
    inner: Arc<Inner>,
    rec: Arc<ProxyRec>,
    tcp: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024)
        .keep_alive(true);
    builder
        .http2()
        .max_header_list_size(64 * 1024)
        .timer(TokioTimer::new());
    let builder = Arc::new(builder);
    loop {
        let accepted = tokio::select! {
            r = tcp.accept() => r,
            _ = stop.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, proxy = %rec.name, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let inner = inner.clone();
        let rec = rec.clone();
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        let mut stop_conn = stop.clone();
        tokio::spawn(async move {
            let is_tls = acceptor.is_some();
            let svc = {
                let inner = inner.clone();
                let rec = rec.clone();
                service_fn(move |req: hyper::Request<Incoming>| {
                    let inner = inner.clone();
                    let rec = rec.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            handle(inner, rec, req, peer, is_tls).await,
                        )
                    }
                })
            };
            match acceptor {
                Some(a) => {
                    let Ok(Ok(tls)) = tokio::time::timeout(HEADER_TIMEOUT, a.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(tls), svc);
                    tokio::select! {
                        r = conn => if let Err(e) = r { tracing::debug!(%peer, error = %e, "connection ended with an error") },
                        _ = stop_conn.changed() => {}
                    }
                }
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        r = conn => if let Err(e) = r { tracing::debug!(%peer, error = %e, "connection ended with an error") },
                        _ = stop_conn.changed() => {}
                    }
                }
            }
        });
    }
}

fn version_str(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

async fn handle(
    inner: Arc<Inner>,
    rec: Arc<ProxyRec>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    tls: bool,
) -> hyper::Response<Body> {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let (parts, body) = req.into_parts();
    if parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY)
    {
        return alb_page(413, "Request Entity Too Large");
    }
    let body =
        match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(e)) => {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return alb_page(413, "Request Entity Too Large");
                }
                return alb_page(400, "Bad Request");
            }
            Err(_) => return alb_page(408, "Request Timeout"),
        };
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let mut wreq = Request::new(parts.method.as_str(), &target);
    wreq.http_version = version_str(parts.version).to_string();
    wreq.source_ip = Some(peer.ip());
    // HTTP/2 carries the host in the authority; AWS shows it as a Host header.
    if parts.version == http::Version::HTTP_2 && !parts.headers.contains_key(http::header::HOST) {
        if let Some(a) = parts.uri.authority() {
            wreq.headers.push(("host".to_string(), a.to_string()));
        }
    }
    for (n, v) in parts.headers.iter() {
        wreq.headers.push((
            n.as_str().to_string(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        ));
    }
    wreq.body = body.to_vec();

    // The token endpoints the interstitials post to, and the JavaScript integration: served
    // by the proxy itself, before any rule (a Challenge rule must not challenge its own answer).
    if let Some(rest) = parts.uri.path().strip_prefix(INTEGRATION_PATH) {
        if let Some(resp) = integration(&inner, &rec, &parts.method, rest, &wreq, tls) {
            return resp;
        }
    }

    let enforced = inner.enforcement(&rec.arn);
    let now = now_ms();
    let token_state = token::Tokens::ages(request_token(&inner, &wreq));
    let verdict = enforced.as_ref().map(|e| {
        let env = EvalEnv {
            now_ms: now,
            rates: &inner.rates,
            geo: inner.geo.as_deref(),
            token: token_state,
        };
        e.plan.evaluate(&wreq, &env)
    });

    if let (Some(e), Some(v)) = (&enforced, &verdict) {
        observe(&inner, &rec, e, v, &wreq, peer, &request_id, now);
    }

    match verdict {
        Some(v) if matches!(v.action, Terminal::Captcha | Terminal::Challenge) => {
            interstitial(&inner, &v, &parts, &target)
        }
        Some(v) if v.action != Terminal::Allow => respond(&v),
        v => {
            let inserted = v.map(|v| v.insert_headers).unwrap_or_default();
            forward(&inner, &rec, parts, body, peer, tls, inserted).await
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn observe(
    inner: &Inner,
    rec: &ProxyRec,
    e: &rampart_waf::Enforcement,
    v: &Verdict,
    wreq: &Request,
    peer: SocketAddr,
    request_id: &str,
    now: u64,
) {
    let acl = &e.plan.arn;
    let country = inner
        .geo
        .as_ref()
        .and_then(|g| g.country(peer.ip()))
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .unwrap_or_else(|| "-".to_string());
    let seen = Seen {
        req: wreq,
        client_ip: peer.ip().to_string(),
        country,
        request_id,
    };
    let metric = match v.action {
        Terminal::Allow => "AllowedRequests",
        Terminal::Block => "BlockedRequests",
        Terminal::Captcha => "CaptchaRequests",
        Terminal::Challenge => "ChallengeRequests",
    };
    inner
        .observations
        .count(acl, &v.terminating.metric_name, metric);
    inner.observations.count(acl, "ALL", metric);
    for n in &v.non_terminating {
        inner
            .observations
            .count(acl, &n.metric_name, "CountedRequests");
    }
    // Samples: under the deciding rule's metric name, each counting rule's, and the web
    // ACL's own (the default action's requests carry the web ACL's metric name).
    let mut metrics: Vec<(&str, bool)> = vec![(&v.terminating.metric_name, v.terminating.sampled)];
    for n in &v.non_terminating {
        metrics.push((&n.metric_name, n.sampled));
    }
    if v.terminating.metric_name != e.plan.metric_name {
        metrics.push((&e.plan.metric_name, e.plan.sampled));
    }
    let rule_in_group = v
        .rule_groups
        .iter()
        .find_map(|g| g.terminating.as_ref().map(|(r, _)| r.as_str()));
    let mut sample = None;
    for (m, on) in metrics {
        if on {
            let s = sample
                .get_or_insert_with(|| log::sample(&seen, v, now, rule_in_group))
                .clone();
            inner.observations.sample(acl, m, now, s);
        }
    }
    if let Some(cfg) = &e.logging {
        if log::keep(cfg.filter.as_ref(), v) {
            let source = format!("{}-app/{}/{}", rec.account, rec.name, rec.lb_id());
            let r = log::record(acl, &source, now, &seen, v, cfg);
            inner.logs.write(&cfg.name, &r);
        }
    }
}

fn wants_html(parts: &http::request::Parts) -> bool {
    parts
        .headers
        .get_all(http::header::ACCEPT)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.contains("text/html")))
}

/// CAPTCHA (405) and Challenge (202) answers, as AWS WAF gives them: the
/// `x-amzn-waf-action` header, and for browsers (`Accept: text/html`) the interstitial page.
fn interstitial(
    inner: &Inner,
    v: &Verdict,
    parts: &http::request::Parts,
    target: &str,
) -> hyper::Response<Body> {
    let captcha = v.action == Terminal::Captcha;
    let html = wants_html(parts).then(|| {
        if captcha {
            let (nonce, answer) = inner.tokens.captcha();
            token::captcha_page(&nonce, &answer, target)
        } else {
            token::challenge_page(&inner.tokens.challenge_nonce())
        }
    });
    let has_body = html.is_some();
    let mut resp = hyper::Response::new(full(html.unwrap_or_default()));
    *resp.status_mut() = if captcha {
        http::StatusCode::METHOD_NOT_ALLOWED
    } else {
        http::StatusCode::ACCEPTED
    };
    let h = resp.headers_mut();
    h.insert(http::header::SERVER, HeaderValue::from_static("awselb/2.0"));
    h.insert(
        "x-amzn-waf-action",
        HeaderValue::from_static(if captcha { "captcha" } else { "challenge" }),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    if has_body {
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    resp
}

fn form_of(req: &Request) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(&req.body).into_owned().collect()
}

fn set_token(resp: &mut hyper::Response<Body>, token: &str, tls: bool) {
    let cookie = format!(
        "{}={token}; Path=/; Max-Age=259200; HttpOnly; SameSite=Lax{}",
        token::COOKIE,
        if tls { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(http::header::SET_COOKIE, v);
    }
}

/// The solve times of the first valid token the request carries, in an `aws-waf-token` cookie
/// or an `x-aws-waf-token` header.
fn request_token(inner: &Inner, req: &Request) -> Option<(u64, u64)> {
    let cookies = req.cookies();
    let found = cookies
        .iter()
        .filter(|(n, _)| n == token::COOKIE)
        .map(|(_, v)| v.as_str())
        .chain(req.header_values(token::HEADER))
        .find_map(|v| inner.tokens.read(v));
    found
}

fn solve_times(inner: &Inner, req: &Request) -> (u64, u64) {
    request_token(inner, req).unwrap_or((0, 0))
}

fn now_s() -> u64 {
    now_ms() / 1000
}

/// The interstitials' answers and the JavaScript integration (`rest`: the path after
/// [`INTEGRATION_PATH`]); `None` for anything else there, which goes through the web ACL.
fn integration(
    inner: &Inner,
    rec: &ProxyRec,
    method: &http::Method,
    rest: &str,
    req: &Request,
    tls: bool,
) -> Option<hyper::Response<Body>> {
    let get = method == http::Method::GET || method == http::Method::HEAD;
    let post = method == http::Method::POST;
    Some(match rest {
        "challenge" if post => challenge_answer(inner, req, tls),
        "captcha" if post => captcha_answer(inner, req, tls),
        "captcha/verify" if post => captcha_verify(inner, rec, req, tls),
        "challenge.js" if get => script(CHALLENGE_JS.to_string()),
        "jsapi.js" if get => script(format!("{CHALLENGE_JS}\n{CAPTCHA_JS}")),
        "inputs" if get => json_resp(
            200,
            serde_json::json!({"nonce": inner.tokens.challenge_nonce(), "bits": token::WORK_BITS}),
        ),
        // The token the request carries (an HttpOnly cookie the page's script can't read).
        "token" if get => {
            let (ch, ca) = solve_times(inner, req);
            if ch == 0 && ca == 0 {
                json_resp(404, serde_json::json!({"token": null}))
            } else {
                token_json(inner.tokens.token(ch, ca))
            }
        }
        "captcha/problem" if get => {
            if !api_key_allows(inner, rec, req, &query_of(req)) {
                return Some(json_resp(403, serde_json::json!({"error": "forbidden"})));
            }
            let (nonce, answer) = inner.tokens.captcha();
            json_resp(
                200,
                serde_json::json!({"nonce": nonce, "svg": token::captcha_svg(&answer), "ttl": 600}),
            )
        }
        _ => return None,
    })
}

const CHALLENGE_JS: &str = include_str!("sdk/challenge.js");
const CAPTCHA_JS: &str = include_str!("sdk/captcha.js");

/// A response of the integration: `body` as `content_type`, cached as `cache` says.
fn typed(
    status: u16,
    body: String,
    content_type: &'static str,
    cache: &'static str,
) -> hyper::Response<Body> {
    let mut resp = hyper::Response::new(full(body));
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    h.insert(http::header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

fn script(body: String) -> hyper::Response<Body> {
    typed(
        200,
        body,
        "application/javascript; charset=utf-8",
        "public, max-age=300",
    )
}

fn json_resp(status: u16, v: serde_json::Value) -> hyper::Response<Body> {
    typed(status, v.to_string(), "application/json", "no-store")
}

/// A token as the JavaScript integration takes it (and the same token as a cookie).
fn token_json(token: String) -> hyper::Response<Body> {
    json_resp(
        200,
        serde_json::json!({"token": token, "ttl": token::CLIENT_TTL_S}),
    )
}

fn query_of(req: &Request) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(req.query_string.as_bytes())
        .into_owned()
        .collect()
}

/// Whether the `api_key` of `fields` is an API key of the proxy's account and region whose
/// token domains cover the site the request came to (its `Host`).
fn api_key_allows(
    inner: &Inner,
    rec: &ProxyRec,
    req: &Request,
    fields: &std::collections::HashMap<String, String>,
) -> bool {
    let Some(key) = fields.get("api_key") else {
        return false;
    };
    let host = req.header_values("host").next().unwrap_or_default();
    rampart_waf::apikeys::api_key_domains(&inner.store, &rec.account, &rec.region, key)
        .is_some_and(|d| rampart_waf::apikeys::host_allowed(&d, host))
}

/// The CAPTCHA JavaScript API's answer: a token with a CAPTCHA time (405 for a wrong answer,
/// as the interstitial's).
fn captcha_verify(
    inner: &Inner,
    rec: &ProxyRec,
    req: &Request,
    tls: bool,
) -> hyper::Response<Body> {
    let f = form_of(req);
    if !api_key_allows(inner, rec, req, &f) {
        return json_resp(403, serde_json::json!({"error": "forbidden"}));
    }
    let ok = inner.tokens.check_captcha(
        f.get("nonce").map(String::as_str).unwrap_or(""),
        f.get("answer").map(String::as_str).unwrap_or(""),
    );
    if !ok {
        return json_resp(405, serde_json::json!({"error": "incorrect"}));
    }
    let now = now_s();
    let token = inner.tokens.token(now, now);
    let mut resp = token_json(token.clone());
    set_token(&mut resp, &token, tls);
    resp
}

/// A challenge's proof of work: a token whose challenge time is now (in a cookie, and in the
/// body for the JavaScript integration).
fn challenge_answer(inner: &Inner, req: &Request, tls: bool) -> hyper::Response<Body> {
    let f = form_of(req);
    let ok = inner.tokens.check_challenge(
        f.get("nonce").map(String::as_str).unwrap_or(""),
        f.get("counter").map(String::as_str).unwrap_or(""),
    );
    if !ok {
        return alb_page(403, "Forbidden");
    }
    let (_, captcha_at) = solve_times(inner, req);
    let token = inner.tokens.token(now_s(), captcha_at);
    let mut resp = token_json(token.clone());
    set_token(&mut resp, &token, tls);
    resp
}

/// A CAPTCHA's answer: back to the page asked for with a token, or a new puzzle.
fn captcha_answer(inner: &Inner, req: &Request, tls: bool) -> hyper::Response<Body> {
    let f = form_of(req);
    let back = f
        .get("return")
        .filter(|r| r.starts_with('/') && !r.starts_with("//"))
        .cloned()
        .unwrap_or_else(|| "/".to_string());
    let ok = inner.tokens.check_captcha(
        f.get("nonce").map(String::as_str).unwrap_or(""),
        f.get("answer").map(String::as_str).unwrap_or(""),
    );
    if !ok {
        let (nonce, answer) = inner.tokens.captcha();
        let mut resp = hyper::Response::new(full(token::captcha_page(&nonce, &answer, &back)));
        *resp.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
        resp.headers_mut()
            .insert("x-amzn-waf-action", HeaderValue::from_static("captcha"));
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return resp;
    }
    let now = now_s();
    let mut resp = hyper::Response::new(full(Bytes::new()));
    *resp.status_mut() = http::StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(&back) {
        resp.headers_mut().insert(http::header::LOCATION, v);
    }
    set_token(&mut resp, &inner.tokens.token(now, now), tls);
    resp
}

fn respond(v: &Verdict) -> hyper::Response<Body> {
    let Some(r) = &v.response else {
        return alb_page(403, "Forbidden");
    };
    let (ct, body) = match &r.body {
        Some(b) => (b.content_type, Bytes::from(b.content.clone())),
        None => ("text/plain", Bytes::new()),
    };
    let mut resp = hyper::Response::new(full(body));
    *resp.status_mut() =
        http::StatusCode::from_u16(r.status).unwrap_or(http::StatusCode::FORBIDDEN);
    let h = resp.headers_mut();
    h.insert(http::header::SERVER, HeaderValue::from_static("awselb/2.0"));
    if r.body.is_some() {
        h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    for (n, val) in &r.headers {
        if let (Ok(n), Ok(val)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(val),
        ) {
            h.insert(n, val);
        }
    }
    resp
}

async fn forward(
    inner: &Inner,
    rec: &ProxyRec,
    parts: http::request::Parts,
    body: Bytes,
    peer: SocketAddr,
    tls: bool,
    inserted: Vec<(String, String)>,
) -> hyper::Response<Body> {
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let base = rec.upstream.trim_end_matches('/');
    let uri: http::Uri = match format!("{base}{pq}").parse() {
        Ok(u) => u,
        Err(_) => return alb_page(400, "Bad Request"),
    };
    let mut out = hyper::Request::new(Full::new(body));
    *out.method_mut() = parts.method.clone();
    *out.uri_mut() = uri;
    let h = out.headers_mut();
    let mut xff = None;
    for (n, v) in parts.headers.iter() {
        if HOP_BY_HOP.contains(&n.as_str()) {
            continue;
        }
        if n == "x-forwarded-for" {
            xff = Some(String::from_utf8_lossy(v.as_bytes()).into_owned());
            continue;
        }
        h.append(n.clone(), v.clone());
    }
    if !h.contains_key(http::header::HOST) {
        if let Some(a) = parts.uri.authority() {
            if let Ok(v) = HeaderValue::from_str(a.as_str()) {
                h.insert(http::header::HOST, v);
            }
        }
    }
    let client = peer.ip().to_string();
    let xff = match xff {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {client}"),
        _ => client,
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        h.insert("x-forwarded-for", v);
    }
    h.insert(
        "x-forwarded-proto",
        HeaderValue::from_static(if tls { "https" } else { "http" }),
    );
    if let Ok(v) = HeaderValue::from_str(&rec.port().to_string()) {
        h.insert("x-forwarded-port", v);
    }
    // Inserted headers replace any the request already had (the last rule's value wins).
    for (n, v) in inserted {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.insert(n, v);
        }
    }
    match tokio::time::timeout(UPSTREAM_TIMEOUT, inner.client.request(out)).await {
        Ok(Ok(resp)) => {
            let (mut parts, body) = resp.into_parts();
            for n in HOP_BY_HOP {
                parts.headers.remove(*n);
            }
            hyper::Response::from_parts(parts, body.boxed())
        }
        Ok(Err(e)) => {
            tracing::debug!(proxy = %rec.name, error = %e, "upstream request failed");
            alb_page(502, "Bad Gateway")
        }
        Err(_) => alb_page(504, "Gateway Time-out"),
    }
}
