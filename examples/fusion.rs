//! Literature meets genotypes, end to end on bundled data: a gene prior for
//! "cancer" mined from BioRED's 600 abstracts, a trait simulated on the 1000
//! Genomes EUR subset (379 samples × 54,051 SNPs) from variants near genes
//! the literature links to cancer, a GWAS re-tested with the prior (weighted
//! Benjamini–Hochberg beside the unweighted one), ridge regression with
//! prior-informed shrinkage beside plain ridge, and an explanation of one
//! person's prediction down to variants, genes and the sentences behind them.
//!
//! Run with `cargo run --release --example fusion`. The data is looked up in
//! `$GENOLENS_DATA`, else `../shared/data` beside the repository.

use std::collections::HashMap;
use std::path::PathBuf;

use genolens::assoc::linear::{linear_scan, Covariates, Phenotype};
use genolens::assoc::predict::{cross_validate, ModelKind, ModelSpec, PriorPenalty, Task};
use genolens::explain::aggregate::{explain_study, ExplainContext};
use genolens::explain::attribution::{ExplainInput, ExplainOptions, Explainable, Method};
use genolens::explain::benchmark::score_rejections;
use genolens::explain::fusion::{prior_penalty_weights, weighted_scan, WeightedScanOptions};
use genolens::explain::mapping::MappingOptions;
use genolens::explain::prior::{literature_prior, GeneEmbedding, LiteratureOptions};
use genolens::features::simulate::{simulate_trait, CausalTerm, GeneticModel};
use genolens::features::split::k_folds;
use genolens::io::corpus::{Corpus, MentionCheck};
use genolens::io::genes::{read_gene_names, GeneAliases, GeneMap};
use genolens::io::plink::BedFile;
use genolens::io::GenotypeSource;
use genolens::text::mention::{disease_dictionary, gene_dictionary, GeneRules, MentionExtractor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));

    // 1. The prior: genes co-mentioned with the trait, scored, with evidence.
    let names = read_gene_names(data.join("gene_annotations/genes_GRCh38_orgHsEgDb.tsv"))?;
    let aliases = GeneAliases::read(data.join("gene_annotations/gene_aliases_orgHsEgDb.tsv"))?;
    let ncbi = Corpus::read_pubtator_with(
        data.join("ncbi_disease_corpus/NCBItrainset_corpus.txt"),
        MentionCheck::TrimWhitespace,
    )?;
    let extractor = MentionExtractor::new()
        .with_genes(gene_dictionary(&names, &aliases, &GeneRules::default()))
        .with_diseases(disease_dictionary(&ncbi, 0.5).0);
    let mut documents = Vec::new();
    for split in ["Train", "Dev", "Test"] {
        documents.extend(
            Corpus::read_pubtator(data.join(format!("biored/{split}.PubTator")))?.documents,
        );
    }
    let symbols: HashMap<String, String> = names
        .iter()
        .map(|g| (g.entrez_id.to_string(), g.symbol.clone()))
        .collect();
    let (priors, _) = literature_prior(
        &Corpus { documents },
        &extractor,
        "cancer",
        &symbols,
        GeneEmbedding::None,
        &LiteratureOptions::default(),
        &|_| {},
    )?;
    println!(
        "prior for \"cancer\": {} genes mentioned, {} linked; top 3:",
        priors.len(),
        priors.n_supported()
    );
    for g in priors.genes.iter().take(3) {
        let e = &g.evidence[0];
        println!(
            "  {} {:.3}  PMID {} [{}-{}]: {}",
            g.symbol, g.score, e.pmid, e.start, e.end, e.sentence
        );
    }

    // 2. A trait from 8 common variants near linked genes (one per gene).
    let bed = BedFile::open(data.join("bolt_lmm_eur_subset_1000g/EUR_subset"))?;
    let map = GeneMap::read(data.join("gene_annotations/glist-hg19.txt"))?;
    let mapping = MappingOptions::default();
    let (weights, genes) = prior_penalty_weights(bed.variants(), &priors, &map, &mapping, 0.1)?;
    let mut causal = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut column = vec![0f32; bed.n_samples()];
    for v in 0..bed.n_variants() {
        let Some(g) = genes.genes[v]
            .iter()
            .find(|g| g.prior.is_some() && genes.score[v] > 0.1)
        else {
            continue;
        };
        bed.read_variant_into(v, &mut column)?;
        let p = column.iter().map(|&d| f64::from(d)).sum::<f64>() / (2.0 * column.len() as f64);
        if p.min(1.0 - p) > 0.1 && seen.insert(g.symbol.clone()) && causal.len() < 8 {
            causal.push(v);
        }
    }
    let terms: Vec<CausalTerm> = causal
        .iter()
        .map(|&variant| CausalTerm::Single {
            variant,
            model: GeneticModel::Additive,
            effect: 1.0,
        })
        .collect();
    let y = simulate_trait(&bed, &terms, 0.5, 1)?;

    // 3. GWAS, then the same p-values with the prior's weights.
    let scan = linear_scan(
        &bed,
        &[Phenotype {
            name: "trait",
            values: &y,
        }],
        &Covariates::none(bed.n_samples()),
        1024,
        &|_| {},
    )?;
    let p: Vec<f64> = scan.tests[0].iter().map(|t| t.p_value()).collect();
    let tested = weighted_scan(
        bed.variants(),
        &p,
        &priors,
        &map,
        &WeightedScanOptions::default(),
    )?;
    let rejected = |q: &[f64]| (0..q.len()).filter(|&i| q[i] <= 0.05).collect::<Vec<_>>();
    let (plain_bh, weighted_bh) = (
        score_rejections(&bed, &causal, &rejected(&tested.tests.q))?,
        score_rejections(&bed, &causal, &rejected(&tested.tests.q_weighted))?,
    );
    println!(
        "GWAS at FDR 0.05: {} of {} causal variants found by {} rejected variants without the \
         prior; {} by {} with it (adaptive weights, strengths per fold {:?})",
        plain_bh.true_discoveries,
        causal.len(),
        plain_bh.rejections,
        weighted_bh.true_discoveries,
        weighted_bh.rejections,
        tested.tests.strengths
    );

    // 4. Ridge with and without prior-informed shrinkage, same folds.
    let folds = k_folds(bed.n_samples(), 5, 1)?;
    let plain = ModelSpec::new(ModelKind::Ridge);
    let informed = ModelSpec {
        prior: Some(PriorPenalty::new(weights)),
        ..plain.clone()
    };
    let r2 = |spec: &ModelSpec| -> Result<f64, Box<dyn std::error::Error>> {
        let cv = cross_validate(&bed, &y, None, &folds, Task::Quantitative, spec)?;
        Ok(cv.folds.iter().map(|f| f.metrics[1]).sum::<f64>() / cv.folds.len() as f64)
    };
    println!(
        "ridge held-out R²: {:.3} plain, {:.3} with the prior",
        r2(&plain)?,
        r2(&informed)?
    );

    // 5. One person's prediction, explained (exact SHAP of the final model).
    let all: Vec<usize> = (0..bed.n_samples()).collect();
    let model = genolens::assoc::predict::fit_predictor(
        &bed,
        &y,
        None,
        &all,
        Task::Quantitative,
        &informed,
    )?;
    let explanation = explain_study(
        &Explainable::Linear(model),
        &ExplainInput {
            source: &bed,
            samples: &all,
            covariates: None,
            phenotype: None,
        },
        &ExplainOptions::new(Method::Shap),
        &ExplainContext {
            genes: Some((&map, &mapping)),
            priors: Some(&priors),
            people: &[0],
            top: 3,
        },
    )?;
    let person = &explanation.people[0];
    println!(
        "{}: prediction {:.3} (baseline {:.3}); genes raising it:",
        bed.samples()[person.sample].id.iid,
        person.output,
        person.baseline
    );
    for g in &person.genes_raising {
        let evidence = g
            .prior
            .and_then(|k| priors.genes[k].evidence.first())
            .map_or("no literature evidence".to_string(), |e| {
                format!("PMID {}: {}", e.pmid, e.sentence)
            });
        println!("  {} {:+.4}  {}", g.symbol, g.signed, evidence);
    }
    Ok(())
}
