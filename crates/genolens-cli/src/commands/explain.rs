//! `genolens explain`: which variants and genes drive a saved model's
//! predictions, for the cohort and for chosen people, and the literature
//! sentences behind each gene.

use genolens::study::RunLog;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use genolens::assoc::predict::LinearPredictor;
use genolens::explain::aggregate::{explain_study, ExplainContext};
use genolens::explain::attribution::{
    completeness_error, ExplainInput, ExplainOptions, Explainable, Method, TransformerArtifact,
};
use genolens::explain::mapping::{GeneAssignment, MappingOptions};
use genolens::explain::prior::{literature_prior, GeneEmbedding, GenePriors, LiteratureOptions};
use genolens::explain::report::{attribution_plot, genes_tsv, person_tsv, variants_tsv};
use genolens::io::atomic::commit_all;
use genolens::io::genes::{read_gene_names, GeneMap};
use genolens::io::report::read_text;
use genolens::io::table::{SampleTable, TableOptions};
use genolens::io::{AtomicFile, SampleId};
use genolens::transformer::attribution::SmoothGrad;
use genolens::transformer::device::ComputeDevice;
use genolens::transformer::saved::SavedTransformer;

use crate::commands::freq::with_suffix;
use crate::commands::literature::{build_extractor, read_corpus, CorpusFormat, DictionaryFiles};
use crate::commands::prior::load_prior;
use crate::commands::runlog::{finish, log_header};
use crate::error::CliError;
use crate::input::{samples_in_list, InputArgs};
use crate::progress;

fn parse_method(name: &str) -> Result<Method, String> {
    Method::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        format!("unknown method {name:?}; one of {}", names.join(", "))
    })
}

/// Flags of `genolens explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model from `genolens predict` (a file) or the `model/` directory of
    /// `genolens train`.
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// ig (integrated gradients), saliency, grad-input, smoothgrad (transformer);
    /// shap (linear models); permutation (any model, needs --pheno). Default:
    /// shap for linear models, ig for the transformer.
    #[arg(long, value_parser = parse_method)]
    method: Option<Method>,
    /// People to explain one by one (`FID IID` or `IID` per line):
    /// writes OUT.person.tsv.
    #[arg(long, value_name = "FILE")]
    samples: Option<PathBuf>,
    /// Phenotype table (permutation importance).
    #[arg(long, value_name = "FILE")]
    pheno: Option<PathBuf>,
    /// The phenotype column (default: the first).
    #[arg(long, value_name = "NAME", requires = "pheno")]
    pheno_name: Option<String>,
    /// Case/control coded 0/1 instead of 1/2.
    #[arg(long = "1")]
    case_control_01: bool,
    /// Covariate table, when the model has covariates.
    #[arg(long, value_name = "FILE")]
    covar: Option<PathBuf>,
    /// Gene coordinates in the variants' build (GRCh38 table or PLINK glist):
    /// writes OUT.genes.tsv and labels genes on the plot.
    #[arg(long, value_name = "FILE")]
    gene_map: Option<PathBuf>,
    /// A variant belongs to genes within this many kb.
    #[arg(long, value_name = "KB", default_value_t = 25.0)]
    gene_window_kb: f64,
    /// All genes in the window, or only the nearest.
    #[arg(long, value_name = "all|nearest", default_value = "all", value_parser = ["all", "nearest"])]
    gene_assign: String,
    /// A gene prior (`genolens prior`'s OUT.gene_prior.tsv, with its
    /// OUT.gene_evidence.tsv beside it): each gene's evidence sentences.
    #[arg(
        long,
        value_name = "FILE",
        requires = "gene_map",
        conflicts_with = "corpus"
    )]
    prior: Option<PathBuf>,
    /// Or mine the evidence from a corpus now (with --query, --gene-names,
    /// --gene-aliases).
    #[arg(long, value_name = "FILE", requires_all = ["gene_map", "query", "gene_names", "gene_aliases"])]
    corpus: Option<PathBuf>,
    /// Corpus format (default: by extension).
    #[arg(long, value_enum, requires = "corpus")]
    format: Option<CorpusFormat>,
    /// The trait the evidence is about.
    #[arg(long, value_name = "TEXT", requires = "corpus")]
    query: Option<String>,
    /// Gene nomenclature table.
    #[arg(long, value_name = "FILE", requires = "corpus")]
    gene_names: Option<PathBuf>,
    /// Gene alias table.
    #[arg(long, value_name = "FILE", requires = "corpus")]
    gene_aliases: Option<PathBuf>,
    /// Disease names for the query (e.g. NCBI-disease's training split).
    #[arg(long, value_name = "FILE", requires = "corpus")]
    disease_corpus: Option<PathBuf>,
    /// Integration steps of integrated gradients.
    #[arg(long, value_name = "N", default_value_t = 64)]
    steps: usize,
    /// SmoothGrad on top of a gradient method: average over N noisy copies.
    #[arg(long, value_name = "N")]
    smooth_samples: Option<usize>,
    /// SmoothGrad noise, relative to the spread of the token inputs.
    #[arg(long, value_name = "S", default_value_t = 0.15)]
    smooth_noise: f64,
    /// Permutation repeats.
    #[arg(long, value_name = "N", default_value_t = 5)]
    repeats: usize,
    /// Seed of permutations and noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Variants and genes listed per person and direction.
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    /// Compute device for the transformer's gradients.
    #[arg(long, value_parser = crate::commands::train::parse_device, default_value = "cpu")]
    device: ComputeDevice,
    /// Output prefix: OUT.variants.tsv, OUT.genes.tsv (with --gene-map),
    /// OUT.person.tsv (with --samples), OUT.attribution.png, OUT.log.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Loads a saved model: a file is a linear predictor, a directory a
/// transformer.
pub fn load_model(path: &Path) -> Result<Explainable, CliError> {
    let bad = |e: &dyn std::fmt::Display| CliError::Usage(format!("{}: {e}", path.display()));
    if path.is_dir() {
        let saved = SavedTransformer::from_json(&read_text(path.join("model.json"))?)
            .map_err(|e| bad(&e))?;
        let weights_path = path.join("weights.mpk");
        let weights = std::fs::read(&weights_path)
            .map_err(|e| CliError::Usage(format!("{}: {e}", weights_path.display())))?;
        Ok(Explainable::Transformer(TransformerArtifact {
            saved,
            weights,
        }))
    } else {
        let model = LinearPredictor::from_json(&read_text(path)?).map_err(|e| bad(&e))?;
        Ok(Explainable::Linear(model))
    }
}

/// Explains the model and writes the tables and the plot.
pub fn run(args: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let source = args.input.open()?;
    let mut log = log_header("explain", source.as_ref());
    let model = load_model(&args.model)?;
    let method = args.method.unwrap_or(match model {
        Explainable::Linear(_) => Method::Shap,
        Explainable::Transformer(_) => Method::IntegratedGradients,
    });
    let ids: Vec<SampleId> = source.samples().iter().map(|s| s.id.clone()).collect();
    let cov_names = model.covariate_names();
    let covariates = match (&args.covar, cov_names.is_empty()) {
        (_, true) => None,
        (None, false) => {
            return Err(CliError::Usage(format!(
                "{}: the model needs covariates ({}); give --covar",
                args.model.display(),
                cov_names.join(", ")
            )))
        }
        (Some(path), false) => {
            let table = SampleTable::read_covariates(
                path,
                &TableOptions {
                    columns: Some(cov_names.clone()),
                    ..TableOptions::default()
                },
            )?;
            Some(table.align(&ids)?.0.values)
        }
    };
    let phenotype: Option<Vec<f64>> = match &args.pheno {
        None => None,
        Some(path) => {
            let table = SampleTable::read_phenotypes(
                path,
                &TableOptions {
                    case_control_01: args.case_control_01,
                    columns: args.pheno_name.clone().map(|n| vec![n]),
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
    let people: Vec<usize> = match &args.samples {
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
    let priors = prior_for(&args, &mut log)?;
    let map = args.gene_map.as_deref().map(GeneMap::read).transpose()?;
    let mapping = MappingOptions {
        window_kb: args.gene_window_kb,
        assignment: GeneAssignment::from_name(&args.gene_assign)
            .unwrap_or(GeneAssignment::AllInWindow),
    };
    let options = ExplainOptions {
        steps: args.steps,
        smooth: args.smooth_samples.map(|samples| SmoothGrad {
            samples,
            noise: args.smooth_noise,
            seed: args.seed,
        }),
        repeats: args.repeats,
        seed: args.seed,
        device: args.device,
        ..ExplainOptions::new(method)
    };
    let input = ExplainInput {
        source: source.as_ref(),
        samples: &samples,
        covariates: covariates.as_ref().map(|c| c.view()),
        phenotype: phenotype.as_deref(),
    };
    let context = ExplainContext {
        genes: map.as_ref().map(|m| (m, &mapping)),
        priors: priors.as_ref(),
        people: &people,
        top: args.top,
    };
    let explanation = progress::spinner(
        &format!(
            "{} attributions of {} samples",
            method.name(),
            samples.len()
        ),
        || explain_study(&model, &input, &options, &context),
    )?;
    let a = &explanation.attributions;
    let _ = writeln!(
        log,
        "--model {}: {} on {} variants; method {}; {} samples explained; values in {}",
        args.model.display(),
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
                args.repeats,
                args.seed
            );
        }
        _ => {
            let _ = writeln!(
                log,
                "baseline: every genotype unobserved (the missing-call token, standardised \
                 dosage 0 = the training mean){}",
                options.smooth.map_or(String::new(), |s| format!(
                    "; SmoothGrad over {} noisy copies (noise {})",
                    s.samples, s.noise
                ))
            );
        }
    }
    if let Some((median, max)) = completeness_error(a) {
        let _ = writeln!(
            log,
            "completeness: attributions sum to output - baseline within {:.3}% (median) and \
             {:.3}% (max) over samples{}",
            100.0 * median,
            100.0 * max,
            if method == Method::IntegratedGradients {
                format!(", {} steps", args.steps)
            } else {
                String::new()
            }
        );
    }
    if let Some(vg) = &explanation.variant_genes {
        crate::commands::prior::log_mapping(&mut log, &vg.report);
    }
    for g in explanation.genes.iter().take(10) {
        let _ = writeln!(
            log,
            "  {}\t{}\tattribution {:.6}\t{} variants",
            g.gene_id, g.symbol, g.attribution, g.n_variants
        );
    }

    let variants = source.variants();
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![(
        with_suffix(&args.out, "variants.tsv"),
        variants_tsv(a, variants).into_bytes(),
    )];
    let vg = explanation
        .variant_genes
        .as_ref()
        .map(|v| v.genes.as_slice());
    if vg.is_some() {
        files.push((
            with_suffix(&args.out, "genes.tsv"),
            genes_tsv(&explanation.genes, priors.as_ref()).into_bytes(),
        ));
    }
    if args.samples.is_some() {
        if !method.is_local() {
            return Err(CliError::Usage(
                "--samples needs a per-person method (not permutation)".into(),
            ));
        }
        files.push((
            with_suffix(&args.out, "person.tsv"),
            person_tsv(&explanation.people, &ids, a, variants, vg, priors.as_ref()).into_bytes(),
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
    let png = with_suffix(&args.out, "attribution.png");
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
    written.push(png);
    finish(log, written, &args.out, started)
}

/// The evidence behind genes: a prior file, or mined from a corpus now.
fn prior_for(args: &Args, log: &mut RunLog) -> Result<Option<GenePriors>, CliError> {
    if let Some(path) = &args.prior {
        return Ok(Some(load_prior(path, None, log)?));
    }
    let (Some(corpus), Some(query), Some(names), Some(aliases)) = (
        &args.corpus,
        &args.query,
        &args.gene_names,
        &args.gene_aliases,
    ) else {
        return Ok(None);
    };
    let corpus = read_corpus(corpus, args.format)?;
    let names = read_gene_names(names)?;
    let extractor = build_extractor(
        &DictionaryFiles {
            gene_aliases: aliases,
            tune_genes: None,
            disease_corpus: args.disease_corpus.as_deref(),
        },
        &names,
        log,
    )?;
    let symbols: HashMap<String, String> = names
        .iter()
        .map(|g| (g.entrez_id.to_string(), g.symbol.clone()))
        .collect();
    let (priors, summary) =
        progress::over_items(corpus.len(), "finding mentions", "abstracts", |tick| {
            literature_prior(
                &corpus,
                &extractor,
                query,
                &symbols,
                GeneEmbedding::None,
                &LiteratureOptions::default(),
                tick,
            )
        })?;
    let _ = writeln!(
        log,
        "--corpus: {} documents, {} genes mentioned, {} linked to {query:?}",
        summary.documents,
        summary.genes,
        priors.n_supported()
    );
    Ok(Some(priors))
}
