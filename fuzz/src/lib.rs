//! Fuzz targets: one per genolens parser. Each takes arbitrary bytes, puts
//! them where the parser reads them (a file of the right name beside fixed
//! valid companions where a format has several files) and runs the parser.
//! An `Err` is the expected answer to garbage; a panic, a hang or an
//! allocation far larger than the input is a bug.
//!
//! `fuzz` (src/bin) drives the targets with seeded mutations of the seed
//! corpus under `corpus/<target>/`; `tests/corpus.rs` replays the corpus and
//! every saved crash (`crashes/<target>/`) on every test run.

use std::path::{Path, PathBuf};

use genolens::assoc::predict::LinearPredictor;
use genolens::io::bgen::{BgenFile, RefAllele};
use genolens::io::corpus::Corpus;
use genolens::io::folds::{FoldAssignment, FoldFileOptions};
use genolens::io::genes::GeneMap;
use genolens::io::loco::read_loco;
use genolens::io::matrix::{GenoMatrix, MatrixOptions};
use genolens::io::pgen::PgenFile;
use genolens::io::plink::BedFile;
use genolens::io::prior::{read_association_p, read_evidence, read_gene_scores, read_npy_matrix};
use genolens::io::relatedness::{read_grm_bin, GrmPaths};
use genolens::io::scorefile::read_score_file;
use genolens::io::sumstats::read_glm;
use genolens::io::table::{SampleTable, TableOptions};
use genolens::io::vcf::{VcfGenotypes, VcfOptions};
use genolens::io::{blocks, GenotypeSource};
use genolens::transformer::checkpoint::Checkpoint;
use genolens::transformer::saved::SavedTransformer;

/// Every target's name, in the order the harness runs them.
pub const TARGETS: [&str; 25] = [
    "bed",
    "bim",
    "fam",
    "vcf",
    "bgen",
    "pgen",
    "pvar",
    "psam",
    "matrix",
    "pheno",
    "covar",
    "folds",
    "glist",
    "gene-scores",
    "pubtator",
    "jsonl",
    "glm",
    "assoc-p",
    "score-file",
    "loco",
    "grm",
    "npy",
    "evidence",
    "linear-model",
    "transformer-model",
];

// The seed corpus's 20-sample, 24-variant HapMap subset: each file of a
// multi-file format is fuzzed beside the others' valid versions.
const FAM: &str = include_str!("../corpus/fam/hapmap.fam");
const BIM: &str = include_str!("../corpus/bim/hapmap.bim");
const BED: &[u8] = include_bytes!("../corpus/bed/hapmap20x24.bed");
const PGEN: &[u8] = include_bytes!("../corpus/pgen/hapmap20x24.pgen");
const PVAR: &str = include_str!("../corpus/pvar/hapmap.pvar");
const PSAM: &str = include_str!("../corpus/psam/hapmap.psam");

/// Reads every variant of a source, so that decoding errors surface.
fn drain(source: &dyn GenotypeSource) {
    for block in blocks(source, 7) {
        if block.is_err() {
            return;
        }
    }
    let _ = source.read_hardcalls(0..source.n_variants());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("the fuzz directory is writable");
    p
}

/// Runs `target` on `data` in the scratch directory `dir`. Returns `false`
/// for an unknown target.
pub fn run(target: &str, data: &[u8], dir: &Path) -> bool {
    let text = |name: &str| write(dir, name, data);
    match target {
        "bed" => {
            write(dir, "x.bim", BIM.as_bytes());
            write(dir, "x.fam", FAM.as_bytes());
            write(dir, "x.bed", data);
            if let Ok(b) = BedFile::open(dir.join("x")) {
                drain(&b);
            }
        }
        "bim" | "fam" => {
            write(dir, "x.bed", BED);
            write(
                dir,
                "x.bim",
                if target == "bim" {
                    data
                } else {
                    BIM.as_bytes()
                },
            );
            write(
                dir,
                "x.fam",
                if target == "fam" {
                    data
                } else {
                    FAM.as_bytes()
                },
            );
            if let Ok(b) = BedFile::open(dir.join("x")) {
                drain(&b);
            }
        }
        "vcf" => {
            if let Ok(v) = VcfGenotypes::read_with(text("x.vcf"), VcfOptions::default()) {
                drain(&v);
            }
        }
        "bgen" => {
            if let Ok(b) = BgenFile::open(text("x.bgen"), None, RefAllele::First) {
                drain(&b);
            }
        }
        "pgen" | "pvar" | "psam" => {
            let pgen = dir.join("x.pgen");
            write(dir, "x.pgen", if target == "pgen" { data } else { PGEN });
            write(
                dir,
                "x.pvar",
                if target == "pvar" {
                    data
                } else {
                    PVAR.as_bytes()
                },
            );
            write(
                dir,
                "x.psam",
                if target == "psam" {
                    data
                } else {
                    PSAM.as_bytes()
                },
            );
            if let Ok(p) = PgenFile::open_paths(&pgen, &dir.join("x.pvar"), &dir.join("x.psam")) {
                drain(&p);
            }
        }
        "matrix" => {
            if let Ok(m) = GenoMatrix::open(text("x.csv"), MatrixOptions::default()) {
                drain(&m);
            }
        }
        "pheno" => {
            let _ = SampleTable::read_phenotypes(text("x.pheno"), &TableOptions::default());
        }
        "covar" => {
            let _ = SampleTable::read_covariates(text("x.covar"), &TableOptions::default());
        }
        "folds" => {
            let _ = FoldAssignment::read(text("x.folds"), &FoldFileOptions::new("IID", "fold"));
        }
        "glist" => {
            let _ = GeneMap::read(text("x.glist"));
        }
        "gene-scores" => {
            let _ = read_gene_scores(text("x.tsv"));
        }
        "pubtator" => {
            let _ = Corpus::read_pubtator(text("x.pubtator"));
        }
        "jsonl" => {
            let _ = Corpus::read_jsonl(text("x.jsonl"));
        }
        "glm" => {
            let _ = read_glm(text("x.glm.linear"));
        }
        "assoc-p" => {
            let _ = read_association_p(text("x.assoc"));
        }
        "score-file" => {
            let _ = read_score_file(text("x.score"), [1, 2, 3], true);
        }
        "loco" => {
            let _ = read_loco(text("x.loco"));
        }
        "grm" => {
            let paths = GrmPaths {
                bin: text("x.grm.bin"),
                n_bin: text("x.grm.N.bin"),
                id: write(dir, "x.grm.id", b"f\ta\nf\tb\n"),
            };
            let _ = read_grm_bin(&paths);
        }
        "npy" => {
            let _ = read_npy_matrix(text("x.npy"));
        }
        "evidence" => {
            let _ = read_evidence(text("x.tsv"));
        }
        "linear-model" => {
            let _ = LinearPredictor::from_json(&String::from_utf8_lossy(data));
        }
        "transformer-model" => {
            // A model description, and the bytes as a training checkpoint.
            let _ = SavedTransformer::from_json(&String::from_utf8_lossy(data));
            let _ = Checkpoint::from_bytes(data);
        }
        _ => return false,
    }
    true
}

/// A global allocator that passes every request to the system allocator
/// and remembers the largest single request since the last
/// [`take_largest`](CountingAlloc::take_largest): an input of a few bytes
/// whose header makes a parser reserve gigabytes is a bug even when the
/// machine has the memory.
pub struct CountingAlloc;

static LARGEST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl CountingAlloc {
    /// The largest request since the last call, and a reset.
    pub fn take_largest() -> usize {
        LARGEST.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

// The one unsafe item of the workspace: GlobalAlloc is an unsafe trait.
// Every call is passed unchanged to the system allocator.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout, as GlobalAlloc requires.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

/// The most a run on `len` input bytes may ask for in one allocation: the
/// fixed companions and buffers (64 MiB) plus 4 KiB per input byte.
pub fn allocation_limit(len: usize) -> usize {
    (64 << 20) + 4096 * len
}

/// What one run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The parser returned (`Ok` or `Err`) within the allocation limit.
    Clean,
    /// The parser panicked, with this message.
    Panic(String),
    /// The largest single allocation, above [`allocation_limit`].
    Oversized(usize),
}

/// Runs `target` on `data` catching panics, and checks the allocations
/// (meaningful only where [`CountingAlloc`] is the global allocator).
pub fn check(target: &str, data: &[u8], dir: &Path) -> Finding {
    CountingAlloc::take_largest();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(target, data, dir)));
    let largest = CountingAlloc::take_largest();
    match outcome {
        Err(panic) => Finding::Panic(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
        Ok(_) if largest > allocation_limit(data.len()) => Finding::Oversized(largest),
        Ok(_) => Finding::Clean,
    }
}

/// The seed inputs of `target` and its saved crashes, from this package's
/// `corpus/` and `crashes/` directories.
pub fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for kind in ["corpus", "crashes"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}
