//! A gRPC status in the shapes HTTP clients read: the HTTP status of each code (the
//! standard google.rpc mapping, as grpc-gateway and Connect use), the JSON form of
//! `google.rpc.Status` with its details (REST), and Connect's JSON error.

use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD};
use http::StatusCode;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Value};
use tonic::{Code, Status};

/// The HTTP status of a gRPC code ([`crate::error::http_status`], the one table).
pub(crate) fn http_status(code: Code) -> StatusCode {
    StatusCode::from_u16(crate::error::http_status(code))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Connect's name of a gRPC code (`invalid_argument`, `canceled`, ...).
pub(crate) fn connect_code(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The `google.rpc.Status` a status carries in `grpc-status-details-bin`, with its code
/// and message set from the status (`None` when the pool lacks the type).
fn rpc_status(status: &Status, pool: &DescriptorPool) -> Option<DynamicMessage> {
    let desc = pool.get_message_by_name("google.rpc.Status")?;
    let mut msg = DynamicMessage::decode(desc.clone(), status.details())
        .unwrap_or_else(|_| DynamicMessage::new(desc));
    msg.set_field_by_name("code", Value::I32(status.code() as i32));
    msg.set_field_by_name("message", Value::String(status.message().to_owned()));
    Some(msg)
}

/// The JSON form of `google.rpc.Status` (`{"code": 3, "message": ..., "details": [{"@type":
/// "type.googleapis.com/google.rpc.BadRequest", ...}]}`), the REST error body.
pub(crate) fn status_json(status: &Status, pool: &DescriptorPool, pretty: bool) -> Vec<u8> {
    match rpc_status(status, pool) {
        Some(msg) => super::json::to_json(&msg, pretty),
        None => serde_json::to_vec(&serde_json::json!({
            "code": status.code() as i32,
            "message": status.message(),
        }))
        .unwrap_or_default(),
    }
}

/// Connect's JSON error: `{"code": "invalid_argument", "message": ..., "details": [{"type":
/// "google.rpc.BadRequest", "value": <base64 protobuf>, "debug": <JSON>}]}`.
pub(crate) fn connect_error_json(status: &Status, pool: &DescriptorPool) -> serde_json::Value {
    let mut out = serde_json::json!({ "code": connect_code(status.code()) });
    if !status.message().is_empty() {
        out["message"] = status.message().into();
    }
    let details = decode_details(status);
    if !details.is_empty() {
        let list: Vec<_> = details
            .into_iter()
            .map(|any| {
                let ty = any
                    .type_url
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let mut d = serde_json::json!({
                    "type": ty,
                    "value": STANDARD_NO_PAD.encode(&any.value),
                });
                if let Some(debug) = pool
                    .get_message_by_name(&ty)
                    .and_then(|desc| DynamicMessage::decode(desc, any.value.as_slice()).ok())
                    .and_then(|m| serde_json::from_slice(&super::json::to_json(&m, false)).ok())
                {
                    d["debug"] = debug;
                }
                d
            })
            .collect();
        out["details"] = list.into();
    }
    out
}

/// The `Any` details of a status (empty when it has none or they do not decode).
pub(crate) fn decode_details(status: &Status) -> Vec<prost_types::Any> {
    tonic_types::Status::decode(status.details())
        .map(|s| s.details)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{FieldViolation, invalid_request};

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(crate::server::google_rpc_descriptors()).unwrap()
    }

    #[test]
    fn every_code_has_its_standard_http_status() {
        assert_eq!(http_status(Code::InvalidArgument), 400);
        assert_eq!(http_status(Code::Unauthenticated), 401);
        assert_eq!(http_status(Code::ResourceExhausted), 429);
        assert_eq!(http_status(Code::Unimplemented), 501);
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }

    #[test]
    fn rest_error_body_carries_the_details_as_json() {
        let status = invalid_request(&[FieldViolation::new("email", "must be an email")]);
        let json: serde_json::Value =
            serde_json::from_slice(&status_json(&status, &pool(), false)).unwrap();
        assert_eq!(json["code"], 3);
        let details = json["details"].as_array().unwrap();
        let d = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .unwrap();
        assert_eq!(d["fieldViolations"][0]["field"], "email");
        assert!(
            details
                .iter()
                .any(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
        );
    }

    #[test]
    fn connect_error_names_the_code_and_types_the_details() {
        let status = invalid_request(&[FieldViolation::new("email", "must be an email")]);
        let json = connect_error_json(&status, &pool());
        assert_eq!(json["code"], "invalid_argument");
        let d = json["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["type"] == "google.rpc.BadRequest")
            .unwrap();
        assert_eq!(d["debug"]["fieldViolations"][0]["field"], "email");
        assert!(d["value"].as_str().is_some_and(|v| !v.ends_with('=')));
    }
}
