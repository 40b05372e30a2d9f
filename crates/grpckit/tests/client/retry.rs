//! Retry policy: budget, idempotency, pushback, transparent retries.

use std::{sync::atomic::Ordering, time::Duration};

use grpckit::client::ClientBuilder;
use tonic::Code;

use crate::support::*;

/// Budget and nothing else: no ejection, no client breaker.
fn budget_only() -> grpckit::config::ClientConfig {
    let mut cfg = test_config();
    cfg.outlier_detection.enabled = false;
    cfg.circuit_breaker.enabled = false;
    cfg.retry.max_attempts = 5;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_budget_bounds_attempts_against_a_failing_endpoint() {
    let bs = backends(1);
    bs[0].behavior.fail.store(true, Ordering::SeqCst);
    let ch = channel(budget_only(), &bs);
    let calls = 50;
    for _ in 0..calls {
        let st = check(&ch, Duration::from_secs(5))
            .await
            .expect_err("always failing");
        assert_eq!(st.code(), Code::Unavailable);
    }
    // Without the budget: 50 x 5 = 250 attempts. With 10 tokens, retries stop once 5
    // are spent.
    let hits = bs[0].hits();
    assert!(hits <= calls + 5, "attempts {hits} exceed calls + budget");
    assert!(hits > calls, "some retries happened: {hits}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_endpoint_is_retried_elsewhere() {
    let bs = backends(3);
    bs[0].behavior.fail.store(true, Ordering::SeqCst);
    let mut cfg = test_config();
    // A roomy retry budget: with the default one (10 tokens, retries stop at half) the five
    // failures before the ejection can drain it, and then a call that drew the failing
    // endpoint fails by design (gRPC A6 throttling; `retry_budget_bounds_attempts...` tests
    // that). Here every failed attempt must move to a healthy endpoint.
    cfg.retry.budget.max_tokens = 1000;
    let ch = channel(cfg, &bs);
    let errors = run_calls(&ch, 300, 4, |_| {}).await;
    assert!(
        errors.is_empty(),
        "{} of 300 calls failed: {errors:?}",
        errors.len()
    );
    // Ejected after 5 consecutive failures: the failing one saw only a handful.
    assert!(
        bs[0].hits() < 30,
        "failing endpoint kept getting calls: {}",
        bs[0].hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_idempotent_method_is_not_retried_once_it_reached_the_server() {
    let bs = backends(1);
    bs[0].behavior.fail.store(true, Ordering::SeqCst);
    let mut cfg = budget_only();
    cfg.retry.idempotent_methods.clear();
    let ch = channel(cfg, &bs);
    for _ in 0..20 {
        let st = check(&ch, Duration::from_secs(5))
            .await
            .expect_err("failing");
        assert_eq!(st.code(), Code::Unavailable);
    }
    assert_eq!(bs[0].hits(), 20, "exactly one attempt per call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_idempotent_method_is_retried_when_it_never_left_the_client() {
    let bs = backends(1);
    // A port with nothing listening: connect is refused, the request was never sent.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let mut cfg = test_config();
    cfg.retry.idempotent_methods.clear();
    let ch = ClientBuilder::new(cfg)
        .endpoint(format!("http://{dead_addr}"))
        .endpoint(bs[0].url())
        .build()
        .expect("channel");
    for _ in 0..20 {
        check(&ch, Duration::from_secs(5))
            .await
            .expect("refused connect is retried");
    }
    assert_eq!(bs[0].hits(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_pushback_stops_retries() {
    let bs = backends(1);
    bs[0].behavior.fail.store(true, Ordering::SeqCst);
    *bs[0].behavior.pushback.lock().expect("lock") = Some("-1".into());
    let ch = channel(budget_only(), &bs);
    for _ in 0..10 {
        check(&ch, Duration::from_secs(5))
            .await
            .expect_err("failing");
    }
    assert_eq!(bs[0].hits(), 10, "server said do not retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushback_delay_is_honoured_and_retry_succeeds() {
    let bs = backends(2);
    bs[0].behavior.fail.store(true, Ordering::SeqCst);
    *bs[0].behavior.pushback.lock().expect("lock") = Some("1".into());
    let mut cfg = budget_only();
    // Half the first attempts fail: a big bucket keeps retries allowed throughout.
    cfg.retry.budget.max_tokens = 1000;
    let ch = channel(cfg, &bs);
    let errors = run_calls(&ch, 50, 2, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_retry_policy_changes_the_attempt_count() {
    let bs = backends(1);
    bs[0].behavior.fail.store(true, Ordering::SeqCst);
    let mut cfg = budget_only();
    cfg.retry.budget.max_tokens = 1000;
    let ch = channel(cfg.clone(), &bs);
    let failed =
        |r: Result<(), tonic::Status>| assert_eq!(r.unwrap_err().code(), Code::Unavailable);
    failed(check(&ch, Duration::from_secs(5)).await);
    assert_eq!(bs[0].hits(), 5, "max_attempts 5");

    cfg.retry.max_attempts = 2;
    ch.set_policies(&cfg).expect("valid policy");
    failed(check(&ch, Duration::from_secs(5)).await);
    assert_eq!(bs[0].hits(), 5 + 2, "max_attempts 2 after the swap");

    cfg.retry.max_attempts = 4;
    cfg.retry.backoff_multiplier = 0.5;
    assert!(
        ch.set_policies(&cfg).is_err(),
        "an invalid policy is refused"
    );
    failed(check(&ch, Duration::from_secs(5)).await);
    assert_eq!(bs[0].hits(), 5 + 2 + 2, "the policy in force stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_circuit_breaker_settings_apply_and_unchanged_ones_keep_their_state() {
    let bs = backends(1);
    bs[0].behavior.fail.store(true, Ordering::SeqCst);
    let mut cfg = budget_only();
    cfg.retry.max_attempts = 1;
    cfg.circuit_breaker.enabled = true;
    cfg.circuit_breaker.min_requests = 5;
    cfg.circuit_breaker.open_time = Duration::from_secs(600);
    let ch = channel(cfg.clone(), &bs);
    for _ in 0..20 {
        let _ = check(&ch, Duration::from_secs(5)).await;
    }
    let opened = bs[0].hits();
    assert!(opened < 20, "the breaker opened: {opened} attempts");

    // Another retry policy: the breaker (and its open state) stays.
    cfg.retry.max_attempts = 2;
    ch.set_policies(&cfg).expect("valid policy");
    let st = check(&ch, Duration::from_secs(5)).await.unwrap_err();
    assert!(st.message().contains("circuit breaker"), "{st:?}");
    assert_eq!(bs[0].hits(), opened);

    // The breaker switched off: calls reach the endpoint again.
    cfg.circuit_breaker.enabled = false;
    cfg.retry.max_attempts = 1;
    ch.set_policies(&cfg).expect("valid policy");
    for _ in 0..3 {
        let _ = check(&ch, Duration::from_secs(5)).await;
    }
    assert_eq!(bs[0].hits(), opened + 3);
}
