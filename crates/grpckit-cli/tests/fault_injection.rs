//! Fault injection (`middleware.fault`) in the real `grpckit server` process, switched on and
//! off by rewriting its config file (hot reload): with the switch off nothing is injected;
//! on, a 50% abort rule answers about half of 400 calls `UNAVAILABLE` (binomial bounds), only
//! calls carrying the rule's header are touched, a fixed 200ms delay shows in each call's
//! latency, a delay longer than the call's deadline ends it `DEADLINE_EXCEEDED`, and every
//! injected fault is counted at the admin port's `/metrics`.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use grpckit_app_test::{ServerProcess, http_get};
use tonic::{Code, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const CHECK: &str = "grpc.health.v1.Health/Check";

fn config(dir: &Path, enabled: bool) -> String {
    format!(
        "server:\n  address: 127.0.0.1\n  port: 0\n  metrics_listen: 127.0.0.1:0\n  \
         shutdown_grace: 2s\ndatabase:\n  url: sqlite://{db}\nauth:\n  \
         jwt_secret: fault-test-login-secret-0123456789abcdef\nmiddleware:\n  timeout:\n    \
         methods:\n      - {{ methods: \"{CHECK}\", timeout: 1s }}\n  fault:\n    \
         enabled: {enabled}\n    rules:\n      \
         - methods: [\"/{CHECK}\"]\n        header: {{ name: x-fault, value: abort }}\n        \
           abort: {{ percent: 50, code: UNAVAILABLE, message: injected by test }}\n      \
         - methods: [\"{CHECK}\"]\n        header: {{ name: x-fault, value: delay }}\n        \
           delay: {{ percent: 100, fixed: 200ms }}\n      \
         - methods: [\"grpc.health.v1.Health/*\"]\n        header: {{ name: x-fault-slow }}\n        \
           delay: {{ percent: 100, min: 5s, max: 6s }}\n",
        db = dir.join("grpckit.db").display(),
    )
}

/// Writes `text` beside `path` and renames it over `path` (as many editors save).
fn rename_replace(path: &Path, text: &str) {
    let tmp = path.with_extension("swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// One `Check` call, with a header if given: its status and how long it took.
async fn check(
    health: &mut HealthClient<Channel>,
    header: Option<(&'static str, &'static str)>,
) -> (Result<(), tonic::Status>, Duration) {
    let mut req = tonic::Request::new(HealthCheckRequest::default());
    if let Some((name, value)) = header {
        req.metadata_mut().insert(name, value.parse().unwrap());
    }
    let start = Instant::now();
    let res = health.check(req).await.map(drop);
    (res, start.elapsed())
}

/// How many of `n` calls with `x-fault: abort` were answered UNAVAILABLE (the others OK).
async fn unavailable_of(health: &mut HealthClient<Channel>, n: usize) -> usize {
    let mut refused = 0;
    for _ in 0..n {
        match check(health, Some(("x-fault", "abort"))).await.0 {
            Ok(()) => {}
            Err(s) if s.code() == Code::Unavailable => {
                assert_eq!(s.message(), "injected by test");
                refused += 1;
            }
            Err(s) => panic!("neither OK nor the injected abort: {s:?}"),
        }
    }
    refused
}

/// A counter's value at the admin port's `/metrics` (0 when the series does not exist yet).
async fn metric(p: &ServerProcess, series: &str) -> u64 {
    let text = http_get(p.admin_addr, "/metrics").await.unwrap();
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

fn injected(kind: &str) -> String {
    format!(
        "grpckit_fault_injected_total{{grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\",kind=\"{kind}\"}}"
    )
}

/// Waits (at most 10 s) until `n` reloads were applied.
async fn wait_reloads(p: &ServerProcess, n: u64) {
    let until = Instant::now() + Duration::from_secs(10);
    let series = "grpckit_config_reload_total{result=\"applied\"}";
    while metric(p, series).await < n {
        assert!(Instant::now() < until, "reload {n} not applied within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_injected_as_configured_and_switched_by_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grpckit.yaml");
    std::fs::write(&file, config(dir.path(), false)).unwrap();
    let mut p = ServerProcess::spawn_file_addresses(
        BIN.as_ref(),
        &["--config", file.to_str().unwrap()],
        &[],
        dir.path(),
    )
    .unwrap();
    let channel = Channel::from_shared(format!("http://{}", p.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);

    // 1. Off (rules present, `enabled: false`): nothing is injected.
    assert_eq!(unavailable_of(&mut health, 40).await, 0);
    let (res, _) = check(&mut health, Some(("x-fault-slow", "1"))).await;
    res.expect("no delay while off");
    assert_eq!(metric(&p, &injected("abort")).await, 0);

    // 2. Switched on by a reload.
    rename_replace(&file, &config(dir.path(), true));
    wait_reloads(&p, 1).await;
    let line = p
        .wait_log("configuration reloaded", Duration::from_secs(10))
        .unwrap();
    assert!(line.contains("middleware.fault.enabled"), "{line}");

    // 50% of 400 calls: mean 200, sd 10; 140..=260 is six standard deviations each side.
    let refused = unavailable_of(&mut health, 400).await;
    assert!(
        (140..=260).contains(&refused),
        "{refused} of 400 calls aborted at 50%"
    );
    assert_eq!(
        metric(&p, &injected("abort")).await,
        refused as u64,
        "every abort is counted"
    );
    // Calls without the rules' headers are untouched.
    for _ in 0..100 {
        check(&mut health, None)
            .await
            .0
            .expect("no header, no fault");
    }
    // The fixed delay shows in each call's latency (a lower bound only).
    for _ in 0..5 {
        let (res, took) = check(&mut health, Some(("x-fault", "delay"))).await;
        res.expect("a delayed call still succeeds");
        assert!(
            took >= Duration::from_millis(200),
            "delayed by 200ms, took {took:?}"
        );
    }
    assert!(metric(&p, &injected("delay")).await >= 5);
    // A delay longer than the call's deadline (1s, `middleware.timeout`) ends it at the
    // deadline. (The server's deadline, not the caller's `grpc-timeout`: tonic's client
    // enforces that one itself, answering CANCELLED.)
    let (res, took) = check(&mut health, Some(("x-fault-slow", "1"))).await;
    assert_eq!(res.unwrap_err().code(), Code::DeadlineExceeded);
    assert!(
        took < Duration::from_secs(4),
        "ended by the deadline, not the 5s delay: {took:?}"
    );

    // 3. Switched off again by a reload: nothing more is injected or counted.
    rename_replace(&file, &config(dir.path(), false));
    wait_reloads(&p, 2).await;
    let delays = metric(&p, &injected("delay")).await;
    assert_eq!(unavailable_of(&mut health, 40).await, 0);
    check(&mut health, Some(("x-fault", "delay")))
        .await
        .0
        .unwrap();
    assert_eq!(metric(&p, &injected("abort")).await, refused as u64);
    assert_eq!(metric(&p, &injected("delay")).await, delays);
}
