//! Header names the hot paths look up on every call, as constants: `HeaderMap::get("name")`
//! parses and classifies the name each time, a `HeaderName` does not.

use http::HeaderName;

/// `grpc-status`.
pub(crate) const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// `grpc-message`.
pub(crate) const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
/// `grpc-timeout`.
pub(crate) const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
/// `x-request-id`.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `x-api-key`.
pub(crate) const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
