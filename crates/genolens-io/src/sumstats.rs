//! Association summary statistics in PLINK 2's `--glm` layout, as tab-separated
//! text (`.glm.linear`, `.glm.logistic`, `.glm.logistic.hybrid`) and as Parquet.
//!
//! Text files use PLINK 2's column names, order and number printing (6
//! significant digits, `NA` for missing values), so downstream tools read them
//! unchanged. The reader finds columns by name, so it accepts files written by
//! PLINK 2 as well as by genolens.

use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use polars::prelude::{Column, DataFrame, ParquetReader, ParquetWriter, SerReader};

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};
use crate::report::format_g;
use crate::tsv::HeaderedTsv;

/// Which regression produced the statistics, which decides the column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlmKind {
    /// `.glm.linear`: `BETA SE T_STAT`.
    Linear,
    /// `.glm.logistic`: `OR LOG(OR)_SE Z_STAT`.
    Logistic,
    /// `.glm.logistic.hybrid`: as logistic, plus a `FIRTH?` column.
    LogisticHybrid,
    /// `.glm.logistic.score` (genolens' score-test screen): the columns of
    /// `.glm.logistic`, the odds ratio being the one-step estimate. Read back, it
    /// is indistinguishable from [`GlmKind::Logistic`].
    LogisticScore,
    /// `.glm.lmm` (genolens' exact mixed model, `gwas --lmm`): the columns of
    /// `.glm.linear`, `TEST` naming the mixed-model test (`LMM_WALD`, ...).
    Lmm,
    /// `.glm.wgr` (genolens' REGENIE-style whole-genome regression, `gwas
    /// --wgr`): the columns of `.glm.linear` (BETA in log odds for
    /// case/control traits), `TEST` naming the test (`WGR`, `WGR_SCORE`,
    /// `WGR_FIRTH`).
    Wgr,
}

impl GlmKind {
    /// The file suffix PLINK 2 uses (`glm.linear`, ...).
    pub fn suffix(self) -> &'static str {
        match self {
            GlmKind::Linear => "glm.linear",
            GlmKind::Logistic => "glm.logistic",
            GlmKind::LogisticHybrid => "glm.logistic.hybrid",
            GlmKind::LogisticScore => "glm.logistic.score",
            GlmKind::Lmm => "glm.lmm",
            GlmKind::Wgr => "glm.wgr",
        }
    }

    fn effect_columns(self) -> [&'static str; 3] {
        match self {
            GlmKind::Linear | GlmKind::Lmm | GlmKind::Wgr => ["BETA", "SE", "T_STAT"],
            _ => ["OR", "LOG(OR)_SE", "Z_STAT"],
        }
    }
}

/// One test of one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct AssocRecord {
    /// Chromosome as PLINK 2 prints it.
    pub chrom: String,
    /// Base-pair position.
    pub pos: u64,
    /// Variant ID.
    pub id: String,
    /// Reference allele.
    pub ref_allele: String,
    /// Alternate allele.
    pub alt: String,
    /// The counted (tested) allele.
    pub a1: String,
    /// Whether Firth regression was used (hybrid logistic files only).
    pub firth: Option<bool>,
    /// The term tested (`ADD`, or a covariate name).
    pub test: String,
    /// Samples in the regression.
    pub obs_ct: u64,
    /// Effect: BETA for linear, odds ratio for logistic; `NaN` if not estimable.
    pub effect: f64,
    /// Standard error (of BETA, or of log(OR)); `NaN` if not estimable.
    pub se: f64,
    /// T (linear) or Z (logistic) statistic; `NaN` if not estimable.
    pub stat: f64,
    /// p-value; `NaN` if not estimable.
    pub p: f64,
    /// `-log10(p)`, which keeps its precision where `p` underflows; `NaN` if not
    /// estimable.
    pub log10_p: f64,
    /// PLINK 2's error code: `.` when the test ran.
    pub errcode: String,
}

/// How the p-value is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PColumn {
    /// `P` (PLINK 2's default).
    #[default]
    P,
    /// `LOG10_P` (PLINK 2's `--glm log10`), for p-values below 1e-308.
    Log10P,
    /// Both `P` and `LOG10_P`.
    Both,
}

/// Writes records as a PLINK 2 `--glm` text file, atomically.
pub fn write_glm(
    path: impl AsRef<Path>,
    kind: GlmKind,
    p_column: PColumn,
    records: &[AssocRecord],
) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let [e, se, stat] = kind.effect_columns();
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("#CHROM\tPOS\tID\tREF\tALT\tA1");
    if kind == GlmKind::LogisticHybrid {
        s.push_str("\tFIRTH?");
    }
    let _ = write!(s, "\tTEST\tOBS_CT\t{e}\t{se}\t{stat}");
    match p_column {
        PColumn::P => s.push_str("\tP"),
        PColumn::Log10P => s.push_str("\tLOG10_P"),
        PColumn::Both => s.push_str("\tP\tLOG10_P"),
    }
    s.push_str("\tERRCODE\n");
    let num = |x: f64| {
        if x.is_nan() {
            "NA".to_string()
        } else {
            format_g(x, 6)
        }
    };
    for r in records {
        let _ = write!(
            s,
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.chrom, r.pos, r.id, r.ref_allele, r.alt, r.a1
        );
        if kind == GlmKind::LogisticHybrid {
            s.push_str(match r.firth {
                Some(true) => "\tY",
                _ => "\tN",
            });
        }
        let _ = write!(
            s,
            "\t{}\t{}\t{}\t{}\t{}",
            r.test,
            r.obs_ct,
            num(r.effect),
            num(r.se),
            num(r.stat)
        );
        match p_column {
            PColumn::P => {
                let _ = write!(s, "\t{}", num(r.p));
            }
            PColumn::Log10P => {
                let _ = write!(s, "\t{}", num(r.log10_p));
            }
            PColumn::Both => {
                let _ = write!(s, "\t{}\t{}", num(r.p), num(r.log10_p));
            }
        }
        let _ = writeln!(s, "\t{}", r.errcode);
        if s.len() > 60 * 1024 {
            f.write_all(s.as_bytes())?;
            s.clear();
        }
    }
    f.write_all(s.as_bytes())?;
    f.commit()
}

/// Reads a PLINK 2 `--glm` text file (linear, logistic or hybrid, with `P`
/// and/or `LOG10_P`). Returns the kind found and the records.
pub fn read_glm(path: impl AsRef<Path>) -> Result<(GlmKind, Vec<AssocRecord>)> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let table = HeaderedTsv::parse(path, &text)?;
    let find = |name: &str| table.find(name);
    let need = |name: &str| table.column(name);
    let kind = if find("BETA").is_some() {
        GlmKind::Linear
    } else if find("FIRTH?").is_some() {
        GlmKind::LogisticHybrid
    } else if find("OR").is_some() {
        GlmKind::Logistic
    } else {
        return Err(table.header_error("header has neither BETA nor OR: not a --glm file"));
    };
    let [e, se, stat] = kind.effect_columns();
    let (c_chrom, c_pos, c_id) = (need("#CHROM")?, need("POS")?, need("ID")?);
    let (c_ref, c_alt, c_a1) = (need("REF")?, need("ALT")?, need("A1")?);
    let (c_test, c_obs) = (need("TEST")?, need("OBS_CT")?);
    let (c_e, c_se, c_stat) = (need(e)?, need(se)?, need(stat)?);
    let (c_p, c_lp) = (find("P"), find("LOG10_P"));
    if c_p.is_none() && c_lp.is_none() {
        return Err(table.header_error("header has neither P nor LOG10_P"));
    }
    let c_firth = find("FIRTH?");
    let c_err = find("ERRCODE");
    let mut out = Vec::new();
    for row in table.rows() {
        let (n, f) = row?;
        let num = |c: usize| -> Result<f64> {
            match f[c] {
                "NA" | "nan" => Ok(f64::NAN),
                s => s.parse().map_err(|_| {
                    Error::parse(path, n, format!("{}: {s:?} is not a number", table.name(c)))
                }),
            }
        };
        let int = |c: usize| -> Result<u64> {
            f[c].parse().map_err(|_| {
                Error::parse(
                    path,
                    n,
                    format!("{}: {:?} is not an integer", table.name(c), f[c]),
                )
            })
        };
        let p = c_p.map(num).transpose()?;
        let log10_p = c_lp.map(num).transpose()?;
        let (p, log10_p) = match (p, log10_p) {
            (Some(p), Some(l)) => (p, l),
            (Some(p), None) => (p, -p.log10()),
            (None, Some(l)) => (10f64.powf(-l), l),
            (None, None) => (f64::NAN, f64::NAN),
        };
        out.push(AssocRecord {
            chrom: f[c_chrom].to_string(),
            pos: int(c_pos)?,
            id: f[c_id].to_string(),
            ref_allele: f[c_ref].to_string(),
            alt: f[c_alt].to_string(),
            a1: f[c_a1].to_string(),
            firth: c_firth.map(|c| f[c] == "Y"),
            test: f[c_test].to_string(),
            obs_ct: int(c_obs)?,
            effect: num(c_e)?,
            se: num(c_se)?,
            stat: num(c_stat)?,
            p,
            log10_p,
            errcode: c_err.map_or(".", |c| f[c]).to_string(),
        });
    }
    Ok((kind, out))
}

/// Writes records as Parquet (full precision), atomically. The effect column is
/// named `BETA` or `OR` by `kind`.
pub fn write_glm_parquet(
    path: impl AsRef<Path>,
    kind: GlmKind,
    records: &[AssocRecord],
) -> Result<()> {
    let path = path.as_ref();
    let [e, se, stat] = kind.effect_columns();
    let s =
        |f: fn(&AssocRecord) -> &str| records.iter().map(|r| f(r).to_string()).collect::<Vec<_>>();
    let x = |f: fn(&AssocRecord) -> f64| records.iter().map(f).collect::<Vec<f64>>();
    let mut columns = vec![
        Column::new("#CHROM".into(), s(|r| &r.chrom)),
        Column::new(
            "POS".into(),
            records.iter().map(|r| r.pos).collect::<Vec<u64>>(),
        ),
        Column::new("ID".into(), s(|r| &r.id)),
        Column::new("REF".into(), s(|r| &r.ref_allele)),
        Column::new("ALT".into(), s(|r| &r.alt)),
        Column::new("A1".into(), s(|r| &r.a1)),
    ];
    if kind == GlmKind::LogisticHybrid {
        columns.push(Column::new(
            "FIRTH?".into(),
            records
                .iter()
                .map(|r| r.firth.unwrap_or(false))
                .collect::<Vec<bool>>(),
        ));
    }
    columns.extend([
        Column::new("TEST".into(), s(|r| &r.test)),
        Column::new(
            "OBS_CT".into(),
            records.iter().map(|r| r.obs_ct).collect::<Vec<u64>>(),
        ),
        Column::new(e.into(), x(|r| r.effect)),
        Column::new(se.into(), x(|r| r.se)),
        Column::new(stat.into(), x(|r| r.stat)),
        Column::new("P".into(), x(|r| r.p)),
        Column::new("LOG10_P".into(), x(|r| r.log10_p)),
        Column::new("ERRCODE".into(), s(|r| &r.errcode)),
    ]);
    let mut df = DataFrame::new(records.len(), columns)
        .map_err(|e| Error::invalid(path, format!("cannot build table: {e}")))?;
    let mut f = AtomicFile::create(path)?;
    ParquetWriter::new(&mut f)
        .finish(&mut df)
        .map_err(|e| Error::invalid(path, format!("cannot write Parquet: {e}")))?;
    f.commit()
}

/// Reads records written by [`write_glm_parquet`].
pub fn read_glm_parquet(path: impl AsRef<Path>) -> Result<(GlmKind, Vec<AssocRecord>)> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| Error::invalid(path, format!("cannot read Parquet: {e}")))?;
    let bad = |e: polars::error::PolarsError| Error::invalid(path, e.to_string());
    let has = |n: &str| df.column(n).is_ok();
    let kind = if has("BETA") {
        GlmKind::Linear
    } else if has("FIRTH?") {
        GlmKind::LogisticHybrid
    } else if has("OR") {
        GlmKind::Logistic
    } else {
        return Err(Error::invalid(
            path,
            "neither a BETA nor an OR column: not a genolens sumstats file",
        ));
    };
    let [e, se, stat] = kind.effect_columns();
    let strs = |n: &str| -> Result<Vec<String>> {
        Ok(df
            .column(n)
            .and_then(|c| c.str().cloned())
            .map_err(bad)?
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect())
    };
    let f64s = |n: &str| -> Result<Vec<f64>> {
        Ok(df
            .column(n)
            .and_then(|c| c.f64().cloned())
            .map_err(bad)?
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    };
    let u64s = |n: &str| -> Result<Vec<u64>> {
        Ok(df
            .column(n)
            .and_then(|c| c.u64().cloned())
            .map_err(bad)?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let (chrom, pos, id, rf, alt, a1) = (
        strs("#CHROM")?,
        u64s("POS")?,
        strs("ID")?,
        strs("REF")?,
        strs("ALT")?,
        strs("A1")?,
    );
    let (test, obs, ef, sev, st, p, lp, err) = (
        strs("TEST")?,
        u64s("OBS_CT")?,
        f64s(e)?,
        f64s(se)?,
        f64s(stat)?,
        f64s("P")?,
        f64s("LOG10_P")?,
        strs("ERRCODE")?,
    );
    let firth: Option<Vec<bool>> = if kind == GlmKind::LogisticHybrid {
        Some(
            df.column("FIRTH?")
                .and_then(|c| c.bool().cloned())
                .map_err(bad)?
                .iter()
                .map(|v| v.unwrap_or(false))
                .collect(),
        )
    } else {
        None
    };
    let records = (0..df.height())
        .map(|i| AssocRecord {
            chrom: chrom[i].clone(),
            pos: pos[i],
            id: id[i].clone(),
            ref_allele: rf[i].clone(),
            alt: alt[i].clone(),
            a1: a1[i].clone(),
            firth: firth.as_ref().map(|f| f[i]),
            test: test[i].clone(),
            obs_ct: obs[i],
            effect: ef[i],
            se: sev[i],
            stat: st[i],
            p: p[i],
            log10_p: lp[i],
            errcode: err[i].clone(),
        })
        .collect();
    Ok((kind, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> AssocRecord {
        AssocRecord {
            chrom: "1".into(),
            pos: 100 + i,
            id: format!("rs{i}"),
            ref_allele: "A".into(),
            alt: "G".into(),
            a1: "G".into(),
            firth: Some(i % 2 == 0),
            test: "ADD".into(),
            obs_ct: 500,
            effect: 0.123456789 * i as f64,
            se: 0.0449874,
            stat: -1.09107,
            p: if i == 2 {
                f64::NAN
            } else {
                10f64.powi(-(i as i32) * 50)
            },
            log10_p: if i == 2 { f64::NAN } else { 50.0 * i as f64 },
            errcode: if i == 2 {
                "CONST_ALLELE".into()
            } else {
                ".".into()
            },
        }
    }

    #[test]
    fn text_and_parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let recs: Vec<AssocRecord> = (0..8).map(record).collect();
        for kind in [GlmKind::Linear, GlmKind::LogisticHybrid] {
            let p = dir.path().join(format!("x.{}", kind.suffix()));
            write_glm(&p, kind, PColumn::Both, &recs).unwrap();
            let (k, back) = read_glm(&p).unwrap();
            assert_eq!(k, kind);
            assert_eq!(back.len(), recs.len());
            assert_eq!(back[2].errcode, "CONST_ALLELE");
            assert!(back[2].effect.is_finite() && back[2].p.is_nan());
            // p = 1e-350 underflows in f64 but LOG10_P keeps it.
            assert_eq!(back[7].log10_p, 350.0);
            assert!((back[3].effect - recs[3].effect).abs() / recs[3].effect < 1e-5);

            let pq = dir.path().join("x.parquet");
            write_glm_parquet(&pq, kind, &recs).unwrap();
            let (k, back) = read_glm_parquet(&pq).unwrap();
            assert_eq!(k, kind);
            let mut want = recs[3].clone();
            if kind != GlmKind::LogisticHybrid {
                want.firth = None; // only hybrid files carry FIRTH?
            }
            assert_eq!(back[3], want);
        }
    }

    #[test]
    fn reads_plink2_headers_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.glm.linear");
        std::fs::write(&p, "#CHROM\tPOS\tID\tREF\tALT\tA1\tTEST\tOBS_CT\tBETA\tSE\tT_STAT\tP\tERRCODE\n1\t1\t1\t2\t1\t1\tADD\t500\t-0.0490845\t0.0449874\t-1.09107\t0.275772\t.\n1\t2\t2\t2\t1\t1\tADD\tfive\t1\t1\t1\t1\t.\n").unwrap();
        let err = read_glm(&p).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 3, .. }), "{err}");
    }
}

/// One row of GEMMA's `.assoc.txt`: the variant columns, then the test
/// columns the header names.
#[derive(Debug, Clone, Copy)]
pub struct GemmaAssocRow<'a> {
    /// The variant (`chr rs ps allele1 allele0`; allele 1 is the counted one).
    pub variant: &'a crate::Variant,
    /// Missing calls (`n_miss`).
    pub n_miss: u32,
    /// Frequency of allele 1 (`af`, three decimals).
    pub af: f64,
    /// The test columns, in the order of `columns` in [`write_gemma_assoc`].
    pub values: &'a [f64],
}

/// Writes GEMMA's `.assoc.txt` layout (`chr rs ps n_miss allele1 allele0 af`
/// then `columns`, numbers as C's `%.6e`, as `gemma -lmm N` prints them),
/// atomically.
pub fn write_gemma_assoc<'a>(
    path: impl AsRef<Path>,
    columns: &[&str],
    rows: impl IntoIterator<Item = GemmaAssocRow<'a>>,
) -> Result<()> {
    let mut text = String::from("chr\trs\tps\tn_miss\tallele1\tallele0\taf");
    for c in columns {
        text.push('\t');
        text.push_str(c);
    }
    text.push('\n');
    for row in rows {
        let v = row.variant;
        let _ = write!(
            text,
            "{}\t{}\t{}\t{}\t{}\t{}\t{:.3}",
            v.plink_chrom(),
            v.id,
            v.pos,
            row.n_miss,
            v.allele1,
            v.allele2,
            row.af
        );
        for &x in row.values {
            text.push('\t');
            push_c_exp(&mut text, x);
        }
        text.push('\n');
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()
}

/// Appends C's `%.6e`: `4.908454e-02`, `nan`, `inf`.
fn push_c_exp(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let s = format!("{x:.6e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            out.push_str(mantissa);
            out.push('e');
            out.push(sign);
            if digits.len() < 2 {
                out.push('0');
            }
            out.push_str(digits);
        }
        None => out.push_str(&s),
    }
}

/// One row of regenie's step-2 output (`.regenie`).
#[derive(Debug, Clone, Copy)]
pub struct RegenieRow<'a> {
    /// The variant; `ALLELE1` (tested) is its counted allele 1.
    pub variant: &'a crate::Variant,
    /// Frequency of allele 1 (`A1FREQ`).
    pub a1_freq: f64,
    /// Samples (`N`).
    pub n: u32,
    /// Effect of allele 1, its standard error and the χ²₁ statistic.
    pub beta: f64,
    /// Standard error of `beta`.
    pub se: f64,
    /// The χ²₁ statistic (`NaN` prints `NA`).
    pub chisq: f64,
    /// `-log10 p` (`NaN` prints `NA`).
    pub log10_p: f64,
    /// `EXTRA`: `None` prints `NA`.
    pub extra: Option<&'a str>,
}

/// Writes regenie's step-2 layout (`CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ N
/// TEST BETA SE CHISQ LOG10P EXTRA`, numbers with 6 significant digits as its
/// C++ streams print them, `TEST` = `ADD`), atomically.
pub fn write_regenie<'a>(
    path: impl AsRef<Path>,
    rows: impl IntoIterator<Item = RegenieRow<'a>>,
) -> Result<()> {
    let mut text =
        String::from("CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ N TEST BETA SE CHISQ LOG10P EXTRA\n");
    let num = |x: f64| {
        if x.is_nan() {
            "NA".to_string()
        } else {
            format_g(x, 6)
        }
    };
    for r in rows {
        let v = r.variant;
        let _ = writeln!(
            text,
            "{} {} {} {} {} {} {} ADD {} {} {} {} {}",
            v.plink_chrom(),
            v.pos,
            v.id,
            v.allele2,
            v.allele1,
            num(r.a1_freq),
            r.n,
            num(r.beta),
            num(r.se),
            num(r.chisq),
            num(r.log10_p),
            r.extra.unwrap_or("NA")
        );
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()
}
