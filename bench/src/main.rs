//! `rampart-bench`: an end-to-end load generator for Rampart (or any AWS-compatible endpoint on
//! this host). Each connection is one keep-alive HTTP/1.1 connection sending SigV4-signed
//! requests back to back for a fixed time; the run always stops by itself.

mod ops;

use base64::Engine as _;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::ops::Op;
use rampart_sigv4::client::Signer;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MAX_DURATION: Duration = Duration::from_secs(3600);
const MAX_WARMUP: Duration = Duration::from_secs(600);
const MAX_CONNECTIONS: usize = 4096;
/// Histogram range: 1 µs .. 10 min, 3 significant digits.
const HIST_MAX_US: u64 = 600_000_000;
const USER_AGENT: &str = concat!("rampart-bench/", env!("CARGO_PKG_VERSION"));

#[derive(Parser, Debug, Clone)]
#[command(
    name = "rampart-bench",
    version,
    about = "End-to-end load generator: SigV4-signed requests over keep-alive HTTP/1.1 connections",
    after_help = "Known ops: sts:GetCallerIdentity (default), iam:ListUsers, kms:GenerateRandom, kms:ListKeys,\n\
                  secretsmanager:GetSecretValue, secretsmanager:ListSecrets (see --list-ops).\n\
                  Ad hoc: --op events:ListRules --target AWSEvents.ListRules [--body '{}'] (JSON 1.1),\n\
                  or --op iam:GetUser --body 'Action=GetUser&Version=2010-05-08' (Query)."
)]
struct Args {
    /// Base URL of the endpoint (plain http; loopback only unless --allow-remote).
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    endpoint: String,
    #[arg(long, default_value = "test", env = "AWS_ACCESS_KEY_ID")]
    access_key: String,
    #[arg(
        long,
        default_value = "test",
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    secret_key: String,
    /// Session token of temporary credentials (sent as X-Amz-Security-Token).
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    session_token: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Concurrent keep-alive connections, one request in flight on each.
    #[arg(long, short = 'c', default_value_t = 32)]
    connections: usize,
    /// Measured time, e.g. 10s, 500ms, 1m (at most 1h).
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Time run before measuring (requests sent, not counted), e.g. 2s (at most 10m).
    #[arg(long, short = 'w', default_value = "0s", value_parser = parse_duration)]
    warmup: Duration,
    /// Operation, service:Operation.
    #[arg(long, default_value = "sts:GetCallerIdentity")]
    op: String,
    /// Request body override (or the body of an ad-hoc op).
    #[arg(long)]
    body: Option<String>,
    /// X-Amz-Target override (an ad-hoc op with a target is JSON 1.1).
    #[arg(long)]
    target: Option<String>,
    /// Content-Type override.
    #[arg(long)]
    content_type: Option<String>,
    /// SigV4 signing name override (default: the part of --op before the colon).
    #[arg(long)]
    service: Option<String>,
    /// Per-request timeout (a timed-out connection is replaced).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Runtime worker threads (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the op's setup request (e.g. CreateSecret before GetSecretValue).
    #[arg(long)]
    no_setup: bool,
    /// Allow an endpoint that is not on this host's loopback interface.
    #[arg(long)]
    allow_remote: bool,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
    /// List the known operations and exit.
    #[arg(long)]
    list_ops: bool,
}

fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("bad duration '{s}' (e.g. 10s, 500ms, 2m)"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("bad duration unit '{u}' (use ms, s, m or h)")),
    };
    if !secs.is_finite() || !(0.0..=1e7).contains(&secs) {
        return Err(format!("bad duration '{s}'"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Where to connect and what to send as `Host`.
struct Target {
    addr: SocketAddr,
    authority: String,
    url: String,
}

async fn resolve_endpoint(endpoint: &str, allow_remote: bool) -> Result<Target> {
    let uri: http::Uri = endpoint
        .parse()
        .with_context(|| format!("bad --endpoint '{endpoint}'"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            bail!("only plain http endpoints are supported (Rampart serves http on loopback)")
        }
        _ => bail!("--endpoint must start with http://"),
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        bail!("--endpoint must not have a path or query");
    }
    let auth = uri
        .authority()
        .ok_or_else(|| anyhow!("--endpoint has no host"))?;
    let host = auth.host().trim_start_matches('[').trim_end_matches(']');
    let port = auth.port_u16().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .collect();
    let Some(first) = addrs.first().copied() else {
        bail!("{host} resolves to no address");
    };
    if !allow_remote && !addrs.iter().all(|a| a.ip().is_loopback()) {
        let bad: Vec<String> = addrs
            .iter()
            .filter(|a| !a.ip().is_loopback())
            .map(|a| a.ip().to_string())
            .collect();
        bail!(
            "refusing to load {host}: {} is not a loopback address; pass --allow-remote only for \
             a host you are allowed to load",
            bad.join(", ")
        );
    }
    Ok(Target {
        addr: first,
        authority: auth.as_str().to_owned(),
        url: format!("http://{}", auth.as_str()),
    })
}

/// Settings shared by all connections.
struct Run {
    target: Target,
    op: Op,
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
    region: String,
    timeout: Duration,
    measure_start: Instant,
    end: Instant,
    /// First non-2xx answer (status, body) or transport error seen, kept once.
    first_error: OnceLock<String>,
    /// Requests sent so far by all workers (for `${Slot}`).
    sent: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Counts {
    ok: u64,
    errors: u64,
    io_errors: u64,
    timeouts: u64,
    connect_errors: u64,
    reconnects: u64,
    status: BTreeMap<u16, u64>,
}

struct WorkerResult {
    counts: Counts,
    hist: Histogram<u64>,
}

fn new_hist() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).map_err(|e| anyhow!("histogram: {e}"))
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(run: &Run) -> Result<Sender> {
    let stream = TcpStream::connect(run.target.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection task ends when the sender is dropped or the peer closes.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn build_request(
    run: &Run,
    signer: &mut Signer,
    target: Option<&str>,
    body: &Bytes,
) -> Result<http::Request<Full<Bytes>>> {
    let headers = signed_headers(run, signer, target, body, chrono::Utc::now())?;
    post(headers, body)
}

/// `POST /` with these headers and body.
fn post(headers: http::HeaderMap, body: &Bytes) -> Result<http::Request<Full<Bytes>>> {
    let mut req = http::Request::builder()
        .method("POST")
        .uri("/")
        .body(Full::new(body.clone()))?;
    *req.headers_mut() = headers;
    Ok(req)
}

/// The headers of a signed request with `body` at time `now`.
fn signed_headers(
    run: &Run,
    signer: &mut Signer,
    target: Option<&str>,
    body: &Bytes,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<http::HeaderMap> {
    let mut extra: Vec<(&str, &str)> = vec![("content-type", run.op.content_type.as_str())];
    if let Some(t) = target {
        extra.push(("x-amz-target", t));
    }
    let signed = signer.sign(now, "POST", "/", "", &run.target.authority, &extra, body);
    let mut map = http::HeaderMap::with_capacity(signed.len() + 2);
    for (n, v) in &signed {
        map.append(
            http::header::HeaderName::from_bytes(n.as_bytes())?,
            http::HeaderValue::from_str(v)?,
        );
    }
    map.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(body.len()),
    );
    map.insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static(USER_AGENT),
    );
    Ok(map)
}

/// A connection's last signed request: SigV4 signs the second (`X-Amz-Date`), so requests
/// with the same body within one second carry the same headers, signature included, as a
/// client replaying a request would. Reusing them keeps the generator's own cost (it shares
/// the machine with the server) to a header-map copy; the server verifies every request in
/// full all the same.
#[derive(Default)]
struct SignedCache {
    second: i64,
    body: Bytes,
    headers: Option<http::HeaderMap>,
}

impl SignedCache {
    fn request(
        &mut self,
        run: &Run,
        signer: &mut Signer,
        target: Option<&str>,
        body: &Bytes,
    ) -> Result<http::Request<Full<Bytes>>> {
        let now = chrono::Utc::now();
        let second = now.timestamp();
        let headers = match &self.headers {
            Some(h) if self.second == second && self.body == *body => h.clone(),
            _ => {
                let h = signed_headers(run, signer, target, body, now)?;
                self.second = second;
                self.body = body.clone();
                self.headers = Some(h.clone());
                h
            }
        };
        post(headers, body)
    }
}

async fn send(sender: &mut Sender, req: http::Request<Full<Bytes>>) -> Result<(u16, Bytes)> {
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

fn error_text(status: u16, body: &[u8]) -> String {
    const MAX: usize = 2000;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    let more = if body.len() > MAX { " [...]" } else { "" };
    format!("HTTP {status}: {}{more}", text.trim())
}

async fn worker(run: Arc<Run>) -> Result<WorkerResult> {
    let mut counts = Counts::default();
    let mut hist = new_hist()?;
    let mut signer = Signer::new(
        &run.access_key,
        &run.secret_key,
        run.session_token.as_deref(),
        &run.region,
        &run.op.service,
    );
    let body = Bytes::from(run.op.body.clone());
    let mut signed = SignedCache::default();
    let mut first_conn = true;
    'conn: while Instant::now() < run.end {
        let left = run.end.saturating_duration_since(Instant::now());
        let mut sender = match tokio::time::timeout(left.min(run.timeout), connect(&run)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                counts.connect_errors += 1;
                let _ = run.first_error.set(format!("connect: {e:#}"));
                tokio::time::sleep(Duration::from_millis(100).min(left)).await;
                continue;
            }
            Err(_) => {
                counts.connect_errors += 1;
                continue;
            }
        };
        if !first_conn {
            counts.reconnects += 1;
        }
        first_conn = false;
        loop {
            if Instant::now() >= run.end {
                break 'conn;
            }
            // The peer may have closed a kept-alive connection: reconnect, not an error.
            if sender.ready().await.is_err() {
                continue 'conn;
            }
            let spread_body;
            let body = if run.op.spread > 0 {
                let n = run.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let slot = (n / ops::PER_SLOT) % run.op.spread as u64;
                spread_body = Bytes::from(substitute(
                    &body,
                    &BTreeMap::from([("Slot".to_string(), slot.to_string())]),
                ));
                &spread_body
            } else {
                &body
            };
            let req = signed.request(&run, &mut signer, run.op.target.as_deref(), body)?;
            let t0 = Instant::now();
            let res = tokio::time::timeout(run.timeout, send(&mut sender, req)).await;
            let t1 = Instant::now();
            let measured = t0 >= run.measure_start && t1 <= run.end;
            match res {
                Ok(Ok((status, resp_body))) => {
                    let ok = (200..300).contains(&status);
                    if !ok && run.first_error.get().is_none() {
                        let _ = run.first_error.set(error_text(status, &resp_body));
                    }
                    if measured {
                        let us = u64::try_from((t1 - t0).as_micros()).unwrap_or(u64::MAX);
                        hist.saturating_record(us.max(1));
                        *counts.status.entry(status).or_default() += 1;
                        if ok {
                            counts.ok += 1;
                        } else {
                            counts.errors += 1;
                        }
                    }
                }
                Ok(Err(e)) => {
                    if measured {
                        counts.io_errors += 1;
                    }
                    let _ = run.first_error.set(format!("transport: {e:#}"));
                    continue 'conn;
                }
                Err(_) => {
                    if measured {
                        counts.timeouts += 1;
                    }
                    let _ = run
                        .first_error
                        .set(format!("timeout after {:?}", run.timeout));
                    continue 'conn;
                }
            }
        }
    }
    Ok(WorkerResult { counts, hist })
}

/// Replaces each `${Name}` in `body` with its variable.
fn substitute(body: &[u8], vars: &BTreeMap<String, String>) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for (k, v) in vars {
        text = text.replace(&format!("${{{k}}}"), v);
    }
    text.into_bytes()
}

/// The string members of a JSON answer, top level and one level down.
fn capture(resp: &[u8], vars: &mut BTreeMap<String, String>) {
    let Ok(serde_json::Value::Object(top)) = serde_json::from_slice::<serde_json::Value>(resp)
    else {
        return;
    };
    for (k, v) in &top {
        match v {
            serde_json::Value::String(s) => {
                vars.insert(k.clone(), s.clone());
            }
            serde_json::Value::Object(inner) => {
                for (k2, v2) in inner {
                    if let serde_json::Value::String(s) = v2 {
                        vars.entry(k2.clone()).or_insert_with(|| s.clone());
                    }
                }
            }
            _ => {}
        }
    }
}

/// Sends the op's setup requests once each, in order (best effort), and fills the op's body
/// from the variables their answers define.
async fn setup(run: &mut Run, quiet: bool) -> Result<()> {
    let mut vars = BTreeMap::new();
    vars.insert(
        "Plaintext1K".to_string(),
        base64::engine::general_purpose::STANDARD.encode([0x5au8; 1024]),
    );
    vars.insert(
        "RunId".to_string(),
        format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros())
                .unwrap_or_default()
        ),
    );
    if !run.op.setup.is_empty() {
        let mut signer = Signer::new(
            &run.access_key,
            &run.secret_key,
            run.session_token.as_deref(),
            &run.region,
            &run.op.service,
        );
        for (target, body, repeat) in run.op.setup.clone() {
            for i in 0..repeat {
                // A connection per request: some servers close after each answer.
                let mut sender = connect(run).await.context("setup connection")?;
                vars.insert("Index".to_string(), i.to_string());
                let body = substitute(&body, &vars);
                let req = build_request(run, &mut signer, target.as_deref(), &Bytes::from(body))?;
                let (status, resp) = tokio::time::timeout(run.timeout, send(&mut sender, req))
                    .await
                    .map_err(|_| anyhow!("setup request timed out"))??;
                let what = target.as_deref().unwrap_or("setup");
                if (200..300).contains(&status) {
                    capture(&resp, &mut vars);
                    if !quiet && i + 1 == repeat {
                        let times = if repeat > 1 {
                            format!(" (x{repeat})")
                        } else {
                            String::new()
                        };
                        eprintln!("setup: {what}: HTTP {status}{times}");
                    }
                } else if !quiet {
                    eprintln!("setup: {what}: {} (continuing)", error_text(status, &resp));
                }
            }
        }
    }
    run.op.body = substitute(&run.op.body, &vars);
    Ok(())
}

struct Summary {
    counts: Counts,
    hist: Histogram<u64>,
    /// Cores' worth of CPU the bench itself used during the measured window.
    client_cpu: Option<f64>,
}

struct Outcome {
    summary: Summary,
    op: String,
    url: String,
    first_error: Option<String>,
}

async fn bench(args: &Args) -> Result<Outcome> {
    let target = resolve_endpoint(&args.endpoint, args.allow_remote).await?;
    let op = ops::resolve(
        &args.op,
        args.body.as_deref(),
        args.target.as_deref(),
        args.content_type.as_deref(),
        args.service.as_deref(),
    )?;
    let mut run = Run {
        target,
        op,
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        session_token: args.session_token.clone(),
        region: args.region.clone(),
        timeout: args.timeout,
        measure_start: Instant::now(),
        end: Instant::now(),
        first_error: OnceLock::new(),
        sent: std::sync::atomic::AtomicU64::new(0),
    };
    if !args.no_setup {
        setup(&mut run, args.json).await?;
    }
    let start = Instant::now();
    run.measure_start = start + args.warmup;
    run.end = run.measure_start + args.duration;
    let run = Arc::new(run);
    let (measure_start, end) = (run.measure_start, run.end);
    let cpu_probe = tokio::spawn(async move {
        tokio::time::sleep_until(measure_start).await;
        let a = process_cpu_ns()?;
        tokio::time::sleep_until(end).await;
        let b = process_cpu_ns()?;
        Some(b.saturating_sub(a) as f64 / 1e9 / (end - measure_start).as_secs_f64())
    });
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(worker(run.clone())))
        .collect();
    // Hard bound: a request in flight at the end may take up to --timeout; then tasks are cut.
    let hard_end = run.end + run.timeout + Duration::from_secs(1);
    let mut counts = Counts::default();
    let mut hist = new_hist()?;
    let mut cut = 0usize;
    for t in tasks {
        let abort = t.abort_handle();
        match tokio::time::timeout_at(hard_end, t).await {
            Ok(Ok(Ok(w))) => {
                let c = w.counts;
                counts.ok += c.ok;
                counts.errors += c.errors;
                counts.io_errors += c.io_errors;
                counts.timeouts += c.timeouts;
                counts.connect_errors += c.connect_errors;
                counts.reconnects += c.reconnects;
                for (s, n) in c.status {
                    *counts.status.entry(s).or_default() += n;
                }
                hist.add(&w.hist).map_err(|e| anyhow!("histogram: {e}"))?;
            }
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Err(e)) => bail!("connection task failed: {e}"),
            Err(_) => {
                abort.abort();
                cut += 1;
            }
        }
    }
    if cut > 0 {
        eprintln!("warning: {cut} connection(s) were still busy past the deadline and were cut");
    }
    let client_cpu = match tokio::time::timeout(Duration::from_secs(1), cpu_probe).await {
        Ok(Ok(c)) => c,
        _ => None,
    };
    Ok(Outcome {
        summary: Summary {
            counts,
            hist,
            client_cpu,
        },
        op: run.op.name.clone(),
        url: run.target.url.clone(),
        first_error: run.first_error.get().cloned(),
    })
}

/// CPU time this process's threads have used, in ns (Linux `/proc/self/task/*/schedstat`).
fn process_cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for t in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(t) = t else { continue };
        let Ok(text) = std::fs::read_to_string(t.path().join("schedstat")) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn report(args: &Args, url: &str, op: &str, s: &Summary, first_error: Option<&str>) {
    let c = &s.counts;
    let requests = c.ok + c.errors;
    let secs = args.duration.as_secs_f64().max(1e-9);
    let rate = requests as f64 / secs;
    let h = &s.hist;
    let (p50, p90, p99, p999, max, mean) = if h.is_empty() {
        (0, 0, 0, 0, 0, 0.0)
    } else {
        (
            h.value_at_quantile(0.50),
            h.value_at_quantile(0.90),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            h.mean(),
        )
    };
    if args.json {
        let status: serde_json::Map<String, serde_json::Value> = c
            .status
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let v = json!({
            "op": op,
            "endpoint": url,
            "connections": args.connections,
            "duration_s": args.duration.as_secs_f64(),
            "warmup_s": args.warmup.as_secs_f64(),
            "requests": requests,
            "ok": c.ok,
            "errors": c.errors,
            "io_errors": c.io_errors,
            "timeouts": c.timeouts,
            "connect_errors": c.connect_errors,
            "reconnects": c.reconnects,
            "status": status,
            "req_per_s": (rate * 10.0).round() / 10.0,
            "latency_ms": {
                "p50": ms(p50), "p90": ms(p90), "p99": ms(p99), "p999": ms(p999),
                "max": ms(max), "mean": mean.round() / 1000.0,
            },
            "client_cpu_cores": s.client_cpu.map(|c| (c * 100.0).round() / 100.0),
            "first_error": first_error,
        });
        println!("{v}");
        return;
    }
    let statuses = c
        .status
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ");
    println!(
        "{op} -> {url}, {} connection(s), {:.1} s measured after {:.1} s warmup",
        args.connections,
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64()
    );
    println!("  {:<18}{requests}", "requests");
    println!("  {:<18}{}", "errors (non-2xx)", c.errors);
    if c.io_errors + c.timeouts + c.connect_errors > 0 {
        println!(
            "  {:<18}io {} / timeouts {} / connect {}",
            "transport errs", c.io_errors, c.timeouts, c.connect_errors
        );
    }
    if c.reconnects > 0 {
        println!("  {:<18}{}", "reconnects", c.reconnects);
    }
    println!("  {:<18}{statuses}", "status");
    println!("  {:<18}{rate:.1}", "req/s");
    println!(
        "  {:<18}{:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "mean"
    );
    println!(
        "  {:<18}{:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
        "",
        ms(p50),
        ms(p90),
        ms(p99),
        ms(p999),
        ms(max),
        mean / 1000.0
    );
    if let Some(c) = s.client_cpu {
        println!("  {:<18}{c:.2} cores (this load generator)", "client cpu");
    }
    if let Some(e) = first_error {
        println!("  first error: {e}");
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_ops {
        for o in ops::OPS {
            println!("{:<32} {}", o.name, o.target.unwrap_or("(Query)"));
        }
        return ExitCode::SUCCESS;
    }
    match real_main(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rampart-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main(args: &Args) -> Result<ExitCode> {
    if args.connections == 0 || args.connections > MAX_CONNECTIONS {
        bail!("--connections must be 1..={MAX_CONNECTIONS}");
    }
    if args.duration.is_zero() || args.duration > MAX_DURATION {
        bail!("--duration must be more than 0 and at most 1h");
    }
    if args.warmup > MAX_WARMUP {
        bail!("--warmup must be at most 10m");
    }
    if args.timeout.is_zero() || args.timeout > Duration::from_secs(300) {
        bail!("--timeout must be more than 0 and at most 5m");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    let out = rt.block_on(bench(args))?;
    report(
        args,
        &out.url,
        &out.op,
        &out.summary,
        out.first_error.as_deref(),
    );
    // Exit 1 when nothing succeeded, so scripts notice a broken setup.
    Ok(if out.summary.counts.ok == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
