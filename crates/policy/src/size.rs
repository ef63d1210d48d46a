//! Policy size quotas, counted as AWS counts them.

use crate::error::{PolicyError, SizeKind};

/// The size of a policy document as IAM counts it against its quotas: characters (not
/// bytes), without white space (space, tab, line feed, carriage return — anywhere, including
/// inside strings). "IAM and AWS STS quotas": "IAM doesn't count white space when calculating
/// the size of a policy against these limits."
pub fn policy_size(doc: &str) -> usize {
    doc.chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        .count()
}

/// Checks a document against a quota, returning its size. The limit is the caller's (quotas
/// differ by placement and some can be raised): AWS's defaults, from
/// [`SizeKind::default_limit`], are 6,144 for a managed policy, 2,048 for a user's inline
/// policies together, 10,240 for a role's, 5,120 for a group's, 2,048 for a role trust
/// policy. For inline policies the caller passes the sum of the entity's other inline
/// policies subtracted from the limit, or checks the concatenation.
pub fn check_size(doc: &str, limit: usize, kind: SizeKind) -> Result<usize, PolicyError> {
    let n = policy_size(doc);
    if n > limit {
        return Err(PolicyError::TooLarge { kind, limit });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_without_white_space() {
        assert_eq!(policy_size("{ \"a\" :\n\t\"b c\" }\r\n"), 10);
        assert_eq!(policy_size("é"), 1);
        assert!(check_size("{}", 2, SizeKind::ManagedPolicy).is_ok());
        let e = check_size("{ }x", 2, SizeKind::ManagedPolicy);
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("Cannot exceed quota for PolicySize: 2".to_string())
        );
    }
}
