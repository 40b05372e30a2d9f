//! `GET /debug/pprof/profile?seconds=N`: a CPU profile in pprof format (pprof-rs).

use std::{io::Write, sync::Mutex, time::Duration};

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::DebugAccess;

/// Go's default profile length.
const DEFAULT_SECONDS: u64 = 30;
/// Samples per second (Go's rate is 100; 99 avoids lockstep with periodic work).
const FREQUENCY: i32 = 99;

/// One profile at a time: the profiler is process-wide.
static RUNNING: Mutex<()> = Mutex::new(());

#[derive(Debug, Deserialize)]
pub(super) struct ProfileQuery {
    seconds: Option<u64>,
}

pub(super) async fn profile(
    State(access): State<DebugAccess>,
    headers: HeaderMap,
    Query(q): Query<ProfileQuery>,
) -> Response {
    if let Err(refused) = access.check(&headers) {
        return refused;
    }
    let seconds = q.seconds.unwrap_or(DEFAULT_SECONDS);
    if seconds == 0 || seconds > access.max_profile_seconds {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "seconds must be between 1 and {} (server.debug.max_profile_seconds)\n",
                access.max_profile_seconds
            ),
        )
            .into_response();
    }
    let run = tokio::task::spawn_blocking(move || record(Duration::from_secs(seconds))).await;
    match run {
        Ok(Ok(gz)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"profile.pb.gz\"",
                ),
            ],
            gz,
        )
            .into_response(),
        Ok(Err(ProfileError::Busy)) => (
            StatusCode::CONFLICT,
            "a CPU profile is already being recorded; try again when it is done\n",
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "CPU profile failed");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "CPU profile failed\n").into_response(),
    }
}

#[derive(Debug, thiserror::Error)]
enum ProfileError {
    #[error("a profile is already running")]
    Busy,
    #[error("profiler: {0}")]
    Profiler(#[from] pprof::Error),
    #[error("encoding the profile: {0}")]
    Encode(#[from] std::io::Error),
}

/// Samples the process for `length` (blocking) and returns the gzipped pprof protobuf.
fn record(length: Duration) -> Result<Vec<u8>, ProfileError> {
    let _one = RUNNING.try_lock().map_err(|_| ProfileError::Busy)?;
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(FREQUENCY)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()?;
    std::thread::sleep(length);
    let profile = guard.report().build()?.pprof()?;
    drop(guard);
    let mut raw = Vec::new();
    pprof::protos::Message::encode(&profile, &mut raw)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw)?;
    Ok(gz.finish()?)
}
