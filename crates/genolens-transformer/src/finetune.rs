//! Fine-tuning on a task: regression, binary, or several outputs at once.
//!
//! The loop is our own rather than burn-train's `Learner`: it must freeze
//! the base for LoRA, reseed the backend at every epoch (so that a run
//! resumed from a checkpoint draws the same dropout masks and sample order as
//! an uninterrupted one), keep the best-validation model for early stopping,
//! and hand checkpoints to the caller as bytes (this crate writes no files).
//!
//! Scaling is fitted on the training samples only ([`Preprocessing::fit`]):
//! dosages per variant, covariates per column, and regression targets, so
//! the loss is on standardised targets and predictions come back on the
//! trait's scale.

use burn::module::AutodiffModule;
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use burn_optim::{AdamWConfig, GradientsParams, Optimizer};
use genolens_features::metrics::{auc, r_squared};
use ndarray::{Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::checkpoint::{Checkpoint, TrainerState};
use crate::error::{Error, Result};
use crate::model::GenotypeTransformer;
use crate::pretrain::check_scaling;
use crate::tokens::{DosageScaling, GenotypeTokens};

/// What one output predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OutputKind {
    /// A quantitative trait: squared error on the standardised trait, R².
    Regression,
    /// A 0/1 trait: logistic loss on a logit, AUC.
    Binary,
}

impl OutputKind {
    /// The metric reported for this kind (`r2` or `auc`).
    pub fn metric_name(self) -> &'static str {
        match self {
            OutputKind::Regression => "r2",
            OutputKind::Binary => "auc",
        }
    }
}

/// Samples for a task: tokens, optional covariates (`n × c`) and targets
/// (`n × outputs`, `NaN` where missing; binary targets 0/1).
#[derive(Debug, Clone, Copy)]
pub struct TaskData<'a> {
    /// Genotype tokens of the samples.
    pub tokens: &'a GenotypeTokens,
    /// Covariates on their own scale (`NaN` is read as the training mean).
    pub covariates: Option<ArrayView2<'a, f32>>,
    /// Targets, one column per output.
    pub targets: ArrayView2<'a, f32>,
    /// Fixed additions to the model's outputs (`n × outputs`): on the
    /// trait's scale for regression outputs, logits for binary ones. An
    /// additive model's predictions over every marker go here, so the
    /// transformer learns what they miss (with
    /// [`GenotypeTransformer::with_zero_output`] and
    /// [`FineTuneOptions::score_initial`], training starts from the offset
    /// alone and keeps it unless an epoch does better on the validation
    /// samples). For training samples they must be out-of-sample
    /// predictions (cross-fitted), or the transformer learns the offset's
    /// overfit residuals.
    pub offsets: Option<ArrayView2<'a, f32>>,
}

impl TaskData<'_> {
    fn check(&self, outputs: usize) -> Result<()> {
        let n = self.tokens.n_samples();
        if n == 0 {
            return Err(Error::Invalid("no samples".into()));
        }
        if self.targets.dim() != (n, outputs) {
            return Err(Error::Invalid(format!(
                "targets are {:?} for {n} samples and {outputs} outputs",
                self.targets.dim()
            )));
        }
        if let Some(c) = self.covariates {
            if c.nrows() != n {
                return Err(Error::Invalid(format!(
                    "{} covariate rows for {n} samples",
                    c.nrows()
                )));
            }
        }
        if let Some(o) = self.offsets {
            if o.dim() != (n, outputs) {
                return Err(Error::Invalid(format!(
                    "offsets are {:?} for {n} samples and {outputs} outputs",
                    o.dim()
                )));
            }
            if o.iter().any(|v| !v.is_finite()) {
                return Err(Error::Invalid("offsets contain NaN or infinity".into()));
            }
        }
        Ok(())
    }
}

/// Centre and spread of columns.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnScaling {
    /// Column means.
    pub mean: Vec<f32>,
    /// Column standard deviations.
    pub sd: Vec<f32>,
}

impl ColumnScaling {
    fn fit(columns: ArrayView2<'_, f32>) -> Vec<(f64, f64, usize)> {
        columns
            .columns()
            .into_iter()
            .map(|c| {
                let v: Vec<f64> = c
                    .iter()
                    .filter(|x| !x.is_nan())
                    .map(|&x| f64::from(x))
                    .collect();
                let n = v.len();
                let m = v.iter().sum::<f64>() / n.max(1) as f64;
                let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n.max(2) as f64;
                (m, var.sqrt(), n)
            })
            .collect()
    }
}

/// Everything fitted on the training samples that a prediction needs besides
/// the weights.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocessing {
    /// Per-variant dosage scaling.
    pub dosages: DosageScaling,
    /// Covariate scaling (empty without covariates).
    pub covariates: ColumnScaling,
    /// Target scaling (mean 0, sd 1 for binary outputs).
    pub targets: ColumnScaling,
    /// The kind of each output.
    pub outputs: Vec<OutputKind>,
    /// Per-variant prior inputs (e.g. the literature embedding and score of
    /// each variant's gene), fixed inputs of the model that travel with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priors: Option<VariantPriors>,
}

/// Fixed per-variant inputs of the model: `n_variants × dim`, row-major.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VariantPriors {
    /// Values per variant.
    pub dim: usize,
    /// `n_variants · dim` values, variant by variant.
    pub values: Vec<f32>,
}

impl VariantPriors {
    /// The priors as a matrix (`n_variants × dim`).
    pub fn to_array(&self) -> Array2<f32> {
        let n = self.values.len() / self.dim.max(1);
        Array2::from_shape_vec((n, self.dim), self.values.clone())
            .expect("values hold n_variants · dim entries")
    }
}

impl Preprocessing {
    /// Fits the scalings on `train`. Errors on a target without two values, a
    /// constant or non-finite regression target, a binary target other than
    /// 0/1, or a constant covariate.
    pub fn fit(train: &TaskData<'_>, outputs: &[OutputKind]) -> Result<Self> {
        train.check(outputs.len())?;
        let mut targets = ColumnScaling {
            mean: Vec::new(),
            sd: Vec::new(),
        };
        for (o, (m, sd, n)) in ColumnScaling::fit(train.targets).into_iter().enumerate() {
            if n < 2 {
                return Err(Error::Invalid(format!(
                    "output {}: {n} training samples with a value",
                    o + 1
                )));
            }
            match outputs[o] {
                OutputKind::Regression => {
                    if !(sd.is_finite() && sd > 0.0) {
                        return Err(Error::Invalid(format!(
                            "output {}: the trait has no variance in the training samples",
                            o + 1
                        )));
                    }
                    targets.mean.push(m as f32);
                    targets.sd.push(sd as f32);
                }
                OutputKind::Binary => {
                    let column = train.targets.column(o);
                    if column.iter().any(|&y| !y.is_nan() && y != 0.0 && y != 1.0) {
                        return Err(Error::Invalid(format!(
                            "output {}: a binary trait must be 0/1",
                            o + 1
                        )));
                    }
                    if m <= 0.0 || m >= 1.0 {
                        return Err(Error::Invalid(format!(
                            "output {}: only one class in the training samples",
                            o + 1
                        )));
                    }
                    targets.mean.push(0.0);
                    targets.sd.push(1.0);
                }
            }
        }
        let mut covariates = ColumnScaling {
            mean: Vec::new(),
            sd: Vec::new(),
        };
        if let Some(c) = train.covariates {
            for (j, (m, sd, _)) in ColumnScaling::fit(c).into_iter().enumerate() {
                if !(sd.is_finite() && sd > 0.0) {
                    return Err(Error::Invalid(format!(
                        "covariate {} is constant in the training samples",
                        j + 1
                    )));
                }
                covariates.mean.push(m as f32);
                covariates.sd.push(sd as f32);
            }
        }
        Ok(Self {
            dosages: DosageScaling::fit(train.tokens),
            covariates,
            targets,
            outputs: outputs.to_vec(),
            priors: None,
        })
    }

    /// Attaches per-variant priors (`n_variants × dim`, finite): the model
    /// must have a prior input of width `dim`
    /// ([`TransformerConfig::d_prior`](crate::model::TransformerConfig::d_prior)).
    pub fn with_priors(mut self, priors: ArrayView2<'_, f32>) -> Result<Self> {
        let (n, dim) = priors.dim();
        if n != self.dosages.len() || dim == 0 {
            return Err(Error::Invalid(format!(
                "priors are {n} × {dim}; the model has {} variants",
                self.dosages.len()
            )));
        }
        if priors.iter().any(|v| !v.is_finite()) {
            return Err(Error::Invalid("priors contain NaN or infinity".into()));
        }
        self.priors = Some(VariantPriors {
            dim,
            values: priors.iter().copied().collect(),
        });
        Ok(self)
    }

    /// The priors as a tensor on `device`.
    pub(crate) fn prior_tensor<B: Backend>(&self, device: &B::Device) -> Option<Tensor<B, 2>> {
        self.priors.as_ref().map(|p| {
            let n = p.values.len() / p.dim;
            Tensor::from_data(TensorData::new(p.values.clone(), [n, p.dim]), device)
        })
    }

    /// Errors unless the model's prior input matches these priors.
    pub(crate) fn check_model<B: Backend>(&self, model: &GenotypeTransformer<B>) -> Result<()> {
        let have = self.priors.as_ref().map(|p| p.dim);
        if have != model.prior_dim() {
            return Err(Error::Invalid(format!(
                "the model's prior input is {:?} wide, the preprocessing carries {:?}",
                model.prior_dim(),
                have
            )));
        }
        Ok(())
    }

    pub(crate) fn check(&self, data: &TaskData<'_>) -> Result<()> {
        check_scaling(data.tokens, &self.dosages)?;
        let c = data.covariates.map_or(0, |c| c.ncols());
        if c != self.covariates.mean.len() {
            return Err(Error::Invalid(format!(
                "{c} covariates given, the model has {}",
                self.covariates.mean.len()
            )));
        }
        Ok(())
    }
}

/// Tensors of some rows.
pub(crate) struct Batch<B: Backend> {
    pub(crate) classes: Tensor<B, 2, Int>,
    pub(crate) dosages: Tensor<B, 2>,
    pub(crate) covariates: Option<Tensor<B, 2>>,
    /// Offsets on the loss's scale (standardised for regression outputs).
    pub(crate) offsets: Option<Tensor<B, 2>>,
    /// Standardised targets, 0 where missing.
    pub(crate) targets: Tensor<B, 2>,
    /// 1 where a target is present.
    pub(crate) present: Tensor<B, 2>,
    pub(crate) n_present: f32,
}

pub(crate) fn batch<B: Backend>(
    data: &TaskData<'_>,
    prep: &Preprocessing,
    rows: &[usize],
    device: &B::Device,
) -> Batch<B> {
    let classes = data.tokens.classes();
    let (n, l) = (rows.len(), data.tokens.n_variants());
    let mut c = Vec::with_capacity(n * l);
    let mut d = Vec::with_capacity(n * l);
    for &r in rows {
        for v in 0..l {
            let g = classes[[r, v]];
            c.push(i64::from(g));
            d.push(prep.dosages.value(v, g));
        }
    }
    let covariates = data.covariates.map(|cov| {
        let k = cov.ncols();
        let mut x = Vec::with_capacity(n * k);
        for &r in rows {
            for j in 0..k {
                let v = cov[[r, j]];
                x.push(if v.is_nan() {
                    0.0
                } else {
                    (v - prep.covariates.mean[j]) / prep.covariates.sd[j]
                });
            }
        }
        Tensor::from_data(TensorData::new(x, [n, k]), device)
    });
    let o = prep.outputs.len();
    let offsets = data.offsets.map(|off| {
        let mut x = Vec::with_capacity(n * o);
        for &r in rows {
            for j in 0..o {
                let v = off[[r, j]];
                x.push(match prep.outputs[j] {
                    OutputKind::Regression => (v - prep.targets.mean[j]) / prep.targets.sd[j],
                    OutputKind::Binary => v,
                });
            }
        }
        Tensor::from_data(TensorData::new(x, [n, o]), device)
    });
    let (mut t, mut w) = (Vec::with_capacity(n * o), Vec::with_capacity(n * o));
    for &r in rows {
        for j in 0..o {
            let y = data.targets[[r, j]];
            if y.is_nan() {
                t.push(0.0);
                w.push(0.0);
            } else {
                t.push((y - prep.targets.mean[j]) / prep.targets.sd[j]);
                w.push(1.0);
            }
        }
    }
    let n_present = w.iter().sum::<f32>();
    Batch {
        classes: Tensor::from_data(TensorData::new(c, [n, l]), device),
        dosages: Tensor::from_data(TensorData::new(d, [n, l]), device),
        covariates,
        offsets,
        targets: Tensor::from_data(TensorData::new(t, [n, o]), device),
        present: Tensor::from_data(TensorData::new(w, [n, o]), device),
        n_present,
    }
}

/// The model's outputs for a batch, plus its offsets.
fn batch_outputs<B: Backend>(
    model: &GenotypeTransformer<B>,
    b: &Batch<B>,
    priors: Option<Tensor<B, 2>>,
) -> Tensor<B, 2> {
    let out = model.forward(
        b.classes.clone(),
        b.dosages.clone(),
        b.covariates.clone(),
        priors,
    );
    match &b.offsets {
        Some(offsets) => out + offsets.clone(),
        None => out,
    }
}

/// Mean loss over present targets: squared error for regression outputs,
/// logistic loss on the logit for binary ones.
fn task_loss<B: Backend>(
    outputs: Tensor<B, 2>,
    b: &Batch<B>,
    kinds: &[OutputKind],
) -> Tensor<B, 1> {
    element_losses(outputs, b, kinds).sum() / b.n_present.max(1.0)
}

/// The loss of every sample and output `[n, outputs]`, 0 where the target
/// is missing.
fn element_losses<B: Backend>(
    outputs: Tensor<B, 2>,
    b: &Batch<B>,
    kinds: &[OutputKind],
) -> Tensor<B, 2> {
    let [n, _] = outputs.dims();
    let binary: Vec<f32> = kinds
        .iter()
        .map(|k| f32::from(u8::from(*k == OutputKind::Binary)))
        .collect();
    let device = outputs.device();
    let is_binary = Tensor::<B, 1>::from_data(TensorData::new(binary, [kinds.len()]), &device)
        .unsqueeze::<2>()
        .expand([n, kinds.len()]);
    let diff = outputs.clone() - b.targets.clone();
    let squared = diff.clone() * diff;
    // log(1 + e^z) − y·z, computed stably.
    let logistic = relu(outputs.clone()) - outputs.clone() * b.targets.clone()
        + outputs.abs().neg().exp().log1p();
    let per = squared * (is_binary.clone().neg() + 1.0) + logistic * is_binary;
    per * b.present.clone()
}

/// How much a model with offsets lowers the loss below the offsets alone,
/// per sample (loss summed over outputs): the mean and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OffsetGain {
    /// Mean of (loss of the offsets alone − loss of the model).
    pub mean: f64,
    /// Standard error of that mean.
    pub se: f64,
    /// Samples with a target.
    pub n: usize,
}

impl OffsetGain {
    /// `true` when the gain is positive in a one-sided test at level 0.05
    /// (mean > 1.645 standard errors).
    pub fn significant(&self) -> bool {
        self.n >= 2 && self.mean > 1.645 * self.se
    }
}

/// Compares `model` (with the offsets of `data`) against the offsets alone
/// on `data`, sample by sample. Early stopping picks the best of many epochs
/// on the validation samples, so a small gain there is partly chance: a
/// caller can keep the offsets alone unless the gain is clear
/// ([`OffsetGain::significant`]).
pub fn gain_over_offsets<B: Backend>(
    model: &GenotypeTransformer<B>,
    prep: &Preprocessing,
    data: &TaskData<'_>,
    batch_size: usize,
    device: &B::Device,
) -> Result<OffsetGain> {
    let outputs = prep.outputs.len();
    data.check(outputs)?;
    prep.check(data)?;
    prep.check_model(model)?;
    if data.offsets.is_none() {
        return Err(Error::Invalid("no offsets to compare with".into()));
    }
    let priors = prep.prior_tensor::<B>(device);
    let n = data.tokens.n_samples();
    let rows: Vec<usize> = (0..n).collect();
    let mut diffs = Vec::with_capacity(n);
    for chunk in rows.chunks(batch_size.max(1)) {
        let b = batch::<B>(data, prep, chunk, device);
        let with = element_losses(batch_outputs(model, &b, priors.clone()), &b, &prep.outputs);
        let offsets = b.offsets.clone().expect("offsets checked above");
        let alone = element_losses(offsets, &b, &prep.outputs);
        let with = to_vec(with.sum_dim(1))?;
        let alone = to_vec(alone.sum_dim(1))?;
        let present = to_vec(b.present.clone().sum_dim(1))?;
        for k in 0..chunk.len() {
            if present[k] > 0.0 {
                diffs.push(f64::from(alone[k]) - f64::from(with[k]));
            }
        }
    }
    let m = diffs.len();
    let mean = diffs.iter().sum::<f64>() / m.max(1) as f64;
    let var = diffs.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (m.max(2) - 1) as f64;
    Ok(OffsetGain {
        mean,
        se: (var / m.max(1) as f64).sqrt(),
        n: m,
    })
}

/// Options of [`fine_tune`].
#[derive(Debug, Clone, PartialEq)]
pub struct FineTuneOptions {
    /// Most passes over the training samples.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Stop after this many epochs without a better validation loss
    /// (`None`: run every epoch). The best model is returned either way.
    pub patience: Option<usize>,
    /// Seed of the sample order and of the backend's stream (dropout), mixed
    /// with the epoch number at the start of every epoch.
    pub seed: u64,
    /// Score the model on the validation samples before the first epoch and
    /// keep it as the best (epoch 0) until an epoch beats it. With an
    /// offset and [`GenotypeTransformer::with_zero_output`], the returned
    /// model is then never worse on the validation samples than the offset
    /// alone.
    pub score_initial: bool,
}

impl Default for FineTuneOptions {
    fn default() -> Self {
        Self {
            epochs: 40,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            patience: Some(8),
            seed: 1,
            score_initial: false,
        }
    }
}

/// Losses and the task metric of one epoch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps (dropout on).
    pub train_loss: f64,
    /// Training metric (mean over outputs: R² or AUC) of the epoch's
    /// predictions during training.
    pub train_metric: f64,
    /// Validation loss after the epoch (dropout off).
    pub valid_loss: f64,
    /// Validation metric after the epoch.
    pub valid_metric: f64,
}

/// What the caller wants after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop now (as a killed run would); the checkpoint just handed over is
    /// the place to resume from.
    Stop,
}

/// A fine-tuned model with its history.
#[derive(Debug)]
pub struct FineTuned<B: AutodiffBackend> {
    /// The model of the best validation loss.
    pub model: GenotypeTransformer<B>,
    /// One row per epoch run.
    pub history: Vec<EpochMetrics>,
    /// The epoch of the returned model (0: the initial model, kept under
    /// [`FineTuneOptions::score_initial`] when no epoch beat it).
    pub best_epoch: usize,
    /// `true` when early stopping or [`Control::Stop`] ended the run before
    /// `epochs`.
    pub stopped: bool,
}

fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    // SplitMix64 of (seed, epoch): nearby epochs get unrelated streams.
    let mut z = seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn mean_metric(kinds: &[OutputKind], targets: ArrayView2<'_, f32>, predicted: &Array2<f64>) -> f64 {
    let mut total = 0.0;
    for (o, kind) in kinds.iter().enumerate() {
        let (mut y, mut p) = (Vec::new(), Vec::new());
        for (i, &t) in targets.column(o).iter().enumerate() {
            if !t.is_nan() {
                y.push(f64::from(t));
                p.push(predicted[[i, o]]);
            }
        }
        total += match kind {
            OutputKind::Regression => r_squared(&y, &p),
            OutputKind::Binary => {
                let labels: Vec<bool> = y.iter().map(|&v| v == 1.0).collect();
                auc(&labels, &p)
            }
        };
    }
    total / kinds.len() as f64
}

/// Undoes the target scaling of raw outputs (`n × o`, row-major): values on
/// the trait's scale, probabilities for binary outputs.
fn unscale(raw: &[f32], n: usize, prep: &Preprocessing) -> Array2<f64> {
    let o = prep.outputs.len();
    Array2::from_shape_fn((n, o), |(i, j)| {
        let z = f64::from(raw[i * o + j]);
        match prep.outputs[j] {
            OutputKind::Regression => {
                z * f64::from(prep.targets.sd[j]) + f64::from(prep.targets.mean[j])
            }
            OutputKind::Binary => 1.0 / (1.0 + (-z).exp()),
        }
    })
}

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| Error::Invalid(format!("reading model outputs: {e:?}")))
}

/// Predictions of a model for every sample of `data` (targets are ignored):
/// `n × outputs`, on the trait's scale (probabilities for binary outputs).
/// Use the inference model ([`AutodiffModule::valid`]) or any backend
/// without autodiff: dropout is then off.
pub fn predict<B: Backend>(
    model: &GenotypeTransformer<B>,
    prep: &Preprocessing,
    data: &TaskData<'_>,
    batch_size: usize,
    device: &B::Device,
) -> Result<Array2<f64>> {
    prep.check(data)?;
    let (n, o) = (data.tokens.n_samples(), prep.outputs.len());
    let dummy = Array2::<f32>::zeros((n, o));
    let data = TaskData {
        tokens: data.tokens,
        // Views are invariant in their lifetime: reborrow to the dummy's.
        covariates: data.covariates.map(|c| c.reborrow()),
        targets: dummy.view(),
        offsets: data.offsets.map(|o| o.reborrow()),
    };
    data.check(o)?;
    prep.check_model(model)?;
    let priors = prep.prior_tensor::<B>(device);
    let rows: Vec<usize> = (0..n).collect();
    let mut raw = Vec::with_capacity(n * o);
    for chunk in rows.chunks(batch_size.max(1)) {
        let b = batch::<B>(&data, prep, chunk, device);
        raw.extend(to_vec(batch_outputs(model, &b, priors.clone()))?);
    }
    Ok(unscale(&raw, n, prep))
}

/// Validation loss and metric of the inference model.
fn evaluate<B: Backend>(
    model: &GenotypeTransformer<B>,
    prep: &Preprocessing,
    data: &TaskData<'_>,
    batch_size: usize,
    device: &B::Device,
) -> Result<(f64, f64)> {
    let n = data.tokens.n_samples();
    let rows: Vec<usize> = (0..n).collect();
    let (mut loss, mut weight) = (0.0, 0.0);
    let mut raw = Vec::with_capacity(n * prep.outputs.len());
    let priors = prep.prior_tensor::<B>(device);
    for chunk in rows.chunks(batch_size.max(1)) {
        let b = batch::<B>(data, prep, chunk, device);
        let out = batch_outputs(model, &b, priors.clone());
        let l: f64 = task_loss(out.clone(), &b, &prep.outputs)
            .into_scalar()
            .elem::<f64>();
        loss += l * f64::from(b.n_present);
        weight += f64::from(b.n_present);
        raw.extend(to_vec(out)?);
    }
    let predicted = unscale(&raw, n, prep);
    Ok((
        loss / weight.max(1.0),
        mean_metric(&prep.outputs, data.targets, &predicted),
    ))
}

/// Fine-tunes `model` (full, or LoRA when it was prepared with
/// [`GenotypeTransformer::with_lora`]) on `train`, scoring `valid` after
/// every epoch. After each epoch `on_epoch` receives the metrics and a
/// [`Checkpoint`] to resume from; it may stop the run. With `resume`, the
/// model, optimizer and early-stopping state come from the checkpoint (the
/// model passed in must have the same structure) and the run continues
/// after its epoch, giving the same bytes as a run never stopped.
#[allow(clippy::too_many_arguments)]
pub fn fine_tune<B: AutodiffBackend>(
    mut model: GenotypeTransformer<B>,
    prep: &Preprocessing,
    train: &TaskData<'_>,
    valid: &TaskData<'_>,
    options: &FineTuneOptions,
    device: &B::Device,
    resume: Option<&Checkpoint>,
    on_epoch: &mut dyn FnMut(&EpochMetrics, &Checkpoint) -> Control,
) -> Result<FineTuned<B>> {
    let outputs = prep.outputs.len();
    train.check(outputs)?;
    valid.check(outputs)?;
    prep.check(train)?;
    prep.check(valid)?;
    if options.batch_size == 0 || options.epochs == 0 {
        return Err(Error::Invalid(
            "fine-tuning needs a batch size and epochs".into(),
        ));
    }
    if !(options.learning_rate.is_finite() && options.learning_rate > 0.0) {
        return Err(Error::Invalid(format!(
            "learning rate {} is not positive",
            options.learning_rate
        )));
    }
    prep.check_model(&model)?;
    let priors = prep.prior_tensor::<B>(device);
    let mut optim = AdamWConfig::new()
        .with_weight_decay(options.weight_decay)
        .init::<B, GenotypeTransformer<B>>();
    let mut state = TrainerState::default();
    let mut best = model.clone();
    // Validation loss and metric of the inference model (dropout off).
    let score = |m: &GenotypeTransformer<B>| {
        evaluate(&m.valid(), prep, valid, options.batch_size.max(64), device)
    };
    if let Some(checkpoint) = resume {
        let (m, o, b, s) = checkpoint.restore(model, optim, device)?;
        (model, optim, best, state) = (m, o, b, s);
    } else if options.score_initial {
        let (loss, _) = score(&model)?;
        state.best_valid_loss = loss;
        state.initial_scored = true;
    }
    let n = train.tokens.n_samples();
    let mut stopped = state.finished && state.epochs_done < options.epochs;
    let first = if state.finished {
        options.epochs
    } else {
        state.epochs_done
    };
    for epoch in first..options.epochs {
        let seed = epoch_seed(options.seed, epoch);
        B::seed(device, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let (mut total, mut weight) = (0.0, 0.0);
        let mut raw = vec![0f32; n * outputs];
        for rows in order.chunks(options.batch_size) {
            let b = batch::<B>(train, prep, rows, device);
            if b.n_present == 0.0 {
                continue;
            }
            let out = batch_outputs(&model, &b, priors.clone());
            let loss = task_loss(out.clone(), &b, &prep.outputs);
            total += loss.clone().into_scalar().elem::<f64>() * f64::from(b.n_present);
            weight += f64::from(b.n_present);
            for (k, v) in to_vec(out)?.into_iter().enumerate() {
                raw[rows[k / outputs] * outputs + k % outputs] = v;
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(options.learning_rate, model, grads);
        }
        let train_metric = mean_metric(&prep.outputs, train.targets, &unscale(&raw, n, prep));
        let (valid_loss, valid_metric) = score(&model)?;
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            train_loss: total / weight.max(1.0),
            train_metric,
            valid_loss,
            valid_metric,
        };
        tracing::debug!(?metrics, "fine-tuning epoch");
        if !metrics.train_loss.is_finite() || !valid_loss.is_finite() {
            return Err(Error::Invalid(format!(
                "the loss diverged at epoch {} (learning rate {}?)",
                epoch + 1,
                options.learning_rate
            )));
        }
        state.history.push(metrics);
        state.epochs_done = epoch + 1;
        if (state.best_epoch == 0 && !state.initial_scored) || valid_loss < state.best_valid_loss {
            state.best_valid_loss = valid_loss;
            state.best_epoch = epoch + 1;
            best = model.clone();
        }
        let patience_over = options
            .patience
            .is_some_and(|p| state.epochs_done - state.best_epoch >= p);
        state.finished = patience_over;
        let checkpoint = Checkpoint::capture(&model, &optim, &best, &state)?;
        let control = on_epoch(&metrics, &checkpoint);
        if patience_over || control == Control::Stop {
            stopped = state.epochs_done < options.epochs;
            break;
        }
    }
    Ok(FineTuned {
        model: best,
        history: state.history,
        best_epoch: state.best_epoch,
        stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TransformerConfig;
    use crate::CpuBackend as Cpu;

    /// Genotypes and a trait from a small linear congruential generator.
    fn data(n: usize, l: usize) -> (GenotypeTokens, Array2<f32>) {
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f32 / (1u64 << 31) as f32
        };
        let dosages = Array2::from_shape_fn((n, l), |_| (next() * 3.0).floor().min(2.0));
        let y = Array2::from_shape_fn((n, 1), |(i, _)| dosages[[i, 0]] + next());
        (GenotypeTokens::from_dosages(dosages.view()).unwrap(), y)
    }

    fn tune(score_initial: bool) -> (FineTuned<Cpu>, Array2<f64>, Array2<f32>) {
        let device = Default::default();
        let (tokens, y) = data(80, 6);
        // Training samples: the offset misses the trait by noise that
        // training can fit. Validation samples: the offset predicts the
        // trait exactly, so any move away from it is worse there.
        let noise = data(80, 1).1;
        let train_offsets = &y - &noise.mapv(|v| v - 1.0);
        let train = TaskData {
            tokens: &tokens,
            covariates: None,
            targets: y.view(),
            offsets: Some(train_offsets.view()),
        };
        let offsets = y.clone();
        let valid = TaskData {
            offsets: Some(offsets.view()),
            ..train
        };
        let prep = Preprocessing::fit(&train, &[OutputKind::Regression]).unwrap();
        Cpu::seed(&device, 3);
        let mut config = TransformerConfig::new(6);
        config.n_layers = 1;
        let model = GenotypeTransformer::<Cpu>::new(&config, &device)
            .unwrap()
            .with_zero_output();
        let options = FineTuneOptions {
            epochs: 3,
            batch_size: 16,
            patience: None,
            learning_rate: 1e-2,
            score_initial,
            ..FineTuneOptions::default()
        };
        let tuned = fine_tune(
            model,
            &prep,
            &train,
            &valid,
            &options,
            &device,
            None,
            &mut |_, _| Control::Continue,
        )
        .unwrap();
        let predicted = predict(&tuned.model.valid(), &prep, &valid, 32, &device).unwrap();
        (tuned, predicted, offsets)
    }

    #[test]
    fn the_initial_model_with_an_exact_offset_is_kept() {
        let (tuned, predicted, offsets) = tune(true);
        assert_eq!(tuned.best_epoch, 0, "{:?}", tuned.history);
        assert_eq!(tuned.history.len(), 3);
        for (p, o) in predicted.iter().zip(&offsets) {
            assert!((p - f64::from(*o)).abs() < 1e-5, "{p} vs {o}");
        }
        // Without scoring the initial model, an epoch that moved away from
        // the exact offset is returned.
        let (tuned, predicted, offsets) = tune(false);
        assert!(tuned.best_epoch >= 1);
        let moved = predicted
            .iter()
            .zip(&offsets)
            .map(|(p, o)| (p - f64::from(*o)).abs())
            .fold(0.0, f64::max);
        assert!(moved > 1e-4, "{moved}");
    }

    #[test]
    fn offsets_of_the_wrong_shape_or_not_finite_are_refused() {
        let (tokens, y) = data(10, 3);
        let wide = Array2::<f32>::zeros((10, 2));
        let task = TaskData {
            tokens: &tokens,
            covariates: None,
            targets: y.view(),
            offsets: Some(wide.view()),
        };
        assert!(task.check(1).unwrap_err().to_string().contains("offsets"));
        let mut nan = Array2::<f32>::zeros((10, 1));
        nan[[4, 0]] = f32::NAN;
        let task = TaskData {
            offsets: Some(nan.view()),
            ..task
        };
        assert!(task.check(1).is_err());
    }
}
