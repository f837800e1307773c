//! The gene dictionary: official symbols, full names and aliases from the NCBI
//! Gene tables, normalised to Entrez ids, with rules against ambiguous short
//! aliases and English words.

use std::collections::HashMap;

use genolens_io::corpus::{Corpus, EntityType};
use genolens_io::genes::{GeneAliases, GeneName};

use super::dictionary::{CaseRule, Dictionary, Entry, TuneReport};
use super::gold_texts;
use crate::preprocess::is_stopword;

/// English words that are also gene symbols or aliases (`CAT`, `SET`, `ALL`,
/// `MAP`, `CELL`, ...). An alias spelled like one is dropped; an official
/// symbol spelled like one matches only in its exact spelling.
pub const ENGLISH_WORDS: &[&str] = &[
    "act", "age", "aid", "aim", "air", "all", "arc", "arm", "art", "ash", "bad", "bag", "ban",
    "bar", "bat", "bed", "big", "bin", "bit", "box", "boy", "bud", "bus", "cage", "camp", "can",
    "cap", "car", "cast", "cat", "cell", "chip", "clock", "coil", "cord", "cut", "damage", "day",
    "den", "dim", "dot", "dry", "ear", "end", "era", "eye", "face", "fact", "fat", "fed", "fig",
    "fit", "fix", "flap", "fly", "for", "fur", "gap", "gas", "gene", "ghost", "gold", "golden",
    "grip", "gun", "had", "has", "hat", "her", "hip", "his", "hit", "hole", "hook", "host", "hot",
    "ice", "impact", "ink", "ion", "jar", "job", "key", "kit", "lab", "lag", "lamp", "large",
    "law", "lay", "leg", "let", "lid", "light", "line", "link", "lip", "log", "low", "male", "man",
    "map", "mask", "mass", "mat", "max", "men", "met", "mice", "min", "mix", "mud", "nail", "net",
    "new", "nod", "not", "now", "nut", "oil", "old", "one", "out", "pace", "pad", "pan", "pant",
    "pass", "pearl", "pen", "per", "pet", "pie", "pig", "pin", "pit", "plan", "pop", "pot",
    "prime", "put", "rag", "ram", "rat", "raw", "ray", "red", "rest", "rib", "ring", "rod", "row",
    "rub", "run", "sad", "sat", "saw", "say", "sea", "see", "set", "sex", "she", "shy", "sin",
    "sit", "six", "ski", "sky", "slow", "small", "soft", "son", "spin", "spot", "spring", "spy",
    "stem", "step", "stop", "sun", "tab", "tag", "tan", "tap", "tar", "tea", "ten", "the", "tie",
    "tin", "tip", "toe", "ton", "top", "toy", "trap", "tray", "try", "tub", "tube", "two", "type",
    "use", "van", "via", "war", "was", "wax", "way", "web", "wet", "white", "who", "why", "win",
    "wing", "yes", "yet", "you", "zip",
];

/// The rules that decide which names of the gene tables enter the dictionary.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneRules {
    /// Aliases shorter than this many characters are dropped (official
    /// symbols of two characters with a digit, such as `C3`, are kept with
    /// exact spelling).
    pub min_alias_chars: usize,
    /// Upper-case names of at most this many characters match only in their
    /// exact spelling (`ATM`, not `Atm`).
    pub exact_up_to: usize,
    /// Lower-case names (`insulin`) need at least this many characters to
    /// match in any case.
    pub min_lowercase_chars: usize,
    /// Whether full gene names (`tumor protein p53`) are names too.
    pub full_names: bool,
}

impl Default for GeneRules {
    fn default() -> Self {
        Self {
            min_alias_chars: 3,
            exact_up_to: 3,
            min_lowercase_chars: 6,
            full_names: true,
        }
    }
}

/// Builds the gene dictionary from the nomenclature table and the alias table.
///
/// Order decides ambiguous names: official symbols first, then full names,
/// then aliases; an alias naming several genes goes to the gene whose official
/// symbol it is, else to the lowest Entrez id (the longest-known gene).
pub fn gene_dictionary(names: &[GeneName], aliases: &GeneAliases, rules: &GeneRules) -> Dictionary {
    let mut d = Dictionary::new(true);
    let is_word = |s: &str| {
        let l = s.to_lowercase();
        is_stopword(&l) || ENGLISH_WORDS.binary_search(&l.as_str()).is_ok()
    };
    let official: HashMap<&str, u64> = names
        .iter()
        .map(|g| (g.symbol.as_str(), g.entrez_id))
        .collect();

    for g in names {
        let symbol = g.symbol.as_str();
        let n = symbol.chars().count();
        let short_with_digit = n == 2 && symbol.chars().any(|c| c.is_ascii_digit());
        if n < rules.min_alias_chars && !short_with_digit {
            continue;
        }
        let case = if is_word(symbol) || n <= rules.exact_up_to || short_with_digit {
            Some(CaseRule::Exact(symbol.to_string()))
        } else {
            symbol_case(symbol, rules)
        };
        if let Some(case) = case {
            d.insert(
                symbol,
                Entry {
                    id: g.entrez_id.to_string(),
                    case,
                },
            );
        }
    }

    if rules.full_names {
        for g in names {
            let name = g.name.as_str();
            if name.chars().count() >= rules.min_lowercase_chars && !is_word(name) {
                d.insert(
                    name,
                    Entry {
                        id: g.entrez_id.to_string(),
                        case: CaseRule::Any,
                    },
                );
            }
        }
    }

    let mut alias_list: Vec<(&str, &[(u64, String)])> = aliases.iter().collect();
    alias_list.sort_by(|a, b| a.0.cmp(b.0));
    for (alias, genes) in alias_list {
        let n = alias.chars().count();
        if n < rules.min_alias_chars || is_word(alias) || genes.is_empty() {
            continue;
        }
        let id = official
            .get(alias)
            .copied()
            .unwrap_or_else(|| genes.iter().map(|(id, _)| *id).min().unwrap_or(0));
        let case = if n <= rules.exact_up_to {
            Some(CaseRule::Exact(alias.to_string()))
        } else {
            symbol_case(alias, rules)
        };
        if let Some(case) = case {
            d.insert(
                alias,
                Entry {
                    id: id.to_string(),
                    case,
                },
            );
        }
    }
    d
}

/// Reads the nomenclature table (`genes_GRCh38_orgHsEgDb.tsv` layout) and the
/// alias table and builds the gene dictionary with `rules`.
pub fn read_gene_dictionary(
    names: impl AsRef<std::path::Path>,
    aliases: impl AsRef<std::path::Path>,
    rules: &GeneRules,
) -> crate::Result<Dictionary> {
    let names = genolens_io::genes::read_gene_names(names)?;
    let aliases = GeneAliases::read(aliases)?;
    Ok(gene_dictionary(&names, &aliases, rules))
}

/// Tunes a gene dictionary on the gene annotations of an annotated corpus
/// (BioRED's training split): names found at least twice and right less than
/// half the time are dropped, annotated names right at least half the time are
/// added ([`Dictionary::tune`]).
pub fn tune_gene_dictionary(dict: &mut Dictionary, training: &Corpus) -> TuneReport {
    let docs = gold_texts(training, |t| t == EntityType::GeneOrGeneProduct);
    dict.tune(&docs, 2, 0.5)
}

/// The case rule of a symbol-like name longer than the exact limit, or `None`
/// when the name is too short to match safely.
fn symbol_case(name: &str, rules: &GeneRules) -> Option<CaseRule> {
    let has_upper = name.chars().any(char::is_uppercase);
    let has_lower = name.chars().any(char::is_lowercase);
    if has_upper {
        Some(CaseRule::Capitalised)
    } else if has_lower && name.chars().any(|c| c.is_ascii_digit()) {
        // p53, p21: the lower-case spelling is the name.
        Some(CaseRule::Exact(name.to_string()))
    } else if has_lower && name.chars().count() >= rules.min_lowercase_chars {
        Some(CaseRule::Any)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_words_are_sorted() {
        assert!(ENGLISH_WORDS.windows(2).all(|w| w[0] < w[1]));
    }
}
