//! The `google.api.http` option of a method, read from its descriptor: verb, path template,
//! `body`, `response_body` and `additional_bindings` (flattened, primary binding first).

use prost_reflect::{DynamicMessage, ReflectMessage, Value};

/// One HTTP binding of a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpRule {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, or the `custom` verb's kind.
    pub(crate) verb: String,
    /// The path template, e.g. `/v1/users/{id}` or `/v1/{name=orders/*}:pay`.
    pub(crate) template: String,
    /// `body`: empty (no body), `*` (the whole request) or a field name.
    pub(crate) body: String,
    /// `response_body`: empty (the whole response) or a field name.
    pub(crate) response_body: String,
}

/// The bindings of one `google.api.HttpRule` message: itself, then its
/// `additional_bindings` (one level, as the option allows).
pub(crate) fn rules_of(rule: &DynamicMessage) -> Vec<HttpRule> {
    let mut out = Vec::new();
    if let Some(r) = one(rule) {
        out.push(r);
    }
    if let Some(Value::List(more)) = rule
        .get_field_by_name("additional_bindings")
        .map(|v| v.into_owned())
    {
        for v in more {
            if let Value::Message(m) = v {
                out.extend(one(&m));
            }
        }
    }
    out
}

fn string(msg: &DynamicMessage, name: &str) -> String {
    match msg.get_field_by_name(name).as_deref() {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn one(rule: &DynamicMessage) -> Option<HttpRule> {
    let (verb, template) = ["get", "put", "post", "delete", "patch"]
        .iter()
        .find_map(|v| {
            let field = rule.descriptor().get_field_by_name(v)?;
            rule.has_field(&field)
                .then(|| (v.to_ascii_uppercase(), string(rule, v)))
        })
        .or_else(|| {
            let field = rule.descriptor().get_field_by_name("custom")?;
            if !rule.has_field(&field) {
                return None;
            }
            match rule.get_field(&field).as_ref() {
                Value::Message(c) => Some((string(c, "kind"), string(c, "path"))),
                _ => None,
            }
        })?;
    Some(HttpRule {
        verb,
        template,
        body: string(rule, "body"),
        response_body: string(rule, "response_body"),
    })
}
