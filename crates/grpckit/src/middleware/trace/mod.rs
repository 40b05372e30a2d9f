//! The trace layer: an OpenTelemetry span per call with the `rpc.*` semantic conventions,
//! W3C trace context + baggage taken from incoming metadata (server) or written into outgoing
//! metadata (client). A pass-through when tracing is off.

mod body;
mod layer;
mod service;

pub use body::TracedBody;
pub use layer::TraceLayer;
pub use service::{TraceFuture, TraceService};
