//! The `OUT.log` every analysis step writes: what it read, what it did, how
//! long it took and what it wrote.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::io::{AtomicFile, GenotypeSource};
use crate::study::with_suffix;
use crate::Result;

/// A step's log: its lines, and the warnings among them (which a front end
/// also shows the user; library code never prints).
#[derive(Debug, Clone, Default)]
pub struct RunLog {
    text: String,
    warnings: Vec<String>,
}

impl RunLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log whose first line names the command and its input, followed by
    /// plink2's line for variants skipped on load.
    pub fn for_source(command: &str, source: &dyn GenotypeSource) -> Self {
        let mut log = Self::new();
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
                "{} out of {} variants loaded from {}.\n{skipped} variants skipped for \
                 negative bp coordinates.",
                source.n_variants(),
                source.n_variants() + skipped,
                source.variants_origin().display(),
            );
        }
        log
    }

    /// Adds `warning: MESSAGE` to the log and to the warnings.
    pub fn warn(&mut self, message: impl Into<String>) {
        let message = message.into();
        let _ = writeln!(self.text, "warning: {message}");
        self.warnings.push(message);
    }

    /// The log so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The warnings so far, without the `warning: ` prefix.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Ends the log with the wall time and the files written, and writes it to
    /// `OUT.log` (atomically); returns the log's path.
    pub fn write(mut self, out: &Path, written: &[PathBuf], elapsed: Duration) -> Result<PathBuf> {
        let _ = writeln!(self.text, "time: {:.3} s", elapsed.as_secs_f64());
        for p in written {
            let _ = writeln!(self.text, "wrote {}", p.display());
        }
        let path = with_suffix(out, "log");
        let mut f = AtomicFile::create(&path)?;
        f.write_all(self.text.as_bytes())?;
        f.commit()?;
        Ok(path)
    }
}

impl std::fmt::Write for RunLog {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.text.push_str(s);
        Ok(())
    }
}
