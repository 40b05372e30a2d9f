//! The standard `buf.validate` field rules, read from the descriptors once and checked on
//! decoded messages without a CEL engine.
//!
//! This is the default validator: the full protovalidate runtime (CEL expressions included)
//! is the opt-in `protovalidate` feature, because its types crate needs `protoc` at build
//! time. Covered here: `required`, `ignore`, the numeric rules (`const`, `lt`, `lte`, `gt`,
//! `gte`, `in`, `not_in`) of every scalar type, the string rules (lengths in characters and
//! bytes, `pattern`, `prefix`, `suffix`, `contains`, `not_contains`, `in`, `not_in`, `email`,
//! `hostname`, `ip`, `ipv4`, `ipv6`, `uuid`), `bytes` lengths, `enum.defined_only`,
//! `repeated` item counts, `unique` and `items`, `map` pair counts, and nested messages.
//! Rules outside that list (CEL expressions above all) are reported once at start-up.

use std::{borrow::Cow, collections::HashMap, sync::Arc};

use prost_reflect::{
    DescriptorPool, DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    Value,
};
use regex::Regex;

use super::wire::{Layout, MAX_CHECKED, Malformed};
use crate::error::FieldViolation;

/// `buf.validate.Ignore.IGNORE_IF_ZERO_VALUE`.
const IGNORE_IF_ZERO_VALUE: i32 = 1;
/// `buf.validate.Ignore.IGNORE_ALWAYS`.
const IGNORE_ALWAYS: i32 = 3;

/// The HTML5 e-mail address grammar, as protovalidate uses it.
const EMAIL: &str = r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$";
const HOSTNAME: &str = r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$";
const UUID: &str = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// A number taken from a rule or a field, compared without losing integer precision.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(v: &Value) -> Option<Self> {
        Some(match v {
            Value::I32(x) => Self::Int((*x).into()),
            Value::I64(x) => Self::Int((*x).into()),
            Value::U32(x) => Self::Int((*x).into()),
            Value::U64(x) => Self::Int((*x).into()),
            Value::F32(x) => Self::Float((*x).into()),
            Value::F64(x) => Self::Float(*x),
            Value::EnumNumber(x) => Self::Int((*x).into()),
            _ => return None,
        })
    }

    fn cmp(self, other: Self) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => Some(a.cmp(&b)),
            (Self::Float(a), Self::Float(b)) => a.partial_cmp(&b),
            #[allow(clippy::cast_precision_loss)]
            (Self::Int(a), Self::Float(b)) => (a as f64).partial_cmp(&b),
            #[allow(clippy::cast_precision_loss)]
            (Self::Float(a), Self::Int(b)) => a.partial_cmp(&(b as f64)),
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Int(x) => write!(f, "{x}"),
            Self::Float(x) => write!(f, "{x}"),
        }
    }
}

/// One check on one value.
#[derive(Debug)]
enum Check {
    NumConst(Num),
    Lt(Num),
    Lte(Num),
    Gt(Num),
    Gte(Num),
    NumIn(Vec<Num>),
    NumNotIn(Vec<Num>),
    StrConst(String),
    Len(u64),
    MinLen(u64),
    MaxLen(u64),
    LenBytes(u64),
    MinBytes(u64),
    MaxBytes(u64),
    Pattern(Regex),
    Prefix(String),
    Suffix(String),
    Contains(String),
    NotContains(String),
    StrIn(Vec<String>),
    StrNotIn(Vec<String>),
    Email(Arc<Regex>),
    Hostname(Arc<Regex>),
    Ip(Option<u8>),
    Uuid(Arc<Regex>),
    BytesLen(u64),
    BytesMinLen(u64),
    BytesMaxLen(u64),
    DefinedOnly(prost_reflect::EnumDescriptor),
    MinItems(u64),
    MaxItems(u64),
    Unique,
    Items(Box<FieldChecks>),
    MinPairs(u64),
    MaxPairs(u64),
}

/// Every rule on one field.
#[derive(Debug, Default)]
struct FieldChecks {
    required: bool,
    ignore_zero: bool,
    checks: Vec<Check>,
}

/// The rules of one message type (fields with rules, and message fields that have some).
#[derive(Debug, Default)]
struct MessageRules {
    fields: Vec<(FieldDescriptor, FieldChecks, Option<Arc<MessageRules>>)>,
    /// Set for flat messages, whose fields are checked straight on the wire bytes.
    wire: Option<Layout>,
}

/// The compiled rules of one descriptor pool.
#[derive(Debug)]
pub(super) struct Rules {
    by_type: foldhash::HashMap<String, (MessageDescriptor, Arc<MessageRules>)>,
}

/// Shared compiled regexes of the well-known string formats.
struct Formats {
    email: Arc<Regex>,
    hostname: Arc<Regex>,
    uuid: Arc<Regex>,
}

/// Compiles the rules of a pool; `None` when the pool has no `buf.validate` extension.
struct Compiler<'a> {
    ext: ExtensionDescriptor,
    formats: &'a Formats,
    done: HashMap<String, Option<Arc<MessageRules>>>,
    unsupported: Vec<String>,
}

impl Rules {
    /// Compiles the rules of every message in the pool.
    pub(super) fn new(pool: &DescriptorPool) -> Option<Self> {
        let ext = pool.get_extension_by_name("buf.validate.field")?;
        let formats = Formats {
            email: Arc::new(Regex::new(EMAIL).expect("valid e-mail grammar")),
            hostname: Arc::new(Regex::new(HOSTNAME).expect("valid host grammar")),
            uuid: Arc::new(Regex::new(UUID).expect("valid uuid grammar")),
        };
        let mut c = Compiler {
            ext,
            formats: &formats,
            done: HashMap::new(),
            unsupported: Vec::new(),
        };
        for m in pool.all_messages() {
            c.message(&m);
        }
        if !c.unsupported.is_empty() {
            tracing::warn!(
                rules = ?c.unsupported,
                "these buf.validate rules need the `protovalidate` feature and are not enforced"
            );
        }
        let by_type = c
            .done
            .into_iter()
            .filter_map(|(k, v)| {
                let desc = pool.get_message_by_name(&k)?;
                v.map(|v| (k, (desc, v)))
            })
            .collect();
        Some(Self { by_type })
    }

    /// Every violation in an encoded message of type `type_name` (empty when it is valid or
    /// its type has no rules). Flat messages are read straight from the wire; others are
    /// decoded into a `DynamicMessage` first.
    pub(super) fn check_bytes(
        &self,
        type_name: &str,
        bytes: &[u8],
    ) -> Result<Vec<FieldViolation>, Malformed> {
        let mut out = Vec::new();
        let Some((desc, rules)) = self.by_type.get(type_name) else {
            return Ok(out);
        };
        match &rules.wire {
            Some(layout) => check_flat(rules, layout, bytes, &mut out)?,
            None => {
                let msg = DynamicMessage::decode(desc.clone(), bytes).map_err(|_| Malformed)?;
                check_message(rules, &msg, "", &mut out);
            }
        }
        Ok(out)
    }
}

impl Compiler<'_> {
    fn message(&mut self, m: &MessageDescriptor) -> Option<Arc<MessageRules>> {
        if let Some(done) = self.done.get(m.full_name()) {
            return done.clone();
        }
        // Recursive types: treat as rule-free while being compiled.
        self.done.insert(m.full_name().to_owned(), None);
        let mut rules = MessageRules::default();
        for f in m.fields() {
            let checks = self.field_checks(&f);
            let nested = match f.kind() {
                Kind::Message(inner) if !f.is_map() => self.message(&inner),
                _ => None,
            };
            if checks.is_some() || nested.is_some() {
                rules.fields.push((f, checks.unwrap_or_default(), nested));
            }
        }
        let checked: Vec<u32> = rules.fields.iter().map(|(f, ..)| f.number()).collect();
        rules.wire = Layout::of(m, &checked);
        let out = (!rules.fields.is_empty()).then(|| Arc::new(rules));
        self.done.insert(m.full_name().to_owned(), out.clone());
        out
    }

    fn field_checks(&mut self, f: &FieldDescriptor) -> Option<FieldChecks> {
        let opts = f.options();
        if !opts.has_extension(&self.ext) {
            return None;
        }
        let Value::Message(rules) = opts.get_extension(&self.ext).into_owned() else {
            return None;
        };
        Some(self.compile(&rules, f, f.is_list()))
    }

    fn compile(&mut self, rules: &DynamicMessage, f: &FieldDescriptor, list: bool) -> FieldChecks {
        let at = f.full_name();
        let mut fc = FieldChecks::default();
        for (rf, v) in rules.fields() {
            match (rf.name(), v) {
                ("required", Value::Bool(b)) => fc.required = *b,
                ("ignore", Value::EnumNumber(n)) => {
                    fc.ignore_zero = *n == IGNORE_IF_ZERO_VALUE || *n == IGNORE_ALWAYS;
                    if *n == IGNORE_ALWAYS {
                        return FieldChecks::default();
                    }
                }
                ("repeated", Value::Message(r)) if list => self.repeated(r, f, &mut fc),
                ("map", Value::Message(r)) => self.map(r, at, &mut fc),
                ("string", Value::Message(r)) => self.string(r, at, &mut fc),
                ("bytes", Value::Message(r)) => self.bytes(r, at, &mut fc),
                ("enum", Value::Message(r)) => self.enumeration(r, f, &mut fc),
                (
                    "float" | "double" | "int32" | "int64" | "uint32" | "uint64" | "sint32"
                    | "sint64" | "fixed32" | "fixed64" | "sfixed32" | "sfixed64",
                    Value::Message(r),
                ) => self.numeric(r, at, &mut fc),
                (name, _) => self.unsupported.push(format!("{at}: {name}")),
            }
        }
        fc
    }

    fn numeric(&mut self, r: &DynamicMessage, at: &str, fc: &mut FieldChecks) {
        for (rf, v) in r.fields() {
            let list = || match v {
                Value::List(l) => l.iter().filter_map(Num::of).collect(),
                _ => Vec::new(),
            };
            let check = match (rf.name(), Num::of(v)) {
                ("const", Some(n)) => Check::NumConst(n),
                ("lt", Some(n)) => Check::Lt(n),
                ("lte", Some(n)) => Check::Lte(n),
                ("gt", Some(n)) => Check::Gt(n),
                ("gte", Some(n)) => Check::Gte(n),
                ("in", _) => Check::NumIn(list()),
                ("not_in", _) => Check::NumNotIn(list()),
                (name, _) => {
                    self.unsupported.push(format!("{at}: {name}"));
                    continue;
                }
            };
            fc.checks.push(check);
        }
    }

    fn string(&mut self, r: &DynamicMessage, at: &str, fc: &mut FieldChecks) {
        let strings = |v: &Value| match v {
            Value::List(l) => l
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        for (rf, v) in r.fields() {
            let (u, s, b) = (v.as_u64(), v.as_str(), v.as_bool() == Some(true));
            let check = match (rf.name(), u, s) {
                ("const", _, Some(s)) => Check::StrConst(s.to_owned()),
                ("len", Some(n), _) => Check::Len(n),
                ("min_len", Some(n), _) => Check::MinLen(n),
                ("max_len", Some(n), _) => Check::MaxLen(n),
                ("len_bytes", Some(n), _) => Check::LenBytes(n),
                ("min_bytes", Some(n), _) => Check::MinBytes(n),
                ("max_bytes", Some(n), _) => Check::MaxBytes(n),
                ("pattern", _, Some(p)) => match Regex::new(p) {
                    Ok(re) => Check::Pattern(re),
                    Err(e) => {
                        self.unsupported.push(format!("{at}: pattern ({e})"));
                        continue;
                    }
                },
                ("prefix", _, Some(s)) => Check::Prefix(s.to_owned()),
                ("suffix", _, Some(s)) => Check::Suffix(s.to_owned()),
                ("contains", _, Some(s)) => Check::Contains(s.to_owned()),
                ("not_contains", _, Some(s)) => Check::NotContains(s.to_owned()),
                ("in", _, _) => Check::StrIn(strings(v)),
                ("not_in", _, _) => Check::StrNotIn(strings(v)),
                ("email", _, _) if b => Check::Email(self.formats.email.clone()),
                ("hostname", _, _) if b => Check::Hostname(self.formats.hostname.clone()),
                ("ip", _, _) if b => Check::Ip(None),
                ("ipv4", _, _) if b => Check::Ip(Some(4)),
                ("ipv6", _, _) if b => Check::Ip(Some(6)),
                ("uuid", _, _) if b => Check::Uuid(self.formats.uuid.clone()),
                (name, _, _) => {
                    self.unsupported.push(format!("{at}: string.{name}"));
                    continue;
                }
            };
            fc.checks.push(check);
        }
    }

    fn bytes(&mut self, r: &DynamicMessage, at: &str, fc: &mut FieldChecks) {
        for (rf, v) in r.fields() {
            let check = match (rf.name(), v.as_u64()) {
                ("len", Some(n)) => Check::BytesLen(n),
                ("min_len", Some(n)) => Check::BytesMinLen(n),
                ("max_len", Some(n)) => Check::BytesMaxLen(n),
                (name, _) => {
                    self.unsupported.push(format!("{at}: bytes.{name}"));
                    continue;
                }
            };
            fc.checks.push(check);
        }
    }

    fn enumeration(&mut self, r: &DynamicMessage, f: &FieldDescriptor, fc: &mut FieldChecks) {
        let at = f.full_name();
        for (rf, v) in r.fields() {
            let check = match (rf.name(), v) {
                ("defined_only", Value::Bool(true)) => {
                    let Kind::Enum(e) = f.kind() else {
                        continue;
                    };
                    Check::DefinedOnly(e)
                }
                ("const", v) => match Num::of(v) {
                    Some(n) => Check::NumConst(n),
                    None => continue,
                },
                ("in", Value::List(l)) => Check::NumIn(l.iter().filter_map(Num::of).collect()),
                ("not_in", Value::List(l)) => {
                    Check::NumNotIn(l.iter().filter_map(Num::of).collect())
                }
                (name, _) => {
                    self.unsupported.push(format!("{at}: enum.{name}"));
                    continue;
                }
            };
            fc.checks.push(check);
        }
    }

    fn repeated(&mut self, r: &DynamicMessage, f: &FieldDescriptor, fc: &mut FieldChecks) {
        let at = f.full_name();
        for (rf, v) in r.fields() {
            let check = match (rf.name(), v) {
                ("min_items", v) if v.as_u64().is_some() => {
                    Check::MinItems(v.as_u64().unwrap_or(0))
                }
                ("max_items", v) if v.as_u64().is_some() => {
                    Check::MaxItems(v.as_u64().unwrap_or(u64::MAX))
                }
                ("unique", Value::Bool(true)) => Check::Unique,
                ("items", Value::Message(items)) => {
                    Check::Items(Box::new(self.compile(items, f, false)))
                }
                (name, _) => {
                    self.unsupported.push(format!("{at}: repeated.{name}"));
                    continue;
                }
            };
            fc.checks.push(check);
        }
    }

    fn map(&mut self, r: &DynamicMessage, at: &str, fc: &mut FieldChecks) {
        for (rf, v) in r.fields() {
            let check = match (rf.name(), v.as_u64()) {
                ("min_pairs", Some(n)) => Check::MinPairs(n),
                ("max_pairs", Some(n)) => Check::MaxPairs(n),
                (name, _) => {
                    self.unsupported.push(format!("{at}: map.{name}"));
                    continue;
                }
            };
            fc.checks.push(check);
        }
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Message(_) => false,
        v => Num::of(v).is_some_and(|n| n == Num::Int(0) || n == Num::Float(0.0)),
    }
}

fn check_message(
    rules: &MessageRules,
    msg: &DynamicMessage,
    prefix: &str,
    out: &mut Vec<FieldViolation>,
) {
    for (f, fc, nested) in &rules.fields {
        // Top-level fields (the common case) borrow their name: no allocation per field.
        let path: Cow<'_, str> = if prefix.is_empty() {
            f.name().into()
        } else {
            format!("{prefix}.{}", f.name()).into()
        };
        let Some(value) = check_field(f, fc, msg.has_field(f), || msg.get_field(f), &path, out)
        else {
            continue;
        };
        if let Some(nested) = nested {
            match &*value {
                Value::Message(m) => check_message(nested, m, &path, out),
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::Message(m) = item {
                            check_message(nested, m, &format!("{path}[{i}]"), out);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The presence, `required` and `ignore` rules of one field, for both paths below: runs the
/// field's checks on `value()` and returns it, or returns `None` when the field is skipped.
fn check_field<'v>(
    f: &FieldDescriptor,
    fc: &FieldChecks,
    present: bool,
    value: impl FnOnce() -> Cow<'v, Value>,
    path: &str,
    out: &mut Vec<FieldViolation>,
) -> Option<Cow<'v, Value>> {
    if fc.required && !present {
        out.push(FieldViolation::new(path, "value is required (required)"));
        return None;
    }
    // Fields with explicit presence are checked only when set; others unless
    // `IGNORE_IF_ZERO_VALUE` says to skip their zero value.
    if !present && (f.supports_presence() || f.kind().as_message().is_some()) {
        return None;
    }
    let value = value();
    if fc.ignore_zero && is_zero(&value) {
        return None;
    }
    check_value(fc, &value, path, out);
    Some(value)
}

/// [`check_message`] for a flat message, on its wire bytes, with the values [`Layout::read`]
/// found.
fn check_flat(
    rules: &MessageRules,
    layout: &Layout,
    bytes: &[u8],
    out: &mut Vec<FieldViolation>,
) -> Result<(), Malformed> {
    let mut values: [Option<Value>; MAX_CHECKED] = Default::default();
    layout.read(bytes, &mut values)?;
    for ((f, fc, _), slot) in rules.fields.iter().zip(values.iter_mut()) {
        let value = slot.take();
        let present = value
            .as_ref()
            .is_some_and(|v| f.supports_presence() || !is_zero(v));
        let value = || Cow::Owned(value.unwrap_or_else(|| f.default_value()));
        check_field(f, fc, present, value, f.name(), out);
    }
    Ok(())
}

fn check_value(fc: &FieldChecks, v: &Value, path: &str, out: &mut Vec<FieldViolation>) {
    for c in &fc.checks {
        if let Some((rule, why)) = violation(c, v) {
            out.push(FieldViolation::new(path, format!("{why} ({rule})")));
        }
        if let (Check::Items(items), Value::List(list)) = (c, v) {
            for (i, item) in list.iter().enumerate() {
                if items.ignore_zero && is_zero(item) {
                    continue;
                }
                check_value(items, item, &format!("{path}[{i}]"), out);
            }
        }
    }
}

fn chars(v: &Value) -> u64 {
    v.as_str().map_or(0, |s| s.chars().count() as u64)
}

fn byte_len(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.len() as u64,
        Value::Bytes(b) => b.len() as u64,
        _ => 0,
    }
}

fn items(v: &Value) -> u64 {
    match v {
        Value::List(l) => l.len() as u64,
        Value::Map(m) => m.len() as u64,
        _ => 0,
    }
}

fn list_text<T: std::fmt::Display>(xs: &[T]) -> String {
    xs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rule id and message of a failed check, or `None` when the value passes.
fn violation(c: &Check, v: &Value) -> Option<(&'static str, String)> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let num = Num::of(v);
    let ord = |n: &Num| num.and_then(|x| x.cmp(*n));
    let s = v.as_str().unwrap_or_default();
    match c {
        Check::NumConst(n) => fail(ord(n) == Some(Equal), "const", || {
            format!("value must equal {n}")
        }),
        Check::Lt(n) => fail(ord(n) == Some(Less), "lt", || {
            format!("value must be less than {n}")
        }),
        Check::Lte(n) => fail(matches!(ord(n), Some(Less | Equal)), "lte", || {
            format!("value must be less than or equal to {n}")
        }),
        Check::Gt(n) => fail(ord(n) == Some(Greater), "gt", || {
            format!("value must be greater than {n}")
        }),
        Check::Gte(n) => fail(matches!(ord(n), Some(Greater | Equal)), "gte", || {
            format!("value must be greater than or equal to {n}")
        }),
        Check::NumIn(ns) => fail(ns.iter().any(|n| ord(n) == Some(Equal)), "in", || {
            format!("value must be in list [{}]", list_text(ns))
        }),
        Check::NumNotIn(ns) => fail(!ns.iter().any(|n| ord(n) == Some(Equal)), "not_in", || {
            format!("value must not be in list [{}]", list_text(ns))
        }),
        Check::StrConst(x) => fail(s == x, "string.const", || format!("value must equal `{x}`")),
        Check::Len(n) => fail(chars(v) == *n, "string.len", || {
            format!("value length must be {n} characters")
        }),
        Check::MinLen(n) => fail(chars(v) >= *n, "string.min_len", || {
            format!("value length must be at least {n} characters")
        }),
        Check::MaxLen(n) => fail(chars(v) <= *n, "string.max_len", || {
            format!("value length must be at most {n} characters")
        }),
        Check::LenBytes(n) => fail(byte_len(v) == *n, "string.len_bytes", || {
            format!("value length must be {n} bytes")
        }),
        Check::MinBytes(n) => fail(byte_len(v) >= *n, "string.min_bytes", || {
            format!("value length must be at least {n} bytes")
        }),
        Check::MaxBytes(n) => fail(byte_len(v) <= *n, "string.max_bytes", || {
            format!("value length must be at most {n} bytes")
        }),
        Check::Pattern(re) => fail(re.is_match(s), "string.pattern", || {
            format!("value does not match regex pattern `{}`", re.as_str())
        }),
        Check::Prefix(p) => fail(s.starts_with(p.as_str()), "string.prefix", || {
            format!("value does not have prefix `{p}`")
        }),
        Check::Suffix(p) => fail(s.ends_with(p.as_str()), "string.suffix", || {
            format!("value does not have suffix `{p}`")
        }),
        Check::Contains(p) => fail(s.contains(p.as_str()), "string.contains", || {
            format!("value does not contain substring `{p}`")
        }),
        Check::NotContains(p) => fail(!s.contains(p.as_str()), "string.not_contains", || {
            format!("value contains substring `{p}`")
        }),
        Check::StrIn(xs) => fail(xs.iter().any(|x| x == s), "string.in", || {
            format!("value must be in list [{}]", xs.join(", "))
        }),
        Check::StrNotIn(xs) => fail(!xs.iter().any(|x| x == s), "string.not_in", || {
            format!("value must not be in list [{}]", xs.join(", "))
        }),
        Check::Email(re) => fail(re.is_match(s), "string.email", || {
            "value must be a valid email address".into()
        }),
        Check::Hostname(re) => fail(s.len() <= 253 && re.is_match(s), "string.hostname", || {
            "value must be a valid hostname".into()
        }),
        Check::Ip(version) => {
            let ok = matches!(
                (s.parse::<std::net::IpAddr>(), version),
                (Ok(std::net::IpAddr::V4(_)), None | Some(4))
                    | (Ok(std::net::IpAddr::V6(_)), None | Some(6))
            );
            fail(ok, "string.ip", || {
                "value must be a valid IP address".into()
            })
        }
        Check::Uuid(re) => fail(re.is_match(s), "string.uuid", || {
            "value must be a valid UUID".into()
        }),
        Check::BytesLen(n) => fail(byte_len(v) == *n, "bytes.len", || {
            format!("value length must be {n} bytes")
        }),
        Check::BytesMinLen(n) => fail(byte_len(v) >= *n, "bytes.min_len", || {
            format!("value length must be at least {n} bytes")
        }),
        Check::BytesMaxLen(n) => fail(byte_len(v) <= *n, "bytes.max_len", || {
            format!("value length must be at most {n} bytes")
        }),
        Check::DefinedOnly(e) => fail(
            matches!(v, Value::EnumNumber(n) if e.get_value(*n).is_some()),
            "enum.defined_only",
            || "value must be one of the defined enum values".into(),
        ),
        Check::MinItems(n) => fail(items(v) >= *n, "repeated.min_items", || {
            format!("value must contain at least {n} item(s)")
        }),
        Check::MaxItems(n) => fail(items(v) <= *n, "repeated.max_items", || {
            format!("value must contain no more than {n} item(s)")
        }),
        Check::Unique => {
            let ok = match v {
                Value::List(l) => l.iter().enumerate().all(|(i, a)| !l[..i].contains(a)),
                _ => true,
            };
            fail(ok, "repeated.unique", || {
                "repeated value must contain unique items".into()
            })
        }
        Check::Items(_) => None,
        Check::MinPairs(n) => fail(items(v) >= *n, "map.min_pairs", || {
            format!("map must be at least {n} entries")
        }),
        Check::MaxPairs(n) => fail(items(v) <= *n, "map.max_pairs", || {
            format!("map must be at most {n} entries")
        }),
    }
}

/// `Some((rule, message))` when `ok` is false; the message is only built on failure (this
/// runs for every field of every request).
fn fail(
    ok: bool,
    rule: &'static str,
    why: impl FnOnce() -> String,
) -> Option<(&'static str, String)> {
    (!ok).then(|| (rule, why()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
        std::fs::write(
            dir.path().join("t.proto"),
            r#"syntax = "proto3";
package t;
import "buf/validate/validate.proto";
enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; }
message Item { uint32 qty = 1 [(buf.validate.field).uint32.gt = 0]; }
message Req {
  string name = 1 [(buf.validate.field).string = {min_len: 1, max_len: 5}];
  string email = 2 [(buf.validate.field).string.email = true];
  optional string nick = 3 [(buf.validate.field).string.min_len = 3];
  repeated Item items = 4 [(buf.validate.field).repeated = {min_items: 1, max_items: 2}];
  string currency = 5 [(buf.validate.field).string.pattern = "^[A-Z]{3}$", (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
  int64 amount = 6 [(buf.validate.field).int64 = {gte: -5, lt: 10}];
  Color color = 7 [(buf.validate.field).enum.defined_only = true];
  repeated string tags = 8 [(buf.validate.field).repeated = {unique: true, items: {string: {min_len: 2}}}];
  Item main = 9 [(buf.validate.field).required = true];
}
message Flat {
  string name = 1 [(buf.validate.field).string = {min_len: 1, max_len: 5}];
  string email = 2 [(buf.validate.field).string.email = true];
  optional string nick = 3 [(buf.validate.field).string.min_len = 3];
  string currency = 5 [(buf.validate.field).string.pattern = "^[A-Z]{3}$", (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
  int64 amount = 6 [(buf.validate.field).int64 = {gte: -5, lt: 10}];
  Color color = 7 [(buf.validate.field).enum.defined_only = true];
  string id = 10 [(buf.validate.field).required = true];
  bool extra = 11;
}
"#,
        )
        .unwrap();
        let mut c = protox::Compiler::new([dir.path(), root.as_path()]).unwrap();
        c.include_imports(true);
        c.open_file("t.proto").unwrap();
        DescriptorPool::decode(c.encode_file_descriptor_set().as_slice()).unwrap()
    }

    fn violations_of(rules: &Rules, pool: &DescriptorPool, ty: &str, json: &str) -> Vec<String> {
        let desc = pool.get_message_by_name(ty).unwrap();
        let mut de = serde_json::Deserializer::from_str(json);
        let msg = DynamicMessage::deserialize(desc, &mut de).unwrap();
        let bytes = prost::Message::encode_to_vec(&msg);
        let mut got: Vec<String> = rules
            .check_bytes(ty, &bytes)
            .unwrap()
            .into_iter()
            .map(|v| v.field)
            .collect();
        got.sort();
        got
    }

    fn violations(rules: &Rules, pool: &DescriptorPool, json: &str) -> Vec<String> {
        violations_of(rules, pool, "t.Req", json)
    }

    #[test]
    fn flat_messages_are_checked_on_the_wire_like_decoded_ones() {
        let pool = pool();
        let rules = Rules::new(&pool).unwrap();
        let (desc, flat) = &rules.by_type["t.Flat"];
        assert!(flat.wire.is_some(), "t.Flat is flat");
        assert!(rules.by_type["t.Req"].1.wire.is_none(), "t.Req has lists");
        for (json, want) in [
            (r#"{"name":"ab","email":"a@b.c","id":"x"}"#, &[][..]),
            (
                r#"{"name":"ab","email":"a@b.c","id":"x","nick":"abc","currency":"USD","amount":9,"color":"COLOR_RED","extra":true}"#,
                &[],
            ),
            (r#"{}"#, &["email", "id", "name"]),
            (
                r#"{"name":"abcdef","email":"x","nick":"a","currency":"usd","amount":10,"color":5,"id":""}"#,
                &["amount", "color", "currency", "email", "id", "name", "nick"],
            ),
            (
                r#"{"name":"ab","email":"a@b.c","id":"x","nick":"","amount":-5}"#,
                &["nick"],
            ),
        ] {
            let got = violations_of(&rules, &pool, "t.Flat", json);
            assert_eq!(got, want, "{json}");
            // The same through a full decode.
            let mut de = serde_json::Deserializer::from_str(json);
            let msg = DynamicMessage::deserialize(desc.clone(), &mut de).unwrap();
            let mut out = Vec::new();
            check_message(flat, &msg, "", &mut out);
            let mut decoded: Vec<String> = out.into_iter().map(|v| v.field).collect();
            decoded.sort();
            assert_eq!(got, decoded, "{json}");
        }
        assert_eq!(rules.check_bytes("t.Flat", &[0x0a, 0x09]), Err(Malformed));
        assert_eq!(rules.check_bytes("t.Req", &[0x0a, 0x09]), Err(Malformed));
        assert!(
            rules
                .check_bytes("t.NoRules", &[0x0a, 0x09])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn standard_rules_accept_and_reject() {
        let pool = pool();
        let rules = Rules::new(&pool).unwrap();
        assert!(rules.by_type.contains_key("t.Req") && rules.by_type.contains_key("t.Item"));
        let ok = r#"{"name":"ab","email":"a@b.example","items":[{"qty":1}],"amount":-5,"color":"COLOR_RED","tags":["xy","zz"],"main":{"qty":2}}"#;
        assert!(
            violations(&rules, &pool, ok).is_empty(),
            "{:?}",
            violations(&rules, &pool, ok)
        );
        let bad = r#"{"name":"abcdef","email":"nope","nick":"x","items":[{"qty":0},{"qty":1},{"qty":1}],"currency":"usd","amount":10,"color":5,"tags":["xy","xy","z"]}"#;
        assert_eq!(
            violations(&rules, &pool, bad),
            [
                "amount",
                "color",
                "currency",
                "email",
                "items",
                "items[0].qty",
                "main",
                "name",
                "nick",
                "tags",
                "tags[2]",
            ]
        );
    }

    #[test]
    fn zero_values_follow_presence_and_ignore() {
        let pool = pool();
        let rules = Rules::new(&pool).unwrap();
        // Empty currency skipped (IGNORE_IF_ZERO_VALUE), unset optional nick skipped, but an
        // empty proto3 name is still checked.
        let got = violations(
            &rules,
            &pool,
            r#"{"email":"a@b.c","items":[{"qty":1}],"main":{"qty":1}}"#,
        );
        assert_eq!(got, ["name"]);
    }
}
