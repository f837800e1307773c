//! `genolens explain`: which variants and genes drive a saved model's
//! predictions, for the cohort and for chosen people, and the literature
//! sentences behind each gene.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use genolens::explain::attribution::{ExplainOptions, Method};
use genolens::explain::mapping::{GeneAssignment, MappingOptions};
use genolens::explain::prior::{literature_prior, GeneEmbedding, GenePriors, LiteratureOptions};
use genolens::io::genes::read_gene_names;
use genolens::study::explain::{run_explain, ExplainStepOptions};
use genolens::study::RunLog;
use genolens::transformer::attribution::SmoothGrad;
use genolens::transformer::device::ComputeDevice;

use crate::commands::literature::{build_extractor, read_corpus, CorpusFormat, DictionaryFiles};
use crate::commands::prior::load_prior;
use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::input::InputArgs;
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

/// Explains the model and writes the tables and the plot.
pub fn run(args: Args) -> Result<(), CliError> {
    let mut log = RunLog::new();
    let priors = prior_for(&args, &mut log)?;
    // How the evidence was read goes to stderr; the step's log names the prior.
    for line in log.text().lines() {
        eprintln!("genolens: {line}");
    }
    let options = ExplainStepOptions {
        model: args.model,
        input: args.input.to_input()?,
        method: ExplainOptions {
            steps: args.steps,
            smooth: args.smooth_samples.map(|samples| SmoothGrad {
                samples,
                noise: args.smooth_noise,
                seed: args.seed,
            }),
            repeats: args.repeats,
            seed: args.seed,
            device: args.device,
            ..ExplainOptions::new(args.method.unwrap_or(Method::Shap))
        },
        method_given: args.method.is_some(),
        samples: args.samples,
        pheno: args.pheno.map(|p| (p, args.pheno_name)),
        case_control_01: args.case_control_01,
        covar: args.covar,
        gene_map: args.gene_map,
        mapping: MappingOptions {
            window_kb: args.gene_window_kb,
            assignment: GeneAssignment::from_name(&args.gene_assign)
                .unwrap_or(GeneAssignment::AllInWindow),
        },
        priors,
        top: args.top,
        out: args.out,
    };
    let outcome = run_explain(&options, &progress::Bars::default())?;
    announce(&outcome.warnings, &outcome.written);
    Ok(())
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
