//! Classical association and prediction models for genolens (not yet implemented).
//!
//! This crate will own the per-variant linear and logistic (with Firth fallback)
//! association scans that match PLINK 2 `--glm`, genomic control, multiple-testing
//! corrections, clumping, and the classical predictors (ridge, elastic net, logistic,
//! SVM, polygenic scores) with cross-validation. It knows nothing of files or of burn.
