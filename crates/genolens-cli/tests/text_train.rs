//! `genolens text-train --task ner` end to end on the real corpora (a few
//! documents, so it runs in CI): the tagger directory, metrics, curve and log;
//! the same seed gives the same weights; a finished run resumes from its
//! checkpoint without training; bad inputs are errors that leave no tagger
//! behind. Needs `GENOLENS_MINILM` (set by `cargo xtask text-env`).

mod common;

use std::path::Path;

use common::{data, genolens};

fn encoder() -> String {
    std::env::var("GENOLENS_MINILM")
        .expect("GENOLENS_MINILM must name the all-MiniLM-L6-v2 directory (cargo xtask text-env)")
}

/// The first `n` documents of a PubTator file (documents end at a blank line).
fn head_documents(src: &Path, n: usize, dst: &Path) {
    // The BioRED files end their lines with CRLF.
    let text = std::fs::read_to_string(src).unwrap().replace("\r\n", "\n");
    let docs: Vec<&str> = text
        .split("\n\n")
        .filter(|d| !d.trim().is_empty())
        .take(n)
        .collect();
    std::fs::write(dst, docs.join("\n\n") + "\n\n").unwrap();
}

fn train(out: &Path, test: &Path, seed: &str, extra: &[&str]) -> std::process::Output {
    let biored = data("biored/Train.PubTator");
    let ncbi = data("ncbi_disease_corpus/NCBItrainset_corpus.txt");
    let args = [
        "text-train",
        "--task",
        "ner",
        "--train",
        &format!("biored:{}", biored.display()),
        "--train",
        ncbi.to_str().unwrap(),
        "--dev",
        test.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--encoder",
        &encoder(),
        "--max-docs",
        "4",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--max-pieces",
        "62",
        "--lora-rank",
        "4",
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
    ];
    genolens(&[args.as_slice(), extra].concat())
}

#[test]
fn text_train_writes_a_tagger_with_metrics_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("biored_test5.PubTator");
    head_documents(&data("biored/Test.PubTator"), 5, &small);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let run = train(out, &small, "3", &[]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    for f in [
        "tagger.json",
        "vocab.txt",
        "weights.mpk",
        "metrics.tsv",
        "test.tsv",
        "curve.png",
        "text-train.log",
        "checkpoints/tagger.ckpt",
    ] {
        assert!(a.join(f).is_file(), "missing {f}");
    }
    // Same seed, same bytes.
    assert_eq!(
        std::fs::read(a.join("weights.mpk")).unwrap(),
        std::fs::read(b.join("weights.mpk")).unwrap()
    );
    // Two epochs × the BioRED head's three kinds scored on the dev file.
    let metrics = std::fs::read_to_string(a.join("metrics.tsv")).unwrap();
    let rows: Vec<&str> = metrics.lines().collect();
    assert_eq!(
        rows[0],
        "epoch\ttrain_loss\tseconds\tscheme\tkind\tprecision\trecall\tf1"
    );
    assert_eq!(rows.len(), 1 + 2 * 3, "{metrics}");
    assert!(rows[1..].iter().all(|r| r.contains("\tbiored\t")));
    let test = std::fs::read_to_string(a.join("test.tsv")).unwrap();
    assert_eq!(test.lines().count(), 1 + 3, "{test}");
    let png = std::fs::read(a.join("curve.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    let log = std::fs::read_to_string(a.join("text-train.log")).unwrap();
    assert!(
        log.contains("LoRA rank 4") && log.contains("kept epoch"),
        "{log}"
    );
    // Resuming the finished run trains nothing and keeps the same weights;
    // resuming under another seed is refused, naming the checkpoint.
    let weights = std::fs::read(a.join("weights.mpk")).unwrap();
    let run = train(&a, &small, "3", &["--resume"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(a.join("weights.mpk")).unwrap(), weights);
    let log = std::fs::read_to_string(a.join("text-train.log")).unwrap();
    assert!(
        log.contains("resumed from") && log.contains("after epoch 2"),
        "{log}"
    );
    let run = train(&a, &small, "4", &["--resume"]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("tagger.ckpt") && err.contains("other training settings"),
        "{err}"
    );
    assert_eq!(std::fs::read(a.join("weights.mpk")).unwrap(), weights);
    // Both schemes got a head: NCBI's corpus was recognised by its types.
    let spec = std::fs::read_to_string(a.join("tagger.json")).unwrap();
    assert!(
        spec.contains("\"ncbi-disease\"") && spec.contains("\"biored\""),
        "{spec}"
    );

    // The literature step with the tagger (and the dictionary beside it):
    // mentions with PubTator offsets, the tagger's throughput in the log.
    let names = data("gene_annotations/genes_GRCh38_orgHsEgDb.tsv");
    let aliases = data("gene_annotations/gene_aliases_orgHsEgDb.tsv");
    let lit = dir.path().join("lit");
    let run = genolens(&[
        "literature",
        "--corpus",
        small.to_str().unwrap(),
        "--gene-names",
        names.to_str().unwrap(),
        "--gene-aliases",
        aliases.to_str().unwrap(),
        "--tagger",
        "both",
        "--tagger-dir",
        a.to_str().unwrap(),
        "--out",
        lit.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let log = std::fs::read_to_string(dir.path().join("lit.log")).unwrap();
    assert!(
        log.contains("neural tagger") && log.contains("/s)"),
        "{log}"
    );
    let mentions = std::fs::read_to_string(dir.path().join("lit.mentions.tsv")).unwrap();
    assert!(mentions.lines().count() > 5, "{mentions}");
    // A tagger directory is needed for --tagger model.
    let run = genolens(&[
        "literature",
        "--corpus",
        small.to_str().unwrap(),
        "--gene-names",
        names.to_str().unwrap(),
        "--gene-aliases",
        aliases.to_str().unwrap(),
        "--tagger",
        "model",
        "--out",
        lit.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--tagger-dir"));
}

#[test]
fn text_train_refuses_bad_inputs_without_writing_a_tagger() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A development corpus of a scheme nothing trains.
    let run = genolens(&[
        "text-train",
        "--task",
        "ner",
        "--train",
        data("biored/Train.PubTator").to_str().unwrap(),
        "--dev",
        data("ncbi_disease_corpus/NCBIdevelopset_corpus.txt")
            .to_str()
            .unwrap(),
        "--encoder",
        &encoder(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("NCBIdevelopset_corpus.txt") && err.contains("ncbi-disease"),
        "{err}"
    );
    // An encoder directory without weights.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::copy(
        Path::new(&encoder()).join("config.json"),
        empty.join("config.json"),
    )
    .unwrap();
    std::fs::copy(
        Path::new(&encoder()).join("vocab.txt"),
        empty.join("vocab.txt"),
    )
    .unwrap();
    let run = genolens(&[
        "text-train",
        "--task",
        "ner",
        "--train",
        data("biored/Dev.PubTator").to_str().unwrap(),
        "--max-docs",
        "2",
        "--encoder",
        empty.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(!out.join("tagger.json").exists() && !out.join("weights.mpk").exists());
    // A relations-only flag with the tagger task.
    let run = genolens(&[
        "text-train",
        "--task",
        "ner",
        "--train",
        data("biored/Dev.PubTator").to_str().unwrap(),
        "--no-salience",
        "--encoder",
        &encoder(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--no-salience"));
}

#[test]
fn text_train_relations_writes_a_classifier_with_aucs() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("biored_test8.PubTator");
    head_documents(&data("biored/Test.PubTator"), 8, &small);
    let out = dir.path().join("rel");
    let biored = data("biored/Train.PubTator");
    let args = [
        "text-train",
        "--task",
        "relations",
        "--train",
        biored.to_str().unwrap(),
        "--dev",
        small.to_str().unwrap(),
        "--test",
        small.to_str().unwrap(),
        "--encoder",
        &encoder(),
        "--max-docs",
        "6",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--max-pieces",
        "62",
        "--lora-rank",
        "4",
        "--out",
        out.to_str().unwrap(),
    ];
    let run = genolens(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for f in [
        "relation.json",
        "vocab.txt",
        "weights.mpk",
        "metrics.tsv",
        "test.tsv",
        "test_pairs.tsv",
        "curve.png",
        "text-train.log",
        "checkpoints/relation.ckpt",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    // The finished run resumes from its checkpoint without training.
    let weights = std::fs::read(out.join("weights.mpk")).unwrap();
    let run = genolens(&[args.as_slice(), &["--resume"]].concat());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(out.join("weights.mpk")).unwrap(), weights);
    let log = std::fs::read_to_string(out.join("text-train.log")).unwrap();
    assert!(
        log.contains("resumed from") && log.contains("after epoch 1"),
        "{log}"
    );
    // One row per test pair, each with a probability; the summary counts them.
    let pairs = std::fs::read_to_string(out.join("test_pairs.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = pairs
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert!(rows.len() > 5, "{pairs}");
    assert!(rows
        .iter()
        .all(|r| { r.len() == 6 && r[5].parse::<f64>().is_ok_and(|p| (0.0..=1.0).contains(&p)) }));
    let test = std::fs::read_to_string(out.join("test.tsv")).unwrap();
    let summary: Vec<&str> = test.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(summary[1], rows.len().to_string(), "{test}");
    let log = std::fs::read_to_string(out.join("text-train.log")).unwrap();
    assert!(
        log.contains("--task relations")
            && log.contains("AUC")
            && log.contains("salience features on"),
        "{log}"
    );

    // A corpus without relation lines (NCBI-disease) is refused by name.
    let ncbi = data("ncbi_disease_corpus/NCBIdevelopset_corpus.txt");
    let mut bad = args.to_vec();
    let train_at = bad.iter().position(|a| *a == "--train").unwrap() + 1;
    bad[train_at] = ncbi.to_str().unwrap();
    let bad_out = dir.path().join("bad");
    let out_at = bad.iter().position(|a| *a == "--out").unwrap() + 1;
    bad[out_at] = bad_out.to_str().unwrap();
    let run = genolens(&bad);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("NCBIdevelopset_corpus.txt") && err.contains("no relation annotations"),
        "{err}"
    );
    assert!(!bad_out.join("weights.mpk").exists());
}
