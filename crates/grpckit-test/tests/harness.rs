//! The framework harness on its own: a service that is not the reference app (gRPC health,
//! made non-public) behind the full stack, called with tokens from [`TokenMinter`].

use grpckit::{
    config::{MiddlewareConfig, ServerConfig},
    middleware::auth::AuthSecrets,
    server::ServerBuilder,
};
use grpckit_test::{TestServer, TokenMinter, with_bearer};
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_types::StatusExt;

const SECRET: &str = "harness-secret-harness-secret-0123";

fn stack() -> MiddlewareConfig {
    let yaml = format!(
        r#"
auth:
  public_methods: []
  jwt:
    keys: [{{ kid: harness, algorithm: HS256, secret: "{SECRET}" }}]
    issuer: ""
    audience: ""
  roles:
    - {{ role: ops, allow: ["grpc.health.v1.Health/*"] }}
"#
    );
    serde_norway::from_str(&yaml).expect("middleware config")
}

#[tokio::test]
async fn serves_any_builder_and_mints_tokens_the_stack_accepts() {
    let builder = ServerBuilder::new(ServerConfig::default())
        .middleware(&stack(), &AuthSecrets::default())
        .expect("stack");
    let server = TestServer::start(builder).await.expect("start");
    let mut health = HealthClient::new(server.channel().await.expect("connect"));
    let minter = TokenMinter::hs256(SECRET).kid("harness");

    let anonymous = health
        .check(HealthCheckRequest::default())
        .await
        .expect_err("not public");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let ok = health
        .check(with_bearer(
            HealthCheckRequest::default(),
            &minter.token("alice", &["ops"]),
        ))
        .await
        .expect("a minted token with the role passes");
    assert_eq!(ok.into_inner().status, 1, "SERVING");

    let no_role = health
        .check(with_bearer(
            HealthCheckRequest::default(),
            &minter.token("bob", &[]),
        ))
        .await
        .expect_err("no role");
    assert_eq!(no_role.code(), Code::PermissionDenied);

    let expired = health
        .check(with_bearer(
            HealthCheckRequest::default(),
            &minter
                .clone()
                .ttl(std::time::Duration::ZERO)
                .token("alice", &["ops"]),
        ))
        .await
        .expect_err("expired");
    assert_eq!(expired.code(), Code::Unauthenticated);
    assert_eq!(
        expired.get_details_error_info().map(|i| i.reason),
        Some("TOKEN_EXPIRED".to_owned())
    );

    server.stop().await.expect("graceful stop");
}
