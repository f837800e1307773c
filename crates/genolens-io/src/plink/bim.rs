use std::path::Path;

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};
use crate::record::Variant;

/// Reads a `.bim` file: `chrom id cm pos allele1 allele2`, whitespace-separated.
pub fn read_bim(path: impl AsRef<Path>) -> Result<Vec<Variant>> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut variants = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 6 {
            return Err(Error::parse(
                path,
                lineno,
                format!(
                    "expected 6 columns (chrom id cm pos allele1 allele2), found {}",
                    f.len()
                ),
            ));
        }
        let cm: f64 = f[2].parse().map_err(|_| {
            Error::parse(
                path,
                lineno,
                format!("genetic position {:?} is not a number", f[2]),
            )
        })?;
        let pos: u64 = f[3].parse().map_err(|_| {
            Error::parse(
                path,
                lineno,
                format!(
                    "base-pair position {:?} is not a non-negative integer",
                    f[3]
                ),
            )
        })?;
        variants.push(Variant {
            chrom: f[0].to_string(),
            id: f[1].to_string(),
            cm,
            pos,
            allele1: f[4].to_string(),
            allele2: f[5].to_string(),
        });
    }
    if variants.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(variants)
}

pub(crate) fn bim_text(variants: &[Variant]) -> String {
    let mut s = String::with_capacity(variants.len() * 32);
    for v in variants {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            // PLINK 2 writes normalised codes (23 → X, chr1 → 1).
            v.plink_chrom(),
            v.id,
            if v.cm == 0.0 {
                "0".to_string()
            } else {
                v.cm.to_string()
            },
            v.pos,
            v.allele1,
            v.allele2
        ));
    }
    s
}

/// Writes a `.bim` file atomically.
pub fn write_bim(path: impl AsRef<Path>, variants: &[Variant]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let text = bim_text(variants);
    f.write_all(text.as_bytes())?;
    f.commit()
}
