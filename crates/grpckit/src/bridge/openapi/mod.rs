//! The OpenAPI 3.1 document of the REST bindings, generated from the descriptors: every
//! `google.api.http` binding as an operation, the messages and enums as proto3 JSON schemas
//! with their `buf.validate` rules as constraints, the bearer-token and API-key security
//! schemes, and `google.rpc.Status` as the error. Served at `GET /openapi.json`
//! (`server.http.openapi`), generated on first request and kept; `grpckit openapi` prints the
//! same document offline ([`document`]).

mod comments;
mod document;
mod rules;
mod schema;
pub(crate) mod template;

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use tonic::body::Body;

use super::{Catalog, Ctx};
use crate::config::MethodPattern;

/// What the document says besides the descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiOptions {
    /// `info.title`. Default: the names of the documented services.
    pub title: Option<String>,
    /// `info.version`. Default `"1"`.
    pub version: String,
    /// Whether calls need credentials (`middleware.auth.enabled`): without, no operation
    /// names a security scheme. Default `true`.
    pub auth: bool,
    /// Methods callable without credentials (`middleware.auth.public_methods`): their
    /// operations name no security scheme. Default none.
    pub public_methods: Vec<MethodPattern>,
}

impl Default for OpenApiOptions {
    fn default() -> Self {
        Self {
            title: None,
            version: "1".to_owned(),
            auth: true,
            public_methods: Vec::new(),
        }
    }
}

/// The OpenAPI 3.1 document of the `google.api.http` bindings of the methods in `sets`
/// (encoded `FileDescriptorSet`s, as given to
/// [`ServerBuilder::file_descriptor_set`](crate::server::ServerBuilder::file_descriptor_set)).
/// It is the document a server with these sets serves at `GET /openapi.json`.
pub fn document(sets: &[&[u8]], opts: &OpenApiOptions) -> serde_json::Value {
    document::build(&Catalog::new(sets), opts)
}

/// The served document: its options, set once the server knows its auth settings, and the
/// document, generated on first request.
#[derive(Debug, Default)]
pub(crate) struct Served {
    options: OnceLock<OpenApiOptions>,
    json: OnceLock<Bytes>,
}

impl Served {
    /// Sets the options (the first call wins; the default options otherwise).
    pub(crate) fn set_options(&self, opts: OpenApiOptions) {
        let _ = self.options.set(opts);
    }

    fn json(&self, catalog: &Catalog) -> Bytes {
        self.json
            .get_or_init(|| {
                let opts = self.options.get_or_init(OpenApiOptions::default);
                let doc = document::build(catalog, opts);
                serde_json::to_vec_pretty(&doc).unwrap_or_default().into()
            })
            .clone()
    }
}

/// Serves `GET /openapi.json` (`404` when `server.http.openapi` is off).
pub(crate) async fn serve(_req: Request<Body>, ctx: &Ctx) -> Response<Body> {
    if !ctx.shared.config.openapi {
        return super::plain(StatusCode::NOT_FOUND, "not found");
    }
    let json = ctx.shared.openapi.json(&ctx.shared.catalog);
    let mut res = Response::new(super::call::full_body(json));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    *res.status_mut() = StatusCode::OK;
    res
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// Compiles `source` (file `t.proto`, with the repo's `proto/` on the import path) into
    /// an encoded descriptor set, source info kept.
    fn compile(source: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
        std::fs::write(dir.path().join("t.proto"), source).unwrap();
        let mut c = protox::Compiler::new([dir.path(), root.as_path()]).unwrap();
        c.include_imports(true).include_source_info(true);
        c.open_file("t.proto").unwrap();
        c.encode_file_descriptor_set()
    }

    const TEST_PROTO: &str = r#"syntax = "proto3";
package t.v1;
import "buf/validate/validate.proto";
import "google/api/annotations.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

// Things.
service Things {
  // Reads a thing.
  // Second line.
  rpc Get(GetReq) returns (Thing) {
    option (google.api.http) = {
      get: "/v1/{name=things/*}"
      additional_bindings { get: "/v1/shelves/{shelf}/things/{name}" }
    };
  }
  rpc Put(PutReq) returns (Thing) {
    option (google.api.http) = {put: "/v1/things/{id}:replace" body: "thing" response_body: "labels"};
  }
  rpc Make(Thing) returns (google.protobuf.Empty) {
    option (google.api.http) = {post: "/v1/things" body: "*"};
  }
  rpc Watch(GetReq) returns (stream Thing) {
    option (google.api.http) = {get: "/v1/things:watch"};
  }
  rpc Upload(stream Thing) returns (Thing) {
    option (google.api.http) = {post: "/v1/things:upload" body: "*"};
  }
  rpc NotBound(GetReq) returns (Thing);
}

enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; }

message Filter {
  string text = 1;
  Inner inner = 2;
  message Inner { int64 after = 1; }
}

message GetReq {
  string name = 1 [(buf.validate.field).string.min_len = 1];
  string shelf = 2;
  int32 page_size = 3 [(buf.validate.field).int32 = {gte: 0, lte: 100}];
  repeated Color colors = 4;
  Filter filter = 5;
  google.protobuf.Timestamp since = 6;
  map<string, string> ignored_map = 7;
}

message PutReq {
  string id = 1;
  Thing thing = 2 [(buf.validate.field).required = true];
  bool dry_run = 3;
}

// A thing.
message Thing {
  // Its id.
  string id = 1 [(buf.validate.field).string.uuid = true];
  int64 count = 2;
  uint64 big = 3;
  bytes blob = 4;
  Color color = 5;
  google.protobuf.Timestamp at = 6;
  google.protobuf.Duration ttl = 7;
  google.protobuf.FieldMask mask = 8;
  google.protobuf.Struct meta = 9;
  google.protobuf.Value any_value = 10;
  google.protobuf.StringValue nick = 11;
  google.protobuf.Int64Value maybe = 12;
  map<string, int32> labels = 13 [(buf.validate.field).map.min_pairs = 1];
  repeated string tags = 14 [(buf.validate.field).repeated = {min_items: 1, max_items: 3, unique: true, items: {string: {max_len: 8}}}];
  string email = 15 [(buf.validate.field).string.email = true];
  string code = 16 [(buf.validate.field).string.pattern = "^[A-Z]{3}$", (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
  uint32 qty = 17 [(buf.validate.field).uint32.gt = 0];
  double ratio = 18 [(buf.validate.field).double = {gte: 0, lt: 1}];
  Thing parent = 19;
}
"#;

    fn doc() -> Value {
        let set = compile(TEST_PROTO);
        document(
            &[&set],
            &OpenApiOptions {
                public_methods: vec![MethodPattern::exact("t.v1.Things/Make")],
                ..OpenApiOptions::default()
            },
        )
    }

    fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name} in {op:#}"))
    }

    #[test]
    fn every_binding_is_an_operation() {
        let d = doc();
        assert_eq!(d["openapi"], "3.1.0");
        assert_eq!(d["info"]["title"], "t.v1.Things");
        let paths = d["paths"].as_object().unwrap();
        let mut got: Vec<String> = paths
            .iter()
            .flat_map(|(p, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |v| format!("{v} {p}"))
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                "get /v1/shelves/{shelf}/things/{name}",
                "get /v1/things:watch",
                "get /v1/{name}",
                "post /v1/things",
                "post /v1/things:upload",
                "put /v1/things/{id}:replace",
            ]
        );
        assert_eq!(d["paths"]["/v1/{name}"]["get"]["operationId"], "Things_Get");
        assert_eq!(
            d["paths"]["/v1/shelves/{shelf}/things/{name}"]["get"]["operationId"],
            "Things_Get_2"
        );
        let get = &d["paths"]["/v1/{name}"]["get"];
        assert_eq!(get["tags"], json!(["t.v1.Things"]));
        assert_eq!(get["summary"], "Reads a thing.");
        assert_eq!(get["description"], "Reads a thing.\nSecond line.");
        assert_eq!(d["tags"][0]["description"], "Things.");
    }

    #[test]
    fn path_variables_are_required_path_parameters() {
        let d = doc();
        let get = &d["paths"]["/v1/{name}"]["get"];
        let name = param(get, "name");
        assert_eq!(name["in"], "path");
        assert_eq!(name["required"], true);
        assert_eq!(name["schema"]["pattern"], "^things/[^/]+$");
        assert_eq!(name["schema"]["minLength"], 1);
        assert!(name["description"].as_str().unwrap().contains("things/*"));
        let put = &d["paths"]["/v1/things/{id}:replace"]["put"];
        assert_eq!(param(put, "id")["in"], "path");
    }

    #[test]
    fn unbound_fields_are_query_parameters() {
        let d = doc();
        let get = &d["paths"]["/v1/{name}"]["get"];
        let names: Vec<&str> = get["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "name",
                "shelf",
                "page_size",
                "colors",
                "filter.text",
                "filter.inner.after",
                "since"
            ]
        );
        let size = param(get, "page_size");
        assert_eq!(size["in"], "query");
        assert_eq!(
            (&size["schema"]["minimum"], &size["schema"]["maximum"]),
            (&json!(0), &json!(100))
        );
        let colors = param(get, "colors");
        assert_eq!(colors["schema"]["type"], "array");
        assert_eq!(
            colors["schema"]["items"]["$ref"],
            "#/components/schemas/t.v1.Color"
        );
        assert_eq!(colors["explode"], true);
        assert_eq!(param(get, "since")["schema"]["format"], "date-time");
        assert_eq!(
            param(get, "filter.inner.after")["schema"]["format"],
            "int64"
        );
        // body: "thing": the rest (not the path's id) from the query.
        let put = &d["paths"]["/v1/things/{id}:replace"]["put"];
        let names: Vec<&str> = put["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["id", "dry_run"]);
        // body: "*": nothing from the query.
        assert!(d["paths"]["/v1/things"]["post"].get("parameters").is_none());
    }

    #[test]
    fn bodies_and_responses_follow_the_rule() {
        let d = doc();
        let put = &d["paths"]["/v1/things/{id}:replace"]["put"];
        assert_eq!(
            put["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/t.v1.Thing"
        );
        let labels = &put["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(labels["type"], "object");
        assert_eq!(labels["additionalProperties"]["format"], "int32");
        let make = &d["paths"]["/v1/things"]["post"];
        assert_eq!(
            make["responses"]["200"]["content"]["application/json"]["schema"]["type"],
            "object"
        );
        assert_eq!(
            make["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/google.rpc.Status"
        );
        let watch = &d["paths"]["/v1/things:watch"]["get"]["responses"]["200"]["content"];
        assert!(watch.get("text/event-stream").is_some());
        assert_eq!(
            watch["application/x-ndjson"]["schema"]["$ref"],
            "#/components/schemas/t.v1.Thing"
        );
        let upload = &d["paths"]["/v1/things:upload"]["post"]["requestBody"]["content"];
        assert_eq!(
            upload["application/x-ndjson"]["schema"]["$ref"],
            "#/components/schemas/t.v1.Thing"
        );
    }

    #[test]
    fn schemas_are_proto3_json_with_the_rules() {
        let d = doc();
        let s = &d["components"]["schemas"];
        let t = &s["t.v1.Thing"]["properties"];
        assert_eq!(s["t.v1.Thing"]["description"], "A thing.");
        assert_eq!(s["t.v1.Thing"]["additionalProperties"], false);
        assert_eq!(t["id"]["description"], "Its id.");
        assert_eq!(t["id"]["format"], "uuid");
        assert_eq!(
            (&t["count"]["type"], &t["count"]["format"]),
            (&json!("string"), &json!("int64"))
        );
        assert_eq!(t["big"]["type"], "string");
        assert_eq!(t["blob"]["contentEncoding"], "base64");
        assert_eq!(t["color"]["$ref"], "#/components/schemas/t.v1.Color");
        assert_eq!(
            s["t.v1.Color"],
            json!({"type": "string", "enum": ["COLOR_UNSPECIFIED", "COLOR_RED"]})
        );
        assert_eq!(t["at"]["format"], "date-time");
        assert_eq!(t["ttl"]["type"], "string");
        assert_eq!(t["mask"]["type"], "string");
        assert_eq!(t["meta"]["type"], "object");
        assert_eq!(t["anyValue"], json!({}));
        assert_eq!(t["nick"]["type"], json!(["string", "null"]));
        assert_eq!(t["maybe"]["type"], json!(["string", "null"]));
        assert_eq!(t["labels"]["minProperties"], 1);
        assert_eq!(
            (
                &t["tags"]["minItems"],
                &t["tags"]["maxItems"],
                &t["tags"]["uniqueItems"]
            ),
            (&json!(1), &json!(3), &json!(true))
        );
        assert_eq!(t["tags"]["items"]["maxLength"], 8);
        assert_eq!(t["email"]["format"], "email");
        assert_eq!(
            t["code"]["anyOf"],
            json!([{"const": ""}, {"pattern": "^[A-Z]{3}$"}])
        );
        assert_eq!(t["qty"]["exclusiveMinimum"], 0);
        assert_eq!(t["ratio"]["minimum"].as_f64(), Some(0.0));
        assert_eq!(t["ratio"]["exclusiveMaximum"].as_f64(), Some(1.0));
        assert_eq!(t["parent"]["$ref"], "#/components/schemas/t.v1.Thing");
        assert_eq!(s["t.v1.PutReq"]["required"], json!(["thing"]));
        let status = &s["google.rpc.Status"]["properties"];
        assert_eq!(status["code"]["type"], "integer");
        assert_eq!(status["details"]["items"]["required"], json!(["@type"]));
        // The request message of `body: "*"` without path fields is the component itself.
        assert!(s.get("t.v1.GetReq").is_some());
    }

    #[test]
    fn security_applies_to_non_public_operations() {
        let d = doc();
        let schemes = &d["components"]["securitySchemes"];
        assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
        assert_eq!(schemes["apiKey"]["name"], "x-api-key");
        assert_eq!(
            d["paths"]["/v1/{name}"]["get"]["security"],
            json!([{"bearerAuth": []}, {"apiKey": []}])
        );
        assert!(d["paths"]["/v1/things"]["post"].get("security").is_none());
        let set = compile(TEST_PROTO);
        let open = document(
            &[&set],
            &OpenApiOptions {
                auth: false,
                ..OpenApiOptions::default()
            },
        );
        assert!(open["paths"]["/v1/{name}"]["get"].get("security").is_none());
    }

    #[test]
    fn the_reference_services_are_documented() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
        let mut c = protox::Compiler::new([&dir]).unwrap();
        c.include_imports(true).include_source_info(true);
        c.open_files(["user/v1/user_service.proto", "order/v1/order_service.proto"])
            .unwrap();
        let set = c.encode_file_descriptor_set();
        let d = document(&[&set], &OpenApiOptions::default());
        let id = |p: &str, v: &str| d["paths"][p][v]["operationId"].clone();
        assert_eq!(id("/v1/users/{id}", "get"), "UserService_GetUser");
        assert_eq!(id("/v1/users/{id}", "patch"), "UserService_UpdateUser");
        assert_eq!(id("/v1/orders/{id}:pay", "post"), "OrderService_PayOrder");
        assert_eq!(
            id("/v1/users:batchCreate", "post"),
            "UserService_BatchCreateUsers"
        );
        // body "*" with a path field: the body leaves the path's field out.
        let pay = &d["paths"]["/v1/orders/{id}:pay"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert!(pay["properties"].get("id").is_none());
        assert!(pay["properties"].get("amountMinor").is_some());
        let create = &d["components"]["schemas"]["user.v1.CreateUserRequest"]["properties"];
        assert_eq!(create["email"]["format"], "email");
        assert!(create["email"]["pattern"].as_str().unwrap().contains('@'));
        assert_eq!(create["password"]["minLength"], 8);
    }

    #[test]
    fn bad_templates_and_custom_verbs_are_left_out() {
        let set = compile(
            r#"syntax = "proto3";
package b;
import "google/api/annotations.proto";
message M { string id = 1; }
service S {
  rpc Bad(M) returns (M) { option (google.api.http) = {get: "v1/nope"}; }
  rpc Custom(M) returns (M) { option (google.api.http) = {custom: {kind: "HEAD", path: "/v1/m"}}; }
  rpc Good(M) returns (M) { option (google.api.http) = {get: "/v1/m/{id}"}; }
}
"#,
        );
        let d = document(&[&set], &OpenApiOptions::default());
        assert_eq!(d["paths"].as_object().unwrap().len(), 1);
        assert!(d["paths"]["/v1/m/{id}"]["get"].is_object());
    }
}
