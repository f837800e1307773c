//! The scoring step: a saved model (a linear predictor's file, or the
//! transformer's `model/` directory) or a PLINK 2 weight table applied to
//! genotypes. `genolens score` is this one call.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::assoc::predict::prs::{polygenic_score, PrsOptions};
use crate::assoc::predict::LinearPredictor;
use crate::explain::attribution::{
    match_model_variants, read_dosages, Explainable, TransformerArtifact,
};
use crate::io::report::{format_g, read_text, write_tsv};
use crate::io::scorefile::{read_score_file, write_sscore, SscoreRow};
use crate::io::{GenotypeSource, SampleId};
use crate::study::additive::saved_offsets;
use crate::study::input::read_model_covariates;
use crate::study::train::read_additive;
use crate::study::{with_suffix, GenotypeInput, RunLog};
use crate::transformer::finetune::{predict, TaskData};
use crate::transformer::saved::SavedTransformer;
use crate::transformer::tokens::GenotypeTokens;
use crate::transformer::CpuInference;
use crate::{Error, Result};

/// A PLINK 2 weight table, as `plink2 --score` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightTable {
    /// The table.
    pub path: PathBuf,
    /// 1-based ID, allele and weight columns.
    pub columns: [usize; 3],
    /// The table has a header line.
    pub header: bool,
    /// Missing calls count as the allele's mean dosage (PLINK 2's default);
    /// `false` is `no-mean-imputation`.
    pub mean_imputation: bool,
}

/// What scores the genotypes.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreWith {
    /// A saved model: a predictor's file or the transformer's directory.
    Model(PathBuf),
    /// A weight table (writes `OUT.sscore`).
    Weights(WeightTable),
}

/// Options of the scoring step.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreOptions {
    /// The genotypes.
    pub input: GenotypeInput,
    /// The model or weights.
    pub with: ScoreWith,
    /// Covariate table, when the model has covariates.
    pub covar: Option<PathBuf>,
    /// Output prefix.
    pub out: PathBuf,
}

/// What the scoring step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreOutcome {
    /// `OUT.pred.tsv` or `OUT.sscore`.
    pub scores: PathBuf,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Writes the log and names what was written.
fn finish(log: RunLog, scores: PathBuf, out: &Path, started: Instant) -> Result<ScoreOutcome> {
    let warnings = log.warnings().to_vec();
    let log_path = log.write(out, std::slice::from_ref(&scores), started.elapsed())?;
    Ok(ScoreOutcome {
        written: vec![scores.clone(), log_path],
        scores,
        warnings,
    })
}

/// Applies a saved model, or a weight table, to genotypes.
pub fn run_score(args: &ScoreOptions) -> Result<ScoreOutcome> {
    let started = Instant::now();
    let (source, mut log) = args.input.open_logged("score")?;
    let model_path = match &args.with {
        ScoreWith::Weights(weights) => {
            return weight_table(args, weights, source.as_ref(), log, started)
        }
        ScoreWith::Model(path) => path.clone(),
    };
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let is_transformer = model_path.is_dir();
    let (model, covariate_names) = if is_transformer {
        let json_path = model_path.join("model.json");
        let saved = crate::transformer::saved::SavedTransformer::from_json(&read_text(&json_path)?)
            .map_err(|e| Error::Invalid(format!("{}: {e}", json_path.display())))?;
        (None, saved.covariates)
    } else {
        let model = LinearPredictor::from_json(&read_text(&model_path)?)
            .map_err(|e| Error::Invalid(format!("{}: {e}", model_path.display())))?;
        let names = model.covariates.iter().map(|c| c.name.clone()).collect();
        (Some(model), names)
    };
    let covariates = match (&args.covar, covariate_names.is_empty()) {
        (_, true) => None,
        (None, false) => {
            return Err(Error::Invalid(format!(
                "{}: the model needs covariates ({}); give --covar",
                model_path.display(),
                covariate_names.join(", ")
            )))
        }
        (Some(path), false) => Some(read_model_covariates(path, &covariate_names, &ids)?),
    };
    let (outputs, predictions) = match model {
        None => score_transformer(&model_path, source.as_ref(), covariates.as_ref(), &mut log)?,
        Some(model) => {
            let predictions = model
                .predict(source.as_ref(), covariates.as_ref().map(|c| c.view()))
                .map_err(|e| Error::Invalid(format!("{}: {e}", model_path.display())))?;
            let _ = writeln!(
                log,
                "--model {}: {} on {} variants, {} samples scored",
                model_path.display(),
                model.kind.name(),
                model.variants.len(),
                predictions.len()
            );
            let n = predictions.len();
            (
                vec!["pred".to_string()],
                predictions
                    .into_shape_with_order((n, 1))
                    .map_err(|e| Error::Invalid(format!("{}: {e}", model_path.display())))?,
            )
        }
    };
    let mut header = vec!["FID".to_string(), "IID".to_string()];
    if outputs.len() == 1 {
        header.push("pred".into());
    } else {
        header.extend(outputs.iter().map(|o| format!("pred_{o}")));
    }
    let path = with_suffix(&args.out, "pred.tsv");
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    write_tsv(
        &path,
        &header,
        ids.iter().zip(predictions.rows()).map(|(id, p)| {
            let mut row = vec![id.fid.clone(), id.iid.clone()];
            row.extend(p.iter().map(|v| format_g(*v, 6)));
            row
        }),
    )?;
    finish(log, path, &args.out, started)
}

/// `--score`: PLINK 2's linear scoring from a weight table.
fn weight_table(
    args: &ScoreOptions,
    table: &WeightTable,
    source: &dyn GenotypeSource,
    mut log: RunLog,
    started: Instant,
) -> Result<ScoreOutcome> {
    let path = &table.path;
    let weights = read_score_file(path, table.columns, table.header)?;
    let scores = polygenic_score(
        source,
        &weights,
        &PrsOptions {
            mean_imputation: table.mean_imputation,
        },
    )?;
    let _ = writeln!(
        log,
        "--score {}: {} weights, {} used, {} variant IDs absent, {} allele codes not in the \
         variant, {} strand-ambiguous (A/T, C/G) variants scored as given",
        path.display(),
        weights.len(),
        scores.used,
        scores.absent,
        scores.allele_mismatch.len(),
        scores.ambiguous
    );
    if scores.ambiguous > 0 {
        log.warn(format!(
            "{} strand-ambiguous (A/T, C/G) variants scored as given",
            scores.ambiguous
        ));
    }
    let rows: Vec<SscoreRow> = (0..source.n_samples())
        .map(|i| SscoreRow {
            allele_ct: scores.allele_ct[i],
            dosage_sum: scores.dosage_sum[i],
            score_avg: scores.score_avg[i],
        })
        .collect();
    let out = with_suffix(&args.out, "sscore");
    write_sscore(&out, source.samples(), &rows)?;
    finish(log, out, &args.out, started)
}

/// `genolens score --model DIR` for a transformer directory: predictions
/// `FID IID pred` (or `pred_<name>` per output).
fn score_transformer(
    model_dir: &Path,
    source: &dyn GenotypeSource,
    covariates: Option<&Array2<f64>>,
    log: &mut RunLog,
) -> Result<(Vec<String>, Array2<f64>), Error> {
    let bad =
        |e: crate::transformer::Error| Error::Invalid(format!("{}: {e}", model_dir.display()));
    // Errors name the file at fault: the description or the weights.
    let (json_path, weights_path) = (model_dir.join("model.json"), model_dir.join("weights.mpk"));
    let in_file = |path: &Path| {
        let path = path.to_path_buf();
        move |e: crate::transformer::Error| Error::Invalid(format!("{}: {e}", path.display()))
    };
    let saved =
        SavedTransformer::from_json(&read_text(&json_path)?).map_err(in_file(&json_path))?;
    let weights = std::fs::read(&weights_path)
        .map_err(|e| Error::Invalid(format!("{}: {e}", weights_path.display())))?;
    let artifact = Explainable::Transformer(TransformerArtifact {
        saved: saved.clone(),
        weights: weights.clone(),
        // Only the tokens' variants are matched here; the additive path is
        // scored from its own models below.
        additive: Vec::new(),
    });
    let order = match_model_variants(&artifact, source)
        .map_err(|e| Error::Invalid(format!("{}: {e}", model_dir.display())))?;
    let all: Vec<usize> = (0..source.n_samples()).collect();
    let dosages = read_dosages(source, &order, &all)?;
    let tokens = GenotypeTokens::from_dosages(dosages.view()).map_err(bad)?;
    let device = Default::default();
    let model = saved
        .load::<CpuInference>(&weights, &device)
        .map_err(in_file(&weights_path))?;
    let cov32 = covariates.map(|c| c.mapv(|v| v as f32));
    let dummy = Array2::<f32>::zeros((source.n_samples(), saved.outputs.len()));
    // The additive path, when the model was trained with one: its scores
    // are the transformer's offsets.
    let additive = read_additive(model_dir, saved.outputs.len())?;
    let offsets = match &additive {
        Some(models) => Some(saved_offsets(models, source, covariates.map(|c| c.view()))?),
        None => None,
    };
    let data = TaskData {
        tokens: &tokens,
        covariates: cov32.as_ref().map(|c| c.view()),
        targets: dummy.view(),
        offsets: offsets.as_ref().map(|o| o.view()),
    };
    let predictions = predict(&model, &saved.preprocessing, &data, 256, &device).map_err(bad)?;
    let _ = writeln!(
        log,
        "--model {}: transformer on {} variants ({} layers){}, {} samples scored",
        model_dir.display(),
        saved.variants.len(),
        saved.config.n_layers,
        additive.as_ref().map_or(String::new(), |m| format!(
            " plus its additive path ({} over {} variants)",
            m[0].kind.name(),
            m[0].variants.len()
        )),
        source.n_samples()
    );
    Ok((saved.outputs.clone(), predictions))
}
