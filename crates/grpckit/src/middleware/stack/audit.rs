//! Audit: one record per audited call (the unary methods `middleware.audit.methods` names,
//! and every stream open), written when the call ends. Its target (the first of
//! `middleware.audit.target_fields` that is set) is read from the first request message by
//! the request body wrapper (`middleware::audit`).

use std::time::{Duration, SystemTime};

use tonic::Code;

use super::record::CallRecord;
use crate::{
    error::code_name,
    middleware::{audit::AuditRecord, auth::Principal, switch::Parts},
};

/// Whether the call is audited.
#[inline]
pub(super) fn enabled(rec: &CallRecord) -> bool {
    rec.shared.audit.is_some() && rec.method.audited
}

/// Writes the audit record of the ended call.
pub(super) fn finish(rec: &CallRecord, code: Code, elapsed: Duration) {
    let (Some(sink), true) = (&rec.shared.audit, rec.method.audited) else {
        return;
    };
    if rec.off.contains(Parts::AUDIT) {
        return;
    }
    let time = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
    sink.record(AuditRecord {
        time,
        principal: rec
            .principal
            .as_ref()
            .map_or("anonymous", Principal::subject)
            .to_owned(),
        auth: rec
            .principal
            .as_ref()
            .map_or("none", |p| p.auth_method().as_str()),
        method: rec.method.name.to_string(),
        kind: rec.method.kind.as_str(),
        target: rec.inspected.as_ref().and_then(|i| i.target.get().cloned()),
        request_id: rec.request_id_str().to_owned(),
        peer: rec.peer.map(|p| p.to_string()),
        code: code_name(code),
        duration_us: elapsed.as_micros() as u64,
    });
}
