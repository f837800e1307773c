use std::path::{Path, PathBuf};

use crate::atomic::{commit_all, AtomicFile};
use crate::error::{Error, Result};
use crate::genotype::{blocks, GenotypeSource};
use crate::hardcall::dosage_code;
use crate::plink::bim::bim_text;
use crate::plink::fam::fam_text;
use crate::plink::{bytes_per_variant, fileset_paths, BED_MAGIC};
use crate::record::{Sample, Variant};

/// Writes a PLINK 1 binary fileset one variant at a time.
///
/// Nothing appears at the destination until [`finish`](Self::finish) succeeds: the
/// three files are written to temporary files and renamed together.
#[derive(Debug)]
pub struct BedWriter {
    bed: AtomicFile,
    bim: AtomicFile,
    fam: AtomicFile,
    variants: Vec<Variant>,
    n_samples: usize,
    written: usize,
    buf: Vec<u8>,
}

impl BedWriter {
    /// Starts a fileset at `prefix` for these samples and variants.
    pub fn create(
        prefix: impl AsRef<Path>,
        samples: &[Sample],
        variants: &[Variant],
    ) -> Result<Self> {
        let (bed_path, bim_path, fam_path) = fileset_paths(prefix);
        let mut bed = AtomicFile::create(&bed_path)?;
        bed.write_all(&BED_MAGIC)?;
        let mut bim = AtomicFile::create(&bim_path)?;
        bim.write_all(bim_text(variants).as_bytes())?;
        let mut fam = AtomicFile::create(&fam_path)?;
        fam.write_all(fam_text(samples).as_bytes())?;
        Ok(Self {
            bed,
            bim,
            fam,
            variants: variants.to_vec(),
            n_samples: samples.len(),
            written: 0,
            buf: vec![0; bytes_per_variant(samples.len())],
        })
    }

    /// Appends the next variant's allele1 dosages (`NaN` = missing). Non-integer
    /// dosages are hard-called with PLINK 2's default threshold.
    pub fn write_variant(&mut self, dosages: &[f32]) -> Result<()> {
        let path: PathBuf = self.bed.path().to_path_buf();
        if self.written >= self.variants.len() {
            return Err(Error::request(
                path,
                format!(
                    "more variants written than the {} declared",
                    self.variants.len()
                ),
            ));
        }
        if dosages.len() != self.n_samples {
            return Err(Error::request(
                path,
                format!(
                    "{} dosages given for {} samples",
                    dosages.len(),
                    self.n_samples
                ),
            ));
        }
        self.buf.fill(0);
        for (i, &d) in dosages.iter().enumerate() {
            let code = dosage_code(d).ok_or_else(|| {
                Error::request(
                    &path,
                    format!(
                        "dosage {d} of sample {} at variant {} is outside [0, 2]",
                        i + 1,
                        self.variants[self.written].id
                    ),
                )
            })?;
            self.buf[i / 4] |= code << (2 * (i % 4));
        }
        self.bed.write_all(&self.buf)?;
        self.written += 1;
        Ok(())
    }

    /// Checks that every declared variant was written and moves the three files
    /// into place.
    pub fn finish(self) -> Result<()> {
        if self.written != self.variants.len() {
            return Err(Error::request(
                self.bed.path(),
                format!(
                    "{} of {} declared variants were written",
                    self.written,
                    self.variants.len()
                ),
            ));
        }
        commit_all(vec![self.bed, self.bim, self.fam])
    }
}

/// Writes all genotypes of `source` as a PLINK 1 binary fileset at `prefix`,
/// streaming blocks of `block_size` variants.
pub fn write_bed_fileset<S: GenotypeSource + ?Sized>(
    source: &S,
    prefix: impl AsRef<Path>,
    block_size: usize,
) -> Result<()> {
    let mut w = BedWriter::create(prefix, source.samples(), source.variants())?;
    for block in blocks(source, block_size) {
        let block = block?;
        for j in 0..block.n_variants() {
            let col = block.variant(j);
            match col.as_slice() {
                Some(s) => w.write_variant(s)?,
                None => w.write_variant(&col.to_vec())?,
            }
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::dosage_code;

    #[test]
    fn hard_calls_follow_the_threshold() {
        assert_eq!(dosage_code(0.0), Some(0b11));
        assert_eq!(dosage_code(0.05), Some(0b11));
        assert_eq!(dosage_code(0.5), Some(0b01));
        assert_eq!(dosage_code(1.08), Some(0b10));
        assert_eq!(dosage_code(1.95), Some(0b00));
        assert_eq!(dosage_code(f32::NAN), Some(0b01));
        assert_eq!(dosage_code(2.5), None);
        assert_eq!(dosage_code(-1.0), None);
    }
}
