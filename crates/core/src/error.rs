//! The one error type services return. It carries what every AWS protocol needs to render an
//! error: the code (`ValidationException`, `NoSuchEntity`, ...), the message, the HTTP status
//! and whether the caller (`Sender`) or the service (`Receiver`) is at fault.
use std::borrow::Cow;
use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: Cow<'static, str>,
    pub message: String,
    pub status: u16,
    pub sender_fault: bool,
    /// Members of the error shape beyond its message (WAF's `Field`, `Parameter`, `Reason`),
    /// rendered by the JSON protocols.
    pub fields: Vec<(&'static str, String)>,
}

impl AwsError {
    pub fn new(
        code: impl Into<Cow<'static, str>>,
        status: u16,
        message: impl Into<String>,
    ) -> Self {
        AwsError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault: status < 500,
            fields: Vec::new(),
        }
    }

    /// Adds a member of the error shape (`with_field("Field", "IP_ADDRESS")`).
    pub fn with_field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// `ValidationException` (HTTP 400) with the given message.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", 400, message)
    }

    /// The error AWS returns for a request body that does not parse as the protocol expects.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", 400, message)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDeniedException", 400, message)
    }

    /// An internal failure. The message given to the client is generic on purpose: the detail
    /// goes to the log (never secret material) and the client sees AWS's wording.
    pub fn internal() -> Self {
        Self::new(
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    /// What an operation that the model defines but Rampart does not implement yet answers.
    pub fn not_implemented(operation: &str) -> Self {
        Self::new(
            "NotImplementedException",
            501,
            format!("The operation {operation} is not supported by Rampart yet."),
        )
    }

    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new("UnknownOperationException", 400, message)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

impl fmt::Debug for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}
