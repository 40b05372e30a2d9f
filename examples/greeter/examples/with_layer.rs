//! The greeter with a team's own tower layer in the chain (`docs/middleware.md`, "Your own
//! layer"): it runs after the built-in policy parts, so it sees the caller's `Principal`, and
//! it refuses callers whose subject is on a block list with a status of its own.
//!
//! `cargo run -p greeter-example --example with_layer -- examples/greeter/greeter.yaml`

use std::{
    convert::Infallible,
    task::{Context, Poll},
};

use futures::future::{Either, Ready, ready};
use greeter_example::{FILE_DESCRIPTOR_SET, Greeter, pb::greeter_server::GreeterServer};
use grpckit::middleware::auth::Principal;
use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

/// Refuses calls from the listed subjects with `PERMISSION_DENIED`.
#[derive(Debug, Clone)]
struct BlockList(&'static [&'static str]);

impl<S> Layer<S> for BlockList {
    type Service = BlockListService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BlockListService {
            inner,
            blocked: self.0,
        }
    }
}

#[derive(Debug, Clone)]
struct BlockListService<S> {
    inner: S,
    blocked: &'static [&'static str],
}

impl<S> Service<Request<Body>> for BlockListService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response<Body>, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let blocked = req
            .extensions()
            .get::<Principal>()
            .is_some_and(|p| self.blocked.contains(&p.subject()));
        if blocked {
            let status = tonic::Status::permission_denied("this account is blocked");
            return Either::Left(ready(Ok(status.into_http())));
        }
        Either::Right(self.inner.call(req))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = match std::env::args_os().nth(1) {
        Some(path) => grpckit::config::load_file(path.as_ref())?,
        None => grpckit::config::Config::default(),
    };
    grpckit::App::new(config)
        .add_service(GreeterServer::new(Greeter))
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .layer(BlockList(&["mallory"]))
        .run()?;
    Ok(())
}
