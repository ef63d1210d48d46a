//! Client-side SigV4 signing, as an AWS SDK does it: a fresh `X-Amz-Date` for every request, the
//! full canonical request and string to sign every time, the signing key cached per day.
//!
//! Used by Rampart's own clients (the load generator, `rampart waf proxy`). Canonicalisation is
//! the server's own ([`crate::canonical_request`]), so a bench run also exercises it from the
//! client side; the tests below pin it to AWS's published test vector.

use crate::{AuthKind, ParsedAuth, SignedRequest, ALGORITHM};
use chrono::{DateTime, Utc};

/// Long-lived signing state of one connection.
pub struct Signer {
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
    region: String,
    service: String,
    /// `(yyyymmdd, key)`: the derived key is valid for one scope date.
    key: Option<(String, [u8; 32])>,
}

impl Signer {
    pub fn new(
        access_key: &str,
        secret_key: &str,
        session_token: Option<&str>,
        region: &str,
        service: &str,
    ) -> Signer {
        Signer {
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            session_token: session_token.map(str::to_owned),
            region: region.to_owned(),
            service: service.to_owned(),
            key: None,
        }
    }

    fn key_for(&mut self, date: &str) -> [u8; 32] {
        match &self.key {
            Some((d, k)) if d == date => *k,
            _ => {
                let k = crate::signing_key(&self.secret_key, date, &self.region, &self.service);
                self.key = Some((date.to_owned(), k));
                k
            }
        }
    }

    /// Signs a request at `now`. `headers` holds the headers to sign besides `host` and
    /// `x-amz-date` (e.g. `content-type`, `x-amz-target`); the returned list is every header to
    /// send, `authorization` included.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &mut self,
        now: DateTime<Utc>,
        method: &str,
        raw_path: &str,
        raw_query: &str,
        host: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<(String, String)> {
        let amz_date = crate::format_amz_date(now);
        let date = amz_date[..8].to_owned();
        let mut all: Vec<(String, String)> = Vec::with_capacity(headers.len() + 4);
        all.push(("host".to_owned(), host.to_owned()));
        all.push(("x-amz-date".to_owned(), amz_date.clone()));
        for (n, v) in headers {
            all.push((n.to_ascii_lowercase(), (*v).to_owned()));
        }
        if let Some(t) = &self.session_token {
            all.push(("x-amz-security-token".to_owned(), t.clone()));
        }
        let signed_headers: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
        let payload_hash = crate::encode::sha256_hex(body);
        let key = self.key_for(&date);
        let auth = ParsedAuth {
            kind: AuthKind::Header,
            access_key_id: self.access_key.clone(),
            date,
            region: self.region.clone(),
            service: self.service.clone(),
            signed_headers,
            signature: String::new(),
            amz_date,
            security_token: self.session_token.clone(),
            expires: None,
        };
        let req = SignedRequest {
            method,
            raw_path,
            raw_query,
            headers: &all,
            body,
        };
        let creq = crate::canonical_request(&req, &auth, &payload_hash);
        let sts = crate::string_to_sign(&auth, &creq);
        let signature = crate::sign(&key, &sts);
        let names = crate::canonical_signed_headers(&auth.signed_headers).join(";");
        all.push((
            "authorization".to_owned(),
            format!(
                "{ALGORITHM} Credential={}/{}, SignedHeaders={names}, Signature={signature}",
                self.access_key,
                auth.scope()
            ),
        ));
        all
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// AWS SigV4 test suite, `get-vanilla`.
    #[test]
    fn aws_get_vanilla_vector() {
        let mut s = Signer::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            "us-east-1",
            "service",
        );
        let now = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
        let h = s.sign(now, "GET", "/", "", "example.amazonaws.com", &[], b"");
        let auth = &h.iter().find(|(n, _)| n == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// What a client sends verifies with the server's verifier, including the day's key cache.
    #[test]
    fn verifies_with_server_side_code() {
        let mut s = Signer::new("test", "test", Some("tok"), "us-east-1", "sts");
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        for now in [
            Utc.with_ymd_and_hms(2030, 1, 1, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2030, 1, 2, 0, 0, 1).unwrap(),
        ] {
            let h = s.sign(
                now,
                "POST",
                "/",
                "",
                "127.0.0.1:4566",
                &[(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                body,
            );
            let req = SignedRequest {
                method: "POST",
                raw_path: "/",
                raw_query: "",
                headers: &h,
                body,
            };
            let auth = crate::parse(&req).unwrap();
            assert_eq!(auth.service, "sts");
            assert_eq!(auth.security_token.as_deref(), Some("tok"));
            crate::verify(&req, &auth, "test", now, None).unwrap();
            assert!(crate::verify(&req, &auth, "wrong", now, None).is_err());
        }
    }
}
