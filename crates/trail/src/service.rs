//! The CloudTrail API over Rampart's own trail: `LookupEvents` as the `aws cloudtrail
//! lookup-events` CLI uses it. Other CloudTrail operations answer not-implemented.
use base64::Engine;
use chrono::Utc;
use rampart_core::{AwsError, RequestContext};
use rampart_model::cloudtrail::{
    self as ct, CloudTrail, Event, EventCategory, LookupAttributeKey, LookupEventsRequest,
    LookupEventsResponse, Resource,
};
use rampart_model::Timestamp;
use rampart_store::{Store, StoreError, StoreExt, TrailAttribute, TrailQuery};
use std::sync::Arc;

/// How far back LookupEvents looks by default (CloudTrail's event history keeps 90 days).
const HISTORY_DAYS: i64 = 90;

pub struct CloudTrailService {
    store: Arc<dyn Store>,
}

impl CloudTrailService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        CloudTrailService { store }
    }
}

fn internal(e: StoreError) -> AwsError {
    tracing::error!(error = %e, "trail read failed");
    AwsError::internal()
}

fn encode_token(seq: i64, fingerprint: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{seq}:{fingerprint}"))
}

fn decode_token(token: &str, fingerprint: &str) -> Option<i64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut it = text.splitn(3, ':');
    if it.next()? != "v1" {
        return None;
    }
    let seq = it.next()?.parse().ok()?;
    (it.next()? == fingerprint).then_some(seq)
}

impl CloudTrail for CloudTrailService {
    fn lookup_events(
        &self,
        ctx: &RequestContext,
        input: LookupEventsRequest,
    ) -> Result<LookupEventsResponse, AwsError> {
        let attrs = input.lookup_attributes.unwrap_or_default();
        if attrs.len() > 1 {
            return Err(ct::invalid_lookup_attributes_exception(
                "You cannot specify more than one lookup attribute.",
            ));
        }
        let attribute = attrs.first().map(|a| {
            let key = match a.attribute_key {
                LookupAttributeKey::EventId => TrailAttribute::EventId,
                LookupAttributeKey::EventName => TrailAttribute::EventName,
                LookupAttributeKey::ReadOnly => TrailAttribute::ReadOnly,
                LookupAttributeKey::Username => TrailAttribute::Username,
                LookupAttributeKey::ResourceType => TrailAttribute::ResourceType,
                LookupAttributeKey::ResourceName => TrailAttribute::ResourceName,
                LookupAttributeKey::EventSource => TrailAttribute::EventSource,
                LookupAttributeKey::AccessKeyId => TrailAttribute::AccessKeyId,
            };
            (key, a.attribute_value.clone())
        });
        if let Some((TrailAttribute::ReadOnly, v)) = &attribute {
            if v != "true" && v != "false" {
                return Err(ct::invalid_lookup_attributes_exception(
                    "The value of the ReadOnly attribute must be true or false.",
                ));
            }
        }
        let max = input.max_results.unwrap_or(50);
        if !(1..=50).contains(&max) {
            return Err(ct::invalid_max_results_exception(
                "MaxResults must be between 1 and 50.",
            ));
        }
        let now_ms = Utc::now().timestamp_millis();
        let start_ms = input
            .start_time
            .map(ts_ms)
            .unwrap_or(now_ms - HISTORY_DAYS * 86_400_000);
        let end_ms = input.end_time.map(ts_ms).unwrap_or(now_ms);
        if start_ms > end_ms {
            return Err(ct::invalid_time_range_exception(
                "Start time must be earlier than end time.",
            ));
        }
        if input.event_category == Some(EventCategory::Insight) {
            // Rampart records no Insights events.
            return Ok(LookupEventsResponse {
                events: Some(Vec::new()),
                next_token: None,
            });
        }
        // The token is only valid for the same query.
        let fingerprint = format!(
            "{:?}|{}|{}",
            attribute,
            input.start_time.map(ts_ms).unwrap_or(0),
            input.end_time.map(ts_ms).unwrap_or(0)
        );
        let fp = hex_digest(&fingerprint);
        let before_seq = match &input.next_token {
            Some(t) => Some(
                decode_token(t, &fp)
                    .ok_or_else(|| ct::invalid_next_token_exception("Invalid NextToken."))?,
            ),
            None => None,
        };
        let limit = max as usize;
        let q = TrailQuery {
            account_id: ctx.account_id.clone(),
            region: ctx.region.clone(),
            attribute,
            start_ms: Some(start_ms),
            end_ms: Some(end_ms),
            before_seq,
            limit: limit + 1,
        };
        let mut rows = self.store.read(|tx| tx.trail_query(&q)).map_err(internal)?;
        let next_token = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| encode_token(r.seq, &fp))
        } else {
            None
        };
        let events = rows
            .into_iter()
            .map(|r| Event {
                event_id: Some(r.event_id),
                event_name: Some(r.event_name),
                read_only: Some(r.read_only.to_string()),
                access_key_id: (!r.access_key_id.is_empty()).then_some(r.access_key_id),
                event_time: Some(Timestamp(r.event_time_ms as f64 / 1000.0)),
                event_source: Some(r.event_source),
                username: (!r.username.is_empty()).then_some(r.username),
                resources: Some(if r.resource_name.is_empty() {
                    Vec::new()
                } else {
                    vec![Resource {
                        resource_type: Some(r.resource_type),
                        resource_name: Some(r.resource_name),
                    }]
                }),
                cloud_trail_event: Some(r.record),
            })
            .collect();
        Ok(LookupEventsResponse {
            events: Some(events),
            next_token,
        })
    }
}

fn ts_ms(t: Timestamp) -> i64 {
    (t.secs() * 1000.0) as i64
}

fn hex_digest(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    hex::encode(&d.as_ref()[..8])
}
