//! Why a configuration was refused: typed, with the key path and, where the YAML parser
//! gives it, the line and column.

use std::path::PathBuf;

/// A value that is out of range or inconsistent with another, with the key that holds it
/// (`server.max_recv_size: must be greater than 0`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct InvalidValue {
    /// The key path, e.g. `server.keep_alive.time` or `client.endpoints[2].weight`.
    pub key: String,
    /// What is wrong with the value.
    pub reason: String,
}

impl InvalidValue {
    /// An invalid value at `key`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// A position in the YAML text (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// Why a configuration could not be loaded. Every variant but [`ConfigError::Read`] names
/// the key it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not YAML.
    #[error("{message}")]
    Syntax {
        /// The parser's message (with the position).
        message: String,
        /// Where, when known.
        location: Option<Location>,
    },
    /// An unknown key, a wrong type or a value that does not parse (a bad duration, an
    /// invalid method pattern).
    #[error("{message}")]
    Key {
        /// The key path (`server.keep_alive.time`, `middleware.auth.roles[1].allow[0]`);
        /// empty for a key at the top level.
        key: String,
        /// The message, naming the key once (and the line and column when known).
        message: String,
        /// Where, when known (a document whose earlier key spellings were rewritten has
        /// no positions).
        location: Option<Location>,
    },
    /// A value out of range or inconsistent with another.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// A key was given under both its earlier and its current spelling.
    #[error(
        "{old} and {new} are the same setting ({old} is its earlier spelling): keep only {new}"
    )]
    Conflict {
        /// The earlier spelling.
        old: String,
        /// The current spelling.
        new: String,
    },
    /// An error in the value of an environment variable, or in the key it names
    /// (`GRPCKIT_SERVER__PORT: server.port: invalid type: ...`).
    #[error("{name}: {error}")]
    Env {
        /// The variable, e.g. `GRPCKIT_SERVER__PORT`.
        name: String,
        /// The error.
        error: Box<ConfigError>,
    },
    /// An error in a file.
    #[error("{}: {error}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// The error.
        error: Box<ConfigError>,
    },
}

impl ConfigError {
    /// The key path the error is about, when it names one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Key { key, .. } => Some(key),
            Self::Invalid(v) => Some(&v.key),
            Self::Conflict { new, .. } => Some(new),
            Self::InFile { error, .. } | Self::Env { error, .. } => error.key(),
            Self::Read { .. } | Self::Syntax { .. } => None,
        }
    }

    /// Where in the text, when known (never for an [`ConfigError::Env`] error).
    pub fn location(&self) -> Option<Location> {
        match self {
            Self::Key { location, .. } | Self::Syntax { location, .. } => *location,
            Self::InFile { error, .. } => error.location(),
            _ => None,
        }
    }

    /// The environment variable the error is about, when it is one.
    pub fn env_var(&self) -> Option<&str> {
        match self {
            Self::Env { name, .. } => Some(name),
            Self::InFile { error, .. } => error.env_var(),
            _ => None,
        }
    }

    /// This error as found in the file `path` (an error of an environment variable stays
    /// as it is).
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            e @ (Self::Read { .. } | Self::Env { .. }) => e,
            e => Self::InFile {
                path: path.into(),
                error: Box::new(e),
            },
        }
    }

    pub(super) fn syntax(e: serde_norway::Error) -> Self {
        Self::Syntax {
            location: e.location().map(|l| Location {
                line: l.line(),
                column: l.column(),
            }),
            message: e.to_string(),
        }
    }

    pub(super) fn from_yaml(e: serde_path_to_error::Error<serde_norway::Error>) -> Self {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let location = inner.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        });
        let text = inner.to_string();
        let key = if key == "." { String::new() } else { key };
        // serde_norway names the key itself for some errors: say it once.
        let message = if key.is_empty() || text.starts_with(&format!("{key}:")) {
            text
        } else {
            format!("{key}: {text}")
        };
        Self::Key {
            key,
            message,
            location,
        }
    }
}
