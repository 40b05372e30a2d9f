//! The request message of a REST call: the body (`body: "*"` the whole message, `body:
//! "field"` one field, or none), then the query string (the fields neither the body nor the
//! path set: `a.b=1` for nested fields, a repeated field as a repeated parameter, enums by
//! name or number, 64-bit integers and well-known types in their JSON string forms), then the
//! path variables. Every value is read by the proto3 JSON rules, so a query or path value
//! means what the same text means in a JSON body.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use prost_reflect::{DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, Value};
use tonic::Status;

use super::routes::{BodySpec, Route, field_path};
use crate::{
    bridge::json,
    error::{FieldViolation, invalid_request},
};

/// Query parameters that steer the answer and never name a field.
const RESERVED: &[&str] = &["pretty"];

/// Whether the query string asks for indented JSON (`?pretty`, `?pretty=true`, `?pretty=1`).
pub(crate) fn wants_pretty(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            k == "pretty" && matches!(v, "" | "true" | "1")
        })
    })
}

/// The request message of `route` from its path `values`, the `query` string and `body`.
pub(crate) fn build(
    route: &Route,
    values: &[Cow<'_, str>],
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, Status> {
    let input = route.method.desc.input();
    let mut msg = match &route.body {
        BodySpec::Whole if !body.trim_ascii().is_empty() => json::from_json(&input, body)?,
        BodySpec::Field(f) if !body.trim_ascii().is_empty() => {
            let mut msg = DynamicMessage::new(input.clone());
            let value = body_field(f, body)?;
            msg.set_field(f, value);
            msg
        }
        _ => DynamicMessage::new(input.clone()),
    };
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (form_decode(k)?, form_decode(v)?);
            if RESERVED.contains(&&*k) {
                continue;
            }
            let bad = |why: String| invalid_request(&[FieldViolation::new(k.to_string(), why)]);
            let path = match &route.body {
                BodySpec::Whole => {
                    return Err(bad(
                        "query parameters are not read here: the body carries every field"
                            .to_owned(),
                    ));
                }
                _ => field_path(&input, k.split('.')).map_err(bad)?,
            };
            if let BodySpec::Field(f) = &route.body
                && path[0] == *f
            {
                return Err(bad(format!("{} is taken from the body", f.name())));
            }
            set_text(&mut msg, &path, &v).map_err(bad)?;
        }
    }
    for (path, value) in route.variables.iter().zip(values) {
        set_text(&mut msg, path, value).map_err(|why| {
            let name: Vec<&str> = path.iter().map(FieldDescriptor::name).collect();
            invalid_request(&[FieldViolation::new(name.join("."), why)])
        })?;
    }
    Ok(msg)
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(s: &str) -> Result<Cow<'_, str>, Status> {
    if !s.contains(['+', '%']) {
        return Ok(Cow::Borrowed(s));
    }
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| Cow::Owned(c.into_owned()))
        .map_err(|_| Status::invalid_argument(format!("query string: {s:?} is not UTF-8")))
}

/// Sets (or, for a repeated field, appends) the value `text` at `path` in `msg`.
fn set_text(msg: &mut DynamicMessage, path: &[FieldDescriptor], text: &str) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty field path".to_owned());
    };
    if last.is_map() {
        return Err("a map field cannot be set from the URL".to_owned());
    }
    if matches!(last.kind(), Kind::Message(_)) && last.is_list() {
        return Err("a repeated message field cannot be set from the URL".to_owned());
    }
    let value = parse_value(last, text)?;
    let mut cur = msg;
    for f in parents {
        cur = match cur.get_field_mut(f) {
            Value::Message(m) => m,
            _ => return Err(format!("{} is not a message field", f.name())),
        };
    }
    if last.is_list() {
        match cur.get_field_mut(last) {
            Value::List(list) => list.push(value),
            _ => return Err(format!("{} is not a list", last.name())),
        }
    } else {
        cur.set_field(last, value);
    }
    Ok(())
}

/// The value of one field (one element of a repeated field) written as `text` in a URL, read
/// by the proto3 JSON rules.
fn parse_value(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    if let Some(v) = plain_value(&field.kind(), text) {
        return Ok(v);
    }
    let json = json_of_text(&field.kind(), text);
    let json = if field.is_list() {
        serde_json::Value::Array(vec![json])
    } else {
        json
    };
    let value = field_from_json(field, json).map_err(|e| format!("invalid value {text:?}: {e}"))?;
    match value {
        Value::List(mut l) if field.is_list() => l.pop().ok_or_else(|| "no value".to_owned()),
        v => Ok(v),
    }
}

/// The value of a string, boolean, integer or enum written in its plainest form (`abc`,
/// `true`, `-12`, `COLOR_RED`, `2`) without the JSON detour; `None` for anything else, which
/// then takes the JSON rules (and their error messages).
fn plain_value(kind: &Kind, text: &str) -> Option<Value> {
    Some(match kind {
        Kind::String => Value::String(text.to_owned()),
        Kind::Bool => match text {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return None,
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(text.parse().ok()?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(text.parse().ok()?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(text.parse().ok()?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(text.parse().ok()?),
        Kind::Enum(e) => Value::EnumNumber(match e.get_value_by_name(text) {
            Some(v) => v.number(),
            None => text.parse().ok()?,
        }),
        _ => return None,
    })
}

/// The JSON value a URL text stands for, for a field of kind `kind`: booleans and enum
/// numbers as JSON literals, `Struct`/`ListValue`/`Value` and plain messages as JSON text,
/// everything else as a JSON string (proto3 JSON reads numbers, 64-bit integers, bytes,
/// Timestamp, Duration, FieldMask and the wrappers from strings).
fn json_of_text(kind: &Kind, text: &str) -> serde_json::Value {
    let string = || serde_json::Value::String(text.to_owned());
    let boolean = || match text {
        "true" | "1" => serde_json::Value::Bool(true),
        "false" | "0" => serde_json::Value::Bool(false),
        _ => string(),
    };
    match kind {
        Kind::Bool => boolean(),
        Kind::Enum(_) => text
            .parse::<i64>()
            .map_or_else(|_| string(), serde_json::Value::from),
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.BoolValue" => boolean(),
            "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.FloatValue"
            | "google.protobuf.DoubleValue" => string(),
            _ => serde_json::from_str(text).unwrap_or_else(|_| string()),
        },
        _ => string(),
    }
}

/// Reads the value of `field` from `json` (the field's JSON value) by the proto3 JSON rules.
fn field_from_json(field: &FieldDescriptor, json: serde_json::Value) -> Result<Value, String> {
    let mut obj = serde_json::Map::with_capacity(1);
    obj.insert(field.name().to_owned(), json);
    let opts = DeserializeOptions::new().deny_unknown_fields(true);
    let msg = DynamicMessage::deserialize_with_options(
        field.parent_message().clone(),
        serde_json::Value::Object(obj),
        &opts,
    )
    .map_err(|e| e.to_string())?;
    Ok(msg.get_field(field).into_owned())
}

/// The value of the `body: "field"` field from the request body.
fn body_field(field: &FieldDescriptor, body: &[u8]) -> Result<Value, Status> {
    if let Kind::Message(m) = field.kind()
        && !field.is_list()
        && !field.is_map()
    {
        return json::from_json(&m, body).map(Value::Message);
    }
    let what = format!("invalid JSON for {} (the body)", field.full_name());
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Status::invalid_argument(format!("{what}: {e}")))?;
    field_from_json(field, json).map_err(|e| Status::invalid_argument(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_is_asked_by_the_bare_flag_true_or_one() {
        assert!(wants_pretty(Some("pretty")));
        assert!(wants_pretty(Some("a=1&pretty=true")));
        assert!(wants_pretty(Some("pretty=1&b")));
        assert!(!wants_pretty(Some("pretty=false")));
        assert!(!wants_pretty(Some("prettyish")));
        assert!(!wants_pretty(None));
    }

    #[test]
    fn form_components_decode_plus_and_percent() {
        assert_eq!(form_decode("a+b%2Fc").unwrap(), "a b/c");
        assert!(matches!(
            form_decode("plain").unwrap(),
            Cow::Borrowed("plain")
        ));
        assert!(form_decode("%FF").is_err());
    }
}
