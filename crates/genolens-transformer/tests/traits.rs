//! The transformer against ridge on simulated traits, on the same samples.
//!
//! Cohorts: `SimulatedCohort` (one population, no missing calls), a third
//! of the samples held out; of the rest, 85 % fit the transformer and 15 %
//! validate it (early stopping), while ridge fits them all with its inner
//! 5-fold λ search. Additive: 3,000 samples; interacting: 1,500.
//! Traits are drawn here with a seeded ChaCha8 stream:
//! - additive: 10 causal variants among 40, h² = 0.5;
//! - interacting: five pairs among 10 of 20 variants, `y = Σ x_a·x_b` of
//!   standardised dosages (no marginal effects, so ridge sees nothing),
//!   h² = 0.6.
//!
//! Acceptance: additive R² within 0.05 of ridge; interacting R² ≥ ridge +
//! 0.05; LoRA on a pretrained base trains < 10 % of the parameters and
//! reaches ≥ 90 % of full fine-tuning's additive R².
//!
//! The tests take a lock: the CPU backend's random stream is process-wide.

use std::sync::Mutex;

use burn_core::module::AutodiffModule;
use burn_core::tensor::backend::Backend;
use genolens_assoc::predict::{fit_predictor, ModelKind, ModelSpec, Task};
use genolens_features::metrics::r_squared;
use genolens_features::simulate::{CohortSpec, SimulatedCohort};
use genolens_io::GenotypeSource;
use genolens_transformer::finetune::{
    fine_tune, predict, Control, FineTuneOptions, OutputKind, Preprocessing, TaskData,
};
use genolens_transformer::lora::{count_parameters, LoraConfig, ParameterCount};
use genolens_transformer::model::{GenotypeTransformer, TransformerConfig};
use genolens_transformer::pretrain::{pretrain, PretrainOptions};
use genolens_transformer::tokens::GenotypeTokens;
use genolens_transformer::CpuBackend as Cpu;
use ndarray::{Array2, Axis};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

static BACKEND: Mutex<()> = Mutex::new(());

/// The seed of every cohort, trait and model here.
const SEED: u64 = 2026;

struct Cohort {
    source: SimulatedCohort,
    tokens: GenotypeTokens,
    /// Standardised dosages, samples × variants.
    x: Array2<f64>,
}

fn cohort(samples: usize, variants: usize) -> Cohort {
    let source = SimulatedCohort::new(CohortSpec {
        samples,
        variants,
        populations: 1,
        fst: 0.0,
        missing_rate: 0.0,
        seed: SEED,
    })
    .unwrap();
    let block = source.read_block(0..variants).unwrap();
    let tokens = GenotypeTokens::from_dosages(block.dosages()).unwrap();
    let mut x = block.dosages().mapv(f64::from);
    for mut c in x.columns_mut() {
        let m = c.mean().unwrap();
        let sd = c.std(0.0).max(1e-9);
        c.mapv_inplace(|v| (v - m) / sd);
    }
    Cohort { source, tokens, x }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u = |r: &mut ChaCha8Rng| ((r.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (-2.0 * u(rng).ln()).sqrt() * (2.0 * std::f64::consts::PI * u(rng)).cos()
}

/// `genetic + noise` scaled to heritability `h2`.
fn with_noise(genetic: Vec<f64>, h2: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let n = genetic.len() as f64;
    let m = genetic.iter().sum::<f64>() / n;
    let var = genetic.iter().map(|g| (g - m) * (g - m)).sum::<f64>() / n;
    let noise_sd = (var * (1.0 - h2) / h2).sqrt();
    genetic.iter().map(|g| g + noise_sd * normal(rng)).collect()
}

fn additive_trait(c: &Cohort) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let causal: Vec<usize> = (0..10).map(|k| k * 4 + 1).collect();
    let beta: Vec<f64> = causal.iter().map(|_| normal(&mut rng)).collect();
    let genetic =
        c.x.axis_iter(Axis(0))
            .map(|row| causal.iter().zip(&beta).map(|(&j, b)| b * row[j]).sum())
            .collect();
    with_noise(genetic, 0.5, &mut rng)
}

fn interacting_trait(c: &Cohort) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
    let pairs = [(0, 7), (2, 11), (4, 15), (9, 18), (13, 16)];
    let genetic =
        c.x.axis_iter(Axis(0))
            .map(|row| pairs.iter().map(|&(a, b)| row[a] * row[b]).sum())
            .collect();
    with_noise(genetic, 0.6, &mut rng)
}

/// Fit, validation and held-out sample indices: a third held out, and 15 %
/// of the rest for validation.
fn split(n: usize) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let fit = (0..n).filter(|i| i % 3 != 0 && i % 20 >= 3).collect();
    let valid = (0..n).filter(|i| i % 3 != 0 && i % 20 < 3).collect();
    let test = (0..n).filter(|i| i % 3 == 0).collect();
    (fit, valid, test)
}

fn ridge_r2(c: &Cohort, y: &[f64]) -> f64 {
    let (fit, valid, test) = split(y.len());
    let mut train = [fit, valid].concat();
    train.sort_unstable();
    let model = fit_predictor(
        &c.source,
        y,
        None,
        &train,
        Task::Quantitative,
        &ModelSpec::new(ModelKind::Ridge),
    )
    .unwrap();
    let p = model.predict(&c.source, None).unwrap();
    let observed: Vec<f64> = test.iter().map(|&i| y[i]).collect();
    let predicted: Vec<f64> = test.iter().map(|&i| p[i]).collect();
    r_squared(&observed, &predicted)
}

fn task<'a>(tokens: &'a GenotypeTokens, y: &'a Array2<f32>) -> TaskData<'a> {
    TaskData {
        tokens,
        covariates: None,
        targets: y.view(),
        offsets: None,
    }
}

struct Run {
    r2: f64,
    params: ParameterCount,
}

/// Trains on the fit samples (early stopping on the validation samples) and
/// scores the held-out ones. `pretrain_epochs > 0` pretrains on the fit
/// samples' genotypes first; `lora` then fine-tunes adapters only.
fn transformer(
    c: &Cohort,
    y: &[f64],
    n_layers: usize,
    pretrain_epochs: usize,
    lora: Option<LoraConfig>,
    learning_rate: f64,
) -> Run {
    let _guard = BACKEND.lock().unwrap_or_else(|e| e.into_inner());
    let (fit, valid, test) = split(y.len());
    let targets = Array2::from_shape_fn((y.len(), 1), |(i, _)| y[i] as f32);
    let data = |rows: &[usize]| (c.tokens.select(rows), targets.select(Axis(0), rows));
    let ((fit_t, fit_y), (valid_t, valid_y), (test_t, test_y)) =
        (data(&fit), data(&valid), data(&test));
    let prep = Preprocessing::fit(&task(&fit_t, &fit_y), &[OutputKind::Regression]).unwrap();
    let device = Default::default();
    Cpu::seed(&device, SEED);
    let mut config = TransformerConfig::new(c.tokens.n_variants());
    config.n_layers = n_layers;
    let mut model = GenotypeTransformer::<Cpu>::new(&config, &device).unwrap();
    if pretrain_epochs > 0 {
        let options = PretrainOptions {
            epochs: pretrain_epochs,
            seed: SEED,
            ..PretrainOptions::default()
        };
        model = pretrain(model, &fit_t, &prep.dosages, &options, &device, &|_, _| {})
            .unwrap()
            .0;
    }
    if let Some(lora) = lora {
        model = model.with_lora(&lora, &device).unwrap();
    }
    let params = count_parameters(&model);
    let options = FineTuneOptions {
        epochs: 40,
        learning_rate,
        patience: Some(6),
        seed: SEED,
        ..FineTuneOptions::default()
    };
    let tuned = fine_tune(
        model,
        &prep,
        &task(&fit_t, &fit_y),
        &task(&valid_t, &valid_y),
        &options,
        &device,
        None,
        &mut |_, _| Control::Continue,
    )
    .unwrap();
    let last = tuned.history.last().unwrap();
    eprintln!(
        "  {} epochs (best {}), last train loss {:.3}, valid loss {:.3}",
        tuned.history.len(),
        tuned.best_epoch,
        last.train_loss,
        last.valid_loss
    );
    let inference = tuned.model.valid();
    let p = predict(&inference, &prep, &task(&test_t, &test_y), 256, &device).unwrap();
    let observed: Vec<f64> = test_y.iter().map(|&v| f64::from(v)).collect();
    Run {
        r2: r_squared(&observed, &p.column(0).to_vec()),
        params,
    }
}

#[test]
fn additive_trait_matches_ridge_and_lora_matches_full_fine_tuning() {
    let c = cohort(3000, 40);
    let y = additive_trait(&c);
    let ridge = ridge_r2(&c, &y);
    let scratch = transformer(&c, &y, 2, 0, None, 1e-3);
    eprintln!(
        "additive (seed {SEED}): held-out R² ridge {ridge:.3}, transformer {:.3}",
        scratch.r2
    );
    assert!(
        scratch.r2 >= ridge - 0.05,
        "{} vs ridge {ridge}",
        scratch.r2
    );

    let full = transformer(&c, &y, 2, 5, None, 1e-3);
    let lora = transformer(&c, &y, 2, 5, Some(LoraConfig::new(4)), 1e-2);
    eprintln!(
        "pretrained + full fine-tuning R² {:.3} ({} of {} parameters train); \
         + LoRA r=4 R² {:.3} ({} of {} train, {:.1} %)",
        full.r2,
        full.params.trainable,
        full.params.total,
        lora.r2,
        lora.params.trainable,
        lora.params.total,
        100.0 * lora.params.trainable_fraction()
    );
    assert!(lora.params.trainable_fraction() < 0.10, "{:?}", lora.params);
    assert!(
        lora.r2 >= 0.9 * full.r2,
        "LoRA {} vs full {}",
        lora.r2,
        full.r2
    );
}

#[test]
fn interacting_trait_beats_ridge() {
    let c = cohort(1500, 20);
    let y = interacting_trait(&c);
    let ridge = ridge_r2(&c, &y);
    let t = transformer(&c, &y, 2, 0, None, 3e-3);
    eprintln!(
        "interacting (seed {SEED}, margin 0.05): held-out R² ridge {ridge:.3}, transformer {:.3}",
        t.r2
    );
    assert!(t.r2 >= ridge + 0.05, "{} vs ridge {ridge}", t.r2);
}
