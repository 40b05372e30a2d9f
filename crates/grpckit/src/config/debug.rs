//! `server.debug:` the debug endpoints of the admin port (CPU profile, runtime task counts,
//! open connections), off unless enabled and only for an authenticated admin.

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// `server.debug:` `GET /debug/pprof/profile?seconds=N` (a CPU profile in pprof format,
/// gzipped, as Go's `net/http/pprof`), `GET /debug/tasks` (tokio runtime task counts) and
/// `GET /debug/connections` (the gRPC port's open connections: peer, protocol, age, streams,
/// bytes) on the admin port. Every request needs the credentials of the gRPC port (a bearer
/// token or an `x-api-key`) whose principal has `role`; the gRPC port's auth must be on.
/// Changing it needs a restart.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DebugConfig {
    /// Serve the debug endpoints. Default `false`.
    pub enabled: bool,
    /// The role a caller needs. Default `admin`.
    pub role: String,
    /// The longest CPU profile a request may ask for, in seconds. Default `60`.
    pub max_profile_seconds: u64,
}

impl Default for DebugConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            role: "admin".into(),
            max_profile_seconds: 60,
        }
    }
}

impl DebugConfig {
    /// A role is named and a profile can last at least a second.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.role.trim().is_empty() {
            return Err(InvalidValue::new(
                "server.debug.role",
                "must name a role, e.g. admin",
            ));
        }
        if self.max_profile_seconds == 0 {
            return Err(InvalidValue::new(
                "server.debug.max_profile_seconds",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
