//! The quick start's service: `helloworld.Greeter`, the same contract as
//! `bench/tonic-hello`, with a `buf.validate` rule on `name`.

use tonic::{Request, Response, Status};

/// Code generated from `proto/helloworld.proto` (see `build.rs`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("helloworld");
}

/// Encoded `FileDescriptorSet` of `helloworld.proto` and its imports.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/greeter_descriptor.bin"));

/// Answers `Hello <name>`. An empty name never gets here: the stack checks the proto's
/// `buf.validate` rule first.
#[derive(Debug, Default, Clone, Copy)]
pub struct Greeter;

#[tonic::async_trait]
impl pb::greeter_server::Greeter for Greeter {
    async fn say_hello(
        &self,
        req: Request<pb::HelloRequest>,
    ) -> Result<Response<pb::HelloReply>, Status> {
        Ok(Response::new(pb::HelloReply {
            message: format!("Hello {}", req.into_inner().name),
        }))
    }
}
