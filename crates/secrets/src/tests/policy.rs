#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn public_and_private() {
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    let public_aws = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root","*"]},"Action":"*","Resource":"*"}}"#;
    let conditioned = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}]}"#;
    let account = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*"}]}"#;
    let deny = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
    for p in [public, public_aws] {
        let errs = validate(p);
        assert_eq!(errs.len(), 1, "{p}");
        assert_eq!(errs[0].0, "PUBLIC_POLICY");
    }
    for p in [conditioned, account, deny] {
        assert!(validate(p).is_empty(), "{p}");
    }
}

#[test]
fn syntax() {
    assert_eq!(validate("{not json").len(), 1);
    assert_eq!(validate("[]")[0].0, "POLICY_SYNTAX");
    assert!(!validate(r#"{"Statement":[{"Principal":"*"}]}"#).is_empty());
}
