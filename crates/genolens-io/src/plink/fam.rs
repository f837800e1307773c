use std::collections::HashSet;
use std::path::Path;

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};
use crate::record::{Sample, SampleId, Sex};

/// Reads a `.fam` file: `fid iid father mother sex phenotype`, whitespace-separated.
///
/// Duplicate `(fid, iid)` pairs are an error, as in PLINK 2.
pub fn read_fam(path: impl AsRef<Path>) -> Result<Vec<Sample>> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut samples = Vec::new();
    let mut seen = HashSet::new();
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
                    "expected 6 columns (fid iid father mother sex phenotype), found {}",
                    f.len()
                ),
            ));
        }
        let id = SampleId::new(f[0], f[1]);
        if !seen.insert(id.clone()) {
            return Err(Error::parse(
                path,
                lineno,
                format!("duplicate sample ID {id}"),
            ));
        }
        let sex = match f[4] {
            "1" => Sex::Male,
            "2" => Sex::Female,
            _ => Sex::Unknown,
        };
        samples.push(Sample {
            id,
            father: f[2].to_string(),
            mother: f[3].to_string(),
            sex,
            phenotype: f[5].to_string(),
        });
    }
    if samples.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(samples)
}

pub(crate) fn fam_text(samples: &[Sample]) -> String {
    let mut s = String::with_capacity(samples.len() * 24);
    for x in samples {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            x.id.fid,
            x.id.iid,
            x.father,
            x.mother,
            x.sex.code(),
            x.phenotype
        ));
    }
    s
}

/// Writes a `.fam` file atomically.
pub fn write_fam(path: impl AsRef<Path>, samples: &[Sample]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let text = fam_text(samples);
    f.write_all(text.as_bytes())?;
    f.commit()
}
