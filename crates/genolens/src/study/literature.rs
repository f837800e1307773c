//! The literature step (`genolens literature`: mentions, gene profiles,
//! retrieval, embeddings), and the corpus reading and mention dictionaries
//! the literature steps (the gene prior, explanations' evidence) share.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::io::corpus::{Corpus, MentionCheck};
use crate::io::genes::{read_gene_names, GeneAliases, GeneName};
use crate::study::prior::PriorEmbedding;
use crate::study::progress::{stage, Progress};
use crate::study::{with_suffix, RunLog};
use crate::text::embed::{TextEmbedder, TfIdfEmbedder};
use crate::text::mention::{
    disease_dictionary, gene_dictionary, tune_gene_dictionary, GeneRules, Mention,
    MentionExtractor, MentionKind,
};
use crate::text::profile::{gene_profiles, profile_embeddings, AnnotatedCorpus, TraitQuery};
use crate::text::report::{
    genes_tsv, hits_tsv, mentions_tsv, npy_bytes, summary_markdown, write_all_or_none, HitSource,
    RankedText,
};
use crate::text::retrieval::{Bm25Index, DenseIndex};
use crate::Result;

/// A corpus's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorpusFormat {
    /// PubTator (`PMID|t|title`, `PMID|a|abstract`, annotation lines).
    Pubtator,
    /// One JSON object per line with `pmid`, `title` and `abstract`.
    Jsonl,
}

/// Reads a corpus in `format`, or in the format its extension names.
pub fn read_corpus(path: &Path, format: Option<CorpusFormat>) -> Result<Corpus> {
    Ok(match format {
        Some(CorpusFormat::Pubtator) => Corpus::read_pubtator(path)?,
        Some(CorpusFormat::Jsonl) => Corpus::read_jsonl(path)?,
        None => Corpus::read(path)?,
    })
}

/// The files the mention dictionaries are built from.
#[derive(Debug, Clone, Copy)]
pub struct DictionaryFiles<'a> {
    /// Gene alias table.
    pub gene_aliases: &'a Path,
    /// An annotated corpus to tune the gene dictionary on.
    pub tune_genes: Option<&'a Path>,
    /// An annotated corpus whose disease names form the disease dictionary.
    pub disease_corpus: Option<&'a Path>,
}

/// A mention extractor with the gene dictionary of `names` and the aliases
/// (tuned on an annotated corpus when given), the disease dictionary of an
/// annotated corpus when given, and variant patterns.
pub fn build_extractor(
    files: &DictionaryFiles<'_>,
    names: &[GeneName],
    log: &mut dyn std::fmt::Write,
) -> Result<MentionExtractor> {
    let aliases = GeneAliases::read(files.gene_aliases)?;
    let mut genes = gene_dictionary(names, &aliases, &GeneRules::default());
    let _ = writeln!(
        log,
        "gene dictionary: {} names from {} genes",
        genes.len(),
        names.len()
    );
    if let Some(path) = files.tune_genes {
        let train = Corpus::read_pubtator_with(path, MentionCheck::TrimWhitespace)?;
        let r = tune_gene_dictionary(&mut genes, &train);
        let _ = writeln!(
            log,
            "gene dictionary tuned on {}: {} names removed, {} added",
            path.display(),
            r.removed,
            r.added
        );
    }
    let mut extractor = MentionExtractor::new()
        .with_genes(genes)
        .with_variants(true);
    if let Some(path) = files.disease_corpus {
        let train = Corpus::read_pubtator_with(path, MentionCheck::TrimWhitespace)?;
        let (diseases, _) = disease_dictionary(&train, 0.5);
        let _ = writeln!(
            log,
            "disease dictionary: {} names from {}",
            diseases.len(),
            path.display()
        );
        extractor = extractor.with_diseases(diseases);
    }
    Ok(extractor)
}

/// A sentence-transformers model (a local directory, or a hub id with the
/// `rust-bert-remote` feature) as an embedder.
#[cfg(feature = "rust-bert")]
pub fn bert_embedder(dir: &Path) -> Result<Box<dyn TextEmbedder>> {
    let spec = dir.to_string_lossy();
    Ok(Box::new(
        crate::text::embed::BertSentenceEmbedder::from_dir_or_hub(&spec)?,
    ))
}

/// Without the `rust-bert` feature there is no sentence-transformers model:
/// an error naming the model and the feature.
#[cfg(not(feature = "rust-bert"))]
pub fn bert_embedder(dir: &Path) -> Result<Box<dyn TextEmbedder>> {
    Err(crate::Error::Invalid(format!(
        "--model {}: this genolens was built without the `rust-bert` feature (rebuild with \
         `--features rust-bert`, see the README)",
        dir.display()
    )))
}

/// Options of the literature step (`genolens literature`).
#[derive(Debug, Clone, PartialEq)]
pub struct LiteratureOptions {
    /// The abstracts.
    pub corpus: PathBuf,
    /// Their format (default: by extension).
    pub format: Option<CorpusFormat>,
    /// A trait to profile genes against and to retrieve abstracts and
    /// sentences for.
    pub query: Option<String>,
    /// Gene nomenclature table.
    pub gene_names: PathBuf,
    /// Gene alias table.
    pub gene_aliases: PathBuf,
    /// An annotated corpus whose disease names form the disease dictionary.
    pub disease_corpus: Option<PathBuf>,
    /// An annotated corpus to tune the gene dictionary on.
    pub tune_genes: Option<PathBuf>,
    /// Gene embeddings and dense sentence hits (`OUT.gene_embeddings.npy`).
    pub embedding: PriorEmbedding,
    /// Evidence sentences kept per gene.
    pub evidence: usize,
    /// Hits kept per retrieval method.
    pub hits: usize,
    /// Where mentions come from.
    pub tagger: MentionTagger,
    /// Output prefix.
    pub out: PathBuf,
}

/// Where the literature step's mentions come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MentionTagger {
    /// The gene and disease dictionaries and the variant patterns.
    #[default]
    Dictionary,
    /// A neural tagger directory (`genolens text-train`); its spans are
    /// linked to identifiers through the dictionaries.
    Model(PathBuf),
    /// The tagger's mentions, plus the dictionary's where the tagger found
    /// nothing overlapping.
    Both(PathBuf),
}

/// Documents tagged per call of the neural tagger (one progress tick each).
const TAGGER_CHUNK: usize = 32;

/// Mentions of every document by the neural tagger in `dir`, linked to
/// identifiers through `extractor`'s dictionaries (and joined with its own
/// mentions with `union`).
fn tagged_corpus(
    corpus: &Corpus,
    dir: &Path,
    extractor: &MentionExtractor,
    union: bool,
    log: &mut RunLog,
    progress: &dyn Progress,
) -> Result<AnnotatedCorpus> {
    use crate::text::tagger::{link_mentions, union_mentions, LinkCounts, NeuralTagger};
    use crate::transformer::CpuInference;
    let tagger = NeuralTagger::<CpuInference>::load(dir, &Default::default())?;
    let texts: Vec<String> = corpus.iter().map(|d| d.text()).collect();
    let started = Instant::now();
    let mut all: Vec<Vec<Mention>> = Vec::with_capacity(texts.len());
    let mut counts = LinkCounts::default();
    stage(progress, "tagging", texts.len(), "abstracts", |tick| {
        for chunk in texts.chunks(TAGGER_CHUNK) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for (text, mut found) in chunk.iter().zip(tagger.tag(&refs)?) {
                let c = link_mentions(&mut found, text, extractor);
                counts.linked += c.linked;
                counts.unlinked += c.unlinked;
                all.push(if union {
                    union_mentions(found, extractor.extract(text))
                } else {
                    found
                });
            }
            tick(all.len());
        }
        Ok::<_, crate::Error>(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = writeln!(
        log,
        "neural tagger {}: {} abstracts in {seconds:.1} s ({:.1}/s); {} tagged spans linked \
         to an identifier, {} not{}",
        dir.display(),
        texts.len(),
        texts.len() as f64 / seconds.max(1e-9),
        counts.linked,
        counts.unlinked,
        if union {
            "; dictionary mentions added where the tagger found nothing"
        } else {
            ""
        }
    );
    Ok(AnnotatedCorpus::from_mentions(corpus, all)?)
}

/// What the literature step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiteratureOutcome {
    /// Documents read.
    pub documents: usize,
    /// Genes mentioned.
    pub genes: usize,
    /// Genes co-mentioned with the query.
    pub co_mentioned: usize,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
}

/// Mentions, gene profiles for a trait, retrieval hits and embeddings from a
/// corpus: writes `OUT.mentions.tsv`, `OUT.genes.tsv`, `OUT.hits.tsv`,
/// `OUT.summary.md`, `OUT.log` (and `OUT.gene_embeddings.npy`), all or none.
/// Runs the literature pipeline.
pub fn run_literature(
    args: &LiteratureOptions,
    progress: &dyn Progress,
) -> Result<LiteratureOutcome> {
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
    progress.start("building dictionaries", None, "");
    let extractor = build_extractor(
        &DictionaryFiles {
            gene_aliases: &args.gene_aliases,
            tune_genes: args.tune_genes.as_deref(),
            disease_corpus: args.disease_corpus.as_deref(),
        },
        &names,
        &mut log,
    );
    progress.finish();
    let extractor = extractor?;
    let annotated = match &args.tagger {
        MentionTagger::Dictionary => stage(
            progress,
            "finding mentions",
            corpus.len(),
            "abstracts",
            |tick| AnnotatedCorpus::with_progress(&corpus, &extractor, tick),
        )?,
        MentionTagger::Model(dir) => {
            tagged_corpus(&corpus, dir, &extractor, false, &mut log, progress)?
        }
        MentionTagger::Both(dir) => {
            tagged_corpus(&corpus, dir, &extractor, true, &mut log, progress)?
        }
    };
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

    let embedder: Option<Box<dyn TextEmbedder>> = match &args.embedding {
        PriorEmbedding::None => None,
        PriorEmbedding::Model(dir) => Some(bert_embedder(dir)?),
        PriorEmbedding::TfIdf(dim) => {
            let texts: Vec<&str> = annotated.texts.iter().map(String::as_str).collect();
            Some(Box::new(TfIdfEmbedder::fit(&texts, *dim)?))
        }
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
            progress.start("embedding sentences", None, "");
            let all = e.embed(&sentence_texts);
            progress.finish();
            let all = all?;
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
        progress.start("embedding gene sentences", None, "");
        let m = profile_embeddings(&annotated, &profiles, e.as_ref());
        progress.finish();
        let m = m?;
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
    Ok(LiteratureOutcome {
        documents: annotated.len(),
        genes: profiles.len(),
        co_mentioned: profiles.iter().filter(|p| p.co_mentions > 0).count(),
        written: files.into_iter().map(|(p, _)| p).collect(),
    })
}

fn push_hits(
    out: &mut Vec<RankedText>,
    source: HitSource,
    found: Vec<crate::text::retrieval::Hit>,
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
