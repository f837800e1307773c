//! `genolens prior`: a gene prior for a trait, from the literature (a corpus
//! and a query) or from a user table of gene scores.

use std::path::{Path, PathBuf};

use genolens::explain::mapping::GeneAssignment;
use genolens::study::prior::{
    run_prior, LoadedPrior, PriorEmbedding, PriorFrom, PriorInput, PriorStepOptions,
};
use genolens::study::RunLog;

use crate::commands::literature::CorpusFormat;
use crate::commands::runlog::announce;
use crate::error::CliError;
use crate::progress;

/// Flags of `genolens prior`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("from").required(true).args(["corpus", "table"])))]
pub struct Args {
    /// Abstracts to mine (PubTator or JSONL).
    #[arg(long, value_name = "FILE", requires_all = ["query", "gene_names", "gene_aliases"])]
    corpus: Option<PathBuf>,
    /// Corpus format (default: by extension).
    #[arg(long, value_enum, requires = "corpus")]
    format: Option<CorpusFormat>,
    /// The trait, e.g. "type 2 diabetes".
    #[arg(long, value_name = "TEXT")]
    query: Option<String>,
    /// A table of gene scores instead of a corpus (`gene score`, e.g. PoPS,
    /// MAGMA or Open Targets scores; Entrez ids or symbols; scores outside
    /// [0, 1] are rescaled to it).
    #[arg(long, value_name = "FILE")]
    table: Option<PathBuf>,
    /// Gene nomenclature table (`entrez_id symbol ...`): symbols of mined
    /// genes, and the genes of a --table.
    #[arg(long, value_name = "FILE")]
    gene_names: Option<PathBuf>,
    /// Gene alias table (`entrez_id symbol alias`).
    #[arg(long, value_name = "FILE", requires = "gene_names")]
    gene_aliases: Option<PathBuf>,
    /// An annotated corpus whose disease names form the disease dictionary
    /// (e.g. NCBI-disease's training split), so the query is matched by
    /// disease id and not only by its words.
    #[arg(long, value_name = "FILE", requires = "corpus")]
    disease_corpus: Option<PathBuf>,
    /// An annotated corpus to tune the gene dictionary on (e.g. BioRED's
    /// training split).
    #[arg(long, value_name = "FILE", requires = "corpus")]
    tune_genes: Option<PathBuf>,
    /// Also write each gene's literature embedding (`OUT.gene_prior.npy`,
    /// one row per row of `OUT.gene_prior.tsv`).
    #[arg(long, requires = "corpus")]
    embed: bool,
    /// A local sentence-transformers model directory to embed with rust-bert
    /// (a build with the `rust-bert` feature); TF-IDF otherwise.
    #[arg(long, value_name = "DIR", requires = "embed")]
    model: Option<PathBuf>,
    /// Width of the TF-IDF vectors.
    #[arg(long, value_name = "N", default_value_t = 256)]
    tfidf_dim: usize,
    /// Evidence sentences kept per gene.
    #[arg(long, value_name = "N", default_value_t = 5)]
    evidence: usize,
    /// Output prefix: `OUT.gene_prior.tsv` (gene_id symbol score n_docs
    /// evidence_pmids), `OUT.gene_evidence.tsv` (the sentences, with
    /// character offsets), `OUT.gene_prior.npy` with --embed, `OUT.log`.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Builds and writes the prior.
pub fn run(args: Args) -> Result<(), CliError> {
    let from = match (args.corpus, args.table) {
        (Some(corpus), _) => {
            let (Some(query), true, true) = (
                args.query,
                args.gene_names.is_some(),
                args.gene_aliases.is_some(),
            ) else {
                return Err(CliError::Usage(
                    "--corpus needs --query, --gene-names and --gene-aliases".into(),
                ));
            };
            PriorFrom::Corpus {
                corpus,
                format: args.format.map(CorpusFormat::library),
                query,
                disease_corpus: args.disease_corpus,
                tune_genes: args.tune_genes,
                embedding: PriorEmbedding::chosen(args.embed, args.model, args.tfidf_dim),
                evidence: args.evidence,
            }
        }
        (None, Some(table)) => PriorFrom::Table(table),
        (None, None) => {
            return Err(CliError::Usage("give --corpus or --table".into()));
        }
    };
    let options = PriorStepOptions {
        from,
        gene_names: args.gene_names,
        gene_aliases: args.gene_aliases,
        out: args.out,
    };
    let outcome = run_prior(&options, &progress::Bars::default())?;
    announce(&outcome.warnings, &outcome.written);
    Ok(())
}

pub use genolens::study::prior::load_prior;

/// The flags every analysis that takes a prior shares.
#[derive(Debug, Clone, clap::Args)]
pub struct PriorArgs {
    /// A gene prior: `genolens prior`'s OUT.gene_prior.tsv, or any `gene
    /// score` table (PoPS, MAGMA, Open Targets; genes as in --gene-map).
    #[arg(long, value_name = "FILE", requires = "gene_map")]
    pub prior: Option<PathBuf>,
    /// Gene coordinates, in the variants' genome build: the GRCh38 table
    /// (`entrez_id symbol ... chrom start_grch38 end_grch38`) or a PLINK
    /// glist (`chrom start end symbol`, e.g. glist-hg19).
    #[arg(long, value_name = "FILE", requires = "prior")]
    pub gene_map: Option<PathBuf>,
    /// A variant belongs to genes within this many kb.
    #[arg(long, value_name = "KB", default_value_t = 25.0)]
    pub prior_window_kb: f64,
    /// All genes in the window, or only the nearest.
    #[arg(long, value_name = "all|nearest", default_value = "all", value_parser = ["all", "nearest"])]
    pub prior_genes: String,
    /// Weight floor: a variant near no supported gene weighs this fraction of
    /// the best-supported one (so no variant is weighted to zero).
    #[arg(long, value_name = "F", default_value_t = 0.1)]
    pub prior_floor: f64,
}

impl PriorArgs {
    /// The prior as the study steps take it, when `--prior` is given.
    pub fn input(&self) -> Option<PriorInput> {
        let (Some(prior), Some(gene_map)) = (&self.prior, &self.gene_map) else {
            return None;
        };
        Some(PriorInput {
            prior: prior.clone(),
            gene_map: gene_map.clone(),
            window_kb: self.prior_window_kb,
            assignment: GeneAssignment::from_name(&self.prior_genes)
                .unwrap_or(GeneAssignment::AllInWindow),
            floor: self.prior_floor,
        })
    }

    /// Reads the prior and gene map when `--prior` is given.
    pub fn load(
        &self,
        embeddings: Option<&Path>,
        log: &mut RunLog,
    ) -> Result<Option<LoadedPrior>, CliError> {
        match self.input() {
            None => Ok(None),
            Some(input) => Ok(Some(input.load(embeddings, log)?)),
        }
    }
}
