//! `genolens text-train`: fine-tunes the pretrained BERT encoder into a
//! mention tagger (genes, diseases, variants) or a gene–disease relation
//! classifier, fully or with LoRA.

use std::path::PathBuf;

use genolens::study::text_relations::text_relations;
use genolens::study::text_train::{lora_config, text_train, SchemeFile, TextTrainOptions};
use genolens::text::tagger::TrainOptions;
use genolens::transformer::device::ComputeDevice;

use crate::commands::runlog::announce;
use crate::commands::train::parse_device;
use crate::error::CliError;

/// What to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextTask {
    /// Mention tagging (BIO per word piece), one head per annotation scheme.
    Ner,
    /// Gene–disease relations (BioRED relation lines label the pairs whose
    /// mentions share a sentence); AUC on the development and test pairs.
    Relations,
}

/// Flags of `genolens text-train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task.
    #[arg(long, value_enum)]
    task: TextTask,
    /// A PubTator training corpus; repeat for several. `SCHEME:FILE` names the
    /// scheme (`biored`, `ncbi-disease`); by default it follows the entity
    /// types.
    #[arg(long, value_name = "FILE", required = true)]
    train: Vec<String>,
    /// A development corpus (picks the epoch); one per training scheme.
    #[arg(long, value_name = "FILE")]
    dev: Vec<String>,
    /// A test corpus, scored with the kept epoch into `OUT/test.tsv`.
    #[arg(long, value_name = "FILE")]
    test: Vec<String>,
    /// The pretrained BERT directory (default: `$GENOLENS_MINILM`, which
    /// `cargo xtask text-env` sets).
    #[arg(long, value_name = "DIR")]
    encoder: Option<PathBuf>,
    /// Epochs.
    #[arg(long, value_name = "E", default_value_t = 3)]
    epochs: usize,
    /// Windows (tagging) or pairs (relations) per step.
    #[arg(long, value_name = "N", default_value_t = 16)]
    batch_size: usize,
    /// Peak learning rate of the encoder (default 1e-4, or 1e-3 with LoRA).
    #[arg(long, value_name = "LR")]
    lr: Option<f64>,
    /// Peak learning rate of the heads.
    #[arg(long, value_name = "LR", default_value_t = 1e-3)]
    head_lr: f64,
    /// LoRA rank: freeze the encoder and train adapters on all six
    /// projections of every layer.
    #[arg(long, value_name = "R")]
    lora_rank: Option<usize>,
    /// LoRA alpha (default 2·rank).
    #[arg(long, value_name = "A", requires = "lora_rank")]
    lora_alpha: Option<f64>,
    /// Most word pieces per window.
    #[arg(long, value_name = "N", default_value_t = 254)]
    max_pieces: usize,
    /// Use only the first N documents of each training corpus.
    #[arg(long, value_name = "N")]
    max_docs: Option<usize>,
    /// Seed of batch order, head initialisation and dropout.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Compute device: cpu, wgpu or cuda (as compiled in).
    #[arg(long, value_parser = parse_device, default_value = "cpu")]
    device: ComputeDevice,
    /// Output directory: the tagger (`tagger.json`) or relation classifier
    /// (`relation.json`) with `vocab.txt` and `weights.mpk`, `metrics.tsv`,
    /// `test.tsv` (relations: also `test_pairs.tsv`), `curve.png`,
    /// `text-train.log`, and `checkpoints/tagger.ckpt` or `relation.ckpt`
    /// (after every epoch).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Continue from OUT/checkpoints/tagger.ckpt (relation.ckpt for
    /// relations; a run that was stopped), after its last finished epoch; the
    /// other settings must be the same.
    #[arg(long)]
    resume: bool,
    /// Relations: leave the pairs' salience features (co-mention counts,
    /// title co-mention) out of the classifier head.
    #[arg(long)]
    no_salience: bool,
}

/// Trains the tagger or the relation classifier.
pub fn run(args: Args) -> Result<(), CliError> {
    if args.no_salience && args.task == TextTask::Ner {
        return Err(CliError::Usage(
            "--no-salience is for --task relations".into(),
        ));
    }
    let encoder = match args.encoder {
        Some(dir) => dir,
        None => std::env::var_os("GENOLENS_MINILM")
            .map(PathBuf::from)
            .ok_or_else(|| {
                CliError::Usage(
                    "--encoder DIR is needed (or GENOLENS_MINILM, set by `cargo xtask text-env`)"
                        .into(),
                )
            })?,
    };
    let lora = lora_config(args.lora_rank, args.lora_alpha);
    let defaults = TrainOptions::default();
    let options = TextTrainOptions {
        encoder,
        train: args.train.iter().map(|a| SchemeFile::parse(a)).collect(),
        dev: args.dev.iter().map(|a| SchemeFile::parse(a)).collect(),
        test: args.test.iter().map(|a| SchemeFile::parse(a)).collect(),
        training: TrainOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            learning_rate: args.lr.unwrap_or(if lora.is_some() { 1e-3 } else { 1e-4 }),
            head_learning_rate: args.head_lr,
            max_pieces: args.max_pieces,
            lora,
            seed: args.seed,
            max_documents: args.max_docs,
            ..defaults
        },
        device: args.device,
        out: args.out,
        resume: args.resume,
        salience: !args.no_salience,
    };
    let bars = crate::progress::Bars::default();
    let written = match args.task {
        TextTask::Ner => text_train(&options, &bars)?.written,
        TextTask::Relations => text_relations(&options, &bars)?.written,
    };
    announce(&[], &written);
    Ok(())
}
