use super::*;
use crate::acl::ip::{Cidr, Family};
use crate::request::Request;
use serde_json::json;
use std::collections::HashMap as Map;

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn vc(name: &str) -> Value {
    json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": name})
}

#[derive(Default)]
struct Refs {
    ip: Map<String, Vec<&'static str>>,
    regex: Map<String, Vec<String>>,
    groups: Map<String, RuleGroupDef>,
}

impl Resolver for Refs {
    fn ip_set(&self, arn: &str) -> Option<IpSetDef> {
        let blocks: Vec<Cidr> = self
            .ip
            .get(arn)?
            .iter()
            .map(|c| {
                let fam = if c.contains(':') {
                    Family::V6
                } else {
                    Family::V4
                };
                Cidr::parse(c, fam).unwrap()
            })
            .collect();
        Some(IpSetDef {
            set: Arc::new(ip::IpSet::new(&blocks)),
        })
    }
    fn regex_set(&self, arn: &str) -> Option<Vec<String>> {
        self.regex.get(arn).cloned()
    }
    fn rule_group(&self, arn: &str) -> Option<RuleGroupDef> {
        self.groups.get(arn).cloned()
    }
}

fn plan(acl: Value, refs: &dyn Resolver) -> Plan {
    Plan::compile(
        &acl,
        AclIdentity {
            name: "acl".into(),
            id: "id-1".into(),
            arn: "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/acl/id-1".into(),
        },
        refs,
        &CompileOptions {
            account: "111122223333".into(),
            rate_key_prefix: "id-1".into(),
            ..CompileOptions::default()
        },
    )
    .unwrap()
}

fn compile_err(acl: Value, refs: &dyn Resolver) -> CompileError {
    Plan::compile(
        &acl,
        AclIdentity::default(),
        refs,
        &CompileOptions::default(),
    )
    .unwrap_err()
}

fn run(p: &Plan, req: &Request) -> Verdict {
    let rates = RateTracker::default();
    p.evaluate(req, &env(&rates, 1_000_000))
}

fn env(rates: &RateTracker, now_ms: u64) -> EvalEnv<'_> {
    EvalEnv {
        now_ms,
        rates,
        geo: None,
        token: TokenState::default(),
    }
}

fn from(ip: &str) -> Request {
    let mut r = Request::new("GET", "/").with_header("Host", "example.com");
    r.source_ip = Some(ip.parse().unwrap());
    r
}

fn ipset_acl() -> Value {
    json!({
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vc("acl"),
        "Rules": [{
            "Name": "block-listed", "Priority": 0,
            "Statement": {"IPSetReferenceStatement": {"ARN": "arn:ipset"}},
            "Action": {"Block": {}},
            "VisibilityConfig": vc("block-listed"),
        }]
    })
}

#[test]
fn allow_all_except_listed_addresses() {
    let mut refs = Refs::default();
    refs.ip
        .insert("arn:ipset".into(), vec!["127.0.0.2/32", "10.1.0.0/16"]);
    let p = plan(ipset_acl(), &refs);
    let v = run(&p, &from("127.0.0.2"));
    assert_eq!(v.action, Terminal::Block);
    assert_eq!(v.terminating.rule_id, "block-listed");
    assert_eq!(v.terminating.rule_type, "REGULAR");
    assert_eq!(v.response.as_ref().unwrap().status, 403);
    let v = run(&p, &from("127.0.0.3"));
    assert_eq!(v.action, Terminal::Allow);
    assert_eq!(v.terminating.rule_id, "Default_Action");
    assert!(v.response.is_none());
    assert_eq!(run(&p, &from("10.1.255.7")).action, Terminal::Block);
    assert_eq!(run(&p, &from("::ffff:10.1.2.3")).action, Terminal::Block);
    assert_eq!(run(&p, &from("10.2.0.1")).action, Terminal::Allow);
    assert_eq!(p.capacity, 1);
}

#[test]
fn forwarded_ip_positions_and_fallback() {
    let mut refs = Refs::default();
    refs.ip.insert("arn:ipset".into(), vec!["192.0.2.0/24"]);
    let acl = |pos: &str, fallback: &str| {
        json!({
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": vc("acl"),
            "Rules": [{
                "Name": "r", "Priority": 1,
                "Statement": {"IPSetReferenceStatement": {"ARN": "arn:ipset",
                    "IPSetForwardedIPConfig": {"HeaderName": "X-Forwarded-For",
                        "FallbackBehavior": fallback, "Position": pos}}},
                "Action": {"Block": {}},
                "VisibilityConfig": vc("r"),
            }]
        })
    };
    let req = from("127.0.0.1").with_header("X-Forwarded-For", "198.51.100.1, 192.0.2.9");
    assert_eq!(
        run(&plan(acl("FIRST", "NO_MATCH"), &refs), &req).action,
        Terminal::Allow
    );
    assert_eq!(
        run(&plan(acl("LAST", "NO_MATCH"), &refs), &req).action,
        Terminal::Block
    );
    assert_eq!(
        run(&plan(acl("ANY", "NO_MATCH"), &refs), &req).action,
        Terminal::Block
    );
    let bad = from("127.0.0.1").with_header("X-Forwarded-For", "not-an-ip");
    assert_eq!(
        run(&plan(acl("ANY", "MATCH"), &refs), &bad).action,
        Terminal::Block
    );
    assert_eq!(
        run(&plan(acl("ANY", "NO_MATCH"), &refs), &bad).action,
        Terminal::Allow
    );
    // Without the header the statement does not apply, whatever the fallback.
    let none = from("127.0.0.1");
    assert_eq!(
        run(&plan(acl("FIRST", "MATCH"), &refs), &none).action,
        Terminal::Allow
    );
    // ANY costs 4 more WCU.
    assert_eq!(plan(acl("ANY", "MATCH"), &refs).capacity, 5);
}

fn byte_rule(pos: &str, needle: &str, field: Value, transforms: Value) -> Value {
    json!({
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vc("acl"),
        "Rules": [{
            "Name": "b", "Priority": 1,
            "Statement": {"ByteMatchStatement": {
                "SearchString": b64(needle), "FieldToMatch": field,
                "TextTransformations": transforms, "PositionalConstraint": pos}},
            "Action": {"Block": {}},
            "VisibilityConfig": vc("b"),
        }]
    })
}

#[test]
fn byte_match_positions_and_transformations() {
    let none = json!([{"Priority": 0, "Type": "NONE"}]);
    let path = json!({"UriPath": {}});
    let cases = [
        ("EXACTLY", "/admin", "/admin", true),
        ("EXACTLY", "/admin", "/admin/x", false),
        ("STARTS_WITH", "/admin", "/admin/x", true),
        ("ENDS_WITH", ".php", "/x/index.php", true),
        ("CONTAINS", "etc", "/a/etc/b", true),
        ("CONTAINS_WORD", "admin", "/x/admin/y", true),
        ("CONTAINS_WORD", "admin", "/x/administrator", false),
        ("CONTAINS_WORD", "admin", "admin", true),
    ];
    for (pos, needle, target, want) in cases {
        let p = plan(
            byte_rule(pos, needle, path.clone(), none.clone()),
            &NoReferences,
        );
        let got = run(&p, &Request::new("GET", target)).action == Terminal::Block;
        assert_eq!(got, want, "{pos} {needle} on {target}");
    }
    // Transformations apply in priority order: URL_DECODE then LOWERCASE.
    let t = json!([{"Priority": 2, "Type": "LOWERCASE"}, {"Priority": 1, "Type": "URL_DECODE"}]);
    let p = plan(
        byte_rule(
            "CONTAINS",
            "<script",
            json!({"SingleQueryArgument": {"Name": "q"}}),
            t,
        ),
        &NoReferences,
    );
    assert_eq!(
        run(&p, &Request::new("GET", "/?Q=%3CScRiPt%3E")).action,
        Terminal::Block
    );
    assert_eq!(
        run(&p, &Request::new("GET", "/?other=%3Cscript")).action,
        Terminal::Allow
    );
    // 10 (CONTAINS) + 2 transformations x 10
    assert_eq!(p.capacity, 30);
}

#[test]
fn labels_flow_from_count_rules_to_label_match() {
    let acl = json!({
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vc("acl"),
        "Rules": [
            {"Name": "tag", "Priority": 1,
             "Statement": {"ByteMatchStatement": {"SearchString": b64("curl"),
                "FieldToMatch": {"SingleHeader": {"Name": "user-agent"}},
                "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
                "PositionalConstraint": "STARTS_WITH"}},
             "Action": {"Count": {}},
             "RuleLabels": [{"Name": "client:cli"}],
             "VisibilityConfig": vc("tag")},
            {"Name": "use", "Priority": 2,
             "Statement": {"AndStatement": {"Statements": [
                {"LabelMatchStatement": {"Scope": "LABEL", "Key": "client:cli"}},
                {"NotStatement": {"Statement": {"ByteMatchStatement": {"SearchString": b64("/public"),
                    "FieldToMatch": {"UriPath": {}},
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                    "PositionalConstraint": "STARTS_WITH"}}}}]}},
             "Action": {"Block": {}},
             "VisibilityConfig": vc("use")},
        ]
    });
    let p = plan(acl, &NoReferences);
    let v = run(
        &p,
        &Request::new("GET", "/private").with_header("User-Agent", "Curl/8"),
    );
    assert_eq!(v.action, Terminal::Block);
    assert_eq!(v.terminating.rule_id, "use");
    assert_eq!(v.labels, vec!["awswaf:111122223333:webacl:acl:client:cli"]);
    assert_eq!(v.non_terminating.len(), 1);
    assert_eq!(v.non_terminating[0].action, "COUNT");
    let v = run(
        &p,
        &Request::new("GET", "/public/x").with_header("User-Agent", "curl/8"),
    );
    assert_eq!(v.action, Terminal::Allow);
    let v = run(
        &p,
        &Request::new("GET", "/private").with_header("User-Agent", "Mozilla"),
    );
    assert_eq!(v.action, Terminal::Allow);
    assert!(v.labels.is_empty());
}

#[test]
fn namespace_label_match() {
    let acl = json!({
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vc("acl"),
        "Rules": [
            {"Name": "sqli", "Priority": 1,
             "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"}},
             "OverrideAction": {"Count": {}},
             "VisibilityConfig": vc("sqli")},
            {"Name": "ns", "Priority": 2,
             "Statement": {"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "awswaf:managed:aws:sql-database:"}},
             "Action": {"Block": {"CustomResponse": {"ResponseCode": 418, "CustomResponseBodyKey": "teapot",
                "ResponseHeaders": [{"Name": "x-why", "Value": "sqli"}]}}},
             "VisibilityConfig": vc("ns")},
        ],
        "CustomResponseBodies": {"teapot": {"ContentType": "APPLICATION_JSON", "Content": "{\"blocked\":true}"}}
    });
    let p = plan(acl, &NoReferences);
    assert_eq!(p.capacity, 201);
    let v = run(
        &p,
        &Request::new("GET", "/item?id=1%27%20or%20%271%27=%271"),
    );
    assert_eq!(v.action, Terminal::Block);
    assert_eq!(v.terminating.rule_id, "ns");
    let r = v.response.unwrap();
    assert_eq!(r.status, 418);
    assert_eq!(r.headers, vec![("x-why".to_string(), "sqli".to_string())]);
    assert_eq!(r.body.unwrap().content, "{\"blocked\":true}");
    assert_eq!(
        v.rule_groups[0].rule_group_id,
        "AWS#AWSManagedRulesSQLiRuleSet"
    );
    assert!(v
        .labels
        .iter()
        .any(|l| l.starts_with("awswaf:managed:aws:sql-database:")));
    assert_eq!(
        run(&p, &Request::new("GET", "/item?id=42")).action,
        Terminal::Allow
    );
}

#[test]
fn managed_group_overrides_and_exclusions() {
    let acl = |extra: Value| {
        let mut stmt = json!({"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"});
        if let (Value::Object(s), Value::Object(e)) = (&mut stmt, extra) {
            s.extend(e);
        }
        json!({
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": vc("acl"),
            "Rules": [{"Name": "sqli", "Priority": 0,
                "Statement": {"ManagedRuleGroupStatement": stmt},
                "OverrideAction": {"None": {}}, "VisibilityConfig": vc("sqli")}]
        })
    };
    let attack = Request::new("GET", "/item?id=1%27%20or%20%271%27=%271");
    let v = run(&plan(acl(json!({})), &NoReferences), &attack);
    assert_eq!(v.action, Terminal::Block);
    assert_eq!(v.terminating.rule_type, "MANAGED_RULE_GROUP");
    let (rule, action) = v.rule_groups[0].terminating.clone().unwrap();
    assert_eq!(rule, "SQLi_QUERYARGUMENTS");
    assert_eq!(action, "BLOCK");
    // Overridden to Count, the rule only counts; the group's next matching rule decides.
    let v = run(
        &plan(
            acl(
                json!({"RuleActionOverrides": [{"Name": "SQLi_QUERYARGUMENTS", "ActionToUse": {"Count": {}}}]}),
            ),
            &NoReferences,
        ),
        &attack,
    );
    let hit = &v.rule_groups[0];
    assert_eq!(
        hit.non_terminating,
        vec![("SQLi_QUERYARGUMENTS".to_string(), "COUNT")]
    );
    assert_ne!(hit.terminating.as_ref().unwrap().0, "SQLi_QUERYARGUMENTS");
    // Every matching rule overridden or excluded: the request goes through.
    let matching: Vec<String> = {
        let all = json!({"RuleActionOverrides": ManagedGroup::by_name("AWSManagedRulesSQLiRuleSet").unwrap()
            .rules.iter().map(|r| json!({"Name": r.name, "ActionToUse": {"Count": {}}})).collect::<Vec<_>>()});
        let v = run(&plan(acl(all), &NoReferences), &attack);
        assert_eq!(v.action, Terminal::Allow);
        assert_eq!(v.non_terminating[0].rule_id, "sqli");
        v.rule_groups[0]
            .non_terminating
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    };
    let excluded =
        json!({"ExcludedRules": matching.iter().map(|n| json!({"Name": n})).collect::<Vec<_>>()});
    let v = run(&plan(acl(excluded), &NoReferences), &attack);
    assert_eq!(v.action, Terminal::Allow);
    assert_eq!(v.rule_groups[0].excluded, matching);
    // A scope-down that does not match skips the group.
    let v = run(
        &plan(
            acl(
                json!({"ScopeDownStatement": {"ByteMatchStatement": {"SearchString": b64("/api"),
                "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                "PositionalConstraint": "STARTS_WITH"}}}),
            ),
            &NoReferences,
        ),
        &attack,
    );
    assert_eq!(v.action, Terminal::Allow);
    // Unknown rule names in a managed group's overrides are ignored, as AWS does.
    let p = plan(
        acl(json!({"RuleActionOverrides": [{"Name": "NoSuchRule", "ActionToUse": {"Count": {}}}]})),
        &NoReferences,
    );
    assert_eq!(run(&p, &attack).action, Terminal::Block);
}

#[test]
fn rate_based_blocks_a_burst_and_releases_after_the_window() {
    let acl = json!({
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vc("acl"),
        "Rules": [{"Name": "rate", "Priority": 0,
            "Statement": {"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60, "AggregateKeyType": "IP"}},
            "Action": {"Block": {}}, "VisibilityConfig": vc("rate")}]
    });
    let p = plan(acl, &NoReferences);
    assert_eq!(p.capacity, 2);
    let rates = RateTracker::default();
    let t0 = 1_700_000_000_000u64;
    let a = from("192.0.2.1");
    let b = from("192.0.2.2");
    for i in 0..10 {
        assert_eq!(
            p.evaluate(&a, &env(&rates, t0 + i * 100)).action,
            Terminal::Allow,
            "request {i}"
        );
    }
    let v = p.evaluate(&a, &env(&rates, t0 + 1_100));
    assert_eq!(v.action, Terminal::Block);
    assert_eq!(v.terminating.rule_type, "RATE_BASED");
    assert_eq!(v.rate_limited[0].limit_value, "192.0.2.1");
    assert_eq!(v.rate_limited[0].limit_key, "IP");
    // Another address is not limited.
    assert_eq!(
        p.evaluate(&b, &env(&rates, t0 + 1_200)).action,
        Terminal::Allow
    );
    assert_eq!(
        rates.over_limit("id-1/rate", t0 + 2_000),
        vec!["192.0.2.1".to_string()]
    );
    // After the window the address is released.
    assert_eq!(
        p.evaluate(&a, &env(&rates, t0 + 62_000)).action,
        Terminal::Allow
    );
    assert!(rates.over_limit("id-1/rate", t0 + 62_000).is_empty());
}

#[test]
fn rate_based_custom_keys_and_scope_down() {
    let acl = json!({
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": vc("acl"),
        "Rules": [{"Name": "login", "Priority": 0,
            "Statement": {"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 120,
                "AggregateKeyType": "CUSTOM_KEYS",
                "CustomKeys": [{"Header": {"Name": "x-api-key", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
                               {"HTTPMethod": {}}],
                "ScopeDownStatement": {"ByteMatchStatement": {"SearchString": b64("/login"),
                    "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                    "PositionalConstraint": "EXACTLY"}}}},
            "Action": {"Block": {}}, "VisibilityConfig": vc("login")}]
    });
    let p = plan(acl, &NoReferences);
    // 2 + 2 keys x 30 + scope-down 2
    assert_eq!(p.capacity, 64);
    let rates = RateTracker::default();
    let login = |key: &str| Request::new("POST", "/login").with_header("x-api-key", key);
    for _ in 0..10 {
        assert_eq!(
            p.evaluate(&login("k1"), &env(&rates, 5_000)).action,
            Terminal::Allow
        );
    }
    assert_eq!(
        p.evaluate(&login("k1"), &env(&rates, 5_000)).action,
        Terminal::Block
    );
    assert_eq!(
        p.evaluate(&login("k2"), &env(&rates, 5_000)).action,
        Terminal::Allow
    );
    // Outside the scope-down nothing is counted or limited.
    let other = Request::new("POST", "/other").with_header("x-api-key", "k1");
    assert_eq!(
        p.evaluate(&other, &env(&rates, 5_000)).action,
        Terminal::Allow
    );
    // Without the key the request is not counted.
    assert_eq!(
        p.evaluate(&Request::new("POST", "/login"), &env(&rates, 5_000))
            .action,
        Terminal::Allow
    );
}

#[test]
fn allow_inserts_headers_and_count_headers_accumulate() {
    let acl = json!({
        "DefaultAction": {"Block": {}},
        "VisibilityConfig": vc("acl"),
        "Rules": [
            {"Name": "count", "Priority": 1,
             "Statement": {"SizeConstraintStatement": {"FieldToMatch": {"Method": {}}, "ComparisonOperator": "GT",
                "Size": 0, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
             "Action": {"Count": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "seen", "Value": "1"}]}}},
             "VisibilityConfig": vc("count")},
            {"Name": "allow", "Priority": 2,
             "Statement": {"ByteMatchStatement": {"SearchString": b64("GET"), "FieldToMatch": {"Method": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "EXACTLY"}},
             "Action": {"Allow": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "Checked", "Value": "yes"}]}}},
             "VisibilityConfig": vc("allow")},
        ]
    });
    let p = plan(acl, &NoReferences);
    let v = run(&p, &Request::new("GET", "/"));
    assert_eq!(v.action, Terminal::Allow);
    assert_eq!(
        v.insert_headers,
        vec![
            ("x-amzn-waf-seen".to_string(), "1".to_string()),
            ("x-amzn-waf-checked".to_string(), "yes".to_string())
        ]
    );
    let v = run(&p, &Request::new("POST", "/"));
    assert_eq!(v.action, Terminal::Block);
    assert_eq!(v.terminating.rule_id, "Default_Action");
    assert!(v.insert_headers.is_empty());
}

#[test]
fn json_body_paths_scopes_and_invalid_fallback() {
    let acl = |pattern: Value, scope: &str, fallback: Option<&str>| {
        let mut jb = json!({"MatchPattern": pattern, "MatchScope": scope});
        if let Some(f) = fallback {
            jb["InvalidFallbackBehavior"] = json!(f);
        }
        byte_rule(
            "CONTAINS",
            "evil",
            json!({"JsonBody": jb}),
            json!([{"Priority": 0, "Type": "NONE"}]),
        )
    };
    let body = |b: &str| {
        Request::new("POST", "/api")
            .with_header("Content-Type", "application/json")
            .with_body(b.as_bytes().to_vec())
    };
    let p = plan(acl(json!({"All": {}}), "VALUE", None), &NoReferences);
    assert_eq!(p.capacity, 20);
    assert_eq!(
        run(&p, &body(r#"{"a": {"b": "evil"}}"#)).action,
        Terminal::Block
    );
    assert_eq!(run(&p, &body(r#"{"evil": "ok"}"#)).action, Terminal::Allow);
    let p = plan(acl(json!({"All": {}}), "KEY", None), &NoReferences);
    assert_eq!(run(&p, &body(r#"{"evil": "ok"}"#)).action, Terminal::Block);
    let p = plan(
        acl(json!({"IncludedPaths": ["/a/b"]}), "ALL", None),
        &NoReferences,
    );
    assert_eq!(
        run(&p, &body(r#"{"a": {"b": ["x", "evil"]}}"#)).action,
        Terminal::Block
    );
    assert_eq!(
        run(&p, &body(r#"{"a": {"c": "evil"}}"#)).action,
        Terminal::Allow
    );
    // Invalid JSON: parsed up to the error by default; or per the fallback.
    let p = plan(acl(json!({"All": {}}), "VALUE", None), &NoReferences);
    assert_eq!(
        run(&p, &body(r#"{"a": "evil", "b": "#)).action,
        Terminal::Block
    );
    assert_eq!(
        run(&p, &body(r#"{"a": "ok", "b" evil"#)).action,
        Terminal::Allow
    );
    let p = plan(
        acl(json!({"All": {}}), "VALUE", Some("EVALUATE_AS_STRING")),
        &NoReferences,
    );
    assert_eq!(
        run(&p, &body(r#"{"a": "ok", "b" evil"#)).action,
        Terminal::Block
    );
    let p = plan(
        acl(json!({"All": {}}), "VALUE", Some("MATCH")),
        &NoReferences,
    );
    assert_eq!(run(&p, &body("not json")).action, Terminal::Block);
}

#[test]
fn body_oversize_handling() {
    let acl = |o: &str| {
        byte_rule(
            "CONTAINS",
            "needle",
            json!({"Body": {"OversizeHandling": o}}),
            json!([{"Priority": 0, "Type": "NONE"}]),
        )
    };
    let mut big = vec![b'a'; 9000];
    big.extend_from_slice(b"needle");
    let req = Request::new("POST", "/").with_body(big);
    assert_eq!(
        run(&plan(acl("CONTINUE"), &NoReferences), &req).action,
        Terminal::Allow
    );
    assert_eq!(
        run(&plan(acl("MATCH"), &NoReferences), &req).action,
        Terminal::Block
    );
    let small = Request::new("POST", "/").with_body(b"a needle".to_vec());
    assert_eq!(
        run(&plan(acl("NO_MATCH"), &NoReferences), &small).action,
        Terminal::Block
    );
}

#[test]
fn headers_and_cookies_match_patterns() {
    let acl = |field: Value| {
        byte_rule(
            "EXACTLY",
            "bad",
            field,
            json!([{"Priority": 0, "Type": "NONE"}]),
        )
    };
    let req = Request::new("GET", "/")
        .with_header("X-One", "bad")
        .with_header("Cookie", "session=ok; track=bad");
    let headers = |p: Value, scope: &str| {
        acl(
            json!({"Headers": {"MatchPattern": p, "MatchScope": scope, "OversizeHandling": "CONTINUE"}}),
        )
    };
    assert_eq!(
        run(
            &plan(headers(json!({"All": {}}), "VALUE"), &NoReferences),
            &req
        )
        .action,
        Terminal::Block
    );
    assert_eq!(
        run(
            &plan(
                headers(json!({"ExcludedHeaders": ["x-one"]}), "VALUE"),
                &NoReferences
            ),
            &req
        )
        .action,
        Terminal::Allow
    );
    assert_eq!(
        run(
            &plan(headers(json!({"All": {}}), "KEY"), &NoReferences),
            &req
        )
        .action,
        Terminal::Allow
    );
    let cookies = |p: Value| {
        acl(
            json!({"Cookies": {"MatchPattern": p, "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}}),
        )
    };
    assert_eq!(
        run(
            &plan(
                cookies(json!({"IncludedCookies": ["track"]})),
                &NoReferences
            ),
            &req
        )
        .action,
        Terminal::Block
    );
    assert_eq!(
        run(
            &plan(
                cookies(json!({"IncludedCookies": ["session"]})),
                &NoReferences
            ),
            &req
        )
        .action,
        Terminal::Allow
    );
}

#[test]
fn rule_group_reference_with_labels_and_regex_sets() {
    let mut refs = Refs::default();
    refs.regex.insert(
        "arn:regex".into(),
        vec!["^/wp-(admin|login)".into(), "\\.env$".into()],
    );
    refs.groups.insert(
        "arn:group".into(),
        RuleGroupDef {
            name: "probes".into(),
            id: "g1".into(),
            arn: "arn:group".into(),
            label_namespace: "awswaf:111122223333:rulegroup:probes:".into(),
            rules: json!([{"Name": "paths", "Priority": 0,
                "Statement": {"RegexPatternSetReferenceStatement": {"ARN": "arn:regex",
                    "FieldToMatch": {"UriPath": {}}, "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}},
                "Action": {"Block": {"CustomResponse": {"ResponseCode": 404, "CustomResponseBodyKey": "nf"}}},
                "RuleLabels": [{"Name": "probe"}],
                "VisibilityConfig": vc("paths")}]),
            bodies: json!({"nf": {"ContentType": "TEXT_PLAIN", "Content": "not here"}}),
            capacity: 100,
        },
    );
    let acl = |ov: &str| {
        json!({
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": vc("acl"),
            "Rules": [{"Name": "probes", "Priority": 0,
                "Statement": {"RuleGroupReferenceStatement": {"ARN": "arn:group"}},
                "OverrideAction": {ov: {}}, "VisibilityConfig": vc("probes")}]
        })
    };
    let p = plan(acl("None"), &refs);
    assert_eq!(p.capacity, 100);
    let v = run(&p, &Request::new("GET", "/WP-Login.php"));
    assert_eq!(v.action, Terminal::Block);
    assert_eq!(v.terminating.rule_type, "GROUP");
    assert_eq!(v.response.as_ref().unwrap().status, 404);
    assert_eq!(v.response.unwrap().body.unwrap().content, "not here");
    assert_eq!(v.labels, vec!["awswaf:111122223333:rulegroup:probes:probe"]);
    assert_eq!(
        run(&p, &Request::new("GET", "/app/.env")).action,
        Terminal::Block
    );
    assert_eq!(
        run(&p, &Request::new("GET", "/index")).action,
        Terminal::Allow
    );
    let v = run(
        &plan(acl("Count"), &refs),
        &Request::new("GET", "/wp-admin"),
    );
    assert_eq!(v.action, Terminal::Allow);
    // The group's blocking rule only counts under the Count override.
    assert_eq!(
        v.rule_groups[0].terminating,
        Some(("paths".to_string(), "BLOCK"))
    );
    assert_eq!(v.non_terminating[0].rule_id, "probes");
    assert_eq!(v.non_terminating[0].action, "COUNT");
}

#[test]
fn capacity_matches_the_aws_cli_example() {
    // aws wafv2 check-capacity example: AND(ByteMatch EXACTLY + LOWERCASE, Geo) + RateBased = 15
    let rules = json!([
        {"Name": "basic-rule", "Priority": 0,
         "Statement": {"AndStatement": {"Statements": [
            {"ByteMatchStatement": {"SearchString": b64("example.com"),
                "FieldToMatch": {"SingleHeader": {"Name": "host"}},
                "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
                "PositionalConstraint": "EXACTLY"}},
            {"GeoMatchStatement": {"CountryCodes": ["US", "IN"]}}]}},
         "Action": {"Allow": {}}, "VisibilityConfig": vc("basic-rule")},
        {"Name": "rate-rule", "Priority": 1,
         "Statement": {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}},
         "Action": {"Block": {}}, "VisibilityConfig": vc("rate-rule")},
    ]);
    assert_eq!(wcu::rules_capacity(&rules, &NoReferences).unwrap(), 15);
    // Labels: 1 WCU per 5, pooled.
    let labelled = json!([{"Name": "l", "Priority": 0,
        "Statement": {"LabelMatchStatement": {"Scope": "LABEL", "Key": "x"}},
        "Action": {"Count": {}},
        "RuleLabels": [{"Name": "a"}, {"Name": "b"}, {"Name": "c"}, {"Name": "d"}, {"Name": "e"}, {"Name": "f"}],
        "VisibilityConfig": vc("l")}]);
    assert_eq!(wcu::rules_capacity(&labelled, &NoReferences).unwrap(), 3);
}

#[test]
fn invalid_web_acls_are_refused_with_aws_fields() {
    let base = |rules: Value| json!({"DefaultAction": {"Allow": {}}, "VisibilityConfig": vc("acl"), "Rules": rules});
    let rule = |name: &str, prio: i64, stmt: Value| json!({"Name": name, "Priority": prio, "Statement": stmt, "Action": {"Block": {}}, "VisibilityConfig": vc(name)});
    let geo = json!({"GeoMatchStatement": {"CountryCodes": ["US"]}});
    // Duplicate names / priorities.
    let e = compile_err(
        base(json!([
            rule("a", 1, geo.clone()),
            rule("a", 2, geo.clone())
        ])),
        &NoReferences,
    );
    assert!(
        matches!(&e, CompileError::Invalid { field: "RULE", parameter, .. } if parameter == "a"),
        "{e:?}"
    );
    let e = compile_err(
        base(json!([
            rule("a", 1, geo.clone()),
            rule("b", 1, geo.clone())
        ])),
        &NoReferences,
    );
    assert!(
        matches!(&e, CompileError::Invalid { field: "RULE", .. }),
        "{e:?}"
    );
    // Two statements in one.
    let two = json!({"GeoMatchStatement": {"CountryCodes": ["US"]}, "LabelMatchStatement": {"Scope": "LABEL", "Key": "x"}});
    let e = compile_err(base(json!([rule("a", 1, two)])), &NoReferences);
    assert_eq!(
        e.to_string(),
        "Error reason: You have used none or multiple values for a field that requires exactly one value., field: STATEMENT, parameter: Statement"
    );
    // AND with one statement.
    let and1 = json!({"AndStatement": {"Statements": [geo.clone()]}});
    let e = compile_err(base(json!([rule("a", 1, and1)])), &NoReferences);
    assert!(
        matches!(&e, CompileError::Invalid { field: "AND_STATEMENT", reason, .. } if reason.starts_with("You haven't met")),
        "{e:?}"
    );
    // Rate-based nested in a logical statement.
    let nested = json!({"NotStatement": {"Statement": {"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "IP"}}}});
    let e = compile_err(base(json!([rule("a", 1, nested)])), &NoReferences);
    assert!(
        matches!(
            e,
            CompileError::Invalid {
                field: "RATE_BASED_STATEMENT",
                ..
            }
        ),
        "{e:?}"
    );
    // Action on a rule group statement.
    let managed = json!({"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"}});
    let e = compile_err(base(json!([rule("a", 1, managed)])), &NoReferences);
    assert!(
        matches!(
            e,
            CompileError::Invalid {
                field: "RULE_ACTION",
                ..
            }
        ),
        "{e:?}"
    );
    // Unknown managed group / missing references.
    let unknown = json!([{"Name": "m", "Priority": 1,
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "NoSuchGroup"}},
        "OverrideAction": {"None": {}}, "VisibilityConfig": vc("m")}]);
    assert!(matches!(
        compile_err(base(unknown), &NoReferences),
        CompileError::Nonexistent(_)
    ));
    let ipref = json!({"IPSetReferenceStatement": {"ARN": "arn:none"}});
    assert!(matches!(
        compile_err(base(json!([rule("a", 1, ipref)])), &NoReferences),
        CompileError::Nonexistent(_)
    ));
    // Bad regex, bad country, bad label key.
    let re = json!({"RegexMatchStatement": {"RegexString": "(unclosed", "FieldToMatch": {"UriPath": {}},
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}});
    assert!(matches!(
        compile_err(base(json!([rule("a", 1, re)])), &NoReferences),
        CompileError::Invalid { .. }
    ));
    let cc = json!({"GeoMatchStatement": {"CountryCodes": ["usa"]}});
    assert!(matches!(
        compile_err(base(json!([rule("a", 1, cc)])), &NoReferences),
        CompileError::Invalid { .. }
    ));
    let lbl = json!({"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "no-colon"}});
    assert!(matches!(
        compile_err(base(json!([rule("a", 1, lbl)])), &NoReferences),
        CompileError::Invalid { .. }
    ));
    // A custom response body key that is not defined.
    let undefined = json!([{"Name": "a", "Priority": 1, "Statement": geo,
        "Action": {"Block": {"CustomResponse": {"ResponseCode": 403, "CustomResponseBodyKey": "nope"}}},
        "VisibilityConfig": vc("a")}]);
    assert!(matches!(
        compile_err(base(undefined), &NoReferences),
        CompileError::Invalid {
            field: "CUSTOM_RESPONSE_BODY",
            ..
        }
    ));
}

#[test]
fn rule_groups_cannot_reference_groups() {
    let rules = json!([{"Name": "m", "Priority": 1,
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"}},
        "OverrideAction": {"None": {}}, "VisibilityConfig": vc("m")}]);
    let e = check_rule_group(&rules, None, "awswaf:1:rulegroup:g:", &NoReferences).unwrap_err();
    assert!(
        matches!(
            e,
            CompileError::Invalid {
                field: "MANAGED_RULE_SET_STATEMENT",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn json_scanner_reports_pointers_and_stops_at_errors() {
    let s = json::scan(br#"{"a/b": [1, {"c~": "x\u00e9"}], "d": null}"#);
    assert!(s.valid);
    let ptrs: Vec<(&str, bool, &[u8])> = s
        .nodes
        .iter()
        .map(|n| (n.pointer.as_str(), n.is_key, n.text.as_slice()))
        .collect();
    assert_eq!(
        ptrs,
        vec![
            ("/a~1b", true, &b"a/b"[..]),
            ("/a~1b/0", false, b"1"),
            ("/a~1b/1/c~0", true, b"c~"),
            ("/a~1b/1/c~0", false, "x\u{e9}".as_bytes()),
            ("/d", true, b"d"),
            ("/d", false, b"null"),
        ]
    );
    let s = json::scan(br#"{"a": "ok", "b": tru"#);
    assert!(!s.valid);
    assert_eq!(s.nodes.len(), 3);
    assert!(!json::scan(b"[1,]").valid);
    assert!(!json::scan(br#"{"a":1} x"#).valid);
    // Deep nesting is cut off, not a stack overflow.
    let deep = "[".repeat(100_000);
    assert!(!json::scan(deep.as_bytes()).valid);
}

#[test]
fn cidr_parsing() {
    assert!(Cidr::parse("10.0.0.0/8", Family::V4).is_ok());
    assert!(Cidr::parse("2001:db8::/32", Family::V6).is_ok());
    for bad in [
        "10.0.0.0",
        "10.0.0.0/0",
        "10.0.0.0/33",
        "10.0.0.0/x",
        "2001:db8::/32",
        "300.0.0.1/32",
        "10.0.0.0/ 8",
    ] {
        assert!(Cidr::parse(bad, Family::V4).is_err(), "{bad}");
    }
    assert!(Cidr::parse("10.0.0.0/8", Family::V6).is_err());
    let set = ip::IpSet::new(&[
        Cidr::parse("10.0.0.0/8", Family::V4).unwrap(),
        Cidr::parse("10.5.0.0/16", Family::V4).unwrap(),
        Cidr::parse("192.168.1.1/32", Family::V4).unwrap(),
    ]);
    assert!(set.contains("10.255.255.255".parse().unwrap()));
    assert!(set.contains("192.168.1.1".parse().unwrap()));
    assert!(!set.contains("192.168.1.2".parse().unwrap()));
    assert!(!set.contains("11.0.0.0".parse().unwrap()));
    assert!(!set.contains("9.255.255.255".parse().unwrap()));
}

#[test]
fn label_keys_resolve_in_their_context() {
    let ctx = "awswaf:111122223333:webacl:testWebACL:";
    let ours = "awswaf:111122223333:webacl:testWebACL:header:encoding:utf8";
    let nested = "awswaf:111122223333:webacl:testWebACL:testNS1:testNS2:header:encoding:utf8";
    let other = "awswaf:111122223333:rulegroup:productionRules:header:encoding:utf8";
    let m = |l: &str, k: &str, ns: bool| super::stmt::tests_label_matches(l, k, ctx, ns);
    assert!(m(ours, "header:encoding:utf8", false));
    assert!(m(nested, "header:encoding:utf8", false));
    assert!(!m(
        "awswaf:111122223333:webacl:testWebACL:header:encoding2:utf8",
        "header:encoding:utf8",
        false
    ));
    assert!(!m(other, "header:encoding:utf8", false));
    assert!(m(other, other, false));
    assert!(m(ours, "header:encoding:", true));
    assert!(!m(other, "header:encoding:", true));
    assert!(m(
        "awswaf:managed:aws:core-rule-set:NoUserAgent_Header",
        "awswaf:managed:aws:core-rule-set:",
        true
    ));
    assert!(!m(
        "awswaf:managed:aws:core-rule-set:NoUserAgent_Header",
        "NoUserAgent_Header",
        false
    ));
}
