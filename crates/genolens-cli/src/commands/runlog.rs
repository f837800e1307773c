//! The `OUT.log` every analysis command writes: what it read, what it did, how
//! long it took and what it wrote.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use genolens::io::{AtomicFile, GenotypeSource};

use crate::commands::freq::with_suffix;
use crate::error::CliError;

/// The log's first line: the command and its input.
pub fn log_header(command: &str, source: &dyn GenotypeSource) -> String {
    let mut log = String::new();
    let _ = writeln!(
        log,
        "genolens {command}: {} samples, {} variants from {}",
        source.n_samples(),
        source.n_variants(),
        source.origin().display()
    );
    let skipped = source.skipped_on_load();
    if skipped > 0 {
        // plink2's line (Debian's 2.00a3.5), so the counts compare line for
        // line, then why.
        let _ = writeln!(
            log,
            "{} out of {} variants loaded from {}.\n{skipped} variants skipped for negative \
             bp coordinates.",
            source.n_variants(),
            source.n_variants() + skipped,
            source.origin().with_extension("bim").display(),
        );
    }
    log
}

/// Writes OUT.log and lists what was written.
pub fn finish(
    mut log: String,
    written: Vec<PathBuf>,
    out: &Path,
    started: Instant,
) -> Result<(), CliError> {
    let _ = writeln!(log, "time: {:.3} s", started.elapsed().as_secs_f64());
    for p in &written {
        let _ = writeln!(log, "wrote {}", p.display());
    }
    let log_path = with_suffix(out, "log");
    let mut f = AtomicFile::create(&log_path)?;
    f.write_all(log.as_bytes())?;
    f.commit()?;
    for p in written.iter().chain(std::iter::once(&log_path)) {
        eprintln!("genolens: wrote {}", p.display());
    }
    Ok(())
}
