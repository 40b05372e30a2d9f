//! Code generated from `proto/` (see `build.rs`).
#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

/// `user.v1`
pub mod user {
    /// `user.v1`
    pub mod v1 {
        tonic::include_proto!("user.v1");
    }
}

/// `order.v1`
pub mod order {
    /// `order.v1`
    pub mod v1 {
        tonic::include_proto!("order.v1");
    }
}

/// `google.api` (the `HttpRule` option types).
pub mod google {
    /// `google.api`
    pub mod api {
        tonic::include_proto!("google.api");
    }
}

/// Encoded `FileDescriptorSet` of every service file and its imports, extension options kept.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/grpckit_descriptor.bin"));
