//! The population-structure step: principal components as `plink2 --pca
//! [approx]` writes them (`.eigenvec`, `.eigenval`), the variant loadings
//! on request, and PC1 against PC2 coloured by a label. `genolens pca` and
//! the pipeline's `pca` step are this one call.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::features::pca::{pca, PcaMethod, PcaOptions};
use crate::io::report::{format_g, write_eigen, SampleIdColumns};
use crate::io::table::SampleTable;
use crate::io::{AtomicFile, GenotypeSource, SampleId};
use crate::plot::ScatterPlot;
use crate::study::progress::{stage, Progress};
use crate::study::{with_suffix, GenotypeInput};
use crate::{Error, Result};

/// A label column to colour the PC plot by.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleLabels {
    /// A table with `FID IID ...` or `IID ...` columns.
    pub path: PathBuf,
    /// The label column.
    pub column: String,
}

/// Options of the population-structure step.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaStepOptions {
    /// The genotypes.
    pub input: GenotypeInput,
    /// Number of principal components.
    pub components: usize,
    /// Randomized, streaming PCA with this seed (`plink2 --pca approx`)
    /// instead of the exact one.
    pub approx_seed: Option<u64>,
    /// Draw PC1 against PC2 to `OUT.pca.png`.
    pub plot: bool,
    /// Colour the plot by a label.
    pub labels: Option<SampleLabels>,
    /// Also write the variant loadings to `OUT.eigenvec.var`.
    pub var_wts: bool,
    /// Output prefix.
    pub out: PathBuf,
}

/// What the population-structure step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaOutcome {
    /// The eigenvalues, largest first.
    pub eigenvalues: Vec<f64>,
    /// Samples.
    pub samples: usize,
    /// Variants the PCA used (autosomal, polymorphic).
    pub variants: usize,
    /// `OUT.eigenvec`.
    pub eigenvec: PathBuf,
    /// `OUT.eigenval`.
    pub eigenval: PathBuf,
    /// `OUT.pca.png`, if drawn.
    pub plot: Option<PathBuf>,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Computes the PCs and writes OUT.eigenvec, OUT.eigenval, the loadings and
/// the plot as asked, and OUT.log.
pub fn run_pca(options: &PcaStepOptions, progress: &dyn Progress) -> Result<PcaOutcome> {
    let started = Instant::now();
    if options.plot && options.components < 2 {
        return Err(Error::Invalid("--plot needs --pca 2 or more".into()));
    }
    let ids = if options.input.is_vcf() {
        SampleIdColumns::Iid
    } else {
        SampleIdColumns::FidIid
    };
    let (source, mut log) = options.input.open_logged("pca")?;
    // Read the labels before the PCA, so that a bad table fails fast.
    let labels = match &options.labels {
        Some(l) if options.plot => Some(sample_labels(source.as_ref(), l)?),
        _ => None,
    };
    let method = match options.approx_seed {
        Some(seed) => PcaMethod::randomized(seed),
        None => PcaMethod::Exact,
    };
    let passes = match method {
        PcaMethod::Exact => 1,
        PcaMethod::Randomized {
            power_iterations, ..
        } => power_iterations + 1,
    };
    let fit = stage(
        progress,
        "PCA",
        source.n_variants() * passes,
        "variants",
        |p| {
            pca(
                source.as_ref(),
                &PcaOptions::new(options.components, method),
                p,
            )
        },
    )?;
    let rows: Vec<Vec<f64>> = (0..source.n_samples())
        .map(|i| fit.sample_scores(i))
        .collect();
    let eigenvec = with_suffix(&options.out, "eigenvec");
    let eigenval = with_suffix(&options.out, "eigenval");
    write_eigen(
        &eigenvec,
        &eigenval,
        source.samples(),
        &rows,
        &fit.eigenvalues,
        ids,
    )?;
    let _ = writeln!(
        log,
        "--pca {}{}: {} PCs from {} samples x {} variants; eigenvalues {}",
        options.components,
        if options.approx_seed.is_some() {
            " approx"
        } else {
            ""
        },
        fit.n_components(),
        source.n_samples(),
        fit.used_variants.len(),
        fit.eigenvalues
            .iter()
            .map(|x| format!("{x:.4}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut written = vec![eigenvec.clone(), eigenval.clone()];
    if options.var_wts {
        let path = with_suffix(&options.out, "eigenvec.var");
        let mut text = String::from("#CHROM\tID\tREF\tALT");
        for k in 1..=fit.n_components() {
            let _ = write!(text, "\tPC{k}");
        }
        text.push('\n');
        for (r, &v) in fit.used_variants.iter().enumerate() {
            let var = &source.variants()[v];
            let _ = write!(
                text,
                "{}\t{}\t{}\t{}",
                var.plink_chrom(),
                var.id,
                var.allele2,
                var.allele1
            );
            for k in 0..fit.n_components() {
                let _ = write!(text, "\t{}", format_g(fit.loadings[(r, k)], 6));
            }
            text.push('\n');
        }
        let mut f = AtomicFile::create(&path)?;
        f.write_all(text.as_bytes())?;
        f.commit()?;
        written.push(path);
    }
    let mut plot = None;
    if options.plot {
        let labels = labels.unwrap_or_else(|| vec![String::new(); source.n_samples()]);
        let total: f64 = fit.eigenvalues.iter().sum();
        let share = |k: usize| 100.0 * fit.eigenvalues[k] / total;
        let path = with_suffix(&options.out, "pca.png");
        ScatterPlot::new()
            .title(format!(
                "PCA of {} samples, {} variants",
                source.n_samples(),
                fit.used_variants.len()
            ))
            .x_label(format!(
                "PC1 ({:.1}% of the top {})",
                share(0),
                fit.n_components()
            ))
            .y_label(format!(
                "PC2 ({:.1}% of the top {})",
                share(1),
                fit.n_components()
            ))
            .points(
                rows.iter()
                    .zip(&labels)
                    .map(|(r, l)| (r[0], r[1], l.as_str())),
            )
            .write_png(&path)?;
        written.push(path.clone());
        plot = Some(path);
    }
    let warnings = log.warnings().to_vec();
    let log_path = log.write(&options.out, &written, started.elapsed())?;
    written.push(log_path);
    Ok(PcaOutcome {
        eigenvalues: fit.eigenvalues.clone(),
        samples: source.n_samples(),
        variants: fit.used_variants.len(),
        eigenvec,
        eigenval,
        plot,
        written,
        warnings,
    })
}

/// Each genotype sample's label, matched by FID+IID, or by IID when the
/// table has no FID; samples without one are labelled `unknown`.
fn sample_labels(source: &dyn GenotypeSource, labels: &SampleLabels) -> Result<Vec<String>> {
    let table = SampleTable::read_labels(&labels.path, &labels.column)?;
    let by_full: HashMap<&SampleId, &str> = table
        .iter()
        .filter_map(|(id, l)| l.as_deref().map(|l| (id, l)))
        .collect();
    let by_iid: HashMap<&str, &str> = table
        .iter()
        .filter_map(|(id, l)| l.as_deref().map(|l| (id.iid.as_str(), l)))
        .collect();
    let out: Vec<String> = source
        .samples()
        .iter()
        .map(|s| {
            by_full
                .get(&s.id)
                .or_else(|| by_iid.get(s.id.iid.as_str()))
                .map_or_else(|| "unknown".to_string(), |l| (*l).to_string())
        })
        .collect();
    if out.iter().all(|l| l == "unknown") {
        return Err(Error::Invalid(format!(
            "{}: no sample of the genotypes has a {} label",
            labels.path.display(),
            labels.column
        )));
    }
    Ok(out)
}
