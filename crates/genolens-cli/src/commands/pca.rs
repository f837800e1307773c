//! `genolens pca`: principal components as `plink2 --pca [approx]` writes them,
//! plus a PC1/PC2 scatter plot and the variant loadings.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use genolens::features::pca::{pca, PcaMethod, PcaOptions};
use genolens::io::report::{write_eigen, SampleIdColumns};
use genolens::io::table::SampleTable;
use genolens::io::{AtomicFile, GenotypeSource, SampleId};
use genolens::plot::ScatterPlot;

use crate::commands::freq::with_suffix;
use crate::error::CliError;
use crate::input::InputArgs;
use crate::progress;

/// Flags of `genolens pca`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Number of principal components.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pca: usize,
    /// Randomized, streaming PCA (PLINK 2's `--pca approx`) instead of the exact
    /// eigendecomposition of the N × N relationship matrix.
    #[arg(long)]
    approx: bool,
    /// Seed of the randomized method's start.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also draw PC1 against PC2 to OUT.pca.png.
    #[arg(long)]
    plot: bool,
    /// Colour the plot by a label column of this table (`FID IID ...` or `IID ...`).
    #[arg(long, value_name = "FILE", requires = "plot")]
    pop_file: Option<PathBuf>,
    /// The label column of --pop-file.
    #[arg(long, value_name = "NAME", default_value = "population")]
    pop_column: String,
    /// Also write the variant loadings to OUT.eigenvec.var.
    #[arg(long)]
    var_wts: bool,
    /// Output prefix.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Computes the PCs and writes OUT.eigenvec, OUT.eigenval (and the plot).
pub fn run(args: Args) -> Result<(), CliError> {
    let ids = if args.input.is_vcf() {
        SampleIdColumns::Iid
    } else {
        SampleIdColumns::FidIid
    };
    let source = args.input.open()?;
    let method = if args.approx {
        PcaMethod::randomized(args.seed)
    } else {
        PcaMethod::Exact
    };
    let options = PcaOptions::new(args.pca, method);
    let passes = match method {
        PcaMethod::Exact => 1,
        PcaMethod::Randomized {
            power_iterations, ..
        } => power_iterations + 1,
    };
    let fit = progress::over_variants(source.n_variants() * passes, "PCA", |p| {
        pca(source.as_ref(), &options, p)
    })?;
    let rows: Vec<Vec<f64>> = (0..source.n_samples())
        .map(|i| fit.sample_scores(i))
        .collect();
    let vec_path = with_suffix(&args.out, "eigenvec");
    let val_path = with_suffix(&args.out, "eigenval");
    write_eigen(
        &vec_path,
        &val_path,
        source.samples(),
        &rows,
        &fit.eigenvalues,
        ids,
    )?;
    eprintln!(
        "genolens: {} PCs from {} samples x {} variants; wrote {} and {}",
        fit.n_components(),
        source.n_samples(),
        fit.used_variants.len(),
        vec_path.display(),
        val_path.display()
    );
    if args.var_wts {
        let path = with_suffix(&args.out, "eigenvec.var");
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
                let _ = write!(
                    text,
                    "\t{}",
                    genolens::io::report::format_g(fit.loadings[(r, k)], 6)
                );
            }
            text.push('\n');
        }
        let mut f = AtomicFile::create(&path)?;
        f.write_all(text.as_bytes())?;
        f.commit()?;
        eprintln!("genolens: wrote {}", path.display());
    }
    if args.plot {
        if fit.n_components() < 2 {
            return Err(CliError::Usage("--plot needs --pca 2 or more".into()));
        }
        let labels = match &args.pop_file {
            Some(path) => sample_labels(source.as_ref(), path, &args.pop_column)?,
            None => vec![String::new(); source.n_samples()],
        };
        let total: f64 = fit.eigenvalues.iter().sum();
        let share = |k: usize| 100.0 * fit.eigenvalues[k] / total;
        let path = with_suffix(&args.out, "pca.png");
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
        eprintln!("genolens: wrote {}", path.display());
    }
    Ok(())
}

/// Each genotype sample's label from `path`, matched by FID+IID, or by IID when
/// the table has no FID; samples without one are labelled `unknown`.
fn sample_labels(
    source: &dyn GenotypeSource,
    path: &std::path::Path,
    column: &str,
) -> Result<Vec<String>, CliError> {
    let table = SampleTable::read_labels(path, column)?;
    let by_full: HashMap<&SampleId, &str> = table
        .iter()
        .filter_map(|(id, l)| l.as_deref().map(|l| (id, l)))
        .collect();
    let by_iid: HashMap<&str, &str> = table
        .iter()
        .filter_map(|(id, l)| l.as_deref().map(|l| (id.iid.as_str(), l)))
        .collect();
    let labels: Vec<String> = source
        .samples()
        .iter()
        .map(|s| {
            by_full
                .get(&s.id)
                .or_else(|| by_iid.get(s.id.iid.as_str()))
                .map_or_else(|| "unknown".to_string(), |l| (*l).to_string())
        })
        .collect();
    if labels.iter().all(|l| l == "unknown") {
        return Err(CliError::Usage(format!(
            "{}: no sample of the genotypes has a {column} label",
            path.display()
        )));
    }
    Ok(labels)
}
