//! The ONE request body wrapper of the stack, shared by the parts that read request
//! messages: the message size limit (`middleware::msg_size`), validation, the audit
//! target and the access log's message count (`middleware::validate::InspectBody`).

use std::sync::Arc;

use http::Request;
use tonic::body::Body;

use super::{log, record::CallRecord};
use crate::middleware::{
    msg_size::LimitedBody,
    validate::{InspectBody, Inspected},
};

/// Wraps the request body once for what the parts asked for: `max_recv` (size limit),
/// `validate` (rules), `audited` (target); nothing when none applies.
#[inline]
pub(super) fn wrap_body(
    rec: &mut CallRecord,
    req: &mut Request<Body>,
    max_recv: Option<usize>,
    validate: bool,
    audited: bool,
) {
    let count_in = log::counts_messages(rec);
    let inspect = rec.method.input_type.is_some() && (validate || audited || count_in);
    if !inspect && max_recv.is_none() {
        return;
    }
    let body = std::mem::replace(req.body_mut(), Body::empty());
    *req.body_mut() = if inspect {
        let ins = (audited || count_in).then(|| Arc::new(Inspected::default()));
        rec.inspected = ins.clone();
        let (schemas, m) = (rec.shared.schemas.clone(), rec.method.clone());
        match max_recv {
            Some(max) => {
                let b = LimitedBody::new(body, max);
                Body::new(InspectBody::new(b, schemas, validate, m, ins, audited))
            }
            None => Body::new(InspectBody::new(body, schemas, validate, m, ins, audited)),
        }
    } else {
        match max_recv {
            Some(max) => Body::new(LimitedBody::new(body, max)),
            None => body,
        }
    };
}
