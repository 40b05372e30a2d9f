//! The same exact go-grpc-prometheus counts as `metrics.rs` with `middleware.enabled: false`
//! (the server's own metrics layer records them instead of the fused stack). A test binary
//! of its own: the metrics registry is process-wide.

#[path = "support/metrics_check.rs"]
mod check;

use grpckit_app_test::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_call_kind_without_the_middleware_stack() -> anyhow::Result<()> {
    // `middleware.enabled: false`: the server's own metrics layer records the same series.
    check::count_every_call_kind(
        TestServer::start_open_with(|c| c.middleware.enabled = false).await?,
    )
    .await
}
