//! One bare HTTP/2 connection for the load generator's hot path.
//!
//! tonic's `Channel` puts a `Buffer` (a worker task fed through a queue) and a reconnect
//! layer in front of hyper's connection, and hyper's client sends every request through its
//! connection task and spawns one more task per request body. `grpckit perf` opens its
//! connections up front, never reconnects and does not decode replies, so it drives the `h2`
//! crate directly: each worker opens its stream, writes pre-framed messages, drains the reply
//! and reads the status from the trailers, all from its own task. The generator then spends
//! its CPU on calls, not hand-offs (see bench/README.md, "Instructions per call").

use std::future::poll_fn;

use anyhow::Context as _;
use bytes::{BufMut, Bytes, BytesMut};
use h2::client::SendRequest;
use http::{HeaderMap, HeaderValue, Request, Uri, header, uri::PathAndQuery};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};
use tonic::{Code, Status};
use tower::Service;

use super::ConnArgs;

/// Receive windows large enough that small replies never wait for WINDOW_UPDATE frames.
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 1 << 24;

/// One HTTP/2 connection; clones share it (as many streams as the server allows).
#[derive(Debug, Clone)]
pub struct DirectChannel {
    send: SendRequest<Bytes>,
}

/// What every call on a connection sends besides its messages.
#[derive(Debug, Clone)]
pub struct CallHead {
    uri: Uri,
    headers: HeaderMap,
}

impl CallHead {
    /// `origin` gives `:scheme` and `:authority`, `path` is `/pkg.Service/Method`; `metadata`
    /// is sent as is (a `grpc-timeout` included).
    pub fn new(origin: &Uri, path: &PathAndQuery, metadata: HeaderMap) -> anyhow::Result<Self> {
        let mut parts = origin.clone().into_parts();
        parts.path_and_query = Some(path.clone());
        let mut headers = metadata;
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("grpckit-perf/", env!("CARGO_PKG_VERSION"))),
        );
        Ok(Self {
            uri: Uri::from_parts(parts)?,
            headers,
        })
    }

    fn request(&self) -> Request<()> {
        let mut req = Request::new(());
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// `msg` encoded behind the 5-byte gRPC message prefix (uncompressed), in one buffer.
pub fn frame(msg: &impl prost::Message) -> Bytes {
    let len = msg.encoded_len();
    let mut b = BytesMut::with_capacity(5 + len);
    b.put_u8(0);
    b.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    msg.encode_raw(&mut b);
    b.freeze()
}

impl DirectChannel {
    /// Opens the connection (TCP or TLS per `args`) and spawns its driver task.
    pub async fn connect(args: &ConnArgs) -> anyhow::Result<Self> {
        let authority = args.authority();
        let fut = async {
            if let Some(mut connector) = args.tls_connector()? {
                let io = connector.call(args.origin()?).await?;
                Self::handshake(io.into_inner()).await
            } else {
                let tcp = TcpStream::connect(authority).await?;
                tcp.set_nodelay(true)?;
                Self::handshake(tcp).await
            }
        };
        tokio::time::timeout(args.connect_timeout, fut)
            .await
            .map_err(|_| anyhow::anyhow!("connect timed out after {:?}", args.connect_timeout))
            .and_then(|r| r)
            .with_context(|| format!("cannot connect to {}", args.addr))
    }

    async fn handshake<I>(io: I) -> anyhow::Result<Self>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, conn) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .handshake(io)
            .await
            .context("HTTP/2 handshake")?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "perf connection closed");
            }
        });
        Ok(Self { send })
    }

    /// One call of any kind: sends `messages` (already framed with [`frame`]) and ends the
    /// request stream, then drains the reply without decoding it. `Ok` when the server's
    /// status is OK.
    pub async fn call(
        &mut self,
        head: &CallHead,
        messages: impl ExactSizeIterator<Item = Bytes>,
    ) -> Result<(), Status> {
        poll_fn(|cx| self.send.poll_ready(cx))
            .await
            .map_err(h2_status)?;
        let n = messages.len();
        let (response, mut body) = self
            .send
            .send_request(head.request(), n == 0)
            .map_err(h2_status)?;
        for (i, m) in messages.enumerate() {
            body.send_data(m, i + 1 == n).map_err(h2_status)?;
        }
        let response = response.await.map_err(h2_status)?;
        if let Some(status) = head_status(&response) {
            return status;
        }
        let mut recv = response.into_body();
        while let Some(data) = recv.data().await {
            let data = data.map_err(h2_status)?;
            let _ = recv.flow_control().release_capacity(data.len());
        }
        match recv.trailers().await.map_err(h2_status)? {
            Some(trailers) => grpc_status(&trailers),
            None => Err(Status::internal(
                "the reply ended without grpc-status trailers",
            )),
        }
    }
}

/// A reply decided by its headers alone: an HTTP error, or a trailers-only gRPC status.
fn head_status(r: &http::Response<h2::RecvStream>) -> Option<Result<(), Status>> {
    if r.status() != http::StatusCode::OK {
        return Some(Err(Status::new(
            http_code(r.status()),
            format!("HTTP status {}", r.status()),
        )));
    }
    r.headers()
        .contains_key("grpc-status")
        .then(|| grpc_status(r.headers()))
}

fn grpc_status(headers: &HeaderMap) -> Result<(), Status> {
    match Status::from_header_map(headers) {
        Some(s) if s.code() == Code::Ok => Ok(()),
        Some(s) => Err(s),
        None => Err(Status::internal("the reply has no grpc-status")),
    }
}

/// The gRPC code for an HTTP status that is not 200 (gRPC's http-grpc-status-mapping).
fn http_code(s: http::StatusCode) -> Code {
    match s.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

fn h2_status(e: h2::Error) -> Status {
    Status::from_error(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_prefixes_flag_and_length() {
        // `String` is prost's google.protobuf.StringValue: field 1, length-delimited.
        assert_eq!(&frame(&String::from("abc"))[..], b"\0\0\0\0\x05\x0a\x03abc");
        assert_eq!(&frame(&String::new())[..], b"\0\0\0\0\0");
    }

    #[test]
    fn http_errors_map_like_grpc() {
        assert_eq!(http_code(http::StatusCode::NOT_FOUND), Code::Unimplemented);
        assert_eq!(
            http_code(http::StatusCode::SERVICE_UNAVAILABLE),
            Code::Unavailable
        );
        assert_eq!(http_code(http::StatusCode::IM_A_TEAPOT), Code::Unknown);
    }

    #[test]
    fn trailers_decide_the_status() {
        let mut h = HeaderMap::new();
        assert_eq!(grpc_status(&h).unwrap_err().code(), Code::Internal);
        h.insert("grpc-status", HeaderValue::from_static("0"));
        assert!(grpc_status(&h).is_ok());
        h.insert("grpc-status", HeaderValue::from_static("5"));
        h.insert("grpc-message", HeaderValue::from_static("no%20such%20user"));
        let s = grpc_status(&h).unwrap_err();
        assert_eq!((s.code(), s.message()), (Code::NotFound, "no such user"));
    }
}
