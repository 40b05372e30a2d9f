//! Typed configuration of the framework's sections (`server:`, `client:`, `log:`,
//! `middleware:`, `telemetry:`); an application adds its own sections in a type of its own
//! that embeds these (see `grpckit_services::config::AppConfig`), loading it with
//! [`yaml_value`], [`MovedKey`] and [`from_yaml_value`].
//!
//! This module reads one YAML document over the defaults ([`parse_yaml`], [`load_file`]);
//! every key left out keeps its default. [`EnvLayer`] turns nested environment variables
//! (`GRPCKIT_SERVER__PORT=9090`) into keys merged over the document before it is
//! deserialized; reading the process's environment and applying flags on top is the
//! caller's job, as `grpckit server` does (defaults < file < environment < flags). Unknown
//! keys and bad values are rejected with the key's path as a typed [`ConfigError`], e.g.
//! `server.keep_alive.time: invalid value: expected a duration like 60s` (and the variable's
//! name when a variable gave it). Every method rule uses one pattern grammar,
//! [`MethodPattern`].

mod binding;
mod bridge;
mod client;
mod client_tls;
mod debug;
mod env;
mod error;
mod fault;
mod http2;
mod ip_filter;
mod load;
mod log_level;
mod middleware;
mod moved;
mod pattern;
mod policy;
mod proxy_protocol;
pub mod reload;
mod runtime;
mod switches;
mod telemetry;
mod tls;
mod types;

pub use binding::{PrincipalError, PrincipalSelector, RoleBinding};
pub use bridge::{CorsConfig, HttpBridgeConfig};
pub use client::*;
pub use client_tls::ClientTlsConfig;
pub use debug::DebugConfig;
pub use env::{EnvLayer, EnvOverrides, EnvVar};
pub use error::{ConfigError, InvalidValue, Location};
pub use fault::{FaultAbort, FaultCode, FaultConfig, FaultDelay, FaultHeader, FaultRule, Percent};
pub use http2::Http2Config;
pub use ip_filter::{Cidr, CidrError, IpFilterConfig, IpRule};
pub use load::{from_yaml_str, from_yaml_value, load_file, parse_yaml, read_file, yaml_value};
pub use log_level::{LOG_LEVELS, check_log_level};
pub use middleware::*;
pub use moved::{MovedKey, has_key};
pub use pattern::{MethodPattern, PatternError};
pub use policy::{PolicyConfig, PolicyOverride};
pub use proxy_protocol::ProxyProtocolConfig;
pub use switches::{SWITCHABLE_PARTS, SwitchRule};
pub use telemetry::{MetricsConfig, TelemetryConfig, TracingConfig};
pub use tls::{AdminTlsConfig, ClientAuth, ServerTlsConfig, TlsVersion};
pub use types::*;
