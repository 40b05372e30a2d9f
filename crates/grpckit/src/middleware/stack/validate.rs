//! Validate: the `buf.validate` rules of the method's input message, checked on every
//! request message by the request body wrapper (`middleware::validate`).

use super::record::CallRecord;

/// Whether the call's request messages are validated.
#[inline]
pub(super) fn enabled(rec: &CallRecord) -> bool {
    rec.shared.validate && rec.method.has_rules
}
