//! The explanation step: which variants and genes drive a saved model's
//! predictions, for the cohort and for chosen people, with the literature
//! sentences behind each gene. `genolens explain` and the pipeline's
//! `explain` step are this one call.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::assoc::predict::LinearPredictor;
use crate::explain::aggregate::{explain_study, ExplainContext, GeneAttribution};
use crate::explain::attribution::{
    completeness_error, ExplainInput, ExplainOptions, Explainable, Method, TransformerArtifact,
};
use crate::explain::mapping::MappingOptions;
use crate::explain::prior::GenePriors;
use crate::explain::report::{attribution_plot, genes_tsv, person_tsv, variants_tsv};
use crate::io::atomic::commit_all;
use crate::io::genes::GeneMap;
use crate::io::report::read_text;
use crate::io::table::{SampleTable, TableOptions};
use crate::io::{AtomicFile, SampleId};
use crate::study::input::{read_model_covariates, samples_in_list};
use crate::study::prior::log_mapping;
use crate::study::progress::Progress;
use crate::study::{with_suffix, GenotypeInput};
use crate::transformer::saved::SavedTransformer;
use crate::{Error, Result};

/// Options of the explanation step.
#[derive(Debug, Clone)]
pub struct ExplainStepOptions {
    /// A model from the prediction step (a file) or the `model/` directory
    /// of `genolens train`.
    pub model: PathBuf,
    /// The genotypes.
    pub input: GenotypeInput,
    /// The method, its steps, smoothing, repeats, seed and device.
    pub method: ExplainOptions,
    /// `true` when [`method`](Self::method) was chosen by the caller; else the
    /// model's default (SHAP for linear models, integrated gradients for the
    /// transformer) replaces it.
    pub method_given: bool,
    /// People to explain one by one (`FID IID` or `IID` per line).
    pub samples: Option<PathBuf>,
    /// Phenotype table and column (permutation importance).
    pub pheno: Option<(PathBuf, Option<String>)>,
    /// Case/control coded 0/1 instead of 1/2.
    pub case_control_01: bool,
    /// Covariate table, when the model has covariates.
    pub covar: Option<PathBuf>,
    /// Gene coordinates: genes of the variants, `OUT.genes.tsv`.
    pub gene_map: Option<PathBuf>,
    /// How variants meet genes.
    pub mapping: MappingOptions,
    /// The evidence behind genes (a loaded prior).
    pub priors: Option<GenePriors>,
    /// Variants and genes listed per person and direction.
    pub top: usize,
    /// Output prefix.
    pub out: PathBuf,
}

/// A gene the model leans on, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneSummary {
    /// Entrez id (or symbol).
    pub gene_id: String,
    /// Symbol.
    pub symbol: String,
    /// Sum of |attribution| over its variants.
    pub attribution: f64,
    /// Sum of signed attributions.
    pub signed: f64,
    /// The model's variants in its window.
    pub n_variants: usize,
    /// Its prior score, if the prior has it.
    pub prior_score: Option<f64>,
    /// Its best evidence sentence and PMID, if any.
    pub evidence: Option<(String, String)>,
}

/// A variant the model leans on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantSummary {
    /// Variant ID.
    pub id: String,
    /// Chromosome.
    pub chrom: String,
    /// Position.
    pub pos: u64,
    /// Its importance (mean |attribution| or permutation importance).
    pub attribution: f64,
}

/// One person's explanation, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonSummary {
    /// Family ID.
    pub fid: String,
    /// Individual ID.
    pub iid: String,
    /// The model output.
    pub output: f64,
    /// The reference output.
    pub baseline: f64,
    /// Genes raising the prediction, most first.
    pub genes_raising: Vec<String>,
    /// Genes lowering it, most first.
    pub genes_lowering: Vec<String>,
}

/// What the explanation step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainOutcome {
    /// The model explained.
    pub model_file: PathBuf,
    /// Its name: the file's stem (`lasso` for `predict/lasso.model`).
    pub model_name: String,
    /// The method's name.
    pub method: String,
    /// The model kind.
    pub model_kind: String,
    /// Samples explained.
    pub samples: usize,
    /// Units of the values.
    pub scale: String,
    /// Completeness error (median, max) where the method has one.
    pub completeness: Option<(f64, f64)>,
    /// The top variants by importance (up to 20).
    pub top_variants: Vec<VariantSummary>,
    /// The top genes by attribution (up to 20), when a gene map was given.
    pub top_genes: Vec<GeneSummary>,
    /// The people explained one by one.
    pub people: Vec<PersonSummary>,
    /// `OUT.attribution.png`.
    pub plot: PathBuf,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Loads a saved model: a file is a linear predictor, a directory a
/// transformer.
pub fn load_model(path: &Path) -> Result<Explainable> {
    let bad = |e: &dyn std::fmt::Display| Error::Invalid(format!("{}: {e}", path.display()));
    if path.is_dir() {
        let json_path = path.join("model.json");
        let saved = SavedTransformer::from_json(&read_text(&json_path)?)
            .map_err(|e| Error::Invalid(format!("{}: {e}", json_path.display())))?;
        let weights_path = path.join("weights.mpk");
        let weights = std::fs::read(&weights_path).map_err(|source| Error::File {
            path: weights_path.clone(),
            source,
        })?;
        let additive =
            crate::study::train::read_additive(path, saved.outputs.len())?.unwrap_or_default();
        Ok(Explainable::Transformer(TransformerArtifact {
            saved,
            weights,
            additive,
        }))
    } else {
        let model = LinearPredictor::from_json(&read_text(path)?).map_err(|e| bad(&e))?;
        Ok(Explainable::Linear(model))
    }
}

/// Explains the model and writes `OUT.variants.tsv`, `OUT.genes.tsv` (with
/// a gene map), `OUT.person.tsv` (with samples), `OUT.attribution.png` and
/// `OUT.log`.
pub fn run_explain(
    options: &ExplainStepOptions,
    progress: &dyn Progress,
) -> Result<ExplainOutcome> {
    let started = Instant::now();
    let (source, mut log) = options.input.open_logged("explain")?;
    let model = load_model(&options.model)?;
    if let Explainable::Transformer(t) = &model {
        if let Some(first) = t.additive.first() {
            let _ = writeln!(
                log,
                "{}: the transformer's {} tokens refine its additive path ({} over {} variants, {}); \
                 attributions cover both: the additive part's exact SHAP (on the transformer's scale) \
                 plus the transformer's on its tokens",
                options.model.display(),
                t.saved.variants.len(),
                first.kind.name(),
                first.variants.len(),
                crate::study::train::ADDITIVE_FILE
            );
        }
    }
    let mut explain_options = options.method.clone();
    if !options.method_given {
        explain_options.method = match model {
            Explainable::Linear(_) => Method::Shap,
            Explainable::Transformer(_) => Method::IntegratedGradients,
        };
    }
    let method = explain_options.method;
    if options.samples.is_some() && !method.is_local() {
        return Err(Error::Invalid(
            "--samples needs a per-person method (not permutation)".into(),
        ));
    }
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let cov_names = model.covariate_names();
    let covariates = match (&options.covar, cov_names.is_empty()) {
        (_, true) => None,
        (None, false) => {
            return Err(Error::Invalid(format!(
                "{}: the model needs covariates ({}); give --covar",
                options.model.display(),
                cov_names.join(", ")
            )))
        }
        (Some(path), false) => Some(read_model_covariates(path, &cov_names, &ids)?),
    };
    let phenotype: Option<Vec<f64>> = match &options.pheno {
        None => None,
        Some((path, column)) => {
            let table = SampleTable::read_phenotypes(
                path,
                &TableOptions {
                    case_control_01: options.case_control_01,
                    columns: column.clone().map(|n| vec![n]),
                    ..TableOptions::default()
                },
            )?;
            let (aligned, report) = table.align(&ids)?;
            let _ = writeln!(
                log,
                "--pheno {}: {} of {} samples matched",
                path.display(),
                report.matched,
                ids.len()
            );
            Some(aligned.values.column(0).to_vec())
        }
    };
    // Samples explained: every sample with its covariates.
    let samples: Vec<usize> = (0..ids.len())
        .filter(|&i| {
            covariates
                .as_ref()
                .is_none_or(|c| c.row(i).iter().all(|v| !v.is_nan()))
        })
        .collect();
    let people: Vec<usize> = match &options.samples {
        None => Vec::new(),
        Some(path) => {
            let wanted = samples_in_list(source.as_ref(), path, "--samples")?;
            let row_of: HashMap<usize, usize> =
                samples.iter().enumerate().map(|(r, &i)| (i, r)).collect();
            wanted
                .iter()
                .filter_map(|i| row_of.get(i).copied())
                .collect()
        }
    };
    let priors = options.priors.as_ref();
    if let Some(p) = priors {
        let _ = writeln!(
            log,
            "evidence: a prior of {} genes, {} with a score above 0",
            p.len(),
            p.n_supported()
        );
    }
    let map = options.gene_map.as_deref().map(GeneMap::read).transpose()?;
    let input = ExplainInput {
        source: source.as_ref(),
        samples: &samples,
        covariates: covariates.as_ref().map(|c| c.view()),
        phenotype: phenotype.as_deref(),
    };
    let context = ExplainContext {
        genes: map.as_ref().map(|m| (m, &options.mapping)),
        priors,
        people: &people,
        top: options.top,
    };
    progress.start(
        &format!(
            "{} attributions of {} samples",
            method.name(),
            samples.len()
        ),
        None,
        "",
    );
    let explanation = explain_study(&model, &input, &explain_options, &context);
    progress.finish();
    let explanation = explanation?;
    let a = &explanation.attributions;
    let _ = writeln!(
        log,
        "--model {}: {} on {} variants; method {}; {} samples explained; values in {}",
        options.model.display(),
        model.kind_name(),
        a.variants.len(),
        method.name(),
        a.samples.len(),
        a.scale
    );
    match method {
        Method::Shap => {
            let _ = writeln!(
                log,
                "baseline: the model at the training mean of every variant (intercept plus \
                 covariates)"
            );
        }
        Method::Permutation => {
            let _ = writeln!(
                log,
                "baseline loss {:.6}; {} repeats, seed {}",
                a.baseline.first().copied().unwrap_or(f64::NAN),
                explain_options.repeats,
                explain_options.seed
            );
        }
        _ => {
            let _ = writeln!(
                log,
                "baseline: every genotype unobserved (the missing-call token, standardised \
                 dosage 0 = the training mean){}{}",
                explain_options.smooth.map_or(String::new(), |s| format!(
                    "; SmoothGrad over {} noisy copies (noise {})",
                    s.samples, s.noise
                )),
                match &model {
                    Explainable::Transformer(t) if !t.additive.is_empty() => {
                        "; the additive path at the training mean of every variant"
                    }
                    _ => "",
                }
            );
        }
    }
    let completeness = completeness_error(a);
    if let Some((median, max)) = completeness {
        let _ = writeln!(
            log,
            "completeness: attributions sum to output - baseline within {:.3}% (median) and \
             {:.3}% (max) over samples{}",
            100.0 * median,
            100.0 * max,
            if method == Method::IntegratedGradients {
                format!(", {} steps", explain_options.steps)
            } else {
                String::new()
            }
        );
    }
    if let Some(vg) = &explanation.variant_genes {
        log_mapping(&mut log, &vg.report);
    }
    for g in explanation.genes.iter().take(10) {
        let _ = writeln!(
            log,
            "  {}\t{}\tattribution {:.6}\t{} variants",
            g.gene_id, g.symbol, g.attribution, g.n_variants
        );
    }

    let variants = source.variants();
    let out = &options.out;
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![(
        with_suffix(out, "variants.tsv"),
        variants_tsv(a, variants).into_bytes(),
    )];
    let vg = explanation
        .variant_genes
        .as_ref()
        .map(|v| v.genes.as_slice());
    if vg.is_some() {
        files.push((
            with_suffix(out, "genes.tsv"),
            genes_tsv(&explanation.genes, priors).into_bytes(),
        ));
    }
    if options.samples.is_some() {
        files.push((
            with_suffix(out, "person.tsv"),
            person_tsv(&explanation.people, &ids, a, variants, vg, priors).into_bytes(),
        ));
        let _ = writeln!(
            log,
            "--samples: {} people explained",
            explanation.people.len()
        );
    }
    let mut staged = Vec::new();
    for (path, bytes) in &files {
        let mut f = AtomicFile::create(path)?;
        f.write_all(bytes)?;
        staged.push(f);
    }
    let png = with_suffix(out, "attribution.png");
    attribution_plot(
        a,
        variants,
        &explanation.genes,
        vg,
        10,
        &format!("{} attributions ({})", method.name(), model.kind_name()),
    )
    .write_png(&png)?;
    if let Err(e) = commit_all(staged) {
        let _ = std::fs::remove_file(&png);
        return Err(e.into());
    }
    let mut written: Vec<PathBuf> = files.into_iter().map(|(p, _)| p).collect();
    written.push(png.clone());

    let gene_summary = |g: &GeneAttribution| {
        let prior = priors.zip(g.prior).map(|(p, k)| &p.genes[k]);
        GeneSummary {
            gene_id: g.gene_id.clone(),
            symbol: g.symbol.clone(),
            attribution: g.attribution,
            signed: g.signed,
            n_variants: g.n_variants,
            prior_score: prior.map(|p| p.score),
            evidence: prior
                .and_then(|p| p.evidence.first())
                .map(|e| (e.sentence.clone(), e.pmid.clone())),
        }
    };
    let mut order: Vec<usize> = (0..a.variants.len()).collect();
    order.sort_by(|&x, &y| {
        a.importance[y]
            .abs()
            .total_cmp(&a.importance[x].abs())
            .then(x.cmp(&y))
    });
    let top_variants = order
        .iter()
        .take(20)
        .map(|&k| {
            let v = &variants[a.variants[k]];
            VariantSummary {
                id: v.id.clone(),
                chrom: v.plink_chrom().to_string(),
                pos: v.pos,
                attribution: a.importance[k],
            }
        })
        .collect();
    let people = explanation
        .people
        .iter()
        .map(|p| {
            let id = &ids[p.sample];
            PersonSummary {
                fid: id.fid.clone(),
                iid: id.iid.clone(),
                output: p.output,
                baseline: p.baseline,
                genes_raising: p.genes_raising.iter().map(|g| g.symbol.clone()).collect(),
                genes_lowering: p.genes_lowering.iter().map(|g| g.symbol.clone()).collect(),
            }
        })
        .collect();
    let outcome_head = (
        method.name().to_string(),
        model.kind_name().to_string(),
        a.samples.len(),
        a.scale.clone(),
    );
    let top_genes = explanation
        .genes
        .iter()
        .take(20)
        .map(gene_summary)
        .collect();
    let warnings = log.warnings().to_vec();
    let log_path = log.write(out, &written, started.elapsed())?;
    written.push(log_path);
    Ok(ExplainOutcome {
        model_file: options.model.clone(),
        model_name: options
            .model
            .file_stem()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned()),
        method: outcome_head.0,
        model_kind: outcome_head.1,
        samples: outcome_head.2,
        scale: outcome_head.3,
        completeness,
        top_variants,
        top_genes,
        people,
        plot: png,
        written,
        warnings,
    })
}
