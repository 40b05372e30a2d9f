//! Which key each line of a YAML text holds, by indentation: enough for config files
//! (block mappings; a flow mapping's keys are on the line of its key; keys inside lists are
//! not followed).

/// For each line of `text`, the dotted path of the mapping key it starts with, if any.
pub(super) fn line_paths(text: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    // The indentation of the list being read: its lines, and deeper ones, hold no key.
    let mut list: Option<usize> = None;
    for line in text.lines() {
        let body = line.trim_start();
        let indent = line.len() - body.len();
        if body.is_empty() || body.starts_with('#') || body.starts_with("---") {
            out.push(None);
            continue;
        }
        if let Some(l) = list {
            if indent > l || (indent == l && body.starts_with('-')) {
                out.push(None);
                continue;
            }
            list = None;
        }
        if body.starts_with("- ") || body == "-" {
            list = Some(indent);
            out.push(None);
            continue;
        }
        let Some(key) = key_of(body) else {
            out.push(None);
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        let path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        out.push(Some(path.join(".")));
    }
    out
}

/// Each key path of `text` with its line (from 1), first occurrence.
pub(super) fn key_lines(text: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for (i, path) in line_paths(text).into_iter().enumerate() {
        if let Some(path) = path
            && !out.iter().any(|(p, _)| *p == path)
        {
            out.push((path, i + 1));
        }
    }
    out
}

/// The key a line starts with (`port: 1`, `server:`, `"port": 1`), unquoted.
fn key_of(body: &str) -> Option<String> {
    let end = body
        .char_indices()
        .find(|&(i, c)| c == ':' && body[i + 1..].chars().next().is_none_or(char::is_whitespace))
        .map(|(i, _)| i)?;
    let key = body[..end].trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    let plain = !key.is_empty() && !key.starts_with(['{', '[', '&', '*', '!', '?', '|', '>']);
    plain.then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_keys_get_their_lines() {
        let text = "\
# comment
server:
  port: 9090   # inline comment
  keep_alive: { time: 60s }

  tls:
    cert_file: \"a: b.pem\"
\"log\":
  level: info
middleware:
  auth:
    roles:
    - role: a
      allow: [x]
    - role: b
    public_methods:
      - a
      - b
    enabled: true
";
        let lines = key_lines(text);
        let line = |k: &str| lines.iter().find(|(p, _)| p == k).map(|(_, l)| *l);
        assert_eq!(line("server"), Some(2));
        assert_eq!(line("server.port"), Some(3));
        assert_eq!(line("server.keep_alive"), Some(4));
        assert_eq!(
            line("server.keep_alive.time"),
            None,
            "inside a flow mapping"
        );
        assert_eq!(line("server.tls.cert_file"), Some(7));
        assert_eq!(line("log.level"), Some(9));
        assert_eq!(line("middleware.auth.roles"), Some(12));
        assert_eq!(line("middleware.auth.public_methods"), Some(16));
        assert_eq!(line("middleware.auth.enabled"), Some(19));
        assert!(
            lines
                .iter()
                .all(|(p, _)| !p.contains("role.") && !p.ends_with(".allow")),
            "{lines:?}"
        );
    }
}
