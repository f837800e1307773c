//! Scores a saved neural tagger (`genolens text-train`) on test corpora and
//! times tagging against the dictionaries on the same abstracts.
//!
//! Usage: `tagger_eval TAGGER_DIR BIORED_TEST NCBI_TEST GENE_NAMES GENE_ALIASES
//! BIORED_TRAIN NCBI_TRAIN` (the last four build the dictionaries the
//! throughput is compared with: tuned genes, NCBI-disease names).

use std::path::Path;
use std::time::Instant;

use genolens::io::corpus::{Corpus, MentionCheck};
use genolens::text::mention::{
    disease_dictionary, read_gene_dictionary, tune_gene_dictionary, GeneRules, MentionExtractor,
};
use genolens::text::tagger::NeuralTagger;
use genolens::transformer::CpuInference;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 7 {
        eprintln!("usage: tagger_eval TAGGER_DIR BIORED_TEST NCBI_TEST GENE_NAMES GENE_ALIASES BIORED_TRAIN NCBI_TRAIN");
        std::process::exit(2);
    }
    let read =
        |p: &str| Corpus::read_pubtator_with(p, MentionCheck::TrimWhitespace).expect("corpus");
    let tagger = NeuralTagger::<CpuInference>::load(Path::new(&args[0]), &Default::default())
        .expect("tagger directory");
    let (biored, ncbi) = (read(&args[1]), read(&args[2]));
    let spec = tagger.spec().clone();
    let task = |name: &str| spec.tasks.iter().position(|t| t.name == name);
    for (corpus, name) in [(&biored, "biored"), (&ncbi, "ncbi-disease")] {
        let Some(t) = task(name) else { continue };
        for (kind, s) in tagger.evaluate_task(corpus, t).expect("evaluation") {
            println!(
                "{name}\t{kind}\tP {:.4}\tR {:.4}\tF1 {:.4}\t(TP {} FP {} FN {})",
                s.precision(),
                s.recall(),
                s.f1(),
                s.true_positives,
                s.false_positives,
                s.false_negatives
            );
        }
    }
    // Throughput on the BioRED test abstracts.
    let texts: Vec<String> = biored.iter().map(|d| d.text()).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let t = Instant::now();
    let tagged = tagger.tag(&refs).expect("tagging");
    let model_s = t.elapsed().as_secs_f64();
    let mut genes = read_gene_dictionary(&args[3], &args[4], &GeneRules::default()).expect("genes");
    tune_gene_dictionary(&mut genes, &read(&args[5]));
    let (diseases, _) = disease_dictionary(&read(&args[6]), 0.5);
    let ex = MentionExtractor::new()
        .with_genes(genes)
        .with_diseases(diseases)
        .with_variants(true);
    let t = Instant::now();
    let found: usize = refs.iter().map(|r| ex.extract(r).len()).sum();
    let dict_s = t.elapsed().as_secs_f64();
    let n = refs.len() as f64;
    let model_found: usize = tagged.iter().map(Vec::len).sum();
    println!(
        "tagging {} abstracts: model {:.1}/s ({model_found} mentions), dictionary {:.1}/s ({found} mentions)",
        refs.len(),
        n / model_s,
        n / dict_s
    );
}
