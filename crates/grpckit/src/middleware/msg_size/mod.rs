//! Rejects request messages larger than `server.max_recv_size` with `RESOURCE_EXHAUSTED`
//! (as grpc-go does; tonic's own check answers `OUT_OF_RANGE`). The request body is wrapped
//! and the 5-byte gRPC length prefix of every message is read as frames arrive, so an
//! oversized message is refused before it is buffered — for unary and streaming calls.

mod body;
mod layer;

pub(crate) use body::LimitedBody;
pub use layer::{MessageSize, MessageSizeLayer};
