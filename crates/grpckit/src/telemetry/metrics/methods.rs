//! The method table: `/pkg.Service/Method` -> labels and call type, built from the encoded
//! `FileDescriptorSet`s the server registers (never guessed from traffic).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use arc_swap::ArcSwap;
use prost::Message;

use super::{grpc::SideHandles, stats::Window};

/// The four gRPC call kinds, with go-grpc-prometheus's `grpc_type` label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpcType {
    /// One request, one response.
    Unary,
    /// A request stream, one response.
    ClientStream,
    /// One request, a response stream.
    ServerStream,
    /// Streams both ways.
    BidiStream,
}

impl RpcType {
    /// From the descriptor's `client_streaming` / `server_streaming` flags.
    pub fn from_flags(client_streaming: bool, server_streaming: bool) -> Self {
        match (client_streaming, server_streaming) {
            (false, false) => Self::Unary,
            (true, false) => Self::ClientStream,
            (false, true) => Self::ServerStream,
            (true, true) => Self::BidiStream,
        }
    }

    /// The `grpc_type` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unary => "unary",
            Self::ClientStream => "client_stream",
            Self::ServerStream => "server_stream",
            Self::BidiStream => "bidi_stream",
        }
    }

    /// Whether the request side is a stream.
    pub fn client_streams(self) -> bool {
        matches!(self, Self::ClientStream | Self::BidiStream)
    }

    /// Whether the response side is a stream.
    pub fn server_streams(self) -> bool {
        matches!(self, Self::ServerStream | Self::BidiStream)
    }
}

/// One method: its labels, its type, and its lazily created metric handles.
#[derive(Debug)]
pub struct MethodInfo {
    /// `grpc_service`, e.g. `user.v1.UserService` (`unknown` for unregistered paths).
    pub service: Box<str>,
    /// `grpc_method`, e.g. `GetUser`.
    pub method: Box<str>,
    /// `user.v1.UserService/GetUser`: the span name of the rpc semantic conventions.
    pub full_name: Box<str>,
    /// The call type.
    pub kind: RpcType,
    /// The method may be sent twice (the client retries it): `idempotent` of its
    /// `grpckit.v1.policy` option, else `option idempotency_level = NO_SIDE_EFFECTS` or
    /// `IDEMPOTENT`.
    pub idempotent: bool,
    pub(crate) server: OnceLock<SideHandles>,
    pub(crate) client: OnceLock<SideHandles>,
    pub(crate) window: OnceLock<Box<Window>>,
}

impl MethodInfo {
    fn new(service: &str, method: &str, kind: RpcType) -> Self {
        Self {
            service: service.into(),
            method: method.into(),
            full_name: format!("{service}/{method}").into(),
            kind,
            idempotent: false,
            server: OnceLock::new(),
            client: OnceLock::new(),
            window: OnceLock::new(),
        }
    }

    /// Whether this is the fixed entry for unregistered paths.
    pub fn is_unknown(&self) -> bool {
        std::ptr::eq(self, unknown())
    }
}

type Table = foldhash::HashMap<Box<str>, &'static MethodInfo>;

fn table() -> &'static ArcSwap<Table> {
    static TABLE: OnceLock<ArcSwap<Table>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let t = ArcSwap::from_pointee(Table::default());
        for set in [
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            insert_set(&t, set);
        }
        t
    })
}

/// The entry every unregistered path collapses to (`grpc_service="unknown"`,
/// `grpc_method="unknown"`, `grpc_type="unary"`), so a scanner cannot create series.
pub(crate) fn unknown() -> &'static MethodInfo {
    static UNKNOWN: OnceLock<MethodInfo> = OnceLock::new();
    UNKNOWN.get_or_init(|| MethodInfo::new("unknown", "unknown", RpcType::Unary))
}

fn insert_set(t: &ArcSwap<Table>, bytes: &[u8]) -> usize {
    static WRITE: Mutex<()> = Mutex::new(());
    let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
        tracing::warn!(
            "metrics: a registered FileDescriptorSet does not decode; its methods count as unknown"
        );
        return 0;
    };
    // prost's types drop extension options: the policies are read with prost-reflect.
    let (policies, _) = crate::policy::Policies::read_lenient(&[bytes]);
    let _guard = WRITE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let current = t.load();
    let mut next: Option<Table> = None;
    for file in &set.file {
        let pkg = file.package();
        for svc in &file.service {
            let service = if pkg.is_empty() {
                svc.name().to_owned()
            } else {
                format!("{pkg}.{}", svc.name())
            };
            for m in &svc.method {
                let path = format!("/{service}/{}", m.name());
                if current.contains_key(path.as_str())
                    || next.as_ref().is_some_and(|n| n.contains_key(path.as_str()))
                {
                    continue;
                }
                let kind = RpcType::from_flags(m.client_streaming(), m.server_streaming());
                let mut info = MethodInfo::new(&service, m.name(), kind);
                info.idempotent = match policies.get(&path) {
                    Some(entry) => entry.policy.idempotent,
                    None => m.options.as_ref().is_some_and(|o| {
                        o.idempotency_level()
                            != prost_types::method_options::IdempotencyLevel::IdempotencyUnknown
                    }),
                };
                let info: &'static MethodInfo = Box::leak(Box::new(info));
                next.get_or_insert_with(|| (**current).clone())
                    .insert(path.into(), info);
            }
        }
    }
    let n = next.as_ref().map_or(0, HashMap::len);
    if let Some(n) = next {
        t.store(Arc::new(n));
    }
    n
}

/// Registers the methods of an encoded `FileDescriptorSet` (idempotent). Health and
/// reflection are always known.
pub(crate) fn register_descriptor_set(bytes: &[u8]) {
    insert_set(table(), bytes);
}

/// The entry for a request path; [`unknown`] when the path is not a registered method.
#[inline]
pub(crate) fn lookup(path: &str) -> &'static MethodInfo {
    table().load().get(path).copied().unwrap_or_else(unknown)
}

/// Every registered method (for the stats page).
pub(crate) fn all() -> Vec<&'static MethodInfo> {
    let mut v: Vec<_> = table().load().values().copied().collect();
    v.push(unknown());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_methods_have_their_types() {
        let check = lookup("/grpc.health.v1.Health/Check");
        assert_eq!(
            (&*check.service, &*check.method, check.kind),
            ("grpc.health.v1.Health", "Check", RpcType::Unary)
        );
        assert_eq!(
            lookup("/grpc.health.v1.Health/Watch").kind,
            RpcType::ServerStream
        );
        assert_eq!(
            lookup("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo").kind,
            RpcType::BidiStream
        );
        assert!(lookup("/no.Such/Thing").is_unknown());
        assert!(lookup("/etc/passwd").is_unknown());
    }
}
