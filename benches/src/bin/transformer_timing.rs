//! Training throughput of the genotype transformer on the CPU backend, for
//! `cargo xtask bench --transformer-only` (compared there with
//! `xtask/torch_train.py`, the same model in PyTorch, in the same run).
//!
//! `transformer-timing SAMPLES VARIANTS LAYERS BATCH EPOCHS REPEAT`: random
//! genotypes and trait, width 32, 4 heads, feed-forward 64, dropout 0.1,
//! AdamW; prints `samples_per_s` of the fine-tuning steps (best of REPEAT;
//! the one validation batch per epoch is included), the last validation
//! loss with its bits, and `inference_samples_per_s`: predictions of the
//! trained model (no autodiff, batches of 256) for every fit sample, best of
//! REPEAT.

use std::time::Instant;

/// The allocator `genolens` itself uses, so the timing is the user's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use genolens::transformer::burn::module::AutodiffModule;
use genolens::transformer::burn::tensor::backend::Backend;
use genolens::transformer::finetune::{
    fine_tune, predict, Control, FineTuneOptions, OutputKind, Preprocessing, TaskData,
};
use genolens::transformer::model::{GenotypeTransformer, TransformerConfig};
use genolens::transformer::tokens::GenotypeTokens;
use genolens::transformer::CpuBackend as Cpu;
use ndarray::Array2;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numeric arguments"))
        .collect();
    let [samples, variants, layers, batch, epochs, repeat] = args[..] else {
        eprintln!("usage: transformer-timing SAMPLES VARIANTS LAYERS BATCH EPOCHS REPEAT");
        std::process::exit(2);
    };
    // A cheap seeded generator: the data's values do not matter, its shape does.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let dosages = Array2::from_shape_fn((samples + batch, variants), |_| (next() % 3) as f32);
    let y = Array2::from_shape_fn((samples + batch, 1), |_| (next() % 1000) as f32 / 1000.0);
    let tokens = GenotypeTokens::from_dosages(dosages.view()).expect("tokens");
    let fit_rows: Vec<usize> = (0..samples).collect();
    let valid_rows: Vec<usize> = (samples..samples + batch).collect();
    let (ft, vt) = (tokens.select(&fit_rows), tokens.select(&valid_rows));
    let (fy, vy) = (
        y.select(ndarray::Axis(0), &fit_rows),
        y.select(ndarray::Axis(0), &valid_rows),
    );
    let fit = TaskData {
        tokens: &ft,
        covariates: None,
        targets: fy.view(),
        offsets: None,
    };
    let valid = TaskData {
        tokens: &vt,
        covariates: None,
        targets: vy.view(),
        offsets: None,
    };
    let prep = Preprocessing::fit(&fit, &[OutputKind::Regression]).expect("scaling");
    let device = Default::default();
    let mut config = TransformerConfig::new(variants);
    config.n_layers = layers;
    let options = FineTuneOptions {
        epochs,
        batch_size: batch,
        patience: None,
        ..FineTuneOptions::default()
    };
    let mut best = 0.0f64;
    let mut inference = 0.0f64;
    let mut last_loss = f64::NAN;
    for _ in 0..repeat {
        Cpu::seed(&device, 1);
        let model = GenotypeTransformer::<Cpu>::new(&config, &device).expect("model");
        let start = Instant::now();
        let tuned = fine_tune(
            model,
            &prep,
            &fit,
            &valid,
            &options,
            &device,
            None,
            &mut |_, _| Control::Continue,
        )
        .expect("training");
        best = best.max((samples * epochs) as f64 / start.elapsed().as_secs_f64());
        last_loss = tuned.history.last().map_or(f64::NAN, |m| m.valid_loss);
        let trained = tuned.model.valid();
        let start = Instant::now();
        let predicted = predict(&trained, &prep, &fit, 256, &device).expect("inference");
        inference = inference.max(predicted.nrows() as f64 / start.elapsed().as_secs_f64());
    }
    println!("samples_per_s {best:.2}");
    println!("inference_samples_per_s {inference:.2}");
    // The bits show whether thread counts or backends change the arithmetic.
    println!("valid_loss {last_loss} {:016x}", last_loss.to_bits());
}
