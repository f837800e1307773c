use std::path::Path;

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};
use crate::record::Variant;

/// A `.bim` file as PLINK loads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bim {
    /// The variants loaded, in file order.
    pub variants: Vec<Variant>,
    /// The record (0-based line among the non-empty lines, the variant's
    /// index in the `.bed`) of each loaded variant.
    pub records: Vec<usize>,
    /// Variant records in the file, loaded or not.
    pub n_records: usize,
}

impl Bim {
    /// Records skipped for a negative base-pair position (PLINK 1.9 and 2
    /// mark a variant to leave out this way, e.g. `-9` for unplaced markers).
    pub fn n_negative_bp(&self) -> usize {
        self.n_records - self.variants.len()
    }
}

/// Reads a `.bim` file: `chrom id cm pos allele1 allele2`, whitespace-separated.
/// Variants with a negative base-pair position are skipped, as plink2 and
/// plink 1.9 skip them; [`read_bim_records`] says which.
pub fn read_bim(path: impl AsRef<Path>) -> Result<Vec<Variant>> {
    read_bim_records(path).map(|bim| bim.variants)
}

/// Reads a `.bim` file with the record of each loaded variant. An error when
/// the file holds no variant record, or when every record has a negative
/// position (plink2: "All N variants … excluded by negative bp coordinates").
pub fn read_bim_records(path: impl AsRef<Path>) -> Result<Bim> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut variants = Vec::new();
    let mut records = Vec::new();
    let mut n_records = 0;
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
        let pos: i64 = f[3].parse().map_err(|_| {
            Error::parse(
                path,
                lineno,
                format!("base-pair position {:?} is not an integer", f[3]),
            )
        })?;
        let record = n_records;
        n_records += 1;
        let Ok(pos) = u64::try_from(pos) else {
            continue;
        };
        records.push(record);
        variants.push(Variant {
            chrom: f[0].to_string(),
            id: f[1].to_string(),
            cm,
            pos,
            allele1: f[4].to_string(),
            allele2: f[5].to_string(),
        });
    }
    if n_records == 0 {
        return Err(Error::Empty { path: path.into() });
    }
    if variants.is_empty() {
        return Err(Error::invalid(
            path,
            format!("all {n_records} variants are excluded by negative bp coordinates"),
        ));
    }
    Ok(Bim {
        variants,
        records,
        n_records,
    })
}

pub(crate) fn bim_text(variants: &[Variant]) -> String {
    let mut s = String::with_capacity(variants.len() * 32);
    for v in variants {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            // PLINK 2 writes normalised codes (23 → X, chr1 → 1).
            v.plink_chrom(),
            v.id,
            // PLINK 2 prints positions in cM as %g: 1e-06, not 0.000001.
            crate::report::format_g(v.cm, 6),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centimorgans_print_as_plink2_prints_them() {
        let variant = |cm: f64| Variant {
            chrom: "19".into(),
            pos: 254_447,
            id: "rs1975527".into(),
            cm,
            allele1: "G".into(),
            allele2: "A".into(),
        };
        let text = bim_text(&[
            variant(1e-6),
            variant(2.9e-5),
            variant(-0.000157),
            variant(0.0),
            variant(1.0576123),
        ]);
        let cms: Vec<&str> = text
            .lines()
            .map(|l| l.split('\t').nth(2).unwrap())
            .collect();
        assert_eq!(cms, ["1e-06", "2.9e-05", "-0.000157", "0", "1.05761"]);
    }
}
