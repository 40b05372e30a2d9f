//! Audit trail: every call of a method matched by `middleware.audit.methods` (the methods
//! that change state, listed by the application) and every stream open produces one record
//! (time, principal, method, target — the first of `middleware.audit.target_fields` in the
//! request —, request id, peer, outcome code, duration). Records carry no message bodies or headers, so passwords and
//! tokens never reach the sink. The default sink is JSON lines on stderr tagged
//! `"stream":"audit"` (split them from the logs downstream); `sink: file` writes a file
//! rotated by size. Either way a thread of its own writes; write errors and overflow are
//! logged and counted, never silent.

mod sink;

pub use sink::{AuditRecord, AuditSink, AuditStats};
