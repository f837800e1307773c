use genolens_io::report::AlleleFreqRow;
use genolens_io::{ChromKind, GenotypeSource, Sex};

use super::{map_blocks, ploidy, Ploidy, Progress};
use crate::error::{Error, Result};

/// Allele-1 (ALT) count and allele observations of one variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlleleCount {
    /// Copies of allele 1 observed (a sum of dosages, so fractional for DS input).
    pub alt: f64,
    /// Allele observations (2 per diploid call, 1 per haploid call).
    pub obs: u64,
}

impl AlleleCount {
    /// Allele-1 frequency; `NaN` when nothing was observed, as PLINK 2 prints it.
    pub fn alt_freq(&self) -> f64 {
        if self.obs == 0 {
            f64::NAN
        } else {
            self.alt / self.obs as f64
        }
    }

    /// The row `genolens_io::report::write_afreq` prints for this count.
    pub fn afreq_row(&self) -> AlleleFreqRow {
        AlleleFreqRow {
            alt_freq: self.alt_freq(),
            obs_ct: self.obs,
        }
    }
}

/// Counts allele 1 per variant, streaming blocks of `block_size` variants in
/// parallel on the current rayon pool, as `plink2 --freq` does: missing calls are
/// skipped; on X, males count one allele; on Y, only males count; on MT, everyone
/// is haploid; haploid heterozygous calls count as missing.
pub fn allele_frequencies<S: GenotypeSource + ?Sized>(
    source: &S,
    block_size: usize,
    progress: Progress<'_>,
) -> Result<Vec<AlleleCount>> {
    let n_var = source.n_variants();
    if n_var == 0 {
        return Err(Error::Invalid(format!(
            "{}: no variants",
            source.origin().display()
        )));
    }
    let sexes: Vec<Sex> = source.samples().iter().map(|s| s.sex).collect();
    let per_block = map_blocks(source, block_size, progress, |block| {
        block
            .variant_range()
            .enumerate()
            .map(|(j, v)| {
                let kind = source.variants()[v].chrom_kind();
                count_column(block.variant(j).iter().copied(), &sexes, kind)
            })
            .collect::<Vec<_>>()
    })?;
    Ok(per_block.into_iter().flatten().collect())
}

fn count_column(dosages: impl Iterator<Item = f32>, sexes: &[Sex], kind: ChromKind) -> AlleleCount {
    let mut alt = 0.0f64;
    let mut obs = 0u64;
    if kind == ChromKind::Autosome {
        // The hot path: every sample diploid.
        for d in dosages {
            if !d.is_nan() {
                alt += f64::from(d);
                obs += 2;
            }
        }
        return AlleleCount { alt, obs };
    }
    for (d, &sex) in dosages.zip(sexes) {
        if d.is_nan() {
            continue;
        }
        match ploidy(kind, sex) {
            Ploidy::Diploid => {
                alt += f64::from(d);
                obs += 2;
            }
            Ploidy::Haploid => {
                if d == 0.0 || d == 2.0 {
                    alt += f64::from(d) / 2.0;
                    obs += 1;
                }
            }
            Ploidy::Absent => {}
        }
    }
    AlleleCount { alt, obs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ploidy_rules() {
        let sexes = [Sex::Male, Sex::Female, Sex::Unknown, Sex::Male];
        let d = [2.0f32, 1.0, 0.0, 1.0];
        let auto = count_column(d.iter().copied(), &sexes, ChromKind::Autosome);
        assert_eq!((auto.alt, auto.obs), (4.0, 8));
        // X: male hom counts 1, male het is missing, others diploid.
        let x = count_column(d.iter().copied(), &sexes, ChromKind::X);
        assert_eq!((x.alt, x.obs), (2.0, 5));
        // Y: only males, het male missing.
        let y = count_column(d.iter().copied(), &sexes, ChromKind::Y);
        assert_eq!((y.alt, y.obs), (1.0, 1));
        let nan = count_column([f32::NAN].into_iter(), &sexes[..1], ChromKind::Autosome);
        assert!(nan.alt_freq().is_nan());
    }
}
