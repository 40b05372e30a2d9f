//! The OpenAPI 3.1 document of the catalog's `google.api.http` bindings: one operation per
//! binding (path parameters from the template's variables, query parameters for the
//! request fields the path and body leave, the request body, the response, the
//! `google.rpc.Status` error as the `default` response, the security schemes), and the
//! schemas they use.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};

use super::{
    OpenApiOptions,
    schema::{Schemas, well_known},
    template::{Template, segments_pattern, single_segment},
};
use crate::bridge::catalog::{Catalog, Method};
use crate::bridge::http_rule::HttpRule;
use crate::config::MethodPattern;

/// How deep nested message fields are spread into query parameters (`a.b.c`).
const MAX_QUERY_DEPTH: usize = 3;

/// The name of the bearer-token security scheme.
const BEARER: &str = "bearerAuth";
/// The name of the API-key security scheme.
const API_KEY: &str = "apiKey";

/// Builds the document of every annotated method of `catalog`.
pub(super) fn build(catalog: &Catalog, opts: &OpenApiOptions) -> Json {
    let mut methods: Vec<&Method> = catalog
        .methods()
        .map(|m| &**m)
        .filter(|m| !m.http.is_empty())
        .collect();
    methods.sort_by(|a, b| a.path.cmp(&b.path));
    let mut schemas = Schemas::default();
    let mut paths: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    let mut ids = HashSet::new();
    let mut services = BTreeMap::new();
    let error = match catalog.pool().get_message_by_name("google.rpc.Status") {
        Some(status) => schemas.message(&status),
        None => json!({ "type": "object" }),
    };
    for m in &methods {
        let svc = m.desc.parent_service();
        services
            .entry(svc.full_name().to_owned())
            .or_insert_with(|| schemas.comments.of(&svc.parent_file(), svc.path()));
        let public = !opts.auth
            || opts
                .public_methods
                .iter()
                .any(|p: &MethodPattern| p.matches(&m.path));
        for (i, rule) in m.http.iter().enumerate() {
            let verb = rule.verb.to_ascii_lowercase();
            if !["get", "put", "post", "delete", "patch"].contains(&verb.as_str()) {
                tracing::warn!(method = %m.path, verb = %rule.verb, "custom HTTP verb: not in the OpenAPI document");
                continue;
            }
            let template = match Template::parse(&rule.template) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(method = %m.path, error = %e, "binding not in the OpenAPI document");
                    continue;
                }
            };
            let id = operation_id(m, i, &mut ids);
            let op = Operation {
                method: m,
                rule,
                template: &template,
                public,
                error: &error,
            }
            .build(&mut schemas, id);
            let item = paths.entry(template.openapi_path()).or_default();
            if item.contains_key(&verb) {
                tracing::warn!(method = %m.path, path = %rule.template, "two bindings for one path and verb: the first is documented");
                continue;
            }
            item.insert(verb, op);
        }
    }
    // Every message and enum of the documented services' files, used or not.
    let mut files = BTreeSet::new();
    for m in &methods {
        let file = m.desc.parent_file();
        if files.insert(file.name().to_owned()) {
            for msg in file.messages() {
                add_all(&mut schemas, &msg);
            }
            for e in file.enums() {
                schemas.enumeration(&e);
            }
        }
    }
    let title = opts.title.clone().unwrap_or_else(|| {
        let names: Vec<&str> = services.keys().map(String::as_str).collect();
        if names.is_empty() {
            "API".to_owned()
        } else {
            names.join(", ")
        }
    });
    let tags: Vec<Json> = services
        .into_iter()
        .map(|(name, about)| match about {
            Some(d) => json!({ "name": name, "description": d }),
            None => json!({ "name": name }),
        })
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": opts.version,
            "description": "REST/JSON bindings of the gRPC services (from their `google.api.http` options). Bodies are proto3 JSON; errors are the JSON form of `google.rpc.Status`.",
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "`Authorization: Bearer <token>`, e.g. the token `Login` returns.",
                },
                API_KEY: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "An API key from `middleware.auth.api_keys`.",
                },
            },
        },
    })
}

/// `Service_Method` (`_2`, `_3` for additional bindings; the package in front when two
/// services share a name).
fn operation_id(m: &Method, binding: usize, used: &mut HashSet<String>) -> String {
    let svc = m.desc.parent_service();
    let mut id = format!("{}_{}", svc.name(), m.desc.name());
    if binding > 0 {
        id = format!("{id}_{}", binding + 1);
    }
    if !used.insert(id.clone()) {
        id = format!("{}_{id}", svc.package_name().replace('.', "_"));
        used.insert(id.clone());
    }
    id
}

/// One binding of one method, being documented.
struct Operation<'a> {
    method: &'a Method,
    rule: &'a HttpRule,
    template: &'a Template,
    public: bool,
    error: &'a Json,
}

impl Operation<'_> {
    fn build(&self, schemas: &mut Schemas, id: String) -> Json {
        let m = &self.method.desc;
        let input = m.input();
        let mut op = json!({
            "operationId": id,
            "tags": [m.parent_service().full_name()],
            "x-grpc-method": &*self.method.path,
        });
        if let Some(text) = schemas.comments.of(&m.parent_file(), m.path()) {
            let summary = text.lines().next().unwrap_or_default().to_owned();
            op["summary"] = summary.into();
            op["description"] = text.into();
        }
        let path_fields: Vec<&str> = self.template.fields().collect();
        let mut params = self.path_params(schemas, &input);
        let body = self.rule.body.as_str();
        if body != "*" {
            let mut exclude: Vec<&str> = path_fields.clone();
            if !body.is_empty() {
                exclude.push(body);
            }
            let mut seen = BTreeSet::new();
            query_fields(schemas, &input, "", &exclude, 0, &mut params, &mut seen);
        }
        if !params.is_empty() {
            op["parameters"] = params.into();
        }
        if let Some(b) = self.request_body(schemas, &input, &path_fields) {
            op["requestBody"] = b;
        }
        op["responses"] = json!({
            "200": self.response(schemas),
            "default": {
                "description": "An error: the JSON form of `google.rpc.Status` (`code`, `message`, `details` such as `google.rpc.BadRequest`), with the HTTP status of its code.",
                "content": { "application/json": { "schema": self.error } },
            },
        });
        if !self.public {
            op["security"] = json!([{ BEARER: [] }, { API_KEY: [] }]);
        }
        op
    }

    /// One required path parameter per template variable, typed as its field.
    fn path_params(&self, schemas: &mut Schemas, input: &MessageDescriptor) -> Vec<Json> {
        let mut out = Vec::new();
        for part in &self.template.parts {
            let super::template::Part::Variable { field, segments } = part else {
                continue;
            };
            let mut schema = match resolve(input, field) {
                Some(f) => schemas.field(&f).0,
                None => {
                    tracing::warn!(method = %self.method.path, field, "path variable names no field of the request");
                    json!({ "type": "string" })
                }
            };
            let mut description = None;
            if !single_segment(segments) {
                let mut pattern = json!({ "pattern": segments_pattern(segments) });
                schema = match schema.get("pattern") {
                    Some(_) => json!({ "allOf": [schema, pattern] }),
                    None => {
                        schema["pattern"] = pattern["pattern"].take();
                        schema
                    }
                };
                description = Some(format!(
                    "Matches `{}`: the value may span several `/`-separated segments.",
                    segments.join("/")
                ));
            }
            let mut p = json!({
                "name": field,
                "in": "path",
                "required": true,
                "schema": schema,
            });
            if let Some(d) = description {
                p["description"] = d.into();
            }
            out.push(p);
        }
        out
    }

    fn request_body(
        &self,
        schemas: &mut Schemas,
        input: &MessageDescriptor,
        path_fields: &[&str],
    ) -> Option<Json> {
        let schema = match self.rule.body.as_str() {
            "" => return None,
            "*" => {
                let whole = schemas.message(input);
                let top: Vec<&str> = path_fields
                    .iter()
                    .copied()
                    .filter(|f| !f.contains('.'))
                    .collect();
                if top.is_empty() || well_known(input.full_name()).is_some() {
                    whole
                } else {
                    schemas.message_schema(input, &top)
                }
            }
            field => match input.get_field_by_name(field) {
                Some(f) => schemas.field(&f).0,
                None => {
                    tracing::warn!(method = %self.method.path, field, "`body` names no field of the request");
                    json!({})
                }
            },
        };
        Some(if self.method.client_streaming() {
            json!({
                "required": true,
                "description": "The request stream: one JSON message per line.",
                "content": { "application/x-ndjson": { "schema": schema } },
            })
        } else {
            json!({
                "required": true,
                "content": { "application/json": { "schema": schema } },
            })
        })
    }

    fn response(&self, schemas: &mut Schemas) -> Json {
        let output = self.method.desc.output();
        let schema = match self.rule.response_body.as_str() {
            "" => schemas.message(&output),
            field => match output.get_field_by_name(field) {
                Some(f) => schemas.field(&f).0,
                None => {
                    tracing::warn!(method = %self.method.path, field, "`response_body` names no field of the response");
                    schemas.message(&output)
                }
            },
        };
        if self.method.server_streaming() {
            json!({
                "description": "The response stream: Server-Sent Events (`Accept: text/event-stream`, one `data:` line per message) or one JSON message per line (`application/x-ndjson`). A failure after the first message ends the stream with the error.",
                "content": {
                    "text/event-stream": {
                        "schema": {
                            "type": "string",
                            "description": "Events whose `data` is one message as JSON, in the schema of the `application/x-ndjson` lines.",
                        },
                    },
                    "application/x-ndjson": { "schema": schema },
                },
            })
        } else {
            json!({
                "description": "OK",
                "content": { "application/json": { "schema": schema } },
            })
        }
    }
}

/// Adds `m`, its nested messages and enums to the components (not map entries).
fn add_all(schemas: &mut Schemas, m: &MessageDescriptor) {
    if m.is_map_entry() {
        return;
    }
    schemas.message(m);
    for inner in m.child_messages() {
        add_all(schemas, &inner);
    }
    for e in m.child_enums() {
        schemas.enumeration(&e);
    }
}

/// The field at a dotted path (`user.id`) of `m`.
fn resolve(m: &MessageDescriptor, path: &str) -> Option<FieldDescriptor> {
    let mut msg = m.clone();
    let mut parts = path.split('.').peekable();
    while let Some(name) = parts.next() {
        let f = msg.get_field_by_name(name)?;
        if parts.peek().is_none() {
            return Some(f);
        }
        msg = f.kind().as_message()?.clone();
    }
    None
}

/// Whether a well-known message type reads from one query value (`Timestamp`, wrappers).
fn scalar_like(m: &MessageDescriptor) -> bool {
    well_known(m.full_name()).is_some()
        && !matches!(
            m.full_name(),
            "google.protobuf.Struct"
                | "google.protobuf.Value"
                | "google.protobuf.ListValue"
                | "google.protobuf.Empty"
                | "google.protobuf.Any"
        )
}

/// The query parameters of the fields of `m` not in `exclude` (by dotted name): scalars,
/// enums and repeated ones directly, nested messages spread into `a.b` names (not maps,
/// not repeated messages, not deeper than [`MAX_QUERY_DEPTH`], no message twice on a
/// path; `seen` holds the messages on the current path).
fn query_fields(
    schemas: &mut Schemas,
    m: &MessageDescriptor,
    prefix: &str,
    exclude: &[&str],
    depth: usize,
    out: &mut Vec<Json>,
    seen: &mut BTreeSet<String>,
) {
    if !seen.insert(m.full_name().to_owned()) {
        return;
    }
    for f in m.fields() {
        let name = format!("{prefix}{}", f.name());
        if exclude.contains(&name.as_str()) || f.is_map() {
            continue;
        }
        if let Kind::Message(inner) = f.kind()
            && !scalar_like(&inner)
        {
            if !f.is_list() && depth + 1 < MAX_QUERY_DEPTH {
                query_fields(
                    schemas,
                    &inner,
                    &format!("{name}."),
                    exclude,
                    depth + 1,
                    out,
                    seen,
                );
            }
            continue;
        }
        let (schema, required) = schemas.field(&f);
        let mut p = json!({
            "name": name,
            "in": "query",
            "schema": schema,
        });
        if required {
            p["required"] = true.into();
        }
        if f.is_list() {
            p["style"] = "form".into();
            p["explode"] = true.into();
        }
        out.push(p);
    }
    seen.remove(m.full_name());
}
