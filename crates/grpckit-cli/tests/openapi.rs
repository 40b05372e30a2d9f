//! `grpckit openapi` and `GET /openapi.json` against the real binary: the document is valid
//! OpenAPI 3.1 for PyPI's `openapi-spec-validator`, documents every method of the protos
//! that carries a `google.api.http` option, is what a running server serves, and
//! `schemathesis` finds neither a 5xx nor a response outside the schemas when it runs a
//! bounded number of generated requests against a live server.
//!
//! Skipped (with a reason) when python3 lacks the tools; under `CI=true` that fails instead.

use std::{
    path::Path,
    process::{Command, Stdio},
};

use grpckit_app_test::{ServerProcess, require_tool, sign_up};
use grpckit_services::proto::user::v1::user_service_client::UserServiceClient;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `service/method` of every rpc in `proto/**/*.proto` with a `google.api.http` option.
fn annotated_methods() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                // Imported third-party protos are not ours.
                if !p.ends_with("google") && !p.ends_with("buf") {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "proto") {
                files.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut service = String::new();
        let mut current: Option<String> = None;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("service ") {
                service = rest.split_whitespace().next().unwrap().to_owned();
            } else if let Some(rest) = line.strip_prefix("rpc ") {
                current = Some(rest.split('(').next().unwrap().trim().to_owned());
            } else if line.contains("(google.api.http)")
                && let Some(m) = current.take()
            {
                out.push((service.clone(), m));
            }
        }
    }
    out.sort();
    out
}

/// Runs `grpckit openapi --out FILE` and returns the document.
fn offline_document(dir: &Path) -> (std::path::PathBuf, Value) {
    let file = dir.join("openapi.json");
    let out = Command::new(BIN)
        .args(["openapi", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "grpckit openapi failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    (file, doc)
}

#[test]
fn openapi_document_is_valid_complete_and_served() {
    if !require_tool(
        "openapi_document_is_valid_complete_and_served",
        python_has("openapi_spec_validator, requests"),
        "python3 with openapi-spec-validator and requests (pip install openapi-spec-validator requests)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (file, doc) = offline_document(dir.path());
    // The same document on stdout.
    let stdout = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(stdout.status.success());
    assert_eq!(
        serde_json::from_slice::<Value>(&stdout.stdout).unwrap(),
        doc,
        "stdout and --out differ"
    );

    let server = ServerProcess::spawn(BIN.as_ref(), &[], &[], dir.path()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/openapi_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&file)
        .arg(format!("http://{}", server.addr))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "openapi_check.py failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["valid"], true, "{report}");
    assert!(report["version"] == "OpenAPIV3.1", "{report}");
    assert_eq!(report["status"], 200, "{report}");
    assert_eq!(report["content_type"], "application/json", "{report}");
    assert_eq!(
        report["served_equal"], true,
        "GET /openapi.json differs from `grpckit openapi`"
    );

    // Every annotated method is an operation, named Service_Method.
    let ids: Vec<&str> = report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o[2].as_str())
        .collect();
    let methods = annotated_methods();
    assert!(
        methods.len() >= 15,
        "too few annotated methods found: {methods:?}"
    );
    for (svc, m) in &methods {
        let id = format!("{svc}_{m}");
        assert!(ids.contains(&id.as_str()), "{id} missing from {ids:?}");
    }
    // The reference services' shapes.
    let get_user = &doc["paths"]["/v1/users/{id}"]["get"];
    assert_eq!(get_user["parameters"][0]["in"], "path");
    assert_eq!(
        get_user["security"],
        serde_json::json!([{"bearerAuth": []}, {"apiKey": []}])
    );
    assert!(
        doc["paths"]["/v1/auth/login"]["post"]
            .get("security")
            .is_none()
    );
    assert!(doc["paths"]["/v1/orders/{id}:pay"]["post"].is_object());
    let track = &doc["paths"]["/v1/orders/{order_id}/tracking"]["get"]["responses"]["200"];
    assert!(track["content"]["text/event-stream"].is_object());
    let upload = &doc["paths"]["/v1/orders:upload"]["post"]["requestBody"]["content"];
    assert!(upload["application/x-ndjson"].is_object());
}

#[test]
fn openapi_is_not_served_when_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("grpckit.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  http:\n    openapi: false\n{}",
            grpckit_app_test::roomy_rate_rules_yaml()
        ),
    )
    .unwrap();
    let server = ServerProcess::spawn(
        BIN.as_ref(),
        &["--config", config.to_str().unwrap()],
        &[],
        dir.path(),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(grpckit_app_test::http_get(server.addr, "/openapi.json"))
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

/// One HTTP/1.1 GET with a bearer token: the head and the body.
async fn rest_get(addr: std::net::SocketAddr, path: &str, token: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Accept: application/json\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("no answer in 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let has = Command::new("schemathesis")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !require_tool(
        "schemathesis_finds_no_server_error_and_no_schema_violation",
        has,
        "schemathesis (pip install schemathesis)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = offline_document(dir.path());
    let server = ServerProcess::spawn(BIN.as_ref(), &[], &[], dir.path()).unwrap();
    let channel = tonic::transport::Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let user = sign_up(&mut UserServiceClient::new(channel), "schemathesis")
        .await
        .unwrap();
    // The REST bindings answer (else schemathesis would only meet 404s).
    let (head, body) = rest_get(server.addr, &format!("/v1/users/{}", user.id), &user.token).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    assert!(body.contains(&user.id), "{body}");
    let reports = dir.path().join("reports");
    let mut cmd = tokio::process::Command::new("schemathesis");
    cmd.arg("run")
        .arg(&file)
        .args(["--url", &format!("http://{}", server.addr)])
        .args(["-H", &format!("Authorization: Bearer {}", user.token)])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", "20", "--seed", "17", "--workers", "1"])
        .args(["--request-timeout", "10"])
        // Streams: a live feed never ends, and NDJSON request bodies are not generated.
        .args([
            "--exclude-operation-id",
            "UserService_StreamUserActivity",
            "--exclude-operation-id",
            "OrderService_TrackOrder",
            "--exclude-operation-id",
            "UserService_BatchCreateUsers",
            "--exclude-operation-id",
            "OrderService_UploadOrders",
        ])
        .arg("--report-dir")
        .arg(&reports)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_secs(600), cmd.output())
        .await
        .expect("schemathesis ran for over 10 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It did test the operations (not an empty run).
    assert!(
        stdout.contains("GetUser") || stdout.contains("/v1/users/{id}"),
        "{stdout}"
    );
}
