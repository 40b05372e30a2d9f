//! `grpckit openapi`: the OpenAPI 3.1 document of the reference services' REST bindings,
//! offline (from the descriptors built into the binary), as `grpckit server` serves it at
//! `GET /openapi.json` with its default settings.

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use clap::Args;
use grpckit::bridge::{OpenApiOptions, openapi_document};
use grpckit_services::config::AppConfig;

/// `grpckit openapi`
#[derive(Debug, Args, Clone, Default)]
pub struct OpenapiArgs {
    /// Write the document to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The document as `grpckit server` serves it by default: the methods public in the
/// default config and the `.proto` policies (`Login`, `CreateUser`) without security, every
/// other operation behind the bearer-token or API-key scheme.
pub fn document() -> serde_json::Value {
    let sets = [grpckit_services::proto::FILE_DESCRIPTOR_SET];
    let middleware = grpckit::policy::effective_config(&AppConfig::default().middleware, &sets);
    let opts = OpenApiOptions {
        public_methods: middleware.auth.public_methods,
        ..OpenApiOptions::default()
    };
    openapi_document(&sets, &opts)
}

/// Runs `openapi`: writes the pretty-printed document to `--out` or `out`.
pub fn run(args: &OpenapiArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(&document())?;
    text.push(b'\n');
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => out.write_all(&text).context("cannot write the document"),
    }
}
