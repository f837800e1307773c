//! Retrieval, relation classification and gene profiles on the real corpora:
//! BioRED and NCBI-disease abstracts, the NCBI Gene tables and the 2015 GWAS
//! Catalog gene–disease pairs.

use std::collections::{HashMap, HashSet};

use genolens_io::corpus::{Corpus, MentionCheck};
use genolens_io::genes::read_gene_names;
use genolens_text::classify::{gene_disease_pairs, with_salience, LinearClassifier, PairExample};
use genolens_text::embed::{TextEmbedder, TfIdfEmbedder};
use genolens_text::eval::auc;
use genolens_text::mention::{
    disease_dictionary, read_gene_dictionary, tune_gene_dictionary, GeneRules, MentionExtractor,
};
use genolens_text::profile::{gene_profiles, AnnotatedCorpus, TraitQuery};
use genolens_text::retrieval::Bm25Index;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn corpus(rel: &str) -> Corpus {
    Corpus::read_pubtator_with(format!("{DATA}/{rel}"), MentionCheck::TrimWhitespace).unwrap()
}

fn gene_tables_dictionary() -> genolens_text::mention::Dictionary {
    read_gene_dictionary(
        format!("{DATA}/gene_annotations/genes_GRCh38_orgHsEgDb.tsv"),
        format!("{DATA}/gene_annotations/gene_aliases_orgHsEgDb.tsv"),
        &GeneRules::default(),
    )
    .unwrap()
}

fn extractor() -> MentionExtractor {
    let mut genes = gene_tables_dictionary();
    tune_gene_dictionary(&mut genes, &corpus("biored/Train.PubTator"));
    let (diseases, _) =
        disease_dictionary(&corpus("ncbi_disease_corpus/NCBItrainset_corpus.txt"), 0.5);
    MentionExtractor::new()
        .with_genes(genes)
        .with_diseases(diseases)
        .with_variants(true)
}

/// Every abstract of both corpora, all splits.
fn all_abstracts() -> Corpus {
    let mut all = Corpus::default();
    for f in [
        "biored/Train.PubTator",
        "biored/Dev.PubTator",
        "biored/Test.PubTator",
        "ncbi_disease_corpus/NCBItrainset_corpus.txt",
        "ncbi_disease_corpus/NCBIdevelopset_corpus.txt",
        "ncbi_disease_corpus/NCBItestset_corpus.txt",
    ] {
        all.documents.extend(corpus(f).documents);
    }
    all
}

#[test]
fn bm25_finds_the_abstracts_about_a_disease() {
    let test = corpus("biored/Test.PubTator");
    let texts: Vec<String> = test.iter().map(|d| d.text()).collect();
    let idx = Bm25Index::build(&texts);
    let hits = idx.search("long QT syndrome", 5).unwrap();
    // The gold disease annotations say which abstracts are about it.
    let about: HashSet<usize> = test
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            d.annotations
                .iter()
                .any(|a| a.text.to_lowercase().contains("long qt"))
        })
        .map(|(i, _)| i)
        .collect();
    assert!(!about.is_empty());
    let top: Vec<usize> = hits.iter().map(|h| h.index).collect();
    eprintln!("long QT: {} relevant, top 5 {top:?}", about.len());
    assert!(about.contains(&top[0]));
    assert!(top
        .iter()
        .take(about.len().min(5))
        .all(|i| about.contains(i)));
}

/// Held-out AUC of the relation classifier for one embedder, at each L2
/// penalty of `alphas` (the texts are embedded once).
fn relation_aucs(e: &dyn TextEmbedder, salience: bool, alphas: &[f64]) -> Vec<f64> {
    let train = gene_disease_pairs(&corpus("biored/Train.PubTator"));
    let test = gene_disease_pairs(&corpus("biored/Test.PubTator"));
    let embed = |v: &[PairExample]| {
        let texts: Vec<&str> = v.iter().map(|p| p.text.as_str()).collect();
        let x = e.embed(&texts).unwrap();
        if salience {
            with_salience(&x, v).unwrap()
        } else {
            x
        }
    };
    let (xtr, xte) = (embed(&train), embed(&test));
    let ytr: Vec<bool> = train.iter().map(|p| p.related).collect();
    let yte: Vec<bool> = test.iter().map(|p| p.related).collect();
    alphas
        .iter()
        .map(|&alpha| {
            let c = LinearClassifier::fit(xtr.view(), &ytr, alpha).unwrap();
            auc(&c.probabilities(xte.view()).unwrap(), &yte).unwrap()
        })
        .collect()
}

fn tfidf_on_train_pairs() -> TfIdfEmbedder {
    let train = gene_disease_pairs(&corpus("biored/Train.PubTator"));
    let texts: Vec<&str> = train.iter().map(|p| p.text.as_str()).collect();
    TfIdfEmbedder::fit(&texts, 2048).unwrap()
}

/// Measured when written (docs/benchmarks.md): TF-IDF 0.552 / 0.571 / 0.604
/// and TF-IDF + salience 0.623 / 0.650 / 0.680 at α = 0.01 / 0.1 / 1.
#[test]
fn relation_classifier_beats_chance_on_biored_test() {
    let train = gene_disease_pairs(&corpus("biored/Train.PubTator"));
    let related = train.iter().filter(|p| p.related).count();
    eprintln!("pairs: train {} ({related} related)", train.len());
    let e = tfidf_on_train_pairs();
    let alphas = [0.01, 0.1, 1.0];
    let plain = relation_aucs(&e, false, &alphas);
    let salient = relation_aucs(&e, true, &alphas);
    eprintln!("TF-IDF AUC {plain:.3?}, TF-IDF + salience {salient:.3?} at alpha {alphas:?}");
    assert!(salient[2] > 0.65, "AUC {salient:?}");
    assert!(plain.iter().all(|&a| a > 0.5), "AUC {plain:?}");
}

#[test]
fn gene_profiles_rank_gwas_catalog_genes_above_random_genes() {
    let ex = extractor();
    let annotated = AnnotatedCorpus::new(&all_abstracts(), &ex).unwrap();
    let names = read_gene_names(format!(
        "{DATA}/gene_annotations/genes_GRCh38_orgHsEgDb.tsv"
    ))
    .unwrap();
    let symbols: HashMap<String, String> = names
        .iter()
        .map(|g| (g.entrez_id.to_string(), g.symbol.clone()))
        .collect();
    let coding: Vec<String> = names
        .iter()
        .filter(|g| g.gene_type == "protein-coding")
        .map(|g| g.entrez_id.to_string())
        .collect();
    let catalog = std::fs::read_to_string(format!(
        "{DATA}/gwas_catalog_2015/dhimmel_gene-associations.tsv"
    ))
    .unwrap();
    let mut by_disease: HashMap<&str, HashSet<&str>> = HashMap::new();
    for line in catalog.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        by_disease.entry(f[1]).or_default().insert(f[6]);
    }
    let mut aucs = Vec::new();
    for (disease, query) in [
        ("type 2 diabetes mellitus", "type 2 diabetes"),
        ("breast cancer", "breast cancer"),
        ("prostate cancer", "prostate cancer"),
        ("Alzheimer's disease", "Alzheimer's disease"),
        ("Crohn's disease", "Crohn's disease"),
    ] {
        let q = TraitQuery::new(query, &ex).unwrap();
        let profiles = gene_profiles(&annotated, Some(&q), &symbols, 3);
        let score: HashMap<&str, f64> = profiles
            .iter()
            .map(|p| (p.gene_id.as_str(), p.score()))
            .collect();
        let positives = &by_disease[disease];
        let scores: Vec<f64> = coding
            .iter()
            .map(|g| score.get(g.as_str()).copied().unwrap_or(f64::NEG_INFINITY))
            .collect();
        let labels: Vec<bool> = coding
            .iter()
            .map(|g| positives.contains(g.as_str()))
            .collect();
        let a = auc(&scores, &labels).unwrap();
        let hits: Vec<&str> = profiles
            .iter()
            .filter(|p| p.co_mentions > 0 && positives.contains(p.gene_id.as_str()))
            .map(|p| p.symbol.as_str())
            .collect();
        eprintln!(
            "{disease}: AUC {a:.3}, {} catalog genes, {} genes co-mentioned, catalog genes among them: {hits:?}",
            positives.len(),
            profiles.iter().filter(|p| p.co_mentions > 0).count()
        );
        aucs.push(a);
    }
    assert!(aucs.iter().all(|&a| a >= 0.5), "{aucs:?}");
    assert!(aucs.iter().sum::<f64>() / aucs.len() as f64 > 0.5);
}

/// Measured when written: MiniLM + salience 0.776 (α = 0.01), MiniLM alone
/// 0.759, against TF-IDF + salience 0.680.
#[cfg(feature = "rust-bert")]
#[test]
fn relation_classifier_on_minilm_embeddings_beats_tfidf() {
    use genolens_text::embed::{set_torch_threads, BertSentenceEmbedder};
    set_torch_threads(1);
    let dir = std::env::var("GENOLENS_MINILM").expect("GENOLENS_MINILM (cargo xtask text-env)");
    let e = BertSentenceEmbedder::from_dir(dir).unwrap();
    let tfidf = relation_aucs(&tfidf_on_train_pairs(), true, &[1.0])[0];
    let minilm = relation_aucs(&e, true, &[0.01])[0];
    eprintln!("relation AUC: MiniLM + salience {minilm:.3}, TF-IDF + salience {tfidf:.3}");
    assert!(
        minilm > tfidf + 0.03 && minilm > 0.72,
        "{minilm} vs {tfidf}"
    );
}
