//! The AWS IAM policy language, pure: no I/O, no clock, no global state.
//!
//! - [`Policy::parse`] / [`Policy::parse_as`] read a JSON policy document and validate it as
//!   IAM does, refusing with [`PolicyError`] (AWS's `MalformedPolicyDocument` messages where
//!   known). [`check_size`] counts a document against a size quota the way IAM does.
//! - [`CompiledPolicy`] is a policy prepared for evaluation: lowercased action patterns, ARN
//!   patterns split into segments, condition values parsed once.
//! - [`evaluate`] combines identity policies, a resource policy, a permissions boundary and
//!   session policies for one [`Request`] as AWS does (see the [`eval`] module for the rules)
//!   and returns a [`Decision`]; [`access_denied_message`] renders AWS's AccessDenied text;
//!   [`evaluate_with_trace`] also reports every statement for policy simulation.
//!
//! Matching: actions ignore case and take `*` and `?`; resources match ARN segment by
//! segment with `*` and `?` inside segments (the last segment, the resource id, holds the rest
//! of the ARN, `/` included); condition keys ignore case, condition values are case-sensitive
//! except for the `...IgnoreCase` operators. Policy variables (`${aws:username}`,
//! `${aws:PrincipalTag/team, 'default'}`, `${*}`, `${?}`, `${$}`) work in `Resource`,
//! `NotResource` and the values of string, ARN and `Bool` conditions of `2012-10-17`
//! policies; a variable that does not resolve makes its value match nothing.
//!
//! ```
//! use rampart_policy::{evaluate, CompiledPolicy, EvalInput, PolicyKind, Principal, Request};
//!
//! let policy = CompiledPolicy::parse(
//!     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}}"#,
//!     PolicyKind::Identity,
//! )?;
//! let alice = Principal::from_arn("arn:aws:iam::111122223333:user/alice").ok_or("bad ARN")?;
//! let request = Request::new(alice, "kms:Encrypt", "arn:aws:kms:us-east-1:111122223333:key/k");
//! let input = EvalInput { identity_policies: &[&policy], ..EvalInput::new(&request) };
//! assert!(evaluate(&input).is_allowed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Choices where AWS's documentation is silent
//!
//! - A multivalued key under an operator without `ForAllValues:`/`ForAnyValue:` matches when
//!   any request value matches (negated operators: when none does).
//! - A key present with no values (an empty list) counts as absent; an empty string is a value.
//! - Policy variables resolve to the key's single value, compared literally (a `*` in a tag
//!   value is not a wildcard); they work in `Bool` values too, as the operator reference says.
//! - `Principal` and `NotPrincipal` are ignored in identity, boundary and session policies (the
//!   parser refuses them there with [`PolicyKind::Identity`]).
//! - Unknown elements are refused with `Unknown field X`; an unknown condition operator with
//!   `Invalid Condition type : X`; condition values that do not parse as their operator's type
//!   with our own message (dates: `The policy failed legacy parsing`, as IAM answers).
#![forbid(unsafe_code)]

mod compile;
mod context;
mod document;
mod error;
pub mod eval;
mod json;
mod operator;
mod pattern;
mod size;
mod values;

pub use compile::{CompiledPolicy, PrincipalMatch};
pub use context::{
    ContextKeys, ContextValue, Principal, PrincipalKind, Request, RequestEnvironment, Value,
};
pub use document::{
    ActionElement, Condition, Effect, Policy, PolicyKind, PolicyVersion, PrincipalElement,
    ResourceElement, Statement,
};
pub use error::{PolicyError, SizeKind};
pub use eval::{
    access_denied_message, evaluate, evaluate_with_trace, Decision, DecisionEffect, DenyReason,
    EvalInput, Evaluation, PolicyType, StatementRef, StatementResult,
};
pub use operator::{ConditionOperator, OperatorBase, SetQualifier};
pub use size::{check_size, policy_size};
