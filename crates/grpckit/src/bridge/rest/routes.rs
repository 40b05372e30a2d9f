//! The route table: every `google.api.http` binding of every served method, its template
//! parsed and its field paths resolved once, most specific first.

use std::{borrow::Cow, sync::Arc};

use http::Method as Verb;
use percent_encoding::percent_decode_str;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

use super::template::{Bounds, Template};
use crate::bridge::{Catalog, catalog::Method};

/// Where the request message comes from besides the path and the query string.
#[derive(Debug, Clone)]
pub(crate) enum BodySpec {
    /// No body: every other field comes from the query string.
    None,
    /// `body: "*"`: the body is the whole request message.
    Whole,
    /// `body: "field"`: the body is that field; the rest comes from the query string.
    Field(FieldDescriptor),
}

/// One binding of one method.
#[derive(Debug)]
pub(crate) struct Route {
    /// The method called.
    pub(crate) method: Arc<Method>,
    /// The HTTP method it answers.
    pub(crate) verb: Verb,
    /// Its parsed path template.
    pub(crate) template: Template,
    /// For each template variable, the fields it sets (outermost first).
    pub(crate) variables: Vec<Vec<FieldDescriptor>>,
    /// Where the body goes.
    pub(crate) body: BodySpec,
    /// `response_body`: the field of the response sent instead of the whole message.
    pub(crate) response_body: Option<FieldDescriptor>,
}

/// A request matched to a route, with its path variables (percent-decoded).
#[derive(Debug)]
pub(crate) struct Matched<'a> {
    /// The route.
    pub(crate) route: &'a Arc<Route>,
    /// One value per template variable.
    pub(crate) values: Vec<Cow<'a, str>>,
}

/// The outcome of a lookup.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// A binding matches path and verb.
    Found(Matched<'a>),
    /// Bindings match the path, none the verb: these verbs would.
    WrongVerb(Vec<&'a Verb>),
    /// No binding matches the path.
    NotFound,
}

/// Every binding, most specific template first.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    routes: Vec<Arc<Route>>,
}

impl Routes {
    /// Builds the table from the catalog; a binding that does not fit its method (bad
    /// template, unknown field) is left out with a warning.
    pub(crate) fn new(catalog: &Catalog) -> Self {
        let mut routes = Vec::new();
        for method in catalog.methods() {
            for rule in &method.http {
                match route(method, rule) {
                    Ok(r) => routes.push(Arc::new(r)),
                    Err(e) => tracing::warn!(
                        method = &*method.path,
                        template = rule.template,
                        error = e,
                        "google.api.http binding not served"
                    ),
                }
            }
        }
        // Most specific first; ties in a stable order (by gRPC path).
        routes.sort_by(|a, b| {
            b.template
                .specificity()
                .cmp(&a.template.specificity())
                .then_with(|| a.method.path.cmp(&b.method.path))
        });
        Self { routes }
    }

    /// Finds the binding of `verb` `path`.
    pub(crate) fn find<'a>(&'a self, verb: &Verb, path: &'a str) -> Lookup<'a> {
        let mut bounds = Bounds::with_capacity(8);
        let mut allowed: Vec<&Verb> = Vec::new();
        for r in &self.routes {
            if !r.template.matches(path, &mut bounds) {
                continue;
            }
            if r.verb == *verb {
                let values = r
                    .template
                    .variables
                    .iter()
                    .map(|v| {
                        let raw = r.template.value(v, path, &bounds);
                        percent_decode_str(raw).decode_utf8_lossy()
                    })
                    .collect();
                return Lookup::Found(Matched { route: r, values });
            }
            if !allowed.contains(&&r.verb) {
                allowed.push(&r.verb);
            }
        }
        if allowed.is_empty() {
            Lookup::NotFound
        } else {
            Lookup::WrongVerb(allowed)
        }
    }
}

fn route(method: &Arc<Method>, rule: &crate::bridge::http_rule::HttpRule) -> Result<Route, String> {
    let verb = Verb::from_bytes(rule.verb.as_bytes()).map_err(|e| format!("verb: {e}"))?;
    let template = Template::parse(&rule.template)?;
    let input = method.desc.input();
    let variables = template
        .variables
        .iter()
        .map(|v| {
            let path = field_path(&input, v.field_path.iter().map(|s| &**s))?;
            match path.last() {
                Some(f) if f.is_list() || f.is_map() => {
                    Err(format!("path variable {} is repeated", f.name()))
                }
                Some(f) if matches!(f.kind(), Kind::Message(_)) && !is_scalar_wkt(f) => {
                    Err(format!("path variable {} is a message", f.name()))
                }
                _ => Ok(path),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = match rule.body.as_str() {
        "" => BodySpec::None,
        "*" => BodySpec::Whole,
        name => BodySpec::Field(
            input
                .get_field_by_name(name)
                .ok_or_else(|| format!("body field {name} not in {}", input.full_name()))?,
        ),
    };
    let output = method.desc.output();
    let response_body =
        match rule.response_body.as_str() {
            "" => None,
            name => Some(output.get_field_by_name(name).ok_or_else(|| {
                format!("response_body field {name} not in {}", output.full_name())
            })?),
        };
    Ok(Route {
        method: method.clone(),
        verb,
        template,
        variables,
        body,
        response_body,
    })
}

/// Resolves a dotted field path (each part by proto name or JSON name) in `desc`; every part
/// but the last must be a singular message field.
pub(crate) fn field_path<'s>(
    desc: &MessageDescriptor,
    parts: impl IntoIterator<Item = &'s str>,
) -> Result<Vec<FieldDescriptor>, String> {
    let mut out: Vec<FieldDescriptor> = Vec::new();
    let mut msg = desc.clone();
    for part in parts {
        if let Some(prev) = out.last() {
            match prev.kind() {
                Kind::Message(m) if !prev.is_list() && !prev.is_map() => msg = m,
                _ => {
                    return Err(format!(
                        "{} is not a message field, {part} cannot be inside it",
                        prev.name()
                    ));
                }
            }
        }
        let f = msg
            .get_field_by_name(part)
            .or_else(|| msg.get_field_by_json_name(part))
            .ok_or_else(|| format!("no field {part} in {}", msg.full_name()))?;
        out.push(f);
    }
    if out.is_empty() {
        return Err("empty field path".to_owned());
    }
    Ok(out)
}

/// A well-known message type written as one JSON string or number (Timestamp, Duration,
/// FieldMask, the wrappers), so it can come from a path or query value.
pub(crate) fn is_scalar_wkt(f: &FieldDescriptor) -> bool {
    match f.kind() {
        Kind::Message(m) => matches!(
            m.full_name(),
            "google.protobuf.Timestamp"
                | "google.protobuf.Duration"
                | "google.protobuf.FieldMask"
                | "google.protobuf.DoubleValue"
                | "google.protobuf.FloatValue"
                | "google.protobuf.Int64Value"
                | "google.protobuf.UInt64Value"
                | "google.protobuf.Int32Value"
                | "google.protobuf.UInt32Value"
                | "google.protobuf.BoolValue"
                | "google.protobuf.StringValue"
                | "google.protobuf.BytesValue"
        ),
        _ => false,
    }
}
