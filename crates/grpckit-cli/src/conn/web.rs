//! One HTTP connection for the web protocols (`--protocol grpc-web|connect|rest`): HTTP/1.1
//! by default in plaintext, h2c with `--http2`, HTTP/2 over TLS (ALPN `h2`). Requests are
//! whole (`Full` bodies); the caller reads the answer.

use anyhow::Context as _;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, Uri, header};
use http_body_util::Full;
use hyper::{
    body::Incoming,
    client::conn::{http1, http2},
};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tower::Service;

use super::ConnArgs;

/// An open HTTP/1.1 or HTTP/2 connection.
#[derive(Debug)]
pub enum HttpConn {
    /// HTTP/1.1: one request at a time.
    H1(http1::SendRequest<Full<Bytes>>, Uri),
    /// HTTP/2 (h2c or TLS): clones share the connection.
    H2(http2::SendRequest<Full<Bytes>>, Uri),
}

impl HttpConn {
    /// Another handle on an HTTP/2 connection (`None` for HTTP/1.1, which carries one
    /// request at a time: each user opens its own).
    pub fn share(&self) -> Option<Self> {
        match self {
            Self::H2(s, o) => Some(Self::H2(s.clone(), o.clone())),
            Self::H1(..) => None,
        }
    }

    /// Connects per `args` (TLS when it asks for TLS); plaintext speaks HTTP/1.1 unless
    /// `http2` (h2c with prior knowledge).
    pub async fn connect(args: &ConnArgs, http2: bool) -> anyhow::Result<Self> {
        let origin = args.origin()?;
        let fut = async {
            if let Some(mut connector) = args.tls_connector()? {
                // The connector offers ALPN `h2` only.
                let io = connector.call(origin.clone()).await?;
                Self::h2(io, origin.clone()).await
            } else {
                let tcp = TcpStream::connect(args.authority()).await?;
                tcp.set_nodelay(true)?;
                let io = TokioIo::new(tcp);
                if http2 {
                    Self::h2(io, origin.clone()).await
                } else {
                    let (send, conn) = http1::handshake(io).await?;
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "HTTP/1.1 connection closed");
                        }
                    });
                    Ok(Self::H1(send, origin.clone()))
                }
            }
        };
        tokio::time::timeout(args.connect_timeout, fut)
            .await
            .map_err(|_| anyhow::anyhow!("connect timed out after {:?}", args.connect_timeout))
            .and_then(|r| r)
            .with_context(|| format!("cannot connect to {}", args.addr))
    }

    async fn h2<I>(io: I, origin: Uri) -> anyhow::Result<Self>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (send, conn) = http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "HTTP/2 connection closed");
            }
        });
        Ok(Self::H2(send, origin))
    }

    /// Sends `req` (its URI a path and query; the connection adds the scheme and
    /// authority, or the `Host` header) and returns the answer's head and body stream.
    pub async fn send(
        &mut self,
        mut req: Request<Full<Bytes>>,
    ) -> hyper::Result<Response<Incoming>> {
        match self {
            Self::H1(send, origin) => {
                if let Some(a) = origin.authority()
                    && let Ok(v) = HeaderValue::from_str(a.as_str())
                {
                    req.headers_mut().insert(header::HOST, v);
                }
                send.ready().await?;
                send.send_request(req).await
            }
            Self::H2(send, origin) => {
                let mut parts = origin.clone().into_parts();
                parts.path_and_query = req.uri().path_and_query().cloned();
                if let Ok(uri) = Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
                *req.version_mut() = http::Version::HTTP_2;
                send.ready().await?;
                send.send_request(req).await
            }
        }
    }

    /// Whether the connection can take another request (an HTTP/1.1 connection the server
    /// closed cannot).
    pub fn is_open(&self) -> bool {
        match self {
            Self::H1(s, _) => !s.is_closed(),
            Self::H2(s, _) => !s.is_closed(),
        }
    }
}
