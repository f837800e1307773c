//! `genolens literature` end to end on BioRED's test split: the tables it
//! writes, their offsets against the corpus, and its errors on bad input.

mod common;

use common::{data, genolens, ok, read, s};

fn gene_tables() -> (String, String) {
    (
        s(&data("gene_annotations/genes_GRCh38_orgHsEgDb.tsv")).to_string(),
        s(&data("gene_annotations/gene_aliases_orgHsEgDb.tsv")).to_string(),
    )
}

/// Runs `genolens literature` on a corpus with the gene tables, `extra`
/// flags and an output prefix.
fn literature(
    corpus: &std::path::Path,
    extra: &[&str],
    out: &std::path::Path,
) -> std::process::Output {
    let (names, aliases) = gene_tables();
    let mut args = vec![
        "literature",
        "--corpus",
        s(corpus),
        "--gene-names",
        &names,
        "--gene-aliases",
        &aliases,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", s(out)]);
    genolens(&args)
}

#[test]
fn literature_writes_mentions_profiles_hits_and_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lit");
    let corpus = data("biored/Test.PubTator");
    let diseases = data("ncbi_disease_corpus/NCBItrainset_corpus.txt");
    let extra = [
        "--query",
        "long QT syndrome",
        "--disease-corpus",
        s(&diseases),
        "--embed",
        "--tfidf-dim",
        "256",
    ];
    ok(literature(&corpus, &extra, &out));
    let p = |ext: &str| dir.path().join(format!("lit.{ext}"));

    // Mentions: character offsets into title + " " + abstract, as PubTator.
    let corpus_text = read(&corpus);
    let mut texts = std::collections::HashMap::new();
    let mut title = String::new();
    for line in corpus_text.lines() {
        if let Some((pmid, t)) = line.split_once("|t|") {
            title = t.to_string();
            texts.insert(pmid.to_string(), title.clone());
        } else if let Some((pmid, a)) = line.split_once("|a|") {
            texts.insert(pmid.to_string(), format!("{title} {a}"));
        }
    }
    let mentions = read(&p("mentions.tsv"));
    let mut lines = mentions.lines();
    assert_eq!(lines.next(), Some("pmid\tstart\tend\ttext\ttype\tid"));
    let mut kinds = std::collections::HashSet::new();
    let mut n = 0;
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 6, "{l}");
        let (start, end): (usize, usize) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        let text: String = texts[f[0]].chars().skip(start).take(end - start).collect();
        assert_eq!(text, f[3], "{l}");
        kinds.insert(f[4].to_string());
        n += 1;
    }
    assert!(n > 1000, "{n} mentions");
    assert_eq!(kinds.len(), 3, "{kinds:?}");

    // Gene profiles: SCN5A (Entrez 6331), the long QT gene of the first
    // abstract, is co-mentioned with the query and ranks near the top.
    let genes = read(&p("genes.tsv"));
    let rows: Vec<Vec<&str>> = genes
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let scn5a = rows
        .iter()
        .position(|r| r[0] == "6331")
        .expect("SCN5A profiled");
    assert_eq!(rows[scn5a][1], "SCN5A");
    assert!(scn5a < 5, "SCN5A ranks {scn5a}");
    assert!(rows[scn5a][5].parse::<usize>().unwrap() > 0);
    assert!(rows[scn5a][8].split(',').any(|pmid| pmid == "15485686"));

    // Hits from each retrieval method; the embeddings have one row per gene.
    let hits = read(&p("hits.tsv"));
    for source in ["bm25_abstract", "bm25_sentence", "dense_sentence"] {
        assert!(
            hits.lines()
                .any(|l| l.starts_with(&format!("{source}\t1\t"))),
            "{source}"
        );
    }
    assert!(hits
        .lines()
        .any(|l| l.starts_with("bm25_abstract\t1\t15485686\t")));
    let npy = std::fs::read(p("gene_embeddings.npy")).unwrap();
    let header = String::from_utf8_lossy(&npy[..128.min(npy.len())]).to_string();
    assert!(
        header.contains(&format!("'shape': ({}, 256)", rows.len())),
        "{header}"
    );
    let summary = read(&p("summary.md"));
    assert!(summary.contains("long QT syndrome") && summary.contains("SCN5A"));
    assert!(read(&p("log")).contains("gene embeddings"));
}

#[test]
fn bad_corpora_are_errors_with_the_line_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "offsets.txt",
            "1|t|A title\n1|a|An abstract.\n1\t5\tx\tBRCA1\tGeneOrGeneProduct\t672\n",
            ":3:",
        ),
        (
            "outside.txt",
            "1|t|A title\n1|a|An abstract.\n1\t20\t90\tBRCA1\tGeneOrGeneProduct\t672\n",
            ":3:",
        ),
        (
            "type.txt",
            "1|t|A title\n1|a|An abstract.\n1\t0\t1\tA\tProteinThing\t672\n",
            ":3:",
        ),
        ("empty.txt", "\n\n", "is empty"),
    ];
    for (name, content, want) in cases {
        let corpus = dir.path().join(name);
        std::fs::write(&corpus, content).unwrap();
        let out = dir.path().join(format!("out_{name}"));
        let r = literature(&corpus, &[], &out);
        assert!(!r.status.success(), "{name} accepted");
        let err = String::from_utf8_lossy(&r.stderr).to_lowercase();
        assert!(err.contains(want) && err.contains(name), "{name}: {err}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("out_{name}"))
            })
            .collect();
        assert!(left.is_empty(), "{name} left {left:?}");
    }
    // A model without the rust-bert feature, or a missing one, is a usage error.
    let corpus = data("biored/Test.PubTator");
    let r = literature(
        &corpus,
        &["--embed", "--model", "/nonexistent/model"],
        &dir.path().join("m"),
    );
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("/nonexistent/model"));
}
