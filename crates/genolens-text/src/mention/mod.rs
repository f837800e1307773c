//! Mention extraction: genes, diseases and variants found in text and
//! normalised to identifiers.
//!
//! Genes and diseases are matched with [`Dictionary`]s (longest match,
//! per-name case rules); an abbreviation defined in the text right after a
//! match (`long QT syndrome (LQTS)`) becomes a name for the rest of that
//! text. Variants are matched with patterns ([`find_variants`]).

mod dictionary;
mod disease;
mod gene;
mod variant;

use std::fmt;

use genolens_io::corpus::{Corpus, Document, EntityType};

pub use dictionary::{
    fold_spelling, key, CaseRule, Dictionary, DictionaryMatch, Entry, TuneReport,
};
pub use disease::{disease_dictionary, is_disease_type};
pub use gene::{
    gene_dictionary, read_gene_dictionary, tune_gene_dictionary, GeneRules, ENGLISH_WORDS,
};
pub use variant::find_variants;

use crate::preprocess::{tokenize, CharOffsets, Span};

/// What a mention names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum MentionKind {
    /// A gene or gene product (id: NCBI Entrez Gene).
    Gene,
    /// A disease or phenotype (id: MeSH or OMIM, as the dictionary gives).
    Disease,
    /// A sequence variant (id: the rs id, or the notation as written).
    Variant,
}

impl MentionKind {
    /// The name written in tables (`Gene`, `Disease`, `Variant`).
    pub fn as_str(self) -> &'static str {
        match self {
            MentionKind::Gene => "Gene",
            MentionKind::Disease => "Disease",
            MentionKind::Variant => "Variant",
        }
    }
}

impl fmt::Display for MentionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mention found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// Where it lies (bytes into the text given to the extractor).
    pub span: Span,
    /// What it names.
    pub kind: MentionKind,
    /// The normalised identifier.
    pub id: String,
}

/// Finds gene, disease and variant mentions in texts.
#[derive(Debug, Clone, Default)]
pub struct MentionExtractor {
    genes: Option<Dictionary>,
    diseases: Option<Dictionary>,
    variants: bool,
    abbreviations: bool,
}

impl MentionExtractor {
    /// An extractor that finds nothing until given dictionaries; abbreviation
    /// tracking is on.
    pub fn new() -> Self {
        Self {
            abbreviations: true,
            ..Self::default()
        }
    }

    /// Finds genes with this dictionary.
    pub fn with_genes(mut self, genes: Dictionary) -> Self {
        self.genes = Some(genes);
        self
    }

    /// Finds diseases with this dictionary.
    pub fn with_diseases(mut self, diseases: Dictionary) -> Self {
        self.diseases = Some(diseases);
        self
    }

    /// Whether to find variants.
    pub fn with_variants(mut self, on: bool) -> Self {
        self.variants = on;
        self
    }

    /// Whether an abbreviation defined after a mention (`Wilson disease
    /// (WD)`) names the same thing for the rest of the text.
    pub fn with_abbreviations(mut self, on: bool) -> Self {
        self.abbreviations = on;
        self
    }

    /// The gene dictionary, if any.
    pub fn genes(&self) -> Option<&Dictionary> {
        self.genes.as_ref()
    }

    /// The disease dictionary, if any.
    pub fn diseases(&self) -> Option<&Dictionary> {
        self.diseases.as_ref()
    }

    /// Every mention in `text`, ordered by start, then kind. Mentions of one
    /// kind never overlap; mentions of different kinds may
    /// (`BRCA1-associated breast cancer`).
    pub fn extract(&self, text: &str) -> Vec<Mention> {
        let tokens = tokenize(text);
        let mut out = Vec::new();
        for (dict, kind) in [
            (&self.genes, MentionKind::Gene),
            (&self.diseases, MentionKind::Disease),
        ] {
            let Some(dict) = dict else { continue };
            let mut found: Vec<Mention> = dict
                .find_in_tokens(text, &tokens)
                .into_iter()
                .map(|m| Mention {
                    span: m.span,
                    kind,
                    id: m.id,
                })
                .collect();
            if self.abbreviations {
                add_abbreviations(text, &tokens, &mut found, kind);
            }
            out.extend(found);
        }
        if self.variants {
            out.extend(find_variants(text).into_iter().map(|(span, id)| Mention {
                span,
                kind: MentionKind::Variant,
                id,
            }));
        }
        out.sort_by(|a, b| {
            (a.span.start, a.kind, a.span.end).cmp(&(b.span.start, b.kind, b.span.end))
        });
        out
    }
}

/// Adds the abbreviations defined right after a mention, and their later
/// uses, as mentions of the same kind and id.
fn add_abbreviations(
    text: &str,
    tokens: &[crate::preprocess::Token],
    found: &mut Vec<Mention>,
    kind: MentionKind,
) {
    let mut defined: Vec<(String, String)> = Vec::new();
    for m in found.iter() {
        let after = &text[m.span.end..];
        let Some(inner) = after.strip_prefix(" (").or_else(|| after.strip_prefix('(')) else {
            continue;
        };
        let Some(close) = inner.find([')', ';', ',']) else {
            continue;
        };
        let abbr = &inner[..close];
        if is_abbreviation_of(abbr, m.span.of(text)) && !defined.iter().any(|(a, _)| a == abbr) {
            defined.push((abbr.to_string(), m.id.clone()));
        }
    }
    if defined.is_empty() {
        return;
    }
    let mut added = Vec::new();
    for t in tokens {
        let word = t.text(text);
        let Some((_, id)) = defined.iter().find(|(a, _)| a == word) else {
            continue;
        };
        if found
            .iter()
            .any(|m| m.span.start < t.span.end && t.span.start < m.span.end)
        {
            continue;
        }
        added.push(Mention {
            span: t.span,
            kind,
            id: id.clone(),
        });
    }
    found.extend(added);
    found.sort_by_key(|m| m.span);
}

/// Whether `abbr` can abbreviate `long`: 2 to 10 characters without spaces,
/// at least one upper-case letter, its first letter starting a word of
/// `long`, and its letters and digits found in `long` in order (the
/// Schwartz–Hearst rule, simplified).
fn is_abbreviation_of(abbr: &str, long: &str) -> bool {
    let n = abbr.chars().count();
    if !(2..=10).contains(&n)
        || abbr.contains(char::is_whitespace)
        || !abbr.chars().any(char::is_uppercase)
        || !abbr.chars().next().is_some_and(char::is_alphanumeric)
        || abbr.chars().count() >= long.chars().count()
    {
        return false;
    }
    let long_l = long.to_lowercase();
    let first = abbr
        .chars()
        .next()
        .map(|c| c.to_lowercase().to_string())
        .unwrap_or_default();
    let starts_word = long_l
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.starts_with(first.as_str()));
    if !starts_word {
        return false;
    }
    let mut rest = long_l.chars();
    abbr.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .all(|c| rest.any(|l| l == c))
}

/// Every document's text with its gold mentions whose type passes `keep` (the
/// input of [`Dictionary::tune`] and [`Dictionary::learn_modifiers`]).
pub fn gold_texts(
    corpus: &Corpus,
    keep: impl Fn(EntityType) -> bool,
) -> Vec<(String, Vec<(Span, String)>)> {
    corpus
        .iter()
        .map(|d| {
            let text = d.text();
            let gold = gold_mentions(d, &text, &keep);
            (text, gold)
        })
        .collect()
}

/// A document's gold mentions whose type passes `keep`, as byte spans into
/// `text` (the document's [`Document::text`]) with their first identifier
/// (empty when none).
pub fn gold_mentions(
    doc: &Document,
    text: &str,
    keep: impl Fn(EntityType) -> bool,
) -> Vec<(Span, String)> {
    let offsets = CharOffsets::new(text);
    doc.annotations
        .iter()
        .filter(|a| keep(a.entity_type))
        .filter_map(|a| {
            let start = offsets.byte_of(a.start)?;
            let end = offsets.byte_of(a.end)?;
            Some((
                Span::new(start, end),
                a.ids.first().cloned().unwrap_or_default(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extractor() -> MentionExtractor {
        let mut diseases = Dictionary::new(false);
        diseases.insert(
            "Wilson disease",
            Entry {
                id: "D006527".into(),
                case: CaseRule::Any,
            },
        );
        diseases.insert(
            "breast cancer",
            Entry {
                id: "D001943".into(),
                case: CaseRule::Any,
            },
        );
        let mut genes = Dictionary::new(true);
        genes.insert(
            "ATP7B",
            Entry {
                id: "540".into(),
                case: CaseRule::Capitalised,
            },
        );
        genes.insert(
            "BRCA1",
            Entry {
                id: "672".into(),
                case: CaseRule::Capitalised,
            },
        );
        MentionExtractor::new()
            .with_genes(genes)
            .with_diseases(diseases)
            .with_variants(true)
    }

    fn render(text: &str, ms: &[Mention]) -> Vec<String> {
        ms.iter()
            .map(|m| format!("{}:{}:{}", m.kind, m.span.of(text), m.id))
            .collect()
    }

    #[test]
    fn abbreviations_defined_in_text_are_tracked() {
        let text = "ATP7B causes Wilson disease (WD). In WD, copper builds up; WDR is unrelated.";
        let ms = extractor().extract(text);
        assert_eq!(
            render(text, &ms),
            vec![
                "Gene:ATP7B:540",
                "Disease:Wilson disease:D006527",
                "Disease:WD:D006527",
                "Disease:WD:D006527"
            ]
        );
        let off = extractor().with_abbreviations(false).extract(text);
        assert_eq!(off.len(), 2);
    }

    #[test]
    fn kinds_may_overlap_and_come_in_order() {
        let text = "BRCA1-associated breast cancer with rs80357906.";
        assert_eq!(
            render(text, &extractor().extract(text)),
            vec![
                "Gene:BRCA1:672",
                "Disease:breast cancer:D001943",
                "Variant:rs80357906:rs80357906"
            ]
        );
    }

    #[test]
    fn abbreviation_rule() {
        assert!(is_abbreviation_of("LQTS", "long QT syndrome"));
        assert!(is_abbreviation_of("WD", "Wilson disease"));
        assert!(!is_abbreviation_of("see", "Wilson disease"));
        assert!(!is_abbreviation_of("XY", "Wilson disease"));
        assert!(!is_abbreviation_of("a b", "a big one"));
    }
}
