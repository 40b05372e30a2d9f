//! REST/JSON transcoding driven by the `google.api.http` options (to be filled in).

use http::{Request, Response, StatusCode};
use tonic::body::Body;

use super::Ctx;

/// Serves a REST request: 404 for a path no binding matches.
pub(crate) async fn serve(_req: Request<Body>, _ctx: &Ctx) -> Response<Body> {
    super::plain(StatusCode::NOT_FOUND, "not found")
}
