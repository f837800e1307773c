//! Reading a corpus and building the mention dictionaries, as the literature
//! steps (the gene prior, explanations' evidence) share them.

use std::path::Path;

use crate::io::corpus::{Corpus, MentionCheck};
use crate::io::genes::{GeneAliases, GeneName};
use crate::text::embed::TextEmbedder;
use crate::text::mention::{
    disease_dictionary, gene_dictionary, tune_gene_dictionary, GeneRules, MentionExtractor,
};
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
