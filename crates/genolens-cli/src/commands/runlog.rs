//! The CLI's side of `OUT.log`: the library's [`RunLog`] is written, then
//! its warnings and the files written are listed on stderr.

use std::path::{Path, PathBuf};
use std::time::Instant;

use genolens::io::GenotypeSource;
use genolens::study::RunLog;

use crate::error::CliError;

/// The log's first line: the command and its input.
pub fn log_header(command: &str, source: &dyn GenotypeSource) -> RunLog {
    RunLog::for_source(command, source)
}

/// Writes OUT.log and lists the warnings and what was written.
pub fn finish(
    log: RunLog,
    mut written: Vec<PathBuf>,
    out: &Path,
    started: Instant,
) -> Result<(), CliError> {
    let warnings = log.warnings().to_vec();
    let log_path = log.write(out, &written, started.elapsed())?;
    written.push(log_path);
    announce(&warnings, &written);
    Ok(())
}

/// Prints a step's warnings and the files it wrote.
pub fn announce(warnings: &[String], written: &[PathBuf]) {
    for w in warnings {
        eprintln!("genolens: warning: {w}");
    }
    for p in written {
        eprintln!("genolens: wrote {}", p.display());
    }
}
