//! The genotype abstraction every algorithm streams from.

use std::ops::Range;
use std::path::Path;

use ndarray::{Array2, ArrayView1, ArrayView2, ShapeBuilder};

use crate::error::{Error, Result};
use crate::hardcall::HardCallBlock;
use crate::record::{Sample, Variant};

/// A dense block of dosages: all samples of a source × a contiguous range of its
/// variants.
///
/// Dosages count copies of each variant's `allele1` (0, 1, 2 for hard calls; any
/// value in `[0, 2]` for imputed dosages). A missing call is `NaN`, so the missing
/// mask travels with the values and no silent imputation can happen. The array is
/// column-major (one contiguous column per variant), the layout per-variant
/// statistics and GEMM tiles want.
///
/// Two blocks are equal when they cover the same variants and hold the same calls,
/// a missing call being equal to a missing call (unlike `NaN == NaN`).
#[derive(Debug, Clone)]
pub struct GenotypeBlock {
    first_variant: usize,
    dosages: Array2<f32>,
}

impl GenotypeBlock {
    /// A block of `n_samples × n_variants` dosages, all missing, whose first column is
    /// variant `first_variant` of its source.
    pub fn missing(first_variant: usize, n_samples: usize, n_variants: usize) -> Self {
        Self {
            first_variant,
            dosages: Array2::from_elem((n_samples, n_variants).f(), f32::NAN),
        }
    }

    /// The source's index of the block's first variant.
    pub fn first_variant(&self) -> usize {
        self.first_variant
    }

    /// The source's variant indices this block covers.
    pub fn variant_range(&self) -> Range<usize> {
        self.first_variant..self.first_variant + self.n_variants()
    }

    /// Number of samples (rows).
    pub fn n_samples(&self) -> usize {
        self.dosages.nrows()
    }

    /// Number of variants (columns).
    pub fn n_variants(&self) -> usize {
        self.dosages.ncols()
    }

    /// All dosages, samples × variants, `NaN` where missing.
    pub fn dosages(&self) -> ArrayView2<'_, f32> {
        self.dosages.view()
    }

    /// The dosages of the block's `j`-th variant (not the source's index).
    pub fn variant(&self, j: usize) -> ArrayView1<'_, f32> {
        self.dosages.column(j)
    }

    /// Every dosage, variant after variant (`n_samples` values each): the
    /// block's storage, for decoders that fill variants in parallel.
    pub fn variant_major_mut(&mut self) -> &mut [f32] {
        self.dosages
            .as_slice_memory_order_mut()
            .expect("GenotypeBlock is always stored column-major and contiguous")
    }

    /// Mutable access to the `j`-th variant's column as a slice.
    pub fn variant_mut(&mut self, j: usize) -> &mut [f32] {
        let n = self.n_samples();
        let data = self
            .dosages
            .as_slice_memory_order_mut()
            .expect("GenotypeBlock is always stored column-major and contiguous");
        &mut data[j * n..(j + 1) * n]
    }

    /// `true` where a call is missing.
    pub fn missing_mask(&self) -> Array2<bool> {
        self.dosages.mapv(f32::is_nan)
    }

    /// The dosage array itself.
    pub fn into_dosages(self) -> Array2<f32> {
        self.dosages
    }
}

impl PartialEq for GenotypeBlock {
    fn eq(&self, other: &Self) -> bool {
        self.first_variant == other.first_variant
            && self.dosages.dim() == other.dosages.dim()
            && self
                .dosages
                .iter()
                .zip(other.dosages.iter())
                .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
    }
}

/// A set of samples × variants whose genotypes can be read one variant, or one
/// block of variants, at a time.
///
/// Implementations: [`crate::plink::BedFile`] (streams from disk),
/// [`crate::vcf::VcfGenotypes`] (a parsed VCF) and [`Subset`] (a view on another
/// source). Algorithms take `&dyn GenotypeSource` or a generic and stream blocks, so
/// a biobank-sized file never has to be held in memory as floats.
pub trait GenotypeSource: Send + Sync {
    /// The samples, in the order of the dosage rows.
    fn samples(&self) -> &[Sample];

    /// The variants, in the order of the dosage columns.
    fn variants(&self) -> &[Variant];

    /// The file the genotypes come from, for messages.
    fn origin(&self) -> &Path;

    /// Variant records of the input that loading left out by the format's
    /// rules (PLINK: a negative base-pair position in the `.bim`), for the
    /// log. 0 by default.
    fn skipped_on_load(&self) -> usize {
        0
    }

    /// The file the variants are listed in (a `.bim`, a `.pvar`), for
    /// messages; [`origin`](Self::origin) by default.
    fn variants_origin(&self) -> &Path {
        self.origin()
    }

    /// Decodes variant `variant` for every sample into `out` (`out.len()` must be
    /// the number of samples), `NaN` where missing.
    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> Result<()>;

    /// Decodes variant `variant` for the samples at `samples` (indices into
    /// [`samples`](Self::samples)) into `out` (`out.len() == samples.len()`).
    ///
    /// The default decodes all samples and gathers; sources that can decode a
    /// subset directly override it.
    fn read_variant_subset_into(
        &self,
        variant: usize,
        samples: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        let mut all = vec![0.0; self.n_samples()];
        self.read_variant_into(variant, &mut all)?;
        for (o, &s) in out.iter_mut().zip(samples) {
            *o = all[s];
        }
        Ok(())
    }

    /// Number of samples.
    fn n_samples(&self) -> usize {
        self.samples().len()
    }

    /// Number of variants.
    fn n_variants(&self) -> usize {
        self.variants().len()
    }

    /// Decodes the variants in `range` for every sample.
    fn read_block(&self, range: Range<usize>) -> Result<GenotypeBlock> {
        check_range(self.origin(), &range, self.n_variants())?;
        let mut block = GenotypeBlock::missing(range.start, self.n_samples(), range.len());
        for (j, v) in range.enumerate() {
            self.read_variant_into(v, block.variant_mut(j))?;
        }
        Ok(block)
    }

    /// The hard calls of the variants in `range`, two bits per genotype.
    ///
    /// The default hard-calls [`read_block`](Self::read_block)'s dosages; PLINK
    /// sources override it to hand out their bytes without decoding.
    fn read_hardcalls(&self, range: Range<usize>) -> Result<HardCallBlock> {
        Ok(HardCallBlock::from_dosages(&self.read_block(range)?))
    }

    /// `true` when [`read_hardcalls`](Self::read_hardcalls) loses nothing: every
    /// genotype is a hard call (0, 1, 2 or missing), as in a `.bed`. Kernels may
    /// then work on the packed calls instead of dosages.
    fn hardcalls_exact(&self) -> bool {
        false
    }
}

/// Checks a one-variant read request: `variant` among `n_variants`, and an
/// output of `got` values for `n_samples` samples.
pub(crate) fn check_variant_request(
    origin: &Path,
    variant: usize,
    n_variants: usize,
    got: usize,
    n_samples: usize,
) -> Result<()> {
    if variant >= n_variants || got != n_samples {
        return Err(Error::request(
            origin,
            format!(
                "variant {variant} into {got} values: the file has {n_variants} variants x \
                 {n_samples} samples"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check_range(origin: &Path, range: &Range<usize>, n: usize) -> Result<()> {
    if range.start > range.end || range.end > n {
        return Err(Error::request(
            origin,
            format!(
                "variant range {}..{} is outside the {n} variants",
                range.start, range.end
            ),
        ));
    }
    Ok(())
}

/// Implements [`GenotypeSource`] for a pointer type by forwarding every method, so
/// overridden fast paths (`read_hardcalls`, ...) survive the indirection.
macro_rules! forward_genotype_source {
    ($($ptr:ty),*) => {$(
        impl<S: GenotypeSource + ?Sized> GenotypeSource for $ptr {
            fn samples(&self) -> &[Sample] {
                (**self).samples()
            }
            fn variants(&self) -> &[Variant] {
                (**self).variants()
            }
            fn origin(&self) -> &Path {
                (**self).origin()
            }
            fn skipped_on_load(&self) -> usize {
                (**self).skipped_on_load()
            }
            fn variants_origin(&self) -> &Path {
                (**self).variants_origin()
            }
            fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> Result<()> {
                (**self).read_variant_into(variant, out)
            }
            fn read_variant_subset_into(
                &self,
                variant: usize,
                samples: &[usize],
                out: &mut [f32],
            ) -> Result<()> {
                (**self).read_variant_subset_into(variant, samples, out)
            }
            fn read_block(&self, range: Range<usize>) -> Result<GenotypeBlock> {
                (**self).read_block(range)
            }
            fn read_hardcalls(&self, range: Range<usize>) -> Result<HardCallBlock> {
                (**self).read_hardcalls(range)
            }
            fn hardcalls_exact(&self) -> bool {
                (**self).hardcalls_exact()
            }
        }
    )*};
}

forward_genotype_source!(&S, Box<S>);

/// Iterates over a source in consecutive blocks of at most `block_size` variants.
///
/// ```no_run
/// # use genolens_io::{plink::BedFile, blocks};
/// # fn main() -> Result<(), genolens_io::Error> {
/// let bed = BedFile::open("cohort")?;
/// for block in blocks(&bed, 1024) {
///     let block = block?;
///     // ... per-variant work on block.variant(j)
/// }
/// # Ok(()) }
/// ```
pub fn blocks<S: GenotypeSource + ?Sized>(
    source: &S,
    block_size: usize,
) -> impl Iterator<Item = Result<GenotypeBlock>> + '_ {
    let n = source.n_variants();
    let step = block_size.max(1);
    (0..n)
        .step_by(step)
        .map(move |start| source.read_block(start..(start + step).min(n)))
}

/// A view on another source restricted to some samples and some variants, in the
/// order given.
#[derive(Debug, Clone)]
pub struct Subset<S> {
    inner: S,
    sample_idx: Option<Vec<usize>>,
    variant_idx: Vec<usize>,
    samples: Vec<Sample>,
    variants: Vec<Variant>,
}

impl<S: GenotypeSource> Subset<S> {
    /// Restricts `inner` to the samples at `samples` and the variants at `variants`
    /// (indices into `inner`; `None` keeps all, in order).
    pub fn new(
        inner: S,
        samples: Option<Vec<usize>>,
        variants: Option<Vec<usize>>,
    ) -> Result<Self> {
        let check = |idx: &[usize], n: usize, what: &str| -> Result<()> {
            if let Some(&bad) = idx.iter().find(|&&i| i >= n) {
                return Err(Error::request(
                    inner.origin(),
                    format!("{what} index {bad} is outside the {n} {what}s"),
                ));
            }
            Ok(())
        };
        if let Some(s) = &samples {
            check(s, inner.n_samples(), "sample")?;
        }
        let variant_idx = variants.unwrap_or_else(|| (0..inner.n_variants()).collect());
        check(&variant_idx, inner.n_variants(), "variant")?;
        let sample_meta = match &samples {
            Some(s) => s.iter().map(|&i| inner.samples()[i].clone()).collect(),
            None => inner.samples().to_vec(),
        };
        let variant_meta = variant_idx
            .iter()
            .map(|&i| inner.variants()[i].clone())
            .collect();
        Ok(Self {
            inner,
            sample_idx: samples,
            variant_idx,
            samples: sample_meta,
            variants: variant_meta,
        })
    }

    /// The source this view reads from.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: GenotypeSource> GenotypeSource for Subset<S> {
    fn samples(&self) -> &[Sample] {
        &self.samples
    }
    fn variants(&self) -> &[Variant] {
        &self.variants
    }
    fn origin(&self) -> &Path {
        self.inner.origin()
    }
    fn variants_origin(&self) -> &Path {
        self.inner.variants_origin()
    }
    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> Result<()> {
        let Some(&v) = self.variant_idx.get(variant) else {
            return Err(Error::request(
                self.origin(),
                format!(
                    "variant index {variant} is outside the {} variants",
                    self.variant_idx.len()
                ),
            ));
        };
        match &self.sample_idx {
            Some(s) => self.inner.read_variant_subset_into(v, s, out),
            None => self.inner.read_variant_into(v, out),
        }
    }

    fn read_hardcalls(&self, range: Range<usize>) -> Result<HardCallBlock> {
        check_range(self.origin(), &range, self.n_variants())?;
        let n = self.n_samples();
        let stride = n.div_ceil(4);
        let mut bytes = vec![0u8; stride * range.len()];
        // Runs of consecutive inner variants are read as one block.
        let idx = &self.variant_idx[range.clone()];
        let mut j = 0;
        while j < idx.len() {
            let mut end = j + 1;
            while end < idx.len() && idx[end] == idx[end - 1] + 1 {
                end += 1;
            }
            let inner = self.inner.read_hardcalls(idx[j]..idx[end - 1] + 1)?;
            for k in 0..end - j {
                let out = &mut bytes[(j + k) * stride..(j + k + 1) * stride];
                let src = inner.variant(k);
                match &self.sample_idx {
                    None => out.copy_from_slice(src),
                    Some(samples) => {
                        for (i, &s) in samples.iter().enumerate() {
                            let code = (src[s / 4] >> (2 * (s % 4))) & 3;
                            out[i / 4] |= code << (2 * (i % 4));
                        }
                    }
                }
            }
            j = end;
        }
        HardCallBlock::from_packed(range.start, n, bytes).ok_or_else(|| {
            Error::request(self.origin(), "hard-call block size mismatch".to_string())
        })
    }

    fn hardcalls_exact(&self) -> bool {
        self.inner.hardcalls_exact()
    }
}
