//! Hostile input across the text and binary formats that `bad_input.rs`
//! does not cover: phenotype tables (non-finite values, a delimiter changed
//! mid-file, invalid UTF-8), fold files, gene maps and gene-score tables,
//! corpora (offsets past the text, reversed spans, invalid UTF-8, broken
//! JSON), summary statistics, score files, LOCO files, GRMs, `.npy`
//! matrices, evidence tables and BGEN headers that claim more than the file
//! holds. Each is an error that names the file and the cause; none panics.
//! A byte-order mark and CRLF line ends are not errors: they read as the
//! clean file does.

use std::path::{Path, PathBuf};

use genolens_io::bgen::{BgenFile, RefAllele};
use genolens_io::corpus::Corpus;
use genolens_io::folds::{FoldAssignment, FoldFileOptions};
use genolens_io::genes::GeneMap;
use genolens_io::loco::read_loco;
use genolens_io::prior::{read_association_p, read_evidence, read_gene_scores, read_npy_matrix};
use genolens_io::relatedness::{read_grm_bin, GrmPaths};
use genolens_io::scorefile::read_score_file;
use genolens_io::sumstats::read_glm;
use genolens_io::table::{SampleTable, TableOptions};
use genolens_io::Error;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

/// Asserts an error that names `file` and says `cause` (case-insensitive).
#[track_caller]
fn refused<T>(label: &str, r: Result<T, Error>, file: &Path, cause: &str) {
    let Err(e) = r else {
        panic!("{label}: malformed input was accepted");
    };
    let msg = e.to_string();
    assert!(
        msg.contains(&file.display().to_string()),
        "{label}: message lacks the file: {msg}"
    );
    assert!(
        msg.to_lowercase().contains(&cause.to_lowercase()),
        "{label}: message {msg:?} lacks {cause:?}"
    );
}

fn pheno(path: &Path) -> Result<SampleTable, Error> {
    SampleTable::read_phenotypes(path, &TableOptions::default())
}

#[test]
fn phenotype_tables() {
    let d = Dir::new();
    let clean = "FID\tIID\tY\nf\ta\t1.5\nf\tb\t-0.25\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("inf", b"FID\tIID\tY\nf\ta\tinf\nf\tb\t1\n".to_vec(), ":2:"),
        (
            "-inf",
            b"FID\tIID\tY\nf\ta\t-inf\nf\tb\t1\n".to_vec(),
            ":2:",
        ),
        (
            "delimiter changed mid-file",
            b"FID\tIID\tY\nf\ta\t1\nf,b,2\n".to_vec(),
            ":3:",
        ),
        (
            "invalid UTF-8",
            b"FID\tIID\tY\nf\ta\x80\xff\t1\n".to_vec(),
            "UTF-8",
        ),
        ("header only", b"FID\tIID\tY\n".to_vec(), "empty"),
        ("no value column", b"A\tB\n1\t2\n".to_vec(), ":1:"),
    ];
    for (label, bytes, cause) in cases {
        let p = d.write("p.txt", bytes);
        refused(label, pheno(&p), &p, cause);
    }
    // `NaN` is a missing value, as `nan` and `NA` are (plink2 reads it so).
    let t = pheno(&d.write("nan.txt", "FID\tIID\tY\nf\ta\t1.5\nf\tb\tNaN\n")).unwrap();
    let y = &t.column("Y").unwrap().values;
    assert!(y[0] == 1.5 && y[1].is_nan(), "{y:?}");
    // A byte-order mark and CRLF line ends read as the clean file.
    let want = pheno(&d.write("clean.txt", clean)).unwrap();
    for (label, text) in [
        ("BOM", format!("\u{feff}{clean}")),
        ("CRLF", clean.replace('\n', "\r\n")),
    ] {
        let got = pheno(&d.write("p.txt", text)).unwrap();
        assert_eq!(got.ids(), want.ids(), "{label}");
        let names = |t: &SampleTable| {
            t.columns()
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&got), names(&want), "{label}");
    }
}

#[test]
fn fold_files() {
    let d = Dir::new();
    let options = FoldFileOptions::new("IID", "fold");
    for (label, text, cause) in [
        ("text fold", "IID\tfold\na\t1\nb\tx\n", ":3:"),
        ("duplicate ID", "IID\tfold\na\t1\na\t2\n", "a"),
        ("no fold column", "IID\tpart\na\t1\n", "fold"),
        ("ragged row", "IID\tfold\na\t1\t7\n", ":2:"),
        ("empty ID", "IID\tfold\n\t1\n", ":2:"),
        ("no rows", "IID\tfold\n", "empty"),
    ] {
        let p = d.write("folds.tsv", text);
        refused(label, FoldAssignment::read(&p, &options), &p, cause);
    }
}

#[test]
fn gene_maps_and_gene_scores() {
    let d = Dir::new();
    for (label, text, cause) in [
        ("end before start", "1 5000 1000 GENE1\n", ":1:"),
        ("text start", "1 abc 1000 GENE1\n", ":1:"),
        ("too few columns", "1 1000\n", ":1:"),
    ] {
        let p = d.write("glist.txt", text);
        refused(label, GeneMap::read_glist(&p), &p, cause);
    }
    for (label, text, cause) in [
        ("text score", "gene\tscore\nBRCA1\tabc\n", ":2:"),
        ("infinite score", "gene\tscore\nBRCA1\tinf\n", ":2:"),
        ("gene twice", "gene\tscore\nBRCA1\t0.5\nBRCA1\t0.7\n", ":3:"),
        ("no rows", "gene\tscore\n", "empty"),
    ] {
        let p = d.write("scores.tsv", text);
        refused(label, read_gene_scores(&p), &p, cause);
    }
}

#[test]
fn corpora() {
    let d = Dir::new();
    let doc = "1|t|Gene X causes disease\n1|a|More text here.\n";
    for (label, bytes, cause) in [
        (
            "offset past the text",
            format!("{doc}1\t30\t99\tfar\tGeneOrGeneProduct\t7\n").into_bytes(),
            ":3:",
        ),
        (
            "end before start",
            format!("{doc}1\t10\t5\tx\tGeneOrGeneProduct\t7\n").into_bytes(),
            ":3:",
        ),
        (
            "text offset",
            format!("{doc}1\tfive\t9\tGene\tGeneOrGeneProduct\t7\n").into_bytes(),
            ":3:",
        ),
        (
            "unknown type",
            format!("{doc}1\t0\t4\tGene\tSpaceship\t7\n").into_bytes(),
            "Spaceship",
        ),
        (
            "invalid UTF-8",
            b"1|t|Gene \xff\xfe causes\n1|a|x\n".to_vec(),
            "UTF-8",
        ),
        ("empty", Vec::new(), "empty"),
    ] {
        let p = d.write("c.pubtator", bytes);
        refused(label, Corpus::read_pubtator(&p), &p, cause);
    }
    for (label, text, cause) in [
        ("not JSON", "{\"pmid\": 1, \"title\": \"x\"\n", ":1:"),
        ("no title", "{\"pmid\": 1, \"abstract\": \"x\"}\n", ":1:"),
        ("array", "[1, 2, 3]\n", ":1:"),
    ] {
        let p = d.write("c.jsonl", text);
        refused(label, Corpus::read_jsonl(&p), &p, cause);
    }
}

#[test]
fn association_reports() {
    let d = Dir::new();
    let header = "#CHROM\tPOS\tID\tREF\tALT\tA1\tTEST\tOBS_CT\tBETA\tSE\tT_STAT\tP\tERRCODE\n";
    for (label, text, cause) in [
        (
            "text P",
            format!("{header}1\t100\trs1\tA\tG\tG\tADD\t10\t0.1\t0.2\t0.5\tsmall\t.\n"),
            ":2:",
        ),
        ("short row", format!("{header}1\t100\trs1\tA\tG\n"), ":2:"),
        ("no header", "1\t100\trs1\n".to_string(), ""),
    ] {
        let p = d.write("r.glm.linear", text);
        refused(label, read_glm(&p), &p, cause);
    }
    for (label, text, cause) in [
        ("no P column", "SNP\tCHR\tBP\tBETA\nrs1\t1\t100\t0.1\n", "P"),
        ("P above 1", "SNP\tCHR\tBP\tP\nrs1\t1\t100\t1.5\n", ":2:"),
    ] {
        let p = d.write("any.txt", text);
        refused(label, read_association_p(&p), &p, cause);
    }
    for (label, text, cause) in [
        ("text weight", "rs1 A heavy\n", ":1:"),
        ("too few columns", "rs1 A\n", ":1:"),
    ] {
        let p = d.write("w.txt", text);
        refused(label, read_score_file(&p, [1, 2, 3], false), &p, cause);
    }
}

#[test]
fn loco_grm_npy_and_evidence() {
    let d = Dir::new();
    for (label, text, cause) in [
        ("text prediction", "FID_IID 1_a 1_b\n1 0.5 x\n", ":2:"),
        ("ragged", "FID_IID 1_a 1_b\n1 0.5\n", ":2:"),
        ("empty", "", "empty"),
    ] {
        let p = d.write("p.loco", text);
        refused(label, read_loco(&p), &p, cause);
    }
    // A GRM whose .bin holds fewer entries than its .id file implies.
    let paths = GrmPaths {
        bin: d.write("g.grm.bin", [0u8; 4 * 5]),
        n_bin: d.write("g.grm.N.bin", [0u8; 4 * 6]),
        id: d.write("g.grm.id", "f\ta\nf\tb\nf\tc\n"),
    };
    refused("short GRM", read_grm_bin(&paths), &paths.bin, "");
    for (label, bytes) in [
        ("not npy", b"hello".to_vec()),
        ("truncated npy", {
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }";
            b.extend_from_slice(&(header.len() as u16 + 1).to_le_bytes());
            b.extend_from_slice(header.as_bytes());
            b.push(b'\n');
            b.extend_from_slice(&[0u8; 16]);
            b
        }),
    ] {
        let p = d.write("e.npy", bytes);
        refused(label, read_npy_matrix(&p), &p, "");
    }
    for (label, text, cause) in [
        (
            "ragged",
            "gene_id\tsymbol\tpmid\tstart\tend\tscore\tsentence\n7157\n",
            ":2:",
        ),
        ("empty", "", "empty"),
    ] {
        let p = d.write("ev.tsv", text);
        refused(label, read_evidence(&p), &p, cause);
    }
}

/// BGEN headers that claim more than the file holds are refused before
/// anything that size is allocated.
#[test]
fn bgen_headers_that_lie() {
    let d = Dir::new();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/regenie_example/example.bgen");
    let good = std::fs::read(data).unwrap();
    let patch = |at: usize, value: u32| {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&value.to_le_bytes());
        b
    };
    for (label, bytes, cause) in [
        ("variant count", patch(8, u32::MAX), ""),
        ("header length", patch(4, u32::MAX - 8), ""),
        ("first variant offset", patch(0, u32::MAX - 4), ""),
    ] {
        let p = d.write("lie.bgen", bytes);
        refused(label, BgenFile::open(&p, None, RefAllele::First), &p, cause);
    }
}
