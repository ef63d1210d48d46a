#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The CloudTrail view of request parameters: redaction, lowerCamelCase members, map keys kept,
//! undefined members dropped, timestamps in CloudTrail's form.
use rampart_model::{kms, trail_view};
use serde_json::json;

#[test]
fn encrypt_request_as_cloudtrail_records_it() {
    let svc = &kms::SERVICE;
    let shape = svc.shape_id("EncryptRequest").unwrap();
    let v = json!({
        "KeyId": "alias/app",
        "Plaintext": "c2VjcmV0",
        "EncryptionContext": {"TenantId": "t1", "Purpose": "x"},
        "NotInTheModel": "anything"
    });
    let out = trail_view(svc, shape, &v);
    assert_eq!(
        out,
        json!({"keyId": "alias/app", "encryptionContext": {"TenantId": "t1", "Purpose": "x"}})
    );
}

#[test]
fn ciphertexts_are_left_out() {
    // "The ciphertext in the request and the plaintext in the response are omitted."
    let svc = &kms::SERVICE;
    let shape = svc.shape_id("DecryptRequest").unwrap();
    let out = trail_view(
        svc,
        shape,
        &json!({"CiphertextBlob": "AQID", "EncryptionContext": {"a": "b"}}),
    );
    assert_eq!(out, json!({"encryptionContext": {"a": "b"}}));
}

#[test]
fn timestamps_in_cloudtrail_form() {
    let svc = &rampart_model::cloudtrail::SERVICE;
    let shape = svc.shape_id("LookupEventsRequest").unwrap();
    let out = trail_view(
        svc,
        shape,
        &json!({"StartTime": 1_795_618_800, "MaxResults": 3}),
    );
    assert_eq!(
        out,
        json!({"startTime": "Nov 25, 2026, 3:00:00 PM", "maxResults": 3})
    );
}
