//! One direct connection before the pool is built. A pool retries a failing connect until
//! its acquire timeout and then reports only "pool timed out"; this probe fails at once with
//! the real cause (connection refused, bad password, missing directory) and names the
//! address or file.

use std::{str::FromStr, time::Duration};

use sqlx::{AnyConnection, Connection};

use crate::ServiceError;

/// Longest the probe waits (a filtered port never answers).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What `url` points at, for error messages: `PostgreSQL at HOST:PORT` or `SQLite file PATH`.
pub(super) fn describe(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return match sqlx::sqlite::SqliteConnectOptions::from_str(url) {
            Ok(o) => format!("SQLite file {}", o.get_filename().display()),
            Err(_) => format!("SQLite database {url}"),
        };
    }
    match sqlx::postgres::PgConnectOptions::from_str(url) {
        Ok(o) => format!("PostgreSQL at {}:{}", o.get_host(), o.get_port()),
        Err(_) => "PostgreSQL".to_owned(),
    }
}

/// Opens and closes one connection to `url` (already normalized, e.g. SQLite `mode=rwc`).
pub(super) async fn probe(url: &str) -> Result<(), ServiceError> {
    let open = |source| ServiceError::Open {
        target: describe(url),
        source,
    };
    let conn = tokio::time::timeout(PROBE_TIMEOUT, AnyConnection::connect(url))
        .await
        .map_err(|_| {
            open(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {PROBE_TIMEOUT:?}"),
            )))
        })?
        .map_err(open)?;
    conn.close().await.map_err(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_address_or_the_file() {
        assert_eq!(
            describe("postgres://u:pw@db.local:6543/app"),
            "PostgreSQL at db.local:6543"
        );
        assert_eq!(
            describe("sqlite:///no/such/dir/x.db?mode=rwc"),
            "SQLite file /no/such/dir/x.db"
        );
    }
}
