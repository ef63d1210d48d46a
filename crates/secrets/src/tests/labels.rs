#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn v(id: &str, stages: &[&str], created: f64) -> VersionRec {
    VersionRec::new(id, stages.iter().map(|s| s.to_string()).collect(), created)
}

fn stages_of<'a>(vs: &'a [VersionRec], id: &str) -> Vec<&'a str> {
    let mut s: Vec<&str> = vs
        .iter()
        .find(|x| x.id == id)
        .unwrap()
        .stages
        .iter()
        .map(String::as_str)
        .collect();
    s.sort();
    s
}

#[test]
fn current_moves_previous_follows() {
    let mut vs = vec![v("a", &[CURRENT], 1.0)];
    vs.push(v("b", &[], 2.0));
    attach(&mut vs, "b", &[CURRENT.to_string()]).unwrap();
    assert_eq!(stages_of(&vs, "a"), vec![PREVIOUS]);
    assert_eq!(stages_of(&vs, "b"), vec![CURRENT]);
    vs.push(v("c", &[], 3.0));
    attach(&mut vs, "c", &[CURRENT.to_string()]).unwrap();
    assert!(stages_of(&vs, "a").is_empty());
    assert_eq!(stages_of(&vs, "b"), vec![PREVIOUS]);
    assert_eq!(stages_of(&vs, "c"), vec![CURRENT]);
    assert!(consistent(&vs));
}

#[test]
fn custom_labels_move_without_previous() {
    let mut vs = vec![v("a", &[CURRENT, "blue"], 1.0), v("b", &[], 2.0)];
    attach(&mut vs, "b", &["blue".to_string()]).unwrap();
    assert_eq!(stages_of(&vs, "a"), vec![CURRENT]);
    assert_eq!(stages_of(&vs, "b"), vec!["blue"]);
}

#[test]
fn label_limit() {
    let mut vs = vec![v("a", &[CURRENT], 1.0)];
    let many: Vec<String> = (0..19).map(|i| format!("l{i}")).collect();
    attach(&mut vs, "a", &many).unwrap();
    let e = attach(&mut vs, "a", &["one-more".to_string()]).unwrap_err();
    assert_eq!(e.code, "LimitExceededException");
}

#[test]
fn update_stage_rules() {
    let mut vs = vec![v("a", &[PREVIOUS], 1.0), v("b", &[CURRENT], 2.0)];
    let e = update_stage(&mut vs, CURRENT, None, Some("a")).unwrap_err();
    assert_eq!(e.code, "InvalidParameterException");
    assert!(
        e.message.contains("currently attached to version b"),
        "{}",
        e.message
    );
    update_stage(&mut vs, CURRENT, Some("b"), Some("a")).unwrap();
    assert_eq!(stages_of(&vs, "a"), vec![CURRENT]);
    assert_eq!(stages_of(&vs, "b"), vec![PREVIOUS]);
    // AWSCURRENT can't just be removed.
    assert!(update_stage(&mut vs, CURRENT, Some("a"), None).is_err());
    // A custom label: attach, then remove.
    update_stage(&mut vs, "green", None, Some("b")).unwrap();
    assert_eq!(stages_of(&vs, "b"), vec![PREVIOUS, "green"]);
    assert!(update_stage(&mut vs, "green", Some("a"), None).is_err());
    update_stage(&mut vs, "green", Some("b"), None).unwrap();
    assert_eq!(stages_of(&vs, "b"), vec![PREVIOUS]);
    assert!(update_stage(&mut vs, "x", None, Some("nope")).is_err());
    assert!(update_stage(&mut vs, "x", None, None).is_err());
    assert!(consistent(&vs));
}

#[test]
fn prune_only_old_unlabeled_beyond_limit() {
    let now = 1_000_000.0;
    let mut vs: Vec<VersionRec> = (0..105)
        .map(|i| v(&format!("v{i}"), &[], now - 200_000.0 + f64::from(i)))
        .collect();
    vs[104].stages.push(CURRENT.to_string());
    // Five young unlabeled versions are never removed.
    for x in vs.iter_mut().skip(99).take(5) {
        x.created = now - 10.0;
    }
    let n = prune(&mut vs, now);
    assert_eq!(n, 5);
    assert_eq!(vs.len(), 100);
    assert!(vs.iter().all(|x| x.id != "v0" && x.id != "v4"));
    assert!(vs.iter().any(|x| x.id == "v5"));
    // Nothing to remove when all excess versions are young.
    let mut young: Vec<VersionRec> = (0..102).map(|i| v(&format!("y{i}"), &[], now)).collect();
    assert_eq!(prune(&mut young, now), 0);
    assert_eq!(young.len(), 102);
}
