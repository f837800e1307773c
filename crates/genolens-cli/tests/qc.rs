//! `genolens qc` and `genolens pca` against `plink2` run on the same bundled
//! filesets, plus the bad-input cases of the QC issue.

use std::collections::HashMap;
use std::path::Path;

mod common;

use common::*;

#[test]
fn qc_reports_and_ld_pruning_are_identical_to_plink2() {
    let dir = tempfile::tempdir().unwrap();
    for fs in FILESETS {
        let prefix = data(fs);
        let reports = [
            "--freq",
            "--hardy",
            "--missing",
            "--het",
            "--indep-pairwise",
            "50",
            "5",
            "0.2",
        ];
        // plink2 2.00a3.5 miscounts non-zero padding bits (see reference.rs).
        let input = zero_padding_copy(&prefix, dir.path());
        let Some((ours, theirs)) = run_both(
            dir.path(),
            &[&["qc", "--bfile", s(&prefix)], &reports[..]].concat(),
            &[&["--bfile", s(&input)], &reports[..]].concat(),
        ) else {
            return;
        };
        for ext in ["afreq", "hardy", "smiss", "vmiss", "het"] {
            assert_same_text(
                &with(&ours, ext),
                &with(&theirs, ext),
                &format!("{fs} .{ext}"),
            );
        }
        for ext in ["prune.in", "prune.out"] {
            let (a, b) = (with(&ours, ext), with(&theirs, ext));
            // wheat's markers are all on chromosome 0, which both tools ignore:
            // neither writes a list then.
            assert_eq!(
                a.exists(),
                b.exists(),
                "{fs}: .{ext} written by only one tool"
            );
            if b.exists() {
                assert_same_text(&a, &b, &format!("{fs} .{ext}"));
            }
        }
    }
}

#[test]
fn hardy_midp_matches_plink2() {
    let dir = tempfile::tempdir().unwrap();
    for fs in ["hapmap_snprelate_60x5000/plinkhapmap", "bglr_wheat/wheat"] {
        let prefix = data(fs);
        let bfile = ["--bfile", s(&prefix)];
        let Some((ours, theirs)) = run_both(
            dir.path(),
            &[&["qc"], &bfile[..], &["--hardy", "--midp"]].concat(),
            &[&bfile[..], &["--hardy", "midp"]].concat(),
        ) else {
            return;
        };
        assert_same_text(&with(&ours, "hardy"), &with(&theirs, "hardy"), fs);
    }
}

#[test]
fn filters_keep_what_plink2_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = data("hapmap_snprelate_60x5000/plinkhapmap");
    let flags = [
        "--bfile",
        s(&prefix),
        "--mind",
        "0.01",
        "--geno",
        "0.02",
        "--maf",
        "0.1",
        "--hwe",
        "1e-3",
        "--make-bed",
    ];
    let Some((ours, theirs)) = run_both(dir.path(), &[&["qc"], &flags[..]].concat(), &flags) else {
        return;
    };
    for ext in ["bim", "fam", "mindrem.id"] {
        assert_same_text(&with(&ours, ext), &with(&theirs, ext), ext);
    }
    assert_same_files(&with(&ours, "bed"), &with(&theirs, "bed"));
    // What each filter removed is reported, with plink2's counts.
    let log = read(&with(&ours, "log"));
    let plink_log = read(&with(&theirs, "log"));
    assert!(log.contains("--mind 0.01: 1 sample(s) removed"), "{log}");
    for (flag, needle) in [
        ("--geno", "variants removed due to missing genotype data"),
        ("--hwe", "variants removed due to Hardy-Weinberg"),
    ] {
        let n = plink_log
            .lines()
            .find(|l| l.contains(needle))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("plink2 log lacks {needle}"));
        assert!(
            log.lines()
                .any(|l| l.starts_with(flag) && l.contains(&format!(": {n} variant(s)"))),
            "{flag}: expected {n} removed\n{log}"
        );
    }
    let removed = read(&with(&ours, "varrem.tsv"));
    assert!(removed
        .lines()
        .skip(1)
        .all(|l| l.ends_with("--geno") || l.ends_with("--hwe") || l.ends_with("--maf")));
}

/// `.eigenvec` as IID → PC values.
fn eigenvec(p: &Path) -> (Vec<String>, HashMap<String, Vec<f64>>) {
    let text = read(p);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let first_pc = header.iter().position(|h| h.starts_with("PC")).unwrap();
    let mut order = Vec::new();
    let mut rows = HashMap::new();
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        let iid = f[first_pc - 1].to_string();
        order.push(iid.clone());
        rows.insert(
            iid,
            f[first_pc..].iter().map(|x| x.parse().unwrap()).collect(),
        );
    }
    (order, rows)
}

fn abs_corr(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut c, mut vx, mut vy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        c += (a - mx) * (b - my);
        vx += (a - mx) * (a - mx);
        vy += (b - my) * (b - my);
    }
    (c / (vx * vy).sqrt()).abs()
}

/// |correlation| of each of the first `k` PCs between two `.eigenvec` files.
fn pc_correlations(a: &Path, b: &Path, k: usize) -> Vec<f64> {
    let (order, ra) = eigenvec(a);
    let (_, rb) = eigenvec(b);
    (0..k)
        .map(|j| {
            let x: Vec<f64> = order.iter().map(|i| ra[i][j]).collect();
            let y: Vec<f64> = order.iter().map(|i| rb[i][j]).collect();
            abs_corr(&x, &y)
        })
        .collect()
}

#[test]
fn exact_pca_matches_plink2_pca() {
    let dir = tempfile::tempdir().unwrap();
    for fs in [
        "hapmap_snprelate_60x5000/plinkhapmap",
        "bolt_lmm_eur_subset_1000g/EUR_subset",
        "1000g_lct_region_gaston/LCT",
        "regenie_example/example",
    ] {
        let prefix = data(fs);
        let input = zero_padding_copy(&prefix, dir.path());
        let Some((ours, theirs)) = run_both(
            dir.path(),
            &["pca", "--bfile", s(&prefix), "--pca", "5"],
            &["--bfile", s(&input), "--pca", "5"],
        ) else {
            return;
        };
        let r = pc_correlations(&with(&ours, "eigenvec"), &with(&theirs, "eigenvec"), 5);
        assert!(r.iter().all(|&c| c >= 0.99), "{fs}: |r| per PC {r:?}");
        // Eigenvalues agree closely (PLINK 2 also corrects for missing calls).
        let ev = |p: &Path| -> Vec<f64> { read(p).lines().map(|l| l.parse().unwrap()).collect() };
        let (a, b) = (ev(&with(&ours, "eigenval")), ev(&with(&theirs, "eigenval")));
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() <= 0.02 * y,
                "{fs}: eigenvalues {a:?} vs {b:?}"
            );
        }
    }
}

#[test]
fn approx_pca_matches_plink2_approx_on_a_5000_sample_cohort() {
    let dir = tempfile::tempdir().unwrap();
    let cohort = dir.path().join("sim");
    ok(genolens(&[
        "simulate",
        "--samples",
        "5000",
        "--variants",
        "6000",
        "--populations",
        "7",
        "--fst",
        "0.03",
        "--seed",
        "11",
        "--out",
        s(&cohort),
    ]));
    let pca = ["--bfile", s(&cohort), "--pca", "5"];
    let Some((ours, theirs)) = run_both(
        dir.path(),
        &[&["pca"], &pca[..], &["--approx"]].concat(),
        &[&pca[..], &["approx"]].concat(),
    ) else {
        return;
    };
    let r = pc_correlations(&with(&ours, "eigenvec"), &with(&theirs, "eigenvec"), 5);
    assert!(r.iter().all(|&c| c >= 0.99), "|r| per PC {r:?}");
}

#[test]
fn pca_separates_the_lct_populations_and_plots_them() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = data("1000g_lct_region_gaston/LCT");
    let pops = data("1000g_lct_region_gaston/LCT.pop.tsv");
    let ours = dir.path().join("lct");
    ok(genolens(&[
        "pca",
        "--bfile",
        s(&prefix),
        "--pca",
        "5",
        "--plot",
        "--pop-file",
        s(&pops),
        "--out",
        s(&ours),
    ]));
    let (order, rows) = eigenvec(&with(&ours, "eigenvec"));
    let labels: HashMap<String, String> = read(&pops)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect();
    // Between- over within-population variance of (PC1, PC2): an F-like ratio.
    let mut groups: HashMap<&str, Vec<[f64; 2]>> = HashMap::new();
    for iid in &order {
        groups
            .entry(labels[iid].as_str())
            .or_default()
            .push([rows[iid][0], rows[iid][1]]);
    }
    assert_eq!(groups.len(), 5);
    let n = order.len() as f64;
    let mut between = 0.0;
    let mut within = 0.0;
    let grand = [0usize, 1].map(|k| order.iter().map(|i| rows[i][k]).sum::<f64>() / n);
    for pts in groups.values() {
        let m = [0usize, 1].map(|k| pts.iter().map(|p| p[k]).sum::<f64>() / pts.len() as f64);
        for k in 0..2 {
            between += pts.len() as f64 * (m[k] - grand[k]).powi(2);
            within += pts.iter().map(|p| (p[k] - m[k]).powi(2)).sum::<f64>();
        }
    }
    let ratio = (between / 4.0) / (within / (n - 5.0));
    assert!(ratio > 10.0, "between/within variance ratio {ratio}");
    let png = std::fs::read(with(&ours, "pca.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let hapmap = data("hapmap_snprelate_60x5000/plinkhapmap");
    // More PCs than samples allow.
    let out = genolens(&[
        "pca",
        "--bfile",
        s(&hapmap),
        "--pca",
        "60",
        "--out",
        s(&dir.path().join("x")),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("60 principal components") && err.contains("at most 59"),
        "{err}"
    );
    assert!(!dir.path().join("x.eigenvec").exists());

    // A sample with every call missing is reported, and --mind removes it.
    let bed = std::fs::read(hapmap.with_extension("bed")).unwrap();
    let stride = 60usize.div_ceil(4);
    let mut bed = bed;
    for v in 0..5000 {
        let byte = &mut bed[3 + v * stride];
        *byte = (*byte & !0b11) | 0b01; // sample 1 missing
    }
    let broken = dir.path().join("broken");
    std::fs::write(broken.with_extension("bed"), bed).unwrap();
    std::fs::copy(hapmap.with_extension("bim"), broken.with_extension("bim")).unwrap();
    std::fs::copy(hapmap.with_extension("fam"), broken.with_extension("fam")).unwrap();
    let q = dir.path().join("q");
    let out = genolens(&[
        "qc",
        "--bfile",
        s(&broken),
        "--missing",
        "--mind",
        "0.5",
        "--out",
        s(&q),
    ]);
    ok(out.clone());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 sample(s) have no called genotype (first: NA19152)"),
        "{err}"
    );
    let smiss = read(&with(&q, "smiss"));
    assert!(
        !smiss.contains("NA19152"),
        "--mind removed it before the report"
    );
    assert!(read(&with(&q, "mindrem.id")).contains("NA19152"));

    // Nothing asked for is a usage error; a bad threshold too.
    let out = genolens(&["qc", "--bfile", s(&hapmap), "--out", s(&q)]);
    assert!(!out.status.success());
    let out = genolens(&["qc", "--bfile", s(&hapmap), "--maf", "1.5", "--out", s(&q)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 0 and 1"));
}

#[test]
fn pca_on_ld_pruned_variants_matches_plink2_extract() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let q = dir.path().join("q");
    ok(genolens(&[
        "qc",
        "--bfile",
        s(&prefix),
        "--indep-pairwise",
        "50",
        "5",
        "0.2",
        "--out",
        s(&q),
    ]));
    let prune_in = with(&q, "prune.in");
    let pca = [
        "--bfile",
        s(&prefix),
        "--extract",
        s(&prune_in),
        "--pca",
        "5",
    ];
    let Some((ours, theirs)) = run_both(dir.path(), &[&["pca"], &pca[..]].concat(), &pca) else {
        return;
    };
    let r = pc_correlations(&with(&ours, "eigenvec"), &with(&theirs, "eigenvec"), 5);
    assert!(r.iter().all(|&c| c >= 0.99), "|r| per PC {r:?}");
    // --keep restricts samples: a list of 100 IIDs gives 100 rows.
    let fam = read(&prefix.with_extension("fam"));
    let keep = dir.path().join("keep.txt");
    let ids: Vec<String> = fam
        .lines()
        .take(100)
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect();
    std::fs::write(&keep, ids.join("\n")).unwrap();
    let k = dir.path().join("k");
    ok(genolens(&[
        "pca",
        "--bfile",
        s(&prefix),
        "--keep",
        s(&keep),
        "--pca",
        "3",
        "--out",
        s(&k),
    ]));
    assert_eq!(read(&with(&k, "eigenvec")).lines().count(), 101);
}

#[test]
fn king_table_and_cutoff_are_identical_to_plink2() {
    let dir = tempfile::tempdir().unwrap();
    let lct_vcf = data("1000g_lct_region_gaston/LCT.vcf.gz");
    let mut inputs: Vec<(Vec<String>, Vec<String>)> = FILESETS
        .iter()
        .map(|fs| {
            let prefix = data(fs);
            let ours = vec!["--bfile".to_string(), s(&prefix).to_string()];
            (ours.clone(), ours)
        })
        .collect();
    // VCF input: no family IDs, `#IID1 IID2` as in plink2.
    let vcf = vec!["--vcf".to_string(), s(&lct_vcf).to_string()];
    inputs.push((vcf.clone(), vcf));
    for (ours, theirs) in &inputs {
        let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
        let theirs: Vec<&str> = theirs.iter().map(String::as_str).collect();
        let flags = ["--make-king-table", "--king-cutoff", "0.0884"];
        let Some((g, p)) = run_both(
            dir.path(),
            &[&["relatedness"], &ours[..], &flags[..]].concat(),
            &[&theirs[..], &flags[..]].concat(),
        ) else {
            return;
        };
        let what = ours[1];
        assert_same_text(&with(&g, "kin0"), &with(&p, "kin0"), what);
        for list in ["king.cutoff.in.id", "king.cutoff.out.id"] {
            assert_same_text(&with(&g, list), &with(&p, list), list);
        }
        // Kept and removed partition the samples.
        let rows = |ext: &str| read(&with(&g, ext)).lines().count() - 1;
        let n = (1.0 + (1.0 + 8.0 * rows("kin0") as f64).sqrt()) / 2.0;
        assert_eq!(
            rows("king.cutoff.in.id") + rows("king.cutoff.out.id"),
            n.round() as usize
        );
    }
    // HapMap has trios: the parent-offspring pairs are found and the plot drawn.
    let hapmap = data("hapmap_snprelate_60x5000/plinkhapmap");
    let out = dir.path().join("h");
    ok(genolens(&[
        "relatedness",
        "--bfile",
        s(&hapmap),
        "--make-king-table",
        "--plot",
        "--out",
        s(&out),
    ]));
    let first_degree = read(&with(&out, "kin0"))
        .lines()
        .skip(1)
        .filter(|l| {
            let k: f64 = l.rsplit('\t').next().unwrap().parse().unwrap();
            (0.177..0.354).contains(&k)
        })
        .count();
    assert!(first_degree >= 4, "{first_degree} first-degree pairs");
    assert!(std::fs::metadata(with(&out, "king.png")).unwrap().len() > 10_000);

    // Simulated families (sibships and their parents): the same table and kept
    // set as plink2, every sibling and parent–offspring pair first degree, and
    // the cutoff leaves no pair of relatives.
    let fam = dir.path().join("fam");
    ok(genolens(&[
        "simulate",
        "--samples",
        "120",
        "--variants",
        "4000",
        "--populations",
        "1",
        "--families",
        "30",
        "--children",
        "2",
        "--out",
        s(&fam),
    ]));
    let flags = ["--make-king-table", "--king-cutoff", "0.177"];
    let Some((g, p)) = run_both(
        dir.path(),
        &[&["relatedness", "--bfile", s(&fam)], &flags[..]].concat(),
        &[&["--bfile", s(&fam)], &flags[..]].concat(),
    ) else {
        return;
    };
    assert_same_text(&with(&g, "kin0"), &with(&p, "kin0"), "families");
    assert_same_text(
        &with(&g, "king.cutoff.in.id"),
        &with(&p, "king.cutoff.in.id"),
        "families: kept",
    );
    let table = read(&with(&g, "kin0"));
    let first: Vec<&str> = table
        .lines()
        .skip(1)
        .filter(|l| {
            (0.177..0.354).contains(&l.rsplit('\t').next().unwrap().parse::<f64>().unwrap())
        })
        .collect();
    // Per family: 1 sibling pair and 4 parent-offspring pairs.
    assert_eq!(first.len(), 30 * 5, "first-degree pairs");
    let removed = read(&with(&g, "king.cutoff.out.id")).lines().count() - 1;
    assert!(removed >= 30, "{removed} removed");
}

#[test]
fn grm_is_identical_to_plink2_make_grm_bin() {
    let dir = tempfile::tempdir().unwrap();
    for fs in FILESETS {
        let prefix = data(fs);
        // plink2 2.00a3.5 counts non-zero padding bits as calls (see
        // reference.rs), which changes LCT's frequencies: give it zeroed bytes.
        let input = zero_padding_copy(&prefix, dir.path());
        for (ours, theirs) in [
            (vec![], vec![]),
            (vec!["--grm-cov"], vec!["cov"]),
            (vec!["--grm-meanimpute"], vec!["meanimpute"]),
        ] {
            let Some((g, p)) = run_both(
                dir.path(),
                &[
                    &["relatedness", "--bfile", s(&prefix), "--make-grm"],
                    &ours[..],
                ]
                .concat(),
                &[&["--bfile", s(&input), "--make-grm-bin"], &theirs[..]].concat(),
            ) else {
                return;
            };
            for ext in ["grm.bin", "grm.N.bin"] {
                let a = std::fs::read(with(&g, ext)).unwrap();
                let b = std::fs::read(with(&p, ext)).unwrap();
                assert_eq!(a.len(), b.len(), "{fs} {theirs:?} {ext}: size");
                // Equal as f32 values (the bytes may differ only in the sign of zero).
                let differ = a
                    .chunks_exact(4)
                    .zip(b.chunks_exact(4))
                    .filter(|(x, y)| {
                        let f = |c: &[u8]| f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                        f(x) != f(y)
                    })
                    .count();
                assert_eq!(differ, 0, "{fs} {theirs:?} {ext}: {differ} entries differ");
            }
            assert_same_text(&with(&g, "grm.id"), &with(&p, "grm.id"), "grm.id");
        }
    }
    // The matrix reads back with its IDs, and a foreign ID file is refused.
    let g = dir.path().join("g");
    let paths = genolens::io::relatedness::GrmPaths::new(&g);
    let m = genolens::io::relatedness::read_grm_bin(&paths).unwrap();
    // A standardised GRM's diagonal averages about 1 (1 + inbreeding).
    let n = m.ids.len();
    let mean_diag = (0..n).map(|i| f64::from(m.get(i, i))).sum::<f64>() / n as f64;
    assert!((0.9..1.2).contains(&mean_diag), "{mean_diag}");
    std::fs::write(&paths.id, "a\ta\nb\tb\n").unwrap();
    assert!(genolens::io::relatedness::read_grm_bin(&paths).is_err());
}

#[test]
fn relatedness_refuses_bad_requests_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let eur = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let out = dir.path().join("r");
    for (args, says) in [
        (vec!["--king-cutoff", "0.7"], "below 0.5"),
        (vec![], "--make-king-table, --king-cutoff or --make-grm"),
    ] {
        let o = genolens(
            &[
                &["relatedness", "--bfile", s(&eur), "--out", s(&out)],
                &args[..],
            ]
            .concat(),
        );
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{err}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// HapMap with sexes imputed from chrX by `plink1.9 --impute-sex`: `.afreq`,
/// `.hardy`, `.hardy.x` (Graffelman–Weir's exact test; also mid-p) and LD
/// pruning (non-males weighted twice on chrX) identical to plink2's.
#[test]
fn chrx_reports_and_pruning_are_identical_to_plink2_with_sexes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(hx) = hapmap_with_sexes(d) else {
        return;
    };
    for (midp, window) in [(false, ["50", "5", "0.2"]), (true, ["20", "2", "0.1"])] {
        let mut reports = vec!["--freq", "--hardy", "--indep-pairwise"];
        reports.extend(window);
        let mut theirs = reports.clone();
        if midp {
            reports.push("--midp");
            theirs[1] = "--hardy";
            theirs.insert(2, "midp");
        }
        let Some((ours, theirs)) = run_both(
            d,
            &[&["qc", "--bfile", s(&hx)], &reports[..]].concat(),
            &[&["--bfile", s(&hx)], &theirs[..]].concat(),
        ) else {
            return;
        };
        for ext in ["afreq", "hardy", "hardy.x", "prune.in", "prune.out"] {
            assert_same_text(
                &with(&ours, ext),
                &with(&theirs, ext),
                &format!("midp {midp}: .{ext}"),
            );
        }
        assert_eq!(read(&with(&ours, "hardy.x")).lines().count(), 204);
    }
    // --hwe removes chrX variants by the same test (plink2 drops 56 here).
    let Some((ours, theirs)) = run_both(
        d,
        &["qc", "--bfile", s(&hx), "--hwe", "0.2", "--make-bed"],
        &["--bfile", s(&hx), "--hwe", "0.2", "--make-bed"],
    ) else {
        return;
    };
    let ids = |p: &Path| -> Vec<String> {
        read(&with(p, "bim"))
            .lines()
            .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&ours), ids(&theirs));
    let x_kept = read(&with(&ours, "bim"))
        .lines()
        .filter(|l| l.starts_with("23\t") || l.starts_with("X\t"))
        .count();
    assert!(x_kept < 203, "{x_kept} chrX variants kept");
}
