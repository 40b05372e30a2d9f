//! The ONE table from error kind to `(gRPC code, HTTP status)`.
//!
//! Domain and framework errors implement [`IntoStatus`] by naming an [`ErrorKind`]; the gRPC
//! path turns that kind into a status through [`ErrorKind::codes`], which also names the
//! matching HTTP status ([`http_status`], the standard `google.rpc` table every HTTP bridge
//! answers with: REST, Connect).
//! Unknown errors are logged at `warn` and answered with a generic `INTERNAL`. An error may
//! also name a stable [`Reason`] ([`IntoStatus::reason`]), sent as a `google.rpc.ErrorInfo`.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::reason::Reason;

/// What went wrong, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or a field is invalid.
    InvalidArgument,
    /// The addressed entity does not exist.
    NotFound,
    /// The entity already exists (or the idempotency key was reused with another payload).
    AlreadyExists,
    /// The operation is not allowed in the current state.
    FailedPrecondition,
    /// No or bad credentials.
    Unauthenticated,
    /// Credentials are fine, the action is not allowed.
    PermissionDenied,
    /// A limit was hit.
    ResourceExhausted,
    /// A dependency is down; retrying may help.
    Unavailable,
    /// The deadline ran out.
    DeadlineExceeded,
    /// The call was cancelled.
    Cancelled,
    /// A bug or an unexpected failure. Never carries details to the caller.
    Internal,
}

impl ErrorKind {
    /// The table: `(gRPC code, HTTP status)`.
    pub const fn codes(self) -> (Code, u16) {
        let code = match self {
            Self::InvalidArgument => Code::InvalidArgument,
            Self::NotFound => Code::NotFound,
            Self::AlreadyExists => Code::AlreadyExists,
            Self::FailedPrecondition => Code::FailedPrecondition,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::PermissionDenied => Code::PermissionDenied,
            Self::ResourceExhausted => Code::ResourceExhausted,
            Self::Unavailable => Code::Unavailable,
            Self::DeadlineExceeded => Code::DeadlineExceeded,
            Self::Cancelled => Code::Cancelled,
            Self::Internal => Code::Internal,
        };
        (code, http_status(code))
    }

    /// The gRPC code.
    pub const fn code(self) -> Code {
        self.codes().0
    }

    /// The matching HTTP status ([`http_status`] of its code).
    pub const fn http_status(self) -> u16 {
        self.codes().1
    }
}

/// One invalid field: `field` is a path such as `items[0].quantity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field.
    pub field: String,
    /// Why it is invalid.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Implemented by every error that can reach a caller.
pub trait IntoStatus: std::error::Error {
    /// The row of the table.
    fn kind(&self) -> ErrorKind;

    /// Field violations, reported as a `google.rpc.BadRequest` detail.
    fn field_violations(&self) -> Vec<FieldViolation> {
        Vec::new()
    }

    /// The stable reason, reported as a `google.rpc.ErrorInfo` detail (never for `Internal`).
    fn reason(&self) -> Option<Reason> {
        None
    }

    /// Turns the error into a status with rich details (`BadRequest`, `ErrorInfo`). `Internal`
    /// errors are logged and answered with a generic message.
    fn to_status(&self) -> Status {
        let kind = self.kind();
        if kind == ErrorKind::Internal {
            match std::error::Error::source(self) {
                Some(cause) => {
                    tracing::warn!(error = %self, cause = %crate::ErrorChain(cause), "internal error");
                }
                None => tracing::warn!(error = %self, "internal error"),
            }
            return Status::internal("internal error");
        }
        status_with_details(
            kind.code(),
            self.to_string(),
            &self.field_violations(),
            self.reason(),
        )
    }
}

/// A status with a `google.rpc.BadRequest` detail listing every violation (if any).
pub fn status_with_violations(
    code: Code,
    message: String,
    violations: &[FieldViolation],
) -> Status {
    status_with_details(code, message, violations, None)
}

/// A status with a `google.rpc.BadRequest` detail listing every violation (if any) and a
/// `google.rpc.ErrorInfo` for `reason` (if any).
pub fn status_with_details(
    code: Code,
    message: String,
    violations: &[FieldViolation],
    reason: Option<Reason>,
) -> Status {
    if violations.is_empty() && reason.is_none() {
        return Status::new(code, message);
    }
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    if let Some(r) = reason {
        r.add_to(&mut details);
    }
    Status::with_error_details(code, message, details)
}

/// Most bytes of "field: reason" text in a validation status message; the violations past it
/// are counted ("… and 3 more") and all of them stay in the `BadRequest` detail.
pub const MAX_VIOLATIONS_MESSAGE: usize = 512;

/// `INVALID_ARGUMENT` for a request that breaks field rules: the message lists each distinct
/// "field: reason" pair (`invalid request: name: value length must be at least 1 characters;
/// email: ...`, at most [`MAX_VIOLATIONS_MESSAGE`] bytes of them) so a caller that only shows
/// the message still sees why, the `google.rpc.BadRequest` detail carries every violation and
/// the `google.rpc.ErrorInfo` detail the reason [`reason::INVALID_FIELDS`](crate::reason::INVALID_FIELDS).
///
/// # Examples
/// ```
/// use grpckit::error::{FieldViolation, invalid_request};
/// let st = invalid_request(&[FieldViolation::new("email", "value must be a valid email address")]);
/// assert_eq!(st.message(), "invalid request: email: value must be a valid email address");
/// ```
pub fn invalid_request(violations: &[FieldViolation]) -> Status {
    let mut distinct: Vec<FieldViolation> = Vec::with_capacity(violations.len());
    for v in violations {
        if !distinct.contains(v) {
            distinct.push(v.clone());
        }
    }
    let message = violations_message(&distinct, MAX_VIOLATIONS_MESSAGE);
    status_with_details(
        Code::InvalidArgument,
        message,
        &distinct,
        Some(crate::reason::INVALID_FIELDS),
    )
}

/// `invalid request: f: why; g: why`, with at most `max` bytes of pairs: a pair that does not
/// fit ends the list with "… and N more" (a first pair longer than `max` is cut at a char
/// boundary).
fn violations_message(violations: &[FieldViolation], max: usize) -> String {
    let mut list = String::new();
    for (i, v) in violations.iter().enumerate() {
        let pair = format!("{}: {}", v.field, v.description);
        let sep = if i == 0 { "" } else { "; " };
        if list.len() + sep.len() + pair.len() > max {
            let rest = if i == 0 {
                list.push_str(&pair[..pair.floor_char_boundary(max)]);
                list.push('…');
                violations.len() - 1
            } else {
                list.push_str(" …");
                violations.len() - i
            };
            if rest > 0 {
                list.push_str(&format!(" and {rest} more"));
            }
            break;
        }
        list.push_str(sep);
        list.push_str(&pair);
    }
    format!("invalid request: {list}")
}

/// The HTTP status of a gRPC code: the standard `google.rpc` mapping (`code.proto`), as
/// grpc-gateway and Connect answer; the REST and Connect bridges answer with it.
pub const fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::Unauthenticated => 401,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
    }
}

/// The canonical upper-case name of a code, e.g. `ALREADY_EXISTS`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("bad thing")]
    struct Bad;
    impl IntoStatus for Bad {
        fn kind(&self) -> ErrorKind {
            ErrorKind::InvalidArgument
        }
        fn field_violations(&self) -> Vec<FieldViolation> {
            vec![FieldViolation::new("a", "x"), FieldViolation::new("b", "y")]
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("secret db path /x")]
    struct Boom;
    impl IntoStatus for Boom {
        fn kind(&self) -> ErrorKind {
            ErrorKind::Internal
        }
    }

    #[test]
    fn violations_travel_as_bad_request() {
        let st = Bad.to_status();
        assert_eq!(st.code(), Code::InvalidArgument);
        let br = st.get_details_bad_request().unwrap();
        assert_eq!(br.field_violations.len(), 2);
        assert!(st.get_details_error_info().is_none(), "no reason named");
    }

    #[test]
    fn invalid_request_names_each_field_and_reason_once() {
        let st = invalid_request(&[
            FieldViolation::new("name", "too short"),
            FieldViolation::new("name", "blank"),
            FieldViolation::new("email", "not an email"),
            FieldViolation::new("name", "too short"),
        ]);
        assert_eq!(st.code(), Code::InvalidArgument);
        assert_eq!(
            st.message(),
            "invalid request: name: too short; name: blank; email: not an email"
        );
        assert_eq!(
            st.get_details_bad_request().unwrap().field_violations.len(),
            3
        );
        let info = st.get_details_error_info().unwrap();
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("INVALID_FIELDS", "grpckit")
        );
    }

    #[test]
    fn violations_message_is_bounded_at_a_char_boundary() {
        let many: Vec<_> = (0..100)
            .map(|i| FieldViolation::new(format!("items[{i}].sku"), "value is required"))
            .collect();
        let msg = violations_message(&many, 100);
        assert!(msg.len() < 100 + 40, "{msg}");
        assert!(msg.ends_with(" more"), "{msg}");
        let shown = msg.matches("value is required").count();
        assert!(msg.contains(&format!("and {} more", 100 - shown)), "{msg}");
        // One huge multi-byte reason: cut inside the pair, never inside a char.
        let huge = [
            FieldViolation::new("f", "é".repeat(400)),
            FieldViolation::new("g", "x"),
        ];
        let msg = violations_message(&huge, 51);
        assert!(msg.starts_with("invalid request: f: é"), "{msg}");
        assert!(msg.ends_with("é… and 1 more"), "{msg}");
    }

    #[test]
    fn internal_leaks_nothing() {
        let st = Boom.to_status();
        assert_eq!(st.code(), Code::Internal);
        assert!(!st.message().contains("secret"));
    }
}
