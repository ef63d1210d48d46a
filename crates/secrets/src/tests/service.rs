#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use rampart_store::SqliteStore;
use std::sync::atomic::{AtomicBool, Ordering};

/// A stand-in for KMS: "encrypts" by binding the context and flipping bits; refuses when
/// disabled, like a disabled key.
#[derive(Default)]
struct FakeKms {
    disabled: AtomicBool,
    contexts: Mutex<Vec<BTreeMap<String, String>>>,
}

impl Envelope for FakeKms {
    fn encrypt(
        &self,
        _ctx: &RequestContext,
        key: Option<&str>,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, String), AwsError> {
        if self.disabled.load(Ordering::SeqCst) {
            return Err(AwsError::new("DisabledException", 400, "disabled"));
        }
        self.contexts.lock().unwrap().push(context.clone());
        let mut out = serde_json::to_vec(context).unwrap();
        out.push(0);
        out.extend(plaintext.iter().map(|b| b ^ 0x5a));
        Ok((
            out,
            key.unwrap_or("arn:aws:kms:us-east-1:111122223333:key/managed")
                .to_string(),
        ))
    }

    fn decrypt(
        &self,
        _ctx: &RequestContext,
        context: &BTreeMap<String, String>,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AwsError> {
        if self.disabled.load(Ordering::SeqCst) {
            return Err(AwsError::new("DisabledException", 400, "disabled"));
        }
        let at = blob.iter().position(|b| *b == 0).unwrap();
        let bound: BTreeMap<String, String> = serde_json::from_slice(&blob[..at]).unwrap();
        if bound != *context {
            return Err(AwsError::new("InvalidCiphertextException", 400, ""));
        }
        Ok(Zeroizing::new(
            blob[at + 1..].iter().map(|b| b ^ 0x5a).collect(),
        ))
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    kms: Arc<FakeKms>,
    svc: SecretsService,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let kms = Arc::new(FakeKms::default());
    let svc = SecretsService::new(store.clone(), kms.clone(), Rotators::default());
    Fixture {
        _dir: dir,
        store,
        kms,
        svc,
    }
}

fn ctx() -> RequestContext {
    service_ctx("111122223333", "us-east-1", "Test")
}

fn create(svc: &SecretsService, name: &str, val: &str) -> m::CreateSecretResponse {
    svc.create_secret(
        &ctx(),
        m::CreateSecretRequest {
            name: name.into(),
            secret_string: Some(val.into()),
            ..Default::default()
        },
    )
    .unwrap()
}

fn get(svc: &SecretsService, id: &str) -> String {
    svc.get_secret_value(
        &ctx(),
        m::GetSecretValueRequest {
            secret_id: id.into(),
            ..Default::default()
        },
    )
    .unwrap()
    .secret_string
    .unwrap()
}

#[test]
fn values_are_stored_encrypted_with_awss_context() {
    let f = fixture();
    let r = create(&f.svc, "app/db", "hunter2-plaintext");
    assert_eq!(get(&f.svc, "app/db"), "hunter2-plaintext");
    let ctxs = f.kms.contexts.lock().unwrap().clone();
    assert_eq!(
        ctxs[0],
        BTreeMap::from([
            ("SecretARN".to_string(), r.arn.clone().unwrap()),
            ("SecretVersionId".to_string(), r.version_id.clone().unwrap()),
        ])
    );
    let raw: Vec<(String, Vec<u8>)> = f.store.read(|tx| tx.scan(SECRETS, "", None, 10)).unwrap();
    assert_eq!(raw.len(), 1);
    assert!(!String::from_utf8_lossy(&raw[0].1).contains("hunter2"));
    // A disabled key: DecryptionFailure on read, EncryptionFailure on write.
    f.kms.disabled.store(true, Ordering::SeqCst);
    let e = f
        .svc
        .get_secret_value(
            &ctx(),
            m::GetSecretValueRequest {
                secret_id: "app/db".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.code, "DecryptionFailure");
    let e = f
        .svc
        .put_secret_value(
            &ctx(),
            m::PutSecretValueRequest {
                secret_id: "app/db".into(),
                secret_string: Some("x".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.code, "EncryptionFailure");
}

#[test]
fn debug_output_never_shows_values() {
    let f = fixture();
    create(&f.svc, "dbg", "very-secret-value");
    let rec = f.svc.load(&ctx(), "dbg").unwrap();
    let text = format!("{rec:?}");
    assert!(!text.contains("very-secret-value"));
    assert!(!text.contains(rec.versions[0].ciphertext.as_deref().unwrap()));
}

#[test]
fn sweep_deletes_after_the_window_even_after_a_restart() {
    let f = fixture();
    create(&f.svc, "doomed", "a");
    create(&f.svc, "kept", "b");
    let d = f
        .svc
        .delete_secret(
            &ctx(),
            m::DeleteSecretRequest {
                secret_id: "doomed".into(),
                recovery_window_in_days: Some(7),
                ..Default::default()
            },
        )
        .unwrap()
        .deletion_date
        .unwrap()
        .secs();
    // Not yet due.
    f.svc.sweep(now()).unwrap();
    assert!(f.svc.load(&ctx(), "doomed").is_ok());
    // A new service over the same store (a restart), eight days later.
    let again = SecretsService::new(f.store.clone(), f.kms.clone(), Rotators::default());
    again.sweep(d + 86_400.0).unwrap();
    assert_eq!(
        again.load(&ctx(), "doomed").unwrap_err().code,
        "ResourceNotFoundException"
    );
    assert_eq!(get(&again, "kept"), "b");
}

#[test]
fn concurrent_puts_keep_every_version_and_one_current() {
    let f = fixture();
    create(&f.svc, "busy", "v0");
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let svc = f.svc.clone();
            std::thread::spawn(move || {
                svc.put_secret_value(
                    &ctx(),
                    m::PutSecretValueRequest {
                        secret_id: "busy".into(),
                        secret_string: Some(format!("v{}", i + 1)),
                        ..Default::default()
                    },
                )
                .unwrap()
                .version_id
                .unwrap()
            })
        })
        .collect();
    let ids: HashSet<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(ids.len(), 16);
    let rec = f.svc.load(&ctx(), "busy").unwrap();
    assert_eq!(rec.versions.len(), 17);
    assert!(labels::consistent(&rec.versions));
    let current: Vec<_> = rec.versions.iter().filter(|v| v.has(CURRENT)).collect();
    assert_eq!(current.len(), 1);
    assert!(ids.contains(&current[0].id));
}

#[test]
fn scheduled_rotation_runs_from_the_stored_date() {
    let f = fixture();
    let created = create(&f.svc, "rot", r#"{"username":"u","password":"p"}"#);
    let v1 = created.version_id.unwrap();
    let lambda = format!("arn:aws:lambda:us-east-1:111122223333:function:{RANDOM_ROTATOR}");
    f.svc
        .rotate_secret(
            &ctx(),
            m::RotateSecretRequest {
                secret_id: "rot".into(),
                rotation_lambda_arn: Some(lambda),
                rotation_rules: Some(m::RotationRulesType {
                    automatically_after_days: Some(7),
                    ..Default::default()
                }),
                rotate_immediately: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    // RotateImmediately=false tests the rotator on an AWSPENDING copy, then unlabels it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let rec = loop {
        let rec = f.svc.load(&ctx(), "rot").unwrap();
        if rec.versions.len() == 2 && rec.with_stage(PENDING_LABEL).is_none() {
            break rec;
        }
        assert!(std::time::Instant::now() < deadline, "{rec:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let next = rec.rotation.next_rotation.unwrap();
    assert!(next > now() + 6.0 * 86_400.0);
    assert_eq!(rec.with_stage(CURRENT).unwrap().id, v1);
    // After a restart, the scheduler finds the rotation due and runs it.
    let again = SecretsService::new(f.store.clone(), f.kms.clone(), Rotators::default());
    again.sweep(next + 1.0).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let rec = again.load(&ctx(), "rot").unwrap();
        if rec.with_stage(CURRENT).unwrap().id != v1 && rec.with_stage(PENDING_LABEL).is_none() {
            assert_eq!(rec.version(&v1).unwrap().stages, vec!["AWSPREVIOUS"]);
            assert!(rec.rotation.last_rotated.is_some());
            assert!(rec.rotation.next_rotation.unwrap() > now() + 6.0 * 86_400.0);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{rec:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let v: serde_json::Value = serde_json::from_str(&get(&again, "rot")).unwrap();
    assert_eq!(v["username"], "u");
    assert_ne!(v["password"], "p");
}

const PENDING_LABEL: &str = labels::PENDING;

#[test]
fn a_new_current_value_counts_as_a_rotation_for_day_schedules() {
    let f = fixture();
    create(&f.svc, "manual", "v1");
    let lambda = format!("arn:aws:lambda:us-east-1:111122223333:function:{RANDOM_ROTATOR}");
    f.svc
        .rotate_secret(
            &ctx(),
            m::RotateSecretRequest {
                secret_id: "manual".into(),
                rotation_lambda_arn: Some(lambda),
                rotation_rules: Some(m::RotationRulesType {
                    automatically_after_days: Some(3),
                    ..Default::default()
                }),
                rotate_immediately: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    // Pretend the schedule was set long ago.
    f.store
        .write(|tx: &mut dyn Tx| -> Result<(), rampart_store::StoreError> {
            let key = skey("111122223333", "us-east-1", "manual");
            let mut rec: SecretRec = tx.get_json(SECRETS, &key)?.unwrap();
            rec.rotation.next_rotation = Some(1.0);
            tx.put_json(SECRETS, &key, &rec)
        })
        .unwrap();
    f.svc
        .put_secret_value(
            &ctx(),
            m::PutSecretValueRequest {
                secret_id: "manual".into(),
                secret_string: Some("v2".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let rec = f.svc.load(&ctx(), "manual").unwrap();
    assert!(rec.rotation.next_rotation.unwrap() > now() + 2.0 * 86_400.0);
}

#[test]
fn accesses_name_the_secret_and_its_policy() {
    let f = fixture();
    let arn = create(&f.svc, "pol", "x").arn.unwrap();
    f.svc
        .tag_resource(
            &ctx(),
            m::TagResourceRequest {
                secret_id: "pol".into(),
                tags: vec![m::Tag {
                    key: Some("team".into()),
                    value: Some("core".into()),
                }],
            },
        )
        .unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
    f.svc
        .put_resource_policy(
            &ctx(),
            m::PutResourcePolicyRequest {
                secret_id: "pol".into(),
                resource_policy: doc.into(),
                ..Default::default()
            },
        )
        .unwrap();
    let input = serde_json::json!({"SecretId": "pol", "VersionStage": "AWSCURRENT"});
    let a = f.svc.accesses(&ctx(), "GetSecretValue", &input).unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].action, "secretsmanager:GetSecretValue");
    assert_eq!(a[0].resource, arn);
    assert_eq!(a[0].policy.as_deref(), Some(doc));
    let keys: BTreeMap<_, _> = a[0].context.iter().cloned().collect();
    assert_eq!(keys["secretsmanager:ResourceTag/team"], vec!["core"]);
    assert_eq!(keys["aws:ResourceTag/team"], vec!["core"]);
    assert_eq!(keys["secretsmanager:VersionStage"], vec!["AWSCURRENT"]);
    assert_eq!(keys["secretsmanager:SecretId"], vec![arn.clone()]);
    assert_eq!(
        f.svc.resource_policy(&ctx(), &arn).unwrap(),
        Some((arn.clone(), Some(doc.to_string())))
    );
    // No such secret, or an operation that names none: identity policies alone.
    let missing = serde_json::json!({"SecretId": "nope"});
    assert!(f
        .svc
        .accesses(&ctx(), "GetSecretValue", &missing)
        .unwrap()
        .is_empty());
    assert!(f
        .svc
        .accesses(&ctx(), "CreateSecret", &serde_json::json!({"Name": "pol"}))
        .unwrap()
        .is_empty());
}
