//! The admin port's debug endpoints (`server.debug`) against the real binary: off by
//! default, only for a caller with the configured role, and each answering what it says: a
//! gzipped pprof CPU profile, tokio's task counts, the open gRPC connections.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use grpckit::middleware::auth::hash_api_key;
use grpckit_app_test::ServerProcess;
use grpckit_services::proto::user::v1::{self as userpb, user_service_client::UserServiceClient};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const SECRET: (&str, &str) = ("GRPCKIT_JWT_SECRET", "debug-secret-debug-secret-debug");
const ADMIN_KEY: &str = "debug-admin-key";
const VIEWER_KEY: &str = "debug-viewer-key";

/// `GET path` with `headers` over HTTP/1.1: the status code and the body.
fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header end");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (code, raw[end + 4..].to_vec())
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(body));
    })
}

fn spawn_debug(dir: &tempfile::TempDir) -> ServerProcess {
    let cfg = dir.path().join("grpckit.yaml");
    std::fs::write(
        &cfg,
        format!(
            "server:\n  debug:\n    enabled: true\n    max_profile_seconds: 5\n\
             middleware:\n  auth:\n    api_keys:\n      \
             - {{ name: ops, sha256: \"{}\", roles: [admin] }}\n      \
             - {{ name: dashboard, sha256: \"{}\", roles: [viewer] }}\n",
            hash_api_key(ADMIN_KEY),
            hash_api_key(VIEWER_KEY),
        ),
    )
    .unwrap();
    ServerProcess::spawn(
        BIN.as_ref(),
        &["--config", cfg.to_str().unwrap()],
        &[SECRET],
        dir.path(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_endpoints_answer_an_admin_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_debug(&dir);
    let admin = server.admin_addr;

    // An open gRPC connection with a few calls on it.
    let mut users = UserServiceClient::connect(server.url()).await.unwrap();
    let me = grpckit_app_test::sign_up(&mut users, "debug")
        .await
        .unwrap();
    let _ = users
        .get_user(grpckit_app_test::authed(
            userpb::GetUserRequest { id: me.id.clone() },
            &me.token,
        ))
        .await
        .unwrap();

    let as_admin = [("x-api-key", ADMIN_KEY)];
    for path in [
        "/debug/connections",
        "/debug/tasks",
        "/debug/pprof/profile?seconds=1",
    ] {
        let (code, _) = get(admin, path, &[]);
        assert_eq!(code, 401, "{path} without credentials");
        let (code, _) = get(admin, path, &[("x-api-key", "not-a-key")]);
        assert_eq!(code, 401, "{path} with an unknown key");
        let (code, body) = get(admin, path, &[("x-api-key", VIEWER_KEY)]);
        assert_eq!(code, 403, "{path} without the role");
        assert!(String::from_utf8_lossy(&body).contains("admin"));
    }
    // A bearer token works too: the user has no admin role.
    let bearer = format!("Bearer {}", me.token);
    let (code, _) = get(admin, "/debug/tasks", &[("authorization", &bearer)]);
    assert_eq!(code, 403, "a user without the role");

    let (code, body) = get(admin, "/debug/connections", &as_admin);
    assert_eq!(code, 200);
    let list = json(&body);
    let conns = list["connections"].as_array().expect("a list");
    let ours = conns
        .iter()
        .find(|c| c["protocol"] == "h2" && c["streams_started"].as_u64() >= Some(3))
        .unwrap_or_else(|| panic!("the test's connection is listed: {list:#}"));
    assert!(ours["bytes_read"].as_u64().unwrap() > 0, "{ours}");
    assert!(ours["bytes_written"].as_u64().unwrap() > 0, "{ours}");
    assert!(ours["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(
        ours["local"].as_str().unwrap(),
        server.addr.to_string(),
        "{ours}"
    );
    assert_eq!(ours["tls"], false);
    assert!(ours["age_seconds"].as_f64().unwrap() >= 0.0);

    let (code, body) = get(admin, "/debug/tasks", &as_admin);
    assert_eq!(code, 200);
    let tasks = json(&body);
    assert!(tasks["alive_tasks"].as_u64().unwrap() > 0, "{tasks:#}");
    let rt = &tasks["runtimes"][0];
    assert_eq!(rt["name"], "main", "{tasks:#}");
    assert_eq!(
        rt["worker_parks"].as_array().unwrap().len() as u64,
        rt["workers"].as_u64().unwrap()
    );

    // Out of range lengths are refused with the limit named.
    for seconds in ["0", "6"] {
        let (code, body) = get(
            admin,
            &format!("/debug/pprof/profile?seconds={seconds}"),
            &as_admin,
        );
        assert_eq!(code, 400, "seconds={seconds}");
        assert!(String::from_utf8_lossy(&body).contains("max_profile_seconds"));
    }
    let (code, _) = get(admin, "/debug/pprof/profile?seconds=abc", &as_admin);
    assert_eq!(code, 400);

    // A profile while calls run: gzip of a pprof protobuf whose string table names the
    // sample type.
    let load = tokio::spawn(async move {
        let until = Instant::now() + Duration::from_millis(1500);
        let mut n = 0u32;
        while Instant::now() < until && n < 5_000 {
            let _ = users
                .get_user(grpckit_app_test::authed(
                    userpb::GetUserRequest { id: me.id.clone() },
                    &me.token,
                ))
                .await;
            n += 1;
        }
    });
    let started = Instant::now();
    let (code, gz) = tokio::task::spawn_blocking(move || {
        get(admin, "/debug/pprof/profile?seconds=1", &as_admin)
    })
    .await
    .unwrap();
    load.await.unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&gz));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "sampled for the asked length"
    );
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("gunzips");
    let has = |s: &[u8]| raw.windows(s.len()).any(|w| w == s);
    assert!(
        has(b"samples") && has(b"cpu") && has(b"nanoseconds"),
        "pprof sample types"
    );
}

#[test]
fn debug_endpoints_are_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(BIN.as_ref(), &[], &[SECRET], dir.path()).unwrap();
    let (code, _) = get(
        server.admin_addr,
        "/debug/connections",
        &[("x-api-key", ADMIN_KEY)],
    );
    assert_eq!(code, 404);
}

#[test]
fn debug_endpoints_without_auth_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("grpckit.yaml");
    std::fs::write(&cfg, "server:\n  debug:\n    enabled: true\n").unwrap();
    let mut child = Command::new(BIN)
        .args(["server", "--no-auth", "--config", cfg.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env(SECRET.0, SECRET.1)
        .env_remove("GRPCKIT_CONFIG")
        .env_remove("GRPCKIT_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "must not start: {text}");
    assert!(
        text.contains("server.debug.enabled"),
        "names the key: {text}"
    );
    assert!(!text.contains("grpckit serving"), "never served: {text}");
}
