//! Hard calls packed two bits per genotype, PLINK's own layout, for kernels that
//! count instead of doing arithmetic on dosages (QC, LD pruning, filtering).

use std::ops::Range;

use crate::genotype::GenotypeBlock;

/// 2-bit code of a homozygous allele-1 call (dosage 2).
pub const HOM_ALLELE1: u8 = 0b00;
/// 2-bit code of a missing call.
pub const MISSING: u8 = 0b01;
/// 2-bit code of a heterozygous call (dosage 1).
pub const HET: u8 = 0b10;
/// 2-bit code of a homozygous allele-2 call (dosage 0).
pub const HOM_ALLELE2: u8 = 0b11;

/// Dosages further than this from 0, 1 or 2 become missing calls, as with PLINK 2's
/// default `--hard-call-threshold 0.1`.
pub const HARD_CALL_THRESHOLD: f32 = 0.1;

/// The 2-bit code of a dosage: missing when `NaN` or further than
/// [`HARD_CALL_THRESHOLD`] from an integer; `None` when outside `[0, 2]`.
pub fn dosage_code(d: f32) -> Option<u8> {
    if d.is_nan() {
        return Some(MISSING);
    }
    if !(-HARD_CALL_THRESHOLD..=2.0 + HARD_CALL_THRESHOLD).contains(&d) {
        return None;
    }
    let r = d.round();
    if (d - r).abs() > HARD_CALL_THRESHOLD {
        return Some(MISSING);
    }
    Some(match r as i32 {
        0 => HOM_ALLELE2,
        1 => HET,
        _ => HOM_ALLELE1,
    })
}

/// Hard calls of all samples of a source × a contiguous range of its variants, in
/// the PLINK 1 `.bed` layout: per variant `ceil(n_samples / 4)` bytes, sample `i`
/// in bits `2(i mod 4)..2(i mod 4)+2` of byte `i / 4`, codes [`HOM_ALLELE1`],
/// [`MISSING`], [`HET`], [`HOM_ALLELE2`].
///
/// Unlike a raw `.bed`, the padding bits after the last sample are always zero, so
/// a kernel may count whole bytes or words and subtract nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardCallBlock {
    first_variant: usize,
    n_samples: usize,
    stride: usize,
    bytes: Vec<u8>,
}

impl HardCallBlock {
    /// Wraps packed bytes (`n_variants × ceil(n_samples / 4)`), clearing padding
    /// bits. Returns `None` when the length does not match.
    pub fn from_packed(first_variant: usize, n_samples: usize, mut bytes: Vec<u8>) -> Option<Self> {
        let stride = n_samples.div_ceil(4);
        if stride == 0 {
            return bytes.is_empty().then_some(Self {
                first_variant,
                n_samples,
                stride,
                bytes,
            });
        }
        if bytes.len() % stride != 0 {
            return None;
        }
        let used = n_samples % 4;
        if used != 0 {
            // Keep only the bits of the `used` samples in each variant's last byte.
            let keep = (1u8 << (2 * used)) - 1;
            for chunk in bytes.chunks_exact_mut(stride) {
                chunk[stride - 1] &= keep;
            }
        }
        Some(Self {
            first_variant,
            n_samples,
            stride,
            bytes,
        })
    }

    /// Hard-calls a dosage block with PLINK 2's default threshold
    /// ([`HARD_CALL_THRESHOLD`]); dosages outside `[0, 2]` become missing.
    pub fn from_dosages(block: &GenotypeBlock) -> Self {
        let n = block.n_samples();
        let stride = n.div_ceil(4);
        let mut bytes = vec![0u8; stride * block.n_variants()];
        for j in 0..block.n_variants() {
            let out = &mut bytes[j * stride..(j + 1) * stride];
            for (i, &d) in block.variant(j).iter().enumerate() {
                let code = dosage_code(d).unwrap_or(MISSING);
                out[i / 4] |= code << (2 * (i % 4));
            }
        }
        Self {
            first_variant: block.first_variant(),
            n_samples: n,
            stride,
            bytes,
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

    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of variants.
    pub fn n_variants(&self) -> usize {
        self.bytes.len().checked_div(self.stride).unwrap_or(0)
    }

    /// Bytes per variant.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The packed codes of the block's `j`-th variant (not the source's index).
    pub fn variant(&self, j: usize) -> &[u8] {
        &self.bytes[j * self.stride..(j + 1) * self.stride]
    }

    /// The code of sample `i` at the block's `j`-th variant.
    pub fn code(&self, i: usize, j: usize) -> u8 {
        (self.variant(j)[i / 4] >> (2 * (i % 4))) & 3
    }

    /// All packed bytes, variant after variant.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_bits_are_cleared_and_codes_round_trip() {
        // 5 samples: the second byte of each variant holds 1 sample + 3 padding slots.
        let raw = vec![0b1110_0100, 0b1111_1110, 0b0000_0000, 0b0101_0111];
        let b = HardCallBlock::from_packed(7, 5, raw).expect("length matches");
        assert_eq!(b.n_variants(), 2);
        assert_eq!(b.variant(0), &[0b1110_0100, 0b10]);
        assert_eq!(b.variant(1), &[0, 0b11]);
        assert_eq!(b.code(2, 0), HET);
        assert_eq!(b.variant_range(), 7..9);
        assert!(HardCallBlock::from_packed(0, 5, vec![0; 3]).is_none());

        let mut block = GenotypeBlock::missing(3, 5, 1);
        block
            .variant_mut(0)
            .copy_from_slice(&[2.0, f32::NAN, 1.0, 0.0, 1.96]);
        let h = HardCallBlock::from_dosages(&block);
        assert_eq!(h.variant(0), &[0b1110_0100, 0b00]);
        assert_eq!(h.first_variant(), 3);
    }
}
