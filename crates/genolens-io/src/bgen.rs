//! BGEN files (v1.1 layout 1; v1.2 and v1.3 layout 2), as a streamed
//! [`GenotypeSource`]: uncompressed, zlib or zstd genotype blocks, 1–32-bit
//! probabilities, phased or unphased, sample IDs from the file or an Oxford
//! `.sample` file.
//!
//! Dosages follow `plink2 --bgen … ref-first|ref-last`: the counted allele
//! (allele 1, ALT) is the second allele with `ref-first` and the first with
//! `ref-last`; a dosage is the expected ALT count, rounded to plink2's 1/16384
//! resolution. Hard calls use the same 0.1 threshold plink2 applies.
//! Variants with more than two alleles are refused (plink2 splits them; no
//! bundled file has one). The variant ID is the rsid (plink2's default).

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::atomic::{open, read_at, read_to_string};
use crate::error::{Error, Result};
use crate::genotype::{check_range, check_variant_request, GenotypeBlock, GenotypeSource};
use crate::record::{Sample, SampleId, Sex, Variant};

/// Compression of the genotype blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Zlib,
    Zstd,
}

/// A BGEN file opened for reading.
#[derive(Debug)]
pub struct BgenFile {
    path: PathBuf,
    file: File,
    compression: Compression,
    layout: u32,
    samples: Vec<Sample>,
    variants: Vec<Variant>,
    /// Per variant: offset and length of its genotype block.
    blocks: Vec<(u64, u32)>,
    /// The counted allele is the first one (`ref-last`).
    alt_first: bool,
}

/// Which allele of a BGEN record is REF (plink2 requires the choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefAllele {
    /// The first allele is REF (`ref-first`; raw UK Biobank files).
    #[default]
    First,
    /// The last allele is REF (`ref-last`; older and PLINK-exported files).
    Last,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A buffered sequential reader over the file's header part (the variant
/// index is read field by field: one system call each would make opening a
/// biobank file slow), with the file's name in its errors.
struct Cursor<'a> {
    path: &'a Path,
    reader: std::io::BufReader<&'a File>,
    at: u64,
    len: u64,
}

impl Cursor<'_> {
    /// Moves to byte `to` of the file.
    fn seek(&mut self, to: u64) -> Result<()> {
        let by = i64::try_from(to).unwrap_or(i64::MAX) - i64::try_from(self.at).unwrap_or(0);
        self.reader
            .seek_relative(by)
            .map_err(|e| Error::io(self.path, e))?;
        self.at = to;
        Ok(())
    }
    fn bytes(&mut self, n: usize, what: &str) -> Result<Vec<u8>> {
        if self.at + n as u64 > self.len {
            return Err(Error::invalid(
                self.path,
                format!("truncated: {what} at byte {} runs past the end", self.at),
            ));
        }
        let mut buf = vec![0u8; n];
        self.reader
            .read_exact(&mut buf)
            .map_err(|e| Error::io(self.path, e))?;
        self.at += n as u64;
        Ok(buf)
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16_at(&self.bytes(2, what)?, 0))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32_at(&self.bytes(4, what)?, 0))
    }
    fn text(&mut self, n: usize, what: &str) -> Result<String> {
        String::from_utf8(self.bytes(n, what)?)
            .map_err(|_| Error::invalid(self.path, format!("{what} is not UTF-8 text")))
    }
}

impl BgenFile {
    /// Opens `path`, with sample IDs from `sample` (an Oxford `.sample`
    /// file) or else from the file itself (FID `0`, as plink2 imports them),
    /// or else `sample_1…` numbers.
    pub fn open(
        path: impl AsRef<Path>,
        sample: Option<&Path>,
        reference: RefAllele,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = open(&path)?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let mut c = Cursor {
            path: &path,
            reader: std::io::BufReader::new(&file),
            at: 0,
            len,
        };
        let first_block = u64::from(c.u32("the variant offset")?) + 4;
        let header_len = c.u32("the header length")?;
        if header_len < 20 {
            return Err(Error::invalid(
                &path,
                format!("header length {header_len} is below 20: not a BGEN file"),
            ));
        }
        let n_variants = c.u32("the variant count")? as usize;
        let n_samples = c.u32("the sample count")? as usize;
        let magic = c.bytes(4, "the magic number")?;
        if magic != b"bgen" && magic != [0, 0, 0, 0] {
            return Err(Error::invalid(
                &path,
                "no 'bgen' magic number: not a BGEN file",
            ));
        }
        c.seek(4 + u64::from(header_len) - 4)?;
        let flags = c.u32("the flags")?;
        let compression = match flags & 3 {
            0 => Compression::None,
            1 => Compression::Zlib,
            2 => Compression::Zstd,
            _ => return Err(Error::invalid(&path, "unknown compression type 3")),
        };
        let layout = (flags >> 2) & 0xf;
        if layout != 1 && layout != 2 {
            return Err(Error::invalid(
                &path,
                format!("layout {layout} is not 1 or 2"),
            ));
        }
        if layout == 1 && compression == Compression::Zstd {
            return Err(Error::invalid(
                &path,
                "layout 1 with zstd compression is not valid BGEN",
            ));
        }
        // A sample count no file could hold is refused before allocating.
        if n_samples as u64 > len {
            return Err(Error::invalid(
                &path,
                format!("header says {n_samples} samples in a file of {len} bytes"),
            ));
        }
        let mut embedded = None;
        if flags >> 31 == 1 {
            c.seek(4 + u64::from(header_len))?;
            let _block_len = c.u32("the sample block length")?;
            let n = c.u32("the sample block's count")? as usize;
            if n != n_samples {
                return Err(Error::invalid(
                    &path,
                    format!("sample block lists {n} samples, the header {n_samples}"),
                ));
            }
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                let l = c.u16("a sample ID length")? as usize;
                ids.push(c.text(l, "a sample ID")?);
            }
            embedded = Some(ids);
        }
        let samples = match (sample, embedded) {
            (Some(sample), _) => read_oxford_sample(sample, n_samples)?,
            (None, Some(ids)) => ids
                .into_iter()
                .map(|iid| {
                    Sample::new(SampleId {
                        fid: "0".into(),
                        iid,
                    })
                })
                .collect(),
            (None, None) => (1..=n_samples)
                .map(|k| {
                    Sample::new(SampleId {
                        fid: "0".into(),
                        iid: format!("sample_{k}"),
                    })
                })
                .collect(),
        };
        // Variant identifying blocks, skipping the genotype blocks.
        c.seek(first_block)?;
        // A variant's identifying block takes at least 16 bytes, so the file
        // bounds how many there can be, whatever the header claims.
        let room = usize::try_from(len / 16).unwrap_or(usize::MAX);
        let mut variants = Vec::with_capacity(n_variants.min(room));
        let mut blocks = Vec::with_capacity(n_variants.min(room));
        for k in 0..n_variants {
            let what = |x: &str| format!("variant {}: {x}", k + 1);
            if layout == 1 {
                let n = c.u32(&what("sample count"))? as usize;
                if n != n_samples {
                    return Err(Error::invalid(
                        &path,
                        format!("variant {}: {n} samples, the header {n_samples}", k + 1),
                    ));
                }
            }
            let l = c.u16(&what("ID length"))? as usize;
            let _snpid = c.text(l, &what("ID"))?;
            let l = c.u16(&what("rsid length"))? as usize;
            let rsid = c.text(l, &what("rsid"))?;
            let l = c.u16(&what("chromosome length"))? as usize;
            let chrom = c.text(l, &what("chromosome"))?;
            let pos = c.u32(&what("position"))?;
            let n_alleles = if layout == 1 {
                2
            } else {
                c.u16(&what("allele count"))?
            };
            if n_alleles != 2 {
                return Err(Error::invalid(&path, format!("variant {} ({rsid}) has {n_alleles} alleles; only biallelic variants are read", k + 1)));
            }
            let mut alleles = Vec::with_capacity(2);
            for _ in 0..2 {
                let l = c.u32(&what("allele length"))? as usize;
                alleles.push(c.text(l, &what("allele"))?);
            }
            let block_len = match (layout, compression) {
                (1, Compression::None) => (6 * n_samples) as u32,
                _ => c.u32(&what("genotype block length"))?,
            };
            if c.at + u64::from(block_len) > len {
                return Err(Error::invalid(
                    &path,
                    format!(
                        "truncated: variant {}'s genotype block runs past the end",
                        k + 1
                    ),
                ));
            }
            blocks.push((c.at, block_len));
            c.seek(c.at + u64::from(block_len))?;
            let (first, second) = (alleles[0].clone(), alleles[1].clone());
            let (alt, reference_allele) = match reference {
                RefAllele::First => (second, first),
                RefAllele::Last => (first, second),
            };
            variants.push(Variant {
                chrom,
                pos: u64::from(pos),
                id: rsid,
                cm: 0.0,
                allele1: alt,
                allele2: reference_allele,
            });
        }
        Ok(Self {
            path,
            file,
            compression,
            layout,
            samples,
            variants,
            blocks,
            alt_first: reference == RefAllele::Last,
        })
    }

    /// The genotype block of `variant`, decompressed.
    fn block(&self, variant: usize) -> Result<Vec<u8>> {
        let (offset, len) = self.blocks[variant];
        let mut raw = vec![0u8; len as usize];
        read_at(&self.file, &self.path, &mut raw, offset)?;
        let bad =
            |why: String| Error::invalid(&self.path, format!("variant {}: {why}", variant + 1));
        match (self.layout, self.compression) {
            (_, Compression::None) => Ok(raw),
            (1, Compression::Zlib) => {
                let mut out = Vec::with_capacity(6 * self.samples.len());
                flate2::read::ZlibDecoder::new(&raw[..])
                    .read_to_end(&mut out)
                    .map_err(|e| bad(format!("zlib: {e}")))?;
                Ok(out)
            }
            (_, compression) => {
                if raw.len() < 4 {
                    return Err(bad("genotype block shorter than its length field".into()));
                }
                let expected = u32_at(&raw, 0) as usize;
                // A length no decoder could reach from this input is refused
                // before allocating it (zlib and zstd expand at most ~1000×).
                if expected > raw.len().saturating_mul(1100) + 64 {
                    return Err(bad(format!(
                        "claims {expected} bytes from {} compressed",
                        raw.len()
                    )));
                }
                let mut out = Vec::with_capacity(expected);
                let data = &raw[4..];
                match compression {
                    Compression::Zlib => flate2::read::ZlibDecoder::new(data)
                        .take(expected as u64 + 1)
                        .read_to_end(&mut out)
                        .map_err(|e| bad(format!("zlib: {e}")))?,
                    _ => zstd::stream::read::Decoder::new(data)
                        .map_err(|e| bad(format!("zstd: {e}")))?
                        .take(expected as u64 + 1)
                        .read_to_end(&mut out)
                        .map_err(|e| bad(format!("zstd: {e}")))?,
                };
                if out.len() != expected {
                    return Err(bad(format!(
                        "decompressed to {} bytes, expected {expected}",
                        out.len()
                    )));
                }
                Ok(out)
            }
        }
    }

    /// Decodes `variant`'s probabilities into ALT dosages.
    fn decode(&self, variant: usize, out: &mut [f32]) -> Result<()> {
        let n = self.samples.len();
        let data = self.block(variant)?;
        let bad = |why: &str| Error::invalid(&self.path, format!("variant {}: {why}", variant + 1));
        out.fill(f32::NAN);
        // The ALT dosage from the first allele's, both in plink2's 1/16384 units.
        let alt = |first: u64| -> f32 {
            let alt = if self.alt_first {
                first
            } else {
                32768u64.saturating_sub(first)
            };
            alt as f32 / 16384.0
        };
        if self.layout == 1 {
            if data.len() < 6 * n {
                return Err(bad("layout-1 block shorter than 6 bytes per sample"));
            }
            for (i, o) in out.iter_mut().enumerate() {
                let v = |k: usize| u64::from(u16_at(&data, 6 * i + 2 * k));
                let (a, b, c) = (v(0), v(1), v(2));
                // All zero: missing. Probabilities are in 1/32768 units.
                if a + b + c > 0 {
                    let first = ((2 * a + b) as f64 / 2.0).round() as u64;
                    *o = alt(first);
                }
            }
            return Ok(());
        }
        if data.len() < 10 + n {
            return Err(bad("probability block shorter than its header"));
        }
        if u32_at(&data, 0) as usize != n {
            return Err(bad("probability block for another sample count"));
        }
        if u16_at(&data, 4) != 2 {
            return Err(bad("probability block with other than 2 alleles"));
        }
        let ploidy = &data[8..8 + n];
        let phased = data[8 + n] == 1;
        let bits = u32::from(data[9 + n]);
        if bits == 0 || bits > 32 {
            return Err(bad("bits per probability outside 1-32"));
        }
        let max = (1u64 << bits) - 1;
        let payload = &data[10 + n..];
        // Values stored per sample, biallelic: Z unphased (the last
        // genotype's is implied), Z phased (one per haplotype). Checked once,
        // so the loop reads without bounds tests.
        if ploidy.iter().any(|&p| p & 0x3f > 2) {
            return Err(bad("ploidy other than 1 or 2"));
        }
        let values: u64 = ploidy.iter().map(|&p| u64::from(p & 0x3f)).sum();
        if values * u64::from(bits) > 8 * payload.len() as u64 {
            return Err(bad("probabilities run past the block"));
        }
        let read = |bit: u64| -> u64 {
            let (byte, shift) = ((bit / 8) as usize, bit % 8);
            let word = match payload.get(byte..byte + 8) {
                Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                None => payload[byte..]
                    .iter()
                    .enumerate()
                    .fold(0u64, |w, (k, &v)| w | (u64::from(v) << (8 * k))),
            };
            (word >> shift) & max
        };
        // plink2's rounding: floor((16384·copies + 2^(bits-1)) / max), where
        // copies (first-allele copies in units of 1/max) is at most 2·max; a
        // table for 8-bit files (UK Biobank's).
        let dosage = |copies: u64| alt((16384 * copies + (1u64 << (bits - 1))) / max);
        let table: Vec<f32> = if bits == 8 {
            (0..=2 * max).map(dosage).collect()
        } else {
            Vec::new()
        };
        let mut bit = 0u64;
        for (i, o) in out.iter_mut().enumerate() {
            let z = u64::from(ploidy[i] & 0x3f);
            let missing = ploidy[i] & 0x80 != 0;
            let (a, b) = match z {
                2 => (read(bit), read(bit + u64::from(bits))),
                1 => (read(bit), 0),
                _ => (0, 0),
            };
            bit += z * u64::from(bits);
            if missing || z == 0 {
                continue;
            }
            // 2·P(hom) + P(het) unphased, the two haplotypes' P(first)
            // phased, twice the one copy haploid.
            let copies = match (z, phased) {
                (2, false) => 2 * a + b,
                (2, true) => a + b,
                _ => 2 * a,
            };
            *o = match table.get(copies as usize) {
                Some(&d) => d,
                None => dosage(copies),
            };
        }
        Ok(())
    }
}

/// An Oxford `.sample` file: a header line, a type line, then `ID_1 ID_2
/// missing [sex …]` per sample; ID_1 is the FID, ID_2 the IID, `sex` (a `D`
/// column named sex) 1 male, 2 female, and the first `P`/`B` column the
/// `.fam` phenotype, as plink2 imports it.
pub fn read_oxford_sample(path: &Path, expected: usize) -> Result<Vec<Sample>> {
    let text = read_to_string(path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<&str> = match lines.next() {
        Some((_, h)) => h.split_whitespace().collect(),
        None => return Err(Error::invalid(path, "empty .sample file")),
    };
    if header.len() < 2 || !header[0].eq_ignore_ascii_case("ID_1") {
        return Err(Error::parse(
            path,
            1,
            "the header must start with ID_1 ID_2",
        ));
    }
    let sex_col = header.iter().position(|h| h.eq_ignore_ascii_case("sex"));
    // The type line (0 0 0 D P …): plink2 takes the first phenotype column
    // (P continuous, B binary) as the `.fam` phenotype.
    let types: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split_whitespace().collect())
        .unwrap_or_default();
    let pheno_col = (3..types.len()).find(|&k| matches!(types[k], "P" | "B"));
    let mut samples = Vec::with_capacity(expected);
    for (k, line) in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 2 {
            return Err(Error::parse(
                path,
                k + 1,
                "a sample line needs ID_1 and ID_2",
            ));
        }
        let mut s = Sample::new(SampleId {
            fid: f[0].to_string(),
            iid: f[1].to_string(),
        });
        if let Some(c) = pheno_col {
            s.phenotype = match (types[c], f.get(c).copied()) {
                (_, None | Some("NA")) => "-9".into(),
                ("B", Some("0")) => "1".into(),
                ("B", Some("1")) => "2".into(),
                (_, Some(v)) => v.to_string(),
            };
        }
        if let Some(c) = sex_col {
            s.sex = match f.get(c) {
                Some(&"1") => Sex::Male,
                Some(&"2") => Sex::Female,
                _ => Sex::Unknown,
            };
        }
        samples.push(s);
    }
    if samples.len() != expected {
        return Err(Error::invalid(
            path,
            format!("{} samples, the BGEN file has {expected}", samples.len()),
        ));
    }
    Ok(samples)
}

impl GenotypeSource for BgenFile {
    fn samples(&self) -> &[Sample] {
        &self.samples
    }

    fn variants(&self) -> &[Variant] {
        &self.variants
    }

    fn origin(&self) -> &Path {
        &self.path
    }

    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> Result<()> {
        check_variant_request(
            &self.path,
            variant,
            self.variants.len(),
            out.len(),
            self.samples.len(),
        )?;
        self.decode(variant, out)
    }

    /// Decodes the variants of `range` in parallel: each variant's block is
    /// read, decompressed and decoded on its own (BGEN's variants are
    /// independent), into its own column. The first error in variant order
    /// is returned, so bad input gives the same message every run.
    fn read_block(&self, range: Range<usize>) -> Result<GenotypeBlock> {
        check_range(&self.path, &range, self.variants.len())?;
        let n = self.samples.len();
        let mut block = GenotypeBlock::missing(range.start, n, range.len());
        if n == 0 {
            return Ok(block);
        }
        let results: Vec<Result<()>> = block
            .variant_major_mut()
            .par_chunks_mut(n)
            .zip(range.into_par_iter())
            .map(|(out, v)| self.decode(v, out))
            .collect();
        results.into_iter().collect::<Result<()>>()?;
        Ok(block)
    }
}
