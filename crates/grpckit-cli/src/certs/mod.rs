//! `grpckit certs init`: a development PKI in one command, for trying TLS and mutual TLS
//! locally. It writes a CA, a server certificate (SANs `localhost`, `127.0.0.1`, `::1` and
//! every `--san`) and a client certificate whose identity is a SPIFFE URI SAN (the form
//! service meshes use, e.g. `spiffe://grpckit.local/ns/default/sa/client`), keys with mode
//! 0600, then prints the config and the commands that use them.
//!
//! Certificates are made with `rcgen` (ECDSA P-256, SHA-256). They are for development: in
//! production certificates come from your PKI (cert-manager, a mesh); see README.md.

mod generate;
mod output;
mod write;

use std::path::PathBuf;

use clap::{Args, Subcommand};

pub use generate::{DEFAULT_SANS, Pki, generate};
pub use output::instructions;
pub use write::{FILES, write};

/// The client identity written when `--client-id` is not given.
pub const DEFAULT_CLIENT_ID: &str = "spiffe://grpckit.local/ns/default/sa/client";

/// `grpckit certs ...`
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write a development CA, a server and a client certificate, and print the config.
    ///
    /// Files: ca.pem, ca.key, server.pem, server.key, client.pem, client.key (keys 0600).
    /// Existing files are never overwritten unless --force.
    #[command(verbatim_doc_comment)]
    Init(InitArgs),
}

/// `grpckit certs init`
#[derive(Debug, Args, Clone)]
pub struct InitArgs {
    /// Directory to write to (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Extra DNS name or IP address of the server certificate; repeatable. Always included:
    /// localhost, 127.0.0.1, ::1.
    #[arg(long = "san", value_name = "NAME")]
    pub sans: Vec<String>,
    /// URI SAN of the client certificate: its identity.
    #[arg(long, value_name = "URI", default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// Generates and writes the files of `args`; returns what to print.
///
/// # Errors
/// A file exists (without `--force`), a SAN or the client id is invalid, or a write fails.
pub fn init(args: &InitArgs) -> anyhow::Result<String> {
    write::refuse_overwrite(&args.out, args.force)?;
    let pki = generate(&args.sans, &args.client_id)?;
    write(&pki, &args.out, args.force)?;
    let dir = std::fs::canonicalize(&args.out).unwrap_or_else(|_| args.out.clone());
    Ok(instructions(&pki, &dir))
}
