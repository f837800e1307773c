//! Phenotype and covariate tables, parsed through `polars` and aligned to the
//! genotype sample order by ID.
//!
//! Accepted layouts, as PLINK 2 reads them:
//! - a header `FID IID ...` or `#FID IID ...` (family and individual IDs);
//! - a header `IID ...` or `#IID ...` (individual IDs only);
//! - no header: `FID IID value...`, columns named `PHENO1...` / `COVAR1...`;
//! - whitespace- or tab-separated text (a tab-separated file may have empty
//!   fields), or CSV (`.csv` extension, or commas and no tabs in the header).
//!
//! Missing values are `NA`, `nan`, `.`, empty fields and the missing code (`-9` by
//! default, PLINK 2's `--input-missing-phenotype`). A phenotype whose non-missing
//! values all lie in {0, 1, 2} is case/control: 1 = control, 2 = case and 0 missing,
//! or with [`TableOptions::case_control_01`] (PLINK 2's `--1`) 0 = control and 1 =
//! case. Case/control values are stored as 0.0 (control) and 1.0 (case). A
//! covariate with a non-numeric value is categorical and becomes one 0/1 dummy
//! column per level but the first (levels sorted), named `COLUMN=level`.

use std::collections::{BTreeSet, HashMap};
use std::io::Cursor;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use polars::prelude::{CsvParseOptions, CsvReadOptions, DataFrame, SerReader};

use crate::atomic::read_to_string;
use crate::error::{Error, Result};
use crate::record::SampleId;

/// What a table holds, which decides how values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableRole {
    /// Phenotypes: numeric, quantitative or case/control.
    Phenotype,
    /// Covariates: numeric or categorical.
    Covariate,
}

/// Options for reading a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOptions {
    /// The value that means missing, besides `NA`, `nan`, `.` and empty
    /// (default `-9`).
    pub missing_code: String,
    /// Case/control coded 0 = control, 1 = case (PLINK 2's `--1`) instead of
    /// 1 = control, 2 = case.
    pub case_control_01: bool,
    /// Read only these value columns (PLINK's `--pheno-name` / `--covar-name`), in
    /// this order; the others are not parsed, so a text column next to the one
    /// asked for is no error. `None` reads every column.
    pub columns: Option<Vec<String>>,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            missing_code: "-9".into(),
            case_control_01: false,
            columns: None,
        }
    }
}

/// How a column's values are to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    /// A number per sample.
    Quantitative,
    /// Case/control: 0.0 control, 1.0 case.
    CaseControl,
    /// A 0/1 indicator of one level of a categorical covariate.
    Dummy {
        /// The categorical column it came from.
        source: String,
        /// The level it indicates.
        level: String,
    },
}

/// One column of a [`SampleTable`]: values per table row, `NaN` where missing.
#[derive(Debug, Clone, PartialEq)]
pub struct TableColumn {
    /// Column name (for dummies `SOURCE=level`).
    pub name: String,
    /// How to read the values.
    pub kind: ColumnKind,
    /// One value per table row.
    pub values: Vec<f64>,
}

/// A phenotype or covariate table in its file's row order.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleTable {
    path: PathBuf,
    has_fid: bool,
    ids: Vec<SampleId>,
    columns: Vec<TableColumn>,
}

/// A table reordered to a genotype source's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignedTable {
    /// Column names, in order.
    pub names: Vec<String>,
    /// Column kinds, in order.
    pub kinds: Vec<ColumnKind>,
    /// `n_genotype_samples × n_columns`, `NaN` where the table has no value (or no
    /// row) for the sample.
    pub values: Array2<f64>,
}

/// What matched when a table was aligned to genotype samples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlignmentReport {
    /// Genotype samples found in the table.
    pub matched: usize,
    /// Table rows whose ID is not among the genotype samples (ignored).
    pub table_only: Vec<SampleId>,
    /// Genotype samples absent from the table (their values are missing).
    pub genotype_only: Vec<SampleId>,
}

impl SampleTable {
    /// Reads a phenotype table.
    pub fn read_phenotypes(path: impl AsRef<Path>, options: &TableOptions) -> Result<Self> {
        Self::read(path.as_ref(), TableRole::Phenotype, options)
    }

    /// Reads a covariate table.
    pub fn read_covariates(path: impl AsRef<Path>, options: &TableOptions) -> Result<Self> {
        Self::read(path.as_ref(), TableRole::Covariate, options)
    }

    /// Reads a table for the given role.
    pub fn read(path: &Path, role: TableRole, options: &TableOptions) -> Result<Self> {
        let text = read_to_string(path)?;
        let raw = RawTable::split(path, &text, role)?;
        let df = raw.to_dataframe(path)?;
        let n_id = if raw.has_fid { 2 } else { 1 };
        let str_col = |name: &str| text_column(&df, path, name);
        let names: Vec<String> = raw.header.clone();
        let fids = if raw.has_fid {
            Some(str_col(&names[0])?)
        } else {
            None
        };
        let iids = str_col(&names[n_id - 1])?;
        let mut ids = Vec::with_capacity(iids.len());
        let mut seen: HashMap<SampleId, usize> = HashMap::new();
        for (r, iid) in iids.into_iter().enumerate() {
            let line = raw.lines[r];
            let iid = iid
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::parse(path, line, "empty IID"))?;
            let fid = match &fids {
                Some(f) => f[r].clone().unwrap_or_default(),
                None => "0".to_string(),
            };
            let id = SampleId::new(fid, iid);
            if let Some(prev) = seen.insert(id.clone(), line) {
                return Err(Error::parse(
                    path,
                    line,
                    format!("duplicate sample ID {id} (first on line {prev})"),
                ));
            }
            ids.push(id);
        }
        let wanted: Vec<&String> = match &options.columns {
            None => names[n_id..].iter().collect(),
            Some(only) => {
                if let Some(missing) = only.iter().find(|c| !names[n_id..].contains(c)) {
                    return Err(Error::request(
                        path,
                        format!(
                            "no column {missing:?}; the table has {}",
                            names[n_id..].join(", ")
                        ),
                    ));
                }
                only.iter().collect()
            }
        };
        let mut columns = Vec::new();
        for name in wanted {
            let cells = str_col(name)?;
            columns.extend(parse_column(path, name, &cells, &raw.lines, role, options)?);
        }
        Ok(Self {
            path: path.to_path_buf(),
            has_fid: raw.has_fid,
            ids,
            columns,
        })
    }

    /// Reads one column as text labels (population, batch, ...) with each row's
    /// sample ID, in file order; a missing value is `None`. The ID columns follow
    /// the same rules as [`read`](Self::read).
    pub fn read_labels(
        path: impl AsRef<Path>,
        column: &str,
    ) -> Result<Vec<(SampleId, Option<String>)>> {
        let path = path.as_ref();
        let text = read_to_string(path)?;
        let raw = RawTable::split(path, &text, TableRole::Covariate)?;
        let df = raw.to_dataframe(path)?;
        let n_id = if raw.has_fid { 2 } else { 1 };
        if !raw.header[n_id..].iter().any(|h| h == column) {
            return Err(Error::invalid(
                path,
                format!(
                    "no column {column}; columns are {}",
                    raw.header[n_id..].join(", ")
                ),
            ));
        }
        let str_col = |name: &str| text_column(&df, path, name);
        let fids = if raw.has_fid {
            Some(str_col(&raw.header[0])?)
        } else {
            None
        };
        let iids = str_col(&raw.header[n_id - 1])?;
        let labels = str_col(column)?;
        let mut out = Vec::with_capacity(iids.len());
        for (r, (iid, label)) in iids.into_iter().zip(labels).enumerate() {
            let iid = iid
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::parse(path, raw.lines[r], "empty IID"))?;
            let fid = fids
                .as_ref()
                .and_then(|f| f[r].clone())
                .unwrap_or_else(|| "0".into());
            let label = label.filter(|l| !l.is_empty() && !is_missing_label(l));
            out.push((SampleId::new(fid, iid), label));
        }
        Ok(out)
    }

    /// The file the table was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the table has family IDs (if not, alignment is by IID).
    pub fn has_fid(&self) -> bool {
        self.has_fid
    }

    /// Sample IDs, in file order.
    pub fn ids(&self) -> &[SampleId] {
        &self.ids
    }

    /// All value columns (categorical covariates already expanded to dummies).
    pub fn columns(&self) -> &[TableColumn] {
        &self.columns
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&TableColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Keeps only the named columns, in the order given. A categorical covariate
    /// may be named by its source name, which keeps all of its dummies.
    pub fn select(&self, names: &[&str]) -> Result<Self> {
        let mut columns = Vec::new();
        for &name in names {
            let hits: Vec<&TableColumn> = self
                .columns
                .iter()
                .filter(|c| {
                    c.name == name
                        || matches!(&c.kind, ColumnKind::Dummy { source, .. } if source == name)
                })
                .collect();
            if hits.is_empty() {
                let have: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
                return Err(Error::request(
                    &self.path,
                    format!("no column {name:?}; the table has {}", have.join(", ")),
                ));
            }
            columns.extend(hits.into_iter().cloned());
        }
        Ok(Self {
            columns,
            ..self.clone()
        })
    }

    /// Reorders the table to `samples` (a genotype source's sample order), matching
    /// by FID and IID, or by IID alone when the table has no FID column. It is an
    /// error if no sample matches.
    pub fn align(&self, samples: &[SampleId]) -> Result<(AlignedTable, AlignmentReport)> {
        let key = |id: &SampleId| -> (String, String) {
            if self.has_fid {
                (id.fid.clone(), id.iid.clone())
            } else {
                (String::new(), id.iid.clone())
            }
        };
        let rows: HashMap<(String, String), usize> = self
            .ids
            .iter()
            .enumerate()
            .map(|(r, id)| (key(id), r))
            .collect();
        let mut values = Array2::from_elem((samples.len(), self.columns.len()), f64::NAN);
        let mut report = AlignmentReport::default();
        let mut used = vec![false; self.ids.len()];
        for (i, s) in samples.iter().enumerate() {
            match rows.get(&key(s)) {
                Some(&r) => {
                    report.matched += 1;
                    used[r] = true;
                    for (c, col) in self.columns.iter().enumerate() {
                        values[[i, c]] = col.values[r];
                    }
                }
                None => report.genotype_only.push(s.clone()),
            }
        }
        report.table_only = self
            .ids
            .iter()
            .zip(&used)
            .filter(|(_, &u)| !u)
            .map(|(id, _)| id.clone())
            .collect();
        if report.matched == 0 {
            let first = samples.first().map(|s| s.to_string()).unwrap_or_default();
            let theirs = self.ids.first().map(|s| s.to_string()).unwrap_or_default();
            return Err(Error::invalid(
                &self.path,
                format!(
                    "no sample ID matches the genotype samples (genotypes start with {first:?}, \
                     the table with {theirs:?}{})",
                    if self.has_fid {
                        "; matching on FID and IID"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok((
            AlignedTable {
                names: self.columns.iter().map(|c| c.name.clone()).collect(),
                kinds: self.columns.iter().map(|c| c.kind.clone()).collect(),
                values,
            },
            report,
        ))
    }
}

/// The table split into cells, before typing.
struct RawTable {
    has_fid: bool,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// 1-based file line of each row.
    lines: Vec<usize>,
}

impl RawTable {
    fn split(path: &Path, text: &str, role: TableRole) -> Result<Self> {
        let mut lines = crate::tsv::content_lines(text);
        let Some((first_no, first)) = lines.next() else {
            return Err(Error::Empty { path: path.into() });
        };
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
            || (first.contains(',') && !first.contains('\t'));
        let has_tab = first.contains('\t');
        let split = |l: &str| -> Vec<String> {
            if is_csv {
                l.split(',')
                    .map(|c| c.trim().trim_matches('"').to_string())
                    .collect()
            } else if has_tab {
                l.split('\t').map(|c| c.trim().to_string()).collect()
            } else {
                l.split_whitespace().map(str::to_string).collect()
            }
        };
        let first_cells = split(first);
        let tok0 = first_cells[0].trim_start_matches('#').to_ascii_uppercase();
        let tok1 = first_cells.get(1).map(|s| s.to_ascii_uppercase());
        let (has_fid, header, mut pending) = if tok0 == "FID" {
            if tok1.as_deref() != Some("IID") {
                return Err(Error::parse(
                    path,
                    first_no,
                    "header starts with FID but its second column is not IID",
                ));
            }
            let mut h = first_cells.clone();
            h[0] = "FID".into();
            (true, h, None)
        } else if tok0 == "IID" {
            let mut h = first_cells.clone();
            h[0] = "IID".into();
            (false, h, None)
        } else {
            // No header: FID IID values..., named as PLINK names them.
            let prefix = match role {
                TableRole::Phenotype => "PHENO",
                TableRole::Covariate => "COVAR",
            };
            let mut h = vec!["FID".to_string(), "IID".to_string()];
            h.extend((1..first_cells.len().saturating_sub(1)).map(|k| format!("{prefix}{k}")));
            (true, h, Some((first_no, first_cells)))
        };
        let n_id = if has_fid { 2 } else { 1 };
        if header.len() <= n_id {
            return Err(Error::parse(
                path,
                first_no,
                "no value columns after the sample ID columns",
            ));
        }
        let mut seen = BTreeSet::new();
        for h in &header {
            if !seen.insert(h.as_str()) {
                return Err(Error::parse(
                    path,
                    first_no,
                    format!("duplicate column name {h:?}"),
                ));
            }
        }
        let mut rows = Vec::new();
        let mut row_lines = Vec::new();
        let rest = lines.map(|(n, l)| (n, split(l)));
        for (n, cells) in pending.take().into_iter().chain(rest) {
            if cells.len() != header.len() {
                return Err(Error::parse(
                    path,
                    n,
                    format!("{} columns, the header has {}", cells.len(), header.len()),
                ));
            }
            rows.push(cells);
            row_lines.push(n);
        }
        if rows.is_empty() {
            return Err(Error::Empty { path: path.into() });
        }
        Ok(Self {
            has_fid,
            header,
            rows,
            lines: row_lines,
        })
    }

    /// Hands the cells to polars' CSV reader as tab-separated text with every column
    /// typed as a string; typing happens in [`parse_column`] so that errors can
    /// name the line and PLINK's missing codes are honoured exactly.
    fn to_dataframe(&self, path: &Path) -> Result<DataFrame> {
        let mut buf = String::new();
        buf.push_str(&self.header.join("\t"));
        buf.push('\n');
        for row in &self.rows {
            buf.push_str(&row.join("\t"));
            buf.push('\n');
        }
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_parse_options(
                CsvParseOptions::default()
                    .with_separator(b'\t')
                    .with_quote_char(None)
                    .with_missing_is_null(false),
            )
            .into_reader_with_file_handle(Cursor::new(buf.into_bytes()))
            .finish()
            .map_err(|e| Error::invalid(path, format!("cannot parse table: {e}")))
    }
}

fn is_missing(s: &str, options: &TableOptions) -> bool {
    s.is_empty()
        || s == options.missing_code
        || s == "."
        || s.eq_ignore_ascii_case("na")
        || s.eq_ignore_ascii_case("nan")
}

fn parse_column(
    path: &Path,
    name: &str,
    cells: &[Option<String>],
    lines: &[usize],
    role: TableRole,
    options: &TableOptions,
) -> Result<Vec<TableColumn>> {
    let mut values = Vec::with_capacity(cells.len());
    let mut first_text: Option<usize> = None;
    for (r, cell) in cells.iter().enumerate() {
        let s = cell.as_deref().unwrap_or("");
        if is_missing(s, options) {
            values.push(f64::NAN);
            continue;
        }
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => values.push(x),
            _ => {
                if role == TableRole::Phenotype {
                    return Err(Error::parse(
                        path,
                        lines[r],
                        format!("phenotype {name:?}: value {s:?} is not a number"),
                    ));
                }
                first_text.get_or_insert(r);
                values.push(f64::NAN);
            }
        }
    }
    if first_text.is_some() {
        return Ok(dummies(name, cells, options));
    }
    let observed = || values.iter().filter(|x| !x.is_nan());
    let kind = match role {
        TableRole::Phenotype => {
            let coded = if options.case_control_01 {
                observed().all(|&x| x == 0.0 || x == 1.0)
            } else {
                observed().all(|&x| x == 0.0 || x == 1.0 || x == 2.0)
            };
            if coded {
                for x in values.iter_mut() {
                    if !options.case_control_01 {
                        // 1/2 coding: 1 control, 2 case, 0 missing.
                        *x = if *x == 1.0 {
                            0.0
                        } else if *x == 2.0 {
                            1.0
                        } else {
                            f64::NAN
                        };
                    }
                }
                ColumnKind::CaseControl
            } else {
                ColumnKind::Quantitative
            }
        }
        TableRole::Covariate => ColumnKind::Quantitative,
    };
    Ok(vec![TableColumn {
        name: name.to_string(),
        kind,
        values,
    }])
}

fn dummies(name: &str, cells: &[Option<String>], options: &TableOptions) -> Vec<TableColumn> {
    let level_of = |c: &Option<String>| -> Option<String> {
        let s = c.as_deref().unwrap_or("");
        (!is_missing(s, options)).then(|| s.to_string())
    };
    let levels: BTreeSet<String> = cells.iter().filter_map(level_of).collect();
    levels
        .iter()
        .skip(1)
        .map(|level| TableColumn {
            name: format!("{name}={level}"),
            kind: ColumnKind::Dummy {
                source: name.to_string(),
                level: level.clone(),
            },
            values: cells
                .iter()
                .map(|c| match level_of(c) {
                    None => f64::NAN,
                    Some(l) => f64::from(u8::from(&l == level)),
                })
                .collect(),
        })
        .collect()
}

/// One column of a parsed table as optional strings.
fn text_column(
    df: &polars::prelude::DataFrame,
    path: &Path,
    name: &str,
) -> Result<Vec<Option<String>>> {
    let col = df
        .column(name)
        .and_then(|c| c.str().cloned())
        .map_err(|e| Error::invalid(path, format!("column {name}: {e}")))?;
    Ok(col.iter().map(|v| v.map(str::to_string)).collect())
}

fn is_missing_label(s: &str) -> bool {
    matches!(s, "NA" | "nan" | "NaN" | "." | "-9")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn table(text: &str, ext: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn plink_style_with_missing_codes_and_case_control() {
        let f = table(
            "#FID IID q cc\nf1 a 1.5 2\nf1 b NA 1\nf2 c -9 0\nf2 d 3 -9\n",
            ".txt",
        );
        let t = SampleTable::read_phenotypes(f.path(), &TableOptions::default()).unwrap();
        assert!(t.has_fid());
        let q = t.column("q").unwrap();
        assert_eq!(q.kind, ColumnKind::Quantitative);
        assert_eq!(q.values[0], 1.5);
        assert!(q.values[1].is_nan() && q.values[2].is_nan());
        let cc = t.column("cc").unwrap();
        assert_eq!(cc.kind, ColumnKind::CaseControl);
        assert_eq!(cc.values[0], 1.0);
        assert_eq!(cc.values[1], 0.0);
        assert!(cc.values[2].is_nan() && cc.values[3].is_nan());
    }

    #[test]
    fn zero_one_coding_and_csv() {
        let f = table("IID,y\na,0\nb,1\nc,\n", ".csv");
        let opts = TableOptions {
            case_control_01: true,
            ..Default::default()
        };
        let t = SampleTable::read_phenotypes(f.path(), &opts).unwrap();
        assert!(!t.has_fid());
        let y = t.column("y").unwrap();
        assert_eq!(y.kind, ColumnKind::CaseControl);
        assert_eq!(&y.values[..2], &[0.0, 1.0]);
        assert!(y.values[2].is_nan());
    }

    #[test]
    fn categorical_covariates_become_dummies() {
        let f = table(
            "FID\tIID\tage\tsite\n1\ta\t30\tx\n1\tb\t40\ty\n1\tc\t\tz\n1\td\t50\t\n",
            ".txt",
        );
        let t = SampleTable::read_covariates(f.path(), &TableOptions::default()).unwrap();
        let names: Vec<&str> = t.columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["age", "site=y", "site=z"]);
        assert!(t.column("age").unwrap().values[2].is_nan());
        let y = &t.column("site=y").unwrap().values;
        assert_eq!(&y[..3], &[0.0, 1.0, 0.0]);
        assert!(y[3].is_nan());
        assert_eq!(t.select(&["site"]).unwrap().columns().len(), 2);
    }

    #[test]
    fn aligns_to_genotype_order_and_reports_mismatches() {
        let f = table("FID IID y\n1 a 1.0\n1 b 2.0\n1 z 3.0\n", ".txt");
        let t = SampleTable::read_phenotypes(f.path(), &TableOptions::default()).unwrap();
        let geno = vec![
            SampleId::new("1", "b"),
            SampleId::new("1", "c"),
            SampleId::new("1", "a"),
        ];
        let (aligned, report) = t.align(&geno).unwrap();
        assert_eq!(aligned.values[[0, 0]], 2.0);
        assert!(aligned.values[[1, 0]].is_nan());
        assert_eq!(aligned.values[[2, 0]], 1.0);
        assert_eq!(report.matched, 2);
        assert_eq!(report.table_only, vec![SampleId::new("1", "z")]);
        assert_eq!(report.genotype_only, vec![SampleId::new("1", "c")]);
        let err = t.align(&[SampleId::new("9", "q")]).unwrap_err();
        assert!(err.to_string().contains("no sample ID matches"), "{err}");
    }
}
