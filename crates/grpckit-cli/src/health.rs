//! `grpckit health`: one `grpc.health.v1.Health/Check` call, as a container health check or
//! a probe script uses it (like `grpc_health_probe`). Exit status 0 when the answer is
//! `SERVING`, 1 otherwise (not serving, unknown service, no answer in time).

use std::time::Duration;

use clap::Args;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::conn::ConnArgs;

/// `grpckit health`
#[derive(Debug, Args, Clone)]
pub struct HealthArgs {
    /// Connection options (`--addr`, TLS, `-H` metadata).
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The health service name to check; empty (the default) is the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
    /// Time allowed for connecting and the answer together.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthOutcome {
    /// The server answered with this status.
    Status(ServingStatus),
    /// No status: the reason (connection refused, timeout, unknown service, ...).
    Failed(String),
}

impl HealthOutcome {
    /// 0 for `SERVING`, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(*self != Self::Status(ServingStatus::Serving))
    }

    /// One line for the terminal: `ADDR SERVICE: STATUS` or what went wrong.
    pub fn message(&self, args: &HealthArgs) -> String {
        let what = if args.service.is_empty() {
            args.conn.addr.clone()
        } else {
            format!("{} {}", args.conn.addr, args.service)
        };
        match self {
            Self::Status(s) => format!("{what}: {}", s.as_str_name()),
            Self::Failed(why) => format!("{what}: health check failed: {why}"),
        }
    }
}

/// Connects and asks once, within `--timeout`.
pub async fn check(args: &HealthArgs) -> HealthOutcome {
    let ask = async {
        let channel = args.conn.connect().await.map_err(|e| format!("{e:#}"))?;
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: args.service.clone(),
        });
        *request.metadata_mut() = args.conn.metadata().map_err(|e| format!("{e:#}"))?;
        let answer = HealthClient::new(channel)
            .check(request)
            .await
            .map_err(|s| match s.code() {
                tonic::Code::NotFound => format!("unknown service {:?}", args.service),
                code => format!("{code:?}: {}", s.message()),
            })?;
        Ok::<_, String>(
            ServingStatus::try_from(answer.into_inner().status).unwrap_or(ServingStatus::Unknown),
        )
    };
    match tokio::time::timeout(args.timeout, ask).await {
        Ok(Ok(status)) => HealthOutcome::Status(status),
        Ok(Err(why)) => HealthOutcome::Failed(why),
        Err(_) => HealthOutcome::Failed(format!(
            "no answer within {}",
            humantime::format_duration(args.timeout)
        )),
    }
}
