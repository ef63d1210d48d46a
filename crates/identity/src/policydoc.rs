//! Policy documents: validation (through `rampart_policy`), sizes as IAM counts them, the
//! URL encoding IAM answers documents in, and the AWS managed policies Rampart knows.
use rampart_core::AwsError;
use rampart_model::iam as m;
use rampart_policy::{Policy, PolicyKind};

/// Where a document is used, for validation and quota messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// A customer managed policy version (also what a permissions boundary points at).
    Managed,
    /// An inline policy of a user, group or role.
    Inline,
    /// A role trust policy.
    Trust,
    /// A session policy passed to STS.
    Session,
}

/// The quota of a managed policy document.
pub(crate) const MANAGED_POLICY_SIZE: usize = 6_144;
/// The quota of a role trust policy.
pub(crate) const TRUST_POLICY_SIZE: usize = 2_048;
/// The quota of an STS session policy (the "packed" size).
pub(crate) const SESSION_POLICY_SIZE: usize = 2_048;

/// The size IAM counts against its quotas: characters without white space.
pub(crate) fn size(doc: &str) -> usize {
    rampart_policy::policy_size(doc)
}

/// Validates `doc` for its placement. The error is IAM's `MalformedPolicyDocument` (or
/// `LimitExceeded` for a managed or trust policy over its quota); STS callers re-code it.
pub(crate) fn validate(doc: &str, kind: DocKind) -> Result<(), AwsError> {
    match kind {
        DocKind::Managed if size(doc) > MANAGED_POLICY_SIZE => {
            return Err(m::limit_exceeded_exception(format!(
                "Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}"
            )))
        }
        DocKind::Trust if size(doc) > TRUST_POLICY_SIZE => {
            return Err(m::limit_exceeded_exception(format!(
                "Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}"
            )))
        }
        _ => {}
    }
    let placement = match kind {
        DocKind::Trust => PolicyKind::Resource,
        _ => PolicyKind::Identity,
    };
    Policy::parse_as(doc, placement)
        .map(|_| ())
        .map_err(|e| m::malformed_policy_document_exception(e.to_string()))
}

/// The document as IAM returns it: percent-encoded (RFC 3986: everything but unreserved
/// characters), which boto3 and the aws CLI decode back to JSON.
pub(crate) fn url_encode(doc: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(doc, SET).to_string()
}

/// An AWS managed policy (`arn:aws:iam::aws:policy/...`): the same in every account,
/// read-only.
#[derive(Debug)]
pub(crate) struct AwsManaged {
    pub name: &'static str,
    pub id: &'static str,
    pub path: &'static str,
    pub description: &'static str,
    pub document: &'static str,
    pub create_date: &'static str,
    pub update_date: &'static str,
    pub version: &'static str,
}

impl AwsManaged {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy{}{}", self.path, self.name)
    }
}

pub(crate) const ADMINISTRATOR_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The AWS managed policies Rampart serves. `AdministratorAccess` and `IAMReadOnlyAccess`
/// carry AWS's documents; `IAMFullAccess` keeps only its `iam:*` statement (AWS's also grants
/// a few read-only `organizations:` actions, a service Rampart does not serve). Only `v1` of
/// each exists here.
pub(crate) static AWS_MANAGED: &[AwsManaged] = &[
    AwsManaged {
        name: "AdministratorAccess",
        id: "ANPAIWMBCKSKIEE64ZLYK",
        path: "/",
        description: "Provides full access to AWS services and resources.",
        document: ADMINISTRATOR_ACCESS,
        create_date: "2015-02-06T18:39:46Z",
        update_date: "2015-02-06T18:39:46Z",
        version: "v1",
    },
    AwsManaged {
        name: "IAMFullAccess",
        id: "ANPAI7XKCFMBPM3QQRRVQ",
        path: "/",
        description: "Provides full access to IAM via the AWS Management Console.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*"],"Resource":"*"}]}"#,
        create_date: "2015-02-06T18:40:38Z",
        update_date: "2015-02-06T18:40:38Z",
        version: "v1",
    },
    AwsManaged {
        name: "IAMReadOnlyAccess",
        id: "ANPAJKSO7NDY4T57MWDSQ",
        path: "/",
        description: "Provides read only access to IAM via the AWS Management Console.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
        create_date: "2015-02-06T18:40:39Z",
        update_date: "2015-02-06T18:40:39Z",
        version: "v1",
    },
];

/// The AWS managed policy with this ARN.
pub(crate) fn aws_managed(arn: &str) -> Option<&'static AwsManaged> {
    let rest = arn.strip_prefix("arn:aws:iam::aws:policy")?;
    AWS_MANAGED.iter().find(|p| {
        rest.len() == p.path.len() + p.name.len() && rest == format!("{}{}", p.path, p.name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_iam() {
        assert_eq!(
            url_encode(r#"{"A": "b c/*"}"#),
            "%7B%22A%22%3A%20%22b%20c%2F%2A%22%7D"
        );
        assert_eq!(url_encode("a-b_c.d~e"), "a-b_c.d~e");
    }

    #[test]
    fn validates_placement_and_size() {
        assert!(validate(ADMINISTRATOR_ACCESS, DocKind::Managed).is_ok());
        let e = validate("{", DocKind::Inline).map_err(|e| e.code.to_string());
        assert_eq!(e, Err("MalformedPolicyDocument".to_string()));
        // A trust policy must name a principal; an identity policy must not.
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#;
        assert!(validate(trust, DocKind::Trust).is_ok());
        assert!(validate(trust, DocKind::Managed).is_err());
        assert!(validate(ADMINISTRATOR_ACCESS, DocKind::Trust).is_err());
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
            "a".repeat(7000)
        );
        let e = validate(&big, DocKind::Managed).map_err(|e| (e.code.to_string(), e.message));
        assert_eq!(
            e,
            Err((
                "LimitExceeded".to_string(),
                "Cannot exceed quota for PolicySize: 6144".to_string()
            ))
        );
        assert!(aws_managed("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(aws_managed("arn:aws:iam::aws:policy/Nope").is_none());
    }
}
