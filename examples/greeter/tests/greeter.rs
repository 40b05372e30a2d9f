//! Runs the quick start's binary as written (`src/main.rs`) on 127.0.0.1:0 with
//! `greeter.yaml`'s stack, calls it, and stops it with SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use greeter_example::pb::{HelloRequest, greeter_client::GreeterClient};
use tonic::{Code, Request, transport::Channel};

const SECRET: &str = "greeter-test-secret-greeter-test-secret";

/// `greeter.yaml` with loopback ports chosen by the OS and the test's key.
fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/greeter.yaml"))
        .unwrap()
        .replace("GREETER_SECRET_CHANGE_ME", SECRET);
    let mut cfg: serde_json::Value = parse(&yaml);
    cfg["server"]["address"] = "127.0.0.1".into();
    cfg["server"]["port"] = 0.into();
    cfg["server"]["metrics_listen"] = "127.0.0.1:0".into();
    cfg["server"]["max_recv_size"] = 4096.into();
    cfg["log"] = serde_json::json!({"format": "json"});
    let path = dir.join("greeter.json.yaml");
    // JSON is YAML.
    std::fs::write(&path, cfg.to_string()).unwrap();
    path
}

/// Parses the example's YAML (a small subset: it is written to be read back as JSON too).
fn parse(yaml: &str) -> serde_json::Value {
    let cfg = grpckit::config::parse_yaml(yaml).expect("greeter.yaml parses");
    serde_json::to_value(cfg).unwrap()
}

fn token(roles: &[&str]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("greeter".into());
    let claims = serde_json::json!({
        "sub": "tester", "exp": now + 3600, "iss": "greeter-example", "aud": "greeter",
        "roles": roles,
    });
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn hello(name: &str, token: Option<&str>) -> Request<HelloRequest> {
    let mut req = Request::new(HelloRequest { name: name.into() });
    if let Some(t) = token {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    req
}

/// Starts the binary; returns it and the address from its `grpckit serving` log line.
fn spawn(config: &std::path::Path) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_greeter"))
        .arg(config)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["message"] == "grpckit serving" {
            let addr = v["addr"].as_str().unwrap().to_owned();
            return (child, addr, rx);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the greeter did not start");
}

#[tokio::test]
async fn the_quick_start_serves_validates_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, logs) = spawn(&config(dir.path()));
    let ch = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut greeter = GreeterClient::new(ch);
    let t = token(&["greeter"]);

    let reply = greeter.say_hello(hello("grpckit", Some(&t))).await.unwrap();
    assert_eq!(reply.into_inner().message, "Hello grpckit");

    // The `buf.validate` rule of the greeter's proto: name needs at least one character.
    let empty = greeter.say_hello(hello("", Some(&t))).await.unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    assert!(empty.message().contains("name"), "{empty:?}");

    let anonymous = greeter.say_hello(hello("x", None)).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated, "{anonymous:?}");
    let no_role = greeter
        .say_hello(hello("x", Some(&token(&["other"]))))
        .await
        .unwrap_err();
    assert_eq!(no_role.code(), Code::PermissionDenied, "{no_role:?}");

    // server.max_recv_size (4096 here) holds for the greeter as for every service.
    let big = greeter
        .say_hello(hello(&"x".repeat(5000), Some(&t)))
        .await
        .unwrap_err();
    assert_eq!(big.code(), Code::ResourceExhausted, "{big:?}");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Well within `shutdown_grace` (10s): nothing holds the drain open. The client's
    // connection stays open and answers the server's GOAWAY ping (async sleep).
    let until = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < until, "still running 5s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(greeter);
    let lines: Vec<String> = logs.try_iter().collect();
    assert!(status.success(), "{status:?}: {lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("SIGTERM received")),
        "{lines:?}"
    );
}
