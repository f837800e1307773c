//! One streaming pass over packed hard calls that yields every count PLINK 2's
//! `--freq`, `--hardy` and `--missing` reports are made of.
//!
//! Counting works on the 2-bit codes without decoding: per variant, popcounts on
//! 64-bit words; per sample, the (rare) missing bits are walked one by one. The
//! `--het` pass uses byte-lane counters instead (`LaneCounter`), since
//! heterozygous calls are common.

use genolens_io::hardcall::{HardCallBlock, HET, HOM_ALLELE1, HOM_ALLELE2, MISSING};
use genolens_io::{ChromKind, GenotypeSource, Sex};
use rayon::prelude::*;

use super::{ploidy, Ploidy, Progress};
use crate::error::{Error, Result};

/// Hard-call counts of one variant over a group of samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Homozygous allele-1 (counted allele) calls.
    pub hom_allele1: u32,
    /// Heterozygous calls.
    pub het: u32,
    /// Homozygous allele-2 calls.
    pub hom_allele2: u32,
    /// Missing calls.
    pub missing: u32,
}

impl CallCounts {
    /// Non-missing calls.
    pub fn observed(&self) -> u32 {
        self.hom_allele1 + self.het + self.hom_allele2
    }

    /// All calls, missing included.
    pub fn total(&self) -> u32 {
        self.observed() + self.missing
    }

    fn add_code(&mut self, code: u8) {
        match code {
            HOM_ALLELE1 => self.hom_allele1 += 1,
            HET => self.het += 1,
            HOM_ALLELE2 => self.hom_allele2 += 1,
            _ => self.missing += 1,
        }
    }
}

/// Hard-call counts of one variant, split by how PLINK 2 counts each sample's
/// alleles there: diploid samples (everyone on autosomes, non-males on X) and
/// haploid samples (males on X and Y, everyone on MT). Females on Y are in neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VariantCalls {
    /// Samples counted with two alleles.
    pub diploid: CallCounts,
    /// Samples counted with one allele; their heterozygous calls count as missing
    /// allele observations.
    pub haploid: CallCounts,
}

impl VariantCalls {
    /// Copies of allele 1 and allele observations, as `plink2 --freq` counts them.
    pub fn allele1_count(&self) -> (u64, u64) {
        let d = &self.diploid;
        let h = &self.haploid;
        let alt = 2 * u64::from(d.hom_allele1) + u64::from(d.het) + u64::from(h.hom_allele1);
        let obs = 2 * u64::from(d.observed()) + u64::from(h.hom_allele1 + h.hom_allele2);
        (alt, obs)
    }

    /// The row `genolens_io::report::write_afreq` prints for this variant.
    pub fn afreq_row(&self) -> genolens_io::report::AlleleFreqRow {
        genolens_io::report::AlleleFreqRow {
            alt_freq: self.allele1_freq(),
            obs_ct: self.allele1_count().1,
        }
    }

    /// Allele-1 frequency; `NaN` when nothing was observed.
    pub fn allele1_freq(&self) -> f64 {
        let (alt, obs) = self.allele1_count();
        if obs == 0 {
            f64::NAN
        } else {
            alt as f64 / obs as f64
        }
    }

    /// Missing calls over the samples that have a genotype here (`.vmiss`).
    pub fn missing(&self) -> u32 {
        self.diploid.missing + self.haploid.missing
    }

    /// Samples that have a genotype here, missing or not (`.vmiss` `OBS_CT`).
    pub fn samples(&self) -> u32 {
        self.diploid.total() + self.haploid.total()
    }
}

/// Per-sample counts from the same pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleCalls {
    /// Missing calls over the variants where the sample has a genotype.
    pub missing: u32,
    /// Variants where the sample has a genotype (all but Y for non-males).
    pub total: u32,
}

impl SampleCalls {
    /// Missing calls / variants with a genotype; `NaN` when there are none.
    pub fn missing_rate(&self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            f64::from(self.missing) / f64::from(self.total)
        }
    }
}

/// Per-variant and per-sample counts of one pass over a source.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTally {
    /// One entry per variant, in source order.
    pub variants: Vec<VariantCalls>,
    /// One entry per sample, in source order.
    pub samples: Vec<SampleCalls>,
}

/// Lane tables: for byte `b`, a `u32` whose byte `k` is 1 when sample slot `k`
/// holds the code.
const fn lane_table(code: u8) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 4 {
            if ((b >> (2 * k)) & 3) as u8 == code {
                t[b] |= 1 << (8 * k);
            }
            k += 1;
        }
        b += 1;
    }
    t
}

pub(crate) static LANE_MISSING: [u32; 256] = lane_table(MISSING);
pub(crate) static LANE_HET: [u32; 256] = lane_table(HET);

const EVEN_BITS: u64 = 0x5555_5555_5555_5555;

/// Counts of one diploid variant from its packed bytes (padding bits zero, so
/// padding reads as homozygous allele 1 and is subtracted via `n_samples`), adding
/// one to `missing_per_sample[i]` for each sample `i` missing here.
///
/// 32 genotypes per 64-bit word. Heterozygous and homozygous-allele-2 calls are
/// counted with SWAR adds (the portable x86-64 baseline has no `popcnt`, and the
/// emulated one would dominate); missing bits are rare and walked one by one,
/// which gives both the per-sample counts and the variant's missing count.
fn count_packed(bytes: &[u8], n_samples: u32, missing_per_sample: &mut [u32]) -> CallCounts {
    const M33: u64 = 0x3333_3333_3333_3333;
    const M0F: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    let word = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    // 2-bit lanes of three words (≤ 3 each) → byte lanes (≤ 12 per group).
    let to_bytes = |s: u64| {
        let t = (s & M33) + ((s >> 2) & M33);
        (t & M0F) + ((t >> 4) & M0F)
    };
    let mut missing = 0u32;
    let mut walk_missing = |mut m: u64, first_sample: usize| {
        while m != 0 {
            missing_per_sample[first_sample + (m.trailing_zeros() / 2) as usize] += 1;
            missing += 1;
            m &= m - 1;
        }
    };
    let (mut het, mut hom2) = (0u32, 0u32);
    let (mut het_bytes, mut hom2_bytes, mut groups) = (0u64, 0u64, 0u32);
    let mut triples = bytes.chunks_exact(24);
    for (k, c) in (&mut triples).enumerate() {
        let (mut h, mut a2) = (0u64, 0u64);
        for part in 0..3 {
            let w = word(&c[8 * part..8 * part + 8]);
            let lo = w & EVEN_BITS;
            let hi = (w >> 1) & EVEN_BITS;
            h += hi & !lo;
            a2 += lo & hi;
            let m = lo & !hi;
            if m != 0 {
                walk_missing(m, 96 * k + 32 * part);
            }
        }
        het_bytes += to_bytes(h);
        hom2_bytes += to_bytes(a2);
        groups += 1;
        // Byte lanes take 21 groups of at most 12 before they could overflow.
        if groups == 21 {
            het += horizontal_sum(het_bytes);
            hom2 += horizontal_sum(hom2_bytes);
            (het_bytes, hom2_bytes, groups) = (0, 0, 0);
        }
    }
    het += horizontal_sum(het_bytes);
    hom2 += horizontal_sum(hom2_bytes);
    let done = bytes.len() / 24 * 24;
    for (k, &b) in triples.remainder().iter().enumerate() {
        let w = u64::from(b);
        let lo = w & EVEN_BITS;
        let hi = (w >> 1) & EVEN_BITS;
        het += (hi & !lo).count_ones();
        hom2 += (lo & hi).count_ones();
        walk_missing(lo & !hi, 4 * (done + k));
    }
    CallCounts {
        hom_allele1: n_samples - het - missing - hom2,
        het,
        hom_allele2: hom2,
        missing,
    }
}

/// Sum of the eight byte lanes of `b`.
#[inline]
fn horizontal_sum(b: u64) -> u32 {
    let pairs = (b & 0x00ff_00ff_00ff_00ff) + ((b >> 8) & 0x00ff_00ff_00ff_00ff);
    (pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48) as u32
}

/// Per-sample counters of one code, four samples to a `u32` (a byte each), added
/// a whole `.bed` byte at a time and flushed to wide counters before a byte lane
/// can overflow.
pub(crate) struct LaneCounter {
    table: &'static [u32; 256],
    lanes: Vec<u32>,
    pending: u32,
    counts: Vec<u32>,
}

impl LaneCounter {
    pub(crate) fn new(table: &'static [u32; 256], n: usize) -> Self {
        Self {
            table,
            lanes: vec![0; n.div_ceil(4)],
            pending: 0,
            counts: vec![0; n],
        }
    }

    pub(crate) fn flush(&mut self) {
        if self.pending == 0 {
            return;
        }
        for (i, c) in self.counts.iter_mut().enumerate() {
            *c += (self.lanes[i / 4] >> (8 * (i % 4))) & 0xff;
        }
        self.lanes.fill(0);
        self.pending = 0;
    }

    /// Adds one variant's packed bytes.
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        for (l, &b) in self.lanes.iter_mut().zip(bytes) {
            *l += self.table[b as usize];
        }
        self.pending += 1;
        // A byte lane holds 255 before it overflows.
        if self.pending == 255 {
            self.flush();
        }
    }

    pub(crate) fn merge(mut self, mut other: Self) -> Self {
        self.flush();
        other.flush();
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self
    }

    pub(crate) fn into_counts(mut self) -> Vec<u32> {
        self.flush();
        self.counts
    }
}

/// Counts hard calls per variant and per sample in one streaming pass over
/// `source`, in parallel over blocks of `block_size` variants on the current rayon
/// pool.
///
/// Per-variant counts follow PLINK 2's ploidy rules ([`VariantCalls`]); per-sample
/// `total` counts every variant except Y for non-males, as `plink2 --missing` does.
pub fn count_calls<S: GenotypeSource + ?Sized>(
    source: &S,
    block_size: usize,
    progress: Progress<'_>,
) -> Result<CallTally> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let n_var = source.n_variants();
    let n = source.n_samples();
    if n_var == 0 {
        return Err(Error::Invalid(format!(
            "{}: no variants",
            source.origin().display()
        )));
    }
    if n == 0 {
        return Err(Error::Invalid(format!(
            "{}: no samples",
            source.origin().display()
        )));
    }
    let sexes: Vec<Sex> = source.samples().iter().map(|s| s.sex).collect();
    let kinds: Vec<ChromKind> = source.variants().iter().map(|v| v.chrom_kind()).collect();
    // Packed blocks are small; keeping each under glibc's mmap threshold (128 KiB)
    // lets the allocator reuse memory instead of faulting in fresh pages per block.
    let step = block_size.clamp(1, (96 * 1024 / n.div_ceil(4)).max(1));
    let starts: Vec<usize> = (0..n_var).step_by(step).collect();
    let done = AtomicUsize::new(0);
    let n32 = n as u32;

    let (blocks, acc) = starts
        .par_iter()
        .try_fold(
            || (Vec::new(), vec![0u32; n]),
            |(mut out, mut acc), &start| -> Result<_> {
                let end = (start + step).min(n_var);
                let block = source.read_hardcalls(start..end)?;
                let counts = count_block(&block, &kinds, &sexes, n32, &mut acc);
                out.push((start, counts));
                let so_far = done.fetch_add(end - start, Ordering::Relaxed) + end - start;
                progress(so_far);
                Ok((out, acc))
            },
        )
        .try_reduce(
            || (Vec::new(), vec![0u32; n]),
            |(mut a, mut acc_a), (b, acc_b)| {
                a.extend(b);
                acc_a.iter_mut().zip(&acc_b).for_each(|(x, y)| *x += y);
                Ok((a, acc_a))
            },
        )?;
    let missing = acc;
    let mut blocks = blocks;
    blocks.sort_unstable_by_key(|(start, _)| *start);
    let variants: Vec<VariantCalls> = blocks.into_iter().flat_map(|(_, c)| c).collect();

    // Every sample has a genotype at every variant but Y for non-males.
    let n_y = kinds.iter().filter(|k| **k == ChromKind::Y).count() as u32;
    let samples = missing
        .into_iter()
        .zip(&sexes)
        .map(|(missing, &sex)| SampleCalls {
            missing,
            total: n_var as u32 - if sex == Sex::Male { 0 } else { n_y },
        })
        .collect();
    Ok(CallTally { variants, samples })
}

fn count_block(
    block: &HardCallBlock,
    kinds: &[ChromKind],
    sexes: &[Sex],
    n: u32,
    missing: &mut [u32],
) -> Vec<VariantCalls> {
    block
        .variant_range()
        .enumerate()
        .map(|(j, v)| {
            let bytes = block.variant(j);
            if kinds[v] == ChromKind::Autosome {
                VariantCalls {
                    diploid: count_packed(bytes, n, missing),
                    haploid: CallCounts::default(),
                }
            } else {
                count_by_ploidy(block, j, kinds[v], sexes, missing)
            }
        })
        .collect()
}

/// The slow path for X, Y and MT: each sample's ploidy decides where it counts.
fn count_by_ploidy(
    block: &HardCallBlock,
    j: usize,
    kind: ChromKind,
    sexes: &[Sex],
    missing: &mut [u32],
) -> VariantCalls {
    let mut calls = VariantCalls::default();
    for (i, &sex) in sexes.iter().enumerate() {
        let code = block.code(i, j);
        let group = match ploidy(kind, sex) {
            Ploidy::Diploid => &mut calls.diploid,
            Ploidy::Haploid => &mut calls.haploid,
            Ploidy::Absent => continue,
        };
        group.add_code(code);
        if code == MISSING {
            missing[i] += 1;
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use genolens_io::GenotypeBlock;

    fn block_of(dosages: &[f32]) -> HardCallBlock {
        let mut b = GenotypeBlock::missing(0, dosages.len(), 1);
        b.variant_mut(0).copy_from_slice(dosages);
        HardCallBlock::from_dosages(&b)
    }

    #[test]
    fn packed_counts_match_a_direct_count_for_every_length() {
        // Lengths around word and byte boundaries, so padding handling is exercised.
        for n in [
            1usize, 3, 4, 5, 31, 32, 33, 63, 64, 65, 95, 96, 97, 129, 2017, 2100, 5000,
        ] {
            let d: Vec<f32> = (0..n)
                .map(|i| match (i * 7 + n) % 5 {
                    0 => 0.0,
                    1 => 1.0,
                    2 => 2.0,
                    3 => f32::NAN,
                    _ => 1.0,
                })
                .collect();
            let b = block_of(&d);
            let mut per_sample = vec![0u32; n];
            let got = count_packed(b.variant(0), n as u32, &mut per_sample);
            let mut want = CallCounts::default();
            for &x in &d {
                want.add_code(genolens_io::hardcall::dosage_code(x).expect("valid dosage"));
            }
            assert_eq!(got, want, "n = {n}");
            let want_missing: Vec<u32> = d.iter().map(|x| u32::from(x.is_nan())).collect();
            assert_eq!(per_sample, want_missing, "n = {n}");
        }
    }

    #[test]
    fn sample_lanes_survive_more_than_255_variants() {
        let n = 6;
        let mut missing = LaneCounter::new(&LANE_MISSING, n);
        let mut het = LaneCounter::new(&LANE_HET, n);
        // Sample 0 missing, sample 1 het, at 600 variants: lanes must flush.
        let b = block_of(&[f32::NAN, 1.0, 2.0, 0.0, 2.0, 2.0]);
        for _ in 0..600 {
            missing.add(b.variant(0));
            het.add(b.variant(0));
        }
        assert_eq!(missing.into_counts(), vec![600, 0, 0, 0, 0, 0]);
        assert_eq!(het.into_counts(), vec![0, 600, 0, 0, 0, 0]);
    }
}
