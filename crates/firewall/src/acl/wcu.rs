//! Web ACL capacity units (WCU), as AWS documents them: a base cost per statement, doubled when
//! it inspects the JSON body, plus 10 for `AllQueryArguments` and 10 per text transformation
//! other than `NONE`; IP sets 1 (5 with a forwarded-IP position of `ANY`); rate-based
//! statements 2 plus 30 per custom key plus their scope-down; rule groups their capacity
//! setting; and 1 per 5 rule labels defined in a list of rules.

use serde_json::Value;

use super::stmt::which;
use super::{bad, CompileError, Resolver, REASON_FORMAT};

/// The capacity of AWS's managed rule groups (`DescribeManagedRuleGroup`).
pub const MANAGED_CAPACITY: &[(&str, u64)] = &[
    ("AWSManagedRulesCommonRuleSet", 700),
    ("AWSManagedRulesAdminProtectionRuleSet", 100),
    ("AWSManagedRulesKnownBadInputsRuleSet", 200),
    ("AWSManagedRulesSQLiRuleSet", 200),
    ("AWSManagedRulesLinuxRuleSet", 200),
    ("AWSManagedRulesUnixRuleSet", 100),
    ("AWSManagedRulesWindowsRuleSet", 200),
    ("AWSManagedRulesPHPRuleSet", 100),
    ("AWSManagedRulesWordPressRuleSet", 100),
    ("AWSManagedRulesAmazonIpReputationList", 25),
    ("AWSManagedRulesAnonymousIpList", 50),
];

/// The capacity of an AWS managed rule group, by name.
pub fn managed_capacity(name: &str) -> Option<u64> {
    MANAGED_CAPACITY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn inspection_cost(base: u64, body: &Value) -> u64 {
    let field = body.get("FieldToMatch");
    let json = field.and_then(|f| f.get("JsonBody")).is_some();
    let all_args = field.and_then(|f| f.get("AllQueryArguments")).is_some();
    let transforms = list(body, "TextTransformations")
        .iter()
        .filter(|t| t.get("Type").and_then(Value::as_str) != Some("NONE"))
        .count() as u64;
    let mut cost = if json { base * 2 } else { base };
    if all_args {
        cost += 10;
    }
    cost + 10 * transforms
}

/// The WCU of one statement.
pub fn statement_capacity(v: &Value, resolver: &dyn Resolver) -> Result<u64, CompileError> {
    let (key, field, body) = which(v)?;
    Ok(match key {
        "ByteMatchStatement" => {
            let base = match body.get("PositionalConstraint").and_then(Value::as_str) {
                Some("CONTAINS" | "CONTAINS_WORD") => 10,
                _ => 2,
            };
            inspection_cost(base, body)
        }
        "RegexMatchStatement" => inspection_cost(3, body),
        "RegexPatternSetReferenceStatement" => inspection_cost(25, body),
        "SqliMatchStatement" => {
            let base = match body.get("SensitivityLevel").and_then(Value::as_str) {
                Some("HIGH") => 30,
                _ => 20,
            };
            inspection_cost(base, body)
        }
        "XssMatchStatement" => inspection_cost(40, body),
        "SizeConstraintStatement" => inspection_cost(1, body),
        "GeoMatchStatement" | "AsnMatchStatement" | "LabelMatchStatement" => 1,
        "IPSetReferenceStatement" => {
            let any = body
                .get("IPSetForwardedIPConfig")
                .and_then(|c| c.get("Position"))
                .and_then(Value::as_str)
                == Some("ANY");
            if any {
                5
            } else {
                1
            }
        }
        "AndStatement" | "OrStatement" => {
            let mut sum = 0;
            for s in list(body, "Statements") {
                sum += statement_capacity(s, resolver)?;
            }
            sum
        }
        "NotStatement" => match body.get("Statement") {
            Some(s) => statement_capacity(s, resolver)?,
            None => return Err(bad(field, "Statement", REASON_FORMAT)),
        },
        "RateBasedStatement" => {
            let keys = list(body, "CustomKeys").len() as u64;
            let scope = match body.get("ScopeDownStatement") {
                Some(s) => statement_capacity(s, resolver)?,
                None => 0,
            };
            2 + 30 * keys + scope
        }
        "ManagedRuleGroupStatement" => {
            let name = body.get("Name").and_then(Value::as_str).unwrap_or_default();
            let vendor = body
                .get("VendorName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let base = if vendor == "AWS" {
                managed_capacity(name)
            } else {
                None
            }
            .ok_or_else(|| CompileError::Nonexistent(format!("{vendor}#{name}")))?;
            let scope = match body.get("ScopeDownStatement") {
                Some(s) => statement_capacity(s, resolver)?,
                None => 0,
            };
            base + scope
        }
        "RuleGroupReferenceStatement" => {
            let arn = body.get("ARN").and_then(Value::as_str).unwrap_or_default();
            resolver
                .rule_group(arn)
                .map(|g| g.capacity)
                .ok_or_else(|| CompileError::Nonexistent(arn.to_string()))?
        }
        _ => return Err(bad("STATEMENT", key, REASON_FORMAT)),
    })
}

/// The WCU of a list of rules.
pub fn rules_capacity(rules: &Value, resolver: &dyn Resolver) -> Result<u64, CompileError> {
    let mut sum = 0u64;
    let mut labels = 0u64;
    for r in rules.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        if let Some(s) = r.get("Statement") {
            sum += statement_capacity(s, resolver)?;
        }
        labels += list(r, "RuleLabels").len() as u64;
    }
    Ok(sum + labels.div_ceil(5))
}
