//! Relatedness files: PLINK 2's KING table (`.kin0`) and GCTA's binary genomic
//! relationship matrix (`.grm.bin`, `.grm.N.bin`, `.grm.id`), which PLINK 2,
//! GCTA, REGENIE and BOLT-LMM users pass between tools.

use std::path::{Path, PathBuf};

use crate::atomic::commit_all;
use crate::report::{push_plink2_g, read_sample_list, SampleIdColumns};
use crate::{AtomicFile, Error, Result, Sample, SampleId};

/// Writes PLINK 2's `--make-king-table` report row by row (default columns:
/// `#FID1 IID1 FID2 IID2 NSNP HETHET IBS0 KINSHIP`, the proportions and the
/// coefficient as PLINK 2 prints them, [`push_plink2_g`]), to a temporary file renamed into place by
/// [`finish`](Self::finish).
pub struct KingTableWriter {
    file: AtomicFile,
    ids: SampleIdColumns,
    buf: String,
}

impl KingTableWriter {
    /// Creates the report and writes its header.
    pub fn create(path: impl AsRef<Path>, ids: SampleIdColumns) -> Result<Self> {
        let file = AtomicFile::create(path)?;
        let mut buf = String::with_capacity(1 << 16);
        buf.push_str(match ids {
            SampleIdColumns::FidIid => "#FID1\tIID1\tFID2\tIID2",
            SampleIdColumns::Iid => "#IID1\tIID2",
        });
        buf.push_str("\tNSNP\tHETHET\tIBS0\tKINSHIP\n");
        Ok(Self { file, ids, buf })
    }

    /// Appends the row of `first` (the later sample) and `second`: variants
    /// with both called, the two counts (printed as proportions of `nsnp`),
    /// and the kinship coefficient.
    pub fn push(
        &mut self,
        first: &Sample,
        second: &Sample,
        nsnp: u32,
        hethet: u32,
        ibs0: u32,
        kinship: f64,
    ) -> Result<()> {
        for s in [first, second] {
            if self.ids == SampleIdColumns::FidIid {
                self.buf.push_str(&s.id.fid);
                self.buf.push('\t');
            }
            self.buf.push_str(&s.id.iid);
            self.buf.push('\t');
        }
        let recip = 1.0 / f64::from(nsnp);
        self.buf.push_str(&nsnp.to_string());
        self.buf.push('\t');
        push_plink2_g(&mut self.buf, recip * f64::from(hethet));
        self.buf.push('\t');
        push_plink2_g(&mut self.buf, recip * f64::from(ibs0));
        self.buf.push('\t');
        push_plink2_g(&mut self.buf, kinship);
        self.buf.push('\n');
        if self.buf.len() > 1 << 16 {
            self.file.write_all(self.buf.as_bytes())?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Flushes the rows and renames the report into place.
    pub fn finish(mut self) -> Result<()> {
        self.file.write_all(self.buf.as_bytes())?;
        self.file.commit()
    }
}

/// The three files of a GCTA binary relationship matrix with prefix `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrmPaths {
    /// `PREFIX.grm.bin`: the lower triangle with the diagonal, row by row, as
    /// little-endian `f32`.
    pub bin: PathBuf,
    /// `PREFIX.grm.N.bin`: the variants behind each entry, same layout.
    pub n_bin: PathBuf,
    /// `PREFIX.grm.id`: `FID IID` per sample, tab-separated, no header.
    pub id: PathBuf,
}

impl GrmPaths {
    /// The paths for `prefix` (`out/cohort` → `out/cohort.grm.bin`, …).
    pub fn new(prefix: impl AsRef<Path>) -> Self {
        let p = prefix.as_ref().as_os_str();
        let with = |ext: &str| {
            let mut s = p.to_os_string();
            s.push(ext);
            PathBuf::from(s)
        };
        Self {
            bin: with(".grm.bin"),
            n_bin: with(".grm.N.bin"),
            id: with(".grm.id"),
        }
    }
}

/// Writes a relationship matrix in GCTA's binary layout, all three files or
/// none. `values` and `observations` hold the lower triangle with the
/// diagonal, row by row (`N(N+1)/2` entries each).
pub fn write_grm_bin(
    paths: &GrmPaths,
    samples: &[Sample],
    values: &[f64],
    observations: &[u32],
) -> Result<()> {
    let n = samples.len();
    let cells = n * (n + 1) / 2;
    if values.len() != cells || observations.len() != cells {
        return Err(Error::request(
            &paths.bin,
            format!(
                "{} values and {} counts for a triangle of {n} samples ({cells} cells)",
                values.len(),
                observations.len()
            ),
        ));
    }
    let mut bin = AtomicFile::create(&paths.bin)?;
    let mut n_bin = AtomicFile::create(&paths.n_bin)?;
    let mut id = AtomicFile::create(&paths.id)?;
    for (chunk_v, chunk_n) in values.chunks(1 << 14).zip(observations.chunks(1 << 14)) {
        let v: Vec<u8> = chunk_v
            .iter()
            .flat_map(|&x| (x as f32).to_le_bytes())
            .collect();
        let c: Vec<u8> = chunk_n
            .iter()
            .flat_map(|&x| (x as f32).to_le_bytes())
            .collect();
        bin.write_all(&v)?;
        n_bin.write_all(&c)?;
    }
    let mut text = String::new();
    for s in samples {
        text.push_str(&s.id.fid);
        text.push('\t');
        text.push_str(&s.id.iid);
        text.push('\n');
    }
    id.write_all(text.as_bytes())?;
    commit_all(vec![bin, n_bin, id])
}

/// A relationship matrix read from GCTA's binary layout.
#[derive(Debug, Clone, PartialEq)]
pub struct GrmFile {
    /// The samples, in matrix order.
    pub ids: Vec<SampleId>,
    /// The lower triangle with the diagonal, row by row.
    pub values: Vec<f32>,
    /// The variant counts, when `PREFIX.grm.N.bin` exists.
    pub observations: Option<Vec<f32>>,
}

impl GrmFile {
    /// The entry of samples `i` and `j` (either order).
    pub fn get(&self, i: usize, j: usize) -> f32 {
        let (a, b) = if i >= j { (i, j) } else { (j, i) };
        self.values[a * (a + 1) / 2 + b]
    }
}

/// Reads `PREFIX.grm.id` and `PREFIX.grm.bin` (and `PREFIX.grm.N.bin` if
/// present), checking that the sizes agree with the number of samples.
pub fn read_grm_bin(paths: &GrmPaths) -> Result<GrmFile> {
    // `FID IID` per line, as a sample list (an IID alone stands for both).
    let ids: Vec<SampleId> = read_sample_list(&paths.id)?
        .into_iter()
        .map(|(fid, iid)| SampleId::new(fid.unwrap_or_else(|| iid.clone()), iid))
        .collect();
    let cells = ids.len() * (ids.len() + 1) / 2;
    let read_f32 = |path: &Path| -> Result<Vec<f32>> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.len() != 4 * cells {
            return Err(Error::invalid(
                path,
                format!(
                    "{} bytes, but {} samples in {} need {} (4 per cell of the lower \
                     triangle)",
                    bytes.len(),
                    ids.len(),
                    paths.id.display(),
                    4 * cells
                ),
            ));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };
    let values = read_f32(&paths.bin)?;
    let observations = if paths.n_bin.exists() {
        Some(read_f32(&paths.n_bin)?)
    } else {
        None
    };
    Ok(GrmFile {
        ids,
        values,
        observations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(fid: &str, iid: &str) -> Sample {
        Sample::new(SampleId::new(fid, iid))
    }

    #[test]
    fn grm_round_trip_and_size_check() {
        let dir = tempfile::tempdir().unwrap();
        let paths = GrmPaths::new(dir.path().join("g"));
        let samples = vec![sample("f", "a"), sample("f", "b")];
        write_grm_bin(&paths, &samples, &[1.0, 0.25, 0.9], &[10, 9, 10]).unwrap();
        let g = read_grm_bin(&paths).unwrap();
        assert_eq!(g.ids[1].iid, "b");
        assert_eq!(g.get(0, 1), 0.25);
        assert_eq!(g.observations.as_deref(), Some(&[10.0, 9.0, 10.0][..]));
        // A third sample in the ID file no longer fits the matrix.
        std::fs::write(&paths.id, "f\ta\nf\tb\nf\tc\n").unwrap();
        let err = read_grm_bin(&paths).unwrap_err().to_string();
        assert!(
            err.contains("g.grm.bin") && err.contains("3 samples"),
            "{err}"
        );
        // A wrong triangle is refused before anything is written.
        let other = GrmPaths::new(dir.path().join("h"));
        assert!(write_grm_bin(&other, &samples, &[1.0], &[1]).is_err());
        assert!(!other.bin.exists() && !other.id.exists());
    }
}
