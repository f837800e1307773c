//! Feature engineering for genolens.
//!
//! Everything here streams genotype blocks from a
//! [`GenotypeSource`](genolens_io::GenotypeSource) and never parses files
//! itself, nor knows anything of deep-learning frameworks. It is also the
//! floor the model layers share for evaluation ([`split`], [`metrics`]), so
//! association, text and transformer stand beside each other rather than on
//! each other.
//!
//! | module | what |
//! |---|---|
//! | [`qc`] | allele frequencies, missingness, Hardy–Weinberg, heterozygosity and the `--maf/--geno/--mind/--hwe` filters, as PLINK 2 computes them |
//! | [`scale`] | imputation and standardisation, fitted on training samples and applied to any |
//! | [`ld`] | LD pruning identical to `plink2 --indep-pairwise` |
//! | [`haplotype`] | two-locus haplotype frequencies (EM) and phased r², as PLINK 1.9's `--clump` measures LD |
//! | [`pca`] | exact and randomized (streaming) PCA, loadings, projection of new samples |
//! | [`relate`] | KING-robust kinship and `--king-cutoff` as PLINK 2 computes them; the genomic relationship matrix (GCTA's, as `plink2 --make-grm-bin`) |
//! | [`encode`] | model encodings: additive, dominant/recessive, one-hot, transformer tokens, SNP→gene groups |
//! | [`split`] | seeded train/validation/test splits and folds, or folds from a file |
//! | [`metrics`] | evaluation metrics: Pearson r, R², MSE, AUC, log-loss, ROC and calibration |
//! | [`simulate`] | a seeded structured-population genotype source for tests and benchmarks |

pub mod encode;
pub mod haplotype;
pub mod ld;
pub mod metrics;
pub mod pca;
pub mod qc;
pub mod relate;
pub mod scale;
pub mod simulate;
pub mod split;

mod error;

pub use error::{Error, Result};
