//! A name dictionary matched over tokens: longest match first, with per-entry
//! case rules and a precision filter learned from an annotated corpus.

use std::collections::{HashMap, HashSet};

use crate::preprocess::{tokenize, Span, Token};

/// How the text's spelling must agree with a dictionary name for a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRule {
    /// Exactly this spelling (short symbols, names that are English words).
    Exact(String),
    /// Same [`key`], and the first letter of the text is upper case: gene
    /// symbols written with other punctuation or in mouse style (`IL-1b` for
    /// IL1B, `Brca1` for BRCA1).
    Capitalised,
    /// Same [`key`], any case (long lower-case names such as `insulin`).
    Any,
}

impl CaseRule {
    fn accepts(&self, surface: &str) -> bool {
        match self {
            CaseRule::Exact(s) => s == surface,
            CaseRule::Capitalised => surface
                .chars()
                .find(|c| c.is_alphabetic())
                .is_some_and(char::is_uppercase),
            CaseRule::Any => true,
        }
    }
}

/// One name's entry: the identifier it normalises to and how it must be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The normalised identifier (an Entrez id, a MeSH id, ...).
    pub id: String,
    /// The spelling rule.
    pub case: CaseRule,
}

/// Greek letters, written out or as characters, map to their Latin initial so
/// that `TGF-β1`, `TGF-beta1` and `TGFB1` share a key.
const GREEK_WORDS: &[(&str, &str)] = &[
    ("alpha", "a"),
    ("beta", "b"),
    ("gamma", "g"),
    ("delta", "d"),
    ("epsilon", "e"),
    ("kappa", "k"),
    ("lambda", "l"),
    ("sigma", "s"),
    ("theta", "t"),
    ("zeta", "z"),
    ("omega", "o"),
];

fn greek_char(c: char) -> Option<char> {
    Some(match c {
        'α' | 'Α' => 'a',
        'β' | 'Β' => 'b',
        'γ' | 'Γ' => 'g',
        'δ' | 'Δ' => 'd',
        'ε' | 'Ε' => 'e',
        'κ' | 'Κ' => 'k',
        'λ' | 'Λ' => 'l',
        'σ' | 'Σ' => 's',
        'θ' | 'Θ' => 't',
        'ζ' | 'Ζ' => 'z',
        'ω' | 'Ω' => 'o',
        _ => return None,
    })
}

/// The matching key of a name: lower case, Greek letters as Latin initials,
/// punctuation and spaces removed, and a written-out Greek letter at the start
/// of a word (alone or before digits) shortened to its initial.
pub fn key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let digits_at = word
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(word.len());
        let (head, tail) = word.split_at(digits_at);
        let tail_is_digits = tail.chars().all(|c| c.is_ascii_digit());
        match GREEK_WORDS.iter().find(|(g, _)| *g == head) {
            Some((_, latin)) if tail_is_digits => {
                out.push_str(latin);
                out.push_str(tail);
            }
            _ => out.push_str(word),
        }
        word.clear();
    };
    for c in name.chars() {
        if let Some(g) = greek_char(c) {
            word.push(g);
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else {
            flush(&mut word, &mut out);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A match of a dictionary name in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictionaryMatch {
    /// Where the name lies (bytes).
    pub span: Span,
    /// The identifier of the matched entry.
    pub id: String,
}

/// Names, by [`key`], with their entries.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    entries: HashMap<String, Vec<Entry>>,
    /// The most tokens any name has.
    max_tokens: usize,
    /// Whether a token that matches nothing whole is tried in its parts.
    hyphen_parts: bool,
    /// Whether keys also fold spelling variants ([`fold_spelling`]).
    spelling: bool,
    /// Lower-case words that belong to a name when they precede it
    /// (`congenital`, `sporadic`, `X-linked`), learned by
    /// [`learn_modifiers`](Dictionary::learn_modifiers).
    left_modifiers: HashSet<String>,
}

/// Folds spelling variants of disease names into one key: British spellings
/// (`tumour`, `haemophilia`, `oesophageal`, `leukaemia`), the possessive
/// (`Alzheimer's disease` = `Alzheimer disease`) and a final plural `s`.
pub fn fold_spelling(name: &str) -> String {
    let mut k = key(&name.replace("'s", "").replace("\u{2019}s", ""));
    for (from, to) in [
        ("tumour", "tumor"),
        ("haem", "hem"),
        ("aemia", "emia"),
        ("leukaem", "leukem"),
        ("oesophag", "esophag"),
        ("oedema", "edema"),
        ("ischaem", "ischem"),
        ("paediatr", "pediatr"),
        ("coeliac", "celiac"),
        ("foetal", "fetal"),
        ("ae", "e"),
    ] {
        if k.contains(from) {
            k = k.replace(from, to);
        }
    }
    if k.len() > 4
        && k.ends_with('s')
        && !k.ends_with("ss")
        && !k.ends_with("us")
        && !k.ends_with("is")
    {
        k.pop();
    }
    k
}

impl Dictionary {
    /// An empty dictionary. With `hyphen_parts`, a token that matches no name
    /// as a whole is also tried in its hyphen- or slash-separated parts
    /// (`BRCA1-associated` → `BRCA1`).
    pub fn new(hyphen_parts: bool) -> Self {
        Self {
            entries: HashMap::new(),
            max_tokens: 0,
            hyphen_parts,
            spelling: false,
            left_modifiers: HashSet::new(),
        }
    }

    /// Also folds spelling variants ([`fold_spelling`]) when matching: for
    /// disease names. Set it before inserting names.
    pub fn with_spelling_folds(mut self, on: bool) -> Self {
        self.spelling = on;
        self
    }

    fn key_of(&self, name: &str) -> String {
        if self.spelling {
            fold_spelling(name)
        } else {
            key(name)
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dictionary has no names.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a name. Entries of one key are tried in insertion order; an entry
    /// equal to one already there is not added twice. Names without
    /// alphanumeric characters are ignored.
    pub fn insert(&mut self, name: &str, entry: Entry) {
        let k = self.key_of(name);
        if k.is_empty() {
            return;
        }
        self.max_tokens = self.max_tokens.max(tokenize(name).len().max(1));
        let list = self.entries.entry(k).or_default();
        if !list.contains(&entry) {
            list.push(entry);
        }
    }

    /// The entries of a name's key.
    pub fn lookup(&self, name: &str) -> &[Entry] {
        self.entries
            .get(&self.key_of(name))
            .map_or(&[], Vec::as_slice)
    }

    /// Removes every entry of a name's key.
    pub fn remove(&mut self, name: &str) {
        self.entries.remove(&self.key_of(name));
    }

    fn accept(&self, surface: &str) -> Option<&Entry> {
        self.entries
            .get(&self.key_of(surface))?
            .iter()
            .find(|e| e.case.accepts(surface))
    }

    /// Finds names in `text`, longest first and without overlaps, left to right.
    /// A name of several tokens matches only where its tokens are separated by
    /// single spaces or hyphens.
    pub fn find(&self, text: &str) -> Vec<DictionaryMatch> {
        let tokens = tokenize(text);
        self.find_in_tokens(text, &tokens)
    }

    /// [`find`](Self::find) over tokens already made by
    /// [`tokenize`](crate::preprocess::tokenize).
    pub fn find_in_tokens(&self, text: &str, tokens: &[Token]) -> Vec<DictionaryMatch> {
        let mut out = Vec::new();
        let mut i = 0;
        // Tokens before this index are inside an earlier match.
        let mut free_from = 0;
        'outer: while i < tokens.len() {
            let longest = self.max_tokens.min(tokens.len() - i);
            for n in (1..=longest).rev() {
                let last = &tokens[i + n - 1];
                if n > 1
                    && !tokens[i..i + n]
                        .windows(2)
                        .all(|w| is_name_gap(&text[w[0].span.end..w[1].span.start]))
                {
                    continue;
                }
                let span = Span::new(tokens[i].span.start, last.span.end);
                if let Some(e) = self.accept(span.of(text)) {
                    let mut first = i;
                    while first > free_from
                        && text[tokens[first - 1].span.end..tokens[first].span.start] == *" "
                        && self
                            .left_modifiers
                            .contains(&tokens[first - 1].text(text).to_lowercase())
                    {
                        first -= 1;
                    }
                    let mut end = i + n;
                    // "... type 2", "... type IIA": the subtype is part of the name.
                    if end + 1 < tokens.len()
                        && tokens[end].text(text) == "type"
                        && text[last.span.end..tokens[end].span.start] == *" "
                        && tokens[end + 1].text(text).chars().count() <= 4
                        && text[tokens[end].span.end..tokens[end + 1].span.start] == *" "
                    {
                        end += 2;
                    }
                    out.push(DictionaryMatch {
                        span: Span::new(tokens[first].span.start, tokens[end - 1].span.end),
                        id: e.id.clone(),
                    });
                    i = end;
                    free_from = end;
                    continue 'outer;
                }
            }
            if self.hyphen_parts {
                self.find_parts(text, tokens[i].span, &mut out);
            }
            i += 1;
        }
        out
    }

    fn find_parts(&self, text: &str, span: Span, out: &mut Vec<DictionaryMatch>) {
        let token = span.of(text);
        if !token.contains(['-', '/']) {
            return;
        }
        let mut start = 0;
        for part in token.split(['-', '/']) {
            let part_span = Span::new(span.start + start, span.start + start + part.len());
            start += part.len() + 1;
            if part.chars().count() < 3 {
                continue;
            }
            if let Some(e) = self.accept(part) {
                out.push(DictionaryMatch {
                    span: part_span,
                    id: e.id.clone(),
                });
            }
        }
    }

    /// Learns from an annotated corpus: drops names that are wrong more often
    /// than right, and adds the annotated names that are right often enough.
    ///
    /// `docs` pairs each text with the byte spans and identifiers of its gold
    /// mentions of this dictionary's kind. A key found at least `min_seen`
    /// times whose matches equal a gold span less than `min_precision` of the
    /// time is removed. Then every gold surface is tried as a name (its most
    /// frequent identifier, [`CaseRule::Exact`] when it has upper-case letters
    /// and at most 4 characters, [`CaseRule::Capitalised`] for longer names
    /// starting upper case, [`CaseRule::Any`] otherwise) and kept when, over the
    /// corpus, its matches reach `min_precision`.
    pub fn tune<S: AsRef<str>>(
        &mut self,
        docs: &[(S, Vec<(Span, String)>)],
        min_seen: usize,
        min_precision: f64,
    ) -> TuneReport {
        let before = self.len();
        let counts = self.match_counts(docs);
        let mut removed = 0;
        for (k, (hit, seen)) in counts {
            if seen >= min_seen && (hit as f64) < min_precision * seen as f64 {
                self.entries.remove(&k);
                removed += 1;
            }
        }

        // Candidate names from the gold surfaces, each with its most frequent id.
        let mut ids: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for (text, gold) in docs {
            let text = text.as_ref();
            for (span, id) in gold {
                *ids.entry(span.of(text).to_string())
                    .or_default()
                    .entry(id.clone())
                    .or_default() += 1;
            }
        }
        let mut candidates = Dictionary::new(false).with_spelling_folds(self.spelling);
        let mut surfaces: Vec<&String> = ids.keys().collect();
        surfaces.sort();
        for surface in surfaces {
            let by_id = &ids[surface];
            let mut best: Vec<(&String, &usize)> = by_id.iter().collect();
            best.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let id = best[0].0.clone();
            candidates.insert(
                surface,
                Entry {
                    id,
                    case: learned_case(surface),
                },
            );
        }
        let counts = candidates.match_counts(docs);
        let mut added = 0;
        for (k, list) in candidates.entries {
            let (hit, seen) = counts.get(&k).copied().unwrap_or((0, 0));
            if seen == 0 || (hit as f64) < min_precision * seen as f64 {
                continue;
            }
            let target = self.entries.entry(k).or_default();
            let was_empty = target.is_empty();
            for e in list {
                if !target.contains(&e) {
                    target.push(e);
                }
            }
            if was_empty {
                added += 1;
            }
        }
        self.max_tokens = self.max_tokens.max(candidates.max_tokens);
        TuneReport {
            keys_before: before,
            removed,
            added,
        }
    }

    /// Learns the words that extend a name to the left (`congenital`,
    /// `sporadic`, `autosomal`): a word counts for when a gold mention is that
    /// word followed by a name the dictionary matches, against when it
    /// directly precedes such a match that is a gold mention on its own. Words
    /// seen at least `min_seen` times for, and at least as often for as
    /// against, are kept. Returns how many were learned.
    pub fn learn_modifiers<S: AsRef<str>>(
        &mut self,
        docs: &[(S, Vec<(Span, String)>)],
        min_seen: usize,
    ) -> usize {
        let mut votes: HashMap<String, (usize, usize)> = HashMap::new();
        for (text, gold) in docs {
            let text = text.as_ref();
            let tokens = tokenize(text);
            for (span, _) in gold {
                let inside: Vec<&Token> = tokens.iter().filter(|t| span.contains(t.span)).collect();
                if inside.len() >= 2 && self.accept(&text[inside[1].span.start..span.end]).is_some()
                {
                    votes
                        .entry(inside[0].text(text).to_lowercase())
                        .or_default()
                        .0 += 1;
                }
                if let Some(k) = tokens.iter().position(|t| t.span.start == span.start) {
                    if k > 0 && self.accept(span.of(text)).is_some() {
                        votes
                            .entry(tokens[k - 1].text(text).to_lowercase())
                            .or_default()
                            .1 += 1;
                    }
                }
            }
        }
        let mut learned: Vec<String> = votes
            .into_iter()
            .filter(|(w, (yes, no))| {
                *yes >= min_seen && yes >= no && !crate::preprocess::is_stopword(w)
            })
            .map(|(w, _)| w)
            .collect();
        learned.sort();
        let n = learned.len();
        self.left_modifiers.extend(learned);
        n
    }

    /// For each key matched in `docs`: (matches equal to a gold span, matches).
    fn match_counts<S: AsRef<str>>(
        &self,
        docs: &[(S, Vec<(Span, String)>)],
    ) -> HashMap<String, (usize, usize)> {
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        for (text, gold) in docs {
            let text = text.as_ref();
            let gold: HashSet<Span> = gold.iter().map(|(s, _)| *s).collect();
            for m in self.find(text) {
                let c = counts.entry(self.key_of(m.span.of(text))).or_default();
                c.1 += 1;
                if gold.contains(&m.span) {
                    c.0 += 1;
                }
            }
        }
        counts
    }
}

/// What [`Dictionary::tune`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TuneReport {
    /// Keys before tuning.
    pub keys_before: usize,
    /// Keys removed for low precision.
    pub removed: usize,
    /// New keys added from the gold names.
    pub added: usize,
}

fn learned_case(surface: &str) -> CaseRule {
    let has_upper = surface.chars().any(char::is_uppercase);
    if has_upper && surface.chars().count() <= 4 {
        CaseRule::Exact(surface.to_string())
    } else if surface
        .chars()
        .find(|c| c.is_alphabetic())
        .is_some_and(char::is_uppercase)
    {
        CaseRule::Capitalised
    } else {
        CaseRule::Any
    }
}

/// Whether the text between two tokens may sit inside one name.
fn is_name_gap(gap: &str) -> bool {
    gap == " " || gap == "-" || gap == " - "
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> Dictionary {
        let mut d = Dictionary::new(true);
        d.insert(
            "BRCA1",
            Entry {
                id: "672".into(),
                case: CaseRule::Capitalised,
            },
        );
        d.insert(
            "TGFB1",
            Entry {
                id: "7040".into(),
                case: CaseRule::Capitalised,
            },
        );
        d.insert(
            "CAT",
            Entry {
                id: "847".into(),
                case: CaseRule::Exact("CAT".into()),
            },
        );
        d.insert(
            "insulin",
            Entry {
                id: "3630".into(),
                case: CaseRule::Any,
            },
        );
        d.insert(
            "insulin receptor",
            Entry {
                id: "3643".into(),
                case: CaseRule::Any,
            },
        );
        d
    }

    fn found(d: &Dictionary, text: &str) -> Vec<(String, String)> {
        d.find(text)
            .into_iter()
            .map(|m| (m.span.of(text).to_string(), m.id))
            .collect()
    }

    #[test]
    fn keys_ignore_case_punctuation_and_greek_spelling() {
        assert_eq!(key("TGF-β1"), "tgfb1");
        assert_eq!(key("TGF-beta1"), "tgfb1");
        assert_eq!(key("TGFB1"), "tgfb1");
        assert_eq!(key("IFN-gamma"), "ifng");
        // "beta" inside a longer word is not a Greek letter.
        assert_eq!(key("betaine"), "betaine");
        assert_eq!(key("  "), "");
        assert_eq!(
            fold_spelling("Alzheimer's diseases"),
            fold_spelling("alzheimer disease")
        );
        assert_eq!(
            fold_spelling("breast tumours"),
            fold_spelling("breast tumor")
        );
        assert_eq!(fold_spelling("haemophilia A"), "hemophiliaa");
    }

    #[test]
    fn longest_match_case_rules_and_hyphen_parts() {
        let d = dict();
        assert_eq!(
            found(
                &d,
                "The Insulin receptor and insulin in Brca1-deficient mice; TGF-β1, CAT and cat."
            ),
            vec![
                ("Insulin receptor".to_string(), "3643".to_string()),
                ("insulin".into(), "3630".into()),
                ("Brca1".into(), "672".into()),
                ("TGF-β1".into(), "7040".into()),
                ("CAT".into(), "847".into()),
            ]
        );
        // A lower-case symbol is not a symbol, and names do not span commas.
        assert!(found(&d, "brca1 insulin, receptor")
            .iter()
            .all(|(s, _)| s != "brca1"));
        assert_eq!(found(&d, "insulin, receptor").len(), 1);
    }

    #[test]
    fn tuning_drops_imprecise_names_and_learns_gold_names() {
        let mut d = dict();
        // "CAT" is wrong 2 of 2 times; "gankyrin" is annotated and unknown.
        let t1 = "CAT scans of gankyrin and BRCA1.";
        let t2 = "A CAT scan.";
        let span = |t: &str, s: &str| {
            let b = t.find(s).unwrap();
            Span::new(b, b + s.len())
        };
        let docs = vec![
            (
                t1,
                vec![
                    (span(t1, "gankyrin"), "G1".to_string()),
                    (span(t1, "BRCA1"), "672".to_string()),
                ],
            ),
            (t2, vec![]),
        ];
        let report = d.tune(&docs, 2, 0.5);
        assert_eq!(report.removed, 1);
        assert_eq!(report.added, 1);
        assert!(d.lookup("CAT").is_empty());
        assert_eq!(d.lookup("gankyrin")[0].id, "G1");
        assert_eq!(found(&d, "Gankyrin and BRCA1").len(), 2);
    }
}
