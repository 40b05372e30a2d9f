//! Auth: JWT / API key / verified client certificate -> [`Principal`](crate::middleware::auth::Principal) in the request
//! extensions; RBAC -> `PERMISSION_DENIED` (`middleware::auth`).

use http::Request;
use tokio::time::Instant;
use tonic::{Code, Status, body::Body};

use super::record::CallRecord;
use crate::telemetry::metrics;

/// Authenticates and authorizes the call.
#[inline]
pub(super) fn check(
    rec: &mut CallRecord,
    req: &mut Request<Body>,
    now: Instant,
) -> Result<(), Status> {
    let Some(auth) = &rec.shared.auth else {
        return Ok(());
    };
    let decided = auth.load().decide_with_cert(
        &rec.method.name,
        req.headers(),
        req.extensions().get(),
        crate::clock::unix_secs(now.into_std()),
    );
    match decided {
        Ok(p) => {
            if let Some(p) = &p {
                req.extensions_mut().insert(p.clone());
            }
            rec.principal = p;
            Ok(())
        }
        Err(st) => {
            metrics::auth_rejected(if st.code() == Code::PermissionDenied {
                "forbidden"
            } else {
                "unauthenticated"
            });
            Err(st)
        }
    }
}
