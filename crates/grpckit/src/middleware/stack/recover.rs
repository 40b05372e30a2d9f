//! Recover: a panic of the handler future becomes `INTERNAL` (the response body wrapper
//! does the same for a panic while a response stream is polled).

use std::{convert::Infallible, future::Future, panic::AssertUnwindSafe, pin::Pin};

use futures::FutureExt;
use http::Response;
use tonic::{Status, body::Body};

use super::record::CallRecord;
use crate::middleware::recover::{log_panic, panic_status};

/// Whether panics are caught.
#[inline]
pub(super) fn enabled(rec: &CallRecord) -> bool {
    rec.shared.recover
}

/// The handler's answer, a panic turned into `INTERNAL` when `on`.
#[inline]
pub(super) async fn catch<F>(
    on: bool,
    handler: Pin<Box<F>>,
    rec: &CallRecord,
) -> Result<Response<Body>, Status>
where
    F: Future<Output = Result<Response<Body>, Infallible>> + ?Sized,
{
    let answered = if on {
        match AssertUnwindSafe(handler).catch_unwind().await {
            Ok(answered) => answered,
            Err(panic) => {
                log_panic(&*panic, &rec.method.name, rec.request_id_str(), false);
                return Err(panic_status());
            }
        }
    } else {
        handler.await
    };
    match answered {
        Ok(r) => Ok(r),
        Err(never) => match never {},
    }
}
