//! The standard `google.rpc` error details of a failed call (`grpc-status-details-bin`),
//! decoded and printed one per block: BadRequest field violations, RetryInfo, ErrorInfo,
//! QuotaFailure, PreconditionFailure, ResourceInfo, Help, LocalizedMessage, DebugInfo and
//! RequestInfo. Details of other types are listed by type URL and size.

use std::fmt::Write;

use prost::Message;
use tonic::Status;
use tonic_types::{ErrorDetail, StatusExt};

/// The type URLs [`ErrorDetail`] decodes.
const KNOWN: [&str; 10] = [
    tonic_types::BadRequest::TYPE_URL,
    tonic_types::RetryInfo::TYPE_URL,
    tonic_types::ErrorInfo::TYPE_URL,
    tonic_types::QuotaFailure::TYPE_URL,
    tonic_types::PreconditionFailure::TYPE_URL,
    tonic_types::ResourceInfo::TYPE_URL,
    tonic_types::Help::TYPE_URL,
    tonic_types::LocalizedMessage::TYPE_URL,
    tonic_types::DebugInfo::TYPE_URL,
    tonic_types::RequestInfo::TYPE_URL,
];

/// The details of `s` as indented text lines (empty when it carries none).
pub fn format_details(s: &Status) -> String {
    let raw = s.details();
    if raw.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let Ok(status) = tonic_types::Status::decode(raw) else {
        let _ = writeln!(
            out,
            "  Details: {} bytes that are not a google.rpc.Status",
            raw.len()
        );
        return out;
    };
    let _ = writeln!(out, "  Details:");
    match s.check_error_details_vec() {
        Ok(details) => {
            for d in &details {
                write_detail(&mut out, d);
            }
        }
        Err(e) => {
            let _ = writeln!(out, "    (a standard detail does not decode: {e})");
        }
    }
    for any in status
        .details
        .iter()
        .filter(|a| !KNOWN.contains(&a.type_url.as_str()))
    {
        let _ = writeln!(out, "    {} ({} bytes)", any.type_url, any.value.len());
    }
    out
}

fn write_detail(out: &mut String, d: &ErrorDetail) {
    let _ = match d {
        ErrorDetail::BadRequest(b) => {
            let _ = writeln!(out, "    BadRequest:");
            for v in &b.field_violations {
                let reason = if v.reason.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", v.reason)
                };
                let _ = writeln!(out, "      {}: {}{reason}", v.field, v.description);
            }
            Ok(())
        }
        ErrorDetail::RetryInfo(r) => match r.retry_delay {
            Some(d) => writeln!(
                out,
                "    RetryInfo: retry after {}",
                humantime::format_duration(d)
            ),
            None => writeln!(out, "    RetryInfo: retry (no delay given)"),
        },
        ErrorDetail::ErrorInfo(e) => {
            let _ = writeln!(
                out,
                "    ErrorInfo: reason {} domain {}",
                e.reason, e.domain
            );
            let mut meta: Vec<_> = e.metadata.iter().collect();
            meta.sort();
            for (k, v) in meta {
                let _ = writeln!(out, "      {k}: {v}");
            }
            Ok(())
        }
        ErrorDetail::QuotaFailure(q) => {
            let _ = writeln!(out, "    QuotaFailure:");
            for v in &q.violations {
                let _ = writeln!(out, "      {}: {}", v.subject, v.description);
            }
            Ok(())
        }
        ErrorDetail::PreconditionFailure(p) => {
            let _ = writeln!(out, "    PreconditionFailure:");
            for v in &p.violations {
                let _ = writeln!(out, "      {} {}: {}", v.r#type, v.subject, v.description);
            }
            Ok(())
        }
        ErrorDetail::ResourceInfo(r) => writeln!(
            out,
            "    ResourceInfo: {} {:?} owner {:?}: {}",
            r.resource_type, r.resource_name, r.owner, r.description
        ),
        ErrorDetail::Help(h) => {
            let _ = writeln!(out, "    Help:");
            for l in &h.links {
                let _ = writeln!(out, "      {}: {}", l.description, l.url);
            }
            Ok(())
        }
        ErrorDetail::LocalizedMessage(m) => {
            writeln!(out, "    LocalizedMessage ({}): {}", m.locale, m.message)
        }
        ErrorDetail::DebugInfo(d) => {
            let _ = writeln!(out, "    DebugInfo: {}", d.detail);
            for e in &d.stack_entries {
                let _ = writeln!(out, "      {e}");
            }
            Ok(())
        }
        ErrorDetail::RequestInfo(r) => writeln!(
            out,
            "    RequestInfo: request id {} {}",
            r.request_id, r.serving_data
        ),
        // `ErrorDetail` is non-exhaustive: a kind added by a later tonic-types.
        other => writeln!(out, "    {other:?}"),
    };
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic::Code;
    use tonic_types::{ErrorDetails, FieldViolation};

    use super::*;

    #[test]
    fn prints_each_standard_detail() {
        let mut d = ErrorDetails::with_bad_request(vec![
            FieldViolation::new("name", "value length must be at least 1 characters"),
            FieldViolation::new("email", "value must be a valid email address"),
        ]);
        d.set_retry_info(Some(Duration::from_millis(1500)))
            .set_error_info(
                "RATE",
                "grpckit.dev",
                [("limit".to_owned(), "5".to_owned())],
            )
            .add_quota_failure_violation("client 127.0.0.1", "5 calls per second")
            .add_precondition_failure_violation("STATE", "order 1", "already paid")
            .set_resource_info("user", "u-1", "", "no such user")
            .add_help_link("docs", "https://example.com/help")
            .set_localized_message("en-US", "Try again")
            .set_debug_info(vec!["frame".into()], "boom")
            .set_request_info("req-1", "");
        let s = Status::with_error_details(Code::InvalidArgument, "bad", d);
        let text = format_details(&s);
        for needle in [
            "BadRequest:",
            "      name: value length must be at least 1 characters",
            "      email: value must be a valid email address",
            "RetryInfo: retry after 1s 500ms",
            "ErrorInfo: reason RATE domain grpckit.dev",
            "      limit: 5",
            "      client 127.0.0.1: 5 calls per second",
            "      STATE order 1: already paid",
            "ResourceInfo: user \"u-1\"",
            "      docs: https://example.com/help",
            "LocalizedMessage (en-US): Try again",
            "DebugInfo: boom",
            "RequestInfo: request id req-1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert!(format_details(&Status::not_found("x")).is_empty());
    }
}
