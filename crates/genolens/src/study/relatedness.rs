//! The relatedness step: PLINK 2's KING-robust table (`--make-king-table` →
//! `OUT.kin0`), its unrelated set (`--king-cutoff` → `OUT.king.cutoff.in.id`
//! and `.out.id`), and the genomic relationship matrix in GCTA's binary layout
//! (`--make-grm-bin` → `OUT.grm.bin`, `.grm.N.bin`, `.grm.id`), with the
//! classic KING picture (kinship against IBS0) on request. `genolens
//! relatedness` is this one call.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::features::relate::{grm, king, king_cutoff, GrmOptions, KingOptions, KingPair};
use crate::io::relatedness::{write_grm_bin, GrmPaths, KingTableWriter};
use crate::io::report::{write_sample_ids, SampleIdColumns};
use crate::plot::{LineStyle, ScatterPlot};
use crate::study::progress::{stage, Progress};
use crate::study::{with_suffix, GenotypeInput};
use crate::{Error, Result};

/// KING's thresholds between degrees of relationship (`2^-k/2`): duplicates or
/// monozygotic twins above 0.354, first degree above 0.177, second above
/// 0.0884, third above 0.0442.
pub const KING_DEGREE_THRESHOLDS: [(f64, &str); 4] = [
    (0.354, "duplicate/MZ twin"),
    (0.177, "1st degree"),
    (0.0884, "2nd degree"),
    (0.0442, "3rd degree"),
];

/// How the relationship matrix is built (`plink2 --make-grm-bin
/// [cov] [meanimpute]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GrmRequest {
    /// Centre only (`cov`; GEMMA's centred matrix) instead of standardising.
    pub cov: bool,
    /// Divide by all variants, missing calls at the mean (`meanimpute`),
    /// instead of by the variants each pair has both called.
    pub meanimpute: bool,
}

/// Options of the relatedness step.
#[derive(Debug, Clone, PartialEq)]
pub struct RelatednessOptions {
    /// The genotypes.
    pub input: GenotypeInput,
    /// Write the KING table `OUT.kin0`.
    pub king_table: bool,
    /// Keep a maximal set without a pair above this kinship, as `plink2
    /// --king-cutoff` (0.0884 excludes 2nd degree and closer).
    pub king_cutoff: Option<f64>,
    /// Write the relationship matrix.
    pub grm: Option<GrmRequest>,
    /// Draw kinship against IBS0 to `OUT.king.png` (needs the KING table).
    pub plot: bool,
    /// Output prefix.
    pub out: PathBuf,
}

/// Pairs per degree of relationship, by [`KING_DEGREE_THRESHOLDS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DegreeCounts {
    /// Kinship above 0.354.
    pub duplicates: usize,
    /// 0.177 to 0.354.
    pub first: usize,
    /// 0.0884 to 0.177.
    pub second: usize,
    /// 0.0442 to 0.0884.
    pub third: usize,
}

impl DegreeCounts {
    /// Counts one pair by its kinship (NaN and below third degree: nowhere).
    fn add(&mut self, kinship: f64) {
        match KING_DEGREE_THRESHOLDS
            .iter()
            .position(|(threshold, _)| kinship > *threshold)
        {
            Some(0) => self.duplicates += 1,
            Some(1) => self.first += 1,
            Some(2) => self.second += 1,
            Some(3) => self.third += 1,
            _ => {}
        }
    }
}

/// The lowest of [`KING_DEGREE_THRESHOLDS`]: pairs above it are drawn.
const THIRD_DEGREE: f64 = KING_DEGREE_THRESHOLDS[3].0;

/// What the relatedness step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatednessOutcome {
    /// Samples.
    pub samples: usize,
    /// Autosomal variants used.
    pub variants: usize,
    /// Variants left out for not being autosomal.
    pub non_autosomal: usize,
    /// Pairs per degree of relationship (when KING ran).
    pub degrees: Option<DegreeCounts>,
    /// The samples `--king-cutoff` removed (FID, IID), in sample order.
    pub removed: Vec<(String, String)>,
    /// `OUT.king.cutoff.in.id`, when a cutoff was given.
    pub keep_list: Option<PathBuf>,
    /// `OUT.grm.bin` (beside `.grm.N.bin` and `.grm.id`), when asked for.
    pub grm: Option<PathBuf>,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
    /// Warnings for the user (also in the log).
    pub warnings: Vec<String>,
}

/// Kinship against IBS0 of the pairs drawn; all pairs up to this many, then
/// those above the third-degree threshold plus an even sample of the rest.
const PLOT_PAIRS: usize = 200_000;

/// Runs what `options` asks for and writes the files and `OUT.log`.
pub fn run_relatedness(
    options: &RelatednessOptions,
    progress: &dyn Progress,
) -> Result<RelatednessOutcome> {
    let started = Instant::now();
    if !options.king_table && options.king_cutoff.is_none() && options.grm.is_none() {
        return Err(Error::Invalid(
            "relatedness: ask for --make-king-table, --king-cutoff or --make-grm".into(),
        ));
    }
    if options.plot && !options.king_table {
        return Err(Error::Invalid(
            "--plot draws the KING table: add --make-king-table".into(),
        ));
    }
    if let Some(c) = options.king_cutoff {
        if !(c.is_finite() && c < 0.5) {
            return Err(Error::Invalid(format!(
                "--king-cutoff {c}: the threshold must be a number below 0.5"
            )));
        }
    }
    let ids = if options.input.is_vcf() {
        SampleIdColumns::Iid
    } else {
        SampleIdColumns::FidIid
    };
    let (source, mut log) = options.input.open_logged("relatedness")?;
    let samples = source.samples().to_vec();
    let mut written = Vec::new();
    let mut variants = 0;
    let mut non_autosomal = 0;
    let mut degrees = None;
    let mut removed_ids = Vec::new();
    let mut keep_list = None;

    if options.king_table || options.king_cutoff.is_some() {
        let kin0 = with_suffix(&options.out, "kin0");
        let mut table = if options.king_table {
            Some(KingTableWriter::create(&kin0, ids)?)
        } else {
            None
        };
        let cutoff = options.king_cutoff;
        let mut related = Vec::new();
        let mut counts = DegreeCounts::default();
        let mut points: Vec<(f64, f64)> = Vec::new();
        let mut seen = 0usize;
        let total_pairs = samples.len() * samples.len().saturating_sub(1) / 2;
        let stride = total_pairs.div_ceil(PLOT_PAIRS).max(1);
        let summary = stage(
            progress,
            "KING kinship",
            source.n_variants(),
            "variants",
            |p| {
                king(
                    source.as_ref(),
                    &KingOptions::default(),
                    p,
                    |i, row: &[KingPair]| {
                        for (j, pair) in row.iter().enumerate() {
                            let k = pair.kinship();
                            counts.add(k);
                            if cutoff.is_some_and(|c| k > c) {
                                related.push((i, j));
                            }
                            if let Some(t) = table.as_mut() {
                                t.push(
                                    &samples[i],
                                    &samples[j],
                                    pair.nsnp(),
                                    pair.hethet,
                                    pair.ibs0,
                                    k,
                                )?;
                            }
                            if options.plot
                                && (k > THIRD_DEGREE || seen % stride == 0)
                                && k.is_finite()
                            {
                                points.push((
                                    f64::from(pair.ibs0) / f64::from(pair.nsnp().max(1)),
                                    k,
                                ));
                            }
                            seen += 1;
                        }
                        Ok(())
                    },
                )
            },
        )?;
        variants = summary.variants;
        non_autosomal = summary.non_autosomal;
        if summary.non_autosomal > 0 {
            let _ = writeln!(
                log,
                "Excluding {} variant{} on non-autosomes from KING-robust calculation.",
                summary.non_autosomal,
                plural(summary.non_autosomal)
            );
        }
        let _ = writeln!(
            log,
            "KING-robust kinship: {} samples x {} autosomal variants, {} pass{}; pairs above \
             0.354: {}, 0.177: {}, 0.0884: {}, 0.0442: {}",
            summary.samples,
            summary.variants,
            summary.passes,
            if summary.passes == 1 { "" } else { "es" },
            counts.duplicates,
            counts.first,
            counts.second,
            counts.third
        );
        if let Some(t) = table {
            t.finish()?;
            let _ = writeln!(log, "--make-king-table: {} variants processed.", variants);
            written.push(kin0);
        }
        if let Some(c) = cutoff {
            let removed = king_cutoff(samples.len(), &related);
            let in_path = with_suffix(&options.out, "king.cutoff.in.id");
            let out_path = with_suffix(&options.out, "king.cutoff.out.id");
            let kept: Vec<_> = samples
                .iter()
                .zip(&removed)
                .filter(|(_, r)| !**r)
                .map(|(s, _)| s)
                .collect();
            let gone: Vec<_> = samples
                .iter()
                .zip(&removed)
                .filter(|(_, r)| **r)
                .map(|(s, _)| s)
                .collect();
            write_sample_ids(&out_path, gone.iter().copied(), ids)?;
            write_sample_ids(&in_path, kept.iter().copied(), ids)?;
            let _ = writeln!(
                log,
                "--king-cutoff {c}: {} related pair{} above the cutoff; {} sample{} removed \
                 ({}), {} remaining ({}).",
                related.len(),
                plural(related.len()),
                gone.len(),
                plural(gone.len()),
                out_path.display(),
                kept.len(),
                in_path.display()
            );
            if kept.len() < samples.len() / 2 {
                log.warn(format!(
                    "--king-cutoff {c} removed {} of {} samples: KING's thresholds \
                     assume outbred samples and genome-wide variants ({} used here); \
                     on inbred panels or a single region keep the samples and model \
                     relatedness with a GRM instead",
                    gone.len(),
                    samples.len(),
                    variants
                ));
            }
            removed_ids = gone
                .iter()
                .map(|s| (s.id.fid.clone(), s.id.iid.clone()))
                .collect();
            written.push(in_path.clone());
            written.push(out_path);
            keep_list = Some(in_path);
        }
        if options.plot && points.is_empty() {
            log.warn(format!(
                "no pair has a finite kinship (no heterozygous calls, as in inbred \
                 lines): {} not drawn",
                with_suffix(&options.out, "king.png").display()
            ));
        } else if options.plot {
            let path = with_suffix(&options.out, "king.png");
            let mut plot = ScatterPlot::new()
                .title(format!(
                    "KING-robust kinship of {} pairs ({} samples, {} variants)",
                    total_pairs,
                    samples.len(),
                    variants
                ))
                .x_label("proportion of variants with zero IBS (IBS0)")
                .y_label("kinship coefficient")
                .legend(true)
                .points(points.iter().map(|&(x, y)| (x, y, "pair")));
            for (k, (t, name)) in KING_DEGREE_THRESHOLDS.iter().enumerate() {
                plot = plot.hline(
                    *t,
                    format!("{name} ({t})"),
                    LineStyle {
                        colour: k + 1,
                        dashed: true,
                    },
                );
            }
            plot.write_png(&path)?;
            written.push(path);
        }
        degrees = Some(counts);
    }

    let mut grm_paths = None;
    if let Some(request) = options.grm {
        let g = stage(
            progress,
            "relationship matrix",
            source.n_variants(),
            "variants",
            |p| {
                grm(
                    source.as_ref(),
                    &GrmOptions {
                        standardize: !request.cov,
                        pairwise_missing: !request.meanimpute,
                        ..GrmOptions::default()
                    },
                    p,
                )
            },
        )?;
        let paths = GrmPaths::new(&options.out);
        write_grm_bin(&paths, &samples, g.lower_triangle(), g.observations())?;
        variants = g.variants;
        non_autosomal = g.non_autosomal;
        let diag: Vec<f64> = (0..g.n_samples()).map(|i| g.get(i, i)).collect();
        let mean_diag = diag.iter().sum::<f64>() / diag.len() as f64;
        let _ = writeln!(
            log,
            "--make-grm-bin{}{}: {} samples x {} autosomal variants{}{}; mean diagonal {:.4}",
            if request.cov { " cov" } else { "" },
            if request.meanimpute {
                " meanimpute"
            } else {
                ""
            },
            g.n_samples(),
            g.variants,
            if g.non_autosomal > 0 {
                format!(" ({} non-autosomal excluded)", g.non_autosomal)
            } else {
                String::new()
            },
            if g.missing_corrected {
                "; corrected for missingness"
            } else {
                ""
            },
            mean_diag
        );
        written.extend([paths.bin.clone(), paths.n_bin.clone(), paths.id.clone()]);
        grm_paths = Some(paths.bin);
    }

    let warnings = log.warnings().to_vec();
    let log_path = log.write(&options.out, &written, started.elapsed())?;
    written.push(log_path);
    Ok(RelatednessOutcome {
        samples: samples.len(),
        variants,
        non_autosomal,
        degrees,
        removed: removed_ids,
        keep_list,
        grm: grm_paths,
        written,
        warnings,
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
