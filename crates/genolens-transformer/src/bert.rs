//! A BERT encoder (Devlin et al. 2019) on burn that loads pretrained
//! Hugging Face weights (`config.json` + `model.safetensors`, e.g.
//! sentence-transformers/all-MiniLM-L6-v2), so that text models train with the
//! same LoRA adapters ([`crate::lora`]), devices and checkpoints as the
//! genotype transformer.
//!
//! The layers are BERT's post-norm ones: `LN(x + Attn(x))`, then
//! `LN(h + FF(h))` with exact (erf) GELU, and the embeddings are word +
//! position + token type, normalised. Every projection is an
//! [`AdaptedLinear`], so [`BertEncoder::with_lora`] can put adapters on
//! them.

use burn::module::{Module, Param};
use burn::tensor::activation::gelu;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use burn_nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};

use crate::error::{Error, Result};
use crate::lora::{AdaptedLinear, LoraConfig, RequireGrad};
use crate::model::self_attention;

/// Sizes of a BERT encoder, as a Hugging Face `config.json` gives them
/// (other keys of that file are ignored).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BertConfig {
    /// Word-piece vocabulary size.
    pub vocab_size: usize,
    /// Width of every token vector.
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer (must divide `hidden_size`).
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Longest input, in word pieces (learned position embeddings).
    pub max_position_embeddings: usize,
    /// Segment (token type) embeddings.
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// Layer-norm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Dropout on the embeddings and the residual branches while training.
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    /// Activation of the feed-forward layer; only `gelu` (exact) is built.
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f64 {
    0.1
}
fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Parses a Hugging Face `config.json` (the caller reads the file).
    pub fn from_json(text: &str) -> Result<Self> {
        let config: Self = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("not a BERT config.json: {e}")))?;
        config.check()?;
        Ok(config)
    }

    /// Checks that the sizes give a model.
    pub fn check(&self) -> Result<()> {
        let positive = [
            self.vocab_size,
            self.hidden_size,
            self.num_hidden_layers,
            self.num_attention_heads,
            self.intermediate_size,
            self.max_position_embeddings,
            self.type_vocab_size,
        ];
        if positive.contains(&0) {
            return Err(Error::Invalid(format!("BERT sizes must be ≥ 1: {self:?}")));
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err(Error::Invalid(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if self.hidden_act != "gelu" {
            return Err(Error::Invalid(format!(
                "hidden_act {:?} is not supported (only \"gelu\")",
                self.hidden_act
            )));
        }
        if !(0.0..1.0).contains(&self.hidden_dropout_prob) {
            return Err(Error::Invalid(format!(
                "hidden_dropout_prob must be in [0, 1), not {}",
                self.hidden_dropout_prob
            )));
        }
        Ok(())
    }
}

/// One post-norm BERT layer.
#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    query: AdaptedLinear<B>,
    key: AdaptedLinear<B>,
    value: AdaptedLinear<B>,
    output: AdaptedLinear<B>,
    attn_norm: LayerNorm<B>,
    up: AdaptedLinear<B>,
    down: AdaptedLinear<B>,
    ff_norm: LayerNorm<B>,
    dropout: Dropout,
    n_heads: usize,
}

impl<B: Backend> BertLayer<B> {
    fn new(config: &BertConfig, device: &B::Device) -> Self {
        let (d, f) = (config.hidden_size, config.intermediate_size);
        let norm = || {
            LayerNormConfig::new(d)
                .with_epsilon(config.layer_norm_eps)
                .init(device)
        };
        Self {
            query: AdaptedLinear::new(d, d, device),
            key: AdaptedLinear::new(d, d, device),
            value: AdaptedLinear::new(d, d, device),
            output: AdaptedLinear::new(d, d, device),
            attn_norm: norm(),
            up: AdaptedLinear::new(d, f, device),
            down: AdaptedLinear::new(f, d, device),
            ff_norm: norm(),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            n_heads: config.num_attention_heads,
        }
    }

    /// `x`: `[batch·len, d]`; `mask_bias`: `[batch, 1, 1, len]` (0 for tokens,
    /// a large negative number for padding).
    fn forward(&self, x: Tensor<B, 2>, mask_bias: Tensor<B, 4>, batch: usize) -> Tensor<B, 2> {
        let projections = [&self.query, &self.key, &self.value];
        let context = self_attention(x.clone(), projections, self.n_heads, batch, Some(mask_bias));
        let h = self
            .attn_norm
            .forward(x + self.dropout.forward(self.output.forward(context)));
        let ff = self.down.forward(gelu(self.up.forward(h.clone())));
        self.ff_norm.forward(h + self.dropout.forward(ff))
    }

    /// Adapters on every projection (attention and feed-forward): with the
    /// query and value ones alone a frozen encoder cannot reshape its
    /// token vectors enough for tagging (QLoRA's finding for all-linear
    /// adapters), and all six still train under 3 % of MiniLM's weights at
    /// rank 16.
    fn adapt(self, lora: &LoraConfig, device: &B::Device) -> Self {
        Self {
            query: self.query.adapt(lora, device),
            key: self.key.adapt(lora, device),
            value: self.value.adapt(lora, device),
            output: self.output.adapt(lora, device),
            up: self.up.adapt(lora, device),
            down: self.down.adapt(lora, device),
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

/// A BERT encoder: word pieces in, one contextual vector per word piece out.
#[derive(Module, Debug)]
pub struct BertEncoder<B: Backend> {
    word: Embedding<B>,
    position: Embedding<B>,
    token_type: Embedding<B>,
    embed_norm: LayerNorm<B>,
    layers: Vec<BertLayer<B>>,
    dropout: Dropout,
    hidden: usize,
}

/// Added to the attention scores of padding positions: softmax gives them
/// weight exp(−10⁴) = 0 in f32, and unlike −∞ it cannot make a NaN.
const MASKED: f64 = -1e4;

impl<B: Backend> BertEncoder<B> {
    /// A randomly initialised encoder (for tests and from-scratch training).
    pub fn new(config: &BertConfig, device: &B::Device) -> Result<Self> {
        config.check()?;
        let d = config.hidden_size;
        Ok(Self {
            word: EmbeddingConfig::new(config.vocab_size, d).init(device),
            position: EmbeddingConfig::new(config.max_position_embeddings, d).init(device),
            token_type: EmbeddingConfig::new(config.type_vocab_size, d).init(device),
            embed_norm: LayerNormConfig::new(d)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            layers: (0..config.num_hidden_layers)
                .map(|_| BertLayer::new(config, device))
                .collect(),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            hidden: d,
        })
    }

    /// The encoder with the pretrained weights of a `model.safetensors` file's
    /// bytes (Hugging Face names, with or without the `bert.` prefix; `float32`
    /// tensors). Every weight the model has must be there with its expected
    /// shape.
    pub fn from_safetensors(config: &BertConfig, bytes: &[u8], device: &B::Device) -> Result<Self> {
        let err = Error::Invalid;
        let file = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| err(format!("not a safetensors file: {e:?}")))?;
        let prefix = if file.names().iter().any(|n| n.starts_with("bert.")) {
            "bert."
        } else {
            ""
        };
        let read = |name: &str, shape: &[usize]| -> Result<TensorData> {
            let full = format!("{prefix}{name}");
            let view = file
                .tensor(&full)
                .map_err(|_| err(format!("tensor {full} is missing")))?;
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(err(format!(
                    "tensor {full} is {:?}; only F32 is read",
                    view.dtype()
                )));
            }
            if view.shape() != shape {
                return Err(err(format!(
                    "tensor {full} has shape {:?}, the config asks for {shape:?}",
                    view.shape()
                )));
            }
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok(TensorData::new(values, shape.to_vec()))
        };
        let t1 = |name: &str, n: usize| -> Result<Param<Tensor<B, 1>>> {
            Ok(Param::from_tensor(Tensor::from_data(
                read(name, &[n])?,
                device,
            )))
        };
        let t2 = |name: &str, rows: usize, cols: usize| -> Result<Tensor<B, 2>> {
            Ok(Tensor::from_data(read(name, &[rows, cols])?, device))
        };
        let norm = |name: &str, n: usize, target: LayerNorm<B>| -> Result<LayerNorm<B>> {
            let mut loaded = target;
            loaded.gamma = t1(&format!("{name}.weight"), n)?;
            loaded.beta = Some(t1(&format!("{name}.bias"), n)?);
            Ok(loaded)
        };
        // Hugging Face stores linear weights `[out, in]`; burn's are `[in, out]`.
        let linear = |name: &str, d_in: usize, d_out: usize| -> Result<AdaptedLinear<B>> {
            let weight = t2(&format!("{name}.weight"), d_out, d_in)?.transpose();
            let bias = t1(&format!("{name}.bias"), d_out)?;
            Ok(AdaptedLinear::from_weights(weight, bias))
        };
        let (d, f) = (config.hidden_size, config.intermediate_size);
        let mut model = Self::new(config, device)?;
        model.word.weight = Param::from_tensor(t2(
            "embeddings.word_embeddings.weight",
            config.vocab_size,
            d,
        )?);
        model.position.weight = Param::from_tensor(t2(
            "embeddings.position_embeddings.weight",
            config.max_position_embeddings,
            d,
        )?);
        model.token_type.weight = Param::from_tensor(t2(
            "embeddings.token_type_embeddings.weight",
            config.type_vocab_size,
            d,
        )?);
        model.embed_norm = norm("embeddings.LayerNorm", d, model.embed_norm)?;
        let layers = std::mem::take(&mut model.layers);
        for (i, layer) in layers.into_iter().enumerate() {
            let p = format!("encoder.layer.{i}");
            model.layers.push(BertLayer {
                query: linear(&format!("{p}.attention.self.query"), d, d)?,
                key: linear(&format!("{p}.attention.self.key"), d, d)?,
                value: linear(&format!("{p}.attention.self.value"), d, d)?,
                output: linear(&format!("{p}.attention.output.dense"), d, d)?,
                up: linear(&format!("{p}.intermediate.dense"), d, f)?,
                down: linear(&format!("{p}.output.dense"), f, d)?,
                attn_norm: norm(
                    &format!("{p}.attention.output.LayerNorm"),
                    d,
                    layer.attn_norm,
                )?,
                ff_norm: norm(&format!("{p}.output.LayerNorm"), d, layer.ff_norm)?,
                ..layer
            });
        }
        Ok(model)
    }

    /// Width of the output vectors.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Contextual vectors `[batch, len, hidden]` of word-piece ids
    /// `[batch, len]` (segment 0 throughout); `attention` is 1 for real tokens
    /// and 0 for padding (which no token attends to).
    pub fn forward(&self, ids: Tensor<B, 2, Int>, attention: Tensor<B, 2>) -> Tensor<B, 3> {
        let [batch, len] = ids.dims();
        let device = ids.device();
        let d = self.hidden;
        let positions = Tensor::<B, 1, Int>::arange(0..len as i64, &device)
            .unsqueeze::<2>()
            .expand([batch, len]);
        let x = self.word.forward(ids.clone())
            + self.position.forward(positions)
            + self.token_type.forward(ids.zeros_like());
        let x = self
            .dropout
            .forward(self.embed_norm.forward(x.reshape([batch * len, d])));
        let mask_bias = (attention.neg() + 1.0)
            .mul_scalar(MASKED)
            .reshape([batch, 1, 1, len]);
        let mut x = x;
        for layer in &self.layers {
            x = layer.forward(x, mask_bias.clone(), batch);
        }
        x.reshape([batch, len, d])
    }

    /// The same encoder without dropout (inference, parity checks).
    pub fn without_dropout(mut self) -> Self {
        self.dropout = DropoutConfig::new(0.0).init();
        for layer in &mut self.layers {
            layer.dropout = DropoutConfig::new(0.0).init();
        }
        self
    }

    /// The encoder prepared for LoRA fine-tuning: every weight frozen, fresh
    /// adapters on every projection of every layer.
    pub fn with_lora(self, lora: &LoraConfig, device: &B::Device) -> Result<Self> {
        lora.check()?;
        let frozen = self.no_grad();
        Ok(Self {
            layers: frozen
                .layers
                .into_iter()
                .map(|l| l.adapt(lora, device))
                .collect(),
            ..frozen
        })
    }

    /// Folds the adapters into the base weights (same function, plain
    /// weights) and makes every weight trainable again.
    pub fn merge_lora(self) -> Self {
        Self {
            layers: self.layers.into_iter().map(BertLayer::merge).collect(),
            ..self
        }
        .map(&mut RequireGrad(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lora::count_parameters;
    use crate::CpuBackend as Cpu;

    fn tiny() -> BertConfig {
        BertConfig {
            vocab_size: 50,
            hidden_size: 16,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 32,
            max_position_embeddings: 20,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_dropout_prob: 0.0,
            hidden_act: "gelu".into(),
        }
    }

    #[test]
    fn padding_does_not_change_the_real_tokens() {
        let device = Default::default();
        let model = BertEncoder::<Cpu>::new(&tiny(), &device).unwrap();
        let short =
            Tensor::<Cpu, 2, Int>::from_data(TensorData::new(vec![2i64, 7, 9], [1, 3]), &device);
        let padded = Tensor::<Cpu, 2, Int>::from_data(
            TensorData::new(vec![2i64, 7, 9, 0, 0], [1, 5]),
            &device,
        );
        let a = model.forward(short, Tensor::ones([1, 3], &device));
        let mask = Tensor::from_data(TensorData::new(vec![1f32, 1., 1., 0., 0.], [1, 5]), &device);
        let b = model.forward(padded, mask).slice([0..1, 0..3]);
        let diff: f32 = (a - b).abs().max().into_scalar();
        assert!(diff < 1e-5, "padding leaked into real tokens: {diff}");
    }

    #[test]
    fn lora_trains_a_small_fraction_and_merging_keeps_the_function() {
        let device = Default::default();
        let config = BertConfig {
            hidden_size: 32,
            intermediate_size: 64,
            ..tiny()
        };
        let model = BertEncoder::<Cpu>::new(&config, &device).unwrap();
        let ids =
            Tensor::<Cpu, 2, Int>::from_data(TensorData::new(vec![1i64, 4, 9, 3], [2, 2]), &device);
        let mask = Tensor::<Cpu, 2>::ones([2, 2], &device);
        let base = model.forward(ids.clone(), mask.clone());
        let full = count_parameters(&model);
        assert_eq!(full.trainable, full.total);
        let mut adapted = model.with_lora(&LoraConfig::new(2), &device).unwrap();
        let counted = count_parameters(&adapted);
        // 2 layers × (q, k, v, o: 32·2 + 2·32; up: 32·2 + 2·64; down: 64·2 + 2·32).
        assert_eq!(counted.trainable, 2 * (4 * 128 + 192 + 192));
        assert_eq!(counted.total, full.total + counted.trainable);
        // Give the adapters a non-zero B, as training would.
        for layer in &mut adapted.layers {
            layer.query.randomize_adapter(&device);
            layer.down.randomize_adapter(&device);
        }
        let before = adapted.forward(ids.clone(), mask.clone());
        let merged = adapted.merge_lora();
        let after = merged.forward(ids.clone(), mask.clone());
        let diff: f32 = (before.clone() - after).abs().max().into_scalar();
        assert!(diff < 1e-4, "merge changed the output by {diff}");
        let moved: f32 = (before - base).abs().max().into_scalar();
        assert!(moved > 1e-3, "the adapters did nothing");
    }
}
