//! `grpckit certs init` as a user runs it: the six files, keys 0600, certificates that parse
//! with the names and identity asked for, the config printed, and no overwriting without
//! `--force`.

use std::{os::unix::fs::PermissionsExt, path::Path, process::Command};

use x509_parser::{extensions::GeneralName, pem::parse_x509_pem};

fn grpckit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_grpckit"))
        .args(args)
        .output()
        .expect("run grpckit")
}

/// The SANs of the PEM certificate in `path`, as text (`DNS:x`, `IP:x`, `URI:x`).
fn sans(path: &Path) -> Vec<String> {
    let pem = std::fs::read(path).expect("read cert");
    let (_, pem) = parse_x509_pem(&pem).expect("PEM");
    let cert = pem.parse_x509().expect("X.509");
    let ext = cert
        .subject_alternative_name()
        .expect("SAN extension parses")
        .expect("SAN extension present");
    ext.value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::URI(u) => format!("URI:{u}"),
            GeneralName::IPAddress(b) => match b.len() {
                4 => format!(
                    "IP:{}",
                    std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap())
                ),
                16 => format!(
                    "IP:{}",
                    std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap())
                ),
                _ => "IP:?".into(),
            },
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn init_writes_a_usable_pki_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("certs");
    let dir = out.to_str().unwrap();
    let id = "spiffe://example.org/ns/prod/sa/order";
    let run = grpckit(&[
        "certs",
        "init",
        "--out",
        dir,
        "--san",
        "users.internal",
        "--san",
        "10.1.2.3",
        "--client-id",
        id,
    ]);
    assert!(run.status.success(), "{run:?}");
    let text = String::from_utf8_lossy(&run.stdout);
    for f in grpckit_cli::certs::FILES {
        let p = out.join(f);
        let mode = std::fs::metadata(&p).expect("written").permissions().mode() & 0o777;
        if f.ends_with(".key") {
            assert_eq!(mode, 0o600, "{f}");
            let key = std::fs::read_to_string(&p).unwrap();
            assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{f}");
        }
    }
    assert_eq!(
        sans(&out.join("server.pem")),
        [
            "DNS:localhost",
            "IP:127.0.0.1",
            "IP:::1",
            "DNS:users.internal",
            "IP:10.1.2.3"
        ]
    );
    assert_eq!(sans(&out.join("client.pem")), [format!("URI:{id}")]);
    let ca = std::fs::read(out.join("ca.pem")).unwrap();
    let (_, ca) = parse_x509_pem(&ca).unwrap();
    assert!(ca.parse_x509().unwrap().is_ca());
    for needle in [
        "enable_tls: true",
        "client_ca_file:",
        "ca_file:",
        "grpcurl -cacert",
        "--cert",
        id,
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }

    // Again: refused, files untouched; --force replaces them.
    let before = std::fs::read(out.join("client.pem")).unwrap();
    let again = grpckit(&["certs", "init", "--out", dir]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("refusing to overwrite") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("client.pem")).unwrap(), before);
    std::fs::set_permissions(
        out.join("server.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let forced = grpckit(&["certs", "init", "--out", dir, "--force"]);
    assert!(forced.status.success(), "{forced:?}");
    assert_ne!(std::fs::read(out.join("client.pem")).unwrap(), before);
    let mode = std::fs::metadata(out.join("server.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
