//! The comments of the `.proto` files (their source info, when the descriptor set kept it)
//! as descriptions.

use std::collections::HashMap;

use prost_reflect::FileDescriptor;

/// The leading comments of each element of the files asked about, by file and path.
#[derive(Debug, Default)]
pub(super) struct Comments {
    files: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Comments {
    /// The leading (else trailing) comment of the element at `path` in `file`, trimmed;
    /// `None` when there is none.
    pub(super) fn of(&mut self, file: &FileDescriptor, path: &[i32]) -> Option<String> {
        let by_path = self
            .files
            .entry(file.name().to_owned())
            .or_insert_with(|| index(file));
        by_path.get(path).cloned()
    }
}

fn index(file: &FileDescriptor) -> HashMap<Vec<i32>, String> {
    let mut out = HashMap::new();
    let Some(info) = &file.file_descriptor_proto().source_code_info else {
        return out;
    };
    for loc in &info.location {
        let text = loc
            .leading_comments
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .or(loc.trailing_comments.as_deref());
        if let Some(text) = text.map(clean).filter(|t| !t.is_empty()) {
            out.entry(loc.path.clone()).or_insert(text);
        }
    }
    out
}

/// One comment as text: each line trimmed of the space after `//`, blank lines at the ends
/// dropped.
fn clean(c: &str) -> String {
    let lines: Vec<&str> = c
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect();
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_trimmed() {
        assert_eq!(clean(" Reads one user.\n"), "Reads one user.");
        assert_eq!(clean(" a\n  b\n\n"), "a\n b");
    }
}
