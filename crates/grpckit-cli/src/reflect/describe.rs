//! Prints services, methods, messages and enums as proto source text.

use std::fmt::Write;

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, ServiceDescriptor,
};

/// Proto text for `symbol` (service, method, message or enum), or `None` when unknown.
pub fn describe(pool: &DescriptorPool, symbol: &str) -> Option<String> {
    let symbol = symbol.trim_start_matches('.');
    let mut out = String::new();
    if let Some(s) = pool.get_service_by_name(symbol) {
        let _ = writeln!(out, "{} is a service:", s.full_name());
        service(&mut out, &s);
    } else if let Some(m) = pool.get_message_by_name(symbol) {
        let _ = writeln!(out, "{} is a message:", m.full_name());
        message(&mut out, &m, 0);
    } else if let Some(e) = pool.get_enum_by_name(symbol) {
        let _ = writeln!(out, "{} is an enum:", e.full_name());
        enumeration(&mut out, &e, 0);
    } else {
        let (svc, name) = super::split_method(symbol)?;
        let m = pool
            .get_service_by_name(svc)?
            .methods()
            .find(|m| m.name() == name)?;
        let _ = writeln!(out, "{}.{} is a method:", svc, m.name());
        method(&mut out, &m, 0);
    }
    Some(out)
}

fn service(out: &mut String, s: &ServiceDescriptor) {
    let _ = writeln!(out, "service {} {{", s.name());
    for m in s.methods() {
        method(out, &m, 1);
    }
    out.push_str("}\n");
}

fn method(out: &mut String, m: &MethodDescriptor, depth: usize) {
    let stream = |b: bool| if b { "stream " } else { "" };
    let pad = "  ".repeat(depth);
    let _ = write!(
        out,
        "{pad}rpc {}({}.{}) returns ({}.{})",
        m.name(),
        stream(m.is_client_streaming()),
        m.input().full_name(),
        stream(m.is_server_streaming()),
        m.output().full_name(),
    );
    // The call policy as declared in the .proto (the reflection server serves the files'
    // bytes as compiled, extension options included).
    match grpckit::policy::declared_option_text(m) {
        Some(option) => {
            let _ = writeln!(out, " {{\n{pad}  {option}\n{pad}}}");
        }
        None => out.push_str(";\n"),
    }
}

fn message(out: &mut String, m: &MessageDescriptor, depth: usize) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{pad}message {} {{", m.name());
    for n in m.child_messages().filter(|c| !c.is_map_entry()) {
        message(out, &n, depth + 1);
    }
    for e in m.child_enums() {
        enumeration(out, &e, depth + 1);
    }
    let mut seen_oneofs = Vec::new();
    for f in m.fields() {
        match f.containing_oneof().filter(|o| !o.is_synthetic()) {
            Some(o) => {
                if seen_oneofs.contains(&o.name().to_owned()) {
                    continue;
                }
                seen_oneofs.push(o.name().to_owned());
                let _ = writeln!(out, "{pad}  oneof {} {{", o.name());
                for f in o.fields() {
                    field(out, &f, depth + 2);
                }
                let _ = writeln!(out, "{pad}  }}");
            }
            None => field(out, &f, depth + 1),
        }
    }
    let _ = writeln!(out, "{pad}}}");
}

fn field(out: &mut String, f: &FieldDescriptor, depth: usize) {
    let label = if f.is_map() {
        ""
    } else if f.is_list() {
        "repeated "
    } else if f.cardinality() == Cardinality::Optional
        && f.supports_presence()
        && f.containing_oneof().is_some_and(|o| o.is_synthetic())
    {
        "optional "
    } else {
        ""
    };
    let ty = if f.is_map() {
        match f.kind() {
            Kind::Message(entry) => {
                let k = entry.map_entry_key_field().kind();
                let v = entry.map_entry_value_field().kind();
                format!("map<{}, {}>", kind_name(&k), kind_name(&v))
            }
            k => kind_name(&k),
        }
    } else {
        kind_name(&f.kind())
    };
    let _ = writeln!(
        out,
        "{}{label}{ty} {} = {};",
        "  ".repeat(depth),
        f.name(),
        f.number()
    );
}

fn kind_name(k: &Kind) -> String {
    match k {
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
    }
}

fn enumeration(out: &mut String, e: &EnumDescriptor, depth: usize) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{pad}enum {} {{", e.name());
    for v in e.values() {
        let _ = writeln!(out, "{pad}  {} = {};", v.name(), v.number());
    }
    let _ = writeln!(out, "{pad}}}");
}
