//! File formats for genolens. This is the only genolens crate that parses or writes
//! files; the layers above take the typed values it produces.
//!
//! | module | formats |
//! |---|---|
//! | [`plink`] | PLINK 1 binary `.bed/.bim/.fam`, read by streaming blocks and written atomically |
//! | [`vcf`] | VCF and bgzipped VCF (via `noodles`): GT hard calls, DS dosages, haploid calls, multi-allelic policy |
//! | [`table`] | phenotype and covariate tables (PLINK style and CSV, via `polars`), aligned to genotype samples by ID |
//! | [`folds`] | cross-validation fold assignments (a fold label per sample ID, CSV or whitespace/tab-separated) |
//! | [`genes`] | gene maps (PLINK glist, GRCh38 table) and SNP→gene lookup |
//! | [`corpus`] | literature corpora: PubTator (BioRED, NCBI-disease) and JSONL |
//! | [`clumped`] | PLINK 1.9 `--clump` input reports (ID and P columns) and `.clumped` output, byte for byte |
//! | [`epistasis`] | PLINK 1.9 `--epistasis` reports: `.epi.qt` and `.epi.qt.summary` |
//! | [`prior`] | gene prior tables (`gene_prior.tsv`, user `gene score` tables), evidence sentences, p-value tables of any association tool |
//! | [`matrix`] | numeric genotype matrices (CSV/TSV, a row per sample), streamed through a temporary file |
//! | [`pgen`] | PLINK 2 `.pgen/.pvar(.zst)/.psam` (hard calls, dosages, LD-compressed and difflist records), as a streamed source |
//! | [`bgen`] | BGEN 1.1–1.3 (layouts 1 and 2; zlib, zstd; phased or not) and Oxford `.sample` files, as a streamed source with plink2's dosages |
//! | [`loco`] | leave-one-chromosome-out predictions in regenie's `.loco` and `pred.list` files |
//! | [`relatedness`] | PLINK 2's KING table (`.kin0`) and GCTA's binary relationship matrix (`.grm.bin`, `.grm.N.bin`, `.grm.id`) |
//! | [`sumstats`] | PLINK 2 `.glm.linear` / `.glm.logistic` summary statistics, TSV and Parquet |
//! | [`hardcall`] | hard calls packed two bits per genotype (PLINK's layout) for counting kernels |
//! | [`scorefile`] | `plink2 --score` weight files and the `.sscore` report |
//! | [`report`] | PLINK 2 text reports (`.afreq`) and PLINK-style number formatting |
//!
//! Genotypes are read through the [`GenotypeSource`] trait, which streams
//! variant blocks so that no algorithm needs the whole matrix as floats.
//!
//! Every error is an [`Error`] that names the file and, where one applies, the
//! line or record. Every writer writes to a temporary file and renames it into
//! place ([`AtomicFile`]), so a failure leaves no partial output.

pub mod atomic;
pub mod bgen;
pub mod clumped;
pub mod corpus;
pub mod epistasis;
mod error;
pub mod folds;
pub mod genes;
mod genotype;
pub mod hardcall;
pub mod loco;
pub mod matrix;
pub mod pgen;
pub mod plink;
pub mod prior;
mod record;
pub mod relatedness;
pub mod report;
pub mod scorefile;
pub mod sumstats;
pub mod table;
mod tsv;
pub mod vcf;

pub use atomic::AtomicFile;
pub use error::{Error, Result};
pub use genotype::{blocks, GenotypeBlock, GenotypeSource, Subset};
pub use hardcall::HardCallBlock;
pub use record::{plink_chrom, ChromKind, Sample, SampleId, Sex, Variant};
