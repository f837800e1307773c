//! Readers and writers on the bundled real datasets: round trips, subsets, VCF
//! semantics and table alignment.

use std::io::Write;
use std::path::{Path, PathBuf};

use genolens_io::plink::{write_bed_fileset, BedFile};
use genolens_io::table::{ColumnKind, SampleTable, TableOptions};
use genolens_io::vcf::{MultiAllelic, VcfGenotypes, VcfOptions};
use genolens_io::{blocks, GenotypeSource, Subset};

fn data(rel: &str) -> PathBuf {
    std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join(rel)
}

fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[test]
fn bed_round_trip_is_byte_identical() {
    // 60 samples fill whole bytes, so the written .bed must equal the original.
    let src = data("hapmap_snprelate_60x5000/plinkhapmap");
    let bed = BedFile::open(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy");
    write_bed_fileset(&bed, &out, 777).unwrap();
    assert_eq!(
        std::fs::read(out.with_extension("bed")).unwrap(),
        std::fs::read(src.with_extension("bed")).unwrap()
    );
    let back = BedFile::open(&out).unwrap();
    assert_eq!(back.samples(), bed.samples());
    // Chromosome codes are written as PLINK 2 writes them (23 → X); everything else
    // is unchanged.
    assert_eq!(back.n_variants(), bed.n_variants());
    for (a, b) in back.variants().iter().zip(bed.variants()) {
        assert_eq!(a.plink_chrom(), b.plink_chrom());
        assert_eq!(
            (a.pos, &a.id, &a.allele1, &a.allele2),
            (b.pos, &b.id, &b.allele1, &b.allele2)
        );
    }
    assert!(back.variants().iter().any(|v| v.chrom == "X"));
}

#[test]
fn blocks_cover_every_variant_once_whatever_the_block_size() {
    let bed = BedFile::open(data("regenie_example/example")).unwrap();
    let whole = bed.read_block(0..bed.n_variants()).unwrap();
    for size in [1, 7, 256, 5000] {
        let mut next = 0;
        for block in blocks(&bed, size) {
            let block = block.unwrap();
            assert_eq!(block.first_variant(), next);
            for j in 0..block.n_variants() {
                assert_eq!(block.variant(j), whole.variant(next + j));
            }
            next += block.n_variants();
        }
        assert_eq!(next, bed.n_variants());
    }
    assert!(
        bed.read_block(990..1001).is_err(),
        "a range past the end is an error"
    );
}

#[test]
fn subsets_by_sample_and_variant() {
    let bed = BedFile::open(data("hapmap_snprelate_60x5000/plinkhapmap")).unwrap();
    let whole = bed.read_block(0..bed.n_variants()).unwrap();
    let samples = vec![59, 0, 13, 13, 42];
    let variants = vec![4999, 3, 1000, 2];
    let sub = Subset::new(&bed, Some(samples.clone()), Some(variants.clone())).unwrap();
    assert_eq!(sub.n_samples(), 5);
    assert_eq!(sub.variants()[0].id, bed.variants()[4999].id);
    assert_eq!(sub.samples()[0].id, bed.samples()[59].id);
    let block = sub.read_block(0..4).unwrap();
    for (j, &v) in variants.iter().enumerate() {
        let want: Vec<f32> = samples.iter().map(|&s| whole.variant(v)[s]).collect();
        assert!(same(&block.variant(j).to_vec(), &want), "variant {v}");
    }
    // The generic gather and the .bed's own subset decode agree, missing calls included.
    let vcf_like = Subset::new(&bed, None, None).unwrap();
    let mut a = vec![0.0; 5];
    let mut b = vec![0.0; 5];
    for v in 0..bed.n_variants() {
        bed.read_variant_subset_into(v, &samples, &mut a).unwrap();
        let mut all = vec![0.0; 60];
        vcf_like.read_variant_into(v, &mut all).unwrap();
        for (k, &s) in samples.iter().enumerate() {
            b[k] = all[s];
        }
        assert!(same(&a, &b));
    }
    assert!(Subset::new(&bed, Some(vec![60]), None).is_err());
}

const HEAD: &str = "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n##FORMAT=<ID=DS,Number=1,Type=Float,Description=\"ALT dosage\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n";
const BODY: &str = "1\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/1\t1|1\t./.\n\
X\t20\trs2\tC\tT\t.\t.\t.\tGT\t1\t0\t0/.\n\
1\t30\trs3\tG\tA,T\t.\t.\t.\tGT\t1/2\t2/2\t0/0\n\
1\t40\trs4\tT\tC\t.\t.\t.\tGT:DS\t0/1:0.9\t1/1:.\t0/0:0.05\n";

#[test]
fn vcf_calls_haploid_dosage_and_split_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.vcf");
    std::fs::write(&p, format!("{HEAD}{BODY}")).unwrap();
    let split = VcfGenotypes::read_with(
        &p,
        VcfOptions {
            multiallelic: MultiAllelic::Split,
            use_dosage: true,
        },
    )
    .unwrap();
    let ids: Vec<(&str, &str)> = split
        .variants()
        .iter()
        .map(|v| (v.id.as_str(), v.allele1.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("rs1", "G"),
            ("rs2", "T"),
            ("rs3", "A"),
            ("rs3", "T"),
            ("rs4", "C")
        ]
    );
    let b = split.read_block(0..5).unwrap();
    let col = |j: usize| b.variant(j).to_vec();
    assert!(same(&col(0), &[1.0, 2.0, f32::NAN]), "GT, phased, missing");
    assert!(
        same(&col(1), &[2.0, 0.0, f32::NAN]),
        "haploid as homozygous; partial call missing"
    );
    assert!(same(&col(2), &[1.0, 0.0, 0.0]), "split: copies of A");
    assert!(same(&col(3), &[1.0, 2.0, 0.0]), "split: copies of T");
    assert!(
        same(&col(4), &[0.9, 2.0, 0.05]),
        "DS where present, GT where DS is missing"
    );
    assert_eq!(split.variants()[4].allele2, "T");

    let gt_only = VcfGenotypes::read_with(
        &p,
        VcfOptions {
            multiallelic: MultiAllelic::Skip,
            use_dosage: false,
        },
    )
    .unwrap();
    assert_eq!(gt_only.n_variants(), 3);
    assert_eq!(gt_only.skipped_multiallelic(), 1);
    assert!(same(
        &gt_only.read_block(2..3).unwrap().variant(0).to_vec(),
        &[1.0, 2.0, 0.0]
    ));
}

#[test]
fn bgzf_and_plain_gzip_vcf_read_the_same() {
    let plain = VcfGenotypes::read(data("1000g_lct_region_gaston/LCT.vcf")).unwrap();
    let gzip = VcfGenotypes::read(data("1000g_lct_region_gaston/LCT.vcf.gz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bgz_path = dir.path().join("LCT.vcf.bgz");
    let mut w = noodles::bgzf::io::Writer::new(std::fs::File::create(&bgz_path).unwrap());
    w.write_all(&std::fs::read(data("1000g_lct_region_gaston/LCT.vcf")).unwrap())
        .unwrap();
    w.finish().unwrap();
    let bgzf = VcfGenotypes::read(&bgz_path).unwrap();
    let whole = |g: &VcfGenotypes| g.read_block(0..g.n_variants()).unwrap();
    assert_eq!(plain.n_variants(), 607);
    assert_eq!(whole(&plain), whole(&gzip));
    assert_eq!(whole(&plain), whole(&bgzf));
    assert_eq!(plain.samples(), bgzf.samples());
}

#[test]
fn regenie_tables_align_to_the_fam() {
    let bed = BedFile::open(data("regenie_example/example")).unwrap();
    let ids: Vec<_> = bed.samples().iter().map(|s| s.id.clone()).collect();
    let opts01 = TableOptions {
        case_control_01: true,
        ..Default::default()
    };
    let pheno =
        SampleTable::read_phenotypes(data("regenie_example/phenotype_bin.txt"), &opts01).unwrap();
    let y1 = pheno.column("Y1").unwrap();
    assert_eq!(y1.kind, ColumnKind::CaseControl);
    // PROVENANCE.md: Y1 has 121 cases and 379 controls.
    assert_eq!(y1.values.iter().filter(|&&x| x == 1.0).count(), 121);
    assert_eq!(y1.values.iter().filter(|&&x| x == 0.0).count(), 379);
    let (aligned, report) = pheno.align(&ids).unwrap();
    assert_eq!(report.matched, 500);
    assert!(report.table_only.is_empty() && report.genotype_only.is_empty());
    assert_eq!(aligned.values.nrows(), 500);

    // In PLINK's default 1/2 coding the same file has only controls (1) and missing (0).
    let default = SampleTable::read_phenotypes(
        data("regenie_example/phenotype_bin.txt"),
        &TableOptions::default(),
    )
    .unwrap();
    let y1 = default.column("Y1").unwrap();
    assert!(y1.values.iter().all(|&x| x == 0.0 || x.is_nan()));

    let with_na =
        SampleTable::read_phenotypes(data("regenie_example/phenotype_bin_wNA.txt"), &opts01)
            .unwrap();
    assert!(with_na
        .columns()
        .iter()
        .any(|c| c.values.iter().any(|x| x.is_nan())));

    // Tab-separated covariates with an integer and a categorical column.
    let covar = SampleTable::read_covariates(
        data("regenie_example/covariates_wBin.txt"),
        &TableOptions::default(),
    )
    .unwrap();
    let dummies: Vec<&str> = covar
        .columns()
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::Dummy { .. }))
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        !dummies.is_empty() && dummies.iter().all(|n| n.starts_with("V5=")),
        "{dummies:?}"
    );
    let (aligned, _) = covar.select(&["V1", "V5"]).unwrap().align(&ids).unwrap();
    assert_eq!(aligned.names.len(), 1 + dummies.len());
}

#[test]
fn bolt_covariates_with_mismatched_ids_are_reported() {
    let bed = BedFile::open(data("bolt_lmm_eur_subset_1000g/EUR_subset")).unwrap();
    let covar = SampleTable::read_covariates(
        data("bolt_lmm_eur_subset_1000g/EUR_subset.pheno.covars"),
        &TableOptions::default(),
    )
    .unwrap();
    let keep: Vec<_> = bed.samples()[..100].iter().map(|s| s.id.clone()).collect();
    let in_table: std::collections::HashSet<_> = covar.ids().iter().cloned().collect();
    let expected = keep.iter().filter(|id| in_table.contains(*id)).count();
    let (aligned, report) = covar.align(&keep).unwrap();
    assert!(expected > 90, "fixture sanity: {expected}");
    assert_eq!(report.matched, expected);
    assert_eq!(report.genotype_only.len(), 100 - expected);
    assert_eq!(report.table_only.len(), covar.ids().len() - expected);
    assert_eq!(aligned.values.nrows(), 100);
    // Unmatched genotype samples get missing values, never a neighbour's.
    for id in &report.genotype_only {
        let row = keep.iter().position(|k| k == id).unwrap();
        assert!(aligned.values.row(row).iter().all(|x| x.is_nan()));
    }
}

/// Records with a negative `.bim` position are skipped, and every read path
/// (blocks across the gaps, single variants, sample subsets, raw bytes)
/// returns the records that were kept, as in the original fileset.
#[test]
fn negative_positions_skip_their_records_in_every_read() {
    let source = data("hapmap_snprelate_60x5000/plinkhapmap");
    if !source.with_extension("bed").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("neg");
    for ext in ["bed", "fam"] {
        std::fs::copy(source.with_extension(ext), prefix.with_extension(ext)).unwrap();
    }
    let bim = std::fs::read_to_string(source.with_extension("bim")).unwrap();
    let skip = |i: usize| i == 0 || (10..13).contains(&i) || i % 7 == 5;
    let mut kept = Vec::new();
    let text: String = bim
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<&str> = l.split_whitespace().collect();
            if skip(i) {
                f[3] = "-9";
            } else {
                kept.push(i);
            }
            f.join(" ") + "\n"
        })
        .collect();
    std::fs::write(prefix.with_extension("bim"), text).unwrap();
    let full = BedFile::open(&source).unwrap();
    let bed = BedFile::open(&prefix).unwrap();
    assert_eq!(bed.n_variants(), kept.len());
    assert_eq!(bed.skipped_negative_bp(), full.n_variants() - kept.len());
    assert_eq!(bed.skipped_on_load(), bed.skipped_negative_bp());
    for (k, &i) in kept.iter().enumerate().take(200) {
        assert_eq!(bed.variants()[k], full.variants()[i]);
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let block = bed.read_block(0..60).unwrap();
    for (k, &record) in kept.iter().enumerate().take(60) {
        let one = full.read_block(record..record + 1).unwrap();
        let want = bits(&one.variant(0).to_vec());
        assert_eq!(bits(&block.variant(k).to_vec()), want, "variant {k}");
        let mut col = vec![0.0f32; bed.n_samples()];
        bed.read_variant_into(k, &mut col).unwrap();
        assert_eq!(bits(&col), want);
        let mut sub = vec![0.0f32; 3];
        bed.read_variant_subset_into(k, &[0, 5, 59], &mut sub)
            .unwrap();
        assert_eq!(sub[2].to_bits(), want[59]);
    }
    let mut raw = vec![0u8; 60 * bed.bytes_per_variant()];
    bed.read_raw(0..60, &mut raw).unwrap();
    let mut one = vec![0u8; bed.bytes_per_variant()];
    for (k, &record) in kept.iter().enumerate().take(60) {
        full.read_raw(record..record + 1, &mut one).unwrap();
        assert_eq!(
            &raw[k * one.len()..(k + 1) * one.len()],
            &one[..],
            "record {k}"
        );
    }
}

#[test]
fn bgen_blocks_decoded_in_parallel_equal_variant_by_variant_reads() {
    use genolens_io::bgen::{BgenFile, RefAllele};
    for (file, sample) in [
        ("regenie_example/example.bgen", None),
        (
            "regenie_example/example_3chr_zstd.bgen",
            Some(data("regenie_example/example_3chr.sample")),
        ),
    ] {
        let bgen = BgenFile::open(data(file), sample.as_deref(), RefAllele::First).unwrap();
        let (n, m) = (bgen.n_samples(), bgen.n_variants());
        // Blocks of an odd size, so that they start mid-file.
        let mut read = 0;
        for block in blocks(&bgen, 77) {
            let block = block.unwrap();
            for j in 0..block.n_variants() {
                let mut one = vec![0f32; n];
                bgen.read_variant_into(block.first_variant() + j, &mut one)
                    .unwrap();
                assert!(
                    same(block.dosages().column(j).as_slice().unwrap(), &one),
                    "{file}: variant {}",
                    block.first_variant() + j
                );
            }
            read += block.n_variants();
        }
        assert_eq!(read, m, "{file}");
    }
}

/// regenie ships the same 500 x 1000 genotypes as `example.bed` and as
/// `example.pgen` (1-bit records: a `.pgen` that plink2 wrote). Read as a
/// PLINK 2 fileset — with its `.pvar`/`.psam`, with the `.bim`/`.fam` in
/// their place, and with the `.bed` itself under the `.pgen` name (mode
/// 0x01) — every read equals the `.bed`'s; parallel blocks of an odd size
/// equal variant-by-variant reads.
#[test]
fn pgen_reads_equal_the_bed_of_the_same_genotypes() {
    use genolens_io::pgen::PgenFile;
    let r = |f: &str| data(&format!("regenie_example/{f}"));
    let bed = BedFile::open(r("example")).unwrap();
    let (n, m) = (bed.n_samples(), bed.n_variants());
    let want = bed.read_block(0..m).unwrap();
    let want_calls = bed.read_hardcalls(0..m).unwrap();
    let filesets = [
        PgenFile::open(r("example")).unwrap(),
        PgenFile::open_paths(&r("example.pgen"), &r("example.bim"), &r("example.fam")).unwrap(),
        PgenFile::open_paths(&r("example.bed"), &r("example.pvar"), &r("example.psam")).unwrap(),
    ];
    for (k, pgen) in filesets.iter().enumerate() {
        assert_eq!((pgen.n_samples(), pgen.n_variants()), (n, m), "fileset {k}");
        assert!(pgen.hardcalls_exact());
        assert_eq!(
            pgen.variants()
                .iter()
                .map(|v| (&v.id, v.pos, &v.allele1, &v.allele2))
                .collect::<Vec<_>>(),
            bed.variants()
                .iter()
                .map(|v| (&v.id, v.pos, &v.allele1, &v.allele2))
                .collect::<Vec<_>>(),
            "fileset {k}"
        );
        let got = pgen.read_block(0..m).unwrap();
        assert!(got == want, "fileset {k}: dosages differ from the .bed");
        assert_eq!(
            pgen.read_hardcalls(0..m).unwrap().as_bytes(),
            want_calls.as_bytes()
        );
        for block in blocks(pgen, 77) {
            let block = block.unwrap();
            for j in 0..block.n_variants() {
                let mut one = vec![0f32; n];
                pgen.read_variant_into(block.first_variant() + j, &mut one)
                    .unwrap();
                assert!(same(block.dosages().column(j).as_slice().unwrap(), &one));
            }
        }
    }
    // IDs: the .psam's FID and IID, as the .fam has them (regenie's .psam
    // leaves sex unknown and rounds the phenotype, so only IDs compare).
    let ids = |s: &dyn GenotypeSource| s.samples().iter().map(|x| x.id.clone()).collect::<Vec<_>>();
    assert!(ids(&filesets[0]) == ids(&bed), "sample IDs differ");
}
