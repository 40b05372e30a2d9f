//! The OpenAPI 3.1 document generated from the descriptors (to be filled in).

use http::{Request, Response, StatusCode};
use tonic::body::Body;

use super::Ctx;

/// Serves `GET /openapi.json`.
pub(crate) async fn serve(_req: Request<Body>, _ctx: &Ctx) -> Response<Body> {
    super::plain(StatusCode::NOT_FOUND, "not found")
}
