//! LD pruning: PLINK's `--indep-pairwise W S R2`, reproduced so that the kept set
//! is identical to `plink2 --indep-pairwise` (2.00a3) on the same input.
//!
//! How PLINK 2 does it, and so how this does:
//! - r² is the squared Pearson correlation of hard calls over the founders
//!   non-missing at both variants, computed from exact integer sums; a pair is in
//!   LD when `r² > R2` (strictly, with PLINK's relative slack of 2⁻⁴⁴);
//! - windows of `W` variants advance by `S` variants within each chromosome;
//!   variants enter a window in order, and a monomorphic one is pruned on entry;
//! - inside a window, sweeps go over each kept variant `a` and the kept variants
//!   after it, starting where `a` was last checked; for a pair in LD the variant
//!   with the lower minor-allele frequency goes (the later one on a tie), and the
//!   sweeps repeat until one removes nothing;
//! - a chromosome with a single variant keeps it untested; chromosome `0` variants
//!   are in neither list.
//!
//! On haploid chromosomes (Y, MT) heterozygous calls count as missing. On X,
//! males' heterozygous calls count as missing and every sample weighs the same
//! (PLINK 2 weighs non-males twice; see `docs/architecture.md`).

use std::collections::VecDeque;

use genolens_io::hardcall::{HET, HOM_ALLELE1, HOM_ALLELE2};
use genolens_io::{ChromKind, GenotypeSource, Sex};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::qc::Progress;

/// PLINK's relative slack on threshold and frequency comparisons.
const SMALL_EPSILON: f64 = 1.0 / (1u64 << 44) as f64;

/// `--indep-pairwise` parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndepPairwise {
    /// Window size in variants.
    pub window: usize,
    /// Variants the window advances by.
    pub step: usize,
    /// r² threshold, in `[0, 1)`.
    pub r2: f64,
}

impl IndepPairwise {
    /// Checks the parameters as PLINK 2 does.
    pub fn validate(&self) -> Result<()> {
        if self.window < 2 {
            return Err(Error::Invalid(format!(
                "--indep-pairwise window {} must be at least 2",
                self.window
            )));
        }
        if self.step == 0 || self.step > self.window {
            return Err(Error::Invalid(format!(
                "--indep-pairwise step {} must be between 1 and the window size {}",
                self.step, self.window
            )));
        }
        if !(0.0..1.0).contains(&self.r2) {
            return Err(Error::Invalid(format!(
                "--indep-pairwise r² threshold {} must be in [0, 1)",
                self.r2
            )));
        }
        Ok(())
    }
}

/// The outcome of LD pruning; indices into the source's variants, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneResult {
    /// Variants kept (`.prune.in`).
    pub kept: Vec<usize>,
    /// Variants pruned (`.prune.out`).
    pub pruned: Vec<usize>,
    /// Chromosome-0 variants, in neither list.
    pub ignored: Vec<usize>,
}

/// One variant's hard calls as bit sets over the samples: `plus` = homozygous
/// allele 1, `minus` = homozygous allele 2, `nm` = non-missing (so heterozygous =
/// `nm & !plus & !minus`).
struct Bits {
    plus: Vec<u64>,
    minus: Vec<u64>,
    nm: Vec<u64>,
    /// Frequency of the major allele over the non-missing calls.
    major_freq: f64,
    monomorphic: bool,
}

impl Bits {
    /// `double`: on chrX, the non-male samples (PLINK 2 counts them twice in
    /// r² and their two alleles in the frequency, a male's one).
    fn from_codes(bytes: &[u8], n: usize, het_missing: &[bool], double: Option<&[u64]>) -> Self {
        let words = n.div_ceil(64);
        let mut plus = vec![0u64; words];
        let mut minus = vec![0u64; words];
        let mut nm = vec![0u64; words];
        for i in 0..n {
            let code = (bytes[i / 4] >> (2 * (i % 4))) & 3;
            let (w, bit) = (i / 64, 1u64 << (i % 64));
            match code {
                HOM_ALLELE1 => {
                    plus[w] |= bit;
                    nm[w] |= bit;
                }
                HOM_ALLELE2 => {
                    minus[w] |= bit;
                    nm[w] |= bit;
                }
                HET if !het_missing[i] => nm[w] |= bit,
                _ => {}
            }
        }
        let count = |v: &[u64]| v.iter().map(|w| w.count_ones() as u64).sum::<u64>();
        let (p, m, k) = (count(&plus), count(&minus), count(&nm));
        let freq1 = match double {
            _ if k == 0 => 0.5,
            None => (2 * p + (k - p - m)) as f64 / (2 * k) as f64,
            Some(nonmale) => {
                // Non-males: two alleles each; males (hets already missing): one.
                let within = |v: &[u64]| {
                    v.iter()
                        .zip(nonmale)
                        .map(|(w, d)| (w & d).count_ones() as u64)
                        .sum::<u64>()
                };
                let (pf, mf, kf) = (within(&plus), within(&minus), within(&nm));
                let (pm, km) = (p - pf, k - kf);
                (2 * pf + (kf - pf - mf) + pm) as f64 / (2 * kf + km) as f64
            }
        };
        Self {
            plus,
            minus,
            nm,
            major_freq: freq1.max(1.0 - freq1),
            monomorphic: (p == 0 && m == 0) || p == k || m == k,
        }
    }
}

/// `r² > threshold` over the samples non-missing at both, from integer sums.
/// `double` (chrX): samples counted twice, as PLINK 2 weighs non-males.
fn in_ld(a: &Bits, b: &Bits, threshold: f64, double: Option<&[u64]>) -> bool {
    let (mut n, mut sa, mut sb, mut qa, mut qb, mut d) = (0i64, 0i64, 0i64, 0i64, 0i64, 0i64);
    for w in 0..a.nm.len() {
        let m = a.nm[w] & b.nm[w];
        if m == 0 {
            continue;
        }
        let (ap, am) = (a.plus[w] & m, a.minus[w] & m);
        let (bp, bm) = (b.plus[w] & m, b.minus[w] & m);
        let twice = double.map_or(0, |dbl| dbl[w]);
        let pc = |x: u64| i64::from(x.count_ones()) + i64::from((x & twice).count_ones());
        n += pc(m);
        sa += pc(ap) - pc(am);
        sb += pc(bp) - pc(bm);
        qa += pc(ap | am);
        qb += pc(bp | bm);
        d += pc(ap & bp) + pc(am & bm) - pc(ap & bm) - pc(am & bp);
    }
    let cov = (d * n - sa * sb) as f64;
    let va = (qa * n - sa * sa) as f64;
    let vb = (qb * n - sb * sb) as f64;
    cov * cov > threshold * va * vb
}

/// LD-prunes `source` as `plink2 --indep-pairwise` does, over all its samples
/// (pass founders only, as PLINK does, by giving a founder [`genolens_io::Subset`]).
///
/// Chromosomes are processed in parallel on the current rayon pool; variants of
/// one chromosome must be contiguous, as in any sorted `.bim`.
pub fn indep_pairwise<S: GenotypeSource + ?Sized>(
    source: &S,
    params: IndepPairwise,
    progress: Progress<'_>,
) -> Result<PruneResult> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    params.validate()?;
    let n = source.n_samples();
    if n < 2 {
        return Err(Error::Invalid(format!(
            "{}: LD pruning needs at least 2 samples, found {n}",
            source.origin().display()
        )));
    }
    let runs = chromosome_runs(source)?;
    let done = AtomicUsize::new(0);
    let per_chrom: Vec<(Vec<usize>, Vec<usize>, Vec<usize>)> = runs
        .par_iter()
        .map(|&(start, end)| -> Result<_> {
            let chrom = source.variants()[start].plink_chrom();
            let out = if chrom == "0" {
                (Vec::new(), Vec::new(), (start..end).collect())
            } else if end - start == 1 {
                (vec![start], Vec::new(), Vec::new())
            } else {
                let removed = prune_chromosome(source, start, end, params)?;
                let (kept, pruned): (Vec<usize>, Vec<usize>) =
                    (start..end).partition(|&v| !removed[v - start]);
                (kept, pruned, Vec::new())
            };
            progress(done.fetch_add(end - start, Ordering::Relaxed) + end - start);
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let mut result = PruneResult::default();
    for (k, p, i) in per_chrom {
        result.kept.extend(k);
        result.pruned.extend(p);
        result.ignored.extend(i);
    }
    Ok(result)
}

/// `(start, end)` of each chromosome's contiguous run of variants.
fn chromosome_runs<S: GenotypeSource + ?Sized>(source: &S) -> Result<Vec<(usize, usize)>> {
    let variants = source.variants();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=variants.len() {
        if i == variants.len() || variants[i].plink_chrom() != variants[start].plink_chrom() {
            runs.push((start, i));
            start = i;
        }
    }
    let mut seen = std::collections::HashSet::new();
    for &(s, _) in &runs {
        if !seen.insert(variants[s].plink_chrom()) {
            return Err(Error::Invalid(format!(
                "{}: chromosome {} appears in more than one run of variants; LD pruning \
                 needs variants sorted by chromosome",
                source.origin().display(),
                variants[s].plink_chrom()
            )));
        }
    }
    Ok(runs)
}

/// Variants of one chromosome as they are needed: loaded a block at a time ahead of
/// the window, dropped once the window has passed them.
struct WindowCache<'a, S: ?Sized> {
    source: &'a S,
    het_missing: Vec<bool>,
    double: Option<Vec<u64>>,
    first: usize,
    loaded: VecDeque<Bits>,
    end: usize,
}

impl<S: GenotypeSource + ?Sized> WindowCache<'_, S> {
    /// Loaded variants cover `[first, first + loaded.len())`; make sure `v` is in.
    fn ensure(&mut self, v: usize) -> Result<()> {
        const BLOCK: usize = 256;
        let n = self.source.n_samples();
        while self.first + self.loaded.len() <= v {
            let from = self.first + self.loaded.len();
            let to = (from + BLOCK).min(self.end);
            let block = self.source.read_hardcalls(from..to)?;
            for j in 0..block.n_variants() {
                self.loaded.push_back(Bits::from_codes(
                    block.variant(j),
                    n,
                    &self.het_missing,
                    self.double.as_deref(),
                ));
            }
        }
        Ok(())
    }

    fn get(&self, v: usize) -> &Bits {
        &self.loaded[v - self.first]
    }

    /// Forgets variants before `v`.
    fn drop_before(&mut self, v: usize) {
        while self.first < v && !self.loaded.is_empty() {
            self.loaded.pop_front();
            self.first += 1;
        }
    }
}

/// Prunes variants `start..end` (one chromosome); returns `removed[v - start]`.
fn prune_chromosome<S: GenotypeSource + ?Sized>(
    source: &S,
    start: usize,
    end: usize,
    params: IndepPairwise,
) -> Result<Vec<bool>> {
    let kind = source.variants()[start].chrom_kind();
    let het_missing: Vec<bool> = source
        .samples()
        .iter()
        .map(|s| match kind {
            ChromKind::Autosome => false,
            ChromKind::X => s.sex == Sex::Male,
            ChromKind::Y | ChromKind::Mt => true,
        })
        .collect();
    // chrX: non-males weigh twice (when there are any).
    let double: Option<Vec<u64>> = (kind == ChromKind::X).then(|| {
        let samples = source.samples();
        let mut bits = vec![0u64; samples.len().div_ceil(64)];
        for (i, s) in samples.iter().enumerate() {
            if s.sex != Sex::Male {
                bits[i / 64] |= 1u64 << (i % 64);
            }
        }
        bits
    });
    let threshold = params.r2 * (1.0 + SMALL_EPSILON);
    let n = end - start;
    let mut cache = WindowCache {
        source,
        het_missing,
        double,
        first: start,
        loaded: VecDeque::new(),
        end,
    };
    let mut removed = vec![false; n];
    // First partner not yet checked, per variant (chromosome-local index).
    let mut first_unchecked = vec![0usize; n];
    let mut window: Vec<usize> = Vec::new();
    let mut win_start = 0usize;
    let mut win_end = params.window.min(n);
    let mut next = 0usize;
    loop {
        while next < win_end {
            cache.ensure(start + next)?;
            if cache.get(start + next).monomorphic {
                removed[next] = true;
            } else {
                first_unchecked[next] = next + 1;
            }
            window.push(next);
            next += 1;
        }
        loop {
            let mut changed = false;
            for ai in 0..window.len() {
                let a = window[ai];
                if removed[a] {
                    continue;
                }
                // The first kept partner after `a` at or beyond its first unchecked.
                let mut bi = ai + 1;
                while bi < window.len() && (removed[window[bi]] || window[bi] < first_unchecked[a])
                {
                    bi += 1;
                }
                while bi < window.len() {
                    let b = window[bi];
                    let (ba, bb) = (cache.get(start + a), cache.get(start + b));
                    if in_ld(ba, bb, threshold, cache.double.as_deref()) {
                        changed = true;
                        if ba.major_freq > bb.major_freq * (1.0 + SMALL_EPSILON) {
                            removed[a] = true;
                        } else {
                            removed[b] = true;
                            let mut ci = bi + 1;
                            while ci < window.len() && removed[window[ci]] {
                                ci += 1;
                            }
                            first_unchecked[a] = window.get(ci).copied().unwrap_or(win_end);
                        }
                        break;
                    }
                    bi += 1;
                    while bi < window.len() && removed[window[bi]] {
                        bi += 1;
                    }
                }
                if bi >= window.len() && !removed[a] {
                    first_unchecked[a] = win_end;
                }
            }
            if !changed {
                break;
            }
        }
        if win_end == n {
            break;
        }
        win_start += params.step;
        win_end = (win_start + params.window).min(n);
        window.retain(|&v| !removed[v] && v >= win_start);
        cache.drop_before(start + win_start);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(calls: &[u8]) -> Bits {
        let n = calls.len();
        let mut bytes = vec![0u8; n.div_ceil(4)];
        for (i, &c) in calls.iter().enumerate() {
            bytes[i / 4] |= c << (2 * (i % 4));
        }
        Bits::from_codes(&bytes, n, &vec![false; n], None)
    }

    #[test]
    fn r2_uses_pairwise_complete_samples() {
        use genolens_io::hardcall::MISSING as M;
        let (a1, h, a2) = (HOM_ALLELE1, HET, HOM_ALLELE2);
        // Identical where both are called; the missing call must not count.
        let a = bits(&[a1, h, a2, a1, M]);
        let b = bits(&[a1, h, a2, a1, a2]);
        assert!(in_ld(&a, &b, 0.99, None));
        // Perfectly anti-correlated is r² = 1 too.
        let c = bits(&[a2, h, a1, a2, a1]);
        assert!(in_ld(&a, &c, 0.99, None));
        // Independent-looking pair.
        let d = bits(&[a1, a1, a2, a2, h]);
        let e = bits(&[a1, a2, a1, a2, h]);
        assert!(!in_ld(&d, &e, 0.2, None));
        assert!(bits(&[h, h, h]).monomorphic);
        assert!(bits(&[a1, M, a1]).monomorphic);
        assert!(!bits(&[a1, h, a1]).monomorphic);
    }

    #[test]
    fn parameters_are_checked() {
        let ok = IndepPairwise {
            window: 50,
            step: 5,
            r2: 0.2,
        };
        assert!(ok.validate().is_ok());
        assert!(IndepPairwise { step: 60, ..ok }.validate().is_err());
        assert!(IndepPairwise { r2: 1.0, ..ok }.validate().is_err());
        assert!(IndepPairwise { window: 1, ..ok }.validate().is_err());
    }
}
