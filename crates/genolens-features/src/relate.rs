//! Relatedness: KING-robust kinship as `plink2 --make-king-table` computes it,
//! the unrelated set `--king-cutoff` keeps, and the genomic relationship matrix
//! of `plink2 --make-grm-bin` (GCTA's).
//!
//! Both statistics use the autosomes only, as PLINK 2 does; variants on other
//! chromosomes are skipped and counted in the summaries.
//!
//! KING counts, for each pair of samples, the variants where both are
//! heterozygous (`HETHET`), where they are opposite homozygotes (`IBS0`), where
//! one is heterozygous and the other homozygous, and where both are homozygous.
//! The counts come from bit planes (heterozygous, homozygous, homozygous for
//! allele 1) per sample and chunk of variants, five popcounts per word and
//! pair. Pairs are produced row by row in passes over the genotypes, so memory
//! is bounded by [`KingOptions::max_pairs_per_pass`] and not by `N²`.

use genolens_io::{ChromKind, GenotypeSource, HardCallBlock};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::qc::Progress;
use crate::scale::{Imputation, Scaling, Standardizer};

/// Variants per bit-plane chunk: 16 words of 64.
const CHUNK_WORDS: usize = 16;
const CHUNK_VARIANTS: usize = CHUNK_WORDS * 64;

/// The per-pair counts behind a KING-robust kinship coefficient, over the
/// autosomal variants where both samples have a call.
///
/// "First" is the sample of the later row (`ID1` in PLINK 2's table), "second"
/// the earlier one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KingPair {
    /// Both heterozygous.
    pub hethet: u32,
    /// Opposite homozygotes.
    pub ibs0: u32,
    /// The first heterozygous, the second homozygous.
    pub het_first_hom_second: u32,
    /// The first homozygous, the second heterozygous.
    pub hom_first_het_second: u32,
    /// Both homozygous (either allele).
    pub homhom: u32,
}

impl KingPair {
    /// Variants where both samples have a call (`NSNP`).
    pub fn nsnp(&self) -> u32 {
        self.hethet + self.het_first_hom_second + self.hom_first_het_second + self.homhom
    }

    /// The KING-robust between-family kinship coefficient, exactly as PLINK 2
    /// computes it: `0.5 − (4·IBS0 + N_het,hom + N_hom,het) / (4·(HETHET +
    /// min(N_het,hom, N_hom,het)))`. `-inf` when neither sample has a
    /// heterozygous call (inbred lines) and `NaN` when nothing is counted,
    /// as PLINK 2 prints them.
    pub fn kinship(&self) -> f64 {
        let ibs1 = f64::from(self.het_first_hom_second) + f64::from(self.hom_first_het_second);
        let smaller_het = u64::from(self.hethet)
            + u64::from(self.het_first_hom_second.min(self.hom_first_het_second));
        0.5 - (4.0 * f64::from(self.ibs0) + ibs1) / (4 * smaller_het) as f64
    }

    #[inline(always)]
    fn add(&mut self, a: &[u64], b: &[u64]) {
        let w = a.len() / 3;
        let (het_a, rest) = a.split_at(w);
        let (hom_a, one_a) = rest.split_at(w);
        let (het_b, rest) = b.split_at(w);
        let (hom_b, one_b) = rest.split_at(w);
        let (mut hh, mut i0, mut ab, mut ba, mut oo) = (0, 0, 0, 0, 0);
        for k in 0..w {
            let homhom = hom_a[k] & hom_b[k];
            hh += (het_a[k] & het_b[k]).count_ones();
            ab += (het_a[k] & hom_b[k]).count_ones();
            ba += (hom_a[k] & het_b[k]).count_ones();
            oo += homhom.count_ones();
            i0 += (homhom & (one_a[k] ^ one_b[k])).count_ones();
        }
        self.hethet += hh;
        self.ibs0 += i0;
        self.het_first_hom_second += ab;
        self.hom_first_het_second += ba;
        self.homhom += oo;
    }
}

/// Options of [`king`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KingOptions {
    /// At most this many pairs are counted per pass over the genotypes (20
    /// bytes each); more samples mean more passes, not more memory.
    pub max_pairs_per_pass: usize,
}

impl Default for KingOptions {
    fn default() -> Self {
        Self {
            max_pairs_per_pass: 1 << 24,
        }
    }
}

/// What [`king`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KingSummary {
    /// Samples.
    pub samples: usize,
    /// Autosomal variants counted.
    pub variants: usize,
    /// Variants skipped for not being autosomal.
    pub non_autosomal: usize,
    /// Passes over the genotypes.
    pub passes: usize,
}

fn autosomal<S: GenotypeSource + ?Sized>(source: &S) -> Vec<bool> {
    source
        .variants()
        .iter()
        .map(|v| v.chrom_kind() == ChromKind::Autosome)
        .collect()
}

/// Computes the KING counts of every pair of samples and hands them to `sink`
/// row by row: `sink(i, row)` with `row[j]` the pair `(i, j)` for every
/// `j < i`, rows in order `1, 2, …, N − 1` (PLINK 2's table order).
///
/// Progress counts variants read, over all passes.
pub fn king<S, F>(
    source: &S,
    options: &KingOptions,
    progress: Progress<'_>,
    mut sink: F,
) -> Result<KingSummary>
where
    S: GenotypeSource + ?Sized,
    F: FnMut(usize, &[KingPair]) -> Result<()>,
{
    let n = source.n_samples();
    if n < 2 {
        return Err(Error::Invalid(format!(
            "{}: KING kinship needs at least 2 samples, there are {n}",
            source.origin().display()
        )));
    }
    let keep = autosomal(source);
    let variants = keep.iter().filter(|&&k| k).count();
    if variants == 0 {
        return Err(Error::Invalid(format!(
            "{}: no autosomal variants for KING kinship",
            source.origin().display()
        )));
    }
    let budget = options.max_pairs_per_pass.max(1);
    let mut passes = 0;
    let mut done = 0;
    let mut r0 = 1;
    while r0 < n {
        // Rows r0..r1 hold (r1² − r1 − r0² + r0) / 2 pairs; take at least one row.
        let mut r1 = r0 + 1;
        while r1 < n && tri(r1 + 1) - tri(r0) <= budget {
            r1 += 1;
        }
        let mut counts = vec![KingPair::default(); tri(r1) - tri(r0)];
        let mut planes = vec![0u64; r1 * 3 * CHUNK_WORDS];
        for lo in (0..source.n_variants()).step_by(CHUNK_VARIANTS) {
            let hi = (lo + CHUNK_VARIANTS).min(source.n_variants());
            if keep[lo..hi].iter().any(|&k| k) {
                let calls = source.read_hardcalls(lo..hi)?;
                fill_planes(&calls, &keep[lo..hi], r1, &mut planes);
                count_rows(&planes, r0, r1, &mut counts);
            }
            done += hi - lo;
            progress(done);
        }
        for i in r0..r1 {
            let start = tri(i) - tri(r0);
            sink(i, &counts[start..start + i])?;
        }
        passes += 1;
        r0 = r1;
    }
    Ok(KingSummary {
        samples: n,
        variants,
        non_autosomal: source.n_variants() - variants,
        passes,
    })
}

/// Pairs in rows `0..r` of the strict lower triangle.
fn tri(r: usize) -> usize {
    r * r.saturating_sub(1) / 2
}

/// Bit planes of samples `0..n_rows` for one chunk: per sample `CHUNK_WORDS`
/// words each of heterozygous, homozygous, and homozygous-for-allele-1 bits.
/// Skipped variants and missing calls set no bit, so they count nowhere.
fn fill_planes(calls: &HardCallBlock, keep: &[bool], n_rows: usize, planes: &mut [u64]) {
    let per_sample = 3 * CHUNK_WORDS;
    planes[..n_rows * per_sample]
        .par_chunks_mut(64 * per_sample)
        .enumerate()
        .for_each(|(c, group)| {
            group.fill(0);
            let first = c * 64;
            for (t, _) in keep.iter().enumerate().filter(|(_, &k)| k) {
                let bytes = calls.variant(t);
                let (word, bit) = (t / 64, 1u64 << (t % 64));
                for (s, p) in group.chunks_mut(per_sample).enumerate() {
                    let i = first + s;
                    match (bytes[i / 4] >> (2 * (i % 4))) & 3 {
                        genolens_io::hardcall::HET => p[word] |= bit,
                        genolens_io::hardcall::HOM_ALLELE1 => {
                            p[CHUNK_WORDS + word] |= bit;
                            p[2 * CHUNK_WORDS + word] |= bit;
                        }
                        genolens_io::hardcall::HOM_ALLELE2 => p[CHUNK_WORDS + word] |= bit,
                        _ => {}
                    }
                }
            }
        });
}

/// Splits a row-major lower triangle holding rows `rows` into one slice per
/// row: row `i` has `i` entries, or `i + 1` with the diagonal.
fn triangle_rows<T>(
    buf: &mut [T],
    rows: std::ops::Range<usize>,
    diagonal: bool,
) -> Vec<(usize, &mut [T])> {
    let mut out = Vec::with_capacity(rows.len());
    let mut rest = buf;
    for i in rows {
        let (row, tail) = rest.split_at_mut(i + usize::from(diagonal));
        out.push((i, row));
        rest = tail;
    }
    out
}

/// Adds one chunk's counts to rows `r0..r1`, rows in parallel.
fn count_rows(planes: &[u64], r0: usize, r1: usize, counts: &mut [KingPair]) {
    triangle_rows(counts, r0..r1, false)
        .into_par_iter()
        .for_each(|(i, row)| {
            pulp::Arch::new().dispatch(RowPass { planes, i, row });
        });
}

/// One row of [`count_rows`], compiled for the CPU's instruction set: a
/// hardware popcount where there is one (the portable `count_ones` is a
/// dozen instructions).
struct RowPass<'a> {
    planes: &'a [u64],
    i: usize,
    row: &'a mut [KingPair],
}

impl pulp::WithSimd for RowPass<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let per_sample = 3 * CHUNK_WORDS;
        let a = &self.planes[self.i * per_sample..(self.i + 1) * per_sample];
        for (j, pair) in self.row.iter_mut().enumerate() {
            pair.add(a, &self.planes[j * per_sample..(j + 1) * per_sample]);
        }
    }
}

/// The samples `plink2 --king-cutoff` removes, given every pair whose kinship
/// exceeds the cutoff (`(i, j)` in any order, no duplicates needed).
///
/// PLINK 2's greedy rule, step for step so the kept set is the same: while
/// related pairs remain, if some sample has exactly one related partner left,
/// remove the partner of the first such sample; otherwise remove the first
/// sample with the most related partners. Returns `removed[i]`.
pub fn king_cutoff(n_samples: usize, related: &[(usize, usize)]) -> Vec<bool> {
    let mut partners: Vec<std::collections::BTreeSet<usize>> = vec![Default::default(); n_samples];
    for &(i, j) in related {
        if i != j {
            partners[i].insert(j);
            partners[j].insert(i);
        }
    }
    let mut removed = vec![false; n_samples];
    // Samples with related partners left, in index order.
    let mut live: std::collections::BTreeSet<usize> = (0..n_samples)
        .filter(|&i| !partners[i].is_empty())
        .collect();
    while !live.is_empty() {
        let prune = match live.iter().find(|&&i| partners[i].len() == 1) {
            Some(&one) => partners[one].iter().next().copied().unwrap_or(one),
            None => {
                let mut best = usize::MAX;
                let mut best_degree = 0;
                for &i in &live {
                    if partners[i].len() > best_degree {
                        best_degree = partners[i].len();
                        best = i;
                    }
                }
                best
            }
        };
        let gone = std::mem::take(&mut partners[prune]);
        for s in gone {
            partners[s].remove(&prune);
            if partners[s].is_empty() {
                live.remove(&s);
            }
        }
        live.remove(&prune);
        removed[prune] = true;
    }
    removed
}

/// One row of [`missing_counts`]' pairs, compiled for the CPU's instruction
/// set (a hardware popcount where there is one), as [`RowPass`].
struct MissingRowPass<'a> {
    planes: &'a [u64],
    i: usize,
    row: &'a mut [u32],
}

impl pulp::WithSimd for MissingRowPass<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let a = &self.planes[self.i * CHUNK_WORDS..(self.i + 1) * CHUNK_WORDS];
        for (j, c) in self.row.iter_mut().enumerate() {
            let b = &self.planes[j * CHUNK_WORDS..(j + 1) * CHUNK_WORDS];
            *c += a
                .iter()
                .zip(b)
                .map(|(x, y)| (x & y).count_ones())
                .sum::<u32>();
        }
    }
}

/// Options of [`grm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrmOptions {
    /// Divide each centred genotype by `√(2p(1−p))` (GCTA's and PLINK 2's
    /// default); `false` centres only (`--make-grm-bin cov`, GEMMA's `-gk 1`
    /// up to the factor of variants).
    pub standardize: bool,
    /// Divide each pair by the variants both samples have a call at
    /// (PLINK 2's default); `false` divides by all variants, missing calls
    /// mean-imputed (`meanimpute`).
    pub pairwise_missing: bool,
    /// Variants per block read.
    pub block_size: usize,
}

impl Default for GrmOptions {
    fn default() -> Self {
        Self {
            standardize: true,
            pairwise_missing: true,
            block_size: 2048,
        }
    }
}

/// A genomic relationship matrix: the lower triangle, diagonal included,
/// row by row (`(0,0), (1,0), (1,1), (2,0), …`), as GCTA stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grm {
    n_samples: usize,
    values: Vec<f64>,
    observations: Vec<u32>,
    /// Autosomal variants used (monomorphic ones included: they add zero).
    pub variants: usize,
    /// Variants skipped for not being autosomal.
    pub non_autosomal: usize,
    /// Whether some pair was divided by fewer variants for missing calls.
    pub missing_corrected: bool,
}

impl Grm {
    /// Samples.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// The relationship of samples `i` and `j` (either order).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (a, b) = if i >= j { (i, j) } else { (j, i) };
        self.values[a * (a + 1) / 2 + b]
    }

    /// The lower triangle, diagonal included, row by row.
    pub fn lower_triangle(&self) -> &[f64] {
        &self.values
    }

    /// Variants both samples have a call at, in the layout of
    /// [`lower_triangle`](Self::lower_triangle).
    pub fn observations(&self) -> &[u32] {
        &self.observations
    }

    /// The full symmetric `N × N` matrix, row-major.
    pub fn to_dense(&self) -> Vec<f64> {
        let n = self.n_samples;
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = self.get(i, j);
                out[i * n + j] = v;
                out[j * n + i] = v;
            }
        }
        out
    }
}

/// Computes the genomic relationship matrix `A = Z Zᵀ / M` of the autosomal
/// variants, `Z` the centred (and standardised) genotypes with missing calls
/// at the mean, as `plink2 --make-grm-bin` does. Allele frequencies come
/// from all samples of `source`.
pub fn grm<S: GenotypeSource + ?Sized>(
    source: &S,
    options: &GrmOptions,
    progress: Progress<'_>,
) -> Result<Grm> {
    use faer::linalg::matmul::triangular::{self, BlockStructure};
    use faer::{Accum, Mat};

    let n = source.n_samples();
    if n == 0 {
        return Err(Error::Invalid(format!(
            "{}: no samples for a relationship matrix",
            source.origin().display()
        )));
    }
    let keep = autosomal(source);
    let variants = keep.iter().filter(|&&k| k).count();
    if variants == 0 {
        return Err(Error::Invalid(format!(
            "{}: no autosomal variants for a relationship matrix",
            source.origin().display()
        )));
    }
    let scaling = if options.standardize {
        Scaling::Hwe
    } else {
        Scaling::None
    };
    let standardizer = Standardizer::fit(
        source,
        None,
        Imputation::Mean,
        scaling,
        options.block_size,
        &|_| {},
    )?;
    let used: Vec<usize> = (0..source.n_variants())
        .filter(|&v| keep[v] && standardizer.scale[v] > 0.0)
        .collect();
    let mut a = Mat::<f64>::zeros(n, n);
    if !used.is_empty() {
        crate::pca::stream_standardized(
            source,
            &standardizer,
            &used,
            options.block_size,
            progress,
            // The lower triangle only: half the flops of the full product.
            |x| {
                triangular::matmul(
                    a.as_mut(),
                    BlockStructure::TriangularLower,
                    Accum::Add,
                    x,
                    BlockStructure::Rectangular,
                    x.transpose(),
                    BlockStructure::Rectangular,
                    1.0,
                    crate::pca::par(),
                )
            },
        )?;
    }
    // Missing calls per sample and per pair, over every autosomal variant.
    let (missing, both_missing) = if options.pairwise_missing {
        missing_counts(source, &keep)?
    } else {
        (vec![0; n], vec![0; n * (n + 1) / 2])
    };
    let missing_corrected = missing.iter().any(|&m| m > 0);
    let m = variants as u32;
    let mut values = Vec::with_capacity(n * (n + 1) / 2);
    let mut observations = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in 0..=i {
            let k = i * (i + 1) / 2 + j;
            let obs = if i == j {
                m - missing[i]
            } else {
                m - missing[i] - missing[j] + both_missing[k]
            };
            observations.push(obs);
            values.push(a[(i, j)] / f64::from(obs));
        }
    }
    Ok(Grm {
        n_samples: n,
        values,
        observations,
        variants,
        non_autosomal: source.n_variants() - variants,
        missing_corrected,
    })
}

/// Per-sample missing calls and per-pair calls missing in both (lower
/// triangle with diagonal), over the kept variants.
fn missing_counts<S: GenotypeSource + ?Sized>(
    source: &S,
    keep: &[bool],
) -> Result<(Vec<u32>, Vec<u32>)> {
    let n = source.n_samples();
    let mut missing = vec![0u32; n];
    let mut both = vec![0u32; n * (n + 1) / 2];
    let mut planes = vec![0u64; n * CHUNK_WORDS];
    for lo in (0..source.n_variants()).step_by(CHUNK_VARIANTS) {
        let hi = (lo + CHUNK_VARIANTS).min(source.n_variants());
        if !keep[lo..hi].iter().any(|&k| k) {
            continue;
        }
        let calls = source.read_hardcalls(lo..hi)?;
        planes.fill(0);
        let mut any = false;
        for (t, _) in keep[lo..hi].iter().enumerate().filter(|(_, &k)| k) {
            let bytes = calls.variant(t);
            for i in 0..n {
                if (bytes[i / 4] >> (2 * (i % 4))) & 3 == genolens_io::hardcall::MISSING {
                    planes[i * CHUNK_WORDS + t / 64] |= 1 << (t % 64);
                    any = true;
                }
            }
        }
        if !any {
            continue;
        }
        for (i, m) in missing.iter_mut().enumerate() {
            *m += planes[i * CHUNK_WORDS..(i + 1) * CHUNK_WORDS]
                .iter()
                .map(|w| w.count_ones())
                .sum::<u32>();
        }
        triangle_rows(&mut both, 0..n, true)
            .into_par_iter()
            .for_each(|(i, row)| {
                pulp::Arch::new().dispatch(MissingRowPass {
                    planes: &planes,
                    i,
                    row,
                });
            });
    }
    Ok((missing, both))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{CohortSpec, SimulatedCohort};

    fn cohort(samples: usize, variants: usize, missing_rate: f64) -> SimulatedCohort {
        SimulatedCohort::new(CohortSpec {
            samples,
            variants,
            populations: 2,
            fst: 0.1,
            missing_rate,
            seed: 11,
        })
        .unwrap()
    }

    /// The dosage of every call (NaN when missing), samples × variants.
    fn dosages(c: &SimulatedCohort) -> Vec<Vec<f32>> {
        let block = c.read_block(0..c.n_variants()).unwrap();
        (0..c.n_samples())
            .map(|i| (0..c.n_variants()).map(|v| block.variant(v)[i]).collect())
            .collect()
    }

    #[test]
    fn bit_plane_counts_equal_a_direct_count_in_one_pass_or_many() {
        // 2,500 variants: three chunks, the last partial; missing calls too.
        let c = cohort(37, 2_500, 0.05);
        let d = dosages(&c);
        let collect = |max_pairs_per_pass| {
            let mut rows = Vec::new();
            let summary = king(
                &c,
                &KingOptions { max_pairs_per_pass },
                &|_| {},
                |i, row| {
                    assert_eq!(row.len(), i);
                    rows.push(row.to_vec());
                    Ok(())
                },
            )
            .unwrap();
            (rows, summary)
        };
        let (one, summary) = collect(1 << 20);
        assert_eq!(summary.passes, 1);
        let (many, summary_many) = collect(50);
        assert!(summary_many.passes > 5, "{summary_many:?}");
        assert_eq!(one, many);
        for (r, row) in one.iter().enumerate() {
            let i = r + 1;
            for (j, got) in row.iter().enumerate() {
                let mut want = KingPair::default();
                for (&a, &b) in d[i].iter().zip(&d[j]) {
                    if a.is_nan() || b.is_nan() {
                        continue;
                    }
                    match (a == 1.0, b == 1.0) {
                        (true, true) => want.hethet += 1,
                        (true, false) => want.het_first_hom_second += 1,
                        (false, true) => want.hom_first_het_second += 1,
                        (false, false) => {
                            want.homhom += 1;
                            want.ibs0 += u32::from(a != b);
                        }
                    }
                }
                assert_eq!(*got, want, "pair ({i}, {j})");
            }
        }
    }

    #[test]
    fn grm_equals_the_direct_formula_with_pairwise_missingness() {
        let c = cohort(23, 700, 0.1);
        let d = dosages(&c);
        let m = c.n_variants();
        let g = grm(&c, &GrmOptions::default(), &|_| {}).unwrap();
        assert!(g.missing_corrected);
        let mut z = vec![vec![0.0f64; m]; d.len()];
        for v in 0..m {
            let called: Vec<f64> = d
                .iter()
                .map(|r| r[v])
                .filter(|x| !x.is_nan())
                .map(f64::from)
                .collect();
            let mean = called.iter().sum::<f64>() / called.len() as f64;
            let sd = (2.0 * (mean / 2.0) * (1.0 - mean / 2.0)).sqrt();
            for (i, r) in d.iter().enumerate() {
                if !r[v].is_nan() && sd > 0.0 {
                    z[i][v] = (f64::from(r[v]) - mean) / sd;
                }
            }
        }
        for i in 0..d.len() {
            for j in 0..=i {
                let both = (0..m)
                    .filter(|&v| !d[i][v].is_nan() && !d[j][v].is_nan())
                    .count();
                let want = (0..m).map(|v| z[i][v] * z[j][v]).sum::<f64>() / both as f64;
                assert!((g.get(i, j) - want).abs() < 1e-12, "({i}, {j})");
                assert_eq!(g.get(j, i), g.get(i, j));
                assert_eq!(g.observations()[i * (i + 1) / 2 + j] as usize, both);
            }
        }
    }

    #[test]
    fn kinship_edge_cases_follow_plink2() {
        // No heterozygous call in either sample: -inf (inbred lines).
        let inbred = KingPair {
            ibs0: 3,
            homhom: 10,
            ..Default::default()
        };
        assert_eq!(inbred.kinship(), f64::NEG_INFINITY);
        assert!(KingPair::default().kinship().is_nan());
        // Identical heterozygous profiles: kinship 1/2 (duplicates).
        let twins = KingPair {
            hethet: 40,
            homhom: 60,
            ..Default::default()
        };
        assert_eq!(twins.kinship(), 0.5);
        assert_eq!(twins.nsnp(), 100);
    }

    #[test]
    fn cutoff_removes_partner_of_degree_one_first() {
        // A chain 0-1-2: sample 0 has one partner (1), so 1 goes and 0, 2 stay.
        assert_eq!(king_cutoff(3, &[(1, 0), (2, 1)]), vec![false, true, false]);
        // A triangle: no degree-1 sample; the first of the most connected goes
        // (0), which leaves 1-2 with degree one each: 1's partner (2) goes.
        assert_eq!(
            king_cutoff(4, &[(0, 1), (0, 2), (1, 2)]),
            vec![true, false, true, false]
        );
    }
}
