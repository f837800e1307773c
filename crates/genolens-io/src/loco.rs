//! Leave-one-chromosome-out predictions in regenie's files: `PREFIX.pred.list`
//! (one `TRAIT PATH` line per trait) and one `.loco` file per trait, whose
//! header is `FID_IID` then one `FID_IID` key per sample, followed by one row
//! per chromosome number: the number, then a value per sample (`NA` where
//! the sample lacks the trait). Files regenie's step 1 wrote are read as
//! they are.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};
use crate::SampleId;

/// One trait's LOCO predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct LocoTable {
    /// The samples' `FID_IID` keys, in the file's order.
    pub keys: Vec<String>,
    /// Per chromosome number, a value per sample (`NaN` for `NA`).
    pub rows: Vec<(u32, Vec<f64>)>,
}

/// Regenie's key of a sample: `FID_IID`.
pub fn loco_key(id: &SampleId) -> String {
    format!("{}_{}", id.fid, id.iid)
}

impl LocoTable {
    /// The rows of `samples` (by `FID_IID` key), in their order. Errors name
    /// the file and the first sample that is absent or `NA`.
    pub fn align(&self, path: &Path, samples: &[SampleId]) -> Result<Vec<(u32, Vec<f64>)>> {
        let index: std::collections::HashMap<&str, usize> = self
            .keys
            .iter()
            .enumerate()
            .map(|(k, key)| (key.as_str(), k))
            .collect();
        let mut at = Vec::with_capacity(samples.len());
        let mut absent = Vec::new();
        for s in samples {
            match index.get(loco_key(s).as_str()) {
                Some(&k) => at.push(k),
                None => absent.push(loco_key(s)),
            }
        }
        if !absent.is_empty() {
            return Err(Error::invalid(
                path,
                format!(
                    "{} of the {} analysed samples have no prediction (first: {}); the file \
                     is for other samples",
                    absent.len(),
                    samples.len(),
                    absent[..absent.len().min(3)].join(", ")
                ),
            ));
        }
        let mut out = Vec::with_capacity(self.rows.len());
        for (code, values) in &self.rows {
            let picked: Vec<f64> = at.iter().map(|&k| values[k]).collect();
            if let Some(i) = picked.iter().position(|v| v.is_nan()) {
                return Err(Error::invalid(
                    path,
                    format!(
                        "chromosome {code}: sample {} is NA but has the trait here",
                        loco_key(&samples[i])
                    ),
                ));
            }
            out.push((*code, picked));
        }
        Ok(out)
    }
}

/// Writes one trait's `.loco` file, atomically. `rows` hold a value per
/// sample of `samples`; values print with 17 significant digits, so that
/// reading them back gives the same bits.
pub fn write_loco(
    path: impl AsRef<Path>,
    samples: &[SampleId],
    rows: &[(u32, Vec<f64>)],
) -> Result<()> {
    let path = path.as_ref();
    let mut text = String::from("FID_IID");
    for s in samples {
        text.push(' ');
        text.push_str(&loco_key(s));
    }
    text.push('\n');
    for (code, values) in rows {
        if values.len() != samples.len() {
            return Err(Error::invalid(
                path,
                format!(
                    "chromosome {code}: {} values for {} samples",
                    values.len(),
                    samples.len()
                ),
            ));
        }
        let _ = write!(text, "{code}");
        for v in values {
            if v.is_nan() {
                text.push_str(" NA");
            } else {
                let _ = write!(text, " {v:e}");
            }
        }
        text.push('\n');
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()
}

/// Reads a `.loco` file (genolens' or regenie's).
pub fn read_loco(path: impl AsRef<Path>) -> Result<LocoTable> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut lines = text.lines().enumerate();
    let keys: Vec<String> = match lines.next() {
        Some((_, header)) => {
            let mut fields = header.split_whitespace();
            if fields.next() != Some("FID_IID") {
                return Err(Error::parse(
                    path,
                    1,
                    "the header must start with FID_IID (a regenie .loco file)",
                ));
            }
            fields.map(str::to_string).collect()
        }
        None => return Err(Error::invalid(path, "empty file")),
    };
    let mut rows = Vec::new();
    for (k, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let code: u32 = fields.next().and_then(|c| c.parse().ok()).ok_or_else(|| {
            Error::parse(path, k + 1, "the first field must be a chromosome number")
        })?;
        let values = fields
            .map(|f| {
                if f == "NA" {
                    Ok(f64::NAN)
                } else {
                    f.parse::<f64>()
                        .map_err(|_| Error::parse(path, k + 1, format!("not a number: {f:?}")))
                }
            })
            .collect::<Result<Vec<f64>>>()?;
        if values.len() != keys.len() {
            return Err(Error::parse(
                path,
                k + 1,
                format!(
                    "{} values for {} samples in the header",
                    values.len(),
                    keys.len()
                ),
            ));
        }
        rows.push((code, values));
    }
    if rows.is_empty() {
        return Err(Error::invalid(path, "no chromosome row"));
    }
    Ok(LocoTable { keys, rows })
}

/// Writes `PREFIX.pred.list`: one `TRAIT PATH` line per trait, atomically.
pub fn write_pred_list(path: impl AsRef<Path>, entries: &[(String, PathBuf)]) -> Result<()> {
    let mut text = String::new();
    for (name, file) in entries {
        let _ = writeln!(text, "{name} {}", file.display());
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()
}

/// Reads a prediction list (`TRAIT PATH` per line); relative paths are taken
/// from the list's directory.
pub fn read_pred_list(path: impl AsRef<Path>) -> Result<Vec<(String, PathBuf)>> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] => continue,
            [name, file] => {
                let file = Path::new(file);
                let file = if file.is_absolute() {
                    file.to_path_buf()
                } else {
                    dir.join(file)
                };
                out.push((name.to_string(), file));
            }
            _ => {
                return Err(Error::parse(
                    path,
                    k + 1,
                    "expected two fields: the trait and its .loco file",
                ))
            }
        }
    }
    if out.is_empty() {
        return Err(Error::invalid(path, "no trait listed"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(f: &str, i: &str) -> SampleId {
        SampleId {
            fid: f.into(),
            iid: i.into(),
        }
    }

    #[test]
    fn loco_files_round_trip_and_align_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.loco");
        let samples = [id("a", "1"), id("b", "2"), id("c", "3")];
        let rows = vec![
            (1, vec![0.1, -1.0 / 3.0, f64::NAN]),
            (2, vec![1e-300, 2.5, f64::NAN]),
        ];
        write_loco(&p, &samples, &rows).unwrap();
        let back = read_loco(&p).unwrap();
        assert_eq!(back.keys, ["a_1", "b_2", "c_3"]);
        assert_eq!(back.rows[0].1[1].to_bits(), (-1.0f64 / 3.0).to_bits());
        let aligned = back.align(&p, &[id("b", "2"), id("a", "1")]).unwrap();
        assert_eq!(aligned[1].1, vec![2.5, 1e-300]);
        let na = back.align(&p, &[id("c", "3")]).unwrap_err();
        assert!(na.to_string().contains("c_3 is NA"), "{na}");
        let other = back.align(&p, &[id("z", "9")]).unwrap_err();
        assert!(other.to_string().contains("other samples"), "{other}");
    }

    #[test]
    fn pred_lists_resolve_relative_paths_and_reject_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pred.list");
        write_pred_list(&p, &[("Y1".into(), PathBuf::from("x.Y1.loco"))]).unwrap();
        let back = read_pred_list(&p).unwrap();
        assert_eq!(back, vec![("Y1".to_string(), dir.path().join("x.Y1.loco"))]);
        std::fs::write(&p, "Y1\n").unwrap();
        assert!(matches!(
            read_pred_list(&p),
            Err(Error::Parse { line: 1, .. })
        ));
        std::fs::write(dir.path().join("bad.loco"), "ID a b\n1 0 0\n").unwrap();
        assert!(read_loco(dir.path().join("bad.loco")).is_err());
    }
}
