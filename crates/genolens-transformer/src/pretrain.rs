//! Masked-genotype modelling: hide 15 % of the called genotypes and predict
//! their class from the rest.

use burn::module::AutodiffModule;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use burn_optim::{AdamWConfig, GradientsParams, Optimizer};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::model::GenotypeTransformer;
use crate::tokens::{DosageScaling, GenotypeTokens, MASK, MISSING};

/// Options of [`pretrain`].
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainOptions {
    /// Passes over the samples.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// Fraction of called genotypes hidden per sample.
    pub mask_rate: f64,
    /// Seed of the sample order and the masks.
    pub seed: u64,
}

impl Default for PretrainOptions {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            learning_rate: 3e-3,
            mask_rate: 0.15,
            seed: 1,
        }
    }
}

/// One masked batch: input tokens with [`MASK`] where hidden, the hidden
/// genotypes, and which positions are hidden.
struct MaskedBatch {
    tokens: Vec<i64>,
    dosages: Vec<f32>,
    targets: Vec<i64>,
    weights: Vec<f32>,
    rows: usize,
}

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn mask_rows(
    data: &GenotypeTokens,
    scaling: &DosageScaling,
    rows: &[usize],
    rate: f64,
    rng: &mut ChaCha8Rng,
) -> MaskedBatch {
    let l = data.n_variants();
    let classes = data.classes();
    let mut b = MaskedBatch {
        tokens: Vec::with_capacity(rows.len() * l),
        dosages: Vec::with_capacity(rows.len() * l),
        targets: vec![0; rows.len() * l],
        weights: vec![0.0; rows.len() * l],
        rows: rows.len(),
    };
    for (r, &s) in rows.iter().enumerate() {
        for v in 0..l {
            let g = classes[[s, v]];
            if g != MISSING && uniform(rng) < rate {
                b.tokens.push(i64::from(MASK));
                b.dosages.push(0.0);
                b.targets[r * l + v] = i64::from(g);
                b.weights[r * l + v] = 1.0;
            } else {
                b.tokens.push(i64::from(g));
                b.dosages.push(scaling.value(v, g));
            }
        }
    }
    b
}

/// Mean cross-entropy over the hidden positions, and the logits.
fn masked_loss<B: Backend>(
    model: &GenotypeTransformer<B>,
    batch: &MaskedBatch,
    l: usize,
    device: &B::Device,
) -> (Tensor<B, 1>, Tensor<B, 3>) {
    let tokens = Tensor::<B, 2, Int>::from_data(
        TensorData::new(batch.tokens.clone(), [batch.rows, l]),
        device,
    );
    let targets = Tensor::<B, 3, Int>::from_data(
        TensorData::new(batch.targets.clone(), [batch.rows, l, 1]),
        device,
    );
    let dosages = Tensor::<B, 2>::from_data(
        TensorData::new(batch.dosages.clone(), [batch.rows, l]),
        device,
    );
    let weights = Tensor::<B, 2>::from_data(
        TensorData::new(batch.weights.clone(), [batch.rows, l]),
        device,
    );
    let logits = model.mgm_logits(tokens, dosages, None);
    let picked = log_softmax(logits.clone(), 2)
        .gather(2, targets)
        .reshape([batch.rows, l]);
    let n = batch.weights.iter().sum::<f32>().max(1.0);
    let loss = (picked * weights).sum().neg() / n;
    (loss, logits)
}

/// Pretrains by masked-genotype modelling; returns the model and the mean
/// training loss of each epoch. Token dosages use `scaling` (fitted on the
/// training samples); a hidden genotype's dosage is 0 like its class. The
/// sample order and the masks come from `options.seed`, so with a seeded
/// backend the same call gives the same bytes on the CPU.
pub fn pretrain<B: AutodiffBackend>(
    mut model: GenotypeTransformer<B>,
    data: &GenotypeTokens,
    scaling: &DosageScaling,
    options: &PretrainOptions,
    device: &B::Device,
    progress: &dyn Fn(usize, f64),
) -> Result<(GenotypeTransformer<B>, Vec<f64>)> {
    check_scaling(data, scaling)?;
    if data.n_samples() == 0 || options.batch_size == 0 || options.epochs == 0 {
        return Err(Error::Invalid(
            "pretraining needs samples, a batch size and epochs".into(),
        ));
    }
    if !(0.0..1.0).contains(&options.mask_rate) || options.mask_rate == 0.0 {
        return Err(Error::Invalid(format!(
            "mask rate {} is not in (0, 1)",
            options.mask_rate
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut optim = AdamWConfig::new().init::<B, GenotypeTransformer<B>>();
    let l = data.n_variants();
    let mut history = Vec::with_capacity(options.epochs);
    for epoch in 0..options.epochs {
        let mut order: Vec<usize> = (0..data.n_samples()).collect();
        // Fisher–Yates with the seeded stream.
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let (mut total, mut steps) = (0.0, 0usize);
        for rows in order.chunks(options.batch_size) {
            let batch = mask_rows(data, scaling, rows, options.mask_rate, &mut rng);
            let (loss, _) = masked_loss(&model, &batch, l, device);
            total += loss.clone().into_scalar().elem::<f64>();
            steps += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(options.learning_rate, model, grads);
        }
        let mean = total / steps as f64;
        history.push(mean);
        progress(epoch + 1, mean);
        tracing::debug!(
            epoch = epoch + 1,
            loss = mean,
            "masked-genotype pretraining"
        );
    }
    Ok((model, history))
}

/// Masked-token accuracy of a model against the allele-frequency baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskedAccuracy {
    /// Hidden genotypes the model predicted right.
    pub model: f64,
    /// Hidden genotypes the baseline (each variant's most frequent class in
    /// the training samples) predicted right.
    pub baseline: f64,
    /// Hidden genotypes scored.
    pub n_masked: usize,
}

/// Hides `mask_rate` of the called genotypes of `data` (seeded) and scores the
/// model's predictions and the baseline's (`modal`, from
/// [`GenotypeTokens::modal_classes`] of the training samples) on them.
pub fn masked_accuracy<B: Backend>(
    model: &GenotypeTransformer<B>,
    data: &GenotypeTokens,
    scaling: &DosageScaling,
    modal: &[u8],
    mask_rate: f64,
    seed: u64,
    device: &B::Device,
) -> Result<MaskedAccuracy> {
    if modal.len() != data.n_variants() {
        return Err(Error::Invalid(format!(
            "{} baseline classes for {} variants",
            modal.len(),
            data.n_variants()
        )));
    }
    check_scaling(data, scaling)?;
    let l = data.n_variants();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut right, mut base_right, mut n) = (0usize, 0usize, 0usize);
    let rows: Vec<usize> = (0..data.n_samples()).collect();
    for chunk in rows.chunks(64) {
        let batch = mask_rows(data, scaling, chunk, mask_rate, &mut rng);
        let (_, logits) = masked_loss(model, &batch, l, device);
        let predicted = logits.argmax(2).into_data().convert::<i64>();
        let predicted = predicted
            .to_vec::<i64>()
            .map_err(|e| Error::Invalid(format!("reading predictions: {e:?}")))?;
        for (k, &w) in batch.weights.iter().enumerate() {
            if w > 0.0 {
                n += 1;
                right += usize::from(predicted[k] == batch.targets[k]);
                base_right += usize::from(i64::from(modal[k % l]) == batch.targets[k]);
            }
        }
    }
    if n == 0 {
        return Err(Error::Invalid("no genotype was masked".into()));
    }
    Ok(MaskedAccuracy {
        model: right as f64 / n as f64,
        baseline: base_right as f64 / n as f64,
        n_masked: n,
    })
}

pub(crate) fn check_scaling(data: &GenotypeTokens, scaling: &DosageScaling) -> Result<()> {
    if scaling.len() != data.n_variants() || scaling.sd.len() != scaling.len() {
        return Err(Error::Invalid(format!(
            "a dosage scaling of {} variants for {} variants",
            scaling.len(),
            data.n_variants()
        )));
    }
    Ok(())
}

/// The model without its autodiff wrapper, for evaluation.
pub fn for_inference<B: AutodiffBackend>(
    model: &GenotypeTransformer<B>,
) -> GenotypeTransformer<B::InnerBackend> {
    model.valid()
}
