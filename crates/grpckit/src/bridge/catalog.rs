//! What the bridges know of the served API: one descriptor pool made of every registered
//! descriptor set (plus the `google.rpc` error model and the well-known types), and each
//! method by its gRPC path with its kind, its `idempotency_level` and its `google.api.http`
//! rules.

use std::{collections::HashMap, sync::Arc};

use prost_reflect::{DescriptorPool, MethodDescriptor, Value};
use prost_types::method_options::IdempotencyLevel;

use super::http_rule::{HttpRule, rules_of};

/// One method as the bridges see it.
#[derive(Debug, Clone)]
pub(crate) struct Method {
    /// Its descriptor (input/output message types, streaming flags).
    pub(crate) desc: MethodDescriptor,
    /// `/package.Service/Method`.
    pub(crate) path: Arc<str>,
    /// `option idempotency_level = NO_SIDE_EFFECTS`: safe to call with GET.
    pub(crate) no_side_effects: bool,
    /// `option (google.api.http)`: the primary binding first, then `additional_bindings`.
    pub(crate) http: Vec<HttpRule>,
}

impl Method {
    /// Whether the client sends a stream.
    pub(crate) fn client_streaming(&self) -> bool {
        self.desc.is_client_streaming()
    }

    /// Whether the server answers with a stream.
    pub(crate) fn server_streaming(&self) -> bool {
        self.desc.is_server_streaming()
    }

    /// The service's full name (`package.Service`), as in the metrics' `grpc_service`.
    pub(crate) fn service_name(&self) -> &str {
        self.desc.parent_service().full_name()
    }

    /// The method's name, as in the metrics' `grpc_method`.
    pub(crate) fn method_name(&self) -> &str {
        self.desc.name()
    }
}

/// The descriptor pool and the methods of every served service.
#[derive(Debug)]
pub(crate) struct Catalog {
    pool: DescriptorPool,
    methods: HashMap<Arc<str>, Arc<Method>>,
}

impl Catalog {
    /// Builds the catalog from encoded `FileDescriptorSet`s; a file present in several sets
    /// is taken once, a set that does not decode is skipped (logged).
    pub(crate) fn new(sets: &[&[u8]]) -> Self {
        let mut pool = DescriptorPool::new();
        let mut all: Vec<&[u8]> = vec![crate::server::google_rpc_descriptors()];
        all.extend_from_slice(sets);
        for bytes in all {
            // Decoded by the pool itself: prost-types' `FileDescriptorSet` would drop the
            // extension options (`google.api.http`). Files already in the pool are skipped.
            if let Err(e) = pool.decode_file_descriptor_set(bytes) {
                tracing::warn!(error = %e, "descriptor set not bridged");
            }
        }
        let http_ext = pool.get_extension_by_name("google.api.http");
        let mut methods = HashMap::new();
        for svc in pool.services() {
            for desc in svc.methods() {
                let path: Arc<str> = format!("/{}/{}", svc.full_name(), desc.name()).into();
                let options = desc.options();
                let no_side_effects = matches!(
                    options.get_field_by_name("idempotency_level").as_deref(),
                    Some(Value::EnumNumber(n)) if *n == IdempotencyLevel::NoSideEffects as i32
                );
                let http = match &http_ext {
                    Some(ext) if options.has_extension(ext) => {
                        match options.get_extension(ext).as_ref() {
                            Value::Message(rule) => rules_of(rule),
                            _ => Vec::new(),
                        }
                    }
                    _ => Vec::new(),
                };
                let method = Method {
                    desc,
                    path: path.clone(),
                    no_side_effects,
                    http,
                };
                methods.insert(path, Arc::new(method));
            }
        }
        Self { pool, methods }
    }

    /// The pool of every message type (error details included).
    pub(crate) fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The method at the gRPC path `/package.Service/Method`.
    pub(crate) fn method(&self, path: &str) -> Option<&Arc<Method>> {
        self.methods.get(path)
    }

    /// Every method, in no particular order.
    pub(crate) fn methods(&self) -> impl Iterator<Item = &Arc<Method>> {
        self.methods.values()
    }
}
