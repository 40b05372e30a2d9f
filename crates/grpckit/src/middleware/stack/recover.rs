//! Recover: a panic of the handler future becomes `INTERNAL` (the response body wrapper
//! does the same for a panic while a response stream is polled).

use std::{convert::Infallible, future::Future, panic::AssertUnwindSafe, pin::Pin};

use futures::{FutureExt, future::Either};
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
///
/// A combinator, not an `async fn`: an `async fn` would keep the handler future twice in
/// the call's future (its argument and the moved value).
#[inline]
pub(super) fn catch<'a, F>(
    on: bool,
    handler: Pin<Box<F>>,
    rec: &'a CallRecord,
) -> impl Future<Output = Result<Response<Body>, Status>> + 'a
where
    F: Future<Output = Result<Response<Body>, Infallible>> + ?Sized + 'a,
{
    let answered = |r: Result<Response<Body>, Infallible>| match r {
        Ok(r) => Ok(r),
        Err(never) => match never {},
    };
    if on {
        Either::Left(
            AssertUnwindSafe(handler)
                .catch_unwind()
                .map(move |r| match r {
                    Ok(r) => answered(r),
                    Err(panic) => {
                        log_panic(&*panic, &rec.method.name, rec.request_id_str(), false);
                        Err(panic_status())
                    }
                }),
        )
    } else {
        Either::Right(handler.map(answered))
    }
}
