//! Evaluation of a realistic 20-statement identity policy with conditions (StringEquals,
//! IpAddress, DateLessThan, ForAnyValue:StringLike, Bool) against one request.
//!
//! Run: `cargo bench -p rampart-policy --bench evaluate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use rampart_policy::{
    evaluate, CompiledPolicy, ContextKeys, EvalInput, Policy, PolicyKind, Principal, Request,
    RequestEnvironment,
};
use std::hint::black_box;

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "DenyInsecure", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "DenyOutsideNetwork", "Effect": "Deny", "Action": ["kms:*", "secretsmanager:*"], "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]}}},
    {"Sid": "DenyAfterExpiry", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}},
    {"Sid": "DenyKeyDeletion", "Effect": "Deny", "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*"},
    {"Sid": "S3ReadOwnPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::corp-data/home/${aws:username}/*"]},
    {"Sid": "S3WriteTeam", "Effect": "Allow", "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::corp-data/teams/*",
     "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["payments", "ledger"]}}},
    {"Sid": "Ec2Describe", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
    {"Sid": "Ec2StartStopTagged", "Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"],
     "Resource": "arn:aws:ec2:*:111122223333:instance/*",
     "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}},
    {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
     "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["cost-*", "team"]}}},
    {"Sid": "LogsWrite", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": "arn:aws:logs:us-east-1:111122223333:log-group:/app/*"},
    {"Sid": "SqsSend", "Effect": "Allow", "Action": "sqs:SendMessage",
     "Resource": "arn:aws:sqs:us-east-1:111122223333:orders-*",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    {"Sid": "DynamoRead", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
     "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/Orders",
     "Condition": {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["id", "status", "total"]}}},
    {"Sid": "SecretsTeam", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": "arn:aws:secretsmanager:us-east-1:111122223333:secret:payments/*",
     "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
    {"Sid": "KmsDescribe", "Effect": "Allow", "Action": ["kms:DescribeKey", "kms:ListAliases"], "Resource": "*"},
    {"Sid": "KmsUseTeamKeys", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
     "Resource": "arn:aws:kms:us-east-1:111122223333:key/*",
     "Condition": {
       "StringEquals": {"kms:EncryptionContext:team": "payments", "aws:RequestedRegion": "us-east-1"},
       "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
       "DateLessThan": {"aws:CurrentTime": "2029-12-31T23:59:59Z"},
       "ForAnyValue:StringLike": {"aws:PrincipalTag/roles": ["kms-*", "crypto-user"]},
       "Bool": {"aws:SecureTransport": "true"}}},
    {"Sid": "IamSelf", "Effect": "Allow", "Action": ["iam:GetUser", "iam:*AccessKey*", "iam:ChangePassword"],
     "Resource": "arn:aws:iam::111122223333:user/${aws:username}"},
    {"Sid": "IamMfaDevices", "Effect": "Allow", "Action": ["iam:*MFADevice"],
     "Resource": ["arn:aws:iam::111122223333:mfa/${aws:username}", "arn:aws:iam::111122223333:user/${aws:username}"]},
    {"Sid": "CloudWatchRead", "Effect": "Allow", "Action": ["cloudwatch:Get*", "cloudwatch:List*", "cloudwatch:Describe*"], "Resource": "*"},
    {"Sid": "SnsPublishOwn", "Effect": "Allow", "Action": "sns:Publish",
     "Resource": "arn:aws:sns:us-east-1:111122223333:${aws:username}-*",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
    {"Sid": "StsCallerIdentity", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
  ]
}"#;

fn request(action: &str, resource: &str) -> Request {
    let mut principal = Principal::from_arn("arn:aws:iam::111122223333:user/alice").unwrap();
    principal.user_id = "AIDAEXAMPLEALICE0001".into();
    principal.tags = vec![
        ("team".into(), "payments".into()),
        ("roles".into(), "kms-operator".into()),
    ];
    let mut env = RequestEnvironment::new("2026-03-01T10:00:00Z".parse().unwrap());
    env.source_ip = Some("10.20.30.40".parse().unwrap());
    env.requested_region = Some("us-east-1".into());
    let mut context = ContextKeys::for_request(&principal, &env);
    context.insert("kms:EncryptionContext:team", "payments");
    context.insert("kms:CallerAccount", "111122223333");
    Request {
        principal,
        action: action.into(),
        resource: resource.into(),
        context,
    }
}

fn bench(c: &mut Criterion) {
    let policy = CompiledPolicy::named(
        Policy::parse_as(POLICY, PolicyKind::Identity).unwrap(),
        "DeveloperAccess",
    );
    assert_eq!(policy.policy().statements.len(), 20);
    let policies = [&policy];

    // Allowed by statement 15 (KmsUseTeamKeys) after the four Deny statements and ten other
    // Allow statements are checked: every condition of the statement is evaluated.
    let allowed = request(
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    );
    let input = EvalInput {
        identity_policies: &policies,
        ..EvalInput::new(&allowed)
    };
    assert!(evaluate(&input).is_allowed());
    c.bench_function("evaluate/20-statements/allow-at-15", |b| {
        b.iter(|| evaluate(black_box(&input)))
    });

    // Nothing allows: all 20 statements are checked.
    let denied = request(
        "kms:CreateGrant",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    );
    let input = EvalInput {
        identity_policies: &policies,
        ..EvalInput::new(&denied)
    };
    assert!(!evaluate(&input).is_allowed());
    c.bench_function("evaluate/20-statements/implicit-deny", |b| {
        b.iter(|| evaluate(black_box(&input)))
    });

    c.bench_function("parse-and-compile/20-statements", |b| {
        b.iter(|| CompiledPolicy::parse(black_box(POLICY), PolicyKind::Identity).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
