//! Hot reload through `StackHandles` on a real server on loopback: a new rate-limit rule,
//! new auth rules and new IP lists, swapped in while the server runs, apply to the next
//! calls without a restart.

use std::{net::SocketAddr, time::Duration};

use grpckit::{
    config::{MethodPattern, MiddlewareConfig, RateRule, ServerConfig},
    middleware::{ReloadError, StackHandles, auth::AuthSecrets},
    server::{ServerBuilder, Shutdown},
};
use tonic::{Code, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const CHECK: &str = "grpc.health.v1.Health/Check";

/// A config with every part off but the ones a test switches on.
fn parts_off() -> MiddlewareConfig {
    let mut cfg = MiddlewareConfig::default();
    cfg.recover.enabled = false;
    cfg.log.enabled = false;
    cfg.auth.enabled = false;
    cfg.rate_limit.enabled = false;
    cfg.timeout.enabled = false;
    cfg.validate.enabled = false;
    cfg.audit.enabled = false;
    cfg
}

fn rule(per_second: u32) -> RateRule {
    RateRule {
        methods: MethodPattern::exact(CHECK),
        per_second,
        burst: per_second,
        cluster_limit: 0,
        cluster_window: Duration::from_secs(1),
        max_concurrent: 0,
    }
}

/// Serves health (and reflection) with `cfg` on 127.0.0.1:0; returns the stack's handles.
async fn serve(cfg: &MiddlewareConfig) -> (SocketAddr, StackHandles, Shutdown) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let builder = ServerBuilder::new(ServerConfig::default())
        .middleware(cfg, &AuthSecrets::default())
        .expect("stack builds");
    let handles = builder.stack_handles().expect("the stack is on");
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { builder.serve(listener, stop).await });
    (addr, handles, shutdown)
}

async fn client(addr: SocketAddr) -> HealthClient<Channel> {
    let ch = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    HealthClient::new(ch)
}

/// The code of one `Health/Check` call.
async fn check(c: &mut HealthClient<Channel>) -> Code {
    match c.check(HealthCheckRequest::default()).await {
        Ok(_) => Code::Ok,
        Err(st) => st.code(),
    }
}

async fn codes(c: &mut HealthClient<Channel>, n: usize) -> Vec<Code> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(check(c).await);
    }
    out
}

#[tokio::test]
async fn rate_limit_rule_swapped_while_serving() {
    let mut cfg = parts_off();
    cfg.rate_limit.enabled = true;
    cfg.rate_limit.rules = vec![rule(1)];
    let (addr, handles, shutdown) = serve(&cfg).await;
    let mut c = client(addr).await;

    // One call a second: the second call in a row is refused.
    assert_eq!(
        codes(&mut c, 2).await,
        [Code::Ok, Code::ResourceExhausted],
        "the rule the server started with"
    );

    // A roomy rule, swapped in without a restart: every call passes.
    handles
        .set_rate_limits(&[rule(1_000_000)])
        .expect("the stack limits rates");
    assert!(
        codes(&mut c, 20).await.iter().all(|c| *c == Code::Ok),
        "the roomy rule applies to the next calls"
    );

    // And back to the strict one (its bucket starts full).
    handles.set_rate_limits(&[rule(1)]).expect("swap back");
    assert_eq!(codes(&mut c, 2).await, [Code::Ok, Code::ResourceExhausted]);

    // No rule for the method at all: nothing is limited.
    handles.set_rate_limits(&[]).expect("no rules");
    assert!(codes(&mut c, 5).await.iter().all(|c| *c == Code::Ok));

    // A part that is off has no handle.
    assert!(matches!(
        handles.set_timeouts(&Default::default()),
        Err(ReloadError::PartOff(_))
    ));
    shutdown.trigger();
}

#[tokio::test]
async fn auth_rules_swapped_while_serving() {
    let mut cfg = parts_off();
    cfg.auth.enabled = true;
    cfg.auth.public_methods = vec![MethodPattern::service("grpc.health.v1.Health")];
    let (addr, handles, shutdown) = serve(&cfg).await;
    let mut c = client(addr).await;
    assert_eq!(check(&mut c).await, Code::Ok, "health is public at start");

    // Health no longer public: a call without credentials is refused from now on.
    let mut closed = cfg.auth.clone();
    closed.public_methods.clear();
    handles
        .set_auth(&closed, &AuthSecrets::default())
        .expect("auth reloads");
    assert_eq!(check(&mut c).await, Code::Unauthenticated);

    // And public again.
    handles
        .set_auth(&cfg.auth, &AuthSecrets::default())
        .expect("auth reloads");
    assert_eq!(check(&mut c).await, Code::Ok);
    shutdown.trigger();
}

#[tokio::test]
async fn ip_lists_swapped_while_serving() {
    let lists = |yaml: &str| -> grpckit::config::IpFilterConfig {
        serde_norway::from_str(yaml).expect("ip_filter yaml")
    };
    let mut cfg = parts_off();
    cfg.ip_filter = lists("{deny: [192.0.2.1]}");
    let (addr, handles, shutdown) = serve(&cfg).await;
    let mut c = client(addr).await;
    assert_eq!(check(&mut c).await, Code::Ok, "loopback is not denied");

    handles
        .set_ip_filter(&lists("{deny: [127.0.0.0/8]}"))
        .expect("the stack filters addresses");
    assert_eq!(check(&mut c).await, Code::PermissionDenied);

    handles
        .set_ip_filter(&lists("{allow: [127.0.0.1]}"))
        .expect("swap again");
    assert_eq!(
        check(&mut c).await,
        Code::Ok,
        "the same connection, new lists"
    );
    shutdown.trigger();

    // Without lists at start the part is not in the stack: nothing to swap.
    let (_, handles, shutdown) = serve(&parts_off()).await;
    assert!(matches!(
        handles.set_ip_filter(&lists("{deny: [127.0.0.1]}")),
        Err(ReloadError::PartOff(_))
    ));
    shutdown.trigger();
}
