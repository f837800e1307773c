//! PLINK 1 binary filesets: `.bed` (SNP-major 2-bit genotypes), `.bim` (variants)
//! and `.fam` (samples).
//!
//! Reading uses positional reads of whole blocks and a 256-entry lookup table to
//! decode, rather than the `bed-reader` crate: it needs no Python or cloud stack at
//! build time, keeps the resident memory to one block, and lets kernels decode the
//! raw bytes themselves ([`BedFile::read_raw`]). `benches/decode` compares both.

mod bed;
mod bim;
mod fam;
mod writer;

pub use bed::{decode_variant, BedFile, BED_MAGIC};
pub use bim::{read_bim, read_bim_records, write_bim, Bim};
pub use fam::{read_fam, write_fam};
pub use writer::{write_bed_fileset, BedWriter};

use std::path::{Path, PathBuf};

/// The three paths of a fileset named by its prefix (`cohort` → `cohort.bed`,
/// `cohort.bim`, `cohort.fam`). A trailing `.bed`, `.bim` or `.fam` is accepted
/// and dropped, as PLINK users often pass one.
pub fn fileset_paths(prefix: impl AsRef<Path>) -> (PathBuf, PathBuf, PathBuf) {
    let prefix = prefix.as_ref();
    let base = match prefix.extension().and_then(|e| e.to_str()) {
        Some("bed" | "bim" | "fam") => prefix.with_extension(""),
        _ => prefix.to_path_buf(),
    };
    let with = |ext: &str| {
        let mut s = base.clone().into_os_string();
        s.push(".");
        s.push(ext);
        PathBuf::from(s)
    };
    (with("bed"), with("bim"), with("fam"))
}

/// Bytes one variant takes in a `.bed` file with `n_samples` samples.
pub fn bytes_per_variant(n_samples: usize) -> usize {
    n_samples.div_ceil(4)
}
