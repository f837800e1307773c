//! Phenotype and disease-risk prediction from genotypes (and covariates): the
//! classical baselines every deep model must beat.
//!
//! | module | what |
//! |---|---|
//! | [`ridge`] | ridge regression in closed form over a penalty path (dual/kernel form when p > n: GBLUP) |
//! | [`elastic_net`] | elastic net and lasso by coordinate descent (scikit-learn's objective) |
//! | [`gd`] | linear regression by mini-batch gradient descent, the seed's teaching model |
//! | [`metrics`] | Pearson r, R², MSE, AUC, log-loss, ROC and calibration (re-exported from `genolens_features::metrics`, the floor text and transformer share) |
//! | [`model`] | [`LinearPredictor`]: the saved, versioned form of every model, checked against the genotypes it scores |
//! | [`prs`] | polygenic scores from a weight table, as `plink2 --score` |
//! | [`prs_ct`] | clumping + thresholding scores learnt on training samples with the GWAS engine and its clumping |
//! | [`select`] | variants for sequence models: GWAS-p-driven LD clumping on training samples |
//! | [`cv`] | fitting with inner cross-validation for the hyperparameter, and outer cross-validation |
//!
//! OLS, logistic regression and the linear SVM come from linfa (`linfa-linear`,
//! `linfa-logistic`, `linfa-svm`).

pub mod cv;
pub mod elastic_net;
pub mod gd;
pub use genolens_features::metrics;
pub mod model;
pub mod prs;
pub mod prs_ct;
pub mod ridge;
pub mod select;

pub use cv::{
    cross_validate, fit_predictor, CvReport, ModelSpec, PredictorCovariates, PriorPenalty,
};
pub use model::{LinearPredictor, ModelKind, Task};
