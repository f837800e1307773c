//! Literature mining on bundled data: gene, disease and variant mentions in
//! BioRED's 100 test abstracts, normalised to NCBI Gene and MeSH ids, and the
//! genes the literature links to long QT syndrome, each with its best evidence
//! sentence.
//!
//! Run with `cargo run --release --example literature`. The data is looked up
//! in `$GENOLENS_DATA`, else `../shared/data` beside the repository.

mod common;

use std::collections::HashMap;

use genolens::io::corpus::{Corpus, MentionCheck};
use genolens::io::genes::{read_gene_names, GeneAliases};
use genolens::io::report::format_g;
use genolens::text::mention::{disease_dictionary, gene_dictionary, GeneRules, MentionExtractor};
use genolens::text::profile::{gene_profiles, AnnotatedCorpus, TraitQuery};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = common::data_dir();
    // Literature: genes, diseases and variants in BioRED's 100 test abstracts,
    // and the genes the literature links to long QT syndrome, with evidence.
    let genes_dir = data.join("gene_annotations");
    let names = read_gene_names(genes_dir.join("genes_GRCh38_orgHsEgDb.tsv"))?;
    let aliases = GeneAliases::read(genes_dir.join("gene_aliases_orgHsEgDb.tsv"))?;
    let disease_training = Corpus::read_pubtator_with(
        data.join("ncbi_disease_corpus/NCBItrainset_corpus.txt"),
        MentionCheck::TrimWhitespace,
    )?;
    let extractor = MentionExtractor::new()
        .with_genes(gene_dictionary(&names, &aliases, &GeneRules::default()))
        .with_diseases(disease_dictionary(&disease_training, 0.5).0)
        .with_variants(true);
    let abstracts = Corpus::read_pubtator(data.join("biored/Test.PubTator"))?;
    let annotated = AnnotatedCorpus::new(&abstracts, &extractor)?;
    let query = TraitQuery::new("long QT syndrome", &extractor)?;
    let symbols: HashMap<String, String> = names
        .iter()
        .map(|g| (g.entrez_id.to_string(), g.symbol.clone()))
        .collect();
    let profiles = gene_profiles(&annotated, Some(&query), &symbols, 1);
    let n_mentions: usize = annotated.mentions.iter().map(Vec::len).sum();
    println!(
        "literature: {} abstracts, {} sentences, {n_mentions} gene/disease/variant mentions",
        annotated.len(),
        annotated.sentences.len()
    );
    for p in profiles.iter().take(3).filter(|p| p.co_mentions > 0) {
        let e = &p.evidence[0];
        println!(
            "  long QT syndrome <- {} ({} co-mentions, log-odds {}): PMID {}: {}",
            p.symbol,
            p.co_mentions,
            p.log_odds.map_or("NA".into(), |x| format_g(x, 3)),
            e.pmid,
            e.sentence
        );
    }
    Ok(())
}
