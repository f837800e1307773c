//! `genolens prior`: a gene prior for a trait, from the literature (a corpus
//! and a query) or from a user table of gene scores.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use genolens::explain::prior::{
    literature_prior, GeneEmbedding, GenePriors, LiteratureOptions, PriorSource,
};
use genolens::io::atomic::commit_all;
use genolens::io::genes::{read_gene_names, GeneAliases};
use genolens::io::prior::{
    evidence_text, gene_prior_text, read_evidence, read_gene_scores, read_npy_matrix,
};
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
    let mut log = String::new();
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
    log: &mut String,
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

/// Reads a prior for the analysis commands: the table, its evidence
/// sentences beside it (`X.gene_evidence.tsv` for `X.gene_prior.tsv`) and,
/// when asked, its embeddings.
pub fn load_prior(
    path: &Path,
    embeddings: Option<&Path>,
    log: &mut String,
) -> Result<GenePriors, CliError> {
    let rows = read_gene_scores(path)?;
    let (mut priors, report) = GenePriors::from_table(&rows, None)?;
    let evidence = sibling(path, "gene_evidence.tsv");
    if let Some(e) = evidence.filter(|p| p.exists()) {
        priors.attach_evidence(&read_evidence(&e)?);
        let _ = writeln!(log, "--prior evidence sentences from {}", e.display());
    }
    if let Some(npy) = embeddings {
        let m = read_npy_matrix(npy)?;
        // Embedding rows follow the table's rows; the prior is sorted the same
        // way (by score), but match by id to be safe.
        let order: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(k, r)| (r.gene.as_str(), k))
            .collect();
        if m.nrows() != rows.len() {
            return Err(CliError::Usage(format!(
                "{}: {} rows for the {} genes of {}",
                npy.display(),
                m.nrows(),
                rows.len(),
                path.display()
            )));
        }
        let aligned = ndarray::Array2::from_shape_fn((priors.len(), m.ncols()), |(i, j)| {
            m[[order[priors.genes[i].gene_id.as_str()], j]]
        });
        priors.attach_embeddings(&aligned)?;
    }
    let _ = writeln!(
        log,
        "--prior {}: {} genes, {} with a score above 0{}",
        path.display(),
        report.rows,
        priors.n_supported(),
        if let PriorSource::Table { rescaled: true } = priors.source {
            " (scores rescaled to [0, 1])"
        } else {
            ""
        }
    );
    Ok(priors)
}

/// `X.<suffix>` beside `X.gene_prior.tsv`.
fn sibling(path: &Path, suffix: &str) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix("gene_prior.tsv")?;
    Some(path.with_file_name(format!("{stem}{suffix}")))
}

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

/// A loaded prior with its gene map and mapping options.
pub struct LoadedPrior {
    /// The prior.
    pub priors: GenePriors,
    /// The gene map.
    pub map: genolens::io::genes::GeneMap,
    /// How variants meet genes.
    pub mapping: genolens::explain::mapping::MappingOptions,
}

impl PriorArgs {
    /// Reads the prior and gene map when `--prior` is given.
    pub fn load(
        &self,
        embeddings: Option<&Path>,
        log: &mut String,
    ) -> Result<Option<LoadedPrior>, CliError> {
        let (Some(path), Some(map_path)) = (&self.prior, &self.gene_map) else {
            return Ok(None);
        };
        let priors = load_prior(path, embeddings, log)?;
        let map = genolens::io::genes::GeneMap::read(map_path)?;
        let assignment = genolens::explain::mapping::GeneAssignment::from_name(&self.prior_genes)
            .unwrap_or(genolens::explain::mapping::GeneAssignment::AllInWindow);
        let _ = writeln!(
            log,
            "--gene-map {}: {} genes; variants take the genes within {} kb ({}); weight floor {}",
            map_path.display(),
            map.len(),
            self.prior_window_kb,
            assignment.name(),
            self.prior_floor
        );
        Ok(Some(LoadedPrior {
            priors,
            map,
            mapping: genolens::explain::mapping::MappingOptions {
                window_kb: self.prior_window_kb,
                assignment,
            },
        }))
    }
}

/// Logs how variants met the prior's genes.
pub fn log_mapping(log: &mut String, r: &genolens::explain::mapping::MappingReport) {
    let _ = writeln!(
        log,
        "prior mapping: {} of {} variants near a gene, {} near a gene the prior supports; {} \
         supported genes have variants{}",
        r.variants_with_gene,
        r.variants,
        r.variants_supported,
        r.prior_genes_with_variants,
        if r.prior_genes_not_in_map.is_empty() {
            String::new()
        } else {
            format!(
                "; {} supported genes are not in the gene map ({}{})",
                r.prior_genes_not_in_map.len(),
                r.prior_genes_not_in_map
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if r.prior_genes_not_in_map.len() > 10 {
                    ", ..."
                } else {
                    ""
                }
            )
        }
    );
}
