//! Resource policies: syntax checks and the "public policy" check behind BlockPublicPolicy.
use serde_json::Value;

/// Problems found in a resource policy: `(check name, message)`.
pub fn validate(doc: &str) -> Vec<(String, String)> {
    let mut errs = Vec::new();
    let v: Value = match serde_json::from_str(doc) {
        Ok(v) => v,
        Err(_) => {
            errs.push((
                "POLICY_SYNTAX".to_string(),
                "The policy document isn't valid JSON.".to_string(),
            ));
            return errs;
        }
    };
    let Some(obj) = v.as_object() else {
        errs.push((
            "POLICY_SYNTAX".to_string(),
            "The policy document must be a JSON object.".to_string(),
        ));
        return errs;
    };
    let stmts: Vec<&Value> = match obj.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => {
            errs.push((
                "POLICY_SYNTAX".to_string(),
                "The policy document must contain a Statement.".to_string(),
            ));
            return errs;
        }
    };
    for s in stmts {
        let effect = s.get("Effect").and_then(Value::as_str);
        if !matches!(effect, Some("Allow") | Some("Deny")) {
            errs.push((
                "POLICY_SYNTAX".to_string(),
                "Each statement needs an Effect of Allow or Deny.".to_string(),
            ));
        }
        if s.get("Action").is_none() && s.get("NotAction").is_none() {
            errs.push((
                "POLICY_SYNTAX".to_string(),
                "Each statement needs an Action or NotAction.".to_string(),
            ));
        }
        if s.get("Principal").is_none() && s.get("NotPrincipal").is_none() {
            errs.push((
                "POLICY_SYNTAX".to_string(),
                "A resource policy statement needs a Principal.".to_string(),
            ));
        }
    }
    if errs.is_empty() && is_public(&v) {
        errs.push((
            "PUBLIC_POLICY".to_string(),
            "The resource policy grants access to any principal (\"*\") without a restricting condition.".to_string(),
        ));
    }
    errs
}

fn is_star(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "*",
        Value::Array(a) => a.iter().any(is_star),
        Value::Object(o) => o.get("AWS").is_some_and(is_star),
        _ => false,
    }
}

/// Whether an Allow statement grants access to `*` (or `{"AWS": "*"}`) with no condition.
pub fn is_public(v: &Value) -> bool {
    let stmts: Vec<&Value> = match v.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return false,
    };
    stmts.iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && s.get("Principal").is_some_and(is_star)
            && s.get("Condition")
                .is_none_or(|c| c.as_object().is_none_or(|o| o.is_empty()))
    })
}

#[cfg(test)]
#[path = "tests/policy.rs"]
mod tests;
