use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::atomic::open;
use crate::atomic::read_at;
use crate::error::{Error, Result};
use crate::genotype::{check_range, GenotypeBlock, GenotypeSource};
use crate::hardcall::HardCallBlock;
use crate::plink::{bytes_per_variant, fileset_paths, read_bim_records, read_fam};
use crate::record::{Sample, Variant};

/// The three magic bytes of a SNP-major `.bed` file.
pub const BED_MAGIC: [u8; 3] = [0x6c, 0x1b, 0x01];

/// Dosage of allele1 for each 2-bit code: `00` hom allele1, `01` missing,
/// `10` het, `11` hom allele2.
const CODE_DOSAGE: [f32; 4] = [2.0, f32::NAN, 1.0, 0.0];

/// Per byte, the four dosages it encodes (low bits first): one table lookup decodes
/// four samples.
static BYTE_DOSAGES: [[f32; 4]; 256] = {
    let mut t = [[0.0f32; 4]; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 4 {
            t[b][k] = CODE_DOSAGE[(b >> (2 * k)) & 3];
            k += 1;
        }
        b += 1;
    }
    t
};

/// Decodes one variant's `.bed` bytes into allele1 dosages for `out.len()` samples.
pub fn decode_variant(bytes: &[u8], out: &mut [f32]) {
    let full = out.len() / 4;
    let (head, tail) = out.split_at_mut(full * 4);
    for (chunk, &b) in head.chunks_exact_mut(4).zip(bytes) {
        chunk.copy_from_slice(&BYTE_DOSAGES[b as usize]);
    }
    if !tail.is_empty() {
        let last = BYTE_DOSAGES[bytes[full] as usize];
        tail.copy_from_slice(&last[..tail.len()]);
    }
}

/// An open PLINK 1 binary fileset. Genotypes stay on disk and are read with
/// positional reads, one block at a time, so any number of threads can read at once
/// and the resident memory is one block.
#[derive(Debug)]
pub struct BedFile {
    bed_path: PathBuf,
    bim_path: PathBuf,
    file: File,
    samples: Vec<Sample>,
    variants: Vec<Variant>,
    /// The `.bed` record of each variant when the `.bim` had records that
    /// were skipped (negative positions); `None` when variant = record.
    records: Option<Vec<usize>>,
    n_records: usize,
    stride: usize,
}

impl BedFile {
    /// Opens `prefix.bed`, `prefix.bim` and `prefix.fam`.
    pub fn open(prefix: impl AsRef<Path>) -> Result<Self> {
        let (bed, bim, fam) = fileset_paths(prefix);
        Self::open_paths(bed, bim, fam)
    }

    /// Opens a fileset whose three files are named separately.
    ///
    /// Checks the magic number, the SNP-major mode and that the `.bed` size is
    /// exactly what the `.bim` and `.fam` counts imply. Variants whose `.bim`
    /// position is negative are left out, as plink2 leaves them out
    /// ([`skipped_negative_bp`](Self::skipped_negative_bp) counts them).
    pub fn open_paths(
        bed: impl AsRef<Path>,
        bim: impl AsRef<Path>,
        fam: impl AsRef<Path>,
    ) -> Result<Self> {
        let bed_path = bed.as_ref().to_path_buf();
        let bim_path = bim.as_ref().to_path_buf();
        let samples = read_fam(fam.as_ref())?;
        let bim = read_bim_records(bim.as_ref())?;
        let n_records = bim.n_records;
        let records = (bim.n_negative_bp() > 0).then_some(bim.records);
        let variants = bim.variants;
        let file = open(&bed_path)?;
        let len = file.metadata().map_err(|e| Error::io(&bed_path, e))?.len();
        let mut magic = [0u8; 3];
        if len < 3 {
            return Err(Error::invalid(
                &bed_path,
                format!("file is {len} bytes, too short to hold the 3-byte .bed header"),
            ));
        }
        read_at(&file, &bed_path, &mut magic, 0)?;
        if magic[..2] != BED_MAGIC[..2] {
            return Err(Error::invalid(
                &bed_path,
                format!(
                    "wrong magic number {:02x} {:02x} (expected 6c 1b): not a PLINK 1 .bed file",
                    magic[0], magic[1]
                ),
            ));
        }
        if magic[2] != BED_MAGIC[2] {
            return Err(Error::invalid(
                &bed_path,
                format!(
                    "mode byte {:02x} is not 01: sample-major .bed files are not supported",
                    magic[2]
                ),
            ));
        }
        let stride = bytes_per_variant(samples.len());
        let expected = 3 + (stride as u64) * (n_records as u64);
        if len != expected {
            return Err(Error::invalid(
                &bed_path,
                format!(
                    "file is {len} bytes but {} samples x {} variants need {expected}: {}",
                    samples.len(),
                    n_records,
                    if len < expected {
                        "truncated, or the .bim/.fam list more than it holds"
                    } else {
                        "the .bim/.fam list fewer than it holds"
                    }
                ),
            ));
        }
        Ok(Self {
            bed_path,
            bim_path,
            file,
            samples,
            variants,
            records,
            n_records,
            stride,
        })
    }

    /// Variant records of the `.bim` left out for a negative base-pair
    /// position (0 for most filesets).
    pub fn skipped_negative_bp(&self) -> usize {
        self.n_records - self.variants.len()
    }

    /// Bytes per variant in the `.bed` file.
    pub fn bytes_per_variant(&self) -> usize {
        self.stride
    }

    /// Reads the raw 2-bit bytes of the variants in `range` into `buf`
    /// (`range.len() * bytes_per_variant()` bytes), for kernels that decode
    /// themselves.
    pub fn read_raw(&self, range: Range<usize>, buf: &mut [u8]) -> Result<()> {
        check_range(&self.bed_path, &range, self.variants.len())?;
        let need = range.len() * self.stride;
        if buf.len() != need {
            return Err(Error::request(
                &self.bed_path,
                format!(
                    "raw buffer holds {} bytes, the range needs {need}",
                    buf.len()
                ),
            ));
        }
        let offset = |record: usize| 3 + (record as u64) * (self.stride as u64);
        let Some(records) = &self.records else {
            return read_at(&self.file, &self.bed_path, buf, offset(range.start));
        };
        // Skipped records split the range into runs of consecutive records,
        // one positional read each.
        let wanted = &records[range];
        let mut start = 0;
        while start < wanted.len() {
            let mut end = start + 1;
            while end < wanted.len() && wanted[end] == wanted[end - 1] + 1 {
                end += 1;
            }
            read_at(
                &self.file,
                &self.bed_path,
                &mut buf[start * self.stride..end * self.stride],
                offset(wanted[start]),
            )?;
            start = end;
        }
        Ok(())
    }
}

impl GenotypeSource for BedFile {
    fn samples(&self) -> &[Sample] {
        &self.samples
    }

    fn variants(&self) -> &[Variant] {
        &self.variants
    }

    fn origin(&self) -> &Path {
        &self.bed_path
    }

    fn skipped_on_load(&self) -> usize {
        self.skipped_negative_bp()
    }

    fn variants_origin(&self) -> &Path {
        &self.bim_path
    }

    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> Result<()> {
        self.check_out(out.len(), self.samples.len())?;
        let mut buf = vec![0u8; self.stride];
        self.read_raw(variant..variant + 1, &mut buf)?;
        decode_variant(&buf, out);
        Ok(())
    }

    fn read_variant_subset_into(
        &self,
        variant: usize,
        samples: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        self.check_out(out.len(), samples.len())?;
        let mut buf = vec![0u8; self.stride];
        self.read_raw(variant..variant + 1, &mut buf)?;
        for (o, &s) in out.iter_mut().zip(samples) {
            let Some(&byte) = buf.get(s / 4) else {
                return Err(Error::request(
                    &self.bed_path,
                    format!(
                        "sample index {s} is outside the {} samples",
                        self.samples.len()
                    ),
                ));
            };
            *o = CODE_DOSAGE[((byte >> (2 * (s % 4))) & 3) as usize];
        }
        Ok(())
    }

    fn read_block(&self, range: Range<usize>) -> Result<GenotypeBlock> {
        check_range(&self.bed_path, &range, self.variants.len())?;
        let mut buf = vec![0u8; range.len() * self.stride];
        self.read_raw(range.clone(), &mut buf)?;
        let mut block = GenotypeBlock::missing(range.start, self.samples.len(), range.len());
        for (j, bytes) in buf.chunks_exact(self.stride).enumerate() {
            decode_variant(bytes, block.variant_mut(j));
        }
        Ok(block)
    }

    fn read_hardcalls(&self, range: Range<usize>) -> Result<HardCallBlock> {
        let mut buf = vec![0u8; range.len() * self.stride];
        self.read_raw(range.clone(), &mut buf)?;
        HardCallBlock::from_packed(range.start, self.samples.len(), buf)
            .ok_or_else(|| Error::request(&self.bed_path, "raw block size mismatch".to_string()))
    }

    fn hardcalls_exact(&self) -> bool {
        true
    }
}

impl BedFile {
    fn check_out(&self, got: usize, want: usize) -> Result<()> {
        if got != want {
            return Err(Error::request(
                &self.bed_path,
                format!("output buffer holds {got} values, {want} samples requested"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_code_in_every_slot() {
        // byte 0b11_10_01_00: slots 0..4 = hom A1, missing, het, hom A2
        let mut out = [0.0f32; 4];
        decode_variant(&[0b1110_0100], &mut out);
        assert_eq!(out[0], 2.0);
        assert!(out[1].is_nan());
        assert_eq!(out[2], 1.0);
        assert_eq!(out[3], 0.0);
        // a partial last byte uses only its low slots
        let mut out = [0.0f32; 5];
        decode_variant(&[0, 0b0000_0011], &mut out);
        assert_eq!(out, [2.0, 2.0, 2.0, 2.0, 0.0]);
    }
}
