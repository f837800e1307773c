//! Tables and summaries of a literature run, written atomically (a temporary
//! file renamed into place, so a failed run leaves no partial output).

use std::fmt::Write as _;
use std::path::Path;

use genolens_io::atomic::{commit_all, AtomicFile};
use ndarray::Array2;
use ndarray_npy::WriteNpyExt;

use crate::error::{Error, Result};
use crate::preprocess::CharOffsets;
use crate::profile::{AnnotatedCorpus, GeneProfile};

/// Where a retrieval hit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitSource {
    /// BM25 over whole abstracts.
    Bm25Abstract,
    /// BM25 over sentences.
    Bm25Sentence,
    /// Cosine similarity of sentence embeddings.
    DenseSentence,
}

impl HitSource {
    /// The name written in the hits table.
    pub fn as_str(self) -> &'static str {
        match self {
            HitSource::Bm25Abstract => "bm25_abstract",
            HitSource::Bm25Sentence => "bm25_sentence",
            HitSource::DenseSentence => "dense_sentence",
        }
    }
}

/// One row of the hits table.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedText {
    /// How it was found.
    pub source: HitSource,
    /// 1-based rank within its source.
    pub rank: usize,
    /// PubMed id.
    pub pmid: String,
    /// Score (BM25 or cosine).
    pub score: f64,
    /// The abstract's title or the sentence.
    pub text: String,
}

fn tsv_field(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// `pmid start end text type id`, one mention per line, with character
/// offsets into `title + " " + abstract` as PubTator counts them.
pub fn mentions_tsv(corpus: &AnnotatedCorpus) -> String {
    let mut out = String::from("pmid\tstart\tend\ttext\ttype\tid\n");
    for (d, ms) in corpus.mentions.iter().enumerate() {
        if ms.is_empty() {
            continue;
        }
        let offsets = CharOffsets::new(&corpus.texts[d]);
        for m in ms {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                corpus.pmids[d],
                offsets.char_of(m.span.start),
                offsets.char_of(m.span.end),
                tsv_field(corpus.mention_text(d, m)),
                m.kind,
                m.id
            );
        }
    }
    out
}

/// The gene table: `gene_id symbol mentions documents sentences co_mentions
/// co_documents log_odds top_pmids top_sentence` (`NA` without a query or
/// co-mention).
pub fn genes_tsv(profiles: &[GeneProfile]) -> String {
    let mut out = String::from(
        "gene_id\tsymbol\tmentions\tdocuments\tsentences\tco_mentions\tco_documents\tlog_odds\ttop_pmids\ttop_sentence\n",
    );
    for p in profiles {
        let log_odds = p
            .log_odds
            .map_or_else(|| "NA".to_string(), |x| format!("{x:.4}"));
        let mut pmids: Vec<&str> = Vec::new();
        for e in &p.evidence {
            if !pmids.contains(&e.pmid.as_str()) {
                pmids.push(&e.pmid);
            }
        }
        let pmids = if pmids.is_empty() {
            "NA".to_string()
        } else {
            pmids.join(",")
        };
        let sentence = p
            .evidence
            .first()
            .map_or_else(|| "NA".to_string(), |e| tsv_field(&e.sentence));
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            p.gene_id,
            tsv_field(&p.symbol),
            p.mentions,
            p.documents,
            p.sentences,
            p.co_mentions,
            p.co_documents,
            log_odds,
            pmids,
            sentence
        );
    }
    out
}

/// The hits table: `source rank pmid score text`.
pub fn hits_tsv(hits: &[RankedText]) -> String {
    let mut out = String::from("source\trank\tpmid\tscore\ttext\n");
    for h in hits {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{:.6}\t{}",
            h.source.as_str(),
            h.rank,
            h.pmid,
            h.score,
            tsv_field(&h.text)
        );
    }
    out
}

/// A Markdown summary: the query, the top `top` genes with their counts and
/// evidence sentences (each with its PubMed link), and the top hits.
pub fn summary_markdown(
    query: Option<&str>,
    n_documents: usize,
    profiles: &[GeneProfile],
    hits: &[RankedText],
    top: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Literature summary\n");
    match query {
        Some(q) => {
            let _ = writeln!(out, "Query: **{q}** over {n_documents} abstracts.\n");
        }
        None => {
            let _ = writeln!(out, "{n_documents} abstracts, no query.\n");
        }
    }
    let _ = writeln!(out, "## Top genes\n");
    let _ = writeln!(
        out,
        "| rank | gene | Entrez | mentions | co-mentions | log-odds |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|");
    for (i, p) in profiles.iter().take(top).enumerate() {
        let lo = p
            .log_odds
            .map_or_else(|| "–".to_string(), |x| format!("{x:.2}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            p.symbol.replace('|', "\\|"),
            p.gene_id,
            p.mentions,
            p.co_mentions,
            lo
        );
    }
    for p in profiles.iter().take(top).filter(|p| !p.evidence.is_empty()) {
        let _ = writeln!(out, "\n### {} (Entrez {})\n", p.symbol, p.gene_id);
        for e in &p.evidence {
            let _ = writeln!(
                out,
                "- {} ([PMID {}](https://pubmed.ncbi.nlm.nih.gov/{}/))",
                e.sentence.replace('\n', " "),
                e.pmid,
                e.pmid
            );
        }
    }
    if !hits.is_empty() {
        let _ = writeln!(out, "\n## Retrieved\n");
        for h in hits.iter().filter(|h| h.rank <= 5) {
            let _ = writeln!(
                out,
                "- {} #{} PMID {} ({:.3}): {}",
                h.source.as_str(),
                h.rank,
                h.pmid,
                h.score,
                h.text.replace('\n', " ")
            );
        }
    }
    out
}

/// A float32 matrix as `.npy` bytes (what numpy and PyTorch load).
pub fn npy_bytes(matrix: &Array2<f32>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    matrix
        .write_npy(&mut buf)
        .map_err(|e| Error::invalid(format!("encoding .npy: {e}")))?;
    Ok(buf)
}

/// Writes several files so that either all appear or none: each goes to a
/// temporary file first, and all are renamed once every one is written.
pub fn write_all_or_none(files: &[(&Path, &[u8])]) -> Result<()> {
    let mut pending = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let mut f = AtomicFile::create(path)?;
        f.write_all(bytes)?;
        pending.push(f);
    }
    commit_all(pending)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mention::{CaseRule, Dictionary, Entry, MentionExtractor};
    use genolens_io::corpus::{Corpus, Document};

    #[test]
    fn mention_offsets_count_characters_like_pubtator() {
        let mut g = Dictionary::new(true);
        g.insert(
            "TGFB1",
            Entry {
                id: "7040".into(),
                case: CaseRule::Capitalised,
            },
        );
        let c = Corpus {
            documents: vec![Document {
                pmid: "9".into(),
                title: "Rôle of TGF-β1".into(),
                abstract_text: "TGF-β1 again.".into(),
                annotations: vec![],
                relations: vec![],
            }],
        };
        let ac = AnnotatedCorpus::new(&c, &MentionExtractor::new().with_genes(g)).unwrap();
        let tsv = mentions_tsv(&ac);
        let lines: Vec<&str> = tsv.lines().collect();
        assert_eq!(lines[0], "pmid\tstart\tend\ttext\ttype\tid");
        assert_eq!(lines[1], "9\t8\t14\tTGF-β1\tGene\t7040");
        assert_eq!(lines[2], "9\t15\t21\tTGF-β1\tGene\t7040");
        let text: Vec<char> = c.documents[0].text().chars().collect();
        assert_eq!(text[15..21].iter().collect::<String>(), "TGF-β1");
    }

    #[test]
    fn npy_has_the_numpy_header() {
        let b = npy_bytes(&Array2::<f32>::zeros((2, 3))).unwrap();
        assert_eq!(&b[..6], b"\x93NUMPY");
        assert!(String::from_utf8_lossy(&b).contains("'shape': (2, 3)"));
    }
}
