//! `server.http:` the HTTP bridges on the gRPC port (REST/JSON transcoding, gRPC-Web,
//! Connect, server streams as SSE), the OpenAPI document and CORS.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `server.http:` what the gRPC port serves besides gRPC.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpBridgeConfig {
    /// Serve REST/JSON (from the `google.api.http` options), gRPC-Web and Connect on the
    /// gRPC port. Default `true`; `false` answers every non-gRPC request `415`/`404`.
    pub enabled: bool,
    /// Serve the OpenAPI 3.1 document at `GET /openapi.json`. Default `true`.
    pub openapi: bool,
    /// Cross-origin requests from browsers ([`CorsConfig`]).
    pub cors: CorsConfig,
}

impl Default for HttpBridgeConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            openapi: true,
            cors: CorsConfig::default(),
        }
    }
}

/// `server.http.cors:` which browser origins may call, with which headers. Default: no
/// origin (CORS headers are never sent; same-origin pages and non-browser clients are not
/// affected).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call (`https://app.example.com`), or `*` for any. Default empty.
    pub allowed_origins: Vec<String>,
    /// Request headers a browser may send besides the CORS-safelisted ones. Default: the
    /// headers the gRPC-Web, Connect and REST clients send (`authorization`,
    /// `content-type`, `x-api-key`, `x-grpc-web`, `x-user-agent`, `grpc-timeout`,
    /// `connect-protocol-version`, `connect-timeout-ms`, `traceparent`, `tracestate`,
    /// `x-request-id`).
    pub allowed_headers: Vec<String>,
    /// How long a browser may cache a preflight answer. Default `2h`.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// Allow credentials (cookies, HTTP auth) on cross-origin calls; not allowed with `*`.
    /// Default `false`.
    pub allow_credentials: bool,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_headers: [
                "authorization",
                "content-type",
                "x-api-key",
                "x-grpc-web",
                "x-user-agent",
                "grpc-timeout",
                "connect-protocol-version",
                "connect-timeout-ms",
                "traceparent",
                "tracestate",
                "x-request-id",
            ]
            .map(String::from)
            .to_vec(),
            max_age: Duration::from_secs(2 * 3600),
            allow_credentials: false,
        }
    }
}
