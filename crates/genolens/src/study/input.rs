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
use crate::io::{GenotypeSource, SampleId, Subset};
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
}

impl GenotypeInput {
    /// All samples and variants of a PLINK fileset.
    pub fn bfile(prefix: impl Into<PathBuf>) -> Self {
        Self {
            files: GenotypeFiles::Bfile(prefix.into()),
            extract: None,
            keep: None,
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
        if self.extract.is_none() && self.keep.is_none() {
            return Ok(source);
        }
        let variants = match &self.extract {
            None => None,
            Some(path) => {
                let ids: HashSet<String> = read_id_list(path)?.into_iter().collect();
                let idx: Vec<usize> = source
                    .variants()
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| ids.contains(&v.id))
                    .map(|(i, _)| i)
                    .collect();
                if idx.is_empty() {
                    return Err(Error::Invalid(format!(
                        "--extract {}: none of its {} IDs is a variant of {}",
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
