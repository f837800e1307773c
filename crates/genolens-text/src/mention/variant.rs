//! Sequence-variant mentions: dbSNP rs ids and HGVS-like notation.

use std::sync::LazyLock;

use regex::Regex;

use crate::preprocess::Span;

const AA3: &str =
    "Ala|Arg|Asn|Asp|Cys|Gln|Glu|Gly|His|Ile|Leu|Lys|Met|Phe|Pro|Ser|Thr|Trp|Tyr|Val|Ter|Sec|Xaa";
const AA1: &str = "[ACDEFGHIKLMNPQRSTVWY]";

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    let pos = r"[-*]?\d+(?:[+-]\d+)?";
    let edit = r"(?:[ACGTUacgtu]+>[ACGTUacgtu]+|delins[ACGTacgt]+|del[ACGTacgt]*|dup[ACGTacgt]*|ins[ACGTacgt]+|inv)";
    let aa_change = format!(r"(?:{AA3}|{AA1})\d+(?:{AA3}|{AA1}|\*|X|fs|del|dup)(?:fs\*?\d*)?");
    [
        // dbSNP.
        r"\brs\d{2,}\b".to_string(),
        // HGVS DNA/RNA: c.123A>G, c.-12+3del, g.100_102dupTT, m.3243A>G.
        format!(r"\b[cgmnr]\.{pos}(?:_{pos})?{edit}"),
        // HGVS protein: p.Val600Glu, p.(Arg97*), p.V600E, p.Leu5fs.
        format!(r"\bp\.\(?{aa_change}\)?"),
        // Three-letter protein changes without the prefix: Arg506Gln.
        format!(r"\b(?:{AA3})\d+(?:{AA3}|\*)\b"),
        // One-letter protein changes: V600E, I1762A (two or more digits).
        format!(r"\b{AA1}\d{{2,5}}{AA1}\b"),
        // Nucleotide substitutions: 1763G>A, G-->A.
        r"\b\d+[ACGT]>[ACGT]\b".to_string(),
        r"\b[ACGT] ?-{1,2}> ?[ACGT]\b".to_string(),
    ]
    .iter()
    .map(|p| Regex::new(p).expect("static pattern"))
    .collect()
});

/// Finds variant mentions, returning each span with its identifier: the rs id
/// for dbSNP mentions (`rs12345`), the text itself otherwise. Overlapping
/// matches keep the longest (then the earliest).
pub fn find_variants(text: &str) -> Vec<(Span, String)> {
    let mut found: Vec<Span> = PATTERNS
        .iter()
        .flat_map(|re| re.find_iter(text).map(|m| Span::new(m.start(), m.end())))
        .collect();
    found.sort_by(|a, b| {
        (b.end - b.start)
            .cmp(&(a.end - a.start))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Span> = Vec::new();
    for s in found {
        if kept.iter().all(|k| s.end <= k.start || k.end <= s.start) {
            kept.push(s);
        }
    }
    kept.sort();
    kept.into_iter()
        .map(|s| (s, s.of(text).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rs_ids_hgvs_and_protein_changes() {
        let text = "Carriers of rs7412 and c.123A>G (p.Val600Glu, V600E) or c.-12+3del, \
                    p.(Arg97*), Arg506Gln, a 1763G>A change (G-->A); not A549 or T-cells.";
        let got: Vec<String> = find_variants(text).into_iter().map(|(_, id)| id).collect();
        assert_eq!(
            got,
            vec![
                "rs7412",
                "c.123A>G",
                "p.Val600Glu",
                "V600E",
                "c.-12+3del",
                "p.(Arg97*)",
                "Arg506Gln",
                "1763G>A",
                "G-->A"
            ]
        );
        assert!(find_variants("no variants here, rs or c. alone").is_empty());
    }
}
