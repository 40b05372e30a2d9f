//! The HTTP answers of REST calls: a response message as JSON (the whole message, or the
//! `response_body` field), indented on `?pretty`, and errors as the JSON form of
//! `google.rpc.Status` with the HTTP status of their code.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use prost_reflect::{DynamicMessage, Kind, ReflectMessage, SerializeOptions, Value};
use tonic::{Code, Status, body::Body};

use super::routes::Route;
use crate::bridge::{Catalog, call::full_body, json, status};

/// `application/json`.
pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The JSON text of a response message of `route` (its `response_body` field when set).
pub(crate) fn message_json(route: &Route, bytes: &[u8], pretty: bool) -> Result<Vec<u8>, Status> {
    let msg = json::decode(&route.method.desc.output(), bytes)?;
    let Some(field) = &route.response_body else {
        return Ok(json::to_json(&msg, pretty));
    };
    let value = msg.get_field(field);
    if let (Kind::Message(_), false, false, Value::Message(m)) = (
        field.kind(),
        field.is_list(),
        field.is_map(),
        value.as_ref(),
    ) {
        return Ok(json::to_json(m, pretty));
    }
    // A scalar, repeated or map field: its JSON value, default values included.
    let mut only = DynamicMessage::new(msg.descriptor());
    only.set_field(field, value.into_owned());
    let opts = SerializeOptions::new()
        .stringify_64_bit_integers(true)
        .use_proto_field_name(true)
        .skip_default_fields(false);
    let whole = only
        .serialize_with_options(serde_json::value::Serializer, &opts)
        .map_err(|e| Status::internal(format!("response_body as JSON: {e}")))?;
    let part = whole
        .get(field.name())
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let out = if pretty {
        serde_json::to_vec_pretty(&part)
    } else {
        serde_json::to_vec(&part)
    };
    out.map_err(|e| Status::internal(format!("response_body as JSON: {e}")))
}

/// Copies the call's `x-request-id` (the caller's, or the one the stack made up) from the
/// gRPC answer's headers onto the HTTP answer, so REST callers can quote it too.
pub(crate) fn request_id(res: &mut Response<Body>, grpc_headers: &HeaderMap) {
    if let Some(id) = grpc_headers.get(crate::headers::X_REQUEST_ID) {
        res.headers_mut()
            .insert(crate::headers::X_REQUEST_ID, id.clone());
    }
}

/// A `200 OK` JSON answer.
pub(crate) fn ok(json: Vec<u8>) -> Response<Body> {
    let mut res = Response::new(full_body(json));
    res.headers_mut().insert(header::CONTENT_TYPE, JSON);
    res
}

/// The error answer of `status`: the HTTP status of its code and the JSON form of
/// `google.rpc.Status` (details included).
pub(crate) fn error(status: &Status, catalog: &Catalog, pretty: bool) -> Response<Body> {
    error_with(status::http_status(status.code()), status, catalog, pretty)
}

/// An error answer with an explicit HTTP status (405).
pub(crate) fn error_with(
    http: StatusCode,
    status: &Status,
    catalog: &Catalog,
    pretty: bool,
) -> Response<Body> {
    let body = status::status_json(status, catalog.pool(), pretty);
    let mut res = Response::new(full_body(Bytes::from(body)));
    *res.status_mut() = http;
    res.headers_mut().insert(header::CONTENT_TYPE, JSON);
    if status.code() == Code::Unauthenticated {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}
