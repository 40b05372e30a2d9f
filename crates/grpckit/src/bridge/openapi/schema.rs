//! JSON Schemas of messages and enums in their proto3 JSON form: lowerCamelCase names,
//! 64-bit integers as strings, enums as strings, bytes as base64, and the well-known types
//! in their JSON forms (Timestamp and Duration as strings, Struct as an object, Value as
//! anything, wrappers as their scalar or `null`, Any as an object with `@type`). Each
//! message and enum is one entry of `components/schemas`, named by its full name.

use std::collections::BTreeMap;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};

use super::{comments::Comments, rules};

/// `#/components/schemas/` + the full name.
pub(super) fn reference(full_name: &str) -> Json {
    json!({ "$ref": format!("#/components/schemas/{full_name}") })
}

/// The schemas of every message and enum asked about (and those they use).
#[derive(Debug, Default)]
pub(super) struct Schemas {
    /// `components/schemas`, by full name.
    pub(super) components: BTreeMap<String, Json>,
    /// The comments of the files.
    pub(super) comments: Comments,
}

impl Schemas {
    /// The schema of a message-typed value: the well-known types inline, other messages
    /// as a reference to their component (added with the components they use).
    pub(super) fn message(&mut self, m: &MessageDescriptor) -> Json {
        if let Some(wkt) = well_known(m.full_name()) {
            return wkt;
        }
        if !self.components.contains_key(m.full_name()) {
            // Placeholder first: recursive types refer to themselves.
            self.components.insert(m.full_name().to_owned(), json!({}));
            let schema = self.message_schema(m, &[]);
            self.components.insert(m.full_name().to_owned(), schema);
        }
        reference(m.full_name())
    }

    /// The schema of an enum-typed value (a reference to its component).
    pub(super) fn enumeration(&mut self, e: &EnumDescriptor) -> Json {
        if e.full_name() == "google.protobuf.NullValue" {
            return json!({ "type": "null" });
        }
        if !self.components.contains_key(e.full_name()) {
            let names: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
            let mut schema = json!({ "type": "string", "enum": names });
            if let Some(d) = self.comments.of(&e.parent_file(), e.path()) {
                schema["description"] = d.into();
            }
            self.components.insert(e.full_name().to_owned(), schema);
        }
        reference(e.full_name())
    }

    /// The object schema of message `m` without the fields (top-level, by name) in
    /// `without`: its properties by JSON name, `required` from `buf.validate`, no other
    /// properties allowed.
    pub(super) fn message_schema(&mut self, m: &MessageDescriptor, without: &[&str]) -> Json {
        let mut props = Map::new();
        let mut required = Vec::new();
        for f in m.fields() {
            if without.contains(&f.name()) {
                continue;
            }
            let (schema, req) = self.field(&f);
            if req {
                required.push(json!(f.json_name()));
            }
            props.insert(f.json_name().to_owned(), schema);
        }
        let mut schema = json!({
            "type": "object",
            "properties": props,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            schema["required"] = required.into();
        }
        if let Some(d) = self.comments.of(&m.parent_file(), m.path()) {
            schema["description"] = d.into();
        }
        schema
    }

    /// The schema of field `f` (repeated and map fields included, its comment as the
    /// description, its `buf.validate` rules as constraints) and whether it is required.
    pub(super) fn field(&mut self, f: &FieldDescriptor) -> (Json, bool) {
        let mut schema = if f.is_map() {
            let value = match f.kind() {
                Kind::Message(entry) => self.single(&entry.map_entry_value_field().kind()),
                _ => json!({}),
            };
            json!({ "type": "object", "additionalProperties": value })
        } else if f.is_list() {
            json!({ "type": "array", "items": self.single(&f.kind()) })
        } else {
            self.single(&f.kind())
        };
        let required = match rules::field_rules(f) {
            Some(r) => rules::apply(&r, f, &mut schema),
            None => false,
        };
        if let Some(d) = self.comments.of(&f.parent_file(), f.path())
            && let Some(obj) = schema.as_object_mut()
        {
            obj.insert("description".into(), d.into());
        }
        (schema, required)
    }

    /// The schema of one value of kind `kind`.
    pub(super) fn single(&mut self, kind: &Kind) -> Json {
        match kind {
            Kind::Message(m) => self.message(m),
            Kind::Enum(e) => self.enumeration(e),
            k => scalar(k),
        }
    }
}

/// The schema of a scalar kind in proto3 JSON.
pub(super) fn scalar(kind: &Kind) -> Json {
    match kind {
        Kind::Double => json!({ "type": "number", "format": "double" }),
        Kind::Float => json!({ "type": "number", "format": "float" }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({
            "type": "integer",
            "format": "int32",
            "minimum": i32::MIN,
            "maximum": i32::MAX,
        }),
        Kind::Uint32 | Kind::Fixed32 => json!({
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "maximum": u32::MAX,
        }),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({
            "type": "string",
            "format": "int64",
            "pattern": "^-?[0-9]+$",
        }),
        Kind::Uint64 | Kind::Fixed64 => json!({
            "type": "string",
            "format": "int64",
            "pattern": "^[0-9]+$",
        }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::String => json!({ "type": "string" }),
        Kind::Bytes => json!({
            "type": "string",
            "format": "byte",
            "contentEncoding": "base64",
        }),
        // Messages and enums are not scalars; the callers handle them first.
        Kind::Message(_) | Kind::Enum(_) => json!({}),
    }
}

/// The inline schema of a well-known type with a JSON form of its own (`None` for other
/// messages).
pub(super) fn well_known(full_name: &str) -> Option<Json> {
    let nullable = |kind: Kind| {
        let mut s = scalar(&kind);
        s["type"] = json!([s["type"].clone(), "null"]);
        s
    };
    Some(match full_name {
        "google.protobuf.Timestamp" => json!({ "type": "string", "format": "date-time" }),
        "google.protobuf.Duration" => json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
            "description": "A duration in seconds with up to nine fractional digits, ending in `s` (`1.5s`).",
        }),
        "google.protobuf.FieldMask" => json!({
            "type": "string",
            "description": "Field paths in lowerCamelCase, separated by commas (`name,email`).",
        }),
        "google.protobuf.Struct" => json!({ "type": "object", "additionalProperties": true }),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({ "type": "array", "items": {} }),
        "google.protobuf.Empty" => json!({ "type": "object", "additionalProperties": false }),
        "google.protobuf.DoubleValue" => nullable(Kind::Double),
        "google.protobuf.FloatValue" => nullable(Kind::Float),
        "google.protobuf.Int64Value" => nullable(Kind::Int64),
        "google.protobuf.UInt64Value" => nullable(Kind::Uint64),
        "google.protobuf.Int32Value" => nullable(Kind::Int32),
        "google.protobuf.UInt32Value" => nullable(Kind::Uint32),
        "google.protobuf.BoolValue" => nullable(Kind::Bool),
        "google.protobuf.StringValue" => nullable(Kind::String),
        "google.protobuf.BytesValue" => nullable(Kind::Bytes),
        "google.protobuf.Any" => json!({
            "type": "object",
            "description": "A message of any type: `@type` names it (`type.googleapis.com/google.rpc.BadRequest`), its fields follow.",
            "properties": { "@type": { "type": "string" } },
            "required": ["@type"],
            "additionalProperties": true,
        }),
        _ => return None,
    })
}
