//! The disease dictionary: the names annotated in a training corpus (the
//! NCBI-disease training split), normalised to their MeSH/OMIM ids.

use genolens_io::corpus::{Corpus, EntityType};

use super::dictionary::{Dictionary, TuneReport};
use super::gold_texts;

/// Whether an annotation type is a disease mention (NCBI-disease's four types
/// and BioRED's disease-or-phenotype).
pub fn is_disease_type(t: EntityType) -> bool {
    matches!(
        t,
        EntityType::SpecificDisease
            | EntityType::DiseaseClass
            | EntityType::Modifier
            | EntityType::CompositeMention
            | EntityType::DiseaseOrPhenotypicFeature
    )
}

/// Builds a disease dictionary from the disease annotations of `training`:
/// every annotated name with its most frequent id, kept when its matches in
/// the training texts are annotated at least `min_precision` of the time, and
/// the words that extend a name to the left (`congenital`, `sporadic`) learned
/// from the same annotations.
pub fn disease_dictionary(training: &Corpus, min_precision: f64) -> (Dictionary, TuneReport) {
    let docs = gold_texts(training, is_disease_type);
    let mut dict = Dictionary::new(false).with_spelling_folds(true);
    let report = dict.tune(&docs, 1, min_precision);
    dict.learn_modifiers(&docs, 2);
    (dict, report)
}
