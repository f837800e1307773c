//! The transformer step: the genotype transformer cross-validated, then
//! fitted on every sample. `genolens train` and a Rust caller make this one
//! call.
//!
//! Per outer fold, on the training samples only: a seeded validation split
//! for early stopping, variant selection on the rest (GWAS p-value driven LD
//! clumping, or a given list), the additive path over every marker
//! (`study::additive`), scalings, optional masked-genotype pretraining, full or
//! LoRA fine-tuning (optionally after a hyperparameter search on the same
//! validation split), then predictions for the held-out fold. Writes
//! `OUT/metrics.tsv`, `pred.tsv`, `cv.tsv`, `loss.png`, `model/`,
//! `checkpoints/` and `train.log`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::assoc::linear::Covariates;
use crate::assoc::predict::cv::PredictorCovariates;
use crate::assoc::predict::metrics::{auc, mse, pearson, r_squared};
use crate::assoc::predict::model::LinearPredictor;
use crate::assoc::predict::select::{select_variants, SelectOptions};
use crate::assoc::predict::Task;
use crate::explain::fusion::variant_prior_inputs;
use crate::features::split::permutation;
use crate::io::report::{format_g, read_id_list, write_tsv};
use crate::io::table::{ColumnKind, SampleTable, TableOptions};
use crate::io::{AtomicFile, GenotypeSource, SampleId, Variant};
use crate::plot::{LinePlot, LineStyle};
use crate::study::additive::{round_offsets, RoundOffsets, RoundSamples};
use crate::study::predict::{FoldMetrics, FoldSpec};
use crate::study::prior::PriorInput;
use crate::study::progress::Progress;
use crate::study::{GenotypeInput, RunLog};
use crate::transformer::burn::module::AutodiffModule;
use crate::transformer::burn::tensor::backend::AutodiffBackend;
use crate::transformer::checkpoint::Checkpoint;
use crate::transformer::device::{BackendTask, ComputeDevice};
use crate::transformer::finetune::{
    fine_tune, gain_over_offsets, predict, Control, EpochMetrics, FineTuneOptions, OffsetGain,
    OutputKind, Preprocessing, TaskData,
};
use crate::transformer::lora::{count_parameters, LoraConfig};
use crate::transformer::model::{GenotypeTransformer, TransformerConfig};
use crate::transformer::pretrain::{pretrain, PretrainOptions};
use crate::transformer::saved::{SavedTransformer, SavedVariant};
use crate::transformer::search::{grid, search, Trial};
use crate::transformer::tokens::GenotypeTokens;
use crate::{Error, Result};

/// Options of the transformer step (`genolens train`'s flags, typed).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// The genotypes.
    pub input: GenotypeInput,
    /// Phenotype table.
    pub pheno: PathBuf,
    /// The phenotype(s) to predict: several make a multi-task model (empty:
    /// the first column).
    pub pheno_name: Vec<String>,
    /// Covariate table (enters the head through a dense branch).
    pub covar: Option<PathBuf>,
    /// Covariates to use (empty: every column).
    pub covar_name: Vec<String>,
    /// Case/control coded 0/1 instead of 1/2.
    pub case_control_01: bool,
    /// Masked-genotype pretraining epochs on the training samples' genotypes.
    pub pretrain_epochs: usize,
    /// Most fine-tuning epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
    /// LoRA rank: fine-tune adapters only.
    pub lora_rank: Option<usize>,
    /// LoRA alpha (default 2·rank).
    pub lora_alpha: Option<f64>,
    /// AdamW learning rate.
    pub lr: f64,
    /// Samples per step.
    pub batch_size: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Token width.
    pub d_model: usize,
    /// Attention heads.
    pub heads: usize,
    /// Dropout rate.
    pub dropout: f64,
    /// Most variants (tokens) kept by the GWAS-driven LD clumping.
    pub max_variants: usize,
    /// Use exactly the variants listed (one ID per line) instead of selecting.
    pub variants: Option<PathBuf>,
    /// Fraction of each training set held out for early stopping, in (0, 0.9).
    pub valid_fraction: f64,
    /// Search learning rates × depths × LoRA ranks first (`OUT/search.tsv`).
    pub search: bool,
    /// Learning rates of the search.
    pub search_lr: Vec<f64>,
    /// Depths of the search.
    pub search_layers: Vec<usize>,
    /// LoRA ranks of the search (0: full fine-tuning; empty: `lora_rank`).
    pub search_lora_rank: Vec<usize>,
    /// Compute device.
    pub device: ComputeDevice,
    /// The outer folds.
    pub folds: FoldSpec,
    /// Seed of folds, splits, initialisation, masks, order and dropout.
    pub seed: u64,
    /// Continue from `OUT/checkpoints` (each fold after its last finished
    /// epoch).
    pub resume: bool,
    /// A gene prior: each token carries its gene's score.
    pub prior: Option<PriorInput>,
    /// The prior's gene embeddings (`.npy`): each token also carries its
    /// gene's literature embedding (gene-token fusion).
    pub prior_embeddings: Option<PathBuf>,
    /// An additive model over every marker (ridge, or L2-penalised logistic
    /// regression for case/control traits; penalty by inner CV) whose
    /// predictions enter the transformer's outputs as fixed offsets: the
    /// transformer starts as that model and keeps only what improves it on
    /// the validation samples. `false`: the transformer alone.
    pub additive: bool,
    /// Output directory.
    pub out: PathBuf,
}

/// What the transformer step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// The rounds: `fold-1` … `fold-K`, then `final`.
    pub rounds: Vec<String>,
    /// The outputs (phenotypes) of the model.
    pub outputs: Vec<String>,
    /// `true` when the first output is case/control.
    pub binary: bool,
    /// The cross-validation metrics' names (first output): `r`, `r2`, `mse`
    /// or `auc`.
    pub metric_names: Vec<String>,
    /// Per outer fold, the first output's metrics.
    pub folds: Vec<FoldMetrics>,
    /// Mean over folds, per metric.
    pub mean: Vec<f64>,
    /// Standard deviation over folds, per metric.
    pub sd: Vec<f64>,
    /// With the additive path: the mean over folds of its own held-out
    /// predictions, per metric (the baseline on the same folds).
    #[serde(default)]
    pub additive_mean: Option<Vec<f64>>,
    /// `OUT/cv.tsv`.
    pub cv_table: PathBuf,
    /// `OUT/pred.tsv`: held-out predictions.
    pub predictions: PathBuf,
    /// `OUT/loss.png`.
    pub loss_plot: PathBuf,
    /// `OUT/model/`, the final model.
    pub model_dir: PathBuf,
    /// Every file or directory written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Phenotypes, covariates and the samples usable for training.
struct Inputs {
    ids: Vec<SampleId>,
    names: Vec<String>,
    kinds: Vec<OutputKind>,
    /// `n × outputs`, `NaN` missing.
    y: Array2<f64>,
    cov_names: Vec<String>,
    cov: Array2<f64>,
    /// Samples with every covariate and at least one phenotype.
    usable: Vec<bool>,
}

fn read_inputs(
    args: &TrainOptions,
    source: &dyn GenotypeSource,
    log: &mut RunLog,
) -> Result<Inputs, Error> {
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let options = |names: Option<Vec<String>>| TableOptions {
        case_control_01: args.case_control_01,
        columns: names,
        ..TableOptions::default()
    };
    let names = (!args.pheno_name.is_empty()).then(|| args.pheno_name.clone());
    let table = SampleTable::read_phenotypes(&args.pheno, &options(names.clone()))?;
    let (phenos, report) = table.align(&ids)?;
    let keep: Vec<usize> = match &names {
        Some(_) => (0..phenos.names.len()).collect(),
        None => vec![0],
    };
    if phenos.names.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no phenotype column",
            args.pheno.display()
        )));
    }
    let kinds: Vec<OutputKind> = keep
        .iter()
        .map(|&j| {
            if phenos.kinds[j] == ColumnKind::CaseControl {
                OutputKind::Binary
            } else {
                OutputKind::Regression
            }
        })
        .collect();
    let y = phenos.values.select(Axis(1), &keep);
    let names: Vec<String> = keep.iter().map(|&j| phenos.names[j].clone()).collect();
    let (cov_names, cov) = match &args.covar {
        None => (Vec::new(), Array2::<f64>::zeros((ids.len(), 0))),
        Some(path) => {
            let names = (!args.covar_name.is_empty()).then(|| args.covar_name.clone());
            let table = SampleTable::read_covariates(path, &options(names))?;
            let (aligned, _) = table.align(&ids)?;
            (aligned.names, aligned.values)
        }
    };
    let usable: Vec<bool> = (0..ids.len())
        .map(|i| y.row(i).iter().any(|v| !v.is_nan()) && cov.row(i).iter().all(|v| !v.is_nan()))
        .collect();
    let _ = writeln!(
        log,
        "--pheno {} ({}): {} of {} genotype samples matched, {} usable{}",
        args.pheno.display(),
        names
            .iter()
            .zip(&kinds)
            .map(|(n, k)| format!(
                "{n}: {}",
                if *k == OutputKind::Binary {
                    "case/control"
                } else {
                    "quantitative"
                }
            ))
            .collect::<Vec<_>>()
            .join(", "),
        report.matched,
        ids.len(),
        usable.iter().filter(|&&u| u).count(),
        if cov_names.is_empty() {
            String::new()
        } else {
            format!(", covariates {}", cov_names.join(", "))
        }
    );
    Ok(Inputs {
        ids,
        names,
        kinds,
        y,
        cov_names,
        cov,
        usable,
    })
}

/// Dosages of `variants` (indices into the source) for every sample.
fn read_columns(source: &dyn GenotypeSource, variants: &[usize]) -> Result<Array2<f32>, Error> {
    let mut out = Array2::<f32>::zeros((source.n_samples(), variants.len()));
    let mut k = 0;
    while k < variants.len() {
        // One block spans the next run of selected variants within 4,096.
        let start = variants[k];
        let mut end = k;
        while end < variants.len() && variants[end] < start + 4096 {
            end += 1;
        }
        let block = source.read_block(start..variants[end - 1] + 1)?;
        for (j, &v) in variants[k..end].iter().enumerate() {
            out.column_mut(k + j)
                .assign(&block.dosages().column(v - start));
        }
        k = end;
    }
    Ok(out)
}

/// What one training round (a fold, or the final model) learnt.
struct Round {
    history: Vec<EpochMetrics>,
    /// Held-out predictions, `test.len() × outputs`.
    predictions: Array2<f64>,
    saved: Option<(SavedTransformer, Vec<u8>)>,
    /// The final round's additive models (one per output), saved with it;
    /// empty for the folds.
    additive: Vec<LinearPredictor>,
    /// With the additive path: the transformer's validation gain over it
    /// (kept when significant).
    gain: Option<OffsetGain>,
    /// The additive path's own held-out predictions (trait scale,
    /// probabilities for case/control): the baseline the transformer must
    /// beat, on the same samples.
    additive_predictions: Option<Array2<f64>>,
    trainable: (usize, usize),
    trials: Vec<(Trial, f64)>,
}

/// One round's data: samples, tokens and targets.
struct RoundData {
    label: String,
    variants: Vec<usize>,
    fit: Vec<usize>,
    valid: Vec<usize>,
    test: Vec<usize>,
    dosages: Array2<f32>,
    /// Per-variant prior inputs (score, embedding), with `--prior`.
    priors: Option<Array2<f32>>,
    /// The additive path's offsets (default; none with `additive: false`).
    offsets: Option<RoundOffsets>,
}

/// A trained model, its history, and its (trainable, total) parameter counts.
type Trained<B> = (GenotypeTransformer<B>, Vec<EpochMetrics>, (usize, usize));

/// The training job, run on the backend `--device` picks.
struct TrainJob<'a> {
    options: &'a TrainOptions,
    source: &'a dyn GenotypeSource,
    inputs: &'a Inputs,
    rounds: Vec<RoundData>,
    progress: &'a dyn Progress,
}

impl BackendTask for TrainJob<'_> {
    type Output = Result<Vec<Round>, Error>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let mut out = Vec::with_capacity(self.rounds.len());
        for (r, round) in self.rounds.iter().enumerate() {
            out.push(self.round::<B>(r, round, &device)?);
        }
        Ok(out)
    }
}

fn transformer_error(e: crate::transformer::Error) -> Error {
    Error::Invalid(e.to_string())
}

impl TrainJob<'_> {
    fn config(&self, round: &RoundData, n_layers: usize) -> TransformerConfig {
        TransformerConfig {
            n_variants: round.variants.len(),
            d_model: self.options.d_model,
            n_heads: self.options.heads,
            n_layers,
            d_ff: 2 * self.options.d_model,
            dropout: self.options.dropout,
            d_prior: round.priors.as_ref().map(|p| p.ncols()),
            n_covariates: self.inputs.cov_names.len(),
            n_outputs: self.inputs.names.len(),
        }
    }

    fn checkpoint_path(&self, label: &str) -> PathBuf {
        self.options
            .out
            .join("checkpoints")
            .join(format!("{label}.ckpt"))
    }

    /// Trains one model on `round.fit` (early stopping on `round.valid`).
    #[allow(clippy::too_many_arguments)]
    fn train<B: AutodiffBackend>(
        &self,
        r: usize,
        round: &RoundData,
        parts: (&TaskData<'_>, &TaskData<'_>, &Preprocessing),
        trial: &Trial,
        checkpoint: Option<&Path>,
        device: &B::Device,
    ) -> Result<Trained<B>, Error> {
        let (fit, valid, prep) = parts;
        let args = self.options;
        let config = self.config(round, trial.n_layers);
        B::seed(device, args.seed);
        let mut model =
            GenotypeTransformer::<B>::new(&config, device).map_err(transformer_error)?;
        let with_offsets = fit.offsets.is_some();
        let resume = match checkpoint {
            Some(path) if args.resume && path.exists() => Some(
                Checkpoint::from_bytes(
                    &std::fs::read(path)
                        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?,
                )
                .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?,
            ),
            _ => None,
        };
        if args.pretrain_epochs > 0 && resume.is_none() {
            let options = PretrainOptions {
                epochs: args.pretrain_epochs,
                batch_size: args.batch_size,
                seed: args.seed,
                ..PretrainOptions::default()
            };
            model = pretrain(
                model,
                fit.tokens,
                &prep.dosages,
                &options,
                device,
                &|_, _| {},
            )
            .map_err(transformer_error)?
            .0;
        }
        if with_offsets {
            // The model starts as the additive path alone.
            model = model.with_zero_output();
        }
        if let Some(rank) = trial.lora_rank {
            let lora = LoraConfig {
                rank,
                alpha: args.lora_alpha.unwrap_or(2.0 * rank as f64),
            };
            model = model.with_lora(&lora, device).map_err(transformer_error)?;
        }
        let counts = count_parameters(&model);
        let options = FineTuneOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            learning_rate: trial.learning_rate,
            patience: Some(args.patience),
            seed: args.seed,
            score_initial: with_offsets,
            ..FineTuneOptions::default()
        };
        let base = (r * args.epochs) as u64;
        let mut write_error = None;
        let tuned = fine_tune(
            model,
            prep,
            fit,
            valid,
            &options,
            device,
            resume.as_ref(),
            &mut |m, c| {
                if let Some(path) = checkpoint {
                    self.progress.set((base + m.epoch as u64) as usize);
                    self.progress.message(&format!(
                        "{} epoch {} valid loss {:.4}",
                        round.label, m.epoch, m.valid_loss
                    ));
                    if let Err(e) = write_checkpoint(path, c) {
                        write_error = Some(e);
                        return Control::Stop;
                    }
                }
                Control::Continue
            },
        )
        .map_err(transformer_error)?;
        if let Some(e) = write_error {
            return Err(e);
        }
        Ok((tuned.model, tuned.history, (counts.trainable, counts.total)))
    }

    fn round<B: AutodiffBackend>(
        &self,
        r: usize,
        round: &RoundData,
        device: &B::Device,
    ) -> Result<Round, Error> {
        let args = self.options;
        let inputs = self.inputs;
        let tokens =
            GenotypeTokens::from_dosages(round.dosages.view()).map_err(transformer_error)?;
        let y32 = inputs.y.mapv(|v| v as f32);
        let cov32 = inputs.cov.mapv(|v| v as f32);
        let with_cov = !inputs.cov_names.is_empty();
        let part = |rows: &[usize]| {
            (
                tokens.select(rows),
                y32.select(Axis(0), rows),
                cov32.select(Axis(0), rows),
            )
        };
        let (fit_t, fit_y, fit_c) = part(&round.fit);
        let (valid_t, valid_y, valid_c) = part(&round.valid);
        let (test_t, test_y, test_c) = part(&round.test);
        let offsets = round.offsets.as_ref();
        let fit = task_data((&fit_t, &fit_y, &fit_c, with_cov), offsets.map(|o| &o.fit));
        let valid = task_data(
            (&valid_t, &valid_y, &valid_c, with_cov),
            offsets.map(|o| &o.valid),
        );
        let mut prep = Preprocessing::fit(&fit, &inputs.kinds).map_err(transformer_error)?;
        if let Some(p) = &round.priors {
            prep = prep.with_priors(p.view()).map_err(transformer_error)?;
        }
        let default = Trial {
            learning_rate: args.lr,
            n_layers: args.layers,
            lora_rank: args.lora_rank,
        };
        let mut trials = Vec::new();
        let chosen = if args.search {
            let ranks: Vec<Option<usize>> = if args.search_lora_rank.is_empty() {
                vec![args.lora_rank]
            } else {
                args.search_lora_rank
                    .iter()
                    .map(|&k| (k > 0).then_some(k))
                    .collect()
            };
            let candidates = grid(&args.search_lr, &args.search_layers, &ranks);
            let (best, table) = search(&candidates, |trial| {
                self.progress
                    .message(&format!("{} search {trial:?}", round.label));
                let (_, history, _) = self
                    .train::<B>(r, round, (&fit, &valid, &prep), trial, None, device)
                    .map_err(|e| crate::transformer::Error::Invalid(e.to_string()))?;
                Ok(history
                    .iter()
                    .map(|m| m.valid_loss)
                    .fold(f64::INFINITY, f64::min))
            })
            .map_err(transformer_error)?;
            trials = table;
            best
        } else {
            default
        };
        let checkpoint = self.checkpoint_path(&round.label);
        let (model, history, trainable) = self.train::<B>(
            r,
            round,
            (&fit, &valid, &prep),
            &chosen,
            Some(&checkpoint),
            device,
        )?;
        let mut merged = model.merge_lora().valid();
        // Keep the transformer's part only when it clearly beats the
        // additive path alone on the validation samples; otherwise the
        // zeroed output layer leaves the additive path alone.
        let gain = match offsets {
            Some(_) => {
                let gain = gain_over_offsets(&merged, &prep, &valid, 256, device)
                    .map_err(transformer_error)?;
                if !gain.significant() {
                    merged = merged.with_zero_output();
                }
                Some(gain)
            }
            None => None,
        };
        let predictions = if round.test.is_empty() {
            Array2::zeros((0, inputs.names.len()))
        } else {
            predict(
                &merged,
                &prep,
                &task_data(
                    (&test_t, &test_y, &test_c, with_cov),
                    offsets.map(|o| &o.test),
                ),
                256,
                device,
            )
            .map_err(transformer_error)?
        };
        let saved = if round.test.is_empty() {
            let variants = self.source.variants();
            let config = self.config(round, chosen.n_layers);
            let described = SavedTransformer::new(
                config,
                prep.clone(),
                round
                    .variants
                    .iter()
                    .map(|&v| SavedVariant {
                        id: variants[v].id.clone(),
                        chrom: variants[v].chrom.clone(),
                        pos: variants[v].pos,
                        allele1: variants[v].allele1.clone(),
                        allele2: variants[v].allele2.clone(),
                    })
                    .collect(),
                inputs.names.clone(),
                inputs.cov_names.clone(),
            )
            .map_err(transformer_error)?;
            let weights = SavedTransformer::weights(&merged).map_err(transformer_error)?;
            Some((described, weights))
        } else {
            None
        };
        Ok(Round {
            history,
            predictions,
            saved,
            // Only the final model is saved with its additive path.
            additive: match offsets {
                Some(o) if round.test.is_empty() => o.models.clone(),
                _ => Vec::new(),
            },
            gain,
            additive_predictions: offsets.map(|o| {
                Array2::from_shape_fn(o.test.dim(), |(i, j)| {
                    let v = f64::from(o.test[[i, j]]);
                    match inputs.kinds[j] {
                        OutputKind::Regression => v,
                        OutputKind::Binary => 1.0 / (1.0 + (-v).exp()),
                    }
                })
            }),
            trainable,
            trials,
        })
    }
}

/// Tokens, targets, covariates (used or not) of some samples.
type Part<'a> = (&'a GenotypeTokens, &'a Array2<f32>, &'a Array2<f32>, bool);

fn task_data<'a>(part: Part<'a>, offsets: Option<&'a Array2<f32>>) -> TaskData<'a> {
    let (tokens, y, covariates, with_covariates) = part;
    TaskData {
        tokens,
        covariates: with_covariates.then(|| covariates.view()),
        targets: y.view(),
        offsets: offsets.map(|o| o.view()),
    }
}

fn write_checkpoint(path: &Path, checkpoint: &Checkpoint) -> Result<()> {
    let bytes = checkpoint.to_bytes().map_err(transformer_error)?;
    Ok(crate::io::report::write_bytes(path, &bytes)?)
}

/// The saved model's additive path: `model/additive.json`, a JSON array of
/// `genolens predict` models (one per output), added to the transformer's
/// outputs by `genolens score`.
pub const ADDITIVE_FILE: &str = "additive.json";

fn additive_json(models: &[LinearPredictor]) -> Result<String> {
    serde_json::to_string_pretty(models)
        .map_err(|e| Error::Invalid(format!("additive models as JSON: {e}")))
}

/// Reads [`ADDITIVE_FILE`] from a model directory: `None` when the model
/// has no additive path. A file with other than one model per output
/// (`outputs`) is an error.
pub fn read_additive(model_dir: &Path, outputs: usize) -> Result<Option<Vec<LinearPredictor>>> {
    let path = model_dir.join(ADDITIVE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let bad = |e: String| Error::Invalid(format!("{}: not additive models: {e}", path.display()));
    let values: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    // Each entry through the model reader's own checks (format, version).
    let models = values
        .iter()
        .map(|v| LinearPredictor::from_json(&v.to_string()).map_err(|e| bad(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    if models.len() != outputs {
        return Err(bad(format!(
            "{} models for the transformer's {outputs} outputs",
            models.len()
        )));
    }
    Ok(Some(models))
}

/// Each variant ID of `source` with its index.
fn variant_index(source: &dyn GenotypeSource) -> HashMap<&str, usize> {
    source
        .variants()
        .iter()
        .enumerate()
        .map(|(i, v)| (v.id.as_str(), i))
        .collect()
}

/// The variants of a round: the user's list, or the default selection on the
/// round's fit samples (first phenotype).
fn choose_variants(
    args: &TrainOptions,
    source: &dyn GenotypeSource,
    inputs: &Inputs,
    train: &[usize],
) -> Result<Vec<usize>, Error> {
    if let Some(path) = &args.variants {
        let wanted = read_id_list(path)?;
        let index = variant_index(source);
        let mut chosen: Vec<usize> = wanted
            .iter()
            .filter_map(|id| index.get(id.as_str()).copied())
            .collect();
        chosen.sort_unstable();
        chosen.dedup();
        if chosen.is_empty() {
            return Err(Error::Invalid(format!(
                "--variants {}: none of its {} IDs is a variant of {}",
                path.display(),
                wanted.len(),
                source.origin().display()
            )));
        }
        return Ok(chosen);
    }
    let y: Vec<f64> = inputs.y.column(0).to_vec();
    let covariates = Covariates {
        names: &inputs.cov_names,
        values: inputs.cov.view(),
    };
    let task = if inputs.kinds[0] == OutputKind::Binary {
        Task::Binary
    } else {
        Task::Quantitative
    };
    Ok(select_variants(
        source,
        &y,
        &covariates,
        train,
        task,
        &SelectOptions {
            max_variants: args.max_variants,
            ..SelectOptions::default()
        },
    )?)
}

/// Splits training samples into fit and validation parts (seeded).
fn inner_split(train: &[usize], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let n_valid = ((train.len() as f64 * fraction).round() as usize)
        .clamp(1, train.len().saturating_sub(1).max(1));
    let order = permutation(train.len(), seed);
    let mut valid: Vec<usize> = order[..n_valid].iter().map(|&k| train[k]).collect();
    let mut fit: Vec<usize> = order[n_valid..].iter().map(|&k| train[k]).collect();
    valid.sort_unstable();
    fit.sort_unstable();
    (fit, valid)
}

/// Cross-validates the transformer, then trains the deployable model on
/// every usable sample.
pub fn run_train(options: &TrainOptions, progress: &dyn Progress) -> Result<TrainOutcome> {
    let args = options;
    let started = Instant::now();
    if !(0.0..0.9).contains(&args.valid_fraction) || args.valid_fraction == 0.0 {
        return Err(Error::Invalid(
            "--valid-fraction must be in (0, 0.9)".into(),
        ));
    }
    args.device.check().map_err(transformer_error)?;
    let (source, mut log) = args.input.open_logged("train")?;
    let inputs = read_inputs(args, source.as_ref(), &mut log)?;
    let folds = args.folds.resolve(source.as_ref(), args.seed)?;
    let prior = match &args.prior {
        Some(p) => Some(p.load(args.prior_embeddings.as_deref(), &mut log)?),
        None => None,
    };
    // Rounds: one per fold, then the final model on every usable sample.
    let mut rounds = Vec::with_capacity(folds.n_folds() + 1);
    for f in 0..=folds.n_folds() {
        let final_round = f == folds.n_folds();
        let (train, test): (Vec<usize>, Vec<usize>) = (0..source.n_samples())
            .filter(|&i| inputs.usable[i])
            .partition(|&i| final_round || folds.labels()[i] != f);
        if train.len() < 10 {
            return Err(Error::Invalid(format!(
                "fold {}: {} usable training samples",
                f + 1,
                train.len()
            )));
        }
        let (fit, valid) = inner_split(
            &train,
            args.valid_fraction,
            args.seed.wrapping_add(f as u64),
        );
        // Tokens are chosen on the fit samples only: a GWAS that also saw
        // the validation samples picks variants whose effects are inflated
        // there (the winner's curse), and early stopping and the additive
        // path's gain test would then trust gains that held-out samples do
        // not show.
        let variants = choose_variants(args, source.as_ref(), &inputs, &fit)?;
        let label = if final_round {
            "final".to_string()
        } else {
            format!("fold-{}", f + 1)
        };
        let _ = writeln!(
            log,
            "{label}: {} fit, {} validation, {} held-out samples; {} variants",
            fit.len(),
            valid.len(),
            test.len(),
            variants.len()
        );
        let dosages = read_columns(source.as_ref(), &variants)?;
        let priors = match &prior {
            None => None,
            Some(loaded) => {
                let chosen: Vec<Variant> = variants
                    .iter()
                    .map(|&v| source.variants()[v].clone())
                    .collect();
                let (inputs, genes) =
                    variant_prior_inputs(&chosen, &loaded.priors, &loaded.map, &loaded.mapping)?;
                let _ = writeln!(
                    log,
                    "{label}: prior inputs {} per token; {} of {} tokens near a supported gene",
                    inputs.ncols(),
                    genes.report.variants_supported,
                    chosen.len()
                );
                Some(inputs)
            }
        };
        let offsets = if args.additive {
            progress.message(&format!("{label}: additive path over every marker"));
            let covariates = (!inputs.cov_names.is_empty()).then(|| PredictorCovariates {
                names: &inputs.cov_names,
                values: inputs.cov.view(),
            });
            let samples = RoundSamples {
                fit: &fit,
                valid: &valid,
                test: &test,
            };
            let offsets = round_offsets(
                source.as_ref(),
                inputs.y.view(),
                &inputs.kinds,
                covariates,
                &samples,
                args.seed,
            )?;
            let _ = writeln!(
                log,
                "{label}: additive path {} over {} markers ({}), its predictions the transformer's offsets",
                offsets.models[0].kind.name(),
                source.n_variants(),
                offsets.models[0]
                    .hyperparameters
                    .iter()
                    .map(|(n, v)| format!("{n} {}", format_g(*v, 4)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Some(offsets)
        } else {
            None
        };
        rounds.push(RoundData {
            label,
            variants,
            fit,
            valid,
            test,
            dosages,
            priors,
            offsets,
        });
    }
    let labels: Vec<String> = rounds.iter().map(|r| r.label.clone()).collect();
    let tests: Vec<Vec<usize>> = rounds.iter().map(|r| r.test.clone()).collect();
    // The output directory appears only once the inputs have been accepted.
    std::fs::create_dir_all(args.out.join("checkpoints"))
        .map_err(|e| Error::Invalid(format!("{}: {e}", args.out.display())))?;
    progress.start("training", Some(rounds.len() * args.epochs), "epochs");
    let job = TrainJob {
        options: args,
        source: source.as_ref(),
        inputs: &inputs,
        rounds,
        progress,
    };
    let results = args.device.run(job).map_err(transformer_error);
    progress.finish();
    let results = results??;
    write_outputs(args, &inputs, &labels, &tests, &results, log, started)
}

fn write_outputs(
    args: &TrainOptions,
    inputs: &Inputs,
    labels: &[String],
    tests: &[Vec<usize>],
    results: &[Round],
    mut log: RunLog,
    started: Instant,
) -> Result<TrainOutcome> {
    let out = &args.out;
    let metric = inputs.kinds[0].metric_name();
    let mut written = Vec::new();

    // metrics.tsv: one row per round and epoch.
    let path = out.join("metrics.tsv");
    write_tsv(
        &path,
        &[
            "round",
            "epoch",
            "train_loss",
            &format!("train_{metric}"),
            "valid_loss",
            &format!("valid_{metric}"),
        ],
        labels.iter().zip(results).flat_map(|(label, r)| {
            r.history.iter().map(move |m| {
                vec![
                    label.clone(),
                    m.epoch.to_string(),
                    format_g(m.train_loss, 6),
                    format_g(m.train_metric, 6),
                    format_g(m.valid_loss, 6),
                    format_g(m.valid_metric, 6),
                ]
            })
        }),
    )?;
    written.push(path);

    // pred.tsv: held-out predictions.
    let mut header = vec!["FID".to_string(), "IID".to_string(), "fold".to_string()];
    if inputs.names.len() == 1 {
        header.extend(["y".to_string(), "pred".to_string()]);
    } else {
        for n in &inputs.names {
            header.extend([format!("y_{n}"), format!("pred_{n}")]);
        }
    }
    let mut rows = Vec::new();
    for (f, (test, r)) in tests.iter().zip(results).enumerate() {
        for (k, &i) in test.iter().enumerate() {
            let mut row = vec![
                inputs.ids[i].fid.clone(),
                inputs.ids[i].iid.clone(),
                (f + 1).to_string(),
            ];
            for o in 0..inputs.names.len() {
                row.push(format_g(inputs.y[[i, o]], 6));
                row.push(format_g(r.predictions[[k, o]], 6));
            }
            rows.push((i, row));
        }
    }
    rows.sort_by_key(|(i, _)| *i);
    let path = out.join("pred.tsv");
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    write_tsv(&path, &header_refs, rows.into_iter().map(|(_, r)| r))?;
    written.push(path);

    // cv.tsv: per fold, first output.
    let binary = inputs.kinds[0] == OutputKind::Binary;
    let mut cv_rows = Vec::new();
    let mut per_fold = Vec::new();
    let mut fold_metrics = Vec::new();
    let (mut cv_mean, mut cv_sd) = (Vec::new(), Vec::new());
    let mut additive_mean = None;
    // The metrics of held-out predictions (first output) of one fold.
    let fold_values = |test: &[usize], predictions: &Array2<f64>| {
        let (mut y, mut p) = (Vec::new(), Vec::new());
        for (k, &i) in test.iter().enumerate() {
            if !inputs.y[[i, 0]].is_nan() {
                y.push(inputs.y[[i, 0]]);
                p.push(predictions[[k, 0]]);
            }
        }
        let values = if binary {
            let labels: Vec<bool> = y.iter().map(|&v| v == 1.0).collect();
            vec![auc(&labels, &p)]
        } else {
            vec![pearson(&y, &p), r_squared(&y, &p), mse(&y, &p)]
        };
        (y, values)
    };
    let mut additive_folds: Vec<Vec<f64>> = Vec::new();
    for (f, (test, r)) in tests.iter().zip(results).enumerate() {
        let (y, values) = fold_values(test, &r.predictions);
        if y.is_empty() {
            continue;
        }
        if let Some(a) = &r.additive_predictions {
            additive_folds.push(fold_values(test, a).1);
        }
        let mut row = vec![(f + 1).to_string(), y.len().to_string()];
        row.extend(values.iter().map(|v| format_g(*v, 6)));
        cv_rows.push(row);
        fold_metrics.push(FoldMetrics {
            fold: f + 1,
            n: y.len(),
            values: values.clone(),
        });
        per_fold.push(values);
    }
    if !per_fold.is_empty() {
        let k = per_fold.len() as f64;
        let width = per_fold[0].len();
        let mean: Vec<f64> = (0..width)
            .map(|j| per_fold.iter().map(|v| v[j]).sum::<f64>() / k)
            .collect();
        let sd: Vec<f64> = (0..width)
            .map(|j| {
                (per_fold
                    .iter()
                    .map(|v| (v[j] - mean[j]).powi(2))
                    .sum::<f64>()
                    / (k - 1.0).max(1.0))
                .sqrt()
            })
            .collect();
        for (name, values) in [("mean", &mean), ("sd", &sd)] {
            let mut row = vec![name.to_string(), String::new()];
            row.extend(values.iter().map(|v| format_g(*v, 6)));
            cv_rows.push(row);
        }
        cv_mean.clone_from(&mean);
        cv_sd.clone_from(&sd);
        if additive_folds.len() == per_fold.len() {
            let alone: Vec<f64> = (0..width)
                .map(|j| additive_folds.iter().map(|v| v[j]).sum::<f64>() / k)
                .collect();
            let _ = writeln!(
                log,
                "cross-validation ({}), the additive path alone on the same folds: {}",
                inputs.names[0],
                if binary {
                    format!("mean AUC {:.4}", alone[0])
                } else {
                    format!("mean r {:.4}, R² {:.4}", alone[0], alone[1])
                }
            );
            additive_mean = Some(alone);
        }
        let _ = writeln!(
            log,
            "cross-validation ({}): {}",
            inputs.names[0],
            if binary {
                format!("mean AUC {:.4}", mean[0])
            } else {
                format!("mean r {:.4}, R² {:.4}", mean[0], mean[1])
            }
        );
    }
    let cv_table = out.join("cv.tsv");
    let cv_header: &[&str] = if binary {
        &["fold", "n", "auc"]
    } else {
        &["fold", "n", "r", "r2", "mse"]
    };
    write_tsv(&cv_table, cv_header, cv_rows)?;
    written.push(cv_table.clone());

    if args.search {
        let path = out.join("search.tsv");
        write_tsv(
            &path,
            &["round", "lr", "layers", "lora_rank", "best_valid_loss"],
            labels.iter().zip(results).flat_map(|(label, r)| {
                r.trials.iter().map(move |(t, s)| {
                    vec![
                        label.clone(),
                        format_g(t.learning_rate, 6),
                        t.n_layers.to_string(),
                        t.lora_rank.map_or("0".into(), |k| k.to_string()),
                        format_g(*s, 6),
                    ]
                })
            }),
        )?;
        written.push(path);
    }

    // loss.png: training and validation loss of every round, one colour per
    // round (fold or final fit), training solid and validation dashed.
    let mut plot = LinePlot::new()
        .title(format!("genolens train: {}", inputs.names.join(", ")))
        .x_label("epoch")
        .y_label("loss (standardised trait; logistic for case/control)");
    for (round, (label, r)) in labels.iter().zip(results).enumerate() {
        let epochs: Vec<f64> = r.history.iter().map(|m| m.epoch as f64).collect();
        let train: Vec<f64> = r.history.iter().map(|m| m.train_loss).collect();
        let valid: Vec<f64> = r.history.iter().map(|m| m.valid_loss).collect();
        let style = |dashed| LineStyle {
            colour: round,
            dashed,
        };
        plot = plot
            .series_styled(format!("{label} train"), &epochs, &train, style(false))
            .series_styled(format!("{label} valid"), &epochs, &valid, style(true));
    }
    let path = out.join("loss.png");
    plot.write_png(&path)?;
    written.push(path);

    // model/: the final round.
    if let Some((saved, weights)) = results.last().and_then(|r| r.saved.as_ref()) {
        let dir = out.join("model");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
        let json = saved.to_json().map_err(transformer_error)?;
        let mut a = AtomicFile::create(dir.join("weights.mpk"))?;
        a.write_all(weights)?;
        let mut b = AtomicFile::create(dir.join("model.json"))?;
        b.write_all(json.as_bytes())?;
        let mut files = vec![a, b];
        let additive = results.last().map_or(&[][..], |r| r.additive.as_slice());
        let path = dir.join(ADDITIVE_FILE);
        if additive.is_empty() {
            // A model trained without the additive path must not pick up a
            // stale one from an earlier run into the same directory.
            if path.exists() {
                std::fs::remove_file(&path)
                    .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
            }
        } else {
            let mut c = AtomicFile::create(&path)?;
            c.write_all(additive_json(additive)?.as_bytes())?;
            files.push(c);
        }
        crate::io::atomic::commit_all(files)?;
        written.push(dir);
    }
    for (label, r) in labels.iter().zip(results) {
        if let Some(g) = &r.gain {
            let _ = writeln!(
                log,
                "{label}: the transformer lowers the validation loss below the additive path alone by {} ± {} per sample: {}",
                format_g(g.mean, 4),
                format_g(g.se, 4),
                if g.significant() {
                    "kept"
                } else {
                    "not clearly (one-sided 0.05), so this round predicts with the additive path alone"
                }
            );
        }
    }
    if let Some(r) = results.last() {
        let _ = writeln!(
            log,
            "final model: {} of {} parameters trained ({:.1} %), best of {} epochs",
            r.trainable.0,
            r.trainable.1,
            100.0 * r.trainable.0 as f64 / r.trainable.1.max(1) as f64,
            r.history.len()
        );
    }
    let _ = writeln!(log, "device: {}", args.device.as_str());
    // OUT/train.log, like OUT.log elsewhere with OUT/train as the prefix.
    let warnings = log.warnings().to_vec();
    let log_path = log.write(&out.join("train"), &written, started.elapsed())?;
    written.push(log_path);
    Ok(TrainOutcome {
        rounds: labels.to_vec(),
        outputs: inputs.names.clone(),
        binary,
        metric_names: cv_header[2..].iter().map(|h| h.to_string()).collect(),
        folds: fold_metrics,
        mean: cv_mean,
        sd: cv_sd,
        additive_mean,
        cv_table,
        predictions: out.join("pred.tsv"),
        loss_plot: out.join("loss.png"),
        model_dir: out.join("model"),
        written,
        warnings,
    })
}
