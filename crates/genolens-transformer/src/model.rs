//! The genotype transformer: token embeddings, a pre-norm encoder, heads.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use burn_nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn_nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};

use crate::error::{Error, Result};
use crate::tokens::{N_CLASSES, N_GENOTYPES};

/// Sizes of a [`GenotypeTransformer`].
#[derive(Debug, Clone, PartialEq)]
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
    /// Dropout rate in the encoder.
    pub dropout: f64,
    /// Width of the optional per-variant prior embeddings (`None`: no priors).
    pub d_prior: Option<usize>,
}

impl TransformerConfig {
    /// A small default for `n_variants` tokens: width 32, 4 heads, 2 layers,
    /// feed-forward 64, dropout 0.1, no priors.
    pub fn new(n_variants: usize) -> Self {
        Self {
            n_variants,
            d_model: 32,
            n_heads: 4,
            n_layers: 2,
            d_ff: 64,
            dropout: 0.1,
            d_prior: None,
        }
    }

    fn check(&self) -> Result<()> {
        if self.n_variants == 0 || self.d_model == 0 || self.n_layers == 0 || self.d_ff == 0 {
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

/// A transformer over genotype tokens, generic over the burn backend.
#[derive(Module, Debug)]
pub struct GenotypeTransformer<B: Backend> {
    genotype: Embedding<B>,
    variant: Embedding<B>,
    prior: Option<Linear<B>>,
    encoder: TransformerEncoder<B>,
    norm: LayerNorm<B>,
    mgm_head: Linear<B>,
}

impl<B: Backend> GenotypeTransformer<B> {
    /// A freshly initialised model. Initialisation draws from the backend's
    /// random stream: seed it first (`B::seed`) for reproducible weights.
    pub fn new(config: &TransformerConfig, device: &B::Device) -> Result<Self> {
        config.check()?;
        Ok(Self {
            genotype: EmbeddingConfig::new(N_CLASSES, config.d_model).init(device),
            variant: EmbeddingConfig::new(config.n_variants, config.d_model).init(device),
            prior: config
                .d_prior
                .map(|d| LinearConfig::new(d, config.d_model).init(device)),
            encoder: TransformerEncoderConfig::new(
                config.d_model,
                config.d_ff,
                config.n_heads,
                config.n_layers,
            )
            .with_norm_first(true)
            .with_dropout(config.dropout)
            .init(device),
            norm: LayerNormConfig::new(config.d_model).init(device),
            mgm_head: LinearConfig::new(config.d_model, N_GENOTYPES).init(device),
        })
    }

    /// Token vectors `[batch, n_variants, d_model]` for token classes
    /// `[batch, n_variants]`, with per-variant priors `[n_variants, d_prior]`
    /// added (projected) when the model has a prior input.
    pub fn encode(&self, tokens: Tensor<B, 2, Int>, priors: Option<Tensor<B, 2>>) -> Tensor<B, 3> {
        let [batch, len] = tokens.dims();
        let device = tokens.device();
        let positions = Tensor::<B, 1, Int>::arange(0..len as i64, &device).reshape([1, len]);
        let mut x = self.genotype.forward(tokens);
        let d = x.dims()[2];
        let mut per_variant = self.variant.forward(positions).reshape([len, d]);
        if let (Some(proj), Some(p)) = (&self.prior, priors) {
            per_variant = per_variant + proj.forward(p);
        }
        x = x + per_variant.reshape([1, len, d]).expand([batch, len, d]);
        let x = self.encoder.forward(TransformerEncoderInput::new(x));
        self.norm.forward(x)
    }

    /// Genotype-class logits `[batch, n_variants, 3]` for masked-genotype
    /// modelling.
    pub fn mgm_logits(
        &self,
        tokens: Tensor<B, 2, Int>,
        priors: Option<Tensor<B, 2>>,
    ) -> Tensor<B, 3> {
        self.mgm_head.forward(self.encode(tokens, priors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CpuBackend as Cpu;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn priors_enter_the_token_vectors_and_shapes_hold() {
        let device = Default::default();
        let mut config = TransformerConfig::new(6);
        config.d_prior = Some(8);
        config.dropout = 0.0;
        let model = GenotypeTransformer::<Cpu>::new(&config, &device).unwrap();
        let tokens = Tensor::<Cpu, 2, Int>::from_data(
            TensorData::new(vec![0i64, 1, 2, 3, 4, 1, 2, 2, 0, 0, 1, 3], [2, 6]),
            &device,
        );
        let priors = Tensor::<Cpu, 2>::random([6, 8], Distribution::Normal(0.0, 1.0), &device);
        let with = model.mgm_logits(tokens.clone(), Some(priors));
        let without = model.mgm_logits(tokens, None);
        assert_eq!(with.dims(), [2, 6, 3]);
        let diff: f32 = (with - without).abs().sum().into_scalar();
        assert!(diff > 1e-3, "priors changed nothing");
        let mut bad = TransformerConfig::new(6);
        bad.n_heads = 5;
        assert!(GenotypeTransformer::<Cpu>::new(&bad, &device).is_err());
    }
}
