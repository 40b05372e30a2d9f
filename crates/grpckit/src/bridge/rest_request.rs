//! A REST request built from a method's `google.api.http` binding and a request message:
//! the path filled from the message's fields, the body per `body`, the remaining fields as
//! query parameters. Clients (`grpckit call --protocol rest`, `grpckit perf --protocol
//! rest`) use it to call a REST gateway; it is the inverse of what the server's transcoder
//! reads.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use prost_reflect::{DynamicMessage, MethodDescriptor, ReflectMessage, SerializeOptions, Value};

use super::{
    http_rule::{HttpRule, rules_of},
    openapi::template::{Part, Template},
};

/// Characters percent-encoded in a path segment or a query value: all but RFC 3986's
/// unreserved ones.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One HTTP request of a REST binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRequest {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE` (or a custom verb).
    pub method: String,
    /// The path with its query string (`/v1/users/42?page_size=10`).
    pub path_and_query: String,
    /// The JSON body (`None` for a binding without `body`).
    pub body: Option<Vec<u8>>,
    /// The binding's `response_body`: the response is this field of the response message
    /// (empty: the whole message).
    pub response_body: String,
}

/// Why a REST request cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RestRequestError(String);

fn bindings(method: &MethodDescriptor) -> Vec<HttpRule> {
    let Some(ext) = method
        .parent_pool()
        .get_extension_by_name("google.api.http")
    else {
        return Vec::new();
    };
    let options = method.options();
    if !options.has_extension(&ext) {
        return Vec::new();
    }
    match options.get_extension(&ext).as_ref() {
        Value::Message(rule) => rules_of(rule),
        _ => Vec::new(),
    }
}

/// The request of the primary `google.api.http` binding of `method` carrying `msg`: each
/// path variable filled with its field's value (percent-encoded; a `{name=orders/*}`
/// variable keeps its `/`), the body per the binding's `body` (proto3 JSON, path fields
/// left out of `body: "*"`), and for bindings without a whole-message body the other set
/// fields as query parameters (proto field names, nested ones as `a.b`, repeated ones
/// repeated).
///
/// # Errors
/// The method has no binding, its template does not read, or a path field is empty.
pub fn rest_request(
    method: &MethodDescriptor,
    msg: &DynamicMessage,
) -> Result<RestRequest, RestRequestError> {
    let rule = bindings(method).into_iter().next().ok_or_else(|| {
        RestRequestError(format!(
            "{} has no google.api.http option",
            method.full_name()
        ))
    })?;
    let template = Template::parse(&rule.template).map_err(|e| RestRequestError(e.to_string()))?;
    let mut rest = msg.clone();
    let mut path = String::new();
    for part in &template.parts {
        path.push('/');
        match part {
            Part::Literal(s) => path.push_str(s),
            Part::Any | Part::AnyPath => {
                return Err(RestRequestError(format!(
                    "{}: the path template {:?} has a wildcard no field fills",
                    method.full_name(),
                    rule.template
                )));
            }
            Part::Variable { field, segments } => {
                let value = take_field(&mut rest, field).ok_or_else(|| {
                    RestRequestError(format!(
                        "{}: the path needs the field `{field}`, which is empty",
                        method.full_name()
                    ))
                })?;
                let multi = segments.len() > 1 || segments.iter().any(|s| s == "**");
                let encoded: Vec<String> = if multi {
                    value
                        .split('/')
                        .map(|s| utf8_percent_encode(s, COMPONENT).to_string())
                        .collect()
                } else {
                    vec![utf8_percent_encode(&value, COMPONENT).to_string()]
                };
                path.push_str(&encoded.join("/"));
            }
        }
    }
    if let Some(v) = &template.verb {
        path.push(':');
        path.push_str(v);
    }
    let body = match rule.body.as_str() {
        "" => None,
        "*" => {
            let json = to_json(&rest, false);
            rest = DynamicMessage::new(rest.descriptor());
            Some(serde_json::to_vec(&json).unwrap_or_default())
        }
        field => {
            let f = rest.descriptor().get_field_by_name(field).ok_or_else(|| {
                RestRequestError(format!(
                    "{}: `body` names no field `{field}`",
                    method.full_name()
                ))
            })?;
            let json = to_json(&rest, false);
            rest.clear_field(&f);
            let value = json
                .get(f.json_name())
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            Some(serde_json::to_vec(&value).unwrap_or_default())
        }
    };
    let mut query = Vec::new();
    flatten("", &to_json(&rest, true), &mut query);
    let mut path_and_query = path;
    for (i, (k, v)) in query.iter().enumerate() {
        path_and_query.push(if i == 0 { '?' } else { '&' });
        path_and_query.push_str(&utf8_percent_encode(k, COMPONENT).to_string());
        path_and_query.push('=');
        path_and_query.push_str(&utf8_percent_encode(v, COMPONENT).to_string());
    }
    Ok(RestRequest {
        method: rule.verb,
        path_and_query,
        body,
        response_body: rule.response_body,
    })
}

/// Removes the field at the dotted path `path` from `msg` and returns its value as path
/// text (`None` when unset or empty).
fn take_field(msg: &mut DynamicMessage, path: &str) -> Option<String> {
    let (first, rest) = match path.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (path, None),
    };
    let f = msg.descriptor().get_field_by_name(first)?;
    if let Some(rest) = rest {
        let Value::Message(inner) = msg.get_field_mut(&f) else {
            return None;
        };
        return take_field(inner, rest);
    }
    let text = match msg.get_field(&f).as_ref() {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(n) => n.to_string(),
        Value::F64(n) => n.to_string(),
        Value::EnumNumber(n) => f
            .kind()
            .as_enum()
            .and_then(|e| e.get_value(*n))
            .map_or_else(|| n.to_string(), |v| v.name().to_owned()),
        _ => return None,
    };
    msg.clear_field(&f);
    (!text.is_empty()).then_some(text)
}

/// `msg` as proto3 JSON (proto field names when `proto_names`), default values left out.
fn to_json(msg: &DynamicMessage, proto_names: bool) -> serde_json::Value {
    let opts = SerializeOptions::new()
        .stringify_64_bit_integers(true)
        .use_proto_field_name(proto_names)
        .skip_default_fields(true);
    msg.serialize_with_options(serde_json::value::Serializer, &opts)
        .unwrap_or_else(|_| serde_json::json!({}))
}

/// A JSON value as query parameters: objects spread into `a.b`, arrays repeated.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value as J;
    match v {
        J::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        J::Array(items) => {
            for item in items {
                flatten(prefix, item, out);
            }
        }
        J::Null => {}
        J::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> prost_reflect::DescriptorPool {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
        std::fs::write(
            dir.path().join("t.proto"),
            r#"syntax = "proto3";
package t;
import "google/api/annotations.proto";
enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; }
message Sub { int64 n = 1; string s = 2; }
message Req {
  string id = 1;
  string name = 2;
  repeated string tags = 3;
  Sub sub = 4;
  Color color = 5;
  Sub thing = 6;
}
service S {
  rpc Get(Req) returns (Req) { option (google.api.http) = {get: "/v1/items/{id}"}; }
  rpc Named(Req) returns (Req) { option (google.api.http) = {get: "/v1/{name=shelves/*/items/*}:peek"}; }
  rpc Put(Req) returns (Req) { option (google.api.http) = {put: "/v1/items/{id}" body: "thing" response_body: "thing"}; }
  rpc Post(Req) returns (Req) { option (google.api.http) = {post: "/v1/items/{sub.s}:make" body: "*"}; }
  rpc None(Req) returns (Req);
}
"#,
        )
        .unwrap();
        let mut c = protox::Compiler::new([dir.path(), root.as_path()]).unwrap();
        c.include_imports(true);
        c.open_file("t.proto").unwrap();
        prost_reflect::DescriptorPool::decode(c.encode_file_descriptor_set().as_slice()).unwrap()
    }

    fn build(method: &str, json: &str) -> Result<RestRequest, RestRequestError> {
        let pool = pool();
        let m = pool
            .get_service_by_name("t.S")
            .unwrap()
            .methods()
            .find(|m| m.name() == method)
            .unwrap();
        let mut de = serde_json::Deserializer::from_str(json);
        let msg = DynamicMessage::deserialize(m.input(), &mut de).unwrap();
        rest_request(&m, &msg)
    }

    #[test]
    fn path_fields_fill_the_template_and_the_rest_goes_to_the_query() {
        let r = build(
            "Get",
            r#"{"id":"a b/c","name":"x","tags":["p","q&r"],"sub":{"n":"5"},"color":"COLOR_RED"}"#,
        )
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.path_and_query,
            "/v1/items/a%20b%2Fc?color=COLOR_RED&name=x&sub.n=5&tags=p&tags=q%26r"
        );
        assert_eq!(r.body, None);
    }

    #[test]
    fn multi_segment_variables_keep_their_slashes_and_verbs_stay() {
        let r = build("Named", r#"{"name":"shelves/1/items/2"}"#).unwrap();
        assert_eq!(r.path_and_query, "/v1/shelves/1/items/2:peek");
    }

    #[test]
    fn bodies_follow_the_rule() {
        let r = build("Put", r#"{"id":"7","name":"n","thing":{"n":"1"}}"#).unwrap();
        assert_eq!(r.method, "PUT");
        assert_eq!(r.path_and_query, "/v1/items/7?name=n");
        assert_eq!(r.body.as_deref(), Some(&br#"{"n":"1"}"#[..]));
        assert_eq!(r.response_body, "thing");

        let r = build("Post", r#"{"id":"7","sub":{"s":"k","n":"2"}}"#).unwrap();
        assert_eq!(r.path_and_query, "/v1/items/k:make");
        let body: serde_json::Value = serde_json::from_slice(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"id": "7", "sub": {"n": "2"}}));
    }

    #[test]
    fn missing_bindings_and_empty_path_fields_are_errors() {
        assert!(
            build("None", "{}")
                .unwrap_err()
                .0
                .contains("no google.api.http")
        );
        assert!(build("Get", "{}").unwrap_err().0.contains("`id`"));
    }
}
