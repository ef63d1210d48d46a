//! WAF logs in AWS's record format, one JSON object per line, written by a background thread
//! to `<log dir>/<destination name>.log` (the destination being the `aws-waf-logs-...` stream,
//! bucket or log group of `PutLoggingConfiguration`). Logging filters and redacted fields apply
//! as AWS documents them.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

use rampart_firewall::acl::{Terminal, Verdict};
use rampart_firewall::Request;
use rampart_waf::LogConfig;
use serde_json::{json, Value};

/// Lines queued for the writer; beyond this, records are dropped (and counted).
const QUEUE: usize = 65_536;

/// The log writer.
pub struct LogWriter {
    tx: SyncSender<(String, String)>,
    pub dropped: AtomicU64,
}

impl LogWriter {
    /// Starts the writer thread for `dir`.
    pub fn start(dir: PathBuf) -> LogWriter {
        let (tx, rx) = sync_channel::<(String, String)>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("waf-log".into())
            .spawn(move || {
                let mut files: HashMap<String, std::io::BufWriter<std::fs::File>> = HashMap::new();
                while let Ok((name, line)) = rx.recv() {
                    let mut batch = vec![(name, line)];
                    while let Ok(x) = rx.try_recv() {
                        batch.push(x);
                        if batch.len() >= 4096 {
                            break;
                        }
                    }
                    for (name, line) in batch {
                        if !files.contains_key(&name) {
                            if let Err(e) = std::fs::create_dir_all(&dir) {
                                tracing::error!(error = %e, "WAF log directory could not be created");
                                continue;
                            }
                            let path = dir.join(format!("{name}.log"));
                            match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
                                Ok(f) => {
                                    files.insert(name.clone(), std::io::BufWriter::new(f));
                                }
                                Err(e) => {
                                    tracing::error!(error = %e, path = %path.display(), "WAF log could not be opened");
                                    continue;
                                }
                            }
                        }
                        if let Some(f) = files.get_mut(&name) {
                            let _ = f.write_all(line.as_bytes());
                            let _ = f.write_all(b"\n");
                        }
                    }
                    for f in files.values_mut() {
                        let _ = f.flush();
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "WAF log writer could not start");
        }
        LogWriter {
            tx,
            dropped: AtomicU64::new(0),
        }
    }

    pub fn write(&self, name: &str, record: &Value) {
        match self.tx.try_send((name.to_string(), record.to_string())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Whether the logging filter keeps a record (`LoggingFilter`: the first filter whose
/// conditions hold decides; else the default behaviour).
pub fn keep(filter: Option<&Value>, v: &Verdict) -> bool {
    let Some(f) = filter else {
        return true;
    };
    let actions: Vec<&str> = std::iter::once(v.action.as_str())
        .chain(v.non_terminating.iter().map(|n| n.action))
        .chain(
            v.rule_groups
                .iter()
                .filter(|g| !g.excluded.is_empty())
                .map(|_| "EXCLUDED_AS_COUNT"),
        )
        .collect();
    let holds = |c: &Value| -> bool {
        if let Some(a) = c.pointer("/ActionCondition/Action").and_then(Value::as_str) {
            return actions.contains(&a);
        }
        if let Some(l) = c
            .pointer("/LabelNameCondition/LabelName")
            .and_then(Value::as_str)
        {
            return v.labels.iter().any(|x| x == l);
        }
        false
    };
    for flt in f
        .get("Filters")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let conds = flt
            .get("Conditions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let met = match flt.get("Requirement").and_then(Value::as_str) {
            Some("MEETS_ALL") => conds.iter().all(holds),
            _ => conds.iter().any(holds),
        };
        if met {
            return flt.get("Behavior").and_then(Value::as_str) != Some("DROP");
        }
    }
    f.get("DefaultBehavior").and_then(Value::as_str) != Some("DROP")
}

/// The `httpRequest` part of a log record or sample.
pub struct Seen<'a> {
    pub req: &'a Request,
    pub client_ip: String,
    pub country: String,
    pub request_id: &'a str,
}

/// One WAF log record.
pub fn record(
    acl_arn: &str,
    source_id: &str,
    now_ms: u64,
    seen: &Seen<'_>,
    v: &Verdict,
    cfg: &LogConfig,
) -> Value {
    let redact = |what: &str, name: Option<&str>| -> bool {
        cfg.redacted_fields.iter().any(|f| match (what, name) {
            ("header", Some(n)) => f
                .pointer("/SingleHeader/Name")
                .and_then(Value::as_str)
                .is_some_and(|x| x.eq_ignore_ascii_case(n)),
            (w, None) => f.get(w).is_some(),
            _ => false,
        })
    };
    let headers: Vec<Value> = seen
        .req
        .headers
        .iter()
        .map(|(n, val)| {
            let val = if redact("header", Some(n)) {
                "REDACTED"
            } else {
                val
            };
            json!({"name": n, "value": val})
        })
        .collect();
    let or_redacted = |what: &str, s: &str| -> String {
        if redact(what, None) {
            "REDACTED".to_string()
        } else {
            s.to_string()
        }
    };
    let rule_groups: Vec<Value> = v
        .rule_groups
        .iter()
        .map(|g| {
            json!({
                "ruleGroupId": g.rule_group_id,
                "terminatingRule": g.terminating.as_ref().map(|(r, a)| json!({"ruleId": r, "action": a, "ruleMatchDetails": null})),
                "nonTerminatingMatchingRules": g.non_terminating.iter().map(|(r, a)| json!({"ruleId": r, "action": a, "ruleMatchDetails": []})).collect::<Vec<_>>(),
                "excludedRules": if g.excluded.is_empty() { Value::Null } else {
                    g.excluded.iter().map(|r| json!({"exclusionType": "EXCLUDED_AS_COUNT", "ruleId": r})).collect()
                },
            })
        })
        .collect();
    let rate: Vec<Value> = v
        .rate_limited
        .iter()
        .map(|r| {
            json!({
                "rateBasedRuleId": format!("{acl_arn}/{}", r.rule_id),
                "rateBasedRuleName": r.rule_id,
                "limitKey": if r.limit_key == "CUSTOM_KEYS" { "CUSTOMKEYS" } else { r.limit_key },
                "limitValue": if matches!(r.limit_key, "IP" | "FORWARDED_IP") { Value::from(r.limit_value.clone()) } else { Value::Null },
                "maxRateAllowed": r.max_rate_allowed,
                "evaluationWindowSec": r.window_s.to_string(),
            })
        })
        .collect();
    let response_code = v.response.as_ref().map(|r| r.status);
    let mut rec = json!({
        "timestamp": now_ms,
        "formatVersion": 1,
        "webaclId": acl_arn,
        "terminatingRuleId": v.terminating.rule_id,
        "terminatingRuleType": v.terminating.rule_type,
        "action": v.action.as_str(),
        "terminatingRuleMatchDetails": [],
        "httpSourceName": "ALB",
        "httpSourceId": source_id,
        "ruleGroupList": rule_groups,
        "rateBasedRuleList": rate,
        "nonTerminatingMatchingRules": v.non_terminating.iter().map(|n| json!({"ruleId": n.rule_id, "action": n.action, "ruleMatchDetails": []})).collect::<Vec<_>>(),
        "requestHeadersInserted": if v.insert_headers.is_empty() { Value::Null } else {
            v.insert_headers.iter().map(|(n, x)| json!({"name": n, "value": x})).collect()
        },
        "responseCodeSent": if matches!(v.action, Terminal::Block) { response_code.map(Value::from).unwrap_or(Value::Null) } else { Value::Null },
        "httpRequest": {
            "clientIp": seen.client_ip,
            "country": seen.country,
            "headers": headers,
            "uri": or_redacted("UriPath", &seen.req.uri_path),
            "args": or_redacted("QueryString", &seen.req.query_string),
            "httpVersion": seen.req.http_version,
            "httpMethod": or_redacted("Method", &seen.req.method),
            "requestId": seen.request_id,
        },
        "labels": v.labels.iter().take(100).map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "requestBodySize": seen.req.body_len(),
        "requestBodySizeInspectedByWAF": seen.req.body_len().min(rampart_firewall::DEFAULT_BODY_LIMIT),
    });
    if let (Some(o), Terminal::Captcha | Terminal::Challenge) = (rec.as_object_mut(), v.action) {
        let key = if v.action == Terminal::Captcha {
            "captchaResponse"
        } else {
            "challengeResponse"
        };
        o.insert(
            key.into(),
            json!({"responseCode": response_code, "solveTimestamp": 0, "failureReason": "TOKEN_MISSING"}),
        );
    }
    rec
}

/// A `SampledHTTPRequest` as `GetSampledRequests` returns it.
pub fn sample(seen: &Seen<'_>, v: &Verdict, now_ms: u64, rule_in_group: Option<&str>) -> Value {
    let mut s = json!({
        "Request": {
            "ClientIP": seen.client_ip,
            "Country": seen.country,
            "URI": seen.req.uri_path,
            "Method": seen.req.method,
            "HTTPVersion": seen.req.http_version,
            "Headers": seen.req.headers.iter().map(|(n, x)| json!({"Name": n, "Value": x})).collect::<Vec<_>>(),
        },
        "Weight": 1,
        "Timestamp": now_ms as f64 / 1000.0,
        "Action": v.action.as_str(),
        "Labels": v.labels.iter().map(|l| json!({"Name": l})).collect::<Vec<_>>(),
    });
    if let Some(o) = s.as_object_mut() {
        if let Some(r) = rule_in_group {
            o.insert("RuleNameWithinRuleGroup".into(), r.into());
        }
        if !v.insert_headers.is_empty() {
            o.insert(
                "RequestHeadersInserted".into(),
                v.insert_headers
                    .iter()
                    .map(|(n, x)| json!({"Name": n, "Value": x}))
                    .collect(),
            );
        }
        if let (Terminal::Block, Some(r)) = (v.action, &v.response) {
            o.insert("ResponseCodeSent".into(), r.status.into());
        }
    }
    s
}
