//! Preprocessing: sentence splitting, tokenization, stopwords, noise removal.
//!
//! Every function works on byte offsets into the text it was given (`&str`
//! slicing positions). Corpus annotations count characters; convert with
//! [`CharOffsets`] at the edges.

use std::sync::LazyLock;

use regex::Regex;

/// A half-open byte range `[start, end)` into a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from its bounds.
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The spanned text.
    ///
    /// # Panics
    /// When the span is not a valid range of char boundaries of `text`
    /// (spans made by this module for the same text always are).
    pub fn of<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }

    /// Whether `other` lies inside this span.
    pub fn contains(&self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// Words ending with a period that do not end a sentence. Compared without the
/// period and case-sensitively, so that "No." (number) is known but "no." at
/// a sentence end is not.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "al", "et al", "Fig", "Figs", "fig", "vs", "Vs", "approx", "ca", "cf", "resp",
    "Ref", "Refs", "ref", "Eq", "Eqs", "Suppl", "suppl", "Dr", "Mr", "Mrs", "Ms", "Prof", "No",
    "no", "Nos", "Vol", "vol", "pp", "Jr", "Sr", "St", "Inc", "Ltd", "Co", "Corp", "Dept", "Univ",
    "min", "max", "approx", "incl", "etc", "spp", "sp", "var", "subsp", "cv", "Tab", "Chr", "chr",
    "Exp", "Med", "Biol", "Proc", "Natl", "Acad", "Sci", "Res", "Clin", "Mol", "Genet", "J", "viz",
    "wk", "wks", "mo", "yr", "yrs", "hr", "hrs", "Am", "Rev", "Int", "Ann",
];

/// Splits text into sentences, returning each sentence's span with the
/// surrounding whitespace trimmed.
///
/// A sentence ends at `.`, `?` or `!` (optionally followed by closing quotes
/// or brackets) when whitespace and then an upper-case letter, a digit or an
/// opening bracket or quote follow — unless the word before the period is a
/// known abbreviation (`e.g.`, `et al.`, `Fig.`, `vs.`, ...) or a single
/// capital initial (`J. Smith`). Line breaks also end sentences. Decimal
/// points (`1.5`) and variant notation (`c.123A>G`) never split because no
/// whitespace follows the period.
pub fn split_sentences(text: &str) -> Vec<Span> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            push_trimmed(text, start, i, &mut out);
            start = i + 1;
            i += 1;
            continue;
        }
        if matches!(b, b'.' | b'?' | b'!') {
            // Closing quotes and brackets belong to the sentence.
            let mut end = i + 1;
            while end < bytes.len() && matches!(bytes[end], b'"' | b'\'' | b')' | b']') {
                end += 1;
            }
            let mut next = end;
            while next < bytes.len() && (bytes[next] == b' ' || bytes[next] == b'\t') {
                next += 1;
            }
            let spaced = next > end;
            let starts_new = next < bytes.len()
                && text[next..].chars().next().is_some_and(|c| {
                    c.is_uppercase() || c.is_ascii_digit() || matches!(c, '(' | '[' | '"' | '\'')
                });
            if spaced && starts_new && (b != b'.' || !is_abbreviation_before(text, i)) {
                push_trimmed(text, start, end, &mut out);
                start = next;
                i = next;
                continue;
            }
        }
        i += 1;
    }
    push_trimmed(text, start, bytes.len(), &mut out);
    out
}

/// The sentences of a document's `title + " " + abstract` text: the title
/// (its first `title_len` bytes) is split on its own, so a title without a final
/// period never runs into the abstract.
pub fn split_document(text: &str, title_len: usize) -> Vec<Span> {
    let title_len = title_len.min(text.len());
    let mut spans = split_sentences(&text[..title_len]);
    spans.extend(
        split_sentences(&text[title_len..])
            .into_iter()
            .map(|s| Span::new(s.start + title_len, s.end + title_len)),
    );
    spans
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<Span>) {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if lead + trail < s.len() {
        out.push(Span::new(start + lead, end - trail));
    }
}

/// Whether the word ending just before the period at byte `dot` is an
/// abbreviation or an initial.
fn is_abbreviation_before(text: &str, dot: usize) -> bool {
    let before = &text[..dot];
    let word_start = before
        .rfind(|c: char| c.is_whitespace() || c == '(' || c == '[')
        .map_or(0, |p| p + 1);
    let word = &before[word_start..];
    if word.is_empty() {
        return false;
    }
    // A single capital letter: an initial ("J. Smith") or a list label.
    let mut chars = word.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_uppercase() {
            return true;
        }
    }
    if ABBREVIATIONS.contains(&word) {
        return true;
    }
    // "et al." spans two words.
    before[..word_start].trim_end().ends_with("et") && word == "al"
}

/// One token: a word, number, gene symbol or variant written without spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Where the token lies in the text.
    pub span: Span,
}

impl Token {
    /// The token's text.
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        self.span.of(text)
    }
}

/// Characters that may join two alphanumeric runs into one token: hyphens and
/// slashes (`IL-1b`, `ERK1/2`, `tumor-suppressor`), periods and `>`
/// (`c.123A>G`, `p.Val600Glu`, `1.5`), underscores and `+`/`*` (HGVS ranges
/// and intronic offsets), apostrophes (`Alzheimer's`), and commas or colons
/// between digits (`1,000`, `2:1`).
fn is_joiner(c: char, prev: char, next: char) -> bool {
    match c {
        '-' | '/' | '.' | '>' | '_' | '+' | '*' | '\u{2010}' | '\u{2011}' => true,
        '\'' | '\u{2019}' => next.is_alphabetic(),
        ',' | ':' => prev.is_ascii_digit() && next.is_ascii_digit(),
        _ => false,
    }
}

/// Splits text into tokens.
///
/// A token is a maximal run of alphanumeric characters (Unicode, so Greek
/// letters count), joined across single joiner characters that have an
/// alphanumeric character on both sides (see the module's rules: gene symbols
/// such as `IL-1b` and `ERK1/2`, variants such as `rs12345`, `c.123A>G` and
/// `p.Val600Glu`, and hyphenated terms stay whole). Punctuation and
/// whitespace are dropped.
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_alphanumeric() {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        let mut j = i + 1;
        loop {
            while j < chars.len() && chars[j].1.is_alphanumeric() {
                j += 1;
            }
            if j + 1 < chars.len()
                && is_joiner(chars[j].1, chars[j - 1].1, chars[j + 1].1)
                && chars[j + 1].1.is_alphanumeric()
            {
                j += 1;
                continue;
            }
            break;
        }
        let end = chars.get(j).map_or(text.len(), |c| c.0);
        out.push(Token {
            span: Span::new(start, end),
        });
        i = j;
    }
    out
}

/// English function words dropped from retrieval terms and embeddings.
pub const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "although",
    "am",
    "among",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "done",
    "down",
    "due",
    "during",
    "each",
    "either",
    "else",
    "etc",
    "ever",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "neither",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "often",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "same",
    "several",
    "shall",
    "she",
    "should",
    "since",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "thereby",
    "therefore",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "to",
    "too",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "via",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yet",
    "you",
    "your",
    "yours",
];

/// Whether a lower-case word is a stopword.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

static MARKUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>").expect("static pattern")
});
static NUMERIC_CITATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s?\[\s*\d+(?:\s*[-–,]\s*\d+)*\s*\]").expect("static pattern"));
static AUTHOR_CITATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\s?\((?:[A-Z][A-Za-z'\-]+(?: and [A-Z][A-Za-z'\-]+| et al\.?)?,? (?:19|20)\d\d[a-z]?(?:;\s*)?)+\)",
    )
    .expect("static pattern")
});
static ENTITY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&(?:amp|lt|gt|quot|apos|nbsp|#\d+);").expect("static pattern"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("static pattern"));

/// Removes noise that carries no meaning for retrieval or embedding: XML/HTML
/// markup (`<i>`, `<sup>`), numeric citations (`[12]`, `[3-5, 9]`),
/// author–year citations (`(Smith et al., 2003)`), decodes the common
/// character entities, and collapses runs of whitespace.
///
/// Offsets change, so mentions are found in the raw text and the cleaned text
/// is for retrieval and embeddings only.
pub fn clean(text: &str) -> String {
    let s = MARKUP.replace_all(text, "");
    let s = NUMERIC_CITATION.replace_all(&s, "");
    let s = AUTHOR_CITATION.replace_all(&s, "");
    let s = ENTITY.replace_all(&s, |c: &regex::Captures<'_>| match &c[0] {
        "&amp;" => "&".to_string(),
        "&lt;" => "<".to_string(),
        "&gt;" => ">".to_string(),
        "&quot;" => "\"".to_string(),
        "&apos;" => "'".to_string(),
        "&nbsp;" => " ".to_string(),
        other => other[2..other.len() - 1]
            .parse::<u32>()
            .ok()
            .and_then(char::from_u32)
            .map_or_else(String::new, |c| c.to_string()),
    });
    SPACES.replace_all(s.trim(), " ").into_owned()
}

/// The retrieval form of a token: lower case, a possessive `'s` dropped, and
/// a light plural stem (`mutations` → `mutation`, `studies` → `study`), so
/// that a query matches the forms abstracts use. `None` for stopwords and
/// one-character tokens.
pub fn term(token: &str) -> Option<String> {
    let mut t = token.to_lowercase();
    for suffix in ["'s", "\u{2019}s"] {
        if let Some(stripped) = t.strip_suffix(suffix) {
            t = stripped.to_string();
        }
    }
    if t.chars().count() < 2 || is_stopword(&t) {
        return None;
    }
    if t.len() > 4 && t.is_ascii() && t.bytes().all(|b| b.is_ascii_lowercase()) {
        if let Some(stem) = t.strip_suffix("ies") {
            t = format!("{stem}y");
        } else if t.ends_with('s') && !t.ends_with("ss") && !t.ends_with("us") && !t.ends_with("is")
        {
            t.pop();
        }
    }
    Some(t)
}

/// The retrieval terms of a text: [`clean`], [`tokenize`], then [`term`].
pub fn terms(text: &str) -> Vec<String> {
    let cleaned = clean(text);
    tokenize(&cleaned)
        .iter()
        .filter_map(|t| term(t.text(&cleaned)))
        .collect()
}

/// Maps byte offsets of one text to character offsets (PubTator counts
/// characters).
#[derive(Debug, Clone)]
pub struct CharOffsets {
    /// `char_at[b]` = number of chars before byte `b`, for every byte and the end.
    char_at: Vec<usize>,
    /// `byte_at[c]` = byte offset of char `c`, plus the end.
    byte_at: Vec<usize>,
}

impl CharOffsets {
    /// Builds the maps for `text`.
    pub fn new(text: &str) -> Self {
        let mut char_at = vec![0; text.len() + 1];
        let mut byte_at = Vec::with_capacity(text.len() + 1);
        let mut n = 0;
        for (b, c) in text.char_indices() {
            byte_at.push(b);
            for slot in &mut char_at[b..b + c.len_utf8()] {
                *slot = n;
            }
            n += 1;
        }
        char_at[text.len()] = n;
        byte_at.push(text.len());
        Self { char_at, byte_at }
    }

    /// The character offset of byte `b` (a char boundary).
    pub fn char_of(&self, b: usize) -> usize {
        self.char_at[b]
    }

    /// The byte offset of character `c`, or `None` past the end.
    pub fn byte_of(&self, c: usize) -> Option<usize> {
        self.byte_at.get(c).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> Vec<&str> {
        split_sentences(text).iter().map(|s| s.of(text)).collect()
    }

    fn tokens(text: &str) -> Vec<&str> {
        tokenize(text).iter().map(|t| t.text(text)).collect()
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stopword("the") && is_stopword("which") && !is_stopword("gene"));
    }

    #[test]
    fn sentences_respect_abbreviations_initials_and_decimals() {
        let text = "BRCA1 (e.g. in Fig. 2) was studied by Smith et al. in 2001. The \
                    OR was 1.5 vs. 1.2 in J. Doe's cohort! Is c.123A>G pathogenic? Yes.";
        assert_eq!(
            sentences(text),
            vec![
                "BRCA1 (e.g. in Fig. 2) was studied by Smith et al. in 2001.",
                "The OR was 1.5 vs. 1.2 in J. Doe's cohort!",
                "Is c.123A>G pathogenic?",
                "Yes.",
            ]
        );
        // A period before a lower-case word does not split; a closing bracket
        // after the period stays with its sentence.
        assert_eq!(
            sentences("It rose (p < 0.05.) Then fell. and so on"),
            vec!["It rose (p < 0.05.)", "Then fell. and so on"]
        );
        assert!(split_sentences("   ").is_empty());
    }

    #[test]
    fn tokens_keep_symbols_variants_and_hyphenated_terms() {
        let text = "IL-1b and ERK1/2 in tumor-suppressor rs12345 (c.123A>G; p.Val600Glu), \
                    1,000 cases, 2:1 block, Alzheimer's, TGF-β1.";
        assert_eq!(
            tokens(text),
            vec![
                "IL-1b",
                "and",
                "ERK1/2",
                "in",
                "tumor-suppressor",
                "rs12345",
                "c.123A>G",
                "p.Val600Glu",
                "1,000",
                "cases",
                "2:1",
                "block",
                "Alzheimer's",
                "TGF-β1"
            ]
        );
        assert!(tokenize("").is_empty());
        assert_eq!(tokens("end-. x"), vec!["end", "x"]);
    }

    #[test]
    fn clean_drops_markup_citations_and_entities() {
        let raw = "The <i>BRCA1</i> gene [1, 3-5] raises risk (Smith et al., 2003; Doe, 2010) \
                   &amp; more&#33;\n  End [12].";
        assert_eq!(clean(raw), "The BRCA1 gene raises risk & more! End.");
    }

    #[test]
    fn terms_are_lowercased_stemmed_and_filtered() {
        assert_eq!(
            terms("The mutations of BRCA1 in studies of Alzheimer's disease"),
            vec!["mutation", "brca1", "study", "alzheimer", "disease"]
        );
    }

    #[test]
    fn char_offsets_round_trip_through_multibyte_text() {
        let text = "TGF-β1 in α-cells";
        let map = CharOffsets::new(text);
        let b = text.find("in").unwrap();
        assert_eq!(map.char_of(b), 7);
        assert_eq!(map.byte_of(7), Some(b));
        assert_eq!(map.char_of(text.len()), text.chars().count());
        assert_eq!(map.byte_of(text.chars().count() + 1), None);
    }
}
