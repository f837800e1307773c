//! PLINK 2 text reports (`.afreq`, `.hardy`, `.vmiss`, `.smiss`, `.het`,
//! `.eigenvec`/`.eigenval`, ID lists) and PLINK's way of printing numbers.

use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::AtomicFile;
use crate::error::Result;
use crate::record::{Sample, Variant};

/// Appends `x` exactly as PLINK 2's own `dtoa_g` prints it (six significant
/// digits, `%g`'s notation), which differs from C's `%g` in one way: a value
/// within about 5e-9 of a tie in its last digit is rounded half to even, as
/// if it were the exact decimal PLINK 2's arithmetic meant (0.001796875 →
/// `0.00179688`, 0.1578125 → `0.157812`), where C rounds the binary double.
/// The KING table uses it; its coefficients are ratios of small integers, so
/// such ties are common there.
pub fn push_plink2_g(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    let mut x = x;
    if x < 0.0 {
        out.push('-');
        x = -x;
    }
    if x < 9.9999949999999e-5 {
        if x == 0.0 {
            out.push('0');
            return;
        }
        let mut xp10 = 0u32;
        if x < 9.9999949999999e-16 {
            if x < 9.9999949999999e-128 {
                if x < 9.9999949999999e-256 {
                    x *= 1.0e256;
                    xp10 |= 256;
                } else {
                    x *= 1.0e128;
                    xp10 |= 128;
                }
            }
            for (limit, factor, bit) in [
                (9.9999949999999e-64, 1.0e64, 64),
                (9.9999949999999e-32, 1.0e32, 32),
                (9.9999949999999e-16, 1.0e16, 16),
            ] {
                if x < limit {
                    x *= factor;
                    xp10 |= bit;
                }
            }
        }
        for (limit, factor, bit) in [
            (9.9999949999999e-8, 100_000_000.0, 8),
            (9.9999949999999e-4, 10_000.0, 4),
            (9.9999949999999e-2, 100.0, 2),
            (9.9999949999999e-1, 10.0, 1),
        ] {
            if x < limit {
                x *= factor;
                xp10 |= bit;
            }
        }
        push_significand(out, banker_round(x * 100_000.0), 1);
        let _ = write!(out, "e-{xp10:02}");
        return;
    }
    if x >= 999_999.499_999_99 {
        if x > f64::MAX {
            out.push_str("inf");
            return;
        }
        let mut xp10 = 0u32;
        if x >= 9.9999949999999e15 {
            if x >= 9.9999949999999e127 {
                if x >= 9.9999949999999e255 {
                    x *= 1.0e-256;
                    xp10 |= 256;
                } else {
                    x *= 1.0e-128;
                    xp10 |= 128;
                }
            }
            for (limit, factor, bit) in [
                (9.9999949999999e63, 1.0e-64, 64),
                (9.9999949999999e31, 1.0e-32, 32),
                (9.9999949999999e15, 1.0e-16, 16),
            ] {
                if x >= limit {
                    x *= factor;
                    xp10 |= bit;
                }
            }
        }
        for (limit, factor, bit) in [
            (9.9999949999999e7, 1.0e-8, 8),
            (9.9999949999999e3, 1.0e-4, 4),
            (9.9999949999999e1, 1.0e-2, 2),
            (9.9999949999999e0, 1.0e-1, 1),
        ] {
            if x >= limit {
                x *= factor;
                xp10 |= bit;
            }
        }
        push_significand(out, banker_round(x * 100_000.0), 1);
        let _ = write!(out, "e+{xp10:02}");
        return;
    }
    if x >= 0.999_999_499_999_99 {
        // Six significant digits with 1 to 6 before the point, each case
        // scaled by one multiplication as PLINK 2 does.
        let (scaled, int_digits) = if x < 9.9999949999999 {
            (x * 100_000.0, 1)
        } else if x < 99.999949999999 {
            (x * 10_000.0, 2)
        } else if x < 999.99949999999 {
            (x * 1_000.0, 3)
        } else if x < 9999.9949999999 {
            (x * 100.0, 4)
        } else if x < 99999.949999999 {
            (x * 10.0, 5)
        } else {
            (x, 6)
        };
        push_significand(out, banker_round(scaled), int_digits);
        return;
    }
    out.push_str("0.");
    if x < 9.9999949999999e-3 {
        x *= 100.0;
        out.push_str("00");
    }
    if x < 9.9999949999999e-2 {
        x *= 10.0;
        out.push('0');
    }
    let digits = format!("{:06}", banker_round(x * 1_000_000.0));
    out.push_str(digits.trim_end_matches('0'));
}

/// PLINK 2's `BankerRoundD` with its 8-digit tolerance: round to nearest,
/// near-ties (within 5e-9) to even.
fn banker_round(x: f64) -> u64 {
    let r = x as i64;
    let bias = if r & 1 == 1 { 0.500000005 } else { 0.499999995 };
    (r + ((x - r as f64) + bias) as i64) as u64
}

/// Six significant digits `r` with `int_digits` before the point, the
/// fraction's trailing zeros (and a bare point) removed.
fn push_significand(out: &mut String, r: u64, int_digits: u32) {
    let unit = 10u64.pow(6 - int_digits);
    let _ = write!(out, "{}", r / unit);
    let frac = r % unit;
    if frac != 0 {
        let digits = format!("{:0width$}", frac, width = (6 - int_digits) as usize);
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Formats `x` like C's `printf("%.{sig}g")`, which is how PLINK 2 prints
/// statistics (`sig` = 6 by default): `sig` significant digits, trailing zeros
/// removed, scientific notation when the exponent is below -4 or at least `sig`.
/// `NaN` prints as `nan` and infinities as `inf`/`-inf`, as PLINK 2 does.
pub fn format_g(x: f64, sig: usize) -> String {
    let mut s = String::new();
    push_g(&mut s, x, sig);
    s
}

/// Appends `x` formatted as [`format_g`] does, without allocating: the hot path of
/// every report writer.
pub fn push_g(out: &mut String, x: f64, sig: usize) {
    use std::io::Write as _;

    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if x == 0.0 {
        out.push('0');
        return;
    }
    let sig = sig.clamp(1, 17);
    // Round to `sig` significant digits once, in scientific form: the exponent
    // after rounding decides the notation (0.0000999999 rounds to 0.0001), and the
    // digits serve both notations.
    let mut buf = [0u8; 64];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        if write!(cursor, "{:.*e}", sig - 1, x.abs()).is_err() {
            return;
        }
        cursor.position() as usize
    };
    let sci = &buf[..len];
    let e_at = sci.iter().position(|&b| b == b'e').unwrap_or(len);
    let exp: i32 = std::str::from_utf8(&sci[e_at + 1..])
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    // The significant digits, without the point, trailing zeros dropped.
    let mut digits = [0u8; 20];
    let mut nd = 0;
    for &b in &sci[..e_at] {
        if b.is_ascii_digit() {
            digits[nd] = b;
            nd += 1;
        }
    }
    while nd > 1 && digits[nd - 1] == b'0' {
        nd -= 1;
    }
    let digits = &digits[..nd];
    if x < 0.0 {
        out.push('-');
    }
    let push = |out: &mut String, d: &[u8]| d.iter().for_each(|&b| out.push(b as char));
    if exp < -4 || exp >= sig as i32 {
        push(out, &digits[..1]);
        if nd > 1 {
            out.push('.');
            push(out, &digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        let _ = write!(out, "{e}");
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        push(out, digits);
    } else {
        let int_len = exp as usize + 1;
        if nd <= int_len {
            push(out, digits);
            for _ in nd..int_len {
                out.push('0');
            }
        } else {
            push(out, &digits[..int_len]);
            out.push('.');
            push(out, &digits[int_len..]);
        }
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
    let path = path.as_ref();
    check_rows(path, "variants", variants.len(), rows.len())?;
    write_chunked(
        path,
        "#CHROM\tID\tREF\tALT\tALT_FREQS\tOBS_CT\n",
        rows.len(),
        |i, s| {
            let (v, r) = (&variants[i], &rows[i]);
            push_variant(s, v, true);
            s.push('\t');
            push_g(s, r.alt_freq, 6);
            let _ = writeln!(s, "\t{}", r.obs_ct);
        },
    )
}

/// `CHROM \t ID` and, with `alleles`, `\t REF \t ALT`.
fn push_variant(s: &mut String, v: &Variant, alleles: bool) {
    s.push_str(v.plink_chrom());
    s.push('\t');
    s.push_str(&v.id);
    if alleles {
        s.push('\t');
        s.push_str(&v.allele2);
        s.push('\t');
        s.push_str(&v.allele1);
    }
}

/// Writes `text` built by `fill`, in chunks, to an atomic file at `path`.
fn write_chunked<F>(path: impl AsRef<Path>, header: &str, rows: usize, mut fill: F) -> Result<()>
where
    F: FnMut(usize, &mut String),
{
    let mut f = AtomicFile::create(path)?;
    let mut s = String::with_capacity(64 * 1024);
    s.push_str(header);
    for i in 0..rows {
        fill(i, &mut s);
        if s.len() > 60 * 1024 {
            f.write_all(s.as_bytes())?;
            s.clear();
        }
    }
    f.write_all(s.as_bytes())?;
    f.commit()
}

fn check_rows(path: &Path, what: &str, n_items: usize, n_rows: usize) -> Result<()> {
    if n_items != n_rows {
        return Err(crate::Error::request(
            path,
            format!("{n_rows} report rows for {n_items} {what}"),
        ));
    }
    Ok(())
}

/// The sample-ID columns PLINK 2 prints: `FID IID` for filesets read from a
/// `.fam`, `IID` alone for VCF input (which has no family IDs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleIdColumns {
    /// `#FID IID`.
    FidIid,
    /// `#IID`.
    Iid,
}

impl SampleIdColumns {
    fn header(self) -> &'static str {
        match self {
            Self::FidIid => "#FID\tIID",
            Self::Iid => "#IID",
        }
    }

    fn push(self, s: &mut String, sample: &Sample) {
        if self == Self::FidIid {
            s.push_str(&sample.id.fid);
            s.push('\t');
        }
        s.push_str(&sample.id.iid);
    }
}

/// One row of a PLINK 2 `.hardy` report, in the counted-allele (ALT) terms
/// genolens uses; the writer turns them into PLINK 2's `A1` = REF columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HardyReportRow {
    /// Homozygous ALT (allele 1) calls.
    pub hom_alt: u32,
    /// Heterozygous calls.
    pub het: u32,
    /// Homozygous REF (allele 2) calls.
    pub hom_ref: u32,
    /// Observed heterozygote frequency.
    pub observed_het: f64,
    /// Expected heterozygote frequency under HWE.
    pub expected_het: f64,
    /// Exact-test p-value (mid-p when the report says so).
    pub p: f64,
}

/// Writes a PLINK 2 `.hardy` report (`#CHROM ID A1 AX HOM_A1_CT HET_A1_CT
/// TWO_AX_CT O(HET_A1) E(HET_A1) P`, or `MIDP` as the last column with `midp`),
/// atomically. As in PLINK 2, `A1` is the REF allele (`allele2`).
pub fn write_hardy(
    path: impl AsRef<Path>,
    variants: &[&Variant],
    rows: &[HardyReportRow],
    midp: bool,
) -> Result<()> {
    let path = path.as_ref();
    check_rows(path, "variants", variants.len(), rows.len())?;
    let header = format!(
        "#CHROM\tID\tA1\tAX\tHOM_A1_CT\tHET_A1_CT\tTWO_AX_CT\tO(HET_A1)\tE(HET_A1)\t{}\n",
        if midp { "MIDP" } else { "P" }
    );
    write_chunked(path, &header, rows.len(), |i, s| {
        let (v, r) = (variants[i], &rows[i]);
        push_variant(s, v, true);
        let _ = write!(s, "\t{}\t{}\t{}\t", r.hom_ref, r.het, r.hom_alt);
        push_g(s, r.observed_het, 6);
        s.push('\t');
        push_g(s, r.expected_het, 6);
        s.push('\t');
        push_g(s, r.p, 6);
        s.push('\n');
    })
}

/// One `.hardy.x` row, counts oriented to the report's `A1` (REF) as in
/// [`HardyReportRow`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HardyXReportRow {
    /// Female homozygous REF calls.
    pub female_hom_ref: u32,
    /// Female heterozygous calls.
    pub female_het: u32,
    /// Female homozygous ALT calls.
    pub female_hom_alt: u32,
    /// Male REF calls.
    pub male_ref: u32,
    /// Male ALT calls.
    pub male_alt: u32,
    /// Observed female heterozygote frequency.
    pub observed_het: f64,
    /// Expected female heterozygote frequency.
    pub expected_het: f64,
    /// REF frequency among females.
    pub female_ref_freq: f64,
    /// REF frequency among males.
    pub male_ref_freq: f64,
    /// Exact-test p-value (mid-p when the report says so).
    pub p: f64,
}

/// Writes a PLINK 2 `.hardy.x` report (`#CHROM ID A1 AX FEMALE_HOM_A1_CT
/// FEMALE_HET_A1_CT FEMALE_TWO_AX_CT MALE_A1_CT MALE_AX_CT O(FEMALE_HET_A1)
/// E(FEMALE_HET_A1) FEMALE_A1_FREQ MALE_A1_FREQ P`, `MIDP` with `midp`),
/// atomically; `A1` is REF as in [`write_hardy`].
pub fn write_hardy_x(
    path: impl AsRef<Path>,
    variants: &[&Variant],
    rows: &[HardyXReportRow],
    midp: bool,
) -> Result<()> {
    let path = path.as_ref();
    check_rows(path, "variants", variants.len(), rows.len())?;
    let header = format!(
        "#CHROM\tID\tA1\tAX\tFEMALE_HOM_A1_CT\tFEMALE_HET_A1_CT\tFEMALE_TWO_AX_CT\t\
         MALE_A1_CT\tMALE_AX_CT\tO(FEMALE_HET_A1)\tE(FEMALE_HET_A1)\tFEMALE_A1_FREQ\t\
         MALE_A1_FREQ\t{}\n",
        if midp { "MIDP" } else { "P" }
    );
    write_chunked(path, &header, rows.len(), |i, s| {
        let (v, r) = (variants[i], &rows[i]);
        push_variant(s, v, true);
        let _ = write!(
            s,
            "\t{}\t{}\t{}\t{}\t{}",
            r.female_hom_ref, r.female_het, r.female_hom_alt, r.male_ref, r.male_alt
        );
        for x in [
            r.observed_het,
            r.expected_het,
            r.female_ref_freq,
            r.male_ref_freq,
            r.p,
        ] {
            s.push('\t');
            push_g(s, x, 6);
        }
        s.push('\n');
    })
}

/// Missing-call counts of one variant or sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingRow {
    /// Missing calls.
    pub missing: u32,
    /// Calls that could have been made (PLINK 2's `OBS_CT` here).
    pub total: u32,
}

impl MissingRow {
    fn rate(&self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            f64::from(self.missing) / f64::from(self.total)
        }
    }
}

/// Writes a PLINK 2 `.vmiss` report (`#CHROM ID MISSING_CT OBS_CT F_MISS`),
/// atomically.
pub fn write_vmiss(
    path: impl AsRef<Path>,
    variants: &[Variant],
    rows: &[MissingRow],
) -> Result<()> {
    let path = path.as_ref();
    check_rows(path, "variants", variants.len(), rows.len())?;
    write_chunked(
        path,
        "#CHROM\tID\tMISSING_CT\tOBS_CT\tF_MISS\n",
        rows.len(),
        |i, s| {
            let (v, r) = (&variants[i], &rows[i]);
            push_variant(s, v, false);
            let _ = write!(s, "\t{}\t{}\t", r.missing, r.total);
            push_g(s, r.rate(), 6);
            s.push('\n');
        },
    )
}

/// Writes a PLINK 2 `.smiss` report (`#FID IID [PHENO1] MISSING_CT OBS_CT F_MISS`),
/// atomically. `pheno_missing`, when given, adds PLINK 2's `PHENO1` column (`Y`
/// where the sample's phenotype is missing), which PLINK 2 prints whenever a
/// phenotype was loaded.
pub fn write_smiss(
    path: impl AsRef<Path>,
    samples: &[Sample],
    rows: &[MissingRow],
    ids: SampleIdColumns,
    pheno_missing: Option<&[bool]>,
) -> Result<()> {
    let path = path.as_ref();
    check_rows(path, "samples", samples.len(), rows.len())?;
    if let Some(p) = pheno_missing {
        check_rows(path, "samples", samples.len(), p.len())?;
    }
    let header = format!(
        "{}{}\tMISSING_CT\tOBS_CT\tF_MISS\n",
        ids.header(),
        if pheno_missing.is_some() {
            "\tPHENO1"
        } else {
            ""
        }
    );
    write_chunked(path, &header, rows.len(), |i, s| {
        ids.push(s, &samples[i]);
        if let Some(p) = pheno_missing {
            s.push_str(if p[i] { "\tY" } else { "\tN" });
        }
        let r = &rows[i];
        let _ = write!(s, "\t{}\t{}\t", r.missing, r.total);
        push_g(s, r.rate(), 6);
        s.push('\n');
    })
}

/// One sample's row of a PLINK 2 `.het` report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HetReportRow {
    /// Observed homozygous calls.
    pub observed_hom: u32,
    /// Expected homozygous calls.
    pub expected_hom: f64,
    /// Non-missing calls.
    pub observed: u32,
    /// Inbreeding coefficient F.
    pub f: f64,
}

/// Writes a PLINK 2 `.het` report (`#FID IID O(HOM) E(HOM) OBS_CT F`), atomically.
pub fn write_het(
    path: impl AsRef<Path>,
    samples: &[Sample],
    rows: &[HetReportRow],
    ids: SampleIdColumns,
) -> Result<()> {
    let path = path.as_ref();
    check_rows(path, "samples", samples.len(), rows.len())?;
    let header = format!("{}\tO(HOM)\tE(HOM)\tOBS_CT\tF\n", ids.header());
    write_chunked(path, &header, rows.len(), |i, s| {
        ids.push(s, &samples[i]);
        let r = &rows[i];
        let _ = writeln!(
            s,
            "\t{}\t{}\t{}\t{}",
            r.observed_hom,
            format_g(r.expected_hom, 6),
            r.observed,
            format_g(r.f, 6)
        );
    })
}

/// Writes PLINK 2's `.eigenvec` (`#FID IID PC1 … PCk`, one row per sample) and
/// `.eigenval` (one eigenvalue per line) together: both appear or neither does.
///
/// `eigenvectors[i][k]` is sample `i`'s value on PC `k + 1`.
pub fn write_eigen(
    eigenvec_path: impl AsRef<Path>,
    eigenval_path: impl AsRef<Path>,
    samples: &[Sample],
    eigenvectors: &[Vec<f64>],
    eigenvalues: &[f64],
    ids: SampleIdColumns,
) -> Result<()> {
    let vec_path = eigenvec_path.as_ref();
    check_rows(vec_path, "samples", samples.len(), eigenvectors.len())?;
    if let Some(bad) = eigenvectors.iter().find(|r| r.len() != eigenvalues.len()) {
        return Err(crate::Error::request(
            vec_path,
            format!(
                "an eigenvector row holds {} values for {} PCs",
                bad.len(),
                eigenvalues.len()
            ),
        ));
    }
    let mut vec_text = String::from(ids.header());
    for k in 1..=eigenvalues.len() {
        let _ = write!(vec_text, "\tPC{k}");
    }
    vec_text.push('\n');
    for (sample, row) in samples.iter().zip(eigenvectors) {
        ids.push(&mut vec_text, sample);
        for x in row {
            vec_text.push('\t');
            push_g(&mut vec_text, *x, 6);
        }
        vec_text.push('\n');
    }
    let mut val_text = String::new();
    for x in eigenvalues {
        val_text.push_str(&format_g(*x, 6));
        val_text.push('\n');
    }
    let mut vec_file = AtomicFile::create(vec_path)?;
    vec_file.write_all(vec_text.as_bytes())?;
    let mut val_file = AtomicFile::create(eigenval_path)?;
    val_file.write_all(val_text.as_bytes())?;
    crate::atomic::commit_all(vec![vec_file, val_file])
}

/// Writes one ID per line, no header (PLINK's `.prune.in` / `.prune.out`),
/// atomically.
pub fn write_id_list<'a>(
    path: impl AsRef<Path>,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let mut text = String::new();
    for id in ids {
        text.push_str(id);
        text.push('\n');
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()
}

/// Reads an ID list as PLINK's `--extract` / `--exclude` take it: the first
/// whitespace-separated token of every non-empty line; lines starting with `#`
/// are a header and skipped. Duplicates are an error naming their line.
pub fn read_id_list(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let text = crate::atomic::read_to_string(path)?;
    let mut seen = std::collections::HashMap::new();
    let mut ids = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(id) = line.split_whitespace().next() else {
            continue;
        };
        if id.starts_with('#') {
            continue;
        }
        if let Some(first) = seen.insert(id.to_string(), i + 1) {
            return Err(crate::Error::parse(
                path,
                i + 1,
                format!("duplicate ID {id} (first on line {first})"),
            ));
        }
        ids.push(id.to_string());
    }
    if ids.is_empty() {
        return Err(crate::Error::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(ids)
}

/// Reads a sample list as PLINK's `--keep` takes it: `FID IID` per line, or `IID`
/// alone on one-column lines; a `#FID`/`#IID` header is skipped. One-column entries
/// get FID `None` and match any family.
pub fn read_sample_list(path: impl AsRef<Path>) -> Result<Vec<(Option<String>, String)>> {
    let path = path.as_ref();
    let text = crate::atomic::read_to_string(path)?;
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] => {}
            [first, ..] if first.starts_with('#') => {}
            [iid] => out.push((None, (*iid).to_string())),
            [fid, iid, ..] => out.push((Some((*fid).to_string()), (*iid).to_string())),
        }
    }
    if out.is_empty() {
        return Err(crate::Error::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// Writes a sample-ID list with PLINK 2's header (`#FID IID` or `#IID`), as
/// `--mind` writes `.mindrem.id`, atomically.
pub fn write_sample_ids<'a>(
    path: impl AsRef<Path>,
    samples: impl IntoIterator<Item = &'a Sample>,
    ids: SampleIdColumns,
) -> Result<()> {
    let mut text = format!("{}\n", ids.header());
    for s in samples {
        ids.push(&mut text, s);
        text.push('\n');
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.commit()
}

/// Writes a tab-separated table (a header line, then one line per row),
/// atomically.
pub fn write_tsv<I>(path: impl AsRef<Path>, header: &[&str], rows: I) -> Result<()>
where
    I: IntoIterator<Item = Vec<String>>,
{
    let mut f = AtomicFile::create(path.as_ref())?;
    let mut s = header.join("\t");
    s.push('\n');
    for row in rows {
        s.push_str(&row.join("\t"));
        s.push('\n');
        if s.len() > 60 * 1024 {
            f.write_all(s.as_bytes())?;
            s.clear();
        }
    }
    f.write_all(s.as_bytes())?;
    f.commit()
}

/// Writes `text` to `path` atomically (a model file, a JSON report).
pub fn write_text(path: impl AsRef<Path>, text: &str) -> Result<()> {
    write_bytes(path, text.as_bytes())
}

/// Writes `bytes` to `path` atomically (weights, a checkpoint): a temporary
/// beside it, renamed when complete, so no partial file is ever left.
pub fn write_bytes(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path.as_ref())?;
    f.write_all(bytes)?;
    f.commit()
}

/// Reads a UTF-8 text file, naming the file in any error.
pub fn read_text(path: impl AsRef<Path>) -> Result<String> {
    crate::atomic::read_to_string(path.as_ref())
}

#[cfg(test)]
mod tests {
    use super::{format_g, push_plink2_g};

    fn plink2_g(x: f64) -> String {
        let mut s = String::new();
        push_plink2_g(&mut s, x);
        s
    }

    #[test]
    fn plink2_g_rounds_near_ties_to_even_and_otherwise_equals_c() {
        // Printed by plink2 --make-king-table on the bundled filesets.
        assert_eq!(plink2_g(0.5 - 0.498203125), "0.00179688");
        assert_eq!(plink2_g(0.1578125), "0.157812");
        assert_eq!(plink2_g(-0.1890625), "-0.189062");
        assert_eq!(plink2_g(f64::NEG_INFINITY), "-inf");
        assert_eq!(plink2_g(f64::NAN), "nan");
        assert_eq!(plink2_g(-0.0), "0");
        // Away from ties it is C's %g, in every notation.
        let mut state = 0x9e3779b97f4a7c15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mantissa = (state >> 11) as f64 / (1u64 << 53) as f64;
            let exp = (state % 41) as i32 - 20;
            let x = (mantissa - 0.5) * 10f64.powi(exp);
            if x == 0.0 {
                continue;
            }
            // Skip values within 1e-7 of a tie in the seventh digit.
            let scaled = x.abs() / 10f64.powf(x.abs().log10().floor() - 5.0);
            if ((scaled - scaled.floor()) - 0.5).abs() < 1e-7 {
                continue;
            }
            assert_eq!(plink2_g(x), format_g(x, 6), "{x:e}");
        }
    }

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
