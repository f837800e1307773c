//! Tagger training checkpoints: the model, both optimizers' moments, the best
//! epoch's model and the loop's state as one byte string, so a stopped run
//! continues where it stopped and ends with the same weights as one never
//! stopped. The caller decides where the bytes live (`genolens text-train`
//! writes `OUT/checkpoints/tagger.ckpt` atomically after every epoch).
//!
//! Layout: the magic `GLTAGCK1`, then five length-prefixed parts (the
//! transformer crate's [`pack_parts`]): the state as JSON, the model, the
//! encoder's and the heads' AdamW states, and the best model (empty when the
//! best epoch is the last one finished, which is the common case and halves
//! the file).

use burn_optim::Optimizer;
use genolens_transformer::burn::tensor::backend::AutodiffBackend;
use genolens_transformer::checkpoint::{
    model_from_bytes, model_to_bytes, optimizer_from_bytes, optimizer_to_bytes, pack_parts,
    unpack_parts,
};

use super::train::{EpochReport, TrainOptions};
use super::{TaggerModel, TaskSpec};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"GLTAGCK1";

/// The training loop's own state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaggerTrainerState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimiser steps taken (they set the learning-rate schedule).
    pub steps_done: usize,
    /// The epoch kept so far (1-based; best mean development F1).
    pub best_epoch: usize,
    /// Every finished epoch's figures.
    pub history: Vec<EpochReport>,
    /// The settings of the run; a resumed run must use the same (the number
    /// of epochs aside).
    pub options: TrainOptions,
    /// The heads, in order.
    pub tasks: Vec<TaskSpec>,
    /// Training windows per task (a resumed run must see the same data).
    pub windows: Vec<usize>,
}

impl TaggerTrainerState {
    /// Why a run with `options`, `tasks` and `windows` cannot continue from
    /// this state (`None` when it can).
    pub(crate) fn mismatch(
        &self,
        options: &TrainOptions,
        tasks: &[TaskSpec],
        windows: &[usize],
    ) -> Option<String> {
        let same_options = TrainOptions {
            epochs: options.epochs,
            ..self.options.clone()
        } == *options;
        if !same_options {
            return Some(format!(
                "it was written with other training settings ({:?}; asked for {:?})",
                self.options, options
            ));
        }
        if self.tasks != tasks {
            return Some("its heads are for other annotation schemes".into());
        }
        if self.windows != windows {
            return Some(format!(
                "it was trained on other data ({:?} windows per scheme, now {:?})",
                self.windows, windows
            ));
        }
        None
    }
}

/// A resumable snapshot of tagger training.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggerCheckpoint {
    /// The loop's state.
    pub state: TaggerTrainerState,
    model: Vec<u8>,
    encoder_optimizer: Vec<u8>,
    head_optimizer: Vec<u8>,
    /// Empty when the best model is `model`.
    best: Vec<u8>,
}

fn checkpoint_error(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("tagger checkpoint: {e}"))
}

impl TaggerCheckpoint {
    pub(crate) fn capture<B, O>(
        model: &TaggerModel<B>,
        optimizers: (&O, &O),
        best: Option<&TaggerModel<B>>,
        state: &TaggerTrainerState,
    ) -> Result<Self>
    where
        B: AutodiffBackend,
        O: Optimizer<TaggerModel<B>, B>,
    {
        Ok(Self {
            state: state.clone(),
            model: model_to_bytes(model).map_err(checkpoint_error)?,
            encoder_optimizer: optimizer_to_bytes(optimizers.0).map_err(checkpoint_error)?,
            head_optimizer: optimizer_to_bytes(optimizers.1).map_err(checkpoint_error)?,
            best: match best {
                Some(b) => model_to_bytes(b).map_err(checkpoint_error)?,
                None => Vec::new(),
            },
        })
    }

    /// The model, both optimizers and the best model, loaded into a freshly
    /// built model (same encoder, adapters and heads) and optimizers.
    #[allow(clippy::type_complexity)]
    pub(crate) fn restore<B, O>(
        &self,
        model: TaggerModel<B>,
        optimizers: (O, O),
        device: &B::Device,
    ) -> Result<(TaggerModel<B>, (O, O), TaggerModel<B>)>
    where
        B: AutodiffBackend,
        O: Optimizer<TaggerModel<B>, B>,
    {
        let loaded = model_from_bytes(model, &self.model, device).map_err(checkpoint_error)?;
        let best = if self.best.is_empty() {
            loaded.clone()
        } else {
            model_from_bytes(loaded.clone(), &self.best, device).map_err(checkpoint_error)?
        };
        let encoder = optimizer_from_bytes(optimizers.0, &self.encoder_optimizer, device)
            .map_err(checkpoint_error)?;
        let heads = optimizer_from_bytes(optimizers.1, &self.head_optimizer, device)
            .map_err(checkpoint_error)?;
        Ok((loaded, (encoder, heads), best))
    }

    /// The checkpoint as one byte string.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let state = serde_json::to_vec(&self.state).map_err(checkpoint_error)?;
        Ok(pack_parts(
            MAGIC,
            &[
                &state,
                &self.model,
                &self.encoder_optimizer,
                &self.head_optimizer,
                &self.best,
            ],
        ))
    }

    /// Reads [`TaggerCheckpoint::to_bytes`]; a truncated or foreign file is
    /// an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut parts = unpack_parts(MAGIC, bytes, 5, "genolens tagger checkpoint")
            .map_err(|e| Error::invalid(e.to_string()))?;
        let best = parts.pop().unwrap_or_default();
        let head_optimizer = parts.pop().unwrap_or_default();
        let encoder_optimizer = parts.pop().unwrap_or_default();
        let model = parts.pop().unwrap_or_default();
        let state =
            serde_json::from_slice(&parts.pop().unwrap_or_default()).map_err(checkpoint_error)?;
        Ok(Self {
            state,
            model,
            encoder_optimizer,
            head_optimizer,
            best,
        })
    }
}
