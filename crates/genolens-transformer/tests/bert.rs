//! The burn BERT encoder against an independent numpy forward pass
//! (`tests/bert_reference.py`, float64) on the pretrained all-MiniLM-L6-v2
//! weights (`GENOLENS_MINILM`, set by `cargo xtask text-env`; the test fails
//! rather than skips when it is missing).

use std::path::PathBuf;
use std::process::Command;

use genolens_transformer::bert::{BertConfig, BertEncoder};
use genolens_transformer::burn::tensor::{Int, Tensor, TensorData};
use genolens_transformer::CpuInference;

fn model_dir() -> PathBuf {
    std::env::var("GENOLENS_MINILM")
        .expect("GENOLENS_MINILM must name the all-MiniLM-L6-v2 directory (cargo xtask text-env)")
        .into()
}

/// The first Python with numpy: `python3` on the PATH, else Debian's own
/// (a pyenv shim may come first on the PATH without numpy).
fn python_with_numpy() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|py| {
            Command::new(py)
                .args(["-c", "import numpy"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("python3 with numpy is needed (cargo xtask ci installs python3-numpy)")
}

#[test]
fn pretrained_minilm_matches_an_independent_numpy_forward_pass() {
    let dir = model_dir();
    let config =
        BertConfig::from_json(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!((config.hidden_size, config.num_hidden_layers), (384, 6));
    let device = Default::default();
    let model = BertEncoder::<CpuInference>::from_safetensors(
        &config,
        &std::fs::read(dir.join("model.safetensors")).unwrap(),
        &device,
    )
    .unwrap();
    // "[CLS] brca1 mutations cause breast cancer [SEP]" and padding-free ids
    // across the vocabulary.
    let ids: Vec<i64> = vec![
        101, 7987, 3540, 2487, 14494, 3426, 7388, 4456, 102, 1996, 29000, 5,
    ];
    let n = ids.len();
    let tmp = tempfile::tempdir().unwrap();
    let ids_csv = tmp.path().join("ids.csv");
    let out = tmp.path().join("reference.npy");
    let text: Vec<String> = ids.iter().map(i64::to_string).collect();
    std::fs::write(&ids_csv, text.join(",")).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bert_reference.py");
    let status = Command::new(python_with_numpy())
        .args([
            script.as_ref(),
            dir.as_os_str(),
            ids_csv.as_os_str(),
            out.as_os_str(),
        ])
        .status()
        .expect("python3 with numpy is needed (cargo xtask ci installs python3-numpy)");
    assert!(status.success());
    let reference: ndarray::Array2<f64> = ndarray_npy::read_npy(&out).unwrap();
    assert_eq!(reference.dim(), (n, 384));

    let tokens = Tensor::<CpuInference, 2, Int>::from_data(TensorData::new(ids, [1, n]), &device);
    let hidden = model.forward(tokens, Tensor::ones([1, n], &device));
    let ours: Vec<f32> = hidden.into_data().convert::<f32>().into_vec().unwrap();
    let worst = ours
        .iter()
        .zip(reference.iter())
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max);
    eprintln!("largest difference from numpy over {n}×384 outputs: {worst:.2e}");
    // float32 through six layers against float64: agreement to ~1e-5 of
    // outputs of order 1.
    assert!(worst < 1e-4, "{worst}");
}
