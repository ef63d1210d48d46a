//! Types every Rampart crate shares: the AWS error shape, the request context handed to
//! services, principals, identifiers and time helpers.
#![forbid(unsafe_code)]

pub mod context;
pub mod error;
pub mod ids;
pub mod json;

pub use context::{AccessCheck, Principal, PrincipalKind, RequestContext, ResourceAccess};
pub use error::AwsError;
