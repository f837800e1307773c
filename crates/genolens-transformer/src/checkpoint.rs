//! Training checkpoints as bytes: the model, the optimizer's moments, the
//! best model so far and the loop's state, enough to continue a run and get
//! the same bytes as one never stopped. The caller decides where they live
//! (the CLI writes `O/checkpoints/epoch-N.ckpt` atomically).
//!
//! Layout: the magic `GLTCKPT1`, then four length-prefixed (u64
//! little-endian) parts: the state as JSON, then the model, optimizer and
//! best-model records as named MessagePack (burn's `NamedMpkBytesRecorder`,
//! full precision). The record and container helpers are public and generic
//! over the module, so other burn models (the text tagger) keep their
//! checkpoints the same way.

use burn::module::{AutodiffModule, Module};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn_optim::Optimizer;

use crate::error::{Error, Result};
use crate::finetune::EpochMetrics;
use crate::model::GenotypeTransformer;

const MAGIC: &[u8; 8] = b"GLTCKPT1";

/// The fine-tuning loop's own state.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TrainerState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// The best validation loss so far.
    pub best_valid_loss: f64,
    /// Its epoch (1-based; 0 before the first).
    pub best_epoch: usize,
    /// Metrics of every finished epoch.
    pub history: Vec<EpochMetrics>,
    /// The initial model was scored before the first epoch and counts as
    /// the best at epoch 0 until an epoch beats it
    /// ([`FineTuneOptions::score_initial`](crate::finetune::FineTuneOptions::score_initial)).
    #[serde(default)]
    pub initial_scored: bool,
    /// Early stopping ended the run: resuming returns the best model without
    /// training. (A run that finished its epochs resumes with more epochs if
    /// asked for more.)
    pub finished: bool,
}

/// A resumable snapshot of fine-tuning.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The loop's state.
    pub state: TrainerState,
    model: Vec<u8>,
    optimizer: Vec<u8>,
    best: Vec<u8>,
}

fn recorder() -> NamedMpkBytesRecorder<FullPrecisionSettings> {
    NamedMpkBytesRecorder::default()
}

fn record_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("checkpoint {what}: {e}"))
}

/// The weights of a module as bytes (named MessagePack, full precision).
pub fn model_to_bytes<B: Backend, M: Module<B>>(model: &M) -> Result<Vec<u8>> {
    Recorder::<B>::record(&recorder(), model.clone().into_record(), ())
        .map_err(|e| record_error("model", e))
}

/// Loads weights written by [`model_to_bytes`] into a module of the same
/// structure (build it from the same configuration first).
pub fn model_from_bytes<B: Backend, M: Module<B>>(
    model: M,
    bytes: &[u8],
    device: &B::Device,
) -> Result<M> {
    let record = Recorder::<B>::load(&recorder(), bytes.to_vec(), device)
        .map_err(|e| record_error("model weights do not fit this model", e))?;
    Ok(model.load_record(record))
}

/// An optimizer's state (AdamW's moments and step counts) as bytes.
pub fn optimizer_to_bytes<B, M, O>(optimizer: &O) -> Result<Vec<u8>>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
{
    Recorder::<B>::record(&recorder(), optimizer.to_record(), ())
        .map_err(|e| record_error("optimizer", e))
}

/// Loads an optimizer state written by [`optimizer_to_bytes`] into a fresh
/// optimizer of the same kind.
pub fn optimizer_from_bytes<B, M, O>(optimizer: O, bytes: &[u8], device: &B::Device) -> Result<O>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
{
    let record = Recorder::<B>::load(&recorder(), bytes.to_vec(), device)
        .map_err(|e| record_error("optimizer state", e))?;
    Ok(optimizer.load_record(record))
}

/// Joins byte strings into one: `magic`, then each part prefixed by its
/// length (u64 little-endian).
pub fn pack_parts(magic: &[u8; 8], parts: &[&[u8]]) -> Vec<u8> {
    let mut out = magic.to_vec();
    for part in parts {
        out.extend((part.len() as u64).to_le_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Splits what [`pack_parts`] joined into its `n` parts; the wrong magic, a
/// truncated string or trailing bytes are an error (`what` names the kind of
/// file in it).
pub fn unpack_parts(magic: &[u8; 8], bytes: &[u8], n: usize, what: &str) -> Result<Vec<Vec<u8>>> {
    let bad = |why: &str| Error::Invalid(format!("not a {what}: {why}"));
    let mut rest = bytes
        .strip_prefix(magic.as_slice())
        .ok_or_else(|| bad("wrong magic bytes"))?;
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        let (len, tail) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| bad("truncated"))?;
        let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| bad("too long"))?;
        if tail.len() < len {
            return Err(bad("truncated"));
        }
        let (part, tail) = tail.split_at(len);
        parts.push(part.to_vec());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(parts)
}

impl Checkpoint {
    pub(crate) fn capture<B, O>(
        model: &GenotypeTransformer<B>,
        optimizer: &O,
        best: &GenotypeTransformer<B>,
        state: &TrainerState,
    ) -> Result<Self>
    where
        B: AutodiffBackend,
        O: Optimizer<GenotypeTransformer<B>, B>,
    {
        Ok(Self {
            state: state.clone(),
            model: model_to_bytes(model)?,
            optimizer: optimizer_to_bytes(optimizer)?,
            best: model_to_bytes(best)?,
        })
    }

    /// The model, optimizer, best model and state, loaded into the given
    /// (freshly built) model and optimizer.
    pub(crate) fn restore<B, O>(
        &self,
        model: GenotypeTransformer<B>,
        optimizer: O,
        device: &B::Device,
    ) -> Result<(
        GenotypeTransformer<B>,
        O,
        GenotypeTransformer<B>,
        TrainerState,
    )>
    where
        B: AutodiffBackend,
        O: Optimizer<GenotypeTransformer<B>, B>,
    {
        let best = model_from_bytes(model.clone(), &self.best, device)?;
        let model = model_from_bytes(model, &self.model, device)?;
        Ok((
            model,
            optimizer_from_bytes(optimizer, &self.optimizer, device)?,
            best,
            self.state.clone(),
        ))
    }

    /// The checkpoint as one byte string.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let state = serde_json::to_vec(&self.state).map_err(|e| record_error("state", e))?;
        Ok(pack_parts(
            MAGIC,
            &[&state, &self.model, &self.optimizer, &self.best],
        ))
    }

    /// Reads [`Checkpoint::to_bytes`]; a truncated or foreign file is an
    /// error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut parts = unpack_parts(MAGIC, bytes, 4, "genolens checkpoint")?;
        let best = parts.pop().unwrap_or_default();
        let optimizer = parts.pop().unwrap_or_default();
        let model = parts.pop().unwrap_or_default();
        let state = serde_json::from_slice(&parts.pop().unwrap_or_default())
            .map_err(|e| record_error("state", e))?;
        Ok(Self {
            state,
            model,
            optimizer,
            best,
        })
    }
}
