//! Genotype input flags shared by the subcommands.

use std::path::PathBuf;

use clap::Args;
use genolens::io::bgen::RefAllele;
use genolens::io::matrix::{MatrixCoding, MatrixOptions};
use genolens::io::vcf::{MultiAllelic, VcfOptions};
use genolens::io::GenotypeSource;
use genolens::study::predict::FoldSpec;
use genolens::study::{GenotypeFiles, GenotypeInput, VariantRange};

use crate::error::CliError;

/// Where genotypes come from: a PLINK 1 or PLINK 2 fileset, a VCF or a BGEN
/// file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct GenotypeArgs {
    /// PLINK 1 binary fileset prefix (`P.bed`, `P.bim`, `P.fam`).
    #[arg(long, value_name = "PREFIX")]
    pub bfile: Option<PathBuf>,
    /// VCF file: plain, gzip or bgzip (told apart by content).
    #[arg(long, value_name = "FILE")]
    pub vcf: Option<PathBuf>,
    /// PLINK 2 fileset prefix (`P.pgen`, `P.pvar` or `P.pvar.zst`, `P.psam`):
    /// hard calls and dosages as plink2 reads them.
    #[arg(long, value_name = "PREFIX")]
    pub pfile: Option<PathBuf>,
    /// Numeric genotype matrix, CSV or TSV (plain or gzip): a row per sample,
    /// an ID column then one value per marker, an optional header of marker
    /// names; `NA`/`.`/empty missing. See --delimiter and --matrix-coding.
    #[arg(long, value_name = "FILE")]
    pub geno_matrix: Option<PathBuf>,
    /// BGEN file (v1.1-1.3, zlib or zstd): dosages as plink2 imports them;
    /// with --sample for an Oxford `.sample` file and --ref-last for files
    /// whose last allele is REF (the first is, by default: UK Biobank's).
    #[arg(long, value_name = "FILE")]
    pub bgen: Option<PathBuf>,
}

/// All genotype input flags: the source, how a VCF is read, and which samples and
/// variants to use.
#[derive(Debug, Args)]
pub struct InputArgs {
    #[command(flatten)]
    geno: GenotypeArgs,
    #[command(flatten)]
    vcf: VcfArgs,
    /// With --geno-matrix: the field separator (one character; `tab` for a
    /// tab). Default: `,` when the first line has one, else tabs or spaces.
    #[arg(long, value_name = "C", requires = "geno_matrix")]
    delimiter: Option<String>,
    /// With --geno-matrix: what a value counts. `additive` 0/1/2 copies or
    /// a dosage (default); `inbred` 0/1 absent/present in homozygous lines,
    /// two copies each (BGLR's wheat); `centered` -1/0/1 (rrBLUP).
    #[arg(long, value_name = "CODING", requires = "geno_matrix", value_parser = ["additive", "inbred", "centered"])]
    matrix_coding: Option<String>,
    /// With --bgen: the Oxford `.sample` file (ID_1 = FID, ID_2 = IID, sex).
    #[arg(long, value_name = "FILE", requires = "bgen")]
    sample: Option<PathBuf>,
    /// With --bgen: the first allele of each record is REF (plink2's
    /// `ref-first`; the default).
    #[arg(long, requires = "bgen", conflicts_with = "ref_last")]
    ref_first: bool,
    /// With --bgen: the last allele is REF (plink2's `ref-last`; older and
    /// PLINK-exported files).
    #[arg(long, requires = "bgen")]
    ref_last: bool,
    /// Keep only the variants whose IDs are listed in FILE (one per line, as
    /// PLINK's `--extract`; e.g. a `.prune.in`).
    #[arg(long, value_name = "FILE")]
    extract: Option<PathBuf>,
    /// Keep only the samples listed in FILE (`FID IID` or `IID` per line, as
    /// PLINK's `--keep`).
    #[arg(long, value_name = "FILE")]
    keep: Option<PathBuf>,
    /// Keep only these chromosomes: codes and ranges, e.g. `1-4,22,X` (as
    /// plink2's `--chr`).
    #[arg(long, value_name = "LIST")]
    chr: Option<String>,
    /// With one --chr: the first base-pair position kept.
    #[arg(long, value_name = "BP", requires = "chr")]
    from_bp: Option<u64>,
    /// With one --chr: the last base-pair position kept.
    #[arg(long, value_name = "BP", requires = "chr")]
    to_bp: Option<u64>,
    /// The first variant kept, by ID (to --to, or the end of its chromosome).
    #[arg(long, value_name = "ID")]
    from: Option<String>,
    /// The last variant kept, by ID (from --from, or the start of its
    /// chromosome).
    #[arg(long, value_name = "ID")]
    to: Option<String>,
}

impl InputArgs {
    /// The genotype input the flags name, as the study steps take it.
    pub fn to_input(&self) -> Result<GenotypeInput, CliError> {
        let g = &self.geno;
        let files = match (&g.bfile, &g.vcf, &g.bgen, &g.pfile, &g.geno_matrix) {
            (Some(prefix), None, None, None, None) => GenotypeFiles::Bfile(prefix.clone()),
            (None, Some(path), None, None, None) => {
                GenotypeFiles::Vcf(path.clone(), self.vcf.options()?)
            }
            (None, None, None, Some(prefix), None) => GenotypeFiles::Pfile(prefix.clone()),
            (None, None, None, None, Some(path)) => {
                GenotypeFiles::Matrix(path.clone(), self.matrix_options()?)
            }
            (None, None, Some(path), None, None) => GenotypeFiles::Bgen {
                path: path.clone(),
                sample: self.sample.clone(),
                reference: if self.ref_last {
                    RefAllele::Last
                } else {
                    RefAllele::First
                },
            },
            _ => {
                return Err(CliError::Usage(
                    "give exactly one of --bfile, --pfile, --vcf, --bgen or --geno-matrix".into(),
                ))
            }
        };
        Ok(GenotypeInput {
            files,
            extract: self.extract.clone(),
            keep: self.keep.clone(),
            range: VariantRange {
                chromosomes: self.chr.clone(),
                from_bp: self.from_bp,
                to_bp: self.to_bp,
                from_id: self.from.clone(),
                to_id: self.to.clone(),
            },
        })
    }

    fn matrix_options(&self) -> Result<MatrixOptions, CliError> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("tab" | "\\t") => Some(b'\t'),
            Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            Some(d) => {
                return Err(CliError::Usage(format!(
                    "--delimiter {d:?}: give one character (or `tab`)"
                )))
            }
        };
        let coding = match self.matrix_coding.as_deref() {
            Some("inbred") => MatrixCoding::Inbred,
            Some("centered") => MatrixCoding::Centered,
            _ => MatrixCoding::Additive,
        };
        Ok(MatrixOptions { delimiter, coding })
    }

    /// Opens the genotype source the flags name.
    pub fn open(&self) -> Result<Box<dyn GenotypeSource>, CliError> {
        let mut notes = Vec::new();
        let source = self.to_input()?.open(&mut notes)?;
        for note in notes {
            eprintln!("genolens: {note}");
        }
        Ok(source)
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
    /// The folds as the study steps take them (seeded K folds, default 5).
    pub fn spec(&self) -> FoldSpec {
        match &self.fold_file {
            Some(path) => FoldSpec::File {
                path: path.clone(),
                id_col: self.fold_id_col.clone(),
                fold_col: self.fold_col.clone(),
            },
            None => FoldSpec::Seeded(self.folds.unwrap_or(5)),
        }
    }
}
