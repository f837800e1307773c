//! Relation classification with the fine-tuned encoder: whether a
//! gene–disease pair of a document is related, from the sentences that
//! co-mention it with the pair masked as `GENE` / `DISEASE`
//! ([`crate::classify::gene_disease_pairs`]).
//!
//! The encoder reads the masked sentences (the first `max_pieces` word
//! pieces); its states are mean-pooled over the real pieces (the pooling
//! all-MiniLM-L6-v2 was trained with) and, with entity pooling, also over the
//! pieces of the `GENE` masks and of the `DISEASE` masks (the pair's own
//! positions, as relation extractors pool entity markers), optionally joined
//! by the pair's four salience features ([`PairExample::salience`]); a
//! logistic head gives `P(related)`. Training is full or LoRA fine-tuning with the tagger's
//! optimiser, schedule and seeding; the epoch with the best development AUC
//! is kept.
//!
//! Layout of a saved classifier directory: `relation.json`
//! ([`RelationSpec`]), `vocab.txt`, `weights.mpk` (LoRA merged).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn_nn::{Linear, LinearConfig};
use burn_optim::{AdamWConfig, GradientsParams};
use genolens_transformer::bert::{BertConfig, BertEncoder};
use genolens_transformer::burn;
use genolens_transformer::burn::module::{AutodiffModule, Module, Param};
use genolens_transformer::burn::tensor::activation::{log_sigmoid, sigmoid};
use genolens_transformer::burn::tensor::backend::{AutodiffBackend, Backend};
use genolens_transformer::burn::tensor::{Tensor, TensorData};
use genolens_transformer::lora::{count_parameters, ParameterCount};
use genolens_transformer::CpuInference;

use super::checkpoint::{
    end_epoch, start, Fingerprint, RelationCheckpoint, RelationHead, RelationTrainerState,
    RunIdentity,
};
use super::train::{
    batches, epoch_seed, optimise, pretrained_encoder, read_bert_config, EncoderWithHeads,
    Schedule, TrainOptions, TrainProgress,
};
use super::{batch_tensors, load_weights, read_spec, save_dir, Control, WordPieces, VOCAB_FILE};
use crate::classify::PairExample;
use crate::error::{Error, Result};

/// Salience features per pair ([`PairExample::salience`]).
const SALIENCE: usize = 4;

/// File name of a classifier directory's description.
const SPEC_FILE: &str = "relation.json";

/// Pairs scored per forward pass at inference.
const INFERENCE_BATCH: usize = 32;

/// What a saved relation classifier is.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RelationSpec {
    /// The encoder's sizes.
    pub bert: BertConfig,
    /// Word pieces of the masked sentences read, `[CLS]`/`[SEP]` not counted.
    pub max_pieces: usize,
    /// Whether the head also sees the pair's salience features.
    pub salience: bool,
    /// Whether the head also sees the states pooled over the `GENE` and
    /// `DISEASE` masks.
    #[serde(default)]
    pub entity_pooling: bool,
}

/// The encoder and its logistic head (crate-private: burn tensors stay out
/// of the public API).
#[derive(Module, Debug)]
pub(crate) struct RelationModel<B: Backend> {
    encoder: BertEncoder<B>,
    head: Linear<B>,
}

impl<B: Backend> RelationModel<B> {
    fn new(encoder: BertEncoder<B>, spec: &RelationSpec, device: &B::Device) -> Self {
        let d = encoder.hidden_size();
        let width =
            d * if spec.entity_pooling { 3 } else { 1 } + if spec.salience { SALIENCE } else { 0 };
        Self {
            head: LinearConfig::new(width, 1).init(device),
            encoder,
        }
    }

    /// Log-odds of "related" for a batch `[n]`.
    fn logits(
        &self,
        batch: &[&PairInput],
        spec: &RelationSpec,
        device: &B::Device,
    ) -> Tensor<B, 1> {
        let ids: Vec<&[i64]> = batch.iter().map(|p| p.ids.as_slice()).collect();
        let (ids, mask, len) = batch_tensors::<B>(&ids, device);
        let n = batch.len();
        let hidden = self.encoder.forward(ids, mask.clone());
        let [_, _, d] = hidden.dims();
        // Mean of the states where `weights` [n, len] is 1 (0 where none is).
        let pool = |weights: Tensor<B, 2>| {
            let counts = weights.clone().sum_dim(1).clamp_min(1.0);
            (hidden.clone() * weights.unsqueeze_dim::<3>(2))
                .sum_dim(1)
                .reshape([n, d])
                / counts
        };
        let mut features = vec![pool(mask)];
        if spec.entity_pooling {
            for which in [Entity::Gene, Entity::Disease] {
                let mut w = vec![0f32; n * len];
                for (r, p) in batch.iter().enumerate() {
                    for (j, &e) in p.entity.iter().enumerate() {
                        if e == Some(which) {
                            w[r * len + j] = 1.0;
                        }
                    }
                }
                features.push(pool(Tensor::from_data(
                    TensorData::new(w, [n, len]),
                    device,
                )));
            }
        }
        if spec.salience {
            let extra: Vec<f32> = batch.iter().flat_map(|p| p.salience).collect();
            features.push(Tensor::from_data(
                TensorData::new(extra, [n, SALIENCE]),
                device,
            ));
        }
        self.head.forward(Tensor::cat(features, 1)).reshape([n])
    }
}

impl<B: AutodiffBackend> EncoderWithHeads<B> for RelationModel<B> {
    fn part_gradients(&self, grads: &mut B::Gradients) -> (GradientsParams, GradientsParams) {
        let head = GradientsParams::from_module(grads, &self.head);
        let encoder = GradientsParams::from_module(grads, &self.encoder);
        (encoder, head)
    }
}

/// Which mask a piece belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Gene,
    Disease,
}

/// A pair as the model reads it.
struct PairInput {
    ids: Vec<i64>,
    /// Per id, the mask it belongs to (`[CLS]`/`[SEP]` none).
    entity: Vec<Option<Entity>>,
    salience: [f32; SALIENCE],
}

/// Byte ranges of the `GENE` and `DISEASE` masks that
/// [`crate::classify::gene_disease_pairs`] put in a text (uppercase, not part
/// of a longer uppercase word).
fn mask_spans(text: &str) -> Vec<(std::ops::Range<usize>, Entity)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (word, entity) in [("GENE", Entity::Gene), ("DISEASE", Entity::Disease)] {
        for (at, _) in text.match_indices(word) {
            let end = at + word.len();
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(end).copied();
            if !before.is_some_and(|b| b.is_ascii_uppercase())
                && !after.is_some_and(|b| b.is_ascii_uppercase())
            {
                out.push((at..end, entity));
            }
        }
    }
    out
}

fn encode_pairs(wp: &WordPieces, examples: &[PairExample], max_pieces: usize) -> Vec<PairInput> {
    examples
        .iter()
        .map(|ex| {
            let pieces = wp.encode(&ex.text);
            let masks = mask_spans(&ex.text);
            let kept = &pieces[..pieces.len().min(max_pieces)];
            let mut ids = Vec::with_capacity(kept.len() + 2);
            let mut entity = Vec::with_capacity(kept.len() + 2);
            ids.push(wp.cls());
            entity.push(None);
            for p in kept {
                ids.push(p.id);
                entity.push(
                    masks
                        .iter()
                        .find(|(r, _)| r.start <= p.span.start && p.span.end <= r.end)
                        .map(|&(_, e)| e),
                );
            }
            ids.push(wp.sep());
            entity.push(None);
            PairInput {
                ids,
                entity,
                salience: ex.salience(),
            }
        })
        .collect()
}

/// `P(related)` of every input, longest first in batches (little padding),
/// returned in input order.
fn predict<B: Backend>(
    model: &RelationModel<B>,
    inputs: &[PairInput],
    spec: &RelationSpec,
    device: &B::Device,
) -> Result<Vec<f64>> {
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(inputs[i].ids.len()));
    let mut out = vec![0.0; inputs.len()];
    for chunk in order.chunks(INFERENCE_BATCH) {
        let batch: Vec<&PairInput> = chunk.iter().map(|&i| &inputs[i]).collect();
        let p: Vec<f32> = sigmoid(model.logits(&batch, spec, device))
            .into_data()
            .convert::<f32>()
            .into_vec()
            .map_err(|e| Error::invalid(format!("relation classifier output: {e:?}")))?;
        for (&i, &v) in chunk.iter().zip(&p) {
            out[i] = f64::from(v);
        }
    }
    Ok(out)
}

/// What to fine-tune: the pretrained encoder and labelled pairs.
#[derive(Debug, Clone)]
pub struct RelationTraining {
    /// A Hugging Face BERT directory (`config.json`, `model.safetensors`,
    /// `vocab.txt`).
    pub encoder_dir: PathBuf,
    /// Training pairs.
    pub train: Vec<PairExample>,
    /// Development pairs (scored after every epoch; the best AUC is kept).
    pub dev: Vec<PairExample>,
    /// Give the head the pairs' salience features.
    pub salience: bool,
    /// Give the head the states pooled over the `GENE` and `DISEASE` masks
    /// too.
    pub entity_pooling: bool,
}

/// One epoch of relation training.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RelationEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training binary cross-entropy per pair.
    pub train_loss: f64,
    /// Development AUC (`None` without development pairs of both classes).
    pub dev_auc: Option<f64>,
    /// Wall time of the epoch (training and scoring), seconds.
    pub seconds: f64,
}

/// The outcome of [`train_relations`].
#[derive(Debug)]
pub struct TrainedRelations<B: AutodiffBackend> {
    /// The classifier at the best epoch (adapters merged), for inference.
    pub classifier: RelationClassifier<B::InnerBackend>,
    /// Every epoch's figures.
    pub epochs: Vec<RelationEpoch>,
    /// 1-based epoch kept (best development AUC; the last without one).
    pub best_epoch: usize,
    /// Parameters as trained (LoRA: adapters and head trainable).
    pub parameters: ParameterCount,
    /// Training pairs used.
    pub pairs: usize,
    /// `on_epoch` stopped the run before its last epoch (the classifier is
    /// the best epoch so far).
    pub stopped: bool,
}

/// Fine-tunes the encoder in `training.encoder_dir` into a relation
/// classifier. `options.max_documents` keeps the pairs of the first that many
/// documents (in the order their pairs come). `progress` hears of every step.
/// After each epoch `on_epoch` receives its figures and a
/// [`RelationCheckpoint`] to resume from, and may stop the run; with `resume`
/// training continues after the checkpoint's last epoch, as
/// [`train_tagger`](super::train_tagger) does, ending with the same weights as
/// a run never stopped. The same seed gives the same weights.
pub fn train_relations<B: AutodiffBackend>(
    training: &RelationTraining,
    options: &TrainOptions,
    device: &B::Device,
    resume: Option<&RelationCheckpoint>,
    progress: &mut dyn FnMut(&TrainProgress),
    on_epoch: &mut dyn FnMut(&RelationEpoch, &RelationCheckpoint) -> Control,
) -> Result<TrainedRelations<B>> {
    let dir = &training.encoder_dir;
    let bert = read_bert_config(dir)?;
    options.check(&bert)?;
    // The pairs of the first `max_documents` documents, in order of first
    // appearance among the pairs.
    let mut seen = std::collections::HashSet::new();
    let mut kept = std::collections::HashSet::new();
    let limit = options.max_documents.unwrap_or(usize::MAX);
    for ex in &training.train {
        if seen.insert(ex.pmid.as_str()) && seen.len() <= limit {
            kept.insert(ex.pmid.as_str());
        }
    }
    let train: Vec<PairExample> = training
        .train
        .iter()
        .filter(|ex| kept.contains(ex.pmid.as_str()))
        .cloned()
        .collect();
    let positives = train.iter().filter(|ex| ex.related).count();
    if positives == 0 || positives == train.len() {
        return Err(Error::invalid(
            "relation training needs related and unrelated pairs",
        ));
    }
    let salience = training.salience;
    let wp = WordPieces::from_vocab(&dir.join(VOCAB_FILE))?;
    let inputs = encode_pairs(&wp, &train, options.max_pieces);
    let dev_inputs = encode_pairs(&wp, &training.dev, options.max_pieces);
    let dev_labels: Vec<bool> = training.dev.iter().map(|ex| ex.related).collect();
    let identity = {
        let mut hash = Fingerprint::new();
        for (set, labels) in [
            (&inputs, train.iter().map(|x| x.related).collect::<Vec<_>>()),
            (&dev_inputs, dev_labels.clone()),
        ] {
            hash.add(set.len() as u64);
            for (input, &label) in set.iter().zip(&labels) {
                hash.add(u64::from(label));
                hash.add(input.ids.len() as u64);
                input.ids.iter().for_each(|&id| hash.add(id as u64));
                input
                    .salience
                    .iter()
                    .for_each(|f| hash.add(u64::from(f.to_bits())));
            }
        }
        RunIdentity {
            bert: bert.clone(),
            data_hash: hash.finish(),
            counts: format!(
                "{} training pairs ({positives} related), {} development pairs",
                train.len(),
                dev_inputs.len()
            ),
        }
    };
    let heads = RelationHead {
        salience,
        entity_pooling: training.entity_pooling,
    };
    if let Some(why) = resume.and_then(|c| c.state.mismatch(options, &heads, &identity)) {
        return Err(Error::Checkpoint(why));
    }

    B::seed(device, options.seed);
    let encoder = pretrained_encoder::<B>(dir, &bert, options.lora.as_ref(), device)?;
    let spec = RelationSpec {
        bert,
        max_pieces: options.max_pieces,
        salience,
        entity_pooling: training.entity_pooling,
    };
    let mut model = RelationModel::new(encoder, &spec, device);
    // The head starts at the share of related pairs.
    let share = positives as f64 / train.len() as f64;
    model.head.bias = Some(Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![(share / (1.0 - share)).ln() as f32], [1]),
        device,
    )));
    let parameters = count_parameters(&model);

    let adamw = AdamWConfig::new().with_weight_decay(options.weight_decay as f32);
    let optimisers = (
        adamw.init::<B, RelationModel<B>>(),
        adamw.init::<B, RelationModel<B>>(),
    );
    let keys: Vec<(usize, usize)> = inputs.iter().map(|p| (0, p.ids.len())).collect();
    let steps_per_epoch = batches(&keys, options.batch_size, 0).len();
    let schedule = Schedule::new(steps_per_epoch * options.epochs, options.warmup_fraction);
    let fresh = RelationTrainerState::new(options, heads, identity);
    // `best`: the kept epoch's weights.
    let (mut model, mut optimisers, mut best, mut state) =
        start(resume, model, optimisers, fresh, device)?;
    let mut stopped = false;
    for epoch in state.epochs_done + 1..=options.epochs {
        let started = Instant::now();
        let seed = epoch_seed(options.seed, epoch);
        B::seed(device, seed);
        let (mut sum, mut count) = (0.0, 0usize);
        for (i, batch) in batches(&keys, options.batch_size, seed).iter().enumerate() {
            let chosen: Vec<&PairInput> = batch.iter().map(|&j| &inputs[j]).collect();
            let labels: Vec<f32> = batch
                .iter()
                .map(|&j| f32::from(u8::from(train[j].related)))
                .collect();
            let n = labels.len();
            let y = Tensor::<B, 1>::from_data(TensorData::new(labels, [n]), device);
            let z = model.logits(&chosen, &spec, device);
            // Binary cross-entropy on the logits, stable for large |z|.
            let loss = (y.clone() * log_sigmoid(z.clone())
                + y.neg().add_scalar(1.0) * log_sigmoid(z.neg()))
            .mean()
            .neg();
            let share = schedule.share(state.steps_done);
            let value;
            (model, value) = optimise(
                model,
                loss,
                &mut optimisers,
                (options, share),
                (epoch, i + 1),
            )?;
            sum += value * n as f64;
            count += n;
            state.steps_done += 1;
            progress(&TrainProgress {
                epoch,
                step: i + 1,
                steps_per_epoch,
                loss: value,
            });
        }
        let dev_auc = if dev_inputs.is_empty() {
            None
        } else {
            let p = predict(&model.valid(), &dev_inputs, &spec, device)?;
            crate::eval::auc(&p, &dev_labels)
        };
        let report = RelationEpoch {
            epoch,
            train_loss: sum / count.max(1) as f64,
            dev_auc,
            seconds: started.elapsed().as_secs_f64(),
        };
        let stop = end_epoch(&mut state, report, &model, &optimisers, &mut best, on_epoch)?;
        if stop {
            stopped = true;
            break;
        }
    }
    let kept = best.ok_or_else(|| Error::invalid("no epoch ran"))?;
    drop(model);
    let kept = RelationModel {
        encoder: kept.encoder.merge_lora(),
        head: kept.head,
    };
    Ok(TrainedRelations {
        classifier: RelationClassifier {
            spec,
            pieces: wp,
            model: kept.valid(),
            device: device.clone(),
        },
        epochs: state.history,
        best_epoch: state.best_epoch,
        parameters,
        pairs: train.len(),
        stopped,
    })
}

/// A trained relation classifier, ready for inference.
#[derive(Debug)]
pub struct RelationClassifier<B: Backend = CpuInference> {
    spec: RelationSpec,
    pieces: WordPieces,
    model: RelationModel<B>,
    device: B::Device,
}

impl<B: Backend> RelationClassifier<B> {
    /// `P(related)` of each pair.
    pub fn probabilities(&self, pairs: &[PairExample]) -> Result<Vec<f64>> {
        let inputs = encode_pairs(&self.pieces, pairs, self.spec.max_pieces);
        predict(&self.model, &inputs, &self.spec, &self.device)
    }

    /// What the classifier is.
    pub fn spec(&self) -> &RelationSpec {
        &self.spec
    }

    /// Writes `relation.json`, `vocab.txt` (copied from `vocab`) and
    /// `weights.mpk` into `dir` (created if needed).
    pub fn save(&self, dir: &Path, vocab: &Path) -> Result<()> {
        save_dir(dir, SPEC_FILE, &self.spec, vocab, &self.model)
    }

    /// Loads a directory written by [`RelationClassifier::save`].
    pub fn load(dir: &Path, device: &B::Device) -> Result<Self> {
        let spec: RelationSpec = read_spec(dir, SPEC_FILE)?;
        let pieces = WordPieces::from_vocab(&dir.join(VOCAB_FILE))?;
        let encoder = BertEncoder::new(&spec.bert, device).map_err(|e| Error::Model {
            path: dir.join(SPEC_FILE),
            reason: e.to_string(),
        })?;
        let model = load_weights(RelationModel::new(encoder, &spec, device), dir, device)?;
        Ok(Self {
            spec,
            pieces,
            model,
            device: device.clone(),
        })
    }
}
