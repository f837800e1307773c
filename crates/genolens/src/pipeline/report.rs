//! `OUT/report.html`: one self-contained page (images inline, no scripts, no
//! network) rendered from a study's record and its steps' manifests, so
//! `genolens report OUT` can re-render it without rerunning anything.
//!
//! The page's numbers are the steps' outcomes, printed as the logs print
//! them (λGC to 4 decimals, p-values to 3 significant digits).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::explain::prior::GenePriors;
use crate::io::genes::GeneMap;
use crate::io::report::{format_g, read_text};
use crate::io::AtomicFile;
use crate::pipeline::{
    manifest_path, read_manifest, read_study, InputDigest, Manifest, PredictStep, StudyRecord,
};
use crate::study::explain::{ExplainOutcome, PersonSummary};
use crate::study::gwas::{GwasOutcome, PhenotypeScan};
use crate::study::pca::PcaOutcome;
use crate::study::predict::{FoldMetrics, PredictOutcome};
use crate::study::prior::{load_prior, PriorOutcome};
use crate::study::qc::QcOutcome;
use crate::study::train::TrainOutcome;
use crate::{Error, Result};

/// The report's sections, in order: (anchor, heading).
pub const SECTIONS: [(&str, &str); 7] = [
    ("data", "1. Data and quality control"),
    ("structure", "2. Population structure"),
    ("association", "3. Association"),
    ("prediction", "4. Prediction"),
    ("explanations", "5. Explanations"),
    ("risk", "6. Per-person risk"),
    ("methods", "7. Methods and provenance"),
];

/// Renders `OUT/report.html` from `OUT/study.json` and the manifests under
/// `OUT`; returns its path.
pub fn render_report(out: &Path) -> Result<PathBuf> {
    let study = read_study(out)?;
    let mined = study.config.prior_step_options().is_some();
    let prior: Option<Manifest<PriorOutcome>> = finished(out, "prior", mined)?;
    let qc: Option<Manifest<QcOutcome>> = finished(out, "qc", study.config.qc.is_some())?;
    let pca: Option<Manifest<PcaOutcome>> = finished(out, "pca", study.config.pca.is_some())?;
    let gwas: Option<Manifest<GwasOutcome>> = finished(out, "gwas", study.config.gwas.is_some())?;
    let predict: Option<Manifest<PredictStep>> =
        finished(out, "predict", study.config.predict.is_some())?;
    let explain: Option<Manifest<ExplainOutcome>> =
        finished(out, "explain", study.config.explain.is_some())?;
    let transformer: Option<Manifest<TrainOutcome>> =
        finished(out, "transformer", study.config.transformer.is_some())?;
    let genes = match &study.config.input.gene_map {
        Some(p) => Some(GeneMap::read(p)?),
        None => None,
    };
    let priors = match &study.config.prior {
        Some(_) => match study.config.prior_table() {
            Some(t) => Some(load_prior(&t, None, &mut String::new())?),
            None => None,
        },
        None => None,
    };
    let html = Page {
        study: &study,
        prior: prior.as_ref(),
        qc: qc.as_ref(),
        pca: pca.as_ref(),
        gwas: gwas.as_ref(),
        predict: predict.as_ref(),
        explain: explain.as_ref(),
        transformer: transformer.as_ref(),
        genes: genes.as_ref(),
        priors: priors.as_ref(),
    }
    .render()?;
    let path = out.join("report.html");
    let mut f = AtomicFile::create(&path)?;
    f.write_all(html.as_bytes())?;
    f.commit()?;
    Ok(path)
}

/// A configured step's manifest; a configured step without one has not
/// finished, and the report is not rendered from half a study.
fn finished<T: serde::de::DeserializeOwned>(
    out: &Path,
    step: &str,
    configured: bool,
) -> Result<Option<Manifest<T>>> {
    if !configured {
        return Ok(None);
    }
    match read_manifest(&manifest_path(out, step)) {
        Some(m) => Ok(Some(m)),
        None => Err(Error::Invalid(format!(
            "{}: the {step} step has not finished (no readable {}); run the study first",
            out.display(),
            manifest_path(out, step).display()
        ))),
    }
}

/// Everything the page shows.
struct Page<'a> {
    study: &'a StudyRecord,
    prior: Option<&'a Manifest<PriorOutcome>>,
    qc: Option<&'a Manifest<QcOutcome>>,
    pca: Option<&'a Manifest<PcaOutcome>>,
    gwas: Option<&'a Manifest<GwasOutcome>>,
    predict: Option<&'a Manifest<PredictStep>>,
    explain: Option<&'a Manifest<ExplainOutcome>>,
    transformer: Option<&'a Manifest<TrainOutcome>>,
    genes: Option<&'a GeneMap>,
    priors: Option<&'a GenePriors>,
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;\
color:#222;line-height:1.4}h1{border-bottom:2px solid #345}h2{margin-top:2em;border-bottom:1px \
solid #aaa}table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid \
#bbb;padding:3px 8px;text-align:left;vertical-align:top}th{background:#eef}td.num{text-align:\
right;font-variant-numeric:tabular-nums}img{max-width:100%;height:auto;border:1px solid #ddd;\
margin:0.5em 0}.note{color:#555;font-style:italic}pre{background:#f6f6f6;padding:1em;\
overflow-x:auto;font-size:0.85em}nav a{margin-right:1em}";

impl Page<'_> {
    fn render(&self) -> Result<String> {
        let mut h = String::new();
        let title = escape(&self.study.config.report.title);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n<nav>"
        );
        for (id, heading) in SECTIONS {
            let _ = write!(h, "<a href=\"#{id}\">{}</a>", escape(heading));
        }
        h.push_str("</nav>\n");
        for (id, heading) in SECTIONS {
            let _ = writeln!(h, "<section id=\"{id}\">\n<h2>{}</h2>", escape(heading));
            match id {
                "data" => self.data(&mut h),
                "structure" => self.structure(&mut h)?,
                "association" => self.association(&mut h)?,
                "prediction" => self.prediction(&mut h)?,
                "explanations" => self.explanations(&mut h)?,
                "risk" => self.risk(&mut h)?,
                "methods" => self.methods(&mut h),
                _ => not_in_study(&mut h, id),
            }
            h.push_str("</section>\n");
        }
        h.push_str("</body>\n</html>\n");
        Ok(h)
    }

    fn data(&self, h: &mut String) {
        let input = &self.study.config.input;
        let genotypes = input
            .bfile
            .as_ref()
            .or(input.vcf.as_ref())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut rows = vec![
            ("genotypes".to_string(), escape(&genotypes)),
            (
                "phenotypes".to_string(),
                escape(&input.pheno.display().to_string()),
            ),
        ];
        if let Some(g) = self.gwas {
            let o = &g.outcome;
            rows.push(("samples".into(), o.samples.to_string()));
            rows.push(("variants".into(), o.variants.to_string()));
            rows.push((
                "samples with a phenotype row".into(),
                o.pheno_matched.to_string(),
            ));
            rows.push((
                "covariates".into(),
                if o.covariates.is_empty() {
                    "none".into()
                } else {
                    escape(&o.covariates.join(", "))
                },
            ));
        }
        table(
            h,
            &["", ""],
            &rows
                .iter()
                .map(|(k, v)| vec![escape(k), v.clone()])
                .collect::<Vec<_>>(),
        );
        let Some(qc) = self.qc else {
            let _ = writeln!(
                h,
                "<p class=\"note\">No QC step in this study: every sample and variant of the \
                 input is analysed.</p>"
            );
            return;
        };
        let o = &qc.outcome;
        let config = self.study.config.qc.as_ref();
        let mut rows = vec![vec![
            "input".to_string(),
            String::new(),
            String::new(),
            format!("{} samples, {} variants", o.samples_in, o.variants_in),
        ]];
        for (filter, value, removed, what) in [
            (
                "--mind",
                config.and_then(|c| c.mind),
                o.removed_mind,
                "samples",
            ),
            (
                "--geno",
                config.and_then(|c| c.geno),
                o.removed_geno,
                "variants",
            ),
            (
                "--hwe",
                config.and_then(|c| c.hwe),
                o.removed_hwe,
                "variants",
            ),
            (
                "--maf",
                config.and_then(|c| c.maf),
                o.removed_maf,
                "variants",
            ),
        ] {
            if let Some(value) = value {
                rows.push(vec![
                    filter.into(),
                    format_g(value, 6),
                    num(removed),
                    what.into(),
                ]);
            }
        }
        rows.push(vec![
            "analysed".into(),
            String::new(),
            String::new(),
            format!("{} samples, {} variants", o.samples_out, o.variants_out),
        ]);
        let _ = writeln!(h, "<p>Quality control, in PLINK 2's order:</p>");
        table(h, &["filter", "threshold", "removed", "of"], &rows);
        if let (Some((kept, pruned)), Some(c)) = (o.pruned, config.and_then(|c| c.indep_pairwise)) {
            let _ = writeln!(
                h,
                "<p>LD pruning for the PCA (--indep-pairwise {} {} {}): {kept} variants kept, \
                 {pruned} pruned.</p>",
                c.0, c.1, c.2
            );
        }
    }

    fn structure(&self, h: &mut String) -> Result<()> {
        let gwas_pcs = self.study.config.gwas.as_ref().and_then(|g| g.pca);
        if let Some(k) = gwas_pcs {
            let _ = writeln!(
                h,
                "<p>The first {k} principal components{} are covariates of the association \
                 tests.</p>",
                if self.pca.is_some() {
                    " below"
                } else {
                    " of the genotypes (computed by the association step)"
                }
            );
        }
        let Some(p) = self.pca else {
            if gwas_pcs.is_none() {
                not_in_study(h, "structure");
            }
            return Ok(());
        };
        let o = &p.outcome;
        let _ = writeln!(
            h,
            "<p>Principal components of {} samples over {} variants (autosomal, \
             polymorphic):</p>",
            o.samples, o.variants
        );
        let total: f64 = o.eigenvalues.iter().sum();
        let rows: Vec<Vec<String>> = o
            .eigenvalues
            .iter()
            .enumerate()
            .map(|(k, v)| {
                vec![
                    format!("PC{}", k + 1),
                    format!("{v:.4}"),
                    format!("{:.1}", 100.0 * v / total),
                ]
            })
            .collect();
        table(
            h,
            &["component", "eigenvalue", "% of the top components"],
            &rows,
        );
        if let Some(plot) = &o.plot {
            image(h, plot, "PC1 against PC2")?;
        }
        Ok(())
    }

    fn association(&self, h: &mut String) -> Result<()> {
        let Some(g) = self.gwas else {
            not_in_study(h, "association");
            return Ok(());
        };
        let report = &self.study.config.report;
        let rows: Vec<Vec<String>> = g
            .outcome
            .phenotypes
            .iter()
            .map(|s| {
                vec![
                    escape(&s.name),
                    num(s.tested),
                    s.lambda_gc.map_or("NA".into(), |l| format!("{l:.4}")),
                    num(s.bonferroni),
                    num(s.bh),
                    s.clumps
                        .as_ref()
                        .map_or("not clumped".into(), |c| num(c.leads.len())),
                    s.weighted
                        .map_or("—".into(), |w| format!("{} → {}", w.bh, w.bh_weighted)),
                ]
            })
            .collect();
        table(
            h,
            &[
                "phenotype",
                "variants tested",
                "λGC",
                "Bonferroni (0.05)",
                "BH q < 0.05",
                "lead loci",
                "BH with the prior (unweighted → weighted)",
            ],
            &rows,
        );
        // The mixed model's variance components, when the scan used one.
        let pve: Vec<String> = g
            .outcome
            .phenotypes
            .iter()
            .filter_map(|s| {
                s.pve.map(|(pve, se)| {
                    format!(
                        "{}: SNP heritability (PVE of the relationship matrix) {pve:.3} ± {se:.3}",
                        escape(&s.name)
                    )
                })
            })
            .collect();
        if !pve.is_empty() {
            let _ = writeln!(
                h,
                "<p>Exact linear mixed model (GEMMA's), which accounts for relatedness. {}.</p>",
                pve.join("; ")
            );
        }
        self.literature(h);
        for scan in &g.outcome.phenotypes {
            let _ = writeln!(h, "<h3 id=\"pheno-{0}\">{0}</h3>", escape(&scan.name));
            image(
                h,
                &scan.manhattan,
                &format!("{}: Manhattan plot", scan.name),
            )?;
            image(h, &scan.qq, &format!("{}: QQ plot", scan.name))?;
            self.lead_loci(h, scan, report.lead_loci, report.gene_window_kb);
        }
        Ok(())
    }

    /// The gene prior: where it came from and its best-supported genes with
    /// their best sentence.
    fn literature(&self, h: &mut String) {
        let Some(priors) = self.priors else {
            return;
        };
        let config = self.study.config.prior.as_ref();
        let _ = writeln!(h, "<h3 id=\"literature\">Literature prior</h3>");
        match (self.prior, config.and_then(|c| c.query.as_deref())) {
            (Some(m), Some(query)) => {
                let _ = writeln!(
                    h,
                    "<p>{} abstracts mined for “{}”: {} genes mentioned, {} linked to the \
                     trait (score above 0).</p>",
                    m.outcome.documents,
                    escape(query),
                    m.outcome.genes,
                    m.outcome.supported
                );
            }
            _ => {
                let _ = writeln!(
                    h,
                    "<p>A gene score table: {} genes, {} with a score above 0.</p>",
                    priors.len(),
                    priors.n_supported()
                );
            }
        }
        let rows: Vec<Vec<String>> = priors
            .genes
            .iter()
            .filter(|g| g.score > 0.0)
            .take(10)
            .map(|g| {
                vec![
                    escape(&g.symbol),
                    format!("{:.3}", g.score),
                    num(g.n_docs),
                    match g.evidence.first() {
                        Some(e) => format!(
                            "{} (PMID <a href=\"https://pubmed.ncbi.nlm.nih.gov/{1}/\">{1}</a>)",
                            escape(&e.sentence),
                            escape(&e.pmid)
                        ),
                        None => "—".into(),
                    },
                ]
            })
            .collect();
        if !rows.is_empty() {
            table(
                h,
                &["gene", "prior score", "documents", "best evidence"],
                &rows,
            );
        }
        let weighted = self.study.config.gwas.as_ref().is_some_and(|g| g.weighted);
        if weighted {
            let _ = writeln!(
                h,
                "<p>The association tests are re-tested with these genes' weights (weighted \
                 Benjamini–Hochberg; <code>gwas/gwas.NAME.prior.tsv</code>): the counts are in the table above.</p>"
            );
        }
    }

    fn lead_loci(&self, h: &mut String, scan: &PhenotypeScan, limit: usize, window_kb: f64) {
        let Some(clumps) = &scan.clumps else {
            let _ = writeln!(
                h,
                "<p class=\"note\">Clumping is off (gwas.clump = false).</p>"
            );
            return;
        };
        if clumps.leads.is_empty() {
            let _ = writeln!(
                h,
                "<p class=\"note\">No variant reached the clumping threshold p ≤ {}.</p>",
                self.study.config.gwas.as_ref().map_or(1e-4, |g| g.clump_p1)
            );
            return;
        }
        let by_symbol: HashMap<&str, usize> = self
            .priors
            .map(|p| {
                p.genes
                    .iter()
                    .enumerate()
                    .map(|(k, g)| (g.symbol.as_str(), k))
                    .collect()
            })
            .unwrap_or_default();
        let mut header = vec!["lead variant", "chr", "position", "p", "variants tagged"];
        if self.genes.is_some() {
            header.push("genes within window");
        }
        if self.priors.is_some() {
            header.extend(["prior score", "best evidence"]);
        }
        let window_bp = (window_kb * 1000.0) as u64;
        let rows: Vec<Vec<String>> = clumps
            .leads
            .iter()
            .take(limit)
            .map(|lead| {
                let mut row = vec![
                    escape(&lead.id),
                    escape(&lead.chrom),
                    num(lead.pos as usize),
                    format!("{:.3e}", lead.p),
                    num(lead.members),
                ];
                let near: Vec<String> = self
                    .genes
                    .map(|m| {
                        m.genes_near(&lead.chrom, lead.pos, window_bp)
                            .into_iter()
                            .map(|g| g.symbol.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                if self.genes.is_some() {
                    row.push(if near.is_empty() {
                        "—".into()
                    } else {
                        escape(&near.join(", "))
                    });
                }
                if let Some(priors) = self.priors {
                    // The best-supported gene of the locus speaks for it.
                    let best = near
                        .iter()
                        .filter_map(|s| by_symbol.get(s.as_str()).map(|&k| &priors.genes[k]))
                        .max_by(|a, b| a.score.total_cmp(&b.score));
                    match best {
                        Some(gene) => {
                            row.push(format!("{} {:.3}", escape(&gene.symbol), gene.score));
                            row.push(match gene.evidence.first() {
                                Some(e) => format!(
                                    "{} (PMID <a href=\"https://pubmed.ncbi.nlm.nih.gov/{1}/\">{1}</a>)",
                                    escape(&e.sentence),
                                    escape(&e.pmid)
                                ),
                                None => "—".into(),
                            });
                        }
                        None => row.extend(["—".to_string(), "—".to_string()]),
                    }
                }
                row
            })
            .collect();
        let _ = writeln!(
            h,
            "<p>Lead loci (clumped; the first {} of {}):</p>",
            rows.len(),
            clumps.leads.len()
        );
        table(h, &header, &rows);
    }

    fn prediction(&self, h: &mut String) -> Result<()> {
        let Some(p) = self.predict else {
            not_in_study(h, "prediction");
            return Ok(());
        };
        let Some(first) = p.outcome.models.first() else {
            not_in_study(h, "prediction");
            return Ok(());
        };
        let _ = writeln!(
            h,
            "<p>{}: {} cross-validated on the same {} folds (hyperparameters chosen in inner \
             folds of each training set). Mean ± sd over folds.</p>",
            escape(&first.phenotype),
            if first.binary {
                "case/control"
            } else {
                "quantitative"
            },
            first.folds.len()
        );
        let mut header = vec!["model"];
        header.extend(first.metric_names.iter().map(|m| metric_label(m)));
        header.push("final model");
        let mut rows: Vec<Vec<String>> = p
            .outcome
            .models
            .iter()
            .map(|m| {
                let mut row = vec![escape(&m.model)];
                row.extend(
                    m.mean
                        .iter()
                        .zip(&m.sd)
                        .map(|(mean, sd)| format!("{mean:.4} ± {sd:.4}")),
                );
                row.push(escape(
                    &m.hyperparameters
                        .iter()
                        .map(|(k, v)| format!("{k} = {v:.4}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ));
                row
            })
            .collect();
        let transformer = self.transformer.map(|t| &t.outcome);
        if let Some(t) = transformer {
            // The transformer's metrics on the same folds (its first output).
            let mut row = vec!["transformer".to_string()];
            // Under the table's metric columns; a metric it lacks is a dash.
            row.extend(first.metric_names.iter().map(|name| {
                match t.metric_names.iter().position(|m| m == name) {
                    Some(j) if j < t.mean.len() => {
                        format!("{:.4} ± {:.4}", t.mean[j], t.sd[j])
                    }
                    _ => "—".into(),
                }
            }));
            let config = self.study.config.transformer.as_ref();
            let mut described = format!(
                "{} layers, d {}, best of {} epochs",
                config.map_or(0, |c| c.layers),
                config.map_or(0, |c| c.d_model),
                config.map_or(0, |c| c.epochs)
            );
            if let Some(alone) = &t.additive_mean {
                let _ = write!(
                    described,
                    "; refines its additive path over every marker, which alone reaches {} {:.4}",
                    t.metric_names.first().map_or("", String::as_str),
                    alone.first().copied().unwrap_or(f64::NAN)
                );
            }
            row.push(escape(&described));
            rows.push(row);
        }
        table(h, &header, &rows);
        if let Some(t) = transformer {
            let _ = writeln!(h, "<h3>transformer</h3>");
            fold_table(h, &t.metric_names, &t.folds);
            image(
                h,
                &t.loss_plot,
                "transformer: training (solid) and validation (dashed) loss per round",
            )?;
        }
        for m in &p.outcome.models {
            let _ = writeln!(h, "<h3>{}</h3>", escape(&m.model));
            fold_table(h, &m.metric_names, &m.folds);
            let what = if m.binary {
                "ROC curve of the out-of-fold predictions"
            } else {
                "observed against out-of-fold predicted"
            };
            image(h, &m.picture, &format!("{}: {what}", m.model))?;
            if let Some(cal) = &m.calibration {
                let _ = writeln!(h, "<p>Calibration of the out-of-fold predictions:</p>");
                let rows = read_tsv(cal)?;
                table(
                    h,
                    &["bin from", "to", "n", "mean predicted", "observed"],
                    &rows,
                );
            }
        }
        Ok(())
    }

    /// The best model's out-of-fold predictions for the top and bottom of
    /// the score, with their percentiles.
    fn risk(&self, h: &mut String) -> Result<()> {
        let Some(best) = self
            .predict
            .and_then(|p| self.risk_model(&p.outcome.models))
        else {
            not_in_study(h, "risk");
            return Ok(());
        };
        let people = read_scores(&best.predictions)?;
        let n = people.len();
        if n == 0 {
            not_in_study(h, "risk");
            return Ok(());
        }
        let each = self.study.config.explain.as_ref().map_or(5, |e| e.people);
        // Case/control: each score's calibration bin (out-of-fold probability
        // range) and the share of cases observed in it.
        let bins: Vec<(f64, f64, f64, usize)> = match (&best.calibration, best.scale) {
            (Some(path), Some(_)) => read_tsv(path)?
                .iter()
                .filter_map(|r| {
                    Some((
                        r.first()?.parse().ok()?,
                        r.get(1)?.parse().ok()?,
                        r.get(4)?.parse().ok()?,
                        r.get(2)?.parse().ok()?,
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        let calibrated = |predicted: f64| -> String {
            let Some(scale) = best.scale else {
                return "—".into();
            };
            let p = scale.probability(predicted);
            bins.iter()
                .find(|b| p >= b.0 && (p < b.1 || (b.1 >= 1.0 && p <= 1.0)))
                .map_or("—".into(), |b| format!("{:.3} (n {})", b.2, b.3))
        };
        let picks = extremes(n, each);
        let shown = picks.len().div_ceil(2);
        let explained: HashMap<(&str, &str), &PersonSummary> = self
            .explain
            .map(|e| {
                e.outcome
                    .people
                    .iter()
                    .map(|p| ((p.fid.as_str(), p.iid.as_str()), p))
                    .collect()
            })
            .unwrap_or_default();
        let rows: Vec<Vec<String>> = picks
            .iter()
            .map(|&k| {
                let p = &people[k];
                // Percentile: the share of the cohort scored at or below.
                let below = people.iter().filter(|q| q.predicted <= p.predicted).count();
                let genes = explained.get(&(p.fid.as_str(), p.iid.as_str()));
                vec![
                    p.fid.clone(),
                    p.iid.clone(),
                    format!("{:.4}", p.predicted),
                    format!("{:.1}", 100.0 * below as f64 / n as f64),
                    if best.binary {
                        if p.observed > 0.5 { "case" } else { "control" }.into()
                    } else {
                        format!("{:.4}", p.observed)
                    },
                    calibrated(p.predicted),
                    gene_list(genes.map(|g| &g.genes_raising)),
                    gene_list(genes.map(|g| &g.genes_lowering)),
                ]
            })
            .collect();
        let _ = writeln!(
            h,
            "<p>The {shown} highest and {shown} lowest out-of-fold predictions of {} (the model \
             with the best cross-validated {}), among {n} people. For case/control traits the \
             calibrated probability is the share of cases among the people whose out-of-fold \
             probability fell in the same tenth (section 4's calibration table).</p>",
            escape(&best.model),
            metric_label(&best.metric_names[0])
        );
        table(
            h,
            &[
                "FID",
                "IID",
                "predicted",
                "percentile in the cohort",
                "observed",
                "calibrated probability",
                "genes raising it",
                "genes lowering it",
            ],
            &rows,
        );
        let _ = writeln!(
            h,
            "<p class=\"note\">What these numbers are: each prediction comes from a model \
             fitted without the person (out of fold), so it shows how the model ranks people \
             it has not seen. What they are not: a diagnosis, or a risk for people unlike this \
             cohort (other ancestries, ages or environments); they capture only the genetic \
             signal these variants carry, measured by the accuracy above. The genes are those \
             whose variants move this person's score of the final model (fitted on everyone) \
             most up or down against the cohort's average genotype (section 5).</p>"
        );
        Ok(())
    }

    fn methods(&self, h: &mut String) {
        let s = self.study;
        let mut rows = vec![vec!["genolens".to_string(), escape(&s.genolens)]];
        if let Some(p) = &s.config_path {
            rows.push(vec![
                "configuration".into(),
                escape(&p.display().to_string()),
            ]);
        }
        table(h, &["", ""], &rows);
        let steps: Vec<StepView<'_>> = [
            self.prior.map(StepView::of),
            self.qc.map(StepView::of),
            self.pca.map(StepView::of),
            self.gwas.map(StepView::of),
            self.predict.map(StepView::of),
            self.transformer.map(StepView::of),
            self.explain.map(StepView::of),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !steps.is_empty() {
            let _ = writeln!(h, "<h3>Steps</h3>");
            let rows: Vec<Vec<String>> = steps
                .iter()
                .map(|s| {
                    vec![
                        escape(s.step),
                        escape(s.genolens),
                        // Marked, so reruns compare apart from timings.
                        format!("<span class=\"time\">{:.2}</span>", s.wall_s),
                        escape(&s.fingerprint[..16.min(s.fingerprint.len())]),
                    ]
                })
                .collect();
            table(
                h,
                &["step", "genolens", "wall time (s)", "fingerprint"],
                &rows,
            );
            let _ = writeln!(h, "<h3>Input files</h3>");
            let mut seen = std::collections::HashSet::new();
            let rows: Vec<Vec<String>> = steps
                .iter()
                .flat_map(|s| s.inputs.iter())
                .filter(|d| seen.insert(d.path.clone()))
                .map(|d| {
                    vec![
                        escape(&d.path.display().to_string()),
                        num(d.bytes as usize),
                        escape(&d.sha256),
                    ]
                })
                .collect();
            table(h, &["file", "bytes", "SHA-256"], &rows);
        }
        if let Some(p) = self.predict {
            let seed = self.study.config.predict.as_ref().map_or(1, |c| c.seed);
            let _ = writeln!(
                h,
                "<p>Seeds: prediction folds and inner folds {seed} ({} models){}.</p>",
                p.outcome.models.len(),
                self.study
                    .config
                    .explain
                    .as_ref()
                    .map_or(String::new(), |e| format!("; explanations {}", e.seed))
            );
        }
        let _ = writeln!(h, "<h3>Methods</h3>\n<ul>");
        for line in [
            "Association: per-variant linear or logistic regression (Firth fallback) with \
             PLINK 2 <code>--glm</code> semantics; the tested allele is the minor allele.",
            "Quality control: PLINK 2's <code>--mind</code>, then <code>--geno</code>, \
             <code>--hwe</code> (exact test, Wigginton et al. 2005), <code>--maf</code>; LD \
             pruning as <code>--indep-pairwise</code> over founders.",
            "Population structure: PLINK 2 <code>--pca</code> (variance-standardised \
             genotypes of autosomal variants; exact eigendecomposition, or randomized with \
             <code>approx</code>).",
            "Genomic control λ: median χ²₁ of the tests over 0.4549 (Devlin &amp; Roeder 1999).",
            "Lead loci: PLINK 1.9 <code>--clump</code> (phased r² over founders, p1/p2/r²/kb \
             thresholds from the configuration).",
            "Prediction: outer cross-validation with hyperparameters chosen in inner folds \
             of each training set (nested CV); ridge in kernel (GBLUP) form when variants \
             outnumber samples; Pearson r, R² = 1 − SSE/SST, AUC by the Mann–Whitney statistic.",
            "Explanations: exact SHAP values of linear models (Lundberg &amp; Lee 2017; the \
             model at the cohort's average genotype as baseline), or permutation importance; \
             variant values summed into genes within the gene window.",
            "Transformer: a pre-norm encoder over one token per variant (genotype class, \
             variant identity, standardised dosage; the gene prior's score with gene-token \
             fusion), variants chosen per fold by GWAS-driven LD clumping on the training \
             samples, early stopping on a seeded validation split.",
            "Prior-weighted tests: weighted Benjamini–Hochberg (Genovese, Roeder &amp; \
             Wasserman 2006) with cross-fitted adaptive weights (as IHW, Ignatiadis et al. 2016).",
        ] {
            let _ = writeln!(h, "<li>{line}</li>");
        }
        h.push_str("</ul>\n<h3>Configuration</h3>\n<pre>");
        h.push_str(&escape(&s.config_text));
        h.push_str("</pre>\n");
    }
}

impl Page<'_> {
    /// The model whose people section 6 shows: the explained one, else the
    /// best by cross-validation.
    fn risk_model<'m>(&self, models: &'m [PredictOutcome]) -> Option<&'m PredictOutcome> {
        let chosen = self
            .explain
            .and_then(|e| models.iter().find(|m| m.model_file == e.outcome.model_file));
        chosen.or_else(|| best_model(models))
    }

    fn explanations(&self, h: &mut String) -> Result<()> {
        let Some(e) = self.explain else {
            not_in_study(h, "explanations");
            return Ok(());
        };
        let o = &e.outcome;
        let _ = writeln!(
            h,
            "<p>The final {} model{} explained by {} over {} people; values in {}{}.</p>",
            escape(&o.model_name),
            if o.model_kind == o.model_name {
                String::new()
            } else {
                format!(" ({})", escape(&o.model_kind))
            },
            escape(&o.method),
            o.samples,
            escape(&o.scale),
            o.completeness
                .map_or(String::new(), |(median, max)| format!(
                    "; attributions add up to each prediction within {:.3} % (median), {:.3} % \
                 (max)",
                    100.0 * median,
                    100.0 * max
                ))
        );
        if o.top_genes.is_empty() {
            let _ = writeln!(
                h,
                "<p class=\"note\">No gene map in this study (input.gene_map): variants only.</p>"
            );
        } else {
            let rows: Vec<Vec<String>> = o
                .top_genes
                .iter()
                .map(|g| {
                    vec![
                        escape(&g.symbol),
                        format!("{:.4e}", g.attribution),
                        format!("{:.4e}", g.signed),
                        num(g.n_variants),
                        g.prior_score.map_or("—".into(), |p| format!("{p:.3}")),
                        match &g.evidence {
                            Some((sentence, pmid)) => format!(
                                "{} (PMID <a href=\"https://pubmed.ncbi.nlm.nih.gov/{1}/\">{1}</a>)",
                                escape(sentence),
                                escape(pmid)
                            ),
                            None => "—".into(),
                        },
                    ]
                })
                .collect();
            let _ = writeln!(h, "<p>Genes by attribution (the first {}):</p>", rows.len());
            table(
                h,
                &[
                    "gene",
                    "attribution",
                    "signed",
                    "variants",
                    "prior score",
                    "best evidence",
                ],
                &rows,
            );
        }
        let rows: Vec<Vec<String>> = o
            .top_variants
            .iter()
            .map(|v| {
                vec![
                    escape(&v.id),
                    escape(&v.chrom),
                    num(v.pos as usize),
                    format!("{:.4e}", v.attribution),
                ]
            })
            .collect();
        let _ = writeln!(
            h,
            "<p>Variants by attribution (the first {}):</p>",
            rows.len()
        );
        table(h, &["variant", "chr", "position", "attribution"], &rows);
        image(h, &o.plot, &format!("{} attributions", o.method))
    }
}

/// A step's manifest as the methods section lists it.
struct StepView<'a> {
    step: &'a str,
    genolens: &'a str,
    wall_s: f64,
    fingerprint: &'a str,
    inputs: &'a [InputDigest],
}

impl<'a> StepView<'a> {
    fn of<T>(m: &'a Manifest<T>) -> Self {
        Self {
            step: &m.step,
            genolens: &m.genolens,
            wall_s: m.wall_s,
            fingerprint: &m.fingerprint,
            inputs: &m.inputs,
        }
    }
}

/// A person's out-of-fold prediction.
pub(crate) struct Scored {
    pub(crate) fid: String,
    pub(crate) iid: String,
    pub(crate) observed: f64,
    pub(crate) predicted: f64,
}

/// The people of a prediction step's `.pred.tsv` (`FID IID fold y pred`),
/// highest prediction first (ties in file order).
pub(crate) fn read_scores(path: &Path) -> Result<Vec<Scored>> {
    let text = read_text(path)?;
    let mut people: Vec<Scored> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some(Scored {
                fid: f.first()?.to_string(),
                iid: f.get(1)?.to_string(),
                observed: f.get(3)?.parse().ok()?,
                predicted: f.get(4)?.parse().ok()?,
            })
        })
        .collect();
    people.sort_by(|a, b| b.predicted.total_cmp(&a.predicted));
    Ok(people)
}

/// Indices of the `each` highest and `each` lowest of `n` sorted people
/// (without repeats when `n < 2·each`).
pub(crate) fn extremes(n: usize, each: usize) -> Vec<usize> {
    let top = each.min(n.div_ceil(2));
    (0..top).chain(n.saturating_sub(each).max(top)..n).collect()
}

/// The model with the best mean first metric (r or AUC).
pub(crate) fn best_model(models: &[PredictOutcome]) -> Option<&PredictOutcome> {
    models
        .iter()
        .filter(|m| m.mean.first().is_some_and(|v| v.is_finite()))
        .max_by(|a, b| a.mean[0].total_cmp(&b.mean[0]))
}

/// One model's metrics per outer fold.
fn fold_table(h: &mut String, metric_names: &[String], folds: &[FoldMetrics]) {
    let mut header = vec!["fold", "n"];
    header.extend(metric_names.iter().map(|n| metric_label(n)));
    let rows: Vec<Vec<String>> = folds
        .iter()
        .map(|f| {
            let mut row = vec![num(f.fold), num(f.n)];
            row.extend(f.values.iter().map(|v| format!("{v:.4}")));
            row
        })
        .collect();
    table(h, &header, &rows);
}

/// Gene symbols for a table cell (a dash when there are none).
fn gene_list(genes: Option<&Vec<String>>) -> String {
    match genes {
        Some(g) if !g.is_empty() => escape(&g.join(", ")),
        _ => "—".into(),
    }
}

/// A metric's name as the page prints it.
fn metric_label(name: &str) -> &str {
    match name {
        "r" => "Pearson r",
        "r2" => "R²",
        "mse" => "MSE",
        "auc" => "AUC",
        "logloss" => "log-loss",
        other => other,
    }
}

/// A TSV's rows after its header, each cell escaped.
fn read_tsv(path: &Path) -> Result<Vec<Vec<String>>> {
    let text = read_text(path)?;
    Ok(text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(escape).collect())
        .collect())
}

/// A section this study's configuration does not fill.
fn not_in_study(h: &mut String, id: &str) {
    let why = match id {
        "structure" => "No population-structure step in this study (add a [pca] table).",
        "association" => "No association step in this study (add a [gwas] table).",
        "prediction" => "No prediction step in this study (add a [predict] table).",
        "explanations" => "No explanation step in this study (add an [explain] table).",
        "risk" => "Per-person risk needs the prediction step (add a [predict] table).",
        _ => "Not part of this study.",
    };
    let _ = writeln!(h, "<p class=\"note\">{why}</p>");
}

/// An image inlined as a data URI.
fn image(h: &mut String, path: &Path, alt: &str) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|source| Error::File {
        path: path.to_path_buf(),
        source,
    })?;
    let _ = writeln!(
        h,
        "<figure><img alt=\"{}\" src=\"data:image/png;base64,{}\"></figure>",
        escape(alt),
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    Ok(())
}

/// A table; cells are HTML already.
fn table(h: &mut String, header: &[&str], rows: &[Vec<String>]) {
    h.push_str("<table>\n");
    if header.iter().any(|c| !c.is_empty()) {
        h.push_str("<tr>");
        for c in header {
            let _ = write!(h, "<th>{}</th>", escape(c));
        }
        h.push_str("</tr>\n");
    }
    for row in rows {
        h.push_str("<tr>");
        for c in row {
            let numeric = !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_digit() || ".e-+,".contains(ch));
            if numeric {
                let _ = write!(h, "<td class=\"num\">{c}</td>");
            } else {
                let _ = write!(h, "<td>{c}</td>");
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn num(n: usize) -> String {
    n.to_string()
}

/// HTML-escapes text.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}
