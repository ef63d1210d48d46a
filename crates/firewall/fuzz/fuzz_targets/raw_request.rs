//! Any byte sequence, read as an HTTP/1.1 request (request line, headers, body), must evaluate
//! without a panic under every managed group and a web ACL that uses every statement type and
//! field.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_firewall::acl::{AclIdentity, CompileOptions, EvalEnv, NoReferences, Plan, RateTracker, TokenState};
use rampart_firewall::{evaluate_groups, ManagedGroup, Request, GROUP_NAMES};

fn parse(raw: &[u8]) -> Request {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = match split {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => (raw, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or("GET");
    let target = parts.next().unwrap_or("/");
    let mut req = Request::new(method, target);
    for l in lines {
        if let Some((n, v)) = l.split_once(':') {
            req.headers.push((n.to_string(), v.trim().to_string()));
        }
    }
    req.body = body.to_vec();
    req.source_ip = Some("192.0.2.1".parse().unwrap());
    req
}

fn plan() -> &'static Plan {
    static P: OnceLock<Plan> = OnceLock::new();
    P.get_or_init(|| {
        let t = serde_json::json!([{"Priority": 0, "Type": "URL_DECODE"}, {"Priority": 1, "Type": "HTML_ENTITY_DECODE"},
                                   {"Priority": 2, "Type": "CMD_LINE"}, {"Priority": 3, "Type": "BASE64_DECODE_EXT"}]);
        let vc = serde_json::json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": "m"});
        let fields = [
            serde_json::json!({"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "ALL"}}),
            serde_json::json!({"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "ALL", "OversizeHandling": "CONTINUE"}}),
            serde_json::json!({"Cookies": {"MatchPattern": {"All": {}}, "MatchScope": "ALL", "OversizeHandling": "CONTINUE"}}),
            serde_json::json!({"AllQueryArguments": {}}),
            serde_json::json!({"Body": {}}),
            serde_json::json!({"HeaderOrder": {"OversizeHandling": "CONTINUE"}}),
        ];
        let mut rules = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            rules.push(serde_json::json!({"Name": format!("r{i}"), "Priority": i, "Action": {"Count": {}}, "VisibilityConfig": vc,
                "RuleLabels": [{"Name": "seen"}],
                "Statement": {"OrStatement": {"Statements": [
                    {"SqliMatchStatement": {"FieldToMatch": f, "TextTransformations": t, "SensitivityLevel": "HIGH"}},
                    {"XssMatchStatement": {"FieldToMatch": f, "TextTransformations": t}},
                    {"RegexMatchStatement": {"FieldToMatch": f, "TextTransformations": t, "RegexString": "(?i)a+b*c{2,5}"}},
                    {"ByteMatchStatement": {"FieldToMatch": f, "TextTransformations": t, "SearchString": "YWJj", "PositionalConstraint": "CONTAINS_WORD"}},
                    {"SizeConstraintStatement": {"FieldToMatch": f, "TextTransformations": t, "ComparisonOperator": "GT", "Size": 100}}]}}}));
        }
        rules.push(serde_json::json!({"Name": "rate", "Priority": 100, "Action": {"Block": {}}, "VisibilityConfig": vc,
            "Statement": {"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "CUSTOM_KEYS", "CustomKeys": [
                {"Header": {"Name": "x", "TextTransformations": t}}, {"Cookie": {"Name": "c", "TextTransformations": t}},
                {"QueryArgument": {"Name": "q", "TextTransformations": t}}, {"LabelNamespace": {"Namespace": "awswaf:"}}],
                "ScopeDownStatement": {"LabelMatchStatement": {"Scope": "LABEL", "Key": "seen"}}}}}));
        for g in GROUP_NAMES {
            rules.push(serde_json::json!({"Name": g, "Priority": 200 + rules.len(), "OverrideAction": {"Count": {}}, "VisibilityConfig": vc,
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": g}}}));
        }
        let acl = serde_json::json!({"DefaultAction": {"Allow": {}}, "VisibilityConfig": vc, "Rules": rules});
        Plan::compile(&acl, AclIdentity::default(), &NoReferences, &CompileOptions::default()).unwrap()
    })
}

fn groups() -> &'static [ManagedGroup] {
    static G: OnceLock<Vec<ManagedGroup>> = OnceLock::new();
    G.get_or_init(|| GROUP_NAMES.iter().filter_map(|g| ManagedGroup::by_name(g)).collect())
}

fuzz_target!(|data: &[u8]| {
    let req = parse(data);
    let _ = evaluate_groups(groups(), &req);
    let rates = RateTracker::default();
    let env = EvalEnv { now_ms: 1, rates: &rates, geo: None, token: TokenState::default() };
    let _ = plan().evaluate(&req, &env);
});
