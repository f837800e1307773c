//! Helpers shared by the CLI's integration tests: data paths, running `genolens`
//! and the reference tools, and fileset fixtures.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use genolens::io::plink::BedFile;
use genolens::io::GenotypeSource;

pub fn data(rel: &str) -> PathBuf {
    let root = std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    root.join(rel)
}

pub fn genolens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genolens"))
        .args(args)
        .output()
        .expect("the genolens binary runs")
}

/// Runs a reference tool, or returns `None` when the run opted out of them.
pub fn reference(tool: &str, args: &[&str]) -> Option<Output> {
    reference_in(None, tool, args)
}

/// [`reference`] run in `dir` (GEMMA writes to `./output/`). A failure shows
/// stdout too, where GEMMA prints its errors.
pub fn reference_in(dir: Option<&Path>, tool: &str, args: &[&str]) -> Option<Output> {
    let mut command = Command::new(tool);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    match command.output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{tool} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
            Some(out)
        }
        Err(e) if std::env::var_os("GENOLENS_SKIP_REFERENCE").is_some() => {
            eprintln!("skipping: {tool} unavailable ({e})");
            None
        }
        Err(e) => panic!(
            "{tool} is needed for this test ({e}); run `cargo xtask ci` or install Debian's {tool}"
        ),
    }
}

pub fn ok(out: Output) {
    assert!(
        out.status.success(),
        "genolens failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

pub const FILESETS: [&str; 5] = [
    "hapmap_snprelate_60x5000/plinkhapmap",
    "regenie_example/example",
    "bolt_lmm_eur_subset_1000g/EUR_subset",
    "bglr_wheat/wheat",
    "1000g_lct_region_gaston/LCT",
];

/// A copy of a fileset whose unused padding bits (the last byte of each variant)
/// are zero.
pub fn zero_padding_copy(prefix: &Path, dir: &Path) -> PathBuf {
    let bed = BedFile::open(prefix).unwrap();
    let (n, stride) = (bed.n_samples(), bed.bytes_per_variant());
    let mut bytes = std::fs::read(prefix.with_extension("bed")).unwrap();
    let used_bits = 2 * (n % 4);
    if used_bits > 0 {
        for v in 0..bed.n_variants() {
            bytes[3 + v * stride + stride - 1] &= (1u8 << used_bits) - 1;
        }
    }
    let out = dir.join("zeroed");
    std::fs::write(out.with_extension("bed"), bytes).unwrap();
    std::fs::copy(prefix.with_extension("bim"), out.with_extension("bim")).unwrap();
    std::fs::copy(prefix.with_extension("fam"), out.with_extension("fam")).unwrap();
    out
}

pub fn assert_same_files(a: &Path, b: &Path) {
    for ext in ["bed", "bim", "fam"] {
        let x = std::fs::read(a.with_extension(ext)).unwrap();
        let y = std::fs::read(b.with_extension(ext)).unwrap();
        assert!(
            x == y,
            "{} differs from {}",
            a.with_extension(ext).display(),
            b.with_extension(ext).display()
        );
    }
}

/// The text of a file, or a panic naming it.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `prefix.ext`, keeping any dots already in the prefix.
pub fn with(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_os_string();
    s.push(".");
    s.push(ext);
    s.into()
}

/// Asserts that two text files have the same lines, naming the first that differs.
pub fn assert_same_text(ours: &Path, theirs: &Path, what: &str) {
    let (a, b) = (read(ours), read(theirs));
    assert_eq!(
        a.lines().count(),
        b.lines().count(),
        "{what}: row count differs from the reference"
    );
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        assert_eq!(x, y, "{what}: line {} differs from the reference", i + 1);
    }
}

/// Runs `genolens OURS --out DIR/g` and `plink2 THEIRS --out DIR/p` and returns
/// the two output prefixes, or `None` when the run opted out of reference tools.
pub fn run_both(dir: &Path, ours: &[&str], theirs: &[&str]) -> Option<(PathBuf, PathBuf)> {
    let (g, p) = (dir.join("g"), dir.join("p"));
    let mut args = ours.to_vec();
    args.extend(["--out", s(&g)]);
    ok(genolens(&args));
    let mut args = theirs.to_vec();
    args.extend(["--out", s(&p)]);
    reference("plink2", &args)?;
    Some((g, p))
}

/// HapMap's 60 samples with sexes imputed from their chrX variants by
/// `plink1.9 --impute-sex` (27 male, 20 female, 13 unknown), as `dir/hx`.
pub fn hapmap_with_sexes(dir: &Path) -> Option<PathBuf> {
    let hx = dir.join("hx");
    reference(
        "plink1.9",
        &[
            "--bfile",
            s(&data("hapmap_snprelate_60x5000/plinkhapmap")),
            "--impute-sex",
            "--make-bed",
            "--out",
            s(&hx),
        ],
    )?;
    Some(hx)
}

/// Every file and directory under `dir`, relative, sorted.
pub fn entries_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}
