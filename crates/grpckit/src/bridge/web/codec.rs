//! How the browser protocols write one message: protobuf as is, or proto3 JSON converted to
//! and from protobuf with the method's types (gRPC-Web `+json`, Connect `json`).

use bytes::Bytes;
use tonic::Status;

use crate::bridge::{catalog::Method, json};

/// The encoding of the messages of one request and its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Protobuf binary: passed through unchanged.
    Proto,
    /// Proto3 JSON text.
    Json,
}

impl Format {
    /// A request message in this format as protobuf (`INVALID_ARGUMENT` naming the
    /// position of malformed JSON or the unknown field). An empty JSON text is the empty
    /// message, as for a Connect request without a body.
    pub(crate) fn request(self, method: &Method, message: Bytes) -> Result<Bytes, Status> {
        match self {
            Self::Proto => Ok(message),
            Self::Json if message.iter().all(u8::is_ascii_whitespace) => Ok(Bytes::new()),
            Self::Json => json::json_to_proto(&method.desc.input(), &message),
        }
    }

    /// A response message (protobuf) in this format.
    pub(crate) fn response(self, method: &Method, message: Bytes) -> Result<Bytes, Status> {
        match self {
            Self::Proto => Ok(message),
            Self::Json => {
                json::proto_to_json(&method.desc.output(), &message, false).map(Bytes::from)
            }
        }
    }
}
