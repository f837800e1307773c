//! Entity linking of tagged spans through the mention dictionaries, and the
//! union of a tagger's and a dictionary's mentions.

use crate::mention::{find_variants, Mention, MentionExtractor, MentionKind};

/// How many mentions linking gave an identifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Mentions given an identifier.
    pub linked: usize,
    /// Mentions left without one (no dictionary entry for the name).
    pub unlinked: usize,
}

/// Gives each mention without an identifier the first entry of its name in
/// the extractor's dictionary of its kind (the normalised-key match the
/// dictionary uses itself: case, punctuation and Greek letters folded).
/// Variants take the rs id or notation the variant patterns read in the span,
/// else the text as written. Mentions that already carry an id are kept.
pub fn link_mentions(
    mentions: &mut [Mention],
    text: &str,
    extractor: &MentionExtractor,
) -> LinkCounts {
    let mut counts = LinkCounts::default();
    for m in mentions.iter_mut() {
        if !m.id.is_empty() {
            counts.linked += 1;
            continue;
        }
        let name = m.span.of(text);
        let id = match m.kind {
            MentionKind::Gene => extractor
                .genes()
                .and_then(|d| d.lookup(name).first())
                .map(|e| e.id.clone()),
            MentionKind::Disease => extractor
                .diseases()
                .and_then(|d| d.lookup(name).first())
                .map(|e| e.id.clone()),
            MentionKind::Variant => Some(
                find_variants(name)
                    .into_iter()
                    .next()
                    .map_or_else(|| name.to_string(), |(_, id)| id),
            ),
        };
        match id {
            Some(id) => {
                m.id = id;
                counts.linked += 1;
            }
            None => counts.unlinked += 1,
        }
    }
    counts
}

/// The tagger's mentions plus the dictionary's mentions that overlap none of
/// them (the tagger decides bounds where both found something), in text order.
pub fn union_mentions(model: Vec<Mention>, dictionary: Vec<Mention>) -> Vec<Mention> {
    let mut out = model;
    let extra: Vec<Mention> = dictionary
        .into_iter()
        .filter(|d| {
            !out.iter()
                .any(|m| m.span.start < d.span.end && d.span.start < m.span.end)
        })
        .collect();
    out.extend(extra);
    out.sort_by_key(|m| (m.span.start, m.span.end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mention::{CaseRule, Dictionary, Entry};
    use crate::preprocess::Span;

    #[test]
    fn spans_are_linked_by_normalised_name_and_unions_prefer_the_tagger() {
        let mut genes = Dictionary::new(true);
        genes.insert(
            "TGF-beta1",
            Entry {
                id: "7040".into(),
                case: CaseRule::Any,
            },
        );
        let ex = MentionExtractor::new().with_genes(genes);
        let text = "TGF-β1 and FOO1 with rs123 near c.35delG";
        let m = |s: usize, e: usize, kind| Mention {
            span: Span::new(s, e),
            kind,
            id: String::new(),
        };
        let gene_end = "TGF-β1".len();
        let foo = text.find("FOO1").unwrap();
        let rs = text.find("rs123").unwrap();
        let mut found = vec![
            m(0, gene_end, MentionKind::Gene),
            m(foo, foo + 4, MentionKind::Gene),
            m(rs, rs + 5, MentionKind::Variant),
        ];
        let counts = link_mentions(&mut found, text, &ex);
        assert_eq!(found[0].id, "7040");
        assert_eq!(found[1].id, "");
        assert_eq!(found[2].id, "rs123");
        assert_eq!(
            counts,
            LinkCounts {
                linked: 2,
                unlinked: 1
            }
        );
        let dict = vec![
            m(0, 3, MentionKind::Gene),
            m(rs + 9, rs + 13, MentionKind::Gene),
        ];
        let joined = union_mentions(found.clone(), dict);
        assert_eq!(joined.len(), 4);
        assert_eq!(joined[0], found[0]);
        assert_eq!(joined[3].span, Span::new(rs + 9, rs + 13));
    }
}
