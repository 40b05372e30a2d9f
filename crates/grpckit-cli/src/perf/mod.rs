//! `grpckit perf`: a load tester (a ghz you do not have to install). Closed model (`-c`
//! workers) or open model (`--rps`), bounded by `-n` requests or `-z` duration, over one or
//! more HTTP/2 connections; any method through reflection or `--proto` (`--call`), or by
//! default a realistic mix against the grpckit services. Reports as text, JSON, CSV or HTML.

mod breaker;
mod engine;
mod generic;
mod html;
mod mix;
mod output;
mod report;
mod template;
mod web;

use std::{
    io::IsTerminal,
    path::PathBuf,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use anyhow::Context;
use clap::{Args, ValueEnum};

pub use html::render as render_html;
pub use output::{deliver, exit_code};
pub use report::{Bucket, CSV_HEADER, ErrorCount, Latency, PerfReport};
pub use template::Template;

use self::{
    engine::{Plan, Progress},
    generic::{Generic, GenericLoad, Kind, Payload},
};
use crate::{
    conn::{CallHead, ConnArgs, DirectChannel},
    reflect::{Descriptors, ProtoArgs, method_path},
    session::Session,
};

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable summary and histogram.
    #[default]
    Text,
    /// The full report as JSON.
    Json,
    /// A header line and one summary row.
    Csv,
    /// A self-contained HTML page with SVG charts.
    Html,
}

/// `grpckit perf`
#[derive(Debug, Args, Clone)]
pub struct PerfArgs {
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Descriptor source for --call.
    #[command(flatten)]
    pub proto: ProtoArgs,
    /// Method to load, pkg.Service/Method (default: a mix against the grpckit services).
    #[arg(long)]
    pub call: Option<String>,
    /// Request JSON (inline, @FILE, @- for stdin); may use {{.RequestNumber}}, {{.WorkerID}},
    /// {{.UUID}}, {{.RandomInt}}, {{.RandomString}}, {{.TimestampUnix}}, {{.TimestampUnixNano}}.
    #[arg(short = 'd', long = "data")]
    pub data: Option<String>,
    /// Concurrent workers (in-flight calls).
    #[arg(short = 'c', long, default_value_t = 10)]
    pub concurrency: usize,
    /// Total requests (default 1000 unless -z is given).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Run for this long instead, e.g. 30s (with -n: whichever comes first).
    #[arg(short = 'z', long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Constant request rate (open model; latency counted from the intended send time).
    #[arg(long)]
    pub rps: Option<f64>,
    /// HTTP/2 connections to spread the workers over.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Unrecorded warm-up before measuring, e.g. 2s.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Deadline of each call.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Stop the run after this many calls in a row failed to reach the server (connection
    /// refused, reset, closed); 0 never stops.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_connect_failures: u32,
    /// Messages sent per client/bidi stream (default: the number of messages in -d).
    #[arg(long)]
    pub stream_messages: Option<usize>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Shorthand for --format json.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// No progress bar even on a terminal.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Wire protocol of --call: native gRPC, or a gateway's gRPC-Web, Connect (binary) or
    /// REST (the method's google.api.http binding).
    #[arg(long, value_enum, default_value_t = crate::call::Protocol::Grpc)]
    pub protocol: crate::call::Protocol,
    /// Speak h2c for grpc-web, connect and rest (workers share --connections connections)
    /// instead of one HTTP/1.1 connection per worker.
    #[arg(long)]
    pub http2: bool,
}

impl PerfArgs {
    /// The effective report format.
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }

    fn plan(&self) -> Plan {
        let total = match (self.requests, self.duration) {
            (None, None) => Some(1000),
            (n, _) => n,
        };
        Plan {
            concurrency: self.concurrency,
            total,
            duration: self.duration,
            rps: self.rps,
            warmup: self.warmup,
            max_connect_failures: self.max_connect_failures,
        }
    }
}

/// Renders `r` in `format`.
pub fn render(r: &PerfReport, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Text => r.to_string(),
        Format::Json => serde_json::to_string_pretty(r)? + "\n",
        Format::Csv => r.to_csv(),
        Format::Html => html::render(r),
    })
}

/// Opens `n` connections one after the other with `connect`.
async fn open_n<T, F: Future<Output = anyhow::Result<T>>>(
    n: usize,
    connect: impl Fn() -> F,
) -> anyhow::Result<Vec<T>> {
    anyhow::ensure!(n > 0, "--connections must be at least 1");
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(connect().await?);
    }
    Ok(out)
}

/// Runs the load test and returns the report.
pub async fn run(args: &PerfArgs) -> anyhow::Result<PerfReport> {
    let plan = self::PerfArgs::plan(args);
    let progress = Arc::new(Progress::default());
    let bar = progress_bar(args, &plan, progress.clone());
    let (target, mut outcome) = match &args.call {
        None if args.protocol != crate::call::Protocol::Grpc => {
            anyhow::bail!(
                "--protocol {:?} needs --call pkg.Service/Method",
                args.protocol
            )
        }
        Some(name) if args.protocol != crate::call::Protocol::Grpc => {
            let load = web_load(args, name).await?;
            let m = &load.shape.method;
            let target = format!("{}/{}", m.parent_service().full_name(), m.name());
            (
                target,
                engine::run(&plan, Arc::new(web::WebLoad(Arc::new(load))), progress).await?,
            )
        }
        None => {
            let sessions = open_n(args.connections, || args.conn.connect())
                .await?
                .into_iter()
                .map(|c| Session::with_channel(c, args.timeout))
                .collect();
            let mix = mix::Mix::prepare(sessions).await.context(
                "preparing the default mix (is this a grpckit server? use --call otherwise)",
            )?;
            (
                "mix".to_owned(),
                engine::run(&plan, Arc::new(mix), progress).await?,
            )
        }
        Some(name) => {
            let mut md = args.conn.metadata()?;
            let service = crate::reflect::split_method(name)
                .map(|(s, _)| s.to_owned())
                .with_context(|| format!("{name:?} is not pkg.Service/Method"))?;
            // Reflection (when no --proto is given) on a channel of its own, closed before the
            // load starts; the load runs on bare HTTP/2 connections (`DirectChannel`).
            let reflection = match args.proto.protos.is_empty() {
                true => Some(args.conn.connect().await?),
                false => None,
            };
            let d = Descriptors::load(&args.proto, reflection, &md, &[service], false).await?;
            let chans = open_n(args.connections, || DirectChannel::connect(&args.conn)).await?;
            let m = d.method(name)?;
            let text = crate::call::read_data(args.data.as_deref())?;
            let payload = match Template::parse(&text)? {
                Some(template) => Payload::Templated {
                    template,
                    input: m.input(),
                },
                None => Payload::Fixed(generic::encode_all(&m.input(), &text)?),
            };
            let count = match &payload {
                Payload::Fixed(v) => v.len(),
                Payload::Templated { .. } => 1,
            };
            let kind = match (m.is_client_streaming(), m.is_server_streaming()) {
                (false, false) => Kind::Unary,
                (true, false) => Kind::ClientStream,
                (false, true) => Kind::ServerStream,
                (true, true) => Kind::Bidi,
            };
            // The deadline header, formatted once instead of on every call.
            md.insert(
                "grpc-timeout",
                grpckit::headers::format_grpc_timeout(args.timeout).parse()?,
            );
            let g = Generic {
                channels: chans,
                head: CallHead::new(&args.conn.origin()?, &method_path(&m)?, md.into_headers())?,
                kind,
                payload,
                stream_messages: args.stream_messages.unwrap_or(count),
            };
            (
                format!("{}/{}", m.parent_service().full_name(), m.name()),
                engine::run(&plan, Arc::new(GenericLoad(Arc::new(g))), progress).await?,
            )
        }
    };
    if let Some(b) = bar {
        let _ = b.await;
    }
    outcome.aborted = outcome.aborted.map(|why| {
        format!(
            "{} calls in a row could not reach {}: {why}; the run stopped early \
             (--max-connect-failures)",
            args.max_connect_failures, args.conn.addr
        )
    });
    Ok(PerfReport::new(
        target,
        args.concurrency,
        args.connections,
        args.rps,
        outcome,
    ))
}

/// The target of a `--protocol grpc-web|connect|rest` run.
async fn web_load(args: &PerfArgs, name: &str) -> anyhow::Result<web::WebTarget> {
    let md = args.conn.metadata()?;
    let service = crate::reflect::split_method(name)
        .map(|(s, _)| s.to_owned())
        .with_context(|| format!("{name:?} is not pkg.Service/Method"))?;
    let reflection = match args.proto.protos.is_empty() {
        true => Some(args.conn.connect().await?),
        false => None,
    };
    let d = Descriptors::load(&args.proto, reflection, &md, &[service], false).await?;
    let m = d.method(name)?;
    let text = crate::call::read_data(args.data.as_deref())?;
    let template = Template::parse(&text)?;
    let msgs = match &template {
        Some(_) => Vec::new(),
        None => crate::call::parse_messages(&m.input(), &text)?,
    };
    let h2 = args.http2 || args.conn.origin()?.scheme_str() == Some("https");
    let shared = match h2 {
        true => {
            open_n(args.connections, || {
                crate::conn::HttpConn::connect(&args.conn, true)
            })
            .await?
        }
        false => Vec::new(),
    };
    let shape = web::Shape {
        protocol: args.protocol,
        method: m,
        stream_messages: args.stream_messages.unwrap_or(msgs.len().max(1)),
        timeout: args.timeout,
    };
    let payload = match template {
        Some(t) => web::WebPayload::Templated(t),
        None => web::WebPayload::Fixed(shape.request(msgs)?),
    };
    Ok(web::WebTarget {
        conn: args.conn.clone(),
        http2: args.http2,
        shape,
        payload,
        shared,
    })
}

fn progress_bar(
    args: &PerfArgs,
    plan: &Plan,
    p: Arc<Progress>,
) -> Option<tokio::task::JoinHandle<()>> {
    if args.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match plan.total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec}",
    ) {
        bar.set_style(style);
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while !p.finished.load(Ordering::Relaxed) {
            tick.tick().await;
            bar.set_position(p.done.load(Ordering::Relaxed));
        }
        bar.finish_and_clear();
    }))
}
