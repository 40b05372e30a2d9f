//! `/metrics` through real Prometheus text-format parsers: the `prometheus-parse` crate and,
//! when available, Python's `prometheus_client.parser` (the reference client library).
//! Checks types, HELP texts and the go-grpc-prometheus default histogram buckets.

use std::{io::Write, process::Stdio};

use grpckit_app_test::{TestServer, http_get};
use grpckit_services::proto::user::v1::{GetUserRequest, user_service_client::UserServiceClient};
use prometheus_parse::{Scrape, Value};

const PY: &str = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: (f.type, len(f.samples), sorted({tuple(sorted(s.labels)) for s in f.samples})) for f in text_string_to_metric_families(sys.stdin.read())}
print(json.dumps({k: [v[0], v[1], v[2]] for k, v in fams.items()}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_output_parses_with_real_parsers() -> anyhow::Result<()> {
    let srv = TestServer::start_open().await?;
    let mut users = UserServiceClient::new(grpckit::client::instrument(srv.channel().await));
    for _ in 0..3 {
        let _ = users
            .get_user(GetUserRequest {
                id: uuid::Uuid::now_v7().to_string(),
            })
            .await;
    }
    let text = http_get(srv.admin_addr, "/metrics").await?;

    // 1. prometheus-parse: types and HELP of the go-grpc-prometheus families.
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))?;
    for (name, help) in [
        (
            "grpc_server_started_total",
            "Total number of RPCs started on the server.",
        ),
        (
            "grpc_server_handled_total",
            "Total number of RPCs completed on the server, regardless of success or failure.",
        ),
        (
            "grpc_server_msg_received_total",
            "Total number of RPC stream messages received on the server.",
        ),
        (
            "grpc_server_msg_sent_total",
            "Total number of gRPC stream messages sent by the server.",
        ),
        (
            "grpc_client_started_total",
            "Total number of RPCs started on the client.",
        ),
        (
            "grpc_client_handled_total",
            "Total number of RPCs completed by the client, regardless of success or failure.",
        ),
    ] {
        assert_eq!(
            scrape.docs.get(name).map(String::as_str),
            Some(help),
            "HELP of {name}"
        );
    }
    let hist = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "grpc_server_handling_seconds"
                && s.labels.get("grpc_method") == Some("GetUser")
        })
        .expect("GetUser histogram");
    let Value::Histogram(buckets) = &hist.value else {
        panic!("not a histogram: {:?}", hist.value)
    };
    let les: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
    assert_eq!(
        les,
        [
            0.005,
            0.01,
            0.025,
            0.05,
            0.1,
            0.25,
            0.5,
            1.0,
            2.5,
            5.0,
            10.0,
            f64::INFINITY
        ]
    );
    assert_eq!(buckets.last().map(|b| b.count), Some(3.0));
    let handled = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "grpc_server_handled_total" && s.labels.get("grpc_code") == Some("NotFound")
        })
        .expect("NotFound series");
    assert!(
        matches!(handled.value, Value::Counter(v) if v == 3.0),
        "{:?}",
        handled.value
    );

    // 2. Python's prometheus_client parser (the reference implementation).
    let py = std::process::Command::new("python3")
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let out = match py {
        Ok(mut child) => {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())?;
            child.wait_with_output()?
        }
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "python3 missing under CI: {e}"
            );
            println!("SKIPPED python parser check because python3 is missing: {e}");
            return Ok(());
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'prometheus_client'") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "prometheus_client missing under CI (pip install prometheus-client)"
        );
        println!("SKIPPED python parser check because prometheus_client is not installed");
        return Ok(());
    }
    assert!(
        out.status.success(),
        "prometheus_client rejected the output: {stderr}"
    );
    let fams: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    // The reference parser strips `_total` from counter family names.
    assert_eq!(fams["grpc_server_handled"][0], "counter", "{fams}");
    assert_eq!(fams["grpc_server_handling_seconds"][0], "histogram");
    assert_eq!(fams["grpc_client_started"][0], "counter");
    assert_eq!(fams["grpckit_server_in_flight_calls"][0], "gauge");
    assert_eq!(fams["process_resident_memory_bytes"][0], "gauge");
    assert_eq!(
        fams["grpc_server_handled"][2][0],
        serde_json::json!(["grpc_code", "grpc_method", "grpc_service", "grpc_type"])
    );
    srv.stop().await?;
    Ok(())
}
