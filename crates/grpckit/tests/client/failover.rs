//! Instances dying or draining mid-run; every instance down.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tonic::Code;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_instance_mid_run_fails_no_call() {
    let bs = backends(3);
    let mut cfg = test_config();
    // A roomy retry budget: up to 8 calls are in flight on the killed instance at once, and
    // with the default budget (10 tokens, retries stop at half) the sixth failure in a row
    // is not retried by design (gRPC A6 throttling, tested in retry.rs). Seen in CI.
    cfg.retry.budget.max_tokens = 1000;
    let ch = channel(cfg, &bs);
    let bs = Arc::new(Mutex::new(bs));
    let killer = bs.clone();
    let killed_at = Arc::new(Mutex::new(None));
    let k = killed_at.clone();
    let errors = run_calls(&ch, 2000, 8, move |done| {
        if done == 700 {
            let mut g = killer.lock().expect("lock");
            g[1].kill();
            *k.lock().expect("lock") = Some(g[1].hits());
        }
    })
    .await;
    assert!(
        errors.is_empty(),
        "{} calls failed: {:?}",
        errors.len(),
        errors.first()
    );
    let g = bs.lock().expect("lock");
    let at_kill = killed_at.lock().expect("lock").expect("killed");
    assert_eq!(
        g[1].hits(),
        at_kill,
        "dead instance got no calls after the kill"
    );
    assert!(g[0].hits() + g[2].hits() + at_kill >= 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_instance_gets_no_new_calls_and_non_idempotent_calls_survive() {
    let bs = backends(3);
    let mut cfg = test_config();
    // Not idempotent: only transparent retries (refused stream, connect error) are allowed.
    cfg.retry.idempotent_methods.clear();
    let ch = channel(cfg, &bs);
    let bs = Arc::new(Mutex::new(bs));
    let drainer = bs.clone();
    let errors = run_calls(&ch, 1500, 4, move |done| {
        if done == 500 {
            // Off the runtime: a graceful drain waits for this client's connection to close,
            // which a blocked worker (holding the connection task in its LIFO slot) never does.
            let d = drainer.clone();
            std::thread::spawn(move || d.lock().expect("lock")[2].drain());
        }
    })
    .await;
    assert!(
        errors.is_empty(),
        "{} calls failed: {:?}",
        errors.len(),
        errors.first()
    );
    let g = bs.lock().expect("lock");
    assert!(
        g[2].hits() < 700,
        "drained instance kept getting calls: {}",
        g[2].hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_instances_down_fails_fast_with_unavailable() {
    let mut bs = backends(3);
    let ch = channel(test_config(), &bs);
    check(&ch, Duration::from_secs(5))
        .await
        .expect("up at first");
    for b in &mut bs {
        b.kill();
    }
    let mut codes = Vec::new();
    let mut messages = Vec::new();
    for _ in 0..40 {
        let res = tokio::time::timeout(Duration::from_secs(30), check(&ch, Duration::from_secs(3)))
            .await
            .expect("no hang: the call returns within its deadline");
        let st = res.expect_err("everything is down");
        codes.push(st.code());
        messages.push(st.message().to_owned());
    }
    assert!(
        codes.iter().all(|c| *c == Code::Unavailable),
        "{codes:?} {messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("ejected") || m.contains("circuit breaker")),
        "ejection/breaker answers fast: {messages:?}"
    );
    assert!(
        ch.endpoints().iter().all(|e| e.ejected),
        "{:?}",
        ch.endpoints()
    );
}
