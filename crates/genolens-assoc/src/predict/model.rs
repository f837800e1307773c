//! The fitted predictors: every model here is linear in the standardised
//! genotypes and covariates, so one saved form serves them all.

use genolens_features::scale::{Imputation, Scaling, Standardizer};
use genolens_io::{GenotypeSource, Variant};
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The model file format this build writes; files from a later version are
/// refused.
pub const FORMAT_VERSION: u32 = 1;

/// What is predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// A quantitative trait.
    Quantitative,
    /// A case/control trait (1 = case); predictions are case probabilities
    /// (logistic) or scores.
    Binary,
}

/// The model families of `genolens predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelKind {
    /// Ordinary least squares (linfa-linear).
    Ols,
    /// Ridge regression in closed form (dual/kernel form when p > n: GBLUP).
    Ridge,
    /// Elastic net, `l1_ratio` 0.5 (linfa-elasticnet).
    ElasticNet,
    /// Lasso (linfa-elasticnet with `l1_ratio` 1).
    Lasso,
    /// L2-penalised logistic regression (linfa-logistic).
    Logistic,
    /// Linear support-vector machine (linfa-svm).
    Svm,
    /// Linear regression by mini-batch gradient descent (the teaching model).
    GdLinear,
    /// Clumping + thresholding polygenic score (GWAS and clumping on the
    /// training samples).
    PrsCt,
}

impl ModelKind {
    /// Every family.
    pub const ALL: [ModelKind; 8] = [
        Self::Ols,
        Self::Ridge,
        Self::ElasticNet,
        Self::Lasso,
        Self::Logistic,
        Self::Svm,
        Self::GdLinear,
        Self::PrsCt,
    ];

    /// The family with this [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ols => "ols",
            Self::Ridge => "ridge",
            Self::ElasticNet => "elastic-net",
            Self::Lasso => "lasso",
            Self::Logistic => "logistic",
            Self::Svm => "svm",
            Self::GdLinear => "gd-linear",
            Self::PrsCt => "prs-ct",
        }
    }
}

/// A variant as the model saw it: scoring checks ID and alleles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVariant {
    /// Chromosome.
    pub chrom: String,
    /// Position.
    pub pos: u64,
    /// Variant ID.
    pub id: String,
    /// The counted allele.
    pub allele1: String,
    /// The other allele.
    pub allele2: String,
}

/// A covariate's name and the standardisation fitted on the training samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCovariate {
    /// Column name.
    pub name: String,
    /// Training mean.
    pub mean: f64,
    /// Training standard deviation (1 where constant).
    pub sd: f64,
}

/// A fitted linear predictor with everything needed to score new samples:
/// `score = intercept + Σ w_v z_v + Σ u_c (x_c − mean_c) / sd_c`, where `z_v`
/// is the variant's standardised dosage (training centre, scale and fill).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearPredictor {
    /// Always `"genolens-model"`.
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// The model family.
    pub kind: ModelKind,
    /// The task.
    pub task: Task,
    /// Hyperparameters chosen (name, value), for the record.
    pub hyperparameters: Vec<(String, f64)>,
    /// The variants, in the order of `center`, `scale`, `fill`, `weights`.
    pub variants: Vec<ModelVariant>,
    /// Training mean dosage per variant.
    pub center: Vec<f64>,
    /// Divisor per variant (0 = no spread in training: contributes nothing).
    pub scale: Vec<f64>,
    /// Dosage that replaces a missing call.
    pub fill: Vec<f64>,
    /// One weight per variant, per standardised unit.
    pub weights: Vec<f64>,
    /// Covariates and their weights (per standardised unit).
    pub covariates: Vec<ModelCovariate>,
    /// One weight per covariate.
    pub covariate_weights: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
    /// For [`Task::Binary`] with logistic output: scores are log-odds and
    /// predictions pass through the logistic function.
    pub logistic_link: bool,
}

impl LinearPredictor {
    /// The value of the hyperparameter `name` the fit chose (`lambda`,
    /// `alpha`, `prior_strength`, …), if it has one.
    pub fn hyperparameter(&self, name: &str) -> Option<f64> {
        self.hyperparameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }

    /// Assembles a predictor from its fitted parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: ModelKind,
        task: Task,
        hyperparameters: Vec<(String, f64)>,
        scaling: &Standardizer,
        weights: Vec<f64>,
        covariates: Vec<ModelCovariate>,
        covariate_weights: Vec<f64>,
        intercept: f64,
        logistic_link: bool,
    ) -> Self {
        Self {
            format: "genolens-model".into(),
            version: FORMAT_VERSION,
            kind,
            task,
            hyperparameters,
            variants: scaling
                .variants
                .iter()
                .map(|v| ModelVariant {
                    chrom: v.chrom.clone(),
                    pos: v.pos,
                    id: v.id.clone(),
                    allele1: v.allele1.clone(),
                    allele2: v.allele2.clone(),
                })
                .collect(),
            center: scaling.center.clone(),
            scale: scaling.scale.clone(),
            fill: scaling.fill.clone(),
            weights,
            covariates,
            covariate_weights,
            intercept,
            logistic_link,
        }
    }

    /// The model as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serialises")
    }

    /// Reads a model from JSON, refusing other formats and later versions.
    pub fn from_json(text: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
        }
        let header: Header = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("not a genolens model file: {e}")))?;
        if header.format.as_deref() != Some("genolens-model") {
            return Err(Error::Invalid(
                "not a genolens model file (no \"format\": \"genolens-model\")".into(),
            ));
        }
        match header.version {
            Some(v) if v > FORMAT_VERSION => {
                return Err(Error::Invalid(format!(
                "model format version {v} is newer than this genolens reads ({FORMAT_VERSION}); \
                     upgrade genolens"
            )))
            }
            None => return Err(Error::Invalid("model file has no format version".into())),
            _ => {}
        }
        let model: Self = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("malformed model file: {e}")))?;
        let m = model.variants.len();
        if [
            model.center.len(),
            model.scale.len(),
            model.fill.len(),
            model.weights.len(),
        ]
        .iter()
        .any(|&l| l != m)
            || model.covariate_weights.len() != model.covariates.len()
        {
            return Err(Error::Invalid(
                "malformed model file: array lengths disagree".into(),
            ));
        }
        Ok(model)
    }

    /// Where each model variant is in `variants` (matched by ID, alleles
    /// checked): an error names how many matched, and the swapped ones.
    pub fn match_variants(&self, variants: &[Variant]) -> Result<Vec<usize>> {
        let by_id: std::collections::HashMap<&str, usize> = variants
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.as_str(), i))
            .collect();
        let mut found = Vec::with_capacity(self.variants.len());
        let (mut absent, mut swapped) = (Vec::new(), Vec::new());
        for mv in &self.variants {
            match by_id.get(mv.id.as_str()) {
                None => absent.push(mv.id.as_str()),
                Some(&i) => {
                    let v = &variants[i];
                    if v.allele1 != mv.allele1 || v.allele2 != mv.allele2 {
                        swapped.push(format!(
                            "{} ({}/{} in the model, {}/{} in the data)",
                            mv.id, mv.allele1, mv.allele2, v.allele1, v.allele2
                        ));
                    }
                    found.push(i);
                }
            }
        }
        if !absent.is_empty() || !swapped.is_empty() {
            let mut msg = format!(
                "{} of the model's {} variants found in the genotypes",
                self.variants.len() - absent.len(),
                self.variants.len()
            );
            if !absent.is_empty() {
                msg.push_str(&format!(
                    "; absent: {}{}",
                    absent
                        .iter()
                        .take(5)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if absent.len() > 5 { ", ..." } else { "" }
                ));
            }
            if !swapped.is_empty() {
                msg.push_str(&format!(
                    "; alleles differ: {}{}",
                    swapped
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if swapped.len() > 5 { ", ..." } else { "" }
                ));
            }
            return Err(Error::Invalid(msg));
        }
        Ok(found)
    }

    /// The standardiser the model was trained with, for the variants at
    /// `order` of a source whose variants are `variants`. Only the saved
    /// centres, scales and fills act; the rule labels are those training uses
    /// (`cv::design`: mean fill, centring only).
    fn scaling_for(&self, variants: &[Variant], order: &[usize]) -> Standardizer {
        Standardizer {
            variants: order.iter().map(|&i| variants[i].clone()).collect(),
            center: self.center.clone(),
            scale: self.scale.clone(),
            fill: self.fill.clone(),
            imputation: Imputation::Mean,
            scaling: Scaling::None,
        }
    }

    /// Linear scores (log-odds for a logistic model) of every sample of
    /// `source`; `covariates` (`n × c`, the model's columns in order) is needed
    /// when the model has covariates. Missing covariates give `NaN`.
    pub fn score<S: GenotypeSource + ?Sized>(
        &self,
        source: &S,
        covariates: Option<ArrayView2<'_, f64>>,
    ) -> Result<Array1<f64>> {
        let order = self.match_variants(source.variants())?;
        let n = source.n_samples();
        let scaling = self.scaling_for(source.variants(), &order);
        let mut out = Array1::<f64>::from_elem(n, self.intercept);
        let mut dosages = vec![0.0f32; n];
        let mut z = vec![0.0f64; n];
        for (k, &v) in order.iter().enumerate() {
            if self.weights[k] == 0.0 {
                continue;
            }
            source.read_variant_into(v, &mut dosages)?;
            scaling.standardize_column(k, &dosages, &mut z);
            out.iter_mut()
                .zip(&z)
                .for_each(|(o, z)| *o += self.weights[k] * z);
        }
        if !self.covariates.is_empty() {
            let Some(c) = covariates else {
                return Err(Error::Invalid(format!(
                    "the model needs covariates ({})",
                    self.covariates
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if c.dim() != (n, self.covariates.len()) {
                return Err(Error::Invalid(format!(
                    "covariates are {} × {}; the model needs {n} × {}",
                    c.nrows(),
                    c.ncols(),
                    self.covariates.len()
                )));
            }
            for (j, (cov, w)) in self
                .covariates
                .iter()
                .zip(&self.covariate_weights)
                .enumerate()
            {
                for i in 0..n {
                    out[i] += w * (c[[i, j]] - cov.mean) / cov.sd;
                }
            }
        }
        Ok(out)
    }

    /// Predictions: probabilities for a logistic model, scores otherwise.
    pub fn predict<S: GenotypeSource + ?Sized>(
        &self,
        source: &S,
        covariates: Option<ArrayView2<'_, f64>>,
    ) -> Result<Array1<f64>> {
        let s = self.score(source, covariates)?;
        Ok(if self.logistic_link {
            s.mapv(|x| 1.0 / (1.0 + (-x).exp()))
        } else {
            s
        })
    }
}
