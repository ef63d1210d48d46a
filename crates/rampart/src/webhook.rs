//! Secrets Manager rotators reached over HTTPS: in place of invoking a Lambda function, each
//! rotation step's event is POSTed to the URL registered for the function name
//! (`[secrets.webhooks.NAME]` in the configuration). A 2xx answer is success, anything else
//! (or no answer within the step timeout) a failed step, as a function error is on AWS.
//!
//! With a `secret_file`, each request carries `X-Rampart-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256 of "<t>.<body>" under the secret>`, so the rotator can refuse forged or
//! replayed events.
use crate::config::{SecretsConfig, WebhookConfig};
use anyhow::{bail, Context as _};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use std::collections::HashMap;
use std::time::Duration;
use zeroize::Zeroizing;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

struct Hook {
    uri: hyper::Uri,
    client: HttpsClient,
    secret: Option<Zeroizing<Vec<u8>>>,
}

/// The registered webhook rotators.
pub struct WebhookRotators {
    hooks: HashMap<String, Hook>,
    rt: tokio::runtime::Handle,
}

impl std::fmt::Debug for WebhookRotators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: never the shared secrets.
        f.debug_struct("WebhookRotators")
            .field("names", &self.hooks.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WebhookRotators {
    /// The webhooks of `cfg` (`None` when there are none). Must be called inside the Tokio
    /// runtime the requests will run on.
    pub fn load(cfg: &SecretsConfig) -> anyhow::Result<Option<WebhookRotators>> {
        if cfg.webhooks.is_empty() {
            return Ok(None);
        }
        let mut hooks = HashMap::new();
        for (name, w) in &cfg.webhooks {
            let hook = Hook::new(name, w).with_context(|| format!("webhook rotator {name}"))?;
            hooks.insert(name.clone(), hook);
        }
        Ok(Some(WebhookRotators {
            hooks,
            rt: tokio::runtime::Handle::current(),
        }))
    }
}

impl Hook {
    fn new(name: &str, w: &WebhookConfig) -> anyhow::Result<Hook> {
        if !rampart_secrets::valid_function_name(name) {
            bail!("the name must be 1-64 letters, digits, '-' or '_', as a Lambda function's");
        }
        let uri: hyper::Uri = w.url.parse().context("url")?;
        let host = uri.host().unwrap_or("").trim_matches(['[', ']']);
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if loopback => {}
            _ => bail!("url must be https:// (http:// only to a loopback address)"),
        }
        let secret = match &w.secret_file {
            Some(p) => {
                let s = Zeroizing::new(
                    std::fs::read(p).with_context(|| format!("secret_file {}", p.display()))?,
                );
                let trimmed = s.trim_ascii();
                if trimmed.len() < 16 {
                    bail!("secret_file {} holds fewer than 16 bytes", p.display());
                }
                Some(Zeroizing::new(trimmed.to_vec()))
            }
            None => None,
        };
        let tls = crate::client::tls_config(w.ca_file.as_deref(), true)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(Hook {
            uri,
            client,
            secret,
        })
    }

    fn request(&self, event: &[u8]) -> Result<hyper::Request<Full<Bytes>>, String> {
        let mut req = hyper::Request::post(self.uri.clone())
            .header("content-type", "application/json")
            .header("user-agent", "rampart-secrets-rotation");
        if let Some(secret) = &self.secret {
            let t = chrono::Utc::now().timestamp();
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
            let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
            ctx.update(format!("{t}.").as_bytes());
            ctx.update(event);
            let tag = ctx.sign();
            let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
            req = req.header("x-rampart-signature", format!("t={t},v1={hex}"));
        }
        req.body(Full::new(Bytes::copy_from_slice(event)))
            .map_err(|e| e.to_string())
    }
}

impl rampart_secrets::Webhooks for WebhookRotators {
    fn has(&self, name: &str) -> bool {
        self.hooks.contains_key(name)
    }

    fn invoke(&self, name: &str, event: &[u8], timeout: Duration) -> Result<(), String> {
        let hook = self.hooks.get(name).ok_or("not registered")?;
        let req = hook.request(event)?;
        // Rotation steps run on their own threads, outside the runtime's workers.
        let status = self.rt.block_on(async {
            let call = async {
                let resp = hook.client.request(req).await.map_err(|e| {
                    // hyper's Display is terse ("client error (Connect)"); its source says why.
                    let cause = std::error::Error::source(&e)
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default();
                    format!("{e}{cause}")
                })?;
                Ok::<_, String>(resp.status())
            };
            tokio::time::timeout(timeout, call)
                .await
                .map_err(|_| "no answer within the step timeout".to_string())?
        })?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered HTTP {}", status.as_u16()))
        }
    }
}
