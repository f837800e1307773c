//! Gene-level prior tables and association p-value tables.
//!
//! - `gene_prior.tsv`, genolens' own prior (`gene_id symbol score n_docs
//!   evidence_pmids`, written by `genolens prior`), and any user table of gene
//!   scores (`gene score`, e.g. PoPS, MAGMA or Open Targets scores), read by the
//!   one reader [`read_gene_scores`].
//! - `gene_evidence.tsv`: the sentences behind each gene's score, with their
//!   character offsets (PubTator's counting) in the abstract.
//! - Association reports of any tool (plink2 `.glm.*`, PLINK 1.9 `.assoc`,
//!   GWAS-SSF, REGENIE, BOLT-LMM): variant ID, chromosome, position and p-value,
//!   found by column name ([`read_association_p`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};

/// One gene of a prior table.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneScoreRow {
    /// 1-based line in the file.
    pub line: usize,
    /// The gene as the table names it: an NCBI Entrez id (all digits) or a
    /// symbol.
    pub gene: String,
    /// The symbol, when the table has a `symbol` column.
    pub symbol: Option<String>,
    /// The score (finite).
    pub score: f64,
    /// Documents behind the score (`n_docs`), when the table has it.
    pub n_docs: Option<usize>,
    /// PubMed ids of the evidence (`evidence_pmids`, comma-separated), when the
    /// table has them.
    pub evidence_pmids: Vec<String>,
}

/// The columns of genolens' own prior table.
pub const GENE_PRIOR_HEADER: &str = "gene_id\tsymbol\tscore\tn_docs\tevidence_pmids";

/// Writes `gene_prior.tsv` (`gene_id symbol score n_docs evidence_pmids`,
/// PMIDs comma-separated, `.` when none), atomically.
pub fn write_gene_prior(path: impl AsRef<Path>, rows: &[GeneScoreRow]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(gene_prior_text(rows).as_bytes())?;
    f.commit()
}

/// The text of `gene_prior.tsv` (for writing together with other files).
pub fn gene_prior_text(rows: &[GeneScoreRow]) -> String {
    let mut text = String::with_capacity(64 * (rows.len() + 1));
    text.push_str(GENE_PRIOR_HEADER);
    text.push('\n');
    for r in rows {
        let pmids = if r.evidence_pmids.is_empty() {
            ".".to_string()
        } else {
            r.evidence_pmids.join(",")
        };
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}",
            r.gene,
            r.symbol.as_deref().unwrap_or("."),
            format_score(r.score),
            r.n_docs.unwrap_or(0),
            pmids
        );
    }
    text
}

/// Six significant digits, without trailing zeros (`0.5`, `0.123457`, `0`).
fn format_score(x: f64) -> String {
    crate::report::format_g(x, 6)
}

/// Reads a table of gene scores: genolens' `gene_prior.tsv` (a header with
/// `gene_id` and `score`; `symbol`, `n_docs` and `evidence_pmids` are read
/// when present), or a user table whose first column is the gene (Entrez id or
/// symbol) and whose second is the score, tab- or space-separated, with or
/// without a header (a first line whose second field is not a number is a
/// header). Lines starting with `#` after the first are comments. A score that
/// is not a finite number, a gene listed twice, or a table without rows is an
/// error naming the line.
pub fn read_gene_scores(path: impl AsRef<Path>) -> Result<Vec<GeneScoreRow>> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut lines = crate::tsv::content_lines(&text);
    let Some((first_no, first)) = lines.next() else {
        return Err(Error::Empty { path: path.into() });
    };
    let split = |l: &str| -> Vec<String> {
        if l.contains('\t') {
            l.split('\t').map(|f| f.trim().to_string()).collect()
        } else {
            l.split_whitespace().map(str::to_string).collect()
        }
    };
    let head = split(first);
    let named = |name: &str| head.iter().position(|h| h.trim_start_matches('#') == name);
    // Column layout: (gene, score, symbol, n_docs, pmids), and whether the
    // first line is data.
    let (c_gene, c_score, c_symbol, c_docs, c_pmids, first_is_data) =
        match (named("gene_id").or(named("gene")), named("score")) {
            (Some(g), Some(s)) => (
                g,
                s,
                named("symbol"),
                named("n_docs"),
                named("evidence_pmids"),
                false,
            ),
            _ => {
                if head.len() < 2 {
                    return Err(Error::parse(
                        path,
                        first_no,
                        "expected at least two columns: gene and score",
                    ));
                }
                let numeric = head[1].parse::<f64>().is_ok();
                (0, 1, None, None, None, numeric)
            }
        };
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let data = first_is_data
        .then_some((first_no, first))
        .into_iter()
        .chain(lines.filter(|(_, l)| !l.starts_with('#')));
    for (line, l) in data {
        let f = split(l);
        let need = [Some(c_gene), Some(c_score), c_symbol, c_docs, c_pmids]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(1);
        if f.len() <= need {
            return Err(Error::parse(
                path,
                line,
                format!("{} columns, expected at least {}", f.len(), need + 1),
            ));
        }
        let gene = f[c_gene].clone();
        if gene.is_empty() {
            return Err(Error::parse(path, line, "empty gene name"));
        }
        let score: f64 = f[c_score].parse().map_err(|_| {
            Error::parse(
                path,
                line,
                format!("score {:?} is not a number", f[c_score]),
            )
        })?;
        if !score.is_finite() {
            return Err(Error::parse(
                path,
                line,
                format!("score {score} is not finite"),
            ));
        }
        if let Some(prev) = seen.insert(gene.clone(), line) {
            return Err(Error::parse(
                path,
                line,
                format!("gene {gene} is listed twice (first on line {prev})"),
            ));
        }
        let n_docs = match c_docs {
            None => None,
            Some(c) => Some(f[c].parse::<usize>().map_err(|_| {
                Error::parse(path, line, format!("n_docs {:?} is not a count", f[c]))
            })?),
        };
        let evidence_pmids = c_pmids
            .map(|c| {
                f[c].split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty() && *p != ".")
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        rows.push(GeneScoreRow {
            line,
            gene,
            symbol: c_symbol.map(|c| f[c].clone()).filter(|s| s != "."),
            score,
            n_docs,
            evidence_pmids,
        });
    }
    if rows.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(rows)
}

/// One evidence sentence of a gene.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRow {
    /// The gene's id (as in the prior table).
    pub gene_id: String,
    /// The gene's symbol.
    pub symbol: String,
    /// PubMed id of the abstract.
    pub pmid: String,
    /// Character offset of the sentence in `title + " " + abstract`.
    pub start: usize,
    /// Character offset one past its end.
    pub end: usize,
    /// Its relevance score for the query (BM25).
    pub score: f64,
    /// The sentence (tabs and line breaks replaced by spaces on writing).
    pub sentence: String,
}

/// The columns of the evidence table.
pub const EVIDENCE_HEADER: &str = "gene_id\tsymbol\tpmid\tstart\tend\tscore\tsentence";

/// Writes `gene_evidence.tsv` atomically.
pub fn write_evidence(path: impl AsRef<Path>, rows: &[EvidenceRow]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(evidence_text(rows).as_bytes())?;
    f.commit()
}

/// The text of `gene_evidence.tsv`.
pub fn evidence_text(rows: &[EvidenceRow]) -> String {
    let mut text = String::new();
    text.push_str(EVIDENCE_HEADER);
    text.push('\n');
    for r in rows {
        let sentence: String = r
            .sentence
            .chars()
            .map(|c| {
                if matches!(c, '\t' | '\n' | '\r') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.gene_id,
            r.symbol,
            r.pmid,
            r.start,
            r.end,
            format_score(r.score),
            sentence
        );
    }
    text
}

/// Reads [`write_evidence`]'s table.
pub fn read_evidence(path: impl AsRef<Path>) -> Result<Vec<EvidenceRow>> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let table = crate::tsv::HeaderedTsv::parse(path, &text)?;
    let cols: Vec<usize> = [
        "gene_id", "symbol", "pmid", "start", "end", "score", "sentence",
    ]
    .iter()
    .map(|c| table.column(c))
    .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for row in table.rows() {
        let (line, f) = row?;
        let num = |k: usize, what: &str| -> Result<usize> {
            f[cols[k]].trim().parse().map_err(|_| {
                Error::parse(
                    path,
                    line,
                    format!("{what} {:?} is not an offset", f[cols[k]]),
                )
            })
        };
        let (start, end) = (num(3, "start")?, num(4, "end")?);
        if start > end {
            return Err(Error::parse(
                path,
                line,
                format!("start {start} is after end {end}"),
            ));
        }
        out.push(EvidenceRow {
            gene_id: f[cols[0]].trim().to_string(),
            symbol: f[cols[1]].trim().to_string(),
            pmid: f[cols[2]].trim().to_string(),
            start,
            end,
            score: f[cols[5]].trim().parse().map_err(|_| {
                Error::parse(
                    path,
                    line,
                    format!("score {:?} is not a number", f[cols[5]]),
                )
            })?,
            sentence: f[cols[6]].to_string(),
        });
    }
    Ok(out)
}

/// Reads a 2-D `float32` `.npy` array (such as `gene_prior.npy`, one row per
/// gene of `gene_prior.tsv`).
pub fn read_npy_matrix(path: impl AsRef<Path>) -> Result<ndarray::Array2<f32>> {
    use ndarray_npy::ReadNpyExt;
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |reason: String| Error::Invalid {
        path: path.into(),
        reason,
    };
    // The header's own lengths are checked against the file first: the npy
    // reader allocates what they claim before reading.
    let (header, data) = npy_header(&bytes).ok_or_else(|| {
        bad("not a .npy file, or its header runs past the end of the file".into())
    })?;
    if let Some(values) =
        npy_shape(header).and_then(|s| s.iter().try_fold(1usize, |a, &d| a.checked_mul(d)))
    {
        if values.checked_mul(4).is_none_or(|need| need > data) {
            return Err(bad(format!(
                "its header claims {values} values, the file holds {data} bytes of data"
            )));
        }
    }
    ndarray::Array2::<f32>::read_npy(&bytes[..])
        .map_err(|e| bad(format!("not a 2-D float32 .npy array: {e}")))
}

/// The header text of a `.npy` file and the number of bytes after it, if
/// the magic and the header length fit the file.
fn npy_header(bytes: &[u8]) -> Option<(&str, usize)> {
    let rest = bytes.strip_prefix(b"\x93NUMPY".as_slice())?;
    let (&major, rest) = rest.split_first()?;
    let rest = rest.get(1..)?;
    let (len, rest) = match major {
        1 => (
            usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?])),
            rest.get(2..)?,
        ),
        2 | 3 => {
            let l = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
            (usize::try_from(l).ok()?, rest.get(4..)?)
        }
        _ => return None,
    };
    let header = std::str::from_utf8(rest.get(..len)?).ok()?;
    Some((header, rest.len() - len))
}

/// The `shape` tuple of a `.npy` header, when it reads as one.
fn npy_shape(header: &str) -> Option<Vec<usize>> {
    let start = header.find("'shape'")?;
    let open = start + header[start..].find('(')?;
    let close = open + header[open..].find(')')?;
    header[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().ok())
        .collect()
}

/// One variant's p-value from an association report.
#[derive(Debug, Clone, PartialEq)]
pub struct AssociationP {
    /// Chromosome as written.
    pub chrom: String,
    /// Base-pair position.
    pub pos: u64,
    /// Variant ID.
    pub id: String,
    /// The p-value (from `LOG10_P` when the file has it, so that p below
    /// 1e-308 survives as 0 only where the file itself printed 0).
    pub p: f64,
}

/// Reads variant IDs, positions and p-values from any association report,
/// whitespace-separated with a header (a leading `#` is ignored, as in
/// `#CHROM`). Columns are found by name: ID (`ID`, `SNP`, `rsid`,
/// `variant_id`, `MarkerName`), chromosome (`CHROM`, `CHR`, `chromosome`),
/// position (`POS`, `BP`, `base_pair_location`, `GENPOS`) and the p-value
/// (`P`, `p_value`, `PVAL`, `P_BOLT_LMM`, or `LOG10_P`/`LOG10P`/
/// `neg_log_10_p_value` as −log10 p). Rows whose p is `NA` (or another
/// non-number) are skipped, as PLINK skips them; a p outside [0, 1] or a
/// position that is not a non-negative integer is an error naming the line.
pub fn read_association_p(path: impl AsRef<Path>) -> Result<Vec<AssociationP>> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let mut lines = crate::tsv::content_lines(&text);
    let Some((header_no, header)) = lines.next() else {
        return Err(Error::Empty { path: path.into() });
    };
    let names: Vec<String> = header
        .split_whitespace()
        .map(|n| n.trim_start_matches('#').to_string())
        .collect();
    let find = |cands: &[&str]| {
        cands
            .iter()
            .find_map(|c| names.iter().position(|n| n.eq_ignore_ascii_case(c)))
    };
    let missing = |what: &str, cands: &[&str]| {
        Error::parse(
            path,
            header_no,
            format!(
                "no {what} column in the header (looked for {})",
                cands.join(", ")
            ),
        )
    };
    const ID: &[&str] = &["ID", "SNP", "rsid", "variant_id", "MarkerName"];
    const CHROM: &[&str] = &["CHROM", "CHR", "chromosome"];
    const POS: &[&str] = &["POS", "BP", "base_pair_location", "GENPOS"];
    const P: &[&str] = &["P", "p_value", "PVAL", "P_BOLT_LMM"];
    const LOG10P: &[&str] = &["LOG10_P", "LOG10P", "neg_log_10_p_value"];
    let c_id = find(ID).ok_or_else(|| missing("variant ID", ID))?;
    let c_chrom = find(CHROM).ok_or_else(|| missing("chromosome", CHROM))?;
    let c_pos = find(POS).ok_or_else(|| missing("position", POS))?;
    let (c_p, log) = match (find(LOG10P), find(P)) {
        (Some(c), _) => (c, true),
        (None, Some(c)) => (c, false),
        (None, None) => {
            let all: Vec<&str> = P.iter().chain(LOG10P).copied().collect();
            return Err(missing("p-value", &all));
        }
    };
    let need = c_id.max(c_chrom).max(c_pos).max(c_p);
    let mut out = Vec::new();
    for (line, l) in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() <= need {
            return Err(Error::parse(
                path,
                line,
                format!("{} columns, the header has {}", f.len(), names.len()),
            ));
        }
        let Ok(value) = f[c_p].parse::<f64>() else {
            continue;
        };
        if value.is_nan() {
            continue;
        }
        let p = if log { 10f64.powf(-value) } else { value };
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::parse(
                path,
                line,
                format!("p-value {p} outside [0, 1]"),
            ));
        }
        let pos = f[c_pos].parse::<u64>().map_err(|_| {
            Error::parse(
                path,
                line,
                format!("position {:?} is not a non-negative integer", f[c_pos]),
            )
        })?;
        out.push(AssociationP {
            chrom: f[c_chrom].to_string(),
            pos,
            id: f[c_id].to_string(),
            p,
        });
    }
    if out.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn gene_prior_round_trips_and_user_tables_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gene_prior.tsv");
        let rows = vec![
            GeneScoreRow {
                line: 2,
                gene: "3757".into(),
                symbol: Some("KCNH2".into()),
                score: 0.912345678,
                n_docs: Some(4),
                evidence_pmids: vec!["1".into(), "22".into()],
            },
            GeneScoreRow {
                line: 3,
                gene: "6331".into(),
                symbol: Some("SCN5A".into()),
                score: 0.0,
                n_docs: Some(0),
                evidence_pmids: vec![],
            },
        ];
        write_gene_prior(&path, &rows).unwrap();
        let back = read_gene_scores(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].gene, "3757");
        assert_eq!(back[0].symbol.as_deref(), Some("KCNH2"));
        assert!((back[0].score - 0.912346).abs() < 1e-12);
        assert_eq!(back[0].evidence_pmids, vec!["1", "22"]);
        assert!(back[1].evidence_pmids.is_empty());

        // A user table without a header, space-separated, symbols.
        let f = file("KCNH2 2.5\nSCN5A -1\n");
        let t = read_gene_scores(f.path()).unwrap();
        assert_eq!(
            (t[0].gene.as_str(), t[0].score, t[0].line),
            ("KCNH2", 2.5, 1)
        );
        // With a header of other names.
        let f = file("GENE\tPoPS_Score\n3757\t0.3\n");
        let t = read_gene_scores(f.path()).unwrap();
        assert_eq!((t.len(), t[0].gene.as_str()), (1, "3757"));
    }

    #[test]
    fn bad_gene_tables_name_the_line() {
        let f = file("gene score\nA 1\nB x\n");
        let e = read_gene_scores(f.path()).unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("not a number"), "{e}");
        let f = file("gene score\nA 1\nA 2\n");
        let e = read_gene_scores(f.path()).unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
        let f = file("gene score\n");
        assert!(matches!(
            read_gene_scores(f.path()),
            Err(Error::Empty { .. })
        ));
        let f = file("A 1\nB inf\n");
        assert!(read_gene_scores(f.path()).is_err());
    }

    #[test]
    fn association_reports_of_several_tools() {
        let plink2 = file(
            "#CHROM\tPOS\tID\tREF\tALT\tA1\tTEST\tOBS_CT\tBETA\tSE\tT_STAT\tP\tERRCODE\n\
             1\t100\trs1\tA\tG\tG\tADD\t10\t0.1\t0.1\t1\t0.25\t.\n\
             1\t200\trs2\tA\tG\tG\tADD\t10\tNA\tNA\tNA\tNA\tCONST_OMITTED_ALLELE\n",
        );
        let r = read_association_p(plink2.path()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].id.as_str(), r[0].pos, r[0].p), ("rs1", 100, 0.25));
        let plink19 = file(" CHR SNP BP A1 TEST NMISS BETA STAT P\n 2 rs9 55 A ADD 9 1 2 1e-5\n");
        let r = read_association_p(plink19.path()).unwrap();
        assert_eq!((r[0].chrom.as_str(), r[0].p), ("2", 1e-5));
        let log = file("CHROM POS ID LOG10_P\n3 7 v 300\n");
        assert!((read_association_p(log.path()).unwrap()[0].p - 1e-300).abs() < 1e-310);
        let bad = file("CHR SNP BP P\n1 a 5 1.5\n");
        assert!(read_association_p(bad.path())
            .unwrap_err()
            .to_string()
            .contains(":2:"));
        let no_pos = file("SNP CHR P\na 1 0.1\n");
        assert!(read_association_p(no_pos.path())
            .unwrap_err()
            .to_string()
            .contains("position"));
    }

    #[test]
    fn evidence_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.tsv");
        let rows = vec![EvidenceRow {
            gene_id: "3757".into(),
            symbol: "KCNH2".into(),
            pmid: "123".into(),
            start: 10,
            end: 42,
            score: 3.5,
            sentence: "KCNH2\tcauses LQT2.".into(),
        }];
        write_evidence(&path, &rows).unwrap();
        let back = read_evidence(&path).unwrap();
        assert_eq!(back[0].sentence, "KCNH2 causes LQT2.");
        assert_eq!((back[0].start, back[0].end), (10, 42));
    }
}
