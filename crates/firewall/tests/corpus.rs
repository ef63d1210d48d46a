//! Regression guard over the shared WAF corpus (`../shared/waf/corpus-dev.jsonl.gz`): every
//! 8th record through the default managed groups, Host rewritten as `run.py --set-host` does.
//! Skips with a message when the corpus is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};

use rampart_firewall::{evaluate_groups, ManagedGroup, Request, DEFAULT_GROUPS};

#[test]
fn dev_corpus_sample() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/waf/corpus-dev.jsonl.gz"
    );
    let Ok(file) = std::fs::File::open(path) else {
        eprintln!("skipping: corpus {path} not available");
        return;
    };
    let groups: Vec<ManagedGroup> = DEFAULT_GROUPS
        .iter()
        .map(|g| ManagedGroup::by_name(g).unwrap())
        .collect();
    let (mut attacks, mut caught, mut benign, mut flagged) = (0u32, 0u32, 0u32, 0u32);
    for (i, line) in BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .enumerate()
    {
        if i % 8 != 0 {
            continue;
        }
        let rec: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if rec.get("raw_b64").is_some() || rec["source"] == "csic" && rec["expect"] == "block" {
            continue;
        }
        let mut req = Request::new(
            rec["method"].as_str().unwrap(),
            rec["path"].as_str().unwrap(),
        );
        for h in rec["headers"].as_array().unwrap() {
            let name = h[0].as_str().unwrap();
            let value = if name.eq_ignore_ascii_case("host") {
                "example.com"
            } else {
                h[1].as_str().unwrap()
            };
            req.headers.push((name.to_string(), value.to_string()));
        }
        req.body = rec["body"].as_str().unwrap_or("").as_bytes().to_vec();
        let blocked = !evaluate_groups(&groups, &req).is_empty();
        if rec["expect"] == "block" {
            attacks += 1;
            caught += u32::from(blocked);
        } else if rec["category"] != "benign-crs" {
            benign += 1;
            flagged += u32::from(blocked);
        }
    }
    let tpr = f64::from(caught) / f64::from(attacks.max(1));
    let fpr = f64::from(flagged) / f64::from(benign.max(1));
    eprintln!(
        "sample: TPR {:.1}% ({caught}/{attacks}), FPR {:.2}% ({flagged}/{benign})",
        tpr * 100.0,
        fpr * 100.0
    );
    assert!(tpr >= 0.95, "TPR fell to {tpr}");
    assert!(fpr <= 0.01, "FPR rose to {fpr}");
}
