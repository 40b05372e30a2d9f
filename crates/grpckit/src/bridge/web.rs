//! gRPC-Web: binary, text (base64) and JSON (to be filled in).

use http::{Request, Response, StatusCode};
use tonic::body::Body;

use super::Ctx;

/// Serves a gRPC-Web request.
pub(crate) async fn serve(_req: Request<Body>, _ctx: &Ctx) -> Response<Body> {
    super::plain(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "gRPC-Web is not served yet",
    )
}
