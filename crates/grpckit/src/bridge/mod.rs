//! The HTTP bridges: one tower service in front of the server's stack that tells the
//! protocols apart per request and turns every non-gRPC request into an in-process gRPC call
//! through the SAME stack (`call`), so auth, limits, validation, timeouts, audit, logs,
//! traces and metrics run once per call whatever the protocol.
//!
//! - `application/grpc`, `application/grpc+proto`: native gRPC, handed to the stack as is.
//! - `application/grpc-web`, `+proto`, `-text`, `+json`: gRPC-Web (`web`).
//! - `application/json` / `application/proto` POSTs and `application/connect+json|proto`
//!   streams on a gRPC path, and GETs of `NO_SIDE_EFFECTS` methods: Connect (`connect`).
//! - `GET /openapi.json`: the OpenAPI 3.1 document (`openapi`).
//! - everything else: REST/JSON from the `google.api.http` options (`rest`), with server
//!   streams as Server-Sent Events or newline-delimited JSON.
//!
//! CORS preflights and headers for all of them come from `server.http.cors` (`cors`).
//!
//! For tools, two pieces are public: [`openapi_document`] (the OpenAPI document a server
//! with given descriptor sets serves) and [`rest_request`] (the REST request of a method's
//! `google.api.http` binding for a message, as a client sends it).

pub(crate) mod call;
pub(crate) mod catalog;
pub(crate) mod connect;
pub(crate) mod cors;
pub(crate) mod http_rule;
pub(crate) mod json;
pub(crate) mod metrics;
pub(crate) mod openapi;
pub(crate) mod rest;
pub(crate) mod rest_request;
pub(crate) mod status;
pub(crate) mod web;

use std::{convert::Infallible, future::Future, pin::Pin, sync::Arc};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use tonic::{Status, body::Body};
use tower::{Service, ServiceExt, util::BoxCloneSyncService};

pub(crate) use call::Inner;
pub(crate) use catalog::Catalog;
pub use openapi::{OpenApiOptions, document as openapi_document};
pub use rest_request::{RestRequest, RestRequestError, rest_request};

use crate::config::HttpBridgeConfig;

/// What every bridge shares: the API's catalog and the settings.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The served methods and their message types.
    pub(crate) catalog: Catalog,
    /// `server.http`.
    pub(crate) config: HttpBridgeConfig,
    /// The largest request body read (JSON text of a `server.max_recv_size` message, with
    /// room for JSON's overhead).
    pub(crate) max_body: usize,
    /// The CORS policy.
    pub(crate) cors: cors::Cors,
    /// The REST route table, built from the catalog on the first REST request.
    pub(crate) rest: std::sync::OnceLock<rest::Routes>,
    /// The OpenAPI document, generated on first request.
    pub(crate) openapi: openapi::Served,
}

/// A request as the bridges handle it: the stack to call and what they share.
#[derive(Clone)]
pub(crate) struct Ctx {
    /// The server's stack.
    pub(crate) inner: Inner,
    /// The catalog and settings.
    pub(crate) shared: Arc<Shared>,
}

impl Ctx {
    /// Reads a request body whole, up to `max_body` bytes (`RESOURCE_EXHAUSTED` beyond).
    pub(crate) async fn read_body(&self, body: Body) -> Result<Bytes, Status> {
        match Limited::new(body, self.shared.max_body).collect().await {
            Ok(b) => Ok(b.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                Err(Status::resource_exhausted(format!(
                    "request body larger than {} bytes",
                    self.shared.max_body
                )))
            }
            Err(e) => Err(Status::cancelled(format!("request body: {e}"))),
        }
    }
}

/// The protocol of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// gRPC-Web (binary, text or JSON).
    GrpcWeb,
    /// Connect (unary POST or GET, streams).
    Connect,
    /// REST/JSON transcoding (SSE and NDJSON streams included).
    Rest,
}

impl Protocol {
    /// The `protocol` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::GrpcWeb => "grpc_web",
            Self::Connect => "connect",
            Self::Rest => "rest",
        }
    }
}

/// Whether `ct` is native gRPC's content type (`application/grpc`, `application/grpc+...`),
/// not gRPC-Web's.
#[inline]
fn is_grpc(ct: &[u8]) -> bool {
    const PREFIX: &[u8] = b"application/grpc";
    ct.len() >= PREFIX.len()
        && ct[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
        && !ct[PREFIX.len()..].starts_with(b"-")
}

/// The bridges of one server: [`Bridges::is_grpc`] tells a native gRPC request (handed to
/// the stack as is, at the cost of one header lookup) from the others, which
/// [`Bridges::serve`] turns into in-process gRPC calls through the stack.
#[derive(Debug, Clone)]
pub(crate) struct Bridges {
    shared: Arc<Shared>,
}

/// A bridged request's answer.
pub(crate) type BridgeFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

impl Bridges {
    /// The bridges for the methods of `sets`, with `server.http` and the largest message
    /// `max_recv_size`.
    pub(crate) fn new(config: &HttpBridgeConfig, sets: &[&[u8]], max_recv_size: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                catalog: Catalog::new(sets),
                cors: cors::Cors::new(&config.cors),
                config: config.clone(),
                max_body: max_recv_size.saturating_mul(4).max(64 * 1024),
                rest: std::sync::OnceLock::new(),
                openapi: openapi::Served::default(),
            }),
        }
    }

    /// What the OpenAPI document says of authentication (the server's auth settings).
    pub(crate) fn openapi_options(&self, opts: OpenApiOptions) {
        self.shared.openapi.set_options(opts);
    }

    /// Whether `req` is native gRPC (`application/grpc`, `application/grpc+...`).
    #[inline]
    pub(crate) fn is_grpc<T>(req: &Request<T>) -> bool {
        req.headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| is_grpc(ct.as_bytes()))
    }

    /// Serves a request that is not native gRPC, calling `stack` (the server's stack) for
    /// the gRPC call it becomes.
    pub(crate) fn serve<S, B>(&self, stack: S, req: Request<Body>) -> BridgeFuture
    where
        S: Service<Request<Body>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<tonic::codegen::StdError>,
    {
        let ctx = Ctx {
            inner: BoxCloneSyncService::new(stack.map_response(|r: Response<B>| r.map(Body::new))),
            shared: self.shared.clone(),
        };
        Box::pin(dispatch(req, ctx))
    }
}

/// Serves one non-gRPC request.
async fn dispatch(req: Request<Body>, ctx: Ctx) -> Response<Body> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    if !ctx.shared.config.enabled {
        return plain(StatusCode::NOT_FOUND, "not found: only gRPC is served here");
    }
    if req.method() == Method::OPTIONS && origin.is_some() {
        return ctx.shared.cors.preflight(&req);
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_ascii_lowercase())
        .unwrap_or_default();
    let mut res = if ct.starts_with(b"application/grpc-web") {
        web::serve(req, &ctx).await
    } else if req.method() == Method::GET && req.uri().path() == "/openapi.json" {
        openapi::serve(req, &ctx).await
    } else if connect::is_connect(&req, &ct, &ctx.shared.catalog) {
        connect::serve(req, &ctx).await
    } else {
        rest::serve(req, &ctx).await
    };
    if let Some(origin) = origin {
        ctx.shared.cors.apply(&origin, res.headers_mut());
    }
    res
}

/// A plain-text answer (`text/plain`).
pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut res = Response::new(call::full_body(Bytes::from_static(text.as_bytes())));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types_are_told_from_grpc_web() {
        assert!(is_grpc(b"application/grpc"));
        assert!(is_grpc(b"application/grpc+proto"));
        assert!(is_grpc(b"Application/GRPC"));
        assert!(!is_grpc(b"application/grpc-web"));
        assert!(!is_grpc(b"application/grpc-web-text"));
        assert!(!is_grpc(b"application/json"));
        assert!(!is_grpc(b"application/grp"));
    }
}
