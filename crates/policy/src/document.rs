//! The policy document: parsing and validation of the IAM JSON policy grammar.

use crate::error::PolicyError;
use crate::json::Json;
use crate::operator::ConditionOperator;
use crate::values::{parse_bool, parse_date, parse_number, Cidr};
use base64::Engine as _;
use std::collections::HashSet;
use std::fmt;

/// The policy language version (`Version`). Policy variables exist only in `2012-10-17`; a
/// policy without `Version` is read as `2008-10-17`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    V2008_10_17,
    V2012_10_17,
}

impl PolicyVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2008_10_17 => "2008-10-17",
            PolicyVersion::V2012_10_17 => "2012-10-17",
        }
    }
}

/// Where a policy is used, which decides whether it may or must name principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to an identity: a user, group or role policy, a permissions boundary, a session
    /// policy. No `Principal`/`NotPrincipal`; `Resource`/`NotResource` required; `Sid` only
    /// `[0-9A-Za-z]`.
    Identity,
    /// Attached to a resource: a key policy, a secret policy, a bucket policy, a role trust
    /// policy. `Principal` or `NotPrincipal` required; `Resource` optional (absent, the
    /// statement covers the resource the policy is attached to).
    Resource,
    /// No placement checks (both forms accepted).
    Any,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// `Principal` or (`negated`) `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrincipalElement {
    pub negated: bool,
    /// `"Principal": "*"` (or `{"AWS": "*"}`): everyone, anonymous callers included.
    pub any: bool,
    /// Account ids, account root ARNs, user, role, assumed-role and federated-user ARNs,
    /// unique ids.
    pub aws: Vec<String>,
    pub service: Vec<String>,
    pub federated: Vec<String>,
    pub canonical_user: Vec<String>,
}

/// `Action` or (`negated`) `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionElement {
    pub negated: bool,
    pub values: Vec<String>,
}

/// `Resource` or (`negated`) `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceElement {
    pub negated: bool,
    pub values: Vec<String>,
}

/// One condition: an operator, a key and the values (ORed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: ConditionOperator,
    /// The key as written (keys compare case-insensitively).
    pub key: String,
    pub values: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalElement>,
    pub action: ActionElement,
    /// `None` only in resource policies that leave it out.
    pub resource: Option<ResourceElement>,
    /// All conditions of the statement (ANDed), in document order.
    pub conditions: Vec<Condition>,
}

/// A parsed and validated policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `None` when the document has no `Version` (read as `2008-10-17`).
    pub version: Option<PolicyVersion>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Parses and validates a document without placement checks ([`PolicyKind::Any`]).
    pub fn parse(doc: &str) -> Result<Policy, PolicyError> {
        Policy::parse_as(doc, PolicyKind::Any)
    }

    /// Parses and validates a document for a placement: identity policies must not name a
    /// principal, resource policies must.
    pub fn parse_as(doc: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let json = Json::parse(doc).ok_or(PolicyError::Syntax)?;
        if json.has_duplicate_keys() {
            return Err(PolicyError::Syntax);
        }
        let raw = RawPolicy::from_json(json)?;
        raw.validate(kind)
    }

    /// The language version in force (`2008-10-17` when absent).
    pub fn effective_version(&self) -> PolicyVersion {
        self.version.unwrap_or(PolicyVersion::V2008_10_17)
    }
}

// ---- pass 1: structure ----------------------------------------------------------------

struct RawPolicy {
    version: Option<String>,
    id: Option<String>,
    statements: Vec<RawStatement>,
}

/// A condition block as written: operator name, then key and values per key.
type RawCondition = (String, Vec<(String, Vec<String>)>);

#[derive(Default)]
struct RawStatement {
    sid: Option<String>,
    effect: Option<String>,
    principal: Option<(bool, Json)>,
    action: Option<(bool, Vec<String>)>,
    resource: Option<(bool, Vec<String>)>,
    condition: Vec<RawCondition>,
}

fn string(v: Json) -> Result<String, PolicyError> {
    match v {
        Json::String(s) => Ok(s),
        _ => Err(PolicyError::Syntax),
    }
}

fn string_or_list(v: Json) -> Result<Vec<String>, PolicyError> {
    match v {
        Json::String(s) => Ok(vec![s]),
        Json::Array(items) => items.into_iter().map(string).collect(),
        _ => Err(PolicyError::Syntax),
    }
}

fn scalar_or_list(v: Json) -> Result<Vec<String>, PolicyError> {
    match v {
        Json::Array(items) => items
            .iter()
            .map(|i| i.scalar_text().ok_or(PolicyError::Syntax))
            .collect(),
        other => Ok(vec![other.scalar_text().ok_or(PolicyError::Syntax)?]),
    }
}

impl RawPolicy {
    fn from_json(json: Json) -> Result<RawPolicy, PolicyError> {
        let Json::Object(members) = json else {
            return Err(PolicyError::Syntax);
        };
        let mut version = None;
        let mut id = None;
        let mut statement = None;
        let mut unknown = None;
        for (k, v) in members {
            match k.as_str() {
                "Version" => version = Some(string(v)?),
                "Id" => id = Some(string(v)?),
                "Statement" => statement = Some(v),
                _ => {
                    if unknown.is_none() {
                        unknown = Some(k);
                    }
                }
            }
        }
        let statements = match statement {
            None => Vec::new(),
            Some(Json::Object(m)) => vec![RawStatement::from_members(m)?],
            Some(Json::Array(items)) => {
                if items.is_empty() {
                    return Err(PolicyError::Syntax);
                }
                items
                    .into_iter()
                    .map(|i| match i {
                        Json::Object(m) => RawStatement::from_members(m),
                        _ => Err(PolicyError::Syntax),
                    })
                    .collect::<Result<_, _>>()?
            }
            Some(_) => return Err(PolicyError::Syntax),
        };
        if let Some(k) = unknown {
            return Err(PolicyError::UnknownField(k));
        }
        if statements.is_empty() {
            return Err(PolicyError::MissingField("Statement"));
        }
        Ok(RawPolicy {
            version,
            id,
            statements,
        })
    }

    fn validate(self, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let version = match self.version.as_deref() {
            None => None,
            Some("2012-10-17") => Some(PolicyVersion::V2012_10_17),
            Some("2008-10-17") => Some(PolicyVersion::V2008_10_17),
            Some(_) => return Err(PolicyError::LegacyParsing),
        };
        let mut statements = Vec::with_capacity(self.statements.len());
        for raw in self.statements {
            statements.push(raw.validate(kind)?);
        }
        let mut seen = HashSet::new();
        for s in &statements {
            if let Some(sid) = s.sid.as_deref().filter(|s| !s.is_empty()) {
                if !seen.insert(sid) {
                    return Err(PolicyError::DuplicateSid);
                }
            }
        }
        Ok(Policy {
            version,
            id: self.id,
            statements,
        })
    }
}

impl RawStatement {
    fn from_members(members: Vec<(String, Json)>) -> Result<RawStatement, PolicyError> {
        let mut s = RawStatement::default();
        let mut unknown = None;
        for (k, v) in members {
            match k.as_str() {
                "Sid" => s.sid = Some(string(v)?),
                "Effect" => s.effect = Some(string(v)?),
                "Principal" | "NotPrincipal" => {
                    if s.principal.is_some() {
                        return Err(PolicyError::Syntax);
                    }
                    s.principal = Some((k == "NotPrincipal", v));
                }
                "Action" | "NotAction" => {
                    if s.action.is_some() {
                        return Err(PolicyError::Syntax);
                    }
                    s.action = Some((k == "NotAction", string_or_list(v)?));
                }
                "Resource" | "NotResource" => {
                    if s.resource.is_some() {
                        return Err(PolicyError::Syntax);
                    }
                    s.resource = Some((k == "NotResource", string_or_list(v)?));
                }
                "Condition" => {
                    let Json::Object(ops) = v else {
                        return Err(PolicyError::Syntax);
                    };
                    for (op, block) in ops {
                        let Json::Object(keys) = block else {
                            return Err(PolicyError::Syntax);
                        };
                        let mut entries = Vec::with_capacity(keys.len());
                        for (key, vals) in keys {
                            entries.push((key, scalar_or_list(vals)?));
                        }
                        s.condition.push((op, entries));
                    }
                }
                _ => {
                    if unknown.is_none() {
                        unknown = Some(k);
                    }
                }
            }
        }
        if let Some(k) = unknown {
            return Err(PolicyError::UnknownField(k));
        }
        Ok(s)
    }

    fn validate(self, kind: PolicyKind) -> Result<Statement, PolicyError> {
        let effect = match self.effect.as_deref() {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            Some(e) if e.eq_ignore_ascii_case("allow") || e.eq_ignore_ascii_case("deny") => {
                return Err(PolicyError::LegacyParsing)
            }
            Some(_) => return Err(PolicyError::Syntax),
            None => return Err(PolicyError::MissingField("Effect")),
        };
        if kind == PolicyKind::Identity {
            if self.principal.is_some() {
                return Err(PolicyError::PrincipalNotAllowed);
            }
            if let Some(sid) = &self.sid {
                if !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(PolicyError::InvalidSid);
                }
            }
        }
        if kind == PolicyKind::Resource && self.principal.is_none() {
            return Err(PolicyError::MissingField("Principal"));
        }
        let principal = match self.principal {
            Some((negated, json)) => Some(parse_principal(negated, json)?),
            None => None,
        };
        let (negated, actions) = self.action.ok_or(PolicyError::MissingActions)?;
        if actions.is_empty() {
            return Err(PolicyError::MissingActions);
        }
        let resource = match self.resource {
            Some((negated, values)) => {
                if values.is_empty() {
                    return Err(PolicyError::MissingResources);
                }
                for r in &values {
                    validate_resource(r)?;
                }
                Some(ResourceElement { negated, values })
            }
            None if kind == PolicyKind::Identity => return Err(PolicyError::MissingResources),
            None => None,
        };
        for a in &actions {
            validate_action(a)?;
        }
        let mut conditions = Vec::new();
        for (op_name, entries) in self.condition {
            let operator = ConditionOperator::parse(&op_name)
                .ok_or_else(|| PolicyError::UnknownConditionOperator(op_name.clone()))?;
            for (key, values) in entries {
                if !key.contains(':') {
                    return Err(PolicyError::MissingVendor);
                }
                for v in &values {
                    validate_condition_value(&operator, v)?;
                }
                conditions.push(Condition {
                    operator,
                    key,
                    values,
                });
            }
        }
        Ok(Statement {
            sid: self.sid,
            effect,
            principal,
            action: ActionElement {
                negated,
                values: actions,
            },
            resource,
            conditions,
        })
    }
}

fn validate_condition_value(op: &ConditionOperator, v: &str) -> Result<(), PolicyError> {
    use crate::operator::OperatorFamily as F;
    let bad = || PolicyError::InvalidConditionValue {
        operator: op.to_string(),
        value: v.to_owned(),
    };
    match op.family() {
        F::Numeric => parse_number(v).map(|_| ()).ok_or_else(bad),
        F::Date => parse_date(v).map(|_| ()).ok_or(PolicyError::LegacyParsing),
        F::Ip => Cidr::parse(v).map(|_| ()).ok_or_else(bad),
        F::Binary => base64::engine::general_purpose::STANDARD
            .decode(v)
            .map(|_| ())
            .map_err(|_| bad()),
        F::Null => parse_bool(v).map(|_| ()).ok_or_else(bad),
        F::String | F::Arn | F::Bool => Ok(()),
    }
}

fn validate_action(a: &str) -> Result<(), PolicyError> {
    if a == "*" {
        return Ok(());
    }
    let mut parts = a.split(':');
    let vendor = parts.next().unwrap_or("");
    let Some(name) = parts.next() else {
        return Err(PolicyError::MissingVendor);
    };
    if parts.next().is_some() {
        return Err(PolicyError::TooManyColons);
    }
    let vendor_ok = vendor == "*"
        || (!vendor.is_empty()
            && vendor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if !vendor_ok {
        return Err(PolicyError::InvalidVendor(vendor.to_owned()));
    }
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '?' | '_' | '-' | '.'));
    if !name_ok {
        return Err(PolicyError::InvalidAction(a.to_owned()));
    }
    Ok(())
}

fn validate_resource(r: &str) -> Result<(), PolicyError> {
    if r == "*" {
        return Ok(());
    }
    if !r.contains(':') || !r.starts_with("arn:") {
        return Err(PolicyError::ResourceNotArn(r.to_owned()));
    }
    if r.matches(':').count() < 5 && r.contains("::") {
        return Err(PolicyError::LegacyParsing);
    }
    let mut parts = r.splitn(6, ':');
    let _arn = parts.next();
    let _partition = parts.next();
    let service = parts.next().unwrap_or("");
    let region = parts.next().unwrap_or("");
    if service.is_empty() || service.contains(['*', '?']) {
        return Err(PolicyError::ResourceVendor);
    }
    if !region.is_empty() {
        if service == "iam" {
            return Err(PolicyError::IamResourceRegion(r.to_owned()));
        }
        if service == "s3" {
            return Err(PolicyError::S3ResourceRegion(r.to_owned()));
        }
    }
    Ok(())
}

fn parse_principal(negated: bool, json: Json) -> Result<PrincipalElement, PolicyError> {
    let mut p = PrincipalElement {
        negated,
        ..PrincipalElement::default()
    };
    match json {
        Json::String(s) if s == "*" => {
            p.any = true;
        }
        Json::String(s) => return Err(PolicyError::InvalidPrincipal(format!("\"{s}\""))),
        Json::Object(members) => {
            if members.is_empty() {
                return Err(PolicyError::InvalidPrincipal("{}".into()));
            }
            for (k, v) in members {
                let values = string_or_list(v)?;
                for value in values {
                    let invalid = || PolicyError::InvalidPrincipal(format!("\"{k}\":\"{value}\""));
                    match k.as_str() {
                        "AWS" => {
                            if value == "*" {
                                p.any = true;
                            } else if valid_aws_principal(&value) {
                                p.aws.push(value);
                            } else {
                                return Err(invalid());
                            }
                        }
                        "Service" | "Federated" | "CanonicalUser" => {
                            if value.is_empty() || value.contains(['*', '?', ' ']) {
                                return Err(invalid());
                            }
                            match k.as_str() {
                                "Service" => p.service.push(value),
                                "Federated" => p.federated.push(value),
                                _ => p.canonical_user.push(value),
                            }
                        }
                        _ => return Err(invalid()),
                    }
                }
            }
        }
        _ => return Err(PolicyError::Syntax),
    }
    Ok(p)
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// An account id, an account root, user, role, assumed-role or federated-user ARN, or a unique
/// id (`AIDA...`, `AROA...`). No wildcards: AWS refuses a partial wildcard in a principal.
fn valid_aws_principal(v: &str) -> bool {
    if v.contains(['*', '?']) {
        return false;
    }
    if is_account_id(v) {
        return true;
    }
    if v.len() >= 16
        && v.len() <= 128
        && v.starts_with('A')
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return true;
    }
    let mut parts = v.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(res)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    if partition.is_empty() || !region.is_empty() || !is_account_id(account) {
        return false;
    }
    let named = |prefix: &str| {
        res.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && !n.ends_with('/'))
    };
    match service {
        "iam" => res == "root" || named("user/") || named("role/") || named("federated-user/"),
        "sts" => {
            named("federated-user/")
                || res
                    .strip_prefix("assumed-role/")
                    .and_then(|r| r.split_once('/'))
                    .is_some_and(|(role, session)| !role.is_empty() && !session.is_empty())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_values() {
        assert!(valid_aws_principal("123456789012"));
        assert!(valid_aws_principal("arn:aws:iam::123456789012:root"));
        assert!(valid_aws_principal("arn:aws:iam::123456789012:user/a/b"));
        assert!(valid_aws_principal(
            "arn:aws:sts::123456789012:assumed-role/r/s"
        ));
        assert!(valid_aws_principal("AIDACKCEVSQ6C2EXAMPLE"));
        assert!(!valid_aws_principal("arn:aws:iam::*:root"));
        assert!(!valid_aws_principal("arn:aws:iam::123456789012:user/*"));
        assert!(!valid_aws_principal("arn:aws:s3:::bucket"));
        assert!(!valid_aws_principal("12345678901"));
        assert!(!valid_aws_principal(
            "arn:aws:iam:us-east-1:123456789012:root"
        ));
    }
}
