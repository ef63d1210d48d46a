//! API keys for the CAPTCHA and challenge JavaScript integration (`CreateAPIKey`,
//! `ListAPIKeys`, `GetDecryptedAPIKey`, `DeleteAPIKey`): each names up to five client
//! application domains (not public suffixes), per account and scope. A key is not a secret
//! (it ships in the page's JavaScript); it is an opaque string Rampart resolves to its domains.
use crate::{invalid, nonexistent, page_limit, tx_err, WafService, R};
use rampart_core::RequestContext;
use rampart_model::wafv2 as m;
use rampart_store::{Store, StoreExt, TxError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `<account>/<scope region>/<key>` -> [`ApiKeyRec`].
const API_KEYS: &str = "waf_api_key";
/// Where the JavaScript integration lives: every proxy serves it under this path of the
/// protected site itself (`challenge.js`, `jsapi.js` and the endpoints they call), so a page
/// loads it from its own origin. `GetWebACL` and `ListAPIKeys` give it as the
/// `ApplicationIntegrationURL`.
pub const INTEGRATION_PATH: &str = "/.well-known/rampart-waf/";

/// The token domains of API key `key` of `account` in `region` (its scope's region), for the
/// edge's CAPTCHA integration; `None` for a key that does not exist there.
pub fn api_key_domains(
    store: &Arc<dyn Store>,
    account: &str,
    region: &str,
    key: &str,
) -> Option<Vec<String>> {
    if key.is_empty() || key.len() > 512 || key.contains('/') {
        return None;
    }
    let k = format!("{account}/{region}/{key}");
    store
        .read(|tx| {
            tx.get_json::<ApiKeyRec>(API_KEYS, &k)
                .map_err(TxError::from)
        })
        .ok()
        .flatten()
        .map(|r| r.domains)
}

/// Whether a request's `Host` (port and all) is one of an API key's token domains or under one.
pub fn host_allowed(domains: &[String], host: &str) -> bool {
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    domains.iter().any(|d| {
        host == *d
            || host
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}
/// Public suffixes under which nobody registers a site itself (a short list of the common
/// ones; single labels such as `com` are refused too).
const PUBLIC_SUFFIXES: &[&str] = &[
    "ac.uk",
    "co.uk",
    "gov.uk",
    "ltd.uk",
    "me.uk",
    "net.uk",
    "org.uk",
    "plc.uk",
    "com.au",
    "net.au",
    "org.au",
    "edu.au",
    "gov.au",
    "asn.au",
    "id.au",
    "co.nz",
    "net.nz",
    "org.nz",
    "govt.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "ac.jp",
    "go.jp",
    "com.br",
    "net.br",
    "org.br",
    "gov.br",
    "com.cn",
    "net.cn",
    "org.cn",
    "gov.cn",
    "co.in",
    "net.in",
    "org.in",
    "gov.in",
    "co.za",
    "org.za",
    "gov.za",
    "com.mx",
    "gob.mx",
    "co.kr",
    "or.kr",
    "go.kr",
    "com.sg",
    "gov.sg",
    "com.hk",
    "gov.hk",
    "com.tw",
    "gov.tw",
    "co.il",
    "gov.il",
    "com.tr",
    "gov.tr",
    "github.io",
    "herokuapp.com",
    "cloudfront.net",
    "amazonaws.com",
    "azurewebsites.net",
    "appspot.com",
    "vercel.app",
    "netlify.app",
    "pages.dev",
    "workers.dev",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ApiKeyRec {
    key: String,
    domains: Vec<String>,
    created: f64,
}

fn check_domain(d: &str) -> R<()> {
    let valid = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(invalid(
            "TOKEN_DOMAIN",
            d,
            "The token domain is not a valid domain name.",
        ));
    }
    let lower = d.to_ascii_lowercase();
    if !lower.contains('.') || PUBLIC_SUFFIXES.contains(&lower.as_str()) {
        return Err(invalid(
            "TOKEN_DOMAIN",
            d,
            "Public suffixes aren't allowed as token domains.",
        ));
    }
    Ok(())
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64 / 1000.0)
}

impl WafService {
    fn api_key_prefix(ctx: &RequestContext, scope: m::Scope) -> R<String> {
        let region = Self::region_of(ctx, scope)?;
        Ok(format!("{}/{region}/", ctx.account_id))
    }

    pub(crate) fn api_key_create(
        &self,
        ctx: &RequestContext,
        input: m::CreateAPIKeyRequest,
    ) -> R<m::CreateAPIKeyResponse> {
        let prefix = Self::api_key_prefix(ctx, input.scope)?;
        let mut domains: Vec<String> = Vec::new();
        for d in &input.token_domains {
            check_domain(d)?;
            let d = d.to_ascii_lowercase();
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        if domains.is_empty() || domains.len() > 5 {
            return Err(invalid(
                "TOKEN_DOMAIN",
                "",
                "An API key names 1 to 5 token domains.",
            ));
        }
        let key = (0..3)
            .map(|_| uuid::Uuid::new_v4().simple().to_string())
            .collect::<String>();
        let rec = ApiKeyRec {
            key: key.clone(),
            domains,
            created: now(),
        };
        let k = format!("{prefix}{key}");
        self.store
            .write(move |tx| tx.put_json(API_KEYS, &k, &rec).map_err(TxError::from))
            .map_err(tx_err)?;
        Ok(m::CreateAPIKeyResponse { api_key: Some(key) })
    }

    fn api_key(&self, ctx: &RequestContext, scope: m::Scope, key: &str) -> R<ApiKeyRec> {
        let k = format!("{}{key}", Self::api_key_prefix(ctx, scope)?);
        self.store
            .read(|tx| {
                tx.get_json::<ApiKeyRec>(API_KEYS, &k)
                    .map_err(TxError::from)
            })
            .map_err(tx_err)?
            .ok_or_else(nonexistent)
    }

    pub(crate) fn api_key_decrypted(
        &self,
        ctx: &RequestContext,
        input: m::GetDecryptedAPIKeyRequest,
    ) -> R<m::GetDecryptedAPIKeyResponse> {
        let rec = self.api_key(ctx, input.scope, &input.api_key)?;
        Ok(m::GetDecryptedAPIKeyResponse {
            token_domains: Some(rec.domains),
            creation_timestamp: Some(rampart_model::Timestamp(rec.created)),
        })
    }

    pub(crate) fn api_key_delete(
        &self,
        ctx: &RequestContext,
        input: m::DeleteAPIKeyRequest,
    ) -> R<()> {
        self.api_key(ctx, input.scope, &input.api_key)?;
        let k = format!(
            "{}{}",
            Self::api_key_prefix(ctx, input.scope)?,
            input.api_key
        );
        self.store
            .write(move |tx| tx.delete(API_KEYS, &k).map(|_| ()).map_err(TxError::from))
            .map_err(tx_err)
    }

    pub(crate) fn api_key_list(
        &self,
        ctx: &RequestContext,
        input: m::ListAPIKeysRequest,
    ) -> R<m::ListAPIKeysResponse> {
        let prefix = Self::api_key_prefix(ctx, input.scope)?;
        let mut all: Vec<ApiKeyRec> = self
            .store
            .read(|tx| {
                tx.scan_json::<ApiKeyRec>(API_KEYS, &prefix, None, 100_000)
                    .map_err(TxError::from)
            })
            .map_err(tx_err)?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        all.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.key.cmp(&b.key)));
        let start = match input.next_marker.as_deref() {
            None => 0,
            Some(mk) => all
                .iter()
                .position(|r| r.key == mk)
                .map(|i| i + 1)
                .ok_or_else(|| invalid("NEXT_MARKER", mk, "The marker is not valid."))?,
        };
        let limit = page_limit(input.limit);
        let page: Vec<&ApiKeyRec> = all.iter().skip(start).take(limit).collect();
        let next = (start + page.len() < all.len())
            .then(|| page.last().map(|r| r.key.clone()))
            .flatten();
        Ok(m::ListAPIKeysResponse {
            next_marker: next,
            api_key_summaries: Some(
                page.iter()
                    .map(|r| m::APIKeySummary {
                        token_domains: Some(r.domains.clone()),
                        api_key: Some(r.key.clone()),
                        creation_timestamp: Some(rampart_model::Timestamp(r.created)),
                        version: Some(1),
                    })
                    .collect(),
            ),
            application_integration_url: Some(INTEGRATION_PATH.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn hosts_under_token_domains() {
        let d = vec!["shop.example".to_string()];
        for ok in [
            "shop.example",
            "www.shop.example",
            "Shop.Example:8443",
            "shop.example.",
        ] {
            assert!(host_allowed(&d, ok), "{ok}");
        }
        for no in [
            "evilshop.example",
            "shop.example.evil",
            "example",
            "",
            "shop.example:x",
        ] {
            assert!(!host_allowed(&d, no), "{no}");
        }
    }
}
