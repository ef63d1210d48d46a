#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn rates() {
    assert_eq!(
        parse_expression("rate(10 days)").unwrap(),
        Schedule::Days(10)
    );
    assert_eq!(parse_expression("rate(1 day)").unwrap(), Schedule::Days(1));
    assert_eq!(
        parse_expression("rate(12 hours)").unwrap(),
        Schedule::Hours(12)
    );
    assert!(parse_expression("rate(2 hours)").is_err());
    assert!(parse_expression("rate(0 days)").is_err());
    assert!(parse_expression("rate(1001 days)").is_err());
    assert!(parse_expression("rate(5 minutes)").is_err());
    assert!(parse_expression("every day").is_err());
    let s = parse_expression("rate(10 days)").unwrap();
    assert_eq!(
        next_rotation(&s, at("2024-03-01T15:30:00Z")).unwrap(),
        at("2024-03-11T00:00:00Z")
    );
    let s = parse_expression("rate(6 hours)").unwrap();
    assert_eq!(
        next_rotation(&s, at("2024-03-01T15:30:00Z")).unwrap(),
        at("2024-03-01T21:00:00Z")
    );
}

#[test]
fn cron_basics() {
    // 08:00 every day.
    let s = parse_expression("cron(0 8 * * ? *)").unwrap();
    assert_eq!(
        next_rotation(&s, at("2024-03-01T15:30:00Z")).unwrap(),
        at("2024-03-02T08:00:00Z")
    );
    // First Sunday of the month at 16:00.
    let s = parse_expression("cron(0 16 ? * SUN#1 *)").unwrap();
    assert_eq!(
        next_rotation(&s, at("2024-03-01T00:00:00Z")).unwrap(),
        at("2024-03-03T16:00:00Z")
    );
    // Last day of the month.
    let s = parse_expression("cron(0 0 L * ? *)").unwrap();
    assert_eq!(
        next_rotation(&s, at("2024-02-10T00:00:00Z")).unwrap(),
        at("2024-02-29T00:00:00Z")
    );
    // Every 4 hours on weekdays, ranges and lists.
    let s = parse_expression("cron(0 0/4 ? * MON-FRI *)").unwrap();
    assert_eq!(
        next_rotation(&s, at("2024-03-02T10:00:00Z")).unwrap(), // a Saturday
        at("2024-03-04T00:00:00Z")
    );
    let s = parse_expression("cron(30 1,13 1,15 JAN,JUL ? 2030)").unwrap();
    assert_eq!(
        next_rotation(&s, at("2024-03-02T10:00:00Z")).unwrap(),
        at("2030-01-01T01:30:00Z")
    );
}

#[test]
fn cron_errors() {
    for bad in [
        "cron(0 8 * * * *)",
        "cron(0 8 ? * ? *)",
        "cron(0 8 * *)",
        "cron(60 8 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 8 32 * ? *)",
        "cron(0 8 ? * FOO *)",
        "cron(0 8 ? * 2#6 *)",
    ] {
        assert!(parse_expression(bad).is_err(), "{bad}");
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration("3h").unwrap(), 3);
    assert!(parse_duration("0h").is_err());
    assert!(parse_duration("25h").is_err());
    assert!(parse_duration("3").is_err());
}
