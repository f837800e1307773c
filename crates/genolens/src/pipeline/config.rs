//! The study configuration `genolens run` reads: inputs, steps with their
//! options, output directory. Unknown keys are errors (a misspelt option
//! must not be silently ignored), and relative paths are relative to the
//! configuration file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::assoc::clump::ClumpOptions;
use crate::assoc::lmm::LmmTests;
use crate::assoc::logistic::{FirthMode, LogisticMethod};
use crate::assoc::predict::ModelKind;
use crate::explain::mapping::GeneAssignment;
use crate::features::ld::IndepPairwise;
use crate::features::qc::QcThresholds;
use crate::study::gwas::GwasOptions;
use crate::study::gwas::XchrModel;
use crate::study::literature::CorpusFormat;
use crate::study::lmm::LmmRequest;
use crate::study::pca::{PcaStepOptions, SampleLabels};
use crate::study::predict::{FoldSpec, PredictOptions};
use crate::study::prior::{PriorEmbedding, PriorFrom, PriorStepOptions};
use crate::study::prior::{PriorInput, WeightingOptions};
use crate::study::qc::QcOptions;
use crate::study::train::TrainOptions;
use crate::study::wgr::WgrRequest;
use crate::study::GenotypeInput;
use crate::transformer::device::ComputeDevice;
use crate::{Error, Result};

/// A whole study: what to read, which steps to run, where to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// Output directory: each step writes into `OUT/<step>/`, the report to
    /// `OUT/report.html`.
    pub out: PathBuf,
    /// The cohort and its tables.
    pub input: InputConfig,
    /// The gene prior (literature or a table of gene scores).
    #[serde(default)]
    pub prior: Option<PriorConfig>,
    /// Quality control: filters and LD pruning, as plink2 (omit the table to
    /// skip the step; later steps then read the input as it is).
    #[serde(default)]
    pub qc: Option<QcConfig>,
    /// Population structure (omit the table to skip the step).
    #[serde(default)]
    pub pca: Option<PcaConfig>,
    /// Association (omit the table to skip the step).
    #[serde(default)]
    pub gwas: Option<GwasConfig>,
    /// Cross-validated prediction (omit the table to skip the step).
    #[serde(default)]
    pub predict: Option<PredictConfig>,
    /// The genotype transformer, cross-validated on the prediction step's
    /// folds (omit the table to skip the step).
    #[serde(default)]
    pub transformer: Option<TransformerStepConfig>,
    /// Explanations of a prediction model (omit the table to skip the step;
    /// needs `[predict]`).
    #[serde(default)]
    pub explain: Option<ExplainConfig>,
    /// The report.
    #[serde(default)]
    pub report: ReportConfig,
}

/// Options of the transformer step (as `genolens train`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerStepConfig {
    /// Most fine-tuning epochs.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Stop after this many epochs without a better validation loss.
    #[serde(default = "default_patience")]
    pub patience: usize,
    /// Masked-genotype pretraining epochs first.
    #[serde(default)]
    pub pretrain_epochs: usize,
    /// Encoder layers.
    #[serde(default = "default_layers")]
    pub layers: usize,
    /// Token width.
    #[serde(default = "default_d_model")]
    pub d_model: usize,
    /// Attention heads.
    #[serde(default = "default_heads")]
    pub heads: usize,
    /// AdamW learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Most variants (tokens), chosen per fold by GWAS-driven LD clumping.
    #[serde(default = "default_max_variants")]
    pub max_variants: usize,
    /// `cpu`, or `wgpu` / `cuda` in builds with those features.
    #[serde(default = "default_device")]
    pub device: String,
    /// Gene-token fusion: each token carries its gene's `[prior]` score.
    #[serde(default)]
    pub prior: bool,
    /// The additive path over every marker, whose predictions the
    /// transformer refines (`false`: the transformer alone).
    #[serde(default = "yes")]
    pub additive: bool,
}

/// Options of the explanation step: one model of `[predict]` explained for
/// the cohort and for the people at both ends of its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainConfig {
    /// The model to explain (default: the one with the best cross-validated
    /// r or AUC).
    #[serde(default)]
    pub model: Option<String>,
    /// The method (default: shap for linear models): shap, permutation.
    #[serde(default)]
    pub method: Option<String>,
    /// People explained one by one at each end of the out-of-fold score.
    #[serde(default = "default_people")]
    pub people: usize,
    /// Genes listed per person and direction.
    #[serde(default = "default_top")]
    pub top: usize,
    /// Seed of permutations.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

/// Options of the prediction step: each model cross-validated on the same
/// folds, side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictConfig {
    /// The phenotype to predict (default: the first of `input.pheno_name`,
    /// else the table's first column).
    #[serde(default)]
    pub pheno_name: Option<String>,
    /// Models by name: ridge, elastic-net, lasso, ols, logistic, svm,
    /// gd-linear, prs-ct.
    #[serde(default = "default_models")]
    pub models: Vec<String>,
    /// K seeded outer folds (ignored with `fold_file`).
    #[serde(default = "default_folds")]
    pub folds: usize,
    /// Folds from a file instead: an ID column and an integer fold column.
    #[serde(default)]
    pub fold_file: Option<PathBuf>,
    /// The fold file's ID column.
    #[serde(default = "default_fold_id_col")]
    pub fold_id_col: String,
    /// The fold file's fold column.
    #[serde(default = "default_fold_col")]
    pub fold_col: String,
    /// Inner folds choosing the hyperparameter.
    #[serde(default = "default_folds")]
    pub inner_folds: usize,
    /// Seed of the folds.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Use the `[prior]` as prior-informed penalties (its strength chosen by
    /// a test in the inner folds; 0 = no prior is always a candidate).
    #[serde(default)]
    pub prior: bool,
}

/// The cohort and its tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// PLINK 1 binary fileset prefix (`P.bed`, `P.bim`, `P.fam`).
    #[serde(default)]
    pub bfile: Option<PathBuf>,
    /// A VCF instead of a fileset (multi-allelic records are skipped, as
    /// plink2's `--max-alleles 2`).
    #[serde(default)]
    pub vcf: Option<PathBuf>,
    /// Keep only the variants whose IDs are listed (PLINK's `--extract`).
    #[serde(default)]
    pub extract: Option<PathBuf>,
    /// Keep only the samples listed, `FID IID` or `IID` per line (`--keep`).
    #[serde(default)]
    pub keep: Option<PathBuf>,
    /// Phenotype table (`FID IID` or `IID`, then one column per trait).
    pub pheno: PathBuf,
    /// Phenotypes to analyse (default: every column).
    #[serde(default)]
    pub pheno_name: Vec<String>,
    /// Covariate table.
    #[serde(default)]
    pub covar: Option<PathBuf>,
    /// Covariates to use (default: every column).
    #[serde(default)]
    pub covar_name: Vec<String>,
    /// Case/control coded 0/1 instead of 1/2 (PLINK 2's `--1`).
    #[serde(default)]
    pub case_control_01: bool,
    /// Gene coordinates in the genotypes' build (GRCh38 table or a PLINK
    /// glist): lead loci get their genes, and a prior needs it.
    #[serde(default)]
    pub gene_map: Option<PathBuf>,
}

/// A gene prior: mined from a corpus for a trait query (the `prior` step,
/// as `genolens prior`), or read from a table (`genolens prior`'s
/// `OUT.gene_prior.tsv`, or PoPS / MAGMA / Open Targets scores as `gene
/// score`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorConfig {
    /// A gene score table (instead of a corpus).
    #[serde(default)]
    pub table: Option<PathBuf>,
    /// Abstracts to mine (PubTator or JSONL).
    #[serde(default)]
    pub corpus: Option<PathBuf>,
    /// The corpus format, `pubtator` or `jsonl` (default: by extension).
    #[serde(default)]
    pub format: Option<String>,
    /// The trait, e.g. "type 2 diabetes".
    #[serde(default)]
    pub query: Option<String>,
    /// Gene nomenclature table (`entrez_id symbol ...`).
    #[serde(default)]
    pub gene_names: Option<PathBuf>,
    /// Gene alias table (`entrez_id symbol alias`).
    #[serde(default)]
    pub gene_aliases: Option<PathBuf>,
    /// An annotated corpus whose disease names form the disease dictionary.
    #[serde(default)]
    pub disease_corpus: Option<PathBuf>,
    /// An annotated corpus to tune the gene dictionary on.
    #[serde(default)]
    pub tune_genes: Option<PathBuf>,
    /// Evidence sentences kept per gene.
    #[serde(default = "default_evidence")]
    pub evidence: usize,
    /// A variant belongs to genes within this many kb.
    #[serde(default = "default_window_kb")]
    pub window_kb: f64,
    /// `all` genes in the window, or only the `nearest`.
    #[serde(default = "default_genes")]
    pub genes: String,
    /// Weight floor (fraction of the best-supported variant's weight).
    #[serde(default = "default_floor")]
    pub floor: f64,
    /// `adaptive` (cross-fitted strength, as IHW) or `fixed` weights.
    #[serde(default = "default_weighting")]
    pub weighting: String,
    /// FDR level of the weighted counts.
    #[serde(default = "default_fdr")]
    pub fdr: f64,
}

/// Options of the QC step. The filtered fileset it writes is what every later
/// step reads, and the PCA uses the LD-pruned variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QcConfig {
    /// Remove samples with a missing-call rate above this (applied first).
    #[serde(default)]
    pub mind: Option<f64>,
    /// Remove variants with a missing-call rate above this.
    #[serde(default)]
    pub geno: Option<f64>,
    /// Remove autosomal variants with a Hardy–Weinberg p-value below this.
    #[serde(default)]
    pub hwe: Option<f64>,
    /// Mid-p Hardy–Weinberg test.
    #[serde(default)]
    pub midp: bool,
    /// Remove variants with a minor-allele frequency below this.
    #[serde(default)]
    pub maf: Option<f64>,
    /// LD pruning for the PCA: window (variants), step, r².
    #[serde(default)]
    pub indep_pairwise: Option<(usize, usize, f64)>,
}

/// Options of the population-structure step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcaConfig {
    /// Number of principal components.
    #[serde(default = "default_components")]
    pub components: usize,
    /// Randomized, streaming PCA (`plink2 --pca approx`) for large cohorts.
    #[serde(default)]
    pub approx: bool,
    /// Seed of the randomized PCA.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// A table with a label per sample (`FID IID ...` or `IID ...`) to
    /// colour the PC plot by.
    #[serde(default)]
    pub labels: Option<PathBuf>,
    /// The label column of `labels`.
    #[serde(default = "default_label_column")]
    pub label_column: String,
}

/// Options of the association step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GwasConfig {
    /// Principal components added as covariates: the first K of the `[pca]`
    /// step when there is one, else computed by the GWAS step.
    #[serde(default)]
    pub pca: Option<usize>,
    /// Case/control test: `firth-fallback` (default), `firth`, `no-firth`,
    /// `score`.
    #[serde(default = "default_test")]
    pub test: String,
    /// Clump the results into lead loci (PLINK 1.9 `--clump`).
    #[serde(default = "yes")]
    pub clump: bool,
    /// Index variants need p ≤ this.
    #[serde(default = "default_p1")]
    pub clump_p1: f64,
    /// Members are listed when p < this.
    #[serde(default = "default_p2")]
    pub clump_p2: f64,
    /// Members need r² above this with the index.
    #[serde(default = "default_r2")]
    pub clump_r2: f64,
    /// Clump window radius in kb.
    #[serde(default = "default_kb")]
    pub clump_kb: f64,
    /// Re-test with the `[prior]` (weighted BH), when one is configured.
    #[serde(default = "yes")]
    pub weighted: bool,
    /// Test with GEMMA's exact mixed model instead of `--glm`, for related
    /// samples: `wald`, `lrt`, `score` or `all` (`gemma -lmm 1..4`).
    #[serde(default)]
    pub lmm: Option<String>,
    /// With `lmm`: leave the tested chromosome out of the relationship
    /// matrix (recommended).
    #[serde(default)]
    pub loco: bool,
    /// Test with REGENIE's two steps (whole-genome ridge regression, LOCO
    /// offsets) instead of `--glm`.
    #[serde(default)]
    pub wgr: bool,
}

/// Options of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// The report's title.
    #[serde(default = "default_title")]
    pub title: String,
    /// Lead loci listed per phenotype.
    #[serde(default = "default_loci")]
    pub lead_loci: usize,
    /// Genes within this many kb of a lead variant are its genes.
    #[serde(default = "default_gene_window_kb")]
    pub gene_window_kb: f64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            title: default_title(),
            lead_loci: default_loci(),
            gene_window_kb: default_gene_window_kb(),
        }
    }
}

fn default_epochs() -> usize {
    20
}
fn default_patience() -> usize {
    8
}
fn default_layers() -> usize {
    1
}
fn default_d_model() -> usize {
    32
}
fn default_heads() -> usize {
    4
}
fn default_lr() -> f64 {
    1e-3
}
fn default_max_variants() -> usize {
    128
}
fn default_device() -> String {
    "cpu".into()
}
fn default_evidence() -> usize {
    5
}
fn default_people() -> usize {
    5
}
fn default_top() -> usize {
    5
}
fn default_components() -> usize {
    10
}
fn default_label_column() -> String {
    "population".into()
}
fn default_window_kb() -> f64 {
    25.0
}
fn default_genes() -> String {
    "all".into()
}
fn default_floor() -> f64 {
    0.1
}
fn default_weighting() -> String {
    "adaptive".into()
}
fn default_fdr() -> f64 {
    0.05
}
fn default_test() -> String {
    "firth-fallback".into()
}
fn yes() -> bool {
    true
}
fn default_p1() -> f64 {
    ClumpOptions::default().p1
}
fn default_p2() -> f64 {
    ClumpOptions::default().p2
}
fn default_r2() -> f64 {
    ClumpOptions::default().r2
}
fn default_kb() -> f64 {
    ClumpOptions::default().kb
}
fn default_models() -> Vec<String> {
    vec!["ridge".into()]
}
fn default_folds() -> usize {
    5
}
fn default_fold_id_col() -> String {
    "IID".into()
}
fn default_fold_col() -> String {
    "fold".into()
}
fn default_seed() -> u64 {
    1
}
fn default_title() -> String {
    "genolens study".into()
}
fn default_loci() -> usize {
    20
}
fn default_gene_window_kb() -> f64 {
    25.0
}

/// A commented example configuration (`genolens run --init`).
pub const EXAMPLE_CONFIG: &str = r#"# genolens run CONFIG.toml: one study from genotypes (and literature) to a
# self-contained report. Relative paths are relative to this file. Unknown
# keys are errors. Rerunning skips every step whose inputs, options and
# genolens version are unchanged (OUT/<step>/manifest.json says why).

# Output directory: OUT/<step>/ per step, OUT/report.html.
out = "study"

[input]
# PLINK 1 binary fileset prefix (or: vcf = "cohort.vcf.gz"; multi-allelic
# records are skipped, as plink2 --max-alleles 2).
bfile = "cohort"
# extract = "cohort.prune.in" # only these variant IDs (plink2 --extract)
# keep = "unrelated.txt"      # only these samples, FID IID or IID (--keep)
# Phenotypes: FID IID (or IID) then one column per trait; 1/2 or 0/1
# (case_control_01 = true) for case/control traits, -9/NA missing.
pheno = "pheno.txt"
# pheno_name = ["PHENO"]      # default: every column
# covar = "covariates.txt"    # categorical columns become indicators
# covar_name = ["AGE", "SEX"] # default: every column
# Gene coordinates in the genotypes' build: GRCh38 table or PLINK glist.
# gene_map = "glist-hg19.txt"

# A gene prior from the literature: abstracts mined for the trait (as
# genolens prior), or a `gene score` table instead (PoPS, MAGMA, Open
# Targets: table = "scores.tsv"). Needs input.gene_map.
# [prior]
# corpus = "abstracts.pubtator"
# query = "type 2 diabetes"
# gene_names = "genes_GRCh38_orgHsEgDb.tsv"
# gene_aliases = "gene_aliases_orgHsEgDb.tsv"
# disease_corpus = "NCBItrainset_corpus.txt" # match the query by disease id
# evidence = 5                # sentences kept per gene
# window_kb = 25.0            # a variant belongs to genes within 25 kb
# genes = "all"               # or "nearest"
# floor = 0.1                 # no variant is weighted below this fraction
# weighting = "adaptive"      # cross-fitted strength (IHW); or "fixed"
# fdr = 0.05

# Quality control as plink2, in its order: --mind, then --geno, --hwe,
# --maf. Later steps read the filtered fileset; the PCA reads the variants
# LD pruning keeps (omit this table to analyse the input as it is).
[qc]
mind = 0.1
geno = 0.1
hwe = 1e-6
maf = 0.01
indep_pairwise = [50, 5, 0.2] # window, step, r2 (plink2 --indep-pairwise)

# Population structure as plink2 --pca, with PC1 against PC2 (omit this
# table to skip the step).
[pca]
components = 10
# approx = true               # randomized PCA for large cohorts (seed = 1)
# labels = "populations.tsv"  # colour the plot by a label column...
# label_column = "population" # ...of this name

# Association as plink2 --glm (omit this table to skip the step).
[gwas]
pca = 4                       # the [pca] step's first 4 PCs as covariates
test = "firth-fallback"       # case/control: firth-fallback, firth, no-firth, score
clump = true                  # lead loci, as plink1.9 --clump
# clump_p1 = 1e-4
# clump_p2 = 0.01
# clump_r2 = 0.5
# clump_kb = 250.0
# weighted = true             # weighted BH with [prior], beside the plain tests
# lmm = "wald"                # related samples: GEMMA's exact mixed model (wald, lrt, score, all)
# loco = true                 # ... leaving the tested chromosome out of its matrix
# wgr = true                  # or REGENIE's two steps: ridge LOCO predictions as offsets

# Cross-validated prediction: every model on the same folds, side by side
# (omit this table to skip the step).
[predict]
models = ["ridge", "lasso"]   # ridge, elastic-net, lasso, ols, logistic, svm, gd-linear, prs-ct
folds = 5                     # seeded outer folds (or fold_file = "folds.tsv")
inner_folds = 5               # hyperparameters chosen in inner folds
seed = 1
# pheno_name = "PHENO"        # default: the first phenotype
# prior = true                # prior-informed penalties with [prior]

# The genotype transformer (as genolens train), cross-validated on the
# [predict] folds and listed beside the other models (omit to skip).
# [transformer]
# epochs = 20
# patience = 8
# layers = 2
# d_model = 32
# max_variants = 256          # tokens per fold, by GWAS-driven LD clumping
# device = "cpu"              # or "wgpu" / "cuda" in builds with them
# prior = true                # gene-token fusion with [prior]

# Explanations of one prediction model: the variants and genes it leans on,
# for the cohort and for the people at both ends of its score, with the
# literature evidence of each gene when a [prior] is given (needs [predict]).
[explain]
# model = "lasso"             # default: the best by cross-validation
# method = "shap"             # exact for linear models; or "permutation"
people = 5                    # explained one by one at each end of the score
top = 5                       # genes listed per person and direction

[report]
title = "genolens study"
lead_loci = 20                # lead loci listed per phenotype
gene_window_kb = 25.0         # a lead variant's genes lie within this window
"#;

impl StudyConfig {
    /// Parses a TOML configuration; relative paths are resolved against
    /// `base` (the configuration file's directory). `origin` names the file
    /// in errors.
    pub fn from_toml(text: &str, origin: &Path, base: &Path) -> Result<Self> {
        let mut config: StudyConfig = toml::from_str(text).map_err(|e| Error::Config {
            path: origin.to_path_buf(),
            reason: e.to_string().trim_end().to_string(),
        })?;
        config.resolve(base);
        Ok(config)
    }

    /// Reads and parses a configuration file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::File {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, path, base)
    }

    /// Makes every relative path absolute under `base`.
    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.out);
        let i = &mut self.input;
        for p in [
            &mut i.bfile,
            &mut i.vcf,
            &mut i.extract,
            &mut i.keep,
            &mut i.covar,
            &mut i.gene_map,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        fix(&mut i.pheno);
        if let Some(prior) = &mut self.prior {
            for p in [
                &mut prior.table,
                &mut prior.corpus,
                &mut prior.gene_names,
                &mut prior.gene_aliases,
                &mut prior.disease_corpus,
                &mut prior.tune_genes,
            ]
            .into_iter()
            .flatten()
            {
                fix(p);
            }
        }
        if let Some(f) = self.predict.as_mut().and_then(|p| p.fold_file.as_mut()) {
            fix(f);
        }
        if let Some(f) = self.pca.as_mut().and_then(|p| p.labels.as_mut()) {
            fix(f);
        }
    }

    /// Every problem that would stop the run, found before any work starts:
    /// missing files, values out of range, a step without an input it needs.
    /// `origin` names the configuration in the error.
    pub fn validate(&self, origin: &Path) -> Result<()> {
        let fail = |reason: String| Error::Config {
            path: origin.to_path_buf(),
            reason,
        };
        let exists = |key: &str, p: &Path| -> Result<()> {
            if p.is_file() {
                Ok(())
            } else {
                Err(fail(format!("{key}: no such file {}", p.display())))
            }
        };
        let i = &self.input;
        match (&i.bfile, &i.vcf) {
            (Some(prefix), None) => {
                for ext in ["bed", "bim", "fam"] {
                    exists("input.bfile", &crate::study::with_suffix(prefix, ext))?;
                }
            }
            (None, Some(vcf)) => exists("input.vcf", vcf)?,
            _ => return Err(fail("input: give exactly one of bfile or vcf".into())),
        }
        exists("input.pheno", &i.pheno)?;
        if let Some(e) = &i.extract {
            exists("input.extract", e)?;
        }
        if let Some(k) = &i.keep {
            exists("input.keep", k)?;
        }
        if let Some(c) = &i.covar {
            exists("input.covar", c)?;
        }
        if i.covar.is_none() && !i.covar_name.is_empty() {
            return Err(fail("input.covar_name needs input.covar".into()));
        }
        if let Some(g) = &i.gene_map {
            exists("input.gene_map", g)?;
        }
        if let Some(prior) = &self.prior {
            match (&prior.table, &prior.corpus) {
                (Some(t), None) => exists("prior.table", t)?,
                (None, Some(c)) => {
                    exists("prior.corpus", c)?;
                    if prior.query.is_none() {
                        return Err(fail("prior.corpus needs prior.query (the trait)".into()));
                    }
                    for (key, file) in [
                        ("prior.gene_names", &prior.gene_names),
                        ("prior.gene_aliases", &prior.gene_aliases),
                    ] {
                        match file {
                            Some(f) => exists(key, f)?,
                            None => {
                                return Err(fail(format!(
                                    "prior.corpus needs {key} (the gene dictionary)"
                                )))
                            }
                        }
                    }
                    for (key, file) in [
                        ("prior.disease_corpus", &prior.disease_corpus),
                        ("prior.tune_genes", &prior.tune_genes),
                    ] {
                        if let Some(f) = file {
                            exists(key, f)?;
                        }
                    }
                    if let Some(f) = &prior.format {
                        if !matches!(f.as_str(), "pubtator" | "jsonl") {
                            return Err(fail(format!(
                                "prior.format = {f:?}: expected \"pubtator\" or \"jsonl\""
                            )));
                        }
                    }
                }
                _ => {
                    return Err(fail(
                        "prior: give exactly one of table (gene scores) or corpus (abstracts)"
                            .into(),
                    ))
                }
            }
            if i.gene_map.is_none() {
                return Err(fail(
                    "prior needs input.gene_map (variants meet the prior's genes through it)"
                        .into(),
                ));
            }
            if GeneAssignment::from_name(&prior.genes).is_none() {
                return Err(fail(format!(
                    "prior.genes = {:?}: expected \"all\" or \"nearest\"",
                    prior.genes
                )));
            }
            if !matches!(prior.weighting.as_str(), "adaptive" | "fixed") {
                return Err(fail(format!(
                    "prior.weighting = {:?}: expected \"adaptive\" or \"fixed\"",
                    prior.weighting
                )));
            }
            if !(prior.floor > 0.0 && prior.floor <= 1.0) {
                return Err(fail(format!(
                    "prior.floor = {}: must be in (0, 1]",
                    prior.floor
                )));
            }
            if !(prior.fdr > 0.0 && prior.fdr < 1.0) {
                return Err(fail(format!(
                    "prior.fdr = {}: must be in (0, 1)",
                    prior.fdr
                )));
            }
        }
        if let Some(q) = &self.qc {
            let t = q.thresholds();
            t.validate().map_err(|e| fail(format!("qc: {e}")))?;
            if let Some(p) = q.pairwise() {
                p.validate()
                    .map_err(|e| fail(format!("qc.indep_pairwise: {e}")))?;
            }
            let nothing = t == QcThresholds::default() && q.indep_pairwise.is_none();
            if nothing {
                return Err(fail(
                    "qc: no filter and no indep_pairwise; give one or omit the table".into(),
                ));
            }
        }
        if let Some(p) = &self.pca {
            if p.components < 2 {
                return Err(fail(format!(
                    "pca.components = {}: at least 2 (the plot shows PC1 against PC2)",
                    p.components
                )));
            }
            if let Some(l) = &p.labels {
                exists("pca.labels", l)?;
            }
        }
        if let Some(g) = &self.gwas {
            if logistic_method(&g.test).is_none() {
                return Err(fail(format!(
                    "gwas.test = {:?}: expected firth-fallback, firth, no-firth or score",
                    g.test
                )));
            }
            if g.lmm.as_deref().is_some_and(|t| lmm_tests(t).is_none()) {
                return Err(fail(format!(
                    "gwas.lmm = {:?}: expected wald, lrt, score or all",
                    g.lmm.as_deref().unwrap_or_default()
                )));
            }
            if g.loco && g.lmm.is_none() {
                return Err(fail("gwas.loco needs gwas.lmm".into()));
            }
            if g.wgr && g.lmm.is_some() {
                return Err(fail("gwas.wgr and gwas.lmm: choose one".into()));
            }
            if g.pca == Some(0) {
                return Err(fail(
                    "gwas.pca = 0: give at least 1 component or omit it".into(),
                ));
            }
            if let (Some(k), Some(p)) = (g.pca, &self.pca) {
                if k > p.components {
                    return Err(fail(format!(
                        "gwas.pca = {k}: the [pca] step computes {} components",
                        p.components
                    )));
                }
            }
            for (key, v) in [("gwas.clump_p1", g.clump_p1), ("gwas.clump_p2", g.clump_p2)] {
                if !(v > 0.0 && v <= 1.0) {
                    return Err(fail(format!("{key} = {v}: must be in (0, 1]")));
                }
            }
            if !(0.0..1.0).contains(&g.clump_r2) || g.clump_kb <= 0.0 {
                return Err(fail(format!(
                    "gwas.clump_r2 = {} must be in [0, 1) and gwas.clump_kb = {} above 0",
                    g.clump_r2, g.clump_kb
                )));
            }
        }
        if let Some(p) = &self.predict {
            if p.models.is_empty() {
                return Err(fail(
                    "predict.models is empty: name at least one model".into(),
                ));
            }
            for m in &p.models {
                if ModelKind::from_name(m).is_none() {
                    let names: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
                    return Err(fail(format!(
                        "predict.models: unknown model {m:?}; one of {}",
                        names.join(", ")
                    )));
                }
            }
            if p.fold_file.is_none() && p.folds < 2 {
                return Err(fail(format!("predict.folds = {}: at least 2", p.folds)));
            }
            if p.inner_folds < 2 {
                return Err(fail(format!(
                    "predict.inner_folds = {}: at least 2",
                    p.inner_folds
                )));
            }
            if let Some(f) = &p.fold_file {
                exists("predict.fold_file", f)?;
            }
            if p.prior && self.prior.is_none() {
                return Err(fail("predict.prior = true needs a [prior] table".into()));
            }
        }
        if let Some(t) = &self.transformer {
            if let Err(e) = t.device.parse::<ComputeDevice>() {
                return Err(fail(format!("transformer.device = {:?}: {e}", t.device)));
            }
            if t.prior && self.prior.is_none() {
                return Err(fail(
                    "transformer.prior = true needs a [prior] table".into(),
                ));
            }
            if t.epochs == 0 || t.max_variants == 0 || t.layers == 0 {
                return Err(fail(
                    "transformer.epochs, max_variants and layers must be at least 1".into(),
                ));
            }
            if t.heads == 0 || t.d_model % t.heads != 0 {
                return Err(fail(format!(
                    "transformer.d_model = {} must be a multiple of transformer.heads = {}",
                    t.d_model, t.heads
                )));
            }
        }
        if let Some(e) = &self.explain {
            let Some(p) = &self.predict else {
                return Err(fail(
                    "explain needs a [predict] table (it explains one of its models)".into(),
                ));
            };
            if let Some(m) = &e.model {
                if !p.models.contains(m) {
                    return Err(fail(format!(
                        "explain.model = {m:?} is not one of predict.models ({})",
                        p.models.join(", ")
                    )));
                }
            }
            if let Some(m) = &e.method {
                if !matches!(m.as_str(), "shap" | "permutation") {
                    return Err(fail(format!(
                        "explain.method = {m:?}: the prediction models take \"shap\" or \
                         \"permutation\""
                    )));
                }
            }
            if e.people == 0 || e.top == 0 {
                return Err(fail(
                    "explain.people and explain.top must be at least 1".into(),
                ));
            }
        }
        if self.report.lead_loci == 0 {
            return Err(fail("report.lead_loci = 0: list at least one locus".into()));
        }
        Ok(())
    }

    /// The genotypes the analysis steps read: the QC step's filtered
    /// fileset when QC is configured, else the input.
    pub fn genotype_input(&self) -> GenotypeInput {
        if self.qc.is_some() {
            return GenotypeInput::bfile(self.qc_prefix());
        }
        self.raw_input()
    }

    /// The gene prior table the analysis steps read: the configured table,
    /// or the prior step's `OUT/prior/prior.gene_prior.tsv`.
    pub fn prior_table(&self) -> Option<PathBuf> {
        let p = self.prior.as_ref()?;
        Some(match &p.table {
            Some(t) => t.clone(),
            None => self.out.join("prior").join("prior.gene_prior.tsv"),
        })
    }

    /// The prior step's options, when the prior is mined from a corpus.
    pub fn prior_step_options(&self) -> Option<PriorStepOptions> {
        let p = self.prior.as_ref()?;
        let corpus = p.corpus.clone()?;
        Some(PriorStepOptions {
            from: PriorFrom::Corpus {
                corpus,
                format: match p.format.as_deref() {
                    Some("pubtator") => Some(CorpusFormat::Pubtator),
                    Some("jsonl") => Some(CorpusFormat::Jsonl),
                    _ => None,
                },
                query: p.query.clone().unwrap_or_default(),
                disease_corpus: p.disease_corpus.clone(),
                tune_genes: p.tune_genes.clone(),
                embedding: PriorEmbedding::None,
                evidence: p.evidence,
            },
            gene_names: p.gene_names.clone(),
            gene_aliases: p.gene_aliases.clone(),
            out: self.out.join("prior").join("prior"),
        })
    }

    /// The QC step's output prefix (`OUT/qc/qc`).
    pub fn qc_prefix(&self) -> PathBuf {
        self.out.join("qc").join("qc")
    }

    /// The QC step's options, if configured.
    pub fn qc_options(&self) -> Option<QcOptions> {
        let q = self.qc.as_ref()?;
        Some(QcOptions {
            input: self.raw_input(),
            thresholds: q.thresholds(),
            freq: true,
            hardy: true,
            missing: true,
            het: false,
            indep_pairwise: q.pairwise(),
            make_bed: true,
            out: self.qc_prefix(),
        })
    }

    /// The configured input, before QC.
    pub fn raw_input(&self) -> GenotypeInput {
        let files = match (&self.input.bfile, &self.input.vcf) {
            (_, Some(vcf)) => crate::study::GenotypeFiles::Vcf(
                vcf.clone(),
                crate::io::vcf::VcfOptions {
                    multiallelic: crate::io::vcf::MultiAllelic::Skip,
                    use_dosage: true,
                },
            ),
            (Some(prefix), None) => crate::study::GenotypeFiles::Bfile(prefix.clone()),
            (None, None) => crate::study::GenotypeFiles::Bfile(PathBuf::new()),
        };
        GenotypeInput {
            files,
            extract: self.input.extract.clone(),
            keep: self.input.keep.clone(),
            range: Default::default(),
        }
    }

    /// The prior as the steps take it.
    pub fn prior_input(&self) -> Option<(PriorInput, WeightingOptions)> {
        let p = self.prior.as_ref()?;
        let gene_map = self.input.gene_map.clone()?;
        Some((
            PriorInput {
                prior: self.prior_table()?,
                gene_map,
                window_kb: p.window_kb,
                assignment: GeneAssignment::from_name(&p.genes)
                    .unwrap_or(GeneAssignment::AllInWindow),
                floor: p.floor,
            },
            WeightingOptions {
                adaptive: p.weighting != "fixed",
                alpha: p.fdr,
            },
        ))
    }

    /// The association step's options, writing under `prefix`.
    pub fn gwas_options(&self, prefix: PathBuf) -> Option<GwasOptions> {
        let g = self.gwas.as_ref()?;
        let (prior, weighting) = match self.prior_input() {
            Some((p, w)) if g.weighted => (Some(p), w),
            _ => (None, WeightingOptions::default()),
        };
        Some(GwasOptions {
            input: self.genotype_input(),
            pheno: self.input.pheno.clone(),
            pheno_names: self.input.pheno_name.clone(),
            covar: self.input.covar.clone(),
            covar_names: self.input.covar_name.clone(),
            // With a PCA step, its components (on LD-pruned variants) are the
            // covariates; the GWAS computes its own only without one.
            pca: g.pca.filter(|_| self.pca.is_none()),
            pc_file: g
                .pca
                .filter(|_| self.pca.is_some())
                .map(|k| (self.out.join("pca").join("pca.eigenvec"), k)),
            case_control_01: self.input.case_control_01,
            logistic: logistic_method(&g.test)?,
            xchr_model: XchrModel::default(),
            no_x_sex: false,
            clump: g.clump.then_some(ClumpOptions {
                p1: g.clump_p1,
                p2: g.clump_p2,
                r2: g.clump_r2,
                kb: g.clump_kb,
            }),
            parquet: false,
            gene_map: self.input.gene_map.clone(),
            prior,
            weighting,
            lmm: g.lmm.as_deref().and_then(lmm_tests).map(|t| LmmRequest {
                loco: g.loco,
                ..LmmRequest::new(t)
            }),
            wgr: g.wgr.then(WgrRequest::default),
            out: prefix,
        })
    }
}

impl StudyConfig {
    /// The population-structure step's options, writing under `prefix`.
    pub fn pca_options(&self, prefix: PathBuf) -> Option<PcaStepOptions> {
        let p = self.pca.as_ref()?;
        let mut input = self.genotype_input();
        // The PCA reads the LD-pruned variants when QC prunes.
        if self.qc.as_ref().is_some_and(|q| q.indep_pairwise.is_some()) {
            input.extract = Some(crate::study::with_suffix(&self.qc_prefix(), "prune.in"));
        }
        Some(PcaStepOptions {
            input,
            components: p.components,
            approx_seed: p.approx.then_some(p.seed),
            plot: true,
            labels: p.labels.clone().map(|path| SampleLabels {
                path,
                column: p.label_column.clone(),
            }),
            var_wts: false,
            out: prefix,
        })
    }

    /// The prediction step's options, one per model, each writing under
    /// `dir/MODEL`.
    pub fn predict_options(&self, dir: &Path) -> Vec<PredictOptions> {
        let Some(p) = &self.predict else {
            return Vec::new();
        };
        let prior = if p.prior {
            self.prior_input().map(|(input, _)| input)
        } else {
            None
        };
        p.models
            .iter()
            .filter_map(|m| ModelKind::from_name(m))
            .map(|model| PredictOptions {
                input: self.genotype_input(),
                pheno: self.input.pheno.clone(),
                pheno_name: p
                    .pheno_name
                    .clone()
                    .or_else(|| self.input.pheno_name.first().cloned()),
                covar: self.input.covar.clone(),
                covar_names: self.input.covar_name.clone(),
                case_control_01: self.input.case_control_01,
                model,
                folds: match &p.fold_file {
                    Some(path) => FoldSpec::File {
                        path: path.clone(),
                        id_col: p.fold_id_col.clone(),
                        fold_col: p.fold_col.clone(),
                    },
                    None => FoldSpec::Seeded(p.folds),
                },
                grid: None,
                inner_folds: p.inner_folds,
                inner_repeats: None,
                seed: p.seed,
                prior: prior.clone(),
                prior_strengths: vec![0.0, 0.5, 1.0, 2.0],
                prior_level: 0.05,
                out: dir.join(model.name()),
            })
            .collect()
    }
}

impl QcConfig {
    /// The filters as the QC step takes them.
    pub fn thresholds(&self) -> QcThresholds {
        QcThresholds {
            mind: self.mind,
            geno: self.geno,
            hwe: self.hwe,
            hwe_midp: self.midp,
            maf: self.maf,
        }
    }

    /// The LD pruning, if asked.
    pub fn pairwise(&self) -> Option<IndepPairwise> {
        self.indep_pairwise
            .map(|(window, step, r2)| IndepPairwise { window, step, r2 })
    }
}

impl StudyConfig {
    /// The transformer step's options, writing into `dir`.
    pub fn transformer_options(&self, dir: PathBuf) -> Option<TrainOptions> {
        let t = self.transformer.as_ref()?;
        let predict = self.predict.as_ref();
        Some(TrainOptions {
            input: self.genotype_input(),
            pheno: self.input.pheno.clone(),
            pheno_name: predict
                .and_then(|p| p.pheno_name.clone())
                .or_else(|| self.input.pheno_name.first().cloned())
                .into_iter()
                .collect(),
            covar: self.input.covar.clone(),
            covar_name: self.input.covar_name.clone(),
            case_control_01: self.input.case_control_01,
            pretrain_epochs: t.pretrain_epochs,
            epochs: t.epochs,
            patience: t.patience,
            lora_rank: None,
            lora_alpha: None,
            lr: t.lr,
            batch_size: 32,
            layers: t.layers,
            d_model: t.d_model,
            heads: t.heads,
            dropout: 0.1,
            max_variants: t.max_variants,
            variants: None,
            valid_fraction: 0.15,
            search: false,
            search_lr: Vec::new(),
            search_layers: Vec::new(),
            search_lora_rank: Vec::new(),
            device: t.device.parse().unwrap_or(ComputeDevice::Cpu),
            // The prediction step's folds, so the models compare fold by fold.
            folds: match predict {
                Some(PredictConfig {
                    fold_file: Some(path),
                    fold_id_col,
                    fold_col,
                    ..
                }) => FoldSpec::File {
                    path: path.clone(),
                    id_col: fold_id_col.clone(),
                    fold_col: fold_col.clone(),
                },
                Some(p) => FoldSpec::Seeded(p.folds),
                None => FoldSpec::Seeded(5),
            },
            seed: predict.map_or(1, |p| p.seed),
            resume: false,
            prior: if t.prior {
                self.prior_input().map(|(input, _)| input)
            } else {
                None
            },
            prior_embeddings: None,
            additive: t.additive,
            out: dir,
        })
    }
}

/// The mixed-model tests a `gwas.lmm` value names.
fn lmm_tests(name: &str) -> Option<LmmTests> {
    Some(match name {
        "wald" => LmmTests::Wald,
        "lrt" => LmmTests::Lrt,
        "score" => LmmTests::Score,
        "all" => LmmTests::All,
        _ => return None,
    })
}

/// The case/control test a `gwas.test` value names.
fn logistic_method(name: &str) -> Option<LogisticMethod> {
    Some(match name {
        "firth-fallback" => LogisticMethod::Wald(FirthMode::Fallback),
        "firth" => LogisticMethod::Wald(FirthMode::Always),
        "no-firth" => LogisticMethod::Wald(FirthMode::Never),
        "score" => LogisticMethod::Score,
        _ => return None,
    })
}
