//! REST/JSON transcoding of a service that is not the reference app: `bridge.test.v1`
//! (`tests/proto/bridge_test.proto`, compiled here with protox) covers the `google.api.http`
//! features and proto3 JSON forms the reference protos do not use. Its echo-style service is
//! served by [`ServerBuilder`] with the middleware stack on `127.0.0.1:0` and driven by
//! `tests/py/rest_transcoding.py`: Python `requests` over HTTP/1.1 and `curl
//! --http2-prior-knowledge` over h2c. A raw socket (HTTP/1.1) and curl (h2c) check that a
//! client leaving a Server-Sent Events stream cancels the handler.
//!
//! The parts that need python3 + `requests` or `curl` are skipped (with a reason) without
//! them; under `CI=true` that fails instead.

use std::{
    convert::Infallible,
    future::Future,
    path::Path,
    pin::Pin,
    process::{Command, Stdio},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::{Buf, BufMut, Bytes};
use futures::{Stream, StreamExt};
use grpckit::{
    config::{MiddlewareConfig, ServerConfig},
    middleware::auth::AuthSecrets,
    server::ServerBuilder,
};
use grpckit_test::{TestServer, TokenMinter, require_tool};
use http::{Request, Response};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::{
    Code, Status,
    body::Body,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder, Streaming},
    server::NamedService,
};
use tower::Service;

const SECRET: &str = "rest-transcoding-secret-0123456789";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;

/// The encoded descriptor set of `bridge_test.proto` and its imports.
fn descriptors() -> &'static [u8] {
    static SET: OnceLock<Vec<u8>> = OnceLock::new();
    SET.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut compiler =
            protox::Compiler::new([here.join("tests/proto"), here.join("../../proto")])
                .expect("proto include paths");
        compiler.include_imports(true);
        compiler
            .open_files(["bridge_test.proto"])
            .expect("bridge_test.proto compiles");
        compiler.encode_file_descriptor_set()
    })
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(descriptors()).expect("descriptor set decodes"))
}

fn message(name: &str) -> MessageDescriptor {
    pool()
        .get_message_by_name(&format!("bridge.test.v1.{name}"))
        .expect("message type")
}

/// Messages as raw protobuf bytes: the handlers read them with prost-reflect.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}

/// `bridge.test.v1.BridgeTest` (see the proto): echoes, ticks and a collector.
#[derive(Debug, Clone, Default)]
struct BridgeTest {
    /// Endless tick streams whose handler was dropped (the client went away).
    cancelled: Arc<AtomicUsize>,
}

impl NamedService for BridgeTest {
    const NAME: &'static str = "bridge.test.v1.BridgeTest";
}

/// Unary methods: the request as is, or Empty for Ping.
struct Echo;

impl tonic::server::UnaryService<Bytes> for Echo {
    type Response = Bytes;
    type Future = BoxFuture<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, req: tonic::Request<Bytes>) -> Self::Future {
        Box::pin(async move { Ok(tonic::Response::new(req.into_inner())) })
    }
}

/// Counts the drop of an endless tick stream.
struct DropFlag(Arc<AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Ticks(Arc<AtomicUsize>);

impl tonic::server::ServerStreamingService<Bytes> for Ticks {
    type Response = Bytes;
    type ResponseStream = BoxStream<Result<Bytes, Status>>;
    type Future = BoxFuture<Result<tonic::Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, req: tonic::Request<Bytes>) -> Self::Future {
        let cancelled = self.0.clone();
        Box::pin(async move {
            let req = DynamicMessage::decode(message("TicksRequest"), req.into_inner())
                .map_err(|e| Status::internal(e.to_string()))?;
            let int = |name: &str| match req.get_field_by_name(name).as_deref() {
                Some(Value::I32(n)) => *n,
                _ => 0,
            };
            let (count, fail) = (int("count"), int("fail_code"));
            let fail_message = match req.get_field_by_name("fail_message").as_deref() {
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            let failure = (fail != 0).then(|| Status::new(Code::from(fail), fail_message));
            if count < 0 {
                return Err(failure.unwrap_or_else(|| Status::invalid_argument("count < 0")));
            }
            let tick = |n: i64| {
                let mut m = DynamicMessage::new(message("Nested"));
                m.set_field_by_name("label", Value::String("tick".into()));
                m.set_field_by_name("big", Value::I64(n));
                Ok(Bytes::from(m.encode_to_vec()))
            };
            let stream: Self::ResponseStream = if count == 0 {
                let flag = DropFlag(cancelled);
                Box::pin(futures::stream::unfold(
                    (1, flag),
                    move |(n, flag)| async move {
                        if n > 1 {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Some((tick(n), (n + 1, flag)))
                    },
                ))
            } else {
                let ticks = futures::stream::iter((1..=i64::from(count)).map(tick));
                Box::pin(ticks.chain(futures::stream::iter(failure.map(Err))))
            };
            Ok(tonic::Response::new(stream))
        })
    }
}

struct Collect;

impl tonic::server::ClientStreamingService<Bytes> for Collect {
    type Response = Bytes;
    type Future = BoxFuture<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, req: tonic::Request<Streaming<Bytes>>) -> Self::Future {
        Box::pin(async move {
            let desc = message("Everything");
            let mut stream = req.into_inner();
            let (mut ids, mut sum, mut first) = (Vec::new(), 0i64, None::<Instant>);
            let mut last = Instant::now();
            while let Some(m) = stream.message().await? {
                let now = Instant::now();
                first.get_or_insert(now);
                last = now;
                let m = DynamicMessage::decode(desc.clone(), m)
                    .map_err(|e| Status::internal(e.to_string()))?;
                if let Some(Value::String(id)) = m.get_field_by_name("id").as_deref() {
                    ids.push(Value::String(id.clone()));
                }
                if let Some(Value::I64(n)) = m.get_field_by_name("big").as_deref() {
                    sum += n;
                }
            }
            let mut out = DynamicMessage::new(desc);
            out.set_field_by_name("small", Value::I32(ids.len() as i32));
            out.set_field_by_name("tags", Value::List(ids));
            out.set_field_by_name("big", Value::I64(sum));
            // Seconds between the first and the last message: streamed lines arrive apart.
            let spread = first.map_or(0.0, |f| (last - f).as_secs_f64());
            out.set_field_by_name("ratio", Value::F64(spread));
            Ok(tonic::Response::new(Bytes::from(out.encode_to_vec())))
        })
    }
}

impl Service<Request<Body>> for BridgeTest {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let cancelled = self.cancelled.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec);
            let method = req.uri().path().rsplit('/').next().unwrap_or_default();
            Ok(match method {
                "Echo" | "EchoNested" | "EchoTags" | "Ping" | "Secret" => {
                    grpc.unary(Echo, req).await
                }
                "Ticks" => grpc.server_streaming(Ticks(cancelled), req).await,
                "Collect" => grpc.client_streaming(Collect, req).await,
                _ => Status::unimplemented("").into_http(),
            })
        })
    }
}

/// Every method public but `Secret`, which needs the `ops` role.
fn stack() -> MiddlewareConfig {
    let yaml = format!(
        r#"
auth:
  public_methods:
    - bridge.test.v1.BridgeTest/Echo
    - bridge.test.v1.BridgeTest/EchoNested
    - bridge.test.v1.BridgeTest/EchoTags
    - bridge.test.v1.BridgeTest/Ping
    - bridge.test.v1.BridgeTest/Ticks
    - bridge.test.v1.BridgeTest/Collect
  jwt:
    keys: [{{ kid: rest, algorithm: HS256, secret: "{SECRET}" }}]
    issuer: ""
    audience: ""
  roles:
    - {{ role: ops, allow: ["bridge.test.v1.BridgeTest/*"] }}
"#
    );
    serde_norway::from_str(&yaml).expect("middleware config")
}

async fn start() -> (TestServer, BridgeTest) {
    let svc = BridgeTest::default();
    let builder = ServerBuilder::new(ServerConfig::default())
        .middleware(&stack(), &AuthSecrets::default())
        .expect("stack")
        .file_descriptor_set(descriptors())
        .add_service(svc.clone());
    (TestServer::start(builder).await.expect("start"), svc)
}

fn tools_or_skip(test: &str) -> bool {
    let python = Command::new("python3")
        .args(["-c", "import requests"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let curl = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("HTTP2"));
    require_tool(
        test,
        python && curl,
        "python3 with requests, and curl with HTTP/2 (scripts/install-test-tools.sh)",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcoding_edge_cases_over_http1_and_h2c() {
    if !tools_or_skip("transcoding_edge_cases_over_http1_and_h2c") {
        return;
    }
    let (server, _) = start().await;
    let token = TokenMinter::hs256(SECRET)
        .kid("rest")
        .token("alice", &["ops"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/rest_transcoding.py");
    let url = server.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([&url, &token])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rest_transcoding.py failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.lines().last().is_some_and(|l| l.starts_with("OK ")),
        "{stdout}"
    );
    server.stop().await.expect("graceful stop");
}

/// A client that reads one Server-Sent Event of an endless stream and hangs up: the
/// handler's stream is dropped (the call is cancelled) soon after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_leaving_a_server_sent_events_stream_cancels_the_handler() {
    let (server, svc) = start().await;
    let mut sock = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    sock.write_all(b"GET /v1/ticks HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen).contains("\ndata: ") {
        assert!(
            Instant::now() < deadline,
            "no event: {:?}",
            String::from_utf8_lossy(&seen)
        );
        let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&seen).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert_eq!(svc.cancelled.load(Ordering::SeqCst), 0, "still streaming");
    drop(sock);
    wait_cancelled(&svc, 1).await;

    // The same over h2c: curl follows the endless stream for a second, then hangs up.
    if tools_or_skip("client_leaving_a_server_sent_events_stream_cancels_the_handler (h2c)") {
        let url = format!("{}/v1/ticks", server.url());
        let out = tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sN", "--http2-prior-knowledge", "--max-time", "1"])
                .args(["-H", "accept: text/event-stream", &url])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("id: 1\ndata: "), "{text}");
        wait_cancelled(&svc, 2).await;
    }
    server.stop().await.expect("graceful stop");
}

/// Waits (up to 5 s) until `n` endless streams were dropped.
async fn wait_cancelled(svc: &BridgeTest, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while svc.cancelled.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "the handler's stream was not dropped after the client left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
