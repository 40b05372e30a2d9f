//! `grpckit config default`: the default config file, commented. The values are
//! `AppConfig::default()` serialized by the loader's own YAML crate, so the file cannot drift
//! from the types; the comments come from [`comments::COMMENTS`], one per key (a test fails
//! when a key has none or an entry names no key).

mod comments;

use grpckit_services::config::AppConfig;

/// Widest comment line (including indentation and `# `).
const WIDTH: usize = 96;

/// The file's opening lines.
const HEADER: &str = "\
# grpckit configuration: every key with its default value (`grpckit config default`).
# Every key is optional: a file holds only what differs from these defaults. Each key below
# a section can also be set by the environment variable named under its comment (`env:`,
# levels separated by `__`, the value as YAML: GRPCKIT_SERVER__PORT=9090,
# GRPCKIT_SERVER__KEEP_ALIVE__TIME=30s), which overrides the file; flags and their flat
# variables (GRPCKIT_LISTEN, `grpckit server --help`) override both. Check a file with
# `grpckit config check FILE`; `grpckit config print` shows the effective config.
";

/// The commented default config file.
///
/// # Errors
/// Serialization failed (a type that cannot be written as YAML).
pub fn default_yaml() -> anyhow::Result<String> {
    let plain = serde_norway::to_string(&AppConfig::default())?;
    Ok(commented(&plain))
}

/// The comment of a key path such as `server.port`.
fn comment(path: &str) -> Option<&'static str> {
    comments::COMMENTS
        .iter()
        .find(|(key, _)| *key == path)
        .map(|(_, text)| *text)
}

/// `plain` with each mapping key preceded by its comment and a blank line between the
/// top-level sections. Keys inside sequences are left as they are.
fn commented(plain: &str) -> String {
    let mut out = String::from(HEADER);
    let mut stack: Vec<(usize, &str)> = Vec::new();
    for line in plain.lines() {
        let body = line.trim_start();
        let indent = line.len() - body.len();
        let key = body
            .split_once(':')
            .map(|(k, _)| k)
            .filter(|k| !body.starts_with('-') && is_plain_key(k));
        if let Some(key) = key {
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            stack.push((indent, key));
            let path: Vec<&str> = stack.iter().map(|(_, k)| *k).collect();
            if indent == 0 {
                out.push('\n');
            }
            let path = path.join(".");
            if let Some(text) = comment(&path) {
                for l in wrap(text, WIDTH.saturating_sub(indent + 2).max(40)) {
                    out.push_str(&format!("{:indent$}# {l}\n", ""));
                }
            }
            if path.contains('.') {
                let var = crate::layers::ENV.var_name(&path);
                out.push_str(&format!("{:indent$}# env: {var}\n", ""));
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A key as serde writes a field name.
fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Greedy word wrap at `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line at least");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key path of a YAML value (mappings only; sequences are values).
    fn key_paths(v: &serde_norway::Value, prefix: &str, out: &mut Vec<String>) {
        if let serde_norway::Value::Mapping(m) = v {
            for (k, v) in m {
                let k = k.as_str().expect("string keys");
                let path = if prefix.is_empty() {
                    k.to_owned()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(path.clone());
                key_paths(v, &path, out);
            }
        }
    }

    #[test]
    fn the_default_file_loads_back_to_exactly_the_defaults() {
        let text = default_yaml().unwrap();
        let loaded = AppConfig::from_yaml(&text).unwrap();
        assert_eq!(loaded, AppConfig::default());
        assert!(loaded.moved_keys().is_empty());
        assert!(
            text.contains(
                "# gRPC port. Default `9090`.\n  # env: GRPCKIT_SERVER__PORT\n  port: 9090\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn every_key_has_a_comment_and_every_comment_a_key() {
        let value = serde_norway::to_value(AppConfig::default()).unwrap();
        let mut paths = Vec::new();
        key_paths(&value, "", &mut paths);
        let missing: Vec<&String> = paths.iter().filter(|p| comment(p).is_none()).collect();
        assert!(
            missing.is_empty(),
            "add these keys to crates/grpckit-cli/src/config_default/comments.rs: {missing:?}"
        );
        let stale: Vec<&str> = comments::COMMENTS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| !paths.iter().any(|p| p == k))
            .collect();
        assert!(
            stale.is_empty(),
            "comments of keys that do not exist: {stale:?}"
        );
        let text = default_yaml().unwrap();
        let comment_lines = text
            .lines()
            .filter(|l| l.trim_start().starts_with("# "))
            .count();
        assert!(comment_lines >= paths.len(), "{text}");
    }

    #[test]
    fn every_key_below_a_section_names_its_variable() {
        let text = default_yaml().unwrap();
        let value = serde_norway::to_value(AppConfig::default()).unwrap();
        let mut paths = Vec::new();
        key_paths(&value, "", &mut paths);
        let nested: Vec<&String> = paths.iter().filter(|p| p.contains('.')).collect();
        assert!(nested.len() > 100);
        for path in nested {
            let var = crate::layers::ENV.var_name(path);
            assert!(text.contains(&format!("# env: {var}\n")), "{var}");
        }
        assert!(
            text.contains(
                "  # gRPC port. Default `9090`.\n  # env: GRPCKIT_SERVER__PORT\n  port: 9090\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("a-very-long-word x", 4), ["a-very-long-word", "x"]);
    }
}
