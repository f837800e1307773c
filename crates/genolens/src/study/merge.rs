//! Joining the results of a sharded association run (one `gwas` per
//! chromosome or variant range) into what one run over everything writes:
//! the `.glm.*` rows concatenated byte for byte, then λGC, the Bonferroni and
//! Benjamini–Hochberg counts and the Manhattan and QQ plots recomputed over
//! the whole, since none of them can be added up from the shards.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::assoc::summary::bonferroni_threshold;
use crate::io::report::read_text;
use crate::io::sumstats::GlmKind;
use crate::io::{plink_chrom, AtomicFile};
use crate::study::gwas::{draw_plots, summarize, PlotInput};
use crate::study::{with_suffix, RunLog};
use crate::{Error, Result};

/// What to merge and where.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOptions {
    /// The shards' `PREFIX.PHENO.glm.*` files, in variant order (shard 1's
    /// rows first). Files of several phenotypes are grouped by phenotype.
    pub glm: Vec<PathBuf>,
    /// The output prefix: `OUT.PHENO.glm.*`, plots, `OUT.log`.
    pub out: PathBuf,
}

/// One phenotype's merged results.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedPhenotype {
    /// The phenotype, from the file names.
    pub name: String,
    /// The merged results file.
    pub results: PathBuf,
    /// The shards it joins.
    pub shards: usize,
    /// Rows (variants) in all shards.
    pub variants: usize,
    /// Rows with a p-value.
    pub tested: usize,
    /// λGC over all shards.
    pub lambda_gc: Option<f64>,
    /// Variants below the Bonferroni threshold over all tests.
    pub bonferroni: usize,
    /// Variants with a Benjamini–Hochberg q < 0.05 over all tests.
    pub bh: usize,
}

/// What [`merge_glm`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome {
    /// Per phenotype, in the order of its first file.
    pub phenotypes: Vec<MergedPhenotype>,
    /// Every file written, the log last.
    pub written: Vec<PathBuf>,
}

/// The phenotype and `.glm.*` suffix of a results file named
/// `PREFIX.PHENO.glm.KIND`.
fn split_name(path: &Path) -> Result<(String, &'static str)> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    // Longest suffix first: `glm.logistic.hybrid` before `glm.logistic`.
    let mut kinds = [
        GlmKind::Linear,
        GlmKind::Logistic,
        GlmKind::LogisticHybrid,
        GlmKind::LogisticScore,
        GlmKind::Lmm,
        GlmKind::Wgr,
    ]
    .map(GlmKind::suffix);
    kinds.sort_by_key(|k| std::cmp::Reverse(k.len()));
    for suffix in kinds {
        if let Some(rest) = name.strip_suffix(&format!(".{suffix}")) {
            if let Some((_, pheno)) = rest.rsplit_once('.') {
                if !pheno.is_empty() {
                    return Ok((pheno.to_string(), suffix));
                }
            }
        }
    }
    Err(Error::Invalid(format!(
        "{}: not a PREFIX.PHENO.glm.* results file",
        path.display()
    )))
}

/// One shard's rows: the header, and per row its text, chromosome,
/// position, ID and ln p (NaN where not tested).
struct Shard {
    header: String,
    lines: Vec<String>,
    chrom_pos: Vec<(String, u64)>,
    ids: Vec<String>,
    ln_p: Vec<f64>,
}

fn read_shard(path: &Path) -> Result<Shard> {
    let text = read_text(path)?;
    let mut lines = text.lines();
    let header = lines
        .next()
        .filter(|h| h.starts_with("#CHROM"))
        .ok_or_else(|| Error::Invalid(format!("{}: no #CHROM header line", path.display())))?
        .to_string();
    let names: Vec<String> = header.split('\t').map(String::from).collect();
    let col = |name: &str| names.iter().position(|n| n == name);
    let (Some(pos), Some(id)) = (col("POS"), col("ID")) else {
        return Err(Error::Invalid(format!(
            "{}: the header has no POS or ID column",
            path.display()
        )));
    };
    // P, else plink2's -log10 p columns.
    let (p_col, neg_log10) = match (col("P"), col("LOG10_P").or(col("NEG_LOG10_P"))) {
        (Some(c), _) => (c, false),
        (None, Some(c)) => (c, true),
        (None, None) => {
            return Err(Error::Invalid(format!(
                "{}: the header has no P or LOG10_P column",
                path.display()
            )))
        }
    };
    let mut shard = Shard {
        header,
        lines: Vec::new(),
        chrom_pos: Vec::new(),
        ids: Vec::new(),
        ln_p: Vec::new(),
    };
    for (k, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != names.len() {
            return Err(Error::Invalid(format!(
                "{}:{}: {} fields, the header has {}",
                path.display(),
                k + 2,
                f.len(),
                names.len()
            )));
        }
        let bp: u64 = f[pos].parse().map_err(|_| {
            Error::Invalid(format!(
                "{}:{}: POS {:?} is not a position",
                path.display(),
                k + 2,
                f[pos]
            ))
        })?;
        let ln_p = match f[p_col] {
            "NA" | "nan" => f64::NAN,
            v => {
                let x: f64 = v.parse().map_err(|_| {
                    Error::Invalid(format!(
                        "{}:{}: p-value {v:?} is not a number",
                        path.display(),
                        k + 2
                    ))
                })?;
                if neg_log10 {
                    -x * std::f64::consts::LN_10
                } else {
                    x.ln()
                }
            }
        };
        shard.chrom_pos.push((f[0].to_string(), bp));
        shard.ids.push(f[id].to_string());
        shard.ln_p.push(ln_p);
        shard.lines.push(line.to_string());
    }
    Ok(shard)
}

/// Merges the shards' results, phenotype by phenotype: rows concatenated
/// in the order of the files (headers must agree; a variant ID in two
/// shards is an error: the shards overlap), then λGC, Bonferroni and BH
/// counts and both plots over all rows, and a log.
pub fn merge_glm(options: &MergeOptions) -> Result<MergeOutcome> {
    let started = Instant::now();
    if options.glm.is_empty() {
        return Err(Error::Invalid("merge: no results files given".into()));
    }
    // (phenotype, suffix) -> files, in first-seen order.
    let mut groups: BTreeMap<usize, (String, &'static str, Vec<&PathBuf>)> = BTreeMap::new();
    let mut order: Vec<(String, &'static str)> = Vec::new();
    for path in &options.glm {
        let key = split_name(path)?;
        let at = match order.iter().position(|k| *k == key) {
            Some(at) => at,
            None => {
                order.push(key.clone());
                order.len() - 1
            }
        };
        groups
            .entry(at)
            .or_insert_with(|| (key.0.clone(), key.1, Vec::new()))
            .2
            .push(path);
    }
    let mut log = RunLog::new();
    let _ = writeln!(
        log,
        "genolens merge: {} results file(s), {} phenotype(s)",
        options.glm.len(),
        groups.len()
    );
    let mut written = Vec::new();
    let mut phenotypes = Vec::new();
    for (name, suffix, files) in groups.into_values() {
        let mut header: Option<String> = None;
        let mut text = String::new();
        let (mut chrom_pos, mut ids, mut ln_p) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = HashSet::new();
        for path in &files {
            let shard = read_shard(path)?;
            match &header {
                None => {
                    text.push_str(&shard.header);
                    text.push('\n');
                    header = Some(shard.header.clone());
                }
                Some(h) if *h != shard.header => {
                    return Err(Error::Invalid(format!(
                        "{}: its header differs from {}'s",
                        path.display(),
                        files[0].display()
                    )))
                }
                Some(_) => {}
            }
            for (k, id) in shard.ids.iter().enumerate() {
                if id != "." && !seen.insert(id.clone()) {
                    return Err(Error::Invalid(format!(
                        "{}: variant {id} is in an earlier shard too (shards must not overlap)",
                        path.display()
                    )));
                }
                text.push_str(&shard.lines[k]);
                text.push('\n');
            }
            let _ = writeln!(
                log,
                "{name}: {} rows from {}",
                shard.lines.len(),
                path.display()
            );
            chrom_pos.extend(shard.chrom_pos);
            ids.extend(shard.ids);
            ln_p.extend(shard.ln_p);
        }
        let results = with_suffix(&options.out, &format!("{name}.{suffix}"));
        let mut f = AtomicFile::create(&results)?;
        f.write_all(text.as_bytes())?;
        f.commit()?;
        written.push(results.clone());
        let tested = ln_p.iter().filter(|l| !l.is_nan()).count();
        let _ = writeln!(
            log,
            "{name}: {tested} of {} variants tested, {} with an ERRCODE",
            ln_p.len(),
            ln_p.len() - tested
        );
        let counts = summarize(&mut log, &name, &ln_p, &[], tested);
        let cp: Vec<(&str, u64)> = chrom_pos
            .iter()
            .map(|(c, p)| (plink_chrom(c), *p))
            .collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (manhattan, qq) = draw_plots(
            &cp,
            &id_refs,
            &options.out,
            &PlotInput {
                name: &name,
                ln_p: &ln_p,
                tested,
                leads: &[],
                genes: None,
            },
        )?;
        let _ = writeln!(
            log,
            "{name}: Bonferroni line at -log10 p = {:.2} (0.05 / {tested})",
            -bonferroni_threshold(0.05, tested.max(1)).log10()
        );
        written.push(manhattan);
        written.push(qq);
        phenotypes.push(MergedPhenotype {
            name,
            results,
            shards: files.len(),
            variants: ln_p.len(),
            tested,
            lambda_gc: counts.lambda_gc,
            bonferroni: counts.bonferroni,
            bh: counts.bh,
        });
    }
    let log_path = log.write(&options.out, &written, started.elapsed())?;
    written.push(log_path);
    Ok(MergeOutcome {
        phenotypes,
        written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_file_names_give_phenotype_and_kind() {
        let (p, k) = split_name(Path::new("out/chr2.Y1.glm.logistic.hybrid")).unwrap();
        assert_eq!((p.as_str(), k), ("Y1", "glm.logistic.hybrid"));
        let (p, k) = split_name(Path::new("a.b.HDL.glm.linear")).unwrap();
        assert_eq!((p.as_str(), k), ("HDL", "glm.linear"));
        assert!(split_name(Path::new("Y.glm.linear")).is_err());
        assert!(split_name(Path::new("x.Y.assoc")).is_err());
    }
}
