//! A gene prior as the analysis steps take it (a `genolens prior` table or
//! any `gene score` table, with a gene map), and prior-weighted multiple
//! testing of one set of p-values.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::explain::fdr::{AdaptiveOptions, Weighting};
use crate::explain::fusion::{weighted_scan, WeightedScanOptions};
use crate::explain::mapping::{GeneAssignment, MappingOptions, MappingReport};
use crate::explain::prior::{GenePriors, PriorSource};
use crate::explain::report::weighted_tests_tsv;
use crate::io::genes::GeneMap;
use crate::io::prior::{read_evidence, read_gene_scores, read_npy_matrix};
use crate::io::{AtomicFile, Variant};
use crate::study::RunLog;
use crate::{Error, Result};

/// Where a prior comes from and how variants meet its genes.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorInput {
    /// The gene prior: `OUT.gene_prior.tsv` or any `gene score` table.
    pub prior: PathBuf,
    /// Gene coordinates in the variants' build.
    pub gene_map: PathBuf,
    /// A variant belongs to genes within this many kb.
    pub window_kb: f64,
    /// All genes in the window, or only the nearest.
    pub assignment: GeneAssignment,
    /// Weight floor: a variant near no supported gene weighs this fraction of
    /// the best-supported one.
    pub floor: f64,
}

impl PriorInput {
    /// The defaults of `genolens gwas --prior`: all genes within 25 kb, floor 0.1.
    pub fn new(prior: impl Into<PathBuf>, gene_map: impl Into<PathBuf>) -> Self {
        Self {
            prior: prior.into(),
            gene_map: gene_map.into(),
            window_kb: 25.0,
            assignment: GeneAssignment::AllInWindow,
            floor: 0.1,
        }
    }

    /// Reads the prior (with its evidence and optional embeddings) and the
    /// gene map, logging what was read.
    pub fn load(&self, embeddings: Option<&Path>, log: &mut RunLog) -> Result<LoadedPrior> {
        let priors = load_prior(&self.prior, embeddings, log)?;
        let map = GeneMap::read(&self.gene_map)?;
        let _ = writeln!(
            log,
            "--gene-map {}: {} genes; variants take the genes within {} kb ({}); weight floor {}",
            self.gene_map.display(),
            map.len(),
            self.window_kb,
            self.assignment.name(),
            self.floor
        );
        Ok(LoadedPrior {
            priors,
            map,
            mapping: MappingOptions {
                window_kb: self.window_kb,
                assignment: self.assignment,
            },
            floor: self.floor,
        })
    }
}

/// A loaded prior with its gene map and mapping options.
#[derive(Debug, Clone)]
pub struct LoadedPrior {
    /// The prior.
    pub priors: GenePriors,
    /// The gene map.
    pub map: GeneMap,
    /// How variants meet genes.
    pub mapping: MappingOptions,
    /// The weight floor.
    pub floor: f64,
}

/// Reads a gene prior table, the `X.gene_evidence.tsv` beside a
/// `X.gene_prior.tsv` when present, and gene embeddings (`.npy`, rows in the
/// table's order) when given.
pub fn load_prior(
    path: &Path,
    embeddings: Option<&Path>,
    log: &mut dyn std::fmt::Write,
) -> Result<GenePriors> {
    let rows = read_gene_scores(path)?;
    let (mut priors, report) = GenePriors::from_table(&rows, None)?;
    let evidence = sibling(path, "gene_evidence.tsv");
    if let Some(e) = evidence.filter(|p| p.exists()) {
        priors.attach_evidence(&read_evidence(&e)?);
        let _ = writeln!(log, "--prior evidence sentences from {}", e.display());
    }
    if let Some(npy) = embeddings {
        let m = read_npy_matrix(npy)?;
        // Embedding rows follow the table's rows; the prior is sorted the same
        // way (by score), but match by id to be safe.
        let order: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(k, r)| (r.gene.as_str(), k))
            .collect();
        if m.nrows() != rows.len() {
            return Err(Error::Invalid(format!(
                "{}: {} rows for the {} genes of {}",
                npy.display(),
                m.nrows(),
                rows.len(),
                path.display()
            )));
        }
        let aligned = ndarray::Array2::from_shape_fn((priors.len(), m.ncols()), |(i, j)| {
            m[[order[priors.genes[i].gene_id.as_str()], j]]
        });
        priors.attach_embeddings(&aligned)?;
    }
    let _ = writeln!(
        log,
        "--prior {}: {} genes, {} with a score above 0{}",
        path.display(),
        report.rows,
        priors.n_supported(),
        if let PriorSource::Table { rescaled: true } = priors.source {
            " (scores rescaled to [0, 1])"
        } else {
            ""
        }
    );
    Ok(priors)
}

/// `X.<suffix>` beside `X.gene_prior.tsv`.
fn sibling(path: &Path, suffix: &str) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix("gene_prior.tsv")?;
    Some(path.with_file_name(format!("{stem}{suffix}")))
}

/// Logs how variants met the prior's genes.
pub fn log_mapping(log: &mut dyn std::fmt::Write, r: &MappingReport) {
    let missing = if r.prior_genes_not_in_map.is_empty() {
        String::new()
    } else {
        format!(
            "; {} supported genes are not in the gene map ({}{})",
            r.prior_genes_not_in_map.len(),
            r.prior_genes_not_in_map
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if r.prior_genes_not_in_map.len() > 10 {
                ", ..."
            } else {
                ""
            }
        )
    };
    let _ = writeln!(
        log,
        "prior mapping: {} of {} variants near a gene, {} near a gene the prior supports; {} \
         supported genes have variants{missing}",
        r.variants_with_gene, r.variants, r.variants_supported, r.prior_genes_with_variants,
    );
}

/// How the prior's weights enter the tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightingOptions {
    /// `true`: the weights' strength is learned per genomic fold on the other
    /// folds (cross-fitted, as IHW); `false`: the prior weights as they are.
    pub adaptive: bool,
    /// The FDR (and family-wise) level of the counts.
    pub alpha: f64,
}

impl Default for WeightingOptions {
    fn default() -> Self {
        Self {
            adaptive: true,
            alpha: 0.05,
        }
    }
}

/// Re-tests `p` (one per variant, `NaN` untested) with the prior, writes the
/// weighted table to `path` and returns the log line with the counts with and
/// without the prior.
pub fn prior_weighted(
    variants: &[Variant],
    p: &[f64],
    prior: &LoadedPrior,
    weighting: &WeightingOptions,
    path: &Path,
    log: &mut RunLog,
) -> Result<String> {
    let options = WeightedScanOptions {
        mapping: prior.mapping,
        floor: prior.floor,
        weighting: if weighting.adaptive {
            Weighting::Adaptive(AdaptiveOptions::default())
        } else {
            Weighting::Fixed
        },
        alpha: weighting.alpha,
    };
    let scan = weighted_scan(variants, p, &prior.priors, &prior.map, &options)?;
    log_mapping(log, &scan.genes.report);
    if scan.equal_weights {
        log.warn(
            "every tested variant has the same prior weight: the weighted analysis equals the \
             unweighted one",
        );
    }
    let text = weighted_tests_tsv(
        variants,
        &scan.genes.genes,
        &scan.genes.score,
        p,
        &scan.tests,
    );
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()?;
    let t = &scan.tests;
    let strengths = if t.strengths.is_empty() {
        String::new()
    } else {
        format!(
            "; adaptive strengths per fold {}",
            t.strengths
                .iter()
                .map(|s| format!("{s}"))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    Ok(format!(
        "prior-weighted ({}) at level {}: Benjamini-Hochberg {} -> {} discoveries, Bonferroni \
         {} -> {} (unweighted -> weighted, {} tests){strengths}",
        options.weighting.name(),
        t.alpha,
        t.bh,
        t.bh_weighted,
        t.bonferroni,
        t.bonferroni_weighted,
        t.tests
    ))
}
