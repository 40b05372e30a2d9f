//! `grpckit perf` small runs against the real server: -n, -z and --rps counts add up, the
//! default mix works, templated data, several connections, and every report format parses.

use clap::Parser;
use grpckit_app_test::TestServer;
use grpckit_cli::perf::{self, CSV_HEADER, Format, PerfArgs};

#[derive(Parser)]
struct P {
    #[command(flatten)]
    p: PerfArgs,
}

fn args(addr: &str, extra: &[&str]) -> PerfArgs {
    let mut v = vec!["perf", "--addr", addr, "-q"];
    v.extend_from_slice(extra);
    P::parse_from(v).p
}

#[tokio::test]
async fn perf_counts_and_formats() {
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();

    // Default mix with -n: exactly n measured requests, all OK.
    let r = perf::run(&args(&addr, &["-n", "60", "-c", "4"]))
        .await
        .unwrap();
    assert_eq!(
        (r.target.as_str(), r.total, r.ok, r.errors),
        ("mix", 60, 60, 0)
    );
    assert_eq!(r.histogram.iter().map(|b| b.count).sum::<u64>(), 60);
    assert_eq!(r.per_second.iter().sum::<u64>(), 60);

    // A generic unary call with templated data over 2 connections; all NOT_FOUND.
    let r = perf::run(&args(
        &addr,
        &[
            "--call",
            "user.v1.UserService/GetUser",
            "-d",
            r#"{"id":"missing-{{.RequestNumber}}-{{.WorkerID}}"}"#,
            "-n",
            "40",
            "-c",
            "4",
            "--connections",
            "2",
            "--warmup",
            "100ms",
        ],
    ))
    .await
    .unwrap();
    assert_eq!((r.total, r.ok, r.errors, r.connections), (40, 0, 40, 2));
    assert_eq!(r.errors_by_code.len(), 1);
    assert_eq!(
        (r.errors_by_code[0].code, r.errors_by_code[0].name.as_str()),
        (5, "NOT_FOUND")
    );
    assert!(
        r.errors_by_code[0].sample.contains("missing-"),
        "{}",
        r.errors_by_code[0].sample
    );

    // -z: bounded by time; counts still add up.
    let r = perf::run(&args(
        &addr,
        &[
            "--call",
            "grpc.health.v1.Health/Check",
            "-z",
            "300ms",
            "-c",
            "2",
        ],
    ))
    .await
    .unwrap();
    assert!(r.total > 0);
    assert_eq!(r.ok + r.errors, r.total);

    // --rps with -z: an open model issues exactly rate x duration requests.
    let r = perf::run(&args(
        &addr,
        &[
            "--call",
            "grpc.health.v1.Health/Check",
            "-z",
            "1s",
            "--rps",
            "40",
            "-c",
            "4",
        ],
    ))
    .await
    .unwrap();
    assert_eq!((r.total, r.errors, r.rps_target), (40, 0, Some(40.0)));

    // Report formats.
    let json: serde_json::Value =
        serde_json::from_str(&perf::render(&r, Format::Json).unwrap()).unwrap();
    for key in [
        "target",
        "concurrency",
        "connections",
        "total",
        "ok",
        "errors",
        "duration_s",
        "rps",
        "latency_ms",
        "histogram",
        "per_second",
        "errors_by_code",
    ] {
        assert!(json.get(key).is_some(), "JSON lacks {key}");
    }
    for key in [
        "min", "mean", "p50", "p75", "p90", "p95", "p99", "p999", "max",
    ] {
        assert!(
            json["latency_ms"][key].is_number(),
            "latency_ms lacks {key}"
        );
    }
    let csv = perf::render(&r, Format::Csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(row.len(), CSV_HEADER.split(',').count());
    assert_eq!(row[3], "40");
    let html = perf::render(&r, Format::Html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"id="latency-histogram""#) && html.contains(r#"class="bar""#));
    assert!(
        !html.contains("http://") || !html.contains("<script src"),
        "no external resources"
    );
    let data = html
        .split(r#"<script type="application/json" id="report-data">"#)
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let embedded: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(embedded["total"], 40);
    let text = perf::render(&r, Format::Text).unwrap();
    assert!(text.contains("Requests/sec") && text.contains("p99.9"));
    srv.stop().await.unwrap();
}

#[test]
fn binary_exit_codes_and_output_file() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let srv = rt.block_on(TestServer::start_open()).unwrap();
    let addr = srv.addr.to_string();
    let bin = env!("CARGO_BIN_EXE_grpckit");
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");

    let run = |a: &[&str]| std::process::Command::new(bin).args(a).output().unwrap();
    let o = run(&[
        "perf",
        "--addr",
        &addr,
        "--call",
        "grpc.health.v1.Health/Check",
        "-n",
        "5",
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("report-data")
    );
    // Not a terminal: no progress bar on stderr.
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = run(&[
        "call",
        "--addr",
        &addr,
        "user.v1.UserService/GetUser",
        "-d",
        r#"{"id":"nope"}"#,
    ]);
    assert_eq!(o.status.code(), Some(64 + 5));
    assert!(String::from_utf8_lossy(&o.stderr).contains("NOT_FOUND"));
    let o = run(&[
        "call",
        "--addr",
        &addr,
        "grpc.health.v1.Health/Check",
        "-d",
        "{}",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("SERVING"));
    let o = run(&["call", "--addr", &addr, "no.Such/Method"]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(&["call", "--addr", "127.0.0.1:1", "a.B/C"]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(&[
        "perf",
        "--addr",
        &addr,
        "--call",
        "user.v1.UserService/GetUser",
        "-d",
        r#"{"id":"x"}"#,
        "-n",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(1), "perf fails when calls fail");
    rt.block_on(srv.stop()).unwrap();
}
