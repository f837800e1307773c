//! Literature corpora: PubTator files (BioRED, NCBI-disease) and JSONL.
//!
//! A PubTator file is a sequence of documents separated by blank lines:
//!
//! ```text
//! PMID|t|title
//! PMID|a|abstract
//! PMID<TAB>start<TAB>end<TAB>mention<TAB>type[<TAB>ids]
//! PMID<TAB>relation<TAB>id1<TAB>id2[<TAB>novelty]
//! ```
//!
//! Offsets count characters (not bytes) into `title + " " + abstract`
//! ([`Document::text`]).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::atomic::{read_to_string, AtomicFile};
use crate::error::{Error, Result};

/// The kind of an annotated mention. Covers the BioRED and NCBI-disease types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityType {
    /// BioRED gene or gene product (ids: NCBI Gene).
    GeneOrGeneProduct,
    /// BioRED disease or phenotype (ids: MeSH or OMIM).
    DiseaseOrPhenotypicFeature,
    /// BioRED chemical (ids: MeSH).
    ChemicalEntity,
    /// BioRED sequence variant (ids: dbSNP rsID or tmVar normalisation).
    SequenceVariant,
    /// BioRED organism (ids: NCBI Taxonomy).
    OrganismTaxon,
    /// BioRED cell line (ids: Cellosaurus).
    CellLine,
    /// NCBI-disease: a specific disease.
    SpecificDisease,
    /// NCBI-disease: a class of diseases.
    DiseaseClass,
    /// NCBI-disease: a disease name used as a modifier ("tumor suppressor").
    Modifier,
    /// NCBI-disease: a mention naming several diseases at once.
    CompositeMention,
}

impl EntityType {
    /// Every entity type, in declaration order.
    pub const ALL: [EntityType; 10] = [
        EntityType::GeneOrGeneProduct,
        EntityType::DiseaseOrPhenotypicFeature,
        EntityType::ChemicalEntity,
        EntityType::SequenceVariant,
        EntityType::OrganismTaxon,
        EntityType::CellLine,
        EntityType::SpecificDisease,
        EntityType::DiseaseClass,
        EntityType::Modifier,
        EntityType::CompositeMention,
    ];

    /// The name as written in PubTator files.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::GeneOrGeneProduct => "GeneOrGeneProduct",
            EntityType::DiseaseOrPhenotypicFeature => "DiseaseOrPhenotypicFeature",
            EntityType::ChemicalEntity => "ChemicalEntity",
            EntityType::SequenceVariant => "SequenceVariant",
            EntityType::OrganismTaxon => "OrganismTaxon",
            EntityType::CellLine => "CellLine",
            EntityType::SpecificDisease => "SpecificDisease",
            EntityType::DiseaseClass => "DiseaseClass",
            EntityType::Modifier => "Modifier",
            EntityType::CompositeMention => "CompositeMention",
        }
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an [`EntityType`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEntityType(pub String);

impl fmt::Display for UnknownEntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown entity type {:?}", self.0)
    }
}

impl std::error::Error for UnknownEntityType {}

impl FromStr for EntityType {
    type Err = UnknownEntityType;

    /// Parses the exact PubTator name (case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownEntityType(s.to_string()))
    }
}

/// One annotated mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Start offset, in characters, into [`Document::text`].
    pub start: usize,
    /// End offset (exclusive), in characters.
    pub end: usize,
    /// The mention as written in the file.
    pub text: String,
    /// The mention's type.
    pub entity_type: EntityType,
    /// Normalised identifiers. The file's id column is split on `,`, `|` and `;`
    /// — except for [`EntityType::SequenceVariant`], where `|` is part of the
    /// tmVar id (`c|SUB|C|643|T`) and only `,` and `;` split. Empty when the
    /// column is absent, empty, `-` or `-1`.
    pub ids: Vec<String>,
}

/// One relation between two identifiers of a document (BioRED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Relation type (`Association`, `Positive_Correlation`, ...).
    pub kind: String,
    /// First identifier, as written (may join several ids with `|`).
    pub id1: String,
    /// Second identifier, as written.
    pub id2: String,
    /// Novelty (`Novel` / `No`), when given.
    pub novelty: Option<String>,
}

/// One document (a PubMed abstract) with its annotations and relations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// PubMed id.
    pub pmid: String,
    /// Title.
    pub title: String,
    /// Abstract (empty when the source has none).
    pub abstract_text: String,
    /// Mentions, in file order.
    pub annotations: Vec<Annotation>,
    /// Relations, in file order.
    pub relations: Vec<Relation>,
}

impl Document {
    /// `title + " " + abstract`: the string that PubTator offsets count
    /// characters into.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(self.title.len() + 1 + self.abstract_text.len());
        s.push_str(&self.title);
        s.push(' ');
        s.push_str(&self.abstract_text);
        s
    }
}

/// How strictly an annotation's mention must equal the document text at its
/// offsets when reading PubTator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MentionCheck {
    /// The mention must equal the text at `[start, end)` exactly.
    #[default]
    Exact,
    /// Equal after trimming whitespace at both ends of each. Needed for
    /// `NCBItrainset_corpus.txt`, whose mention at line 3249 carries two
    /// trailing spaces that the offsets leave out.
    TrimWhitespace,
    /// The mention text is not compared (offsets are still checked to lie
    /// inside the text).
    Off,
}

/// A collection of documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Corpus {
    /// The documents, in file order. PMIDs are not required to be unique
    /// (`NCBItrainset_corpus.txt` holds PMID 8528200 twice).
    pub documents: Vec<Document>,
}

impl Corpus {
    /// Number of documents.
    pub fn len(&self) -> usize {
        self.documents.len()
    }

    /// Whether the corpus has no document.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// The documents, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Document> {
        self.documents.iter()
    }

    /// Reads a corpus, choosing the format by extension: `.jsonl` and `.json`
    /// are JSONL ([`read_jsonl`](Self::read_jsonl)), anything else PubTator
    /// ([`read_pubtator`](Self::read_pubtator)).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        Self::read_with(path, MentionCheck::Exact)
    }

    /// [`read`](Self::read) with a chosen mention check for PubTator files.
    pub fn read_with(path: impl AsRef<Path>, check: MentionCheck) -> Result<Self> {
        let path = path.as_ref();
        let is_json = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"));
        if is_json {
            Self::read_jsonl(path)
        } else {
            Self::read_pubtator_with(path, check)
        }
    }

    /// Reads a PubTator file, requiring every mention to equal the text at its
    /// offsets ([`MentionCheck::Exact`]).
    pub fn read_pubtator(path: impl AsRef<Path>) -> Result<Self> {
        Self::read_pubtator_with(path, MentionCheck::Exact)
    }

    /// Reads a PubTator file with a chosen mention check.
    ///
    /// Errors (each naming the 1-based line): a line that is neither title,
    /// abstract, annotation nor relation; a PMID different from its document's;
    /// a second title or abstract, or an abstract after the annotations;
    /// non-numeric offsets, `start >= end`, `end` past the text; an unknown
    /// entity type; a mention that differs from the text at its offsets. A file
    /// without documents is [`Error::Empty`].
    pub fn read_pubtator_with(path: impl AsRef<Path>, check: MentionCheck) -> Result<Self> {
        let path = path.as_ref();
        let text = read_to_string(path)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut documents = Vec::new();
        let mut cur: Option<Block> = None;
        for (i, raw) in text.split('\n').enumerate() {
            let lineno = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                if let Some(b) = cur.take() {
                    documents.push(b.doc);
                }
                continue;
            }
            if let Some((pmid, kind, body)) = split_title_line(line) {
                match (&mut cur, kind) {
                    (None, 't') => cur = Some(Block::new(pmid, body)),
                    (None, _) => {
                        return Err(Error::parse(
                            path,
                            lineno,
                            "abstract line before the document's title line",
                        ));
                    }
                    (Some(b), _) => b.add_text(path, lineno, pmid, kind, body)?,
                }
                continue;
            }
            let Some(b) = cur.as_mut() else {
                return Err(Error::parse(
                    path,
                    lineno,
                    "expected a title line `PMID|t|title` to start a document",
                ));
            };
            let f: Vec<&str> = line.split('\t').collect();
            if f[0] != b.doc.pmid {
                return Err(Error::parse(
                    path,
                    lineno,
                    format!(
                        "PMID {:?} differs from the document's PMID {:?}",
                        f[0], b.doc.pmid
                    ),
                ));
            }
            if is_annotation(&f) {
                b.add_annotation(path, lineno, &f, check)?;
            } else if (4..=5).contains(&f.len()) {
                b.doc.relations.push(Relation {
                    kind: f[1].trim().to_string(),
                    id1: f[2].trim().to_string(),
                    id2: f[3].trim().to_string(),
                    novelty: f
                        .get(4)
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                });
                b.frozen = true;
            } else {
                return Err(Error::parse(
                    path,
                    lineno,
                    format!(
                        "expected an annotation (5 or 6 tab-separated fields) or a relation (4 or 5), found {} fields",
                        f.len()
                    ),
                ));
            }
        }
        if let Some(b) = cur.take() {
            documents.push(b.doc);
        }
        if documents.is_empty() {
            return Err(Error::Empty { path: path.into() });
        }
        Ok(Self { documents })
    }

    /// Reads JSONL: one JSON object per line with `pmid` (string or integer),
    /// `title` and `abstract`; other fields are ignored, blank lines skipped.
    /// Documents read this way have no annotations or relations.
    pub fn read_jsonl(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_to_string(path)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut documents = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let lineno = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let d: JsonDoc = serde_json::from_str(line)
                .map_err(|e| Error::parse(path, lineno, format!("bad JSON document: {e}")))?;
            let pmid = match d.pmid {
                JsonPmid::Text(s) => s,
                JsonPmid::Number(n) => n.to_string(),
            };
            if pmid.trim().is_empty() {
                return Err(Error::parse(path, lineno, "empty pmid"));
            }
            documents.push(Document {
                pmid,
                title: d.title,
                abstract_text: d.abstract_text,
                annotations: Vec::new(),
                relations: Vec::new(),
            });
        }
        if documents.is_empty() {
            return Err(Error::Empty { path: path.into() });
        }
        Ok(Self { documents })
    }

    /// Writes the documents as JSONL (`pmid`, `title`, `abstract`), atomically.
    /// Annotations and relations are not written.
    pub fn write_jsonl(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut f = AtomicFile::create(path)?;
        let mut buf = String::with_capacity(64 * 1024);
        for d in &self.documents {
            let out = JsonDocOut {
                pmid: &d.pmid,
                title: &d.title,
                abstract_text: &d.abstract_text,
            };
            let line =
                serde_json::to_string(&out).map_err(|e| Error::invalid(f.path(), e.to_string()))?;
            buf.push_str(&line);
            buf.push('\n');
            if buf.len() > 60 * 1024 {
                f.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        f.write_all(buf.as_bytes())?;
        f.commit()
    }
}

impl<'a> IntoIterator for &'a Corpus {
    type Item = &'a Document;
    type IntoIter = std::slice::Iter<'a, Document>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonPmid {
    Text(String),
    Number(u64),
}

#[derive(Deserialize)]
struct JsonDoc {
    pmid: JsonPmid,
    title: String,
    #[serde(rename = "abstract")]
    abstract_text: String,
}

#[derive(Serialize)]
struct JsonDocOut<'a> {
    pmid: &'a str,
    title: &'a str,
    #[serde(rename = "abstract")]
    abstract_text: &'a str,
}

/// `PMID|t|text` or `PMID|a|text` → (pmid, 't' or 'a', text). The first `|`
/// must come before any tab, which tells these lines from annotation lines
/// whose id column contains `|`.
fn split_title_line(line: &str) -> Option<(&str, char, &str)> {
    let bar = line.find('|')?;
    if line[..bar].contains('\t') || bar == 0 {
        return None;
    }
    let rest = &line[bar + 1..];
    let kind = if rest.starts_with("t|") {
        't'
    } else if rest.starts_with("a|") {
        'a'
    } else {
        return None;
    };
    Some((&line[..bar], kind, &rest[2..]))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Tells annotation lines from relation lines. A relation's second field is
/// its type, never a number; an annotation with a malformed start offset is
/// still recognised by its field count (6) or, with 5 fields, by a numeric end
/// and an entity type, so it gets an offset error rather than being taken for
/// a relation.
fn is_annotation(f: &[&str]) -> bool {
    if f.len() < 2 {
        return false;
    }
    is_digits(f[1].trim())
        || f.len() == 6
        || (f.len() == 5 && is_digits(f[2].trim()) && f[4].trim().parse::<EntityType>().is_ok())
}

/// Splits an id column into identifiers (see [`Annotation::ids`]).
fn split_ids(raw: Option<&str>, entity_type: EntityType) -> Vec<String> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let is_sep =
        |c: char| c == ',' || c == ';' || (c == '|' && entity_type != EntityType::SequenceVariant);
    raw.split(is_sep)
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "-" && *s != "-1")
        .map(str::to_string)
        .collect()
}

/// The document being read.
struct Block {
    doc: Document,
    /// Set by the first annotation or relation: the text is fixed from then on,
    /// so that offsets are checked against the text they were checked with.
    frozen: bool,
    /// `title + " " + abstract`, built when first needed.
    text: Option<DocText>,
}

/// A document's text with a character → byte map for non-ASCII text.
struct DocText {
    text: String,
    /// Byte offset of each character plus the total length; `None` when the
    /// text is ASCII and characters are bytes.
    char_bytes: Option<Vec<usize>>,
}

impl DocText {
    fn new(text: String) -> Self {
        let char_bytes = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(b, _)| b)
                .chain(std::iter::once(text.len()))
                .collect()
        });
        Self { text, char_bytes }
    }

    fn char_len(&self) -> usize {
        match &self.char_bytes {
            Some(v) => v.len() - 1,
            None => self.text.len(),
        }
    }

    /// The text between two character offsets (`start <= end <= char_len`).
    fn slice(&self, start: usize, end: usize) -> &str {
        match &self.char_bytes {
            Some(v) => &self.text[v[start]..v[end]],
            None => &self.text[start..end],
        }
    }
}

impl Block {
    fn new(pmid: &str, title: &str) -> Self {
        Self {
            doc: Document {
                pmid: pmid.to_string(),
                title: title.to_string(),
                abstract_text: String::new(),
                annotations: Vec::new(),
                relations: Vec::new(),
            },
            frozen: false,
            text: None,
        }
    }

    fn add_text(
        &mut self,
        path: &Path,
        lineno: usize,
        pmid: &str,
        kind: char,
        body: &str,
    ) -> Result<()> {
        if pmid != self.doc.pmid {
            return Err(Error::parse(
                path,
                lineno,
                format!(
                    "PMID {pmid:?} differs from the document's PMID {:?} (missing blank line between documents?)",
                    self.doc.pmid
                ),
            ));
        }
        if kind == 't' {
            return Err(Error::parse(
                path,
                lineno,
                "second title line in one document",
            ));
        }
        if self.frozen {
            return Err(Error::parse(
                path,
                lineno,
                "abstract line after annotations or relations",
            ));
        }
        self.doc.abstract_text = body.to_string();
        self.frozen = true;
        Ok(())
    }

    fn add_annotation(
        &mut self,
        path: &Path,
        lineno: usize,
        f: &[&str],
        check: MentionCheck,
    ) -> Result<()> {
        if !(5..=6).contains(&f.len()) {
            return Err(Error::parse(
                path,
                lineno,
                format!(
                    "an annotation has 5 or 6 tab-separated fields, found {}",
                    f.len()
                ),
            ));
        }
        let offset = |what: &str, s: &str| {
            s.trim().parse::<usize>().map_err(|_| {
                Error::parse(
                    path,
                    lineno,
                    format!("{what} offset {s:?} is not a non-negative integer"),
                )
            })
        };
        let (start, end) = (offset("start", f[1])?, offset("end", f[2])?);
        if start >= end {
            return Err(Error::parse(
                path,
                lineno,
                format!("start offset {start} is not before end offset {end}"),
            ));
        }
        let entity_type: EntityType = f[4]
            .trim()
            .parse()
            .map_err(|e: UnknownEntityType| Error::parse(path, lineno, e.to_string()))?;

        self.frozen = true;
        let doc = &self.doc;
        let text = self.text.get_or_insert_with(|| DocText::new(doc.text()));
        let len = text.char_len();
        if end > len {
            return Err(Error::parse(
                path,
                lineno,
                format!("end offset {end} is past the end of the document text ({len} characters)"),
            ));
        }
        let mention = f[3];
        let span = text.slice(start, end);
        let ok = match check {
            MentionCheck::Exact => span == mention,
            MentionCheck::TrimWhitespace => span.trim() == mention.trim(),
            MentionCheck::Off => true,
        };
        if !ok {
            return Err(Error::parse(
                path,
                lineno,
                format!(
                    "mention {mention:?} differs from the text at offsets {start}..{end}, {span:?}"
                ),
            ));
        }
        self.doc.annotations.push(Annotation {
            start,
            end,
            text: mention.to_string(),
            entity_type,
            ids: split_ids(f.get(5).copied(), entity_type),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::Write;

    const BIORED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/biored/");
    const NCBI: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/ncbi_disease_corpus/"
    );

    fn biored(split: &str) -> Corpus {
        Corpus::read_pubtator(format!("{BIORED}{split}.PubTator")).unwrap()
    }

    fn temp(content: &str, suffix: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f.flush().unwrap();
        f
    }

    fn parse_err_line(content: &str) -> (usize, String) {
        match Corpus::read_pubtator(temp(content, ".PubTator").path()) {
            Err(Error::Parse { line, reason, .. }) => (line, reason),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    /// Asserts that every annotation's text is the document text at its
    /// offsets, counting characters; returns how many were checked.
    fn check_offsets(c: &Corpus) -> usize {
        let mut n = 0;
        for d in c {
            let chars: Vec<char> = d.text().chars().collect();
            for a in &d.annotations {
                let span: String = chars[a.start..a.end].iter().collect();
                assert_eq!(span, a.text, "pmid {} {}..{}", d.pmid, a.start, a.end);
                n += 1;
            }
        }
        n
    }

    fn type_counts(c: &Corpus) -> HashMap<EntityType, usize> {
        let mut m = HashMap::new();
        for a in c.iter().flat_map(|d| &d.annotations) {
            *m.entry(a.entity_type).or_insert(0) += 1;
        }
        m
    }

    const DOC: &str = "1|t|Gene X\n1|a|causes disease Y.\n1\t0\t6\tGene X\tGeneOrGeneProduct\t42\n";

    #[test]
    fn biored_counts() {
        // `grep -c '|t|'` on each file.
        let (train, dev, test) = (biored("Train"), biored("Dev"), biored("Test"));
        assert_eq!((train.len(), dev.len(), test.len()), (400, 100, 100));
        let ann = |c: &Corpus| c.iter().map(|d| d.annotations.len()).sum::<usize>();
        let rel = |c: &Corpus| c.iter().map(|d| d.relations.len()).sum::<usize>();
        assert_eq!((ann(&train), ann(&dev), ann(&test)), (13_351, 3_533, 3_535));
        assert_eq!((rel(&train), rel(&dev), rel(&test)), (4_178, 1_162, 1_163));
        let t = type_counts(&train);
        assert_eq!(t[&EntityType::GeneOrGeneProduct], 4_430);
        assert_eq!(t[&EntityType::DiseaseOrPhenotypicFeature], 3_646);
        assert_eq!(t[&EntityType::ChemicalEntity], 2_853);
        assert_eq!(t[&EntityType::SequenceVariant], 890);
        assert_eq!(t[&EntityType::OrganismTaxon], 1_429);
        assert_eq!(t[&EntityType::CellLine], 103);
        assert!(train
            .iter()
            .all(|d| !d.title.is_empty() && !d.abstract_text.is_empty()));
        // CRLF line ends are gone.
        assert!(train.iter().all(|d| !d.abstract_text.ends_with('\r')));
        assert!(train.iter().flat_map(|d| &d.relations).all(|r| {
            matches!(r.novelty.as_deref(), Some("Novel" | "No")) && !r.id2.ends_with('\r')
        }));
    }

    #[test]
    fn biored_offsets_match_and_ids_split() {
        for split in ["Train", "Dev", "Test"] {
            let c = biored(split);
            assert!(check_offsets(&c) > 3_000);
        }
        let train = biored("Train");
        let all: Vec<&Annotation> = train.iter().flat_map(|d| &d.annotations).collect();
        assert!(all.iter().any(|a| a.ids == ["100379235", "24260"]));
        // `-` means no id.
        assert!(all.iter().any(|a| a.ids.is_empty()));
        assert!(all
            .iter()
            .all(|a| a.ids.iter().all(|i| i != "-" && !i.contains(' '))));
        // tmVar ids keep their `|`, so relation ids of variants are annotation ids.
        let dev = biored("Dev");
        let d = dev.iter().find(|d| d.pmid == "14510914").unwrap();
        assert!(
            d.annotations
                .iter()
                .any(|a| a.entity_type == EntityType::SequenceVariant
                    && a.ids == ["c|DEL|1314_1328|"])
        );
        let ids: Vec<&String> = d.annotations.iter().flat_map(|a| &a.ids).collect();
        let r = d
            .relations
            .iter()
            .find(|r| r.id1 == "c|DEL|1314_1328|")
            .unwrap();
        assert!(ids.contains(&&r.id1));
        assert_eq!(r.kind, "Positive_Correlation");
    }

    #[test]
    fn ncbi_disease_counts_and_offsets() {
        let dev = Corpus::read_pubtator(format!("{NCBI}NCBIdevelopset_corpus.txt")).unwrap();
        let test = Corpus::read_pubtator(format!("{NCBI}NCBItestset_corpus.txt")).unwrap();
        assert_eq!((dev.len(), test.len()), (100, 100));
        assert_eq!(check_offsets(&dev), 787);
        assert_eq!(check_offsets(&test), 960);
        let t = type_counts(&test);
        assert_eq!(t[&EntityType::SpecificDisease], 555);
        assert_eq!(t[&EntityType::CompositeMention], 20);
        assert!(test.iter().all(|d| d.relations.is_empty()));
        let composite = test
            .iter()
            .flat_map(|d| &d.annotations)
            .find(|a| a.entity_type == EntityType::CompositeMention && a.ids.len() > 1);
        assert!(composite.is_some());
    }

    #[test]
    fn ncbi_train_has_one_mention_with_trailing_spaces() {
        let path = format!("{NCBI}NCBItrainset_corpus.txt");
        match Corpus::read_pubtator(&path) {
            Err(Error::Parse { line, reason, .. }) => {
                assert_eq!(line, 3249);
                assert!(reason.contains("differs from the text"), "{reason}");
            }
            other => panic!("expected the known mismatch, got {other:?}"),
        }
        let train = Corpus::read_pubtator_with(&path, MentionCheck::TrimWhitespace).unwrap();
        // 593 title lines: PMID 8528200 occurs twice.
        assert_eq!(train.len(), 593);
        assert_eq!(train.iter().filter(|d| d.pmid == "8528200").count(), 2);
        let mut mismatched = Vec::new();
        let mut n = 0;
        for d in &train {
            let chars: Vec<char> = d.text().chars().collect();
            for a in &d.annotations {
                n += 1;
                let span: String = chars[a.start..a.end].iter().collect();
                if span != a.text {
                    mismatched.push((d.pmid.clone(), span, a.text.clone()));
                }
            }
        }
        assert_eq!(n, 5_145);
        assert_eq!(mismatched.len(), 1);
        assert_eq!(mismatched[0].0, "10923035");
        assert_eq!(mismatched[0].2, format!("{}  ", mismatched[0].1));
        assert!(Corpus::read_pubtator_with(&path, MentionCheck::Off).is_ok());
    }

    #[test]
    fn offsets_count_characters() {
        let content = "7|t|Café au lait\n7|a|spots β-thal\n7\t19\t25\tβ-thal\tDiseaseOrPhenotypicFeature\tD017086\n";
        let c = Corpus::read_pubtator(temp(content, ".PubTator").path()).unwrap();
        assert_eq!(check_offsets(&c), 1);
        let bad = "7|t|Café\n7|a|x\n7\t5\t6\tx\tChemicalEntity\n";
        // 6 characters but 7 bytes: end 7 is outside.
        assert_eq!(parse_err_line(&bad.replace("\t5\t6\t", "\t6\t7\t")).0, 3);
        assert!(Corpus::read_pubtator(temp(bad, ".PubTator").path()).is_ok());
    }

    #[test]
    fn small_document_parses() {
        let content = format!("{DOC}1\tAssociation\t42\tD1\n\n\n2|t|Only a title\n");
        let c = Corpus::read_pubtator(temp(&content, ".PubTator").path()).unwrap();
        assert_eq!(c.len(), 2);
        let d = &c.documents[0];
        assert_eq!(d.text(), "Gene X causes disease Y.");
        assert_eq!(d.annotations[0].ids, ["42"]);
        assert_eq!(
            d.relations,
            [Relation {
                kind: "Association".into(),
                id1: "42".into(),
                id2: "D1".into(),
                novelty: None
            }]
        );
        assert_eq!(c.documents[1].abstract_text, "");
        // Absent and `-1` ids.
        let c =
            Corpus::read_pubtator(temp(&DOC.replace("\t42\n", "\t-1\n"), ".txt").path()).unwrap();
        assert!(c.documents[0].annotations[0].ids.is_empty());
        let c = Corpus::read_pubtator(temp(&DOC.replace("\t42\n", "\n"), ".txt").path()).unwrap();
        assert!(c.documents[0].annotations[0].ids.is_empty());
    }

    #[test]
    fn entity_type_round_trips() {
        for t in EntityType::ALL {
            assert_eq!(t.as_str().parse::<EntityType>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
        }
        assert_eq!(
            "Gene".parse::<EntityType>(),
            Err(UnknownEntityType("Gene".into()))
        );
    }

    #[test]
    fn malformed_offsets() {
        // start == end, start > end.
        assert_eq!(parse_err_line(&DOC.replace("\t0\t6\t", "\t6\t6\t")).0, 3);
        assert_eq!(parse_err_line(&DOC.replace("\t0\t6\t", "\t5\t2\t")).0, 3);
        // Outside the text (24 characters).
        let (line, reason) = parse_err_line(&DOC.replace("\t0\t6\t", "\t20\t30\t"));
        assert_eq!(line, 3);
        assert!(reason.contains("past the end"), "{reason}");
        assert_eq!(parse_err_line(&DOC.replace("\t0\t6\t", "\t0\t25\t")).0, 3);
        // Non-numeric and negative offsets.
        assert_eq!(parse_err_line(&DOC.replace("\t0\t6\t", "\tx\t6\t")).0, 3);
        assert_eq!(parse_err_line(&DOC.replace("\t0\t6\t", "\t0\t6.5\t")).0, 3);
        assert_eq!(parse_err_line(&DOC.replace("\t0\t6\t", "\t-1\t6\t")).0, 3);
        // Non-numeric start in a 5-field annotation is an offset error too.
        let (line, reason) =
            parse_err_line(&DOC.replace("\t0\t6\t", "\tx\t6\t").replace("\t42\n", "\n"));
        assert_eq!(line, 3);
        assert!(reason.contains("offset"), "{reason}");
    }

    #[test]
    fn mention_must_match_text() {
        let (line, reason) = parse_err_line(&DOC.replace("\tGene X\t", "\tGene Y\t"));
        assert_eq!(line, 3);
        assert!(reason.contains("differs"), "{reason}");
        let f = temp(&DOC.replace("\tGene X\t", "\tGene X \t"), ".PubTator");
        assert!(matches!(
            Corpus::read_pubtator(f.path()),
            Err(Error::Parse { line: 3, .. })
        ));
        assert!(Corpus::read_pubtator_with(f.path(), MentionCheck::TrimWhitespace).is_ok());
    }

    #[test]
    fn unknown_entity_type() {
        let content = format!("{DOC}\n2|t|T\n2|a|A b\n2\t0\t1\tT\tProtein\t1\n");
        let (line, reason) = parse_err_line(&content);
        assert_eq!(line, 7);
        assert!(reason.contains("Protein"), "{reason}");
    }

    #[test]
    fn pmid_mismatch() {
        assert_eq!(parse_err_line(&DOC.replace("1\t0\t6", "2\t0\t6")).0, 3);
        assert_eq!(parse_err_line(&DOC.replace("1|a|", "2|a|")).0, 2);
        // Two documents without a blank line between them.
        assert_eq!(parse_err_line(&format!("{DOC}2|t|Next\n")).0, 4);
        assert_eq!(
            parse_err_line(&format!("{DOC}1\tAssociation\t42\tD1\n3\tBind\t1\t2\n")).0,
            5
        );
    }

    #[test]
    fn structural_errors() {
        // Annotation before any title, abstract before title, abstract after
        // annotations, second title, wrong field counts.
        assert_eq!(parse_err_line("1\t0\t1\tG\tGeneOrGeneProduct\t1\n").0, 1);
        assert_eq!(parse_err_line("\n\n1|a|abstract\n").0, 3);
        assert_eq!(parse_err_line(&format!("{DOC}1|a|again\n")).0, 4);
        assert_eq!(parse_err_line(&format!("1|t|a\n{DOC}")).0, 2);
        assert_eq!(parse_err_line(&format!("{DOC}1\tAssociation\t42\n")).0, 4);
        assert_eq!(
            parse_err_line(&format!(
                "{DOC}1\t0\t6\tGene X\tGeneOrGeneProduct\t42\textra\n"
            ))
            .0,
            4
        );
        assert_eq!(parse_err_line(&format!("{DOC}just some text\n")).0, 4);
    }

    #[test]
    fn empty_files() {
        for content in ["", "\n\n", "\r\n"] {
            let f = temp(content, ".PubTator");
            assert!(matches!(
                Corpus::read_pubtator(f.path()),
                Err(Error::Empty { .. })
            ));
            let f = temp(content, ".jsonl");
            assert!(matches!(Corpus::read(f.path()), Err(Error::Empty { .. })));
        }
        assert!(matches!(
            Corpus::read("/nonexistent/x.PubTator"),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn jsonl_round_trip() {
        let dev = biored("Dev");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dev.jsonl");
        dev.write_jsonl(&out).unwrap();
        let back = Corpus::read(&out).unwrap();
        assert_eq!(back.len(), 100);
        for (a, b) in dev.iter().zip(&back) {
            assert_eq!(
                (&a.pmid, &a.title, &a.abstract_text),
                (&b.pmid, &b.title, &b.abstract_text)
            );
            assert!(b.annotations.is_empty());
        }
        // The PubTator reader is picked for other extensions.
        assert_eq!(Corpus::read(format!("{BIORED}Dev.PubTator")).unwrap(), dev);
    }

    #[test]
    fn jsonl_accepts_numbers_and_reports_lines() {
        let f = temp(
            "{\"pmid\": 123, \"title\": \"T\", \"abstract\": \"A\", \"extra\": 1}\n\n{\"pmid\":\"9\",\"title\":\"\",\"abstract\":\"B\"}\n",
            ".json",
        );
        let c = Corpus::read(f.path()).unwrap();
        assert_eq!(c.documents[0].pmid, "123");
        assert_eq!(c.documents[1].text(), " B");
        let f = temp("{\"pmid\":\"1\",\"title\":\"T\",\"abstract\":\"A\"}\n{\"pmid\":\"2\",\"title\":\"T\"}\n", ".jsonl");
        assert!(matches!(
            Corpus::read_jsonl(f.path()),
            Err(Error::Parse { line: 2, .. })
        ));
        let f = temp(
            "{\"pmid\":\"1\",\"title\":\"T\",\"abstract\":\"A\"}\nnot json\n",
            ".jsonl",
        );
        assert!(matches!(
            Corpus::read_jsonl(f.path()),
            Err(Error::Parse { line: 2, .. })
        ));
        let f = temp(
            "{\"pmid\":\"\",\"title\":\"T\",\"abstract\":\"A\"}\n",
            ".jsonl",
        );
        assert!(matches!(
            Corpus::read_jsonl(f.path()),
            Err(Error::Parse { line: 1, .. })
        ));
    }
}
