//! Low-rank adaptation (LoRA, Hu et al. 2021) of our own: burn 0.21 has
//! none. A frozen base weight `W` is used as `W + (alpha / r) · A·B`, with
//! `A` (`[d_in, r]`) drawn small and `B` (`[r, d_out]`) zero, so a fresh
//! adapter leaves the model unchanged. Only `A` and `B` train; after
//! training, [`AdaptedLinear::merge`] folds them into `W` for inference.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use burn_nn::{Linear, LinearConfig};

use crate::error::{Error, Result};

/// Rank and scale of the adapters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoraConfig {
    /// Rank `r` of each update `A·B`.
    pub rank: usize,
    /// Scale numerator: updates are multiplied by `alpha / rank`.
    pub alpha: f64,
}

impl LoraConfig {
    /// Rank `rank` with `alpha = 2·rank` (scale 2, a common choice).
    pub fn new(rank: usize) -> Self {
        Self {
            rank,
            alpha: 2.0 * rank as f64,
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.rank == 0 || !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::Invalid(format!(
                "LoRA needs a rank ≥ 1 and a positive alpha, not {self:?}"
            )));
        }
        Ok(())
    }

    fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }
}

/// The trainable low-rank update `scale · A·B` of one weight matrix.
#[derive(Module, Debug)]
pub struct LoraAdapter<B: Backend> {
    a: Param<Tensor<B, 2>>,
    b: Param<Tensor<B, 2>>,
    scale: f64,
}

impl<B: Backend> LoraAdapter<B> {
    /// An adapter for a `[rows, cols]` weight: `A` uniform in
    /// `±1/sqrt(rows)`, `B` zero.
    pub fn new(rows: usize, cols: usize, config: &LoraConfig, device: &B::Device) -> Self {
        let bound = 1.0 / (rows as f64).sqrt();
        Self {
            a: Param::from_tensor(Tensor::random(
                [rows, config.rank],
                Distribution::Uniform(-bound, bound),
                device,
            )),
            b: Param::from_tensor(Tensor::zeros([config.rank, cols], device)),
            scale: config.scale(),
        }
    }

    /// The update `scale · A·B`, shaped like the adapted weight.
    pub fn delta(&self) -> Tensor<B, 2> {
        self.a.val().matmul(self.b.val()).mul_scalar(self.scale)
    }

    /// `scale · (x·A)·B` for inputs `[..., rows]`, without forming `A·B`.
    fn apply<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        x.matmul(self.a.val().unsqueeze())
            .matmul(self.b.val().unsqueeze())
            .mul_scalar(self.scale)
    }
}

/// A linear layer that can carry a LoRA adapter.
#[derive(Module, Debug)]
pub struct AdaptedLinear<B: Backend> {
    base: Linear<B>,
    lora: Option<LoraAdapter<B>>,
}

impl<B: Backend> AdaptedLinear<B> {
    /// A plain `d_in → d_out` layer with a bias and no adapter.
    pub fn new(d_in: usize, d_out: usize, device: &B::Device) -> Self {
        Self {
            base: LinearConfig::new(d_in, d_out).init(device),
            lora: None,
        }
    }

    /// A layer with the given weight `[d_in, d_out]` and bias `[d_out]` (e.g.
    /// pretrained ones), no adapter.
    pub fn from_weights(weight: Tensor<B, 2>, bias: Param<Tensor<B, 1>>) -> Self {
        let [d_in, d_out] = weight.dims();
        let mut base = LinearConfig::new(d_in, d_out).init(&weight.device());
        base.weight = Param::from_tensor(weight);
        base.bias = Some(bias);
        Self { base, lora: None }
    }

    /// Draws the adapter's `B` from `N(0, 1)`, as if training had moved it
    /// (tests of merging).
    #[cfg(test)]
    pub(crate) fn randomize_adapter(&mut self, device: &B::Device) {
        if let Some(lora) = self.lora.as_mut() {
            let [rank, cols] = lora.b.dims();
            lora.b = Param::from_tensor(Tensor::random(
                [rank, cols],
                Distribution::Normal(0.0, 1.0),
                device,
            ));
        }
    }

    /// `x·W + b`, plus the adapter's update when there is one.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match &self.lora {
            None => self.base.forward(x),
            Some(lora) => self.base.forward(x.clone()) + lora.apply(x),
        }
    }

    /// Adds a fresh adapter (replacing any).
    pub fn adapt(mut self, config: &LoraConfig, device: &B::Device) -> Self {
        let [rows, cols] = self.base.weight.dims();
        self.lora = Some(LoraAdapter::new(rows, cols, config, device));
        self
    }

    /// Folds the adapter into the base weight: the same function, no adapter.
    pub fn merge(mut self) -> Self {
        if let Some(lora) = self.lora.take() {
            let merged = self.base.weight.val() + lora.delta();
            self.base.weight = Param::from_tensor(merged.detach());
        }
        self
    }
}

/// A per-variant table `[n_variants, d]` that can carry a LoRA adapter (the
/// low-rank update of an embedding table, as LoRA does for embeddings).
#[derive(Module, Debug)]
pub struct AdaptedTable<B: Backend> {
    table: Param<Tensor<B, 2>>,
    lora: Option<LoraAdapter<B>>,
}

impl<B: Backend> AdaptedTable<B> {
    /// A `[rows, cols]` table drawn from `N(0, 1)`.
    pub fn new(rows: usize, cols: usize, device: &B::Device) -> Self {
        Self {
            table: Param::from_tensor(Tensor::random(
                [rows, cols],
                Distribution::Normal(0.0, 1.0),
                device,
            )),
            lora: None,
        }
    }

    /// The table, with the adapter's update added.
    pub fn value(&self) -> Tensor<B, 2> {
        match &self.lora {
            None => self.table.val(),
            Some(lora) => self.table.val() + lora.delta(),
        }
    }

    /// Adds a fresh adapter (replacing any).
    pub fn adapt(mut self, config: &LoraConfig, device: &B::Device) -> Self {
        let [rows, cols] = self.table.dims();
        self.lora = Some(LoraAdapter::new(rows, cols, config, device));
        self
    }

    /// Folds the adapter into the table.
    pub fn merge(mut self) -> Self {
        if let Some(lora) = self.lora.take() {
            let merged = self.table.val() + lora.delta();
            self.table = Param::from_tensor(merged.detach());
        }
        self
    }
}

/// Sets whether every parameter of a module trains (used to unfreeze the
/// head after `no_grad` froze the whole model).
pub(crate) struct RequireGrad(pub bool);

impl<B: Backend> ModuleMapper<B> for RequireGrad {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        param.set_require_grad(self.0)
    }
}

/// Parameter counts of a module: all, and those that train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParameterCount {
    /// Every scalar parameter.
    pub total: usize,
    /// Scalars that receive gradients.
    pub trainable: usize,
}

impl ParameterCount {
    /// `trainable / total`.
    pub fn trainable_fraction(&self) -> f64 {
        self.trainable as f64 / self.total.max(1) as f64
    }
}

struct CountParams(ParameterCount);

impl<B: Backend> ModuleVisitor<B> for CountParams {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.0.total += n;
        if value.is_require_grad() {
            self.0.trainable += n;
        }
    }
}

/// Counts a module's parameters. On a backend without autodiff nothing
/// trains, so `trainable` is 0 there.
pub fn count_parameters<B: Backend, M: Module<B>>(module: &M) -> ParameterCount {
    let mut visitor = CountParams(ParameterCount::default());
    module.visit(&mut visitor);
    visitor.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CpuBackend as Cpu;

    #[test]
    fn merged_adapter_computes_the_same_function() {
        let device = Default::default();
        let layer = AdaptedLinear::<Cpu>::new(6, 4, &device).adapt(&LoraConfig::new(2), &device);
        // A trained adapter has a non-zero B: set one by hand.
        let mut layer = layer;
        if let Some(lora) = layer.lora.as_mut() {
            lora.b = Param::from_tensor(Tensor::random(
                [2, 4],
                Distribution::Normal(0.0, 1.0),
                &device,
            ));
        }
        let x = Tensor::<Cpu, 3>::random([3, 5, 6], Distribution::Normal(0.0, 1.0), &device);
        let before = layer.forward(x.clone());
        let plain = layer.base.forward(x.clone());
        let merged = layer.merge();
        assert!(merged.lora.is_none());
        let after = merged.forward(x);
        let diff: f32 = (before.clone() - after).abs().max().into_scalar();
        assert!(diff < 1e-5, "merge changed the output by {diff}");
        let moved: f32 = (before - plain).abs().max().into_scalar();
        assert!(moved > 1e-3, "the adapter did nothing");
    }
}
