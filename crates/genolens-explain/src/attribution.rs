//! Attributions of a saved model's predictions to its variants.
//!
//! | method | models | what |
//! |---|---|---|
//! | `shap` | linear (ridge, elastic net, lasso, OLS, logistic, SVM, C+T) | exact SHAP for a linear model with independent features, `β_j (x_j − E[x_j])` with `E` the training mean; sums to prediction − baseline to rounding |
//! | `ig`, `saliency`, `grad-input`, `smoothgrad` | transformer | burn autodiff over the token inputs ([`genolens_transformer::attribution`]) |
//! | `permutation` | every model | increase of the loss when one variant's dosages are permuted among the samples (seeded, repeated; mean and SD) |
//!
//! Local methods give one number per sample and variant; a variant's
//! cohort-level importance is the mean absolute value over the explained
//! samples (the usual SHAP summary). Permutation importance is cohort-level
//! only. Outputs are on the model's own scale: trait units for a linear
//! model of a quantitative trait, log-odds for a logistic one; the
//! standardised trait or the logit for the transformer.

use genolens_assoc::predict::LinearPredictor;
use genolens_features::split::permutation;
use genolens_io::GenotypeSource;
use genolens_transformer::attribution::{
    attribute, AttributionOptions, GradientMethod, SmoothGrad, TokenAttributions,
};
use genolens_transformer::device::{BackendTask, ComputeDevice};
use genolens_transformer::finetune::{predict, OutputKind, TaskData};
use genolens_transformer::saved::SavedTransformer;
use genolens_transformer::tokens::GenotypeTokens;
use genolens_transformer::CpuInference;
use ndarray::{Array2, ArrayView2};

use crate::error::{Error, Result};

/// An attribution method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Integrated gradients (transformer).
    IntegratedGradients,
    /// Gradient norm (transformer).
    Saliency,
    /// Gradient × (input − baseline) (transformer).
    GradientTimesInput,
    /// SmoothGrad of the saliency (transformer).
    SmoothGrad,
    /// Exact SHAP of a linear model.
    Shap,
    /// Permutation importance (any model; needs the phenotype).
    Permutation,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 6] = [
        Self::IntegratedGradients,
        Self::Saliency,
        Self::GradientTimesInput,
        Self::SmoothGrad,
        Self::Shap,
        Self::Permutation,
    ];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Self::IntegratedGradients => "ig",
            Self::Saliency => "saliency",
            Self::GradientTimesInput => "grad-input",
            Self::SmoothGrad => "smoothgrad",
            Self::Shap => "shap",
            Self::Permutation => "permutation",
        }
    }

    /// The method with this [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether the method gives one value per sample (not only per variant).
    pub fn is_local(self) -> bool {
        self != Self::Permutation
    }

    /// Whether the values are signed (saliency and SmoothGrad of it are not).
    pub fn is_signed(self) -> bool {
        !matches!(self, Self::Saliency | Self::SmoothGrad)
    }
}

/// A trained transformer: its description and weights.
#[derive(Debug, Clone)]
pub struct TransformerArtifact {
    /// The description (configuration, variants, scalings, priors).
    pub saved: SavedTransformer,
    /// The weights (named MessagePack).
    pub weights: Vec<u8>,
    /// The additive path the transformer refines (`genolens train`'s
    /// `model/additive.json`: one linear model per output over every
    /// marker, its scores added to the outputs), or empty. With it the
    /// model's variants are the additive models', and attributions cover
    /// the whole prediction: the additive part's exact SHAP plus the
    /// transformer's attributions on its tokens.
    pub additive: Vec<LinearPredictor>,
}

impl TransformerArtifact {
    /// Source columns of the transformer's tokens within the model's
    /// variants (the additive models' when there are any).
    fn token_columns(&self) -> Result<Vec<usize>> {
        let Some(first) = self.additive.first() else {
            return Ok((0..self.saved.variants.len()).collect());
        };
        let index: std::collections::HashMap<&str, usize> = first
            .variants
            .iter()
            .enumerate()
            .map(|(k, v)| (v.id.as_str(), k))
            .collect();
        self.saved
            .variants
            .iter()
            .map(|v| {
                index.get(v.id.as_str()).copied().ok_or_else(|| {
                    Error::invalid(format!(
                        "token {} is not among the additive path's variants",
                        v.id
                    ))
                })
            })
            .collect()
    }
}

/// A model to explain.
#[derive(Debug, Clone)]
pub enum Explainable {
    /// A classical predictor (`genolens predict`'s saved model).
    Linear(LinearPredictor),
    /// The genotype transformer (`genolens train`'s saved model).
    Transformer(TransformerArtifact),
}

impl Explainable {
    /// A short description (`ridge`, `transformer`).
    pub fn kind_name(&self) -> String {
        match self {
            Self::Linear(m) => m.kind.name().to_string(),
            Self::Transformer(_) => "transformer".to_string(),
        }
    }

    /// The methods this model supports.
    pub fn supported(&self) -> Vec<&'static str> {
        let methods: &[Method] = match self {
            Self::Linear(_) => &[Method::Shap, Method::Permutation],
            Self::Transformer(_) => &[
                Method::IntegratedGradients,
                Method::Saliency,
                Method::GradientTimesInput,
                Method::SmoothGrad,
                Method::Permutation,
            ],
        };
        methods.iter().map(|m| m.name()).collect()
    }

    /// The model's variants: `(ID, counted allele, other allele)`, in model
    /// order.
    pub fn variants(&self) -> Vec<(&str, &str, &str)> {
        match self {
            Self::Linear(m) => m
                .variants
                .iter()
                .map(|v| (v.id.as_str(), v.allele1.as_str(), v.allele2.as_str()))
                .collect(),
            Self::Transformer(t) => match t.additive.first() {
                Some(m) => m
                    .variants
                    .iter()
                    .map(|v| (v.id.as_str(), v.allele1.as_str(), v.allele2.as_str()))
                    .collect(),
                None => t
                    .saved
                    .variants
                    .iter()
                    .map(|v| (v.id.as_str(), v.allele1.as_str(), v.allele2.as_str()))
                    .collect(),
            },
        }
    }

    /// Covariates the model needs, in its order.
    pub fn covariate_names(&self) -> Vec<String> {
        match self {
            Self::Linear(m) => m.covariates.iter().map(|c| c.name.clone()).collect(),
            Self::Transformer(t) => t.saved.covariates.clone(),
        }
    }

    /// What the outputs and attributions are measured in.
    pub fn scale(&self) -> &'static str {
        match self {
            Self::Linear(m) if m.logistic_link => "log-odds",
            Self::Linear(_) => "trait units",
            Self::Transformer(t) => match t.saved.preprocessing.outputs.first() {
                Some(OutputKind::Binary) => "logit",
                _ => "standardised trait",
            },
        }
    }
}

/// Options of [`explain`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainOptions {
    /// The method.
    pub method: Method,
    /// Integration steps of integrated gradients.
    pub steps: usize,
    /// SmoothGrad on top of a gradient method (for `smoothgrad` itself the
    /// default [`SmoothGrad`] is used when this is `None`).
    pub smooth: Option<SmoothGrad>,
    /// Repeats of permutation importance.
    pub repeats: usize,
    /// Seed of permutations (and of SmoothGrad's noise when `smooth` is
    /// `None`).
    pub seed: u64,
    /// Output (trait) of a multi-output transformer.
    pub output: usize,
    /// Where the transformer's gradients run.
    pub device: ComputeDevice,
}

impl ExplainOptions {
    /// Defaults for `method`: 64 steps, 5 repeats, seed 1, output 0, CPU.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            steps: 64,
            smooth: None,
            repeats: 5,
            seed: 1,
            output: 0,
            device: ComputeDevice::Cpu,
        }
    }
}

/// The samples and data to explain.
#[derive(Clone, Copy)]
pub struct ExplainInput<'a> {
    /// The genotypes (the model's variants are found by ID, alleles checked).
    pub source: &'a dyn GenotypeSource,
    /// Source indices of the samples to explain.
    pub samples: &'a [usize],
    /// Covariates the model needs, one row per source sample, in the model's
    /// order (see [`Explainable::covariate_names`]).
    pub covariates: Option<ArrayView2<'a, f64>>,
    /// The phenotype, one value per source sample (`NaN` missing): needed by
    /// permutation importance.
    pub phenotype: Option<&'a [f64]>,
}

/// Attributions of one model on some samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Attributions {
    /// The method.
    pub method: Method,
    /// Source indices of the model's variants, in model order.
    pub variants: Vec<usize>,
    /// Source indices of the explained samples.
    pub samples: Vec<usize>,
    /// `samples × variants` values (local methods).
    pub local: Option<Array2<f64>>,
    /// Per variant: mean |local value| over the samples, or the permutation
    /// importance.
    pub importance: Vec<f64>,
    /// Per variant, the SD of the importance over permutation repeats.
    pub importance_sd: Option<Vec<f64>>,
    /// The model output per explained sample.
    pub output: Vec<f64>,
    /// The reference output per sample: the linear model's intercept plus
    /// covariates, the transformer at the all-missing baseline, or (for
    /// permutation importance) the loss with nothing permuted.
    pub baseline: Vec<f64>,
    /// Units of the values.
    pub scale: String,
}

impl Attributions {
    /// Per variant, the mean signed value over the samples (0 for unsigned
    /// and cohort-level methods).
    pub fn mean_signed(&self) -> Vec<f64> {
        match (&self.local, self.method.is_signed()) {
            (Some(l), true) => l
                .columns()
                .into_iter()
                .map(|c| c.mean().unwrap_or(0.0))
                .collect(),
            _ => vec![0.0; self.variants.len()],
        }
    }
}

/// How far local attributions are from summing to `output − baseline`:
/// `(median, max)` over samples of `|Σ_j φ_ij − (f_i − f'_i)| / |f_i − f'_i|`
/// (absolute where the difference is below 1e-9). `None` for unsigned or
/// cohort-level methods, where completeness does not apply.
pub fn completeness_error(a: &Attributions) -> Option<(f64, f64)> {
    let local = a.local.as_ref()?;
    if !matches!(a.method, Method::IntegratedGradients | Method::Shap) {
        return None;
    }
    let mut errors: Vec<f64> = local
        .rows()
        .into_iter()
        .zip(a.output.iter().zip(&a.baseline))
        .map(|(row, (f, b))| {
            let want = f - b;
            let err = (row.sum() - want).abs();
            if want.abs() < 1e-9 {
                err
            } else {
                err / want.abs()
            }
        })
        .collect();
    errors.sort_by(|x, y| x.total_cmp(y));
    let median = errors[errors.len() / 2];
    Some((median, *errors.last().unwrap_or(&0.0)))
}

/// Where each model variant is in the source (by ID, alleles checked).
pub fn match_model_variants(
    model: &Explainable,
    source: &dyn GenotypeSource,
) -> Result<Vec<usize>> {
    let index: std::collections::HashMap<&str, usize> = source
        .variants()
        .iter()
        .enumerate()
        .map(|(i, v)| (v.id.as_str(), i))
        .collect();
    let mut order = Vec::new();
    let (mut absent, mut swapped) = (Vec::new(), Vec::new());
    for (id, a1, a2) in model.variants() {
        match index.get(id) {
            None => absent.push(id.to_string()),
            Some(&i) => {
                let v = &source.variants()[i];
                if v.allele1 != a1 || v.allele2 != a2 {
                    swapped.push(format!(
                        "{id} ({a1}/{a2} in the model, {}/{} in the data)",
                        v.allele1, v.allele2
                    ));
                }
                order.push(i);
            }
        }
    }
    if !absent.is_empty() || !swapped.is_empty() {
        let list = |v: &[String]| {
            let mut s = v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            if v.len() > 5 {
                s.push_str(", ...");
            }
            s
        };
        let mut msg = format!(
            "{} of the model's {} variants found in the genotypes",
            order.len() - swapped.len(),
            model.variants().len()
        );
        if !absent.is_empty() {
            msg.push_str(&format!("; absent: {}", list(&absent)));
        }
        if !swapped.is_empty() {
            msg.push_str(&format!("; alleles differ: {}", list(&swapped)));
        }
        return Err(Error::invalid(msg));
    }
    Ok(order)
}

/// Dosages (`samples × variants`, `NaN` missing) of `samples` at source
/// variants `variants`, in the order given.
pub fn read_dosages(
    source: &dyn GenotypeSource,
    variants: &[usize],
    samples: &[usize],
) -> Result<Array2<f32>> {
    let mut out = Array2::<f32>::zeros((samples.len(), variants.len()));
    let mut col = vec![0.0f32; samples.len()];
    for (k, &v) in variants.iter().enumerate() {
        source.read_variant_subset_into(v, samples, &mut col)?;
        out.column_mut(k)
            .iter_mut()
            .zip(&col)
            .for_each(|(o, x)| *o = *x);
    }
    Ok(out)
}

/// Explains `model` on `input.samples` by `options.method`. A method the
/// model does not support is an error listing the ones it does.
pub fn explain(
    model: &Explainable,
    input: &ExplainInput<'_>,
    options: &ExplainOptions,
) -> Result<Attributions> {
    let method = options.method;
    if !model.supported().contains(&method.name()) {
        return Err(Error::Unsupported {
            model: model.kind_name(),
            method: method.name().to_string(),
            supported: model.supported(),
        });
    }
    if input.samples.is_empty() {
        return Err(Error::invalid("no sample to explain"));
    }
    let n_source = input.source.n_samples();
    if let Some(bad) = input.samples.iter().find(|&&i| i >= n_source) {
        return Err(Error::invalid(format!(
            "sample {bad} is outside the {n_source} samples"
        )));
    }
    let n_cov = model.covariate_names().len();
    match input.covariates {
        None if n_cov > 0 => {
            return Err(Error::invalid(format!(
                "the model needs covariates ({})",
                model.covariate_names().join(", ")
            )))
        }
        Some(c) if c.dim() != (n_source, n_cov) => {
            return Err(Error::invalid(format!(
                "covariates are {} × {}; the model needs {n_source} × {n_cov}",
                c.nrows(),
                c.ncols()
            )))
        }
        _ => {}
    }
    let variants = match_model_variants(model, input.source)?;
    let x = read_dosages(input.source, &variants, input.samples)?;
    let cov: Option<Array2<f64>> = input
        .covariates
        .map(|c| c.select(ndarray::Axis(0), input.samples));
    let predictor = Predictor::new(model, cov.as_ref(), options)?;
    let scale = model.scale().to_string();
    if method == Method::Permutation {
        let y: Vec<f64> = match input.phenotype {
            Some(y) if y.len() == n_source => input.samples.iter().map(|&i| y[i]).collect(),
            Some(y) => {
                return Err(Error::invalid(format!(
                    "{} phenotype values for {n_source} samples",
                    y.len()
                )))
            }
            None => {
                return Err(Error::invalid(
                    "permutation importance needs the phenotype (--pheno)",
                ))
            }
        };
        let perm = permutation_importance(&predictor, x.view(), &y, options.repeats, options.seed)?;
        return Ok(Attributions {
            method,
            variants,
            samples: input.samples.to_vec(),
            local: None,
            importance: perm.mean,
            importance_sd: Some(perm.sd),
            output: perm.output,
            baseline: vec![perm.baseline_loss; input.samples.len()],
            scale: format!("increase in {}", perm.loss_name),
        });
    }
    let (local, output, baseline) = match model {
        Explainable::Linear(m) => linear_shap(m, x.view(), cov.as_ref())?,
        Explainable::Transformer(t) => {
            let columns = t.token_columns()?;
            let tokens = x.select(ndarray::Axis(1), &columns);
            let a = transformer_gradients(t, tokens.view(), cov.as_ref(), options)?;
            match t.additive.get(options.output) {
                None => (a.values, a.output, a.baseline),
                Some(additive) => {
                    stack_additive(t, additive, &columns, a, x.view(), cov.as_ref(), options)?
                }
            }
        }
    };
    let importance = local
        .columns()
        .into_iter()
        .map(|c| c.iter().map(|v| v.abs()).sum::<f64>() / c.len().max(1) as f64)
        .collect();
    Ok(Attributions {
        method,
        variants,
        samples: input.samples.to_vec(),
        local: Some(local),
        importance,
        importance_sd: None,
        output,
        baseline,
        scale,
    })
}

/// Exact SHAP values of a linear model: `φ_ij = w_j z_ij` with `z` the
/// dosage standardised by the model's training centre, scale and fill, so
/// the expectation over the training samples is 0 and `Σ_j φ_ij = score_i −
/// (intercept + covariate part)`. Returns `(φ, score, intercept + covariate
/// part)`.
pub fn linear_shap(
    model: &LinearPredictor,
    dosages: ArrayView2<'_, f32>,
    covariates: Option<&Array2<f64>>,
) -> Result<(Array2<f64>, Vec<f64>, Vec<f64>)> {
    let (n, m) = dosages.dim();
    if m != model.weights.len() {
        return Err(Error::invalid(format!(
            "{m} dosage columns for a model of {} variants",
            model.weights.len()
        )));
    }
    let mut phi = Array2::<f64>::zeros((n, m));
    for j in 0..m {
        let (c, s, f, w) = (
            model.center[j],
            model.scale[j],
            model.fill[j],
            model.weights[j],
        );
        if s == 0.0 || w == 0.0 {
            continue;
        }
        for i in 0..n {
            let d = dosages[[i, j]];
            let x = if d.is_nan() { f } else { f64::from(d) };
            phi[[i, j]] = w * (x - c) / s;
        }
    }
    let mut base = vec![model.intercept; n];
    if !model.covariates.is_empty() {
        let c = covariates.ok_or_else(|| Error::invalid("the model needs covariates"))?;
        for (k, (cov, w)) in model
            .covariates
            .iter()
            .zip(&model.covariate_weights)
            .enumerate()
        {
            for (i, b) in base.iter_mut().enumerate() {
                *b += w * (c[[i, k]] - cov.mean) / cov.sd;
            }
        }
    }
    // Summed in one order so that completeness holds to rounding.
    let score: Vec<f64> = (0..n)
        .map(|i| base[i] + phi.row(i).iter().sum::<f64>())
        .collect();
    Ok((phi, score, base))
}

/// The whole prediction of a transformer with an additive path, on the
/// transformer's scale (standardised trait, or logit): the additive model's
/// exact SHAP divided by the trait's training SD (its scores enter the
/// transformer as `(score − mean) / sd`; 1 for a binary output), plus the
/// transformer's attributions on its token columns. Output and baseline are
/// both parts' sums, so completeness carries over from the two parts. For
/// the unsigned methods (saliency, SmoothGrad) the additive part adds the
/// magnitude of its SHAP value.
#[allow(clippy::too_many_arguments)]
fn stack_additive(
    t: &TransformerArtifact,
    additive: &LinearPredictor,
    columns: &[usize],
    tokens: TokenAttributions,
    dosages: ArrayView2<'_, f32>,
    covariates: Option<&Array2<f64>>,
    options: &ExplainOptions,
) -> Result<(Array2<f64>, Vec<f64>, Vec<f64>)> {
    let prep = &t.saved.preprocessing;
    let (mean, sd) = match prep.outputs.get(options.output) {
        Some(OutputKind::Regression) => (
            f64::from(prep.targets.mean[options.output]),
            f64::from(prep.targets.sd[options.output]),
        ),
        _ => (0.0, 1.0),
    };
    let (phi, score, base) = linear_shap(additive, dosages, covariates)?;
    let signed = options.method.is_signed();
    let mut values = phi.mapv(|v| if signed { v / sd } else { v.abs() / sd });
    for (k, &c) in columns.iter().enumerate() {
        let mut column = values.column_mut(c);
        column += &tokens.values.column(k);
    }
    let output = tokens
        .output
        .iter()
        .zip(&score)
        .map(|(f, s)| f + (s - mean) / sd)
        .collect();
    let baseline = tokens
        .baseline
        .iter()
        .zip(&base)
        .map(|(f, b)| f + (b - mean) / sd)
        .collect();
    Ok((values, output, baseline))
}

/// Gradient attributions of a transformer on the chosen device.
fn transformer_gradients(
    t: &TransformerArtifact,
    dosages: ArrayView2<'_, f32>,
    covariates: Option<&Array2<f64>>,
    options: &ExplainOptions,
) -> Result<TokenAttributions> {
    let (method, smooth) = match options.method {
        Method::IntegratedGradients => (GradientMethod::IntegratedGradients, options.smooth),
        Method::Saliency => (GradientMethod::Saliency, options.smooth),
        Method::GradientTimesInput => (GradientMethod::GradientTimesInput, options.smooth),
        Method::SmoothGrad => (
            GradientMethod::Saliency,
            Some(options.smooth.unwrap_or(SmoothGrad {
                seed: options.seed,
                ..SmoothGrad::default()
            })),
        ),
        other => {
            return Err(Error::invalid(format!(
                "{} is not a gradient method",
                other.name()
            )))
        }
    };
    let tokens = GenotypeTokens::from_dosages(dosages)?;
    let cov32 = covariates.map(|c| c.mapv(|v| v as f32));
    let attribution = AttributionOptions {
        method,
        steps: options.steps,
        smooth,
        output: options.output,
        batch_size: 64,
    };
    struct Task<'a> {
        artifact: &'a TransformerArtifact,
        tokens: &'a GenotypeTokens,
        covariates: Option<ArrayView2<'a, f32>>,
        options: &'a AttributionOptions,
    }
    impl BackendTask for Task<'_> {
        type Output = genolens_transformer::Result<TokenAttributions>;
        fn run<B: genolens_transformer::burn::tensor::backend::AutodiffBackend>(
            self,
            device: B::Device,
        ) -> Self::Output {
            let model = self
                .artifact
                .saved
                .load::<B>(&self.artifact.weights, &device)?;
            let n = self.tokens.n_samples();
            let dummy = Array2::<f32>::zeros((n, self.artifact.saved.outputs.len()));
            let data = TaskData {
                tokens: self.tokens,
                covariates: self.covariates.map(|c| c.reborrow()),
                targets: dummy.view(),
                offsets: None,
            };
            attribute(
                &model,
                &self.artifact.saved.preprocessing,
                &data,
                self.options,
                &device,
            )
        }
    }
    let result = options.device.run(Task {
        artifact: t,
        tokens: &tokens,
        covariates: cov32.as_ref().map(|c| c.view()),
        options: &attribution,
    })??;
    Ok(result)
}

/// Predictions from dosages, for permutation importance.
struct Predictor<'a> {
    model: &'a Explainable,
    covariates: Option<&'a Array2<f64>>,
    output: usize,
    /// Transformer weights loaded once.
    transformer: Option<genolens_transformer::model::GenotypeTransformer<CpuInference>>,
    /// The transformer's token columns among the model's variants, found
    /// once (every permuted prediction selects them).
    token_columns: Vec<usize>,
}

impl<'a> Predictor<'a> {
    fn new(
        model: &'a Explainable,
        covariates: Option<&'a Array2<f64>>,
        options: &ExplainOptions,
    ) -> Result<Self> {
        let transformer = match model {
            Explainable::Transformer(t) => {
                if options.output >= t.saved.outputs.len() {
                    return Err(Error::invalid(format!(
                        "output {} asked for; the model has {}",
                        options.output + 1,
                        t.saved.outputs.len()
                    )));
                }
                Some(
                    t.saved
                        .load::<CpuInference>(&t.weights, &Default::default())?,
                )
            }
            Explainable::Linear(_) => None,
        };
        let token_columns = match model {
            Explainable::Transformer(t) => t.token_columns()?,
            Explainable::Linear(_) => Vec::new(),
        };
        Ok(Self {
            model,
            covariates,
            output: options.output,
            transformer,
            token_columns,
        })
    }

    /// Predictions on the trait's scale (probabilities for binary traits).
    fn predict(&self, x: ArrayView2<'_, f32>) -> Result<Vec<f64>> {
        match (self.model, &self.transformer) {
            (Explainable::Linear(m), _) => {
                let (_, score, _) = linear_shap(m, x, self.covariates)?;
                Ok(if m.logistic_link {
                    score.iter().map(|s| 1.0 / (1.0 + (-s).exp())).collect()
                } else {
                    score
                })
            }
            (Explainable::Transformer(t), Some(model)) => {
                let tokens = GenotypeTokens::from_dosages(
                    x.select(ndarray::Axis(1), &self.token_columns).view(),
                )?;
                let cov32 = self.covariates.map(|c| c.mapv(|v| v as f32));
                let dummy = Array2::<f32>::zeros((x.nrows(), t.saved.outputs.len()));
                // The additive path's scores are the outputs' offsets.
                let offsets = if t.additive.is_empty() {
                    None
                } else {
                    let mut o = Array2::<f32>::zeros((x.nrows(), t.additive.len()));
                    for (k, m) in t.additive.iter().enumerate() {
                        let (_, score, _) = linear_shap(m, x, self.covariates)?;
                        for (i, v) in score.iter().enumerate() {
                            o[[i, k]] = *v as f32;
                        }
                    }
                    Some(o)
                };
                let data = TaskData {
                    tokens: &tokens,
                    covariates: cov32.as_ref().map(|c| c.view()),
                    targets: dummy.view(),
                    offsets: offsets.as_ref().map(|o| o.view()),
                };
                let p = predict(
                    model,
                    &t.saved.preprocessing,
                    &data,
                    256,
                    &Default::default(),
                )?;
                Ok(p.column(self.output).to_vec())
            }
            (Explainable::Transformer(_), None) => {
                Err(Error::invalid("transformer weights not loaded"))
            }
        }
    }

    /// Predictions with column `j` of `x` replaced by `column`; `x` is the
    /// matrix `before` was predicted from. A linear model only updates its
    /// score by `w_j (z_new − z_old)`, so permuting every one of tens of
    /// thousands of variants stays cheap.
    fn predict_replaced(
        &self,
        x: &mut Array2<f32>,
        before: &Scores,
        j: usize,
        column: &[f32],
    ) -> Result<Vec<f64>> {
        match (self.model, before) {
            (Explainable::Linear(m), Scores::Linear(score)) => {
                Ok(shifted(m, j, score, x.column(j), column, m.logistic_link))
            }
            // Off the transformer's tokens only the additive path moves, by
            // its linear change, on the link scale.
            (Explainable::Transformer(t), Scores::Stacked { raw, tokens }) if !tokens[j] => {
                let binary = self.binary();
                Ok(shifted(
                    &t.additive[self.output],
                    j,
                    raw,
                    x.column(j),
                    column,
                    binary,
                ))
            }
            _ => {
                let original: Vec<f32> = x.column(j).to_vec();
                x.column_mut(j)
                    .iter_mut()
                    .zip(column)
                    .for_each(|(o, v)| *o = *v);
                let out = self.predict(x.view());
                x.column_mut(j)
                    .iter_mut()
                    .zip(&original)
                    .for_each(|(o, v)| *o = *v);
                out
            }
        }
    }

    /// What [`predict_replaced`](Self::predict_replaced) starts from.
    fn scores(&self, x: ArrayView2<'_, f32>) -> Result<Scores> {
        match self.model {
            Explainable::Linear(m) => Ok(Scores::Linear(linear_shap(m, x, self.covariates)?.1)),
            Explainable::Transformer(t) if !t.additive.is_empty() => {
                let mut tokens = vec![false; x.ncols()];
                for &c in &self.token_columns {
                    tokens[c] = true;
                }
                let binary = self.binary();
                let raw = self
                    .predict(x)?
                    .into_iter()
                    .map(|p| if binary { (p / (1.0 - p)).ln() } else { p })
                    .collect();
                Ok(Scores::Stacked { raw, tokens })
            }
            Explainable::Transformer(_) => Ok(Scores::Other),
        }
    }

    /// Whether predictions are probabilities of a 0/1 trait.
    fn binary(&self) -> bool {
        match self.model {
            Explainable::Linear(m) => m.logistic_link,
            Explainable::Transformer(t) => {
                t.saved.preprocessing.outputs.get(self.output) == Some(&OutputKind::Binary)
            }
        }
    }
}

/// Linear scores (before the link), or nothing for other models.
enum Scores {
    Linear(Vec<f64>),
    /// A transformer with an additive path: its predictions on the link
    /// scale (trait scale, or logit) and which columns are its tokens.
    Stacked {
        raw: Vec<f64>,
        tokens: Vec<bool>,
    },
    Other,
}

/// Predictions after a linear model's column `j` changes from `old` to
/// `new`: `raw + w_j (z_new − z_old)`, through the logistic function when
/// `logistic`.
fn shifted(
    m: &LinearPredictor,
    j: usize,
    raw: &[f64],
    old: ndarray::ArrayView1<'_, f32>,
    new: &[f32],
    logistic: bool,
) -> Vec<f64> {
    let (c, s, f, w) = (m.center[j], m.scale[j], m.fill[j], m.weights[j]);
    let z = |d: f32| {
        if s == 0.0 {
            0.0
        } else {
            ((if d.is_nan() { f } else { f64::from(d) }) - c) / s
        }
    };
    raw.iter()
        .enumerate()
        .map(|(i, &sc)| {
            let v = sc + w * (z(new[i]) - z(old[i]));
            if logistic {
                1.0 / (1.0 + (-v).exp())
            } else {
                v
            }
        })
        .collect()
}

/// The result of [`permutation_importance`].
struct Permutation {
    mean: Vec<f64>,
    sd: Vec<f64>,
    output: Vec<f64>,
    baseline_loss: f64,
    loss_name: &'static str,
}

/// Per variant: the loss with its column permuted among the samples minus
/// the loss without, over `repeats` seeded permutations.
fn permutation_importance(
    predictor: &Predictor<'_>,
    x: ArrayView2<'_, f32>,
    y: &[f64],
    repeats: usize,
    seed: u64,
) -> Result<Permutation> {
    if repeats == 0 {
        return Err(Error::invalid("permutation importance needs repeats"));
    }
    let keep: Vec<usize> = (0..y.len()).filter(|&i| !y[i].is_nan()).collect();
    if keep.len() < 2 {
        return Err(Error::invalid(
            "permutation importance needs at least two samples with a phenotype",
        ));
    }
    let binary = predictor.binary();
    if binary && keep.iter().any(|&i| y[i] != 0.0 && y[i] != 1.0) {
        return Err(Error::invalid(
            "a case/control phenotype must be 0/1 for permutation importance",
        ));
    }
    let loss = |pred: &[f64]| -> f64 {
        let total: f64 = keep
            .iter()
            .map(|&i| {
                if binary {
                    let p = pred[i].clamp(1e-12, 1.0 - 1e-12);
                    -(y[i] * p.ln() + (1.0 - y[i]) * (1.0 - p).ln())
                } else {
                    (pred[i] - y[i]).powi(2)
                }
            })
            .sum();
        total / keep.len() as f64
    };
    let base_pred = predictor.predict(x)?;
    let base = loss(&base_pred);
    let scores = predictor.scores(x)?;
    let (n, m) = x.dim();
    let mut mean = vec![0.0; m];
    let mut sd = vec![0.0; m];
    let mut work = x.to_owned();
    let mut shuffled = vec![0.0f32; n];
    for j in 0..m {
        let original: Vec<f32> = x.column(j).to_vec();
        let mut gains = Vec::with_capacity(repeats);
        for r in 0..repeats {
            // One stream per (variant, repeat): any variant can be redone alone.
            let order = permutation(n, seed ^ ((j as u64) << 20) ^ r as u64);
            for (o, &k) in shuffled.iter_mut().zip(&order) {
                *o = original[k];
            }
            let pred = predictor.predict_replaced(&mut work, &scores, j, &shuffled)?;
            gains.push(loss(&pred) - base);
        }
        let mu = gains.iter().sum::<f64>() / repeats as f64;
        let var = if repeats > 1 {
            gains.iter().map(|g| (g - mu).powi(2)).sum::<f64>() / (repeats - 1) as f64
        } else {
            0.0
        };
        mean[j] = mu;
        sd[j] = var.sqrt();
    }
    Ok(Permutation {
        mean,
        sd,
        output: base_pred,
        baseline_loss: base,
        loss_name: if binary {
            "log-loss"
        } else {
            "mean squared error"
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use genolens_assoc::predict::cv::{fit_predictor, ModelSpec};
    use genolens_assoc::predict::model::{ModelKind, Task};
    use genolens_io::plink::BedFile;
    use genolens_transformer::finetune::Preprocessing;
    use genolens_transformer::model::{GenotypeTransformer, TransformerConfig};
    use genolens_transformer::saved::SavedVariant;

    /// A transformer on 8 tokens (random weights) refining a ridge over
    /// every variant of regenie's example.
    fn stacked(source: &BedFile, tokens: &[usize]) -> Explainable {
        let n = source.n_samples();
        let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        let rows: Vec<usize> = (0..n).collect();
        let spec = ModelSpec {
            grid: Some(vec![100.0]),
            ..ModelSpec::new(ModelKind::Ridge)
        };
        let additive = fit_predictor(source, &y, None, &rows, Task::Quantitative, &spec).unwrap();
        let x = read_dosages(source, tokens, &rows).unwrap();
        let classes = GenotypeTokens::from_dosages(x.view()).unwrap();
        let targets = Array2::from_shape_fn((n, 1), |(i, _)| y[i] as f32);
        let data = TaskData {
            tokens: &classes,
            covariates: None,
            targets: targets.view(),
            offsets: None,
        };
        let prep = Preprocessing::fit(&data, &[OutputKind::Regression]).unwrap();
        let mut config = TransformerConfig::new(tokens.len());
        config.n_layers = 1;
        let model = GenotypeTransformer::<CpuInference>::new(&config, &Default::default()).unwrap();
        let variants = tokens
            .iter()
            .map(|&v| {
                let v = &source.variants()[v];
                SavedVariant {
                    id: v.id.clone(),
                    chrom: v.chrom.clone(),
                    pos: v.pos,
                    allele1: v.allele1.clone(),
                    allele2: v.allele2.clone(),
                }
            })
            .collect();
        let saved =
            SavedTransformer::new(config, prep, variants, vec!["y".into()], Vec::new()).unwrap();
        Explainable::Transformer(TransformerArtifact {
            weights: SavedTransformer::weights(&model).unwrap(),
            saved,
            additive: vec![additive],
        })
    }

    #[test]
    fn permuting_off_the_tokens_moves_only_the_additive_path() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/regenie_example/example");
        let source = BedFile::open(&path).unwrap();
        let tokens = [3, 10, 50, 120, 300, 555, 700, 901];
        let model = stacked(&source, &tokens);
        let variants = match_model_variants(&model, &source).unwrap();
        assert_eq!(variants.len(), source.n_variants());
        let samples: Vec<usize> = (0..120).collect();
        let mut x = read_dosages(&source, &variants, &samples).unwrap();
        let predictor =
            Predictor::new(&model, None, &ExplainOptions::new(Method::Permutation)).unwrap();
        let before = predictor.scores(x.view()).unwrap();
        let plain = predictor.predict(x.view()).unwrap();
        // A variant off the tokens (shortcut) and a token (full prediction):
        // both equal predicting the changed matrix from scratch.
        for j in [0, 50] {
            let reversed: Vec<f32> = x.column(j).iter().rev().copied().collect();
            let fast = predictor
                .predict_replaced(&mut x, &before, j, &reversed)
                .unwrap();
            let mut changed = x.clone();
            changed
                .column_mut(j)
                .iter_mut()
                .zip(&reversed)
                .for_each(|(o, v)| *o = *v);
            let slow = predictor.predict(changed.view()).unwrap();
            let worst = fast
                .iter()
                .zip(&slow)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-4, "variant {j}: {worst}");
            let moved = fast
                .iter()
                .zip(&plain)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(moved > 1e-6, "variant {j} changed nothing");
        }
    }
}
