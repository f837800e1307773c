//! `genolens literature`: mentions, gene profiles for a trait, retrieval hits
//! and embeddings from a corpus of abstracts.

use std::path::{Path, PathBuf};

use genolens::io::corpus::Corpus;
use genolens::io::genes::GeneName;
use genolens::study::literature::{run_literature, LiteratureOptions, MentionTagger};
use genolens::study::prior::PriorEmbedding;
use genolens::study::RunLog;
use genolens::text::mention::MentionExtractor;

use crate::commands::runlog::announce;
use crate::error::CliError;

/// Corpus formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CorpusFormat {
    /// PubTator (`PMID|t|title`, `PMID|a|abstract`, annotation lines).
    Pubtator,
    /// One JSON object per line with `pmid`, `title` and `abstract`.
    Jsonl,
}

impl CorpusFormat {
    /// The library's name for the format.
    pub fn library(self) -> genolens::study::literature::CorpusFormat {
        match self {
            CorpusFormat::Pubtator => genolens::study::literature::CorpusFormat::Pubtator,
            CorpusFormat::Jsonl => genolens::study::literature::CorpusFormat::Jsonl,
        }
    }
}

/// Flags of `genolens literature`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The abstracts.
    #[arg(long, value_name = "FILE")]
    corpus: PathBuf,
    /// Corpus format (default: by extension, `.jsonl`/`.json` are JSONL).
    #[arg(long, value_enum)]
    format: Option<CorpusFormat>,
    /// A trait to profile genes against and to retrieve abstracts and
    /// sentences for, e.g. "type 2 diabetes".
    #[arg(long, value_name = "TEXT")]
    query: Option<String>,
    /// Gene nomenclature table (`entrez_id symbol gene_type ... name`), e.g.
    /// genes_GRCh38_orgHsEgDb.tsv.
    #[arg(long, value_name = "FILE")]
    gene_names: PathBuf,
    /// Gene alias table (`entrez_id symbol alias`).
    #[arg(long, value_name = "FILE")]
    gene_aliases: PathBuf,
    /// An annotated PubTator corpus whose disease names form the disease
    /// dictionary (e.g. the NCBI-disease training split). Without it no
    /// disease mentions are found and the query is matched by its words.
    #[arg(long, value_name = "FILE")]
    disease_corpus: Option<PathBuf>,
    /// An annotated PubTator corpus (e.g. BioRED's training split) to tune
    /// the gene dictionary on: imprecise names are dropped, annotated names added.
    #[arg(long, value_name = "FILE")]
    tune_genes: Option<PathBuf>,
    /// Also write gene embeddings (`OUT.gene_embeddings.npy`) and dense
    /// sentence hits.
    #[arg(long)]
    embed: bool,
    /// A local sentence-transformers model directory to embed with rust-bert
    /// (needs a build with the `rust-bert` feature; a hub id such as
    /// `sentence-transformers/all-MiniLM-L6-v2` with `rust-bert-remote`);
    /// TF-IDF vectors otherwise.
    #[arg(long, value_name = "DIR", requires = "embed")]
    model: Option<PathBuf>,
    /// Dimension of the TF-IDF vectors.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    tfidf_dim: usize,
    /// Evidence sentences kept per gene, and hits kept per retrieval method.
    #[arg(long, value_name = "N", default_value_t = 5)]
    evidence: usize,
    /// Hits kept per retrieval method.
    #[arg(long, value_name = "N", default_value_t = 20)]
    hits: usize,
    /// Where mentions come from: the dictionaries, a neural tagger
    /// (`--tagger-dir`, from `genolens text-train`) linked through the
    /// dictionaries, or both (the tagger's, plus the dictionary's where the
    /// tagger found nothing).
    #[arg(long, value_enum, default_value = "dictionary")]
    tagger: TaggerChoice,
    /// The tagger directory for `--tagger model|both`.
    #[arg(long, value_name = "DIR")]
    tagger_dir: Option<PathBuf>,
    /// Output prefix: `OUT.mentions.tsv`, `OUT.genes.tsv`, `OUT.hits.tsv`,
    /// `OUT.summary.md`, `OUT.log`, and with `--embed`
    /// `OUT.gene_embeddings.npy` (rows in the order of `OUT.genes.tsv`).
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// `--tagger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TaggerChoice {
    /// Dictionaries and variant patterns.
    Dictionary,
    /// The neural tagger.
    Model,
    /// Both.
    Both,
}

/// Runs the literature pipeline.
pub fn run(args: Args) -> Result<(), CliError> {
    let options = LiteratureOptions {
        corpus: args.corpus,
        format: args.format.map(CorpusFormat::library),
        query: args.query,
        gene_names: args.gene_names,
        gene_aliases: args.gene_aliases,
        disease_corpus: args.disease_corpus,
        tune_genes: args.tune_genes,
        embedding: PriorEmbedding::chosen(args.embed, args.model, args.tfidf_dim),
        evidence: args.evidence,
        hits: args.hits,
        tagger: match (args.tagger, args.tagger_dir) {
            (TaggerChoice::Dictionary, None) => MentionTagger::Dictionary,
            (TaggerChoice::Model, Some(dir)) => MentionTagger::Model(dir),
            (TaggerChoice::Both, Some(dir)) => MentionTagger::Both(dir),
            (TaggerChoice::Dictionary, Some(_)) => {
                return Err(CliError::Usage(
                    "--tagger-dir needs --tagger model or --tagger both".into(),
                ))
            }
            (_, None) => {
                return Err(CliError::Usage(
                    "--tagger model|both needs --tagger-dir DIR (from genolens text-train)".into(),
                ))
            }
        },
        out: args.out,
    };
    let outcome = run_literature(&options, &crate::progress::Bars::default())?;
    announce(&[], &outcome.written);
    Ok(())
}

/// Reads a corpus in `format`, or by its extension.
pub fn read_corpus(path: &Path, format: Option<CorpusFormat>) -> Result<Corpus, CliError> {
    Ok(genolens::study::literature::read_corpus(
        path,
        format.map(CorpusFormat::library),
    )?)
}

pub use genolens::study::literature::DictionaryFiles;

/// The mention extractor of the dictionary files (the library's, with errors
/// as the CLI reports them).
pub fn build_extractor(
    files: &DictionaryFiles<'_>,
    names: &[GeneName],
    log: &mut RunLog,
) -> Result<MentionExtractor, CliError> {
    Ok(genolens::study::literature::build_extractor(
        files, names, log,
    )?)
}
