//! AWS Signature Version 4 verification for a server.
//!
//! Pure functions, no I/O and no HTTP framework types: the HTTP layer hands over a
//! [`SignedRequest`] (method, path and query as on the wire, headers as received, body), calls
//! [`parse`] to learn who claims to sign, looks the access key up, then calls [`verify`] with the
//! secret. Error texts follow AWS's wording ([`SigError`]'s `Display`).
//!
//! ```text
//! let auth = rampart_sigv4::parse(&req)?;                 // AuthKind::Anonymous when unsigned
//! let secret = store.secret_for(&auth.access_key_id)?;    // caller's business
//! rampart_sigv4::check_scope(&auth, "us-east-1", "kms")?; // optional: region/service checks
//! rampart_sigv4::verify(&req, &auth, &secret, now, Some(&cache))?;
//! ```
#![forbid(unsafe_code)]

mod cache;
mod canonical;
pub mod client;
mod encode;

use std::fmt;

use aws_lc_rs::hmac;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use cache::{CacheStats, SigningKeyCache, DEFAULT_CACHE_CAPACITY};
pub use canonical::{
    canonical_query, canonical_request, canonical_request_with, canonical_signed_headers,
    canonical_uri, CanonicalOptions,
};

use canonical::query_pairs;
use encode::{is_sha256_hex, sha256_hex};

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Credential scope terminator.
pub const SCOPE_TERMINATOR: &str = "aws4_request";
/// Payload hash a client may sign instead of the body's hash.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Largest `X-Amz-Expires` accepted (seven days).
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;
/// Clock skew tolerated each way, in seconds (15 minutes).
pub const MAX_CLOCK_SKEW_SECS: i64 = 900;

pub(crate) const X_AMZ_ALGORITHM: &str = "X-Amz-Algorithm";
pub(crate) const X_AMZ_CREDENTIAL: &str = "X-Amz-Credential";
pub(crate) const X_AMZ_DATE: &str = "X-Amz-Date";
pub(crate) const X_AMZ_EXPIRES: &str = "X-Amz-Expires";
pub(crate) const X_AMZ_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
pub(crate) const X_AMZ_SIGNATURE: &str = "X-Amz-Signature";
pub(crate) const X_AMZ_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
pub(crate) const X_AMZ_CONTENT_SHA256: &str = "X-Amz-Content-Sha256";

const MSG_MISSING: &str = "Request is missing Authentication Token";
const MSG_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const MSG_PAYLOAD_MISMATCH: &str =
    "The provided 'x-amz-content-sha256' header does not match what was computed.";
const MSG_HOST_NOT_SIGNED: &str =
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
const MSG_TWO_MECHANISMS: &str = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified";
const MSG_PRESIGNED_EXPIRED: &str = "Request has expired";
const MSG_EXPIRES_NOT_NUMBER: &str = "X-Amz-Expires should be a number";
const MSG_EXPIRES_NEGATIVE: &str = "X-Amz-Expires must be non-negative";
const MSG_EXPIRES_TOO_LARGE: &str = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds";
const MSG_QUERY_ALGORITHM: &str = "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"";
const MSG_BAD_CONTENT_SHA256: &str =
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.";

/// A request as the server received it. Nothing here is decoded or normalised.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    /// HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// Path as on the wire (percent-encoded), without the query.
    pub raw_path: &'a str,
    /// Query as on the wire, without the `?`.
    pub raw_query: &'a str,
    /// Header names as received; a repeated header appears repeatedly. For HTTP/2 include the
    /// authority as `host` (or as `:authority`).
    pub headers: &'a [(String, String)],
    /// The full body.
    pub body: &'a [u8],
}

/// Where the signature was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// `Authorization: AWS4-HMAC-SHA256 ...` header.
    Header,
    /// `X-Amz-*` query parameters (presigned URL).
    Presigned,
    /// No signature at all. [`verify`] refuses it with [`SigError::Missing`]; the caller decides
    /// whether the operation may be called anonymously.
    Anonymous,
}

/// What the request claims: the credential scope, signed headers, signature and date.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    pub kind: AuthKind,
    pub access_key_id: String,
    /// Credential scope date, `yyyymmdd`.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Signed header names, lower-cased, in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// The signature as sent (64 lower-case hex digits when well-formed).
    pub signature: String,
    /// Request time, `yyyymmddThhmmssZ` (converted from the `Date` header when that was used).
    pub amz_date: String,
    /// `X-Amz-Security-Token` (header, or query parameter when presigned); the caller checks it
    /// against the session the access key belongs to.
    pub security_token: Option<String>,
    /// Presigned `X-Amz-Expires`, in seconds.
    pub expires: Option<u64>,
}

impl fmt::Debug for ParsedAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedAuth")
            .field("kind", &self.kind)
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &self.signature)
            .field("amz_date", &self.amz_date)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

impl ParsedAuth {
    fn anonymous() -> ParsedAuth {
        ParsedAuth {
            kind: AuthKind::Anonymous,
            access_key_id: String::new(),
            date: String::new(),
            region: String::new(),
            service: String::new(),
            signed_headers: Vec::new(),
            signature: String::new(),
            amz_date: String::new(),
            security_token: None,
            expires: None,
        }
    }

    /// The credential scope, `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        // `concat`, not `format!`: one allocation, no formatter (this runs on every request).
        [
            self.date.as_str(),
            "/",
            &self.region,
            "/",
            &self.service,
            "/",
            SCOPE_TERMINATOR,
        ]
        .concat()
    }
}

/// Why a request's signature was refused. `Display` gives AWS's message text; the caller maps
/// each variant to its protocol's AWS error code (`MissingAuthenticationToken`,
/// `IncompleteSignature`, `SignatureDoesNotMatch` / `InvalidSignatureException`, ...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// No signature ("Request is missing Authentication Token").
    #[error("Request is missing Authentication Token")]
    Missing,
    /// A required part of the signature is absent or unusable (AWS `IncompleteSignature`).
    #[error("{0}")]
    Incomplete(String),
    /// The signature does not match.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    InvalidSignature,
    /// The request time is too old, or the presigned URL has expired (full AWS message).
    #[error("{0}")]
    Expired(String),
    /// The request time is too far in the future (full AWS message).
    #[error("{0}")]
    NotYetValid(String),
    /// The algorithm is not `AWS4-HMAC-SHA256` (full AWS message).
    #[error("{0}")]
    UnsupportedAlgorithm(String),
    /// The signature is present but malformed or wrongly scoped (full AWS message).
    #[error("{0}")]
    Malformed(String),
    /// `x-amz-content-sha256` does not match the body.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    PayloadHashMismatch,
}

impl SigError {
    /// AWS's message text (the same as `Display`).
    pub fn message(&self) -> String {
        match self {
            SigError::Missing => MSG_MISSING.to_owned(),
            SigError::InvalidSignature => MSG_MISMATCH.to_owned(),
            SigError::PayloadHashMismatch => MSG_PAYLOAD_MISMATCH.to_owned(),
            SigError::Incomplete(m)
            | SigError::Expired(m)
            | SigError::NotYetValid(m)
            | SigError::UnsupportedAlgorithm(m)
            | SigError::Malformed(m) => m.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dates

const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Formats a time as `yyyymmddThhmmssZ`.
pub fn format_amz_date(t: DateTime<Utc>) -> String {
    use chrono::{Datelike as _, Timelike as _};
    // By hand: chrono's `format` interprets its pattern on every call, and this runs twice
    // per request. Years outside 0..=9999 (never signed) fall back to it.
    if !(0..=9999).contains(&t.year()) {
        return t.format(AMZ_DATE_FORMAT).to_string();
    }
    fn digits(out: &mut String, n: u32, width: u32) {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + ((n / 10u32.pow(i)) % 10) as u8));
        }
    }
    let mut out = String::with_capacity(16);
    digits(&mut out, t.year().unsigned_abs(), 4);
    digits(&mut out, t.month(), 2);
    digits(&mut out, t.day(), 2);
    out.push('T');
    digits(&mut out, t.hour(), 2);
    digits(&mut out, t.minute(), 2);
    digits(&mut out, t.second(), 2);
    out.push('Z');
    out
}

fn digits(s: &str, from: usize, to: usize) -> Option<u32> {
    let part = s.get(from..to)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// Parses exactly `yyyymmddThhmmssZ`.
pub fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let year = i32::try_from(digits(s, 0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, digits(s, 4, 6)?, digits(s, 6, 8)?)?;
    let time = date.and_hms_opt(digits(s, 9, 11)?, digits(s, 11, 13)?, digits(s, 13, 15)?)?;
    Some(time.and_utc())
}

/// `X-Amz-Date` (ISO 8601 basic) or, for the `Date` header, RFC 1123 as well.
fn parse_request_date(s: &str, allow_http_date: bool) -> Option<DateTime<Utc>> {
    let s = s.trim();
    parse_amz_date(s).or_else(|| {
        if allow_http_date {
            DateTime::parse_from_rfc2822(s)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        } else {
            None
        }
    })
}

fn bad_date(s: &str) -> SigError {
    SigError::Incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{s}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn header_values<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn first_header<'a>(headers: &'a [(String, String)], name: &'a str) -> Option<&'a str> {
    header_values(headers, name).next()
}

struct Credential {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
}

/// Splits `AKID/date/region/service/aws4_request` and checks the terminator and that the scope
/// date is the request's date.
fn parse_credential(credential: &str, amz_date: &str) -> Result<Credential, SigError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [akid, date, region, service, term] = parts.as_slice() else {
        return Err(SigError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    let mut errors = Vec::new();
    if *term != SCOPE_TERMINATOR {
        errors.push(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{term}'."
        ));
    }
    let request_day = amz_date.get(..8).unwrap_or(amz_date);
    if *date != request_day {
        errors.push(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{request_day}', from '{amz_date}'."
        ));
    }
    if !errors.is_empty() {
        return Err(SigError::Malformed(errors.join(" ")));
    }
    Ok(Credential {
        access_key_id: (*akid).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
    })
}

fn split_signed_headers(list: &str) -> Vec<String> {
    list.split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

fn require_host(signed_headers: &[String]) -> Result<(), SigError> {
    if signed_headers
        .iter()
        .any(|h| h == "host" || h == ":authority")
    {
        Ok(())
    } else {
        Err(SigError::Malformed(MSG_HOST_NOT_SIGNED.to_owned()))
    }
}

/// Finds the signature: the `Authorization` header or the `X-Amz-*` query parameters.
/// A request with neither is [`AuthKind::Anonymous`].
pub fn parse(req: &SignedRequest) -> Result<ParsedAuth, SigError> {
    let query = query_pairs(req.raw_query);
    let has_param = |name: &str| query.iter().any(|(k, _)| k.as_slice() == name.as_bytes());
    let authorization = first_header(req.headers, "authorization");
    match (authorization, has_param(X_AMZ_ALGORITHM)) {
        (Some(_), true) => Err(SigError::Malformed(MSG_TWO_MECHANISMS.to_owned())),
        (Some(value), false) => parse_header_auth(req, value),
        (None, true) => parse_presigned(&query),
        (None, false) => {
            if has_param(X_AMZ_CREDENTIAL) || has_param(X_AMZ_SIGNATURE) {
                Err(SigError::Incomplete(
                    "AWS query-string parameters must include 'X-Amz-Algorithm'. Re-examine the query-string parameters.".to_owned(),
                ))
            } else {
                Ok(ParsedAuth::anonymous())
            }
        }
    }
}

fn parse_header_auth(req: &SignedRequest, value: &str) -> Result<ParsedAuth, SigError> {
    let value = value.trim();
    let is_sep = |c: char| c.is_ascii_whitespace() || c == ',';
    let (first, rest) = match value.find(is_sep) {
        Some(i) => (value.get(..i).unwrap_or(""), value.get(i..).unwrap_or("")),
        None => (value, ""),
    };
    let algorithm_ok = first == ALGORITHM;
    if !algorithm_ok && first.starts_with("AWS") && !first.contains('=') {
        return Err(SigError::UnsupportedAlgorithm(format!(
            "Unsupported AWS 'algorithm': '{first}'."
        )));
    }
    // Without a recognised algorithm the whole value is read as parameters, so that e.g.
    // `Authorization: Bearer ...` gets AWS's "requires 'Credential' parameter" answer.
    let params = if algorithm_ok { rest } else { value };

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for piece in params.split(is_sep).filter(|p| !p.is_empty()) {
        let Some((k, v)) = piece.split_once('=') else {
            if !algorithm_ok {
                // Some other scheme (`Bearer xyz`): only AWS's "requires ..." answer applies.
                continue;
            }
            return Err(SigError::Incomplete(format!(
                "'{piece}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'"
            )));
        };
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }

    let x_amz_date = first_header(req.headers, "x-amz-date");
    let date_header = first_header(req.headers, "date");
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if x_amz_date.is_none() && date_header.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    let (Some(credential), Some(signature), Some(signed_headers), true) =
        (credential, signature, signed_headers, missing.is_empty())
    else {
        return Err(SigError::Incomplete(format!(
            "{} Authorization={value}",
            missing.join(" ")
        )));
    };
    if !algorithm_ok {
        return Err(SigError::UnsupportedAlgorithm(format!(
            "Unsupported AWS 'algorithm': '{first}'."
        )));
    }

    let when = match (x_amz_date, date_header) {
        (Some(d), _) => parse_request_date(d, false).ok_or_else(|| bad_date(d))?,
        (None, Some(d)) => parse_request_date(d, true).ok_or_else(|| bad_date(d))?,
        (None, None) => return Err(bad_date("")),
    };
    let amz_date = format_amz_date(when);
    let cred = parse_credential(credential, &amz_date)?;
    let signed_headers = split_signed_headers(signed_headers);
    require_host(&signed_headers)?;

    Ok(ParsedAuth {
        kind: AuthKind::Header,
        access_key_id: cred.access_key_id,
        date: cred.date,
        region: cred.region,
        service: cred.service,
        signed_headers,
        signature: signature.to_owned(),
        amz_date,
        security_token: first_header(req.headers, "x-amz-security-token")
            .map(|t| t.trim().to_owned()),
        expires: None,
    })
}

fn parse_presigned(query: &[(Vec<u8>, Vec<u8>)]) -> Result<ParsedAuth, SigError> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.as_slice() == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    if param(X_AMZ_ALGORITHM).as_deref() != Some(ALGORITHM) {
        return Err(SigError::UnsupportedAlgorithm(
            MSG_QUERY_ALGORITHM.to_owned(),
        ));
    }
    let credential = param(X_AMZ_CREDENTIAL);
    let signature = param(X_AMZ_SIGNATURE);
    let signed_headers = param(X_AMZ_SIGNED_HEADERS);
    let date = param(X_AMZ_DATE);
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("AWS query-string parameters must include 'X-Amz-Credential'.");
    }
    if signature.is_none() {
        missing.push("AWS query-string parameters must include 'X-Amz-Signature'.");
    }
    if signed_headers.is_none() {
        missing.push("AWS query-string parameters must include 'X-Amz-SignedHeaders'.");
    }
    if date.is_none() {
        missing.push("AWS query-string parameters must include 'X-Amz-Date'.");
    }
    let (Some(credential), Some(signature), Some(signed_headers), Some(date)) =
        (credential, signature, signed_headers, date)
    else {
        return Err(SigError::Incomplete(format!(
            "{} Re-examine the query-string parameters.",
            missing.join(" ")
        )));
    };

    let when = parse_request_date(&date, false).ok_or_else(|| bad_date(&date))?;
    let amz_date = format_amz_date(when);
    let expires = match param(X_AMZ_EXPIRES) {
        None => None,
        Some(e) => {
            let e = e.trim();
            if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                let negative = e
                    .strip_prefix('-')
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
                return Err(SigError::Malformed(
                    if negative {
                        MSG_EXPIRES_NEGATIVE
                    } else {
                        MSG_EXPIRES_NOT_NUMBER
                    }
                    .to_owned(),
                ));
            }
            match e.parse::<u64>() {
                Ok(n) if n <= MAX_PRESIGNED_EXPIRES_SECS => Some(n),
                _ => return Err(SigError::Malformed(MSG_EXPIRES_TOO_LARGE.to_owned())),
            }
        }
    };
    let cred = parse_credential(&credential, &amz_date)?;
    let signed_headers = split_signed_headers(&signed_headers);
    require_host(&signed_headers)?;

    Ok(ParsedAuth {
        kind: AuthKind::Presigned,
        access_key_id: cred.access_key_id,
        date: cred.date,
        region: cred.region,
        service: cred.service,
        signed_headers,
        signature,
        amz_date,
        security_token: param(X_AMZ_SECURITY_TOKEN),
        expires,
    })
}

/// Checks the credential scope's region and service against what this endpoint serves, with
/// AWS's messages ("Credential should be scoped to a valid region, not 'x'." /
/// "Credential should be scoped to correct service: 'y'.").
pub fn check_scope(
    auth: &ParsedAuth,
    expected_region: &str,
    expected_service: &str,
) -> Result<(), SigError> {
    if auth.kind == AuthKind::Anonymous {
        return Err(SigError::Missing);
    }
    let mut errors = Vec::new();
    if auth.region != expected_region {
        errors.push(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            auth.region
        ));
    }
    if auth.service != expected_service {
        errors.push(format!(
            "Credential should be scoped to correct service: '{expected_service}'."
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(SigError::Malformed(errors.join(" ")))
    }
}

// ---------------------------------------------------------------------------------------------
// Crypto

fn hmac_sha256(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, data);
    let mut out = Zeroizing::new([0u8; 32]);
    for (o, t) in out.iter_mut().zip(tag.as_ref()) {
        *o = *t;
    }
    out
}

pub(crate) fn signing_key_zeroizing(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> Zeroizing<[u8; 32]> {
    let mut k_secret = Zeroizing::new(Vec::with_capacity(4 + secret.len()));
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&k_secret, date.as_bytes());
    let k_region = hmac_sha256(k_date.as_ref(), region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), service.as_bytes());
    hmac_sha256(k_service.as_ref(), SCOPE_TERMINATOR.as_bytes())
}

/// The SigV4 signing key `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
/// "aws4_request")`. Intermediate keys are zeroized.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    *signing_key_zeroizing(secret, date, region, service)
}

/// The string to sign for a canonical request.
pub fn string_to_sign(auth: &ParsedAuth, canonical_request: &str) -> String {
    let hash = sha256_hex(canonical_request.as_bytes());
    [
        ALGORITHM,
        "\n",
        &auth.amz_date,
        "\n",
        &auth.scope(),
        "\n",
        &hash,
    ]
    .concat()
}

/// The hex signature of a string to sign (what a client sends).
pub fn sign(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    rampart_core::ids::hex_lower(hmac_sha256(signing_key, string_to_sign.as_bytes()).as_ref())
}

// ---------------------------------------------------------------------------------------------
// Verification

/// Knobs for [`verify_with`]. The defaults are AWS's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// URI rules; `None` picks them from the credential's service
    /// ([`CanonicalOptions::for_service`]).
    pub canonical: Option<CanonicalOptions>,
    /// Clock skew tolerated each way, in seconds.
    pub max_skew_secs: i64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            canonical: None,
            max_skew_secs: MAX_CLOCK_SKEW_SECS,
        }
    }
}

fn skew_label(secs: i64) -> String {
    if secs % 60 == 0 {
        format!("{} min.", secs / 60)
    } else {
        format!("{secs} sec.")
    }
}

fn check_time(
    auth: &ParsedAuth,
    when: DateTime<Utc>,
    now: DateTime<Utc>,
    max_skew_secs: i64,
) -> Result<(), SigError> {
    let skew = TimeDelta::try_seconds(max_skew_secs.max(0)).unwrap_or(TimeDelta::zero());
    let label = skew_label(max_skew_secs.max(0));
    let latest = now
        .checked_add_signed(skew)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if when > latest {
        return Err(SigError::NotYetValid(format!(
            "Signature not yet current: {} is still later than {} ({} + {label})",
            auth.amz_date,
            format_amz_date(latest),
            format_amz_date(now)
        )));
    }
    match (auth.kind, auth.expires) {
        (AuthKind::Presigned, Some(expires)) => {
            let lifetime = i64::try_from(expires)
                .ok()
                .and_then(TimeDelta::try_seconds)
                .unwrap_or(TimeDelta::MAX);
            let end = when
                .checked_add_signed(lifetime)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if now > end {
                return Err(SigError::Expired(MSG_PRESIGNED_EXPIRED.to_owned()));
            }
        }
        _ => {
            let earliest = now
                .checked_sub_signed(skew)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            if when < earliest {
                return Err(SigError::Expired(format!(
                    "Signature expired: {} is now earlier than {} ({} - {label})",
                    auth.amz_date,
                    format_amz_date(earliest),
                    format_amz_date(now)
                )));
            }
        }
    }
    Ok(())
}

/// The payload hashes the client may have signed.
fn payload_candidates(req: &SignedRequest, auth: &ParsedAuth) -> Result<Vec<String>, SigError> {
    let declared = first_header(req.headers, "x-amz-content-sha256")
        .map(|v| v.trim().to_owned())
        .or_else(|| {
            if auth.kind == AuthKind::Presigned {
                query_pairs(req.raw_query)
                    .into_iter()
                    .find(|(k, _)| k.as_slice() == X_AMZ_CONTENT_SHA256.as_bytes())
                    .map(|(_, v)| String::from_utf8_lossy(&v).trim().to_owned())
            } else {
                None
            }
        });
    match declared {
        Some(d) if d == UNSIGNED_PAYLOAD => Ok(vec![d]),
        Some(d) if is_sha256_hex(&d) => {
            if d.eq_ignore_ascii_case(&sha256_hex(req.body)) {
                Ok(vec![d])
            } else {
                Err(SigError::PayloadHashMismatch)
            }
        }
        Some(_) => Err(SigError::Malformed(MSG_BAD_CONTENT_SHA256.to_owned())),
        None if auth.kind == AuthKind::Presigned => {
            Ok(vec![sha256_hex(req.body), UNSIGNED_PAYLOAD.to_owned()])
        }
        None => Ok(vec![sha256_hex(req.body)]),
    }
}

/// Verifies the signature with AWS's rules: 15-minute clock skew each way (presigned: not in
/// the future, not past `X-Amz-Date + X-Amz-Expires`), payload hash, constant-time signature
/// comparison. `secret` is the secret access key of `auth.access_key_id`.
pub fn verify(
    req: &SignedRequest,
    auth: &ParsedAuth,
    secret: &str,
    now: DateTime<Utc>,
    cache: Option<&SigningKeyCache>,
) -> Result<(), SigError> {
    verify_with(req, auth, secret, now, cache, &VerifyOptions::default())
}

/// [`verify`] with explicit options.
pub fn verify_with(
    req: &SignedRequest,
    auth: &ParsedAuth,
    secret: &str,
    now: DateTime<Utc>,
    cache: Option<&SigningKeyCache>,
    options: &VerifyOptions,
) -> Result<(), SigError> {
    if auth.kind == AuthKind::Anonymous {
        return Err(SigError::Missing);
    }
    let when = parse_amz_date(&auth.amz_date).ok_or_else(|| bad_date(&auth.amz_date))?;
    check_time(auth, when, now, options.max_skew_secs)?;
    let payload_hashes = payload_candidates(req, auth)?;

    let key = match cache {
        Some(c) => c.get_or_derive(
            &auth.access_key_id,
            secret,
            &auth.date,
            &auth.region,
            &auth.service,
        ),
        None => signing_key_zeroizing(secret, &auth.date, &auth.region, &auth.service),
    };
    let opts = options
        .canonical
        .unwrap_or_else(|| CanonicalOptions::for_service(&auth.service));

    let provided = auth.signature.as_bytes();
    let mut matched = subtle::Choice::from(0u8);
    for payload_hash in &payload_hashes {
        let creq = canonical_request_with(req, auth, payload_hash, opts);
        let expected = sign(&key, &string_to_sign(auth, &creq));
        matched |= expected.as_bytes().ct_eq(provided);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SigError::InvalidSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_matches_aws_documentation_example() {
        // The derived key from AWS's "Deriving the signing key" example
        // (secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830/us-east-1/iam).
        let k = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(k),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn amz_dates_parse_strictly() {
        assert!(parse_amz_date("20150830T123600Z").is_some());
        for bad in [
            "",
            "20150830T123600",
            "20150830t123600Z",
            "2015083QT123600Z",
            "20151330T123600Z",
            "20150830T246000Z",
            "+0150830T123600Z",
            "20150830T12360ÄZ",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
        let d = parse_request_date("Sun, 30 Aug 2015 12:36:00 GMT", true);
        assert_eq!(d.map(format_amz_date).as_deref(), Some("20150830T123600Z"));
        assert!(parse_request_date("Sun, 30 Aug 2015 12:36:00 GMT", false).is_none());
    }

    #[test]
    fn amz_dates_format_like_chrono() {
        use chrono::TimeZone as _;
        for (y, mo, d, h, mi, se) in [
            (2015, 8, 30, 12, 36, 0),
            (987, 1, 2, 3, 4, 5),
            (9999, 12, 31, 23, 59, 59),
            (0, 1, 1, 0, 0, 0),
            (2026, 10, 9, 10, 0, 9),
        ] {
            let t = Utc.with_ymd_and_hms(y, mo, d, h, mi, se).unwrap();
            assert_eq!(format_amz_date(t), t.format(AMZ_DATE_FORMAT).to_string());
        }
        let past = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            format_amz_date(past),
            past.format(AMZ_DATE_FORMAT).to_string()
        );
    }

    #[test]
    fn skew_labels() {
        assert_eq!(skew_label(900), "15 min.");
        assert_eq!(skew_label(90), "90 sec.");
    }
}
