//! Reading `grpckit.v1.policy` from descriptors with prost-reflect (prost's own types drop
//! extension options; prost-reflect keeps them).

use std::fmt::Write;

use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, ReflectMessage, Value};

use super::{MethodPolicy, Policies, PolicyEntry, PolicyError, Rate};

/// The full name of the method option.
pub const EXTENSION: &str = "grpckit.v1.policy";

/// `idempotency_level` values that make a method safe to send twice.
const NO_SIDE_EFFECTS: i32 = 1;
const IDEMPOTENT: i32 = 2;

/// The declared option of `method` as the message value, if it has one.
fn declared(method: &MethodDescriptor) -> Option<DynamicMessage> {
    let ext = method.parent_pool().get_extension_by_name(EXTENSION)?;
    let opts = method.options();
    if !opts.has_extension(&ext) {
        return None;
    }
    match opts.get_extension(&ext).into_owned() {
        Value::Message(m) => Some(m),
        _ => None,
    }
}

/// `idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT`.
fn idempotency_level(method: &MethodDescriptor) -> bool {
    matches!(
        method
            .options()
            .get_field_by_name("idempotency_level")
            .as_deref(),
        Some(Value::EnumNumber(NO_SIDE_EFFECTS | IDEMPOTENT))
    )
}

fn text(msg: &DynamicMessage, field: &str) -> String {
    match msg.get_field_by_name(field).as_deref() {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn flag(msg: &DynamicMessage, field: &str) -> bool {
    matches!(
        msg.get_field_by_name(field).as_deref(),
        Some(Value::Bool(true))
    )
}

impl MethodPolicy {
    /// The policy `method` declares, and whether it has the option at all (a method
    /// without it gets the defaults, `idempotent` from its `idempotency_level`).
    ///
    /// # Errors
    /// A `rate_limit` or `timeout` that does not parse.
    pub fn of(method: &MethodDescriptor) -> Result<(Self, bool), PolicyError> {
        let by_level = idempotency_level(method);
        let Some(msg) = declared(method) else {
            return Ok((
                Self {
                    idempotent: by_level,
                    ..Self::default()
                },
                false,
            ));
        };
        let bad = |reason: String| PolicyError {
            method: path(method),
            reason,
        };
        let rate = text(&msg, "rate_limit");
        let rate_limit = match rate.as_str() {
            "" => None,
            r => Some(
                r.parse::<Rate>()
                    .map_err(|e| bad(format!("rate_limit: {e}")))?,
            ),
        };
        let timeout = match text(&msg, "timeout").as_str() {
            "" => None,
            t => Some(humantime::parse_duration(t).map_err(|e| {
                bad(format!(
                    "timeout: expected a duration like \"2s\", got '{t}' ({e})"
                ))
            })?),
        };
        let roles = match msg.get_field_by_name("roles").as_deref() {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let idempotent = if msg.has_field_by_name("idempotent") {
            flag(&msg, "idempotent")
        } else {
            by_level
        };
        Ok((
            Self {
                public: flag(&msg, "public"),
                roles,
                rate_limit,
                timeout,
                idempotent,
                audit: flag(&msg, "audit"),
            },
            true,
        ))
    }
}

/// `pkg.Service/Method`.
fn path(m: &MethodDescriptor) -> String {
    format!("{}/{}", m.parent_service().full_name(), m.name())
}

impl Policies {
    /// The policies of every method of the encoded `FileDescriptorSet`s (the first set that
    /// has a method wins). Sets that do not decode are skipped (the stack warns about them
    /// elsewhere).
    ///
    /// # Errors
    /// Every option that cannot be used, each naming its method; the policies of the other
    /// methods are in the `Ok` value of [`Policies::read_lenient`].
    pub fn read(sets: &[&[u8]]) -> Result<Self, Vec<PolicyError>> {
        let (policies, errors) = Self::read_lenient(sets);
        if errors.is_empty() {
            Ok(policies)
        } else {
            Err(errors)
        }
    }

    /// [`Policies::read`], keeping the methods whose option is usable and returning the
    /// errors of the others (those get the default policy).
    pub fn read_lenient(sets: &[&[u8]]) -> (Self, Vec<PolicyError>) {
        let mut out = Self::default();
        let mut errors = Vec::new();
        for bytes in sets {
            let Ok(pool) = DescriptorPool::decode(*bytes) else {
                continue;
            };
            for m in pool
                .services()
                .flat_map(|s| s.methods().collect::<Vec<_>>())
            {
                let name = path(&m);
                if out.methods.contains_key(&name) {
                    continue;
                }
                let (policy, declared) = MethodPolicy::of(&m).unwrap_or_else(|e| {
                    errors.push(e);
                    (MethodPolicy::default(), false)
                });
                out.methods.insert(
                    name,
                    PolicyEntry {
                        policy,
                        declared,
                        overridden: Vec::new(),
                    },
                );
            }
        }
        (out, errors)
    }
}

/// `option (grpckit.v1.policy) = {public: true, roles: ["admin"]};` as declared on `method`
/// (the fields set, in field order), or `None` without the option.
pub fn declared_option_text(method: &MethodDescriptor) -> Option<String> {
    let msg = declared(method)?;
    let mut out = format!("option ({EXTENSION}) = {{");
    let mut first = true;
    for (field, value) in msg.fields() {
        let sep = if first { "" } else { ", " };
        first = false;
        let _ = write!(out, "{sep}{}: {}", field.name(), literal(value));
    }
    out.push_str("};");
    debug_assert_eq!(msg.descriptor().full_name(), "grpckit.v1.Policy");
    Some(out)
}

/// A value in proto text format.
fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::List(l) => {
            let items: Vec<String> = l.iter().map(literal).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Bool(b) => b.to_string(),
        Value::U32(n) => n.to_string(),
        Value::I32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}
