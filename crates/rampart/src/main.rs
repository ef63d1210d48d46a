//! `rampart`: the binary. A thin layer over the library crates: settings, start-up, commands.
#![forbid(unsafe_code)]

mod client;
mod config;
mod services;
mod webhook;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};
use config::Config;
use rampart_crypto::{RootKey, SealParams};
use rampart_identity::Identity;
use rampart_store::{SqliteStore, Store};
use rampart_trail::Trail;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rampart: the security services of a cloud (KMS, Secrets Manager, WAF, ...), self-hosted,
/// speaking AWS's wire protocols so the aws CLI, boto3 and the SDKs work unchanged.
///
/// Every setting can come from a TOML file (--config), an environment variable (RAMPART_*) or
/// a flag; flags win over the environment, which wins over the file.
#[derive(Parser, Debug)]
#[command(name = "rampart", version, about, long_about)]
struct Cli {
    /// TOML configuration file (same keys as the flags, e.g. `listen = "127.0.0.1:4566"`,
    /// `[limits] max_body_bytes = 8388608`).
    #[arg(long, env = "RAMPART_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the server.
    Serve(ServeArgs),
    /// Inspect the effective configuration.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// The audit trail.
    Trail {
        #[command(subcommand)]
        cmd: TrailCmd,
    },
    /// The web application firewall's proxies (a running server's).
    Waf {
        #[command(subcommand)]
        cmd: WafCmd,
    },
}

#[derive(Subcommand, Debug)]
enum WafCmd {
    /// Reverse proxies that enforce web ACLs (each is an Application Load Balancer ARN that
    /// `aws wafv2 associate-web-acl` takes).
    Proxy {
        #[command(subcommand)]
        cmd: ProxyCmd,
    },
}

#[derive(Subcommand, Debug)]
enum ProxyCmd {
    /// Create a proxy; it listens at once and after every restart. Prints its ARN.
    Create {
        #[command(flatten)]
        target: client::Target,
        /// Name (letters, digits and hyphens, at most 32).
        #[arg(long)]
        name: String,
        /// ADDRESS:PORT to listen on.
        #[arg(long)]
        listen: String,
        /// URL of the application to protect (http:// or https://).
        #[arg(long)]
        upstream: String,
        /// PEM certificate chain: serve HTTPS (with --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// List the proxies (JSON).
    List {
        #[command(flatten)]
        target: client::Target,
    },
    /// Delete a proxy (by ARN or name).
    Delete {
        #[command(flatten)]
        target: client::Target,
        /// The proxy's ARN or name.
        proxy: String,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCmd {
    /// Print the effective configuration as TOML.
    Print(ServeArgs),
}

#[derive(Subcommand, Debug)]
enum TrailCmd {
    /// Check the trail's hash chain and signed digests; names the first bad event.
    Verify {
        /// Data directory of the server whose trail to check.
        #[arg(long, env = "RAMPART_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Args, Debug, Clone, Default)]
struct ServeArgs {
    /// Data directory [default: ./rampart-data].
    #[arg(long, env = "RAMPART_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:4566]; port 0 picks a free port.
    #[arg(long, env = "RAMPART_LISTEN")]
    listen: Option<SocketAddr>,
    /// Development mode: a throwaway data directory, account 000000000000, credentials
    /// test/test, unknown access keys accepted unsigned, POST /moto-api/reset. Loopback only.
    #[arg(long, env = "RAMPART_DEV")]
    dev: bool,
    /// Default region [default: us-east-1].
    #[arg(long, env = "RAMPART_REGION")]
    region: Option<String>,
    /// PEM certificate chain to serve (instead of the generated one).
    #[arg(long, env = "RAMPART_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "RAMPART_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Log filter [default: info].
    #[arg(long, env = "RAMPART_LOG")]
    log: Option<String>,
    /// Largest request body accepted, in bytes [default: 8388608].
    #[arg(long, env = "RAMPART_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// When audit events of read-only calls become durable [default: batched].
    #[arg(long, env = "RAMPART_TRAIL_SYNC", value_enum)]
    trail_sync: Option<config::TrailSync>,
    /// Address database for WAF GeoMatch/AsnMatch statements (CSV ranges `first,last,CC`, or
    /// iptoasn.com's TSV).
    #[arg(long, env = "RAMPART_WAF_GEO_DATABASE")]
    waf_geo_database: Option<PathBuf>,
    /// Directory of the address lists that feed the WAF's IP reputation groups
    /// (`AWSManagedIPReputationList.txt`, `AnonymousIPList.txt`, ...) [default:
    /// <data dir>/waf-ip-lists].
    #[arg(long, env = "RAMPART_WAF_IP_LISTS")]
    waf_ip_lists: Option<PathBuf>,
}

impl ServeArgs {
    fn apply(&self, mut c: Config) -> Config {
        if let Some(v) = &self.data_dir {
            c.data_dir = v.clone();
        }
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if self.dev {
            c.dev = true;
        }
        if let Some(v) = &self.region {
            c.region = v.clone();
        }
        if let Some(v) = &self.tls_cert {
            c.tls_cert = Some(v.clone());
        }
        if let Some(v) = &self.tls_key {
            c.tls_key = Some(v.clone());
        }
        if let Some(v) = &self.log {
            c.log = v.clone();
        }
        if let Some(v) = self.max_body_bytes {
            c.limits.max_body_bytes = v;
        }
        if let Some(v) = self.trail_sync {
            c.trail.sync = v;
        }
        if let Some(v) = &self.waf_geo_database {
            c.waf.geo_database = Some(v.clone());
        }
        if let Some(v) = &self.waf_ip_lists {
            c.waf.ip_lists_dir = Some(v.clone());
        }
        c
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("rampart: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let base = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => {
            let cfg = args.apply(base);
            cfg.validate()?;
            init_logging(&cfg.log);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(serve(cfg))
        }
        Command::Config {
            cmd: ConfigCmd::Print(args),
        } => {
            let cfg = args.apply(base);
            cfg.validate()?;
            print!("{}", toml::to_string(&cfg)?);
            Ok(())
        }
        Command::Waf {
            cmd: WafCmd::Proxy { cmd },
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(proxy_cmd(cmd))
        }
        Command::Trail {
            cmd: TrailCmd::Verify { data_dir },
        } => {
            let dir = data_dir.unwrap_or(base.data_dir);
            trail_verify(&dir)
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn passphrase() -> Option<zeroize::Zeroizing<Vec<u8>>> {
    std::env::var_os("RAMPART_UNSEAL_PASSPHRASE")
        .map(|v| zeroize::Zeroizing::new(v.into_encoded_bytes()))
}

fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    Ok(())
}

struct Opened {
    store: Arc<SqliteStore>,
    root: Arc<RootKey>,
}

fn open_data(dir: &Path) -> Result<Opened> {
    ensure_private_dir(dir)?;
    let pass = passphrase();
    let root = RootKey::open_or_create(
        dir,
        pass.as_deref().map(|p| p.as_slice()),
        SealParams::default(),
    )
    .map_err(|e| anyhow!("root of trust in {}: {e}", dir.display()))?;
    let store = SqliteStore::open(&dir.join("rampart.db"))
        .map_err(|e| anyhow!("opening the store: {e}"))?;
    Ok(Opened {
        store: Arc::new(store),
        root: Arc::new(root),
    })
}

fn trail_key(root: &RootKey) -> Result<zeroize::Zeroizing<[u8; 32]>> {
    root.derive_key("trail-digest").map_err(|e| anyhow!("{e}"))
}

fn trail_verify(dir: &Path) -> Result<()> {
    if !dir.join("rampart.db").exists() {
        anyhow::bail!("no Rampart data in {}", dir.display());
    }
    let o = open_data(dir)?;
    let key = trail_key(&o.root)?;
    let store: Arc<dyn Store> = o.store.clone();
    let trail = Trail::new(store.clone(), &key);
    let report =
        rampart_trail::verify(store.as_ref(), trail.mac_key()).map_err(|e| anyhow!("{e}"))?;
    match report.problem {
        None => {
            println!(
                "trail OK: {} events, {} signed digests",
                report.events, report.digests
            );
            Ok(())
        }
        Some(p) => {
            println!("trail BROKEN after {} good events: {p}", report.events);
            std::process::exit(2);
        }
    }
}

/// Writes `text` to a new 0600 file.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

async fn serve(mut cfg: Config) -> Result<()> {
    // --dev: a throwaway directory removed when the server stops.
    let _tmp;
    if cfg.dev {
        let t = tempfile::Builder::new().prefix("rampart-dev-").tempdir()?;
        cfg.data_dir = t.path().to_path_buf();
        _tmp = Some(t);
        eprintln!(
            "WARNING: --dev: throwaway data, account 000000000000, credentials test/test, unknown access keys accepted without signature check; loopback only, never for real secrets"
        );
    } else {
        _tmp = None;
    }
    let o = open_data(&cfg.data_dir)?;
    // Bind first: the credentials file names the address actually bound (port 0 picks one).
    let tcp = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    let bound = tcp.local_addr()?;
    let store: Arc<dyn Store> = o.store.clone();
    let identity = Identity::new(store.clone(), o.root.clone());
    if cfg.dev {
        identity
            .bootstrap(Some(rampart_identity::DEV_ACCOUNT), Some(("test", "test")))
            .map_err(|e| anyhow!("{e}"))?;
    } else if let Some(creds) = identity.bootstrap(None, None).map_err(|e| anyhow!("{e}"))? {
        let path = cfg.data_dir.join("credentials");
        let text = format!(
            "# Rampart administrator credentials (account {}, user {}).\n# Use: aws --profile rampart --endpoint-url http://{} ...\n[rampart]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            creds.account_id,
            creds.user_name,
            bound,
            creds.access_key_id,
            creds.secret_access_key.as_str()
        );
        write_private(&path, &text)?;
        let shown = std::fs::canonicalize(&path).unwrap_or(path);
        println!(
            "Created account {}; administrator credentials (profile 'rampart') written to {}",
            creds.account_id,
            shown.display()
        );
    }
    let key = trail_key(&o.root)?;
    let trail = Trail::new(store.clone(), &key);

    let (cert, key_path) = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => rampart_server::tls::ensure_generated(&cfg.data_dir)?,
    };
    let tls = rampart_server::tls::server_config(&cert, &key_path)?;

    let authorizer = services::authorizer(&identity);
    let services::Services {
        registry,
        edge,
        waf,
        kms,
        secrets,
    } = services::registry(&identity, &trail, o.root.clone(), authorizer.clone(), &cfg)?;
    let reset_edge = edge.clone();
    let metrics_edge = edge.clone();
    let reset_identity = identity.clone();
    let dev = cfg.dev;
    let state = Arc::new(rampart_server::State {
        registry,
        identity,
        trail: trail.clone(),
        store: store.clone(),
        sig_cache: rampart_sigv4::SigningKeyCache::new(4096),
        limits: cfg.limits(),
        dev,
        on_reset: Some(Arc::new(move || {
            reset_edge.stop_all();
            kms.clear_cache();
            secrets.clear_cache();
            reset_identity
                .bootstrap(Some(rampart_identity::DEV_ACCOUNT), Some(("test", "test")))
                .map(|_| ())
                .map_err(|e| e.to_string())
        })),
        default_region: cfg.region.clone(),
        regions: cfg.regions.clone(),
        strict_trail: cfg.trail.sync == config::TrailSync::Strict,
        authorizer,
        metrics: Some(Arc::new(move || metrics_edge.metrics())),
    });

    let allow_plain = bound.ip().is_loopback();
    if allow_plain {
        println!("Rampart listening on {bound} (http and https)");
    } else {
        println!("Rampart listening on {bound} (https only; plain HTTP is served on loopback binds only)");
    }
    println!(
        "CA certificate for --ca-bundle: {}",
        cfg.data_dir.join("ca.pem").display()
    );
    let listener = rampart_server::Listener {
        tcp,
        tls: Some(tls),
        allow_plain,
    };

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Sign the trail head periodically so recent events are covered by a digest.
    let signer = trail.clone();
    let mut stop_sign = stop_rx.clone();
    let sign_task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let s = signer.clone();
                    let _ = tokio::task::spawn_blocking(move || s.sign_head()).await;
                }
                _ = stop_sign.changed() => break,
            }
        }
    });
    // The IP reputation lists are re-read when their files change.
    let mut stop_lists = stop_rx.clone();
    let lists_task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let w = waf.clone();
                    let _ = tokio::task::spawn_blocking(move || w.refresh_ip_lists()).await;
                }
                _ = stop_lists.changed() => break,
            }
        }
    });
    let server = tokio::spawn(rampart_server::serve(listener, state, stop_rx));
    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = server.await;
    let _ = sign_task.await;
    let _ = lists_task.await;
    let t = trail.clone();
    let _ = tokio::task::spawn_blocking(move || t.sign_head()).await;
    o.store.close();
    Ok(())
}

const EDGE: &str = "RampartEdge_20261201";

async fn proxy_cmd(cmd: ProxyCmd) -> Result<()> {
    match cmd {
        ProxyCmd::Create {
            target,
            name,
            listen,
            upstream,
            tls_cert,
            tls_key,
        } => {
            let mut body =
                serde_json::json!({"Name": name, "Listen": listen, "Upstream": upstream});
            if let (Some(c), Some(k)) = (tls_cert, tls_key) {
                let abs = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
                body["Tls"] = serde_json::json!({
                    "CertificateFile": abs(c).display().to_string(),
                    "PrivateKeyFile": abs(k).display().to_string(),
                });
            }
            let v = target
                .call("rampart", &format!("{EDGE}.CreateProxy"), &body)
                .await?;
            let arn = v
                .pointer("/Proxy/ProxyArn")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| anyhow!("the server answered without a proxy ARN"))?;
            println!("{arn}");
            if let Some(b) = v
                .pointer("/Proxy/BoundAddress")
                .and_then(serde_json::Value::as_str)
            {
                eprintln!("listening on {b}");
            }
            Ok(())
        }
        ProxyCmd::List { target } => {
            let v = target
                .call(
                    "rampart",
                    &format!("{EDGE}.DescribeProxies"),
                    &serde_json::json!({}),
                )
                .await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
        ProxyCmd::Delete { target, proxy } => {
            let arn = if proxy.starts_with("arn:") {
                proxy
            } else {
                let v = target
                    .call(
                        "rampart",
                        &format!("{EDGE}.DescribeProxies"),
                        &serde_json::json!({"Names": [proxy]}),
                    )
                    .await?;
                v.pointer("/Proxies/0/ProxyArn")
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| anyhow!("no such proxy"))?
                    .to_string()
            };
            target
                .call(
                    "rampart",
                    &format!("{EDGE}.DeleteProxy"),
                    &serde_json::json!({"ProxyArn": arn}),
                )
                .await?;
            Ok(())
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
