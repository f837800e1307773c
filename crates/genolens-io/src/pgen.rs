//! PLINK 2 filesets (`.pgen` + `.pvar` or `.pvar.zst` + `.psam`), as a
//! streamed [`GenotypeSource`] with plink2's dosages.
//!
//! Read: the variable-width `.pgen` that `plink2 --make-pgen` writes (mode
//! 0x10, and 0x11 whose extensions are skipped) with every biallelic record
//! type of the specification — 2-bit, 1-bit + difflist, all-one-genotype +
//! difflist, LD-compressed (plain and inverted), phased hard calls (the phase
//! track is skipped: genolens' analyses are unphased) and the three dosage
//! encodings (list, dense, bitarray; phased dosage tracks are skipped, their
//! sum is the dosage); the fixed-width 2-bit mode 0x02 and a PLINK 1
//! variant-major `.bed` under the `.pgen` name (mode 0x01), as plink2 reads
//! them.
//!
//! Refused with an error naming the case: multi-allelic variants (an ALT
//! list in the `.pvar`, allele counts above 2, or record type bit 3;
//! `plink2 --make-pgen multiallelics=-` splits them), the fixed-width
//! dosage modes 0x03/0x04, the single-sample header encodings (control
//! values 8–15), and an external `.pgi` index (modes 0x20/0x21).
//!
//! Conventions are plink2's: ALT is the counted allele (`Variant::allele1`),
//! REF is `allele2`; a dosage is the stored 1/16384 fraction of ALT copies
//! and takes the place of the hard call where stored; a `.pvar` without a
//! `#CHROM` header is read as a `.bim` (`CHROM ID [CM] POS ALT REF`); a
//! negative position drops the variant (counted in
//! [`GenotypeSource::skipped_on_load`]); a `.psam` without an FID column
//! gives FID `0`, as `plink2 --make-bed` writes it; one without a header
//! line is read as a `.fam`.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::atomic::{open, read_at, text_from_bytes};
use crate::error::{Error, Result};
use crate::genotype::{check_range, check_variant_request, GenotypeBlock, GenotypeSource};
use crate::hardcall::HardCallBlock;
use crate::plink::read_fam;
use crate::record::{Sample, SampleId, Sex, Variant};

/// Variants per header block of a variable-width `.pgen`.
const VBLOCK: usize = 65536;
/// A difflist stores its sample IDs in groups of this many.
const DIFFLIST_GROUP: usize = 64;
/// A dosage of `DOSAGE_ONE` is one ALT copy.
const DOSAGE_ONE: f32 = 16384.0;
/// The missing dosage of the dense (unconditional) encoding.
const DOSAGE_MISSING: u16 = 65535;

/// The paths of a PLINK 2 fileset `prefix`: `.pgen`, the `.pvar` (or
/// `.pvar.zst` when only that exists, as `plink2 --make-pgen vzs` writes it)
/// and the `.psam`.
pub fn pfile_paths(prefix: impl AsRef<Path>) -> (PathBuf, PathBuf, PathBuf) {
    let prefix = prefix.as_ref();
    let with = |ext: &str| {
        let mut s = prefix.as_os_str().to_owned();
        s.push(".");
        s.push(ext);
        PathBuf::from(s)
    };
    let pvar = with("pvar");
    let pvar = if !pvar.exists() && with("pvar.zst").exists() {
        with("pvar.zst")
    } else {
        pvar
    };
    (with("pgen"), pvar, with("psam"))
}

/// How the `.pgen`'s variant records are laid out.
#[derive(Debug)]
enum Layout {
    /// Every record `width` bytes of 2-bit calls from `start`: mode 0x02
    /// (PLINK 2 codes) or 0x01 (PLINK 1 `.bed` codes, `plink1` set).
    Fixed {
        start: u64,
        width: u64,
        plink1: bool,
    },
    /// Mode 0x10/0x11: per raw record its type and where it starts
    /// (`offsets` has one more entry, the end of the last record).
    Variable { vrtypes: Vec<u8>, offsets: Vec<u64> },
}

/// A PLINK 2 fileset opened for reading. Genotypes stay on disk; blocks of
/// variants are decoded on demand, in parallel.
#[derive(Debug)]
pub struct PgenFile {
    path: PathBuf,
    pvar_path: PathBuf,
    file: File,
    samples: Vec<Sample>,
    variants: Vec<Variant>,
    /// The raw `.pgen` record of each loaded variant (increasing).
    records: Vec<usize>,
    /// Variant records in the `.pvar` (loaded or not).
    n_records: usize,
    layout: Layout,
    /// No record carries dosages: the hard calls are the genotypes.
    hardcalls_only: bool,
}

/// The `.psam`'s samples and whether it names families (an FID column).
#[derive(Debug, Clone, PartialEq)]
pub struct Psam {
    /// The samples, in file order.
    pub samples: Vec<Sample>,
    /// The file has an FID column (a `.fam`-style file has one too).
    pub has_fid: bool,
}

/// The `.pvar`'s variants as plink2 loads them.
#[derive(Debug, Clone, PartialEq)]
pub struct Pvar {
    /// The loaded variants, in file order.
    pub variants: Vec<Variant>,
    /// The record (0-based, the `.pgen` record) of each loaded variant.
    pub records: Vec<usize>,
    /// Variant records in the file, loaded or not.
    pub n_records: usize,
}

/// Reads a `.pvar` (plain or zstd-compressed, told apart by content).
/// `##` lines are skipped; the `#CHROM` line names the columns (`POS`,
/// `ID`, `REF`, `ALT` required, `CM` optional, others ignored). Without it
/// the file is a `.bim`: `CHROM ID [CM] POS ALT REF`. Variants with a
/// negative position are dropped, as plink2 drops them.
pub fn read_pvar(path: impl AsRef<Path>) -> Result<Pvar> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::stream::decode_all(&bytes[..])
            .map_err(|e| Error::invalid(path, format!("zstd: {e}")))?
    } else {
        bytes
    };
    let text = text_from_bytes(path, bytes)?;
    // Column positions of POS, ID, REF, ALT and CM.
    struct Columns {
        pos: usize,
        id: usize,
        reference: usize,
        alt: usize,
        cm: Option<usize>,
        width: usize,
    }
    let mut columns: Option<Columns> = None;
    let mut pvar = Pvar {
        variants: Vec::new(),
        records: Vec::new(),
        n_records: 0,
    };
    let mut in_header = true;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') {
            if !in_header {
                return Err(Error::parse(
                    path,
                    lineno,
                    "a line starting with '#' after the header (a #CHROM line ends the header)",
                ));
            }
            if line.starts_with("#CHROM") {
                let names: Vec<&str> = line.split('\t').collect();
                let find = |name: &str| names.iter().position(|n| *n == name);
                let need = |name: &str| {
                    find(name).ok_or_else(|| {
                        Error::parse(
                            path,
                            lineno,
                            format!("the #CHROM line has no {name} column"),
                        )
                    })
                };
                columns = Some(Columns {
                    pos: need("POS")?,
                    id: need("ID")?,
                    reference: need("REF")?,
                    alt: need("ALT")?,
                    cm: find("CM"),
                    width: names.len(),
                });
                in_header = false;
            }
            continue;
        }
        in_header = false;
        let f: Vec<&str> = match &columns {
            Some(_) => line.split('\t').collect(),
            None => line.split_whitespace().collect(),
        };
        let (chrom, pos, id, reference, alt, cm) = match &columns {
            Some(c) => {
                if f.len() < c.width {
                    return Err(Error::parse(
                        path,
                        lineno,
                        format!("{} columns, the #CHROM line names {}", f.len(), c.width),
                    ));
                }
                (
                    f[0],
                    f[c.pos],
                    f[c.id],
                    f[c.reference],
                    f[c.alt],
                    c.cm.map(|k| f[k]),
                )
            }
            None => match f.len() {
                5 => (f[0], f[2], f[1], f[4], f[3], None),
                6 => (f[0], f[3], f[1], f[5], f[4], Some(f[2])),
                n => {
                    return Err(Error::parse(
                        path,
                        lineno,
                        format!(
                            "{n} columns: a .pvar without a #CHROM line is a .bim \
                             (CHROM ID [CM] POS ALT REF)"
                        ),
                    ))
                }
            },
        };
        let pos: i64 = pos.parse().map_err(|_| {
            Error::parse(path, lineno, format!("position {pos:?} is not an integer"))
        })?;
        let cm: f64 = match cm {
            None => 0.0,
            Some(c) => c.parse().map_err(|_| {
                Error::parse(
                    path,
                    lineno,
                    format!("genetic position {c:?} is not a number"),
                )
            })?,
        };
        if alt.contains(',') {
            return Err(Error::parse(
                path,
                lineno,
                format!(
                    "variant {id} is multi-allelic (ALT {alt}): genolens reads biallelic \
                     variants; split them with plink2 --make-pgen multiallelics=-"
                ),
            ));
        }
        let record = pvar.n_records;
        pvar.n_records += 1;
        let Ok(pos) = u64::try_from(pos) else {
            continue;
        };
        pvar.records.push(record);
        pvar.variants.push(Variant {
            chrom: chrom.to_string(),
            pos,
            id: id.to_string(),
            cm,
            allele1: alt.to_string(),
            allele2: reference.to_string(),
        });
    }
    if pvar.n_records == 0 {
        return Err(Error::Empty { path: path.into() });
    }
    if pvar.variants.is_empty() {
        return Err(Error::invalid(
            path,
            format!(
                "all {} variants have a negative position (plink2 excludes them)",
                pvar.n_records
            ),
        ));
    }
    Ok(pvar)
}

/// Reads a `.psam`: an optional run of `##` lines, then a header line
/// starting `#FID` or `#IID` that names the columns (`FID`, `IID`, `SID`,
/// `PAT`, `MAT`, `SEX`, then phenotypes; the first phenotype becomes the
/// `.fam` phenotype, `NA` as `-9`). Without a header line the file is a
/// `.fam`. Sex `1`/`M` is male, `2`/`F` female, anything else unknown.
pub fn read_psam(path: impl AsRef<Path>) -> Result<Psam> {
    let path = path.as_ref();
    let text = crate::atomic::read_to_string(path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
        .skip_while(|(_, l)| l.starts_with("##"));
    let Some((header_line, header)) = lines.next() else {
        return Err(Error::Empty { path: path.into() });
    };
    if !(header.starts_with("#FID") || header.starts_with("#IID")) {
        return Ok(Psam {
            samples: read_fam(path)?,
            has_fid: true,
        });
    }
    let names: Vec<&str> = header[1..].split_whitespace().collect();
    let find = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let fid = find("FID");
    let iid = find("IID").ok_or_else(|| Error::parse(path, header_line, "no IID column"))?;
    let (pat, mat, sex) = (find("PAT"), find("MAT"), find("SEX"));
    let known = ["FID", "IID", "SID", "PAT", "MAT", "SEX"];
    let pheno = (0..names.len()).find(|&k| !known.iter().any(|n| names[k].eq_ignore_ascii_case(n)));
    let mut samples = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (lineno, line) in lines {
        if line.starts_with('#') {
            return Err(Error::parse(path, lineno, "a '#' line after the header"));
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != names.len() {
            return Err(Error::parse(
                path,
                lineno,
                format!("{} columns, the header names {}", f.len(), names.len()),
            ));
        }
        let id = SampleId::new(fid.map_or("0", |k| f[k]), f[iid]);
        if !seen.insert(id.clone()) {
            return Err(Error::parse(
                path,
                lineno,
                format!("duplicate sample ID {id}"),
            ));
        }
        let parent = |col: Option<usize>| match col.map(|k| f[k]) {
            None | Some("NA") => "0".to_string(),
            Some(p) => p.to_string(),
        };
        samples.push(Sample {
            id,
            father: parent(pat),
            mother: parent(mat),
            sex: match sex.map(|k| f[k]) {
                Some("1" | "M" | "m") => Sex::Male,
                Some("2" | "F" | "f") => Sex::Female,
                _ => Sex::Unknown,
            },
            phenotype: match pheno.map(|k| f[k]) {
                None | Some("NA" | "nan" | "NaN") => "-9".to_string(),
                Some(p) => p.to_string(),
            },
        });
    }
    if samples.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(Psam {
        samples,
        has_fid: fid.is_some(),
    })
}

/// Why a record could not be decoded (the caller adds file and variant).
type Malformed = String;

/// A bounds-checked reader over one record's bytes.
struct Bytes<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], Malformed> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(format!("{what} runs past the end of the record"));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn byte(&mut self, what: &str) -> std::result::Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }
    /// A 7-bit little-endian variable-length integer (at most 32 bits).
    fn vint(&mut self, what: &str) -> std::result::Result<u32, Malformed> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.byte(what)?;
            if shift == 28 && b > 15 {
                return Err(format!("{what}: a variable-length integer overflows"));
            }
            value |= u32::from(b & 127) << shift;
            if b < 128 {
                return Ok(value);
            }
        }
        Err(format!("{what}: a variable-length integer overflows"))
    }
}

/// Scratch space for decoding the records of one span, in order.
struct Decoder {
    n: usize,
    /// The current record's hard calls, one PLINK 2 code (0 hom REF, 1 het,
    /// 2 hom ALT, 3 missing) per sample.
    geno: Vec<u8>,
    /// The last record that was not LD-compressed.
    ldbase: Vec<u8>,
    /// The current record's dosages: (sample, 1/16384 ALT copies).
    dosages: Vec<(u32, u16)>,
    /// Sample IDs of a difflist or deltalist, and its genotype codes.
    ids: Vec<u32>,
    codes: Vec<u8>,
}

impl Decoder {
    fn new(n: usize) -> Self {
        Self {
            n,
            geno: vec![3; n],
            ldbase: vec![3; n],
            dosages: Vec::new(),
            ids: Vec::new(),
            codes: Vec::new(),
        }
    }

    /// Reads a difflist (`with_codes`) or deltalist into `ids`/`codes`.
    fn read_list(
        &mut self,
        r: &mut Bytes,
        with_codes: bool,
        what: &str,
    ) -> std::result::Result<(), Malformed> {
        self.ids.clear();
        self.codes.clear();
        let len = r.vint(what)? as usize;
        if len == 0 {
            return Ok(());
        }
        if len > self.n {
            return Err(format!("{what} lists {len} of {} samples", self.n));
        }
        let groups = len.div_ceil(DIFFLIST_GROUP);
        let id_bytes = bytes_for_sample_ids(self.n);
        let starts = r.take(groups * id_bytes, what)?;
        // The byte length of each group's deltas: only a skipping aid.
        r.take(groups - 1, what)?;
        if with_codes {
            let packed = r.take(len.div_ceil(4), what)?;
            self.codes
                .extend((0..len).map(|k| (packed[k / 4] >> (2 * (k % 4))) & 3));
        }
        for g in 0..groups {
            let mut sample = le_uint(&starts[g * id_bytes..(g + 1) * id_bytes]);
            let size = (len - g * DIFFLIST_GROUP).min(DIFFLIST_GROUP);
            for k in 0..size {
                if k > 0 {
                    let step = r.vint(what)?;
                    if step == 0 {
                        return Err(format!("{what}: a sample listed twice"));
                    }
                    sample += u64::from(step);
                }
                if sample >= self.n as u64 {
                    return Err(format!("{what}: sample index {sample} of {}", self.n));
                }
                self.ids.push(sample as u32);
            }
        }
        Ok(())
    }

    /// Applies a difflist read from `r` to `geno`.
    fn apply_difflist(&mut self, r: &mut Bytes) -> std::result::Result<(), Malformed> {
        self.read_list(r, true, "the genotype difflist")?;
        for (&s, &c) in self.ids.iter().zip(&self.codes) {
            self.geno[s as usize] = c;
        }
        Ok(())
    }

    /// Decodes record `vrtype` from `bytes` into `geno` (and `dosages` when
    /// `want_dosage`), updating the LD base.
    fn decode(
        &mut self,
        vrtype: u8,
        bytes: &[u8],
        want_dosage: bool,
    ) -> std::result::Result<(), Malformed> {
        let n = self.n;
        let mut r = Bytes { b: bytes, at: 0 };
        self.dosages.clear();
        match vrtype & 7 {
            0 => {
                let packed = r.take(n.div_ceil(4), "the 2-bit genotypes")?;
                for (i, g) in self.geno.iter_mut().enumerate() {
                    *g = (packed[i / 4] >> (2 * (i % 4))) & 3;
                }
            }
            1 => {
                let common = r.byte("the 1-bit genotype codes")?;
                let (delta, base) = (common & 3, common >> 2);
                if delta == 0 || base + delta > 3 {
                    return Err(format!(
                        "1-bit record with invalid common codes {common:#04x}"
                    ));
                }
                let bits = r.take(n.div_ceil(8), "the 1-bit genotypes")?;
                for (i, g) in self.geno.iter_mut().enumerate() {
                    *g = base + delta * ((bits[i / 8] >> (i % 8)) & 1);
                }
                self.apply_difflist(&mut r)?;
            }
            2 | 3 => {
                self.geno.copy_from_slice(&self.ldbase);
                self.apply_difflist(&mut r)?;
                if vrtype & 1 == 1 {
                    for g in &mut self.geno {
                        if *g != 3 {
                            *g = 2 - *g;
                        }
                    }
                }
            }
            5 => self.geno.fill(0),
            fill => {
                self.geno.fill(fill & 3);
                self.apply_difflist(&mut r)?;
            }
        }
        if !matches!(vrtype & 7, 2 | 3) {
            self.ldbase.copy_from_slice(&self.geno);
        }
        if vrtype & 8 != 0 {
            return Err(
                "multi-allelic hard calls (record type bit 3): genolens reads biallelic \
                 variants; split them with plink2 --make-pgen multiallelics=-"
                    .into(),
            );
        }
        if !want_dosage || vrtype & 0x60 == 0 {
            return Ok(());
        }
        if vrtype & 0x10 != 0 {
            // Phased hard calls: skip the phase track.
            let hets = self.geno.iter().filter(|&&g| g == 1).count();
            let first = r.take(1 + hets / 8, "the phase track")?;
            if first[0] & 1 == 1 {
                let present = first.iter().map(|b| b.count_ones() as usize).sum::<usize>() - 1;
                r.take(present.div_ceil(8), "the phase track")?;
            }
        }
        match vrtype & 0x60 {
            0x20 => {
                self.read_list(&mut r, false, "the dosage list")?;
                let values = r.take(2 * self.ids.len(), "the dosages")?;
                for (k, &s) in self.ids.iter().enumerate() {
                    self.dosages.push((s, u16_at(values, k)));
                }
            }
            0x40 => {
                let values = r.take(2 * n, "the dosages")?;
                self.dosages
                    .extend((0..n).map(|i| (i as u32, u16_at(values, i))));
            }
            _ => {
                let bits = r.take(n.div_ceil(8), "the dosage bitarray")?;
                let count = bits.iter().map(|b| b.count_ones() as usize).sum::<usize>();
                let values = r.take(2 * count, "the dosages")?;
                let present = (0..n).filter(|&i| (bits[i / 8] >> (i % 8)) & 1 == 1);
                for (k, i) in present.enumerate() {
                    self.dosages.push((i as u32, u16_at(values, k)));
                }
            }
        }
        let dense = vrtype & 0x60 == 0x40;
        if let Some(&(s, v)) = self
            .dosages
            .iter()
            .find(|&&(_, v)| v > 32768 && !(dense && v == DOSAGE_MISSING))
        {
            return Err(format!(
                "dosage {v} of sample {s} is above 32768 (2 copies)"
            ));
        }
        Ok(())
    }

    /// The current record as dosages (`NaN` missing).
    fn write_dosages(&self, out: &mut [f32]) {
        for (o, &g) in out.iter_mut().zip(&self.geno) {
            *o = if g == 3 { f32::NAN } else { f32::from(g) };
        }
        for &(s, v) in &self.dosages {
            out[s as usize] = if v == DOSAGE_MISSING {
                f32::NAN
            } else {
                f32::from(v) / DOSAGE_ONE
            };
        }
    }

    /// The current record's hard calls in the `.bed` layout.
    fn write_hardcalls(&self, out: &mut [u8]) {
        // PLINK 2 code -> PLINK 1 code (REF is allele 2, ALT allele 1).
        const TO_BED: [u8; 4] = [3, 2, 0, 1];
        out.fill(0);
        for (i, &g) in self.geno.iter().enumerate() {
            out[i / 4] |= TO_BED[usize::from(g)] << (2 * (i % 4));
        }
    }
}

fn u16_at(b: &[u8], k: usize) -> u16 {
    u16::from_le_bytes([b[2 * k], b[2 * k + 1]])
}

/// A little-endian unsigned integer of up to 8 bytes (the `.pgen` header's
/// fields are 1–8 bytes wide).
fn le_uint(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

/// Bytes of a difflist's group-start sample IDs (pgenlib's
/// `BytesToRepresentNzU32(sample_ct)`).
fn bytes_for_sample_ids(n: usize) -> usize {
    1 + (usize::BITS - 1 - n.max(1).leading_zeros()) as usize / 8
}

impl PgenFile {
    /// Opens the fileset `prefix` (`prefix.pgen`, `prefix.pvar` or
    /// `prefix.pvar.zst`, `prefix.psam`).
    pub fn open(prefix: impl AsRef<Path>) -> Result<Self> {
        let (pgen, pvar, psam) = pfile_paths(prefix);
        Self::open_paths(&pgen, &pvar, &psam)
    }

    /// Opens a `.pgen` with its `.pvar` and `.psam` named one by one.
    pub fn open_paths(pgen: &Path, pvar: &Path, psam: &Path) -> Result<Self> {
        let pvar_path = pvar.to_path_buf();
        let pvar = read_pvar(pvar)?;
        let psam = read_psam(psam)?;
        let file = open(pgen)?;
        let len = file.metadata().map_err(|e| Error::io(pgen, e))?.len();
        let n = psam.samples.len();
        let m = pvar.n_records;
        let layout = read_layout(pgen, &file, len, m, n)?;
        let hardcalls_only = match &layout {
            Layout::Fixed { .. } => true,
            Layout::Variable { vrtypes, .. } => vrtypes.iter().all(|t| t & 0x60 == 0),
        };
        Ok(Self {
            path: pgen.to_path_buf(),
            pvar_path,
            file,
            samples: psam.samples,
            variants: pvar.variants,
            records: pvar.records,
            n_records: m,
            layout,
            hardcalls_only,
        })
    }

    /// The raw record an LD-compressed `record` refers back to (itself when
    /// it is not LD-compressed).
    fn ld_base(&self, record: usize) -> usize {
        match &self.layout {
            Layout::Fixed { .. } => record,
            Layout::Variable { vrtypes, .. } => {
                let mut r = record;
                while r > 0 && matches!(vrtypes[r] & 7, 2 | 3) {
                    r -= 1;
                }
                r
            }
        }
    }

    /// Decodes the loaded variants `range` in order, calling `sink` with
    /// each one's index within `range` and the decoder holding it.
    fn decode_span(
        &self,
        range: Range<usize>,
        want_dosage: bool,
        mut sink: impl FnMut(usize, &Decoder),
    ) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let first = self.ld_base(self.records[range.start]);
        let last = self.records[range.end - 1];
        let mut decoder = Decoder::new(self.samples.len());
        let (span_start, span_end) = match &self.layout {
            Layout::Fixed { start, width, .. } => (
                start + first as u64 * width,
                start + (last as u64 + 1) * width,
            ),
            Layout::Variable { offsets, .. } => (offsets[first], offsets[last + 1]),
        };
        let mut buf = vec![0u8; (span_end - span_start) as usize];
        read_at(&self.file, &self.path, &mut buf, span_start)?;
        let mut next = range.start;
        for record in first..=last {
            let (vrtype, bytes) = match &self.layout {
                Layout::Fixed { width, plink1, .. } => {
                    let at = ((record - first) as u64 * width) as usize;
                    let bytes = &buf[at..at + *width as usize];
                    if *plink1 {
                        // `.bed` codes 00 hom ALT, 01 missing, 10 het, 11 hom REF.
                        const FROM_BED: [u8; 4] = [2, 3, 1, 0];
                        for (i, g) in decoder.geno.iter_mut().enumerate() {
                            *g = FROM_BED[usize::from((bytes[i / 4] >> (2 * (i % 4))) & 3)];
                        }
                        decoder.dosages.clear();
                        if next < range.end && self.records[next] == record {
                            sink(next - range.start, &decoder);
                            next += 1;
                        }
                        continue;
                    }
                    (0u8, bytes)
                }
                Layout::Variable { vrtypes, offsets } => {
                    let a = (offsets[record] - span_start) as usize;
                    let b = (offsets[record + 1] - span_start) as usize;
                    (vrtypes[record], &buf[a..b])
                }
            };
            let loaded = next < range.end && self.records[next] == record;
            // Records that are neither loaded nor an LD base need no decoding
            // beyond keeping the base current.
            decoder
                .decode(vrtype, bytes, want_dosage && loaded)
                .map_err(|reason| self.record_error(record, next, reason))?;
            if loaded {
                sink(next - range.start, &decoder);
                next += 1;
            }
        }
        Ok(())
    }

    fn record_error(&self, record: usize, next: usize, reason: String) -> Error {
        let named = self
            .records
            .get(next)
            .filter(|&&r| r == record)
            .map(|_| format!(" (variant {})", self.variants[next].id))
            .unwrap_or_default();
        Error::record(&self.path, record + 1, format!("{reason}{named}"))
    }

    /// Splits `range` into spans decoded on their own, in parallel.
    fn spans(range: &Range<usize>) -> usize {
        let threads = rayon::current_num_threads().max(1);
        range.len().div_ceil(threads * 4).max(64)
    }
}

/// Reads the `.pgen` header: its mode, counts, and where each record is.
fn read_layout(path: &Path, file: &File, len: u64, m: usize, n: usize) -> Result<Layout> {
    let mut head = [0u8; 12];
    let got = (len as usize).min(12);
    read_at(file, path, &mut head[..got], 0)?;
    if got < 3 || head[0..2] != [0x6c, 0x1b] {
        return Err(Error::invalid(
            path,
            "not a .pgen file (no 0x6c 0x1b magic number)",
        ));
    }
    let width = n.div_ceil(4) as u64;
    let mode = head[2];
    if mode == 0x01 {
        let want = 3 + m as u64 * width;
        if len != want {
            return Err(Error::invalid(
                path,
                format!(
                    "a PLINK 1 variant-major file of {len} bytes; {m} variants x {n} samples \
                     need {want}"
                ),
            ));
        }
        return Ok(Layout::Fixed {
            start: 3,
            width,
            plink1: true,
        });
    }
    if got < 12 {
        return Err(Error::invalid(path, "truncated: the header needs 12 bytes"));
    }
    let (file_m, file_n, ctrl) = (
        le_uint(&head[3..7]) as usize,
        le_uint(&head[7..11]) as usize,
        head[11],
    );
    if file_m != m || file_n != n {
        return Err(Error::invalid(
            path,
            format!(
                "{file_m} variants x {file_n} samples, but the .pvar has {m} variants and the \
                 .psam {n} samples"
            ),
        ));
    }
    let nonref_stored = ctrl >> 6 == 3;
    match mode {
        0x02 => {
            let start = 12
                + if nonref_stored {
                    m.div_ceil(8) as u64
                } else {
                    0
                };
            let want = start + m as u64 * width;
            if len != want {
                return Err(Error::invalid(
                    path,
                    format!("a fixed-width file of {len} bytes; {m} x {n} need {want}"),
                ));
            }
            Ok(Layout::Fixed {
                start,
                width,
                plink1: false,
            })
        }
        0x03 | 0x04 => Err(Error::invalid(
            path,
            format!(
                "fixed-width dosage mode {mode:#04x} is not read by genolens; rewrite the \
                 file with plink2 --pfile ... --make-pgen"
            ),
        )),
        0x10 | 0x11 => read_variable_layout(path, file, len, m, ctrl),
        0x20 | 0x21 => Err(Error::invalid(
            path,
            "the header is in an external .pgi index (mode 0x20/0x21), which genolens does not \
             read; rewrite the file with plink2 --pfile ... --make-pgen",
        )),
        other => Err(Error::invalid(
            path,
            format!("unknown .pgen mode {other:#04x}"),
        )),
    }
}

/// The record index of a mode 0x10/0x11 `.pgen`.
fn read_variable_layout(path: &Path, file: &File, len: u64, m: usize, ctrl: u8) -> Result<Layout> {
    let storage = ctrl & 15;
    if storage >= 8 {
        return Err(Error::invalid(
            path,
            format!(
                "header storage code {storage} (plink2's single-sample encodings) is not read \
                 by genolens"
            ),
        ));
    }
    let len_bytes = 1 + usize::from(storage & 3);
    let wide_types = storage & 4 != 0;
    let allele_bytes = usize::from((ctrl >> 4) & 3);
    let nonref_stored = ctrl >> 6 == 3;
    let blocks = m.div_ceil(VBLOCK);
    let header_len = 12
        + 8 * blocks as u64
        + (0..blocks)
            .map(|b| {
                let c = (m - b * VBLOCK).min(VBLOCK);
                let types = if wide_types { c } else { c.div_ceil(2) };
                let flags = if nonref_stored { c.div_ceil(8) } else { 0 };
                (types + c * len_bytes + c * allele_bytes + flags) as u64
            })
            .sum::<u64>();
    if header_len > len {
        return Err(Error::invalid(
            path,
            format!("truncated: the header of {m} variants needs {header_len} bytes, the file has {len}"),
        ));
    }
    let mut header = vec![0u8; header_len as usize];
    read_at(file, path, &mut header, 0)?;
    let mut vrtypes = Vec::with_capacity(m);
    let mut offsets = Vec::with_capacity(m + 1);
    let mut at = 12 + 8 * blocks;
    for b in 0..blocks {
        let c = (m - b * VBLOCK).min(VBLOCK);
        let block_start = le_uint(&header[12 + 8 * b..20 + 8 * b]);
        if wide_types {
            vrtypes.extend_from_slice(&header[at..at + c]);
            at += c;
        } else {
            vrtypes.extend((0..c).map(|k| (header[at + k / 2] >> (4 * (k % 2))) & 15));
            at += c.div_ceil(2);
        }
        let mut pos = block_start;
        for k in 0..c {
            let record_len = le_uint(&header[at + k * len_bytes..at + (k + 1) * len_bytes]);
            offsets.push(pos);
            pos += record_len;
        }
        at += c * len_bytes;
        if allele_bytes > 0 {
            for k in 0..c {
                let alleles = le_uint(&header[at + k * allele_bytes..at + (k + 1) * allele_bytes]);
                if alleles > 2 {
                    return Err(Error::record(
                        path,
                        b * VBLOCK + k + 1,
                        format!(
                            "{alleles} alleles: genolens reads biallelic variants; split them \
                             with plink2 --make-pgen multiallelics=-"
                        ),
                    ));
                }
            }
            at += c * allele_bytes;
        }
        if nonref_stored {
            at += c.div_ceil(8);
        }
        if pos > len {
            return Err(Error::invalid(
                path,
                format!("truncated: the records of variant block {} end at byte {pos}, the file has {len}", b + 1),
            ));
        }
        if b + 1 == blocks {
            offsets.push(pos);
        }
        if let Some(first) = vrtypes.get(b * VBLOCK) {
            if matches!(first & 7, 2 | 3) {
                return Err(Error::record(
                    path,
                    b * VBLOCK + 1,
                    "the first record of a variant block is LD-compressed",
                ));
            }
        }
    }
    // Records of consecutive blocks follow each other; the offsets of a
    // block after the first start at its own recorded position, so an
    // offset list with one end per block is consistent as built.
    Ok(Layout::Variable { vrtypes, offsets })
}

impl GenotypeSource for PgenFile {
    fn samples(&self) -> &[Sample] {
        &self.samples
    }

    fn variants(&self) -> &[Variant] {
        &self.variants
    }

    fn origin(&self) -> &Path {
        &self.path
    }

    fn skipped_on_load(&self) -> usize {
        self.n_records - self.variants.len()
    }

    fn variants_origin(&self) -> &Path {
        &self.pvar_path
    }

    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> Result<()> {
        check_variant_request(
            &self.path,
            variant,
            self.variants.len(),
            out.len(),
            self.samples.len(),
        )?;
        self.decode_span(variant..variant + 1, true, |_, d| d.write_dosages(out))
    }

    /// Decodes spans of the range in parallel, each from the LD base of its
    /// first variant; the first error in variant order is returned.
    fn read_block(&self, range: Range<usize>) -> Result<GenotypeBlock> {
        check_range(&self.path, &range, self.variants.len())?;
        let n = self.samples.len();
        let mut block = GenotypeBlock::missing(range.start, n, range.len());
        if n == 0 || range.is_empty() {
            return Ok(block);
        }
        let span = Self::spans(&range);
        let results: Vec<Result<()>> = block
            .variant_major_mut()
            .par_chunks_mut(n * span)
            .enumerate()
            .map(|(k, out)| {
                let start = range.start + k * span;
                let end = (start + span).min(range.end);
                self.decode_span(start..end, true, |j, d| {
                    d.write_dosages(&mut out[j * n..(j + 1) * n]);
                })
            })
            .collect();
        results.into_iter().collect::<Result<()>>()?;
        Ok(block)
    }

    /// The stored hard calls (plink2's `--make-bed` writes these), without
    /// reading the dosage tracks.
    fn read_hardcalls(&self, range: Range<usize>) -> Result<HardCallBlock> {
        check_range(&self.path, &range, self.variants.len())?;
        let n = self.samples.len();
        let stride = n.div_ceil(4);
        let mut bytes = vec![0u8; stride * range.len()];
        if stride > 0 && !range.is_empty() {
            let span = Self::spans(&range);
            let results: Vec<Result<()>> = bytes
                .par_chunks_mut(stride * span)
                .enumerate()
                .map(|(k, out)| {
                    let start = range.start + k * span;
                    let end = (start + span).min(range.end);
                    self.decode_span(start..end, false, |j, d| {
                        d.write_hardcalls(&mut out[j * stride..(j + 1) * stride]);
                    })
                })
                .collect();
            results.into_iter().collect::<Result<()>>()?;
        }
        HardCallBlock::from_packed(range.start, n, bytes)
            .ok_or_else(|| Error::request(&self.path, "hard-call block size mismatch"))
    }

    fn hardcalls_exact(&self) -> bool {
        self.hardcalls_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_id_width_follows_pgenlib() {
        assert_eq!(bytes_for_sample_ids(1), 1);
        assert_eq!(bytes_for_sample_ids(255), 1);
        assert_eq!(bytes_for_sample_ids(256), 2);
        assert_eq!(bytes_for_sample_ids(65535), 2);
        assert_eq!(bytes_for_sample_ids(65536), 3);
    }

    #[test]
    fn variable_length_integers_decode_and_overflow_is_an_error() {
        let mut r = Bytes {
            b: &[0x05, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f],
            at: 0,
        };
        assert_eq!(r.vint("x"), Ok(5));
        assert_eq!(r.vint("x"), Ok(128));
        assert_eq!(r.vint("x"), Ok(u32::MAX));
        let mut bad = Bytes {
            b: &[0xff, 0xff, 0xff, 0xff, 0x7f],
            at: 0,
        };
        assert!(bad.vint("x").is_err());
        let mut short = Bytes { b: &[0x80], at: 0 };
        assert!(short.vint("x").is_err());
    }

    #[test]
    fn difflists_with_groups_and_ld_inversion_decode() {
        // 300 samples (2-byte group starts), all hom REF but 70 listed
        // samples (two groups), then an inverted LD record of it.
        let n = 300;
        let listed: Vec<u32> = (0..70).map(|k| 3 * k + 1).collect();
        let mut rec = vec![70u8];
        rec.extend_from_slice(&1u16.to_le_bytes());
        rec.extend_from_slice(&(listed[64] as u16).to_le_bytes());
        rec.push(0); // group byte count - 63 (ignored)
        let codes: Vec<u8> = (0..70).map(|k| [1u8, 2, 3][k % 3]).collect();
        for chunk in codes.chunks(4) {
            rec.push(chunk.iter().enumerate().map(|(i, c)| c << (2 * i)).sum());
        }
        for g in 0..2 {
            rec.extend(std::iter::repeat_n(3, (70 - 64 * g).min(64) - 1));
        }
        let mut d = Decoder::new(n);
        d.decode(4, &rec, true).unwrap();
        for i in 0..n {
            let want = listed
                .iter()
                .position(|&s| s as usize == i)
                .map_or(0, |k| codes[k]);
            assert_eq!(d.geno[i], want, "sample {i}");
        }
        // LD record with an empty difflist, inverted: 0 <-> 2, het and
        // missing kept.
        let before = d.geno.clone();
        d.decode(3, &[0], true).unwrap();
        for (a, b) in before.iter().zip(&d.geno) {
            assert_eq!(*b, if *a == 3 { 3 } else { 2 - a });
        }
        // A listed sample beyond the sample count is an error, not a panic.
        let mut bad = rec.clone();
        bad[1..3].copy_from_slice(&299u16.to_le_bytes());
        assert!(d.decode(4, &bad, true).is_err());
        assert!(d.decode(4, &rec[..rec.len() - 5], true).is_err());
    }
}
