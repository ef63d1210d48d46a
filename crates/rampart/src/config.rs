//! Settings: one set of serde structs read from TOML (`--config`), overridden by environment
//! variables (`RAMPART_*`) and flags (clap handles those two), then validated.
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where state lives (SQLite database, root key, TLS material, credentials).
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Development mode: throwaway data, fixed account and `test`/`test` credentials.
    pub dev: bool,
    /// The region events are recorded in when a request cannot be attributed to one.
    pub region: String,
    /// The regions this node serves (default: AWS's commercial regions).
    pub regions: Vec<String>,
    /// A PEM certificate chain and key to serve instead of the generated ones.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Log filter (`info`, `debug`, `rampart_server=debug`, ...).
    pub log: String,
    pub limits: LimitsConfig,
    pub trail: TrailConfig,
    pub waf: WafConfig,
    pub secrets: SecretsConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// The directory of local-command rotators (an executable per function name)
    /// [default: $RAMPART_ROTATORS_DIR].
    pub rotators_dir: Option<PathBuf>,
    /// The endpoint local-command rotators call back, given to them as `AWS_ENDPOINT_URL`
    /// [default: $RAMPART_ROTATOR_ENDPOINT].
    pub rotator_endpoint: Option<String>,
    /// HTTPS webhook rotators, by the function name a `RotationLambdaARN` ends with.
    pub webhooks: std::collections::BTreeMap<String, WebhookConfig>,
}

/// One webhook rotator: each rotation step's Lambda event is POSTed to `url`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// An `https://` URL (`http://` only to a loopback address).
    pub url: String,
    /// PEM CA certificates to trust for it, besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// A file holding the shared secret each request is signed with (`X-Rampart-Signature`).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WafConfig {
    /// An address database for GeoMatch / AsnMatch (CSV `first,last,CC` ranges, or
    /// iptoasn.com's TSV with AS numbers).
    pub geo_database: Option<PathBuf>,
    /// The directory of the IP reputation groups' address lists (`<rule name>.txt`)
    /// [default: <data dir>/waf-ip-lists].
    pub ip_lists_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrailConfig {
    /// `batched` (default): events of read-only calls become durable with the next group
    /// commit, within milliseconds; `strict`: every event is durable before the response.
    pub sync: TrailSync,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TrailSync {
    #[default]
    Batched,
    Strict,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_body_bytes: usize,
    pub max_headers: usize,
    pub header_timeout_secs: u64,
    pub body_timeout_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let l = rampart_server::Limits::default();
        LimitsConfig {
            max_body_bytes: l.max_body_bytes,
            max_headers: l.max_headers,
            header_timeout_secs: l.header_timeout.as_secs(),
            body_timeout_secs: l.body_timeout.as_secs(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./rampart-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 4566)),
            dev: false,
            region: "us-east-1".into(),
            regions: rampart_server::AWS_REGIONS
                .iter()
                .map(|r| r.to_string())
                .collect(),
            tls_cert: None,
            tls_key: None,
            log: "info".into(),
            limits: LimitsConfig::default(),
            trail: TrailConfig::default(),
            waf: WafConfig::default(),
            secrets: SecretsConfig::default(),
        }
    }
}

impl Config {
    pub fn load(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
        match path {
            None => Ok(Config::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("config file {}: {e}", p.display()))?;
                toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("config file {}: {e}", p.display()))
            }
        }
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.dev && !self.listen.ip().is_loopback() {
            anyhow::bail!(
                "--dev serves only on a loopback address (127.0.0.1 or ::1), not {}",
                self.listen
            );
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!("--tls-cert and --tls-key go together");
        }
        if self.limits.max_body_bytes < 1024 {
            anyhow::bail!("limits.max_body_bytes must be at least 1024");
        }
        if self.limits.max_headers == 0
            || self.limits.header_timeout_secs == 0
            || self.limits.body_timeout_secs == 0
        {
            anyhow::bail!("limits must be positive");
        }
        if !self.regions.contains(&self.region) {
            anyhow::bail!(
                "region {} is not among the regions served ({})",
                self.region,
                self.regions.join(", ")
            );
        }
        Ok(())
    }

    pub fn limits(&self) -> rampart_server::Limits {
        rampart_server::Limits {
            max_body_bytes: self.limits.max_body_bytes,
            max_headers: self.limits.max_headers,
            header_timeout: std::time::Duration::from_secs(self.limits.header_timeout_secs),
            body_timeout: std::time::Duration::from_secs(self.limits.body_timeout_secs),
        }
    }
}
