//! Proto3 JSON, exactly per the protobuf spec (prost-reflect's serde support): 64-bit
//! integers as strings, enums by name (name or number accepted), the well-known types in
//! their JSON forms, `json_name` and the original field name both accepted, unknown fields
//! refused naming the field, default values left out.

use bytes::Bytes;
use prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};
use tonic::Status;

/// How messages are written: lowerCamelCase names, enums by name, 64-bit integers as
/// strings, default values left out.
const SERIALIZE: SerializeOptions = SerializeOptions::new()
    .stringify_64_bit_integers(true)
    .use_enum_numbers(false)
    .use_proto_field_name(false)
    .skip_default_fields(true);

/// Decodes a JSON text into a message of type `desc`; an error names where and what
/// (`INVALID_ARGUMENT`, e.g. "invalid JSON for user.v1.CreateUserRequest at line 1 column
/// 12: unknown field `nmae`, expected ...").
pub(crate) fn from_json(desc: &MessageDescriptor, json: &[u8]) -> Result<DynamicMessage, Status> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let opts = DeserializeOptions::new().deny_unknown_fields(true);
    let msg = DynamicMessage::deserialize_with_options(desc.clone(), &mut de, &opts)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| {
            Status::invalid_argument(format!("invalid JSON for {}: {e}", desc.full_name()))
        })?;
    Ok(msg)
}

/// JSON text into the protobuf encoding of `desc` (see [`from_json`]).
pub(crate) fn json_to_proto(desc: &MessageDescriptor, json: &[u8]) -> Result<Bytes, Status> {
    Ok(from_json(desc, json)?.encode_to_vec().into())
}

/// Decodes the protobuf encoding of a message of type `desc` (`INTERNAL` when it does not
/// decode: it came from our own handler).
pub(crate) fn decode(desc: &MessageDescriptor, bytes: &[u8]) -> Result<DynamicMessage, Status> {
    DynamicMessage::decode(desc.clone(), bytes).map_err(|e| {
        Status::internal(format!(
            "response does not decode as {}: {e}",
            desc.full_name()
        ))
    })
}

/// Writes `msg` as proto3 JSON (indented when `pretty`).
pub(crate) fn to_json(msg: &DynamicMessage, pretty: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let res = if pretty {
        let mut ser = serde_json::Serializer::pretty(&mut out);
        msg.serialize_with_options(&mut ser, &SERIALIZE)
    } else {
        let mut ser = serde_json::Serializer::new(&mut out);
        msg.serialize_with_options(&mut ser, &SERIALIZE)
    };
    if let Err(e) = res {
        // Only a type that cannot be written (an Any of an unknown type) gets here.
        tracing::debug!(error = %e, "message not writable as JSON");
        out.clear();
        out.extend_from_slice(b"{}");
    }
    out
}

/// The protobuf encoding of a message of type `desc` as proto3 JSON.
pub(crate) fn proto_to_json(
    desc: &MessageDescriptor,
    bytes: &[u8],
    pretty: bool,
) -> Result<Vec<u8>, Status> {
    Ok(to_json(&decode(desc, bytes)?, pretty))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> prost_reflect::DescriptorPool {
        prost_reflect::DescriptorPool::decode(crate::server::google_rpc_descriptors()).unwrap()
    }

    #[test]
    fn unknown_fields_are_refused_by_name_with_their_position() {
        let desc = pool().get_message_by_name("google.rpc.ErrorInfo").unwrap();
        let err = from_json(&desc, br#"{"reason": "X", "nope": 1}"#).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(err.message().contains("nope"), "{}", err.message());
        assert!(err.message().contains("column"), "{}", err.message());
    }

    #[test]
    fn malformed_json_names_the_position() {
        let desc = pool().get_message_by_name("google.rpc.ErrorInfo").unwrap();
        let err = from_json(&desc, b"{\"reason\": ").unwrap_err();
        assert!(err.message().contains("line 1"), "{}", err.message());
    }

    #[test]
    fn round_trip_keeps_values_and_uses_json_names() {
        let desc = pool().get_message_by_name("google.rpc.RetryInfo").unwrap();
        let bytes = json_to_proto(&desc, br#"{"retry_delay": "1.500s"}"#).unwrap();
        let json = proto_to_json(&desc, &bytes, false).unwrap();
        assert_eq!(json, br#"{"retryDelay":"1.500s"}"#);
    }
}
