//! Per-method facts computed once at start (call kind, input type, audit/validate flags).
//! Method patterns live in [`crate::config::MethodPattern`] (re-exported here).

use std::sync::Arc;

use tonic::Status;

pub use crate::config::MethodPattern;

/// The four gRPC call kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// One request, one response.
    Unary,
    /// One request, a response stream.
    ServerStreaming,
    /// A request stream, one response.
    ClientStreaming,
    /// Streams both ways.
    Bidi,
}

impl CallKind {
    /// From the descriptor's streaming flags.
    pub fn from_flags(client: bool, server: bool) -> Self {
        match (client, server) {
            (false, false) => Self::Unary,
            (false, true) => Self::ServerStreaming,
            (true, false) => Self::ClientStreaming,
            (true, true) => Self::Bidi,
        }
    }

    /// `unary`, `server_streaming`, `client_streaming`, `bidi_streaming`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unary => "unary",
            Self::ServerStreaming => "server_streaming",
            Self::ClientStreaming => "client_streaming",
            Self::Bidi => "bidi_streaming",
        }
    }

    /// Whether the response is a stream.
    pub fn server_streams(self) -> bool {
        matches!(self, Self::ServerStreaming | Self::Bidi)
    }

    /// Whether the request is a stream.
    pub fn client_streams(self) -> bool {
        matches!(self, Self::ClientStreaming | Self::Bidi)
    }
}

/// What the stack knows about one method.
#[derive(Debug)]
pub struct MethodInfo {
    /// `pkg.Service/Method`.
    pub name: Box<str>,
    /// Index in the table (per-method state arrays use it); `usize::MAX` when unknown.
    pub index: usize,
    /// Call kind.
    pub kind: CallKind,
    /// Full name of the input message, when known.
    pub input_type: Option<Box<str>>,
    /// Whether the input message carries `buf.validate` rules.
    pub has_rules: bool,
    /// Whether calls produce an audit record.
    pub audited: bool,
    /// Index of the descriptor set that defines the method.
    pub set: usize,
    /// The method's metrics entry (the stack records the go-grpc-prometheus series).
    pub metered: &'static crate::telemetry::metrics::MethodInfo,
}

/// All known methods by path.
#[derive(Debug, Default)]
pub struct MethodTable {
    by_path: foldhash::HashMap<Box<str>, Arc<MethodInfo>>,
    list: Vec<Arc<MethodInfo>>,
    /// Services whose descriptors are known: every method of theirs is in the table.
    services: foldhash::HashSet<Box<str>>,
}

impl MethodTable {
    /// Adds a method.
    pub(crate) fn insert(&mut self, mut info: MethodInfo) {
        info.index = self.list.len();
        if let Some((svc, _)) = info.name.rsplit_once('/') {
            self.services.insert(svc.into());
        }
        let info = Arc::new(info);
        self.by_path
            .insert(format!("/{}", info.name).into(), info.clone());
        self.list.push(info);
    }

    /// Every known method.
    pub fn methods(&self) -> &[Arc<MethodInfo>] {
        &self.list
    }

    /// Whether the descriptors of `service` (`pkg.Service`) are known.
    pub fn has_service(&self, service: &str) -> bool {
        self.services.contains(service)
    }

    /// The `UNIMPLEMENTED` answer for a path that is not in the table (as grpc-go words it),
    /// when it surely names no method: its service is known and lacks it, or the service is
    /// not among the `routed` ones. `None` when it may be routed without descriptors.
    pub fn unknown(
        &self,
        path: &str,
        routed: Option<&foldhash::HashSet<Box<str>>>,
    ) -> Option<Status> {
        let (service, method) = path.trim_start_matches('/').rsplit_once('/')?;
        if self.has_service(service) {
            return Some(crate::reason::METHOD_UNKNOWN.status(
                tonic::Code::Unimplemented,
                format!("unknown method {method} for service {service}"),
            ));
        }
        routed.is_some_and(|r| !r.contains(service)).then(|| {
            crate::reason::METHOD_UNKNOWN.status(
                tonic::Code::Unimplemented,
                format!("unknown service {service}"),
            )
        })
    }

    /// Looks up an HTTP path (`/pkg.Service/Method`); unknown paths get a fresh info, audited
    /// when one of `audited` (`middleware.audit.methods`) matches.
    pub fn lookup(&self, path: &str, audited: &[MethodPattern]) -> Arc<MethodInfo> {
        if let Some(m) = self.by_path.get(path) {
            return m.clone();
        }
        let name = path.trim_start_matches('/');
        Arc::new(MethodInfo {
            name: name.into(),
            index: usize::MAX,
            kind: CallKind::Unary,
            input_type: None,
            has_rules: false,
            audited: MethodPattern::any_matches(audited, name),
            set: usize::MAX,
            metered: crate::telemetry::metrics::lookup(path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> MethodInfo {
        MethodInfo {
            name: name.into(),
            index: 0,
            kind: CallKind::Unary,
            input_type: None,
            has_rules: false,
            audited: false,
            set: 0,
            metered: crate::telemetry::metrics::lookup(&format!("/{name}")),
        }
    }

    #[test]
    fn unknown_methods_and_services() {
        let mut t = MethodTable::default();
        t.insert(info("a.v1.Svc/Get"));
        let routed: foldhash::HashSet<Box<str>> = ["a.v1.Svc".into(), "b.NoDescriptors".into()]
            .into_iter()
            .collect();
        let st = t.unknown("/a.v1.Svc/NoSuch", None).unwrap();
        assert_eq!(st.code(), tonic::Code::Unimplemented);
        assert_eq!(st.message(), "unknown method NoSuch for service a.v1.Svc");
        let st = t.unknown("/foo.Bar/Baz", Some(&routed)).unwrap();
        assert_eq!(st.message(), "unknown service foo.Bar");
        // Without the routed list, or routed without descriptors: it may exist.
        assert!(t.unknown("/foo.Bar/Baz", None).is_none());
        assert!(t.unknown("/b.NoDescriptors/Any", Some(&routed)).is_none());
    }

    #[test]
    fn unknown_methods_are_audited_by_the_configured_patterns_only() {
        let t = MethodTable::default();
        let audited = [MethodPattern::parse("*/Create*").unwrap()];
        assert!(t.lookup("/a.B/CreateX", &audited).audited);
        assert!(!t.lookup("/a.B/PayX", &audited).audited);
        assert!(!t.lookup("/a.B/CreateX", &[]).audited);
    }
}
