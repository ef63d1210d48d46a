use chrono::{DateTime, SecondsFormat, Utc};
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
            event_id: uuid::Uuid::new_v4().to_string(),
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
        }
    }

    /// The CloudTrail record (the `CloudTrailEvent` string LookupEvents returns).
    pub fn to_record(&self) -> Value {
        let mut m = Map::new();
        m.insert("eventVersion".into(), json!("1.11"));
        m.insert("userIdentity".into(), self.user_identity.clone());
        m.insert(
            "eventTime".into(),
            json!(self.event_time.to_rfc3339_opts(SecondsFormat::Secs, true)),
        );
        m.insert("eventSource".into(), json!(self.event_source));
        m.insert("eventName".into(), json!(self.event_name));
        m.insert("awsRegion".into(), json!(self.aws_region));
        m.insert("sourceIPAddress".into(), json!(self.source_ip));
        m.insert("userAgent".into(), json!(self.user_agent));
        if let Some(c) = &self.error_code {
            m.insert("errorCode".into(), json!(c));
        }
        if let Some(msg) = &self.error_message {
            m.insert("errorMessage".into(), json!(msg));
        }
        m.insert("requestParameters".into(), self.request_parameters.clone());
        m.insert("responseElements".into(), self.response_elements.clone());
        if !self.additional.is_null() {
            m.insert("additionalEventData".into(), self.additional.clone());
        }
        m.insert("requestID".into(), json!(self.request_id));
        m.insert("eventID".into(), json!(self.event_id));
        m.insert("readOnly".into(), json!(self.read_only));
        if !self.resources.is_empty() {
            let res: Vec<Value> = self
                .resources
                .iter()
                .map(|r| json!({"accountId": self.recipient_account_id, "type": r.resource_type, "ARN": r.resource_name}))
                .collect();
            m.insert("resources".into(), Value::Array(res));
        }
        m.insert("eventType".into(), json!("AwsApiCall"));
        m.insert("managementEvent".into(), json!(true));
        m.insert(
            "recipientAccountId".into(),
            json!(self.recipient_account_id),
        );
        m.insert("eventCategory".into(), json!("Management"));
        if self.secure_transport {
            m.insert(
                "tlsDetails".into(),
                json!({"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": Value::Null}),
            );
        }
        Value::Object(m)
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
            record: self.to_record().to_string(),
            hash: Vec::new(),
        }
    }
}
