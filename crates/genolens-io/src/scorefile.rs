//! Linear scoring files as `plink2 --score` reads them (variant ID, allele,
//! weight columns) and the `.sscore` report it writes.

use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};
use crate::record::Sample;
use crate::report::push_g;

/// One line of a score file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreWeight {
    /// Variant ID.
    pub id: String,
    /// The allele whose dosage the weight multiplies.
    pub allele: String,
    /// The weight.
    pub weight: f64,
}

/// Reads a whitespace-separated score file: variant IDs from 1-based column
/// `id_col`, alleles from `allele_col`, weights from `weight_col` (PLINK 2's
/// `i j k`, default 1 2 3); the first line is skipped when `header`. A line too
/// short or with a weight that is not a number is an error naming the line.
pub fn read_score_file(
    path: impl AsRef<Path>,
    [id_col, allele_col, weight_col]: [usize; 3],
    header: bool,
) -> Result<Vec<ScoreWeight>> {
    let path = path.as_ref();
    if [id_col, allele_col, weight_col].contains(&0) {
        return Err(Error::invalid(path, "score columns are 1-based"));
    }
    let text = read_to_string(path)?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .skip(usize::from(header))
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let need = id_col.max(allele_col).max(weight_col);
        if fields.len() < need {
            return Err(Error::parse(
                path,
                i + 1,
                format!("{} fields, column {need} needed", fields.len()),
            ));
        }
        let weight: f64 = fields[weight_col - 1].parse().map_err(|_| {
            Error::parse(
                path,
                i + 1,
                format!("weight {:?} is not a number", fields[weight_col - 1]),
            )
        })?;
        out.push(ScoreWeight {
            id: fields[id_col - 1].to_string(),
            allele: fields[allele_col - 1].to_string(),
            weight,
        });
    }
    if out.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(out)
}

/// One sample's row of a `.sscore` report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SscoreRow {
    /// Non-missing alleles scored (`ALLELE_CT`).
    pub allele_ct: u32,
    /// Sum of the named alleles' dosages over non-missing calls.
    pub dosage_sum: f64,
    /// The score average (`SCORE1_AVG`).
    pub score_avg: f64,
}

/// Writes a `.sscore` report with PLINK 2's default columns (`#FID IID
/// ALLELE_CT NAMED_ALLELE_DOSAGE_SUM SCORE1_AVG`), atomically.
pub fn write_sscore(path: impl AsRef<Path>, samples: &[Sample], rows: &[SscoreRow]) -> Result<()> {
    let path = path.as_ref();
    if samples.len() != rows.len() {
        return Err(Error::invalid(
            path,
            format!("{} rows for {} samples", rows.len(), samples.len()),
        ));
    }
    let mut f = AtomicFile::create(path)?;
    let mut s = String::from("#FID\tIID\tALLELE_CT\tNAMED_ALLELE_DOSAGE_SUM\tSCORE1_AVG\n");
    for (sample, r) in samples.iter().zip(rows) {
        let _ = write!(s, "{}\t{}\t{}\t", sample.id.fid, sample.id.iid, r.allele_ct);
        push_g(&mut s, r.dosage_sum, 6);
        s.push('\t');
        push_g(&mut s, r.score_avg, 6);
        s.push('\n');
    }
    f.write_all(s.as_bytes())?;
    f.commit()
}
