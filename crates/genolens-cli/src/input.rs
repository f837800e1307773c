//! Genotype input flags shared by the subcommands.

use std::path::{Path, PathBuf};

use clap::Args;
use genolens::features::split::{k_folds, Folds};
use genolens::io::folds::{FoldAssignment, FoldFileOptions};
use genolens::io::plink::BedFile;
use genolens::io::report::{read_id_list, read_sample_list};
use genolens::io::vcf::{MultiAllelic, VcfGenotypes, VcfOptions};
use genolens::io::{GenotypeSource, Subset};
use std::collections::HashSet;

use crate::error::CliError;

/// Where genotypes come from: a PLINK fileset or a VCF.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct GenotypeArgs {
    /// PLINK 1 binary fileset prefix (`P.bed`, `P.bim`, `P.fam`).
    #[arg(long, value_name = "PREFIX")]
    pub bfile: Option<PathBuf>,
    /// VCF file: plain, gzip or bgzip (told apart by content).
    #[arg(long, value_name = "FILE")]
    pub vcf: Option<PathBuf>,
}

/// All genotype input flags: the source, how a VCF is read, and which samples and
/// variants to use.
#[derive(Debug, Args)]
pub struct InputArgs {
    #[command(flatten)]
    geno: GenotypeArgs,
    #[command(flatten)]
    vcf: VcfArgs,
    /// Keep only the variants whose IDs are listed in FILE (one per line, as
    /// PLINK's `--extract`; e.g. a `.prune.in`).
    #[arg(long, value_name = "FILE")]
    extract: Option<PathBuf>,
    /// Keep only the samples listed in FILE (`FID IID` or `IID` per line, as
    /// PLINK's `--keep`).
    #[arg(long, value_name = "FILE")]
    keep: Option<PathBuf>,
}

impl InputArgs {
    /// Opens the genotype source the flags name.
    pub fn open(&self) -> Result<Box<dyn GenotypeSource>, CliError> {
        let source = open(&self.geno, &self.vcf)?;
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
                    return Err(CliError::Usage(format!(
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

    /// `true` when the genotypes come from a VCF (no family IDs: reports print
    /// `IID` only, as PLINK 2 does).
    pub fn is_vcf(&self) -> bool {
        self.geno.vcf.is_some()
    }
}

/// How VCF records are turned into biallelic variants.
#[derive(Debug, Args)]
pub struct VcfArgs {
    /// Keep only records with at most this many alleles (2 drops multi-allelic
    /// records, as in PLINK 2).
    #[arg(long, value_name = "N")]
    pub max_alleles: Option<usize>,
    /// Split multi-allelic records into one biallelic variant per ALT allele.
    #[arg(long, conflicts_with = "max_alleles")]
    pub split_multiallelic: bool,
    /// Ignore DS (dosage) fields and use GT hard calls only.
    #[arg(long)]
    pub vcf_ignore_ds: bool,
}

impl VcfArgs {
    fn options(&self) -> Result<VcfOptions, CliError> {
        let multiallelic = match (self.split_multiallelic, self.max_alleles) {
            (true, _) => MultiAllelic::Split,
            (false, Some(2)) => MultiAllelic::Skip,
            (false, Some(n)) => {
                return Err(CliError::Usage(format!(
                    "--max-alleles {n}: only 2 is supported (biallelic variants)"
                )))
            }
            (false, None) => MultiAllelic::Error,
        };
        Ok(VcfOptions {
            multiallelic,
            use_dosage: !self.vcf_ignore_ds,
        })
    }
}

fn open(geno: &GenotypeArgs, vcf: &VcfArgs) -> Result<Box<dyn GenotypeSource>, CliError> {
    match (&geno.bfile, &geno.vcf) {
        (Some(prefix), None) => Ok(Box::new(BedFile::open(prefix)?)),
        (None, Some(path)) => {
            let g = VcfGenotypes::read_with(path, vcf.options()?)?;
            if g.skipped_multiallelic() > 0 {
                eprintln!(
                    "genolens: skipped {} multi-allelic record(s) (--max-alleles 2)",
                    g.skipped_multiallelic()
                );
            }
            Ok(Box::new(g))
        }
        _ => Err(CliError::Usage(
            "give exactly one of --bfile or --vcf".into(),
        )),
    }
}

/// Cross-validation folds: K seeded folds, or a fold file.
#[derive(Debug, Args)]
pub struct FoldArgs {
    /// K seeded folds (default 5), unless --fold-file is given.
    #[arg(long, value_name = "K", conflicts_with = "fold_file")]
    pub folds: Option<usize>,
    /// Folds from a file: an ID column and an integer fold column.
    #[arg(long, value_name = "FILE")]
    pub fold_file: Option<PathBuf>,
    /// The fold file's individual-ID column.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "IID",
        requires = "fold_file"
    )]
    pub fold_id_col: String,
    /// The fold file's fold column.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "fold",
        requires = "fold_file"
    )]
    pub fold_col: String,
}

impl FoldArgs {
    /// The folds of `source`'s samples (seeded K folds, default 5).
    pub fn resolve(&self, source: &dyn GenotypeSource, seed: u64) -> Result<Folds, CliError> {
        Ok(match &self.fold_file {
            Some(path) => {
                let assignment = FoldAssignment::read(
                    path,
                    &FoldFileOptions::new(&self.fold_id_col, &self.fold_col),
                )?;
                Folds::from_assignment(source.samples(), &assignment)?
            }
            None => k_folds(source.n_samples(), self.folds.unwrap_or(5), seed)?,
        })
    }
}

/// The samples of `source` named in a list file (`FID IID` or `IID` per
/// line), in the source's order; none is an error naming the flag.
pub fn samples_in_list(
    source: &dyn GenotypeSource,
    path: &Path,
    flag: &str,
) -> Result<Vec<usize>, CliError> {
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
        return Err(CliError::Usage(format!(
            "{flag} {}: none of its samples is in {}",
            path.display(),
            source.origin().display()
        )));
    }
    Ok(idx)
}
