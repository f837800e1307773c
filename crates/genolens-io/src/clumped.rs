//! PLINK 1.9's `--clump` files: the association report it reads (any
//! whitespace-separated table with a variant-ID and a p-value column) and the
//! `.clumped` report it writes, byte for byte.

use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};
use crate::record::Variant;
use crate::report::push_g;

/// One line of an association report: a variant ID and its p-value.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedP {
    /// Variant ID.
    pub id: String,
    /// The p-value; lines whose p is not a number (`NA`, `nan`, `-`) are left out
    /// when reading, as PLINK 1.9 leaves them out.
    pub p: f64,
}

/// Reads the IDs and p-values of an association report: whitespace-separated,
/// header first (a leading `#` is part of the first name, as in `#CHROM`). The ID
/// column is the first of `id_fields` present; the p column is `p_field`.
/// Rows with too few fields or an unparseable p are skipped; a p below 0 or above
/// 1 is an error naming the line.
pub fn read_report_p_values(
    path: impl AsRef<Path>,
    id_fields: &[&str],
    p_field: &str,
) -> Result<Vec<ReportedP>> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(Error::Empty { path: path.into() });
    };
    let names: Vec<&str> = header.split_whitespace().collect();
    let Some(c_id) = id_fields
        .iter()
        .find_map(|f| names.iter().position(|n| n == f))
    else {
        return Err(Error::parse(
            path,
            1,
            format!(
                "no variant ID column ({}) in the header",
                id_fields.join(", ")
            ),
        ));
    };
    let Some(c_p) = names.iter().position(|n| *n == p_field) else {
        return Err(Error::parse(
            path,
            1,
            format!("no {p_field} column in the header"),
        ));
    };
    let mut out = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(id), Some(p)) = (fields.get(c_id), fields.get(c_p)) else {
            continue;
        };
        let Ok(p) = p.parse::<f64>() else {
            continue;
        };
        if p.is_nan() {
            continue;
        }
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::parse(
                path,
                i + 1,
                format!("p-value {p} outside [0, 1]"),
            ));
        }
        out.push(ReportedP {
            id: (*id).to_string(),
            p,
        });
    }
    Ok(out)
}

/// One row of a `.clumped` report.
#[derive(Debug, Clone, PartialEq)]
pub struct ClumpedRow<'a> {
    /// The index variant.
    pub variant: &'a Variant,
    /// Its p-value.
    pub p: f64,
    /// Members by p: NSIG, S05, S01, S001, S0001.
    pub bins: [usize; 5],
    /// IDs of the members listed in SP2 (`p < p2`), in source order.
    pub listed: Vec<&'a str>,
}

/// The width PLINK 1.9 gives the SNP column: 4, widened to an ID's length + 2
/// whenever a longer ID comes along, in source order.
pub fn clumped_id_width(variants: &[Variant]) -> usize {
    variants
        .iter()
        .fold(4, |w, v| if v.id.len() > w { v.id.len() + 2 } else { w })
}

/// PLINK 1.9's numeric chromosome code (`X` → 23, `Y` → 24, `XY` → 25, `MT` → 26).
pub(crate) fn chrom_code(chrom: &str) -> &str {
    let c = chrom.strip_prefix("chr").unwrap_or(chrom);
    match c {
        "X" | "x" => "23",
        "Y" | "y" => "24",
        "XY" | "xy" => "25",
        "MT" | "M" | "mt" => "26",
        other => other,
    }
}

/// `x` with 3 significant digits as PLINK 1.9 prints p in `.clumped`: `%g`
/// style, but a decimal tie (which the binary value only approximates, as in
/// 0.1235) rounds half to even.
fn push_p3(out: &mut String, x: f64) {
    if x.is_nan() || x <= 0.0 || x.is_infinite() {
        push_g(out, x, 3);
        return;
    }
    let mut exp = x.log10().floor() as i32;
    let scale = |e: i32| 10f64.powi(e - 2);
    let mut scaled = x / scale(exp);
    if scaled >= 1000.0 {
        exp += 1;
        scaled = x / scale(exp);
    } else if scaled < 100.0 {
        exp -= 1;
        scaled = x / scale(exp);
    }
    let floor = scaled.floor();
    let frac = scaled - floor;
    let digits = if (frac - 0.5).abs() < 1e-9 {
        if floor % 2.0 == 0.0 {
            floor
        } else {
            floor + 1.0
        }
    } else {
        scaled.round()
    };
    // The rounded 3 digits, as the nearest double, print exactly with %g.
    let value = if exp >= 2 {
        digits * 10f64.powi(exp - 2)
    } else {
        digits / 10f64.powi(2 - exp)
    };
    push_g(out, value, 3);
}

/// Writes a `.clumped` report as PLINK 1.9 does (fixed-width columns `CHR F SNP
/// BP P TOTAL NSIG S05 S01 S001 S0001 SP2`, rows in the order given, two blank
/// lines at the end), atomically. `id_width` is [`clumped_id_width`] of the
/// source's variants.
pub fn write_clumped(
    path: impl AsRef<Path>,
    id_width: usize,
    rows: &[ClumpedRow<'_>],
) -> Result<()> {
    let mut f = AtomicFile::create(path.as_ref())?;
    let mut s = String::with_capacity(64 * 1024);
    // PLINK's header has its P label two characters left of the column's end.
    let _ = writeln!(
        s,
        " CHR    F {:>id_width$}         BP        P    TOTAL   NSIG    S05    S01   S001  S0001    SP2",
        "SNP"
    );
    let mut p = String::new();
    for r in rows {
        p.clear();
        push_p3(&mut p, r.p);
        let total: usize = r.bins.iter().sum();
        let _ = write!(
            s,
            "{:>4} {:>4} {:>id_width$} {:>10} {:>10} {:>8} ",
            chrom_code(&r.variant.chrom),
            1,
            r.variant.id,
            r.variant.pos,
            p,
            total
        );
        for b in r.bins {
            let _ = write!(s, "{b:>6} ");
        }
        if r.listed.is_empty() {
            s.push_str("NONE");
        } else {
            for (i, id) in r.listed.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, "{id}(1)");
            }
        }
        s.push('\n');
    }
    s.push_str("\n\n");
    f.write_all(s.as_bytes())?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p3(x: f64) -> String {
        let mut s = String::new();
        push_p3(&mut s, x);
        s
    }

    #[test]
    fn p_values_print_as_plink_1_9_does() {
        assert_eq!(p3(0.000853), "0.000853");
        assert_eq!(p3(1e-5), "1e-05");
        assert_eq!(p3(1.234e-10), "1.23e-10");
        assert_eq!(p3(0.1235), "0.124");
        assert_eq!(p3(0.4445), "0.444");
        assert_eq!(p3(0.002675), "0.00268");
        assert_eq!(p3(0.0009995), "0.001");
        assert_eq!(p3(1.0), "1");
        assert_eq!(p3(0.0), "0");
        assert_eq!(p3(0.99951), "1");
    }

    #[test]
    fn id_width_grows_as_plink_1_9_walks_the_ids() {
        let v = |id: &str| Variant {
            chrom: "1".into(),
            pos: 1,
            id: id.into(),
            cm: 0.0,
            allele1: "A".into(),
            allele2: "C".into(),
        };
        assert_eq!(clumped_id_width(&[v("1"), v("1000")]), 4);
        // 5 → 7, then 8 > 7 → 10, then 9 ≤ 10 stays.
        let ids = [v("abcde"), v("abcdef"), v("abcdefgh"), v("abcdefghi")];
        assert_eq!(clumped_id_width(&ids), 10);
    }
}
