//! HTTP/2 abuse against the real `grpckit server` binary: each attack (crafted by
//! `tests/py/h2_abuse.py` with Python `h2`/`hyperframe`) runs while a healthy tonic client
//! keeps calling. For each: the healthy client sees no error, the abuser is cut off the
//! expected way (GOAWAY code, RST_STREAM codes, close), and the server's peak RSS (VmHWM)
//! stays under the start-up RSS plus [`RSS_HEADROOM_MIB`].
//!
//! Skipped (with a reason) when python3 lacks `h2`; under `CI=true` that fails instead.

use std::{
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use grpckit_app_test::{ServerProcess, require_tool, roomy_rate_rules_yaml};
use grpckit_services::proto::user::v1::{
    CreateUserRequest, user_service_client::UserServiceClient,
};
use serde_json::Value;
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// The server's peak RSS may exceed its RSS after start-up by at most this, across all the
/// attacks below (measured: see README "HTTP/2 hardening").
const RSS_HEADROOM_MIB: u64 = 64;

/// GOAWAY / RST_STREAM error codes (RFC 9113 §7).
const REFUSED_STREAM: u64 = 0x7;
const ENHANCE_YOUR_CALM: u64 = 0xb;
/// SETTINGS identifiers (RFC 9113 §6.5.2), as the script reports them.
const SETTINGS_INITIAL_WINDOW_SIZE: &str = "4";
const SETTINGS_MAX_FRAME_SIZE: &str = "5";
const SETTINGS_MAX_HEADER_LIST_SIZE: &str = "6";

/// Whether the abuse script can run (see `require_tool`).
fn python_h2_or_skip() -> bool {
    require_tool(
        "h2_abuse",
        python_has_h2(),
        "python3 with h2 and hyperframe (pip install h2 hyperframe)",
    )
}

fn python_has_h2() -> bool {
    Command::new("python3")
        .args(["-c", "import h2, hyperframe, hpack"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Runs one attack; returns the JSON line the script printed.
async fn abuse(server: &ServerProcess, attack: &str, extra: &[&str]) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/h2_abuse.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(attack)
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .args(extra);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{attack}: the script failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{attack}: {e}: {stdout}"))
}

/// Health checks on one connection, one after another, until `stop` (at most 60 s and
/// 100 000 calls). Returns (calls that succeeded, errors).
async fn healthy_client(channel: Channel, stop: Arc<AtomicBool>) -> (u64, Vec<String>) {
    let mut health = HealthClient::new(channel);
    let (mut ok, mut errors) = (0, Vec::new());
    let until = Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) && ok < 100_000 && Instant::now() < until {
        match health.check(HealthCheckRequest::default()).await {
            Ok(_) => ok += 1,
            Err(e) => errors.push(format!("{e:?}")),
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    (ok, errors)
}

/// Runs `attack` while a healthy client calls on `channel`; asserts the healthy client saw
/// no error and returns the attack's report.
async fn under_attack(
    server: &ServerProcess,
    channel: &Channel,
    attack: &str,
    extra: &[&str],
) -> Value {
    let stop = Arc::new(AtomicBool::new(false));
    let healthy = tokio::spawn(healthy_client(channel.clone(), stop.clone()));
    let report = abuse(server, attack, extra).await;
    // A few more calls after the attack ended.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let (ok, errors) = healthy.await.unwrap();
    assert!(
        errors.is_empty(),
        "{attack}: the healthy client saw errors: {errors:?}"
    );
    assert!(ok > 0, "{attack}: the healthy client made no call");
    println!("{attack}: {report} (healthy calls: {ok})");
    report
}

fn goaway_code(report: &Value) -> Option<u64> {
    report["goaway"]["error_code"].as_u64()
}

fn rst_count(report: &Value, code: u64) -> u64 {
    report["rst_codes"][code.to_string()].as_u64().unwrap_or(0)
}

/// Starts the server with `server:` keys `server_yaml` (indented by two spaces) and a
/// connected channel; returns them and the server's RSS after start-up (KiB).
async fn start(dir: &tempfile::TempDir, server_yaml: &str) -> (ServerProcess, Channel, u64) {
    start_with(dir, server_yaml, None).await
}

/// [`start`], serving TLS with `tls` (a certificate for `localhost`) when given.
async fn start_with(
    dir: &tempfile::TempDir,
    server_yaml: &str,
    tls: Option<&rcgen::CertifiedKey<rcgen::KeyPair>>,
) -> (ServerProcess, Channel, u64) {
    let config = dir.path().join("grpckit.yaml");
    let yaml = format!("server:\n{server_yaml}{}", roomy_rate_rules_yaml());
    std::fs::write(&config, yaml).unwrap();
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "--log-level",
        "info,grpckit=debug",
    ];
    if let Some(tls) = tls {
        std::fs::write(dir.path().join("server.pem"), tls.cert.pem()).unwrap();
        std::fs::write(
            dir.path().join("server.key"),
            tls.signing_key.serialize_pem(),
        )
        .unwrap();
        args.extend(["--tls-cert", "server.pem", "--tls-key", "server.key"]);
    }
    let server = ServerProcess::spawn(BIN.as_ref(), &args, &[], dir.path()).unwrap();
    let endpoint = match tls {
        None => Channel::from_shared(server.url()).unwrap(),
        Some(tls) => Channel::from_shared(format!("https://{}", server.addr))
            .unwrap()
            .tls_config(
                ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(tls.cert.pem()))
                    .domain_name("localhost"),
            )
            .unwrap(),
    };
    let channel = endpoint.connect().await.unwrap();
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    let rss = status_kib(server.pid(), "VmRSS");
    (server, channel, rss)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abusive_clients_are_cut_off_while_a_healthy_client_is_served() {
    if !python_h2_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut server, channel, baseline) = start(
        &dir,
        "  max_concurrent_streams: 10\n  max_connections: 50\n  handshake_timeout: 1s\n  \
         http2: { initial_stream_window_size: 2097152, max_frame_size: 32768 }\n",
    )
    .await;
    let pid = server.pid();

    // h2's own limits.
    let r = under_attack(&server, &channel, "rapid_reset", &[]).await;
    assert_eq!(goaway_code(&r), Some(ENHANCE_YOUR_CALM), "rapid reset: {r}");
    assert_eq!(r["goaway"]["debug"], "too_many_resets", "{r}");

    let r = under_attack(&server, &channel, "continuation_flood", &[]).await;
    assert_eq!(
        goaway_code(&r),
        Some(ENHANCE_YOUR_CALM),
        "CONTINUATION: {r}"
    );
    assert_eq!(r["goaway"]["debug"], "too_many_continuations", "{r}");

    let r = under_attack(&server, &channel, "empty_data_flood", &[]).await;
    assert_eq!(goaway_code(&r), Some(ENHANCE_YOUR_CALM), "empty DATA: {r}");
    assert_eq!(r["goaway"]["debug"], "too_many_data_frames", "{r}");

    let r = under_attack(&server, &channel, "hpack_bomb", &["--seconds", "3"]).await;
    assert_eq!(goaway_code(&r), Some(ENHANCE_YOUR_CALM), "HPACK bomb: {r}");
    assert_eq!(r["goaway"]["debug"], "header_list_way_too_large", "{r}");

    let r = under_attack(&server, &channel, "max_streams", &[]).await;
    assert_eq!(r["server_max_concurrent_streams"], 10, "{r}");
    // The server's SETTINGS carry `server.http2`.
    let settings = &r["server_settings"];
    assert_eq!(settings[SETTINGS_INITIAL_WINDOW_SIZE], 2_097_152, "{r}");
    assert_eq!(settings[SETTINGS_MAX_FRAME_SIZE], 32_768, "{r}");
    assert_eq!(settings[SETTINGS_MAX_HEADER_LIST_SIZE], 16_384, "{r}");
    assert_eq!(
        rst_count(&r, REFUSED_STREAM),
        20,
        "the 20 streams past the limit are refused: {r}"
    );

    // The connection guard.
    let r = under_attack(&server, &channel, "ping_flood", &[]).await;
    assert_eq!(goaway_code(&r), Some(ENHANCE_YOUR_CALM), "PING flood: {r}");
    assert_eq!(r["goaway"]["debug"], "too_many_pings", "{r}");
    assert_eq!(r["closed"], true, "{r}");
    assert!(
        r["frames_sent"].as_u64().unwrap() < 10_000,
        "cut off early: {r}"
    );

    for attack in ["settings_flood", "priority_flood"] {
        let r = under_attack(&server, &channel, attack, &[]).await;
        assert_eq!(goaway_code(&r), Some(ENHANCE_YOUR_CALM), "{attack}: {r}");
        assert_eq!(r["goaway"]["debug"], "too_many_control_frames", "{r}");
        assert_eq!(r["closed"], true, "{r}");
    }

    // WINDOW_UPDATE is let through on purpose (clients send many; h2 answers none): it costs
    // the healthy client nothing and the server no memory (checked below with the RSS).
    let r = under_attack(
        &server,
        &channel,
        "window_update_flood",
        &["--count", "100000", "--seconds", "3", "--linger", "0.2"],
    )
    .await;
    assert!(r["goaway"].is_null(), "{r}");

    // server.handshake_timeout: 1s (the script sends a byte every 0.5 s for up to 10 s, or
    // nothing at all, or half a request's header block after a complete handshake).
    for attack in ["slowloris", "slowloris_http1", "silent", "slow_headers"] {
        let r = under_attack(&server, &channel, attack, &["--seconds", "10"]).await;
        assert_eq!(r["closed"], true, "{attack}: {r}");
        let after = r["closed_after_s"].as_f64().unwrap();
        assert!(after < 5.0, "{attack}: closed after {after}s: {r}");
    }

    // server.max_connections: 50, the healthy client holds one.
    let r = under_attack(&server, &channel, "idle_connections", &["--count", "80"]).await;
    assert_eq!(r["opened"], 80, "{r}");
    assert!(r["kept"].as_u64().unwrap() <= 49, "{r}");
    assert!(r["closed"].as_u64().unwrap() >= 31, "{r}");

    // An oversized message: RESOURCE_EXHAUSTED, and the connection stays healthy.
    let e = UserServiceClient::new(channel.clone())
        .create_user(CreateUserRequest {
            name: "x".repeat(5 * 1024 * 1024),
            email: "big@example.com".into(),
            password: "password-123".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    under_attack(&server, &channel, "ping_flood", &["--count", "20"]).await;

    let peak = status_kib(pid, "VmHWM");
    println!(
        "RSS: {} MiB after start-up, peak {} MiB",
        baseline / 1024,
        peak / 1024
    );
    assert!(
        peak <= baseline + RSS_HEADROOM_MIB * 1024,
        "peak RSS {peak} KiB > {baseline} KiB + {RSS_HEADROOM_MIB} MiB"
    );
    let logs = server.drain_logs().join("\n");
    assert!(
        logs.contains("too_many_pings"),
        "the guard logs its GOAWAYs"
    );
}

/// The guard's limits come from the config: with `min_time: 0s` and no control-frame limit,
/// the same floods are let through (and still cost the healthy client nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_limits_come_from_config() {
    if !python_h2_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (server, channel, _) = start(
        &dir,
        "  keep_alive: { min_time: 0s }\n  http2: { max_control_frames_per_second: 0 }\n",
    )
    .await;
    for (attack, count) in [("ping_flood", "300"), ("settings_flood", "3000")] {
        let r = under_attack(
            &server,
            &channel,
            attack,
            &["--count", count, "--linger", "0.5"],
        )
        .await;
        assert!(r["goaway"].is_null(), "{attack}: {r}");
        assert_eq!(r["closed"], false, "{attack}: {r}");
    }
}

/// Over TLS the guard sits on the decrypted stream: the same PING flood gets the same
/// GOAWAY; `handshake_timeout` covers a client that never starts its TLS handshake and one
/// that never finishes its HTTP/2 preface after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_over_tls_is_cut_off_too() {
    if !python_h2_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (server, channel, _) = start_with(&dir, "  handshake_timeout: 1s\n", Some(&cert)).await;
    let r = under_attack(&server, &channel, "ping_flood", &["--tls"]).await;
    assert_eq!(
        goaway_code(&r),
        Some(ENHANCE_YOUR_CALM),
        "PING flood over TLS: {r}"
    );
    assert_eq!(r["goaway"]["debug"], "too_many_pings", "{r}");
    assert_eq!(r["closed"], true, "{r}");
    for (attack, extra) in [("silent", &[][..]), ("slowloris", &["--tls"][..])] {
        let mut args = vec!["--seconds", "10"];
        args.extend(extra);
        let r = under_attack(&server, &channel, attack, &args).await;
        assert_eq!(r["closed"], true, "{attack} over TLS: {r}");
        let after = r["closed_after_s"].as_f64().unwrap();
        assert!(after < 5.0, "{attack} over TLS: closed after {after}s: {r}");
    }
}

/// Behind a load balancer speaking the PROXY protocol (the abuser connects from 127.0.0.3,
/// the trusted balancer's address; the healthy client from 127.0.0.1, served as itself) the
/// guard still sees every frame: the bytes read with the PROXY header are replayed under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_through_a_trusted_proxy_is_cut_off_too() {
    if !python_h2_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (server, channel, _) =
        start(&dir, "  proxy_protocol: { trusted_proxies: [127.0.0.3] }\n").await;
    let args = ["--proxy-from", "198.51.100.7", "--bind", "127.0.0.3"];
    let r = under_attack(&server, &channel, "ping_flood", &args).await;
    assert_eq!(
        goaway_code(&r),
        Some(ENHANCE_YOUR_CALM),
        "PING flood via PROXY: {r}"
    );
    assert_eq!(r["goaway"]["debug"], "too_many_pings", "{r}");
    assert_eq!(r["closed"], true, "{r}");
}
