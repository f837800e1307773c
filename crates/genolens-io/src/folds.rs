//! Cross-validation fold assignments: a delimited text file that gives each
//! sample (by ID) an integer fold label, such as the `cv_fold` column of the
//! BGLR wheat phenotypes.
//!
//! The file has a header line; columns are found by name. The delimiter is read
//! from the header: a comma makes it CSV, otherwise a tab makes it
//! tab-separated, otherwise fields are separated by runs of whitespace. Fields
//! are trimmed and one pair of surrounding double quotes is removed; quoted
//! fields that contain the delimiter are not supported (IDs and fold labels
//! never need them). A leading `#` on the header (PLINK's `#FID`) is ignored.
//! Blank lines are skipped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::atomic::read_to_string;
use crate::error::{Error, Result};

/// Which columns of a fold file hold the IDs and the fold label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldFileOptions {
    /// The individual-ID column (matched against a sample's IID).
    pub id_column: String,
    /// The family-ID column, when the file has one; with it, samples are
    /// matched by FID and IID together.
    pub fid_column: Option<String>,
    /// The column holding the integer fold label.
    pub fold_column: String,
}

impl FoldFileOptions {
    /// Options for a file keyed by IID only.
    pub fn new(id_column: impl Into<String>, fold_column: impl Into<String>) -> Self {
        Self {
            id_column: id_column.into(),
            fid_column: None,
            fold_column: fold_column.into(),
        }
    }
}

/// One row of a fold file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldEntry {
    /// Family ID, when the file has a family-ID column.
    pub fid: Option<String>,
    /// Individual ID.
    pub iid: String,
    /// The fold label as written in the file (any integer, not necessarily
    /// 0-based or contiguous).
    pub fold: i64,
}

/// A fold label per sample ID, in file order, with no ID twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldAssignment {
    path: PathBuf,
    has_fid: bool,
    entries: Vec<FoldEntry>,
}

impl FoldAssignment {
    /// Reads a fold file (see the [module documentation](self) for the layout).
    ///
    /// Errors name the file and, for a bad row, its 1-based line: a missing
    /// column (at the header line), a row with the wrong number of fields, an
    /// empty ID, a fold label that is not an integer, an ID seen twice. A file
    /// with no header or no data row is [`Error::Empty`].
    pub fn read(path: impl AsRef<Path>, options: &FoldFileOptions) -> Result<Self> {
        let path = path.as_ref();
        let text = read_to_string(path)?;
        let mut lines = crate::tsv::content_lines(&text);
        let Some((header_line, header)) = lines.next() else {
            return Err(Error::Empty { path: path.into() });
        };
        let delim = Delimiter::detect(header);
        let mut columns = delim.split(header);
        if let Some(first) = columns.first_mut() {
            *first = first.strip_prefix('#').unwrap_or(first).trim();
        }
        let column = |name: &str| {
            columns.iter().position(|c| *c == name).ok_or_else(|| {
                Error::parse(
                    path,
                    header_line,
                    format!(
                        "header has no column {name:?} (columns: {})",
                        columns.join(", ")
                    ),
                )
            })
        };
        let c_iid = column(&options.id_column)?;
        let c_fid = options.fid_column.as_deref().map(column).transpose()?;
        let c_fold = column(&options.fold_column)?;

        let mut entries = Vec::new();
        // Key → line of first occurrence, to name both lines of a duplicate.
        let mut seen: HashMap<(Option<String>, String), usize> = HashMap::new();
        for (lineno, line) in lines {
            let f = delim.split(line);
            if f.len() != columns.len() {
                return Err(Error::parse(
                    path,
                    lineno,
                    format!("{} fields, the header has {}", f.len(), columns.len()),
                ));
            }
            let iid = f[c_iid];
            if iid.is_empty() {
                return Err(Error::parse(path, lineno, "empty individual ID"));
            }
            let fid = match c_fid {
                Some(c) if f[c].is_empty() => {
                    return Err(Error::parse(path, lineno, "empty family ID"));
                }
                Some(c) => Some(f[c].to_string()),
                None => None,
            };
            let fold: i64 = f[c_fold].parse().map_err(|_| {
                Error::parse(
                    path,
                    lineno,
                    format!(
                        "fold {:?} in column {:?} is not an integer",
                        f[c_fold], options.fold_column
                    ),
                )
            })?;
            let key = (fid.clone(), iid.to_string());
            if let Some(first) = seen.insert(key, lineno) {
                return Err(Error::parse(
                    path,
                    lineno,
                    format!(
                        "duplicate ID {}, first seen on line {first}",
                        display_id(fid.as_deref(), iid)
                    ),
                ));
            }
            entries.push(FoldEntry {
                fid,
                iid: iid.to_string(),
                fold,
            });
        }
        if entries.is_empty() {
            return Err(Error::Empty { path: path.into() });
        }
        Ok(Self {
            path: path.into(),
            has_fid: c_fid.is_some(),
            entries,
        })
    }

    /// An assignment built in memory; `origin` names it in messages. Entries
    /// must all have a family ID or all have none, and no ID may appear twice.
    pub fn from_entries(origin: impl Into<PathBuf>, entries: Vec<FoldEntry>) -> Result<Self> {
        let path = origin.into();
        let has_fid = entries.first().is_some_and(|e| e.fid.is_some());
        if entries.is_empty() {
            return Err(Error::Empty { path });
        }
        let mut seen = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e.fid.is_some() != has_fid {
                return Err(Error::request(
                    &path,
                    format!(
                        "entry {}: some entries have a family ID and some do not",
                        i + 1
                    ),
                ));
            }
            if let Some(first) = seen.insert((e.fid.as_deref(), e.iid.as_str()), i) {
                return Err(Error::request(
                    &path,
                    format!(
                        "entry {}: duplicate ID {}, first seen at entry {}",
                        i + 1,
                        display_id(e.fid.as_deref(), &e.iid),
                        first + 1
                    ),
                ));
            }
        }
        Ok(Self {
            path,
            has_fid,
            entries,
        })
    }

    /// The file the assignment was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether entries carry family IDs (and samples should be matched by FID
    /// and IID).
    pub fn has_fid(&self) -> bool {
        self.has_fid
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[FoldEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry (never true for a value read from a file).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The distinct fold labels with their number of entries, in increasing
    /// order of label.
    pub fn fold_sizes(&self) -> Vec<(i64, usize)> {
        let mut sizes = BTreeMap::new();
        for e in &self.entries {
            *sizes.entry(e.fold).or_insert(0) += 1;
        }
        sizes.into_iter().collect()
    }
}

fn display_id(fid: Option<&str>, iid: &str) -> String {
    match fid {
        Some(fid) => format!("{fid:?} {iid:?}"),
        None => format!("{iid:?}"),
    }
}

#[derive(Debug, Clone, Copy)]
enum Delimiter {
    Comma,
    Tab,
    Whitespace,
}

impl Delimiter {
    fn detect(header: &str) -> Self {
        if header.contains(',') {
            Delimiter::Comma
        } else if header.contains('\t') {
            Delimiter::Tab
        } else {
            Delimiter::Whitespace
        }
    }

    /// Fields of `line`, trimmed and unquoted.
    fn split(self, line: &str) -> Vec<&str> {
        match self {
            Delimiter::Comma => line.split(',').map(unquote).collect(),
            Delimiter::Tab => line.split('\t').map(unquote).collect(),
            Delimiter::Whitespace => line.split_whitespace().map(unquote).collect(),
        }
    }
}

/// A field trimmed, without one pair of surrounding double quotes.
fn unquote(f: &str) -> &str {
    let f = f.trim();
    f.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map_or(f, str::trim)
}
