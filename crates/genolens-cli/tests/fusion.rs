//! Literature meets genotypes through the CLI: `genolens prior` on BioRED,
//! then `gwas --prior`, `fdr`, `predict --prior`, `train --prior` and
//! `explain` on the 1000 Genomes EUR subset (chromosomes 19–22) with a trait
//! simulated from variants near genes the literature links to cancer.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;
use genolens::features::simulate::{simulate_trait, CausalTerm, GeneticModel};
use genolens::io::corpus::Corpus;
use genolens::io::plink::BedFile;
use genolens::io::GenotypeSource;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rows of a TSV as maps from header name to value.
fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let text = read(path);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split('\t')
        .map(|h| h.trim_start_matches('#').to_string())
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
}

fn gene_files() -> (PathBuf, PathBuf) {
    (
        data("gene_annotations/genes_GRCh38_orgHsEgDb.tsv"),
        data("gene_annotations/gene_aliases_orgHsEgDb.tsv"),
    )
}

/// `genolens prior` for "cancer" over BioRED's three splits.
fn cancer_prior(dir: &Path) -> PathBuf {
    let corpus = dir.join("biored.PubTator");
    let mut all = String::new();
    for split in ["Train", "Dev", "Test"] {
        all.push_str(&read(&data(&format!("biored/{split}.PubTator"))));
        all.push('\n');
    }
    std::fs::write(&corpus, all).unwrap();
    let (names, aliases) = gene_files();
    let disease = data("ncbi_disease_corpus/NCBItrainset_corpus.txt");
    let out = dir.join("cancer");
    ok(genolens(&[
        "prior",
        "--corpus",
        s(&corpus),
        "--query",
        "cancer",
        "--gene-names",
        s(&names),
        "--gene-aliases",
        s(&aliases),
        "--disease-corpus",
        s(&disease),
        "--embed",
        "--tfidf-dim",
        "16",
        "--out",
        s(&out),
    ]));
    out
}

#[test]
fn prior_scores_genes_with_evidence_at_exact_offsets() {
    if !data("biored/Test.PubTator").exists() {
        eprintln!("skipping: BioRED not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = cancer_prior(dir.path());
    let prior = rows(&out.with_extension("gene_prior.tsv"));
    assert!(prior.len() > 1000, "{} genes", prior.len());
    let scores: Vec<f64> = prior.iter().map(|r| r["score"].parse().unwrap()).collect();
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "sorted by score");
    let supported = scores.iter().filter(|&&s| s > 0.0).count();
    assert!(
        (50..500).contains(&supported),
        "{supported} supported genes"
    );
    // BRCA1 is a cancer gene in these abstracts; a gene never named with
    // cancer scores 0.
    let brca1 = prior
        .iter()
        .find(|r| r["symbol"] == "BRCA1")
        .expect("BRCA1");
    assert!(brca1["score"].parse::<f64>().unwrap() > 0.5);
    assert!(prior
        .iter()
        .any(|r| r["score"] == "0" && r["evidence_pmids"] == "."));
    // Every evidence sentence is cut from its abstract at the stated
    // character offsets (PubTator counts characters, not bytes).
    let mut texts: HashMap<String, String> = HashMap::new();
    for split in ["Train", "Dev", "Test"] {
        for d in Corpus::read_pubtator(data(&format!("biored/{split}.PubTator")))
            .unwrap()
            .documents
        {
            texts.insert(d.pmid.clone(), d.text());
        }
    }
    let evidence = rows(&out.with_extension("gene_evidence.tsv"));
    assert!(evidence.len() >= supported);
    for e in &evidence {
        let (start, end): (usize, usize) = (e["start"].parse().unwrap(), e["end"].parse().unwrap());
        let cut: String = texts[&e["pmid"]]
            .chars()
            .skip(start)
            .take(end - start)
            .collect();
        assert_eq!(cut.replace(['\t', '\n'], " "), e["sentence"]);
    }
    // Embeddings: one row per gene of the table.
    let npy = std::fs::read(out.with_extension("gene_prior.npy")).unwrap();
    let header = String::from_utf8_lossy(&npy[..128]);
    assert!(
        header.contains(&format!("({}, 16)", prior.len())),
        "{header}"
    );

    // A query that matches nothing: a clear error naming it, no output.
    let (names, aliases) = gene_files();
    let none = dir.path().join("none");
    let fail = genolens(&[
        "prior",
        "--corpus",
        s(&dir.path().join("biored.PubTator")),
        "--query",
        "xyzzy plugh",
        "--gene-names",
        s(&names),
        "--gene-aliases",
        s(&aliases),
        "--out",
        s(&none),
    ]);
    assert!(!fail.status.success());
    let err = String::from_utf8_lossy(&fail.stderr);
    assert!(
        err.contains("\"xyzzy plugh\"") && err.contains("matches no sentence"),
        "{err}"
    );
    assert!(!none.with_extension("gene_prior.tsv").exists());

    // A user table: unknown genes are reported and counted, scores rescaled.
    let table = dir.path().join("pops.tsv");
    std::fs::write(
        &table,
        "gene\tscore\nBRCA1\t3.5\nTP53\t1.0\nNOTAGENE1\t2\n672\t0.5\n",
    )
    .unwrap();
    let user = dir.path().join("user");
    ok(genolens(&[
        "prior",
        "--table",
        s(&table),
        "--gene-names",
        s(&names),
        "--gene-aliases",
        s(&aliases),
        "--out",
        s(&user),
    ]));
    let log = read(&user.with_extension("log"));
    assert!(
        log.contains("unknown (left out): 1 (NOTAGENE1 line 4)"),
        "{log}"
    );
    assert!(log.contains("rescaled"), "{log}");
    let t = rows(&user.with_extension("gene_prior.tsv"));
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0]["gene_id"].as_str(), t[0]["score"].as_str()),
        ("672", "1")
    );
}

/// The EUR subset's chromosomes 19–22, a trait from 6 variants near
/// literature-linked genes, and the prior.
struct Cohort {
    dir: tempfile::TempDir,
    bfile: PathBuf,
    extract: PathBuf,
    pheno: PathBuf,
    prior: PathBuf,
    glist: PathBuf,
}

fn cohort() -> Option<Cohort> {
    if !data("biored/Test.PubTator").exists()
        || !data("bolt_lmm_eur_subset_1000g/EUR_subset.bed").exists()
    {
        eprintln!("skipping: data not found");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let prior = cancer_prior(dir.path());
    let bfile = data("bolt_lmm_eur_subset_1000g/EUR_subset");
    let glist = data("gene_annotations/glist-hg19.txt");
    let bed = BedFile::open(&bfile).unwrap();
    let extract = dir.path().join("chr19_22.txt");
    let keep: Vec<usize> = (0..bed.n_variants())
        .filter(|&v| matches!(bed.variants()[v].chrom.as_str(), "19" | "20" | "21" | "22"))
        .collect();
    std::fs::write(
        &extract,
        keep.iter()
            .map(|&v| format!("{}\n", bed.variants()[v].id))
            .collect::<String>(),
    )
    .unwrap();
    // Causal variants: common variants near supported genes (from the
    // prior's own table), one per gene.
    let supported: Vec<String> = rows(&prior.with_extension("gene_prior.tsv"))
        .into_iter()
        .filter(|r| r["score"].parse::<f64>().unwrap() > 0.1)
        .map(|r| r["symbol"].clone())
        .collect();
    let map = genolens::io::genes::GeneMap::read(&glist).unwrap();
    let mut causal = Vec::new();
    let mut used = std::collections::HashSet::new();
    let mut col = vec![0f32; bed.n_samples()];
    for &v in &keep {
        let var = &bed.variants()[v];
        let Some(g) = map
            .genes_for_variant(var, 25_000)
            .into_iter()
            .find(|g| supported.contains(&g.symbol))
        else {
            continue;
        };
        bed.read_variant_into(v, &mut col).unwrap();
        let maf = col.iter().map(|&d| f64::from(d)).sum::<f64>() / (2.0 * col.len() as f64);
        if maf.min(1.0 - maf) > 0.1 && used.insert(g.symbol.clone()) {
            causal.push(v);
        }
        if causal.len() == 6 {
            break;
        }
    }
    assert!(causal.len() >= 4, "{} causal variants found", causal.len());
    let terms: Vec<CausalTerm> = causal
        .iter()
        .map(|&variant| CausalTerm::Single {
            variant,
            model: GeneticModel::Additive,
            effect: 1.0,
        })
        .collect();
    let y = simulate_trait(&bed, &terms, 0.6, 7).unwrap();
    let pheno = dir.path().join("trait.txt");
    let mut text = String::from("FID IID T\n");
    for (s, v) in bed.samples().iter().zip(&y) {
        text.push_str(&format!("{} {} {v}\n", s.id.fid, s.id.iid));
    }
    std::fs::write(&pheno, text).unwrap();
    Some(Cohort {
        dir,
        bfile,
        extract,
        pheno,
        prior,
        glist,
    })
}

#[test]
fn weighted_gwas_prediction_and_explanations_on_real_genotypes() {
    let Some(c) = cohort() else { return };
    let d = c.dir.path();
    let prior_tsv = c.prior.with_extension("gene_prior.tsv");
    let input = |args: &mut Vec<String>| {
        args.extend(
            ["--bfile", s(&c.bfile), "--extract", s(&c.extract)]
                .iter()
                .map(|a| a.to_string()),
        );
    };
    let run = |mut args: Vec<String>| {
        let refs: Vec<&str> = args.iter_mut().map(|a| a.as_str()).collect();
        genolens(&refs)
    };

    // gwas --prior: the .glm.linear as without a prior, plus OUT.T.prior.tsv.
    let g = d.join("g");
    let mut args: Vec<String> = vec!["gwas".into()];
    input(&mut args);
    args.extend(
        [
            "--pheno",
            s(&c.pheno),
            "--prior",
            s(&prior_tsv),
            "--gene-map",
            s(&c.glist),
            "--out",
            s(&g),
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    ok(run(args));
    let weighted = rows(&g.with_extension("T.prior.tsv"));
    assert!(weighted.len() > 10_000);
    let w: Vec<f64> = weighted
        .iter()
        .map(|r| r["WEIGHT"].parse().unwrap())
        .collect();
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    assert!((mean - 1.0).abs() < 1e-3, "weights average {mean}");
    assert!(w.iter().all(|&x| x > 0.0));
    // Supported variants weigh more than unsupported ones in every fold
    // whose strength is above 0.
    let log = read(&g.with_extension("log"));
    assert!(log.contains("prior-weighted (adaptive)"), "{log}");
    let plain = g.with_extension("T.glm.linear");
    // The same report through `genolens fdr` (fixed weights) gives the same
    // p-values and mapping.
    let f = d.join("f");
    ok(genolens(&[
        "fdr",
        "--sumstats",
        s(&plain),
        "--prior",
        s(&prior_tsv),
        "--gene-map",
        s(&c.glist),
        "--prior-weighting",
        "fixed",
        "--out",
        s(&f),
    ]));
    let fixed = rows(&f.with_extension("prior.tsv"));
    assert_eq!(fixed.len(), weighted.len());
    for (a, b) in fixed.iter().zip(&weighted).step_by(97) {
        assert_eq!(
            (&a["ID"], &a["P"], &a["GENES"], &a["PRIOR_SCORE"]),
            (&b["ID"], &b["P"], &b["GENES"], &b["PRIOR_SCORE"])
        );
    }
    // Fixed weights: P_WEIGHTED = P / WEIGHT, capped at 1.
    for r in fixed.iter().step_by(101) {
        let (p, w, pw): (f64, f64, f64) = (
            r["P"].parse().unwrap(),
            r["WEIGHT"].parse().unwrap(),
            r["P_WEIGHTED"].parse().unwrap(),
        );
        assert!(
            (pw - (p / w).min(1.0)).abs() <= 1e-5 * pw.max(1e-300),
            "{r:?}"
        );
    }
    // A gene map on other chromosomes: a clear error and no table.
    let wrong_map = d.join("chr1.glist");
    std::fs::write(&wrong_map, "1 100 200 GENEA\n1 300 400 GENEB\n").unwrap();
    let bad = d.join("bad");
    let fail = genolens(&[
        "fdr",
        "--sumstats",
        s(&plain),
        "--prior",
        s(&prior_tsv),
        "--gene-map",
        s(&wrong_map),
        "--out",
        s(&bad),
    ]);
    assert!(!fail.status.success());
    assert!(String::from_utf8_lossy(&fail.stderr).contains("no gene of the gene map"));
    assert!(!bad.with_extension("prior.tsv").exists());

    // predict --prior: ridge with prior-informed shrinkage, strength chosen
    // by the inner folds and recorded.
    let p = d.join("p");
    let mut args: Vec<String> = vec!["predict".into()];
    input(&mut args);
    args.extend(
        [
            "--pheno",
            s(&c.pheno),
            "--model",
            "ridge",
            "--folds",
            "3",
            "--inner-folds",
            "3",
            "--prior",
            s(&prior_tsv),
            "--gene-map",
            s(&c.glist),
            "--out",
            s(&p),
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    ok(run(args));
    let model = read(&p.with_extension("model"));
    assert!(
        model.contains("prior_strength"),
        "no prior strength recorded"
    );

    // explain the ridge model: SHAP, genes with their evidence, two people.
    let people = d.join("people.txt");
    std::fs::write(&people, "HG00096\nHG00097\n").unwrap();
    let e = d.join("e");
    let mut args: Vec<String> = vec![
        "explain".into(),
        "--model".into(),
        s(&p.with_extension("model")).into(),
    ];
    input(&mut args);
    args.extend(
        [
            "--gene-map",
            s(&c.glist),
            "--prior",
            s(&prior_tsv),
            "--samples",
            s(&people),
            "--out",
            s(&e),
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    ok(run(args));
    for suffix in [
        "variants.tsv",
        "genes.tsv",
        "person.tsv",
        "attribution.png",
        "log",
    ] {
        assert!(e.with_extension(suffix).is_file(), "{suffix} missing");
    }
    let log = read(&e.with_extension("log"));
    // SHAP of a linear model is exact.
    let line = log
        .lines()
        .find(|l| l.starts_with("completeness"))
        .expect("completeness line");
    assert!(
        line.contains("within 0.000% (median) and 0.000% (max)"),
        "{line}"
    );
    let genes = rows(&e.with_extension("genes.tsv"));
    // The genes of the causal variants carry evidence sentences.
    assert!(
        genes
            .iter()
            .take(10)
            .any(|g| g["evidence"].starts_with("PMID:")),
        "{genes:?}"
    );
    let person = rows(&e.with_extension("person.tsv"));
    assert!(person
        .iter()
        .any(|r| r["IID"] == "HG00097" && r["level"] == "gene"));
    // A method the model does not support: the error lists the ones it does.
    let mut args: Vec<String> = vec![
        "explain".into(),
        "--model".into(),
        s(&p.with_extension("model")).into(),
    ];
    input(&mut args);
    args.extend(
        ["--method", "ig", "--out", s(&d.join("x"))]
            .iter()
            .map(|a| a.to_string()),
    );
    let fail = run(args);
    let err = String::from_utf8_lossy(&fail.stderr);
    assert!(
        err.contains("support attribution method ig; they support shap, permutation"),
        "{err}"
    );

    // train --prior with gene embeddings (gene-token fusion), then explain
    // the transformer by integrated gradients: attributions sum to the
    // output difference within 1 %.
    let t = d.join("t");
    let mut args: Vec<String> = vec!["train".into()];
    input(&mut args);
    args.extend(
        [
            "--pheno",
            s(&c.pheno),
            "--folds",
            "2",
            "--epochs",
            "2",
            "--max-variants",
            "24",
            "--layers",
            "1",
            "--d-model",
            "16",
            "--heads",
            "2",
            "--pretrain-epochs",
            "0",
            "--prior",
            s(&prior_tsv),
            "--gene-map",
            s(&c.glist),
            "--prior-embeddings",
            s(&c.prior.with_extension("gene_prior.npy")),
            "--out",
            s(&t),
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    ok(run(args));
    let saved = read(&t.join("model/model.json"));
    assert!(
        saved.contains("\"priors\""),
        "the model carries its prior inputs"
    );
    assert!(read(&t.join("train.log")).contains("prior inputs 17 per token"));
    let ig = d.join("ig");
    let mut args: Vec<String> = vec![
        "explain".into(),
        "--model".into(),
        s(&t.join("model")).into(),
    ];
    input(&mut args);
    args.extend(
        ["--gene-map", s(&c.glist), "--out", s(&ig)]
            .iter()
            .map(|a| a.to_string()),
    );
    ok(run(args));
    let log = read(&ig.with_extension("log"));
    let line = log
        .lines()
        .find(|l| l.starts_with("completeness"))
        .expect("completeness line");
    let max: f64 = line
        .split("% (median) and ")
        .nth(1)
        .and_then(|x| x.split('%').next())
        .and_then(|x| x.trim().parse().ok())
        .expect("max error");
    assert!(max < 1.0, "{line}");
    // The model's additive path covers every marker: the explanation too
    // (its SHAP plus the 24 tokens' integrated gradients, complete above).
    assert!(log.contains("attributions cover both"), "{log}");
    let markers = read(&c.extract).lines().count();
    assert_eq!(rows(&ig.with_extension("variants.tsv")).len(), markers);
    // Scoring the fused model applies its stored prior inputs.
    let sc = d.join("sc");
    let mut args: Vec<String> = vec!["score".into(), "--model".into(), s(&t.join("model")).into()];
    input(&mut args);
    args.extend(["--out", s(&sc)].iter().map(|a| a.to_string()));
    ok(run(args));
    assert_eq!(rows(&sc.with_extension("pred.tsv")).len(), 379);
}
