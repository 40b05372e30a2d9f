//! The original Go tool's command line, accepted the way Go's `flag` package parses it: the
//! modes were flags (`-server`, `-client`, `-stream`, `-perf`) in any order among the others,
//! and long flags take one dash (`-addr X` or `-addr=X`). Rewritten into subcommands and
//! clap's `--long` flags before parsing; flags given before the subcommand
//! (`grpckit --addr X client`) move behind it.

use clap::CommandFactory;

use crate::Cli;

/// The Go tool's mode flags, each now a subcommand.
const MODES: [&str; 4] = ["-server", "-client", "-stream", "-perf"];

/// Rewrites `args` (program name first) into the spelling clap parses.
pub fn rewrite_legacy_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let cli = Cli::command();
    let mut args: Vec<String> = args.into_iter().collect();
    if args.len() < 2 {
        return args;
    }
    // Everything after a bare `--` is left alone.
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let longs = long_names(&cli);
    for a in &mut args[1..end] {
        if let Some(word) = a.strip_prefix('-').filter(|w| !w.starts_with('-')) {
            let name = word.split_once('=').map_or(word, |(n, _)| n);
            if MODES.contains(&a.as_str()) {
                *a = word.to_owned();
            } else if name.len() > 1 && longs.iter().any(|l| l == name) {
                *a = format!("-{a}");
            }
        }
    }
    if let Some(i) = subcommand_after_flags(&cli, &args[..end]) {
        let sub = args.remove(i);
        args.insert(1, sub);
    }
    args
}

/// Every long flag name of every subcommand, and clap's own `help` and `version`.
fn long_names(cli: &clap::Command) -> Vec<String> {
    cli.get_subcommands()
        .flat_map(|s| s.get_arguments())
        .chain(cli.get_arguments())
        .filter_map(|a| a.get_long().map(str::to_owned))
        .chain(["help".to_owned(), "version".to_owned()])
        .collect()
}

/// The index of the subcommand when only flags (and their values) come before it.
fn subcommand_after_flags(cli: &clap::Command, args: &[String]) -> Option<usize> {
    if !args.get(1)?.starts_with("--") {
        return None;
    }
    let (i, sub) = args
        .iter()
        .enumerate()
        .skip(1)
        .find_map(|(i, a)| cli.find_subcommand(a).map(|s| (i, s)))?;
    // Walk the flags before it: each `--name` takes the next word when `sub` says it does.
    let mut j = 1;
    while j < i {
        let flag = args[j].strip_prefix("--")?;
        if !flag.contains('=') && takes_value(sub, flag) {
            j += 1;
        }
        j += 1;
    }
    (j == i).then_some(i)
}

fn takes_value(sub: &clap::Command, long: &str) -> bool {
    sub.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .is_some_and(|a| a.get_action().takes_values())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::Command;

    fn rewrite(args: &[&str]) -> Vec<String> {
        rewrite_legacy_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn go_spellings() {
        assert_eq!(
            rewrite(&["grpckit", "-client", "-addr", "localhost:9090"]),
            ["grpckit", "client", "--addr", "localhost:9090"]
        );
        assert_eq!(
            rewrite(&["grpckit", "-client", "-addr=localhost:9090"]),
            ["grpckit", "client", "--addr=localhost:9090"]
        );
        // Go's flag package takes the mode flag anywhere among the flags.
        assert_eq!(
            rewrite(&["grpckit", "-addr=h:1", "-perf", "-c", "5"]),
            ["grpckit", "perf", "--addr=h:1", "-c", "5"]
        );
        assert_eq!(
            rewrite(&["grpckit", "-config", "c.yaml", "-server"]),
            ["grpckit", "server", "--config", "c.yaml"]
        );
        // Flags before a subcommand.
        assert_eq!(
            rewrite(&["grpckit", "--addr", "h:1", "--timeout=3s", "stream"]),
            ["grpckit", "stream", "--addr", "h:1", "--timeout=3s"]
        );
        assert_eq!(rewrite(&["grpckit", "-version"]), ["grpckit", "--version"]);
        assert_eq!(
            rewrite(&["grpckit", "-perf", "-help"]),
            ["grpckit", "perf", "--help"]
        );
        // Short flags are left alone.
        assert_eq!(
            rewrite(&["grpckit", "perf", "-c", "5", "-q", "-n", "9"]),
            ["grpckit", "perf", "-c", "5", "-q", "-n", "9"]
        );
        assert_eq!(
            rewrite(&["grpckit", "call", "a.B/C", "--", "-addr"]),
            ["grpckit", "call", "a.B/C", "--", "-addr"]
        );
        for args in [
            &["grpckit", "-server"][..],
            &["grpckit", "-addr", "h:1", "-client"],
            &["grpckit", "--addr=h:1", "perf", "-n", "3"],
        ] {
            let cli = Cli::try_parse_from(rewrite(args));
            assert!(cli.is_ok(), "{args:?}: {cli:?}");
        }
        match Cli::try_parse_from(rewrite(&["grpckit", "-addr=h:1", "-client"])) {
            Ok(Cli {
                command: Command::Client(a),
            }) => assert_eq!(a.addr, "h:1"),
            other => panic!("{other:?}"),
        }
    }
}
