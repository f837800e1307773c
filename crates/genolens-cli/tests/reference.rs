//! `genolens` against the reference tools (Debian's `plink2`, `plink1.9`) on the
//! bundled real datasets. `cargo xtask ci` installs the tools; without them these
//! tests fail rather than pass vacuously, unless GENOLENS_SKIP_REFERENCE=1 says so.

use genolens::io::plink::BedFile;
use genolens::io::vcf::VcfGenotypes;
use genolens::io::GenotypeSource;
use std::path::Path;

mod common;

use common::*;

#[test]
fn freq_is_identical_to_plink2_on_every_bundled_fileset() {
    let dir = tempfile::tempdir().unwrap();
    for fs in FILESETS {
        let prefix = data(fs);
        let name = prefix.file_name().unwrap().to_str().unwrap().to_string();
        let ours = dir.path().join(format!("g_{name}"));
        ok(genolens(&[
            "freq",
            "--bfile",
            s(&prefix),
            "--out",
            s(&ours),
        ]));

        // Debian's plink2 2.00a3.5 miscounts .bed files whose padding bits are not
        // zero (LCT.bed has 01 there); like PLINK 1.9 we ignore padding bits, so the
        // reference runs on a copy with them zeroed. Other files are unchanged by it.
        let ref_input = zero_padding_copy(&prefix, dir.path());
        let theirs = dir.path().join(format!("p_{name}"));
        let Some(_) = reference(
            "plink2",
            &["--bfile", s(&ref_input), "--freq", "--out", s(&theirs)],
        ) else {
            return;
        };
        assert_same_text(
            &ours.with_extension("afreq"),
            &theirs.with_extension("afreq"),
            &format!("{fs} .afreq"),
        );
    }
}

#[test]
fn lct_padding_bits_do_not_change_counts() {
    // The bytes genolens reads must not depend on the padding; PLINK 1.9 agrees.
    let dir = tempfile::tempdir().unwrap();
    let prefix = data("1000g_lct_region_gaston/LCT");
    let zeroed = zero_padding_copy(&prefix, dir.path());
    let a = BedFile::open(&prefix).unwrap().read_block(0..607).unwrap();
    let b = BedFile::open(&zeroed).unwrap().read_block(0..607).unwrap();
    assert_eq!(a.missing_mask(), b.missing_mask());
    assert_eq!(
        a.dosages().mapv(|x| x.to_bits()),
        b.dosages().mapv(|x| x.to_bits())
    );
    let out = dir.path().join("p19");
    if reference(
        "plink1.9",
        &["--bfile", s(&prefix), "--freq", "--out", s(&out)],
    )
    .is_none()
    {
        return;
    }
    let frq = std::fs::read_to_string(out.with_extension("frq")).unwrap();
    let nchrobs: Vec<u64> = frq
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().last().unwrap().parse().unwrap())
        .collect();
    let missing_per_variant: Vec<u64> = (0..607)
        .map(|j| a.variant(j).iter().filter(|d| d.is_nan()).count() as u64)
        .collect();
    for (j, obs) in nchrobs.iter().enumerate() {
        assert_eq!(*obs, 2 * (503 - missing_per_variant[j]), "variant {j}");
    }
}

#[test]
fn convert_lct_vcf_matches_plink2_and_the_bundled_bed() {
    let dir = tempfile::tempdir().unwrap();
    let vcf = data("1000g_lct_region_gaston/LCT.vcf.gz");
    let ours = dir.path().join("ours");
    ok(genolens(&[
        "convert",
        "--vcf",
        s(&vcf),
        "--make-bed",
        "--out",
        s(&ours),
    ]));
    let theirs = dir.path().join("theirs");
    if reference(
        "plink2",
        &["--vcf", s(&vcf), "--make-bed", "--out", s(&theirs)],
    )
    .is_some()
    {
        assert_same_files(&ours, &theirs);
    }

    // Genotypes read from the VCF equal those of LCT.bed, matched by sample IID
    // and variant ID, with the counted allele oriented the same way.
    let from_vcf = VcfGenotypes::read(&vcf).unwrap();
    let bed = BedFile::open(data("1000g_lct_region_gaston/LCT")).unwrap();
    assert_eq!(from_vcf.n_variants(), bed.n_variants());
    let row_in_bed: std::collections::HashMap<&str, usize> = bed
        .samples()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.iid.as_str(), i))
        .collect();
    let a = from_vcf.read_block(0..from_vcf.n_variants()).unwrap();
    let b = bed.read_block(0..bed.n_variants()).unwrap();
    let mut compared = 0;
    for (j, (va, vb)) in from_vcf.variants().iter().zip(bed.variants()).enumerate() {
        assert_eq!((va.id.as_str(), va.pos), (vb.id.as_str(), vb.pos));
        let flip = va.allele1 != vb.allele1;
        if flip {
            assert_eq!(
                (&va.allele1, &va.allele2),
                (&vb.allele2, &vb.allele1),
                "{}",
                va.id
            );
        }
        for (i, sample) in from_vcf.samples().iter().enumerate() {
            let r = row_in_bed[sample.id.iid.as_str()];
            let (x, y) = (a.variant(j)[i], b.variant(j)[r]);
            let y = if flip { 2.0 - y } else { y };
            assert!(
                x == y || (x.is_nan() && y.is_nan()),
                "{} {}: vcf {x} bed {y}",
                va.id,
                sample.id.iid
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 503 * 607);
}

#[test]
fn convert_spec_vcf_matches_plink2_max_alleles_2() {
    let dir = tempfile::tempdir().unwrap();
    let vcf = data("hapmap_snprelate_60x5000/sequence.vcf");
    let ours = dir.path().join("ours");
    ok(genolens(&[
        "convert",
        "--vcf",
        s(&vcf),
        "--max-alleles",
        "2",
        "--make-bed",
        "--out",
        s(&ours),
    ]));
    let theirs = dir.path().join("theirs");
    if reference(
        "plink2",
        &[
            "--vcf",
            s(&vcf),
            "--max-alleles",
            "2",
            "--make-bed",
            "--out",
            s(&theirs),
        ],
    )
    .is_some()
    {
        assert_same_files(&ours, &theirs);
    }
    // Without a policy the multi-allelic records are an error, and nothing is written.
    let failed = dir.path().join("failed");
    let out = genolens(&[
        "convert",
        "--vcf",
        s(&vcf),
        "--make-bed",
        "--out",
        s(&failed),
    ]);
    assert!(!out.status.success());
    assert!(!failed.with_extension("bed").exists() && !failed.with_extension("bim").exists());
}

#[test]
fn bad_input_exits_non_zero_with_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("bad");
    let absent = dir.path().join("absent");
    std::fs::write(prefix.with_extension("bed"), [0x6c, 0x1b, 0x01, 0x00]).unwrap();
    std::fs::write(
        prefix.with_extension("bim"),
        "1 rs1 0 1 A G\n1 rs2 0 2 A G\n",
    )
    .unwrap();
    std::fs::write(prefix.with_extension("fam"), "f a 0 0 0 -9\n").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["freq", "--bfile", s(&prefix), "--out"], "truncated"),
        (&["info", "--bfile", s(&prefix)], "truncated"),
        (&["freq", "--bfile", s(&absent), "--out"], "No such file"),
        (
            &["convert", "--bfile", s(&prefix), "--make-bed", "--out"],
            "truncated",
        ),
    ];
    for (args, cause) in cases {
        let out_prefix = dir.path().join("result");
        let mut args: Vec<&str> = args.to_vec();
        if args.last() == Some(&"--out") {
            args.push(s(&out_prefix));
        }
        let out = genolens(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err:?}"
        );
        assert!(
            err.starts_with("genolens: error: ") && err.contains(cause),
            "{args:?}: {err}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !n.starts_with("bad."))
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

#[test]
fn info_reports_counts_and_missing_rate() {
    let out = genolens(&[
        "info",
        "--bfile",
        s(&data("hapmap_snprelate_60x5000/plinkhapmap")),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |k: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}\t")))
            .unwrap_or_else(|| panic!("no {k} in {text}"))
            .to_string()
    };
    assert_eq!(field("samples"), "60");
    assert_eq!(field("variants"), "5000");
    assert_eq!(field("chromosomes"), "23");
    // PROVENANCE.md: 1009 missing calls.
    assert_eq!(field("missing_calls"), "1009");
    let rate: f64 = field("missing_rate").parse().unwrap();
    assert!((rate - 1009.0 / 300000.0).abs() < 1e-8);
}

/// A `.bim` position below 0 marks a variant to leave out (plink 1.9 and 2
/// load the rest, e.g. a mouse panel with −9 for unplaced markers): the same
/// variants, frequencies and `--make-bed` output as plink2, and plink2's
/// count line in the log; all positions negative is an error.
#[test]
fn negative_bp_positions_are_skipped_as_plink2_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let source = data("hapmap_snprelate_60x5000/plinkhapmap");
    let prefix = dir.path().join("neg");
    for ext in ["bed", "fam"] {
        std::fs::copy(source.with_extension(ext), prefix.with_extension(ext)).unwrap();
    }
    let bim = std::fs::read_to_string(source.with_extension("bim")).unwrap();
    let lines: Vec<&str> = bim.lines().collect();
    let n = lines.len();
    // The first record, a run, scattered records and the last one.
    let negative = |i: usize| i == 0 || (100..140).contains(&i) || i % 97 == 3 || i == n - 1;
    let mut text = String::new();
    let mut skipped = 0;
    for (i, line) in lines.iter().enumerate() {
        let mut f: Vec<&str> = line.split_whitespace().collect();
        if negative(i) {
            f[3] = if i % 2 == 0 { "-9" } else { "-1" };
            skipped += 1;
        }
        text.push_str(&f.join("\t"));
        text.push('\n');
    }
    std::fs::write(prefix.with_extension("bim"), &text).unwrap();

    let bed = BedFile::open(&prefix).unwrap();
    assert_eq!(bed.n_variants(), n - skipped);
    assert_eq!(bed.skipped_negative_bp(), skipped);

    let Some((g, p)) = run_both(
        dir.path(),
        &["freq", "--bfile", s(&prefix)],
        &["--bfile", s(&prefix), "--freq"],
    ) else {
        return;
    };
    assert_same_text(
        &g.with_extension("afreq"),
        &p.with_extension("afreq"),
        "afreq with negative positions",
    );
    // The count line of Debian's plink2 (2.00a3.5), in both logs.
    let line = format!(
        "{} out of {n} variants loaded from {}.",
        n - skipped,
        prefix.with_extension("bim").display()
    );
    let ours_log = std::fs::read_to_string(g.with_extension("log")).unwrap();
    assert!(ours_log.contains(&line), "{ours_log}");
    let theirs_log = std::fs::read_to_string(p.with_extension("log")).unwrap();
    assert!(
        theirs_log.replace('\n', " ").contains(&line),
        "{theirs_log}"
    );

    let (gc, pc) = (dir.path().join("gc"), dir.path().join("pc"));
    ok(genolens(&[
        "convert",
        "--bfile",
        s(&prefix),
        "--make-bed",
        "--out",
        s(&gc),
    ]));
    if reference(
        "plink2",
        &["--bfile", s(&prefix), "--make-bed", "--out", s(&pc)],
    )
    .is_some()
    {
        assert_same_files(&gc, &pc);
    }

    // Every position negative: a clear error naming the file, no output.
    let all: String = lines
        .iter()
        .map(|l| {
            let mut f: Vec<&str> = l.split_whitespace().collect();
            f[3] = "-9";
            f.join("\t") + "\n"
        })
        .collect();
    std::fs::write(prefix.with_extension("bim"), all).unwrap();
    let none = dir.path().join("none");
    let out = genolens(&["freq", "--bfile", s(&prefix), "--out", s(&none)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("neg.bim") && err.contains("excluded by negative bp coordinates"),
        "{err}"
    );
    assert!(!none.with_extension("afreq").exists());
}

/// A small VCF with fractional DS dosages and 3 % missing calls, from a
/// fixed linear congruential stream, and a phenotype for its samples.
fn dosage_vcf(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut state = 99u64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (n, m) = (80, 40);
    let mut vcf = String::from(
        "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n\
         ##FORMAT=<ID=DS,Number=1,Type=Float,Description=\"d\">\n##contig=<ID=1>\n\
         #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT",
    );
    for i in 0..n {
        vcf.push_str(&format!("\ts{i}"));
    }
    vcf.push('\n');
    for j in 0..m {
        let p = 0.05 + 0.55 * uniform();
        vcf.push_str(&format!(
            "1\t{}\tv{j}\tA\tG\t.\t.\t.\tGT:DS",
            1000 + 100 * j
        ));
        for _ in 0..n {
            let d = (2.0 * p + 1.2 * (uniform() - 0.5)).clamp(0.0, 2.0);
            if uniform() < 0.03 {
                vcf.push_str("\t./.:.");
            } else {
                let gt = ["0/0", "0/1", "1/1"][d.round() as usize];
                vcf.push_str(&format!("\t{gt}:{d:.3}"));
            }
        }
        vcf.push('\n');
    }
    let mut pheno = String::from("#IID\tY\n");
    for i in 0..n {
        pheno.push_str(&format!("s{i}\t{:.4}\n", 4.0 * uniform() - 2.0));
    }
    let (v, p) = (dir.join("ds.vcf"), dir.join("ds.pheno"));
    std::fs::write(&v, vcf).unwrap();
    std::fs::write(&p, pheno).unwrap();
    (v, p)
}

/// Two `.glm.linear` files with the same rows, every differing field within
/// 1e-4 relative (plink2's printed precision for dosage regression).
fn assert_glm_within_1e4(ours: &Path, plink2: &Path, label: &str) {
    let (a, b) = (read(ours), read(plink2));
    assert_eq!(a.lines().count(), b.lines().count(), "{label}");
    for (x, y) in a.lines().zip(b.lines()).skip(1) {
        for (u, v) in x.split('\t').zip(y.split('\t')) {
            if u != v {
                let (fu, fv): (f64, f64) = (u.parse().unwrap(), v.parse().unwrap());
                assert!(
                    (fu - fv).abs() <= 1e-4 * fv.abs().max(1e-300),
                    "{label}: {x} vs plink2 {y}"
                );
            }
        }
    }
}

/// BGEN input against plink2 reading the same files: regenie's zlib and zstd
/// examples, and plink2's own exports (BGEN 1.1, 1.2 at 8 and 16 bits, 1.3)
/// of HapMap (missing calls) and of a VCF with fractional dosages. `.afreq`
/// byte-identical, `--make-bed` byte-identical, `gwas` within plink2's
/// printed precision (dosage regression).
#[test]
fn bgen_reads_as_plink2_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = |f: &str| data(&format!("regenie_example/{f}"));
    let (vcf, pheno) = dosage_vcf(d);
    // (label, bgen, sample) for genolens; plink2 gets the same plus ref-first.
    let mut cases = vec![
        ("regenie zlib".to_string(), r("example.bgen"), None),
        (
            "regenie zstd".to_string(),
            r("example_3chr_zstd.bgen"),
            Some(r("example_3chr.sample")),
        ),
    ];
    for (source, flag, tag) in [
        (
            data("hapmap_snprelate_60x5000/plinkhapmap"),
            "--bfile",
            "hapmap",
        ),
        (vcf.clone(), "--vcf", "dosage"),
    ] {
        for (k, export) in [
            vec!["bgen-1.1"],
            vec!["bgen-1.2", "bits=8"],
            vec!["bgen-1.2", "bits=16"],
            vec!["bgen-1.3"],
        ]
        .into_iter()
        .enumerate()
        {
            let out = d.join(format!("{tag}{k}"));
            let src = if flag == "--vcf" {
                vec![flag, s(&source), "dosage=DS"]
            } else {
                vec![flag, s(&source)]
            };
            let Some(_) = reference(
                "plink2",
                &[
                    &src[..],
                    &["--export"],
                    &export[..],
                    &["ref-first", "--out", s(&out)],
                ]
                .concat(),
            ) else {
                return;
            };
            cases.push((
                format!("{tag} {}", export.join(" ")),
                with(&out, "bgen"),
                Some(with(&out, "sample")),
            ));
        }
    }
    for (label, bgen, sample) in &cases {
        let mut ours = vec!["--bgen", s(bgen)];
        let mut theirs = vec!["--bgen", s(bgen), "ref-first"];
        if let Some(sample) = sample {
            ours.extend(["--sample", s(sample)]);
            theirs.extend(["--sample", s(sample)]);
        }
        let (g, p) = (d.join("g"), d.join("p"));
        ok(genolens(
            &[&["convert"][..], &ours, &["--make-bed", "--out", s(&g)]].concat(),
        ));
        ok(genolens(
            &[&["freq"][..], &ours, &["--out", s(&g)]].concat(),
        ));
        reference(
            "plink2",
            &[&theirs[..], &["--freq", "--make-bed", "--out", s(&p)]].concat(),
        );
        for ext in ["afreq", "bed", "bim", "fam"] {
            assert_eq!(
                std::fs::read(with(&g, ext)).unwrap(),
                std::fs::read(with(&p, ext)).unwrap(),
                "{label}: .{ext}"
            );
        }
        if label.starts_with("dosage") {
            ok(genolens(
                &[
                    &["gwas"][..],
                    &ours,
                    &["--pheno", s(&pheno), "--out", s(&g)],
                ]
                .concat(),
            ));
            reference(
                "plink2",
                &[
                    &theirs[..],
                    &[
                        "--pheno",
                        s(&pheno),
                        "--glm",
                        "allow-no-covars",
                        "--out",
                        s(&p),
                    ],
                ]
                .concat(),
            );
            assert_glm_within_1e4(&with(&g, "Y.glm.linear"), &with(&p, "Y.glm.linear"), label);
        }
    }
    assert_eq!(cases.len(), 10);
}

#[test]
fn bad_bgen_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = std::fs::read(data("regenie_example/example.bgen")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "truncated"),
        (
            "not bgen",
            b"hello world, this is text not a bgen file".to_vec(),
            "not a BGEN file",
        ),
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "runs past the end",
        ),
        (
            "huge sample count",
            {
                let mut b = good.clone();
                b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
                b
            },
            "samples",
        ),
    ];
    for (label, bytes, says) in cases {
        let path = d.join("bad.bgen");
        std::fs::write(&path, bytes).unwrap();
        let out = d.join("o");
        let o = genolens(&["freq", "--bgen", s(&path), "--out", s(&out)]);
        assert!(!o.status.success(), "{label} should fail");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("bad.bgen") && err.contains(says),
            "{label}: {err}"
        );
        assert!(!with(&out, "afreq").exists(), "{label} left output");
    }
    // A corrupt genotype block fails when read, naming the variant.
    let mut corrupt = good.clone();
    let at = good.len() - 20;
    corrupt[at..at + 8].copy_from_slice(&[0xff; 8]);
    let path = d.join("bad.bgen");
    std::fs::write(&path, corrupt).unwrap();
    let o = genolens(&["freq", "--bgen", s(&path), "--out", s(&d.join("o"))]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("variant 1000"), "{err}");
}

/// A VCF for plink2 to turn into a `.pgen` with every dosage encoding: per
/// variant, no, 2 %, 30 % or all samples with a fractional dosage (the last
/// without missing calls, so plink2 stores dosages densely), phased calls on
/// every third variant, from a fixed linear congruential stream; and a
/// phenotype for its samples.
fn pgen_dosage_vcf(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut state = 2024u64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (n, m) = (300, 96);
    let mut vcf = String::from(
        "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n\
         ##FORMAT=<ID=DS,Number=1,Type=Float,Description=\"d\">\n##contig=<ID=1>\n\
         #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT",
    );
    for i in 0..n {
        vcf.push_str(&format!("\ts{i}"));
    }
    vcf.push('\n');
    for j in 0..m {
        let p = 0.05 + 0.5 * uniform();
        let fractional = [0.0, 0.02, 0.3, 1.0][j % 4];
        let dense = j % 8 == 7;
        let sep = if j % 3 == 0 { '|' } else { '/' };
        vcf.push_str(&format!("1\t{}\tv{j}\tA\tG\t.\t.\t.\tGT:DS", 1000 + 10 * j));
        for _ in 0..n {
            let g = (uniform() < p) as u8 + (uniform() < p) as u8;
            if !dense && uniform() < 0.03 {
                vcf.push_str(&format!("\t.{sep}.:."));
                continue;
            }
            let mut d = f64::from(g);
            if dense || uniform() < fractional {
                d = (d + 0.9 * (uniform() - 0.5)).clamp(0.0, 2.0);
                if dense {
                    // Never an exact hard call: every sample keeps a dosage.
                    d = d.clamp(0.01, 1.99);
                    if (d - d.round()).abs() < 0.005 {
                        d += 0.01;
                    }
                }
            }
            let gt = match (g, uniform() < 0.5) {
                (0, _) => format!("0{sep}0"),
                (1, true) if sep == '|' => "1|0".to_string(),
                (1, _) => format!("0{sep}1"),
                _ => format!("1{sep}1"),
            };
            vcf.push_str(&format!("\t{gt}:{d:.3}"));
        }
        vcf.push('\n');
    }
    let mut pheno = String::from("#IID\tY\n");
    for i in 0..n {
        pheno.push_str(&format!("s{i}\t{:.4}\n", 4.0 * uniform() - 2.0));
    }
    let (v, p) = (dir.join("pds.vcf"), dir.join("pds.pheno"));
    std::fs::write(&v, vcf).unwrap();
    std::fs::write(&p, pheno).unwrap();
    (v, p)
}

/// The record types of a mode 0x10 `.pgen` (4- or 8-bit, per its header).
fn pgen_record_types(pgen: &Path) -> Vec<u8> {
    let b = std::fs::read(pgen).unwrap();
    let m = u32::from_le_bytes(b[3..7].try_into().unwrap()) as usize;
    assert!(m <= 65536, "one variant block");
    if b[11] & 4 != 0 {
        b[20..20 + m].to_vec()
    } else {
        (0..m)
            .map(|k| (b[20 + k / 2] >> (4 * (k % 2))) & 15)
            .collect()
    }
}

/// PGEN input against plink2 reading the same fileset: regenie's shipped
/// `.pgen`, and plink2's `--make-pgen` of HapMap, wheat and the EUR subset
/// (between them every hard-call record type plink2 writes: 2-bit, 1-bit,
/// the three difflist fills, LD-compressed and inverted), of HapMap with a
/// zstd `.pvar` (`vzs`), of regenie's zstd BGEN, of a VCF with phased calls
/// and all three dosage encodings, and regenie's fileset with negative
/// positions in the `.pvar`. `.afreq`, `--make-bed` byte-identical; `gwas` on
/// dosages within plink2's printed precision; the negative-position count in
/// the log as plink2 prints it.
#[test]
fn pgen_reads_as_plink2_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = |f: &str| data(&format!("regenie_example/{f}"));
    let (vcf, pheno) = pgen_dosage_vcf(d);
    // (label, prefix, plink2 needs `vzs`)
    let mut cases = vec![("regenie shipped".to_string(), r("example"), false)];
    let make = |label: &str, source: &[&str], vzs: bool| -> Option<std::path::PathBuf> {
        let out = d.join(label.replace(' ', "_"));
        let mut args = source.to_vec();
        args.extend(["--make-pgen"]);
        if vzs {
            args.push("vzs");
        }
        args.extend(["--out", s(&out)]);
        reference("plink2", &args).map(|_| out)
    };
    let sources: Vec<(&str, Vec<String>, bool)> = vec![
        (
            "hapmap",
            vec![
                "--bfile".into(),
                s(&data("hapmap_snprelate_60x5000/plinkhapmap")).into(),
            ],
            false,
        ),
        (
            "hapmap vzs",
            vec![
                "--bfile".into(),
                s(&data("hapmap_snprelate_60x5000/plinkhapmap")).into(),
            ],
            true,
        ),
        (
            "wheat",
            vec!["--bfile".into(), s(&data("bglr_wheat/wheat")).into()],
            false,
        ),
        (
            "eur",
            vec![
                "--bfile".into(),
                s(&data("bolt_lmm_eur_subset_1000g/EUR_subset")).into(),
            ],
            false,
        ),
        (
            "regenie zstd bgen",
            vec![
                "--bgen".into(),
                s(&r("example_3chr_zstd.bgen")).into(),
                "ref-first".into(),
                "--sample".into(),
                s(&r("example_3chr.sample")).into(),
            ],
            false,
        ),
        (
            "dosage",
            vec!["--vcf".into(), s(&vcf).into(), "dosage=DS".into()],
            false,
        ),
    ];
    for (label, source, vzs) in &sources {
        let source: Vec<&str> = source.iter().map(String::as_str).collect();
        let Some(prefix) = make(label, &source, *vzs) else {
            return;
        };
        cases.push((label.to_string(), prefix, *vzs));
    }
    // The record types the files exercise.
    let mut types = std::collections::BTreeSet::new();
    for (_, prefix, _) in &cases {
        types.extend(pgen_record_types(&with(prefix, "pgen")));
    }
    for low in [0u8, 1, 2, 3, 4, 6, 7] {
        assert!(
            types.iter().any(|t| t & 7 == low),
            "no record of type {low}: {types:?}"
        );
    }
    for (bits, what) in [
        (0x10, "phased"),
        (0x20, "dosage list"),
        (0x40, "dense dosage"),
        (0x60, "dosage bitarray"),
    ] {
        let mask = if bits == 0x10 { 0x10 } else { 0x60 };
        assert!(
            types.iter().any(|t| t & mask == bits),
            "no {what} record: {types:?}"
        );
    }
    // Negative positions in the .pvar drop those variants, as plink2 does.
    let neg = d.join("neg");
    for ext in ["pgen", "psam"] {
        std::fs::copy(with(&r("example"), ext), with(&neg, ext)).unwrap();
    }
    let pvar: String = read(&with(&r("example"), "pvar"))
        .lines()
        .enumerate()
        .map(|(k, l)| {
            let mut f: Vec<String> = l.split('\t').map(String::from).collect();
            if k > 0 && k % 97 == 0 {
                f[1] = format!("-{}", f[1]);
            }
            f.join("\t") + "\n"
        })
        .collect();
    std::fs::write(with(&neg, "pvar"), pvar).unwrap();
    cases.push(("negative positions".into(), neg, false));

    for (label, prefix, vzs) in &cases {
        let (g, p) = (d.join("g"), d.join("p"));
        let mut theirs = vec!["--pfile", s(prefix)];
        if *vzs {
            theirs.push("vzs");
        }
        ok(genolens(&[
            "convert",
            "--pfile",
            s(prefix),
            "--make-bed",
            "--out",
            s(&g),
        ]));
        ok(genolens(&["freq", "--pfile", s(prefix), "--out", s(&g)]));
        reference(
            "plink2",
            &[&theirs[..], &["--freq", "--make-bed", "--out", s(&p)]].concat(),
        );
        for ext in ["afreq", "bed", "bim", "fam"] {
            assert_eq!(
                std::fs::read(with(&g, ext)).unwrap(),
                std::fs::read(with(&p, ext)).unwrap(),
                "{label}: .{ext}"
            );
        }
        if label == "negative positions" {
            let line = "990 out of 1000 variants loaded from";
            assert!(read(&with(&p, "log")).contains(line));
            assert!(
                read(&with(&g, "log")).contains(&format!("{line} {}", s(&with(prefix, "pvar"))))
            );
        }
        if label == "dosage" {
            ok(genolens(&[
                "gwas",
                "--pfile",
                s(prefix),
                "--pheno",
                s(&pheno),
                "--out",
                s(&g),
            ]));
            reference(
                "plink2",
                &[
                    &theirs[..],
                    &[
                        "--pheno",
                        s(&pheno),
                        "--glm",
                        "allow-no-covars",
                        "--out",
                        s(&p),
                    ],
                ]
                .concat(),
            );
            assert_glm_within_1e4(&with(&g, "Y.glm.linear"), &with(&p, "Y.glm.linear"), label);
        }
    }
    assert_eq!(cases.len(), 8);
}

#[test]
fn bad_pgen_filesets_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = |f: &str| data(&format!("regenie_example/{f}"));
    let good = std::fs::read(r("example.pgen")).unwrap();
    let pvar = read(&r("example.pvar"));
    let psam = read(&r("example.psam"));
    let set = |pgen: &[u8], pvar: &str, psam: &str| {
        let prefix = d.join("bad");
        std::fs::write(with(&prefix, "pgen"), pgen).unwrap();
        std::fs::write(with(&prefix, "pvar"), pvar).unwrap();
        std::fs::write(with(&prefix, "psam"), psam).unwrap();
        prefix
    };
    // A 1-bit record's difflist naming sample 500 of 500: the first record's
    // common-code byte and bitarray (1 + 63 bytes) are followed by its
    // difflist, whose first group start is set past the last sample.
    let first_record = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let mut past_samples = good.clone();
    let list = first_record + 1 + 500usize.div_ceil(8);
    past_samples[list] = 1;
    past_samples[list + 1..list + 3].copy_from_slice(&500u16.to_le_bytes());
    let mut multi = pvar
        .lines()
        .map(|l| l.to_string() + "\n")
        .collect::<Vec<_>>();
    multi[5] = multi[5].trim_end().to_string() + ",T\n";
    // (label, .pgen bytes, .pvar, .psam, the file the error names, what it says)
    type Case<'a> = (&'a str, Vec<u8>, String, String, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "empty",
            Vec::new(),
            pvar.clone(),
            psam.clone(),
            "bad.pgen",
            "magic",
        ),
        (
            "text",
            b"hello, not a pgen".to_vec(),
            pvar.clone(),
            psam.clone(),
            "bad.pgen",
            "magic",
        ),
        (
            "truncated header",
            good[..300].to_vec(),
            pvar.clone(),
            psam.clone(),
            "bad.pgen",
            "truncated",
        ),
        (
            "truncated records",
            good[..good.len() - 100].to_vec(),
            pvar.clone(),
            psam.clone(),
            "bad.pgen",
            "truncated",
        ),
        (
            "counts",
            good.clone(),
            pvar.lines()
                .take(900)
                .map(|l| l.to_string() + "\n")
                .collect(),
            psam.clone(),
            "bad.pgen",
            "the .pvar has 899 variants",
        ),
        (
            "pgi",
            [&good[..2], &[0x20][..], &good[3..]].concat(),
            pvar.clone(),
            psam.clone(),
            "bad.pgen",
            ".pgi",
        ),
        (
            "fixed dosage",
            [&good[..2], &[0x03][..], &good[3..]].concat(),
            pvar.clone(),
            psam.clone(),
            "bad.pgen",
            "0x03",
        ),
        (
            "multi-allelic",
            good.clone(),
            multi.concat(),
            psam.clone(),
            "bad.pvar",
            "multi-allelic",
        ),
        (
            "pvar columns",
            good.clone(),
            pvar.replace("#CHROM\tPOS", "#CHROM\tPOSITION"),
            psam.clone(),
            "bad.pvar",
            "no POS column",
        ),
        (
            "psam duplicate",
            good.clone(),
            pvar.clone(),
            psam.replacen("\n2\t2\t", "\n1\t1\t", 1),
            "bad.psam",
            "duplicate",
        ),
        (
            "difflist",
            past_samples,
            pvar.clone(),
            psam.clone(),
            "bad.pgen",
            "record 1",
        ),
    ];
    for (label, pgen, pvar, psam, file, says) in cases {
        let prefix = set(&pgen, &pvar, &psam);
        let out = d.join("o");
        let o = genolens(&["freq", "--pfile", s(&prefix), "--out", s(&out)]);
        assert!(!o.status.success(), "{label} should fail");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(file) && err.contains(says), "{label}: {err}");
        assert!(!with(&out, "afreq").exists(), "{label} left output");
    }
}

/// Numeric matrices give the calls of the `.bed` of the same genotypes:
/// BGLR's `wheat_X.csv` (0/1 of inbred lines, `--matrix-coding inbred`)
/// converts to a `.bed` byte-identical to the shipped `wheat.bed`, with the
/// same frequencies; HapMap written as a headerless, gzipped, tab-separated
/// 0/1/2 matrix with `NA` for missing calls converts back to HapMap's `.bed`.
#[test]
fn geno_matrix_gives_the_calls_of_the_bed_of_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wheat = data("bglr_wheat/wheat");
    let g = d.join("wheat");
    let matrix = data("bglr_wheat/wheat_X.csv");
    let args = ["--geno-matrix", s(&matrix), "--matrix-coding", "inbred"];
    ok(genolens(
        &[&["convert"][..], &args, &["--make-bed", "--out", s(&g)]].concat(),
    ));
    assert_eq!(
        std::fs::read(with(&g, "bed")).unwrap(),
        std::fs::read(with(&wheat, "bed")).unwrap()
    );
    ok(genolens(
        &[&["freq"][..], &args, &["--out", s(&g)]].concat(),
    ));
    let b = d.join("bed");
    ok(genolens(&["freq", "--bfile", s(&wheat), "--out", s(&b)]));
    // Same IDs and frequencies; the matrix has no allele names (B/A).
    let columns = |p: &Path| -> Vec<String> {
        read(&with(p, "afreq"))
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                format!("{} {} {}", f[1], f[4], f[5])
            })
            .collect()
    };
    assert_eq!(columns(&g), columns(&b));

    let hapmap = data("hapmap_snprelate_60x5000/plinkhapmap");
    let bed = BedFile::open(&hapmap).unwrap();
    let block = bed.read_block(0..bed.n_variants()).unwrap();
    let mut text = String::new();
    for (i, sample) in bed.samples().iter().enumerate() {
        text.push_str(&sample.id.iid);
        for j in 0..bed.n_variants() {
            let x = block.variant(j)[i];
            text.push('\t');
            if x.is_nan() {
                text.push_str("NA");
            } else {
                text.push_str(&format!("{x}"));
            }
        }
        text.push('\n');
    }
    assert!(text.contains("NA"), "HapMap has missing calls");
    let gz = d.join("hapmap.tsv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let h = d.join("h");
    ok(genolens(&[
        "convert",
        "--geno-matrix",
        s(&gz),
        "--make-bed",
        "--out",
        s(&h),
    ]));
    assert_eq!(
        std::fs::read(with(&h, "bed")).unwrap(),
        std::fs::read(with(&hapmap, "bed")).unwrap()
    );
}

/// `--chr`, `--from-bp`/`--to-bp` and `--from`/`--to` select what plink2
/// selects on the EUR subset (chromosomes 17–22): `.afreq` byte-identical for
/// a chromosome, a list with a range, a `chr`-prefixed code, a base-pair
/// window, an open-ended window, an ID range, IDs to the end and from the
/// start of a chromosome, and a range with `--extract`. Malformed ranges are
/// errors naming the flag.
#[test]
fn variant_ranges_select_what_plink2_selects() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let eur = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let ids18: Vec<String> = read(&with(&eur, "bim"))
        .lines()
        .filter(|l| l.starts_with("18\t"))
        .map(|l| l.split('\t').nth(1).unwrap().to_string())
        .collect();
    let (a, b) = (ids18[99].as_str(), ids18[1999].as_str());
    let extract = d.join("some.ids");
    std::fs::write(
        &extract,
        ids18
            .iter()
            .step_by(7)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--chr", "18"],
        vec!["--chr", "17-18,21"],
        vec!["--chr", "chr19"],
        vec!["--chr", "18", "--from-bp", "1000000", "--to-bp", "3000000"],
        vec!["--chr", "18", "--from-bp", "5000000"],
        vec!["--from", a, "--to", b],
        vec!["--from", b],
        vec!["--to", a],
        vec![
            "--chr",
            "18",
            "--to-bp",
            "3000000",
            "--extract",
            s(&extract),
        ],
    ];
    for case in &cases {
        let (g, p) = (d.join("g"), d.join("p"));
        ok(genolens(
            &[&["freq", "--bfile", s(&eur)][..], case, &["--out", s(&g)]].concat(),
        ));
        // plink2 asks for --force-intersect to combine --extract with a
        // range; genolens always intersects.
        let force: &[&str] = if case.contains(&"--extract") {
            &["--force-intersect"]
        } else {
            &[]
        };
        let Some(_) = reference(
            "plink2",
            &[
                &["--bfile", s(&eur)][..],
                case,
                force,
                &["--freq", "--out", s(&p)],
            ]
            .concat(),
        ) else {
            return;
        };
        let ours = read(&with(&g, "afreq"));
        assert_eq!(ours, read(&with(&p, "afreq")), "{case:?}");
        assert!(ours.lines().count() > 1, "{case:?} keeps variants");
    }
    for (case, says) in [
        (
            vec!["--chr", "17-18", "--from-bp", "1"],
            "exactly one chromosome",
        ),
        (
            vec!["--chr", "18", "--from-bp", "9", "--to-bp", "1"],
            "after --to-bp",
        ),
        (vec!["--from", a, "--to", ids18[0].as_str()], "comes before"),
        (vec!["--from", "rs_not_there"], "no such variant"),
        (vec!["--chr", "5"], "no variants"),
        (vec!["--chr", "X-3"], "reversed"),
    ] {
        let out = d.join("bad");
        let o = genolens(
            &[
                &["freq", "--bfile", s(&eur)][..],
                &case,
                &["--out", s(&out)],
            ]
            .concat(),
        );
        assert!(!o.status.success(), "{case:?} should fail");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{case:?}: {err}");
        assert!(!with(&out, "afreq").exists());
    }
}
