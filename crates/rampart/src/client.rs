//! A small AWS JSON 1.1 client for the binary's own commands (`rampart waf proxy ...`): the
//! caller's credentials as the AWS CLI finds them, SigV4 (`rampart_sigv4::client`), one POST.

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use serde_json::Value;
use std::path::PathBuf;

/// Where to send requests and as whom.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// The Rampart endpoint (`http://127.0.0.1:4566`).
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    pub endpoint: String,
    /// Region [default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1].
    #[arg(long)]
    pub region: Option<String>,
    /// Profile of the shared credentials file [default: AWS_PROFILE, else default].
    #[arg(long)]
    pub profile: Option<String>,
    /// CA certificate (PEM) to trust for an https endpoint (e.g. rampart-data/ca.pem).
    #[arg(long)]
    pub ca_bundle: Option<PathBuf>,
}

struct Credentials {
    access_key: String,
    secret_key: zeroize::Zeroizing<String>,
    token: Option<String>,
}

fn credentials(profile: Option<&str>) -> Result<Credentials> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if profile.is_none() {
        if let (Some(a), Some(s)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            return Ok(Credentials {
                access_key: a,
                secret_key: zeroize::Zeroizing::new(s),
                token: env("AWS_SESSION_TOKEN"),
            });
        }
    }
    let profile = profile
        .map(str::to_string)
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_string());
    let path = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".aws/credentials")))
        .ok_or_else(|| {
            anyhow!("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        })?;
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
    );
    let mut section = String::new();
    let (mut a, mut s, mut t) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if section != profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim() {
                "aws_access_key_id" => a = Some(v),
                "aws_secret_access_key" => s = Some(v),
                "aws_session_token" => t = Some(v),
                _ => {}
            }
        }
    }
    match (a, s) {
        (Some(a), Some(s)) => Ok(Credentials {
            access_key: a,
            secret_key: zeroize::Zeroizing::new(s),
            token: t,
        }),
        _ => bail!(
            "profile '{profile}' has no credentials in {}",
            path.display()
        ),
    }
}

impl Target {
    fn region(&self) -> String {
        self.region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".to_string())
    }

    /// Calls a JSON 1.1 operation; an AWS error becomes an error naming its code and message.
    pub async fn call(&self, service: &str, target: &str, body: &Value) -> Result<Value> {
        let creds = credentials(self.profile.as_deref())?;
        let uri: hyper::Uri = self
            .endpoint
            .parse()
            .with_context(|| format!("endpoint {}", self.endpoint))?;
        let host = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or_else(|| anyhow!("endpoint {} has no host", self.endpoint))?;
        let body = serde_json::to_vec(body)?;
        let mut signer = rampart_sigv4::client::Signer::new(
            &creds.access_key,
            &creds.secret_key,
            creds.token.as_deref(),
            &self.region(),
            service,
        );
        let headers = signer.sign(
            chrono::Utc::now(),
            "POST",
            "/",
            "",
            &host,
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", target),
            ],
            &body,
        );
        let mut req =
            hyper::Request::post(format!("{}://{host}/", uri.scheme_str().unwrap_or("http")));
        for (n, v) in &headers {
            req = req.header(n.as_str(), v.as_str());
        }
        let req = req.body(Full::new(Bytes::from(body)))?;
        let tls = tls_config(self.ca_bundle.as_deref(), true)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client: Client<_, Full<Bytes>> =
            Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        let resp = client
            .request(req)
            .await
            .with_context(|| format!("calling {}", self.endpoint))?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let v: Value = if bytes.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{status}: {}", String::from_utf8_lossy(&bytes)))?
        };
        if !status.is_success() {
            let code = v
                .get("__type")
                .and_then(Value::as_str)
                .map(|t| t.rsplit('#').next().unwrap_or(t))
                .unwrap_or("Error");
            let msg = v
                .get("message")
                .or_else(|| v.get("Message"))
                .and_then(Value::as_str)
                .unwrap_or("");
            bail!("{code}: {msg}");
        }
        Ok(v)
    }
}

/// A TLS client configuration trusting the PEM certificates in `ca` and, with `system`, the
/// system's roots.
pub(crate) fn tls_config(
    ca: Option<&std::path::Path>,
    system: bool,
) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    if system {
        // Unreadable system certificates are skipped, as browsers do.
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
    }
    if let Some(ca) = ca {
        let f = std::fs::File::open(ca).with_context(|| format!("{}", ca.display()))?;
        for c in rustls_pemfile::certs(&mut std::io::BufReader::new(f)) {
            roots.add(c.with_context(|| format!("{}", ca.display()))?)?;
        }
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}
