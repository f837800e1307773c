//! `genolens literature`: mentions, gene profiles for a trait, retrieval hits
//! and embeddings from a corpus of abstracts.

use genolens::study::RunLog;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use genolens::io::corpus::Corpus;
use genolens::io::genes::{read_gene_names, GeneName};
use genolens::text::embed::{TextEmbedder, TfIdfEmbedder};
use genolens::text::mention::{MentionExtractor, MentionKind};
use genolens::text::profile::{gene_profiles, profile_embeddings, AnnotatedCorpus, TraitQuery};
use genolens::text::report::{
    genes_tsv, hits_tsv, mentions_tsv, npy_bytes, summary_markdown, write_all_or_none, HitSource,
    RankedText,
};
use genolens::text::retrieval::{Bm25Index, DenseIndex};

use crate::commands::freq::with_suffix;
use crate::error::CliError;
use crate::progress;

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
    /// Output prefix: `OUT.mentions.tsv`, `OUT.genes.tsv`, `OUT.hits.tsv`,
    /// `OUT.summary.md`, `OUT.log`, and with `--embed`
    /// `OUT.gene_embeddings.npy` (rows in the order of `OUT.genes.tsv`).
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Runs the literature pipeline.
pub fn run(args: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let mut log = RunLog::new();
    let corpus = read_corpus(&args.corpus, args.format)?;
    let _ = writeln!(
        log,
        "genolens literature: {} documents from {}",
        corpus.len(),
        args.corpus.display()
    );

    let names = read_gene_names(&args.gene_names)?;
    let extractor = progress::spinner("building dictionaries", || {
        build_extractor(
            &DictionaryFiles {
                gene_aliases: &args.gene_aliases,
                tune_genes: args.tune_genes.as_deref(),
                disease_corpus: args.disease_corpus.as_deref(),
            },
            &names,
            &mut log,
        )
    })?;
    let annotated = progress::over_items(corpus.len(), "finding mentions", "abstracts", |tick| {
        AnnotatedCorpus::with_progress(&corpus, &extractor, tick)
    })?;
    for kind in [
        MentionKind::Gene,
        MentionKind::Disease,
        MentionKind::Variant,
    ] {
        let n: usize = annotated
            .mentions
            .iter()
            .map(|ms| ms.iter().filter(|m| m.kind == kind).count())
            .sum();
        let _ = writeln!(log, "{kind} mentions: {n}");
    }
    let _ = writeln!(log, "sentences: {}", annotated.sentences.len());

    let query = args
        .query
        .as_deref()
        .map(|q| TraitQuery::new(q, &extractor))
        .transpose()?;
    if let Some(q) = &query {
        let _ = writeln!(
            log,
            "query {:?}: disease ids [{}]{}",
            q.text,
            q.disease_ids.join(", "),
            if q.disease_ids.is_empty() {
                " (matched by its words)"
            } else {
                ""
            }
        );
    }
    let symbols: HashMap<String, String> = names
        .into_iter()
        .map(|g| (g.entrez_id.to_string(), g.symbol))
        .collect();
    let profiles = gene_profiles(&annotated, query.as_ref(), &symbols, args.evidence);
    let _ = writeln!(
        log,
        "genes: {} mentioned, {} co-mentioned with the query",
        profiles.len(),
        profiles.iter().filter(|p| p.co_mentions > 0).count()
    );

    let embedder: Option<Box<dyn TextEmbedder>> = if args.embed {
        Some(make_embedder(&args, &annotated)?)
    } else {
        None
    };
    let mut hits = Vec::new();
    if let Some(q) = &query {
        let abstracts = Bm25Index::build(&annotated.texts);
        push_hits(
            &mut hits,
            HitSource::Bm25Abstract,
            abstracts.search(&q.text, args.hits)?,
            |i| {
                (
                    annotated.pmids[i].clone(),
                    corpus.documents[i].title.clone(),
                )
            },
        );
        let sentence_texts: Vec<&str> = (0..annotated.sentences.len())
            .map(|i| annotated.sentence_text(i))
            .collect();
        let sentences = Bm25Index::build(&sentence_texts);
        let sentence_of = |i: usize| {
            (
                annotated.pmids[annotated.sentences[i].doc].clone(),
                sentence_texts[i].to_string(),
            )
        };
        push_hits(
            &mut hits,
            HitSource::Bm25Sentence,
            sentences.search(&q.text, args.hits)?,
            sentence_of,
        );
        if let Some(e) = &embedder {
            let all = progress::spinner("embedding sentences", || e.embed(&sentence_texts))?;
            let qv = e.embed(&[q.text.as_str()])?;
            let dense = DenseIndex::new(&all);
            push_hits(
                &mut hits,
                HitSource::DenseSentence,
                dense.search(qv.row(0), args.hits)?,
                sentence_of,
            );
        }
    }

    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        (
            with_suffix(&args.out, "mentions.tsv"),
            mentions_tsv(&annotated).into_bytes(),
        ),
        (
            with_suffix(&args.out, "genes.tsv"),
            genes_tsv(&profiles).into_bytes(),
        ),
        (
            with_suffix(&args.out, "hits.tsv"),
            hits_tsv(&hits).into_bytes(),
        ),
        (
            with_suffix(&args.out, "summary.md"),
            summary_markdown(args.query.as_deref(), annotated.len(), &profiles, &hits, 20)
                .into_bytes(),
        ),
    ];
    if let Some(e) = &embedder {
        let m = progress::spinner("embedding gene sentences", || {
            profile_embeddings(&annotated, &profiles, e.as_ref())
        })?;
        let _ = writeln!(
            log,
            "gene embeddings: {} x {} ({})",
            m.nrows(),
            m.ncols(),
            e.describe()
        );
        files.push((
            with_suffix(&args.out, "gene_embeddings.npy"),
            npy_bytes(&m)?,
        ));
    }
    let _ = writeln!(log, "time: {:.3} s", started.elapsed().as_secs_f64());
    for (p, _) in &files {
        let _ = writeln!(log, "wrote {}", p.display());
    }
    files.push((
        with_suffix(&args.out, "log"),
        log.text().as_bytes().to_vec(),
    ));
    let refs: Vec<(&Path, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_path(), b.as_slice()))
        .collect();
    write_all_or_none(&refs)?;
    for (p, _) in &files {
        eprintln!("genolens: wrote {}", p.display());
    }
    Ok(())
}

/// Reads a corpus in `format`, or by its extension.
pub fn read_corpus(path: &Path, format: Option<CorpusFormat>) -> Result<Corpus, CliError> {
    Ok(genolens::study::literature::read_corpus(
        path,
        format.map(CorpusFormat::library),
    )?)
}

fn push_hits(
    out: &mut Vec<RankedText>,
    source: HitSource,
    found: Vec<genolens::text::retrieval::Hit>,
    describe: impl Fn(usize) -> (String, String),
) {
    for (r, h) in found.into_iter().enumerate() {
        let (pmid, text) = describe(h.index);
        out.push(RankedText {
            source,
            rank: r + 1,
            pmid,
            score: h.score,
            text,
        });
    }
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

fn make_embedder(args: &Args, corpus: &AnnotatedCorpus) -> Result<Box<dyn TextEmbedder>, CliError> {
    match &args.model {
        Some(dir) => bert_embedder(dir),
        None => {
            let texts: Vec<&str> = corpus.texts.iter().map(String::as_str).collect();
            Ok(Box::new(TfIdfEmbedder::fit(&texts, args.tfidf_dim)?))
        }
    }
}

/// A sentence-transformers model as an embedder (needs the `rust-bert`
/// feature).
pub fn bert_embedder(dir: &Path) -> Result<Box<dyn TextEmbedder>, CliError> {
    Ok(genolens::study::literature::bert_embedder(dir)?)
}
