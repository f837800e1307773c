//! The tables and the picture of an explanation and of a prior-weighted scan,
//! as text and as a plot ready to write (the CLI writes them through
//! `genolens-io`'s atomic files).

use std::fmt::Write as _;

use genolens_io::report::format_g;
use genolens_io::{SampleId, Variant};
use genolens_plot::ScatterPlot;

use crate::aggregate::{GeneAttribution, PersonExplanation};
use crate::attribution::{Attributions, Method};
use crate::fdr::WeightedTests;
use crate::mapping::MappedGene;
use crate::prior::GenePriors;

fn g6(x: f64) -> String {
    if x.is_nan() {
        "NA".to_string()
    } else {
        format_g(x, 6)
    }
}

/// Text without tabs or line breaks, for a TSV cell.
fn cell(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Ranks (1 = largest) of `values` by decreasing value, ties by position.
fn ranks(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let mut rank = vec![0; values.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r + 1;
    }
    rank
}

/// `variants.tsv`: `ID CHROM POS A1 attribution abs_rank`, then `mean_signed`
/// for signed local methods or `sd` for permutation importance; one row per
/// model variant in model order. `variants` are the source's variants.
pub fn variants_tsv(a: &Attributions, variants: &[Variant]) -> String {
    let extra = match (a.method, a.method.is_signed()) {
        (Method::Permutation, _) => Some("sd"),
        (_, true) => Some("mean_signed"),
        _ => None,
    };
    let mut out = String::from("ID\tCHROM\tPOS\tA1\tattribution\tabs_rank");
    if let Some(e) = extra {
        out.push('\t');
        out.push_str(e);
    }
    out.push('\n');
    let rank = ranks(&a.importance.iter().map(|v| v.abs()).collect::<Vec<_>>());
    let signed = a.mean_signed();
    for (k, &v) in a.variants.iter().enumerate() {
        let var = &variants[v];
        let _ = write!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            var.id,
            var.plink_chrom(),
            var.pos,
            var.allele1,
            g6(a.importance[k]),
            rank[k]
        );
        match extra {
            Some("sd") => {
                let sd = a.importance_sd.as_ref().map_or(f64::NAN, |s| s[k]);
                let _ = write!(out, "\t{}", g6(sd));
            }
            Some(_) => {
                let _ = write!(out, "\t{}", g6(signed[k]));
            }
            None => {}
        }
        out.push('\n');
    }
    out
}

/// A gene's evidence for a table cell: its best sentences as `PMID:start-end
/// sentence`, separated by ` | `, or its PMIDs, or `.`.
pub fn evidence_cell(
    priors: Option<&GenePriors>,
    prior: Option<usize>,
    sentences: usize,
) -> String {
    let Some(g) = priors.zip(prior).map(|(p, k)| &p.genes[k]) else {
        return ".".to_string();
    };
    if !g.evidence.is_empty() {
        g.evidence
            .iter()
            .take(sentences)
            .map(|e| {
                format!(
                    "PMID:{}:{}-{} {}",
                    e.pmid,
                    e.start,
                    e.end,
                    cell(&e.sentence)
                )
            })
            .collect::<Vec<_>>()
            .join(" | ")
    } else if !g.evidence_pmids.is_empty() {
        format!("PMID:{}", g.evidence_pmids.join(","))
    } else {
        ".".to_string()
    }
}

/// `genes.tsv`: `gene_id symbol attribution signed_attribution n_variants
/// prior_score evidence`, genes in the order given.
pub fn genes_tsv(genes: &[GeneAttribution], priors: Option<&GenePriors>) -> String {
    let mut out = String::from(
        "gene_id\tsymbol\tattribution\tsigned_attribution\tn_variants\tprior_score\tevidence\n",
    );
    for g in genes {
        let score = priors
            .zip(g.prior)
            .map_or("NA".to_string(), |(p, k)| g6(p.genes[k].score));
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            g.gene_id,
            g.symbol,
            g6(g.attribution),
            g6(g.signed),
            g.n_variants,
            score,
            evidence_cell(priors, g.prior, 2)
        );
    }
    out
}

/// `person.tsv`: per person, the variants and genes raising and lowering
/// their prediction: `FID IID output baseline level direction rank id symbol
/// attribution evidence`.
pub fn person_tsv(
    people: &[PersonExplanation],
    ids: &[SampleId],
    a: &Attributions,
    variants: &[Variant],
    genes: Option<&[Vec<MappedGene>]>,
    priors: Option<&GenePriors>,
) -> String {
    let mut out = String::from(
        "FID\tIID\toutput\tbaseline\tlevel\tdirection\trank\tid\tsymbol\tattribution\tevidence\n",
    );
    for p in people {
        let id = &ids[p.sample];
        let head = format!(
            "{}\t{}\t{}\t{}",
            id.fid,
            id.iid,
            g6(p.output),
            g6(p.baseline)
        );
        for (direction, list) in [("raises", &p.raising), ("lowers", &p.lowering)] {
            for (r, &(k, v)) in list.iter().enumerate() {
                let var = &variants[a.variants[k]];
                let symbols = genes
                    .map(|g| {
                        g[k].iter()
                            .map(|m| m.symbol.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| ".".to_string());
                let _ = writeln!(
                    out,
                    "{head}\tvariant\t{direction}\t{}\t{}\t{symbols}\t{}\t.",
                    r + 1,
                    var.id,
                    g6(v)
                );
            }
        }
        for (direction, list) in [("raises", &p.genes_raising), ("lowers", &p.genes_lowering)] {
            for (r, g) in list.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{head}\tgene\t{direction}\t{}\t{}\t{}\t{}\t{}",
                    r + 1,
                    g.gene_id,
                    g.symbol,
                    g6(g.signed),
                    evidence_cell(priors, g.prior, 1)
                );
            }
        }
    }
    out
}

/// The prior-weighted scan of one trait: `#CHROM POS ID GENES PRIOR_SCORE
/// WEIGHT P P_WEIGHTED Q Q_WEIGHTED`, one row per variant in order (`NA`
/// where a variant was not tested).
pub fn weighted_tests_tsv(
    variants: &[Variant],
    genes: &[Vec<MappedGene>],
    prior_score: &[f64],
    p: &[f64],
    tests: &WeightedTests,
) -> String {
    let mut out =
        String::from("#CHROM\tPOS\tID\tGENES\tPRIOR_SCORE\tWEIGHT\tP\tP_WEIGHTED\tQ\tQ_WEIGHTED\n");
    for (k, v) in variants.iter().enumerate() {
        let symbols = genes[k]
            .iter()
            .map(|g| g.symbol.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            v.plink_chrom(),
            v.pos,
            v.id,
            if symbols.is_empty() { "." } else { &symbols },
            g6(prior_score[k]),
            g6(tests.weights[k]),
            g6(p[k]),
            g6(tests.p_weighted[k]),
            g6(tests.q[k]),
            g6(tests.q_weighted[k])
        );
    }
    out
}

/// The attribution of every model variant along the genome (chromosomes end
/// to end in order of appearance, x in Mb), the `label_genes` strongest genes
/// named at their strongest variant.
pub fn attribution_plot(
    a: &Attributions,
    variants: &[Variant],
    genes: &[GeneAttribution],
    variant_genes: Option<&[Vec<MappedGene>]>,
    label_genes: usize,
    title: &str,
) -> ScatterPlot {
    let mut offsets: Vec<(String, f64, f64)> = Vec::new();
    for &v in &a.variants {
        let var = &variants[v];
        let c = var.plink_chrom();
        match offsets.iter_mut().find(|(name, _, _)| name == c) {
            Some(e) => e.2 = e.2.max(var.pos as f64),
            None => offsets.push((c.to_string(), 0.0, var.pos as f64)),
        }
    }
    let mut start = 0.0;
    for e in &mut offsets {
        e.1 = start;
        start += e.2 + 1.0;
    }
    let x_of = |v: usize| {
        let var = &variants[v];
        let (k, off) = offsets
            .iter()
            .enumerate()
            .find(|(_, (n, _, _))| n == var.plink_chrom())
            .map_or((0, 0.0), |(k, e)| (k, e.1));
        ((off + var.pos as f64) / 1e6, k)
    };
    let mut plot = ScatterPlot::new()
        .title(title)
        .x_label("position (Mb, chromosomes end to end)")
        .y_label(format!("attribution ({})", a.scale))
        .size(1600, 600)
        .legend(false);
    for (k, &v) in a.variants.iter().enumerate() {
        let (x, chrom) = x_of(v);
        plot = plot.point(
            x,
            a.importance[k],
            if chrom % 2 == 0 { "even" } else { "odd" },
        );
    }
    if let Some(vg) = variant_genes {
        for g in genes.iter().take(label_genes) {
            // The gene's strongest variant carries its name.
            let best = (0..a.variants.len())
                .filter(|&k| vg[k].iter().any(|m| m.gene_id == g.gene_id))
                .max_by(|&x, &y| a.importance[x].total_cmp(&a.importance[y]));
            if let Some(k) = best {
                plot = plot.label(x_of(a.variants[k]).0, a.importance[k], g.symbol.clone());
            }
        }
    }
    plot
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Method;
    use ndarray::array;

    fn variant(id: &str, pos: u64) -> Variant {
        Variant {
            chrom: "1".into(),
            pos,
            id: id.into(),
            cm: 0.0,
            allele1: "A".into(),
            allele2: "G".into(),
        }
    }

    #[test]
    fn variant_table_ranks_by_magnitude() {
        let vs = vec![variant("a", 10), variant("b", 20)];
        let a = Attributions {
            method: Method::Shap,
            variants: vec![1, 0],
            samples: vec![0, 1],
            local: Some(array![[0.1, -2.0], [0.3, 1.0]]),
            importance: vec![0.2, 1.5],
            importance_sd: None,
            output: vec![0.0, 0.0],
            baseline: vec![0.0, 0.0],
            scale: "trait units".into(),
        };
        let t = variants_tsv(&a, &vs);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "ID\tCHROM\tPOS\tA1\tattribution\tabs_rank\tmean_signed"
        );
        assert_eq!(lines[1], "b\t1\t20\tA\t0.2\t2\t0.2");
        assert_eq!(lines[2], "a\t1\t10\tA\t1.5\t1\t-0.5");
    }
}
