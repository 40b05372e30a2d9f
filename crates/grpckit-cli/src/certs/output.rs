//! What `grpckit certs init` prints: where the files are, the config that uses them and the
//! commands to try them.

use std::{fmt::Write, path::Path};

use super::Pki;

/// The text printed after the files are written; paths are those in `dir`.
pub fn instructions(pki: &Pki, dir: &Path) -> String {
    let p = |f: &str| dir.join(f).display().to_string();
    let (ca, server, server_key, client, client_key) = (
        p("ca.pem"),
        p("server.pem"),
        p("server.key"),
        p("client.pem"),
        p("client.key"),
    );
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Wrote a development CA and certificates to {}:",
        dir.display()
    );
    let _ = writeln!(s, "  ca.pem, ca.key          the CA (keep ca.key private)");
    let _ = writeln!(
        s,
        "  server.pem, server.key  server, SANs: {}",
        pki.server_sans.join(", ")
    );
    let _ = writeln!(
        s,
        "  client.pem, client.key  client, identity: {}",
        pki.client_id
    );
    let _ = writeln!(s, "Keys are mode 0600. For development only.\n");
    let _ = writeln!(
        s,
        "Config (server side: server.tls; client side, e.g. OrderService -> UserService: client.tls):\n"
    );
    let _ = writeln!(s, "server:");
    let _ = writeln!(s, "  enable_tls: true");
    let _ = writeln!(s, "  tls:");
    let _ = writeln!(s, "    cert_file: {server}");
    let _ = writeln!(s, "    key_file: {server_key}");
    let _ = writeln!(s, "    client_ca_file: {ca}");
    let _ = writeln!(s, "    client_auth: required");
    let _ = writeln!(s, "client:");
    let _ = writeln!(s, "  tls:");
    let _ = writeln!(s, "    ca_file: {ca}");
    let _ = writeln!(s, "    cert_file: {client}");
    let _ = writeln!(s, "    key_file: {client_key}");
    let _ = writeln!(s, "\nTry it (server on localhost:9090):\n");
    let _ = writeln!(
        s,
        "  grpckit list --addr localhost:9090 --cacert {ca} --cert {client} --key {client_key}"
    );
    let _ = writeln!(
        s,
        "  grpcurl -cacert {ca} -cert {client} -key {client_key} localhost:9090 list"
    );
    s
}
