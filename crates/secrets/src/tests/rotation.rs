#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn lambda_arns() {
    let (r, a) = ("us-east-1", "111122223333");
    assert_eq!(
        function_name(
            r,
            a,
            "arn:aws:lambda:us-east-1:111122223333:function:my-rot_1"
        )
        .as_deref(),
        Some("my-rot_1")
    );
    assert_eq!(
        function_name(
            r,
            a,
            "arn:aws:lambda:us-east-1:111122223333:function:f:$LATEST"
        )
        .as_deref(),
        Some("f")
    );
    for bad in [
        "arn:aws:lambda:eu-west-1:111122223333:function:f",
        "arn:aws:lambda:us-east-1:999999999999:function:f",
        "arn:aws:lambda:us-east-1:111122223333:function:../etc/passwd",
        "arn:aws:lambda:us-east-1:111122223333:layer:f",
        "arn:aws:s3:::bucket",
    ] {
        assert_eq!(function_name(r, a, bad), None, "{bad}");
    }
}

#[test]
fn db_credentials() {
    let c = DbCreds::parse(
        r#"{"engine":"postgres","host":"db","port":"6432","username":"app","password":"pw"}"#,
    )
    .unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.dbname.as_str()),
        ("db", 6432, "postgres")
    );
    assert_eq!(c.password.as_str(), "pw");
    let c = DbCreds::parse(r#"{"host":"db","username":"u","password":"p","dbname":"x"}"#).unwrap();
    assert_eq!((c.port, c.dbname.as_str()), (5432, "x"));
    assert!(DbCreds::parse(r#"{"host":"db"}"#).is_none());
    assert!(DbCreds::parse("not json").is_none());
}

#[test]
fn rules() {
    let days = RulesRec {
        automatically_after_days: Some(3),
        ..Default::default()
    };
    assert_eq!(schedule_of(&days).unwrap(), Some(Schedule::Days(3)));
    let both = RulesRec {
        automatically_after_days: Some(3),
        schedule_expression: Some("rate(3 days)".into()),
        ..Default::default()
    };
    assert_eq!(
        schedule_of(&both).unwrap_err().code,
        "InvalidParameterException"
    );
    let bad_duration = RulesRec {
        schedule_expression: Some("rate(3 days)".into()),
        duration: Some("0h".into()),
        ..Default::default()
    };
    assert!(schedule_of(&bad_duration).is_err());
    let t = 1_700_000_000.0; // 2023-11-14T22:13:20Z
    let next = next_after(Some(&days), t).unwrap();
    assert_eq!(next, 1_700_179_200.0); // 2023-11-17T00:00:00Z
}
