//! The default managed groups (Common, SQLi, KnownBadInputs, Linux, Unix, Windows, PHP) over
//! the two requests of `../shared/waf/bench/`: a browser-like GET and a 2 KB form POST.
//!
//! Run: `cargo bench -p rampart-firewall --bench evaluate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use rampart_firewall::acl::{
    AclIdentity, CompileOptions, EvalEnv, NoReferences, Plan, RateTracker, TokenState,
};
use rampart_firewall::{evaluate_groups, ManagedGroup, Request, DEFAULT_GROUPS};
use std::hint::black_box;

fn browser(method: &str, target: &str) -> Request {
    Request::new(method, target)
        .with_header("Host", "shop.example.com")
        .with_header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
        .with_header("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .with_header("Accept-Language", "en-US,en;q=0.9")
        .with_header("Accept-Encoding", "gzip, deflate, br")
        .with_header("Cookie", "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark")
        .with_header("Referer", "https://shop.example.com/products")
}

fn bench(c: &mut Criterion) {
    let groups: Vec<ManagedGroup> = DEFAULT_GROUPS
        .iter()
        .map(|g| ManagedGroup::by_name(g).unwrap())
        .collect();
    let get = browser("GET", "/products/list?page=2&sort=price");
    let mut form = String::from(
        "name=Jane+Doe&email=jane.doe%40example.com&address=221B+Baker+Street%2C+London&bio=",
    );
    while form.len() < 2048 {
        form.push_str("I+like+long+walks%2C+good+books+and+well-made+coffee.+");
    }
    form.truncate(2048);
    let post = browser("POST", "/account/update")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body(form);
    let attack = browser("GET", "/search?q=%27%20union%20select%20password%20from%20users--&x=%3Cscript%3Ealert(1)%3C/script%3E");
    assert!(evaluate_groups(&groups, &get).is_empty());
    assert!(evaluate_groups(&groups, &post).is_empty());
    assert!(!evaluate_groups(&groups, &attack).is_empty());
    c.bench_function("managed_default_get", |b| {
        b.iter(|| evaluate_groups(black_box(&groups), black_box(&get)))
    });
    c.bench_function("managed_default_post_2k", |b| {
        b.iter(|| evaluate_groups(black_box(&groups), black_box(&post)))
    });
    c.bench_function("managed_default_attack", |b| {
        b.iter(|| evaluate_groups(black_box(&groups), black_box(&attack)))
    });

    // A web ACL plan as the proxy runs it: Common + SQLi + KnownBadInputs (the throughput
    // test's set), and an IP-set-only ACL.
    let vc = serde_json::json!({"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "m"});
    let rules: Vec<serde_json::Value> = [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    ]
    .iter()
    .enumerate()
    .map(|(i, g)| {
        serde_json::json!({"Name": g, "Priority": i, "OverrideAction": {"None": {}}, "VisibilityConfig": vc,
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": g}}})
    })
    .collect();
    let acl =
        serde_json::json!({"DefaultAction": {"Allow": {}}, "VisibilityConfig": vc, "Rules": rules});
    let plan = Plan::compile(
        &acl,
        AclIdentity::default(),
        &NoReferences,
        &CompileOptions::default(),
    )
    .unwrap();
    let rates = RateTracker::default();
    let env = EvalEnv {
        now_ms: 1,
        rates: &rates,
        geo: None,
        token: TokenState::default(),
    };
    let mut get_ip = get.clone();
    get_ip.source_ip = Some("192.0.2.7".parse().unwrap());
    assert_eq!(
        plan.evaluate(&get_ip, &env).terminating.rule_id,
        "Default_Action"
    );
    c.bench_function("plan_three_groups_get", |b| {
        b.iter(|| plan.evaluate(black_box(&get_ip), black_box(&env)))
    });
    c.bench_function("plan_three_groups_post_2k", |b| {
        b.iter(|| plan.evaluate(black_box(&post), black_box(&env)))
    });
    c.bench_function("plan_three_groups_attack", |b| {
        b.iter(|| plan.evaluate(black_box(&attack), black_box(&env)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
