//! `grpckit call --protocol grpc|grpc-web|connect|rest` and `grpckit perf --protocol ...`
//! against the real `grpckit server` binary: the same call gives the same reply and the
//! same status (with its `google.rpc` details and exit code) over every protocol, HTTP/1.1
//! and h2c; server and client streams go through; the load generator drives each gateway
//! path without errors.

use std::process::{Command, Output};

use grpckit_app_test::{ServerProcess, TestUser, sign_up};
use grpckit_services::proto::user::v1::user_service_client::UserServiceClient;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const PROTOCOLS: [&str; 4] = ["grpc", "grpc-web", "connect", "rest"];

struct Fixture {
    server: ServerProcess,
    user: TestUser,
    _dir: tempfile::TempDir,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(BIN.as_ref(), &[], &[], dir.path()).unwrap();
    let channel = tonic::transport::Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let user = sign_up(&mut UserServiceClient::new(channel), "protocols")
        .await
        .unwrap();
    Fixture {
        server,
        user,
        _dir: dir,
    }
}

impl Fixture {
    /// Runs `grpckit call` with `args` over `protocol`, authenticated.
    async fn call(&self, protocol: &str, extra: &[&str], method: &str, data: &str) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("call")
            .args(["--addr", &self.server.addr.to_string()])
            .args(["--protocol", protocol])
            .args(["-H", &format!("authorization: Bearer {}", self.user.token)])
            .args(extra)
            .arg(method)
            .args(["-d", data]);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }
}

fn replies(out: &Output) -> Vec<Value> {
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_gives_the_same_reply_and_the_same_error() {
    let f = start().await;
    let get = format!(r#"{{"id":"{}"}}"#, f.user.id);
    let want = replies(
        &f.call("grpc", &[], "user.v1.UserService/GetUser", &get)
            .await,
    );
    assert_eq!(want.len(), 1);
    assert_eq!(want[0]["user"]["id"], f.user.id.as_str());
    for protocol in PROTOCOLS {
        for extra in [&[][..], &["--http2"][..]] {
            let out = f
                .call(protocol, extra, "user.v1.UserService/GetUser", &get)
                .await;
            assert_eq!(
                out.status.code(),
                Some(0),
                "{protocol} {extra:?}: {}",
                text(&out.stderr)
            );
            assert_eq!(replies(&out), want, "{protocol} {extra:?}");

            // A validation error: same code (exit 64 + 3), same BadRequest details.
            let out = f
                .call(
                    protocol,
                    extra,
                    "user.v1.UserService/CreateUser",
                    r#"{"name":"A","email":"nope","password":"x"}"#,
                )
                .await;
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(67), "{protocol} {extra:?}: {err}");
            assert!(err.contains("Code: INVALID_ARGUMENT"), "{protocol}: {err}");
            assert!(
                err.contains("BadRequest:") && err.contains("email: value must be a valid email"),
                "{protocol}: {err}"
            );
            // Another user's record: PERMISSION_DENIED (71); an unknown one NOT_FOUND or
            // PERMISSION_DENIED, whichever the server says for gRPC.
            let out = f
                .call(
                    protocol,
                    extra,
                    "user.v1.UserService/GetUser",
                    r#"{"id":"someone-else"}"#,
                )
                .await;
            assert!(
                matches!(out.status.code(), Some(69 | 71)),
                "{protocol}: {:?} {}",
                out.status,
                text(&out.stderr)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_go_through_every_protocol_that_has_them() {
    let f = start().await;
    let uid = &f.user.id;
    let order = format!(
        r#"{{"requestId":"o-{uid}","userId":"{uid}","items":[{{"sku":"a","quantity":1,"unitPriceMinor":"5"}}]}}"#
    );
    let created = replies(
        &f.call("rest", &[], "order.v1.OrderService/CreateOrder", &order)
            .await,
    );
    let oid = created[0]["order"]["id"].as_str().unwrap().to_owned();
    // Server stream: the current state, then the deadline ends it (exit 64 + 4).
    for protocol in PROTOCOLS {
        let out = f
            .call(
                protocol,
                &["--deadline", "1s"],
                "order.v1.OrderService/TrackOrder",
                &format!(r#"{{"orderId":"{oid}"}}"#),
            )
            .await;
        let r = replies(&out);
        assert!(!r.is_empty(), "{protocol}: {}", text(&out.stderr));
        assert_eq!(r[0]["orderId"], oid.as_str(), "{protocol}");
        assert_eq!(r[0]["status"], "ORDER_STATUS_CREATED", "{protocol}");
        assert_eq!(
            out.status.code(),
            Some(68),
            "{protocol}: {}",
            text(&out.stderr)
        );
    }
    // Client stream: two items, one created, one refused.
    for protocol in ["grpc", "connect", "rest"] {
        let data = format!(
            r#"[{{"requestId":"u1-{protocol}","userId":"{uid}","items":[{{"sku":"a","quantity":1,"unitPriceMinor":"5"}}]}},
               {{"requestId":"u2-{protocol}","userId":"{uid}","items":[]}}]"#
        );
        let out = f
            .call(protocol, &[], "order.v1.OrderService/UploadOrders", &data)
            .await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{protocol}: {}",
            text(&out.stderr)
        );
        let r = replies(&out);
        assert_eq!(
            (r[0]["createdCount"].as_u64(), r[0]["failedCount"].as_u64()),
            (Some(1), Some(1)),
            "{protocol}"
        );
    }
    // gRPC-Web has no client streams: a local error (exit 1), not a call.
    let out = f
        .call("grpc-web", &[], "order.v1.OrderService/UploadOrders", "{}")
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("gRPC-Web has no client streams"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perf_loads_each_gateway_path() {
    let f = start().await;
    for protocol in ["grpc-web", "connect", "rest"] {
        for extra in [&[][..], &["--http2"][..]] {
            let mut cmd = Command::new(BIN);
            cmd.arg("perf")
                .args(["--addr", &f.server.addr.to_string()])
                .args(["--protocol", protocol])
                .args(extra)
                .args(["--call", "user.v1.UserService/GetUser"])
                .args(["-d", &format!(r#"{{"id":"{}"}}"#, f.user.id)])
                .args(["-H", &format!("authorization: Bearer {}", f.user.token)])
                .args(["-c", "4", "-n", "60", "-q", "--format", "json"]);
            let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{protocol} {extra:?}: {}",
                text(&out.stderr)
            );
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["ok"], 60, "{protocol} {extra:?}: {report}");
            assert_eq!(report["errors"], 0, "{protocol} {extra:?}: {report}");
        }
        // Without a token every call fails, and the report says so.
        let mut cmd = Command::new(BIN);
        cmd.arg("perf")
            .args(["--addr", &f.server.addr.to_string()])
            .args(["--protocol", protocol])
            .args(["--call", "user.v1.UserService/GetUser"])
            .args(["-d", &format!(r#"{{"id":"{}"}}"#, f.user.id)])
            .args(["-c", "2", "-n", "10", "-q", "--format", "json"]);
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["ok"], 0, "{protocol}: {report}");
        assert!(
            report.to_string().contains("UNAUTHENTICATED")
                || report.to_string().contains("Unauthenticated"),
            "{protocol}: {report}"
        );
    }
}
