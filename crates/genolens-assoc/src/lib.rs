//! Classical association models for genolens.
//!
//! | module | what |
//! |---|---|
//! | [`linear`] | per-variant linear regression with covariates, as `plink2 --glm` on a quantitative trait |
//! | [`logistic`] | per-variant logistic regression (Wald after Newton–Raphson from the null fit, tiles of variants in lockstep) with Firth's penalised likelihood as fallback or throughout; Rao's score test for screening |
//! | [`stats`] | log-space tails of the t and normal distributions, so `LOG10_P` survives below 1e-308 |
//! | [`epistasis`] | pairwise interaction scan for a quantitative trait, as PLINK 1.9's `--epistasis` (block matrix products for the per-pair sums) |
//! | [`clump`] | LD clumping of results into lead variants, as PLINK 1.9's `--clump` |
//! | [`predict`] | phenotype and risk prediction: ridge/GBLUP, elastic net, lasso, OLS, logistic, linear SVM, gradient descent; cross-validation, metrics, saved models |
//! | [`wgr`] | REGENIE's two steps: whole-genome ridge regression in blocks giving leave-one-chromosome-out predictions, then score tests (approximate Firth for case/control) with them as offset |
//! | [`summary`] | genomic control (overall and by MAF), Bonferroni, Benjamini–Hochberg, Manhattan and QQ plot points |
//!
//! Still to come (see the project's issues): polygenic scores. This crate
//! takes typed values (a `GenotypeSource`, phenotype and covariate arrays) and
//! knows nothing of files or of burn.

pub mod clump;
pub mod epistasis;
pub mod linear;
pub mod lmm;
pub mod logistic;
pub mod predict;
pub mod stats;
pub mod summary;
pub mod wgr;

mod error;
#[cfg(test)]
mod testing;

pub use error::{Error, Result};
