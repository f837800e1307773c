//! rust-bert sentence embeddings (feature `rust-bert`). The model directory
//! comes from `GENOLENS_MINILM` (set by `cargo xtask text-env`); the tests
//! fail, rather than skip, when it is missing, so a CI that builds the
//! feature must also install the model.
#![cfg(feature = "rust-bert")]

use genolens_text::embed::{cosine, set_torch_threads, BertSentenceEmbedder, TextEmbedder};

fn model_dir() -> String {
    std::env::var("GENOLENS_MINILM")
        .expect("GENOLENS_MINILM must name the all-MiniLM-L6-v2 directory (cargo xtask text-env)")
}

#[test]
fn related_biomedical_sentences_are_closer_than_weather() {
    set_torch_threads(1);
    let e = BertSentenceEmbedder::from_dir(model_dir()).unwrap();
    assert_eq!(e.dim(), 384);
    let s = [
        "BRCA1 mutations increase breast cancer risk",
        "APOE e4 is associated with Alzheimer's disease",
        "The weather is sunny today",
    ];
    let v = e.embed(&s).unwrap();
    let (ab, ac, bc) = (
        cosine(v.row(0), v.row(1)),
        cosine(v.row(0), v.row(2)),
        cosine(v.row(1), v.row(2)),
    );
    eprintln!("cos(brca1, apoe) {ab:.4}, cos(brca1, weather) {ac:.4}, cos(apoe, weather) {bc:.4}");
    assert!(ab > ac && ab > bc);
    // Unit length (the model's Normalize module), and batching does not
    // change a sentence's vector.
    for r in v.rows() {
        assert!((r.dot(&r) - 1.0).abs() < 1e-4);
    }
    let alone = e.embed(&s[2..]).unwrap();
    let diff = (&alone.row(0) - &v.row(2))
        .iter()
        .fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(diff < 1e-5, "{diff}");
    assert_eq!(e.embed(&[]).unwrap().nrows(), 0);
}

#[test]
fn a_bad_model_directory_is_a_clear_error() {
    let missing = BertSentenceEmbedder::from_dir("/nonexistent/model")
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("/nonexistent/model") && missing.contains("not a directory"),
        "{missing}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("modules.json"), "[]").unwrap();
    let err = BertSentenceEmbedder::from_dir(dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing config.json"), "{err}");
}
