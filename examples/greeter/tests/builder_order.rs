//! `ServerBuilder` calls are order-independent: the middleware stack set before the
//! descriptor set still validates the greeter's requests.

use greeter_example::{
    FILE_DESCRIPTOR_SET, Greeter,
    pb::{HelloRequest, greeter_client::GreeterClient, greeter_server::GreeterServer},
};
use grpckit::{
    config::{MiddlewareConfig, ServerConfig},
    middleware::auth::AuthSecrets,
    server::{ServerBuilder, Shutdown},
};
use tonic::Code;

#[tokio::test]
async fn middleware_before_the_descriptor_set_still_validates() {
    let mut middleware = MiddlewareConfig::default();
    middleware.auth.enabled = false;
    let builder = ServerBuilder::new(ServerConfig::default())
        .middleware(&middleware, &AuthSecrets::default())
        .unwrap()
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .add_service(GreeterServer::new(Greeter));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(builder.serve(listener, shutdown.clone()));

    let mut greeter = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let ok = greeter
        .say_hello(HelloRequest { name: "a".into() })
        .await
        .unwrap();
    assert_eq!(ok.into_inner().message, "Hello a");
    let empty = greeter
        .say_hello(HelloRequest {
            name: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");

    shutdown.trigger();
    server.await.unwrap().unwrap();
}
