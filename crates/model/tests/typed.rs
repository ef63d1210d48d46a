//! The generated typed code: structs, enums, the service trait, dispatch and redaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use rampart_core::{AwsError, Principal, PrincipalKind, RequestContext};
use rampart_model::kms::{self, CreateKeyRequest, CreateKeyResponse, KeySpec, KeyUsageType, Kms};
use rampart_model::{redact, secretsmanager, sts, Blob, Timestamp, REDACTED};
use serde_json::json;

fn ctx() -> RequestContext {
    RequestContext {
        request_id: "r".into(),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        principal: Principal {
            kind: PrincipalKind::Root,
            account_id: "111122223333".into(),
            arn: "arn:aws:iam::111122223333:root".into(),
            principal_id: "111122223333".into(),
            user_name: None,
            access_key_id: None,
        },
        source_ip: "127.0.0.1".parse().unwrap(),
        secure_transport: true,
        time: chrono::Utc::now(),
        user_agent: "test".into(),
        service: "kms".into(),
        operation: "CreateKey".into(),
    }
}

#[test]
fn create_key_round_trip() {
    let wire = json!({
        "Description": "test key",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "Tags": [{"TagKey": "env", "TagValue": "prod"}],
        "MultiRegion": false,
    });
    let req: CreateKeyRequest = rampart_model::from_value(wire.clone()).unwrap();
    assert_eq!(req.key_usage, Some(KeyUsageType::EncryptDecrypt));
    assert_eq!(req.key_spec, Some(KeySpec::SymmetricDefault));
    let tags = req.tags.as_ref().unwrap();
    assert_eq!(
        (tags[0].tag_key.as_str(), tags[0].tag_value.as_str()),
        ("env", "prod")
    );
    assert_eq!(rampart_model::to_value(&req).unwrap(), wire);

    let resp = CreateKeyResponse {
        key_metadata: Some(kms::KeyMetadata {
            key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
            creation_date: Some(Timestamp(1_704_164_645.0)),
            enabled: Some(true),
            key_state: Some(kms::KeyState::Enabled),
            encryption_algorithms: Some(vec![kms::EncryptionAlgorithmSpec::SymmetricDefault]),
            ..Default::default()
        }),
    };
    let v = rampart_model::to_value(&resp).unwrap();
    assert_eq!(
        v,
        json!({"KeyMetadata": {
            "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
            "CreationDate": 1704164645,
            "Enabled": true,
            "KeyState": "Enabled",
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        }})
    );
    let back: CreateKeyResponse = rampart_model::from_value(v).unwrap();
    assert_eq!(back, resp);
}

#[test]
fn parse_from_text() {
    // Any deserializer works, not only serde_json::Value; null and unknown members are
    // tolerated, a missing required member takes its default.
    let req: kms::EncryptRequest = serde_json::from_str(
        r#"{"KeyId": "k", "Plaintext": "aGk=", "GrantTokens": null, "Extra": 1}"#,
    )
    .unwrap();
    assert_eq!(req.key_id, "k");
    assert_eq!(req.plaintext.as_bytes(), b"hi");
    assert_eq!(req.grant_tokens, None);
    let req: kms::EncryptRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(req.key_id, "");
    assert!(serde_json::from_str::<kms::EncryptRequest>("[1]").is_err());
    assert!(serde_json::from_str::<kms::EncryptRequest>(r#"{"Plaintext": 5}"#).is_err());
    let unit: rampart_model::Unit = serde_json::from_str("{}").unwrap();
    assert_eq!(serde_json::to_string(&unit).unwrap(), "{}");
}

#[test]
fn enums() {
    use std::str::FromStr;
    assert_eq!(KeySpec::from_str("RSA_2048"), Ok(KeySpec::Rsa2048));
    assert_eq!(KeySpec::Rsa2048.as_str(), "RSA_2048");
    assert_eq!(KeySpec::EccSecgP256k1.to_string(), "ECC_SECG_P256K1");
    assert!(KeySpec::from_str("RSA_1").is_err());
    // An unknown value is an error, never a panic.
    let bad: Result<CreateKeyRequest, _> = rampart_model::from_value(json!({"KeySpec": "RSA_1"}));
    assert_eq!(bad.unwrap_err().code, "SerializationException");
}

#[test]
fn sensitive_debug() {
    let req = kms::EncryptRequest {
        key_id: "k".into(),
        plaintext: Blob::new(b"top secret".to_vec()),
        ..Default::default()
    };
    let dbg = format!("{req:?}");
    assert!(
        dbg.contains("plaintext: *** Sensitive Data Redacted ***"),
        "{dbg}"
    );
    assert!(!dbg.contains("top secret"));
    let creds = sts::Credentials {
        secret_access_key: "wJalrXUtnFEMI".into(),
        ..Default::default()
    };
    assert!(!format!("{creds:?}").contains("wJalrXUtnFEMI"));
}

struct Dummy;

impl Kms for Dummy {
    fn generate_random(
        &self,
        _ctx: &RequestContext,
        input: kms::GenerateRandomRequest,
    ) -> Result<kms::GenerateRandomResponse, AwsError> {
        let n = input.number_of_bytes.unwrap_or(0) as usize;
        Ok(kms::GenerateRandomResponse {
            plaintext: Some(Blob::new(vec![0u8; n])),
            ..Default::default()
        })
    }
}

#[test]
fn dispatch() {
    let c = ctx();
    let err = kms::dispatch(&Dummy, &c, "CreateKey", json!({})).unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status),
        ("NotImplementedException", 501)
    );
    assert!(err.message.contains("CreateKey"));
    let out = kms::dispatch(&Dummy, &c, "GenerateRandom", json!({"NumberOfBytes": 3})).unwrap();
    assert_eq!(out, json!({"Plaintext": "AAAA"}));
    let err = kms::dispatch(&Dummy, &c, "Frobnicate", json!({})).unwrap_err();
    assert_eq!(err.code, "UnknownOperationException");
    let err =
        kms::dispatch(&Dummy, &c, "GenerateRandom", json!({"NumberOfBytes": "x"})).unwrap_err();
    assert_eq!(err.code, "SerializationException");
    // Dispatch through a trait object too.
    let dynamic: &dyn Kms = &Dummy;
    assert!(kms::dispatch(dynamic, &c, "GenerateRandom", json!({})).is_ok());
}

#[test]
fn tables() {
    let op = kms::operation("Encrypt").unwrap();
    assert!(op.read_only);
    assert!(!kms::operation("CreateKey").unwrap().read_only);
    assert!(kms::operation("ListKeys").unwrap().read_only);
    assert_eq!(kms::SERVICE.target_prefix, "TrentService");
    assert_eq!(kms::SERVICE.event_source, "kms.amazonaws.com");
    assert_eq!(
        rampart_model::service_by_signing_name("sts").map(|s| s.module),
        Some("sts")
    );
    let names: Vec<&str> = kms::SERVICE.operations.iter().map(|o| o.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let err = kms::not_found_exception("Key 'x' does not exist");
    assert_eq!(
        (err.code.as_ref(), err.status, err.sender_fault),
        ("NotFoundException", 400, true)
    );
    let err = kms::kms_internal_exception("boom");
    assert_eq!(
        (err.code.as_ref(), err.status, err.sender_fault),
        ("KMSInternalException", 500, false)
    );
    let shape = kms::SERVICE.shape_id("NotFoundException").unwrap();
    assert_eq!(
        kms::SERVICE.error_for(shape, "m").map(|e| e.code),
        Some("NotFoundException".into())
    );
}

#[test]
fn redaction() {
    let input = kms::operation("Encrypt").unwrap().input.unwrap();
    let v = json!({"KeyId": "alias/a", "Plaintext": "aGVsbG8=", "EncryptionContext": {"k": "v"}});
    assert_eq!(
        redact(&kms::SERVICE, input, &v),
        json!({"KeyId": "alias/a", "Plaintext": REDACTED, "EncryptionContext": {"k": "v"}})
    );
    // Inside a list.
    let output = secretsmanager::operation("BatchGetSecretValue")
        .unwrap()
        .output
        .unwrap();
    let v = json!({"SecretValues": [{"Name": "a", "SecretString": "pw1"}, {"Name": "b", "SecretBinary": "AAE="}]});
    assert_eq!(
        redact(&secretsmanager::SERVICE, output, &v),
        json!({"SecretValues": [{"Name": "a", "SecretString": REDACTED}, {"Name": "b", "SecretBinary": REDACTED}]})
    );
    // Nested structure.
    let output = sts::operation("AssumeRole").unwrap().output.unwrap();
    let v = json!({"Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": 1}});
    let r = redact(&sts::SERVICE, output, &v);
    assert_eq!(r["Credentials"]["SecretAccessKey"], json!(REDACTED));
    assert_eq!(r["Credentials"]["AccessKeyId"], json!("ASIA"));
}
