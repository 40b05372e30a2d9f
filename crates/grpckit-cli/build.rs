//! Stamps the binary with its git revision and build profile for `grpckit --version`.
//! `GRPCKIT_GIT_REV` set at build time wins (for builds without `.git`, e.g. in a container);
//! otherwise `git rev-parse --short HEAD`, or `unknown` when git or the repository is absent
//! (a crate tarball).

use std::{path::Path, process::Command};

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GRPCKIT_GIT_REV");
    let rev = std::env::var("GRPCKIT_GIT_REV")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // Re-run when HEAD moves: HEAD itself (branch switches) and the branch it points at
    // (commits). Only existing files: cargo re-runs on every build for a missing one.
    let mut watched = vec!["HEAD".to_owned()];
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(r);
    }
    watched.push("packed-refs".to_owned());
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rustc-env=GRPCKIT_GIT_REV={rev}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=GRPCKIT_BUILD_PROFILE={profile}");
}
