//! TLS: a certificate for the server, generated into the data directory on first start (a
//! local CA in `ca.pem` that clients trust with `--ca-bundle`, and a server certificate it
//! signs for localhost and the loopback addresses), or the user's own `--tls-cert/--tls-key`.
use chrono::Datelike;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("certificate generation failed: {0}")]
    Gen(#[from] rcgen::Error),
    #[error("{0}: no usable {1} in the file")]
    Pem(String, &'static str),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

fn write_file(path: &Path, data: &[u8], private: bool) -> Result<(), TlsError> {
    let err = |e| TlsError::Io(path.display().to_string(), e);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(data).map_err(err)?;
    f.sync_all().map_err(err)
}

/// Makes sure `dir` holds `ca.pem`, `tls.crt` and `tls.key`, generating them when absent.
/// Returns the paths of the certificate chain and key.
pub fn ensure_generated(dir: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf), TlsError> {
    let ca_path = dir.join("ca.pem");
    let crt_path = dir.join("tls.crt");
    let key_path = dir.join("tls.key");
    // The generated certificate is valid for 397 days (the most TLS clients accept); it is
    // renewed, with a new CA, once it is a year old.
    let fresh = std::fs::metadata(&crt_path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < std::time::Duration::from_secs(365 * 86_400));
    if ca_path.exists() && crt_path.exists() && key_path.exists() && fresh {
        return Ok((crt_path, key_path));
    }
    if crt_path.exists() {
        tracing::warn!("the generated TLS certificate is a year old: generating a new CA and certificate; clients must trust the new ca.pem");
    }
    let (y, m, d) = today();
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Rampart local CA");
    ca_params.not_before = rcgen::date_time_ymd(y, m, d);
    ca_params.not_after = rcgen::date_time_ymd(y + 10, m, d.min(28));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.use_authority_key_identifier_extension = true;
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let later = chrono::Utc::now() + chrono::Duration::days(397);
    params.not_after = rcgen::date_time_ymd(later.year(), later.month() as u8, later.day() as u8);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
    let chain = format!("{}{}", cert.pem(), ca.pem());
    write_file(&crt_path, chain.as_bytes(), false)?;
    write_file(&ca_path, ca.pem().as_bytes(), false)?;
    // The CA key is not kept: nothing else can be issued under this CA.
    Ok((crt_path, key_path))
}

/// A rustls server configuration from PEM files (HTTP/2 and HTTP/1.1 via ALPN).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_bytes = fs::read(cert).map_err(|e| TlsError::Io(cert.display().to_string(), e))?;
    let key_bytes = fs::read(key).map_err(|e| TlsError::Io(key.display().to_string(), e))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_bytes.as_slice())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Pem(cert.display().to_string(), "certificate"));
    }
    let key = rustls_pemfile::private_key(&mut key_bytes.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::Pem(key.display().to_string(), "private key"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Yesterday's date (so a client whose clock is a little behind still accepts the certificate).
fn today() -> (i32, u8, u8) {
    let t = chrono::Utc::now() - chrono::Duration::days(1);
    (t.year(), t.month() as u8, t.day() as u8)
}
