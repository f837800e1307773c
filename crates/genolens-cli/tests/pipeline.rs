//! `genolens run`: a whole study from one configuration into one directory
//! and a self-contained report; unchanged steps are skipped on rerun, a
//! changed option reruns only its step, a killed run resumes, and a bad
//! configuration fails before any work. The report is rendered in Chromium.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{data, genolens, ok, s};

/// The BOLT-LMM example cohort (1000 Genomes EUR, chr17-22) restricted to
/// chromosome 19, with its phenotype and covariates, and a literature prior
/// mined from BioRED's test abstracts (breast cancer: CCNE1 lies on 19).
struct Study {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Study {
    fn new(folds: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bolt = data("bolt_lmm_eur_subset_1000g");
        let bim = std::fs::read_to_string(bolt.join("EUR_subset.bim")).unwrap();
        let chr19: Vec<&str> = bim
            .lines()
            .filter(|l| l.starts_with("19\t") || l.starts_with("19 "))
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        assert!(chr19.len() > 9000, "{} chr19 variants", chr19.len());
        std::fs::write(dir.path().join("chr19.txt"), chr19.join("\n") + "\n").unwrap();
        let config = dir.path().join("study.toml");
        let study = Self { dir, config };
        study.write_config(folds, "");
        study
    }

    fn write_config(&self, folds: usize, extra: &str) {
        let bolt = data("bolt_lmm_eur_subset_1000g");
        let text = format!(
            r#"out = "out"
[input]
bfile = "{bfile}"
extract = "chr19.txt"
pheno = "{pheno}"
pheno_name = ["PHENO"]
covar = "{pheno}"
covar_name = ["QCOV1", "QCOV2", "CAT_COV"]
gene_map = "{glist}"
[prior]
corpus = "{biored}"
query = "breast cancer"
gene_names = "{names}"
gene_aliases = "{aliases}"
disease_corpus = "{diseases}"
[qc]
geno = 0.05
hwe = 1e-6
maf = 0.01
indep_pairwise = [50, 5, 0.2]
[pca]
components = 4
[gwas]
pca = 2
clump_p1 = 1e-3
[predict]
models = ["ridge", "lasso"]
folds = {folds}
inner_folds = 3
seed = 7
[explain]
people = 3
[report]
title = "EUR subset, chromosome 19"
{extra}"#,
            bfile = s(&bolt.join("EUR_subset")),
            pheno = s(&bolt.join("EUR_subset.pheno2.covars")),
            glist = s(&data("gene_annotations/glist-hg19.txt")),
            biored = s(&data("biored/Test.PubTator")),
            names = s(&data("gene_annotations/genes_GRCh38_orgHsEgDb.tsv")),
            aliases = s(&data("gene_annotations/gene_aliases_orgHsEgDb.tsv")),
            diseases = s(&data("ncbi_disease_corpus/NCBItrainset_corpus.txt")),
        );
        std::fs::write(&self.config, text).unwrap();
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn run(&self) -> String {
        let o = genolens(&["run", s(&self.config)]);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "genolens run failed: {err}");
        err
    }
}

fn modified(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// The report without its wall times (the only part a rerun may change).
fn without_timings(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find("<span class=\"time\">") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find("</span>").expect("time spans close") + "</span>".len();
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn reruns_skip_unchanged_steps_and_redo_only_what_changed() {
    let study = Study::new(3);
    let first = study.run();
    assert!(first.contains("gwas: done in"), "{first}");
    assert!(first.contains("predict: done in"), "{first}");
    let out = study.out();
    // QC ran as plink2 runs it: the analysed fileset and the PCA's variants
    // are plink2's (same filters, same pruning).
    check_qc_against_plink2(&study);
    // The GWAS's covariates are the PCA step's components (of the pruned
    // variants), not a second PCA.
    let log = std::fs::read_to_string(out.join("gwas/gwas.log")).unwrap();
    assert!(
        log.contains("principal components PC1 PC2 from")
            && log.contains("pca/pca.eigenvec: 379 of 379"),
        "{log}"
    );
    assert!(!log.contains("--pca 2: eigenvalues"), "{log}");
    let glm = out.join("gwas/gwas.PHENO.glm.linear");
    let cv = out.join("predict/ridge.cv.tsv");
    let (glm_time, cv_time) = (modified(&glm), modified(&cv));
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();

    // Unchanged: no step runs again, and the report is the same page.
    let second = study.run();
    assert!(
        second.contains("gwas: inputs, options and version unchanged"),
        "{second}"
    );
    assert!(
        second.contains("predict: inputs, options and version unchanged"),
        "{second}"
    );
    assert_eq!(modified(&glm), glm_time);
    assert_eq!(modified(&cv), cv_time);
    let again = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(again, report, "an unchanged study renders the same report");

    // One prediction option changed: prediction and the report rerun, the
    // association does not.
    study.write_config(4, "");
    let third = study.run();
    assert!(
        third.contains("gwas: inputs, options and version unchanged"),
        "{third}"
    );
    assert!(third.contains("predict: done in"), "{third}");
    assert_eq!(modified(&glm), glm_time);
    let folds = std::fs::read_to_string(&cv).unwrap();
    assert_eq!(
        folds
            .lines()
            .filter(|l| l.starts_with(char::is_numeric))
            .count(),
        4,
        "{folds}"
    );
    assert_ne!(
        std::fs::read_to_string(out.join("report.html")).unwrap(),
        report
    );

    // `genolens report OUT` re-renders the same page from the directory.
    let page = std::fs::read(out.join("report.html")).unwrap();
    std::fs::remove_file(out.join("report.html")).unwrap();
    ok(genolens(&["report", s(&out)]));
    assert_eq!(std::fs::read(out.join("report.html")).unwrap(), page);
}

/// The QC step's fileset and pruned set equal plink2's on the same input.
fn check_qc_against_plink2(study: &Study) {
    let bolt = data("bolt_lmm_eur_subset_1000g");
    let theirs = study.dir.path().join("plink2");
    let Some(_) = common::reference(
        "plink2",
        &[
            "--bfile",
            s(&bolt.join("EUR_subset")),
            "--extract",
            s(&study.dir.path().join("chr19.txt")),
            "--geno",
            "0.05",
            "--hwe",
            "1e-6",
            "--maf",
            "0.01",
            "--make-bed",
            "--out",
            s(&theirs),
        ],
    ) else {
        return;
    };
    let ours = study.out().join("qc/qc");
    for ext in ["bim", "fam"] {
        common::assert_same_text(
            &common::with(&ours, ext),
            &common::with(&theirs, ext),
            &format!("qc.{ext}"),
        );
    }
    assert!(
        std::fs::read(common::with(&ours, "bed")).unwrap()
            == std::fs::read(common::with(&theirs, "bed")).unwrap(),
        "qc.bed differs from plink2's"
    );
    common::reference(
        "plink2",
        &[
            "--bfile",
            s(&theirs),
            "--indep-pairwise",
            "50",
            "5",
            "0.2",
            "--out",
            s(&theirs),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(common::with(&ours, "prune.in")).unwrap(),
        std::fs::read_to_string(common::with(&theirs, "prune.in")).unwrap()
    );
}

#[test]
fn a_run_killed_during_a_step_resumes_to_the_same_report() {
    let study = Study::new(3);
    study.run();
    let out = study.out();
    let complete = std::fs::read_to_string(out.join("report.html")).unwrap();

    // Start over, and kill the run as soon as the association has finished
    // (prediction is then running).
    std::fs::remove_dir_all(&out).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_genolens"))
        .args(["run", s(&study.config)])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let gwas_done = out.join("gwas/manifest.json");
    let started = Instant::now();
    while !gwas_done.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "gwas never finished"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = child.try_wait().unwrap().is_none();
    child.kill().ok();
    child.wait().unwrap();
    if killed {
        assert!(
            !out.join("predict/manifest.json").exists(),
            "a killed step leaves no manifest"
        );
        assert!(!out.join("report.html").exists());
        // No temporary file is left behind, hidden or not.
        for f in common::entries_under(&out) {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                !name.starts_with(".genolens"),
                "left behind: {}",
                f.display()
            );
        }
    }

    let resumed = study.run();
    assert!(
        resumed.contains("gwas: inputs, options and version unchanged"),
        "{resumed}"
    );
    assert!(resumed.contains("predict: done in"), "{resumed}");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(without_timings(&page), without_timings(&complete));
}

#[test]
fn bad_configurations_fail_before_any_work() {
    let study = Study::new(3);
    // An unknown key in a table and at the top, a missing file, a step that
    // needs an input not given (a prior without a gene map), a misspelt model.
    for (from, to, named) in [
        ("inner_folds = 3", "inner_fold = 3", "inner_fold"),
        ("out = \"out\"", "out = \"out\"\nthreads = 2", "threads"),
        (
            "disease_corpus = ",
            "tune_genes = \"missing.pubtator\"\ndisease_corpus = ",
            "missing.pubtator",
        ),
        ("gene_map = ", "# gene_map = ", "input.gene_map"),
        ("\"lasso\"]", "\"lasso\", \"ridgge\"]", "ridgge"),
        ("people = 3", "people = 3\nmodel = \"svm\"", "explain.model"),
        ("pca = 2", "pca = 5", "gwas.pca = 5"),
        ("pca = 2", "pca = 2\nlmm = \"reml\"", "gwas.lmm = \"reml\""),
        // A literature step without the trait it mines for.
        ("query = \"breast cancer\"", "", "prior.query"),
    ] {
        let text = std::fs::read_to_string(&study.config).unwrap();
        let text = text.replace(from, to);
        let bad = study.dir.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let o = genolens(&["run", s(&bad)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{named}");
        assert!(err.contains(named), "{named}: {err}");
        assert!(err.contains("bad.toml"), "the error names the file: {err}");
        assert!(!study.out().exists(), "no work started");
    }

    // --init writes a commented example that parses (its files are absent,
    // and the error says which), and never overwrites.
    let init = study.dir.path().join("example.toml");
    ok(genolens(&["run", "--init", s(&init)]));
    let o = genolens(&["run", s(&init)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("input.bfile: no such file"), "{err}");
    assert!(!genolens(&["run", "--init", s(&init)]).status.success());
}

/// The mean the page's model table shows for `model` (its first metric,
/// printed as `mean ± sd`).
fn shown_mean(html: &str, model: &str) -> f64 {
    let cell = format!("<tr><td>{model}</td><td>");
    let row = &html[html.find(&cell).expect(model) + cell.len()..];
    row.split(' ').next().unwrap().parse().unwrap()
}

/// The numbers of one `mean` row of a `.cv.tsv`, by column name.
fn cv_mean(path: &Path, column: &str) -> f64 {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let k = header.iter().position(|h| *h == column).unwrap();
    let mean = lines.find(|l| l.starts_with("mean\t")).unwrap();
    mean.split('\t').nth(k).unwrap().parse().unwrap()
}

#[test]
fn the_report_renders_in_chromium_with_the_steps_numbers() {
    let study = Study::new(3);
    study.run();
    let out = study.out();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();

    // Self-contained: no external resource, no script.
    for needle in ["<script", "src=\"http", "<link"] {
        assert!(!html.contains(needle), "the report holds {needle}");
    }
    // Every section, each with a table.
    for id in [
        "data",
        "structure",
        "association",
        "prediction",
        "explanations",
        "risk",
        "methods",
    ] {
        let start = html.find(&format!("<section id=\"{id}\">")).expect(id);
        let section = &html[start..start + html[start..].find("</section>").unwrap()];
        assert!(section.contains("<td"), "section {id} has no table");
    }
    // The numbers are the steps' own: λGC from the log, the lead variant from
    // the .clumped report, the CV mean r from the .cv.tsv.
    let log = std::fs::read_to_string(out.join("gwas/gwas.log")).unwrap();
    let lambda = log
        .lines()
        .find_map(|l| l.strip_prefix("PHENO: lambda GC "))
        .unwrap();
    assert!(
        html.contains(&format!("<td class=\"num\">{lambda}</td>")),
        "λGC {lambda}"
    );
    let clumped = std::fs::read_to_string(out.join("gwas/gwas.PHENO.clumped")).unwrap();
    let lead = clumped
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("a lead variant");
    let loci = &html[html.find("Lead loci").unwrap()..];
    let first_row = &loci[loci.find("<tr><td>").unwrap()..];
    assert!(
        first_row.starts_with(&format!("<tr><td>{lead}</td>")),
        "{lead}"
    );
    for model in ["ridge", "lasso"] {
        let r = cv_mean(&out.join(format!("predict/{model}.cv.tsv")), "r");
        let shown = shown_mean(&html, model);
        assert!(
            (shown - r).abs() < 5e-5,
            "{model}: page {shown}, cv.tsv {r}"
        );
    }

    // The explained people are the ends of the explained model's score, and
    // the genes the page names for them are the step's own.
    let person = std::fs::read_to_string(
        std::fs::read_dir(out.join("explain"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| s(p).ends_with(".person.tsv"))
            .expect("a person table"),
    )
    .unwrap();
    let people: std::collections::BTreeSet<&str> = person
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(1))
        .collect();
    assert_eq!(people.len(), 6, "{people:?}");
    let risk = &html[html.find("<section id=\"risk\">").unwrap()..];
    let risk = &risk[..risk.find("</section>").unwrap()];
    for iid in &people {
        assert!(
            risk.contains(&format!("<td>{iid}</td>")),
            "{iid} in section 6"
        );
    }
    let raising = person
        .lines()
        .find(|l| l.contains("\tgene\traises\t1\t"))
        .and_then(|l| l.split('\t').nth(8))
        .expect("a gene raising someone's score");
    assert!(risk.contains(raising), "{raising} in section 6");

    // The literature prior: its best gene with its best sentence and PMID,
    // as the prior step wrote them.
    let prior = std::fs::read_to_string(out.join("prior/prior.gene_prior.tsv")).unwrap();
    let best = prior.lines().nth(1).unwrap().split('\t').nth(1).unwrap();
    let evidence = std::fs::read_to_string(out.join("prior/prior.gene_evidence.tsv")).unwrap();
    let header: Vec<&str> = evidence.lines().next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let first = evidence
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f[col("symbol")] == best)
        .expect("evidence for the best gene");
    let literature = &html[html.find("id=\"literature\"").expect("literature")..];
    let row = &literature[literature
        .find(&format!("<tr><td>{best}</td>"))
        .expect(best)..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains(&format!(">{}</a>", first[col("pmid")])),
        "{row}"
    );
    // The weighted tests' counts are the gwas log's.
    let log = std::fs::read_to_string(out.join("gwas/gwas.log")).unwrap();
    let weighted = log
        .lines()
        .filter(|l| l.contains("prior-weighted"))
        .find_map(|l| l.split("Benjamini-Hochberg ").nth(1))
        .and_then(|l| l.split(" discoveries").next())
        .expect("a weighted line");
    assert!(
        html.contains(&weighted.replace("->", "→")),
        "weighted counts {weighted}"
    );

    // Chromium: the page loads without console errors and every image
    // decodes. A copy of the page gets a probe script (the report itself has
    // none) that writes what it finds into the DOM Chromium dumps.
    let probe = out.join("probe.html");
    std::fs::write(
        &probe,
        html.replace(
            "</body>",
            "<pre id=\"probe\"></pre><script>window.addEventListener('load', () => {\
             const imgs = [...document.images];\
             const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;\
             const empty = [...document.querySelectorAll('section')].filter(s => \
             s.innerText.trim().length < 20).length;\
             document.getElementById('probe').textContent = \
             `images=${imgs.length} broken=${bad} empty_sections=${empty}`;});</script></body>",
        ),
    )
    .unwrap();
    // A profile of its own, so no other Chromium (or run) shares its locks.
    let profile = format!("--user-data-dir={}", s(&out.join("chromium-profile")));
    let chromium = |extra: &[&str], page: &Path| {
        let url = format!("file://{}", s(page));
        let mut args = vec![
            profile.as_str(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            // Containers often give /dev/shm 64 MB, too little for a renderer.
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
        ];
        args.extend_from_slice(extra);
        args.push(&url);
        common::reference("chromium", &args)
    };
    let Some(dump) = chromium(&["--dump-dom"], &probe) else {
        return;
    };
    let dom = String::from_utf8_lossy(&dump.stdout);
    let n_images = html.matches("<img ").count();
    // PC plot, Manhattan, QQ, one picture per model, the attributions.
    assert_eq!(n_images, 6, "{n_images} images");
    assert!(
        dom.contains(&format!("images={n_images} broken=0 empty_sections=0")),
        "{}",
        &dom[dom.find("id=\"probe\"").unwrap_or(0)..][..120.min(dom.len())]
    );
    let console = String::from_utf8_lossy(&dump.stderr);
    let messages: Vec<&str> = console.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(
        messages.is_empty(),
        "console messages from the report: {messages:?}"
    );

    // A screenshot of the report itself, kept under the target directory.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let shot_flag = format!("--screenshot={}", s(&shot));
    chromium(
        &[&shot_flag, "--window-size=1280,4000"],
        &out.join("report.html"),
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 50_000,
        "a blank page compresses to little: {}",
        png.len()
    );
}

/// A case/control study: logistic GWAS with Firth fallback, logistic
/// prediction and a small transformer on the same folds with AUC, ROC and
/// calibration, and per-person calibrated probabilities, on regenie's
/// example (500 samples × 1,000 variants).
#[test]
fn a_case_control_study_reports_auc_the_transformer_and_calibrated_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let regenie = data("regenie_example");
    let config = dir.path().join("cc.toml");
    std::fs::write(
        &config,
        format!(
            r#"out = "out"
[input]
bfile = "{bfile}"
pheno = "{pheno}"
pheno_name = ["Y1"]
covar = "{covar}"
case_control_01 = true
[gwas]
clump_p1 = 0.01
[predict]
models = ["logistic"]
folds = 3
inner_folds = 3
[transformer]
epochs = 2
patience = 2
layers = 1
d_model = 16
max_variants = 32
[explain]
people = 4
"#,
            bfile = s(&regenie.join("example")),
            pheno = s(&regenie.join("phenotype_bin.txt")),
            covar = s(&regenie.join("covariates.txt")),
        ),
    )
    .unwrap();
    let o = genolens(&["run", s(&config)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out");
    assert!(out.join("gwas/gwas.Y1.glm.logistic.hybrid").is_file());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let section = |id: &str| {
        let start = html.find(&format!("<section id=\"{id}\">")).expect(id);
        html[start..start + html[start..].find("</section>").unwrap()].to_string()
    };
    // Prediction: AUC from the step's table, and the calibration table.
    let prediction = section("prediction");
    let auc = cv_mean(&out.join("predict/logistic.cv.tsv"), "auc");
    let shown = shown_mean(&prediction, "logistic");
    assert!((shown - auc).abs() < 5e-5, "page AUC {shown}, cv.tsv {auc}");
    assert!(prediction.contains("<th>AUC</th>") && prediction.contains("Calibration"));
    // The transformer sits in the same table, on the same folds, with the AUC
    // of its own cv table.
    let tf_auc = cv_mean(&out.join("transformer/cv.tsv"), "auc");
    let shown = shown_mean(&prediction, "transformer");
    assert!(
        (shown - tf_auc).abs() < 5e-5,
        "page {shown}, cv.tsv {tf_auc}"
    );
    let folds = |path: &str| -> Vec<String> {
        std::fs::read_to_string(out.join(path))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                format!("{} {}", f[1], f[2])
            })
            .collect()
    };
    // Fold of every person: the same in both steps' prediction tables.
    let mut linear = folds("predict/logistic.pred.tsv");
    let mut transformer = folds("transformer/pred.tsv");
    linear.sort();
    transformer.sort();
    assert_eq!(linear, transformer, "the transformer ran on other folds");
    // A rerun keeps the trained transformer (its model directory counts as
    // written output).
    let again = genolens(&["run", s(&config)]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("transformer: inputs, options and version unchanged"),
        "{err}"
    );
    // Per person: both ends of the score, each with a calibrated probability
    // whose bin holds people.
    let risk = section("risk");
    let people = risk.matches("<td>case</td>").count() + risk.matches("<td>control</td>").count();
    assert_eq!(people, 8, "{risk}");
    assert_eq!(risk.matches(" (n ").count(), 8, "{risk}");
}
