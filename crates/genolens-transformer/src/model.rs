//! The genotype transformer: token embeddings, a pre-norm encoder, heads.
//!
//! Token `j` of a sample is `class[g_j] + variant[j] + x_j · dosage[j]`
//! (+ a projected prior): a genotype-class embedding (0/1/2/missing/mask), a
//! variant-identity embedding, and the standardised dosage `x_j` times a
//! per-variant direction, as FT-Transformer tokenises numbers. The last term
//! lets a mean over tokens carry any additive model exactly, so attention is
//! left to learn what an additive model cannot. The encoder layers are our
//! own (pre-norm multi-head attention and a GELU feed-forward) so that every
//! projection can carry a LoRA adapter ([`crate::lora`]).
//!
//! Heads: masked-genotype logits per token (pretraining), and task outputs
//! from the mean token: `out = W·(z + GELU(H·z))` with `z` the pooled vector
//! plus the covariate branch `GELU(C·covariates)` — a linear path and a
//! hidden layer, one column per output (regression or binary, multi-task when
//! there are several).

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};
use burn_nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};

use crate::error::{Error, Result};
use crate::lora::{AdaptedLinear, AdaptedTable, LoraConfig, RequireGrad};
use crate::tokens::{N_CLASSES, N_GENOTYPES};

/// Sizes of a [`GenotypeTransformer`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TransformerConfig {
    /// Number of variant tokens (the sequence length).
    pub n_variants: usize,
    /// Width of every token vector.
    pub d_model: usize,
    /// Attention heads per layer (must divide `d_model`).
    pub n_heads: usize,
    /// Encoder layers.
    pub n_layers: usize,
    /// Width of the feed-forward layers.
    pub d_ff: usize,
    /// Dropout rate in the encoder and the head.
    pub dropout: f64,
    /// Width of the optional per-variant prior embeddings (`None`: no priors).
    pub d_prior: Option<usize>,
    /// Covariates entering the head's dense branch (0: none).
    pub n_covariates: usize,
    /// Task outputs (1 for one trait; several for multi-task).
    pub n_outputs: usize,
}

impl TransformerConfig {
    /// A small default for `n_variants` tokens: width 32, 4 heads, 2 layers,
    /// feed-forward 64, dropout 0.1, no priors, no covariates, one output.
    pub fn new(n_variants: usize) -> Self {
        Self {
            n_variants,
            d_model: 32,
            n_heads: 4,
            n_layers: 2,
            d_ff: 64,
            dropout: 0.1,
            d_prior: None,
            n_covariates: 0,
            n_outputs: 1,
        }
    }

    /// Checks the sizes.
    pub fn check(&self) -> Result<()> {
        if self.n_variants == 0
            || self.d_model == 0
            || self.n_layers == 0
            || self.d_ff == 0
            || self.n_outputs == 0
        {
            return Err(Error::Invalid(format!(
                "empty transformer dimensions: {self:?}"
            )));
        }
        if self.n_heads == 0 || self.d_model % self.n_heads != 0 {
            return Err(Error::Invalid(format!(
                "{} heads do not divide width {}",
                self.n_heads, self.d_model
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Invalid(format!(
                "dropout {} is not in [0, 1)",
                self.dropout
            )));
        }
        Ok(())
    }
}

/// Multi-head scaled dot-product attention of `h` (`[batch·len, d]`, rows
/// of one sample together) through the query, key and value projections:
/// the context `[batch·len, d]`, before the output projection.
/// `mask_bias` (`[batch, 1, 1, len]`) is added to the scores (BERT's padding
/// mask). No dropout on the attention weights: drawing a mask for every
/// `[batch, heads, L, L]` entry cost a fifth of the CPU training time at 256
/// tokens; the layers keep dropout on their residual branches.
pub(crate) fn self_attention<B: Backend>(
    h: Tensor<B, 2>,
    [query, key, value]: [&AdaptedLinear<B>; 3],
    heads: usize,
    batch: usize,
    mask_bias: Option<Tensor<B, 4>>,
) -> Tensor<B, 2> {
    let [rows, d] = h.dims();
    let (len, dh) = (rows / batch, d / heads);
    let split = |t: Tensor<B, 2>| t.reshape([batch, len, heads, dh]).swap_dims(1, 2);
    let q = split(query.forward(h.clone()));
    let k = split(key.forward(h.clone()));
    let v = split(value.forward(h));
    let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((dh as f64).sqrt());
    let scores = match mask_bias {
        Some(bias) => scores + bias,
        None => scores,
    };
    softmax(scores, 3)
        .matmul(v)
        .swap_dims(1, 2)
        .reshape([rows, d])
}

/// One pre-norm encoder layer: `x + Attn(LN(x))`, then `x + FF(LN(x))`.
#[derive(Module, Debug)]
pub struct EncoderLayer<B: Backend> {
    attn_norm: LayerNorm<B>,
    query: AdaptedLinear<B>,
    key: AdaptedLinear<B>,
    value: AdaptedLinear<B>,
    output: AdaptedLinear<B>,
    ff_norm: LayerNorm<B>,
    up: AdaptedLinear<B>,
    down: AdaptedLinear<B>,
    dropout: Dropout,
    n_heads: usize,
}

impl<B: Backend> EncoderLayer<B> {
    fn new(config: &TransformerConfig, device: &B::Device) -> Self {
        let d = config.d_model;
        Self {
            attn_norm: LayerNormConfig::new(d).init(device),
            query: AdaptedLinear::new(d, d, device),
            key: AdaptedLinear::new(d, d, device),
            value: AdaptedLinear::new(d, d, device),
            output: AdaptedLinear::new(d, d, device),
            ff_norm: LayerNormConfig::new(d).init(device),
            up: AdaptedLinear::new(d, config.d_ff, device),
            down: AdaptedLinear::new(config.d_ff, d, device),
            dropout: DropoutConfig::new(config.dropout).init(),
            n_heads: config.n_heads,
        }
    }

    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [batch, len, d] = x.dims();
        // Projections, norms and the feed-forward run on `[batch·len, d]`:
        // one GEMM each (a 3-D input would take one small GEMM per sample and
        // a `[batch, d_in, d_out]` weight gradient summed afterwards).
        let x = x.reshape([batch * len, d]);
        let h = self.attn_norm.forward(x.clone());
        let projections = [&self.query, &self.key, &self.value];
        let context = self_attention(h, projections, self.n_heads, batch, None);
        let x = x + self.dropout.forward(self.output.forward(context));
        let h = self.ff_norm.forward(x.clone());
        let h = self.dropout.forward(gelu(self.up.forward(h)));
        (x + self.dropout.forward(self.down.forward(h))).reshape([batch, len, d])
    }

    /// Adapters on the query and value projections, as in the LoRA paper.
    fn adapt(self, lora: &LoraConfig, device: &B::Device) -> Self {
        Self {
            query: self.query.adapt(lora, device),
            value: self.value.adapt(lora, device),
            ..self
        }
    }

    fn merge(self) -> Self {
        Self {
            query: self.query.merge(),
            key: self.key.merge(),
            value: self.value.merge(),
            output: self.output.merge(),
            up: self.up.merge(),
            down: self.down.merge(),
            ..self
        }
    }
}

/// A transformer over genotype tokens, generic over the burn backend.
#[derive(Module, Debug)]
pub struct GenotypeTransformer<B: Backend> {
    genotype: Embedding<B>,
    variant: Embedding<B>,
    dosage: AdaptedTable<B>,
    prior: Option<Linear<B>>,
    layers: Vec<EncoderLayer<B>>,
    norm: LayerNorm<B>,
    mgm_head: Linear<B>,
    covariates: Option<Linear<B>>,
    hidden: AdaptedLinear<B>,
    head: Linear<B>,
    dropout: Dropout,
}

impl<B: Backend> GenotypeTransformer<B> {
    /// A freshly initialised model. Initialisation draws from the backend's
    /// random stream: seed it first (`B::seed`) for reproducible weights.
    pub fn new(config: &TransformerConfig, device: &B::Device) -> Result<Self> {
        config.check()?;
        let d = config.d_model;
        Ok(Self {
            genotype: EmbeddingConfig::new(N_CLASSES, d).init(device),
            variant: EmbeddingConfig::new(config.n_variants, d).init(device),
            dosage: AdaptedTable::new(config.n_variants, d, device),
            prior: config.d_prior.map(|p| LinearConfig::new(p, d).init(device)),
            layers: (0..config.n_layers)
                .map(|_| EncoderLayer::new(config, device))
                .collect(),
            norm: LayerNormConfig::new(d).init(device),
            mgm_head: LinearConfig::new(d, N_GENOTYPES).init(device),
            covariates: (config.n_covariates > 0)
                .then(|| LinearConfig::new(config.n_covariates, d).init(device)),
            hidden: AdaptedLinear::new(d, d, device),
            head: LinearConfig::new(d, config.n_outputs).init(device),
            dropout: DropoutConfig::new(config.dropout).init(),
        }
        .stable_ids())
    }

    /// The same model with its parameters numbered 1, 2, … in module order.
    /// burn draws parameter ids from a process-wide generator, and records
    /// (weights, checkpoints, the optimiser's state) store them: without
    /// this, two runs with the same seed write different bytes.
    fn stable_ids(self) -> Self {
        self.map(&mut StableIds(0))
    }

    /// Token vectors `[batch, n_variants, d_model]` for token classes and
    /// standardised dosages (both `[batch, n_variants]`; 0 where missing or
    /// masked), with per-variant priors `[n_variants, d_prior]` added
    /// (projected) when the model has a prior input.
    pub fn encode(
        &self,
        classes: Tensor<B, 2, Int>,
        dosages: Tensor<B, 2>,
        priors: Option<Tensor<B, 2>>,
    ) -> Tensor<B, 3> {
        self.encode_inputs(self.token_inputs(classes, dosages, priors))
    }

    /// The token vectors as they enter the first encoder layer
    /// `[batch, n_variants, d_model]`: class + variant + dosage (+ prior)
    /// embeddings. Attribution methods differentiate with respect to these.
    pub fn token_inputs(
        &self,
        classes: Tensor<B, 2, Int>,
        dosages: Tensor<B, 2>,
        priors: Option<Tensor<B, 2>>,
    ) -> Tensor<B, 3> {
        let [_, len] = classes.dims();
        let device = classes.device();
        let positions = Tensor::<B, 1, Int>::arange(0..len as i64, &device).reshape([1, len]);
        let x = self.genotype.forward(classes);
        let d = x.dims()[2];
        let mut per_variant = self.variant.forward(positions).reshape([len, d]);
        if let (Some(proj), Some(p)) = (&self.prior, priors) {
            per_variant = per_variant + proj.forward(p);
        }
        let dosage = dosages.unsqueeze_dim::<3>(2) * self.dosage.value().unsqueeze::<3>();
        x + per_variant.unsqueeze::<3>() + dosage
    }

    /// The encoder over token inputs from [`token_inputs`](Self::token_inputs).
    fn encode_inputs(&self, mut x: Tensor<B, 3>) -> Tensor<B, 3> {
        for layer in &self.layers {
            x = layer.forward(x);
        }
        self.norm.forward(x)
    }

    /// Task outputs `[batch, n_outputs]` from token inputs (see
    /// [`token_inputs`](Self::token_inputs)) and standardised covariates.
    pub fn forward_inputs(
        &self,
        inputs: Tensor<B, 3>,
        covariates: Option<Tensor<B, 2>>,
    ) -> Tensor<B, 2> {
        let tokens = self.encode_inputs(inputs);
        let [batch, _, d] = tokens.dims();
        let mut z = tokens.mean_dim(1).reshape([batch, d]);
        if let (Some(branch), Some(c)) = (&self.covariates, covariates) {
            z = z + gelu(branch.forward(c));
        }
        let z = self.dropout.forward(z);
        let z = z.clone() + gelu(self.hidden.forward(z));
        self.head.forward(z)
    }

    /// The width of the prior input, when the model has one.
    pub fn prior_dim(&self) -> Option<usize> {
        self.prior.as_ref().map(|p| p.weight.dims()[0])
    }

    /// The same model with every dropout rate set to 0: on an autodiff
    /// backend dropout is always on, so gradients for explanations need this.
    pub fn without_dropout(mut self) -> Self {
        self.dropout.prob = 0.0;
        for layer in &mut self.layers {
            layer.dropout.prob = 0.0;
        }
        self
    }

    /// Genotype-class logits `[batch, n_variants, 3]` for masked-genotype
    /// modelling.
    pub fn mgm_logits(
        &self,
        classes: Tensor<B, 2, Int>,
        dosages: Tensor<B, 2>,
        priors: Option<Tensor<B, 2>>,
    ) -> Tensor<B, 3> {
        self.mgm_head.forward(self.encode(classes, dosages, priors))
    }

    /// Task outputs `[batch, n_outputs]` (regression values, or logits of
    /// binary outputs) from tokens and standardised covariates
    /// `[batch, n_covariates]`.
    pub fn forward(
        &self,
        classes: Tensor<B, 2, Int>,
        dosages: Tensor<B, 2>,
        covariates: Option<Tensor<B, 2>>,
        priors: Option<Tensor<B, 2>>,
    ) -> Tensor<B, 2> {
        self.forward_inputs(self.token_inputs(classes, dosages, priors), covariates)
    }

    /// The model prepared for LoRA fine-tuning: every existing weight frozen;
    /// adapters on the per-variant dosage table, on the query and value
    /// projections of every layer and on the head's hidden layer; the output
    /// layer and the covariate branch left trainable.
    pub fn with_lora(self, lora: &LoraConfig, device: &B::Device) -> Result<Self> {
        lora.check()?;
        let frozen = self.no_grad();
        Ok(Self {
            dosage: frozen.dosage.adapt(lora, device),
            layers: frozen
                .layers
                .into_iter()
                .map(|l| l.adapt(lora, device))
                .collect(),
            covariates: frozen.covariates.map(|c| c.map(&mut RequireGrad(true))),
            hidden: frozen.hidden.adapt(lora, device),
            head: frozen.head.map(&mut RequireGrad(true)),
            ..frozen
        }
        .stable_ids())
    }

    /// Folds every LoRA adapter into its base weight (the same function,
    /// plain weights; for inference and saving).
    pub fn merge_lora(self) -> Self {
        Self {
            dosage: self.dosage.merge(),
            layers: self.layers.into_iter().map(EncoderLayer::merge).collect(),
            hidden: self.hidden.merge(),
            ..self
        }
        .stable_ids()
    }

    /// The same model with the output layer's weights and bias set to 0, so
    /// that it outputs 0 until training moves them. With an offset (an
    /// additive model's predictions added to the outputs, see
    /// [`TaskData::offsets`](crate::finetune::TaskData::offsets)) the model
    /// then starts as the offset alone, and training adds only what lowers
    /// the loss (the "zero initialisation" of ReZero and ControlNet).
    pub fn with_zero_output(mut self) -> Self {
        let weight = self.head.weight.val().zeros_like();
        self.head.weight = Param::from_tensor(weight);
        if let Some(bias) = &self.head.bias {
            self.head.bias = Some(Param::from_tensor(bias.val().zeros_like()));
        }
        self.stable_ids()
    }

    /// A new task head with `n_outputs` outputs and a covariate branch for
    /// `n_covariates` (after pretraining, which trains no head).
    pub fn with_task_head(
        self,
        n_outputs: usize,
        n_covariates: usize,
        device: &B::Device,
    ) -> Result<Self> {
        if n_outputs == 0 {
            return Err(Error::Invalid("a task head needs an output".into()));
        }
        let d = self.norm.gamma.dims()[0];
        Ok(Self {
            covariates: (n_covariates > 0).then(|| LinearConfig::new(n_covariates, d).init(device)),
            head: LinearConfig::new(d, n_outputs).init(device),
            ..self
        }
        .stable_ids())
    }
}

/// The same module with its parameters renumbered 1, 2, … in visiting order:
/// burn draws parameter ids at random, and they are written into records, so
/// without this the same weights would not give the same bytes.
pub fn with_stable_ids<B: Backend, M: Module<B>>(module: M) -> M {
    module.map(&mut StableIds(0))
}

/// Renumbers parameters in visiting order (see `stable_ids`).
struct StableIds(u64);

impl StableIds {
    fn next(&mut self) -> ParamId {
        self.0 += 1;
        ParamId::from(self.0)
    }
}

impl<B: Backend> ModuleMapper<B> for StableIds {
    // Only the id changes: consuming the parameter would initialise a lazy
    // one here, in visiting order, and so change which random numbers each
    // weight draws.
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        param.id = self.next();
        param
    }

    fn map_int<const D: usize>(
        &mut self,
        mut param: Param<Tensor<B, D, Int>>,
    ) -> Param<Tensor<B, D, Int>> {
        param.id = self.next();
        param
    }

    fn map_bool<const D: usize>(
        &mut self,
        mut param: Param<Tensor<B, D, Bool>>,
    ) -> Param<Tensor<B, D, Bool>> {
        param.id = self.next();
        param
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lora::count_parameters;
    use crate::CpuBackend as Cpu;
    use burn::tensor::{Distribution, TensorData};

    fn inputs(device: &burn_flex::FlexDevice) -> (Tensor<Cpu, 2, Int>, Tensor<Cpu, 2>) {
        let classes = vec![0i64, 1, 2, 3, 4, 1, 2, 2, 0, 0, 1, 3];
        let dosages: Vec<f32> = classes
            .iter()
            .map(|&c| if c < 3 { c as f32 - 1.0 } else { 0.0 })
            .collect();
        (
            Tensor::from_data(TensorData::new(classes, [2, 6]), device),
            Tensor::from_data(TensorData::new(dosages, [2, 6]), device),
        )
    }

    #[test]
    fn priors_enter_the_token_vectors_and_shapes_hold() {
        let device = Default::default();
        let mut config = TransformerConfig::new(6);
        config.d_prior = Some(8);
        config.dropout = 0.0;
        let model = GenotypeTransformer::<Cpu>::new(&config, &device).unwrap();
        let (classes, dosages) = inputs(&device);
        let priors = Tensor::<Cpu, 2>::random([6, 8], Distribution::Normal(0.0, 1.0), &device);
        let with = model.mgm_logits(classes.clone(), dosages.clone(), Some(priors));
        let without = model.mgm_logits(classes.clone(), dosages.clone(), None);
        assert_eq!(with.dims(), [2, 6, 3]);
        let diff: f32 = (with - without).abs().sum().into_scalar();
        assert!(diff > 1e-3, "priors changed nothing");
        assert_eq!(model.forward(classes, dosages, None, None).dims(), [2, 1]);
        let mut bad = TransformerConfig::new(6);
        bad.n_heads = 5;
        assert!(GenotypeTransformer::<Cpu>::new(&bad, &device).is_err());
    }

    #[test]
    fn lora_freezes_the_base_and_merging_keeps_the_function() {
        let device = Default::default();
        let mut config = TransformerConfig::new(6);
        config.dropout = 0.0;
        config.n_covariates = 2;
        let model = GenotypeTransformer::<Cpu>::new(&config, &device).unwrap();
        let full = count_parameters(&model);
        assert_eq!(full.total, full.trainable);
        let adapted = model.with_lora(&LoraConfig::new(2), &device).unwrap();
        let counts = count_parameters(&adapted);
        assert!(counts.total > full.total);
        assert!(counts.trainable < counts.total / 2, "{counts:?}");
        // The output layer (32+1), the covariate branch (2·32+32) and the
        // rank-2 adapters train: (6+32)·2 for the dosage table, (32+32)·2
        // for the head's hidden layer, and per layer (32+32)·2 for each of
        // the query and value projections.
        let head = 32 + 1 + 2 * 32 + 32;
        let adapters = (6 + 32) * 2 + 64 * 2 + 2 * (2 * 64 * 2);
        assert_eq!(counts.trainable, head + adapters);
        let (classes, dosages) = inputs(&device);
        let covariates = Tensor::<Cpu, 2>::random([2, 2], Distribution::Normal(0.0, 1.0), &device);
        let before = adapted.forward(
            classes.clone(),
            dosages.clone(),
            Some(covariates.clone()),
            None,
        );
        let merged = adapted.merge_lora();
        assert_eq!(count_parameters(&merged).total, full.total);
        let after = merged.forward(classes, dosages, Some(covariates), None);
        let diff: f32 = (before - after).abs().max().into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }
}
