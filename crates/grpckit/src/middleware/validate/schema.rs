//! Descriptor pools of the registered services: the method table and the validators.

use std::collections::HashSet;

/// The full protovalidate runtime with CEL (feature `protovalidate`: its types crate runs
/// `protoc` at build time, so it is opt-in).
#[cfg(feature = "protovalidate")]
type Bridge = prost_protovalidate::bridge::RuntimeBridge;
/// Without the feature: the standard rules, checked by [`super::rules`].
#[cfg(not(feature = "protovalidate"))]
type Bridge = super::rules::Rules;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use tonic::Status;

use crate::middleware::method::{CallKind, MethodInfo, MethodPattern, MethodTable};

/// A request message that does not parse is INTERNAL, as gRPC's status-code table, grpc-go and
/// tonic's own codec have it (for methods without rules too), with a message that says why.
const MALFORMED: &str = "failed to decode the request message: malformed protobuf";

/// One registered descriptor set.
struct Set {
    pool: DescriptorPool,
    bridge: Option<Bridge>,
}

/// The schemas of every served service.
#[derive(Default)]
pub struct Schemas {
    sets: Vec<Set>,
    /// `middleware.audit.target_fields`.
    targets: Vec<Box<str>>,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schemas")
            .field("sets", &self.sets.len())
            .field("targets", &self.targets)
            .finish()
    }
}

fn has_rules(msg: &MessageDescriptor, seen: &mut HashSet<String>) -> bool {
    if !seen.insert(msg.full_name().to_owned()) {
        return false;
    }
    let pool = msg.parent_pool();
    let ext = |name: &str| pool.get_extension_by_name(name);
    let (Some(field_ext), msg_ext, oneof_ext) = (
        ext("buf.validate.field"),
        ext("buf.validate.message"),
        ext("buf.validate.oneof"),
    ) else {
        return false;
    };
    if msg_ext.is_some_and(|e| msg.options().has_extension(&e)) {
        return true;
    }
    if oneof_ext.is_some_and(|e| msg.oneofs().any(|o| o.options().has_extension(&e))) {
        return true;
    }
    msg.fields().any(|f| {
        f.options().has_extension(&field_ext)
            || f.kind().as_message().is_some_and(|m| has_rules(m, seen))
    })
}

impl Schemas {
    /// Decodes the encoded `FileDescriptorSet`s (extension options intact). Sets that do
    /// not decode are skipped with a warning.
    pub fn new(sets: &[&[u8]]) -> Self {
        let sets = sets
            .iter()
            .filter_map(|bytes| match DescriptorPool::decode(*bytes) {
                Ok(pool) => {
                    #[cfg(feature = "protovalidate")]
                    let bridge = pool
                        .get_extension_by_name("buf.validate.field")
                        .is_some()
                        .then(|| Bridge::from_fds(bytes));
                    #[cfg(not(feature = "protovalidate"))]
                    let bridge = Bridge::new(&pool);
                    Some(Set { pool, bridge })
                }
                Err(e) => {
                    tracing::warn!(error = %e, "descriptor set does not decode; its methods are not validated");
                    None
                }
            })
            .collect();
        Self {
            sets,
            targets: Vec::new(),
        }
    }

    /// Records the value of the first of `fields` (`middleware.audit.target_fields`) present
    /// in a request as its audit target ([`Self::target_id`]).
    pub fn with_audit_targets(mut self, fields: &[String]) -> Self {
        self.targets = fields.iter().map(|f| f.as_str().into()).collect();
        self
    }

    /// The method table of every service in the sets: a method is audited when it streams
    /// or one of `audited` (`middleware.audit.methods`) matches it.
    pub fn method_table(&self, audited: &[MethodPattern]) -> MethodTable {
        let mut t = MethodTable::default();
        let mut seen = HashSet::new();
        for (i, set) in self.sets.iter().enumerate() {
            for svc in set.pool.services() {
                for m in svc.methods() {
                    let name = format!("{}/{}", svc.full_name(), m.name());
                    if !seen.insert(name.clone()) {
                        continue;
                    }
                    let kind =
                        CallKind::from_flags(m.is_client_streaming(), m.is_server_streaming());
                    let input = m.input();
                    let rules = set.bridge.is_some() && has_rules(&input, &mut HashSet::new());
                    let audited =
                        kind != CallKind::Unary || MethodPattern::any_matches(audited, &name);
                    let metered = crate::telemetry::metrics::lookup(&format!("/{name}"));
                    t.insert(MethodInfo {
                        name: name.into(),
                        index: 0,
                        kind,
                        input_type: Some(input.full_name().into()),
                        has_rules: rules,
                        audited,
                        set: i,
                        metered,
                    });
                }
            }
        }
        t
    }

    /// Validates one wire-encoded message.
    pub fn validate(&self, set: usize, type_name: &str, bytes: &[u8]) -> Result<(), Status> {
        let Some(bridge) = self.sets.get(set).and_then(|s| s.bridge.as_ref()) else {
            return Ok(());
        };
        #[cfg(not(feature = "protovalidate"))]
        {
            let list = bridge
                .check_bytes(type_name, bytes)
                .map_err(|_| Status::internal(MALFORMED))?;
            if list.is_empty() {
                Ok(())
            } else {
                Err(crate::error::invalid_request(&list))
            }
        }
        #[cfg(feature = "protovalidate")]
        match bridge.validate_wire(type_name, bytes) {
            Ok(()) => Ok(()),
            Err(prost_protovalidate::Error::Validation(v)) => {
                Err(violations_status(v.violations()))
            }
            Err(e) => {
                // Undecodable bytes: let the handler's codec report it the usual way.
                tracing::debug!(error = %e, type_name, "validation could not run");
                Err(Status::internal(MALFORMED))
            }
        }
    }

    /// The audit target of a message: the first non-empty string (or integer) field of the
    /// configured target fields; `None` when none is configured or present.
    pub fn target_id(&self, set: usize, type_name: &str, bytes: &[u8]) -> Option<String> {
        if self.targets.is_empty() {
            return None;
        }
        let desc = self.sets.get(set)?.pool.get_message_by_name(type_name)?;
        let msg = DynamicMessage::decode(desc, bytes).ok()?;
        self.targets
            .iter()
            .find_map(|f| match msg.get_field_by_name(f).as_deref() {
                Some(Value::I64(n)) if *n != 0 => Some(n.to_string()),
                Some(Value::U64(n)) if *n != 0 => Some(n.to_string()),
                Some(Value::I32(n)) if *n != 0 => Some(n.to_string()),
                Some(Value::U32(n)) if *n != 0 => Some(n.to_string()),
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
    }
}

/// `INVALID_ARGUMENT` with a `BadRequest` listing every violation.
#[cfg(feature = "protovalidate")]
pub fn violations_status(vs: &[prost_protovalidate::Violation]) -> Status {
    let list: Vec<crate::error::FieldViolation> = vs
        .iter()
        .map(|v| {
            let why = match (v.rule_id(), v.message()) {
                ("", m) => m.to_owned(),
                (r, "") => r.to_owned(),
                (r, m) => format!("{m} ({r})"),
            };
            crate::error::FieldViolation::new(v.field_path(), why)
        })
        .collect();
    crate::error::invalid_request(&list)
}
