//! VCF and bgzipped VCF genotypes, read with `noodles`.
//!
//! Each biallelic record becomes one variant whose counted allele (`allele1`) is
//! the ALT allele and whose other allele is REF, as PLINK 2 writes a `.bim` from a
//! VCF. Genotypes become ALT dosages:
//!
//! - `GT` gives hard calls 0/1/2; a call with any missing allele (`./.`, `0/.`)
//!   is missing, never imputed;
//! - a haploid call (`0`, `1`) is treated as homozygous (dosage 0 or 2), as PLINK 2
//!   does when it imports haploid calls into a diploid `.bed`;
//! - where a record carries `DS` (and [`VcfOptions::use_dosage`] is on), the
//!   dosage is taken from `DS`, and `GT` is used only where `DS` is missing;
//! - multi-allelic records are an error by default; [`MultiAllelic::Split`] makes
//!   one biallelic variant per ALT allele (counting that allele against all
//!   others), and [`MultiAllelic::Skip`] drops them like `plink2 --max-alleles 2`.
//!
//! The whole VCF is parsed into memory (4 bytes per genotype): VCF has no random
//! access without an index, and callers who stream biobank-scale data convert to
//! `.bed` first (`genolens convert`).

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use noodles::vcf;
use noodles::vcf::variant::record::samples::series::value::Array;
use noodles::vcf::variant::record::samples::series::Value;

use crate::error::{Error, Result};
use crate::genotype::{check_variant_request, GenotypeSource};
use crate::record::{Sample, SampleId, Variant};

/// What to do with a record that has more than one ALT allele.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MultiAllelic {
    /// Fail with an error naming the record (the default: nothing is dropped
    /// silently).
    #[default]
    Error,
    /// One biallelic variant per ALT allele, counting that allele.
    Split,
    /// Drop the record, as `plink2 --max-alleles 2` does.
    Skip,
}

/// How to read a VCF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcfOptions {
    /// Handling of multi-allelic records.
    pub multiallelic: MultiAllelic,
    /// Take dosages from `DS` where present (default `true`).
    pub use_dosage: bool,
}

impl Default for VcfOptions {
    fn default() -> Self {
        Self {
            multiallelic: MultiAllelic::Error,
            use_dosage: true,
        }
    }
}

/// The genotypes of a VCF file, parsed into memory.
#[derive(Debug, Clone)]
pub struct VcfGenotypes {
    path: PathBuf,
    samples: Vec<Sample>,
    variants: Vec<Variant>,
    /// Variant-major dosages: `dosages[v * n_samples + s]`.
    dosages: Vec<f32>,
    skipped_multiallelic: usize,
}

impl VcfGenotypes {
    /// Reads a `.vcf` or bgzipped `.vcf.gz` file with the default options.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        Self::read_with(path, VcfOptions::default())
    }

    /// Reads a `.vcf` or bgzipped `.vcf.gz` file.
    pub fn read_with(path: impl AsRef<Path>, options: VcfOptions) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::io(
                path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut magic = [0u8; 18];
        let n = read_prefix(&mut file, &mut magic).map_err(|e| Error::io(path, e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(path, e))?;
        match Compression::sniff(&magic[..n]) {
            Compression::Bgzf => {
                let mut reader = vcf::io::Reader::new(noodles::bgzf::io::Reader::new(file));
                Self::from_reader(&mut reader, path, options)
            }
            // Plain gzip is common too (`gzip file.vcf`); it streams, without random access.
            Compression::Gzip => {
                let inner = BufReader::new(flate2::read::MultiGzDecoder::new(file));
                Self::from_reader(&mut vcf::io::Reader::new(inner), path, options)
            }
            Compression::None => Self::from_reader(
                &mut vcf::io::Reader::new(BufReader::new(file)),
                path,
                options,
            ),
        }
    }

    fn from_reader<R: BufRead>(
        reader: &mut vcf::io::Reader<R>,
        path: &Path,
        options: VcfOptions,
    ) -> Result<Self> {
        let header = reader
            .read_header()
            .map_err(|e| Error::invalid(path, format!("bad VCF header: {e}")))?;
        let samples: Vec<Sample> = header
            .sample_names()
            .iter()
            .map(|name| Sample::new(SampleId::new("0", name.as_str())))
            .collect();
        if samples.is_empty() {
            return Err(Error::invalid(path, "the VCF has no sample columns"));
        }
        let n = samples.len();
        let mut variants = Vec::new();
        let mut dosages: Vec<f32> = Vec::new();
        let mut skipped = 0;
        let mut record = vcf::Record::default();
        let mut alleles_buf: Vec<Option<usize>> = Vec::with_capacity(2);
        let mut calls: Vec<Call> = Vec::with_capacity(n);
        let mut rec_no = 0usize;
        loop {
            let read = reader
                .read_record(&mut record)
                .map_err(|e| Error::record(path, rec_no + 1, format!("unreadable record: {e}")))?;
            if read == 0 {
                break;
            }
            rec_no += 1;
            let bad = |reason: String| Error::record(path, rec_no, reason);
            // noodles-vcf 0.96 can split a damaged line inside a multi-byte
            // character and then panic when a field is read (found by the
            // fuzz harness): every field is touched once here, so such a
            // line is an error naming the record instead.
            let splits = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let r = &record;
                r.reference_sequence_name().len()
                    + r.ids().as_ref().len()
                    + r.reference_bases().len()
                    + r.alternate_bases().as_ref().len()
                    + r.filters().as_ref().len()
                    + r.info().as_ref().len()
                    + r.samples().keys().iter().count()
                    + r.samples().iter().count()
                    + usize::from(r.variant_start().is_some())
                    + usize::from(r.quality_score().is_some())
            }));
            if splits.is_err() {
                return Err(bad("malformed record: its fields could not be split".into()));
            }
            let chrom = record.reference_sequence_name().to_string();
            let pos = match record.variant_start() {
                Some(Ok(p)) => usize::from(p) as u64,
                Some(Err(e)) => return Err(bad(format!("bad POS: {e}"))),
                None => return Err(bad("missing POS".into())),
            };
            let id = record.ids().as_ref().to_string();
            let id = if id.is_empty() { ".".to_string() } else { id };
            let reference = record.reference_bases().to_string();
            let alt_field = record.alternate_bases().as_ref().to_string();
            let alts: Vec<&str> = if alt_field.is_empty() {
                vec!["."]
            } else {
                alt_field.split(',').collect()
            };
            if alts.len() > 1 {
                match options.multiallelic {
                    MultiAllelic::Error => {
                        return Err(bad(format!(
                            "multi-allelic record {chrom}:{pos} ({} ALT alleles); split it \
                             (MultiAllelic::Split, `--split-multiallelic`) or skip it \
                             (MultiAllelic::Skip, `--max-alleles 2`)",
                            alts.len()
                        )))
                    }
                    MultiAllelic::Skip => {
                        skipped += 1;
                        continue;
                    }
                    MultiAllelic::Split => {}
                }
            }

            // Parse every sample's call once; dosages per ALT are derived below.
            let samples_field = record.samples();
            let keys = samples_field.keys();
            let gt_idx = keys.iter().position(|k| k == "GT");
            let ds_idx = if options.use_dosage && alts.len() == 1 {
                keys.iter().position(|k| k == "DS")
            } else {
                None
            };
            if gt_idx.is_none() && ds_idx.is_none() {
                return Err(bad("record has neither GT nor DS in FORMAT".into()));
            }
            calls.clear();
            let mut n_seen = 0;
            for (s, sample) in samples_field.iter().enumerate() {
                if s >= n {
                    return Err(bad(format!(
                        "more sample columns than the {n} in the header"
                    )));
                }
                n_seen += 1;
                let mut call = Call::Missing;
                if let Some(i) = ds_idx {
                    if let Some(ds) = read_ds(&sample, &header, i)
                        .map_err(|e| bad(format!("bad DS of sample {}: {e}", samples[s].id.iid)))?
                    {
                        if !(0.0..=2.0).contains(&ds) {
                            return Err(bad(format!(
                                "DS {ds} of sample {} is outside [0, 2]",
                                samples[s].id.iid
                            )));
                        }
                        call = Call::Dosage(ds);
                    }
                }
                if matches!(call, Call::Missing) {
                    if let Some(i) = gt_idx {
                        alleles_buf.clear();
                        read_gt(&sample, &header, i, &mut alleles_buf).map_err(|e| {
                            bad(format!("bad GT of sample {}: {e}", samples[s].id.iid))
                        })?;
                        call = gt_call(&alleles_buf, alts.len()).map_err(|e| {
                            bad(format!("bad GT of sample {}: {e}", samples[s].id.iid))
                        })?;
                    }
                }
                calls.push(call);
            }
            if n_seen != n {
                return Err(bad(format!(
                    "{n_seen} sample columns, the header names {n}"
                )));
            }
            for (k, alt) in alts.iter().enumerate() {
                let allele = k + 1;
                variants.push(Variant {
                    chrom: chrom.clone(),
                    pos,
                    id: id.clone(),
                    cm: 0.0,
                    allele1: (*alt).to_string(),
                    allele2: reference.clone(),
                });
                dosages.extend(calls.iter().map(|c| c.dosage_of(allele)));
            }
        }
        if rec_no == 0 {
            return Err(Error::Empty { path: path.into() });
        }
        Ok(Self {
            path: path.to_path_buf(),
            samples,
            variants,
            dosages,
            skipped_multiallelic: skipped,
        })
    }

    /// Number of multi-allelic records dropped under [`MultiAllelic::Skip`].
    pub fn skipped_multiallelic(&self) -> usize {
        self.skipped_multiallelic
    }
}

/// How a VCF file is compressed, told from its first bytes rather than its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Bgzf,
}

impl Compression {
    fn sniff(head: &[u8]) -> Self {
        if head.len() < 2 || head[..2] != [0x1f, 0x8b] {
            return Compression::None;
        }
        // BGZF: gzip with FEXTRA and a 'BC' subfield (SAM/BAM spec 4.1).
        let bgzf = head.len() >= 14 && head[3] & 0x04 != 0 && head[12] == b'B' && head[13] == b'C';
        if bgzf {
            Compression::Bgzf
        } else {
            Compression::Gzip
        }
    }
}

fn read_prefix(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// One sample's call at one record.
#[derive(Debug, Clone, Copy)]
enum Call {
    Missing,
    /// ALT dosage from DS (biallelic records only).
    Dosage(f32),
    /// Diploid (or haploid, doubled) allele indices.
    Alleles(usize, usize),
}

impl Call {
    fn dosage_of(self, allele: usize) -> f32 {
        match self {
            Call::Missing => f32::NAN,
            Call::Dosage(d) => d,
            Call::Alleles(a, b) => f32::from(u8::from(a == allele) + u8::from(b == allele)),
        }
    }
}

fn gt_call(alleles: &[Option<usize>], n_alts: usize) -> std::result::Result<Call, String> {
    let check = |a: usize| {
        if a > n_alts {
            Err(format!(
                "allele index {a} but the record has {n_alts} ALT allele(s)"
            ))
        } else {
            Ok(a)
        }
    };
    match alleles {
        [] => Ok(Call::Missing),
        [None] | [None, _] | [_, None] => Ok(Call::Missing),
        [Some(a)] => {
            let a = check(*a)?;
            Ok(Call::Alleles(a, a))
        }
        [Some(a), Some(b)] => Ok(Call::Alleles(check(*a)?, check(*b)?)),
        more => Err(format!(
            "ploidy {} is not supported (haploid and diploid only)",
            more.len()
        )),
    }
}

fn read_gt(
    sample: &vcf::record::samples::Sample<'_>,
    header: &vcf::Header,
    idx: usize,
    out: &mut Vec<Option<usize>>,
) -> std::io::Result<()> {
    let Some(value) = sample.get_index(header, idx) else {
        return Ok(()); // trailing fields dropped: missing
    };
    let Some(value) = value.transpose()? else {
        return Ok(());
    };
    match value {
        Value::Genotype(gt) => {
            for allele in gt.iter() {
                let (position, _phasing) = allele?;
                out.push(position);
            }
            Ok(())
        }
        other => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("GT is not a genotype: {other:?}"),
        )),
    }
}

fn read_ds(
    sample: &vcf::record::samples::Sample<'_>,
    header: &vcf::Header,
    idx: usize,
) -> std::io::Result<Option<f32>> {
    let Some(value) = sample.get_index(header, idx) else {
        return Ok(None);
    };
    let Some(value) = value.transpose()? else {
        return Ok(None);
    };
    match value {
        Value::Float(x) => Ok(Some(x)),
        Value::Integer(x) => Ok(Some(x as f32)),
        Value::Array(Array::Float(values)) => match values.iter().next() {
            Some(v) => v,
            None => Ok(None),
        },
        other => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("DS is not a number: {other:?}"),
        )),
    }
}

impl GenotypeSource for VcfGenotypes {
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
        let n = self.samples.len();
        check_variant_request(&self.path, variant, self.variants.len(), out.len(), n)?;
        out.copy_from_slice(&self.dosages[variant * n..(variant + 1) * n]);
        Ok(())
    }
}
