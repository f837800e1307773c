//! Gene-level literature profiles for a trait: how often each gene is
//! mentioned, how often together with the trait, how strongly (a log-odds of
//! co-mention against the background), the sentences that support it, and an
//! embedding.

use std::collections::{BTreeMap, HashMap, HashSet};

use genolens_io::corpus::Corpus;
use ndarray::Array2;

use crate::embed::TextEmbedder;
use crate::error::{Error, Result};
use crate::mention::{Mention, MentionExtractor, MentionKind};
use crate::preprocess::{split_document, terms, Span};
use crate::retrieval::Bm25Index;

/// One sentence of an [`AnnotatedCorpus`].
#[derive(Debug, Clone)]
pub struct Sentence {
    /// Index of its document.
    pub doc: usize,
    /// Where it lies in the document's text (bytes).
    pub span: Span,
    /// Indices into the document's mentions of those inside the sentence.
    pub mentions: Vec<usize>,
}

/// A corpus with its texts split into sentences and its mentions found.
#[derive(Debug, Clone)]
pub struct AnnotatedCorpus {
    /// PubMed ids, one per document.
    pub pmids: Vec<String>,
    /// Each document's `title + " " + abstract` (the text PubTator offsets count in).
    pub texts: Vec<String>,
    /// Each document's mentions, ordered by start.
    pub mentions: Vec<Vec<Mention>>,
    /// Every sentence, document by document.
    pub sentences: Vec<Sentence>,
}

impl AnnotatedCorpus {
    /// Splits every document into sentences (the title is its own sentence)
    /// and finds its mentions. An empty corpus is an error.
    pub fn new(corpus: &Corpus, extractor: &MentionExtractor) -> Result<Self> {
        Self::with_progress(corpus, extractor, &|_| {})
    }

    /// [`new`](Self::new), calling `progress` with the number of documents
    /// done after each one.
    pub fn with_progress(
        corpus: &Corpus,
        extractor: &MentionExtractor,
        progress: &dyn Fn(usize),
    ) -> Result<Self> {
        Self::build(corpus, &mut |_, text| extractor.extract(text), progress)
    }

    /// The corpus with mentions found elsewhere (e.g. by the neural tagger,
    /// linked to identifiers): `mentions[d]` are document `d`'s, as byte
    /// spans into its [`Document::text`](genolens_io::corpus::Document::text).
    pub fn from_mentions(corpus: &Corpus, mut mentions: Vec<Vec<Mention>>) -> Result<Self> {
        if mentions.len() != corpus.len() {
            return Err(Error::invalid(format!(
                "{} mention lists for {} documents",
                mentions.len(),
                corpus.len()
            )));
        }
        Self::build(
            corpus,
            &mut |d, _| std::mem::take(&mut mentions[d]),
            &|_| {},
        )
    }

    fn build(
        corpus: &Corpus,
        mentions_of: &mut dyn FnMut(usize, &str) -> Vec<Mention>,
        progress: &dyn Fn(usize),
    ) -> Result<Self> {
        if corpus.is_empty() {
            return Err(Error::invalid("the corpus has no documents"));
        }
        let mut out = Self {
            pmids: Vec::with_capacity(corpus.len()),
            texts: Vec::with_capacity(corpus.len()),
            mentions: Vec::with_capacity(corpus.len()),
            sentences: Vec::new(),
        };
        for (d, doc) in corpus.iter().enumerate() {
            let text = doc.text();
            let mentions = mentions_of(d, &text);
            if let Some(m) = mentions.iter().find(|m| {
                m.span.end > text.len()
                    || !text.is_char_boundary(m.span.start)
                    || !text.is_char_boundary(m.span.end)
            }) {
                return Err(Error::invalid(format!(
                    "document {}: mention {:?} does not lie on the text's characters",
                    doc.pmid, m.span
                )));
            }
            for span in split_document(&text, doc.title.len()) {
                let inside = mentions
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| span.contains(m.span))
                    .map(|(i, _)| i)
                    .collect();
                out.sentences.push(Sentence {
                    doc: d,
                    span,
                    mentions: inside,
                });
            }
            out.pmids.push(doc.pmid.clone());
            out.texts.push(text);
            out.mentions.push(mentions);
            progress(d + 1);
        }
        Ok(out)
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether there is no document.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The text of sentence `i`.
    pub fn sentence_text(&self, i: usize) -> &str {
        let s = &self.sentences[i];
        s.span.of(&self.texts[s.doc])
    }

    /// The character offsets (PubTator's counting) of sentence `i` in its
    /// document's text: `(first, one past the last)`.
    pub fn sentence_char_span(&self, i: usize) -> (usize, usize) {
        let s = &self.sentences[i];
        let text = &self.texts[s.doc];
        let chars = |b: usize| text[..b].chars().count();
        (chars(s.span.start), chars(s.span.end))
    }

    /// The mentions inside sentence `i`.
    pub fn sentence_mentions(&self, i: usize) -> impl Iterator<Item = &Mention> + '_ {
        let s = &self.sentences[i];
        s.mentions.iter().map(move |&m| &self.mentions[s.doc][m])
    }

    /// The text a mention covers.
    pub fn mention_text(&self, doc: usize, m: &Mention) -> &str {
        m.span.of(&self.texts[doc])
    }
}

/// A trait (disease) to profile genes against, matched in sentences by its
/// disease identifiers or, failing that, by its words.
#[derive(Debug, Clone)]
pub struct TraitQuery {
    /// The query as given.
    pub text: String,
    /// Disease ids the extractor finds in the query text (`type 2 diabetes` →
    /// the MeSH id of type 2 diabetes mellitus).
    pub disease_ids: Vec<String>,
    words: Vec<String>,
}

impl TraitQuery {
    /// Reads the query's disease ids with `extractor` and keeps its retrieval
    /// terms. A query without any searchable word is an error.
    pub fn new(text: &str, extractor: &MentionExtractor) -> Result<Self> {
        let words = terms(text);
        if words.is_empty() {
            return Err(Error::invalid(format!(
                "query {text:?} has no searchable word"
            )));
        }
        let mut disease_ids: Vec<String> = extractor
            .extract(text)
            .into_iter()
            .filter(|m| m.kind == MentionKind::Disease && !m.id.is_empty())
            .map(|m| m.id)
            .collect();
        disease_ids.sort();
        disease_ids.dedup();
        Ok(Self {
            text: text.to_string(),
            disease_ids,
            words,
        })
    }

    /// Whether sentence `i` is about the trait: it mentions one of the query's
    /// disease ids, or it contains every query word.
    pub fn matches(&self, corpus: &AnnotatedCorpus, i: usize) -> bool {
        if corpus
            .sentence_mentions(i)
            .any(|m| m.kind == MentionKind::Disease && self.disease_ids.contains(&m.id))
        {
            return true;
        }
        let have: HashSet<String> = terms(corpus.sentence_text(i)).into_iter().collect();
        self.words.iter().all(|w| have.contains(w))
    }
}

/// A sentence supporting a gene–trait link.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The sentence's PubMed id.
    pub pmid: String,
    /// The sentence.
    pub sentence: String,
    /// Character offset of the sentence's first character in its document's
    /// `title + " " + abstract`, counted as PubTator counts (Unicode scalar
    /// values, not bytes).
    pub start: usize,
    /// Character offset one past the sentence's last character.
    pub end: usize,
    /// Its BM25 score for the query (how central the trait is to it).
    pub score: f64,
}

/// One gene's literature profile.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneProfile {
    /// Entrez id.
    pub gene_id: String,
    /// The symbol (from the caller's table, else the most frequent mention text).
    pub symbol: String,
    /// Mentions of the gene.
    pub mentions: usize,
    /// Documents mentioning it.
    pub documents: usize,
    /// Sentences mentioning it.
    pub sentences: usize,
    /// Sentences mentioning it that are about the trait (`a`).
    pub co_mentions: usize,
    /// Documents with at least one such sentence.
    pub co_documents: usize,
    /// `ln[(a + ½)(d + ½) / ((b + ½)(c + ½))]` over sentences: `a` gene and
    /// trait, `b` gene without trait, `c` trait without gene, `d` neither
    /// (Haldane's correction keeps it finite). `None` when `a = 0`: there is no
    /// evidence to weigh.
    pub log_odds: Option<f64>,
    /// The best supporting sentences (co-mentions ranked by BM25 for the query).
    pub evidence: Vec<Evidence>,
    /// Indices into [`AnnotatedCorpus::sentences`] of the sentences mentioning it.
    pub sentence_indices: Vec<usize>,
}

impl GeneProfile {
    /// The score genes are ranked by: the log-odds, or −∞ without co-mention.
    pub fn score(&self) -> f64 {
        self.log_odds.unwrap_or(f64::NEG_INFINITY)
    }
}

/// Builds the profile of every gene mentioned in `corpus`. With a query, the
/// co-mention counts, log-odds and up to `top_sentences` evidence sentences are
/// filled and the profiles are ordered by [`GeneProfile::score`], then
/// mentions, then id; without one, by mentions, then id. `symbols` maps Entrez
/// ids to official symbols.
pub fn gene_profiles(
    corpus: &AnnotatedCorpus,
    query: Option<&TraitQuery>,
    symbols: &HashMap<String, String>,
    top_sentences: usize,
) -> Vec<GeneProfile> {
    let n_sent = corpus.sentences.len();
    let about: Vec<bool> = match query {
        Some(q) => (0..n_sent).map(|i| q.matches(corpus, i)).collect(),
        None => vec![false; n_sent],
    };
    let n_about = about.iter().filter(|&&a| a).count();

    // Per gene: mentions, documents, sentences.
    let mut mentions: BTreeMap<&str, usize> = BTreeMap::new();
    let mut surfaces: HashMap<&str, BTreeMap<&str, usize>> = HashMap::new();
    let mut docs: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (d, ms) in corpus.mentions.iter().enumerate() {
        for m in ms
            .iter()
            .filter(|m| m.kind == MentionKind::Gene && !m.id.is_empty())
        {
            *mentions.entry(&m.id).or_default() += 1;
            *surfaces
                .entry(&m.id)
                .or_default()
                .entry(corpus.mention_text(d, m))
                .or_default() += 1;
            docs.entry(&m.id).or_default().insert(d);
        }
    }
    let mut sentences: HashMap<&str, Vec<usize>> = HashMap::new();
    for i in 0..n_sent {
        let mut ids: Vec<&str> = corpus
            .sentence_mentions(i)
            .filter(|m| m.kind == MentionKind::Gene && !m.id.is_empty())
            .map(|m| m.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            sentences.entry(id).or_default().push(i);
        }
    }

    let bm25 = query.map(|_| {
        let texts: Vec<&str> = (0..n_sent).map(|i| corpus.sentence_text(i)).collect();
        Bm25Index::build(&texts)
    });
    let query_scores = match (query, &bm25) {
        (Some(q), Some(idx)) => idx.scores(&q.text),
        _ => vec![0.0; n_sent],
    };

    let mut out: Vec<GeneProfile> = mentions
        .into_iter()
        .map(|(id, count)| {
            let sent = sentences.remove(id).unwrap_or_default();
            let co: Vec<usize> = sent.iter().copied().filter(|&i| about[i]).collect();
            let a = co.len() as f64;
            let b = (sent.len() - co.len()) as f64;
            let c = n_about as f64 - a;
            let d = (n_sent - n_about) as f64 - b;
            let log_odds = (query.is_some() && !co.is_empty())
                .then(|| ((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))).ln());
            let mut ranked = co.clone();
            ranked.sort_by(|&x, &y| query_scores[y].total_cmp(&query_scores[x]).then(x.cmp(&y)));
            let evidence = ranked
                .into_iter()
                .take(top_sentences)
                .map(|i| {
                    let (start, end) = corpus.sentence_char_span(i);
                    Evidence {
                        pmid: corpus.pmids[corpus.sentences[i].doc].clone(),
                        sentence: corpus.sentence_text(i).to_string(),
                        start,
                        end,
                        score: query_scores[i],
                    }
                })
                .collect();
            let co_documents = co
                .iter()
                .map(|&i| corpus.sentences[i].doc)
                .collect::<HashSet<_>>()
                .len();
            let symbol = symbols.get(id).cloned().unwrap_or_else(|| {
                surfaces[id]
                    .iter()
                    .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
                    .map(|(s, _)| (*s).to_string())
                    .unwrap_or_default()
            });
            GeneProfile {
                gene_id: id.to_string(),
                symbol,
                mentions: count,
                documents: docs[id].len(),
                sentences: sent.len(),
                co_mentions: co.len(),
                co_documents,
                log_odds,
                evidence,
                sentence_indices: sent,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.score()
            .total_cmp(&x.score())
            .then(y.mentions.cmp(&x.mentions))
            .then(x.gene_id.cmp(&y.gene_id))
    });
    out
}

/// Each profile's embedding: the mean of the embeddings of the sentences
/// that mention the gene (one row per profile, in order). Every sentence is
/// embedded once.
pub fn profile_embeddings(
    corpus: &AnnotatedCorpus,
    profiles: &[GeneProfile],
    embedder: &dyn TextEmbedder,
) -> Result<Array2<f32>> {
    let mut needed: Vec<usize> = profiles
        .iter()
        .flat_map(|p| p.sentence_indices.iter().copied())
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let texts: Vec<&str> = needed.iter().map(|&i| corpus.sentence_text(i)).collect();
    let emb = embedder.embed(&texts)?;
    let row_of: HashMap<usize, usize> = needed.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    let mut out = Array2::<f32>::zeros((profiles.len(), embedder.dim()));
    for (p, mut row) in profiles.iter().zip(out.rows_mut()) {
        for i in &p.sentence_indices {
            row += &emb.row(row_of[i]);
        }
        if !p.sentence_indices.is_empty() {
            row /= p.sentence_indices.len() as f32;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::TfIdfEmbedder;
    use crate::mention::{CaseRule, Dictionary, Entry};
    use genolens_io::corpus::Document;

    fn doc(pmid: &str, title: &str, abs: &str) -> Document {
        Document {
            pmid: pmid.into(),
            title: title.into(),
            abstract_text: abs.into(),
            annotations: vec![],
            relations: vec![],
        }
    }

    fn extractor() -> MentionExtractor {
        let mut g = Dictionary::new(true);
        for (s, id) in [("TCF7L2", "6934"), ("BRCA1", "672"), ("APOE", "348")] {
            g.insert(
                s,
                Entry {
                    id: id.into(),
                    case: CaseRule::Capitalised,
                },
            );
        }
        let mut d = Dictionary::new(false);
        d.insert(
            "type 2 diabetes",
            Entry {
                id: "D003924".into(),
                case: CaseRule::Any,
            },
        );
        d.insert(
            "T2D",
            Entry {
                id: "D003924".into(),
                case: CaseRule::Exact("T2D".into()),
            },
        );
        MentionExtractor::new().with_genes(g).with_diseases(d)
    }

    fn corpus() -> AnnotatedCorpus {
        let c = Corpus {
            documents: vec![
                doc(
                    "1",
                    "TCF7L2 and type 2 diabetes.",
                    "TCF7L2 variants raise T2D risk. BRCA1 is elsewhere.",
                ),
                doc(
                    "2",
                    "BRCA1 in breast cancer.",
                    "BRCA1 repairs DNA. APOE is not here. TCF7L2 is expressed in gut.",
                ),
                doc(
                    "3",
                    "Diabetes genetics.",
                    "In type 2 diabetes, APOE was not associated.",
                ),
            ],
        };
        AnnotatedCorpus::new(&c, &extractor()).unwrap()
    }

    #[test]
    fn profiles_count_co_mentions_and_rank_by_log_odds() {
        let c = corpus();
        assert_eq!(c.sentences.len(), 3 + 4 + 2);
        let q = TraitQuery::new("type 2 diabetes", &extractor()).unwrap();
        assert_eq!(q.disease_ids, vec!["D003924"]);
        let symbols = HashMap::from([("6934".to_string(), "TCF7L2".to_string())]);
        let p = gene_profiles(&c, Some(&q), &symbols, 2);
        let order: Vec<&str> = p.iter().map(|g| g.gene_id.as_str()).collect();
        assert_eq!(order, vec!["6934", "348", "672"]);
        let t = &p[0];
        assert_eq!(
            (
                t.mentions,
                t.documents,
                t.sentences,
                t.co_mentions,
                t.co_documents
            ),
            (3, 2, 3, 2, 1)
        );
        // a=2, b=1; trait sentences: 2 (doc 1) + 1 (doc 3) = 3 → c=1; d = 9-3-1 = 5.
        let want = ((2.5f64 * 5.5) / (1.5 * 1.5)).ln();
        assert!((t.log_odds.unwrap() - want).abs() < 1e-12);
        assert_eq!(t.evidence.len(), 2);
        assert!(t.evidence.iter().all(|e| e.pmid == "1"));
        // Offsets are characters of the document text and cut out the sentence.
        for e in &t.evidence {
            let text: String = c.texts[0]
                .chars()
                .skip(e.start)
                .take(e.end - e.start)
                .collect();
            assert_eq!(text, e.sentence);
        }
        assert_eq!(p[2].log_odds, None);
        assert_eq!(p[2].symbol, "BRCA1");

        let e = TfIdfEmbedder::fit(&c.texts.iter().map(String::as_str).collect::<Vec<_>>(), 64)
            .unwrap();
        let emb = profile_embeddings(&c, &p, &e).unwrap();
        assert_eq!(emb.dim(), (3, 64));
        let one = e
            .embed(&[c.sentence_text(p[1].sentence_indices[0])])
            .unwrap();
        let mean = p[1]
            .sentence_indices
            .iter()
            .fold(ndarray::Array1::<f32>::zeros(64), |acc, &i| {
                acc + e.embed(&[c.sentence_text(i)]).unwrap().row(0)
            })
            / p[1].sentence_indices.len() as f32;
        assert!(emb
            .row(1)
            .iter()
            .zip(mean.iter())
            .all(|(a, b)| (a - b).abs() < 1e-6));
        assert_eq!(one.ncols(), 64);
    }

    #[test]
    fn empty_corpus_and_empty_query_are_errors() {
        assert!(AnnotatedCorpus::new(&Corpus::default(), &extractor()).is_err());
        assert!(TraitQuery::new("the of", &extractor()).is_err());
    }
}
