//! `genolens gwas` (linear) against `plink2 --glm hide-covar` run on the same
//! files, and its edge cases.

use std::collections::HashMap;
use std::path::Path;

mod common;

use common::*;

/// Every field equal, or both numbers within a relative 1e-4 (PLINK 2 prints 6
/// significant digits); `NA` rows and `ERRCODE`s must match exactly.
fn assert_glm_agrees(ours: &Path, theirs: &Path, what: &str) {
    assert_glm_within(ours, theirs, what, 1e-4);
}

/// As [`assert_glm_agrees`] with a chosen relative tolerance for the effect, SE
/// and P columns. The statistic column (T or Z) may also differ by 1e-4 in
/// absolute terms: near zero its relative error is meaningless.
fn assert_glm_within(ours: &Path, theirs: &Path, what: &str, tolerance: f64) {
    let (a, b) = (read(ours), read(theirs));
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(a.len(), b.len(), "{what}: row count");
    assert_eq!(a[0], b[0], "{what}: header");
    let header: Vec<&str> = a[0].split('\t').collect();
    let mut worst = 0.0f64;
    for (i, (x, y)) in a.iter().zip(&b).enumerate().skip(1) {
        for (col, (u, v)) in x.split('\t').zip(y.split('\t')).enumerate() {
            if u == v {
                continue;
            }
            let (fu, fv): (f64, f64) = match (u.parse(), v.parse()) {
                (Ok(p), Ok(q)) => (p, q),
                _ => panic!("{what}: line {}: {x:?} vs plink2 {y:?}", i + 1),
            };
            let statistic = matches!(header[col], "T_STAT" | "Z_STAT");
            if statistic && (fu - fv).abs() <= 1e-4 {
                continue;
            }
            let rel = (fu - fv).abs() / fv.abs().max(1e-300);
            worst = worst.max(rel);
            assert!(
                rel <= tolerance,
                "{what}: line {}: {x:?} vs plink2 {y:?}",
                i + 1
            );
        }
    }
    eprintln!("{what}: worst relative difference {worst:.2e}");
}

/// A phenotype (and two covariates, one with a missing value) simulated from a
/// fixed linear congruential stream, so the test needs no RNG crate.
fn simulated_tables(fam: &Path, dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut state = 12345u64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut pheno, mut covar) = (
        String::from("FID IID Q1\n"),
        String::from("FID IID C1 C2\n"),
    );
    for (k, line) in read(fam).lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (u1, u2, u3) = (uniform(), uniform(), uniform());
        pheno.push_str(&format!("{} {} {:.4}\n", f[0], f[1], u1 * 4.0 - 2.0 + u2));
        let c2 = if k == 3 {
            "NA".to_string()
        } else {
            format!("{:.2}", 20.0 + 50.0 * u3)
        };
        covar.push_str(&format!("{} {} {:.4} {c2}\n", f[0], f[1], u2 - 0.5));
    }
    let (p, c) = (dir.join("sim.pheno"), dir.join("sim.covar"));
    std::fs::write(&p, pheno).unwrap();
    std::fs::write(&c, covar).unwrap();
    (p, c)
}

/// What a comparison runs: a label, genolens' flags, plink2's flags and the
/// phenotypes to compare.
type Case<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, Vec<&'a str>);

#[test]
fn linear_scans_agree_with_plink2_glm() {
    let dir = tempfile::tempdir().unwrap();
    let regenie = data("regenie_example/example");
    let (rp, rc) = (
        data("regenie_example/phenotype.txt"),
        data("regenie_example/covariates.txt"),
    );
    let hapmap = data("hapmap_snprelate_60x5000/plinkhapmap");
    let (hp, hc) = simulated_tables(&hapmap.with_extension("fam"), dir.path());
    let eur = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let eur_table = data("bolt_lmm_eur_subset_1000g/EUR_subset.pheno.covars");
    // plink2 rejects NA and -9 in a categorical column; NONE is its missing
    // category, which is what genolens reads NA and -9 as.
    let eur_clean = dir.path().join("eur.covars");
    let cleaned: Vec<String> = read(&eur_table)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<&str> = l.split_whitespace().collect();
            if i > 0 && matches!(f[5], "NA" | "-9") {
                f[5] = "NONE";
            }
            f.join(" ")
        })
        .collect();
    std::fs::write(&eur_clean, cleaned.join("\n") + "\n").unwrap();

    let cases: Vec<Case<'_>> = vec![
        (
            "regenie Y1,Y2 + 3 covariates",
            vec!["--bfile", s(&regenie), "--pheno", s(&rp), "--covar", s(&rc)],
            vec![
                "--bfile",
                s(&regenie),
                "--pheno",
                s(&rp),
                "--covar",
                s(&rc),
                "--glm",
                "hide-covar",
            ],
            vec!["Y1", "Y2"],
        ),
        (
            "EUR PHENO + QCOV1,QCOV2,CAT_COV",
            vec![
                "--bfile",
                s(&eur),
                "--pheno",
                s(&eur_table),
                "--pheno-name",
                "PHENO",
                "--covar",
                s(&eur_table),
                "--covar-name",
                "QCOV1,QCOV2,CAT_COV",
            ],
            vec![
                "--bfile",
                s(&eur),
                "--pheno",
                s(&eur_clean),
                "--pheno-name",
                "PHENO",
                "--covar",
                s(&eur_clean),
                "--covar-name",
                "QCOV1,QCOV2,CAT_COV",
                "--glm",
                "hide-covar",
            ],
            vec!["PHENO"],
        ),
        (
            "HapMap (missing calls), no covariates",
            vec!["--bfile", s(&hapmap), "--pheno", s(&hp)],
            vec![
                "--bfile",
                s(&hapmap),
                "--pheno",
                s(&hp),
                "--glm",
                "allow-no-covars",
            ],
            vec!["Q1"],
        ),
        (
            "HapMap (missing calls) + 2 covariates, one with a missing value",
            vec!["--bfile", s(&hapmap), "--pheno", s(&hp), "--covar", s(&hc)],
            vec![
                "--bfile",
                s(&hapmap),
                "--pheno",
                s(&hp),
                "--covar",
                s(&hc),
                "--glm",
                "hide-covar",
            ],
            vec!["Q1"],
        ),
    ];
    for (what, ours, theirs, phenos) in cases {
        let Some((g, p)) = run_both(dir.path(), &[&["gwas"], &ours[..]].concat(), &theirs) else {
            return;
        };
        for name in phenos {
            let ext = format!("{name}.glm.linear");
            assert_glm_agrees(&with(&g, &ext), &with(&p, &ext), &format!("{what} {name}"));
        }
    }
}

#[test]
fn bad_models_are_clear_errors_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let hapmap = data("hapmap_snprelate_60x5000/plinkhapmap");
    let fam = read(&hapmap.with_extension("fam"));
    let write = |name: &str, header: &str, row: &dyn Fn(usize, &str, &str) -> String| {
        let mut t = format!("{header}\n");
        for (k, l) in fam.lines().enumerate() {
            let f: Vec<&str> = l.split_whitespace().collect();
            t.push_str(&row(k, f[0], f[1]));
            t.push('\n');
        }
        let p = dir.path().join(name);
        std::fs::write(&p, t).unwrap();
        p
    };
    let constant = write("const.pheno", "FID IID Y", &|_, f, i| {
        format!("{f} {i} 1.5")
    });
    let pheno = write("y.pheno", "FID IID Y", &|k, f, i| {
        format!("{f} {i} {}", k % 7)
    });
    let collinear = write("col.covar", "FID IID A B", &|k, f, i| {
        format!("{f} {i} {} {}", k % 5, 2 * (k % 5) + 1)
    });
    let out = dir.path().join("o");
    let run = |args: &[&str]| {
        let mut a = vec!["gwas", "--bfile", s(&hapmap), "--out", s(&out)];
        a.extend(args);
        genolens(&a)
    };
    for (args, needle) in [
        (vec!["--pheno", s(&constant)], "constant"),
        (
            vec!["--pheno", s(&pheno), "--covar", s(&collinear)],
            "collinear",
        ),
    ] {
        let o = run(&args);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle) && err.lines().count() == 1, "{err}");
        assert!(!with(&out, "Y.glm.linear").exists());
    }
    // A constant covariate is left out with a warning, as PLINK 2 does.
    let flat = write("flat.covar", "FID IID A", &|_, f, i| format!("{f} {i} 3"));
    let o = run(&["--pheno", s(&pheno), "--covar", s(&flat)]);
    ok(o.clone());
    assert!(String::from_utf8_lossy(&o.stderr).contains("constant covariate(s) left out: A"));
    // Covariate rows for samples not in the genotypes are ignored and counted.
    let extra = write("extra.covar", "FID IID A", &|k, f, i| {
        format!("{f} {i} {}", k % 3)
    });
    let mut t = read(&extra);
    t.push_str("X1 NOT_HERE 1\n");
    std::fs::write(&extra, t).unwrap();
    let o = run(&["--pheno", s(&pheno), "--covar", s(&extra)]);
    ok(o);
    assert!(read(&with(&out, "log")).contains("1 table rows not in the genotypes"));
    // A covariate missing for every sample, and a covariate file whose IDs are
    // all absent from the genotypes: no sample is left to fit, a clear error.
    let _ = std::fs::remove_file(with(&out, "Y.glm.linear"));
    let all_missing = write("na.covar", "FID IID A B", &|k, f, i| {
        format!("{f} {i} {} NA", k % 3)
    });
    let elsewhere = write("elsewhere.covar", "FID IID A", &|k, _, i| {
        format!("OTHER {i}_x {}", k % 3)
    });
    for (covar, needle) in [
        (&all_missing, "0 samples"),
        (&elsewhere, "no sample ID matches"),
    ] {
        let o = run(&["--pheno", s(&pheno), "--covar", s(covar)]);
        assert!(!o.status.success(), "{}", covar.display());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle) && err.lines().count() == 1, "{err}");
        assert!(!with(&out, "Y.glm.linear").exists());
    }
}

#[test]
fn simulated_causal_variants_rank_at_the_top_and_the_log_reports_lambda() {
    use genolens::io::plink::BedFile;
    use genolens::io::GenotypeSource;

    let dir = tempfile::tempdir().unwrap();
    let cohort = dir.path().join("sim");
    ok(genolens(&[
        "simulate",
        "--samples",
        "2000",
        "--variants",
        "3000",
        "--populations",
        "1",
        "--fst",
        "0.0",
        "--seed",
        "5",
        "--out",
        s(&cohort),
    ]));
    let bed = BedFile::open(&cohort).unwrap();
    let causal = [150usize, 1400, 2750];
    let block = bed.read_block(0..3000).unwrap();
    let mut state = 99u64;
    let mut noise = || {
        // Sum of 4 uniforms, centred: a cheap bell-shaped noise.
        (0..4)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .sum::<f64>()
            - 2.0
    };
    let mut pheno = String::from("FID IID Y\n");
    for (i, sample) in bed.samples().iter().enumerate() {
        let g: f64 = causal
            .iter()
            .map(|&v| block.variant(v)[i])
            .filter(|d| !d.is_nan())
            .map(|d| 0.25 * f64::from(d))
            .sum();
        pheno.push_str(&format!(
            "{} {} {:.5}\n",
            sample.id.fid,
            sample.id.iid,
            g + noise()
        ));
    }
    let pheno_path = dir.path().join("y.pheno");
    std::fs::write(&pheno_path, pheno).unwrap();
    let out = dir.path().join("g");
    ok(genolens(&[
        "gwas",
        "--bfile",
        s(&cohort),
        "--pheno",
        s(&pheno_path),
        "--out",
        s(&out),
    ]));
    let text = read(&with(&out, "Y.glm.linear"));
    let mut rows: Vec<(f64, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[11].parse().unwrap_or(1.0), f[2].to_string())
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let top: Vec<&str> = rows[..3].iter().map(|r| r.1.as_str()).collect();
    for v in causal {
        let id = &bed.variants()[v].id;
        assert!(top.contains(&id.as_str()), "{id} not in the top 3: {top:?}");
    }
    let log = read(&with(&out, "log"));
    let lambda: f64 = log
        .lines()
        .find_map(|l| l.strip_prefix("Y: lambda GC "))
        .and_then(|x| x.parse().ok())
        .expect("lambda in the log");
    assert!(
        (0.9..1.1).contains(&lambda),
        "null variants are not inflated: {lambda}"
    );
    for png in ["Y.manhattan.png", "Y.qq.png"] {
        assert_eq!(&std::fs::read(with(&out, png)).unwrap()[..4], b"\x89PNG");
    }
}

#[test]
fn logistic_scans_agree_with_plink2_firth_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let regenie = data("regenie_example/example");
    let (rb, rc) = (
        data("regenie_example/phenotype_bin.txt"),
        data("regenie_example/covariates.txt"),
    );
    let Some((g, p)) = run_both(
        dir.path(),
        &[
            "gwas",
            "--bfile",
            s(&regenie),
            "--pheno",
            s(&rb),
            "--1",
            "--covar",
            s(&rc),
        ],
        &[
            "--bfile",
            s(&regenie),
            "--pheno",
            s(&rb),
            "--1",
            "--covar",
            s(&rc),
            "--glm",
            "hide-covar",
            "firth-fallback",
        ],
    ) else {
        return;
    };
    for y in ["Y1", "Y2"] {
        let ext = format!("{y}.glm.logistic.hybrid");
        assert_glm_agrees(
            &with(&g, &ext),
            &with(&p, &ext),
            &format!("regenie binary {y}"),
        );
    }

    // A rare trait (3 % cases) on a simulated cohort: rare alleles absent from the
    // cases send variants to Firth regression.
    let cohort = dir.path().join("rare");
    ok(genolens(&[
        "simulate",
        "--samples",
        "1000",
        "--variants",
        "2000",
        "--populations",
        "1",
        "--fst",
        "0.0",
        "--seed",
        "9",
        "--out",
        s(&cohort),
    ]));
    let mut state = 7u64;
    let mut table = String::from("FID IID B\n");
    for line in read(&cohort.with_extension("fam")).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let case = ((state >> 11) as f64 / (1u64 << 53) as f64) < 0.03;
        table.push_str(&format!("{} {} {}\n", f[0], f[1], u8::from(case)));
    }
    let pheno = dir.path().join("rare.pheno");
    std::fs::write(&pheno, table).unwrap();
    let Some((g, p)) = run_both(
        dir.path(),
        &["gwas", "--bfile", s(&cohort), "--pheno", s(&pheno), "--1"],
        &[
            "--bfile",
            s(&cohort),
            "--pheno",
            s(&pheno),
            "--1",
            "--glm",
            "firth-fallback",
            "allow-no-covars",
        ],
    ) else {
        return;
    };
    let (ours, theirs) = (
        with(&g, "B.glm.logistic.hybrid"),
        with(&p, "B.glm.logistic.hybrid"),
    );
    // plink2 2.00a3 fits in single precision; genolens in double. With rare
    // alleles that moves the 5th digit, so this comparison allows 1e-3.
    assert_glm_within(&ours, &theirs, "rare trait", 1e-3);
    let firth_rows = |path: &Path| {
        read(path)
            .lines()
            .filter(|l| l.split('\t').nth(6) == Some("Y"))
            .count()
    };
    assert!(firth_rows(&ours) > 0, "the rare trait exercises Firth");
    assert_eq!(firth_rows(&ours), firth_rows(&theirs));
}

#[test]
fn pca_covariates_match_plink2_with_the_same_pcs() {
    // `--pca 3` adds PC1..PC3 as covariates in one command; plink2 gets the same
    // PCs from genolens' .eigenvec, so the comparison tests the wiring.
    let dir = tempfile::tempdir().unwrap();
    let eur = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let table = data("bolt_lmm_eur_subset_1000g/EUR_subset.pheno.covars");
    let pcs = dir.path().join("pcs");
    ok(genolens(&[
        "pca",
        "--bfile",
        s(&eur),
        "--pca",
        "3",
        "--out",
        s(&pcs),
    ]));
    let Some((g, p)) = run_both(
        dir.path(),
        &[
            "gwas",
            "--bfile",
            s(&eur),
            "--pheno",
            s(&table),
            "--pheno-name",
            "PHENO",
            "--pca",
            "3",
        ],
        &[
            "--bfile",
            s(&eur),
            "--pheno",
            s(&table),
            "--pheno-name",
            "PHENO",
            "--covar",
            s(&with(&pcs, "eigenvec")),
            "--glm",
            "hide-covar",
        ],
    ) else {
        return;
    };
    // plink2 reads the PCs as printed (6 digits), genolens uses them unrounded, so
    // effects agree to a small fraction of their standard error, not to 6 digits.
    let (a, b) = (
        read(&with(&g, "PHENO.glm.linear")),
        read(&with(&p, "PHENO.glm.linear")),
    );
    assert_eq!(a.lines().count(), b.lines().count());
    for (x, y) in a.lines().zip(b.lines()).skip(1) {
        let (x, y): (Vec<&str>, Vec<&str>) = (x.split('\t').collect(), y.split('\t').collect());
        assert_eq!(
            (x[7], x[12]),
            (y[7], y[12]),
            "OBS_CT/ERRCODE: {x:?} vs {y:?}"
        );
        if x[8] == "NA" {
            assert_eq!(y[8], "NA");
            continue;
        }
        let f = |v: &str| v.parse::<f64>().unwrap();
        assert!(
            (f(x[8]) - f(y[8])).abs() <= 1e-3 * f(y[9]),
            "BETA: {x:?} vs {y:?}"
        );
        assert!((f(x[11]) - f(y[11])).abs() <= 1e-3, "P: {x:?} vs {y:?}");
    }
    assert!(read(&with(&g, "log")).contains("--pca 3: eigenvalues"));
}

#[test]
fn binary_top_hits_agree_with_regenies_reference_output() {
    // regenie's step 1 (whole-genome ridge) differs from a plain covariate model,
    // so values differ; the direction and order of its top 20 should not.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g");
    ok(genolens(&[
        "gwas",
        "--bfile",
        s(&data("regenie_example/example")),
        "--pheno",
        s(&data("regenie_example/phenotype_bin.txt")),
        "--pheno-name",
        "Y1",
        "--1",
        "--covar",
        s(&data("regenie_example/covariates.txt")),
        "--out",
        s(&out),
    ]));
    let ours: std::collections::HashMap<String, (f64, f64)> =
        read(&with(&out, "Y1.glm.logistic.hybrid"))
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[2].to_string(),
                    (
                        f[9].parse::<f64>().unwrap().ln(),
                        f[12].parse::<f64>().unwrap(),
                    ),
                )
            })
            .collect();
    let reference = read(&data(
        "regenie_example/example.test_bin_out_firth_Y1.regenie",
    ));
    let mut lines = reference.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, beta, log10p) = (col("ID"), col("BETA"), col("LOG10P"));
    let mut rows: Vec<(String, f64, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[id].to_string(),
                f[beta].parse().unwrap(),
                f[log10p].parse().unwrap(),
            )
        })
        .collect();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    let top = &rows[..20];
    for (v, b, _) in top {
        assert_eq!(ours[v].0 > 0.0, *b > 0.0, "direction of {v}");
    }
    // Spearman correlation of −log10 p over regenie's top 20.
    let rank = |x: Vec<f64>| {
        let mut idx: Vec<usize> = (0..x.len()).collect();
        idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        let mut r = vec![0.0; x.len()];
        for (k, i) in idx.into_iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let a = rank(top.iter().map(|r| r.2).collect());
    let b = rank(top.iter().map(|r| -ours[&r.0].1.log10()).collect());
    let n = 20.0;
    let d2: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum();
    let spearman = 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
    assert!(spearman > 0.8, "rank agreement {spearman}");
    let mut ours_sorted: Vec<(&String, f64)> = ours.iter().map(|(k, v)| (k, v.1)).collect();
    ours_sorted.sort_by(|x, y| x.1.total_cmp(&y.1));
    let overlap = ours_sorted[..20]
        .iter()
        .filter(|(v, _)| top.iter().any(|t| &t.0 == *v))
        .count();
    assert!(overlap >= 15, "top-20 overlap {overlap}");
}

/// A covariate that separates cases from controls: the covariates-only model has
/// no finite fit, so PLINK 2 uses Firth for every variant (`firth-fallback`) and
/// refuses to run without Firth (`no-firth`); genolens does the same.
#[test]
fn separating_covariates_send_every_variant_to_firth_as_in_plink2() {
    let dir = tempfile::tempdir().unwrap();
    let regenie = data("regenie_example/example");
    let pheno = data("regenie_example/phenotype_bin.txt");
    let mut state = 3u64;
    let mut covar = String::from("FID IID S\n");
    for line in read(&pheno).lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (state >> 11) as f64 / (1u64 << 53) as f64;
        let shift = if f[2] == "1" { 5.0 } else { 0.0 };
        covar.push_str(&format!("{} {} {:.6}\n", f[0], f[1], shift + u));
    }
    let covar_path = dir.path().join("separating.covar");
    std::fs::write(&covar_path, covar).unwrap();
    let common = [
        "--bfile",
        s(&regenie),
        "--pheno",
        s(&pheno),
        "--pheno-name",
        "Y1",
        "--1",
        "--covar",
        s(&covar_path),
    ];
    let mut ours = vec!["gwas"];
    ours.extend(common);
    let mut theirs = common.to_vec();
    theirs.extend(["--glm", "hide-covar", "firth-fallback"]);
    let Some((g, p)) = run_both(dir.path(), &ours, &theirs) else {
        return;
    };
    let (ours_file, theirs_file) = (
        with(&g, "Y1.glm.logistic.hybrid"),
        with(&p, "Y1.glm.logistic.hybrid"),
    );
    let text = read(&ours_file);
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.split('\t').nth(6) == Some("Y")),
        "every variant is fitted by Firth"
    );
    // Firth along a nearly flat penalised likelihood (the separating covariate's
    // coefficient runs off): PLINK 2.00a3's single precision decides convergence
    // against a 1e-4 tolerance on a log-likelihood it holds to ~1e-5, so estimates
    // differ in the 4th digit and some UNFINISHED flags differ. Compared
    // accordingly: same rows, same FIRTH?, numbers within 1e-2, flags mostly equal.
    let theirs_text = read(&theirs_file);
    let (a, b): (Vec<&str>, Vec<&str>) = (text.lines().collect(), theirs_text.lines().collect());
    assert_eq!(a.len(), b.len());
    assert_eq!(a[0], b[0]);
    let mut same_flag = 0;
    for (x, y) in a.iter().zip(&b).skip(1) {
        let (x, y): (Vec<&str>, Vec<&str>) = (x.split('\t').collect(), y.split('\t').collect());
        assert_eq!(x[..9], y[..9], "{x:?} vs plink2 {y:?}");
        for c in [9, 10, 12] {
            let (u, v): (f64, f64) = (x[c].parse().unwrap(), y[c].parse().unwrap());
            assert!((u - v).abs() <= 1e-2 * v.abs(), "{x:?} vs plink2 {y:?}");
        }
        same_flag += usize::from(x[13] == y[13]);
    }
    assert!(
        same_flag * 100 >= 85 * (a.len() - 1),
        "UNFINISHED flags agree on {same_flag} of {} rows",
        a.len() - 1
    );

    let out = dir.path().join("nofirth");
    ours.extend(["--no-firth", "--out", s(&out)]);
    let failed = genolens(&ours);
    assert!(!failed.status.success());
    let message = String::from_utf8_lossy(&failed.stderr);
    assert!(message.contains("separated"), "{message}");
    assert!(!with(&out, "Y1.glm.logistic").exists());
}

/// `--score-test` screens without iterating: its Z agrees with the Wald Z where
/// effects are small (the two tests are asymptotically equal under the null) and
/// ranks the variants alike; it never uses Firth.
#[test]
fn score_test_screens_like_the_wald_test() {
    let dir = tempfile::tempdir().unwrap();
    let regenie = data("regenie_example/example");
    let (rb, rc) = (
        data("regenie_example/phenotype_bin.txt"),
        data("regenie_example/covariates.txt"),
    );
    let (wald, score) = (dir.path().join("wald"), dir.path().join("score"));
    let base = [
        "gwas",
        "--bfile",
        s(&regenie),
        "--pheno",
        s(&rb),
        "--pheno-name",
        "Y1",
        "--1",
        "--covar",
        s(&rc),
    ];
    let mut args = base.to_vec();
    args.extend(["--out", s(&wald)]);
    ok(genolens(&args));
    let mut args = base.to_vec();
    args.extend(["--score-test", "--out", s(&score)]);
    ok(genolens(&args));
    let column = |path: &Path, name: &str| -> Vec<f64> {
        let text = read(path);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
        let c = header.iter().position(|h| *h == name).unwrap();
        lines
            .map(|l| l.split('\t').nth(c).unwrap().parse().unwrap_or(f64::NAN))
            .collect()
    };
    let score_file = with(&score, "Y1.glm.logistic.score");
    assert!(!read(&score_file).lines().next().unwrap().contains("FIRTH?"));
    let (zw, zs) = (
        column(&with(&wald, "Y1.glm.logistic.hybrid"), "Z_STAT"),
        column(&score_file, "Z_STAT"),
    );
    assert_eq!(zw.len(), zs.len());
    let mut compared = 0;
    for (w, s) in zw.iter().zip(&zs) {
        if w.is_nan() {
            continue;
        }
        compared += 1;
        if w.abs() < 3.0 {
            assert!(
                (w - s).abs() < 0.05 + 0.05 * w.abs(),
                "Wald {w} vs score {s}"
            );
        }
        assert_eq!(w.signum(), s.signum(), "Wald {w} vs score {s}");
    }
    assert!(compared > 900);
    assert!(
        spearman(&zw, &zs) > 0.99,
        "score and Wald statistics rank alike"
    );
}

/// Spearman's rank correlation over the pairs where both values are numbers.
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .map(|(x, y)| (*x, *y))
        .collect();
    let ranks = |values: Vec<f64>| -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        let mut r = vec![0.0; values.len()];
        for (rank, &i) in order.iter().enumerate() {
            r[i] = rank as f64;
        }
        r
    };
    let ra = ranks(pairs.iter().map(|p| p.0).collect());
    let rb = ranks(pairs.iter().map(|p| p.1).collect());
    let n = ra.len() as f64;
    let d2: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - y).powi(2)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

/// `genolens clump` and `gwas --clump` write the `.clumped` report plink1.9
/// `--clump` writes, byte for byte: on real LD (1000 Genomes EUR, 54,051
/// variants) with PLINK's defaults and with loose and strict thresholds, and on
/// HapMap's missing calls.
#[test]
fn clumps_equal_plink1_9_clump() {
    let dir = tempfile::tempdir().unwrap();
    let eur = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let pheno = data("bolt_lmm_eur_subset_1000g/EUR_subset.pheno.covars");
    let g = dir.path().join("g");
    ok(genolens(&[
        "gwas",
        "--bfile",
        s(&eur),
        "--pheno",
        s(&pheno),
        "--pheno-name",
        "PHENO",
        "--clump",
        "--clump-p1",
        "0.01",
        "--clump-r2",
        "0.2",
        "--out",
        s(&g),
    ]));
    let report = with(&g, "PHENO.glm.linear");
    let plink_clump = |prefix: &Path, bfile: &Path, report: &Path, extra: &[&str]| {
        let mut args = vec![
            "--bfile",
            s(bfile),
            "--clump",
            s(report),
            "--clump-snp-field",
            "ID",
            "--clump-field",
            "P",
        ];
        args.extend(extra);
        args.extend(["--out", s(prefix)]);
        reference("plink1.9", &args)
    };
    let p = dir.path().join("p");
    if plink_clump(
        &p,
        &eur,
        &report,
        &["--clump-p1", "0.01", "--clump-r2", "0.2"],
    )
    .is_none()
    {
        return;
    }
    assert_same_text(
        &with(&g, "PHENO.clumped"),
        &with(&p, "clumped"),
        "gwas --clump",
    );
    let clumped = read(&with(&g, "PHENO.clumped"));
    assert!(clumped.lines().count() > 100, "hundreds of clumps");
    assert!(
        clumped
            .lines()
            .skip(1)
            .any(|l| !l.ends_with("NONE") && !l.is_empty()),
        "some clumps have members"
    );
    for (k, extra) in [
        vec![],
        vec![
            "--clump-p1",
            "0.05",
            "--clump-p2",
            "0.5",
            "--clump-r2",
            "0.05",
            "--clump-kb",
            "1000",
        ],
        vec![
            "--clump-p1",
            "0.01",
            "--clump-p2",
            "1",
            "--clump-r2",
            "0.8",
            "--clump-kb",
            "50",
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let (ours, theirs) = (
            dir.path().join(format!("c{k}")),
            dir.path().join(format!("r{k}")),
        );
        let mut args = vec!["clump", "--bfile", s(&eur), "--clump", s(&report)];
        args.extend(&extra);
        args.extend(["--out", s(&ours)]);
        ok(genolens(&args));
        plink_clump(&theirs, &eur, &report, &extra);
        assert_same_text(
            &with(&ours, "clumped"),
            &with(&theirs, "clumped"),
            &format!("clump {extra:?}"),
        );
    }

    // HapMap: missing calls drop out pair by pair. A plink2 report on a simulated
    // phenotype, clumped loosely so that LD decides.
    let hapmap = data("hapmap_snprelate_60x5000/plinkhapmap");
    let (pheno, _) = simulated_tables(&hapmap.with_extension("fam"), dir.path());
    let h = dir.path().join("h");
    if reference(
        "plink2",
        &[
            "--bfile",
            s(&hapmap),
            "--pheno",
            s(&pheno),
            "--glm",
            "allow-no-covars",
            "--out",
            s(&h),
        ],
    )
    .is_none()
    {
        return;
    }
    let hreport = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.to_string_lossy().contains("h.") && p.to_string_lossy().ends_with(".glm.linear")
        })
        .expect("plink2 wrote a .glm.linear");
    let loose = [
        "--clump-p1",
        "0.2",
        "--clump-p2",
        "0.5",
        "--clump-r2",
        "0.1",
        "--clump-kb",
        "2000",
    ];
    let (ours, theirs) = (dir.path().join("hc"), dir.path().join("hr"));
    let mut args = vec!["clump", "--bfile", s(&hapmap), "--clump", s(&hreport)];
    args.extend(loose);
    args.extend(["--out", s(&ours)]);
    ok(genolens(&args));
    plink_clump(&theirs, &hapmap, &hreport, &loose);
    assert_same_text(
        &with(&ours, "clumped"),
        &with(&theirs, "clumped"),
        "HapMap clump",
    );
}

/// Bad clumping input: a report without the ID column, a p-value above 1,
/// thresholds PLINK rejects. Each is one clear line on stderr and no output.
#[test]
fn clump_bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let regenie = data("regenie_example/example");
    let cases = [
        (
            "no_id.txt",
            "CHR BP P\n1 1 0.01\n",
            vec![],
            "no variant ID column",
        ),
        (
            "big_p.txt",
            "SNP P\n1 0.5\n2 1.5\n",
            vec![],
            "outside [0, 1]",
        ),
        (
            "ok.txt",
            "SNP P\n1 0.5\n",
            vec!["--clump-p1", "0.1", "--clump-p2", "0.01"],
            "p2",
        ),
    ];
    for (name, text, extra, expect) in cases {
        let report = dir.path().join(name);
        std::fs::write(&report, text).unwrap();
        let out = dir.path().join(format!("{name}.out"));
        let mut args = vec!["clump", "--bfile", s(&regenie), "--clump", s(&report)];
        args.extend(extra);
        args.extend(["--out", s(&out)]);
        let run = genolens(&args);
        assert!(!run.status.success(), "{name}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(expect), "{name}: {err}");
        assert!(!with(&out, "clumped").exists(), "{name}: no output");
    }
}

/// A trait with a single case: PLINK 2 fits it (Firth wherever the case's
/// allele separates) rather than refusing; genolens makes the same choice on
/// every variant (FIRTH?, ERRCODE) and warns about the case count. Values differ
/// in the 3rd–4th digit: single against double precision on one case.
#[test]
fn one_case_trait_follows_plink2_variant_by_variant() {
    let dir = tempfile::tempdir().unwrap();
    let regenie = data("regenie_example/example");
    let mut table = String::from("FID IID B\n");
    for (k, line) in read(&data("regenie_example/phenotype_bin.txt"))
        .lines()
        .skip(1)
        .enumerate()
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        table.push_str(&format!("{} {} {}\n", f[0], f[1], u8::from(k == 0)));
    }
    let pheno = dir.path().join("one.pheno");
    std::fs::write(&pheno, table).unwrap();
    let Some((g, p)) = run_both(
        dir.path(),
        &["gwas", "--bfile", s(&regenie), "--pheno", s(&pheno), "--1"],
        &[
            "--bfile",
            s(&regenie),
            "--pheno",
            s(&pheno),
            "--1",
            "--glm",
            "firth-fallback",
            "allow-no-covars",
        ],
    ) else {
        return;
    };
    let (ours, theirs) = (
        read(&with(&g, "B.glm.logistic.hybrid")),
        read(&with(&p, "B.glm.logistic.hybrid")),
    );
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    assert_eq!(a.len(), b.len());
    let mut firth = 0;
    for (x, y) in a.iter().zip(&b).skip(1) {
        let (x, y): (Vec<&str>, Vec<&str>) = (x.split('\t').collect(), y.split('\t').collect());
        assert_eq!(x[..9], y[..9], "{x:?} vs plink2 {y:?}");
        assert_eq!(x[13], y[13], "ERRCODE: {x:?} vs plink2 {y:?}");
        firth += usize::from(x[6] == "Y");
        // An unfinished fit stops wherever its 15 iterations took it.
        let tolerance = if x[13] == "UNFINISHED" { 5e-2 } else { 2e-3 };
        for c in [9, 10, 12] {
            if let (Ok(u), Ok(v)) = (x[c].parse::<f64>(), y[c].parse::<f64>()) {
                assert!(
                    (u - v).abs() <= tolerance * v.abs(),
                    "{x:?} vs plink2 {y:?}"
                );
            } else {
                assert_eq!(x[c], y[c]);
            }
        }
    }
    assert!(
        firth > 500,
        "the single case's allele separates most variants"
    );
    assert!(read(&with(&g, "log")).contains("warning: B: 1 cases"));
}

/// Parses an `.epi.qt` report: (SNP1, SNP2) → (BETA_INT, STAT, P) as text.
fn epi_pairs(path: &Path) -> std::collections::HashMap<(String, String), [String; 3]> {
    read(path)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                (f[1].to_string(), f[3].to_string()),
                [f[4].to_string(), f[5].to_string(), f[6].to_string()],
            )
        })
        .collect()
}

/// Two printed numbers agree to the printed precision (`sig` digits), allowing
/// one unit in the last place for rounding on either side.
fn same_printed(a: &str, b: &str, sig: i32) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => {
            let scale = x.abs().max(y.abs());
            (x - y).abs() <= 1.01 * scale * 10f64.powi(1 - sig) || (x - y).abs() < 1e-300
        }
        _ => false,
    }
}

/// `genolens epistasis` equals `plink1.9 --epistasis` (linear, every pair
/// reported with `--epi1 1`): the same pairs, the same failed pairs (nan), BETA_INT
/// and STAT to 6 significant digits, P within PLINK's tail approximation; the per-variant summary's N_SIG and
/// N_TOT exactly and BEST_CHISQ to 4 digits. On 1000 Genomes EUR (complete
/// calls, 369 of 379 samples with a phenotype) and on HapMap's missing calls with
/// a phenotype missing for some samples.
#[test]
fn epistasis_equals_plink1_9() {
    let dir = tempfile::tempdir().unwrap();
    let eur_pheno = data("bolt_lmm_eur_subset_1000g/EUR_subset.pheno.covars");
    // A HapMap phenotype with missing values, written here (the fileset has none).
    let hapmap = data("hapmap_snprelate_60x5000/plinkhapmap");
    let hap_pheno = dir.path().join("hap.pheno");
    let fam = read(&hapmap.with_extension("fam"));
    let mut text = String::from("FID IID Y\n");
    for (i, l) in fam.lines().enumerate() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let y = if i % 11 == 3 {
            "NA".to_string()
        } else {
            format!("{:.6}", (i as f64 * 0.7).sin() + 0.1 * (i % 5) as f64)
        };
        text.push_str(&format!("{} {} {y}\n", f[0], f[1]));
    }
    std::fs::write(&hap_pheno, text).unwrap();
    let cases = [
        (
            "eur",
            data("bolt_lmm_eur_subset_1000g/EUR_subset"),
            eur_pheno,
            "PHENO",
            vec!["--chr", "22", "--thin-count", "160", "--seed", "7"],
        ),
        (
            "hapmap",
            hapmap,
            hap_pheno,
            "Y",
            vec!["--thin-count", "200", "--seed", "3"],
        ),
    ];
    for (name, bfile, pheno, column, thin) in cases {
        // The subset both tools read, with the .bim's allele order kept.
        let sub = dir.path().join(name);
        let mut args = vec!["--bfile", s(&bfile), "--keep-allele-order", "--make-bed"];
        args.extend(thin.iter().copied());
        args.extend(["--out", s(&sub)]);
        if reference("plink1.9", &args).is_none() {
            return;
        }
        let theirs = dir.path().join(format!("{name}.plink"));
        reference(
            "plink1.9",
            &[
                "--bfile",
                s(&sub),
                "--pheno",
                s(&pheno),
                "--pheno-name",
                column,
                "--allow-no-sex",
                "--keep-allele-order",
                "--epistasis",
                "--epi1",
                "1",
                "--out",
                s(&theirs),
            ],
        );
        let ours = dir.path().join(format!("{name}.genolens"));
        ok(genolens(&[
            "epistasis",
            "--bfile",
            s(&sub),
            "--pheno",
            s(&pheno),
            "--pheno-name",
            column,
            "--epi1",
            "1",
            "--out",
            s(&ours),
        ]));
        let (a, b) = (
            epi_pairs(&with(&ours, "epi.qt")),
            epi_pairs(&with(&theirs, "epi.qt")),
        );
        assert_eq!(a.len(), b.len(), "{name}: pairs");
        let mut failed = 0;
        for (key, theirs) in &b {
            let ours = a
                .get(key)
                .unwrap_or_else(|| panic!("{name}: pair {key:?} missing"));
            if theirs[1] == "nan" {
                failed += 1;
            }
            for (k, sig) in [(0, 6), (1, 6)] {
                assert!(
                    same_printed(&ours[k], &theirs[k], sig),
                    "{name} {key:?}: ours {ours:?}, plink1.9 {theirs:?}"
                );
            }
            // P: PLINK 1.9 takes the normal tail from an approximation that is
            // off by up to ~0.4 % below p = 1e-4; ours is the exact tail of the
            // same STAT.
            let (p, q) = (ours[2].parse::<f64>(), theirs[2].parse::<f64>());
            match (p, q) {
                (Ok(p), Ok(q)) if !q.is_nan() => assert!(
                    (p - q).abs() <= 1e-2 * q.max(1e-300),
                    "{name} {key:?}: P {p} vs plink1.9 {q}"
                ),
                _ => assert_eq!(ours[2], theirs[2], "{name} {key:?}: P"),
            }
        }
        assert!(
            a.len() > 10_000,
            "{name}: thousands of pairs tested ({})",
            a.len()
        );
        if name == "hapmap" {
            assert!(failed > 0, "hapmap: some pairs fail PLINK's checks");
        }
        let summary = |p: &Path| -> Vec<Vec<String>> {
            read(p)
                .lines()
                .skip(1)
                .map(|l| l.split_whitespace().map(str::to_string).collect())
                .collect()
        };
        let (sa, sb) = (
            summary(&with(&ours, "epi.qt.summary")),
            summary(&with(&theirs, "epi.qt.summary")),
        );
        assert_eq!(sa.len(), sb.len(), "{name}: summary rows");
        for (x, y) in sa.iter().zip(&sb) {
            assert_eq!(x[..4], y[..4], "{name}: CHR SNP N_SIG N_TOT");
            assert!(
                same_printed(&x[4], &y[4], 4) && same_printed(&x[5], &y[5], 4),
                "{name}: PROP, BEST_CHISQ {x:?} vs {y:?}"
            );
            assert_eq!(x[7], y[7], "{name}: BEST_SNP of {}", x[1]);
        }
        let log = read(&with(&theirs, "log"));
        let valid: u64 = log
            .lines()
            .find(|l| l.contains("valid tests performed"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("plink1.9 logs its valid tests");
        assert!(
            read(&with(&ours, "log")).contains(&format!("{valid} valid tests")),
            "{name}: the log counts {valid} valid tests as plink1.9's does"
        );
    }
}

/// Outputs get the permissions the user's umask gives a new file (as plink2's
/// do), not a temporary file's private 0600: a colleague in the group can
/// read the results. Tables, plots and the log alike.
#[cfg(unix)]
#[test]
fn outputs_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("perm");
    let bed = data("regenie_example/example");
    let pheno = data("regenie_example/phenotype.txt");
    for (umask, want) in [("027", 0o640), ("002", 0o664)] {
        let script = format!(
            "umask {umask}; exec \"$0\" gwas --bfile {} --pheno {} --pheno-name Y1 --out {}",
            s(&bed),
            s(&pheno),
            s(&out)
        );
        ok(std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_genolens"))
            .output()
            .unwrap());
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, want, "{} under umask {umask}", path.display());
            seen.push(path.extension().unwrap().to_string_lossy().into_owned());
        }
        for ext in ["log", "linear", "png"] {
            assert!(seen.iter().any(|e| e == ext), "no .{ext} in {seen:?}");
        }
    }
}

/// Runs `gemma ARGS` in `dir`; `None` when the run opted out of reference tools.
fn gemma(dir: &Path, args: &[&str]) -> Option<()> {
    reference_in(Some(dir), "gemma", args).map(|_| ())
}

/// A `.assoc.txt` as `rs → column → value`.
fn gemma_table(path: &Path) -> (Vec<String>, std::collections::HashMap<String, Vec<String>>) {
    let text = read(path);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split('\t')
        .map(String::from)
        .collect();
    let rows = lines
        .map(|l| {
            let f: Vec<String> = l.split('\t').map(String::from).collect();
            (f[1].clone(), f)
        })
        .collect();
    (header, rows)
}

/// Every variant GEMMA tested is in ours with the same allele frequency and
/// statistics: p-values, SE and λ within `tol` relative, β within `tol` of
/// max(|β|, SE). Returns how many were compared.
fn assert_same_as_gemma(ours: &Path, theirs: &Path, tol: f64) -> usize {
    let (header, gemma) = gemma_table(theirs);
    let (our_header, mine) = gemma_table(ours);
    assert_eq!(our_header, header, "{}: columns", ours.display());
    let col = |name: &str| header.iter().position(|h| h == name);
    for (rs, g) in &gemma {
        let m = mine
            .get(rs)
            .unwrap_or_else(|| panic!("{rs} tested by GEMMA is not in ours"));
        assert_eq!(m[..7], g[..7], "{rs}: chr, position, alleles, n_miss, af");
        let num = |row: &[String], c: usize| row[c].parse::<f64>().unwrap();
        let se = col("se").map(|c| num(g, c));
        for name in [
            "beta", "se", "l_remle", "p_wald", "p_lrt", "p_score", "logl_H1",
        ] {
            let Some(c) = col(name) else { continue };
            let (a, b) = (num(m, c), num(g, c));
            let scale = if name == "beta" {
                b.abs().max(se.unwrap_or(0.0))
            } else {
                b.abs()
            };
            assert!(
                (a - b).abs() <= tol * scale,
                "{rs} {name}: ours {a}, gemma {b}"
            );
        }
    }
    gemma.len()
}

/// The number after `key` in a log line (`… key 0.1989 …`).
fn number_after(text: &str, key: &str) -> f64 {
    let at = text
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in the log"))
        + key.len();
    text[at..]
        .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .find(|s| !s.is_empty())
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn lmm_equals_gemma_on_regenie_and_eur() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // GEMMA reads the phenotype from the .fam and covariates (intercept
    // included) from a table; its relationship matrix is computed on the samples
    // with a phenotype, so those are exactly the samples with every covariate.
    struct Case {
        name: &'static str,
        bfile: &'static str,
        pheno: &'static str,
        pheno_name: &'static str,
        covar: &'static str,
        covars: &'static [&'static str],
        tests: &'static str,
        gemma_mode: &'static str,
    }
    let cases = [
        Case {
            name: "reg",
            bfile: "regenie_example/example",
            pheno: "regenie_example/phenotype.txt",
            pheno_name: "Y1",
            covar: "regenie_example/covariates.txt",
            covars: &["V1", "V2", "V3"],
            tests: "all",
            gemma_mode: "4",
        },
        Case {
            name: "eur",
            bfile: "bolt_lmm_eur_subset_1000g/EUR_subset",
            pheno: "bolt_lmm_eur_subset_1000g/EUR_subset.pheno.covars",
            pheno_name: "PHENO",
            covar: "bolt_lmm_eur_subset_1000g/EUR_subset.pheno.covars",
            covars: &["QCOV1", "QCOV2"],
            tests: "wald",
            gemma_mode: "1",
        },
    ];
    for case in &cases {
        let bfile = data(case.bfile);
        let pheno = read(&data(case.pheno));
        let covar = read(&data(case.covar));
        let table =
            |text: &str, names: &[&str]| -> std::collections::HashMap<String, Vec<String>> {
                let mut lines = text.lines();
                let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
                let idx: Vec<usize> = names
                    .iter()
                    .map(|n| header.iter().position(|h| h == n).unwrap())
                    .collect();
                lines
                    .map(|l| {
                        let f: Vec<&str> = l.split_whitespace().collect();
                        (
                            format!("{} {}", f[0], f[1]),
                            idx.iter().map(|&i| f[i].to_string()).collect(),
                        )
                    })
                    .collect()
            };
        let y = table(&pheno, &[case.pheno_name]);
        let w = table(&covar, case.covars);
        let fam = read(&with(&bfile, "fam"));
        let (mut fam_out, mut cov_out) = (String::new(), String::new());
        for line in fam.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let key = format!("{} {}", f[0], f[1]);
            let yv = y.get(&key).map(|v| v[0].clone());
            let wv = w.get(&key);
            let complete = yv.as_deref().is_some_and(|v| v != "NA")
                && wv.is_some_and(|v| v.iter().all(|x| x != "NA"));
            let yv = if complete { yv.unwrap() } else { "NA".into() };
            fam_out.push_str(&format!(
                "{} {} {} {} {} {yv}\n",
                f[0], f[1], f[2], f[3], f[4]
            ));
            match wv {
                Some(v) if complete => cov_out.push_str(&format!("1 {}\n", v.join(" "))),
                _ => cov_out.push_str(&format!("1 {}\n", vec!["NA"; case.covars.len()].join(" "))),
            }
        }
        let prefix = d.join(case.name);
        for ext in ["bed", "bim"] {
            std::fs::copy(with(&bfile, ext), with(&prefix, ext)).unwrap();
        }
        std::fs::write(with(&prefix, "fam"), fam_out).unwrap();
        std::fs::write(d.join(format!("{}.cov", case.name)), cov_out).unwrap();
        let kin = format!("{}_k", case.name);
        if gemma(d, &["-bfile", case.name, "-gk", "1", "-o", &kin]).is_none() {
            return;
        }
        let assoc = format!("{}_lmm", case.name);
        let cov = format!("{}.cov", case.name);
        let k = format!("output/{kin}.cXX.txt");
        gemma(
            d,
            &[
                "-bfile",
                case.name,
                "-k",
                &k,
                "-c",
                &cov,
                "-lmm",
                case.gemma_mode,
                "-o",
                &assoc,
            ],
        );
        let out = d.join(format!("g_{}", case.name));
        ok(genolens(&[
            "gwas",
            "--bfile",
            s(&bfile),
            "--pheno",
            s(&data(case.pheno)),
            "--pheno-name",
            case.pheno_name,
            "--covar",
            s(&data(case.covar)),
            "--covar-name",
            &case.covars.join(","),
            &format!("--lmm={}", case.tests),
            "--out",
            s(&out),
        ]));
        let ours = with(&out, &format!("{}.lmm.assoc.txt", case.pheno_name));
        let theirs = d.join(format!("output/{assoc}.assoc.txt"));
        let n = assert_same_as_gemma(&ours, &theirs, 1e-4);
        assert!(n > 900, "{}: {n} variants compared", case.name);
        // Null model: the variance components to GEMMA's printed digits.
        let log = read(&with(&out, "log"));
        let glog = read(&d.join(format!("output/{assoc}.log.txt")));
        for (ours_key, gemma_key) in [
            ("Vg ", "## vg estimate in the null model = "),
            ("Ve ", "## ve estimate in the null model = "),
        ] {
            let (a, b) = (number_after(&log, ours_key), number_after(&glog, gemma_key));
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1e-6) + 1e-6,
                "{}: {ours_key} {a} vs {b}",
                case.name
            );
        }
        let (a, b) = (
            number_after(&log, "PVE (SNP heritability) "),
            number_after(&glog, "pve estimate in the null model = "),
        );
        assert!((a - b).abs() < 5e-4, "{}: PVE {a} vs {b}", case.name);
        // The .glm.lmm rows carry the Wald p-values of the GEMMA file.
        let glm = read(&with(&out, &format!("{}.glm.lmm", case.pheno_name)));
        assert!(glm.lines().nth(1).unwrap().contains("LMM_WALD"));
    }
    // The relationship matrix itself: GEMMA's -gk 1 on the regenie example (all
    // 500 samples phenotyped, every variant passing its filters) against ours.
    let ours = d.join("k_reg");
    ok(genolens(&[
        "relatedness",
        "--bfile",
        s(&data("regenie_example/example")),
        "--make-grm",
        "--grm-cov",
        "--grm-meanimpute",
        "--out",
        s(&ours),
    ]));
    let k =
        genolens::io::relatedness::read_grm_bin(&genolens::io::relatedness::GrmPaths::new(&ours))
            .unwrap();
    let gk = read(&d.join("output/reg_k.cXX.txt"));
    let mut worst = 0.0f64;
    for (i, line) in gk.lines().enumerate() {
        for (j, v) in line.split_whitespace().enumerate() {
            let g: f64 = v.parse().unwrap();
            worst = worst.max((f64::from(k.get(i, j)) - g).abs());
        }
    }
    assert!(worst < 1e-6, "GRM differs from GEMMA's -gk 1 by {worst}");
}

#[test]
fn lmm_bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let reg = data("regenie_example/example");
    let pheno = data("regenie_example/phenotype.txt");
    // A GRM of other samples (the EUR subset's).
    let other = d.join("eur");
    ok(genolens(&[
        "relatedness",
        "--bfile",
        s(&data("bolt_lmm_eur_subset_1000g/EUR_subset")),
        "--make-grm",
        "--out",
        s(&other),
    ]));
    // A trait without variance.
    let flat = d.join("flat.txt");
    let fam = read(&with(&reg, "fam"));
    let mut text = String::from("FID IID Y\n");
    for l in fam.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        text.push_str(&format!("{} {} 1.5\n", f[0], f[1]));
    }
    std::fs::write(&flat, text).unwrap();
    // More covariates than samples with a phenotype: 3 phenotyped samples.
    let few = d.join("few.txt");
    let mut text = String::from("FID IID Y\n");
    for (k, l) in fam.lines().enumerate().take(3) {
        let f: Vec<&str> = l.split_whitespace().collect();
        text.push_str(&format!("{} {} {}\n", f[0], f[1], k));
    }
    std::fs::write(&few, text).unwrap();
    let out = d.join("o");
    for (extra, pheno, says) in [
        (
            vec!["--grm", s(&other)],
            s(&pheno),
            "not in the relationship matrix",
        ),
        (vec![], s(&flat), "no variance"),
        (vec!["--covar", "COVAR"], s(&few), "cannot fit"),
    ] {
        let covar = data("regenie_example/covariates.txt");
        let extra: Vec<&str> = extra
            .iter()
            .map(|a| if *a == "COVAR" { s(&covar) } else { a })
            .collect();
        let o = genolens(
            &[
                &[
                    "gwas",
                    "--bfile",
                    s(&reg),
                    "--pheno",
                    pheno,
                    "--lmm",
                    "--out",
                    s(&out),
                ],
                &extra[..],
            ]
            .concat(),
        );
        assert!(!o.status.success(), "{extra:?} should fail");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{extra:?}: {err}");
        assert!(
            std::fs::read_dir(d).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("o.")),
            "{extra:?} left output"
        );
    }
}

/// A `--keep` list (`FID IID` lines) of the samples of `fam` not in `remove`
/// (plink's and regenie's `--remove`).
fn keep_list_without(fam: &Path, remove: &Path) -> String {
    let ids = |p: &Path| -> Vec<String> {
        read(p)
            .lines()
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    let removed: std::collections::HashSet<String> = ids(remove).into_iter().collect();
    ids(fam)
        .into_iter()
        .filter(|id| !removed.contains(id))
        .map(|id| id + "\n")
        .collect()
}

/// BOLT-LMM's example selection (example.log: EUR_subset minus .remove, minus
/// the two .exclude lists) as `d/keep.txt` and `d/extract.txt`.
fn bolt_example_lists(d: &Path) {
    let e = |f: &str| data(&format!("bolt_lmm_eur_subset_1000g/{f}"));
    let keep = keep_list_without(&e("EUR_subset.fam"), &e("EUR_subset.remove"));
    let excluded: std::collections::HashSet<String> =
        [e("EUR_subset.exclude"), e("EUR_subset.exclude2")]
            .iter()
            .flat_map(|p| {
                read(p)
                    .lines()
                    .map(|l| l.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
    let extract: String = read(&e("EUR_subset.bim"))
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|id| !excluded.contains(*id))
        .map(|id| format!("{id}\n"))
        .collect();
    std::fs::write(d.join("keep.txt"), keep).unwrap();
    std::fs::write(d.join("extract.txt"), extract).unwrap();
}

#[test]
fn loco_lmm_agrees_with_bolt_lmm_inf_on_its_shipped_example() {
    // BOLT-LMM's example run (example.log): EUR_subset minus .remove, minus the
    // two .exclude lists, PHENO of pheno2.covars with CAT_COV and QCOV1-2.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = |f: &str| data(&format!("bolt_lmm_eur_subset_1000g/{f}"));
    bolt_example_lists(d);
    let out = d.join("g");
    let pheno = e("EUR_subset.pheno2.covars");
    ok(genolens(&[
        "gwas",
        "--bfile",
        s(&e("EUR_subset")),
        "--keep",
        s(&d.join("keep.txt")),
        "--extract",
        s(&d.join("extract.txt")),
        "--pheno",
        s(&pheno),
        "--pheno-name",
        "PHENO",
        "--covar",
        s(&pheno),
        "--covar-name",
        "CAT_COV,QCOV1,QCOV2",
        "--lmm",
        "--loco",
        "--out",
        s(&out),
    ]));
    let (our_header, ours) = gemma_table(&with(&out, "PHENO.lmm.assoc.txt"));
    let p_wald = our_header.iter().position(|h| h == "p_wald").unwrap();
    let stats = read(&e("example.stats"));
    let mut lines = stats.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (snp, p_inf) = (col("SNP"), col("P_BOLT_LMM_INF"));
    let mut pairs: Vec<(String, f64, f64)> = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        if let Some(row) = ours.get(f[snp]) {
            let p: f64 = row[p_wald].parse().unwrap();
            // Monomorphic among the kept samples: no test in either tool's sense.
            if p.is_nan() {
                continue;
            }
            pairs.push((
                f[snp].to_string(),
                -f[p_inf].parse::<f64>().unwrap().log10(),
                -p.log10(),
            ));
        }
    }
    assert!(pairs.len() > 5000, "{} variants in common", pairs.len());
    let (a, b): (Vec<f64>, Vec<f64>) = pairs.iter().map(|(_, x, y)| (*x, *y)).unzip();
    let r = genolens::features::metrics::pearson(&a, &b);
    let top = |k: usize, by: &dyn Fn(&(String, f64, f64)) -> f64| {
        let mut v: Vec<&(String, f64, f64)> = pairs.iter().collect();
        v.sort_by(|x, y| by(y).total_cmp(&by(x)));
        v.into_iter()
            .take(k)
            .map(|x| x.0.clone())
            .collect::<std::collections::HashSet<_>>()
    };
    let overlap = top(10, &|x| x.1).intersection(&top(10, &|x| x.2)).count();
    eprintln!("-log10 p against BOLT_LMM_INF: r {r:.4}, top-10 overlap {overlap}");
    assert!(r > 0.95, "r {r}");
    assert!(overlap >= 8, "top-10 overlap {overlap}");
}

/// A whitespace table: header, then rows keyed by column `key`.
fn keyed_table(path: &Path, key: &str) -> (Vec<String>, HashMap<String, Vec<String>>) {
    let text = read(path);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let k = header.iter().position(|h| h == key).unwrap();
    let rows = lines
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .map(|f| (f[k].clone(), f))
        .collect();
    (header, rows)
}

/// regenie's example with its 6 samples removed, Y1 case/control: step 2
/// equals regenie's shipped output to its printed digits. The example has one
/// chromosome, so its LOCO offset is 0 and the score and approximate-Firth
/// tests decide every number; `--loco FILE` then reuses the predictions.
#[test]
fn wgr_binary_equals_regenie_on_its_example() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let reg = |f: &str| data(&format!("regenie_example/{f}"));
    let keep = keep_list_without(&reg("example.fam"), &reg("fid_iid_to_remove.txt"));
    std::fs::write(d.join("keep.txt"), keep).unwrap();
    let (bed, keep, pheno, covar) = (
        reg("example"),
        d.join("keep.txt"),
        reg("phenotype_bin.txt"),
        reg("covariates.txt"),
    );
    let run = |out: &Path, extra: &[&str]| {
        let base = [
            "gwas",
            "--bfile",
            s(&bed),
            "--keep",
            s(&keep),
            "--pheno",
            s(&pheno),
            "--pheno-name",
            "Y1",
            "--1",
            "--covar",
            s(&covar),
            "--wgr",
            "--wgr-block-size",
            "100",
            "--wgr-firth-p",
            "0.01",
            "--out",
            s(out),
        ];
        genolens(&[&base[..], extra].concat())
    };
    let out = d.join("o");
    ok(run(&out, &["--loco-out"]));
    let (_, theirs) = keyed_table(&reg("test_bin_out_firth_Y1.regenie"), "ID");
    let (header, ours) = keyed_table(&with(&out, "Y1.regenie"), "ID");
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    assert_eq!(ours.len(), theirs.len());
    // regenie's columns: ... A1FREQ INFO N TEST BETA SE CHISQ LOG10P EXTRA.
    let mut firth = 0;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (id, t) in &theirs {
        let o = &ours[id];
        assert_eq!(o[col("A1FREQ")], t[5], "{id} A1FREQ");
        assert_eq!(o[col("N")], t[7], "{id} N");
        for (name, k) in [("BETA", 9), ("SE", 10), ("CHISQ", 11), ("LOG10P", 12)] {
            let (x, y): (f64, f64) = (o[col(name)].parse().unwrap(), t[k].parse().unwrap());
            // 6 printed digits; regenie stops its Firth iterations earlier.
            assert!(
                (x - y).abs() <= 2e-5 * y.abs().max(1e-3),
                "{id} {name}: ours {x}, regenie {y}"
            );
        }
        let chisq: f64 = t[11].parse().unwrap();
        let z: f64 = t[9].parse::<f64>().unwrap() / t[10].parse::<f64>().unwrap();
        firth += usize::from((z * z - chisq).abs() > 1e-3 * chisq.max(1.0));
        a.push(o[col("LOG10P")].parse::<f64>().unwrap());
        b.push(t[12].parse::<f64>().unwrap());
    }
    let r = genolens::features::metrics::pearson(&a, &b);
    assert!(r > 0.9999, "r {r}");
    assert!(
        firth >= 15,
        "{firth} Firth-corrected rows in regenie's output"
    );
    // Every row whose χ² is not (BETA/SE)² went through Firth here too (a
    // Firth row may also happen to satisfy it).
    let glm = read(&with(&out, "Y1.glm.wgr"));
    let ours_firth = glm.lines().filter(|l| l.contains("\tWGR_FIRTH\t")).count();
    assert!(
        (firth..=firth + 2).contains(&ours_firth),
        "{ours_firth} Firth rows here, {firth} detected in regenie's"
    );
    // The list names its files by absolute path, as regenie's does.
    let list = read(&with(&out, "pred.list"));
    assert!(list
        .lines()
        .all(|l| Path::new(l.split_whitespace().nth(1).unwrap()).is_absolute()));
    // Step 2 again from the written predictions: the same bytes.
    let again = d.join("again");
    ok(run(&again, &["--loco", s(&with(&out, "pred.list"))]));
    assert_eq!(
        read(&with(&out, "Y1.regenie")),
        read(&with(&again, "Y1.regenie"))
    );
    assert!(read(&with(&again, "log")).contains("LOCO predictions read from"));
}

/// The EUR subset with BOLT-LMM's example selection: `--wgr` moves the
/// linear scan's −log10 p towards BOLT-LMM's infinitesimal LOCO model (run
/// here, and its shipped example.stats), and λGC drops from linear
/// regression's.
#[test]
fn wgr_quantitative_tracks_bolt_lmm_inf_on_eur() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = |f: &str| data(&format!("bolt_lmm_eur_subset_1000g/{f}"));
    bolt_example_lists(d);
    let bolt_args: Vec<String> = vec![
        format!("--bfile={}", s(&e("EUR_subset"))),
        format!("--remove={}", s(&e("EUR_subset.remove"))),
        format!("--exclude={}", s(&e("EUR_subset.exclude"))),
        format!("--exclude={}", s(&e("EUR_subset.exclude2"))),
        format!("--phenoFile={}", s(&e("EUR_subset.pheno2.covars"))),
        "--phenoCol=PHENO".into(),
        format!("--covarFile={}", s(&e("EUR_subset.pheno2.covars"))),
        "--covarCol=CAT_COV".into(),
        "--qCovarCol=QCOV{1:2}".into(),
        "--lmmInfOnly".into(),
        "--numThreads=2".into(),
        "--statsFile=bolt.stats".into(),
    ];
    let bolt_args: Vec<&str> = bolt_args.iter().map(String::as_str).collect();
    let Some(_) = reference_in(Some(d), "bolt", &bolt_args) else {
        return;
    };
    let pheno = e("EUR_subset.pheno2.covars");
    let (bed, keep, extract) = (e("EUR_subset"), d.join("keep.txt"), d.join("extract.txt"));
    let scan = |out: &Path, extra: &[&str]| {
        let base = [
            "gwas",
            "--bfile",
            s(&bed),
            "--keep",
            s(&keep),
            "--extract",
            s(&extract),
            "--pheno",
            s(&pheno),
            "--pheno-name",
            "PHENO",
            "--covar",
            s(&pheno),
            "--covar-name",
            "CAT_COV,QCOV1,QCOV2",
            "--out",
            s(out),
        ];
        ok(genolens(&[&base[..], extra].concat()));
    };
    let (wgr, lin) = (d.join("w"), d.join("l"));
    scan(&wgr, &["--wgr"]);
    scan(&lin, &[]);
    let neg_log10 = |path: &Path, key: &str, p: &str| -> HashMap<String, f64> {
        let (h, rows) = keyed_table(path, key);
        let c = h.iter().position(|x| x == p).unwrap();
        rows.into_iter()
            .filter_map(|(k, f)| f[c].parse::<f64>().ok().map(|p| (k, -p.log10())))
            .collect()
    };
    let bolt_run = neg_log10(&d.join("bolt.stats"), "SNP", "P_BOLT_LMM_INF");
    let shipped = neg_log10(&e("example.stats"), "SNP", "P_BOLT_LMM_INF");
    let ours = neg_log10(&with(&wgr, "PHENO.glm.wgr"), "ID", "P");
    let linear = neg_log10(&with(&lin, "PHENO.glm.linear"), "ID", "P");
    let r = |x: &HashMap<String, f64>, y: &HashMap<String, f64>| {
        let (a, b): (Vec<f64>, Vec<f64>) = x
            .iter()
            .filter_map(|(k, v)| y.get(k).map(|w| (*v, *w)))
            .unzip();
        assert!(a.len() > 5000, "{} variants in common", a.len());
        genolens::features::metrics::pearson(&a, &b)
    };
    let lambda = |x: &HashMap<String, f64>| {
        let ln_p: Vec<f64> = x.values().map(|l| -l * std::f64::consts::LN_10).collect();
        genolens::assoc::summary::genomic_control(&ln_p).unwrap()
    };
    let (r_run, r_shipped, r_linear) = (
        r(&ours, &bolt_run),
        r(&ours, &shipped),
        r(&linear, &bolt_run),
    );
    let (l_wgr, l_lin, l_bolt) = (lambda(&ours), lambda(&linear), lambda(&bolt_run));
    eprintln!(
        "-log10 p: WGR vs bolt run r {r_run:.4}, vs shipped {r_shipped:.4}; linear vs bolt run \
         {r_linear:.4}; lambda GC: WGR {l_wgr:.4}, linear {l_lin:.4}, BOLT-LMM-inf {l_bolt:.4}"
    );
    assert!(r_run > 0.9 && r_shipped > 0.9, "r {r_run} {r_shipped}");
    assert!(r_run > r_linear + 0.01, "WGR {r_run} vs linear {r_linear}");
    assert!(l_wgr < l_lin - 0.03, "lambda WGR {l_wgr}, linear {l_lin}");
}

#[test]
fn wgr_bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let reg = |f: &str| data(&format!("regenie_example/{f}"));
    let base = |out: &Path| {
        vec![
            "gwas".to_string(),
            "--bfile".into(),
            s(&reg("example")).into(),
            "--pheno".into(),
            s(&reg("phenotype.txt")).into(),
            "--out".into(),
            s(out).into(),
        ]
    };
    // Predictions for the first 100 samples and trait Y1 only.
    let fam = read(&reg("example.fam"));
    let few: String = fam
        .lines()
        .take(100)
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    std::fs::write(d.join("few.txt"), few).unwrap();
    let pred = d.join("p");
    let few = d.join("few.txt");
    let mut args = base(&pred);
    args.extend(
        [
            "--keep",
            s(&few),
            "--pheno-name",
            "Y1",
            "--wgr",
            "--loco-out",
        ]
        .map(String::from),
    );
    ok(genolens(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let list = with(&pred, "pred.list");
    let out = d.join("o");
    for (extra, says) in [
        (
            vec!["--pheno-name", "Y1", "--wgr", "--loco", s(&list)],
            "other samples",
        ),
        (
            vec!["--pheno-name", "Y2", "--wgr", "--loco", s(&list)],
            "no LOCO predictions for trait Y2",
        ),
        (vec!["--lmm", "--loco", s(&list)], "--loco takes no file"),
        (vec!["--loco"], "--loco needs --lmm or --wgr"),
        (vec!["--wgr", "--lmm"], "cannot be used with"),
    ] {
        let mut args = base(&out);
        args.extend(extra.iter().map(|a| a.to_string()));
        let o = genolens(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!o.status.success(), "{extra:?} should fail");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{extra:?}: {err}");
        assert!(
            std::fs::read_dir(d).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("o.")),
            "{extra:?} left output"
        );
    }
}

/// HapMap's 60 samples with sexes imputed from their 203 chrX variants by
/// `plink1.9 --impute-sex` (27 male, 20 female, 13 unknown): `--glm` on chrX
/// as plink2 does it (samples of known sex, `SEX` added, males 0/2; `--xchr-model
/// 1` males 0/1; `0` chrX skipped), linear and logistic, against plink2 run on
/// the same files.
#[test]
fn chrx_follows_plink2_glm_with_sexes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(hx) = hapmap_with_sexes(d) else {
        return;
    };
    let fam = read(&with(&hx, "fam"));
    let sexes: Vec<&str> = fam
        .lines()
        .map(|l| l.split_whitespace().nth(4).unwrap())
        .collect();
    assert!(sexes.contains(&"1") && sexes.contains(&"2") && sexes.contains(&"0"));
    let (pheno, _) = simulated_tables(&with(&hx, "fam"), d);
    // A case/control trait from the same stream's first column.
    let text = read(&pheno);
    let mut bin = String::from("FID IID B\n");
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        let q: f64 = f[2].parse().unwrap();
        bin.push_str(&format!(
            "{} {} {}\n",
            f[0],
            f[1],
            if q > 0.3 { 2 } else { 1 }
        ));
    }
    let binary = d.join("bin.pheno");
    std::fs::write(&binary, bin).unwrap();
    for (label, ours, theirs) in [
        ("default", vec![], vec![]),
        (
            "xchr-model 1",
            vec!["--xchr-model", "1"],
            vec!["--xchr-model", "1"],
        ),
        (
            "xchr-model 0",
            vec!["--xchr-model", "0"],
            vec!["--xchr-model", "0"],
        ),
    ] {
        let (g, p) = (d.join("g"), d.join("p"));
        ok(genolens(
            &[
                &[
                    "gwas",
                    "--bfile",
                    s(&hx),
                    "--pheno",
                    s(&pheno),
                    "--out",
                    s(&g),
                ][..],
                &ours[..],
            ]
            .concat(),
        ));
        reference(
            "plink2",
            &[
                &[
                    "--bfile",
                    s(&hx),
                    "--pheno",
                    s(&pheno),
                    "--glm",
                    "allow-no-covars",
                    "hide-covar",
                    "--out",
                    s(&p),
                ][..],
                &theirs[..],
            ]
            .concat(),
        );
        let (ours_file, theirs_file) = (with(&g, "Q1.glm.linear"), with(&p, "Q1.glm.linear"));
        assert_glm_agrees(&ours_file, &theirs_file, label);
        let x_rows = read(&ours_file)
            .lines()
            .filter(|l| l.starts_with("X\t"))
            .count();
        assert_eq!(
            x_rows,
            if label == "xchr-model 0" { 0 } else { 203 },
            "{label}"
        );
        if label == "default" {
            // Samples of known sex only on chrX.
            let obs: Vec<String> = read(&ours_file)
                .lines()
                .filter(|l| l.starts_with("X\t"))
                .map(|l| l.split('\t').nth(7).unwrap().to_string())
                .collect();
            assert!(
                obs.iter().all(|o| o.parse::<u32>().unwrap() <= 47),
                "{obs:?}"
            );
            assert!(read(&with(&g, "log")).contains("chrX"));
        }
    }
    // Case/control: chrX rows against plink2's. Debian's plink2 2.00a3.5 fits
    // logistic and Firth models in single precision (docs/benchmarks.md); at
    // 41-47 samples that moves Z by up to 6e-3 relative on a Firth row here
    // (the linear comparison above checks the chrX samples, SEX and coding
    // to 1e-4).
    let (g, p) = (d.join("gb"), d.join("pb"));
    ok(genolens(&[
        "gwas",
        "--bfile",
        s(&hx),
        "--pheno",
        s(&binary),
        "--out",
        s(&g),
    ]));
    reference(
        "plink2",
        &[
            "--bfile",
            s(&hx),
            "--pheno",
            s(&binary),
            "--glm",
            "allow-no-covars",
            "hide-covar",
            "firth-fallback",
            "--out",
            s(&p),
        ],
    );
    let x_only = |path: &Path, to: &Path| {
        let text = read(path);
        let kept: String = text
            .lines()
            .enumerate()
            .filter(|(k, l)| *k == 0 || l.starts_with("X\t"))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        std::fs::write(to, kept).unwrap();
    };
    let (gx, px) = (d.join("gx.tsv"), d.join("px.tsv"));
    x_only(&with(&g, "B.glm.logistic.hybrid"), &gx);
    x_only(&with(&p, "B.glm.logistic.hybrid"), &px);
    assert_eq!(read(&gx).lines().count(), 204);
    assert_glm_within(&gx, &px, "logistic chrX", 1e-2);
}

/// A GWAS sharded by chromosome range (`--chr 17-19`, `--chr 20-22`) and
/// joined by `genolens merge` equals the single run: the `.glm.linear`
/// byte for byte, and λGC, the Bonferroni and BH counts recomputed over the
/// whole as the single run's log prints them. Overlapping shards and shards
/// of different layouts are refused.
#[test]
fn merged_shards_equal_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let eur = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let pheno = with(&eur, "pheno.covars");
    let gwas = |extra: &[&str], out: &Path| {
        ok(genolens(
            &[
                &[
                    "gwas",
                    "--bfile",
                    s(&eur),
                    "--pheno",
                    s(&pheno),
                    "--pheno-name",
                    "PHENO",
                ][..],
                extra,
                &["--out", s(out)],
            ]
            .concat(),
        ))
    };
    let whole = d.join("whole");
    gwas(&[], &whole);
    let shards: Vec<_> = ["17-19", "20-22"]
        .iter()
        .map(|c| {
            let out = d.join(format!("chr{c}"));
            gwas(&["--chr", c], &out);
            with(&out, "PHENO.glm.linear")
        })
        .collect();
    let merged = d.join("merged");
    ok(genolens(&[
        "merge",
        "--glm",
        s(&shards[0]),
        s(&shards[1]),
        "--out",
        s(&merged),
    ]));
    assert_eq!(
        std::fs::read(with(&merged, "PHENO.glm.linear")).unwrap(),
        std::fs::read(with(&whole, "PHENO.glm.linear")).unwrap()
    );
    let summary = |p: &Path| -> Vec<String> {
        read(&with(p, "log"))
            .lines()
            .filter(|l| {
                l.contains("variants tested")
                    || l.contains("lambda GC 0")
                    || l.contains("lambda GC 1")
                    || l.contains("Benjamini")
            })
            .map(String::from)
            .collect()
    };
    let (a, b) = (summary(&merged), summary(&whole));
    assert_eq!(a.len(), 3, "{a:?}");
    assert_eq!(a, b);
    assert!(
        with(&merged, "PHENO.manhattan.png").exists() && with(&merged, "PHENO.qq.png").exists()
    );
    // The same shard twice overlaps.
    let bad = d.join("bad");
    let o = genolens(&[
        "merge",
        "--glm",
        s(&shards[0]),
        s(&shards[0]),
        "--out",
        s(&bad),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("shards must not overlap"));
    assert!(!with(&bad, "PHENO.glm.linear").exists());
    // A shard with another layout (no ERRCODE column) does not join.
    let other = d.join("other.PHENO.glm.linear");
    let cut: String = read(&shards[1])
        .lines()
        .map(|l| l.rsplit_once('\t').unwrap().0.to_string() + "\n")
        .collect();
    std::fs::write(&other, cut).unwrap();
    let o = genolens(&["merge", "--glm", s(&shards[0]), s(&other), "--out", s(&bad)]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("header differs"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A `gwas` killed with SIGKILL at points from its start to its last writes
/// leaves only whole files: each file present equals the one an
/// uninterrupted run writes (the log but for its timing line), and no
/// temporary file is left, hidden or not. Rerun in the same place, it
/// writes the uninterrupted run's bytes.
#[test]
fn a_killed_gwas_leaves_whole_files_only_and_reruns_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let eur = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let pheno = with(&eur, "pheno.covars");
    let args = |out: &Path| -> Vec<String> {
        [
            "gwas",
            "--bfile",
            s(&eur),
            "--pheno",
            s(&pheno),
            "--pheno-name",
            "PHENO",
            "--covar",
            s(&pheno),
            "--covar-name",
            "QCOV1,QCOV2",
            "--out",
            s(out),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    // A file's bytes, the log's without its timing line and with its own
    // directory (the `wrote` lines) blanked.
    let comparable = |root: &Path, f: &Path| -> Vec<u8> {
        let bytes = std::fs::read(root.join(f)).unwrap();
        if f.extension().is_some_and(|e| e == "log") {
            String::from_utf8(bytes)
                .unwrap()
                .replace(s(root), "DIR")
                .lines()
                .filter(|l| !l.starts_with("time:"))
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes()
        } else {
            bytes
        }
    };
    let reference = dir.path().join("ref");
    std::fs::create_dir(&reference).unwrap();
    let started = std::time::Instant::now();
    ok(genolens(
        &args(&reference.join("o"))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ));
    let full = started.elapsed();
    let want = entries_under(&reference);
    assert!(want.len() >= 4, "{want:?}");
    for k in 0..8 {
        let here = dir.path().join(format!("k{k}"));
        std::fs::create_dir(&here).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_genolens"))
            .args(args(&here.join("o")))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(k as f64 / 8.0 + 0.05));
        let _ = child.kill();
        let _ = child.wait();
        for f in entries_under(&here) {
            assert!(
                want.contains(&f),
                "kill {k}: {} is not an output",
                f.display()
            );
            assert!(
                comparable(&here, &f) == comparable(&reference, &f),
                "kill {k}: {} is partial",
                f.display()
            );
        }
        ok(genolens(
            &args(&here.join("o"))
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        ));
        assert_eq!(entries_under(&here), want, "rerun {k}");
        for f in &want {
            assert!(
                comparable(&here, f) == comparable(&reference, f),
                "rerun {k}: {}",
                f.display()
            );
        }
    }
}
