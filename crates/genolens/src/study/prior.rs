//! A gene prior as the analysis steps take it (a `genolens prior` table or
//! any `gene score` table, with a gene map), and prior-weighted multiple
//! testing of one set of p-values.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::explain::fdr::{AdaptiveOptions, Weighting};
use crate::explain::fusion::{weighted_scan, WeightedScanOptions};
use crate::explain::mapping::{GeneAssignment, MappingOptions, MappingReport};
use crate::explain::prior::{
    literature_prior, GeneEmbedding, GenePriors, LiteratureOptions, PriorSource,
};
use crate::explain::report::weighted_tests_tsv;
use crate::io::atomic::commit_all;
use crate::io::genes::{read_gene_names, GeneAliases, GeneMap};
use crate::io::prior::{
    evidence_text, gene_prior_text, read_evidence, read_gene_scores, read_npy_matrix,
};
use crate::io::{AtomicFile, Variant};
use crate::study::literature::{
    bert_embedder, build_extractor, read_corpus, CorpusFormat, DictionaryFiles,
};
use crate::study::progress::{stage, Progress};
use crate::study::{with_suffix, RunLog};
use crate::text::embed::TextEmbedder;
use crate::text::report::npy_bytes;
use crate::{Error, Result};

/// Where a prior comes from and how variants meet its genes.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorInput {
    /// The gene prior: `OUT.gene_prior.tsv` or any `gene score` table.
    pub prior: PathBuf,
    /// Gene coordinates in the variants' build.
    pub gene_map: PathBuf,
    /// A variant belongs to genes within this many kb.
    pub window_kb: f64,
    /// All genes in the window, or only the nearest.
    pub assignment: GeneAssignment,
    /// Weight floor: a variant near no supported gene weighs this fraction of
    /// the best-supported one.
    pub floor: f64,
}

impl PriorInput {
    /// The defaults of `genolens gwas --prior`: all genes within 25 kb, floor 0.1.
    pub fn new(prior: impl Into<PathBuf>, gene_map: impl Into<PathBuf>) -> Self {
        Self {
            prior: prior.into(),
            gene_map: gene_map.into(),
            window_kb: 25.0,
            assignment: GeneAssignment::AllInWindow,
            floor: 0.1,
        }
    }

    /// Reads the prior (with its evidence and optional embeddings) and the
    /// gene map, logging what was read.
    pub fn load(&self, embeddings: Option<&Path>, log: &mut RunLog) -> Result<LoadedPrior> {
        let priors = load_prior(&self.prior, embeddings, log)?;
        let map = GeneMap::read(&self.gene_map)?;
        let _ = writeln!(
            log,
            "--gene-map {}: {} genes; variants take the genes within {} kb ({}); weight floor {}",
            self.gene_map.display(),
            map.len(),
            self.window_kb,
            self.assignment.name(),
            self.floor
        );
        Ok(LoadedPrior {
            priors,
            map,
            mapping: MappingOptions {
                window_kb: self.window_kb,
                assignment: self.assignment,
            },
            floor: self.floor,
        })
    }
}

/// A loaded prior with its gene map and mapping options.
#[derive(Debug, Clone)]
pub struct LoadedPrior {
    /// The prior.
    pub priors: GenePriors,
    /// The gene map.
    pub map: GeneMap,
    /// How variants meet genes.
    pub mapping: MappingOptions,
    /// The weight floor.
    pub floor: f64,
}

/// Reads a gene prior table, the `X.gene_evidence.tsv` beside a
/// `X.gene_prior.tsv` when present, and gene embeddings (`.npy`, rows in the
/// table's order) when given.
pub fn load_prior(
    path: &Path,
    embeddings: Option<&Path>,
    log: &mut dyn std::fmt::Write,
) -> Result<GenePriors> {
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
            return Err(Error::Invalid(format!(
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

/// Logs how variants met the prior's genes.
pub fn log_mapping(log: &mut dyn std::fmt::Write, r: &MappingReport) {
    let missing = if r.prior_genes_not_in_map.is_empty() {
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
    };
    let _ = writeln!(
        log,
        "prior mapping: {} of {} variants near a gene, {} near a gene the prior supports; {} \
         supported genes have variants{missing}",
        r.variants_with_gene, r.variants, r.variants_supported, r.prior_genes_with_variants,
    );
}

/// How the prior's weights enter the tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightingOptions {
    /// `true`: the weights' strength is learned per genomic fold on the other
    /// folds (cross-fitted, as IHW); `false`: the prior weights as they are.
    pub adaptive: bool,
    /// The FDR (and family-wise) level of the counts.
    pub alpha: f64,
}

impl Default for WeightingOptions {
    fn default() -> Self {
        Self {
            adaptive: true,
            alpha: 0.05,
        }
    }
}

/// Discoveries with and without a prior's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedCounts {
    /// Benjamini–Hochberg discoveries, unweighted.
    pub bh: usize,
    /// Weighted Benjamini–Hochberg discoveries.
    pub bh_weighted: usize,
    /// Bonferroni discoveries, unweighted.
    pub bonferroni: usize,
    /// Weighted Bonferroni discoveries.
    pub bonferroni_weighted: usize,
}

/// Re-tests `p` (one per variant, `NaN` untested) with the prior, writes the
/// weighted table to `path` and returns the log line with the counts with and
/// without the prior, and the counts.
pub fn prior_weighted(
    variants: &[Variant],
    p: &[f64],
    prior: &LoadedPrior,
    weighting: &WeightingOptions,
    path: &Path,
    log: &mut RunLog,
) -> Result<(String, WeightedCounts)> {
    let options = WeightedScanOptions {
        mapping: prior.mapping,
        floor: prior.floor,
        weighting: if weighting.adaptive {
            Weighting::Adaptive(AdaptiveOptions::default())
        } else {
            Weighting::Fixed
        },
        alpha: weighting.alpha,
    };
    let scan = weighted_scan(variants, p, &prior.priors, &prior.map, &options)?;
    log_mapping(log, &scan.genes.report);
    if scan.equal_weights {
        log.warn(
            "every tested variant has the same prior weight: the weighted analysis equals the \
             unweighted one",
        );
    }
    let text = weighted_tests_tsv(
        variants,
        &scan.genes.genes,
        &scan.genes.score,
        p,
        &scan.tests,
    );
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()?;
    let t = &scan.tests;
    let strengths = if t.strengths.is_empty() {
        String::new()
    } else {
        format!(
            "; adaptive strengths per fold {}",
            t.strengths
                .iter()
                .map(|s| format!("{s}"))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let line = format!(
        "prior-weighted ({}) at level {}: Benjamini-Hochberg {} -> {} discoveries, Bonferroni \
         {} -> {} (unweighted -> weighted, {} tests){strengths}",
        options.weighting.name(),
        t.alpha,
        t.bh,
        t.bh_weighted,
        t.bonferroni,
        t.bonferroni_weighted,
        t.tests
    );
    Ok((
        line,
        WeightedCounts {
            bh: t.bh,
            bh_weighted: t.bh_weighted,
            bonferroni: t.bonferroni,
            bonferroni_weighted: t.bonferroni_weighted,
        },
    ))
}

/// Where a gene prior comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PriorFrom {
    /// Mined from a corpus for a trait query.
    Corpus {
        /// The abstracts.
        corpus: PathBuf,
        /// Their format (default: by extension).
        format: Option<CorpusFormat>,
        /// The trait, e.g. "type 2 diabetes".
        query: String,
        /// An annotated corpus whose disease names form the disease
        /// dictionary (so the query is matched by disease id).
        disease_corpus: Option<PathBuf>,
        /// An annotated corpus to tune the gene dictionary on.
        tune_genes: Option<PathBuf>,
        /// Gene embeddings to write beside the prior.
        embedding: PriorEmbedding,
        /// Evidence sentences kept per gene.
        evidence: usize,
    },
    /// A `gene score` table (PoPS, MAGMA, Open Targets).
    Table(PathBuf),
}

/// Which gene embeddings a literature prior carries.
#[derive(Debug, Clone, PartialEq)]
pub enum PriorEmbedding {
    /// None.
    None,
    /// TF-IDF vectors of this width.
    TfIdf(usize),
    /// A sentence-transformers model directory (the `rust-bert` feature).
    Model(PathBuf),
}

impl PriorEmbedding {
    /// No embedding unless `embed`; then the model when one is named, else
    /// TF-IDF vectors of width `tfidf_dim`.
    pub fn chosen(embed: bool, model: Option<PathBuf>, tfidf_dim: usize) -> Self {
        match (embed, model) {
            (true, Some(dir)) => PriorEmbedding::Model(dir),
            (true, None) => PriorEmbedding::TfIdf(tfidf_dim),
            (false, _) => PriorEmbedding::None,
        }
    }
}

/// Options of the gene-prior step.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorStepOptions {
    /// The source.
    pub from: PriorFrom,
    /// Gene nomenclature table (`entrez_id symbol ...`): symbols of mined
    /// genes, the genes of a table. Needed for a corpus.
    pub gene_names: Option<PathBuf>,
    /// Gene alias table. Needed for a corpus.
    pub gene_aliases: Option<PathBuf>,
    /// Output prefix.
    pub out: PathBuf,
}

/// A gene of the prior, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorGene {
    /// Entrez id (or symbol).
    pub gene_id: String,
    /// Symbol.
    pub symbol: String,
    /// Score in [0, 1].
    pub score: f64,
    /// Documents mentioning it (literature priors).
    pub n_docs: usize,
    /// Its best evidence sentence and PMID, if any.
    pub evidence: Option<(String, String)>,
}

/// What the gene-prior step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorOutcome {
    /// Documents read (literature priors).
    pub documents: usize,
    /// Genes in the prior.
    pub genes: usize,
    /// Genes with a score above 0.
    pub supported: usize,
    /// The best-scored genes (up to 20).
    pub top: Vec<PriorGene>,
    /// `OUT.gene_prior.tsv`.
    pub table: PathBuf,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Builds the prior and writes `OUT.gene_prior.tsv` (gene_id symbol score
/// n_docs evidence_pmids), `OUT.gene_evidence.tsv` (literature priors: the
/// sentences with their character offsets), `OUT.gene_prior.npy` (with
/// embeddings) and `OUT.log`; all the tables or none.
pub fn run_prior(options: &PriorStepOptions, progress: &dyn Progress) -> Result<PriorOutcome> {
    let started = Instant::now();
    let mut log = RunLog::new();
    let names = options
        .gene_names
        .as_deref()
        .map(read_gene_names)
        .transpose()?;
    let mut documents = 0;
    let priors = match &options.from {
        PriorFrom::Corpus {
            corpus,
            format,
            query,
            disease_corpus,
            tune_genes,
            embedding,
            evidence,
        } => {
            let (Some(names), Some(aliases)) = (names.as_deref(), &options.gene_aliases) else {
                return Err(Error::Invalid(
                    "a prior from a corpus needs the gene names and aliases tables".into(),
                ));
            };
            let corpus_path = corpus;
            let corpus = read_corpus(corpus_path, *format)?;
            documents = corpus.len();
            let _ = writeln!(
                log,
                "genolens prior: {} documents from {}, query {query:?}",
                corpus.len(),
                corpus_path.display()
            );
            progress.start("building dictionaries", None, "");
            let extractor = build_extractor(
                &DictionaryFiles {
                    gene_aliases: aliases,
                    tune_genes: tune_genes.as_deref(),
                    disease_corpus: disease_corpus.as_deref(),
                },
                names,
                &mut log,
            );
            progress.finish();
            let extractor = extractor?;
            let symbols: HashMap<String, String> = names
                .iter()
                .map(|g| (g.entrez_id.to_string(), g.symbol.clone()))
                .collect();
            let bert: Option<Box<dyn TextEmbedder>> = match embedding {
                PriorEmbedding::Model(dir) => Some(bert_embedder(dir)?),
                _ => None,
            };
            let gene_embedding = match (&bert, embedding) {
                (Some(e), _) => GeneEmbedding::With(e.as_ref()),
                (None, PriorEmbedding::TfIdf(dim)) => GeneEmbedding::TfIdf(*dim),
                (None, _) => GeneEmbedding::None,
            };
            let literature = LiteratureOptions {
                evidence_sentences: *evidence,
                ..LiteratureOptions::default()
            };
            let (priors, summary) = stage(
                progress,
                "finding mentions",
                corpus.len(),
                "abstracts",
                |tick| {
                    literature_prior(
                        &corpus,
                        &extractor,
                        query,
                        &symbols,
                        gene_embedding,
                        &literature,
                        tick,
                    )
                },
            )?;
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
                 sentence co-mention log-odds, relevance = best BM25 evidence (and dense cosine \
                 with --embed) relative to the best gene"
            );
            priors
        }
        PriorFrom::Table(table) => {
            let rows = read_gene_scores(table)?;
            let aliases = match &options.gene_aliases {
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
                let unknown = if report.unknown.is_empty() {
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
                };
                let _ = writeln!(
                    log,
                    "resolved through the nomenclature: {}; unknown (left out): {}{unknown}; \
                     duplicates (higher score kept): {}",
                    report.resolved,
                    report.unknown.len(),
                    report.duplicates.len()
                );
                if !report.unknown.is_empty() {
                    log.warn(format!(
                        "{} genes of {} are unknown to the nomenclature and were left out (see \
                         OUT.log)",
                        report.unknown.len(),
                        table.display()
                    ));
                }
            }
            if let PriorSource::Table { rescaled: true } = priors.source {
                let _ = writeln!(log, "scores outside [0, 1]: rescaled linearly to [0, 1]");
            }
            priors
        }
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
    let out = &options.out;
    let table = with_suffix(out, "gene_prior.tsv");
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![(
        table.clone(),
        gene_prior_text(&priors.to_rows()).into_bytes(),
    )];
    if matches!(priors.source, PriorSource::Literature { .. }) {
        files.push((
            with_suffix(out, "gene_evidence.tsv"),
            evidence_text(&priors.evidence_rows()).into_bytes(),
        ));
    }
    if let Some(m) = priors.embedding_matrix() {
        files.push((with_suffix(out, "gene_prior.npy"), npy_bytes(&m)?));
    }
    let mut staged = Vec::new();
    for (path, bytes) in &files {
        let mut f = AtomicFile::create(path)?;
        f.write_all(bytes)?;
        staged.push(f);
    }
    commit_all(staged)?;
    let mut written: Vec<PathBuf> = files.into_iter().map(|(p, _)| p).collect();
    let top = priors
        .genes
        .iter()
        .filter(|g| g.score > 0.0)
        .take(20)
        .map(|g| PriorGene {
            gene_id: g.gene_id.clone(),
            symbol: g.symbol.clone(),
            score: g.score,
            n_docs: g.n_docs,
            evidence: g
                .evidence
                .first()
                .map(|e| (e.sentence.clone(), e.pmid.clone())),
        })
        .collect();
    let warnings = log.warnings().to_vec();
    let log_path = log.write(out, &written, started.elapsed())?;
    written.push(log_path);
    Ok(PriorOutcome {
        documents,
        genes: priors.len(),
        supported: priors.n_supported(),
        top,
        table,
        written,
        warnings,
    })
}
