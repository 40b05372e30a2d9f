//! A field's `buf.validate.field` rules (the standard ones the validator enforces, see
//! `middleware::validate`) as JSON Schema constraints: string lengths, `pattern`,
//! `email`/`uuid`/`hostname`/`ipv4`/`ipv6`/`uri` formats, `const`/`in`, numeric bounds,
//! repeated item counts and `unique`, map pair counts, `required`, and
//! `ignore: IGNORE_IF_ZERO_VALUE` (the zero value allowed besides the constrained ones).
//! Rules JSON Schema cannot say (CEL expressions, prefixes, byte lengths) are left out: the
//! server still enforces them.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, Value};
use serde_json::{Map, Value as Json, json};

/// The HTML5 e-mail address grammar protovalidate (and the built-in validator) checks
/// `string.email` against: stricter than `format: email` alone, so both are given.
const EMAIL: &str = r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$";

/// `buf.validate.Ignore.IGNORE_IF_ZERO_VALUE`.
const IGNORE_IF_ZERO_VALUE: i32 = 1;
/// `buf.validate.Ignore.IGNORE_ALWAYS`.
const IGNORE_ALWAYS: i32 = 3;

/// The `buf.validate.field` option of `f`, when it has one.
pub(super) fn field_rules(f: &FieldDescriptor) -> Option<DynamicMessage> {
    let ext = f
        .parent_pool()
        .get_extension_by_name("buf.validate.field")?;
    let opts = f.options();
    if !opts.has_extension(&ext) {
        return None;
    }
    match opts.get_extension(&ext).into_owned() {
        Value::Message(m) => Some(m),
        _ => None,
    }
}

/// Adds the constraints of `rules` to `schema`, the schema of the whole field `f` (an array
/// for a repeated field, an object for a map). Returns whether the field is `required`.
pub(super) fn apply(rules: &DynamicMessage, f: &FieldDescriptor, schema: &mut Json) -> bool {
    let required = matches!(
        rules.get_field_by_name("required").as_deref(),
        Some(Value::Bool(true))
    );
    if f.is_list() {
        if let (Some(Value::Message(r)), Some(obj)) = (
            rules.get_field_by_name("repeated").as_deref(),
            schema.as_object_mut(),
        ) {
            for (rf, v) in r.fields() {
                match (rf.name(), v) {
                    ("min_items", v) => put(obj, "minItems", number(v)),
                    ("max_items", v) => put(obj, "maxItems", number(v)),
                    ("unique", Value::Bool(true)) => put(obj, "uniqueItems", Some(json!(true))),
                    ("items", Value::Message(items)) => {
                        if let Some(item) = obj.get_mut("items") {
                            value_rules(items, &f.kind(), item);
                        }
                    }
                    _ => {}
                }
            }
        }
    } else if f.is_map() {
        if let (Some(Value::Message(r)), Some(obj)) = (
            rules.get_field_by_name("map").as_deref(),
            schema.as_object_mut(),
        ) {
            let value_kind = match f.kind() {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                k => k,
            };
            for (rf, v) in r.fields() {
                match (rf.name(), v) {
                    ("min_pairs", v) => put(obj, "minProperties", number(v)),
                    ("max_pairs", v) => put(obj, "maxProperties", number(v)),
                    ("values", Value::Message(values)) => {
                        if let Some(item) = obj.get_mut("additionalProperties") {
                            value_rules(values, &value_kind, item);
                        }
                    }
                    _ => {}
                }
            }
        }
    } else {
        value_rules(rules, &f.kind(), schema);
    }
    required
}

/// The rules of one value (a singular field, an item, a map value) of kind `kind`.
fn value_rules(rules: &DynamicMessage, kind: &Kind, schema: &mut Json) {
    let ignore = match rules.get_field_by_name("ignore").as_deref() {
        Some(Value::EnumNumber(n)) => *n,
        _ => 0,
    };
    if ignore == IGNORE_ALWAYS {
        return;
    }
    let mut kw = Map::new();
    for (rf, v) in rules.fields() {
        if let Value::Message(r) = v {
            match rf.name() {
                "string" => string_rules(r, &mut kw),
                "float" | "double" | "int32" | "uint32" | "sint32" | "fixed32" | "sfixed32"
                | "int64" | "uint64" | "sint64" | "fixed64" | "sfixed64" => {
                    number_rules(r, &mut kw);
                }
                _ => {}
            }
        }
    }
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if kw.is_empty() {
        return;
    }
    if ignore == IGNORE_IF_ZERO_VALUE {
        let zero = match kind {
            Kind::String | Kind::Bytes => json!(""),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
                json!("0")
            }
            Kind::Bool => json!(false),
            _ => json!(0),
        };
        obj.insert("anyOf".into(), json!([{ "const": zero }, kw]));
    } else {
        obj.extend(kw);
    }
}

fn string_rules(r: &DynamicMessage, kw: &mut Map<String, Json>) {
    for (rf, v) in r.fields() {
        let on = matches!(v, Value::Bool(true));
        match rf.name() {
            "const" => put(kw, "const", v.as_str().map(|s| json!(s))),
            "len" => {
                put(kw, "minLength", number(v));
                put(kw, "maxLength", number(v));
            }
            "min_len" => put(kw, "minLength", number(v)),
            "max_len" => put(kw, "maxLength", number(v)),
            "pattern" => put(kw, "pattern", v.as_str().map(|s| json!(s))),
            "in" => put(kw, "enum", list(v, |x| x.as_str().map(|s| json!(s)))),
            "email" if on => {
                put(kw, "format", Some(json!("email")));
                if !kw.contains_key("pattern") {
                    put(kw, "pattern", Some(json!(EMAIL)));
                }
            }
            "uuid" if on => put(kw, "format", Some(json!("uuid"))),
            "hostname" if on => put(kw, "format", Some(json!("hostname"))),
            "ipv4" if on => put(kw, "format", Some(json!("ipv4"))),
            "ipv6" if on => put(kw, "format", Some(json!("ipv6"))),
            "uri" if on => put(kw, "format", Some(json!("uri"))),
            _ => {}
        }
    }
}

fn number_rules(r: &DynamicMessage, kw: &mut Map<String, Json>) {
    for (rf, v) in r.fields() {
        match rf.name() {
            "const" => put(kw, "const", number(v)),
            "lt" => put(kw, "exclusiveMaximum", number(v)),
            "lte" => put(kw, "maximum", number(v)),
            "gt" => put(kw, "exclusiveMinimum", number(v)),
            "gte" => put(kw, "minimum", number(v)),
            "in" => put(kw, "enum", list(v, number)),
            _ => {}
        }
    }
}

fn put(obj: &mut Map<String, Json>, key: &str, value: Option<Json>) {
    if let Some(v) = value {
        obj.insert(key.to_owned(), v);
    }
}

fn list(v: &Value, each: impl Fn(&Value) -> Option<Json>) -> Option<Json> {
    match v {
        Value::List(l) if !l.is_empty() => Some(Json::Array(l.iter().filter_map(each).collect())),
        _ => None,
    }
}

/// A rule's number as JSON (`None` for a non-finite float or a non-number).
fn number(v: &Value) -> Option<Json> {
    Some(match v {
        Value::I32(x) => json!(x),
        Value::I64(x) => json!(x),
        Value::U32(x) => json!(x),
        Value::U64(x) => json!(x),
        Value::F32(x) => serde_json::Number::from_f64(f64::from(*x))?.into(),
        Value::F64(x) => serde_json::Number::from_f64(*x)?.into(),
        _ => return None,
    })
}
