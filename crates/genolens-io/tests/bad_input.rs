//! Malformed inputs: each must give a typed error that names the file and the
//! cause (and the line or record where one applies), never a panic.

use std::path::{Path, PathBuf};

use genolens_io::plink::{BedFile, BedWriter};
use genolens_io::sumstats::read_glm;
use genolens_io::table::{SampleTable, TableOptions};
use genolens_io::vcf::VcfGenotypes;
use genolens_io::{Error, Sample, SampleId, Variant};

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
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

const FAM: &str = "f a 0 0 1 -9\nf b 0 0 2 -9\nf c 0 0 0 -9\n";
const BIM: &str = "1 rs1 0 100 A G\n1 rs2 0 200 C T\n";

/// A valid 3-sample × 2-variant fileset, then one part replaced.
fn fileset(dir: &Dir, bed: Option<&[u8]>, bim: Option<&str>, fam: Option<&str>) -> PathBuf {
    let good_bed = [0x6c, 0x1b, 0x01, 0b00_10_11, 0b01_00_10];
    dir.write("x.bed", bed.unwrap_or(&good_bed));
    dir.write("x.bim", bim.unwrap_or(BIM));
    dir.write("x.fam", fam.unwrap_or(FAM));
    dir.path("x")
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(r: Result<T, Error>, file: &Path, cause: &str) -> Error {
    let e = r.expect_err("malformed input was accepted");
    assert_eq!(e.path(), file, "error names the wrong file: {e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&file.display().to_string()),
        "message lacks the file: {msg}"
    );
    assert!(
        msg.contains(cause),
        "message {msg:?} lacks the cause {cause:?}"
    );
    e
}

fn line_of(e: &Error) -> Option<usize> {
    match e {
        Error::Parse { line, .. } => Some(*line),
        Error::Record { record, .. } => Some(*record),
        _ => None,
    }
}

#[test]
fn valid_fixture_reads() {
    let d = Dir::new();
    let bed = BedFile::open(fileset(&d, None, None, None)).unwrap();
    use genolens_io::GenotypeSource;
    let block = bed.read_block(0..2).unwrap();
    assert_eq!(block.variant(0).to_vec(), vec![0.0, 1.0, 2.0]);
    let v1 = block.variant(1).to_vec();
    assert_eq!(v1[0], 1.0);
    assert_eq!(v1[1], 2.0);
    assert!(v1[2].is_nan());
}

#[test]
fn truncated_bed() {
    let d = Dir::new();
    let p = fileset(&d, Some(&[0x6c, 0x1b, 0x01, 0]), None, None);
    expect_err(BedFile::open(p), &d.path("x.bed"), "truncated");
}

#[test]
fn bed_shorter_than_header() {
    let d = Dir::new();
    let p = fileset(&d, Some(&[0x6c]), None, None);
    expect_err(BedFile::open(p), &d.path("x.bed"), "too short");
}

#[test]
fn wrong_magic_number() {
    let d = Dir::new();
    let p = fileset(&d, Some(&[0x1f, 0x8b, 0x01, 0, 0]), None, None);
    expect_err(BedFile::open(p), &d.path("x.bed"), "wrong magic number");
}

#[test]
fn sample_major_bed() {
    let d = Dir::new();
    let p = fileset(&d, Some(&[0x6c, 0x1b, 0x00, 0, 0]), None, None);
    expect_err(BedFile::open(p), &d.path("x.bed"), "sample-major");
}

#[test]
fn bim_fam_count_mismatch() {
    let d = Dir::new();
    // The .bim lists one variant, the .bed holds two.
    let p = fileset(&d, None, Some("1 rs1 0 100 A G\n"), None);
    expect_err(BedFile::open(p), &d.path("x.bed"), "fewer than it holds");
    // The .fam lists five samples: two bytes per variant would be needed.
    let d = Dir::new();
    let fam = format!("{FAM}f d 0 0 0 -9\nf e 0 0 0 -9\n");
    let p = fileset(&d, None, None, Some(&fam));
    expect_err(BedFile::open(p), &d.path("x.bed"), "truncated");
}

#[test]
fn bim_non_numeric_position() {
    let d = Dir::new();
    let p = fileset(&d, None, Some("1 rs1 0 100 A G\n1 rs2 0 2O0 C T\n"), None);
    let e = expect_err(
        BedFile::open(p),
        &d.path("x.bim"),
        "base-pair position \"2O0\"",
    );
    assert_eq!(line_of(&e), Some(2));
}

#[test]
fn bim_wrong_column_count() {
    let d = Dir::new();
    let p = fileset(&d, None, Some("1 rs1 0 100 A G\n1 rs2 200 C T\n"), None);
    let e = expect_err(BedFile::open(p), &d.path("x.bim"), "expected 6 columns");
    assert_eq!(line_of(&e), Some(2));
}

#[test]
fn fam_duplicate_sample_ids() {
    let d = Dir::new();
    let p = fileset(
        &d,
        None,
        None,
        Some("f a 0 0 1 -9\nf b 0 0 2 -9\nf a 0 0 0 -9\n"),
    );
    let e = expect_err(
        BedFile::open(p),
        &d.path("x.fam"),
        "duplicate sample ID f a",
    );
    assert_eq!(line_of(&e), Some(3));
}

#[test]
fn fam_wrong_column_count() {
    let d = Dir::new();
    let p = fileset(
        &d,
        None,
        None,
        Some("f a 0 0 1 -9\nf b 0 0 2\nf c 0 0 0 -9\n"),
    );
    let e = expect_err(BedFile::open(p), &d.path("x.fam"), "expected 6 columns");
    assert_eq!(line_of(&e), Some(2));
}

#[test]
fn empty_fam_and_bim() {
    let d = Dir::new();
    let p = fileset(&d, None, None, Some(""));
    let e = expect_err(BedFile::open(p), &d.path("x.fam"), "empty");
    assert!(matches!(e, Error::Empty { .. }));
    let d = Dir::new();
    let p = fileset(&d, None, Some("\n"), None);
    assert!(matches!(
        expect_err(BedFile::open(p), &d.path("x.bim"), "empty"),
        Error::Empty { .. }
    ));
}

#[test]
fn missing_files() {
    let d = Dir::new();
    fileset(&d, None, None, None);
    std::fs::remove_file(d.path("x.bed")).unwrap();
    let e = expect_err(BedFile::open(d.path("x")), &d.path("x.bed"), "No such file");
    assert!(matches!(e, Error::Io { .. }));
    let missing = d.path("nope.vcf");
    expect_err(VcfGenotypes::read(&missing), &missing, "not found");
}

const VCF_HEAD: &str = "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n##FORMAT=<ID=DS,Number=1,Type=Float,Description=\"Dosage\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\n";

fn vcf(d: &Dir, body: &str) -> PathBuf {
    d.write("x.vcf", format!("{VCF_HEAD}{body}"))
}

#[test]
fn vcf_bad_gt() {
    let d = Dir::new();
    let p = vcf(
        &d,
        "1\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/1\t1/1\n1\t20\trs2\tA\tG\t.\t.\t.\tGT\t0/x\t1/1\n",
    );
    let e = expect_err(VcfGenotypes::read(&p), &p, "bad GT of sample s1");
    assert_eq!(line_of(&e), Some(2));
}

#[test]
fn vcf_allele_index_out_of_range() {
    let d = Dir::new();
    let p = vcf(&d, "1\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/3\t1/1\n");
    expect_err(VcfGenotypes::read(&p), &p, "allele index 3");
}

#[test]
fn vcf_multiallelic_needs_a_policy() {
    let d = Dir::new();
    let p = vcf(&d, "1\t10\trs1\tA\tG,T\t.\t.\t.\tGT\t0/2\t1/1\n");
    let e = expect_err(VcfGenotypes::read(&p), &p, "multi-allelic");
    assert_eq!(line_of(&e), Some(1));
}

#[test]
fn vcf_without_records_is_empty() {
    let d = Dir::new();
    let p = vcf(&d, "");
    assert!(matches!(
        expect_err(VcfGenotypes::read(&p), &p, "empty"),
        Error::Empty { .. }
    ));
}

#[test]
fn vcf_garbage_header() {
    let d = Dir::new();
    let p = d.write("x.vcf", "this is not a vcf\n1\t2\t3\n");
    expect_err(VcfGenotypes::read(&p), &p, "VCF");
}

#[test]
fn vcf_sample_count_mismatch() {
    let d = Dir::new();
    let p = vcf(&d, "1\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/1\n");
    expect_err(VcfGenotypes::read(&p), &p, "sample columns");
}

#[test]
fn vcf_non_numeric_pos() {
    let d = Dir::new();
    let p = vcf(&d, "1\tten\trs1\tA\tG\t.\t.\t.\tGT\t0/1\t1/1\n");
    let e = expect_err(VcfGenotypes::read(&p), &p, "record 1");
    assert_eq!(line_of(&e), Some(1));
}

#[test]
fn vcf_dosage_out_of_range() {
    let d = Dir::new();
    let p = vcf(&d, "1\t10\trs1\tA\tG\t.\t.\t.\tGT:DS\t0/1:0.9\t1/1:2.7\n");
    expect_err(VcfGenotypes::read(&p), &p, "DS 2.7 of sample s2");
}

#[test]
fn vcf_triploid_call() {
    let d = Dir::new();
    let p = vcf(&d, "1\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/1/1\t1/1\n");
    expect_err(VcfGenotypes::read(&p), &p, "ploidy 3");
}

#[test]
fn phenotype_with_text_in_numeric_column() {
    let d = Dir::new();
    let p = d.write("p.txt", "FID IID y\nf a 1.5\nf b tall\n");
    let e = expect_err(
        SampleTable::read_phenotypes(&p, &TableOptions::default()),
        &p,
        "\"tall\" is not a number",
    );
    assert_eq!(line_of(&e), Some(3));
}

#[test]
fn phenotype_empty_file() {
    let d = Dir::new();
    let p = d.write("p.txt", "");
    let e = expect_err(
        SampleTable::read_phenotypes(&p, &TableOptions::default()),
        &p,
        "empty",
    );
    assert!(matches!(e, Error::Empty { .. }));
    let p = d.write("h.txt", "FID IID y\n");
    expect_err(
        SampleTable::read_phenotypes(&p, &TableOptions::default()),
        &p,
        "empty",
    );
}

#[test]
fn phenotype_duplicate_ids_and_ragged_rows() {
    let d = Dir::new();
    let p = d.write("p.txt", "FID IID y\nf a 1\nf a 2\n");
    let e = expect_err(
        SampleTable::read_phenotypes(&p, &TableOptions::default()),
        &p,
        "duplicate sample ID",
    );
    assert_eq!(line_of(&e), Some(3));
    let p = d.write("r.txt", "FID IID y z\nf a 1 2\nf b 1\n");
    let e = expect_err(
        SampleTable::read_covariates(&p, &TableOptions::default()),
        &p,
        "3 columns, the header has 4",
    );
    assert_eq!(line_of(&e), Some(3));
}

#[test]
fn phenotype_missing_file_and_unknown_column() {
    let d = Dir::new();
    let missing = d.path("none.txt");
    expect_err(
        SampleTable::read_phenotypes(&missing, &TableOptions::default()),
        &missing,
        "No such file",
    );
    let p = d.write("p.txt", "FID IID y\nf a 1\n");
    let t = SampleTable::read_phenotypes(&p, &TableOptions::default()).unwrap();
    expect_err(t.select(&["height"]), &p, "no column \"height\"");
}

#[test]
fn sumstats_that_are_not_glm_output() {
    let d = Dir::new();
    let p = d.write("x.glm.linear", "CHR SNP P\n1 rs1 0.5\n");
    expect_err(read_glm(&p), &p, "not a --glm file");
}

#[test]
fn failed_writes_leave_nothing_behind() {
    let d = Dir::new();
    let samples: Vec<Sample> = ["a", "b"]
        .iter()
        .map(|i| Sample::new(SampleId::new("f", *i)))
        .collect();
    let variants = vec![Variant {
        chrom: "1".into(),
        pos: 1,
        id: "rs1".into(),
        cm: 0.0,
        allele1: "A".into(),
        allele2: "G".into(),
    }];
    let out = d.path("out");
    // A dosage outside [0, 2] fails the write...
    let mut w = BedWriter::create(&out, &samples, &variants).unwrap();
    let e = w.write_variant(&[0.0, 3.0]).unwrap_err();
    assert!(e.to_string().contains("outside [0, 2]"), "{e}");
    drop(w);
    // ...and an unfinished writer is dropped: no file may remain, not even a temp.
    let mut w = BedWriter::create(&out, &samples, &variants).unwrap();
    w.write_variant(&[0.0, 1.0]).unwrap();
    drop(w);
    let left: Vec<_> = std::fs::read_dir(d.0.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
