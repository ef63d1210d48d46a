//! Validation messages against the real generated models.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use rampart_model::{kms, sts, validate, ServiceModel};
use serde_json::{json, Value};

fn check(svc: &'static ServiceModel, op: &str, v: Value) -> Result<(), (String, String, u16)> {
    let input = svc
        .operation(op)
        .and_then(|o| o.input)
        .expect("operation has input");
    validate(svc, input, &v).map_err(|e| (e.code.to_string(), e.message, e.status))
}

fn message(svc: &'static ServiceModel, op: &str, v: Value) -> String {
    match check(svc, op, v) {
        Err((code, msg, status)) => {
            assert_eq!(status, 400);
            assert_eq!(code, svc.validation_code(), "{msg}");
            msg
        }
        Ok(()) => panic!("{op}: expected a validation error"),
    }
}

#[test]
fn valid_input_passes() {
    assert_eq!(
        check(
            &kms::SERVICE,
            "Encrypt",
            json!({"KeyId": "alias/a", "Plaintext": "aGVsbG8="})
        ),
        Ok(())
    );
    assert_eq!(check(&kms::SERVICE, "ListKeys", json!({})), Ok(()));
    assert_eq!(check(&kms::SERVICE, "ListKeys", Value::Null), Ok(()));
    // Unknown members are ignored, as AWS does.
    assert_eq!(
        check(&kms::SERVICE, "ListKeys", json!({"Bogus": [1, 2]})),
        Ok(())
    );
}

#[test]
fn null_required() {
    assert_eq!(
        message(&kms::SERVICE, "Encrypt", json!({"Plaintext": "aGVsbG8="})),
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    );
    // An explicit null is a missing value.
    assert_eq!(
        message(&kms::SERVICE, "Encrypt", json!({"KeyId": null, "Plaintext": "aGVsbG8="})),
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn two_errors() {
    assert_eq!(
        message(&kms::SERVICE, "Encrypt", json!({})),
        "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; \
         Value null at 'plaintext' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn string_length() {
    let long = "a".repeat(2049);
    assert_eq!(
        message(&kms::SERVICE, "DescribeKey", json!({ "KeyId": long })),
        format!(
            "1 validation error detected: Value '{long}' at 'keyId' failed to satisfy constraint: \
             Member must have length less than or equal to 2048"
        )
    );
    assert_eq!(
        message(&kms::SERVICE, "DescribeKey", json!({"KeyId": ""})),
        "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    // Lengths count UTF-16 units, as Java does: 1024 emoji are 2048 units.
    assert_eq!(
        check(
            &kms::SERVICE,
            "DescribeKey",
            json!({"KeyId": "😀".repeat(1024)})
        ),
        Ok(())
    );
    assert!(check(
        &kms::SERVICE,
        "DescribeKey",
        json!({"KeyId": "😀".repeat(1025)})
    )
    .is_err());
}

#[test]
fn numeric_range() {
    assert_eq!(
        message(&kms::SERVICE, "GenerateRandom", json!({"NumberOfBytes": 0})),
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: \
         Member must have value greater than or equal to 1"
    );
    assert_eq!(
        message(&kms::SERVICE, "GenerateRandom", json!({"NumberOfBytes": 1025})),
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: \
         Member must have value less than or equal to 1024"
    );
}

#[test]
fn pattern_with_query_code() {
    let v = json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "a b"});
    let (code, msg, _) = check(&sts::SERVICE, "AssumeRole", v).expect_err("invalid");
    assert_eq!(code, "ValidationError");
    assert_eq!(
        msg,
        "1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [\\w+=,.@-]*"
    );
    // Java's \w is ASCII-only.
    let v = json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "café"});
    assert!(check(&sts::SERVICE, "AssumeRole", v).is_err());
    let v =
        json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "ok_name@x.y"});
    assert_eq!(check(&sts::SERVICE, "AssumeRole", v), Ok(()));
}

#[test]
fn several_failures_of_one_member() {
    let v = json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": " "});
    assert_eq!(
        message(&sts::SERVICE, "AssumeRole", v),
        "2 validation errors detected: Value ' ' at 'roleSessionName' failed to satisfy constraint: \
         Member must have length greater than or equal to 2; Value ' ' at 'roleSessionName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
    );
}

#[test]
fn enum_membership() {
    assert_eq!(
        message(&kms::SERVICE, "CreateKey", json!({"KeyUsage": "BAD"})),
        "1 validation error detected: Value 'BAD' at 'keyUsage' failed to satisfy constraint: \
         Member must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT, \
         ENCAPSULATE_DECAPSULATE]"
    );
}

#[test]
fn sensitive_value_not_shown() {
    assert_eq!(
        message(
            &kms::SERVICE,
            "Encrypt",
            json!({"KeyId": "k", "Plaintext": ""})
        ),
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    let big = rampart_model::Blob::new(vec![7u8; 4097]).to_base64();
    assert_eq!(
        message(
            &kms::SERVICE,
            "Encrypt",
            json!({"KeyId": "k", "Plaintext": big})
        ),
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: \
         Member must have length less than or equal to 4096"
    );
}

#[test]
fn blob_shown_as_java_buffer() {
    assert_eq!(
        message(&kms::SERVICE, "Decrypt", json!({"CiphertextBlob": ""})),
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]' at 'ciphertextBlob' \
         failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
}

#[test]
fn nested_list_path() {
    let v = json!({"Tags": [{"TagKey": "ok", "TagValue": "v"}, {"TagKey": "", "TagValue": "v"}]});
    assert_eq!(
        message(&kms::SERVICE, "CreateKey", v),
        "1 validation error detected: Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    let v = json!({"Tags": [{"TagKey": "k"}]});
    assert_eq!(
        message(&kms::SERVICE, "CreateKey", v),
        "1 validation error detected: Value null at 'tags.1.member.tagValue' failed to satisfy constraint: \
         Member must not be null"
    );
}

#[test]
fn list_of_scalars_reports_the_list() {
    let v = json!({"KeyId": "k", "Plaintext": "YQ==", "GrantTokens": ["a", ""]});
    assert_eq!(
        message(&kms::SERVICE, "Encrypt", v),
        "1 validation error detected: Value '[a, ]' at 'grantTokens' failed to satisfy constraint: \
         Member must satisfy constraint: [Member must have length less than or equal to 8192, \
         Member must have length greater than or equal to 1]"
    );
    let tokens: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let v = json!({"KeyId": "k", "Plaintext": "YQ==", "GrantTokens": tokens});
    assert!(message(&kms::SERVICE, "Encrypt", v)
        .ends_with("Member must have length less than or equal to 10"));
}

#[test]
fn type_mismatch_is_serialization_exception() {
    for (v, what) in [
        (
            json!({"KeyId": 5, "Plaintext": "YQ=="}),
            "'keyId': expected a string, found a number",
        ),
        (
            json!({"KeyId": "k", "Plaintext": "not base64!"}),
            "'plaintext': the value is not valid base64",
        ),
        (
            json!({"KeyId": "k", "Plaintext": "YQ==", "GrantTokens": "x"}),
            "'grantTokens': expected a list",
        ),
        (
            json!({"KeyId": "k", "Plaintext": "YQ==", "EncryptionContext": []}),
            "'encryptionContext': expected a map",
        ),
        (
            json!({"KeyId": "k", "Plaintext": "YQ==", "DryRun": "yes"}),
            "'dryRun': expected a boolean",
        ),
    ] {
        let (code, msg, status) = check(&kms::SERVICE, "Encrypt", v).expect_err("type error");
        assert_eq!((code.as_str(), status), ("SerializationException", 400));
        assert!(msg.contains(what), "{msg}");
    }
    let (code, msg, _) = check(
        &kms::SERVICE,
        "GenerateRandom",
        json!({"NumberOfBytes": 1.5}),
    )
    .expect_err("float");
    assert_eq!(code, "SerializationException", "{msg}");
    let (code, _, _) = check(
        &kms::SERVICE,
        "GenerateRandom",
        json!({"NumberOfBytes": 1u64 << 40}),
    )
    .expect_err("big");
    assert_eq!(code, "SerializationException");
    let (code, _, _) = check(&kms::SERVICE, "ListKeys", json!([1])).expect_err("top level");
    assert_eq!(code, "SerializationException");
    // A type error wins over constraint failures, as AWS deserializes before validating.
    let (code, _, _) = check(&kms::SERVICE, "Encrypt", json!({"DryRun": 1})).expect_err("type");
    assert_eq!(code, "SerializationException");
}
