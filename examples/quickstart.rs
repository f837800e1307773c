//! The main job on bundled data: one study from genotypes to a report.
//!
//! The cohort is the BOLT-LMM example (379 Europeans of 1000 Genomes × 54,051
//! variants on chromosomes 17–22, with a simulated trait and covariates). The
//! study mines a gene prior from BioRED's abstracts, runs QC (plink2's filters, LD pruning), population structure (PCA
//! on the pruned variants), a GWAS with PCs and covariates,
//! clumped lead loci named by their genes, ridge, lasso and the genotype
//! transformer cross-validated on the same folds, and exact SHAP explanations of the
//! better model down to genes and people, then writes `OUT/report.html`: one
//! self-contained page with every table and picture. A rerun skips the steps
//! whose inputs and options are unchanged.
//!
//! Run with `cargo run --release --example quickstart [OUT_DIR]`. The data is
//! looked up in `$GENOLENS_DATA`, else `../shared/data` beside the repository.
//! The other examples show one capability each: `gwas`, `predict`,
//! `literature`, `fusion`.

mod common;

use std::path::PathBuf;

use genolens::pipeline::{Pipeline, PipelineProgress, StepStatus};
use genolens::study::Progress;

/// Prints a line per step (a library never prints; an application may).
struct Lines;

impl Progress for Lines {
    fn start(&self, what: &str, _total: Option<usize>, _unit: &str) {
        println!("  {what} ...");
    }
    fn set(&self, _done: usize) {}
    fn finish(&self) {}
}

impl PipelineProgress for Lines {
    fn step_done(&self, step: &str, status: StepStatus, wall_s: f64) {
        match status {
            StepStatus::Ran => println!("{step}: done in {wall_s:.1} s"),
            StepStatus::Skipped => println!("{step}: unchanged, kept from the last run"),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = common::data_dir();
    let out_dir = common::out_dir("quickstart")?;
    let bolt = data.join("bolt_lmm_eur_subset_1000g");
    let path = |p: PathBuf| p.display().to_string();
    // The configuration `genolens run` reads; `genolens run --init FILE` writes
    // a commented one with every option.
    let config = format!(
        r#"out = "study"

[input]
bfile = "{bfile}"
pheno = "{pheno}"
pheno_name = ["PHENO"]
covar = "{pheno}"
covar_name = ["QCOV1", "QCOV2", "CAT_COV"]
gene_map = "{glist}"

# A literature prior mined from BioRED's 100 test abstracts. The trait here is
# simulated, so this prior only shows the path (prior -> weighted GWAS ->
# evidence in the report), not a gain; docs/benchmarks.md measures the gain.
[prior]
corpus = "{biored}"
query = "breast cancer"
gene_names = "{names}"
gene_aliases = "{aliases}"
disease_corpus = "{diseases}"

[qc]
geno = 0.05
hwe = 1e-6
maf = 0.01
indep_pairwise = [50, 5, 0.2]

[pca]
components = 10

[gwas]
pca = 4
clump_p1 = 1e-4

[predict]
models = ["ridge", "lasso"]
folds = 5
seed = 1

[transformer]
epochs = 10
max_variants = 128

[explain]
people = 5

[report]
title = "genolens quick start: 1000 Genomes EUR, chromosomes 17-22"
"#,
        bfile = path(bolt.join("EUR_subset")),
        pheno = path(bolt.join("EUR_subset.pheno2.covars")),
        glist = path(data.join("gene_annotations/glist-hg19.txt")),
        biored = path(data.join("biored/Test.PubTator")),
        names = path(data.join("gene_annotations/genes_GRCh38_orgHsEgDb.tsv")),
        aliases = path(data.join("gene_annotations/gene_aliases_orgHsEgDb.tsv")),
        diseases = path(data.join("ncbi_disease_corpus/NCBItrainset_corpus.txt")),
    );
    let config_path = out_dir.join("study.toml");
    std::fs::write(&config_path, config)?;
    println!("study: {}", config_path.display());

    let study = Pipeline::from_toml_file(&config_path)?.run(&Lines)?;

    if let Some(prior) = &study.prior {
        let top: Vec<&str> = prior
            .top
            .iter()
            .take(5)
            .map(|g| g.symbol.as_str())
            .collect();
        println!(
            "literature prior: {} abstracts, {} genes linked to the query (top {})",
            prior.documents,
            prior.supported,
            top.join(", ")
        );
    }
    if let Some(gwas) = &study.gwas {
        for scan in &gwas.phenotypes {
            let lead = scan.clumps.as_ref().and_then(|c| c.leads.first());
            println!(
                "GWAS {}: {} variants tested, lambda GC {}, {} lead loci{}{}",
                scan.name,
                scan.tested,
                scan.lambda_gc.map_or("NA".into(), |l| format!("{l:.4}")),
                scan.clumps.as_ref().map_or(0, |c| c.leads.len()),
                lead.map_or(String::new(), |l| format!(", top {} (p {:.2e})", l.id, l.p)),
                scan.weighted.map_or(String::new(), |w| format!(
                    "; BH discoveries {} unweighted, {} with the prior",
                    w.bh, w.bh_weighted
                ))
            );
        }
    }
    if let Some(predict) = &study.predict {
        for m in &predict.models {
            println!(
                "prediction {} of {}: mean Pearson r {:.3} ± {:.3} over {} folds",
                m.model,
                m.phenotype,
                m.mean[0],
                m.sd[0],
                m.folds.len()
            );
        }
    }
    if let Some(t) = &study.transformer {
        println!(
            "prediction transformer: mean Pearson r {:.3} ± {:.3} over {} folds{}",
            t.mean.first().copied().unwrap_or(f64::NAN),
            t.sd.first().copied().unwrap_or(f64::NAN),
            t.folds.len(),
            t.additive_mean
                .as_ref()
                .and_then(|a| a.first())
                .map_or(String::new(), |r| format!(
                    " (its additive path over every marker alone: r {r:.3})"
                ))
        );
    }
    if let Some(explain) = &study.explain {
        let genes: Vec<&str> = explain
            .top_genes
            .iter()
            .take(5)
            .map(|g| g.symbol.as_str())
            .collect();
        println!(
            "explained {} ({}): top genes {}",
            explain.model_name,
            explain.method,
            genes.join(", ")
        );
    }
    println!("report: {}", study.report.display());
    Ok(())
}
