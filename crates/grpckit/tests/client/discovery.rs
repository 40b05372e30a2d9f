//! Endpoints added and removed at run time; DNS names.

use std::{sync::atomic::Ordering, time::Duration};

use grpckit::client::ClientBuilder;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_endpoint_gets_traffic_removed_one_stops_and_its_calls_complete() {
    let bs = backends(3);
    let ch = channel(test_config(), &bs[..2]);
    let errors = run_calls(&ch, 200, 4, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bs[2].hits(), 0);

    // Add the third.
    ch.set_endpoints(bs.iter().map(Backend::url)).expect("set");
    let errors = run_calls(&ch, 300, 4, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_near(bs[2].hits(), 100, 5.0, "new endpoint share");

    // Slow down the first, start calls on it, remove it while they are in flight.
    bs[0].behavior.delay_ms.store(300, Ordering::SeqCst);
    let inflight: Vec<_> = (0..6)
        .map(|_| {
            let ch = ch.clone();
            tokio::spawn(async move { check(&ch, Duration::from_secs(10)).await })
        })
        .collect();
    // Wait until the slow endpoint holds some of them.
    for _ in 0..200 {
        if ch
            .endpoints()
            .iter()
            .any(|e| e.address == bs[0].url() && e.outstanding > 0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = bs[0].hits();
    assert!(before > 100, "slow endpoint had calls in flight");
    ch.set_endpoints([bs[1].url(), bs[2].url()]).expect("set");
    assert_eq!(ch.endpoints().len(), 2);
    for t in inflight {
        t.await
            .expect("task")
            .expect("in-flight call on the removed endpoint completes");
    }
    // Counted once the in-flight calls are done: those picked before the removal may reach
    // the handler after `before` was read (seen on a loaded machine).
    let settled = bs[0].hits();
    assert!(
        settled - before <= 6,
        "{settled} vs {before}: only the in-flight calls"
    );
    let errors = run_calls(&ch, 200, 4, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bs[0].hits(), settled, "removed endpoint got no new calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_name_is_resolved_and_re_resolved() {
    let bs = backends(2);
    let ch = ClientBuilder::new(test_config())
        .endpoint(format!("dns://localhost:{}", bs[0].addr.port()))
        .build()
        .expect("channel");
    for _ in 0..10 {
        check(&ch, Duration::from_secs(5))
            .await
            .expect("resolved via DNS");
    }
    assert_eq!(bs[0].hits(), 10);
    assert!(
        ch.endpoints().iter().any(|e| e.address == bs[0].url()),
        "{:?}",
        ch.endpoints()
    );

    // Point the name at the other port: the next resolution swaps the endpoint set.
    ch.set_endpoints([format!("dns://localhost:{}", bs[1].addr.port())])
        .expect("set");
    ch.refresh().await;
    for _ in 0..10 {
        check(&ch, Duration::from_secs(5))
            .await
            .expect("re-resolved");
    }
    assert_eq!(bs[0].hits(), 10);
    assert_eq!(bs[1].hits(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_endpoint_set_gets_every_new_call() {
    let bs = backends(3);
    let ch = channel(test_config(), &bs[..2]);
    let errors = run_calls(&ch, 100, 2, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    let (a, b) = (bs[0].hits(), bs[1].hits());
    assert_eq!(a + b, 100);

    ch.set_endpoints([bs[2].url()]).expect("set");
    let errors = run_calls(&ch, 100, 2, |_| {}).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(bs[2].hits(), 100, "every new call goes to the new set");
    assert_eq!(
        (bs[0].hits(), bs[1].hits()),
        (a, b),
        "none to the removed ones"
    );
    assert_eq!(ch.endpoints().len(), 1, "{:?}", ch.endpoints());
}
