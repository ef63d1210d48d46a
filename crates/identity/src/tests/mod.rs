//! Unit tests: the services called directly (no HTTP), over a SQLite store in a temp dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::iam::IamService;
use crate::sts::TokenService;
use rampart_core::RequestContext;
use rampart_model::iam::{self as m, Iam};
use rampart_model::sts::{self as s, Sts};
use rampart_store::SqliteStore;

const ALLOW_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    id: Identity,
    iam: IamService,
    sts: TokenService,
    admin: Principal,
    creds: NewCredentials,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let root =
        Arc::new(RootKey::from_bytes(&[3u8; 32], rampart_crypto::RootSource::KeyFile).unwrap());
    let id = Identity::new(store.clone(), root);
    let creds = id.bootstrap(None, None).unwrap().unwrap();
    let admin = id
        .lookup_key(&creds.access_key_id)
        .unwrap()
        .unwrap()
        .principal;
    Env {
        _dir: dir,
        store,
        iam: IamService::new(id.clone()),
        sts: TokenService::new(id.clone()),
        id,
        admin,
        creds,
    }
}

fn ctx(p: &Principal) -> RequestContext {
    RequestContext {
        request_id: "req".into(),
        account_id: p.account_id.clone(),
        region: "us-east-1".into(),
        principal: p.clone(),
        source_ip: "127.0.0.1".parse().unwrap(),
        secure_transport: true,
        time: Utc::now(),
        user_agent: "test".into(),
        service: "iam".into(),
        operation: "Test".into(),
    }
}

fn code(r: Result<impl std::fmt::Debug, AwsError>) -> (String, u16, String) {
    let e = r.expect_err("expected an error");
    (e.code.to_string(), e.status, e.message)
}

fn create_user(e: &Env, name: &str) -> m::User {
    e.iam
        .create_user(
            &ctx(&e.admin),
            m::CreateUserRequest {
                user_name: name.into(),
                ..Default::default()
            },
        )
        .unwrap()
        .user
        .unwrap()
}

fn create_key(e: &Env, user: &str) -> m::AccessKey {
    e.iam
        .create_access_key(
            &ctx(&e.admin),
            m::CreateAccessKeyRequest {
                user_name: Some(user.into()),
            },
        )
        .unwrap()
        .access_key
}

#[test]
fn bootstrap_and_lookup() {
    let e = env();
    assert!(e.id.bootstrap(None, None).unwrap().is_none());
    let k = e.id.lookup_key(&e.creds.access_key_id).unwrap().unwrap();
    assert_eq!(k.secret.as_str(), e.creds.secret_access_key.as_str());
    assert!(k.session_token.is_none() && k.expires.is_none() && k.active);
    assert_eq!(
        k.principal.arn,
        format!("arn:aws:iam::{}:user/admin", e.creds.account_id)
    );
    assert!(e.id.lookup_key("AKIANOPE").unwrap().is_none());
    // The secret is not in the store in the clear.
    let raw = e
        .store
        .read(|tx| tx.scan("access_key", "", None, 10))
        .unwrap();
    let text = String::from_utf8_lossy(&raw[0].1).to_string();
    assert!(!text.contains(e.creds.secret_access_key.as_str()));
    assert_eq!(
        Identity::dev_principal("123456789012").account_id,
        "123456789012"
    );
    assert_eq!(Identity::dev_principal("AKIAXYZ").account_id, DEV_ACCOUNT);
    // The admin has AdministratorAccess.
    let p = e.id.policies_for(&e.admin).unwrap();
    assert_eq!(p.identity_policies.len(), 1);
    assert_eq!(p.identity_policies[0].0, ADMIN_POLICY);
}

#[test]
fn users_round_trip_and_errors() {
    let e = env();
    let c = ctx(&e.admin);
    let u = create_user(&e, "Alice");
    assert!(u.user_id.starts_with("AIDA") && u.user_id.len() == 20);
    assert_eq!(
        u.arn,
        format!("arn:aws:iam::{}:user/Alice", e.admin.account_id)
    );
    // Names are unique regardless of case.
    let dup = e.iam.create_user(
        &c,
        m::CreateUserRequest {
            user_name: "alice".into(),
            ..Default::default()
        },
    );
    assert_eq!(
        code(dup),
        (
            "EntityAlreadyExists".into(),
            409,
            "User with name alice already exists.".into()
        )
    );
    let missing = e.iam.get_user(
        &c,
        m::GetUserRequest {
            user_name: Some("bob".into()),
        },
    );
    assert_eq!(
        code(missing),
        (
            "NoSuchEntity".into(),
            404,
            "The user with name bob cannot be found.".into()
        )
    );
    // GetUser without a name is the caller.
    let me = e.iam.get_user(&c, m::GetUserRequest::default()).unwrap();
    assert_eq!(me.user.user_name, "admin");
    // Paging: admin, Alice, carol one at a time.
    create_user(&e, "carol");
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let r = e
            .iam
            .list_users(
                &c,
                m::ListUsersRequest {
                    marker: marker.clone(),
                    max_items: Some(1),
                    ..Default::default()
                },
            )
            .unwrap();
        names.extend(r.users.into_iter().map(|u| u.user_name));
        if r.is_truncated != Some(true) {
            break;
        }
        marker = r.marker;
    }
    assert_eq!(names, ["admin", "Alice", "carol"]);
    // Rename: keys follow the user.
    let key = create_key(&e, "carol");
    e.iam
        .update_user(
            &c,
            m::UpdateUserRequest {
                user_name: "carol".into(),
                new_user_name: Some("dave".into()),
                new_path: Some("/ops/".into()),
            },
        )
        .unwrap();
    let k = e.id.lookup_key(&key.access_key_id).unwrap().unwrap();
    assert_eq!(
        k.principal.arn,
        format!("arn:aws:iam::{}:user/ops/dave", e.admin.account_id)
    );
    // DeleteConflict while keys, policies or groups remain.
    let conflict = e.iam.delete_user(
        &c,
        m::DeleteUserRequest {
            user_name: "dave".into(),
        },
    );
    assert_eq!(
        code(conflict),
        (
            "DeleteConflict".into(),
            409,
            "Cannot delete entity, must delete access keys first.".into()
        )
    );
    e.iam
        .delete_access_key(
            &c,
            m::DeleteAccessKeyRequest {
                user_name: Some("dave".into()),
                access_key_id: key.access_key_id.clone(),
            },
        )
        .unwrap();
    e.iam
        .put_user_policy(
            &c,
            m::PutUserPolicyRequest {
                user_name: "dave".into(),
                policy_name: "s3".into(),
                policy_document: ALLOW_S3.into(),
            },
        )
        .unwrap();
    let conflict = e.iam.delete_user(
        &c,
        m::DeleteUserRequest {
            user_name: "dave".into(),
        },
    );
    assert_eq!(
        code(conflict).2,
        "Cannot delete entity, must delete policies first."
    );
    e.iam
        .delete_user_policy(
            &c,
            m::DeleteUserPolicyRequest {
                user_name: "dave".into(),
                policy_name: "s3".into(),
            },
        )
        .unwrap();
    e.iam
        .delete_user(
            &c,
            m::DeleteUserRequest {
                user_name: "dave".into(),
            },
        )
        .unwrap();
    assert!(e.id.lookup_key(&key.access_key_id).unwrap().is_none());
}

#[test]
fn access_keys_limits_and_immediate_effect() {
    let e = env();
    let c = ctx(&e.admin);
    create_user(&e, "bob");
    let k1 = create_key(&e, "bob");
    assert!(k1.access_key_id.starts_with("AKIA") && k1.secret_access_key.len() == 40);
    let l = e.id.lookup_key(&k1.access_key_id).unwrap().unwrap();
    assert_eq!(l.secret.as_str(), k1.secret_access_key);
    assert!(l.active);
    create_key(&e, "bob");
    let third = e.iam.create_access_key(
        &c,
        m::CreateAccessKeyRequest {
            user_name: Some("bob".into()),
        },
    );
    assert_eq!(
        code(third),
        (
            "LimitExceeded".into(),
            409,
            "Cannot exceed quota for AccessKeysPerUser: 2".into()
        )
    );
    // Deactivation shows on the very next lookup (the cache is invalidated).
    e.iam
        .update_access_key(
            &c,
            m::UpdateAccessKeyRequest {
                user_name: Some("bob".into()),
                access_key_id: k1.access_key_id.clone(),
                status: m::StatusType::Inactive,
            },
        )
        .unwrap();
    assert!(!e.id.lookup_key(&k1.access_key_id).unwrap().unwrap().active);
    let listed = e
        .iam
        .list_access_keys(
            &c,
            m::ListAccessKeysRequest {
                user_name: Some("bob".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(listed.access_key_metadata.len(), 2);
    // A key of another user is not found.
    let wrong = e.iam.delete_access_key(
        &c,
        m::DeleteAccessKeyRequest {
            user_name: Some("admin".into()),
            access_key_id: k1.access_key_id.clone(),
        },
    );
    assert_eq!(
        code(wrong).2,
        format!(
            "The Access Key with id {} cannot be found.",
            k1.access_key_id
        )
    );
    // Last used.
    let never = e
        .iam
        .get_access_key_last_used(
            &c,
            m::GetAccessKeyLastUsedRequest {
                access_key_id: k1.access_key_id.clone(),
            },
        )
        .unwrap()
        .access_key_last_used
        .unwrap();
    assert_eq!(
        (never.service_name.as_str(), never.region.as_str()),
        ("N/A", "N/A")
    );
    assert!(never.last_used_date.is_none());
    e.id.record_key_use(&k1.access_key_id, "sts", "eu-west-1");
    let used = e
        .iam
        .get_access_key_last_used(
            &c,
            m::GetAccessKeyLastUsedRequest {
                access_key_id: k1.access_key_id.clone(),
            },
        )
        .unwrap();
    assert_eq!(used.user_name.as_deref(), Some("bob"));
    let used = used.access_key_last_used.unwrap();
    assert_eq!(
        (used.service_name.as_str(), used.region.as_str()),
        ("sts", "eu-west-1")
    );
    assert!(used.last_used_date.is_some());
}

#[test]
fn managed_policy_versions() {
    let e = env();
    let c = ctx(&e.admin);
    let p = e
        .iam
        .create_policy(
            &c,
            m::CreatePolicyRequest {
                policy_name: "s3read".into(),
                policy_document: ALLOW_S3.into(),
                ..Default::default()
            },
        )
        .unwrap()
        .policy
        .unwrap();
    let arn = p.arn.clone().unwrap();
    assert!(p.policy_id.unwrap().starts_with("ANPA"));
    assert_eq!(
        arn,
        format!("arn:aws:iam::{}:policy/s3read", e.admin.account_id)
    );
    for n in 2..=5 {
        let v = e
            .iam
            .create_policy_version(
                &c,
                m::CreatePolicyVersionRequest {
                    policy_arn: arn.clone(),
                    policy_document: ALLOW_S3.into(),
                    set_as_default: Some(n == 3),
                },
            )
            .unwrap()
            .policy_version
            .unwrap();
        assert_eq!(v.version_id.unwrap(), format!("v{n}"));
    }
    let sixth = e.iam.create_policy_version(
        &c,
        m::CreatePolicyVersionRequest {
            policy_arn: arn.clone(),
            policy_document: ALLOW_S3.into(),
            set_as_default: None,
        },
    );
    assert_eq!(
        code(sixth),
        (
            "LimitExceeded".into(),
            409,
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into()
        )
    );
    let default = e.iam.delete_policy_version(
        &c,
        m::DeletePolicyVersionRequest {
            policy_arn: arn.clone(),
            version_id: "v3".into(),
        },
    );
    assert_eq!(
        code(default),
        (
            "DeleteConflict".into(),
            409,
            "Cannot delete the default version of a policy.".into()
        )
    );
    let got = e
        .iam
        .get_policy_version(
            &c,
            m::GetPolicyVersionRequest {
                policy_arn: arn.clone(),
                version_id: "v3".into(),
            },
        )
        .unwrap()
        .policy_version
        .unwrap();
    assert_eq!(got.is_default_version, Some(true));
    assert_eq!(got.document.unwrap(), policydoc::url_encode(ALLOW_S3));
    let versions = e
        .iam
        .list_policy_versions(
            &c,
            m::ListPolicyVersionsRequest {
                policy_arn: arn.clone(),
                ..Default::default()
            },
        )
        .unwrap()
        .versions
        .unwrap();
    let ids: Vec<String> = versions.into_iter().filter_map(|v| v.version_id).collect();
    assert_eq!(ids, ["v5", "v4", "v3", "v2", "v1"]);
    // Attached: cannot be deleted; counted.
    create_user(&e, "u");
    e.iam
        .attach_user_policy(
            &c,
            m::AttachUserPolicyRequest {
                user_name: "u".into(),
                policy_arn: arn.clone(),
            },
        )
        .unwrap();
    let got = e
        .iam
        .get_policy(
            &c,
            m::GetPolicyRequest {
                policy_arn: arn.clone(),
            },
        )
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(got.attachment_count, Some(1));
    assert_eq!(got.default_version_id.as_deref(), Some("v3"));
    let del = e.iam.delete_policy(
        &c,
        m::DeletePolicyRequest {
            policy_arn: arn.clone(),
        },
    );
    assert_eq!(code(del).2, "Cannot delete a policy attached to entities.");
    e.iam
        .detach_user_policy(
            &c,
            m::DetachUserPolicyRequest {
                user_name: "u".into(),
                policy_arn: arn.clone(),
            },
        )
        .unwrap();
    let del = e.iam.delete_policy(
        &c,
        m::DeletePolicyRequest {
            policy_arn: arn.clone(),
        },
    );
    assert!(code(del)
        .2
        .starts_with("This policy has more than one version."));
    // Malformed documents.
    let bad = e.iam.create_policy(
        &c,
        m::CreatePolicyRequest {
            policy_name: "bad".into(),
            policy_document: "{not json".into(),
            ..Default::default()
        },
    );
    assert_eq!(code(bad).0, "MalformedPolicyDocument");
    let missing = e.iam.get_policy(
        &c,
        m::GetPolicyRequest {
            policy_arn: format!("arn:aws:iam::{}:policy/nope", e.admin.account_id),
        },
    );
    assert_eq!(
        code(missing).2,
        format!(
            "Policy arn:aws:iam::{}:policy/nope was not found.",
            e.admin.account_id
        )
    );
    let aws = e
        .iam
        .get_policy(
            &c,
            m::GetPolicyRequest {
                policy_arn: ADMIN_POLICY.into(),
            },
        )
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(aws.attachment_count, Some(1), "the admin user");
}

#[test]
fn groups_roles_and_policies_for() {
    let e = env();
    let c = ctx(&e.admin);
    create_user(&e, "erin");
    e.iam
        .create_group(
            &c,
            m::CreateGroupRequest {
                group_name: "devs".into(),
                path: None,
            },
        )
        .unwrap();
    e.iam
        .add_user_to_group(
            &c,
            m::AddUserToGroupRequest {
                group_name: "devs".into(),
                user_name: "erin".into(),
            },
        )
        .unwrap();
    e.iam
        .put_group_policy(
            &c,
            m::PutGroupPolicyRequest {
                group_name: "devs".into(),
                policy_name: "g".into(),
                policy_document: ALLOW_S3.into(),
            },
        )
        .unwrap();
    e.iam
        .attach_group_policy(
            &c,
            m::AttachGroupPolicyRequest {
                group_name: "devs".into(),
                policy_arn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess".into(),
            },
        )
        .unwrap();
    let key = create_key(&e, "erin");
    let erin =
        e.id.lookup_key(&key.access_key_id)
            .unwrap()
            .unwrap()
            .principal;
    let p = e.id.policies_for(&erin).unwrap();
    let names: Vec<&str> = p
        .identity_policies
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["g", "arn:aws:iam::aws:policy/IAMReadOnlyAccess"]);
    let del = e.iam.delete_group(
        &c,
        m::DeleteGroupRequest {
            group_name: "devs".into(),
        },
    );
    assert_eq!(
        code(del).2,
        "Cannot delete entity, must remove users from group first."
    );
    let g = e
        .iam
        .get_group(
            &c,
            m::GetGroupRequest {
                group_name: "devs".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(g.group.group_id.starts_with("AGPA"));
    assert_eq!(g.users.len(), 1);

    // A role that trusts the account: the admin may assume it, erin (no sts:AssumeRole
    // permission) may not; a role that names erin directly lets her.
    let trust_account = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
        e.admin.account_id
    );
    let role = e
        .iam
        .create_role(
            &c,
            m::CreateRoleRequest {
                role_name: "ops".into(),
                assume_role_policy_document: trust_account,
                max_session_duration: Some(7200),
                ..Default::default()
            },
        )
        .unwrap()
        .role;
    assert!(role.role_id.starts_with("AROA"));
    e.iam
        .put_role_policy(
            &c,
            m::PutRolePolicyRequest {
                role_name: "ops".into(),
                policy_name: "r".into(),
                policy_document: ALLOW_S3.into(),
            },
        )
        .unwrap();
    let assume = |who: &Principal, role: &str, duration: Option<i32>| {
        e.sts.assume_role(
            &ctx(who),
            s::AssumeRoleRequest {
                role_arn: format!("arn:aws:iam::{}:role/{role}", e.admin.account_id),
                role_session_name: "sess".into(),
                duration_seconds: duration,
                policy: Some(ALLOW_S3.into()),
                ..Default::default()
            },
        )
    };
    let denied = assume(&erin, "ops", None);
    assert_eq!(
        code(denied),
        (
            "AccessDenied".into(),
            403,
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{}:role/ops",
                erin.arn, e.admin.account_id
            )
        )
    );
    let too_long = assume(&e.admin, "ops", Some(7201));
    assert_eq!(
        code(too_long).2,
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );
    let out = assume(&e.admin, "ops", Some(7200)).unwrap();
    let user = out.assumed_role_user.unwrap();
    assert_eq!(
        user.arn,
        format!("arn:aws:sts::{}:assumed-role/ops/sess", e.admin.account_id)
    );
    assert_eq!(user.assumed_role_id, format!("{}:sess", role.role_id));
    let creds = out.credentials.unwrap();
    assert!(creds.access_key_id.starts_with("ASIA"));
    let l = e.id.lookup_key(&creds.access_key_id).unwrap().unwrap();
    assert_eq!(l.secret.as_str(), creds.secret_access_key);
    assert_eq!(
        l.session_token.as_deref().map(|t| t.as_str()),
        Some(creds.session_token.as_str())
    );
    assert_eq!(l.principal.kind, PrincipalKind::AssumedRole);
    // Never accepted on the signature alone.
    assert!(!l.active);
    assert_eq!(l.principal.arn, user.arn);
    let expires = l.expires.unwrap();
    assert!(expires > Utc::now() + chrono::Duration::seconds(7100));
    // The session's policies: the role's, plus the session policy.
    let p = e.id.policies_for(&l.principal).unwrap();
    assert_eq!(p.identity_policies.len(), 1);
    assert_eq!(p.session_policy.as_deref(), Some(ALLOW_S3));
    assert_eq!(p.session_issuer.as_deref(), Some(role.arn.as_str()));
    // GetCallerIdentity as the session.
    let who = e
        .sts
        .get_caller_identity(&ctx(&l.principal), s::GetCallerIdentityRequest {})
        .unwrap();
    assert_eq!(who.arn.as_deref(), Some(user.arn.as_str()));
    assert_eq!(who.user_id.as_deref(), Some(user.assumed_role_id.as_str()));
    // Session credentials cannot call GetSessionToken.
    let nested = e
        .sts
        .get_session_token(&ctx(&l.principal), s::GetSessionTokenRequest::default());
    assert_eq!(code(nested).0, "AccessDenied");

    // A trust policy naming erin herself needs nothing from her identity policies.
    let trust_erin = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"sts:AssumeRole"}}]}}"#,
        erin.arn
    );
    e.iam
        .create_role(
            &c,
            m::CreateRoleRequest {
                role_name: "erins".into(),
                assume_role_policy_document: trust_erin,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(assume(&erin, "erins", None).is_ok());

    // GetSessionToken for a user.
    let t = e
        .sts
        .get_session_token(&ctx(&erin), s::GetSessionTokenRequest::default())
        .unwrap()
        .credentials
        .unwrap();
    let l = e.id.lookup_key(&t.access_key_id).unwrap().unwrap();
    assert_eq!(l.principal.arn, erin.arn);
    assert_eq!(l.principal.kind, PrincipalKind::IamUser);
    assert!(l.session_token.is_some());

    // Roles with policies cannot be deleted.
    let del = e.iam.delete_role(
        &c,
        m::DeleteRoleRequest {
            role_name: "ops".into(),
        },
    );
    assert_eq!(
        code(del).2,
        "Cannot delete entity, must delete policies first."
    );
    // An identity policy may not name a principal; a trust policy must.
    let bad = e.iam.update_assume_role_policy(
        &c,
        m::UpdateAssumeRolePolicyRequest {
            role_name: "ops".into(),
            policy_document: ALLOW_S3.into(),
        },
    );
    assert_eq!(code(bad).0, "MalformedPolicyDocument");
}

#[test]
fn inline_policy_size_and_tags() {
    let e = env();
    let c = ctx(&e.admin);
    create_user(&e, "frank");
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
        "b".repeat(2000)
    );
    let r = e.iam.put_user_policy(
        &c,
        m::PutUserPolicyRequest {
            user_name: "frank".into(),
            policy_name: "big".into(),
            policy_document: big,
        },
    );
    assert_eq!(
        code(r),
        (
            "LimitExceeded".into(),
            409,
            "Maximum policy size of 2048 bytes exceeded for user frank".into()
        )
    );
    let tag = |k: &str, v: &str| m::Tag {
        key: k.into(),
        value: v.into(),
    };
    e.iam
        .tag_user(
            &c,
            m::TagUserRequest {
                user_name: "frank".into(),
                tags: vec![tag("Team", "a"), tag("env", "dev")],
            },
        )
        .unwrap();
    e.iam
        .tag_user(
            &c,
            m::TagUserRequest {
                user_name: "frank".into(),
                tags: vec![tag("team", "b")],
            },
        )
        .unwrap();
    let dup = e.iam.tag_user(
        &c,
        m::TagUserRequest {
            user_name: "frank".into(),
            tags: vec![tag("x", "1"), tag("X", "2")],
        },
    );
    assert_eq!(code(dup).0, "InvalidInput");
    e.iam
        .untag_user(
            &c,
            m::UntagUserRequest {
                user_name: "frank".into(),
                tag_keys: vec!["ENV".into()],
            },
        )
        .unwrap();
    let tags = e
        .iam
        .list_user_tags(
            &c,
            m::ListUserTagsRequest {
                user_name: "frank".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .tags;
    assert_eq!(tags, vec![tag("team", "b")]);
    let key = create_key(&e, "frank");
    let frank =
        e.id.lookup_key(&key.access_key_id)
            .unwrap()
            .unwrap()
            .principal;
    assert_eq!(
        e.id.policies_for(&frank).unwrap().principal_tags,
        vec![("team".to_string(), "b".to_string())]
    );
    // A boundary must exist.
    let r = e.iam.put_user_permissions_boundary(
        &c,
        m::PutUserPermissionsBoundaryRequest {
            user_name: "frank".into(),
            permissions_boundary: format!("arn:aws:iam::{}:policy/none", e.admin.account_id),
        },
    );
    assert_eq!(code(r).0, "NoSuchEntity");
    e.iam
        .put_user_permissions_boundary(
            &c,
            m::PutUserPermissionsBoundaryRequest {
                user_name: "frank".into(),
                permissions_boundary: "arn:aws:iam::aws:policy/IAMReadOnlyAccess".into(),
            },
        )
        .unwrap();
    assert!(e
        .id
        .policies_for(&frank)
        .unwrap()
        .permissions_boundary
        .is_some());
    let details = e
        .iam
        .get_account_authorization_details(&c, m::GetAccountAuthorizationDetailsRequest::default())
        .unwrap();
    assert_eq!(details.user_detail_list.unwrap().len(), 2);
    // AdministratorAccess (admin) and IAMReadOnlyAccess (frank's boundary) are in use.
    assert_eq!(details.policies.unwrap().len(), 2);
}

#[test]
fn migrates_schema_1_key_index() {
    let e = env();
    // A data directory written before the index of a user's access keys existed.
    e.store
        .write(|tx: &mut dyn Tx| -> Result<(), StoreError> {
            for (k, _) in tx.scan(records::KEYS_BY_USER, "", None, 100)? {
                tx.delete(records::KEYS_BY_USER, &k)?;
            }
            tx.delete(META, "identity-schema")?;
            Ok(())
        })
        .unwrap();
    let list = |e: &Env| {
        e.iam
            .list_access_keys(&ctx(&e.admin), m::ListAccessKeysRequest::default())
            .unwrap()
            .access_key_metadata
            .len()
    };
    assert_eq!(list(&e), 0);
    assert!(e.id.bootstrap(None, None).unwrap().is_none());
    assert_eq!(list(&e), 1);
}
