//! Condition operator names: the base operator, the `IfExists` suffix and the `ForAllValues:`
//! / `ForAnyValue:` set qualifiers.

use std::fmt;

/// A condition operator without its qualifier and suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperatorBase {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

/// The family an operator belongs to: which type it reads values as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum OperatorFamily {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

impl OperatorBase {
    /// Every operator, in AWS's documentation order.
    pub const ALL: [OperatorBase; 27] = [
        OperatorBase::StringEquals,
        OperatorBase::StringNotEquals,
        OperatorBase::StringEqualsIgnoreCase,
        OperatorBase::StringNotEqualsIgnoreCase,
        OperatorBase::StringLike,
        OperatorBase::StringNotLike,
        OperatorBase::NumericEquals,
        OperatorBase::NumericNotEquals,
        OperatorBase::NumericLessThan,
        OperatorBase::NumericLessThanEquals,
        OperatorBase::NumericGreaterThan,
        OperatorBase::NumericGreaterThanEquals,
        OperatorBase::DateEquals,
        OperatorBase::DateNotEquals,
        OperatorBase::DateLessThan,
        OperatorBase::DateLessThanEquals,
        OperatorBase::DateGreaterThan,
        OperatorBase::DateGreaterThanEquals,
        OperatorBase::Bool,
        OperatorBase::BinaryEquals,
        OperatorBase::IpAddress,
        OperatorBase::NotIpAddress,
        OperatorBase::ArnEquals,
        OperatorBase::ArnLike,
        OperatorBase::ArnNotEquals,
        OperatorBase::ArnNotLike,
        OperatorBase::Null,
    ];

    pub fn name(self) -> &'static str {
        use OperatorBase as O;
        match self {
            O::StringEquals => "StringEquals",
            O::StringNotEquals => "StringNotEquals",
            O::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            O::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            O::StringLike => "StringLike",
            O::StringNotLike => "StringNotLike",
            O::NumericEquals => "NumericEquals",
            O::NumericNotEquals => "NumericNotEquals",
            O::NumericLessThan => "NumericLessThan",
            O::NumericLessThanEquals => "NumericLessThanEquals",
            O::NumericGreaterThan => "NumericGreaterThan",
            O::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            O::DateEquals => "DateEquals",
            O::DateNotEquals => "DateNotEquals",
            O::DateLessThan => "DateLessThan",
            O::DateLessThanEquals => "DateLessThanEquals",
            O::DateGreaterThan => "DateGreaterThan",
            O::DateGreaterThanEquals => "DateGreaterThanEquals",
            O::Bool => "Bool",
            O::BinaryEquals => "BinaryEquals",
            O::IpAddress => "IpAddress",
            O::NotIpAddress => "NotIpAddress",
            O::ArnEquals => "ArnEquals",
            O::ArnLike => "ArnLike",
            O::ArnNotEquals => "ArnNotEquals",
            O::ArnNotLike => "ArnNotLike",
            O::Null => "Null",
        }
    }

    pub(crate) fn family(self) -> OperatorFamily {
        use OperatorBase as O;
        match self {
            O::StringEquals
            | O::StringNotEquals
            | O::StringEqualsIgnoreCase
            | O::StringNotEqualsIgnoreCase
            | O::StringLike
            | O::StringNotLike => OperatorFamily::String,
            O::NumericEquals
            | O::NumericNotEquals
            | O::NumericLessThan
            | O::NumericLessThanEquals
            | O::NumericGreaterThan
            | O::NumericGreaterThanEquals => OperatorFamily::Numeric,
            O::DateEquals
            | O::DateNotEquals
            | O::DateLessThan
            | O::DateLessThanEquals
            | O::DateGreaterThan
            | O::DateGreaterThanEquals => OperatorFamily::Date,
            O::Bool => OperatorFamily::Bool,
            O::BinaryEquals => OperatorFamily::Binary,
            O::IpAddress | O::NotIpAddress => OperatorFamily::Ip,
            O::ArnEquals | O::ArnLike | O::ArnNotEquals | O::ArnNotLike => OperatorFamily::Arn,
            O::Null => OperatorFamily::Null,
        }
    }

    /// True for the negated operators (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...):
    /// true when no policy value matches, and true for an absent key.
    pub fn is_negated(self) -> bool {
        use OperatorBase as O;
        matches!(
            self,
            O::StringNotEquals
                | O::StringNotEqualsIgnoreCase
                | O::StringNotLike
                | O::NumericNotEquals
                | O::DateNotEquals
                | O::NotIpAddress
                | O::ArnNotEquals
                | O::ArnNotLike
        )
    }

    /// True when condition values of this operator may hold policy variables: the string, ARN
    /// and `Bool` operators.
    pub fn supports_variables(self) -> bool {
        matches!(
            self.family(),
            OperatorFamily::String | OperatorFamily::Arn | OperatorFamily::Bool
        )
    }
}

/// `ForAllValues:` or `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

/// A full condition operator name, as `ForAnyValue:StringLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditionOperator {
    pub base: OperatorBase,
    pub if_exists: bool,
    pub qualifier: Option<SetQualifier>,
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix)
        .then(|| s.get(..cut))
        .flatten()
}

impl ConditionOperator {
    /// Parses an operator name (ignoring case). `None` for a name that is no operator, and for
    /// `NullIfExists`, which AWS does not have.
    pub fn parse(name: &str) -> Option<ConditionOperator> {
        let (qualifier, rest) = if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else {
            (None, name)
        };
        let (if_exists, base_name) = match strip_suffix_ci(rest, "IfExists") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let base = OperatorBase::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(base_name))?;
        if base == OperatorBase::Null && if_exists {
            return None;
        }
        Some(ConditionOperator {
            base,
            if_exists,
            qualifier,
        })
    }

    pub(crate) fn family(&self) -> OperatorFamily {
        self.base.family()
    }
}

impl fmt::Display for ConditionOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.qualifier {
            Some(SetQualifier::ForAllValues) => f.write_str("ForAllValues:")?,
            Some(SetQualifier::ForAnyValue) => f.write_str("ForAnyValue:")?,
            None => {}
        }
        f.write_str(self.base.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let op = ConditionOperator::parse("ForAnyValue:StringLikeIfExists");
        assert_eq!(
            op,
            Some(ConditionOperator {
                base: OperatorBase::StringLike,
                if_exists: true,
                qualifier: Some(SetQualifier::ForAnyValue),
            })
        );
        assert_eq!(
            op.map(|o| o.to_string()).as_deref(),
            Some("ForAnyValue:StringLikeIfExists")
        );
        assert!(ConditionOperator::parse("stringequals").is_some());
        assert!(ConditionOperator::parse("NullIfExists").is_none());
        assert!(ConditionOperator::parse("StringEqualz").is_none());
        assert!(ConditionOperator::parse("IfExists").is_none());
        for b in OperatorBase::ALL {
            assert_eq!(ConditionOperator::parse(b.name()).map(|o| o.base), Some(b));
        }
    }
}
