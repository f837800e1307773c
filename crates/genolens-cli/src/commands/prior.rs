//! `genolens prior`: a gene prior for a trait, from the literature (a corpus
//! and a query) or from a user table of gene scores.

use genolens::explain::mapping::GeneAssignment;
use genolens::study::prior::{LoadedPrior, PriorInput};
use genolens::study::RunLog;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use genolens::explain::prior::{
    literature_prior, GeneEmbedding, GenePriors, LiteratureOptions, PriorSource,
};
use genolens::io::atomic::commit_all;
use genolens::io::genes::{read_gene_names, GeneAliases};
use genolens::io::prior::{evidence_text, gene_prior_text, read_gene_scores};
use genolens::io::AtomicFile;
use genolens::text::embed::TextEmbedder;
use genolens::text::report::npy_bytes;

use crate::commands::freq::with_suffix;
use crate::commands::literature::{
    bert_embedder, build_extractor, read_corpus, CorpusFormat, DictionaryFiles,
};
use crate::commands::runlog::finish;
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
    let started = Instant::now();
    let mut log = RunLog::new();
    let names = args
        .gene_names
        .as_deref()
        .map(read_gene_names)
        .transpose()?;
    let (priors, mut written) = match (&args.corpus, &args.table) {
        (Some(corpus), _) => from_corpus(&args, corpus, names.as_deref(), &mut log)?,
        (None, Some(table)) => {
            let rows = read_gene_scores(table)?;
            let aliases = match &args.gene_aliases {
                Some(p) => GeneAliases::read(p)?,
                None => GeneAliases::default(),
            };
            let nomenclature = names.as_deref().map(|n| (n, &aliases));
            let (priors, report) = GenePriors::from_table(&rows, nomenclature)?;
            let _ = writeln!(
                log,
                "genolens prior: {} rows from {}; {} genes kept",
                report.rows,
                table.display(),
                priors.len()
            );
            if nomenclature.is_some() {
                let _ = writeln!(
                    log,
                    "resolved through the nomenclature: {}; unknown (left out): {}{}; \
                     duplicates (higher score kept): {}",
                    report.resolved,
                    report.unknown.len(),
                    if report.unknown.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({})",
                            report
                                .unknown
                                .iter()
                                .take(10)
                                .map(|(line, g)| format!("{g} line {line}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    report.duplicates.len()
                );
                if !report.unknown.is_empty() {
                    eprintln!(
                        "genolens: warning: {} genes of {} are unknown to the nomenclature and \
                         were left out (see OUT.log)",
                        report.unknown.len(),
                        table.display()
                    );
                }
            }
            if let PriorSource::Table { rescaled: true } = priors.source {
                let _ = writeln!(log, "scores outside [0, 1]: rescaled linearly to [0, 1]");
            }
            (priors, Vec::new())
        }
        (None, None) => unreachable!("clap requires --corpus or --table"),
    };
    let _ = writeln!(
        log,
        "genes with a score above 0: {} of {}",
        priors.n_supported(),
        priors.len()
    );
    for g in priors.genes.iter().take(15).filter(|g| g.score > 0.0) {
        let _ = writeln!(
            log,
            "  {}\t{}\tscore {:.4}\t{} documents",
            g.gene_id, g.symbol, g.score, g.n_docs
        );
    }
    // All files or none.
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![(
        with_suffix(&args.out, "gene_prior.tsv"),
        gene_prior_text(&priors.to_rows()).into_bytes(),
    )];
    if matches!(priors.source, PriorSource::Literature { .. }) {
        files.push((
            with_suffix(&args.out, "gene_evidence.tsv"),
            evidence_text(&priors.evidence_rows()).into_bytes(),
        ));
    }
    if let Some(m) = priors.embedding_matrix() {
        files.push((with_suffix(&args.out, "gene_prior.npy"), npy_bytes(&m)?));
    }
    let mut staged = Vec::new();
    for (path, bytes) in &files {
        let mut f = AtomicFile::create(path)?;
        f.write_all(bytes)?;
        staged.push(f);
    }
    commit_all(staged)?;
    written.extend(files.into_iter().map(|(p, _)| p));
    finish(log, written, &args.out, started)
}

fn from_corpus(
    args: &Args,
    corpus_path: &Path,
    names: Option<&[genolens::io::genes::GeneName]>,
    log: &mut RunLog,
) -> Result<(GenePriors, Vec<PathBuf>), CliError> {
    let (Some(query), Some(names), Some(aliases)) = (&args.query, names, &args.gene_aliases) else {
        return Err(CliError::Usage(
            "--corpus needs --query, --gene-names and --gene-aliases".into(),
        ));
    };
    let corpus = read_corpus(corpus_path, args.format)?;
    let _ = writeln!(
        log,
        "genolens prior: {} documents from {}, query {query:?}",
        corpus.len(),
        corpus_path.display()
    );
    let extractor = progress::spinner("building dictionaries", || {
        build_extractor(
            &DictionaryFiles {
                gene_aliases: aliases,
                tune_genes: args.tune_genes.as_deref(),
                disease_corpus: args.disease_corpus.as_deref(),
            },
            names,
            log,
        )
    })?;
    let symbols: HashMap<String, String> = names
        .iter()
        .map(|g| (g.entrez_id.to_string(), g.symbol.clone()))
        .collect();
    let bert: Option<Box<dyn TextEmbedder>> = match (&args.model, args.embed) {
        (Some(dir), true) => Some(bert_embedder(dir)?),
        _ => None,
    };
    let embedding = match (&bert, args.embed) {
        (Some(e), _) => GeneEmbedding::With(e.as_ref()),
        (None, true) => GeneEmbedding::TfIdf(args.tfidf_dim),
        (None, false) => GeneEmbedding::None,
    };
    let options = LiteratureOptions {
        evidence_sentences: args.evidence,
        ..LiteratureOptions::default()
    };
    let (priors, summary) =
        progress::over_items(corpus.len(), "finding mentions", "abstracts", |tick| {
            literature_prior(
                &corpus, &extractor, query, &symbols, embedding, &options, tick,
            )
        })?;
    let _ = writeln!(
        log,
        "{} sentences, {} gene mentions of {} genes; query disease ids [{}]{}",
        summary.sentences,
        summary.gene_mentions,
        summary.genes,
        summary.disease_ids.join(", "),
        if summary.disease_ids.is_empty() {
            " (matched by its words)"
        } else {
            ""
        }
    );
    if let PriorSource::Literature {
        trait_sentences,
        embedder,
        ..
    } = &priors.source
    {
        let _ = writeln!(log, "sentences about the trait: {trait_sentences}");
        if let Some(e) = embedder {
            let _ = writeln!(log, "gene embeddings: {e}");
        }
    }
    let _ = writeln!(
        log,
        "score = (1 - exp(-L+)) * (1/2 + relevance/2): L = lower 95% bound of the \
         sentence co-mention log-odds, relevance = best BM25 evidence (and dense cosine with \
         --embed) relative to the best gene"
    );
    Ok((priors, Vec::new()))
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
