use chrono::{DateTime, SecondsFormat, Utc};
use rampart_core::json::ObjectWriter;
use rampart_core::RequestContext;
use rampart_store::TrailRow;
use serde_json::{json, Map, Value};

/// A resource an event touched, as `LookupEvents` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub resource_type: String,
    pub resource_name: String,
}

/// One audit event. Build it from the request context, then fill in the outcome.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub event_id: String,
    pub event_time: DateTime<Utc>,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    pub source_ip: String,
    pub user_agent: String,
    pub request_id: String,
    /// `userIdentity`; `None` for a request that failed authentication (CloudTrail then
    /// records what it can: the access key id, if any).
    pub user_identity: Value,
    pub username: String,
    pub access_key_id: String,
    pub recipient_account_id: String,
    /// Already redacted of sensitive members.
    pub request_parameters: Value,
    pub response_elements: Value,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub read_only: bool,
    pub secure_transport: bool,
    pub resources: Vec<Resource>,
    /// Extra fields (`additionalEventData`), e.g. the policy decision.
    pub additional: Value,
    /// For a call across accounts, the id the caller's and the resource owner's copies of
    /// the event share (`sharedEventID`).
    pub shared_event_id: Option<String>,
}

/// The account in a resource's ARN (`arn:aws:svc:region:ACCOUNT:...`), when it names one.
/// The `eventVersion` of every record.
const EVENT_VERSION: &str = "1.11";

fn arn_account(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

impl AuditEvent {
    /// The event of an authenticated request.
    pub fn from_context(ctx: &RequestContext, event_source: &str, read_only: bool) -> Self {
        let p = &ctx.principal;
        let mut ui = Map::new();
        ui.insert("type".into(), json!(p.kind.trail_type()));
        ui.insert("principalId".into(), json!(p.principal_id));
        ui.insert("arn".into(), json!(p.arn));
        ui.insert("accountId".into(), json!(p.account_id));
        if let Some(ak) = &p.access_key_id {
            ui.insert("accessKeyId".into(), json!(ak));
        }
        if let Some(u) = &p.user_name {
            ui.insert("userName".into(), json!(u));
        }
        if p.kind == rampart_core::PrincipalKind::AssumedRole {
            // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION -> the issuing role.
            let role = p
                .arn
                .split_once(":assumed-role/")
                .and_then(|(_, rest)| rest.split_once('/'))
                .map(|(r, _)| r);
            if let Some(role) = role {
                let role_id = p.principal_id.split(':').next().unwrap_or_default();
                ui.insert(
                    "sessionContext".into(),
                    json!({
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": role_id,
                            "arn": format!("arn:aws:iam::{}:role/{role}", p.account_id),
                            "accountId": p.account_id,
                            "userName": role,
                        },
                        "attributes": {"mfaAuthenticated": "false"},
                    }),
                );
            }
        }
        AuditEvent {
            // Time-ordered (UUIDv7: millisecond time, then random bits), so the trail's event-id
            // index grows at its end instead of at random places.
            event_id: uuid::Uuid::now_v7().to_string(),
            event_time: ctx.time,
            event_source: event_source.to_string(),
            event_name: ctx.operation.clone(),
            aws_region: ctx.region.clone(),
            source_ip: ctx.source_ip.to_string(),
            user_agent: ctx.user_agent.clone(),
            request_id: ctx.request_id.clone(),
            user_identity: Value::Object(ui),
            username: p.user_name.clone().unwrap_or_else(|| match p.kind {
                rampart_core::PrincipalKind::Root => "root".into(),
                _ => p.arn.rsplit('/').next().unwrap_or_default().to_string(),
            }),
            access_key_id: p.access_key_id.clone().unwrap_or_default(),
            recipient_account_id: ctx.account_id.clone(),
            request_parameters: Value::Null,
            response_elements: Value::Null,
            error_code: None,
            error_message: None,
            read_only,
            secure_transport: ctx.secure_transport,
            resources: Vec::new(),
            additional: Value::Null,
            shared_event_id: None,
        }
    }

    /// For a call on resources of other accounts: a copy of the event for each owning account
    /// (its own event id, that account as recipient), as CloudTrail delivers cross-account
    /// calls to both sides; this event and the copies then share a `sharedEventID`.
    pub fn owner_copies(&mut self) -> Vec<AuditEvent> {
        let mut owners: Vec<String> = Vec::new();
        for r in &self.resources {
            if let Some(a) = arn_account(&r.resource_name) {
                if a != self.recipient_account_id && !owners.iter().any(|o| o == a) {
                    owners.push(a.to_string());
                }
            }
        }
        if owners.is_empty() {
            return Vec::new();
        }
        let shared = uuid::Uuid::new_v4().to_string();
        self.shared_event_id = Some(shared);
        owners
            .into_iter()
            .map(|owner| {
                let mut copy = self.clone();
                copy.event_id = uuid::Uuid::now_v7().to_string();
                copy.recipient_account_id = owner;
                // The caller's policy names and access key are the caller's account's business.
                if let Value::Object(m) = &mut copy.additional {
                    m.remove("authorization");
                }
                if copy.additional.as_object().is_some_and(|m| m.is_empty()) {
                    copy.additional = Value::Null;
                }
                copy.access_key_id = String::new();
                if let Value::Object(ui) = &mut copy.user_identity {
                    ui.remove("accessKeyId");
                }
                copy
            })
            .collect()
    }

    /// The CloudTrail record (the `CloudTrailEvent` string LookupEvents returns).
    /// The CloudTrail record of the event.
    pub fn to_record(&self) -> Value {
        serde_json::from_str(&self.record_json()).unwrap_or(Value::Null)
    }

    /// The CloudTrail record's JSON, keys in the order CloudTrail writes them, written field
    /// by field (the same bytes serde would write for `RecordView`, the test oracle, at a
    /// fraction of the cost: see `rampart_core::json`).
    pub fn record_json(&self) -> String {
        let mut out = Vec::with_capacity(2048);
        let mut w = ObjectWriter::new(&mut out);
        w.str("eventVersion", EVENT_VERSION)
            .value("userIdentity", &self.user_identity)
            .str(
                "eventTime",
                &self.event_time.to_rfc3339_opts(SecondsFormat::Secs, true),
            )
            .str("eventSource", &self.event_source)
            .str("eventName", &self.event_name)
            .str("awsRegion", &self.aws_region)
            .str("sourceIPAddress", &self.source_ip)
            .str("userAgent", &self.user_agent)
            .opt_str("errorCode", self.error_code.as_deref())
            .opt_str("errorMessage", self.error_message.as_deref())
            .value("requestParameters", &self.request_parameters)
            .value("responseElements", &self.response_elements);
        if !self.additional.is_null() {
            w.value("additionalEventData", &self.additional);
        }
        w.str("requestID", &self.request_id)
            .str("eventID", &self.event_id)
            .bool("readOnly", self.read_only);
        if !self.resources.is_empty() {
            w.raw("resources", |o| {
                o.push(b'[');
                for (i, r) in self.resources.iter().enumerate() {
                    if i > 0 {
                        o.push(b',');
                    }
                    let account =
                        arn_account(&r.resource_name).unwrap_or(&self.recipient_account_id);
                    let mut rw = ObjectWriter::new(o);
                    rw.str("accountId", account)
                        .str("type", &r.resource_type)
                        .str("ARN", &r.resource_name);
                    rw.end();
                }
                o.push(b']');
            });
        }
        w.str("eventType", "AwsApiCall")
            .bool("managementEvent", true)
            .str("recipientAccountId", &self.recipient_account_id)
            .opt_str("sharedEventID", self.shared_event_id.as_deref())
            .str("eventCategory", "Management");
        if self.secure_transport {
            w.raw("tlsDetails", |o| {
                o.extend_from_slice(br#"{"tlsVersion":"TLSv1.3","clientProvidedHostHeader":null}"#)
            });
        }
        w.end();
        String::from_utf8(out).unwrap_or_default()
    }

    /// The record as a borrowed view serde serializes: the oracle `record_json` is tested
    /// against.
    #[cfg(test)]
    fn record_view(&self) -> RecordView<'_> {
        RecordView {
            event_version: EVENT_VERSION,
            user_identity: &self.user_identity,
            event_time: self.event_time.to_rfc3339_opts(SecondsFormat::Secs, true),
            event_source: &self.event_source,
            event_name: &self.event_name,
            aws_region: &self.aws_region,
            source_ip_address: &self.source_ip,
            user_agent: &self.user_agent,
            error_code: self.error_code.as_deref(),
            error_message: self.error_message.as_deref(),
            request_parameters: &self.request_parameters,
            response_elements: &self.response_elements,
            additional_event_data: (!self.additional.is_null()).then_some(&self.additional),
            request_id: &self.request_id,
            event_id: &self.event_id,
            read_only: self.read_only,
            resources: self
                .resources
                .iter()
                .map(|r| ResourceView {
                    account_id: arn_account(&r.resource_name).unwrap_or(&self.recipient_account_id),
                    resource_type: &r.resource_type,
                    arn: &r.resource_name,
                })
                .collect(),
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: &self.recipient_account_id,
            shared_event_id: self.shared_event_id.as_deref(),
            event_category: "Management",
            tls_details: self.secure_transport.then_some(TlsView {
                tls_version: "TLSv1.3",
                client_provided_host_header: None,
            }),
        }
    }

    pub fn to_row(&self) -> TrailRow {
        let first = self.resources.first();
        TrailRow {
            seq: 0,
            account_id: self.recipient_account_id.clone(),
            region: self.aws_region.clone(),
            event_id: self.event_id.clone(),
            event_time_ms: self.event_time.timestamp_millis(),
            event_name: self.event_name.clone(),
            event_source: self.event_source.clone(),
            username: self.username.clone(),
            access_key_id: self.access_key_id.clone(),
            read_only: self.read_only,
            resource_type: first.map(|r| r.resource_type.clone()).unwrap_or_default(),
            resource_name: first.map(|r| r.resource_name.clone()).unwrap_or_default(),
            record: self.record_json(),
            hash: Vec::new(),
            indexed: true,
        }
    }
}

#[cfg(test)]
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordView<'a> {
    event_version: &'static str,
    user_identity: &'a Value,
    event_time: String,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: &'a Value,
    response_elements: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_event_data: Option<&'a Value>,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<ResourceView<'a>>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    #[serde(rename = "sharedEventID", skip_serializing_if = "Option::is_none")]
    shared_event_id: Option<&'a str>,
    event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_details: Option<TlsView>,
}

#[cfg(test)]
#[derive(serde::Serialize)]
struct ResourceView<'a> {
    #[serde(rename = "accountId")]
    account_id: &'a str,
    #[serde(rename = "type")]
    resource_type: &'a str,
    #[serde(rename = "ARN")]
    arn: &'a str,
}

#[cfg(test)]
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TlsView {
    tls_version: &'static str,
    client_provided_host_header: Option<&'static str>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        RequestContext {
            request_id: "req-1".into(),
            account_id: "111122223333".into(),
            region: "eu-west-1".into(),
            principal: rampart_core::Principal {
                kind: rampart_core::PrincipalKind::IamUser,
                account_id: "111122223333".into(),
                arn: "arn:aws:iam::111122223333:user/al\"ice".into(),
                principal_id: "AIDAEXAMPLE".into(),
                user_name: Some("al\"ice".into()),
                access_key_id: Some("AKIAEXAMPLE".into()),
            },
            source_ip: "192.0.2.7".parse().unwrap(),
            secure_transport: false,
            time: Utc::now(),
            user_agent: "aws-cli/2 \\ tab\there\u{1}".into(),
            service: "kms".into(),
            operation: "Encrypt".into(),
        }
    }

    #[test]
    fn record_json_is_what_serde_writes_for_the_view() {
        let plain = AuditEvent::from_context(&ctx(), "kms.amazonaws.com", false);
        let mut full = AuditEvent::from_context(&ctx(), "kms.amazonaws.com", true);
        full.error_code = Some("AccessDeniedException".into());
        full.error_message = Some("User: \"x\" is not authorized\n".into());
        full.request_parameters =
            json!({"keyId": "alias/a", "encryptionContext": {"k\u{7f}": "é🔐"}, "n": 3.25});
        full.response_elements = json!({"keyId": "arn:aws:kms:eu-west-1:111122223333:key/1"});
        full.additional = json!({"keyMaterialId": "ab", "authorization": [{"decision": "Allow"}]});
        full.resources = vec![
            Resource {
                resource_type: "AWS::KMS::Key".into(),
                resource_name: "arn:aws:kms:eu-west-1:444455556666:key/1".into(),
            },
            Resource {
                resource_type: "AWS::KMS::Alias".into(),
                resource_name: "not-an-arn".into(),
            },
        ];
        full.shared_event_id = Some("shared-1".into());
        full.secure_transport = true;
        for ev in [&plain, &full] {
            let oracle = serde_json::to_string(&ev.record_view()).unwrap();
            assert_eq!(ev.record_json(), oracle);
            assert_eq!(
                ev.to_record(),
                serde_json::from_str::<Value>(&oracle).unwrap()
            );
        }
    }
}
