//! `GetKeyLastUsage`, answered from the audit trail: the newest successful cryptographic
//! event whose resources name the key (the request path lists the keys a KMS request acts on
//! in its event).
use crate::{KmsService, R};
use rampart_core::RequestContext;
use rampart_model::kms as m;
use rampart_model::Timestamp;
use rampart_store::{TrailAttribute, TrailQuery};
use serde_json::Value;

/// How many of the key's newest events are looked at.
const WINDOW: usize = 1000;

impl KmsService {
    pub(crate) fn last_usage(
        &self,
        ctx: &RequestContext,
        input: m::GetKeyLastUsageRequest,
    ) -> R<m::GetKeyLastUsageResponse> {
        let k = self.lookup(ctx, &input.key_id)?;
        let q = TrailQuery {
            account_id: k.account_id.clone(),
            region: k.region.clone(),
            attribute: Some((TrailAttribute::ResourceName, k.arn.clone())),
            start_ms: None,
            end_ms: None,
            before_seq: None,
            limit: WINDOW,
        };
        let rows = self.read(|tx| Ok(tx.trail_query(&q)?))?;
        let last = rows.into_iter().find_map(|row| {
            let ev: Value = serde_json::from_str(&row.record).ok()?;
            let s = |k: &str| ev.get(k).and_then(Value::as_str).map(str::to_string);
            if s("eventSource").as_deref() != Some("kms.amazonaws.com")
                || ev.get("errorCode").is_some()
            {
                return None;
            }
            let op: m::KeyLastUsageTrackingOperation = s("eventName")?.parse().ok()?;
            Some(m::KeyLastUsageData {
                operation: Some(op),
                timestamp: Some(Timestamp(row.event_time_ms as f64 / 1000.0)),
                cloud_trail_event_id: s("eventID"),
                kms_request_id: s("requestID"),
            })
        });
        Ok(m::GetKeyLastUsageResponse {
            key_id: Some(k.key_id.clone()),
            key_last_usage: Some(last.unwrap_or_default()),
            tracking_start_date: Some(Timestamp(k.created)),
            key_creation_date: Some(Timestamp(k.created)),
        })
    }
}
