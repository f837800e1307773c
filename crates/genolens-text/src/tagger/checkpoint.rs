//! Training checkpoints of the tagger and the relation classifier: the model,
//! both optimizers' moments (encoder, heads), the best epoch's model and the
//! loop's state as one byte string, so a stopped run continues where it
//! stopped and ends with the same weights as one never stopped. The caller
//! decides where the bytes live (`genolens text-train` writes
//! `OUT/checkpoints/tagger.ckpt` or `relation.ckpt` atomically after every
//! epoch).
//!
//! Layout: an 8-byte magic (`GLTAGCK1`, `GLRELCK1`), then five
//! length-prefixed parts (the transformer crate's [`pack_parts`]): the state
//! as JSON, the model, the encoder's and the heads' AdamW states, and the
//! best model (empty when the best epoch is the last one finished, the
//! common case, which saves a model's worth of bytes).

use burn_optim::Optimizer;
use genolens_transformer::bert::BertConfig;
use genolens_transformer::burn::module::AutodiffModule;
use genolens_transformer::burn::tensor::backend::AutodiffBackend;
use genolens_transformer::checkpoint::{
    model_from_bytes, model_to_bytes, optimizer_from_bytes, optimizer_to_bytes, pack_parts,
    unpack_parts,
};

use super::relation::RelationEpoch;
use super::train::{EpochReport, TrainOptions};
use super::{Control, TaskSpec};
use crate::error::{Error, Result};

/// The loop state a kind of checkpoint carries (serialised as JSON).
pub trait CheckpointState:
    Clone + PartialEq + serde::Serialize + serde::de::DeserializeOwned
{
    /// The first eight bytes of this kind of checkpoint.
    const MAGIC: &'static [u8; 8];
    /// What the file is, for errors.
    const WHAT: &'static str;
}

impl CheckpointState for TaggerTrainerState {
    const MAGIC: &'static [u8; 8] = b"GLTAGCK1";
    const WHAT: &'static str = "genolens tagger checkpoint";
}

impl CheckpointState for RelationTrainerState {
    const MAGIC: &'static [u8; 8] = b"GLRELCK1";
    const WHAT: &'static str = "genolens relation checkpoint";
}

/// What a run is trained from, beyond its settings: a resumed run must match
/// it exactly to end with the weights of a run never stopped.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunIdentity {
    /// The encoder's sizes.
    pub bert: BertConfig,
    /// FNV-1a hash of the ordered training examples (word-piece ids and
    /// labels) and of the development data.
    pub data_hash: u64,
    /// Counts of the data, for the error message.
    pub counts: String,
}

/// FNV-1a over 64-bit words: the data fingerprint of [`RunIdentity`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fingerprint(u64);

impl Fingerprint {
    pub(crate) fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn add(&mut self, word: u64) {
        for byte in word.to_le_bytes() {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub(crate) fn add_str(&mut self, text: &str) {
        self.add(text.len() as u64);
        for byte in text.bytes() {
            self.add(u64::from(byte));
        }
    }

    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

/// Why a checkpoint cannot continue a run with `options` and `identity`
/// (`None` when it can): other settings (the number of epochs aside, which
/// may grow), another encoder or other data, or a history that does not add
/// up. `loop_state`: epochs done, kept epoch, epochs recorded.
fn resume_mismatch(
    saved: (&TrainOptions, &RunIdentity),
    loop_state: (usize, usize, usize),
    options: &TrainOptions,
    identity: &RunIdentity,
) -> Option<String> {
    let (saved_options, saved_identity) = saved;
    let (epochs_done, best_epoch, recorded) = loop_state;
    let same = TrainOptions {
        epochs: options.epochs,
        ..saved_options.clone()
    } == *options;
    if !same {
        return Some(format!(
            "it was written with other training settings ({saved_options:?}; asked for {options:?})"
        ));
    }
    if options.epochs < epochs_done {
        return Some(format!(
            "it has {epochs_done} epochs done, more than the {} asked for",
            options.epochs
        ));
    }
    if saved_identity.bert != identity.bert {
        return Some("it was trained from another encoder (other sizes)".into());
    }
    if saved_identity.data_hash != identity.data_hash {
        return Some(format!(
            "it was trained on other data ({}; now {})",
            saved_identity.counts, identity.counts
        ));
    }
    if recorded != epochs_done || best_epoch > epochs_done || (epochs_done > 0) != (best_epoch > 0)
    {
        return Some(format!(
            "its history does not add up ({epochs_done} epochs done, {recorded} recorded, \
             epoch {best_epoch} kept)"
        ));
    }
    None
}

/// What a relation classifier's head reads beside the pooled text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelationHead {
    /// The pairs' salience features.
    pub salience: bool,
    /// The states pooled over the `GENE` and `DISEASE` masks.
    pub entity_pooling: bool,
}

/// A fine-tuning loop's own state: `H` is an epoch's figures, `D` what the
/// heads are.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainerState<H, D> {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimiser steps taken (they set the learning-rate schedule).
    pub steps_done: usize,
    /// The epoch kept so far (1-based; best development score).
    pub best_epoch: usize,
    /// Every finished epoch's figures.
    pub history: Vec<H>,
    /// The settings of the run; a resumed run must use the same (the number
    /// of epochs aside, which may grow).
    pub options: TrainOptions,
    /// The heads.
    pub heads: D,
    /// The encoder and data trained from.
    pub identity: RunIdentity,
}

/// The tagger's training loop state (its heads: the annotation schemes).
pub type TaggerTrainerState = TrainerState<EpochReport, Vec<TaskSpec>>;

/// The relation classifier's training loop state.
pub type RelationTrainerState = TrainerState<RelationEpoch, RelationHead>;

impl<H, D: PartialEq + std::fmt::Debug> TrainerState<H, D> {
    /// The state before the first epoch.
    pub(crate) fn new(options: &TrainOptions, heads: D, identity: RunIdentity) -> Self {
        Self {
            epochs_done: 0,
            steps_done: 0,
            best_epoch: 0,
            history: Vec::new(),
            options: options.clone(),
            heads,
            identity,
        }
    }

    /// Why a run with `options`, `heads` and `identity` cannot continue from
    /// this state (`None` when it can).
    pub(crate) fn mismatch(
        &self,
        options: &TrainOptions,
        heads: &D,
        identity: &RunIdentity,
    ) -> Option<String> {
        if self.heads != *heads {
            return Some(format!(
                "its heads are other ones ({:?}; now {heads:?})",
                self.heads
            ));
        }
        resume_mismatch(
            (&self.options, &self.identity),
            (self.epochs_done, self.best_epoch, self.history.len()),
            options,
            identity,
        )
    }
}

/// The figure of an epoch that picks the kept one (higher is better).
pub(crate) trait EpochScore {
    fn score(&self) -> f64;
}

impl EpochScore for EpochReport {
    /// Mean development F1; without development sets the later epoch.
    fn score(&self) -> f64 {
        self.mean_dev_f1().unwrap_or(self.epoch as f64)
    }
}

impl EpochScore for RelationEpoch {
    /// Development AUC; without development pairs the later epoch.
    fn score(&self) -> f64 {
        self.dev_auc.unwrap_or(self.epoch as f64)
    }
}

/// The model, optimisers, kept model and state a fine-tuning loop starts
/// from: the checkpoint's when resuming (with the run's settings, whose
/// number of epochs may have grown), else the fresh ones and no kept model.
#[allow(clippy::type_complexity)]
pub(crate) fn start<B, M, O, H, D>(
    resume: Option<&TrainingCheckpoint<TrainerState<H, D>>>,
    model: M,
    optimizers: (O, O),
    fresh: TrainerState<H, D>,
    device: &B::Device,
) -> Result<(M, (O, O), Option<M>, TrainerState<H, D>)>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
    TrainerState<H, D>: CheckpointState,
{
    let Some(checkpoint) = resume else {
        return Ok((model, optimizers, None, fresh));
    };
    let (model, optimizers, best) = checkpoint.restore(model, optimizers, device)?;
    let state = TrainerState {
        options: fresh.options,
        ..checkpoint.state.clone()
    };
    Ok((model, optimizers, Some(best), state))
}

/// Ends an epoch of a fine-tuning loop: records `report`, keeps a clone of
/// the model when it beats the kept epoch (optimiser steps build new tensors,
/// so the clone keeps this epoch's weights), and hands `on_epoch` a
/// checkpoint. True when `on_epoch` stopped the run before its last epoch.
#[allow(clippy::type_complexity)]
pub(crate) fn end_epoch<B, M, O, H, D>(
    state: &mut TrainerState<H, D>,
    report: H,
    model: &M,
    optimizers: &(O, O),
    best: &mut Option<M>,
    on_epoch: &mut dyn FnMut(&H, &TrainingCheckpoint<TrainerState<H, D>>) -> Control,
) -> Result<bool>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
    H: EpochScore + Clone,
    TrainerState<H, D>: CheckpointState,
{
    let epoch = state.epochs_done + 1;
    let beats = match state.best_epoch {
        0 => true,
        b => report.score() > state.history[b - 1].score(),
    };
    if beats {
        state.best_epoch = epoch;
        *best = Some(model.clone());
    }
    state.epochs_done = epoch;
    state.history.push(report.clone());
    let kept_apart = best.as_ref().filter(|_| state.best_epoch != epoch);
    let checkpoint = TrainingCheckpoint::capture(model, optimizers, kept_apart, state)?;
    Ok(on_epoch(&report, &checkpoint) == Control::Stop && epoch < state.options.epochs)
}

/// A resumable snapshot of a training run whose loop state is `S`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingCheckpoint<S> {
    /// The loop's state.
    pub state: S,
    model: Vec<u8>,
    encoder_optimizer: Vec<u8>,
    head_optimizer: Vec<u8>,
    /// Empty when the best model is `model`.
    best: Vec<u8>,
}

/// A resumable snapshot of tagger training.
pub type TaggerCheckpoint = TrainingCheckpoint<TaggerTrainerState>;

/// A resumable snapshot of relation training.
pub type RelationCheckpoint = TrainingCheckpoint<RelationTrainerState>;

fn checkpoint_error(e: impl std::fmt::Display) -> Error {
    Error::Checkpoint(e.to_string())
}

impl<S: CheckpointState> TrainingCheckpoint<S> {
    pub(crate) fn capture<B, M, O>(
        model: &M,
        optimizers: &(O, O),
        best: Option<&M>,
        state: &S,
    ) -> Result<Self>
    where
        B: AutodiffBackend,
        M: AutodiffModule<B>,
        O: Optimizer<M, B>,
    {
        Ok(Self {
            state: state.clone(),
            model: model_to_bytes(model).map_err(checkpoint_error)?,
            encoder_optimizer: optimizer_to_bytes(&optimizers.0).map_err(checkpoint_error)?,
            head_optimizer: optimizer_to_bytes(&optimizers.1).map_err(checkpoint_error)?,
            best: match best {
                Some(b) => model_to_bytes(b).map_err(checkpoint_error)?,
                None => Vec::new(),
            },
        })
    }

    /// The model, both optimizers and the best model, loaded into a freshly
    /// built model (same encoder, adapters and heads) and optimizers.
    pub(crate) fn restore<B, M, O>(
        &self,
        model: M,
        optimizers: (O, O),
        device: &B::Device,
    ) -> Result<(M, (O, O), M)>
    where
        B: AutodiffBackend,
        M: AutodiffModule<B>,
        O: Optimizer<M, B>,
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
            S::MAGIC,
            &[
                &state,
                &self.model,
                &self.encoder_optimizer,
                &self.head_optimizer,
                &self.best,
            ],
        ))
    }

    /// Reads [`TrainingCheckpoint::to_bytes`]; a truncated or foreign file
    /// (another kind of checkpoint among them) is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut parts = unpack_parts(S::MAGIC, bytes, 5, S::WHAT)
            .map_err(|e| Error::Checkpoint(e.to_string()))?;
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
