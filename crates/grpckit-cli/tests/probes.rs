//! Probes as Kubernetes and Docker use them, against the real binary: `/livez` and `/readyz`
//! on the admin port and `grpckit health` (a container HEALTHCHECK), before and during the
//! drain that SIGTERM starts (`server.drain_delay`).

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    process::{Command, Output},
    time::Duration,
};

use grpckit_app_test::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const SECRET: (&str, &str) = ("GRPCKIT_JWT_SECRET", "probes-secret-probes-secret");

/// `GET path` over HTTP/1.1: the status code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header end");
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (code, body.to_owned())
}

/// `grpckit health ARGS`, bounded by its own `--timeout`.
fn health(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("health")
        .args(args)
        .args(["--timeout", "10s"])
        .env_remove("GRPCKIT_ADDR")
        .output()
        .expect("run grpckit health")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn probes_answer_and_follow_the_drain() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("grpckit.yaml");
    // A drain long enough to look at the probes while it runs.
    std::fs::write(
        &config,
        "server:\n  drain_delay: 4s\n  shutdown_grace: 20s\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let mut p =
        ServerProcess::spawn(BIN.as_ref(), &["--config", config], &[SECRET], dir.path()).unwrap();
    let addr = p.addr.to_string();

    assert_eq!(get(p.admin_addr, "/livez"), (200, "ok\n".into()));
    assert_eq!(get(p.admin_addr, "/readyz"), (200, "SERVING\n".into()));
    assert_eq!(
        get(p.admin_addr, "/readyz?service=user.v1.UserService"),
        (200, "SERVING\n".into())
    );
    assert_eq!(get(p.admin_addr, "/readyz?service=no.Such").0, 404);

    let ok = health(&["--addr", &addr]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        format!("{addr}: SERVING\n")
    );
    let one = health(&["--addr", &addr, "--service", "order.v1.OrderService"]);
    assert!(one.status.success(), "{}", text(&one));
    let unknown = health(&["--addr", &addr, "--service", "no.Such"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("unknown service"),
        "{}",
        text(&unknown)
    );

    p.terminate().unwrap();
    p.wait_log("draining: health NOT_SERVING", Duration::from_secs(30))
        .unwrap();
    // During the drain delay: not ready, still alive, and the health check says so.
    assert_eq!(get(p.admin_addr, "/readyz"), (503, "NOT_SERVING\n".into()));
    assert_eq!(get(p.admin_addr, "/livez"), (200, "ok\n".into()));
    let draining = health(&["--addr", &addr]);
    assert_eq!(draining.status.code(), Some(1), "{}", text(&draining));
    assert!(
        String::from_utf8_lossy(&draining.stderr).contains("NOT_SERVING"),
        "{}",
        text(&draining)
    );
    assert_eq!(p.wait_exit(Duration::from_secs(60)).unwrap(), Some(0));

    // Nothing listens any more: a clear failure, exit 1.
    let gone = health(&["--addr", &addr]);
    assert_eq!(gone.status.code(), Some(1), "{}", text(&gone));
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("health check failed"),
        "{}",
        text(&gone)
    );
}
