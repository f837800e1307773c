//! Sentence-embedding throughput of genolens' rust-bert embedder, for the
//! comparison with sentence-transformers in `cargo xtask bench`.
//!
//! `embed-timing CORPUS MODEL_DIR SENTENCES_OUT NPY_OUT THREADS REPEAT [LIMIT]`:
//! splits the PubTator corpus into sentences (at most LIMIT), writes them one
//! per line for the Python side, embeds them once as warm-up and REPEAT more
//! times, writes the embeddings as `.npy`, and prints `sentences`, `seconds`
//! (best run) and `sentences_per_s`.

use std::time::Instant;

use genolens::io::corpus::{Corpus, MentionCheck};
use genolens::text::embed::{set_torch_threads, BertSentenceEmbedder, TextEmbedder};
use genolens::text::preprocess::split_sentences;
use genolens::text::report::{npy_bytes, write_all_or_none};

fn main() {
    if let Err(e) = run() {
        eprintln!("embed-timing: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 6 {
        return Err(
            "usage: embed-timing CORPUS MODEL_DIR SENTENCES_OUT NPY_OUT THREADS REPEAT [LIMIT]"
                .into(),
        );
    }
    let threads: usize = a[4].parse().map_err(|_| "bad THREADS")?;
    let repeat: usize = a[5].parse().map_err(|_| "bad REPEAT")?;
    let limit: usize = a
        .get(6)
        .map_or(Ok(usize::MAX), |s| s.parse().map_err(|_| "bad LIMIT"))?;
    set_torch_threads(threads);
    let corpus = Corpus::read_pubtator_with(&a[0], MentionCheck::Off).map_err(|e| e.to_string())?;
    let mut sentences: Vec<String> = Vec::new();
    for d in &corpus {
        let text = d.text();
        for s in split_sentences(&text) {
            // One per line for Python: no line breaks inside.
            sentences.push(s.of(&text).replace(['\n', '\r'], " "));
        }
    }
    sentences.truncate(limit);
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let e = BertSentenceEmbedder::from_dir(&a[1]).map_err(|e| e.to_string())?;
    let mut emb = e.embed(&refs).map_err(|e| e.to_string())?;
    let mut best = f64::INFINITY;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        emb = e.embed(&refs).map_err(|e| e.to_string())?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let lines = sentences.join("\n") + "\n";
    let npy = npy_bytes(&emb).map_err(|e| e.to_string())?;
    write_all_or_none(&[(a[2].as_ref(), lines.as_bytes()), (a[3].as_ref(), &npy)])
        .map_err(|e| e.to_string())?;
    println!("sentences {}", refs.len());
    println!("seconds {best}");
    println!("sentences_per_s {}", refs.len() as f64 / best);
    Ok(())
}
