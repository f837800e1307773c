//! `genolens train`: the genotype transformer, cross-validated, then fitted on
//! every sample; and the transformer half of `genolens score`.
//!
//! Per outer fold, on the training samples only: a seeded 15 % validation
//! split for early stopping, variant selection on the rest (GWAS p-value
//! driven LD clumping, or `--variants`), the additive path over every marker
//! (ridge, or L2 logistic), scalings, optional masked-genotype pretraining,
//! full or LoRA fine-tuning (optionally after a hyperparameter search on the
//! same validation split), then predictions for the held-out fold.

use std::path::PathBuf;

use genolens::study::train::{run_train, TrainOptions};
use genolens::transformer::device::ComputeDevice;

use crate::commands::prior::PriorArgs;
use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::input::{FoldArgs, InputArgs};

/// Parses `--device` by the backends' own names.
pub fn parse_device(name: &str) -> Result<ComputeDevice, String> {
    name.parse::<ComputeDevice>().map_err(|e| e.to_string())
}

/// Flags of `genolens train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Phenotype table.
    #[arg(long, value_name = "FILE")]
    pheno: PathBuf,
    /// The phenotype(s) to predict, comma-separated: several make a
    /// multi-task model (default: the first column).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pheno_name: Vec<String>,
    /// Covariate table (enters the head through a dense branch).
    #[arg(long, value_name = "FILE")]
    covar: Option<PathBuf>,
    /// Covariates to use, comma-separated (default: every column).
    #[arg(long, value_name = "NAMES", value_delimiter = ',', requires = "covar")]
    covar_name: Vec<String>,
    /// Case/control coded 0/1 instead of 1/2.
    #[arg(long = "1")]
    case_control_01: bool,
    /// Masked-genotype pretraining epochs on the training samples' genotypes.
    #[arg(long, value_name = "E", default_value_t = 0)]
    pretrain_epochs: usize,
    /// Most fine-tuning epochs.
    #[arg(long, value_name = "E", default_value_t = 40)]
    epochs: usize,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long, value_name = "E", default_value_t = 8)]
    patience: usize,
    /// LoRA rank: fine-tune adapters only (after pretraining, usually).
    #[arg(long, value_name = "R")]
    lora_rank: Option<usize>,
    /// LoRA alpha (default 2·rank).
    #[arg(long, value_name = "A", requires = "lora_rank")]
    lora_alpha: Option<f64>,
    /// AdamW learning rate.
    #[arg(long, value_name = "LR", default_value_t = 1e-3)]
    lr: f64,
    /// Samples per step.
    #[arg(long, value_name = "N", default_value_t = 32)]
    batch_size: usize,
    /// Encoder layers (default 1: with the additive path carrying the
    /// polygenic part, one layer of attention over 128 tokens is what the
    /// CPU trains in minutes on a mouse-sized panel).
    #[arg(long, value_name = "N", default_value_t = 1)]
    layers: usize,
    /// Token width.
    #[arg(long, value_name = "D", default_value_t = 32)]
    d_model: usize,
    /// Attention heads.
    #[arg(long, value_name = "H", default_value_t = 4)]
    heads: usize,
    /// Dropout rate.
    #[arg(long, value_name = "P", default_value_t = 0.1)]
    dropout: f64,
    /// Most variants (tokens) kept by the GWAS-driven LD clumping (every
    /// marker enters through the additive path either way).
    #[arg(long, value_name = "N", default_value_t = 128)]
    max_variants: usize,
    /// Use exactly the variants listed (one ID per line) instead of selecting.
    #[arg(long, value_name = "FILE")]
    variants: Option<PathBuf>,
    /// Fraction of each training set held out for early stopping.
    #[arg(long, value_name = "F", default_value_t = 0.15)]
    valid_fraction: f64,
    /// Grid search on the validation split of every fold: learning rates ×
    /// layers × LoRA ranks from --search-lr, --search-layers,
    /// --search-lora-rank (0 = full fine-tuning); writes OUT/search.tsv.
    #[arg(long)]
    search: bool,
    /// Learning rates of the search.
    #[arg(long, value_name = "LRS", value_delimiter = ',', default_values_t = [3e-4, 1e-3, 3e-3])]
    search_lr: Vec<f64>,
    /// Depths of the search.
    #[arg(long, value_name = "NS", value_delimiter = ',', default_values_t = [1, 2])]
    search_layers: Vec<usize>,
    /// LoRA ranks of the search (0: full fine-tuning; default: --lora-rank).
    #[arg(long, value_name = "RS", value_delimiter = ',')]
    search_lora_rank: Vec<usize>,
    /// Compute device: cpu, or wgpu / cuda when compiled in.
    #[arg(long, value_parser = parse_device, default_value = "cpu")]
    device: ComputeDevice,
    #[command(flatten)]
    folds: FoldArgs,
    /// Seed of folds, splits, initialisation, masks, order and dropout.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Continue from OUT/checkpoints (a run that was stopped): each fold
    /// resumes after its last finished epoch.
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    prior: PriorArgs,
    /// The prior's gene embeddings (`genolens prior --embed`'s
    /// OUT.gene_prior.npy): each variant token then carries its gene's
    /// literature embedding beside its score (gene-token fusion).
    #[arg(long, value_name = "FILE", requires = "prior")]
    prior_embeddings: Option<PathBuf>,
    /// The transformer alone, without the additive path: by default a
    /// ridge (case/control: L2 logistic) over every marker is fitted per
    /// fold and the transformer learns what it misses, starting from it and
    /// keeping only what improves the validation loss.
    #[arg(long)]
    no_additive: bool,
    /// Output directory: checkpoints/, metrics.tsv, loss.png, pred.tsv,
    /// cv.tsv, model/ (model.json + weights.mpk, additive.json), train.log.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Trains the transformer: cross-validated held-out predictions, then the
/// final model.
pub fn run(args: TrainArgs) -> Result<(), CliError> {
    let options = TrainOptions {
        input: args.input.to_input()?,
        pheno: args.pheno,
        pheno_name: args.pheno_name,
        covar: args.covar,
        covar_name: args.covar_name,
        case_control_01: args.case_control_01,
        pretrain_epochs: args.pretrain_epochs,
        epochs: args.epochs,
        patience: args.patience,
        lora_rank: args.lora_rank,
        lora_alpha: args.lora_alpha,
        lr: args.lr,
        batch_size: args.batch_size,
        layers: args.layers,
        d_model: args.d_model,
        heads: args.heads,
        dropout: args.dropout,
        max_variants: args.max_variants,
        variants: args.variants,
        valid_fraction: args.valid_fraction,
        search: args.search,
        search_lr: args.search_lr,
        search_layers: args.search_layers,
        search_lora_rank: args.search_lora_rank,
        device: args.device,
        folds: args.folds.spec(),
        seed: args.seed,
        resume: args.resume,
        prior: args.prior.input(),
        prior_embeddings: args.prior_embeddings,
        additive: !args.no_additive,
        out: args.out,
    };
    let outcome = run_train(&options, &crate::progress::Bars::default())?;
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}
