//! Where the report goes. The human always sees the summary (warnings and status codes
//! first) exactly once: with `-o FILE` it goes to stdout after the file is written; when a
//! JSON, CSV or HTML report fills stdout it goes to stderr; a text report on stdout is its own
//! summary.

use std::io::Write;

use anyhow::Context;

use super::{Format, PerfArgs, PerfReport, render};

/// Writes `r` per `args` (`-o`, `--format`) and the summary beside it.
pub fn deliver(
    r: &PerfReport,
    args: &PerfArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> anyhow::Result<()> {
    let text = render(r, args.format())?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            write!(stdout, "{}", r.summary())?;
            writeln!(stdout, "  Report:      {}", path.display())?;
        }
        None => {
            write!(stdout, "{text}")?;
            if args.format() != Format::Text {
                write!(stderr, "{}", r.summary())?;
            }
        }
    }
    Ok(())
}

/// The process exit code: 0 when every measured call succeeded and the run was not stopped
/// early, 1 otherwise.
pub fn exit_code(r: &PerfReport) -> u8 {
    u8::from(r.errors != 0 || r.aborted.is_some())
}
