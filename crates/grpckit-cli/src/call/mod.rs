//! `grpckit call|list|describe`: a grpcurl you do not have to install. Requests and replies
//! are proto3 JSON; descriptors come from server reflection or `--proto` files.
//!
//! Exit codes: 0 OK; `64 + code` when the server answers with a non-OK gRPC status (e.g. 69 for
//! NOT_FOUND = 5, 68 for DEADLINE_EXCEEDED = 4, 80 for UNAUTHENTICATED = 16); 1 for local
//! errors (bad input, unreachable server, unknown symbol); 2 for command-line usage errors.

mod details;
mod input;
pub mod web;

use std::io::Write;

use anyhow::Context;
use clap::Args;
use prost_reflect::{DynamicMessage, MethodDescriptor, SerializeOptions};
use tokio_stream::StreamExt;
use tonic::{Request, Status, client::Grpc, metadata::MetadataMap, transport::Channel};

pub use details::format_details;
pub use input::{parse_messages, read_data};
pub use web::Protocol;

use crate::{
    conn::ConnArgs,
    reflect::{Descriptors, DynamicCodec, ProtoArgs, describe, method_path},
};

/// Exit code for a gRPC status code: `64 + code` (0 stays 0).
pub fn exit_code(code: tonic::Code) -> u8 {
    match code as i32 {
        0 => 0,
        c => 64 + c as u8,
    }
}

/// `grpckit call`
#[derive(Debug, Args, Clone)]
pub struct CallArgs {
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Descriptor source.
    #[command(flatten)]
    pub proto: ProtoArgs,
    /// Method: pkg.Service/Method.
    pub method: String,
    /// Request JSON: inline, @FILE, or @- for stdin. Several JSON objects (or a JSON array)
    /// are sent in order on client/bidi streams. Default `{}`.
    #[arg(short = 'd', long = "data")]
    pub data: Option<String>,
    /// Deadline of the call, e.g. 5s.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub deadline: Option<std::time::Duration>,
    /// Print fields with default values too.
    #[arg(long)]
    pub emit_defaults: bool,
    /// Print response headers and trailers to stderr; on a failed call, its metadata and
    /// local cause too.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Wire protocol: native gRPC, gRPC-Web (binary), Connect (JSON) or REST (the method's
    /// google.api.http binding). Descriptors still come from reflection (or --proto).
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    pub protocol: Protocol,
    /// Speak h2c (HTTP/2 without TLS) for grpc-web, connect and rest instead of HTTP/1.1.
    #[arg(long)]
    pub http2: bool,
}

/// `grpckit list`
#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Descriptor source.
    #[command(flatten)]
    pub proto: ProtoArgs,
    /// List the methods of this service instead of all services.
    pub service: Option<String>,
}

/// `grpckit describe`
#[derive(Debug, Args, Clone)]
pub struct DescribeArgs {
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Descriptor source.
    #[command(flatten)]
    pub proto: ProtoArgs,
    /// Service, method (pkg.Service/Method), message or enum; all services when omitted.
    pub symbol: Option<String>,
}

/// What a call produced.
#[derive(Debug)]
pub struct CallOutcome {
    /// Replies as proto3 JSON.
    pub replies: Vec<String>,
    /// Final status (`None` = OK).
    pub error: Option<Status>,
}

impl CallOutcome {
    /// Process exit code per [`exit_code`].
    pub fn exit_code(&self) -> u8 {
        self.error.as_ref().map_or(0, |s| exit_code(s.code()))
    }
}

async fn channel_if_needed(
    conn: &ConnArgs,
    proto: &ProtoArgs,
    always: bool,
) -> anyhow::Result<Option<Channel>> {
    if always || proto.protos.is_empty() {
        Ok(Some(conn.connect().await?))
    } else {
        Ok(None)
    }
}

/// Runs `list`, writing one name per line, sorted.
pub async fn list(args: &ListArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let md = args.conn.metadata()?;
    let ch = channel_if_needed(&args.conn, &args.proto, false).await?;
    let symbols: Vec<String> = args.service.iter().cloned().collect();
    let d = Descriptors::load(&args.proto, ch, &md, &symbols, false).await?;
    let mut names: Vec<String> = match &args.service {
        None => d.services.clone(),
        Some(name) => {
            let svc = d
                .pool
                .get_service_by_name(name)
                .with_context(|| format!("service {name:?} not found"))?;
            svc.methods()
                .map(|m| format!("{}.{}", svc.full_name(), m.name()))
                .collect()
        }
    };
    names.sort();
    names.dedup();
    for n in names {
        writeln!(out, "{n}")?;
    }
    Ok(())
}

/// Runs `describe`, writing proto text.
pub async fn describe_cmd(args: &DescribeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let md = args.conn.metadata()?;
    let ch = channel_if_needed(&args.conn, &args.proto, false).await?;
    let symbols: Vec<String> = args.symbol.iter().cloned().collect();
    let d = Descriptors::load(&args.proto, ch, &md, &symbols, args.symbol.is_none()).await?;
    let targets = match &args.symbol {
        Some(s) => vec![s.clone()],
        None => d.services.clone(),
    };
    for t in targets {
        let text = describe(&d.pool, &t).with_context(|| format!("symbol {t:?} not found"))?;
        write!(out, "{text}")?;
    }
    Ok(())
}

/// Runs `call`: resolves the method, sends the messages, writes each reply as JSON.
pub async fn call(args: &CallArgs, out: &mut dyn Write) -> anyhow::Result<CallOutcome> {
    let md = args.conn.metadata()?;
    let web = args.protocol != Protocol::Grpc;
    let ch = channel_if_needed(&args.conn, &args.proto, !web).await?;
    let service = crate::reflect::split_method(&args.method)
        .map(|(s, _)| s.to_owned())
        .with_context(|| format!("{:?} is not pkg.Service/Method", args.method))?;
    let d = Descriptors::load(&args.proto, ch.clone(), &md, &[service], false).await?;
    let m = d.method(&args.method)?;
    let text = read_data(args.data.as_deref())?;
    let msgs = parse_messages(&m.input(), &text)?;
    if !m.is_client_streaming() && msgs.len() != 1 {
        anyhow::bail!(
            "{} takes exactly one request message, got {}",
            args.method,
            msgs.len()
        );
    }
    let opts = SerializeOptions::new().skip_default_fields(!args.emit_defaults);
    let outcome = match ch {
        Some(ch) if !web => invoke(ch, &m, msgs, md, args.deadline, args.verbose, &opts).await?,
        _ => web::invoke(args, &m, &msgs, &opts).await?,
    };
    for r in &outcome.replies {
        writeln!(out, "{r}")?;
    }
    Ok(outcome)
}

fn to_json(msg: &DynamicMessage, opts: &SerializeOptions) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut buf);
    msg.serialize_with_options(&mut ser, opts)?;
    Ok(String::from_utf8(buf)?)
}

/// Sends `msgs` to method `m` over `ch` and collects the replies as JSON.
pub async fn invoke(
    ch: Channel,
    m: &MethodDescriptor,
    msgs: Vec<DynamicMessage>,
    md: MetadataMap,
    deadline: Option<std::time::Duration>,
    verbose: bool,
    opts: &SerializeOptions,
) -> anyhow::Result<CallOutcome> {
    let mut grpc = Grpc::new(ch);
    grpc.ready().await.context("channel not ready")?;
    let path = method_path(m)?;
    let codec = DynamicCodec::new(m.output());
    let wrap = |r: &mut MetadataMap| *r = md.clone();
    let mut replies = Vec::new();
    let res: Result<(MetadataMap, Option<MetadataMap>), Status> =
        match (m.is_client_streaming(), m.is_server_streaming()) {
            (false, false) => {
                let mut req = Request::new(
                    msgs.into_iter()
                        .next()
                        .unwrap_or_else(|| DynamicMessage::new(m.input())),
                );
                wrap(req.metadata_mut());
                set_deadline(&mut req, deadline);
                grpc.unary(req, path, codec).await.and_then(|r| {
                    let (h, msg, _) = r.into_parts();
                    replies.push(to_json(&msg, opts).map_err(|e| Status::internal(e.to_string()))?);
                    Ok((h, None))
                })
            }
            (true, false) => {
                let mut req = Request::new(tokio_stream::iter(msgs));
                wrap(req.metadata_mut());
                set_deadline(&mut req, deadline);
                grpc.client_streaming(req, path, codec).await.and_then(|r| {
                    let (h, msg, _) = r.into_parts();
                    replies.push(to_json(&msg, opts).map_err(|e| Status::internal(e.to_string()))?);
                    Ok((h, None))
                })
            }
            (cs, true) => {
                let resp = if cs {
                    let mut req = Request::new(tokio_stream::iter(msgs));
                    wrap(req.metadata_mut());
                    set_deadline(&mut req, deadline);
                    grpc.streaming(req, path, codec).await
                } else {
                    let mut req = Request::new(
                        msgs.into_iter()
                            .next()
                            .unwrap_or_else(|| DynamicMessage::new(m.input())),
                    );
                    wrap(req.metadata_mut());
                    set_deadline(&mut req, deadline);
                    grpc.server_streaming(req, path, codec).await
                };
                match resp {
                    Err(s) => Err(s),
                    Ok(r) => {
                        let (h, mut stream, _) = r.into_parts();
                        let mut res = Ok(());
                        while let Some(item) = stream.next().await {
                            match item {
                                Ok(msg) => replies.push(to_json(&msg, opts)?),
                                Err(s) => {
                                    res = Err(s);
                                    break;
                                }
                            }
                        }
                        match res {
                            Ok(()) => stream.trailers().await.map(|t| (h, t)),
                            Err(s) => Err(s),
                        }
                    }
                }
            }
        };
    match res {
        Ok((headers, trailers)) => {
            if verbose {
                eprintln!("response headers: {:?}", headers.into_headers());
                if let Some(t) = trailers {
                    eprintln!("response trailers: {:?}", t.into_headers());
                }
            }
            Ok(CallOutcome {
                replies,
                error: None,
            })
        }
        Err(s) => Ok(CallOutcome {
            replies,
            error: Some(s),
        }),
    }
}

fn set_deadline<T>(req: &mut Request<T>, d: Option<std::time::Duration>) {
    if let Some(d) = d {
        req.set_timeout(d);
    }
}

/// Formats a non-OK status the way `call` prints it on stderr: code, message and the decoded
/// `google.rpc` details; `verbose` adds the reply's metadata and the local cause (e.g. the
/// connection error) when there is one.
pub fn format_status(s: &Status, verbose: bool) -> String {
    let mut t = format!(
        "ERROR:\n  Code: {}\n  Message: {}\n",
        grpckit::error::code_name(s.code()),
        s.message()
    );
    t.push_str(&format_details(s));
    if verbose {
        let mut meta: Vec<String> = s
            .metadata()
            .clone()
            .into_headers()
            .iter()
            .filter(|(k, _)| k.as_str() != "grpc-status-details-bin")
            .map(|(k, v)| format!("    {k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        meta.sort();
        if !meta.is_empty() {
            t.push_str("  Metadata:\n");
            t.extend(meta);
        }
        let mut cause = std::error::Error::source(s);
        while let Some(e) = cause {
            t.push_str(&format!("  Caused by: {e}\n"));
            cause = e.source();
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(tonic::Code::Ok), 0);
        assert_eq!(exit_code(tonic::Code::NotFound), 69);
        assert_eq!(exit_code(tonic::Code::Unauthenticated), 80);
    }
}
