//! Genotype input flags shared by the subcommands.

use std::path::PathBuf;

use clap::Args;
use genolens::io::plink::BedFile;
use genolens::io::vcf::{MultiAllelic, VcfGenotypes, VcfOptions};
use genolens::io::GenotypeSource;

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

/// All genotype input flags: the source and how a VCF is read.
#[derive(Debug, Args)]
pub struct InputArgs {
    #[command(flatten)]
    geno: GenotypeArgs,
    #[command(flatten)]
    vcf: VcfArgs,
}

impl InputArgs {
    /// Opens the genotype source the flags name.
    pub fn open(&self) -> Result<Box<dyn GenotypeSource>, CliError> {
        open(&self.geno, &self.vcf)
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
