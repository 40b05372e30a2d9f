//! Every grpckit config example in the documentation parses, with the checks
//! `grpckit server --config FILE` applies, so the docs cannot drift from the config types.
//!
//! # The fence convention
//! A fenced block in `README.md` or `docs/*.md` whose info string is `yaml grpckit`
//! (```` ```yaml grpckit ````) is a grpckit config file, or a part of one: it is loaded as a
//! whole file, every section it leaves out taking its defaults. Other YAML (Kubernetes,
//! compose, CI) is tagged plain `yaml` and is not checked. The types are the truth: when a
//! block fails here, fix the document.

use std::path::{Path, PathBuf};

use grpckit_cli::{args::ServerArgs, server::effective_config};

/// The tag after the opening fence that marks a grpckit config block.
const TAG: &str = "yaml grpckit";

/// One tagged block: where it starts (file, 1-based line of the fence) and its text.
struct Block {
    file: PathBuf,
    line: usize,
    text: String,
}

/// The documents checked: README.md and every `docs/*.md`.
fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("read docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The `yaml grpckit` blocks of a markdown text.
fn tagged_blocks(file: &Path, markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match open.as_mut() {
            None if fence.starts_with("```") && fence.trim_start_matches('`').trim() == TAG => {
                open = Some(Block {
                    file: file.to_owned(),
                    line: i + 1,
                    text: String::new(),
                });
            }
            None => {}
            Some(_) if fence.starts_with("```") => blocks.extend(open.take()),
            Some(b) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
        }
    }
    assert!(
        open.is_none(),
        "{}: unclosed ```{TAG} block",
        file.display()
    );
    blocks
}

/// Loads `yaml` the way `grpckit server --config FILE` does (no flags given).
fn load_as_server_config(yaml: &str) -> anyhow::Result<grpckit_services::config::AppConfig> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("grpckit.yaml");
    std::fs::write(&file, yaml)?;
    effective_config(&ServerArgs {
        config: Some(file),
        ..ServerArgs::default()
    })
}

#[test]
fn every_tagged_config_block_in_the_docs_parses() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in documents() {
        let markdown = std::fs::read_to_string(&file).expect("read document");
        for block in tagged_blocks(&file, &markdown) {
            checked += 1;
            if let Err(e) = load_as_server_config(&block.text) {
                failures.push(format!("{}:{}: {e:#}", block.file.display(), block.line));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // README's configuration, and client, middleware and observability in docs/.
    assert!(checked >= 4, "only {checked} ```{TAG} blocks found");
}

#[test]
fn a_misspelled_block_is_rejected_naming_the_key() {
    let markdown = "text\n```yaml grpckit\nserver:\n  keep_alive:\n    tiem: 60s\n```\n";
    let blocks = tagged_blocks(Path::new("example.md"), markdown);
    assert_eq!(blocks.len(), 1);
    let err = format!("{:#}", load_as_server_config(&blocks[0].text).unwrap_err());
    assert!(err.contains("tiem"), "{err}");
    assert!(err.contains("server.keep_alive"), "{err}");
}

#[test]
fn only_tagged_blocks_are_read_and_fragments_take_defaults() {
    let markdown =
        "```yaml\nkind: Deployment\n```\n\n```yaml grpckit\nlog: { level: debug }\n```\n";
    let blocks = tagged_blocks(Path::new("example.md"), markdown);
    assert_eq!(
        blocks.len(),
        1,
        "the Kubernetes block is not a grpckit config"
    );
    assert_eq!(blocks[0].line, 5);
    let cfg = load_as_server_config(&blocks[0].text).unwrap();
    assert_eq!(cfg.log.level, "debug");
    assert_eq!(cfg.server, grpckit::config::ServerConfig::default());
}
