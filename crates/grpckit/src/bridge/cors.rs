//! CORS for browser clients from `server.http.cors` (to be filled in).

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use tonic::body::Body;

use crate::config::CorsConfig;

/// The CORS policy.
#[derive(Debug, Clone)]
pub(crate) struct Cors {}

impl Cors {
    /// The policy of `server.http.cors`.
    pub(crate) fn new(_cfg: &CorsConfig) -> Self {
        Self {}
    }

    /// Answers a preflight request.
    pub(crate) fn preflight(&self, _req: &Request<Body>) -> Response<Body> {
        super::plain(StatusCode::FORBIDDEN, "origin not allowed")
    }

    /// Adds the CORS headers for `origin` to an answer.
    pub(crate) fn apply(&self, _origin: &HeaderValue, _headers: &mut HeaderMap) {}
}
