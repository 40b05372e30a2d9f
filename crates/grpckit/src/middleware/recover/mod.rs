//! Panic recovery: a panic in a handler, or while a response stream is polled, becomes
//! `INTERNAL` with a generic message; the panic and the request id are logged and the
//! server keeps serving every other call.

use std::any::Any;

use tonic::Status;

/// The status sent for a panic (nothing of the panic leaks).
pub fn panic_status() -> Status {
    Status::internal("internal error")
}

/// The panic message, for the log.
pub fn panic_message(p: &(dyn Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

/// Logs a caught panic.
pub(crate) fn log_panic(p: &(dyn Any + Send), method: &str, request_id: &str, in_stream: bool) {
    tracing::error!(
        method,
        request_id,
        in_stream,
        panic = panic_message(p),
        "handler panicked; answered INTERNAL"
    );
}
