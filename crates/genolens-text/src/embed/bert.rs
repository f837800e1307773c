//! rust-bert sentence embeddings (feature `rust-bert`).

use std::path::{Path, PathBuf};

use ndarray::Array2;
use rust_bert::pipelines::common::ModelType;
use rust_bert::pipelines::sentence_embeddings::{
    SentenceEmbeddingsConfig, SentenceEmbeddingsModel,
};
use rust_bert::resources::{LocalResource, ResourceProvider};
use tch::{Device, Kind};

use super::TextEmbedder;
use crate::error::{Error, Result};

/// Sets libtorch's intra-op thread count for the whole process (libtorch
/// keeps it globally; call it once, before the first embedding).
pub fn set_torch_threads(n: usize) {
    tch::set_num_threads(i32::try_from(n.max(1)).unwrap_or(i32::MAX));
}

/// A sentence-transformers model (BERT family: all-MiniLM-L6-v2,
/// all-mpnet-base-v2 is not BERT and is refused) run by rust-bert on the CPU.
///
/// Sentences are embedded in batches of similar length (sorted longest first,
/// as sentence-transformers does), so padding stays short.
pub struct BertSentenceEmbedder {
    model: SentenceEmbeddingsModel,
    dim: usize,
    batch_size: usize,
    name: String,
}

impl std::fmt::Debug for BertSentenceEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertSentenceEmbedder")
            .field("name", &self.name)
            .field("dim", &self.dim)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

/// Longest input rust-bert's BERT models take (positions), for batch sizing.
const MAX_TOKENS: usize = 512;

/// Batch size × (longest tokens)² per forward pass: 2¹⁹ keeps a 12-head
/// model's attention scores at 24 MB.
const ATTENTION_BUDGET: usize = 1 << 19;

/// Files a sentence-transformers BERT directory must hold (besides weights).
const REQUIRED: &[&str] = &[
    "modules.json",
    "config.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
    "tokenizer_config.json",
    "vocab.txt",
];

fn resource(p: PathBuf) -> Box<dyn ResourceProvider + Send> {
    Box::new(LocalResource::from(p))
}

impl BertSentenceEmbedder {
    /// Loads a model from a local sentence-transformers directory (`config.json`,
    /// `modules.json`, `1_Pooling/config.json`, `sentence_bert_config.json`,
    /// `tokenizer_config.json`, `vocab.txt`, and weights as `rust_model.ot` or
    /// `model.safetensors`). Errors name the directory and the missing file
    /// or the loader's reason.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let err = |reason: String| Error::Model {
            path: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(err(
                "not a directory (a local sentence-transformers model directory is needed)".into(),
            ));
        }
        // rust-bert panics on a missing JSON file, so check first.
        for f in REQUIRED {
            if !dir.join(f).is_file() {
                return Err(err(format!("missing {f}")));
            }
        }
        let weights = ["rust_model.ot", "model.safetensors"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| err("missing weights (rust_model.ot or model.safetensors)".into()))?;
        let config = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| err(format!("config.json: {e}")))?;
        if !config.contains("\"bert\"") {
            return Err(err(
                "config.json: only BERT-family models (model_type \"bert\") are supported".into(),
            ));
        }
        let model = SentenceEmbeddingsModel::new(SentenceEmbeddingsConfig {
            modules_config_resource: resource(dir.join("modules.json")),
            transformer_type: ModelType::Bert,
            transformer_config_resource: resource(dir.join("config.json")),
            transformer_weights_resource: resource(weights),
            pooling_config_resource: resource(dir.join("1_Pooling").join("config.json")),
            dense_config_resource: None,
            dense_weights_resource: None,
            sentence_bert_config_resource: resource(dir.join("sentence_bert_config.json")),
            tokenizer_config_resource: resource(dir.join("tokenizer_config.json")),
            tokenizer_vocab_resource: resource(dir.join("vocab.txt")),
            tokenizer_merges_resource: None,
            device: Device::Cpu,
            kind: None,
        })
        .map_err(|e| err(e.to_string()))?;
        let dim = model.get_embedding_dim().map_err(|e| err(e.to_string()))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Self {
            model,
            dim: usize::try_from(dim).map_err(|_| err(format!("embedding dimension {dim}")))?,
            batch_size: 32,
            name,
        })
    }

    /// Downloads (or takes from rust-bert's cache) one of the sentence models
    /// rust-bert publishes, by its hub id (`sentence-transformers/all-MiniLM-L6-v2`
    /// or just `all-MiniLM-L6-v2`). Only with the `rust-bert-remote` feature,
    /// which enables rust-bert's downloader; without it, or without network,
    /// use [`from_dir`](Self::from_dir).
    #[cfg(feature = "rust-bert-remote")]
    pub fn from_hub(id: &str) -> Result<Self> {
        use rust_bert::pipelines::sentence_embeddings::{
            SentenceEmbeddingsBuilder, SentenceEmbeddingsModelType as T,
        };
        let err = |reason: String| Error::Model {
            path: PathBuf::from(id),
            reason,
        };
        let name = id.strip_prefix("sentence-transformers/").unwrap_or(id);
        let model_type = match name {
            "all-MiniLM-L6-v2" => T::AllMiniLmL6V2,
            "all-MiniLM-L12-v2" => T::AllMiniLmL12V2,
            "all-distilroberta-v1" => T::AllDistilrobertaV1,
            "bert-base-nli-mean-tokens" => T::BertBaseNliMeanTokens,
            "paraphrase-albert-small-v2" => T::ParaphraseAlbertSmallV2,
            "distiluse-base-multilingual-cased" => T::DistiluseBaseMultilingualCased,
            "sentence-t5-base" => T::SentenceT5Base,
            other => {
                return Err(err(format!(
                "no hub model {other:?} in rust-bert's list; download it and use a local directory"
            )))
            }
        };
        let model = SentenceEmbeddingsBuilder::remote(model_type)
            .with_device(Device::Cpu)
            .create_model()
            .map_err(|e| err(e.to_string()))?;
        let dim = model.get_embedding_dim().map_err(|e| err(e.to_string()))?;
        Ok(Self {
            model,
            dim: usize::try_from(dim).map_err(|_| err(format!("embedding dimension {dim}")))?,
            batch_size: 32,
            name: name.to_string(),
        })
    }

    /// A local directory when `spec` is one; otherwise a hub id, which needs
    /// the `rust-bert-remote` feature (the error says so without it).
    pub fn from_dir_or_hub(spec: &str) -> Result<Self> {
        if Path::new(spec).exists() {
            return Self::from_dir(spec);
        }
        #[cfg(feature = "rust-bert-remote")]
        {
            Self::from_hub(spec)
        }
        #[cfg(not(feature = "rust-bert-remote"))]
        {
            Err(Error::Model {
                path: PathBuf::from(spec),
                reason:
                    "no such directory; hub ids need the `rust-bert-remote` feature (and network)"
                        .into(),
            })
        }
    }

    /// Most sentences per forward pass (default 32, as sentence-transformers;
    /// long sentences go in smaller batches).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }
}

impl TextEmbedder for BertSentenceEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Array2<f32>> {
        let mut out = Array2::<f32>::zeros((texts.len(), self.dim));
        // Longest first by token count, so that each batch pads to similar lengths.
        let tokenizer = self.model.get_tokenizer();
        let lengths: Vec<usize> = texts
            .iter()
            .map(|t| (tokenizer.tokenize(t).len() + 2).min(MAX_TOKENS))
            .collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(lengths[i]), i));
        let _guard = tch::no_grad_guard();
        let model_err = |reason: String| Error::Model {
            path: PathBuf::from(&self.name),
            reason,
        };
        let mut buf = Vec::new();
        let mut rest = order.as_slice();
        while !rest.is_empty() {
            // rust-bert materialises the attention scores (batch × heads × L² floats)
            // and the feed-forward activations; past glibc's 32 MB mmap threshold
            // every batch maps, faults in and unmaps them (a fifth of the time in
            // system calls). Long sentences therefore go in smaller batches.
            let longest = lengths[rest[0]].max(1);
            let fits = (ATTENTION_BUDGET / (longest * longest)).clamp(1, self.batch_size);
            let (chunk, tail) = rest.split_at(fits.min(rest.len()));
            rest = tail;
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let t = self
                .model
                .encode_as_tensor(&batch)
                .map_err(|e| model_err(e.to_string()))?
                .embeddings
                .to_kind(Kind::Float)
                .contiguous();
            let n = chunk.len() * self.dim;
            buf.resize(n, 0.0f32);
            t.f_copy_data(&mut buf, n)
                .map_err(|e| model_err(e.to_string()))?;
            for (r, &i) in chunk.iter().enumerate() {
                out.row_mut(i)
                    .as_slice_mut()
                    .expect("rows of a standard-layout matrix are contiguous")
                    .copy_from_slice(&buf[r * self.dim..(r + 1) * self.dim]);
            }
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("rust-bert:{}", self.name)
    }
}
