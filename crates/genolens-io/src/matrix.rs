//! Numeric genotype matrices as many ML users and method papers keep them:
//! a CSV/TSV file (plain or gzip) with one row per sample — an ID column,
//! then one value per marker — and an optional header row naming the
//! markers, as a [`GenotypeSource`].
//!
//! The text is read once, at open, row by row; the values go to an
//! anonymous temporary file (in `$TMPDIR`), sample-major, four bytes each,
//! and blocks of variants are read back from it with one positional read
//! per sample, so a matrix larger than memory can be used. Memory holds one
//! row while opening and one block while reading.
//!
//! Samples get FID `0` and the ID as IID (plink2's convention for IDs without
//! families). Markers get chromosome `0`, position = column number (1-based),
//! the header's name (or `m1`, `m2` … without a header), counted allele `B`
//! and other allele `A` (the A/B naming of array genotypes: a value counts B
//! copies). Missing values: `NA`, `NaN`, `.` or an empty field.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::atomic::{open, read_at};
use crate::error::{Error, Result};
use crate::genotype::{check_range, check_variant_request, GenotypeBlock, GenotypeSource};
use crate::record::{Sample, SampleId, Variant};

/// What a matrix value means, as dosage of the counted allele.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatrixCoding {
    /// 0/1/2 copies (or a dosage in `[0, 2]`), as PLINK counts them.
    #[default]
    Additive,
    /// 0/1 for the absent/present allele of inbred (homozygous) lines, as
    /// BGLR's wheat matrix: a value `x` is `2x` copies.
    Inbred,
    /// −1/0/1 (rrBLUP's coding): a value `x` is `x + 1` copies.
    Centered,
}

impl MatrixCoding {
    fn dosage(self, x: f32) -> f32 {
        match self {
            MatrixCoding::Additive => x,
            MatrixCoding::Inbred => 2.0 * x,
            MatrixCoding::Centered => x + 1.0,
        }
    }
}

/// How a matrix file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatrixOptions {
    /// The field separator; `None` takes `,` when the first line has one,
    /// else tabs or spaces.
    pub delimiter: Option<u8>,
    /// What the values mean.
    pub coding: MatrixCoding,
}

/// A genotype matrix opened for reading (see the module docs).
#[derive(Debug)]
pub struct GenoMatrix {
    path: PathBuf,
    /// The values, sample-major, `f32` little-endian.
    values: File,
    samples: Vec<Sample>,
    variants: Vec<Variant>,
    /// Every value is 0, 1, 2 or missing.
    hardcalls_only: bool,
}

fn is_missing(field: &str) -> bool {
    matches!(field, "" | "NA" | "na" | "NaN" | "nan" | ".")
}

impl GenoMatrix {
    /// Reads `path` (told apart as gzip by content) with `options`.
    pub fn open(path: impl AsRef<Path>, options: MatrixOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = open(&path)?;
        let mut reader = BufReader::new(file);
        let gzip = reader
            .fill_buf()
            .map_err(|e| Error::io(&path, e))?
            .starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(reader)))
        } else {
            Box::new(reader)
        };
        let values = tempfile::tempfile().map_err(|e| Error::io(&path, e))?;
        let mut writer = BufWriter::new(&values);
        let mut samples: Vec<Sample> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut variants: Option<Vec<Variant>> = None;
        let mut delimiter = options.delimiter;
        let mut hardcalls_only = true;
        let mut row = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let lineno = i + 1;
            let line = line.map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => {
                    Error::parse(&path, lineno, "not valid UTF-8 text")
                }
                _ => Error::io(&path, e),
            })?;
            let line = line.trim_end_matches('\r');
            let line = if lineno == 1 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            if line.trim().is_empty() {
                continue;
            }
            let d = *delimiter.get_or_insert(if line.contains(',') { b',' } else { b'\t' });
            let fields: Vec<&str> = if d == b'\t' && options.delimiter.is_none() {
                line.split_whitespace().collect()
            } else {
                line.split(char::from(d)).map(str::trim).collect()
            };
            if fields.len() < 2 {
                return Err(Error::parse(
                    &path,
                    lineno,
                    format!(
                        "one field: expected an ID and marker values separated by {:?}",
                        char::from(d)
                    ),
                ));
            }
            let markers = &fields[1..];
            if variants.is_none() {
                // The first row: a header unless every marker field is a
                // number or missing.
                let header = markers
                    .iter()
                    .any(|f| !is_missing(f) && f.parse::<f32>().is_err());
                variants = Some(
                    (0..markers.len())
                        .map(|k| Variant {
                            chrom: "0".into(),
                            pos: k as u64 + 1,
                            id: if header {
                                markers[k].to_string()
                            } else {
                                format!("m{}", k + 1)
                            },
                            cm: 0.0,
                            allele1: "B".into(),
                            allele2: "A".into(),
                        })
                        .collect(),
                );
                if header {
                    continue;
                }
            }
            let expected = variants.as_ref().map_or(0, Vec::len);
            if markers.len() != expected {
                return Err(Error::parse(
                    &path,
                    lineno,
                    format!(
                        "{} marker values, the first row has {expected} (delimiter {:?})",
                        markers.len(),
                        char::from(d)
                    ),
                ));
            }
            push_row(
                &path,
                lineno,
                fields[0],
                markers,
                options.coding,
                &mut row,
                &mut hardcalls_only,
            )?;
            Self::add_sample(&path, lineno, fields[0], &mut samples, &mut seen)?;
            write_row(&path, &mut writer, &row)?;
        }
        writer.flush().map_err(|e| Error::io(&path, e))?;
        drop(writer);
        let variants = variants.unwrap_or_default();
        if samples.is_empty() || variants.is_empty() {
            return Err(Error::invalid(&path, "no sample rows with marker values"));
        }
        Ok(Self {
            path,
            values,
            samples,
            variants,
            hardcalls_only,
        })
    }

    fn add_sample(
        path: &Path,
        lineno: usize,
        id: &str,
        samples: &mut Vec<Sample>,
        seen: &mut std::collections::HashSet<String>,
    ) -> Result<()> {
        if id.is_empty() {
            return Err(Error::parse(path, lineno, "empty sample ID"));
        }
        if !seen.insert(id.to_string()) {
            return Err(Error::parse(
                path,
                lineno,
                format!("duplicate sample ID {id}"),
            ));
        }
        samples.push(Sample::new(SampleId::new("0", id)));
        Ok(())
    }

    /// Reads the values of variants `range` for `samples` into `out`, one
    /// variant after another.
    fn read_into(&self, range: Range<usize>, samples: &[usize], out: &mut [f32]) -> Result<()> {
        let m = self.variants.len();
        let width = range.len();
        let mut buf = vec![0u8; 4 * width];
        for (k, &s) in samples.iter().enumerate() {
            let offset = 4 * (s as u64 * m as u64 + range.start as u64);
            read_at(&self.values, &self.path, &mut buf, offset)?;
            for (j, b) in buf.chunks_exact(4).enumerate() {
                out[j * samples.len() + k] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Ok(())
    }
}

/// Parses one row's marker values into `row` (dosages, `NaN` missing).
fn push_row(
    path: &Path,
    lineno: usize,
    id: &str,
    markers: &[&str],
    coding: MatrixCoding,
    row: &mut Vec<f32>,
    hardcalls_only: &mut bool,
) -> Result<()> {
    row.clear();
    for (k, field) in markers.iter().enumerate() {
        if is_missing(field) {
            row.push(f32::NAN);
            continue;
        }
        let x: f32 = field.parse().map_err(|_| {
            Error::parse(
                path,
                lineno,
                format!("sample {id}, marker {}: {field:?} is not a number", k + 1),
            )
        })?;
        let d = coding.dosage(x);
        if !(0.0..=2.0).contains(&d) {
            return Err(Error::parse(
                path,
                lineno,
                format!(
                    "sample {id}, marker {}: {field} is {d} copies under {coding:?} coding, \
                     outside [0, 2]",
                    k + 1
                ),
            ));
        }
        *hardcalls_only &= d.fract() == 0.0;
        row.push(d);
    }
    Ok(())
}

fn write_row(path: &Path, writer: &mut impl Write, row: &[f32]) -> Result<()> {
    for x in row {
        writer
            .write_all(&x.to_le_bytes())
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

impl GenotypeSource for GenoMatrix {
    fn samples(&self) -> &[Sample] {
        &self.samples
    }

    fn variants(&self) -> &[Variant] {
        &self.variants
    }

    fn origin(&self) -> &Path {
        &self.path
    }

    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> Result<()> {
        check_variant_request(
            &self.path,
            variant,
            self.variants.len(),
            out.len(),
            self.samples.len(),
        )?;
        let all: Vec<usize> = (0..self.samples.len()).collect();
        self.read_into(variant..variant + 1, &all, out)
    }

    fn read_variant_subset_into(
        &self,
        variant: usize,
        samples: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        check_range(&self.path, &(variant..variant + 1), self.variants.len())?;
        if out.len() != samples.len() || samples.iter().any(|&s| s >= self.samples.len()) {
            return Err(Error::request(&self.path, "sample subset out of range"));
        }
        self.read_into(variant..variant + 1, samples, out)
    }

    fn read_block(&self, range: Range<usize>) -> Result<GenotypeBlock> {
        check_range(&self.path, &range, self.variants.len())?;
        let n = self.samples.len();
        let mut block = GenotypeBlock::missing(range.start, n, range.len());
        if !range.is_empty() {
            let all: Vec<usize> = (0..n).collect();
            self.read_into(range, &all, block.variant_major_mut())?;
        }
        Ok(block)
    }

    fn hardcalls_exact(&self) -> bool {
        self.hardcalls_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn headerless_rows_with_missing_values_read_variant_major() {
        let f = write("a 0 1 2\nb NA 0.5 1\nc 2 2 .\n");
        let m = GenoMatrix::open(f.path(), MatrixOptions::default()).unwrap();
        assert_eq!(m.n_samples(), 3);
        assert_eq!(m.variants()[2].id, "m3");
        assert!(!m.hardcalls_exact());
        let block = m.read_block(1..3).unwrap();
        assert_eq!(block.variant(0).to_vec(), vec![1.0, 0.5, 2.0]);
        assert_eq!((block.variant(1)[0], block.variant(1)[1]), (2.0, 1.0));
        assert!(block.variant(1)[2].is_nan());
        let mut one = vec![0.0; 2];
        m.read_variant_subset_into(0, &[2, 0], &mut one).unwrap();
        assert_eq!(one, vec![2.0, 0.0]);
    }

    #[test]
    fn codings_and_bad_values_are_checked() {
        let f = write("id,x,y\ns1,-1,1\ns2,0,NA\n");
        let centered = MatrixOptions {
            coding: MatrixCoding::Centered,
            ..Default::default()
        };
        let m = GenoMatrix::open(f.path(), centered).unwrap();
        assert_eq!(m.variants()[1].id, "y");
        assert!(m.hardcalls_exact());
        assert_eq!(
            m.read_block(0..1).unwrap().variant(0).to_vec(),
            vec![0.0, 1.0]
        );
        // -1 is no count under the additive coding.
        let err = GenoMatrix::open(f.path(), MatrixOptions::default()).unwrap_err();
        assert!(err.to_string().contains("outside [0, 2]"), "{err}");
        let ragged = write("id,x,y\ns1,1,1\ns2,1\n");
        let err = GenoMatrix::open(ragged.path(), MatrixOptions::default()).unwrap_err();
        assert!(err.to_string().contains(":3:"), "{err}");
        let text = write("id,x\ns1,one\n");
        assert!(GenoMatrix::open(text.path(), MatrixOptions::default()).is_err());
        let dup = write("id,x\ns1,1\ns1,2\n");
        let err = GenoMatrix::open(dup.path(), MatrixOptions::default()).unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }
}
