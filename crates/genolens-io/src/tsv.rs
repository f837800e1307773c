//! Tab-separated text with a header line, read by column name. Shared by the
//! readers of header-named tables (GRCh38 genes, gene aliases, `--glm` files) so
//! that blank lines, header lookup and ragged rows are handled one way.

use std::path::Path;

use crate::error::{Error, Result};

/// The non-blank lines of `text` with their 1-based numbers, a trailing `\r`
/// removed.
pub(crate) fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> + '_ {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
}

/// A tab-separated text split into its header and its non-blank data lines.
pub(crate) struct HeaderedTsv<'a> {
    path: &'a Path,
    header_line: usize,
    columns: Vec<&'a str>,
    lines: Vec<(usize, &'a str)>,
}

impl<'a> HeaderedTsv<'a> {
    /// Splits `text` (the contents of `path`); the first non-blank line is the
    /// header. A text with no header is [`Error::Empty`].
    pub(crate) fn parse(path: &'a Path, text: &'a str) -> Result<Self> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l));
        let Some((header_line, header)) = lines.next() else {
            return Err(Error::Empty { path: path.into() });
        };
        Ok(Self {
            path,
            header_line,
            columns: header.split('\t').map(str::trim).collect(),
            lines: lines.collect(),
        })
    }

    /// The index of column `name`, if the header has it.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name)
    }

    /// The header name of column `idx`.
    pub(crate) fn name(&self, idx: usize) -> &'a str {
        self.columns.get(idx).copied().unwrap_or("?")
    }

    /// The index of column `name`, or an error at the header line.
    pub(crate) fn column(&self, name: &str) -> Result<usize> {
        self.find(name)
            .ok_or_else(|| self.header_error(format!("header has no column {name:?}")))
    }

    /// An error about the header line.
    pub(crate) fn header_error(&self, reason: impl Into<String>) -> Error {
        Error::parse(self.path, self.header_line, reason)
    }

    /// The data lines as (1-based line number, fields), fields untrimmed; a line
    /// with another number of fields than the header is an error.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Result<(usize, Vec<&'a str>)>> + '_ {
        self.lines.iter().map(|&(lineno, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() == self.columns.len() {
                Ok((lineno, fields))
            } else {
                Err(Error::parse(
                    self.path,
                    lineno,
                    format!(
                        "{} tab-separated columns, the header has {}",
                        fields.len(),
                        self.columns.len()
                    ),
                ))
            }
        })
    }
}
