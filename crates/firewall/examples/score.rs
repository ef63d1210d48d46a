//! Offline scorer: runs managed rule groups over the WAF corpus and prints TPR / FPR in the
//! terms of `run.py`'s report.
//!
//! ```text
//! cargo run --release -p rampart-firewall --example score -- \
//!     [--corpus ../shared/waf/corpus-dev.jsonl.gz] [--groups Common,SQLi,...] [--admin]
//!     [--keep-host | --set-host NAME] [--aws-only] [--show-misses CATEGORY] [--show-fps SET]
//!     [--limit N] [--by-rule]
//! ```
//!
//! Every record says `Host: localhost`, which `Host_localhost_HEADER` blocks on purpose; like
//! `run.py --set-host`, the scorer rewrites Host (and Origin) to `example.com` unless
//! `--keep-host` is given.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::time::Instant;

use base64::Engine as _;
use rampart_firewall::{Inspection, ManagedGroup, Request, DEFAULT_GROUPS};

#[derive(Default, Clone, Copy)]
struct Tally {
    n: u64,
    blocked: u64,
}

impl Tally {
    fn add(&mut self, blocked: bool) {
        self.n += 1;
        self.blocked += u64::from(blocked);
    }
    fn pct(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            100.0 * self.blocked as f64 / self.n as f64
        }
    }
}

fn parse_raw(raw: &[u8]) -> Option<Request> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = match split {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => (raw, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let line = lines.next()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next().unwrap_or("/");
    let mut req = Request::new(method, target);
    for l in lines {
        if let Some((n, v)) = l.split_once(':') {
            req.headers
                .push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    req.body = body.to_vec();
    Some(req)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut corpus = "../shared/waf/corpus-dev.jsonl.gz".to_string();
    if !std::path::Path::new(&corpus).exists() {
        corpus = "/work/shared/waf/corpus-dev.jsonl.gz".to_string();
    }
    let mut groups: Vec<String> = DEFAULT_GROUPS.iter().map(|s| s.to_string()).collect();
    let mut set_host = Some("example.com".to_string());
    let mut aws_only = false;
    let mut show_misses: Option<String> = None;
    let mut show_fps: Option<String> = None;
    let mut limit = usize::MAX;
    let mut by_rule = false;
    let mut show_n = 40usize;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).cloned();
        match a {
            "--corpus" => {
                corpus = next.expect("--corpus PATH");
                i += 1;
            }
            "--groups" => {
                groups = next
                    .expect("--groups LIST")
                    .split(',')
                    .map(|g| {
                        if g.starts_with("AWSManagedRules") {
                            g.to_string()
                        } else {
                            format!("AWSManagedRules{g}RuleSet")
                        }
                    })
                    .collect();
                i += 1;
            }
            "--admin" => groups.push("AWSManagedRulesAdminProtectionRuleSet".into()),
            "--keep-host" => set_host = None,
            "--set-host" => {
                set_host = next;
                i += 1;
            }
            "--aws-only" => aws_only = true,
            "--show-misses" => {
                show_misses = next;
                i += 1;
            }
            "--show-fps" => {
                show_fps = next;
                i += 1;
            }
            "--show-n" => {
                show_n = next.expect("n").parse().expect("number");
                i += 1;
            }
            "--limit" => {
                limit = next.expect("--limit N").parse().expect("number");
                i += 1;
            }
            "--by-rule" => by_rule = true,
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 1;
    }
    let file = match std::fs::File::open(&corpus) {
        Ok(f) => f,
        Err(e) => {
            println!("SKIP: corpus {corpus} not available ({e}); nothing to score");
            return;
        }
    };
    let groups: Vec<ManagedGroup> = groups
        .iter()
        .map(|g| {
            let grp = ManagedGroup::by_name(g).unwrap_or_else(|| panic!("unknown group {g}"));
            if aws_only {
                grp.aws_rules_only()
            } else {
                grp
            }
        })
        .collect();
    eprintln!(
        "groups: {}; host rewrite: {}",
        groups.iter().map(|g| g.name).collect::<Vec<_>>().join(","),
        set_host.as_deref().unwrap_or("off")
    );
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut per_source: BTreeMap<String, Tally> = BTreeMap::new();
    let mut per_cat: BTreeMap<String, Tally> = BTreeMap::new();
    let mut per_src_cat: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut benign: BTreeMap<String, Tally> = BTreeMap::new();
    let mut rule_hits: BTreeMap<(bool, String), u64> = BTreeMap::new();
    let mut payload_attacks = Tally::default();
    let mut skipped = 0u64;
    let mut shown = 0usize;
    let start = Instant::now();
    let mut total = 0usize;
    for line in reader.lines() {
        let line = line.expect("read corpus");
        if line.trim().is_empty() {
            continue;
        }
        if total >= limit {
            break;
        }
        total += 1;
        let rec: serde_json::Value = serde_json::from_str(&line).expect("json record");
        let source = rec["source"].as_str().unwrap_or("").to_string();
        let category = rec["category"].as_str().unwrap_or("").to_string();
        let attack = rec["expect"].as_str() == Some("block");
        let mut req = if let Some(raw) = rec["raw_b64"].as_str() {
            match base64::engine::general_purpose::STANDARD
                .decode(raw)
                .ok()
                .and_then(|b| parse_raw(&b))
            {
                Some(r) => r,
                None => {
                    skipped += 1;
                    continue;
                }
            }
        } else {
            let mut r = Request::new(
                rec["method"].as_str().unwrap_or("GET"),
                rec["path"].as_str().unwrap_or("/"),
            );
            for h in rec["headers"].as_array().into_iter().flatten() {
                r.headers.push((
                    h[0].as_str().unwrap_or("").to_string(),
                    h[1].as_str().unwrap_or("").to_string(),
                ));
            }
            r.body = rec["body"].as_str().unwrap_or("").as_bytes().to_vec();
            r
        };
        // As run.py's sender does for `autocomplete` records.
        if rec["raw_b64"].is_null() && rec["autocomplete"].as_bool().unwrap_or(true) {
            let has =
                |req: &Request, n: &str| req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
            if !has(&req, "host") {
                req.headers.insert(0, ("Host".into(), "localhost".into()));
            }
            if !req.body.is_empty()
                && !has(&req, "content-length")
                && !has(&req, "transfer-encoding")
            {
                let len = req.body.len().to_string();
                req.headers.push(("Content-Length".into(), len));
            }
            if !has(&req, "connection") {
                req.headers.push(("Connection".into(), "close".into()));
            }
        }
        if let Some(h) = &set_host {
            for (n, v) in req.headers.iter_mut() {
                if n.eq_ignore_ascii_case("host") {
                    *v = h.clone();
                } else if n.eq_ignore_ascii_case("origin") {
                    *v = format!("http://{h}");
                }
            }
        }
        let ins = Inspection::new(&req);
        let mut matches = Vec::new();
        for g in &groups {
            matches.extend(g.evaluate_inspection(&ins));
            if !matches.is_empty() && !by_rule {
                break;
            }
        }
        let blocked = !matches.is_empty();
        if by_rule {
            for m in &matches {
                *rule_hits.entry((attack, m.rule.to_string())).or_default() += 1;
            }
        }
        if attack {
            per_source.entry(source.clone()).or_default().add(blocked);
            per_cat.entry(category.clone()).or_default().add(blocked);
            per_src_cat
                .entry((source.clone(), category.clone()))
                .or_default()
                .add(blocked);
            if source != "csic" {
                payload_attacks.add(blocked);
            }
            if !blocked
                && show_misses
                    .as_deref()
                    .is_some_and(|c| c == category || c == source || c == "all")
                && shown < show_n
            {
                shown += 1;
                println!(
                    "MISS {} {} {} body={:?} hdrs={:?}",
                    rec["id"],
                    req.method,
                    rec["path"],
                    String::from_utf8_lossy(&req.body)
                        .chars()
                        .take(300)
                        .collect::<String>(),
                    req.headers
                        .iter()
                        .filter(|(n, _)| !matches!(
                            n.to_ascii_lowercase().as_str(),
                            "host" | "accept" | "connection" | "content-length" | "user-agent"
                        ))
                        .collect::<Vec<_>>()
                );
            }
        } else {
            benign.entry(category.clone()).or_default().add(blocked);
            if blocked
                && show_fps
                    .as_deref()
                    .is_some_and(|c| c == category || c == source || c == "all")
                && shown < show_n
            {
                shown += 1;
                println!(
                    "FP {} {:?} {} {} body={:?}",
                    rec["id"],
                    matches.iter().map(|m| m.rule).collect::<Vec<_>>(),
                    req.method,
                    rec["path"],
                    String::from_utf8_lossy(&req.body)
                        .chars()
                        .take(300)
                        .collect::<String>()
                );
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "records: {total} in {secs:.2}s ({:.0}/s), raw_b64 unparsed: {skipped}",
        total as f64 / secs
    );
    println!(
        "TPR over the four payload sources: {:.1}% ({}/{})",
        payload_attacks.pct(),
        payload_attacks.blocked,
        payload_attacks.n
    );
    println!("TPR per source:");
    for (s, t) in &per_source {
        println!("  {s:<12} {:>5.1}% ({}/{})", t.pct(), t.blocked, t.n);
    }
    println!("FPR per benign set:");
    for (s, t) in &benign {
        println!("  {s:<15} {:>5.1}% ({}/{})", t.pct(), t.blocked, t.n);
    }
    println!("TPR per category:");
    for (s, t) in &per_cat {
        println!("  {s:<16} {:>5.1}% ({}/{})", t.pct(), t.blocked, t.n);
    }
    println!("TPR per source+category:");
    for ((s, c), t) in &per_src_cat {
        println!(
            "  {s:<11} {c:<16} {:>5.1}% ({}/{})",
            t.pct(),
            t.blocked,
            t.n
        );
    }
    if by_rule {
        println!("hits per rule (attack / benign):");
        let names: std::collections::BTreeSet<&String> = rule_hits.keys().map(|(_, r)| r).collect();
        for r in names {
            println!(
                "  {r:<45} {:>6} / {:>6}",
                rule_hits.get(&(true, r.clone())).unwrap_or(&0),
                rule_hits.get(&(false, r.clone())).unwrap_or(&0)
            );
        }
    }
}
