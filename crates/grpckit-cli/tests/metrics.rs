//! `/metrics` after known traffic: exact go-grpc-prometheus counts and labels for all four
//! call kinds, errors, a cancelled stream, and the client twins (the test's own calls go
//! through `grpckit::client::instrument`, the same layer the directory client uses).

#[path = "support/metrics_check.rs"]
mod check;

use grpckit_app_test::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_call_kind_exactly() -> anyhow::Result<()> {
    // The fused middleware stack records the series.
    check::count_every_call_kind(TestServer::start_open().await?).await
}
