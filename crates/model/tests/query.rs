//! awsQuery decoding and XML encoding against the STS model.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use rampart_core::AwsError;
use rampart_model::{decode_query, encode_query_error, encode_query_response, sts, validate};
use serde_json::json;

fn params(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn assume_role_lists_and_nested() {
    let op = sts::operation("AssumeRole").unwrap();
    let p = params(&[
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", "arn:aws:iam::123456789012:role/demo"),
        ("RoleSessionName", "s1"),
        ("DurationSeconds", "3600"),
        ("Tags.member.2.Key", "team"),
        ("Tags.member.2.Value", "blue"),
        ("Tags.member.1.Key", "env"),
        ("Tags.member.1.Value", "prod"),
        ("TransitiveTagKeys.member.1", "env"),
        (
            "PolicyArns.member.1.arn",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        ),
        ("Unknown", "ignored"),
    ]);
    let v = decode_query(&sts::SERVICE, op.input.unwrap(), &p).unwrap();
    assert_eq!(
        v,
        json!({
            "RoleArn": "arn:aws:iam::123456789012:role/demo",
            "RoleSessionName": "s1",
            "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            "DurationSeconds": 3600,
            "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "blue"}],
            "TransitiveTagKeys": ["env"],
        })
    );
    assert_eq!(validate(&sts::SERVICE, op.input.unwrap(), &v), Ok(()));
}

#[test]
fn empty_list_and_bad_number() {
    let op = sts::operation("AssumeRole").unwrap();
    let v = decode_query(&sts::SERVICE, op.input.unwrap(), &params(&[("Tags", "")])).unwrap();
    assert_eq!(v, json!({"Tags": []}));
    let err = decode_query(
        &sts::SERVICE,
        op.input.unwrap(),
        &params(&[("DurationSeconds", "soon")]),
    )
    .unwrap_err();
    assert_eq!(err.code, "ValidationError");
    assert_eq!(
        err.message,
        "Invalid value 'soon' for parameter DurationSeconds: expected an integer"
    );
}

#[test]
fn get_caller_identity_xml() {
    let op = sts::operation("GetCallerIdentity").unwrap();
    let out = json!({"UserId": "AIDAEXAMPLE", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/a&b"});
    let xml = encode_query_response(&sts::SERVICE, op, &out, "req-1");
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <GetCallerIdentityResult><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>\
         <Arn>arn:aws:iam::123456789012:user/a&amp;b</Arn></GetCallerIdentityResult>\
         <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    );
}

#[test]
fn assume_role_xml_timestamps() {
    let op = sts::operation("AssumeRole").unwrap();
    let out = json!({
        "Credentials": {"AccessKeyId": "ASIA1", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": 1704164645.5},
        "AssumedRoleUser": {"AssumedRoleId": "AROA1:s1", "Arn": "arn:aws:sts::123456789012:assumed-role/demo/s1"},
        "PackedPolicySize": 6,
    });
    let xml = encode_query_response(&sts::SERVICE, op, &out, "r");
    assert!(xml.contains(
        "<AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey>\
         <SessionToken>t</SessionToken><Expiration>2024-01-02T03:04:05.500Z</Expiration></Credentials>"
    ), "{xml}");
    assert!(
        xml.contains("<PackedPolicySize>6</PackedPolicySize></AssumeRoleResult>"),
        "{xml}"
    );
}

#[test]
fn error_xml() {
    let err = sts::expired_token_exception("The security token included in the request is expired");
    assert_eq!(
        (err.code.as_ref(), err.status, err.sender_fault),
        ("ExpiredTokenException", 400, true)
    );
    assert_eq!(
        encode_query_error(&sts::SERVICE, &err, "req-2"),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <Error><Type>Sender</Type><Code>ExpiredTokenException</Code>\
         <Message>The security token included in the request is expired</Message></Error>\
         <RequestId>req-2</RequestId></ErrorResponse>"
    );
    let xml = encode_query_error(&sts::SERVICE, &AwsError::internal(), "r");
    assert!(xml.contains("<Type>Receiver</Type><Code>InternalFailure</Code>"));
    // The model's error code, not the shape name, is what awsQuery services send.
    assert_eq!(
        sts::idp_rejected_claim_exception("x").code,
        "IDPRejectedClaim"
    );
    assert_eq!(sts::idp_rejected_claim_exception("x").status, 403);
}
