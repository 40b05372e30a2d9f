//! The reference app's configuration: the framework's sections (`server`, `client`, `log`,
//! `middleware`, `telemetry`, the types of [`grpckit::config`]) plus its own (`services`,
//! `database`, `auth`, `events`, `logistics`), in one file.
//!
//! Keys that moved out of the framework keep their earlier spelling ([`MOVED_KEYS`]): the
//! document is read as a YAML value, each earlier key is moved to its place (a warning names
//! it when the app starts), then it is deserialized into [`AppConfig`], so errors still name
//! the key path (and line and column when nothing had to move). Keys of `middleware` that the
//! file leaves out take the app's defaults ([`defaults`]) rather than the framework's.

pub mod defaults;
mod sections;
mod split;

use std::path::Path;

use grpckit::config::{
    ClientConfig, ConfigError, EnvOverrides, InvalidValue, LogConfig, MiddlewareConfig, MovedKey,
    ServerConfig, TelemetryConfig, from_yaml_str, from_yaml_value, has_key, read_file, yaml_value,
};
use grpckit::policy::Policies;
use serde::{Deserialize, Serialize};

pub use sections::{
    AuthConfig, DatabaseConfig, EventsConfig, LogisticsConfig, ServiceName, ServicesConfig,
    UnknownService, UserCacheConfig,
};

/// Keys that moved, read under their earlier spelling too (`grpckit server` logs a warning
/// for each one a file still uses).
pub const MOVED_KEYS: [MovedKey; 3] = [
    MovedKey {
        old: "server.services",
        new: "services.serve",
    },
    MovedKey {
        old: "server.user_service",
        new: "services.user_service",
    },
    AUDIT_EXTRA,
];

/// `extra_methods` audited methods "besides the mutating ones": the app's defaults plus them.
const AUDIT_EXTRA: MovedKey = MovedKey {
    old: "middleware.audit.extra_methods",
    new: "middleware.audit.methods",
};

/// The reference server's whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// Listener, HTTP/2 and runtime settings (framework).
    pub server: ServerConfig,
    /// The gRPC client, e.g. OrderService's calls to UserService (framework).
    pub client: ClientConfig,
    /// Logging (framework).
    pub log: LogConfig,
    /// The interceptor chain (framework), with the app's defaults ([`defaults`]).
    pub middleware: MiddlewareConfig,
    /// Metrics and tracing (framework).
    pub telemetry: TelemetryConfig,
    /// Which services this process serves.
    pub services: ServicesConfig,
    /// Storage.
    pub database: DatabaseConfig,
    /// Token issuing and admin bootstrap.
    pub auth: AuthConfig,
    /// Event bus for activity feed, tracking and chat.
    pub events: EventsConfig,
    /// The logistics simulator that moves paid orders along.
    pub logistics: LogisticsConfig,
    /// Earlier key spellings the file used.
    #[serde(skip)]
    moved: Vec<MovedKey>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            client: ClientConfig::default(),
            log: LogConfig::default(),
            middleware: defaults::apply(MiddlewareConfig::default(), |_| false),
            telemetry: TelemetryConfig::default(),
            services: ServicesConfig::default(),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            events: EventsConfig::default(),
            logistics: LogisticsConfig::default(),
            moved: Vec::new(),
        }
    }
}

impl AppConfig {
    /// Parses YAML text into a validated config; an empty text is the defaults.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        Self::from_yaml_with_env(text, &EnvOverrides::default())
    }

    /// Parses YAML text with the keys of nested environment variables merged over it
    /// (defaults < text < `env`), into a validated config. An error that comes from a
    /// variable's value or key names the variable ([`ConfigError::Env`]); one in the text
    /// keeps its line and column.
    pub fn from_yaml_with_env(text: &str, env: &EnvOverrides) -> Result<Self, ConfigError> {
        let mut doc = yaml_value(text)?;
        let mut moved = Vec::new();
        for key in MOVED_KEYS {
            if key.apply(&mut doc)? {
                moved.push(key);
            }
        }
        env.apply(&mut doc)?;
        let given = |key: &str| has_key(&doc, key);
        let mut cfg: Self = if moved.is_empty() && env.is_empty() {
            // Nothing rewritten: read the text itself, for line numbers in errors.
            from_yaml_str(text)?
        } else {
            from_yaml_value(doc.clone()).map_err(|e| match env.attribute(e) {
                e @ ConfigError::Env { .. } => e,
                // The text's own error: read it alone for its line and column.
                e if moved.is_empty() => from_yaml_str::<Self>(text)
                    .err()
                    .filter(|located| located.key() == e.key())
                    .unwrap_or(e),
                e => e,
            })?
        };
        cfg.middleware = defaults::apply(cfg.middleware, given);
        if moved.contains(&AUDIT_EXTRA) {
            let mut methods = defaults::audited_methods();
            methods.append(&mut cfg.middleware.audit.methods);
            cfg.middleware.audit.methods = methods;
        }
        cfg.moved = moved;
        cfg.validate().map_err(|e| env.attribute(e.into()))?;
        Ok(cfg)
    }

    /// Reads and parses a YAML file; errors name the file.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        Self::load_file_with_env(path, &EnvOverrides::default())
    }

    /// Reads and parses a YAML file with nested environment variables over it
    /// ([`AppConfig::from_yaml_with_env`]); errors name the file, or the variable.
    pub fn load_file_with_env(path: &Path, env: &EnvOverrides) -> Result<Self, ConfigError> {
        Self::from_yaml_with_env(&read_file(path)?, env).map_err(|e| e.in_file(path))
    }

    /// The policy in force per method of the reference services: each method's
    /// `grpckit.v1.policy` option, overridden by `middleware.policy` (only methods with an
    /// option or an override). `GET /config` shows it as `effective_policy`; a command that
    /// prints the config can show it the same way, without a running server.
    pub fn effective_policy(&self) -> Policies {
        grpckit::policy::effective_policies(&self.middleware, &[crate::proto::FILE_DESCRIPTOR_SET])
            .table()
    }

    /// The earlier key spellings the loaded file used ([`MOVED_KEYS`]).
    pub fn moved_keys(&self) -> &[MovedKey] {
        &self.moved
    }

    /// Checks rules serde cannot express: the framework's sections, then the app's.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.server.validate()?;
        self.client.validate()?;
        self.middleware.validate()?;
        self.telemetry.validate()?;
        self.log.validate()?;
        if self.services.serve.is_empty() {
            return Err(InvalidValue::new(
                "services.serve",
                "at least one of user, order",
            ));
        }
        if self.services.serve == [ServiceName::Order] && self.services.user_service.is_empty() {
            return Err(InvalidValue::new(
                "services.user_service",
                "required when serving only the order service",
            ));
        }
        self.check_split_mode_key()?;
        let db = &self.database;
        if db.max_connections == 0 {
            return Err(InvalidValue::new(
                "database.max_connections",
                "must be greater than 0",
            ));
        }
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|s| db.url.starts_with(s))
        {
            return Err(InvalidValue::new(
                "database.url",
                format!(
                    "unsupported scheme in '{}' (use sqlite://FILE or postgres://...)",
                    db.url
                ),
            ));
        }
        if self.events.buffer == 0 {
            return Err(InvalidValue::new("events.buffer", "must be greater than 0"));
        }
        if self.logistics.interval.is_zero() {
            return Err(InvalidValue::new(
                "logistics.interval",
                "must be greater than 0",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
