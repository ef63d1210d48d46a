//! The one error type of the crate: a policy document AWS would refuse.
//!
//! Every variant maps to AWS's `MalformedPolicyDocument` error (IAM's code; KMS answers
//! `MalformedPolicyDocumentException`, S3 `MalformedPolicy`), and its `Display` is the message
//! AWS gives where it is known. Where AWS's wording is not known the message is ours and says
//! so in the variant's documentation.

use thiserror::Error;

/// A refused policy document. `Display` gives the message to put in the AWS error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not JSON, not an object, a duplicate key, a value of the wrong JSON type, both `Action`
    /// and `NotAction` (or `Resource`/`NotResource`, `Principal`/`NotPrincipal`) in one
    /// statement, an empty `Statement` array, or an `Effect` that is neither `Allow` nor `Deny`.
    #[error("Syntax errors in policy.")]
    Syntax,
    /// A `Version` other than `2012-10-17` or `2008-10-17`, or an `Effect` in the wrong case
    /// (`allow`), or a date in a `Date*` condition that does not parse.
    #[error("The policy failed legacy parsing")]
    LegacyParsing,
    /// An element the policy grammar does not have, at the top level or in a statement.
    #[error("Unknown field {0}")]
    UnknownField(String),
    /// A required element is missing (`Statement`, `Effect`, `Principal` in a resource policy).
    #[error("Missing required field {0}")]
    MissingField(&'static str),
    /// A statement with neither `Action` nor `NotAction`.
    #[error("Policy statement must contain actions.")]
    MissingActions,
    /// A statement with neither `Resource` nor `NotResource` (identity policies).
    #[error("Policy statement must contain resources.")]
    MissingResources,
    /// `Principal` or `NotPrincipal` in an identity-based policy (or permissions boundary or
    /// session policy).
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,
    /// A principal AWS does not accept: a partial wildcard (`arn:aws:iam::*:root`), an unknown
    /// principal type, a malformed account id or ARN. The detail is `"AWS":"value"`.
    #[error("Invalid principal in policy: {0}")]
    InvalidPrincipal(String),
    /// An action (or condition key) without a `vendor:` prefix.
    #[error("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    MissingVendor,
    /// An action (or condition key) with more than one colon.
    #[error("Actions/Condition can contain only one colon.")]
    TooManyColons,
    /// A vendor (service prefix) with characters other than letters, digits, `-` and `.`.
    #[error("Vendor {0} is not valid")]
    InvalidVendor(String),
    /// An action name that is empty or holds characters no action has (space, `/`, ...).
    #[error("Policy has invalid action")]
    InvalidAction(String),
    /// A resource that is neither `*` nor an ARN.
    #[error("Resource {0} must be in ARN format or \"*\".")]
    ResourceNotArn(String),
    /// A wildcard or nothing in the service segment of a resource ARN.
    #[error("Resource vendor must be fully qualified and cannot contain regexes.")]
    ResourceVendor,
    /// An IAM resource ARN with a region.
    #[error("IAM resource {0} cannot contain region information.")]
    IamResourceRegion(String),
    /// An S3 resource ARN with a region.
    #[error("Resource {0} can not contain region information.")]
    S3ResourceRegion(String),
    /// Two statements with the same `Sid`.
    #[error("Statement IDs (SID) in a single policy must be unique.")]
    DuplicateSid,
    /// A `Sid` with characters other than `[0-9A-Za-z]` in an IAM (identity) policy.
    #[error(
        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
    )]
    InvalidSid,
    /// A condition operator that does not exist (our wording: AWS's is not documented).
    #[error("Invalid Condition type : {0}")]
    UnknownConditionOperator(String),
    /// A condition value the operator cannot use: a number for `Numeric*`, an address or
    /// CIDR for `IpAddress`, base64 for `BinaryEquals`, `true`/`false` for `Null` (our
    /// wording).
    #[error("Invalid condition value for {operator}: {value}")]
    InvalidConditionValue { operator: String, value: String },
    /// The document is larger than the caller's limit (see [`crate::check_size`]). IAM
    /// answers `LimitExceeded` with these messages.
    #[error("{}", too_large_message(*kind, *limit))]
    TooLarge { kind: SizeKind, limit: usize },
}

impl PolicyError {
    /// The AWS error code IAM answers with for every variant.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::TooLarge { .. } => "LimitExceeded",
            _ => "MalformedPolicyDocument",
        }
    }
}

/// Which quota a document is checked against; see [`crate::check_size`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SizeKind {
    /// A customer managed policy (also a permissions boundary): 6,144 characters.
    ManagedPolicy,
    /// The inline policies of a user, together: 2,048 characters.
    InlineUserPolicy,
    /// The inline policies of a role, together: 10,240 characters.
    InlineRolePolicy,
    /// The inline policies of a group, together: 5,120 characters.
    InlineGroupPolicy,
    /// A role trust policy: 2,048 characters by default (a quota raisable to 4,096).
    RoleTrustPolicy,
    /// A session policy passed to `AssumeRole`/`GetFederationToken`: 2,048 characters.
    SessionPolicy,
    /// Anything else (a KMS key policy: 32,768 bytes; a secret's policy: 20,480).
    Other,
}

impl SizeKind {
    /// AWS's default limit for this kind, in characters without white space.
    pub fn default_limit(self) -> usize {
        match self {
            SizeKind::ManagedPolicy => 6_144,
            SizeKind::InlineUserPolicy => 2_048,
            SizeKind::InlineRolePolicy => 10_240,
            SizeKind::InlineGroupPolicy => 5_120,
            SizeKind::RoleTrustPolicy => 2_048,
            SizeKind::SessionPolicy => 2_048,
            SizeKind::Other => 32_768,
        }
    }
}

fn too_large_message(kind: SizeKind, limit: usize) -> String {
    match kind {
        SizeKind::ManagedPolicy => format!("Cannot exceed quota for PolicySize: {limit}"),
        SizeKind::RoleTrustPolicy => format!("Cannot exceed quota for ACLSizePerRole: {limit}"),
        SizeKind::InlineUserPolicy => {
            format!("Maximum policy size of {limit} bytes exceeded for user")
        }
        SizeKind::InlineRolePolicy => {
            format!("Maximum policy size of {limit} bytes exceeded for role")
        }
        SizeKind::InlineGroupPolicy => {
            format!("Maximum policy size of {limit} bytes exceeded for group")
        }
        SizeKind::SessionPolicy => {
            "Packed policy consumes more than the allowed size of the policy.".to_string()
        }
        SizeKind::Other => format!("Policy document exceeds the maximum size of {limit}"),
    }
}
