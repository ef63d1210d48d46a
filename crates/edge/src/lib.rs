//! The edge: Rampart's reverse proxies. A proxy is a listener in front of an upstream
//! application, modelled as an Application Load Balancer (its ARN is what web ACLs associate
//! with). The WAF API pushes each proxy's compiled web ACL here ([`rampart_waf::DataPlane`]);
//! every request is evaluated against it, blocked requests are answered here, allowed ones go
//! upstream. Proxies are created through Rampart's own API (`RampartEdge_20261201`, the
//! `rampart waf proxy` commands), stored, and listen again after every restart.
#![forbid(unsafe_code)]

pub mod geo;
pub mod log;
pub mod observe;
mod proxy;
pub mod token;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use rampart_core::{AwsError, RequestContext};
use rampart_firewall::acl::{GeoLookup, RateTracker};
use rampart_model::edge::{self as m, RampartEdge};
use rampart_model::Timestamp;
use rampart_store::{Store, StoreExt, TxError};
use rampart_waf::{DataPlane, Enforcement, Samples};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

type R<T> = Result<T, AwsError>;

const PROXIES: &str = "edge_proxy";
/// Application Load Balancers per region (AWS's default quota).
const MAX_PROXIES: usize = 50;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A stored proxy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProxyRec {
    pub arn: String,
    pub account: String,
    pub region: String,
    pub name: String,
    pub listen: String,
    pub upstream: String,
    #[serde(default)]
    pub tls_cert: Option<String>,
    #[serde(default)]
    pub tls_key: Option<String>,
    pub created: f64,
}

impl ProxyRec {
    /// The 16-hex id at the end of the ARN.
    pub fn lb_id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or_default()
    }

    fn port(&self) -> u16 {
        self.listen
            .parse::<SocketAddr>()
            .map(|a| a.port())
            .unwrap_or(0)
    }
}

struct Running {
    rec: ProxyRec,
    bound: Option<SocketAddr>,
    failure: Option<String>,
    stop: Option<watch::Sender<bool>>,
}

/// Told (account, region, ARN) of each deleted proxy.
type OnDeleted = Box<dyn Fn(&str, &str, &str) + Send + Sync>;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<bytes::Bytes>>;

/// Shared state of every proxy.
pub struct Inner {
    store: Arc<dyn Store>,
    runtime: tokio::runtime::Handle,
    running: Mutex<HashMap<String, Running>>,
    plans: RwLock<HashMap<String, Enforcement>>,
    pub rates: RateTracker,
    pub observations: observe::Observations,
    pub logs: log::LogWriter,
    pub geo: Option<Arc<dyn GeoLookup>>,
    /// Issues and checks `aws-waf-token`s (CAPTCHA and Challenge actions).
    pub tokens: token::Tokens,
    client: HttpsClient,
    on_deleted: Mutex<Option<OnDeleted>>,
}

impl Inner {
    fn enforcement(&self, arn: &str) -> Option<Enforcement> {
        self.plans.read().ok()?.get(arn).cloned()
    }
}

/// The edge.
#[derive(Clone)]
pub struct Edge {
    inner: Arc<Inner>,
}

fn proxy_not_found(arn: &str) -> AwsError {
    m::proxy_not_found_exception(format!("Proxy '{arn}' not found"))
}

fn validation(msg: impl Into<String>) -> AwsError {
    m::validation_exception(msg)
}

fn internal() -> AwsError {
    AwsError::internal()
}

fn tls_config(cert: &str, key: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs = {
        let f = std::fs::File::open(cert).map_err(|e| format!("{cert}: {e}"))?;
        rustls_pemfile::certs(&mut std::io::BufReader::new(f))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{cert}: {e}"))?
    };
    if certs.is_empty() {
        return Err(format!("{cert}: no certificate"));
    }
    let key = {
        let f = std::fs::File::open(key).map_err(|e| format!("{key}: {e}"))?;
        rustls_pemfile::private_key(&mut std::io::BufReader::new(f))
            .map_err(|e| format!("{key}: {e}"))?
            .ok_or_else(|| format!("{key}: no private key"))?
    };
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| e.to_string())?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

impl Edge {
    /// An edge whose WAF logs go under `log_dir`, signing `aws-waf-token`s with `token_key`.
    /// Must be called inside a Tokio runtime.
    pub fn new(
        store: Arc<dyn Store>,
        log_dir: PathBuf,
        geo: Option<Arc<dyn GeoLookup>>,
        token_key: &[u8],
    ) -> Edge {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider());
        let https = match https {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "no system root certificates: https upstreams will not verify");
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder_with_provider(Arc::new(
                        rustls::crypto::aws_lc_rs::default_provider(),
                    ))
                    .with_safe_default_protocol_versions()
                    .map(|b| {
                        b.with_root_certificates(rustls::RootCertStore::empty())
                            .with_no_client_auth()
                    })
                    .unwrap_or_else(|_| {
                        rustls::ClientConfig::builder()
                            .with_root_certificates(rustls::RootCertStore::empty())
                            .with_no_client_auth()
                    }),
                )
            }
        };
        let connector = https.https_or_http().enable_http1().build();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build(connector);
        Edge {
            inner: Arc::new(Inner {
                store,
                runtime: tokio::runtime::Handle::current(),
                running: Mutex::new(HashMap::new()),
                plans: RwLock::new(HashMap::new()),
                rates: RateTracker::default(),
                observations: observe::Observations::default(),
                logs: log::LogWriter::start(log_dir),
                geo,
                tokens: token::Tokens::new(token_key),
                client,
                on_deleted: Mutex::new(None),
            }),
        }
    }

    /// Called with (account, region, ARN) when a proxy is deleted (the WAF API forgets its
    /// association).
    pub fn on_deleted(&self, f: impl Fn(&str, &str, &str) + Send + Sync + 'static) {
        if let Ok(mut g) = self.inner.on_deleted.lock() {
            *g = Some(Box::new(f));
        }
    }

    /// Starts every stored proxy (at start-up). Failures are logged and shown as `failed`.
    pub fn start_all(&self) {
        let recs = self.inner.store.read(|tx| {
            tx.scan_json::<ProxyRec>(PROXIES, "", None, 100_000)
                .map_err(TxError::from)
        });
        match recs {
            Ok(recs) => {
                for (_, rec) in recs {
                    if let Err(e) = self.start(rec.clone()) {
                        tracing::error!(proxy = %rec.name, error = %e, "proxy could not start");
                    }
                }
            }
            Err(e) => tracing::error!(error = ?e, "proxies could not be read"),
        }
    }

    /// Binds and runs a proxy; on failure it is recorded as failed.
    fn start(&self, rec: ProxyRec) -> Result<SocketAddr, String> {
        let result = self.bind(&rec);
        let mut running = self
            .inner
            .running
            .lock()
            .map_err(|_| "poisoned".to_string())?;
        match result {
            Ok((tcp, tls)) => {
                let bound = tcp.local_addr().map_err(|e| e.to_string())?;
                let (stop_tx, stop_rx) = watch::channel(false);
                let inner = self.inner.clone();
                let arc = Arc::new(rec.clone());
                self.inner
                    .runtime
                    .spawn(proxy::run(inner, arc, tcp, tls, stop_rx));
                tracing::info!(proxy = %rec.name, %bound, upstream = %rec.upstream, "proxy listening");
                running.insert(
                    rec.arn.clone(),
                    Running {
                        rec,
                        bound: Some(bound),
                        failure: None,
                        stop: Some(stop_tx),
                    },
                );
                Ok(bound)
            }
            Err(e) => {
                running.insert(
                    rec.arn.clone(),
                    Running {
                        rec,
                        bound: None,
                        failure: Some(e.clone()),
                        stop: None,
                    },
                );
                Err(e)
            }
        }
    }

    fn bind(
        &self,
        rec: &ProxyRec,
    ) -> Result<(tokio::net::TcpListener, Option<Arc<rustls::ServerConfig>>), String> {
        let addr: SocketAddr = rec
            .listen
            .parse()
            .map_err(|_| format!("'{}' is not ADDRESS:PORT", rec.listen))?;
        let tls = match (&rec.tls_cert, &rec.tls_key) {
            (Some(c), Some(k)) => Some(tls_config(c, k)?),
            _ => None,
        };
        let std_l = std::net::TcpListener::bind(addr).map_err(|e| format!("{addr}: {e}"))?;
        std_l.set_nonblocking(true).map_err(|e| e.to_string())?;
        let _guard = self.inner.runtime.enter();
        let tcp = tokio::net::TcpListener::from_std(std_l).map_err(|e| e.to_string())?;
        Ok((tcp, tls))
    }

    fn stop(&self, arn: &str) {
        if let Ok(mut r) = self.inner.running.lock() {
            if let Some(run) = r.remove(arn) {
                if let Some(s) = run.stop {
                    let _ = s.send(true);
                }
            }
        }
        if let Ok(mut p) = self.inner.plans.write() {
            p.remove(arn);
        }
    }

    /// Stops every proxy (the `--dev` reset wipes their records).
    pub fn stop_all(&self) {
        let arns: Vec<String> = self
            .inner
            .running
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        for a in arns {
            self.stop(&a);
        }
    }

    /// The request counters in Prometheus text format.
    pub fn metrics(&self) -> String {
        self.inner.observations.prometheus()
    }

    fn describe(&self, rec: &ProxyRec, web_acl: Option<String>) -> m::Proxy {
        let running = self.inner.running.lock().ok();
        let run = running.as_ref().and_then(|r| r.get(&rec.arn));
        let failure = run.and_then(|r| r.failure.clone());
        m::Proxy {
            proxy_arn: Some(rec.arn.clone()),
            name: Some(rec.name.clone()),
            listen: Some(rec.listen.clone()),
            bound_address: run.and_then(|r| r.bound).map(|a| a.to_string()),
            upstream: Some(rec.upstream.clone()),
            tls: Some(rec.tls_cert.is_some()),
            state: Some(if failure.is_some() || run.is_none() {
                m::ProxyState::Failed
            } else {
                m::ProxyState::Active
            }),
            state_reason: failure,
            web_acl_arn: web_acl,
            created_time: Some(Timestamp(rec.created)),
        }
    }

    fn web_acl_of(&self, arn: &str) -> Option<String> {
        self.inner
            .plans
            .read()
            .ok()?
            .get(arn)
            .map(|e| e.plan.arn.clone())
    }

    fn account_proxies(&self, ctx: &RequestContext) -> R<Vec<ProxyRec>> {
        let prefix = format!("{}/{}/", ctx.account_id, ctx.region);
        self.inner
            .store
            .read(|tx| {
                tx.scan_json::<ProxyRec>(PROXIES, &prefix, None, 100_000)
                    .map_err(TxError::from)
            })
            .map(|v| v.into_iter().map(|(_, r)| r).collect())
            .map_err(|e| e.into_aws("edge", internal))
    }
}

fn valid_upstream(u: &str) -> bool {
    let Ok(uri) = u.parse::<http::Uri>() else {
        return false;
    };
    matches!(uri.scheme_str(), Some("http" | "https"))
        && uri.host().is_some_and(|h| !h.is_empty())
        && uri.query().is_none()
}

impl RampartEdge for Edge {
    fn create_proxy(
        &self,
        ctx: &RequestContext,
        input: m::CreateProxyRequest,
    ) -> R<m::CreateProxyResponse> {
        if input.listen.parse::<SocketAddr>().is_err() {
            return Err(validation(format!(
                "Listen '{}' is not an ADDRESS:PORT (for example 127.0.0.1:8080 or [::1]:8080)",
                input.listen
            )));
        }
        if !valid_upstream(&input.upstream) {
            return Err(validation(format!(
                "Upstream '{}' is not an http:// or https:// URL with a host and no query",
                input.upstream
            )));
        }
        let (tls_cert, tls_key) = match &input.tls {
            Some(t) => {
                tls_config(&t.certificate_file, &t.private_key_file).map_err(|e| {
                    validation(format!("The TLS certificate or key cannot be used: {e}"))
                })?;
                (
                    Some(t.certificate_file.clone()),
                    Some(t.private_key_file.clone()),
                )
            }
            None => (None, None),
        };
        let existing = self.account_proxies(ctx)?;
        if existing.iter().any(|p| p.name == input.name) {
            return Err(m::duplicate_proxy_name_exception(format!(
                "A proxy named '{}' already exists",
                input.name
            )));
        }
        if existing.len() >= MAX_PROXIES {
            return Err(m::too_many_proxies_exception(format!(
                "An account may have at most {MAX_PROXIES} proxies per region"
            )));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let lb = id.get(..16).unwrap_or(&id);
        let rec = ProxyRec {
            arn: format!(
                "arn:aws:elasticloadbalancing:{}:{}:loadbalancer/app/{}/{lb}",
                ctx.region, ctx.account_id, input.name
            ),
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            name: input.name,
            listen: input.listen,
            upstream: input.upstream.trim_end_matches('/').to_string(),
            tls_cert,
            tls_key,
            created: Timestamp::now().secs(),
        };
        // Listen first: a proxy that cannot bind is not created.
        if let Err(e) = self.start(rec.clone()) {
            if let Ok(mut r) = self.inner.running.lock() {
                r.remove(&rec.arn);
            }
            return Err(m::listener_unavailable_exception(format!(
                "Cannot listen on {}: {e}",
                rec.listen
            )));
        }
        let key = format!("{}/{}/{}", rec.account, rec.region, rec.name);
        let stored = rec.clone();
        let r = self.inner.store.write(move |tx| -> Result<(), TxError> {
            tx.put_json(PROXIES, &key, &stored)?;
            Ok(())
        });
        if let Err(e) = r {
            self.stop(&rec.arn);
            return Err(e.into_aws("edge", internal));
        }
        Ok(m::CreateProxyResponse {
            proxy: Some(self.describe(&rec, None)),
        })
    }

    fn describe_proxies(
        &self,
        ctx: &RequestContext,
        input: m::DescribeProxiesRequest,
    ) -> R<m::DescribeProxiesResponse> {
        let all = self.account_proxies(ctx)?;
        let names = input.names.unwrap_or_default();
        let arns = input.proxy_arns.unwrap_or_default();
        for n in &names {
            if !all.iter().any(|p| &p.name == n) {
                return Err(proxy_not_found(n));
            }
        }
        for a in &arns {
            if !all.iter().any(|p| &p.arn == a) {
                return Err(proxy_not_found(a));
            }
        }
        let list = all
            .iter()
            .filter(|p| {
                (names.is_empty() && arns.is_empty())
                    || names.contains(&p.name)
                    || arns.contains(&p.arn)
            })
            .map(|p| self.describe(p, self.web_acl_of(&p.arn)))
            .collect();
        Ok(m::DescribeProxiesResponse {
            proxies: Some(list),
        })
    }

    fn delete_proxy(
        &self,
        ctx: &RequestContext,
        input: m::DeleteProxyRequest,
    ) -> R<m::DeleteProxyResponse> {
        let all = self.account_proxies(ctx)?;
        let rec = all
            .into_iter()
            .find(|p| p.arn == input.proxy_arn)
            .ok_or_else(|| proxy_not_found(&input.proxy_arn))?;
        let key = format!("{}/{}/{}", rec.account, rec.region, rec.name);
        self.inner
            .store
            .write(move |tx| -> Result<bool, TxError> {
                tx.delete(PROXIES, &key).map_err(TxError::from)
            })
            .map_err(|e| e.into_aws("edge", internal))?;
        self.stop(&rec.arn);
        if let Ok(g) = self.inner.on_deleted.lock() {
            if let Some(f) = g.as_ref() {
                f(&rec.account, &rec.region, &rec.arn);
            }
        }
        Ok(m::DeleteProxyResponse {})
    }
}

impl DataPlane for Edge {
    fn resource_exists(&self, account: &str, region: &str, arn: &str) -> bool {
        self.inner
            .running
            .lock()
            .map(|r| {
                r.get(arn)
                    .is_some_and(|p| p.rec.account == account && p.rec.region == region)
            })
            .unwrap_or(false)
    }

    fn enforce(&self, resource: &str, what: Option<Enforcement>) {
        if let Ok(mut p) = self.inner.plans.write() {
            match what {
                Some(w) => {
                    p.insert(resource.to_string(), w);
                }
                None => {
                    p.remove(resource);
                }
            }
        }
    }

    fn sampled(&self, acl: &str, metric: &str, start_ms: u64, end_ms: u64, max: usize) -> Samples {
        let (requests, population) = self
            .inner
            .observations
            .sampled(acl, metric, start_ms, end_ms, max);
        Samples {
            requests,
            population,
        }
    }

    fn rate_limited(&self, rate_key: &str) -> Vec<String> {
        self.inner.rates.over_limit(rate_key, now_ms())
    }
}
