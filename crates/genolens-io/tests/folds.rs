//! Fold-assignment files: the BGLR wheat `cv_fold` column, and malformed inputs
//! whose errors must name the file and the line.

use std::path::{Path, PathBuf};

use genolens_io::folds::{FoldAssignment, FoldEntry, FoldFileOptions};
use genolens_io::Error;

fn data(rel: &str) -> PathBuf {
    std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join(rel)
}

fn wheat_options() -> FoldFileOptions {
    FoldFileOptions::new("line_id", "cv_fold")
}

/// The fold sizes listed in the data set's PROVENANCE.md, in fold order.
fn documented_fold_sizes() -> Vec<usize> {
    let text = std::fs::read_to_string(data("bglr_wheat/PROVENANCE.md")).unwrap();
    let marker = "folds 1..10 of sizes ";
    let start = text
        .find(marker)
        .expect("PROVENANCE.md lists the fold sizes")
        + marker.len();
    text[start..]
        .split(|c: char| !(c.is_ascii_digit() || c == ','))
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect()
}

#[test]
fn wheat_folds_match_the_documented_sizes() {
    let path = data("bglr_wheat/wheat_Y.csv");
    let a = FoldAssignment::read(&path, &wheat_options()).unwrap();
    assert_eq!(a.len(), 599);
    assert!(!a.has_fid());
    assert_eq!(a.path(), path);

    let documented = documented_fold_sizes();
    assert_eq!(documented, [57, 50, 61, 73, 52, 68, 51, 64, 63, 60]);
    let sizes = a.fold_sizes();
    assert_eq!(
        sizes.iter().map(|&(f, _)| f).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<i64>>()
    );
    assert_eq!(
        sizes.iter().map(|&(_, n)| n).collect::<Vec<_>>(),
        documented
    );
    // First data line of the file: `775,6,...`.
    assert_eq!(
        a.entries()[0],
        FoldEntry {
            fid: None,
            iid: "775".into(),
            fold: 6
        }
    );
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// Reads `text` and expects a parse error at `line` whose message names the file
/// and contains `cause`.
#[track_caller]
fn expect_line(text: &str, options: &FoldFileOptions, line: usize, cause: &str) {
    let dir = Dir::new();
    let path = dir.write("folds.csv", text);
    let e = FoldAssignment::read(&path, options).expect_err("malformed input was accepted");
    assert_eq!(e.path(), path);
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("{}:{line}:", path.display())),
        "message lacks file and line {line}: {msg}"
    );
    assert!(msg.contains(cause), "message lacks {cause:?}: {msg}");
    assert!(
        matches!(e, Error::Parse { line: l, .. } if l == line),
        "{e:?}"
    );
}

#[test]
fn other_layouts_are_read() {
    let dir = Dir::new();
    // Quoted CSV with spaces after the commas.
    let p = dir.write(
        "q.csv",
        "\"line_id\", \"cv_fold\", \"y\"\n\"a\", 2, 0.5\n\n\"b\", -1, 0.1\n",
    );
    let a = FoldAssignment::read(&p, &wheat_options()).unwrap();
    assert_eq!(a.fold_sizes(), [(-1, 1), (2, 1)]);
    assert_eq!(a.entries()[1].iid, "b");

    // PLINK-style whitespace with `#FID`, matched by FID and IID: the same IID in
    // two families is two samples, not a duplicate.
    let p = dir.write("w.txt", "#FID  IID fold\nf1 x 0\nf2   x 1\n");
    let opts = FoldFileOptions {
        id_column: "IID".into(),
        fid_column: Some("FID".into()),
        fold_column: "fold".into(),
    };
    let a = FoldAssignment::read(&p, &opts).unwrap();
    assert!(a.has_fid());
    assert_eq!(a.entries()[1].fid.as_deref(), Some("f2"));
    assert_eq!(a.entries()[1].fold, 1);

    // Tab-separated with an empty extra field.
    let p = dir.write("t.tsv", "id\tfold\tnote\nx\t3\t\ny\t4\tok\n");
    let a = FoldAssignment::read(&p, &FoldFileOptions::new("id", "fold")).unwrap();
    assert_eq!(a.fold_sizes(), [(3, 1), (4, 1)]);
}

#[test]
fn bad_inputs_name_the_file_and_line() {
    let o = wheat_options();
    expect_line("line_id,y\na,1\n", &o, 1, "no column \"cv_fold\"");
    expect_line(
        "\n\nid,cv_fold\n",
        &FoldFileOptions::new("line_id", "cv_fold"),
        3,
        "line_id",
    );
    expect_line("line_id,cv_fold\na,1\nb,x\n", &o, 3, "not an integer");
    expect_line("line_id,cv_fold\na,1\nb,1.5\n", &o, 3, "\"1.5\"");
    expect_line("line_id,cv_fold\na,1\nb,NA\n", &o, 3, "not an integer");
    expect_line(
        "line_id,cv_fold\na,1\n\nb,2\na,3\n",
        &o,
        5,
        "first seen on line 2",
    );
    expect_line(
        "line_id,cv_fold\na,1\nb\n",
        &o,
        3,
        "1 fields, the header has 2",
    );
    expect_line("line_id,cv_fold\n\"\",1\n", &o, 2, "empty individual ID");
    let fid = FoldFileOptions {
        id_column: "IID".into(),
        fid_column: Some("FID".into()),
        fold_column: "fold".into(),
    };
    expect_line(
        "FID IID fold\nf x 1\nf x 2\n",
        &fid,
        3,
        "duplicate ID \"f\" \"x\"",
    );
    expect_line("IID fold\nx 1\n", &fid, 1, "no column \"FID\"");
}

#[test]
fn empty_and_missing_files_are_typed_errors() {
    let dir = Dir::new();
    for (name, text) in [("e1", ""), ("e2", "\n \n"), ("e3", "line_id,cv_fold\n\n")] {
        let p = dir.write(name, text);
        let e = FoldAssignment::read(&p, &wheat_options()).unwrap_err();
        assert!(matches!(e, Error::Empty { .. }), "{name}: {e:?}");
        assert_eq!(e.path(), p);
    }
    let missing = dir.0.path().join("nope.csv");
    let e = FoldAssignment::read(&missing, &wheat_options()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert_eq!(e.path(), missing);
}

#[test]
fn from_entries_validates() {
    let entry = |fid: Option<&str>, iid: &str, fold| FoldEntry {
        fid: fid.map(Into::into),
        iid: iid.into(),
        fold,
    };
    let a = FoldAssignment::from_entries("mem", vec![entry(None, "a", 1), entry(None, "b", 1)])
        .unwrap();
    assert_eq!(a.fold_sizes(), [(1, 2)]);
    let dup = FoldAssignment::from_entries("mem", vec![entry(None, "a", 1), entry(None, "a", 2)]);
    assert!(dup.unwrap_err().to_string().contains("duplicate ID \"a\""));
    let mixed =
        FoldAssignment::from_entries("mem", vec![entry(Some("f"), "a", 1), entry(None, "b", 2)]);
    assert!(mixed.is_err());
    assert!(matches!(
        FoldAssignment::from_entries("mem", vec![]),
        Err(Error::Empty { .. })
    ));
}
