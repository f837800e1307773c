//! Principal components of standardised genotypes, as `plink2 --pca` computes
//! them: the eigenvectors of the genomic relationship matrix `X Xᵀ / M`, where
//! `X` holds the `M` used variants standardised with the HWE variance and missing
//! calls mean-imputed.
//!
//! Two methods:
//! - [`PcaMethod::Exact`] builds the `N × N` matrix block by block and
//!   eigendecomposes it (faer), for up to a few thousand samples;
//! - [`PcaMethod::Randomized`] is a randomized block Krylov method (Halko,
//!   Martinsson & Tropp 2011; Musco & Musco 2015) that streams the genotypes once
//!   per iteration and never forms an `N × N` matrix: the role of `plink2 --pca
//!   approx`, which also works from a Krylov matrix.
//!
//! Both return eigenvalues, eigenvectors (per-sample scores of unit norm, as
//! PLINK prints them) and variant loadings, with which new samples are projected.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par, Side};
use genolens_io::{ChromKind, GenotypeSource, Variant};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::qc::Progress;
use crate::scale::{Imputation, Scaling, Standardizer};

/// How the components are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcaMethod {
    /// Eigendecomposition of the full relationship matrix.
    Exact,
    /// Randomized blocked SVD.
    Randomized {
        /// Extra dimensions beyond the components asked for.
        oversample: usize,
        /// Krylov iterations: passes over the data before the final one.
        power_iterations: usize,
        /// Seed of the random start: the same seed gives the same bytes.
        seed: u64,
    },
}

impl PcaMethod {
    /// The randomized method with its defaults: 10 extra dimensions (at least as
    /// many as asked for) and 5 Krylov iterations, so 7 passes over the data
    /// including the loadings.
    pub fn randomized(seed: u64) -> Self {
        Self::Randomized {
            oversample: 10,
            power_iterations: 5,
            seed,
        }
    }
}

/// Which variants enter the PCA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PcaVariants {
    /// Autosomes (and unplaced contigs), as PLINK 2 does: X, Y and MT are left out.
    #[default]
    Autosomal,
    /// Every variant.
    All,
}

/// PCA settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PcaOptions {
    /// Number of components.
    pub components: usize,
    /// Exact or randomized.
    pub method: PcaMethod,
    /// Variant selection.
    pub variants: PcaVariants,
    /// Variants per streamed block.
    pub block_size: usize,
}

impl PcaOptions {
    /// `components` PCs by `method`, autosomal variants, 512-variant blocks.
    pub fn new(components: usize, method: PcaMethod) -> Self {
        Self {
            components,
            method,
            variants: PcaVariants::Autosomal,
            block_size: 512,
        }
    }
}

/// A fitted PCA.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Eigenvalues of `X Xᵀ / M`, largest first.
    pub eigenvalues: Vec<f64>,
    /// Per-sample eigenvectors (`n_samples × k`), unit norm per column, each
    /// column's largest-magnitude entry positive.
    pub eigenvectors: Mat<f64>,
    /// Variant loadings (`n_used × k`), unit norm per column: the right singular
    /// vectors of `X`.
    pub loadings: Mat<f64>,
    /// Indices (into the fitted source's variants) of the variants used.
    pub used_variants: Vec<usize>,
    /// The standardisation fitted on the training samples (all source variants).
    pub standardizer: Standardizer,
}

impl Pca {
    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.eigenvalues.len()
    }

    /// Sample `i`'s score on each component.
    pub fn sample_scores(&self, i: usize) -> Vec<f64> {
        (0..self.n_components())
            .map(|k| self.eigenvectors[(i, k)])
            .collect()
    }

    /// Projects the samples of `source` (same variants, same alleles, in the same
    /// order as the fitted source) onto the components, in the eigenvector scale:
    /// projecting the training samples returns [`eigenvectors`](Self::eigenvectors).
    pub fn project<S: GenotypeSource + ?Sized>(
        &self,
        source: &S,
        progress: Progress<'_>,
    ) -> Result<Mat<f64>> {
        self.standardizer.check_variants(source.variants())?;
        let k = self.n_components();
        let m = self.used_variants.len() as f64;
        let mut scores = Mat::<f64>::zeros(source.n_samples(), k);
        let mut row = 0;
        stream_standardized(
            source,
            &self.standardizer,
            &self.used_variants,
            512,
            progress,
            |x| {
                let rows = row..row + x.ncols();
                row += x.ncols();
                matmul(
                    scores.as_mut(),
                    Accum::Add,
                    x,
                    self.loadings.subrows(rows.start, rows.len()),
                    1.0,
                    par(),
                );
            },
        )?;
        // v = x·w / s with s_k = sqrt(M λ_k).
        for kk in 0..k {
            let s = (m * self.eigenvalues[kk]).sqrt();
            for i in 0..scores.nrows() {
                scores[(i, kk)] /= s;
            }
        }
        Ok(scores)
    }
}

pub(crate) fn par() -> Par {
    match std::num::NonZeroUsize::new(rayon::current_num_threads()) {
        Some(n) if n.get() > 1 => Par::Rayon(n),
        _ => Par::Seq,
    }
}

/// Computes the top `options.components` principal components of `source`.
///
/// Variants without spread (monomorphic or all missing) are left out, as PLINK 2
/// leaves them out of its relationship matrix.
pub fn pca<S: GenotypeSource + ?Sized>(
    source: &S,
    options: &PcaOptions,
    progress: Progress<'_>,
) -> Result<Pca> {
    let n = source.n_samples();
    let k = options.components;
    if k == 0 {
        return Err(Error::Invalid("--pca needs at least 1 component".into()));
    }
    let standardizer = Standardizer::fit(
        source,
        None,
        Imputation::Mean,
        Scaling::Hwe,
        options.block_size,
        &|_| {},
    )?;
    let used: Vec<usize> = source
        .variants()
        .iter()
        .enumerate()
        .filter(|(v, var)| standardizer.scale[*v] > 0.0 && included(var, options.variants))
        .map(|(v, _)| v)
        .collect();
    // The rank of X is at most min(N - 1, M) once centred.
    let limit = n.saturating_sub(1).min(used.len());
    if k > limit {
        return Err(Error::Invalid(format!(
            "{}: {k} principal components asked for, but {n} samples and {} usable \
             variants allow at most {limit}",
            source.origin().display(),
            used.len()
        )));
    }
    let (eigenvalues, eigenvectors) = match options.method {
        PcaMethod::Exact => exact(source, &standardizer, &used, options, progress)?,
        PcaMethod::Randomized {
            oversample,
            power_iterations,
            seed,
        } => randomized(
            source,
            &standardizer,
            &used,
            options,
            oversample.max(k),
            power_iterations,
            seed,
            progress,
        )?,
    };
    let mut result = Pca {
        eigenvalues,
        eigenvectors,
        loadings: Mat::zeros(0, 0),
        used_variants: used,
        standardizer,
    };
    result.loadings = loadings(source, &result, options.block_size)?;
    Ok(result)
}

fn included(v: &Variant, which: PcaVariants) -> bool {
    match which {
        PcaVariants::All => true,
        PcaVariants::Autosomal => v.chrom_kind() == ChromKind::Autosome,
    }
}

/// Streams the `used` variants in blocks, hands each standardised block
/// (`n_samples × block`) to `f` in order.
pub(crate) fn stream_standardized<S, F>(
    source: &S,
    standardizer: &Standardizer,
    used: &[usize],
    block_size: usize,
    progress: Progress<'_>,
    mut f: F,
) -> Result<()>
where
    S: GenotypeSource + ?Sized,
    F: FnMut(MatRef<'_, f64>),
{
    let n = source.n_samples();
    let step = block_size.max(1);
    let mut x = Mat::<f64>::zeros(n, step);
    let mut done = 0;
    for chunk in used.chunks(step) {
        // Used variants are sorted; read the covering range once.
        let (lo, hi) = (chunk[0], chunk[chunk.len() - 1] + 1);
        let cols: Vec<(usize, &mut [f64])> = chunk
            .iter()
            .copied()
            .zip(
                x.col_iter_mut()
                    .map(|c| c.try_as_col_major_mut().map(|c| c.as_slice_mut())),
            )
            .filter_map(|(v, c)| c.map(|c| (v, c)))
            .collect();
        if source.hardcalls_exact() {
            let calls = source.read_hardcalls(lo..hi)?;
            cols.into_par_iter().for_each(|(v, out)| {
                let table = code_values(standardizer, v);
                let bytes = calls.variant(v - lo);
                for (i, o) in out.iter_mut().enumerate() {
                    *o = table[((bytes[i / 4] >> (2 * (i % 4))) & 3) as usize];
                }
            });
        } else {
            let block = source.read_block(lo..hi)?;
            cols.into_par_iter().for_each(|(v, out)| {
                let d: Vec<f32> = block.variant(v - lo).iter().copied().collect();
                standardizer.standardize_column(v, &d, out);
            });
        }
        f(x.subcols(0, chunk.len()));
        done += chunk.len();
        progress(done);
    }
    Ok(())
}

/// The standardised value of each 2-bit code of variant `v`.
fn code_values(s: &Standardizer, v: usize) -> [f64; 4] {
    let mut t = [0.0; 4];
    let mut out = [0.0f64; 1];
    for (code, d) in [(0usize, 2.0f32), (1, f32::NAN), (2, 1.0), (3, 0.0)] {
        s.standardize_column(v, &[d], &mut out);
        t[code] = out[0];
    }
    t
}

/// Top-`k` eigenpairs of a symmetric matrix, largest first, signs fixed.
fn top_eigen(a: MatRef<'_, f64>, k: usize) -> Result<(Vec<f64>, Mat<f64>)> {
    let evd = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::Invalid(format!("eigendecomposition failed: {e:?}")))?;
    let n = a.nrows();
    let s = evd.S();
    let u = evd.U();
    let mut values = Vec::with_capacity(k);
    let mut vectors = Mat::<f64>::zeros(n, k);
    for j in 0..k {
        let src = n - 1 - j;
        values.push(s[src]);
        for i in 0..n {
            vectors[(i, j)] = u[(i, src)];
        }
    }
    Ok((values, vectors))
}

/// Makes each column's largest-magnitude entry positive, so output is stable.
fn fix_signs(v: &mut Mat<f64>) {
    for j in 0..v.ncols() {
        let mut best = 0.0f64;
        for i in 0..v.nrows() {
            if v[(i, j)].abs() > best.abs() {
                best = v[(i, j)];
            }
        }
        if best < 0.0 {
            for i in 0..v.nrows() {
                v[(i, j)] = -v[(i, j)];
            }
        }
    }
}

fn exact<S: GenotypeSource + ?Sized>(
    source: &S,
    standardizer: &Standardizer,
    used: &[usize],
    options: &PcaOptions,
    progress: Progress<'_>,
) -> Result<(Vec<f64>, Mat<f64>)> {
    let n = source.n_samples();
    let mut grm = Mat::<f64>::zeros(n, n);
    stream_standardized(
        source,
        standardizer,
        used,
        options.block_size,
        progress,
        |x| {
            matmul(grm.as_mut(), Accum::Add, x, x.transpose(), 1.0, par());
        },
    )?;
    let m = used.len() as f64;
    for j in 0..n {
        for i in 0..n {
            grm[(i, j)] /= m;
        }
    }
    let (values, mut vectors) = top_eigen(grm.as_ref(), options.components)?;
    fix_signs(&mut vectors);
    Ok((values, vectors))
}

/// Orthonormal basis of the columns of `h` (thin QR).
fn orthonormalize(h: &Mat<f64>) -> Mat<f64> {
    h.qr().compute_thin_Q()
}

#[allow(clippy::too_many_arguments)]
fn randomized<S: GenotypeSource + ?Sized>(
    source: &S,
    standardizer: &Standardizer,
    used: &[usize],
    options: &PcaOptions,
    oversample: usize,
    power_iterations: usize,
    seed: u64,
    progress: Progress<'_>,
) -> Result<(Vec<f64>, Mat<f64>)> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let n = source.n_samples();
    let k = options.components;
    let l = (k + oversample).min(n).max(k);
    let m = used.len();
    // Gaussian start from the seeded stream (Box–Muller), in column order.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = Mat::<f64>::zeros(n, l);
    for j in 0..l {
        for i in 0..n {
            g[(i, j)] = standard_normal(&mut rng);
        }
    }
    let pass = AtomicUsize::new(0);
    let progress_pass = |done: usize| progress(pass.load(Ordering::Relaxed) * m + done);
    let block = options.block_size.max(1);

    // Block Krylov subspace [Q0, A Q0, A² Q0, …] with A = X Xᵀ (Musco & Musco
    // 2015): every pass's block is kept, which converges far faster than plain
    // subspace iteration when eigenvalues are close, as in genotype data.
    let mut krylov: Vec<Mat<f64>> = vec![orthonormalize(&g)];
    let mut z = Mat::<f64>::zeros(block, l);
    for _ in 0..power_iterations {
        let q = krylov.last().map(|q| q.as_ref()).unwrap_or(g.as_ref());
        let mut h = Mat::<f64>::zeros(n, l);
        stream_standardized(source, standardizer, used, block, &progress_pass, |x| {
            let zb = xt_times(&mut z, x, q);
            matmul(h.as_mut(), Accum::Add, x, zb, 1.0, par());
        })?;
        krylov.push(orthonormalize(&h));
        pass.fetch_add(1, Ordering::Relaxed);
    }
    let width = (krylov.len() * l).min(n);
    let mut stacked = Mat::<f64>::zeros(n, krylov.len() * l);
    for (b, q) in krylov.iter().enumerate() {
        stacked.subcols_mut(b * l, l).copy_from(q.as_ref());
    }
    let q = orthonormalize(&stacked);
    let q = q.subcols(0, width.min(q.ncols()));
    let w = q.ncols();
    // T = Qᵀ X Xᵀ Q, whose eigenpairs rotate Q onto the components.
    let mut t = Mat::<f64>::zeros(w, w);
    let mut z = Mat::<f64>::zeros(block, w);
    stream_standardized(source, standardizer, used, block, &progress_pass, |x| {
        let zb = xt_times(&mut z, x, q);
        matmul(t.as_mut(), Accum::Add, zb.transpose(), zb, 1.0, par());
    })?;
    let (theta, r) = top_eigen(t.as_ref(), k)?;
    let mut vectors = Mat::<f64>::zeros(n, k);
    matmul(vectors.as_mut(), Accum::Replace, q, r.as_ref(), 1.0, par());
    fix_signs(&mut vectors);
    let values = theta.iter().map(|x| x / m as f64).collect();
    Ok((values, vectors))
}

/// `Xᵀ q` for one block `x` (`n_samples × b`), written into the first `b` rows of
/// the scratch `z` and returned as a view of them.
fn xt_times<'z>(z: &'z mut Mat<f64>, x: MatRef<'_, f64>, q: MatRef<'_, f64>) -> MatRef<'z, f64> {
    let b = x.ncols();
    matmul(
        z.subrows_mut(0, b),
        Accum::Replace,
        x.transpose(),
        q,
        1.0,
        par(),
    );
    z.as_ref().subrows(0, b)
}

/// `w = Xᵀ v / sqrt(M λ)`, one more pass.
fn loadings<S: GenotypeSource + ?Sized>(
    source: &S,
    p: &Pca,
    block_size: usize,
) -> Result<Mat<f64>> {
    let k = p.n_components();
    let m = p.used_variants.len();
    let mut w = Mat::<f64>::zeros(m, k);
    let mut row = 0;
    stream_standardized(
        source,
        &p.standardizer,
        &p.used_variants,
        block_size,
        &|_| {},
        |x| {
            let b = x.ncols();
            matmul(
                w.subrows_mut(row, b),
                Accum::Replace,
                x.transpose(),
                p.eigenvectors.as_ref(),
                1.0,
                par(),
            );
            row += b;
        },
    )?;
    for kk in 0..k {
        let s = (m as f64 * p.eigenvalues[kk]).sqrt();
        let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
        for i in 0..m {
            w[(i, kk)] *= inv;
        }
    }
    Ok(w)
}

/// A standard normal draw by Box–Muller from two uniform `u64`s.
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // 53-bit uniforms in (0, 1].
    let u1 = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
