//! The Connect protocol: unary POST and GET, client/server/bidi streams (to be filled in).

use http::{Request, Response, StatusCode};
use tonic::body::Body;

use super::{Catalog, Ctx};

/// Whether a request is a Connect call: a POST with a Connect content type, or a GET, on a
/// gRPC path of a served method.
pub(crate) fn is_connect(_req: &Request<Body>, _ct: &[u8], _catalog: &Catalog) -> bool {
    false
}

/// Serves a Connect request.
pub(crate) async fn serve(_req: Request<Body>, _ctx: &Ctx) -> Response<Body> {
    super::plain(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Connect is not served yet",
    )
}
