//! Two-locus haplotype frequencies from unphased genotypes, and the phased r²
//! they give: what PLINK 1.9's `--clump` (and `--r2 dprime`) measures LD with,
//! as opposed to the genotype correlation that LD pruning uses.
//!
//! The only ambiguous genotypes are double heterozygotes: each carries either the
//! haplotypes 11 + 22 or 12 + 21. The maximum-likelihood split of them is a root
//! of a cubic (the fixed point of the EM update, solved directly); roots outside
//! `[0, double hets]` are dropped and the rest compared by likelihood as PLINK 1.9
//! compares them.

use genolens_io::hardcall::{HET, HOM_ALLELE1, HOM_ALLELE2};

/// Genotype counts of two variants over the samples called at both: entry
/// `3·a + b` counts samples with `a` copies of variant 1's counted allele and `b`
/// of variant 2's.
pub type GenotypeTable = [u32; 9];

/// Tallies [`GenotypeTable`] from two variants' packed hard calls (the `.bed`
/// layout of [`genolens_io::HardCallBlock`]), over the samples where `keep` is
/// true.
pub fn genotype_table(a: &[u8], b: &[u8], keep: &[bool]) -> GenotypeTable {
    let copies = |code: u8| match code {
        HOM_ALLELE1 => Some(2usize),
        HET => Some(1),
        HOM_ALLELE2 => Some(0),
        _ => None,
    };
    let mut table = [0u32; 9];
    for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
        let shift = 2 * (i % 4);
        let (ca, cb) = ((a[i / 4] >> shift) & 3, (b[i / 4] >> shift) & 3);
        if let (Some(x), Some(y)) = (copies(ca), copies(cb)) {
            table[3 * x + y] += 1;
        }
    }
    table
}

/// One variant's hard calls as three bit sets (allele-1 homozygous,
/// heterozygous, allele-2 homozygous), restricted to the kept samples: a
/// [`GenotypeTable`] of two variants is then nine AND + popcount passes over 32
/// samples a word, instead of a branch per sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallClasses {
    // Bit 2k of word w is sample 32w + k, PLINK's packed layout spread out.
    hom1: Vec<u64>,
    het: Vec<u64>,
    hom2: Vec<u64>,
}

/// The even bit of every 2-bit slot.
const EVEN: u64 = 0x5555_5555_5555_5555;

impl CallClasses {
    /// From one variant's packed calls (the `.bed` layout) and the kept samples'
    /// mask from [`CallClasses::keep_mask`].
    pub fn from_packed(packed: &[u8], keep: &[u64]) -> Self {
        let words = keep.len();
        let (mut hom1, mut het, mut hom2) = (
            Vec::with_capacity(words),
            Vec::with_capacity(words),
            Vec::with_capacity(words),
        );
        let word = |w: usize| -> u64 {
            match packed.get(w * 8..(w + 1) * 8) {
                Some(full) => u64::from_le_bytes(full.try_into().expect("8 bytes")),
                None => {
                    // The last, partial word.
                    let mut bytes = [0u8; 8];
                    let tail = packed.get(w * 8..).unwrap_or(&[]);
                    bytes[..tail.len()].copy_from_slice(tail);
                    u64::from_le_bytes(bytes)
                }
            }
        };
        for (w, &k) in keep.iter().enumerate() {
            let x = word(w);
            let (lo, hi) = (x & EVEN, (x >> 1) & EVEN);
            // Codes: 00 allele-1 homozygous, 01 missing, 10 het, 11 allele-2 hom.
            hom1.push(!lo & !hi & k);
            het.push(hi & !lo & k);
            hom2.push(hi & lo & k);
        }
        Self { hom1, het, hom2 }
    }

    /// The spread mask of the samples to count (`keep[i]` for sample `i`).
    pub fn keep_mask(keep: &[bool]) -> Vec<u64> {
        let mut mask = vec![0u64; keep.len().div_ceil(32)];
        for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
            mask[i / 32] |= 1 << (2 * (i % 32));
        }
        mask
    }

    /// The [`GenotypeTable`] of this variant against `other`.
    pub fn table(&self, other: &Self) -> GenotypeTable {
        pulp::Arch::new().dispatch(TablePass { a: self, b: other })
    }
}

/// [`CallClasses::table`]'s loop, compiled for the CPU's instruction set (a
/// hardware popcount where there is one).
struct TablePass<'a> {
    a: &'a CallClasses,
    b: &'a CallClasses,
}

impl pulp::WithSimd for TablePass<'_> {
    type Output = GenotypeTable;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> GenotypeTable {
        // Table index 3·copies(a) + copies(b); hom1 = 2 copies.
        let rows = [&self.a.hom2, &self.a.het, &self.a.hom1];
        let cols = [&self.b.hom2, &self.b.het, &self.b.hom1];
        let mut table = [0u32; 9];
        for (x, row) in rows.iter().enumerate() {
            for (y, col) in cols.iter().enumerate() {
                table[3 * x + y] = row
                    .iter()
                    .zip(col.iter())
                    .map(|(u, v)| (u & v).count_ones())
                    .sum();
            }
        }
        table
    }
}

/// Haplotype frequencies (11, 12, 21, 22) maximising the likelihood of the
/// table, or `None` when either variant is monomorphic there or nothing is
/// counted.
pub fn haplotype_frequencies(table: &GenotypeTable) -> Option<[f64; 4]> {
    let c = table.map(f64::from);
    // Haplotypes known without phase ambiguity (indices: 3·a + b with a, b the
    // copies of allele 1 at each variant; 2 copies = allele 1 homozygous).
    let k11 = 2.0 * c[8] + c[7] + c[5];
    let k12 = 2.0 * c[6] + c[7] + c[3];
    let k21 = 2.0 * c[2] + c[5] + c[1];
    let k22 = 2.0 * c[0] + c[3] + c[1];
    let h = c[4];
    let n = k11 + k12 + k21 + k22 + 2.0 * h;
    if n == 0.0 {
        return None;
    }
    let (allele1_a, allele1_b) = (k11 + k12 + h, k11 + k21 + h);
    if allele1_a == 0.0 || allele1_a == n || allele1_b == 0.0 || allele1_b == n {
        return None;
    }
    let freqs = |x: f64| {
        [
            (k11 + x) / n,
            (k12 + h - x) / n,
            (k21 + h - x) / n,
            (k22 + x) / n,
        ]
    };
    if h == 0.0 {
        return Some(freqs(0.0));
    }
    // x double hets as 11/22 is an EM fixed point when
    //   x [(k11+x)(k22+x) + (k12+h−x)(k21+h−x)] = h (k11+x)(k22+x),
    // a cubic in x.
    let a2 = k11 + k22 - k12 - k21 - 3.0 * h;
    let a1 = k11 * k22 + (k12 + h) * (k21 + h) - h * (k11 + k22);
    let a0 = -h * k11 * k22;
    let loglik = |x: f64| {
        let [f11, f12, f21, f22] = freqs(x);
        let term = |k: f64, f: f64| if k > 0.0 { k * f.ln() } else { 0.0 };
        term(k11, f11)
            + term(k12, f12)
            + term(k21, f21)
            + term(k22, f22)
            + h * (f11 * f22 + f12 * f21).ln()
    };
    // PLINK 1.9 keeps roots within 2⁻³⁵ (in frequency units) of the interval.
    let slack = n / (1u64 << 35) as f64;
    let candidates: Vec<f64> = cubic_real_roots(0.5 * a2, 0.5 * a1, 0.5 * a0)
        .into_iter()
        .filter(|&x| x > -slack && x < h + slack)
        .map(|x| x.clamp(0.0, h))
        .collect();
    let first = *candidates.first()?;
    // As PLINK 1.9 does: a later root replaces the choice when it beats the
    // first root's likelihood (the reference is not updated).
    let reference = loglik(first);
    let mut chosen = first;
    for &x in &candidates[1..] {
        if loglik(x) > reference {
            chosen = x;
        }
    }
    Some(freqs(chosen))
}

/// Phased r² of two variants, signed like D (`|D|·D / (p₁q₁p₂q₂)`), from
/// [`haplotype_frequencies`]; `None` when either is monomorphic in the table.
pub fn phased_r2(table: &GenotypeTable) -> Option<f64> {
    let [f11, f12, f21, _] = haplotype_frequencies(table)?;
    let (p, q) = (f11 + f12, f11 + f21);
    let d = f11 - p * q;
    if d.abs() < 1.0 / (1u64 << 44) as f64 {
        return Some(0.0);
    }
    Some(d.abs() * d / (p * (1.0 - p) * q * (1.0 - q)))
}

/// Real roots of `x³ + a x² + b x + c`, ascending (a double root once).
fn cubic_real_roots(a: f64, b: f64, c: f64) -> Vec<f64> {
    // Depressed cubic t³ + p t + q with x = t − a/3 (Cardano / Viète).
    let shift = a / 3.0;
    let p = b - a * a / 3.0;
    let q = 2.0 * a * a * a / 27.0 - a * b / 3.0 + c;
    let disc = (q / 2.0).powi(2) + (p / 3.0).powi(3);
    let mut roots = if disc > 0.0 {
        let s = disc.sqrt();
        vec![(-q / 2.0 + s).cbrt() + (-q / 2.0 - s).cbrt() - shift]
    } else if p == 0.0 {
        vec![-shift]
    } else {
        // Three real roots (two coincide when disc = 0): trigonometric form.
        let r = (-p / 3.0).sqrt();
        let cos = (3.0 * q / (2.0 * p * r)).clamp(-1.0, 1.0);
        let theta = cos.acos() / 3.0;
        (0..3)
            .map(|k| {
                2.0 * r * (theta - 2.0 * std::f64::consts::PI * f64::from(k) / 3.0).cos() - shift
            })
            .collect()
    };
    roots.sort_by(f64::total_cmp);
    roots.dedup_by(|x, y| (*x - *y).abs() <= 1e-12 * y.abs().max(1.0));
    // One Newton polish each: the closed forms lose digits near double roots.
    for x in &mut roots {
        let f = ((*x + a) * *x + b) * *x + c;
        let df = (3.0 * *x + 2.0 * a) * *x + b;
        if df != 0.0 {
            *x -= f / df;
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table from phased haplotype pairs: each sample a pair of haplotypes
    /// (alleles at variant 1, variant 2; 1 = counted allele).
    /// Alleles (variant 1, variant 2) on one haplotype.
    type Haplotype = (u8, u8);

    fn table_of(samples: &[(Haplotype, Haplotype)]) -> GenotypeTable {
        let mut t = [0u32; 9];
        for &((a1, b1), (a2, b2)) in samples {
            t[3 * usize::from(a1 + a2) + usize::from(b1 + b2)] += 1;
        }
        t
    }

    #[test]
    fn cubic_roots_are_roots() {
        for (a, b, c) in [
            (-6.0, 11.0, -6.0),
            (0.0, 0.0, -8.0),
            (-3.0, 3.0, -1.0),
            (1.0, 1.0, 1.0),
        ] {
            let roots = cubic_real_roots(a, b, c);
            assert!(!roots.is_empty());
            for x in roots {
                let f: f64 = ((x + a) * x + b) * x + c;
                assert!(f.abs() < 1e-9, "({a}, {b}, {c}): root {x} gives {f}");
            }
        }
        assert_eq!(cubic_real_roots(-6.0, 11.0, -6.0).len(), 3);
    }

    #[test]
    fn without_double_heterozygotes_frequencies_are_counted() {
        // Perfect LD: only haplotypes 11 and 22 (double hets resolve to 11/22).
        let t = table_of(&[
            ((1, 1), (1, 1)),
            ((0, 0), (0, 0)),
            ((1, 1), (0, 0)),
            ((0, 0), (0, 0)),
        ]);
        let r2 = phased_r2(&t).unwrap();
        assert!((r2 - 1.0).abs() < 1e-9, "r2 {r2}");
        // Haplotypes 12 and 21 only: perfect negative LD.
        let t = table_of(&[((1, 0), (0, 1)), ((1, 0), (1, 0)), ((0, 1), (0, 1))]);
        assert!((phased_r2(&t).unwrap() + 1.0).abs() < 1e-9);
    }

    #[test]
    fn em_recovers_the_likelihood_maximum() {
        // Haplotype frequencies 0.4, 0.1, 0.1, 0.4 (D = 0.15), genotype counts in
        // HWE proportions of a large sample.
        let f = [0.4, 0.1, 0.1, 0.4];
        let alleles = [(1u8, 1u8), (1, 0), (0, 1), (0, 0)];
        let mut t = [0u32; 9];
        for i in 0..4 {
            for j in 0..4 {
                let count = (f[i] * f[j] * 10_000.0f64).round() as u32;
                let (a, b) = (alleles[i].0 + alleles[j].0, alleles[i].1 + alleles[j].1);
                t[3 * usize::from(a) + usize::from(b)] += count;
            }
        }
        let got = haplotype_frequencies(&t).unwrap();
        for (g, w) in got.iter().zip(f) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        // r² = D² / (p(1−p)q(1−q)) = 0.0225 / 0.0625.
        assert!((phased_r2(&t).unwrap() - 0.36).abs() < 1e-6);
    }

    #[test]
    fn bit_set_tables_equal_sample_by_sample_tables() {
        // 70 samples (three words), every code pair, some samples dropped.
        let n: usize = 70;
        let codes_a: Vec<u8> = (0..n).map(|i| (i * 7 % 4) as u8).collect();
        let codes_b: Vec<u8> = (0..n).map(|i| (i * 5 / 3 % 4) as u8).collect();
        let pack = |codes: &[u8]| {
            let mut bytes = vec![0u8; n.div_ceil(4)];
            for (i, &c) in codes.iter().enumerate() {
                bytes[i / 4] |= c << (2 * (i % 4));
            }
            bytes
        };
        let keep: Vec<bool> = (0..n).map(|i| i % 9 != 4).collect();
        let (a, b) = (pack(&codes_a), pack(&codes_b));
        let mask = CallClasses::keep_mask(&keep);
        let fast = CallClasses::from_packed(&a, &mask).table(&CallClasses::from_packed(&b, &mask));
        assert_eq!(fast, genotype_table(&a, &b, &keep));
        assert!(fast.iter().sum::<u32>() > 20);
    }

    #[test]
    fn monomorphic_pairs_have_no_r2() {
        let t = table_of(&[((1, 1), (1, 0)), ((1, 0), (1, 1))]);
        assert_eq!(phased_r2(&t), None);
        assert_eq!(phased_r2(&[0; 9]), None);
    }
}
