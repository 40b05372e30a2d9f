//! Loopback gRPC backends for client tests: the standard health service behind a small
//! layer that counts calls and can add a delay, fail with UNAVAILABLE (optionally with
//! `grpc-retry-pushback-ms`), be killed hard (its runtime dropped: sockets close mid-call)
//! or shut down gracefully (GOAWAY + drain).

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use grpckit::client::{BalancedChannel, ClientBuilder};
use grpckit::config::ClientConfig;
use tonic::{Status, body::Body};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// What a backend does with each call.
#[derive(Debug, Default)]
pub struct Behavior {
    pub hits: AtomicUsize,
    pub delay_ms: AtomicU64,
    pub fail: AtomicBool,
    pub pushback: Mutex<Option<String>>,
}

#[derive(Clone)]
struct Behave<S> {
    inner: S,
    b: Arc<Behavior>,
}

impl<S> tower::Service<http::Request<Body>> for Behave<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Send,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let b = self.b.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            b.hits.fetch_add(1, Ordering::SeqCst);
            let d = b.delay_ms.load(Ordering::SeqCst);
            if d > 0 {
                tokio::time::sleep(Duration::from_millis(d)).await;
            }
            if b.fail.load(Ordering::SeqCst) {
                let mut resp: http::Response<Body> =
                    Status::unavailable("test backend failing").into_http();
                if let Some(p) = b.pushback.lock().expect("lock").clone() {
                    resp.headers_mut()
                        .insert("grpc-retry-pushback-ms", p.parse().expect("header"));
                }
                return Ok(resp);
            }
            inner.call(req).await
        })
    }
}

/// One backend on its own thread and runtime.
pub struct Backend {
    pub addr: SocketAddr,
    pub behavior: Arc<Behavior>,
    stop: Option<std::sync::mpsc::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Backend {
    pub fn start() -> Self {
        let behavior = Arc::new(Behavior::default());
        let b = behavior.clone();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<bool>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            let (graceful_tx, graceful_rx) = tokio::sync::oneshot::channel::<()>();
            let listener = rt.block_on(async {
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind")
            });
            addr_tx
                .send(listener.local_addr().expect("addr"))
                .expect("send addr");
            let server = rt.spawn(async move {
                let (reporter, health) = tonic_health::server::health_reporter();
                let _keep = reporter;
                let layer = tower::layer::layer_fn(move |inner| Behave {
                    inner,
                    b: b.clone(),
                });
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                let _ = tonic::transport::Server::builder()
                    .layer(layer)
                    .add_service(health)
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = graceful_rx.await;
                    })
                    .await;
            });
            // true = graceful (GOAWAY, drain), false = hard kill (drop everything).
            let graceful = stop_rx.recv().unwrap_or(false);
            if graceful {
                let _ = graceful_tx.send(());
                let _ = rt.block_on(server);
            }
            // Wait for the worker to stop (tasks are dropped, not finished): once `kill`
            // returns, this instance handles nothing more. `shutdown_background` returned
            // before that, so a hit could land after the caller read `hits()`.
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        });
        let addr = addr_rx.recv().expect("backend address");
        Self {
            addr,
            behavior,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.behavior.hits.load(Ordering::SeqCst)
    }

    /// Drops the server's runtime: connections die mid-call.
    pub fn kill(&mut self) {
        self.stop_with(false);
    }

    /// Graceful shutdown: GOAWAY, in-flight calls finish, listener closes.
    pub fn drain(&mut self) {
        self.stop_with(true);
    }

    fn stop_with(&mut self, graceful: bool) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(graceful);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn backends(n: usize) -> Vec<Backend> {
    (0..n).map(|_| Backend::start()).collect()
}

/// A config for tests: fast back-off, health methods idempotent.
pub fn test_config() -> ClientConfig {
    let mut cfg = ClientConfig::default();
    cfg.retry.initial_backoff = Duration::from_millis(1);
    cfg.retry.max_backoff = Duration::from_millis(5);
    cfg.retry.idempotent_methods = vec!["/grpc.health.v1.Health/*".into()];
    cfg.connection_timeout = Duration::from_secs(2);
    cfg
}

pub fn channel(cfg: ClientConfig, backends: &[Backend]) -> BalancedChannel {
    ClientBuilder::new(cfg)
        .endpoints(backends.iter().map(Backend::url))
        .build()
        .expect("channel")
}

/// One `Health/Check` call with a deadline.
pub async fn check(ch: &BalancedChannel, timeout: Duration) -> Result<(), Status> {
    let mut client = HealthClient::new(ch.clone());
    let mut req = tonic::Request::new(HealthCheckRequest::default());
    req.set_timeout(timeout);
    client.check(req).await.map(|_| ())
}

/// `total` calls over `concurrency` tasks; `on_progress(done)` runs after each call.
pub async fn run_calls(
    ch: &BalancedChannel,
    total: usize,
    concurrency: usize,
    on_progress: impl Fn(usize) + Send + Sync + 'static,
) -> Vec<Status> {
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let on_progress = Arc::new(on_progress);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (ch, next, done, errors, on_progress) = (
            ch.clone(),
            next.clone(),
            done.clone(),
            errors.clone(),
            on_progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < total {
                if let Err(s) = check(&ch, Duration::from_secs(10)).await {
                    errors.lock().expect("lock").push(s);
                }
                let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                on_progress(d);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    errors.lock().expect("lock").clone()
}

/// Asserts `got` is within `pct` percent of `want`.
pub fn assert_near(got: usize, want: usize, pct: f64, what: &str) {
    let lo = want as f64 * (1.0 - pct / 100.0);
    let hi = want as f64 * (1.0 + pct / 100.0);
    assert!(
        (got as f64) >= lo && (got as f64) <= hi,
        "{what}: got {got}, want {want} ± {pct}%"
    );
}
