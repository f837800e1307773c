//! Mention extraction measured against the gold annotations of BioRED (genes,
//! variants) and NCBI-disease (diseases), test splits. The floors are set a
//! few points under the figures measured when the dictionaries were written
//! (docs/benchmarks.md), so a regression in matching or in the dictionaries
//! fails here.

use genolens_io::corpus::{Corpus, EntityType, MentionCheck};
use genolens_text::eval::{evaluate_mentions, SpanScores};
use genolens_text::mention::{
    disease_dictionary, is_disease_type, read_gene_dictionary, tune_gene_dictionary, GeneRules,
    MentionExtractor, MentionKind,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn corpus(rel: &str) -> Corpus {
    Corpus::read_pubtator_with(format!("{DATA}/{rel}"), MentionCheck::TrimWhitespace).unwrap()
}

fn report(what: &str, s: &SpanScores) {
    eprintln!(
        "{what}: P {:.3} R {:.3} F1 {:.3} (TP {} FP {} FN {})",
        s.precision(),
        s.recall(),
        s.f1(),
        s.true_positives,
        s.false_positives,
        s.false_negatives
    );
}

#[test]
fn gene_mentions_on_biored_test() {
    let dict = read_gene_dictionary(
        format!("{DATA}/gene_annotations/genes_GRCh38_orgHsEgDb.tsv"),
        format!("{DATA}/gene_annotations/gene_aliases_orgHsEgDb.tsv"),
        &GeneRules::default(),
    )
    .unwrap();
    let test = corpus("biored/Test.PubTator");
    let is_gene = |t| t == EntityType::GeneOrGeneProduct;

    let plain = MentionExtractor::new().with_genes(dict.clone());
    let untuned = evaluate_mentions(&test, &plain, MentionKind::Gene, is_gene);
    report("genes, dictionary only", &untuned);

    let mut tuned_dict = dict;
    let tr = tune_gene_dictionary(&mut tuned_dict, &corpus("biored/Train.PubTator"));
    eprintln!("tuning on BioRED train: {tr:?}");
    let tuned = MentionExtractor::new().with_genes(tuned_dict);
    let scores = evaluate_mentions(&test, &tuned, MentionKind::Gene, is_gene);
    report("genes, tuned on BioRED train", &scores);

    let variants = MentionExtractor::new().with_variants(true);
    let v = evaluate_mentions(&test, &variants, MentionKind::Variant, |t| {
        t == EntityType::SequenceVariant
    });
    report("variants", &v);
    // Measured when written: 0.725, 0.775 and 0.667.
    assert!(untuned.f1() > 0.70, "{untuned:?}");
    assert!(
        scores.f1() > 0.75 && scores.f1() > untuned.f1(),
        "{scores:?}"
    );
    assert!(v.f1() > 0.62 && v.precision() > 0.85, "{v:?}");
}

#[test]
fn disease_mentions_on_ncbi_disease_test() {
    let train = corpus("ncbi_disease_corpus/NCBItrainset_corpus.txt");
    let (dict, tr) = disease_dictionary(&train, 0.5);
    eprintln!("disease dictionary: {} names, {tr:?}", dict.len());
    let test = corpus("ncbi_disease_corpus/NCBItestset_corpus.txt");
    let ex = MentionExtractor::new().with_diseases(dict.clone());
    let s = evaluate_mentions(&test, &ex, MentionKind::Disease, is_disease_type);
    report("diseases", &s);
    let no_abbr = MentionExtractor::new()
        .with_diseases(dict)
        .with_abbreviations(false);
    report(
        "diseases, no abbreviations",
        &evaluate_mentions(&test, &no_abbr, MentionKind::Disease, is_disease_type),
    );
    // Measured when written: 0.730 (0.723 without abbreviations).
    assert!(s.f1() > 0.70, "{s:?}");
}
