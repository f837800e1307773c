//! PLINK 2 text reports and PLINK's way of printing numbers.

use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::AtomicFile;
use crate::error::Result;
use crate::record::Variant;

/// Formats `x` like C's `printf("%.{sig}g")`, which is how PLINK 2 prints
/// statistics (`sig` = 6 by default): `sig` significant digits, trailing zeros
/// removed, scientific notation when the exponent is below -4 or at least `sig`.
/// `NaN` prints as `nan` and infinities as `inf`/`-inf`, as PLINK 2 does.
pub fn format_g(x: f64, sig: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1);
    // Round to `sig` significant digits first: the exponent after rounding decides
    // the notation (0.0000999999 rounds to 0.0001).
    let sci = format!("{:.*e}", sig - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= sig as i32 {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (sig as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// One row of a PLINK 2 `.afreq` report.
#[derive(Debug, Clone, PartialEq)]
pub struct AlleleFreqRow {
    /// Frequency of the ALT (counted, `allele1`) allele; `NaN` with no observation.
    pub alt_freq: f64,
    /// Number of allele observations.
    pub obs_ct: u64,
}

/// Writes a PLINK 2 `.afreq` report (`#CHROM ID REF ALT ALT_FREQS OBS_CT`) for
/// `variants` and their `rows`, atomically.
pub fn write_afreq(
    path: impl AsRef<Path>,
    variants: &[Variant],
    rows: &[AlleleFreqRow],
) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("#CHROM\tID\tREF\tALT\tALT_FREQS\tOBS_CT\n");
    for (v, r) in variants.iter().zip(rows) {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{}\t{}",
            v.plink_chrom(),
            v.id,
            v.allele2,
            v.allele1,
            format_g(r.alt_freq, 6),
            r.obs_ct
        );
        if s.len() > 60 * 1024 {
            f.write_all(s.as_bytes())?;
            s.clear();
        }
    }
    f.write_all(s.as_bytes())?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn prints_like_c_percent_g() {
        let cases = [
            (0.441667, "0.441667"),
            (0.425, "0.425"),
            (1.0 / 12.0, "0.0833333"),
            (1.0, "1"),
            (0.0, "0"),
            (2.83977e-57, "2.83977e-57"),
            (0.0001234567, "0.000123457"),
            (0.00001234567, "1.23457e-05"),
            (123456.7, "123457"),
            (1234567.0, "1.23457e+06"),
            (-0.0490845, "-0.0490845"),
            (0.99999996, "1"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g(x, 6), want, "{x}");
        }
    }
}
