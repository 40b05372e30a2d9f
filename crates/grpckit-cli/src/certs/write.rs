//! Writing the files: never over existing ones unless `--force`, keys readable by their
//! owner only (mode 0600, set when the file is created so it is never briefly wider).

use std::{
    fs::OpenOptions,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::Context;

use super::Pki;

/// The files written, in order: CA, server and client certificate and key.
pub const FILES: [&str; 6] = [
    "ca.pem",
    "ca.key",
    "server.pem",
    "server.key",
    "client.pem",
    "client.key",
];

/// Fails, naming them, when any of the files exists in `dir` and `force` is off; checked
/// before anything is written, so a refused run leaves the directory as it was.
pub(super) fn refuse_overwrite(dir: &Path, force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    let existing: Vec<PathBuf> = FILES
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() {
        let list: Vec<String> = existing.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!(
            "refusing to overwrite {} (use --force to replace them)",
            list.join(", ")
        );
    }
    Ok(())
}

/// Writes the six files of `pki` into `dir` (created if missing).
///
/// # Errors
/// A file exists and `force` is off, or a write fails.
pub fn write(pki: &Pki, dir: &Path, force: bool) -> anyhow::Result<()> {
    refuse_overwrite(dir, force)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let contents = [
        &pki.ca_cert,
        &pki.ca_key,
        &pki.server_cert,
        &pki.server_key,
        &pki.client_cert,
        &pki.client_key,
    ];
    for (name, text) in FILES.iter().zip(contents) {
        let mode = if name.ends_with(".key") { 0o600 } else { 0o644 };
        write_file(&dir.join(name), text, mode, force)?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str, mode: u32, force: bool) -> anyhow::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).mode(mode);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // An existing file keeps its old mode when opened: set it.
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
