//! Gene annotations and SNP→gene lookup.
//!
//! Two coordinate tables are read into the same [`GeneMap`]:
//! the PLINK `glist` (GRCh37/hg19, `chrom start end symbol`, no header) and the
//! GRCh38 table extracted from `org.Hs.eg.db` (tab-separated, with a header).
//! [`GeneAliases`] maps gene names found in text to Entrez ids.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use crate::atomic::read_to_string;
use crate::error::{Error, Result};
use crate::record::Variant;
use crate::tsv::HeaderedTsv;

/// One gene and its span on a chromosome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gene {
    /// Gene symbol (`LCT`, `A1BG`, ...).
    pub symbol: String,
    /// NCBI Entrez Gene id, when the source has one (the glist has none).
    pub entrez_id: Option<u64>,
    /// Chromosome, normalised like [`Variant::plink_chrom`]: no `chr` prefix,
    /// `23`→`X`, `24`→`Y`, `25`→`XY`, `26`/`M`→`MT`.
    pub chrom: String,
    /// First base of the gene (1-based, as in the source file).
    pub start: u64,
    /// Last base of the gene (inclusive, as in the source file).
    pub end: u64,
}

// Genes and variants from differently-written files meet on the same key.
use crate::record::plink_chrom as normalise_chrom;

/// Per-chromosome index: the chromosome's genes occupy `range` of
/// [`GeneMap::genes`], sorted by start.
#[derive(Debug, Clone)]
struct ChromIndex {
    range: Range<usize>,
    /// Sparse table for range-maximum queries on `end`: `argmax[k][i]` is the
    /// position (relative to `range.start`) of the largest `end` among the `2^k`
    /// genes starting at `i`. A running maximum alone would leave the query
    /// scanning every gene behind a long gene; with range maxima each step of the
    /// search either reports a hit or stops, which keeps a query O(log n + hits).
    argmax: Vec<Vec<usize>>,
}

impl ChromIndex {
    fn build(genes: &[Gene], range: Range<usize>) -> Self {
        let slice = &genes[range.clone()];
        let n = slice.len();
        let mut argmax: Vec<Vec<usize>> = vec![(0..n).collect()];
        let mut width = 1;
        while width * 2 <= n {
            let prev = &argmax[argmax.len() - 1];
            let level: Vec<usize> = (0..=n - width * 2)
                .map(|i| {
                    let (a, b) = (prev[i], prev[i + width]);
                    if slice[b].end > slice[a].end {
                        b
                    } else {
                        a
                    }
                })
                .collect();
            argmax.push(level);
            width *= 2;
        }
        Self { range, argmax }
    }

    /// Position of the gene with the largest end in `lo..hi` (non-empty).
    fn argmax(&self, slice: &[Gene], lo: usize, hi: usize) -> usize {
        let len = hi - lo;
        let k = (usize::BITS - 1 - len.leading_zeros()) as usize;
        let a = self.argmax[k][lo];
        let b = self.argmax[k][hi - (1 << k)];
        if slice[b].end > slice[a].end {
            b
        } else {
            a
        }
    }
}

/// Genes grouped per chromosome and sorted by start, indexed for fast lookup of
/// the genes overlapping a position.
#[derive(Debug, Clone)]
pub struct GeneMap {
    /// All genes, grouped by chromosome (in order of first appearance in the
    /// file) and sorted by start, then end, within a chromosome.
    genes: Vec<Gene>,
    chroms: HashMap<String, ChromIndex>,
    /// Positions in `genes` of each symbol, in `genes` order.
    by_symbol: HashMap<String, Vec<usize>>,
    skipped: usize,
}

impl GeneMap {
    /// Builds a map from genes in any order. Chromosome codes are normalised.
    pub fn from_genes(genes: Vec<Gene>) -> Self {
        Self::build(genes, 0)
    }

    fn build(mut genes: Vec<Gene>, skipped: usize) -> Self {
        for g in &mut genes {
            let norm = normalise_chrom(&g.chrom);
            if norm != g.chrom {
                g.chrom = norm.to_string();
            }
        }
        let mut chrom_rank: HashMap<String, usize> = HashMap::new();
        for g in &genes {
            let next = chrom_rank.len();
            chrom_rank.entry(g.chrom.clone()).or_insert(next);
        }
        // Stable, so genes with equal spans keep file order.
        genes.sort_by_key(|g| {
            (
                chrom_rank.get(&g.chrom).copied().unwrap_or(0),
                g.start,
                g.end,
            )
        });

        let mut chroms = HashMap::new();
        let mut i = 0;
        while i < genes.len() {
            let mut j = i + 1;
            while j < genes.len() && genes[j].chrom == genes[i].chrom {
                j += 1;
            }
            chroms.insert(genes[i].chrom.clone(), ChromIndex::build(&genes, i..j));
            i = j;
        }
        let mut by_symbol: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, g) in genes.iter().enumerate() {
            by_symbol.entry(g.symbol.clone()).or_default().push(k);
        }
        Self {
            genes,
            chroms,
            by_symbol,
            skipped,
        }
    }

    /// Reads either gene table, told apart by its first line: the GRCh38 table
    /// has a tab-separated header naming `entrez_id`; anything else is read as
    /// a PLINK gene list.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_to_string(path)?;
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if first.split('\t').any(|c| c.trim() == "entrez_id") {
            Self::read_grch38(path)
        } else {
            Self::read_glist(path)
        }
    }

    /// Reads a PLINK gene list (`glist-hg19` and the like): whitespace-separated
    /// `chrom start end symbol`, no header. Blank lines are ignored.
    pub fn read_glist(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_to_string(path)?;
        let mut genes = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let lineno = i + 1;
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.is_empty() {
                continue;
            }
            if f.len() != 4 {
                return Err(Error::parse(
                    path,
                    lineno,
                    format!(
                        "expected 4 columns (chrom start end symbol), found {}",
                        f.len()
                    ),
                ));
            }
            let (start, end) = parse_span(path, lineno, f[1], f[2])?;
            genes.push(Gene {
                symbol: f[3].to_string(),
                entrez_id: None,
                chrom: f[0].to_string(),
                start,
                end,
            });
        }
        if genes.is_empty() {
            return Err(Error::Empty { path: path.into() });
        }
        Ok(Self::build(genes, 0))
    }

    /// Reads the tab-separated GRCh38 gene table (header `entrez_id symbol
    /// gene_type chrom start_grch38 end_grch38 ...`). Columns are found by header
    /// name; rows whose chromosome or coordinates are empty or `NA` are skipped
    /// and counted in [`skipped`](Self::skipped).
    pub fn read_grch38(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_to_string(path)?;
        let table = HeaderedTsv::parse(path, &text)?;
        let (c_id, c_sym, c_chrom) = (
            table.column("entrez_id")?,
            table.column("symbol")?,
            table.column("chrom")?,
        );
        let (c_start, c_end) = (table.column("start_grch38")?, table.column("end_grch38")?);

        let mut genes = Vec::new();
        let mut skipped = 0;
        for row in table.rows() {
            let (lineno, f) = row?;
            let missing = |s: &str| s.trim().is_empty() || s.trim() == "NA";
            let entrez_id = if missing(f[c_id]) {
                None
            } else {
                Some(f[c_id].trim().parse::<u64>().map_err(|_| {
                    Error::parse(
                        path,
                        lineno,
                        format!("entrez_id {:?} is not a non-negative integer", f[c_id]),
                    )
                })?)
            };
            let symbol = f[c_sym].trim();
            if symbol.is_empty() {
                return Err(Error::parse(path, lineno, "empty gene symbol"));
            }
            if missing(f[c_chrom]) || missing(f[c_start]) || missing(f[c_end]) {
                skipped += 1;
                continue;
            }
            let (start, end) = parse_span(path, lineno, f[c_start].trim(), f[c_end].trim())?;
            genes.push(Gene {
                symbol: symbol.to_string(),
                entrez_id,
                chrom: f[c_chrom].trim().to_string(),
                start,
                end,
            });
        }
        if genes.is_empty() {
            return Err(Error::Empty { path: path.into() });
        }
        Ok(Self::build(genes, skipped))
    }

    /// Number of genes in the map.
    pub fn len(&self) -> usize {
        self.genes.len()
    }

    /// Whether the map holds no gene.
    pub fn is_empty(&self) -> bool {
        self.genes.is_empty()
    }

    /// Rows of the source file left out because their location was unknown
    /// (`NA` or empty); always 0 for a glist.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// All genes, grouped by chromosome (in order of first appearance in the
    /// source) and sorted by start within a chromosome.
    pub fn iter(&self) -> std::slice::Iter<'_, Gene> {
        self.genes.iter()
    }

    /// The chromosomes that have genes, in the order of [`iter`](Self::iter).
    pub fn chromosomes(&self) -> Vec<&str> {
        let mut c: Vec<(&str, usize)> = self
            .chroms
            .iter()
            .map(|(k, v)| (k.as_str(), v.range.start))
            .collect();
        c.sort_by_key(|&(_, start)| start);
        c.into_iter().map(|(k, _)| k).collect()
    }

    /// The first gene (in [`iter`](Self::iter) order) with this symbol. Some
    /// symbols occur more than once (PAR genes on X and Y, tRNA genes); see
    /// [`get_all`](Self::get_all).
    pub fn get(&self, symbol: &str) -> Option<&Gene> {
        self.by_symbol
            .get(symbol)
            .and_then(|v| v.first())
            .map(|&k| &self.genes[k])
    }

    /// Every gene with this symbol, in [`iter`](Self::iter) order.
    pub fn get_all(&self, symbol: &str) -> Vec<&Gene> {
        self.by_symbol
            .get(symbol)
            .map(|v| v.iter().map(|&k| &self.genes[k]).collect())
            .unwrap_or_default()
    }

    /// Genes whose span widened by `window_bp` on both sides,
    /// `[start - window_bp, end + window_bp]` (the left end saturating at 0),
    /// contains `pos`, sorted by start. `chrom` is normalised like
    /// [`Variant::plink_chrom`], so `"chr2"` and `"2"` are the same.
    pub fn genes_near(&self, chrom: &str, pos: u64, window_bp: u64) -> Vec<&Gene> {
        let Some(idx) = self.chroms.get(normalise_chrom(chrom)) else {
            return Vec::new();
        };
        let slice = &self.genes[idx.range.clone()];
        // A gene is a hit iff start <= pos + w and end >= pos - w.
        let max_start = pos.saturating_add(window_bp);
        let min_end = pos.saturating_sub(window_bp);
        let hi = slice.partition_point(|g| g.start <= max_start);

        // In-order walk of the range-maximum recursion over 0..hi: a range whose
        // largest end is below `min_end` holds no hit and is dropped whole.
        enum Step {
            Range(usize, usize),
            Emit(usize),
        }
        let mut hits = Vec::new();
        let mut stack = vec![Step::Range(0, hi)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Emit(k) => hits.push(&slice[k]),
                Step::Range(lo, hi) if lo < hi => {
                    let m = idx.argmax(slice, lo, hi);
                    if slice[m].end >= min_end {
                        stack.push(Step::Range(m + 1, hi));
                        stack.push(Step::Emit(m));
                        stack.push(Step::Range(lo, m));
                    }
                }
                Step::Range(..) => {}
            }
        }
        hits
    }

    /// [`genes_near`](Self::genes_near) at the variant's chromosome and position.
    pub fn genes_for_variant(&self, v: &Variant, window_bp: u64) -> Vec<&Gene> {
        self.genes_near(v.plink_chrom(), v.pos, window_bp)
    }
}

impl<'a> IntoIterator for &'a GeneMap {
    type Item = &'a Gene;
    type IntoIter = std::slice::Iter<'a, Gene>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

fn parse_span(path: &Path, lineno: usize, start: &str, end: &str) -> Result<(u64, u64)> {
    let num = |what: &str, s: &str| {
        s.parse::<u64>().map_err(|_| {
            Error::parse(
                path,
                lineno,
                format!("{what} {s:?} is not a non-negative integer"),
            )
        })
    };
    let (start, end) = (num("start", start)?, num("end", end)?);
    if start > end {
        return Err(Error::parse(
            path,
            lineno,
            format!("start {start} is after end {end}"),
        ));
    }
    Ok((start, end))
}

/// One gene's nomenclature: its id, official symbol, type and full name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneName {
    /// NCBI Entrez Gene id.
    pub entrez_id: u64,
    /// Official symbol (`BRCA1`).
    pub symbol: String,
    /// Gene type (`protein-coding`, `ncRNA`, ...), empty when the table has none.
    pub gene_type: String,
    /// Full name (`BRCA1 DNA repair associated`), empty when the table has none.
    pub name: String,
}

/// Reads the nomenclature of every gene in the tab-separated GRCh38 gene table
/// (columns `entrez_id`, `symbol` and, when present, `gene_type` and `name`),
/// including genes without coordinates. An empty table is [`Error::Empty`].
pub fn read_gene_names(path: impl AsRef<Path>) -> Result<Vec<GeneName>> {
    let path = path.as_ref();
    let text = read_to_string(path)?;
    let table = HeaderedTsv::parse(path, &text)?;
    let (c_id, c_sym) = (table.column("entrez_id")?, table.column("symbol")?);
    let (c_type, c_name) = (table.find("gene_type"), table.find("name"));
    let mut out = Vec::new();
    for row in table.rows() {
        let (lineno, f) = row?;
        let entrez_id = f[c_id].trim().parse::<u64>().map_err(|_| {
            Error::parse(
                path,
                lineno,
                format!("entrez_id {:?} is not a non-negative integer", f[c_id]),
            )
        })?;
        let symbol = f[c_sym].trim();
        if symbol.is_empty() {
            return Err(Error::parse(path, lineno, "empty gene symbol"));
        }
        let field = |c: Option<usize>| {
            c.map(|c| f[c].trim())
                .filter(|s| *s != "NA")
                .unwrap_or("")
                .to_string()
        };
        out.push(GeneName {
            entrez_id,
            symbol: symbol.to_string(),
            gene_type: field(c_type),
            name: field(c_name),
        });
    }
    if out.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(out)
}

/// Gene aliases (`entrez_id symbol alias`, tab-separated, with a header), for
/// matching gene names found in text to Entrez ids.
#[derive(Debug, Clone, Default)]
pub struct GeneAliases {
    /// alias → every (entrez_id, symbol) that uses it.
    by_alias: HashMap<String, Vec<(u64, String)>>,
    /// official symbol → Entrez ids (more than one for a few tRNA genes).
    by_symbol: HashMap<String, Vec<u64>>,
    rows: usize,
}

impl GeneAliases {
    /// Reads the alias table. Columns are found by header name; names are
    /// matched exactly (case-sensitive) by the lookups.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_to_string(path)?;
        let table = HeaderedTsv::parse(path, &text)?;
        let (c_id, c_sym, c_alias) = (
            table.column("entrez_id")?,
            table.column("symbol")?,
            table.column("alias")?,
        );

        let mut out = Self::default();
        for row in table.rows() {
            let (lineno, f) = row?;
            let f: Vec<&str> = f.into_iter().map(str::trim).collect();
            let id: u64 = f[c_id].parse().map_err(|_| {
                Error::parse(
                    path,
                    lineno,
                    format!("entrez_id {:?} is not a non-negative integer", f[c_id]),
                )
            })?;
            let (symbol, alias) = (f[c_sym], f[c_alias]);
            if symbol.is_empty() || alias.is_empty() {
                return Err(Error::parse(path, lineno, "empty symbol or alias"));
            }
            let ids = out.by_symbol.entry(symbol.to_string()).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
            let entries = out.by_alias.entry(alias.to_string()).or_default();
            if !entries.iter().any(|(e, _)| *e == id) {
                entries.push((id, symbol.to_string()));
            }
            out.rows += 1;
        }
        if out.rows == 0 {
            return Err(Error::Empty { path: path.into() });
        }
        Ok(out)
    }

    /// Number of alias rows read.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no alias was read.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The genes (Entrez id, official symbol) known under `alias`, in file order;
    /// empty when the alias is unknown. An alias can name several genes.
    pub fn lookup(&self, alias: &str) -> &[(u64, String)] {
        self.by_alias.get(alias).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The Entrez id of an official symbol, when the symbol names exactly one
    /// gene. Only symbols that have at least one alias row are known.
    pub fn entrez_id(&self, symbol: &str) -> Option<u64> {
        match self.by_symbol.get(symbol).map(Vec::as_slice) {
            Some(&[id]) => Some(id),
            _ => None,
        }
    }

    /// Every alias with the genes (Entrez id, official symbol) it names, in no
    /// particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[(u64, String)])> + '_ {
        self.by_alias
            .iter()
            .map(|(a, g)| (a.as_str(), g.as_slice()))
    }

    /// Every Entrez id of an official symbol (several for a few tRNA genes).
    pub fn entrez_ids(&self, symbol: &str) -> &[u64] {
        self.by_symbol.get(symbol).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const GLIST: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/gene_annotations/glist-hg19.txt"
    );
    const GRCH38: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/gene_annotations/genes_GRCh38_orgHsEgDb.tsv"
    );
    const ALIASES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/gene_annotations/gene_aliases_orgHsEgDb.tsv"
    );

    fn line_count(path: &str) -> usize {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    }

    fn temp(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f.flush().unwrap();
        f
    }

    fn assert_parse_line(r: Result<impl std::fmt::Debug>, want: usize) {
        match r {
            Err(Error::Parse { line, .. }) => assert_eq!(line, want),
            other => panic!("expected a parse error at line {want}, got {other:?}"),
        }
    }

    fn symbols(v: &[&Gene]) -> Vec<String> {
        v.iter().map(|g| g.symbol.clone()).collect()
    }

    /// Linear scan with the same definition, to check the indexed query against.
    fn naive<'a>(m: &'a GeneMap, chrom: &str, pos: u64, w: u64) -> Vec<&'a Gene> {
        m.iter()
            .filter(|g| {
                g.chrom == normalise_chrom(chrom)
                    && g.start.saturating_sub(w) <= pos
                    && pos <= g.end + w
            })
            .collect()
    }

    #[test]
    fn glist_reads_every_line() {
        let m = GeneMap::read_glist(GLIST).unwrap();
        assert_eq!(m.len(), line_count(GLIST));
        assert_eq!(m.len(), 26_292);
        assert_eq!(m.skipped(), 0);
        assert!(m.chromosomes().contains(&"XY"));
        // Sorted by start within each chromosome.
        for c in m.chromosomes() {
            let starts: Vec<u64> = m.iter().filter(|g| g.chrom == c).map(|g| g.start).collect();
            assert!(
                starts.windows(2).all(|w| w[0] <= w[1]),
                "chromosome {c} not sorted"
            );
        }
    }

    #[test]
    fn glist_finds_lct() {
        let m = GeneMap::read_glist(GLIST).unwrap();
        let lct = m.get("LCT").unwrap();
        assert_eq!(
            (lct.chrom.as_str(), lct.start, lct.end),
            ("2", 136_545_414, 136_594_750)
        );
        assert_eq!(lct.entrez_id, None);
        let hits = m.genes_near("2", 136_545_000 + 1_000, 0);
        assert!(symbols(&hits).contains(&"LCT".to_string()));
        assert!(symbols(&m.genes_near("chr2", 136_545_414, 0)).contains(&"LCT".to_string()));
        // 414 bp before the start: outside with no window, inside with 1 kb.
        assert!(!symbols(&m.genes_near("2", 136_545_000, 0)).contains(&"LCT".to_string()));
        assert!(symbols(&m.genes_near("2", 136_545_000, 1_000)).contains(&"LCT".to_string()));
        // Inclusive end.
        assert!(symbols(&m.genes_near("2", 136_594_750, 0)).contains(&"LCT".to_string()));
        assert!(!symbols(&m.genes_near("2", 136_594_751, 0)).contains(&"LCT".to_string()));
        assert!(m
            .genes_near("3", 136_545_414, 0)
            .iter()
            .all(|g| g.symbol != "LCT"));
        assert!(m.genes_near("nope", 1, 1_000_000).is_empty());

        let v = Variant {
            chrom: "chr2".into(),
            pos: 136_560_000,
            id: "rs1".into(),
            cm: 0.0,
            allele1: "A".into(),
            allele2: "G".into(),
        };
        assert!(symbols(&m.genes_for_variant(&v, 0)).contains(&"LCT".to_string()));
    }

    #[test]
    fn indexed_query_matches_linear_scan() {
        let m = GeneMap::read_glist(GLIST).unwrap();
        // Deterministic pseudo-random positions (LCG), plus every gene's own ends.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let chroms = m.chromosomes();
        let mut nonempty = 0;
        for q in 0..600 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let chrom = chroms[(x >> 33) as usize % chroms.len()];
            let pos = (x >> 11) % 250_000_000;
            let w = [0, 1, 1_000, 50_000, 500_000, 3_000_000][q % 6];
            let got = m.genes_near(chrom, pos, w);
            let want = naive(&m, chrom, pos, w);
            assert_eq!(got, want, "chrom {chrom} pos {pos} window {w}");
            nonempty += usize::from(!got.is_empty());
        }
        assert!(nonempty > 100, "too few queries hit a gene: {nonempty}");
        for g in m.iter().step_by(97) {
            for pos in [g.start.saturating_sub(1), g.start, g.end, g.end + 1] {
                assert_eq!(m.genes_near(&g.chrom, pos, 0), naive(&m, &g.chrom, pos, 0));
            }
        }
        // Window larger than the position: the left end saturates at 0.
        assert_eq!(
            m.genes_near("1", 10, 1_000_000),
            naive(&m, "1", 10, 1_000_000)
        );
        assert!(!m.genes_near("1", 10, 1_000_000).is_empty());
    }

    #[test]
    fn grch38_reads_located_genes_and_counts_skipped() {
        let m = GeneMap::read_grch38(GRCH38).unwrap();
        assert_eq!(m.len() + m.skipped(), line_count(GRCH38) - 1);
        assert_eq!(m.len(), 28_257);
        assert_eq!(m.skipped(), 18_528);
        let lct = m.get("LCT").unwrap();
        assert_eq!(lct.entrez_id, Some(3938));
        assert_eq!(
            (lct.chrom.as_str(), lct.start, lct.end),
            ("2", 135_787_849, 135_837_184)
        );
        assert!(symbols(&m.genes_near("2", 135_800_000, 0)).contains(&"LCT".to_string()));
        assert!(m.get("G6PR").is_none(), "NA coordinates are skipped");
    }

    #[test]
    fn chrom_normalisation_agrees_with_variant() {
        for c in [
            "1", "chr1", "23", "X", "chrX", "24", "25", "XY", "26", "M", "chrM", "MT", "Un",
        ] {
            let v = Variant {
                chrom: c.into(),
                pos: 1,
                id: ".".into(),
                cm: 0.0,
                allele1: "A".into(),
                allele2: "C".into(),
            };
            assert_eq!(normalise_chrom(c), v.plink_chrom(), "{c}");
        }
        let m = GeneMap::from_genes(vec![Gene {
            symbol: "G".into(),
            entrez_id: None,
            chrom: "chr23".into(),
            start: 5,
            end: 9,
        }]);
        assert_eq!(m.iter().next().unwrap().chrom, "X");
        assert_eq!(m.genes_near("23", 7, 0).len(), 1);
    }

    #[test]
    fn glist_errors_name_the_line() {
        assert_parse_line(
            GeneMap::read_glist(temp("1 10 20 A\n1 30 40 B\n1 x 50 C\n").path()),
            3,
        );
        assert_parse_line(
            GeneMap::read_glist(temp("1 10 20 A\n1 50 40 B\n").path()),
            2,
        );
        assert_parse_line(
            GeneMap::read_glist(temp("1 10 20 A\n\n1 30 40\n").path()),
            3,
        );
        assert_parse_line(GeneMap::read_glist(temp("1 10 -5 A\n").path()), 1);
        assert!(matches!(
            GeneMap::read_glist(temp("").path()),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            GeneMap::read_glist(temp("\n  \n").path()),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            GeneMap::read_glist("/nonexistent/glist"),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn grch38_errors_name_the_line() {
        let h = "entrez_id\tsymbol\tgene_type\tchrom\tstart_grch38\tend_grch38\n";
        let ok = GeneMap::read_grch38(
            temp(&format!("{h}1\tA\tx\t1\t10\t20\n2\tB\tx\tNA\tNA\tNA\n")).path(),
        )
        .unwrap();
        assert_eq!((ok.len(), ok.skipped()), (1, 1));
        assert_parse_line(
            GeneMap::read_grch38(temp(&format!("{h}1\tA\tx\t1\t10\n")).path()),
            2,
        );
        assert_parse_line(
            GeneMap::read_grch38(
                temp(&format!("{h}1\tA\tx\t1\t10\t20\n2\tB\tx\t1\t1e3\t20\n")).path(),
            ),
            3,
        );
        assert_parse_line(
            GeneMap::read_grch38(temp(&format!("{h}1\tA\tx\t1\t30\t20\n")).path()),
            2,
        );
        assert_parse_line(
            GeneMap::read_grch38(temp(&format!("{h}one\tA\tx\t1\t10\t20\n")).path()),
            2,
        );
        assert_parse_line(
            GeneMap::read_grch38(temp("entrez_id\tsymbol\tchrom\tstart\tend\n").path()),
            1,
        );
        assert!(matches!(
            GeneMap::read_grch38(temp("").path()),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            GeneMap::read_grch38(temp(h).path()),
            Err(Error::Empty { .. })
        ));
    }

    #[test]
    fn aliases_map_names_to_entrez_ids() {
        let a = GeneAliases::read(ALIASES).unwrap();
        assert_eq!(a.len(), line_count(ALIASES) - 1);
        assert_eq!(a.lookup("HNF6"), &[(3175, "ONECUT1".to_string())]);
        assert_eq!(a.entrez_id("ONECUT1"), Some(3175));
        assert_eq!(a.entrez_id("A1BG"), Some(1));
        assert!(a.lookup("NOT-A-GENE-ALIAS").is_empty());
        assert_eq!(a.entrez_id("NOT-A-GENE"), None);

        assert_parse_line(
            GeneAliases::read(temp("entrez_id\tsymbol\talias\n1\tA\tB\nx\tA\tC\n").path()),
            3,
        );
        assert_parse_line(
            GeneAliases::read(temp("entrez_id\tsymbol\talias\n1\tA\n").path()),
            2,
        );
        assert!(matches!(
            GeneAliases::read(temp("entrez_id\tsymbol\talias\n").path()),
            Err(Error::Empty { .. })
        ));
    }

    #[test]
    fn gene_names_cover_every_row_and_aliases_iterate() {
        let names = read_gene_names(GRCH38).unwrap();
        assert_eq!(names.len(), line_count(GRCH38) - 1);
        let brca1 = names.iter().find(|g| g.symbol == "BRCA1").unwrap();
        assert_eq!(brca1.entrez_id, 672);
        assert_eq!(brca1.gene_type, "protein-coding");
        assert!(brca1.name.contains("DNA repair"), "{}", brca1.name);
        let aliases = GeneAliases::read(ALIASES).unwrap();
        let rows: usize = aliases.iter().map(|(_, g)| g.len()).sum();
        assert!(rows <= aliases.len() && rows > aliases.len() / 2);
        assert!(aliases
            .iter()
            .any(|(a, g)| a == "RNF53" && g.iter().any(|(id, _)| *id == 672)));
        let bad = temp("entrez_id\tsymbol\nx\tA\n");
        assert_parse_line(read_gene_names(bad.path()), 2);
    }
}
