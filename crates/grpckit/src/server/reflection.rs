//! Server reflection (v1 and v1alpha) of every registered descriptor set, plus the
//! framework's own types: `google/rpc/status.proto` and `google/rpc/error_details.proto`.
//!
//! Every grpckit server answers errors with `google.rpc` details (`BadRequest`, `RetryInfo`,
//! ...), whatever its services are, so it also describes them: a reflection client (grpcurl,
//! `grpckit call`) resolves `google.rpc.BadRequest` and decodes the details without a local
//! copy of the protos. The descriptors are the ones `tonic-types` encodes the details with;
//! it names its files `status.proto` and `error_details.proto`, so they are renamed to the
//! canonical `google/rpc/...` paths that other files import them by.

use std::sync::LazyLock;

use prost::Message;
use prost_types::FileDescriptorSet;
use tonic::{server::NamedService, service::RoutesBuilder};

/// The `google.rpc` error model's descriptors under their canonical file names, encoded.
static GOOGLE_RPC: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut set = match FileDescriptorSet::decode(tonic_types::pb::FILE_DESCRIPTOR_SET) {
        Ok(set) => set,
        Err(e) => {
            tracing::warn!(error = %e, "google.rpc descriptors do not decode; not in reflection");
            FileDescriptorSet::default()
        }
    };
    canonical_names(&mut set);
    set.encode_to_vec()
});

/// Puts the `google.rpc` files of `set` under `google/rpc/` (imports of them included).
fn canonical_names(set: &mut FileDescriptorSet) {
    let renamed: Vec<String> = set
        .file
        .iter()
        .filter(|f| f.package() == "google.rpc" && !f.name().contains('/'))
        .map(|f| f.name().to_owned())
        .collect();
    let canonical = |name: &mut String| {
        if renamed.contains(name) {
            *name = format!("google/rpc/{name}");
        }
    };
    for f in &mut set.file {
        if let Some(name) = f.name.as_mut() {
            canonical(name);
        }
        f.dependency.iter_mut().for_each(canonical);
    }
}

/// The encoded `FileDescriptorSet` of `google/rpc/status.proto` and
/// `google/rpc/error_details.proto` (with the `google/protobuf` files they import): what a
/// client needs to decode the rich error details of a grpckit server.
///
/// # Examples
/// ```
/// let pool = prost_reflect::DescriptorPool::decode(grpckit::server::google_rpc_descriptors()).unwrap();
/// assert!(pool.get_message_by_name("google.rpc.BadRequest").is_some());
/// assert!(pool.get_file_by_name("google/rpc/error_details.proto").is_some());
/// ```
pub fn google_rpc_descriptors() -> &'static [u8] {
    &GOOGLE_RPC
}

/// The service name of a routed service value.
pub(super) fn name_of<S: NamedService>(_: &S) -> &'static str {
    S::NAME
}

/// Adds the v1 and v1alpha reflection services for `sets` (plus the `google.rpc` error
/// model) to `routes`; returns their service names.
pub(super) fn add_routes(
    routes: &mut RoutesBuilder,
    sets: &[&'static [u8]],
) -> Result<[&'static str; 2], tonic_reflection::server::Error> {
    // Each builder adds its own reflection descriptor; add the other version's too so
    // `list` shows both reflection services whichever version a tool speaks. A file
    // registered twice keeps its first copy, so the services' own sets go first.
    let mut v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET);
    let mut v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET);
    for set in sets.iter().copied().chain([google_rpc_descriptors()]) {
        v1 = v1.register_encoded_file_descriptor_set(set);
        v1alpha = v1alpha.register_encoded_file_descriptor_set(set);
    }
    let (v1, v1alpha) = (v1.build_v1()?, v1alpha.build_v1alpha()?);
    let names = [name_of(&v1), name_of(&v1alpha)];
    routes.add_service(v1);
    routes.add_service(v1alpha);
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_rpc_files_have_their_canonical_names() {
        let set = FileDescriptorSet::decode(google_rpc_descriptors()).unwrap();
        let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
        for want in [
            "google/rpc/status.proto",
            "google/rpc/error_details.proto",
            "google/protobuf/any.proto",
            "google/protobuf/duration.proto",
        ] {
            assert!(names.contains(&want), "{want} not in {names:?}");
        }
        let pool = prost_reflect::DescriptorPool::decode(google_rpc_descriptors()).unwrap();
        for m in [
            "google.rpc.Status",
            "google.rpc.BadRequest",
            "google.rpc.RetryInfo",
        ] {
            assert!(pool.get_message_by_name(m).is_some(), "{m}");
        }
    }
}
