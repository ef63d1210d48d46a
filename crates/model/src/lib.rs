//! AWS API models for Rampart.
//!
//! Two halves:
//! - `generated/` (written by `cargo run -p codegen`, never edited by hand): per service a
//!   static [`ServiceModel`] table (operations and shapes with every constraint from the
//!   botocore model), typed request/response structs and enums, a service trait with one
//!   method per operation, `dispatch`, and one error constructor per exception shape.
//! - the hand-written runtime beside it, generic over those tables: [`validate`] (AWS's
//!   `ValidationException` wording), awsQuery decoding and XML encoding ([`decode_query`],
//!   [`encode_query_response`], [`encode_query_error`]), restJson1 routing and (de)coding
//!   ([`match_rest`], [`decode_rest`], [`encode_rest_response`]) and [`redact`].
//!
//! Every protocol decodes a request into one canonical value: a `serde_json::Value` shaped
//! as the JSON protocols put it on the wire — structures are objects keyed by member name,
//! timestamps epoch seconds (numbers, possibly fractional), blobs base64 strings, lists
//! arrays, maps objects. `validate` checks that value against the model, then the generated
//! `dispatch` deserializes it into the typed input.
#![forbid(unsafe_code)]

mod generated;
pub mod javaregex;
mod query;
mod redact;
mod rest;
#[doc(hidden)]
pub mod serde_impl;
pub mod time;
mod validate;
mod values;

pub use generated::*;
pub use query::{decode_query, encode_query_error, encode_query_response};
pub use redact::{redact, trail_view, REDACTED};
pub use rest::{decode_rest, encode_rest_response, match_rest};
pub use validate::validate;
pub use values::{Blob, Timestamp, Unit};

use rampart_core::AwsError;
use std::borrow::Cow;
use std::fmt;

/// Index of a shape in [`ServiceModel::shapes`].
pub type ShapeId = u16;

/// The wire protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1.0 / awsJson1.1 (`X-Amz-Target`).
    Json,
    /// restJson1 (routes by method and path).
    RestJson,
    /// awsQuery (form-encoded POST, XML responses).
    Query,
}

/// One service's model.
#[derive(Debug)]
pub struct ServiceModel {
    /// The Rust module name (`kms`).
    pub module: &'static str,
    /// The SigV4 signing name (`kms`).
    pub signing_name: &'static str,
    pub endpoint_prefix: &'static str,
    pub protocol: Protocol,
    /// `1.1` for awsJson1.1, empty for other protocols.
    pub json_version: &'static str,
    /// The `X-Amz-Target` prefix (`TrentService`), empty when not JSON.
    pub target_prefix: &'static str,
    pub api_version: &'static str,
    /// The XML namespace of awsQuery responses, empty otherwise.
    pub xml_namespace: &'static str,
    /// CloudTrail's `eventSource` (`kms.amazonaws.com`).
    pub event_source: &'static str,
    /// Sorted by name.
    pub operations: &'static [Operation],
    /// Sorted by name; a [`ShapeId`] indexes this.
    pub shapes: &'static [Shape],
}

impl ServiceModel {
    /// The operation called `name` (binary search).
    pub fn operation(&'static self, name: &str) -> Option<&'static Operation> {
        self.operations
            .binary_search_by(|op| op.name.cmp(name))
            .ok()
            .and_then(|i| self.operations.get(i))
    }

    /// The shape with this id. Ids come from the generated tables, so a bad id is a bug in
    /// the caller; it panics like slice indexing does.
    pub fn shape(&self, id: ShapeId) -> &'static Shape {
        let shapes: &'static [Shape] = self.shapes;
        &shapes[usize::from(id)]
    }

    /// The id of the shape called `name` (binary search).
    pub fn shape_id(&self, name: &str) -> Option<ShapeId> {
        self.shapes
            .binary_search_by(|s| s.name.cmp(name))
            .ok()
            .and_then(|i| ShapeId::try_from(i).ok())
    }

    /// The shape called `name`.
    pub fn shape_by_name(&self, name: &str) -> Option<&'static Shape> {
        self.shape_id(name).map(|id| self.shape(id))
    }

    /// The error an exception shape describes, with `message`.
    pub fn error_for(&self, shape: ShapeId, message: impl Into<String>) -> Option<AwsError> {
        self.shape(shape)
            .error
            .as_ref()
            .map(|e| error(e.code, e.http_status, e.sender_fault, message))
    }

    /// The code AWS uses for a failed constraint: `ValidationError` for awsQuery services
    /// (IAM, STS), `ValidationException` for the others.
    pub fn validation_code(&self) -> &'static str {
        match self.protocol {
            Protocol::Query => "ValidationError",
            _ => "ValidationException",
        }
    }
}

/// One operation of a service.
#[derive(Debug)]
pub struct Operation {
    pub name: &'static str,
    pub http_method: &'static str,
    pub request_uri: &'static str,
    pub response_code: u16,
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    /// The awsQuery result element (`GetCallerIdentityResult`).
    pub result_wrapper: Option<&'static str>,
    pub errors: &'static [ShapeId],
    /// CloudTrail's `readOnly`: from the model's `readonly` when present (patches.json sets
    /// it where AWS's trail differs from the name heuristic), else a name heuristic.
    pub read_only: bool,
}

/// One shape of a model.
#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub kind: Kind,
    pub sensitive: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The pattern as the model writes it (a Java regex, full-match semantics). `None` also
    /// when the pattern cannot be compiled by the `regex` crate (codegen lists those).
    pub pattern: Option<&'static str>,
    pub enum_values: &'static [&'static str],
    /// `iso8601`, `rfc822` or `unixTimestamp` when the model sets one.
    pub timestamp_format: Option<&'static str>,
    pub flattened: bool,
    pub error: Option<ErrorInfo>,
    pub exception: bool,
    pub union: bool,
    pub document: bool,
}

impl Shape {
    /// A shape with no constraints, for `..Shape::EMPTY` in the generated tables.
    pub const EMPTY: Shape = Shape {
        name: "",
        kind: Kind::String,
        sensitive: false,
        min: None,
        max: None,
        pattern: None,
        enum_values: &[],
        timestamp_format: None,
        flattened: false,
        error: None,
        exception: false,
        union: false,
        document: false,
    };

    /// The members of a structure (empty for other kinds).
    pub fn members(&self) -> &'static [Member] {
        match self.kind {
            Kind::Structure { members } => members,
            _ => &[],
        }
    }

    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members().iter().find(|m| m.name == name)
    }
}

/// What an exception shape says about the error it describes.
#[derive(Debug, Clone, Copy)]
pub struct ErrorInfo {
    /// The error code (`error.code` in the model, else the shape name).
    pub code: &'static str,
    pub http_status: u16,
    pub sender_fault: bool,
}

/// The type of a shape.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Structure {
        members: &'static [Member],
    },
    List {
        member: ShapeId,
        member_location_name: Option<&'static str>,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        /// `key` unless the model names it.
        key_name: &'static str,
        /// `value` unless the model names it.
        value_name: &'static str,
    },
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp,
    Blob,
}

/// Where a member travels in a REST request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Uri,
    Querystring,
    Header,
    /// A map of headers sharing the prefix `location_name`.
    Headers,
    StatusCode,
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub shape: ShapeId,
    pub required: bool,
    pub location: Location,
    pub location_name: Option<&'static str>,
    /// Sensitive itself or targets a sensitive shape.
    pub sensitive: bool,
    pub idempotency_token: bool,
    pub flattened: bool,
    pub xml_attribute: bool,
    /// This member is the structure's payload (restJson1).
    pub payload: bool,
    /// A header carrying base64-encoded JSON.
    pub json_value: bool,
}

impl Member {
    /// A member with nothing set, for `..Member::EMPTY` in the generated tables.
    pub const EMPTY: Member = Member {
        name: "",
        shape: 0,
        required: false,
        location: Location::Body,
        location_name: None,
        sensitive: false,
        idempotency_token: false,
        flattened: false,
        xml_attribute: false,
        payload: false,
        json_value: false,
    };

    /// The name on the wire: `locationName` when the model gives one, else the member name.
    pub fn wire_name(&self) -> &'static str {
        self.location_name.unwrap_or(self.name)
    }
}

/// Builds an [`AwsError`] (used by the generated per-exception constructors).
pub fn error(
    code: &'static str,
    status: u16,
    sender_fault: bool,
    message: impl Into<String>,
) -> AwsError {
    let mut e = AwsError::new(Cow::Borrowed(code), status, message);
    e.sender_fault = sender_fault;
    e
}

/// Deserializes a validated canonical value into a typed input. A failure (which
/// validation should have caught) is a `SerializationException`, never a panic.
pub fn from_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, AwsError> {
    serde_json::from_value(v)
        .map_err(|e| AwsError::serialization(format!("Cannot read the request: {e}")))
}

/// Serializes a typed output into its canonical value.
pub fn to_value<T: serde::Serialize>(v: T) -> Result<serde_json::Value, AwsError> {
    serde_json::to_value(v).map_err(|_| AwsError::internal())
}

/// What the generated `dispatch` answers for an operation the model does not have.
pub fn unknown_operation(operation: &str) -> AwsError {
    AwsError::unknown_operation(format!(
        "The operation {operation} is not known to this service."
    ))
}

/// Printed by the generated `Debug` impls in place of a sensitive member's value.
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("*** Sensitive Data Redacted ***")
    }
}

/// A string enum of a model; generated enums implement it, and their serde impls go
/// through [`serialize_enum`] and [`deserialize_enum`].
pub trait ModelEnum: Sized + 'static {
    /// The wire values, in model order.
    const VALUES: &'static [&'static str];
    /// The variants, in the same order as `VALUES`.
    const ALL: &'static [Self];
    /// The wire value.
    fn as_str(&self) -> &'static str;
}

/// The variant whose wire value is `s`.
pub fn parse_enum<E: ModelEnum + Copy>(s: &str) -> Option<E> {
    E::VALUES
        .iter()
        .position(|v| *v == s)
        .and_then(|i| E::ALL.get(i).copied())
}

/// Serializes an enum as its wire string.
pub fn serialize_enum<E: ModelEnum, S: serde::Serializer>(e: &E, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(e.as_str())
}

/// Deserializes an enum from its wire string; an unknown value is an error, not a panic.
pub fn deserialize_enum<'de, E: ModelEnum + Copy, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<E, D::Error> {
    struct V<E>(std::marker::PhantomData<E>);
    impl<E: ModelEnum + Copy> serde::de::Visitor<'_> for V<E> {
        type Value = E;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "one of {:?}", E::VALUES)
        }
        fn visit_str<Er: serde::de::Error>(self, s: &str) -> Result<E, Er> {
            parse_enum(s).ok_or_else(|| Er::unknown_variant(s, E::VALUES))
        }
    }
    d.deserialize_str(V(std::marker::PhantomData))
}

/// Defines a model enum: the Rust enum (its first variant is the `Default`), its
/// [`ModelEnum`] impl, an inherent `as_str`, `Display`, `FromStr` and the serde impls (the wire
/// form is the value string). Used by the generated modules.
#[doc(hidden)]
#[macro_export]
macro_rules! model_enum {
    ($(#[$meta:meta])* $name:ident { $first:ident => $first_s:literal $(, $v:ident => $s:literal)* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            #[default]
            $first,
            $($v,)*
        }

        impl $crate::ModelEnum for $name {
            const VALUES: &'static [&'static str] = &[$first_s, $($s,)*];
            const ALL: &'static [Self] = &[Self::$first, $(Self::$v,)*];
            fn as_str(&self) -> &'static str {
                match self {
                    Self::$first => $first_s,
                    $(Self::$v => $s,)*
                }
            }
        }

        impl $name {
            /// The value on the wire.
            pub fn as_str(&self) -> &'static str {
                <Self as $crate::ModelEnum>::as_str(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownEnumValue;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $crate::parse_enum(s).ok_or_else(|| $crate::UnknownEnumValue(s.to_string()))
            }
        }

        impl $crate::serde::Serialize for $name {
            fn serialize<S: $crate::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                $crate::serialize_enum(self, s)
            }
        }

        impl<'de> $crate::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                $crate::deserialize_enum(d)
            }
        }
    };
}

#[doc(hidden)]
pub use serde;

/// The error `FromStr` returns for a string that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEnumValue(pub String);

impl fmt::Display for UnknownEnumValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown enum value {:?}", self.0)
    }
}

impl std::error::Error for UnknownEnumValue {}

/// The generated service models, by module name (`kms`).
pub fn service(module: &str) -> Option<&'static ServiceModel> {
    SERVICES.iter().copied().find(|s| s.module == module)
}

/// The generated service model whose SigV4 signing name is `signing_name`.
pub fn service_by_signing_name(signing_name: &str) -> Option<&'static ServiceModel> {
    SERVICES
        .iter()
        .copied()
        .find(|s| s.signing_name == signing_name)
}

/// The first letter lower-cased: how AWS names a member in validation messages.
pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
