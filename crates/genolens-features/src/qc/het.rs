//! Per-sample heterozygosity and the inbreeding coefficient F, as `plink2 --het`
//! computes them on autosomes.

use genolens_io::hardcall::MISSING;
use genolens_io::{ChromKind, GenotypeSource};
use rayon::prelude::*;

use super::counts::{LaneCounter, LANE_HET, LANE_MISSING};
use super::Progress;
use crate::error::{Error, Result};

/// One sample's row of a `.het` report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HetRow {
    /// Observed homozygous autosomal calls.
    pub observed_hom: u32,
    /// Homozygous calls expected under HWE: the sum of `1 - 2p(1-p)` over the
    /// sample's non-missing autosomal calls.
    pub expected_hom: f64,
    /// Non-missing autosomal calls.
    pub observed: u32,
    /// Method-of-moments F: `(O - E) / (N - E)`.
    pub f: f64,
}

/// Per-sample heterozygosity over autosomal variants, given each variant's
/// allele-1 frequency (`allele1_freq[v]`, from the same samples; variants with a
/// `NaN` frequency, or monomorphic, are skipped as PLINK 2 skips them).
pub fn heterozygosity<S: GenotypeSource + ?Sized>(
    source: &S,
    allele1_freq: &[f64],
    block_size: usize,
    progress: Progress<'_>,
) -> Result<Vec<HetRow>> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let n = source.n_samples();
    let n_var = source.n_variants();
    if allele1_freq.len() != n_var {
        return Err(Error::Invalid(format!(
            "{}: {} frequencies for {n_var} variants",
            source.origin().display(),
            allele1_freq.len()
        )));
    }
    let used: Vec<bool> = source
        .variants()
        .iter()
        .zip(allele1_freq)
        .map(|(v, p)| {
            // Monomorphic variants carry no heterozygosity information; PLINK 2
            // leaves them out of OBS_CT too.
            v.chrom_kind() == ChromKind::Autosome && !p.is_nan() && *p > 0.0 && *p < 1.0
        })
        .collect();
    let step = block_size.max(1);
    let starts: Vec<usize> = (0..n_var).step_by(step).collect();
    let done = AtomicUsize::new(0);

    struct Acc {
        het: LaneCounter,
        missing: LaneCounter,
        /// Expected homozygosity lost to each sample's missing calls.
        missing_expected: Vec<f64>,
        n_used: u32,
        expected_total: f64,
    }
    let new_acc = || Acc {
        het: LaneCounter::new(&LANE_HET, n),
        missing: LaneCounter::new(&LANE_MISSING, n),
        missing_expected: vec![0.0; n],
        n_used: 0,
        expected_total: 0.0,
    };
    let acc = starts
        .par_iter()
        .try_fold(new_acc, |mut acc, &start| -> Result<Acc> {
            let end = (start + step).min(n_var);
            let block = source.read_hardcalls(start..end)?;
            for (j, v) in block.variant_range().enumerate() {
                if !used[v] {
                    continue;
                }
                let p = allele1_freq[v];
                let e = 1.0 - 2.0 * p * (1.0 - p);
                acc.expected_total += e;
                acc.n_used += 1;
                let bytes = block.variant(j);
                acc.het.add(bytes);
                acc.missing.add(bytes);
                // Missing calls are rare: find them a byte at a time.
                for (k, &b) in bytes.iter().enumerate() {
                    if b & 0x55 & !(b >> 1) == 0 {
                        continue;
                    }
                    for slot in 0..4 {
                        if (b >> (2 * slot)) & 3 == MISSING {
                            acc.missing_expected[4 * k + slot] += e;
                        }
                    }
                }
            }
            progress(done.fetch_add(end - start, Ordering::Relaxed) + end - start);
            Ok(acc)
        })
        .try_reduce(new_acc, |a, b| {
            Ok(Acc {
                het: a.het.merge(b.het),
                missing: a.missing.merge(b.missing),
                missing_expected: a
                    .missing_expected
                    .iter()
                    .zip(&b.missing_expected)
                    .map(|(x, y)| x + y)
                    .collect(),
                n_used: a.n_used + b.n_used,
                expected_total: a.expected_total + b.expected_total,
            })
        })?;
    let het = acc.het.into_counts();
    let missing = acc.missing.into_counts();
    Ok((0..n)
        .map(|i| {
            let observed = acc.n_used - missing[i];
            let observed_hom = observed - het[i];
            let expected_hom = acc.expected_total - acc.missing_expected[i];
            let f = (f64::from(observed_hom) - expected_hom) / (f64::from(observed) - expected_hom);
            HetRow {
                observed_hom,
                expected_hom,
                observed,
                f,
            }
        })
        .collect())
}
