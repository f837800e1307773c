//! Genotype input as every step takes it: a PLINK fileset or a VCF, and
//! which samples and variants to use (PLINK's `--extract`, `--keep`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::io::bgen::{BgenFile, RefAllele};
use crate::io::matrix::{GenoMatrix, MatrixOptions};
use crate::io::pgen::{pfile_paths, PgenFile};
use crate::io::plink::BedFile;
use crate::io::report::{read_id_list, read_sample_list};
use crate::io::vcf::{VcfGenotypes, VcfOptions};
use ndarray::Array2;

use crate::io::table::{SampleTable, TableOptions};
use crate::io::{plink_chrom, GenotypeSource, SampleId, Subset, Variant};
use crate::study::RunLog;
use crate::{Error, Result};

/// Where genotypes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum GenotypeFiles {
    /// A PLINK 1 binary fileset prefix (`P.bed`, `P.bim`, `P.fam`).
    Bfile(PathBuf),
    /// A VCF (plain, gzip or bgzip) and how its records become variants.
    Vcf(PathBuf, VcfOptions),
    /// A PLINK 2 fileset prefix (`P.pgen`, `P.pvar` or `P.pvar.zst`, `P.psam`).
    Pfile(PathBuf),
    /// A numeric genotype matrix (a row per sample) and how it is read.
    Matrix(PathBuf, MatrixOptions),
    /// A BGEN file, its Oxford `.sample` file if any, and which allele is REF.
    Bgen {
        /// The `.bgen`.
        path: PathBuf,
        /// The `.sample` file (else the file's own IDs, FID `0`).
        sample: Option<PathBuf>,
        /// Which allele of each record is REF.
        reference: RefAllele,
    },
}

/// The genotypes of a step and the subset to use.
#[derive(Debug, Clone, PartialEq)]
pub struct GenotypeInput {
    /// The files.
    pub files: GenotypeFiles,
    /// Keep only the variants whose IDs are listed (PLINK's `--extract`).
    pub extract: Option<PathBuf>,
    /// Keep only the samples listed, `FID IID` or `IID` per line (`--keep`).
    pub keep: Option<PathBuf>,
    /// Keep only the variants in a chromosome list or range (`--chr`,
    /// `--from-bp`/`--to-bp`, `--from`/`--to`).
    pub range: VariantRange,
}

/// A variant range as plink2 spells it: `--chr 1-4,22,X`, then on one
/// chromosome `--from-bp`/`--to-bp` (inclusive) or `--from`/`--to` (variant
/// IDs, inclusive, in file order). Empty selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantRange {
    /// `--chr`: chromosome codes and ranges (`1-4`, `X`, `chr2`), as given.
    pub chromosomes: Option<String>,
    /// `--from-bp`: the first position kept (needs one `--chr`).
    pub from_bp: Option<u64>,
    /// `--to-bp`: the last position kept (needs one `--chr`).
    pub to_bp: Option<u64>,
    /// `--from`: the first variant kept, by ID.
    pub from_id: Option<String>,
    /// `--to`: the last variant kept, by ID.
    pub to_id: Option<String>,
}

/// A chromosome code's place in PLINK's order (`X` 23, `Y` 24, `XY` 25,
/// `MT` 26), for ranges; `None` for other contig names.
fn chrom_number(code: &str) -> Option<u32> {
    match plink_chrom(code) {
        "X" | "x" => Some(23),
        "Y" | "y" => Some(24),
        "XY" | "xy" => Some(25),
        "MT" | "mt" => Some(26),
        c => c.parse().ok(),
    }
}

/// A chromosome code as `--chr` compares it: PLINK's printed code, with
/// numbers normalised (`01` is `1`).
fn chrom_key(code: &str) -> String {
    match chrom_number(code) {
        Some(n) => plink_chrom(&n.to_string()).to_string(),
        None => plink_chrom(code).to_string(),
    }
}

impl VariantRange {
    /// `true` when nothing is selected out.
    pub fn is_all(&self) -> bool {
        self == &Self::default()
    }

    /// The chromosome keys `--chr` names.
    fn chromosome_set(&self) -> Result<Option<HashSet<String>>> {
        let Some(list) = &self.chromosomes else {
            return Ok(None);
        };
        let mut set = HashSet::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item.split_once('-') {
                Some((a, b)) => {
                    let (Some(a), Some(b)) = (chrom_number(a), chrom_number(b)) else {
                        return Err(Error::Invalid(format!(
                            "--chr {item}: a range needs two chromosome numbers (or X, Y, XY, MT)"
                        )));
                    };
                    if a > b {
                        return Err(Error::Invalid(format!(
                            "--chr {item}: the range is reversed"
                        )));
                    }
                    set.extend((a..=b).map(|n| chrom_key(&n.to_string())));
                }
                None => {
                    set.insert(chrom_key(item));
                }
            }
        }
        if set.is_empty() {
            return Err(Error::Invalid("--chr: no chromosome given".into()));
        }
        Ok(Some(set))
    }

    /// The indices of `variants` the range keeps, in order; an error when
    /// the range is malformed or keeps nothing.
    pub fn select(&self, variants: &[Variant], origin: &Path) -> Result<Vec<usize>> {
        let chromosomes = self.chromosome_set()?;
        if (self.from_bp.is_some() || self.to_bp.is_some())
            && chromosomes.as_ref().is_none_or(|c| c.len() != 1)
        {
            return Err(Error::Invalid(
                "--from-bp/--to-bp need --chr with exactly one chromosome".into(),
            ));
        }
        if let (Some(a), Some(b)) = (self.from_bp, self.to_bp) {
            if a > b {
                return Err(Error::Invalid(format!(
                    "--from-bp {a} is after --to-bp {b}"
                )));
            }
        }
        let find = |id: &str, flag: &str| {
            variants.iter().position(|v| v.id == id).ok_or_else(|| {
                Error::Invalid(format!(
                    "{flag} {id}: no such variant in {}",
                    origin.display()
                ))
            })
        };
        let from = self
            .from_id
            .as_deref()
            .map(|id| find(id, "--from"))
            .transpose()?;
        let to = self
            .to_id
            .as_deref()
            .map(|id| find(id, "--to"))
            .transpose()?;
        // --from/--to stay on one chromosome: the other end defaults to the
        // chromosome's first or last variant.
        let id_range = match (from, to) {
            (None, None) => None,
            (Some(f), Some(t)) => {
                if variants[f].plink_chrom() != variants[t].plink_chrom() {
                    return Err(Error::Invalid(format!(
                        "--from {} and --to {} are on different chromosomes",
                        variants[f].id, variants[t].id
                    )));
                }
                if f > t {
                    return Err(Error::Invalid(format!(
                        "--to {} comes before --from {} in {}",
                        variants[t].id,
                        variants[f].id,
                        origin.display()
                    )));
                }
                Some((f, t))
            }
            (Some(f), None) => {
                let c = variants[f].plink_chrom();
                let last = (f..variants.len())
                    .take_while(|&k| variants[k].plink_chrom() == c)
                    .last()
                    .unwrap_or(f);
                Some((f, last))
            }
            (None, Some(t)) => {
                let c = variants[t].plink_chrom();
                let first = (0..=t)
                    .rev()
                    .take_while(|&k| variants[k].plink_chrom() == c)
                    .last()
                    .unwrap_or(t);
                Some((first, t))
            }
        };
        let kept: Vec<usize> = (0..variants.len())
            .filter(|&k| {
                let v = &variants[k];
                chromosomes
                    .as_ref()
                    .is_none_or(|c| c.contains(&chrom_key(&v.chrom)))
                    && self.from_bp.is_none_or(|a| v.pos >= a)
                    && self.to_bp.is_none_or(|b| v.pos <= b)
                    && id_range.is_none_or(|(f, t)| (f..=t).contains(&k))
            })
            .collect();
        if kept.is_empty() {
            return Err(Error::Invalid(format!(
                "no variants of {} remain in the range (--chr/--from-bp/--to-bp/--from/--to)",
                origin.display()
            )));
        }
        Ok(kept)
    }
}

impl GenotypeInput {
    /// All samples and variants of a PLINK fileset.
    pub fn bfile(prefix: impl Into<PathBuf>) -> Self {
        Self {
            files: GenotypeFiles::Bfile(prefix.into()),
            extract: None,
            keep: None,
            range: VariantRange::default(),
        }
    }

    /// `true` when the genotypes come from a VCF (no family IDs: reports print
    /// `IID` only, as PLINK 2 does).
    pub fn is_vcf(&self) -> bool {
        match &self.files {
            GenotypeFiles::Vcf(..)
            | GenotypeFiles::Matrix(..)
            | GenotypeFiles::Bgen { sample: None, .. } => true,
            // A `.psam` without an FID column: plink2 prints IIDs only.
            GenotypeFiles::Pfile(prefix) => std::fs::read_to_string(pfile_paths(prefix).2)
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find(|l| !l.trim().is_empty() && !l.starts_with("##"))
                        .map(|l| l.starts_with("#IID"))
                })
                .unwrap_or(false),
            _ => false,
        }
    }

    /// Opens the genotypes and applies the subset; notes for the user (e.g.
    /// skipped multi-allelic records) go to `notes`.
    pub fn open(&self, notes: &mut Vec<String>) -> Result<Box<dyn GenotypeSource>> {
        let source: Box<dyn GenotypeSource> = match &self.files {
            GenotypeFiles::Bfile(prefix) => Box::new(BedFile::open(prefix)?),
            GenotypeFiles::Pfile(prefix) => Box::new(PgenFile::open(prefix)?),
            GenotypeFiles::Matrix(path, options) => Box::new(GenoMatrix::open(path, *options)?),
            GenotypeFiles::Bgen {
                path,
                sample,
                reference,
            } => Box::new(BgenFile::open(path, sample.as_deref(), *reference)?),
            GenotypeFiles::Vcf(path, options) => {
                let g = VcfGenotypes::read_with(path, *options)?;
                if g.skipped_multiallelic() > 0 {
                    notes.push(format!(
                        "skipped {} multi-allelic record(s) (--max-alleles 2)",
                        g.skipped_multiallelic()
                    ));
                }
                Box::new(g)
            }
        };
        if self.extract.is_none() && self.keep.is_none() && self.range.is_all() {
            return Ok(source);
        }
        let in_range = if self.range.is_all() {
            None
        } else {
            Some(self.range.select(source.variants(), source.origin())?)
        };
        let variants = match &self.extract {
            None => in_range,
            Some(path) => {
                let ids: HashSet<String> = read_id_list(path)?.into_iter().collect();
                let idx: Vec<usize> = source
                    .variants()
                    .iter()
                    .enumerate()
                    .filter(|(i, v)| {
                        ids.contains(&v.id)
                            && in_range.as_ref().is_none_or(|r| r.binary_search(i).is_ok())
                    })
                    .map(|(i, _)| i)
                    .collect();
                if idx.is_empty() {
                    return Err(Error::Invalid(format!(
                        "--extract {}: none of its {} IDs is a variant of {} (in the range given)",
                        path.display(),
                        ids.len(),
                        source.origin().display()
                    )));
                }
                Some(idx)
            }
        };
        let samples = match &self.keep {
            None => None,
            Some(path) => Some(samples_in_list(source.as_ref(), path, "--keep")?),
        };
        Ok(Box::new(Subset::new(source, samples, variants)?))
    }
}

impl GenotypeInput {
    /// Opens the genotypes for the step `command` and starts its log with
    /// them (notes such as skipped records become the log's warnings).
    pub fn open_logged(&self, command: &str) -> Result<(Box<dyn GenotypeSource>, RunLog)> {
        let mut notes = Vec::new();
        let source = self.open(&mut notes)?;
        let mut log = RunLog::for_source(command, source.as_ref());
        for note in notes {
            log.warn(note);
        }
        Ok((source, log))
    }
}

/// The samples of `source` named in a list file (`FID IID` or `IID` per
/// line), in the source's order; none is an error naming `option`.
pub fn samples_in_list(
    source: &dyn GenotypeSource,
    path: &Path,
    option: &str,
) -> Result<Vec<usize>> {
    let list = read_sample_list(path)?;
    let full: HashSet<(&str, &str)> = list
        .iter()
        .filter_map(|(f, i)| f.as_deref().map(|f| (f, i.as_str())))
        .collect();
    let iid_only: HashSet<&str> = list
        .iter()
        .filter(|(f, _)| f.is_none())
        .map(|(_, i)| i.as_str())
        .collect();
    let idx: Vec<usize> = source
        .samples()
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            full.contains(&(s.id.fid.as_str(), s.id.iid.as_str()))
                || iid_only.contains(s.id.iid.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    if idx.is_empty() {
        return Err(Error::Invalid(format!(
            "{option} {}: none of its samples is in {}",
            path.display(),
            source.origin().display()
        )));
    }
    Ok(idx)
}

/// The covariates a saved model was fitted with, by their model names, from
/// a covariate table aligned to `ids`. Categorical columns enter models as
/// indicator columns named `COLUMN=LEVEL`; they are read from `COLUMN` and
/// expanded as when the model was fitted.
pub fn read_model_covariates(
    path: &Path,
    names: &[String],
    ids: &[SampleId],
) -> Result<Array2<f64>> {
    let mut raw: Vec<String> = Vec::new();
    for name in names {
        let column = name.split_once('=').map_or(name.as_str(), |(c, _)| c);
        if !raw.iter().any(|r| r == column) {
            raw.push(column.to_string());
        }
    }
    let table = SampleTable::read_covariates(
        path,
        &TableOptions {
            columns: Some(raw),
            ..TableOptions::default()
        },
    )?;
    let (aligned, _) = table.align(ids)?;
    let mut out = Array2::from_elem((ids.len(), names.len()), f64::NAN);
    for (j, name) in names.iter().enumerate() {
        let k = aligned
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: the model needs covariate {name:?}, and the table gives {}",
                    path.display(),
                    aligned.names.join(", ")
                ))
            })?;
        out.column_mut(j).assign(&aligned.values.column(k));
    }
    Ok(out)
}
