//! Block decode rate of genolens' `.bed` reader, in genotypes per second, next to
//! bed-reader's dense read of the same file (with `--features bed-reader`), and
//! of its BGEN reader on the same genotypes exported by plink2 as UK Biobank
//! ships them (BGEN 1.2, 8 bits, zlib), and of its PGEN reader on them as
//! `plink2 --make-pgen` writes them.
//!
//! The file is `$GENOLENS_BENCH_BED` (a fileset prefix; `cargo xtask bench` makes a
//! simulated 10,000 × 60,000 one), else a 2,000 × 5,000 file generated
//! here with `plink2 --dummy` under `target/`.

use std::path::PathBuf;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use genolens::io::bgen::{BgenFile, RefAllele};
use genolens::io::pgen::PgenFile;
use genolens::io::plink::BedFile;
use genolens::io::{blocks, GenotypeSource};

fn bench_file() -> PathBuf {
    if let Some(p) = std::env::var_os("GENOLENS_BENCH_BED") {
        return PathBuf::from(p);
    }
    let prefix = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-dummy_2000x5000");
    if !prefix.with_extension("bed").exists() {
        let status = Command::new("plink2")
            .args([
                "--dummy",
                "2000",
                "5000",
                "0.01",
                "--seed",
                "1",
                "--make-bed",
                "--out",
            ])
            .arg(&prefix)
            .status()
            .expect("plink2 generates the benchmark file (cargo xtask install-tools)");
        assert!(status.success(), "plink2 --dummy failed");
    }
    prefix
}

/// Decodes every block of 1,024 variants and counts the missing dosages (so
/// the decode cannot be optimised away).
fn missing_in_blocks(source: &dyn GenotypeSource) -> usize {
    let mut missing = 0usize;
    for block in blocks(source, 1024) {
        let block = block.expect("block decodes");
        missing += block.dosages().iter().filter(|d| d.is_nan()).count();
    }
    missing
}

fn decode(c: &mut Criterion) {
    let prefix = bench_file();
    let bed = BedFile::open(&prefix).expect("benchmark fileset opens");
    let genotypes = (bed.n_samples() * bed.n_variants()) as u64;
    let mut group = c.benchmark_group("decode");
    group.sample_size(10);
    group.throughput(Throughput::Elements(genotypes));
    group.bench_function("genolens_blocks_1024", |b| {
        b.iter(|| missing_in_blocks(&bed))
    });
    #[cfg(feature = "bed-reader")]
    group.bench_function("bed_reader_dense_f32", |b| {
        b.iter(|| {
            let mut reader =
                bed_reader::Bed::new(prefix.with_extension("bed")).expect("bed-reader opens");
            let values = bed_reader::ReadOptions::builder()
                .f32()
                .read(&mut reader)
                .expect("bed-reader reads");
            values.iter().filter(|d| d.is_nan()).count()
        })
    });
    // The same genotypes as BGEN 1.2, 8-bit, zlib.
    let bgen = prefix.with_extension("u8.bgen");
    if !bgen.exists() {
        let out = prefix.with_extension("u8");
        let status = Command::new("plink2")
            .arg("--bfile")
            .arg(&prefix)
            .args(["--export", "bgen-1.2", "bits=8", "ref-first", "--out"])
            .arg(&out)
            .status()
            .expect("plink2 exports the benchmark BGEN");
        assert!(status.success(), "plink2 --export bgen-1.2 failed");
    }
    let reader = BgenFile::open(&bgen, None, RefAllele::First).expect("benchmark BGEN opens");
    group.bench_function("genolens_bgen_blocks_1024", |b| {
        b.iter(|| missing_in_blocks(&reader))
    });
    // The same genotypes as plink2's own fileset (difflist and
    // LD-compressed records).
    let pfile = prefix.with_extension("pg");
    if !PathBuf::from(format!("{}.pgen", pfile.display())).exists() {
        let status = Command::new("plink2")
            .arg("--bfile")
            .arg(&prefix)
            .args(["--make-pgen", "--out"])
            .arg(&pfile)
            .status()
            .expect("plink2 writes the benchmark PGEN");
        assert!(status.success(), "plink2 --make-pgen failed");
    }
    let reader = PgenFile::open(&pfile).expect("benchmark PGEN opens");
    group.bench_function("genolens_pgen_blocks_1024", |b| {
        b.iter(|| missing_in_blocks(&reader))
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
