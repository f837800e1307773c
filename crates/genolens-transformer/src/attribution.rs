//! Attributions of a model output to its variant tokens, by burn's autodiff
//! (any autodiff backend).
//!
//! The continuous input of the model is each token's input vector `e_j`
//! (class + variant + dosage (+ prior) embeddings,
//! [`GenotypeTransformer::token_inputs`]); attributions are taken with
//! respect to it and summed over its width, one number per sample and
//! variant:
//!
//! - **saliency**: `‖∂f/∂e_j‖₂` (unsigned);
//! - **gradient × input**: `(∂f/∂e_j) · (e_j − e'_j)`;
//! - **integrated gradients** (Sundararajan et al. 2017): `(e_j − e'_j) ·
//!   mean_k ∂f/∂e_j(e' + α_k (e − e'))` over `steps` midpoints α_k; by
//!   completeness they sum to `f(e) − f(e')` up to the quadrature error;
//! - **SmoothGrad** (Smilkov et al. 2017) on top of any of them: the mean over
//!   `samples` copies of the input with Gaussian noise of `noise` times the
//!   inputs' standard deviation added (seeded).
//!
//! The baseline `e'` is every genotype unobserved: the missing-call class
//! with standardised dosage 0, which is how the model sees a call it must
//! fill with the training mean. Covariates and priors are held at their
//! values, so attributions explain the genotypes' part of the output.
//! Outputs are on the model's own scale: the standardised trait for
//! regression, the logit for binary outputs.

use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use ndarray::Array2;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::finetune::{batch, Preprocessing, TaskData};
use crate::model::GenotypeTransformer;
use crate::tokens::MISSING;

/// The gradient-based methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradientMethod {
    /// `‖∂f/∂e_j‖₂`.
    Saliency,
    /// `(∂f/∂e_j) · (e_j − e'_j)`.
    GradientTimesInput,
    /// Integrated gradients from the all-missing baseline.
    IntegratedGradients,
}

/// SmoothGrad on top of a method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothGrad {
    /// Noisy copies averaged.
    pub samples: usize,
    /// Noise standard deviation, relative to the standard deviation of the
    /// token inputs.
    pub noise: f64,
    /// Seed of the noise.
    pub seed: u64,
}

impl Default for SmoothGrad {
    fn default() -> Self {
        Self {
            samples: 16,
            noise: 0.15,
            seed: 1,
        }
    }
}

/// Options of [`attribute`].
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionOptions {
    /// The method.
    pub method: GradientMethod,
    /// Integration steps of integrated gradients.
    pub steps: usize,
    /// SmoothGrad on top, when set.
    pub smooth: Option<SmoothGrad>,
    /// Which output to explain.
    pub output: usize,
    /// Samples per backward pass.
    pub batch_size: usize,
}

impl AttributionOptions {
    /// The defaults for `method`: 64 integration steps, no smoothing, output
    /// 0, batches of 64.
    pub fn new(method: GradientMethod) -> Self {
        Self {
            method,
            steps: 64,
            smooth: None,
            output: 0,
            batch_size: 64,
        }
    }
}

/// Per-sample, per-variant attributions.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenAttributions {
    /// `samples × variants`.
    pub values: Array2<f64>,
    /// The explained output per sample, `f(e)`.
    pub output: Vec<f64>,
    /// The output at the baseline, `f(e')`.
    pub baseline: Vec<f64>,
}

/// Attributes output `options.output` of `model` to the tokens of every
/// sample of `data` (targets are ignored). Dropout is switched off and the
/// weights are not differentiated.
pub fn attribute<B: AutodiffBackend>(
    model: &GenotypeTransformer<B>,
    prep: &Preprocessing,
    data: &TaskData<'_>,
    options: &AttributionOptions,
    device: &B::Device,
) -> Result<TokenAttributions> {
    prep.check(data)?;
    prep.check_model(model)?;
    let n_outputs = prep.outputs.len();
    if options.output >= n_outputs {
        return Err(Error::Invalid(format!(
            "output {} asked for; the model has {n_outputs}",
            options.output + 1
        )));
    }
    if options.method == GradientMethod::IntegratedGradients && options.steps == 0 {
        return Err(Error::Invalid(
            "integrated gradients need at least one step".into(),
        ));
    }
    if let Some(s) = options.smooth {
        if s.samples == 0 || !(s.noise.is_finite() && s.noise >= 0.0) {
            return Err(Error::Invalid(format!(
                "SmoothGrad needs samples and a non-negative noise level: {s:?}"
            )));
        }
    }
    let model = model.clone().without_dropout().no_grad();
    let (n, l) = (data.tokens.n_samples(), data.tokens.n_variants());
    let dummy = Array2::<f32>::zeros((n, n_outputs));
    let data = TaskData {
        tokens: data.tokens,
        covariates: data.covariates.map(|c| c.reborrow()),
        targets: dummy.view(),
        offsets: None,
    };
    let priors = prep.prior_tensor::<B>(device);
    let mut values = Array2::<f64>::zeros((n, l));
    let mut output = Vec::with_capacity(n);
    let mut baseline = Vec::with_capacity(n);
    let mut noise_rng = options.smooth.map(|s| ChaCha8Rng::seed_from_u64(s.seed));
    let rows: Vec<usize> = (0..n).collect();
    for chunk in rows.chunks(options.batch_size.max(1)) {
        let b = batch::<B>(&data, prep, chunk, device);
        let m = chunk.len();
        let inputs = model
            .token_inputs(b.classes.clone(), b.dosages.clone(), priors.clone())
            .detach();
        let missing = Tensor::<B, 2, Int>::from_data(
            TensorData::new(vec![i64::from(MISSING); m * l], [m, l]),
            device,
        );
        let zeros = Tensor::<B, 2>::zeros([m, l], device);
        let base = model.token_inputs(missing, zeros, priors.clone()).detach();
        let d = inputs.dims()[2];
        let pick = |t: Tensor<B, 2>| t.slice([0..m, options.output..options.output + 1]);
        let f = |x: Tensor<B, 3>| -> Result<Vec<f32>> {
            to_vec(pick(model.forward_inputs(x, b.covariates.clone())))
        };
        output.extend(f(inputs.clone())?.into_iter().map(f64::from));
        baseline.extend(f(base.clone())?.into_iter().map(f64::from));
        let grad_at = |x: Tensor<B, 3>| -> Result<Tensor<B, 3>> {
            let x = x.require_grad();
            let y = pick(model.forward_inputs(x.clone(), b.covariates.clone())).sum();
            let grads = y.backward();
            let g = x
                .grad(&grads)
                .ok_or_else(|| Error::Invalid("no gradient reached the token inputs".into()))?;
            Ok(Tensor::from_inner(g))
        };
        // One pass of the method at input `x` (the baseline stays `base`).
        let once = |x: Tensor<B, 3>| -> Result<Tensor<B, 2>> {
            let delta = x.clone() - base.clone();
            let per_token = match options.method {
                GradientMethod::Saliency => {
                    let g = grad_at(x)?;
                    (g.clone() * g).sum_dim(2).sqrt()
                }
                GradientMethod::GradientTimesInput => (grad_at(x)? * delta).sum_dim(2),
                GradientMethod::IntegratedGradients => {
                    let mut total = Tensor::<B, 3>::zeros([m, l, d], device);
                    for k in 0..options.steps {
                        let alpha = (k as f64 + 0.5) / options.steps as f64;
                        let point = base.clone() + delta.clone().mul_scalar(alpha);
                        total = total + grad_at(point)?;
                    }
                    (total.div_scalar(options.steps as f64) * delta).sum_dim(2)
                }
            };
            Ok(per_token.reshape([m, l]))
        };
        let result = match (options.smooth, noise_rng.as_mut()) {
            (Some(s), Some(rng)) => {
                let spread = std_of(&inputs)?;
                let mut total = Tensor::<B, 2>::zeros([m, l], device);
                for _ in 0..s.samples {
                    let noise: Vec<f32> = (0..m * l * d)
                        .map(|_| (normal(rng) * s.noise * spread) as f32)
                        .collect();
                    let noise =
                        Tensor::<B, 3>::from_data(TensorData::new(noise, [m, l, d]), device);
                    total = total + once(inputs.clone() + noise)?;
                }
                total.div_scalar(s.samples as f64)
            }
            _ => once(inputs.clone())?,
        };
        let flat = to_vec(result)?;
        for (r, &i) in chunk.iter().enumerate() {
            for v in 0..l {
                values[[i, v]] = f64::from(flat[r * l + v]);
            }
        }
    }
    Ok(TokenAttributions {
        values,
        output,
        baseline,
    })
}

/// Standard deviation of every value of `t`.
fn std_of<B: Backend>(t: &Tensor<B, 3>) -> Result<f64> {
    let v = to_vec(t.clone())?;
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = v
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    Ok(var.sqrt())
}

/// A standard normal draw (Box–Muller), from our own stream so that the
/// same seed gives the same noise on every backend.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u = |rng: &mut ChaCha8Rng| ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let (a, b) = (u(rng), u(rng));
    (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
}

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| Error::Invalid(format!("reading attributions: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finetune::OutputKind;
    use crate::model::TransformerConfig;
    use crate::tokens::GenotypeTokens;
    use crate::CpuBackend as Cpu;

    fn setup() -> (
        GenotypeTransformer<Cpu>,
        Preprocessing,
        GenotypeTokens,
        Array2<f32>,
    ) {
        let device = Default::default();
        <Cpu as Backend>::seed(&device, 7);
        let mut config = TransformerConfig::new(6);
        config.n_layers = 1;
        config.d_model = 16;
        config.d_ff = 32;
        // Parameters are initialised lazily, on first use, and every clone
        // would draw its own: a round trip through bytes fixes them, as in a
        // trained or loaded model.
        let fresh = GenotypeTransformer::<Cpu>::new(&config, &device).unwrap();
        let bytes = crate::checkpoint::model_to_bytes(&fresh).unwrap();
        let model = crate::checkpoint::model_from_bytes(
            GenotypeTransformer::<Cpu>::new(&config, &device).unwrap(),
            &bytes,
            &device,
        )
        .unwrap();
        let dosages = Array2::from_shape_fn((10, 6), |(i, j)| ((i * 7 + j * 3) % 3) as f32);
        let tokens = GenotypeTokens::from_dosages(dosages.view()).unwrap();
        let targets = Array2::from_shape_fn((10, 1), |(i, _)| i as f32);
        let prep = Preprocessing::fit(
            &TaskData {
                tokens: &tokens,
                covariates: None,
                targets: targets.view(),
                offsets: None,
            },
            &[OutputKind::Regression],
        )
        .unwrap();
        (model, prep, tokens, targets)
    }

    #[test]
    fn integrated_gradients_are_complete_and_methods_agree_in_shape() {
        let (model, prep, tokens, targets) = setup();
        let device = Default::default();
        let data = TaskData {
            tokens: &tokens,
            covariates: None,
            targets: targets.view(),
            offsets: None,
        };
        let ig = attribute(
            &model,
            &prep,
            &data,
            &AttributionOptions::new(GradientMethod::IntegratedGradients),
            &device,
        )
        .unwrap();
        assert_eq!(ig.values.dim(), (10, 6));
        for i in 0..10 {
            let total: f64 = ig.values.row(i).sum();
            let want = ig.output[i] - ig.baseline[i];
            assert!(
                (total - want).abs() <= 0.01 * want.abs().max(1e-3),
                "sample {i}: {total} vs {want}"
            );
        }
        let sal = attribute(
            &model,
            &prep,
            &data,
            &AttributionOptions::new(GradientMethod::Saliency),
            &device,
        )
        .unwrap();
        assert!(sal.values.iter().all(|&v| v >= 0.0));
        let plain = AttributionOptions::new(GradientMethod::GradientTimesInput);
        let a = attribute(&model, &prep, &data, &plain, &device).unwrap();
        let b = attribute(&model, &prep, &data, &plain, &device).unwrap();
        assert_eq!(a.values, b.values, "no noise: same values");
        let mut smooth = AttributionOptions::new(GradientMethod::GradientTimesInput);
        smooth.smooth = Some(SmoothGrad::default());
        let a = attribute(&model, &prep, &data, &smooth, &device).unwrap();
        let b = attribute(&model, &prep, &data, &smooth, &device).unwrap();
        assert_eq!(a.values, b.values, "seeded noise: same values");
        let mut bad = AttributionOptions::new(GradientMethod::Saliency);
        bad.output = 3;
        assert!(attribute(&model, &prep, &data, &bad, &device).is_err());
    }
}
