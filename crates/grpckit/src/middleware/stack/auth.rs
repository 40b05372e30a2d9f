//! Auth: JWT / API key / verified client certificate -> [`Principal`](crate::middleware::auth::Principal) in the request
//! extensions; RBAC -> `PERMISSION_DENIED` (`middleware::auth`). A caller refused for its
//! roles is still recorded, so the access line and the audit record name it.

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
    let decided = auth.load().decide_recorded(
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
        Err(refused) => {
            let st = refused.status;
            metrics::auth_rejected(if st.code() == Code::PermissionDenied {
                "forbidden"
            } else {
                "unauthenticated"
            });
            // Who was refused, for the access line and the audit record.
            rec.principal = refused.caller;
            Err(st)
        }
    }
}
