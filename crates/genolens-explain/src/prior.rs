//! Gene priors: one score in [0, 1] per gene, with the evidence behind it.
//!
//! A prior comes from the literature ([`GenePriors::from_literature`], over
//! `genolens-text`'s gene profiles for a trait query) or from a user table
//! ([`GenePriors::from_table`]: PoPS, MAGMA, Open Targets or any other
//! `gene score` list).
//!
//! # How the literature score is made
//!
//! Two signals, each answering a different question:
//!
//! - **Specificity**: is the gene named together with the trait more often
//!   than chance? The sentence-level co-mention log-odds (Haldane-corrected,
//!   from the profile) answers it, but a single chance co-mention of a rarely
//!   named gene gives a large log-odds. We use its **lower 95 % confidence
//!   bound** (Woolf's standard error), `L = LO − 1.96·SE`, so the score grows
//!   with the amount of evidence as well as with its strength; genes whose
//!   bound is not above 0 get no literature support.
//! - **Relevance**: is the trait central to the sentences that link them, or
//!   a passing word in a list? The best BM25 score of the gene's co-mention
//!   sentences for the query, relative to the best gene's (and, with an
//!   embedder, the mean of that and the cosine between the query and the
//!   gene's literature embedding, clipped at 0 and relative to the best
//!   gene's).
//!
//! `score = (1 − e^(−L⁺)) · (½ + ½·relevance)`. The saturating map keeps one
//! overwhelming gene from flattening the rest; the product lets relevance at
//! most halve a score, because co-mention statistics are the evidence and
//! relevance only grades it. Genes never co-mentioned with the trait score 0.

use std::collections::HashMap;

use genolens_io::corpus::Corpus;
use genolens_io::genes::{GeneAliases, GeneName};
use genolens_io::prior::{EvidenceRow, GeneScoreRow};
use genolens_text::embed::{cosine, TextEmbedder, TfIdfEmbedder};
use genolens_text::mention::MentionExtractor;
use genolens_text::profile::{
    gene_profiles, profile_embeddings, AnnotatedCorpus, GeneProfile, TraitQuery,
};
use ndarray::Array2;

use crate::error::{Error, Result};

/// A sentence supporting a gene's prior score: the same record as a gene
/// profile's evidence (PMID, sentence, PubTator character offsets, BM25).
pub use genolens_text::profile::Evidence as PriorEvidence;

/// One gene's prior.
#[derive(Debug, Clone, PartialEq)]
pub struct GenePrior {
    /// NCBI Entrez Gene id (or the name a user table gave, when it could not
    /// be resolved to an id).
    pub gene_id: String,
    /// Official symbol.
    pub symbol: String,
    /// The score, in [0, 1].
    pub score: f64,
    /// Documents behind the score (abstracts co-mentioning gene and trait).
    pub n_docs: usize,
    /// PubMed ids of the evidence.
    pub evidence_pmids: Vec<String>,
    /// The best supporting sentences, best first.
    pub evidence: Vec<PriorEvidence>,
    /// The gene's literature embedding (mean embedding of the sentences that
    /// mention it), when asked for.
    pub embedding: Option<Vec<f32>>,
}

/// Where a prior came from.
#[derive(Debug, Clone, PartialEq)]
pub enum PriorSource {
    /// Literature profiles for a trait query.
    Literature {
        /// The query.
        query: String,
        /// Documents in the corpus.
        documents: usize,
        /// Sentences about the trait.
        trait_sentences: usize,
        /// The embedder, when embeddings were made.
        embedder: Option<String>,
    },
    /// A user table of gene scores.
    Table {
        /// Whether the scores were rescaled to [0, 1] (they were outside it).
        rescaled: bool,
    },
}

/// A gene prior over many genes, highest score first.
#[derive(Debug, Clone, PartialEq)]
pub struct GenePriors {
    /// The genes.
    pub genes: Vec<GenePrior>,
    /// Where the scores came from.
    pub source: PriorSource,
}

/// Options of [`GenePriors::from_literature`].
#[derive(Debug, Clone, PartialEq)]
pub struct LiteratureOptions {
    /// Evidence sentences kept per gene.
    pub evidence_sentences: usize,
    /// Keep genes without co-mention (score 0) in the prior, so that their
    /// embeddings reach gene-token fusion.
    pub keep_unlinked: bool,
}

impl Default for LiteratureOptions {
    fn default() -> Self {
        Self {
            evidence_sentences: 5,
            keep_unlinked: true,
        }
    }
}

/// What happened to the rows of a user table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableReport {
    /// Rows read.
    pub rows: usize,
    /// Rows whose gene was resolved through the nomenclature (by id, symbol
    /// or a unique alias).
    pub resolved: usize,
    /// Rows whose gene the nomenclature does not know: `(line, name)`. They
    /// are left out of the prior.
    pub unknown: Vec<(usize, String)>,
    /// Rows resolved to a gene another row already gave: `(line, name)`; the
    /// higher score is kept.
    pub duplicates: Vec<(usize, String)>,
}

/// The lower 95 % confidence bound of a Haldane-corrected log-odds ratio
/// from its 2 × 2 counts.
fn log_odds_lower_bound(a: f64, b: f64, c: f64, d: f64) -> f64 {
    let lo = ((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))).ln();
    let se = (1.0 / (a + 0.5) + 1.0 / (b + 0.5) + 1.0 / (c + 0.5) + 1.0 / (d + 0.5)).sqrt();
    lo - 1.96 * se
}

impl GenePriors {
    /// The prior of `query` from gene `profiles` made for it over `corpus`
    /// (by [`genolens_text::profile::gene_profiles`] with the same query).
    /// With an `embedder`, every gene gets its literature embedding and the
    /// relevance uses it too.
    ///
    /// Errors when no sentence of the corpus is about the query (the error
    /// names it) or when no gene is mentioned with it.
    pub fn from_literature(
        corpus: &AnnotatedCorpus,
        query: &TraitQuery,
        profiles: &[GeneProfile],
        embedder: Option<&dyn TextEmbedder>,
        options: &LiteratureOptions,
    ) -> Result<Self> {
        let n_sent = corpus.sentences.len();
        let about = (0..n_sent).filter(|&i| query.matches(corpus, i)).count();
        if about == 0 {
            return Err(Error::invalid(format!(
                "query {:?} matches no sentence of the {} documents{}",
                query.text,
                corpus.len(),
                if query.disease_ids.is_empty() {
                    " (no disease id recognised in it; every query word must occur in a sentence)"
                } else {
                    ""
                }
            )));
        }
        let linked = profiles.iter().filter(|p| p.co_mentions > 0).count();
        if linked == 0 {
            return Err(Error::invalid(format!(
                "no gene is mentioned together with {:?} in the corpus ({about} sentences are \
                 about it)",
                query.text
            )));
        }
        let kept: Vec<&GeneProfile> = profiles
            .iter()
            .filter(|p| options.keep_unlinked || p.co_mentions > 0)
            .collect();
        let embeddings = match embedder {
            Some(e) => {
                let owned: Vec<GeneProfile> = kept.iter().map(|p| (*p).clone()).collect();
                let m = profile_embeddings(corpus, &owned, e)?;
                let q = e.embed(&[query.text.as_str()])?;
                Some((m, q))
            }
            None => None,
        };
        let lexical: Vec<f64> = kept
            .iter()
            .map(|p| p.evidence.first().map_or(0.0, |e| e.score.max(0.0)))
            .collect();
        let dense: Option<Vec<f64>> = embeddings.as_ref().map(|(m, q)| {
            m.rows()
                .into_iter()
                .map(|r| f64::from(cosine(r, q.row(0))).max(0.0))
                .collect()
        });
        let relative = |v: &[f64]| -> Vec<f64> {
            let top = v.iter().copied().fold(0.0f64, f64::max);
            v.iter()
                .map(|x| if top > 0.0 { x / top } else { 0.0 })
                .collect()
        };
        let lexical = relative(&lexical);
        let relevance: Vec<f64> = match &dense {
            Some(d) => lexical
                .iter()
                .zip(relative(d))
                .map(|(l, d)| 0.5 * (l + d))
                .collect(),
            None => lexical,
        };
        let about_f = about as f64;
        let mut genes: Vec<GenePrior> = kept
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let a = p.co_mentions as f64;
                let b = (p.sentences - p.co_mentions) as f64;
                let c = about_f - a;
                let d = (n_sent as f64 - about_f) - b;
                let score = if p.co_mentions == 0 {
                    0.0
                } else {
                    let bound = log_odds_lower_bound(a, b, c, d).max(0.0);
                    (1.0 - (-bound).exp()) * (0.5 + 0.5 * relevance[k])
                };
                let mut pmids: Vec<String> = p.evidence.iter().map(|e| e.pmid.clone()).collect();
                pmids.dedup();
                let mut seen = std::collections::HashSet::new();
                pmids.retain(|x| seen.insert(x.clone()));
                GenePrior {
                    gene_id: p.gene_id.clone(),
                    symbol: p.symbol.clone(),
                    score,
                    n_docs: p.co_documents,
                    evidence_pmids: pmids,
                    evidence: p
                        .evidence
                        .iter()
                        .take(options.evidence_sentences)
                        .cloned()
                        .collect(),
                    embedding: embeddings.as_ref().map(|(m, _)| m.row(k).to_vec()),
                }
            })
            .collect();
        sort_genes(&mut genes);
        Ok(Self {
            genes,
            source: PriorSource::Literature {
                query: query.text.clone(),
                documents: corpus.len(),
                trait_sentences: about,
                embedder: embedder.map(|e| e.describe()),
            },
        })
    }

    /// A prior from a user table of gene scores. Genes are resolved through
    /// the nomenclature `names` (and `aliases`, where an alias names one gene
    /// only): an all-digit name is an Entrez id, anything else a symbol. Rows
    /// the nomenclature does not know are left out and listed in the report;
    /// without a nomenclature every row is kept as written. Scores outside
    /// [0, 1] are rescaled linearly to it (min → 0, max → 1).
    pub fn from_table(
        rows: &[GeneScoreRow],
        names: Option<(&[GeneName], &GeneAliases)>,
    ) -> Result<(Self, TableReport)> {
        let mut report = TableReport {
            rows: rows.len(),
            ..TableReport::default()
        };
        let (lo, hi) = rows
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), r| {
                (l.min(r.score), h.max(r.score))
            });
        let rescaled = lo < 0.0 || hi > 1.0;
        let scale = |s: f64| {
            if !rescaled {
                s
            } else if hi > lo {
                (s - lo) / (hi - lo)
            } else {
                1.0
            }
        };
        let by_id: HashMap<u64, &GeneName> = names
            .map(|(n, _)| n.iter().map(|g| (g.entrez_id, g)).collect())
            .unwrap_or_default();
        let by_symbol: HashMap<&str, &GeneName> = names
            .map(|(n, _)| n.iter().map(|g| (g.symbol.as_str(), g)).collect())
            .unwrap_or_default();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut genes: Vec<GenePrior> = Vec::new();
        for r in rows {
            let resolved: Option<(String, String)> = match names {
                None => Some((
                    r.gene.clone(),
                    r.symbol.clone().unwrap_or_else(|| r.gene.clone()),
                )),
                Some((_, aliases)) => {
                    let hit = if r.gene.bytes().all(|b| b.is_ascii_digit()) {
                        r.gene
                            .parse::<u64>()
                            .ok()
                            .and_then(|id| by_id.get(&id).copied())
                    } else {
                        by_symbol.get(r.gene.as_str()).copied().or_else(|| {
                            match aliases.lookup(&r.gene) {
                                [(one, _)] => by_id.get(one).copied(),
                                _ => None,
                            }
                        })
                    };
                    hit.map(|g| (g.entrez_id.to_string(), g.symbol.clone()))
                }
            };
            let Some((gene_id, symbol)) = resolved else {
                report.unknown.push((r.line, r.gene.clone()));
                continue;
            };
            if names.is_some() {
                report.resolved += 1;
            }
            let prior = GenePrior {
                gene_id: gene_id.clone(),
                symbol,
                score: scale(r.score),
                n_docs: r.n_docs.unwrap_or(0),
                evidence_pmids: r.evidence_pmids.clone(),
                evidence: Vec::new(),
                embedding: None,
            };
            match index.get(&gene_id) {
                Some(&k) => {
                    report.duplicates.push((r.line, r.gene.clone()));
                    if prior.score > genes[k].score {
                        genes[k] = prior;
                    }
                }
                None => {
                    index.insert(gene_id, genes.len());
                    genes.push(prior);
                }
            }
        }
        if genes.is_empty() {
            return Err(Error::invalid(format!(
                "none of the {} genes of the prior table is a known gene (first: {})",
                rows.len(),
                report
                    .unknown
                    .first()
                    .map_or("-".to_string(), |(_, g)| g.clone())
            )));
        }
        sort_genes(&mut genes);
        Ok((
            Self {
                genes,
                source: PriorSource::Table { rescaled },
            },
            report,
        ))
    }

    /// Attaches evidence sentences (e.g. read back from `gene_evidence.tsv`)
    /// to the genes they name; rows of unknown genes are ignored.
    pub fn attach_evidence(&mut self, rows: &[EvidenceRow]) {
        let index: HashMap<&str, usize> = self
            .genes
            .iter()
            .enumerate()
            .map(|(k, g)| (g.gene_id.as_str(), k))
            .collect();
        let mut found: Vec<Vec<PriorEvidence>> = vec![Vec::new(); self.genes.len()];
        for r in rows {
            if let Some(&k) = index.get(r.gene_id.as_str()) {
                found[k].push(PriorEvidence {
                    pmid: r.pmid.clone(),
                    sentence: r.sentence.clone(),
                    start: r.start,
                    end: r.end,
                    score: r.score,
                });
            }
        }
        for (g, ev) in self.genes.iter_mut().zip(found) {
            if !ev.is_empty() {
                g.evidence = ev;
            }
        }
    }

    /// Attaches embeddings, one row per gene in [`genes`](Self::genes) order.
    pub fn attach_embeddings(&mut self, m: &Array2<f32>) -> Result<()> {
        if m.nrows() != self.genes.len() {
            return Err(Error::invalid(format!(
                "{} embedding rows for {} genes of the prior",
                m.nrows(),
                self.genes.len()
            )));
        }
        for (g, row) in self.genes.iter_mut().zip(m.rows()) {
            g.embedding = Some(row.to_vec());
        }
        Ok(())
    }

    /// Number of genes.
    pub fn len(&self) -> usize {
        self.genes.len()
    }

    /// Whether there is no gene.
    pub fn is_empty(&self) -> bool {
        self.genes.is_empty()
    }

    /// Genes with a score above 0.
    pub fn n_supported(&self) -> usize {
        self.genes.iter().filter(|g| g.score > 0.0).count()
    }

    /// The embedding width, when every gene has an embedding.
    pub fn embedding_dim(&self) -> Option<usize> {
        let first = self.genes.first()?.embedding.as_ref()?.len();
        self.genes
            .iter()
            .all(|g| g.embedding.as_ref().is_some_and(|e| e.len() == first))
            .then_some(first)
    }

    /// The embeddings as a matrix (one row per gene), when every gene has one.
    pub fn embedding_matrix(&self) -> Option<Array2<f32>> {
        let d = self.embedding_dim()?;
        let mut m = Array2::<f32>::zeros((self.genes.len(), d));
        for (mut row, g) in m.rows_mut().into_iter().zip(&self.genes) {
            if let Some(e) = &g.embedding {
                row.iter_mut().zip(e).for_each(|(o, v)| *o = *v);
            }
        }
        Some(m)
    }

    /// The prior as table rows (`gene_prior.tsv`).
    pub fn to_rows(&self) -> Vec<GeneScoreRow> {
        self.genes
            .iter()
            .enumerate()
            .map(|(k, g)| GeneScoreRow {
                line: k + 2,
                gene: g.gene_id.clone(),
                symbol: Some(g.symbol.clone()),
                score: g.score,
                n_docs: Some(g.n_docs),
                evidence_pmids: g.evidence_pmids.clone(),
            })
            .collect()
    }

    /// The evidence sentences as table rows (`gene_evidence.tsv`).
    pub fn evidence_rows(&self) -> Vec<EvidenceRow> {
        self.genes
            .iter()
            .flat_map(|g| {
                g.evidence.iter().map(move |e| EvidenceRow {
                    gene_id: g.gene_id.clone(),
                    symbol: g.symbol.clone(),
                    pmid: e.pmid.clone(),
                    start: e.start,
                    end: e.end,
                    score: e.score,
                    sentence: e.sentence.clone(),
                })
            })
            .collect()
    }

    /// The same genes with their scores and embeddings permuted among them
    /// by a seeded shuffle (evidence stays with its gene): the control prior
    /// of the fusion benchmark, which must show no gain.
    pub fn shuffled(&self, seed: u64) -> Self {
        let order = genolens_features::split::permutation(self.genes.len(), seed);
        let mut out = self.clone();
        for (g, &k) in out.genes.iter_mut().zip(&order) {
            g.score = self.genes[k].score;
            g.embedding = self.genes[k].embedding.clone();
        }
        sort_genes(&mut out.genes);
        out
    }
}

/// How gene literature embeddings are made, if at all.
#[derive(Clone, Copy)]
pub enum GeneEmbedding<'a> {
    /// No embeddings.
    None,
    /// Hashed TF-IDF vectors of this width, fitted on the corpus.
    TfIdf(usize),
    /// A caller's embedder (e.g. rust-bert's all-MiniLM-L6-v2).
    With(&'a dyn TextEmbedder),
}

/// What [`literature_prior`] found, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LiteratureSummary {
    /// Documents read.
    pub documents: usize,
    /// Sentences.
    pub sentences: usize,
    /// Gene mentions with an id.
    pub gene_mentions: usize,
    /// Genes mentioned.
    pub genes: usize,
    /// Disease ids the query resolved to (empty: matched by its words).
    pub disease_ids: Vec<String>,
}

/// The whole literature step: mentions in `corpus` by `extractor`, gene
/// profiles for `query`, embeddings, and the prior
/// ([`GenePriors::from_literature`]). `symbols` maps Entrez ids to official
/// symbols; `progress` gets the documents done.
pub fn literature_prior(
    corpus: &Corpus,
    extractor: &MentionExtractor,
    query: &str,
    symbols: &HashMap<String, String>,
    embedding: GeneEmbedding<'_>,
    options: &LiteratureOptions,
    progress: &dyn Fn(usize),
) -> Result<(GenePriors, LiteratureSummary)> {
    let annotated = AnnotatedCorpus::with_progress(corpus, extractor, progress)?;
    let query = TraitQuery::new(query, extractor)?;
    let profiles = gene_profiles(
        &annotated,
        Some(&query),
        symbols,
        options.evidence_sentences,
    );
    let tfidf;
    let embedder: Option<&dyn TextEmbedder> = match embedding {
        GeneEmbedding::None => None,
        GeneEmbedding::TfIdf(dim) => {
            let texts: Vec<&str> = annotated.texts.iter().map(String::as_str).collect();
            tfidf = TfIdfEmbedder::fit(&texts, dim)?;
            Some(&tfidf)
        }
        GeneEmbedding::With(e) => Some(e),
    };
    let priors = GenePriors::from_literature(&annotated, &query, &profiles, embedder, options)?;
    let summary = LiteratureSummary {
        documents: annotated.len(),
        sentences: annotated.sentences.len(),
        gene_mentions: annotated
            .mentions
            .iter()
            .flatten()
            .filter(|m| m.kind == genolens_text::mention::MentionKind::Gene && !m.id.is_empty())
            .count(),
        genes: profiles.len(),
        disease_ids: query.disease_ids.clone(),
    };
    Ok((priors, summary))
}

/// Highest score first, then symbol, then id: a stable, readable order.
fn sort_genes(genes: &mut [GenePrior]) {
    genes.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.symbol.cmp(&b.symbol))
            .then_with(|| a.gene_id.cmp(&b.gene_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_grows_with_evidence_and_is_below_the_estimate() {
        // Same log-odds from 1 and from 10 co-mentions: more evidence, tighter bound.
        let one = log_odds_lower_bound(1.0, 1.0, 20.0, 1000.0);
        let ten = log_odds_lower_bound(10.0, 10.0, 200.0, 10_000.0);
        assert!(ten > one, "{one} {ten}");
        let lo = ((10.5f64 * 10_000.5) / (10.5 * 200.5)).ln();
        assert!(ten < lo);
        // No association: bound below 0.
        assert!(log_odds_lower_bound(5.0, 95.0, 50.0, 950.0) < 0.0);
    }

    fn row(line: usize, gene: &str, score: f64) -> GeneScoreRow {
        GeneScoreRow {
            line,
            gene: gene.into(),
            symbol: None,
            score,
            n_docs: None,
            evidence_pmids: vec![],
        }
    }

    #[test]
    fn user_tables_resolve_rescale_and_report_unknown_genes() {
        let names = vec![
            GeneName {
                entrez_id: 3757,
                symbol: "KCNH2".into(),
                gene_type: "protein-coding".into(),
                name: "potassium channel".into(),
            },
            GeneName {
                entrez_id: 6331,
                symbol: "SCN5A".into(),
                gene_type: "protein-coding".into(),
                name: "sodium channel".into(),
            },
        ];
        let aliases = GeneAliases::default();
        let rows = vec![
            row(2, "KCNH2", 4.0),
            row(3, "6331", -2.0),
            row(4, "NOTAGENE", 1.0),
            row(5, "3757", 1.0),
        ];
        let (p, report) = GenePriors::from_table(&rows, Some((&names, &aliases))).unwrap();
        assert_eq!(report.unknown, vec![(4, "NOTAGENE".to_string())]);
        assert_eq!(report.duplicates.len(), 1);
        assert_eq!(p.len(), 2);
        assert_eq!(p.genes[0].symbol, "KCNH2");
        assert_eq!(p.genes[0].gene_id, "3757");
        assert!((p.genes[0].score - 1.0).abs() < 1e-12);
        assert!((p.genes[1].score - 0.0).abs() < 1e-12);
        assert_eq!(p.source, PriorSource::Table { rescaled: true });
        // Nothing known: an error naming a gene.
        let e = GenePriors::from_table(&[row(2, "X1", 0.5)], Some((&names, &aliases)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("X1"), "{e}");
        // Without a nomenclature, names are kept as they are; [0, 1] is kept.
        let (p, _) = GenePriors::from_table(&[row(2, "LCT", 0.25)], None).unwrap();
        assert_eq!(
            (p.genes[0].gene_id.as_str(), p.genes[0].score),
            ("LCT", 0.25)
        );
        let shuffled = p.shuffled(3);
        assert_eq!(shuffled.genes[0].score, 0.25);
    }
}
