//! Fine-tuning the tagger: full or LoRA, AdamW with linear warm-up and decay,
//! one head per task, the best epoch kept by development-set F1.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn_optim::{AdamWConfig, GradientsParams, Optimizer};
use genolens_io::corpus::Corpus;
use genolens_transformer::bert::{BertConfig, BertEncoder};
use genolens_transformer::burn::module::{AutodiffModule, Param};
use genolens_transformer::burn::tensor::activation::log_softmax;
use genolens_transformer::burn::tensor::backend::AutodiffBackend;
use genolens_transformer::burn::tensor::{ElementConversion, Tensor, TensorData};
use genolens_transformer::lora::{count_parameters, LoraConfig, ParameterCount};

use super::checkpoint::{
    end_epoch, start, Fingerprint, RunIdentity, TaggerCheckpoint, TaggerTrainerState,
};
use super::{
    batch_tensors, bio_labels, encode_text, score_task, Alignment, Control, NeuralTagger,
    TaggerModel, TaggerSpec, TaskSpec, WordPieces, IGNORED,
};
use crate::error::{Error, Result};
use crate::eval::SpanScores;
use crate::mention::MentionKind;
use crate::preprocess::{CharOffsets, Span};

/// A corpus annotated under one task's scheme, with an optional development
/// corpus for choosing the epoch.
#[derive(Debug, Clone)]
pub struct LabelledCorpus {
    /// Index of the task (head) in [`TaggerTraining::tasks`].
    pub task: usize,
    /// Training documents.
    pub train: Corpus,
    /// Development documents (scored after every epoch).
    pub dev: Option<Corpus>,
}

/// What to fine-tune: the pretrained encoder and the annotated corpora.
#[derive(Debug, Clone)]
pub struct TaggerTraining {
    /// A Hugging Face BERT directory: `config.json`, `model.safetensors`,
    /// `vocab.txt` (e.g. the all-MiniLM-L6-v2 that `cargo xtask text-env`
    /// installs).
    pub encoder_dir: PathBuf,
    /// The heads.
    pub tasks: Vec<TaskSpec>,
    /// The corpora, each naming its task.
    pub corpora: Vec<LabelledCorpus>,
}

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainOptions {
    /// Passes over the training windows.
    pub epochs: usize,
    /// Windows per step.
    pub batch_size: usize,
    /// Peak AdamW learning rate of the encoder (of its adapters with LoRA).
    pub learning_rate: f64,
    /// Peak AdamW learning rate of the heads, which start from scratch and
    /// so take larger steps than the pretrained encoder.
    pub head_learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Share of the steps spent warming the learning rate up from 0 (it then
    /// decays linearly to 0).
    pub warmup_fraction: f64,
    /// Most word pieces per window (`[CLS]`/`[SEP]` not counted; ≤ the encoder's
    /// positions − 2).
    pub max_pieces: usize,
    /// LoRA adapters (frozen encoder) instead of full fine-tuning.
    pub lora: Option<LoraConfig>,
    /// Seed of the batch order, the heads' initial weights and dropout.
    pub seed: u64,
    /// Use only the first this many documents of each training corpus (quick
    /// runs; `None`: all).
    pub max_documents: Option<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 3,
            batch_size: 16,
            learning_rate: 1e-4,
            head_learning_rate: 1e-3,
            weight_decay: 0.01,
            warmup_fraction: 0.1,
            max_pieces: 254,
            lora: None,
            seed: 1,
            max_documents: None,
        }
    }
}

impl TrainOptions {
    pub(crate) fn check(&self, bert: &BertConfig) -> Result<()> {
        if self.epochs == 0 || self.batch_size == 0 || self.max_pieces == 0 {
            return Err(Error::invalid(
                "tagger training needs ≥ 1 epoch, batch size and window length",
            ));
        }
        if self.max_pieces + 2 > bert.max_position_embeddings {
            return Err(Error::invalid(format!(
                "windows of {} pieces + [CLS]/[SEP] exceed the encoder's {} positions",
                self.max_pieces, bert.max_position_embeddings
            )));
        }
        for rate in [self.learning_rate, self.head_learning_rate] {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(Error::invalid(format!(
                    "learning rate {rate} is not positive"
                )));
            }
        }
        if !(0.0..1.0).contains(&self.warmup_fraction) {
            return Err(Error::invalid("warm-up fraction must be in [0, 1)"));
        }
        Ok(())
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training cross-entropy per labelled piece.
    pub train_loss: f64,
    /// Development scores: task name, kind, strict span counts.
    pub dev: Vec<(String, MentionKind, SpanScores)>,
    /// Wall time of the epoch (training and scoring), seconds.
    pub seconds: f64,
}

impl EpochReport {
    /// Mean development F1 over the task–kind pairs (`None` without any).
    pub fn mean_dev_f1(&self) -> Option<f64> {
        if self.dev.is_empty() {
            None
        } else {
            Some(self.dev.iter().map(|(_, _, s)| s.f1()).sum::<f64>() / self.dev.len() as f64)
        }
    }
}

/// Where a training run stands, for progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Steps done in this epoch.
    pub step: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// This step's loss.
    pub loss: f64,
}

/// The outcome of [`train_tagger`].
#[derive(Debug)]
pub struct TrainedTagger<B: AutodiffBackend> {
    /// The tagger at the best epoch (adapters merged), on the inference backend.
    pub tagger: NeuralTagger<B::InnerBackend>,
    /// Every epoch's figures.
    pub epochs: Vec<EpochReport>,
    /// 1-based epoch kept (best mean development F1; the last without dev sets).
    pub best_epoch: usize,
    /// Parameters of the model as trained (LoRA: adapters and heads trainable).
    pub parameters: ParameterCount,
    /// How the training mentions fit word-piece bounds.
    pub alignment: Alignment,
    /// Training windows per task.
    pub windows: Vec<usize>,
    /// `on_epoch` stopped the run before its last epoch (the tagger is the
    /// best epoch so far).
    pub stopped: bool,
}

/// A training window: task, ids with `[CLS]`/`[SEP]`, labels aligned to the ids.
struct Example {
    task: usize,
    ids: Vec<i64>,
    labels: Vec<u8>,
}

fn examples(
    wp: &WordPieces,
    tasks: &[TaskSpec],
    corpus: &LabelledCorpus,
    max_pieces: usize,
    max_documents: Option<usize>,
) -> (Vec<Example>, Alignment) {
    let task = &tasks[corpus.task];
    let mut out = Vec::new();
    let mut stats = Alignment::default();
    let docs = corpus
        .train
        .iter()
        .take(max_documents.unwrap_or(usize::MAX));
    for doc in docs {
        let text = doc.text();
        let encoded = encode_text(wp, &text, max_pieces);
        let chars = CharOffsets::new(&text);
        let gold: Vec<(Span, usize)> = doc
            .annotations
            .iter()
            .filter_map(|a| {
                let k = task.kind_of(a.entity_type)?;
                let span = Span::new(chars.byte_of(a.start)?, chars.byte_of(a.end)?);
                Some((span, k))
            })
            .collect();
        let (labels, s) = bio_labels(&encoded.pieces, &gold);
        stats.add(s);
        for (range, ids) in encoded.windows {
            let mut l = Vec::with_capacity(ids.len());
            l.push(IGNORED);
            l.extend_from_slice(&labels[range]);
            l.push(IGNORED);
            out.push(Example {
                task: corpus.task,
                ids,
                labels: l,
            });
        }
    }
    (out, stats)
}

/// SplitMix64: the batch order's random stream.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Batches of example indices from each example's `(group, length)`: within
/// a group, examples of similar length together (sorted, then cut), the batch
/// order shuffled with `seed`.
pub(crate) fn batches(keys: &[(usize, usize)], size: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (keys[i], i));
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match out.last_mut() {
            Some(b) if b.len() < size && keys[b[0]].0 == keys[i].0 => b.push(i),
            _ => out.push(vec![i]),
        }
    }
    let mut state = seed;
    for i in (1..out.len()).rev() {
        let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
        out.swap(i, j);
    }
    out
}

/// Linear warm-up over the first `warmup_fraction` of `total` steps, then
/// linear decay to 0: the share of the peak learning rate at each step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    total: usize,
    warmup: usize,
}

impl Schedule {
    pub(crate) fn new(total: usize, warmup_fraction: f64) -> Self {
        let total = total.max(1);
        let warmup = ((total as f64 * warmup_fraction).ceil() as usize).max(1);
        Self { total, warmup }
    }

    pub(crate) fn share(&self, step: usize) -> f64 {
        let up = (step as f64 + 1.0) / self.warmup as f64;
        let down = self.total.saturating_sub(step) as f64
            / (self.total - self.warmup.min(self.total - 1)).max(1) as f64;
        up.min(down).clamp(0.0, 1.0)
    }
}

/// The seed of an epoch's batch order and dropout.
pub(crate) fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(epoch as u64)
}

/// Reads a Hugging Face BERT directory's `config.json`.
pub(crate) fn read_bert_config(dir: &Path) -> Result<BertConfig> {
    let path = dir.join("config.json");
    std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| BertConfig::from_json(&text).map_err(|e| e.to_string()))
        .map_err(|reason| Error::Model { path, reason })
}

/// The pretrained encoder of a BERT directory (`model.safetensors`), with
/// LoRA adapters when asked for.
pub(crate) fn pretrained_encoder<B: AutodiffBackend>(
    dir: &Path,
    bert: &BertConfig,
    lora: Option<&LoraConfig>,
    device: &B::Device,
) -> Result<BertEncoder<B>> {
    let path = dir.join("model.safetensors");
    let encoder = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            BertEncoder::<B>::from_safetensors(bert, &bytes, device).map_err(|e| e.to_string())
        })
        .map_err(|reason| Error::Model { path, reason })?;
    match lora {
        Some(lora) => encoder
            .with_lora(lora, device)
            .map_err(|e| Error::invalid(e.to_string())),
        None => Ok(encoder),
    }
}

/// A model fine-tuned as a pretrained encoder plus fresh heads, each part
/// with its own AdamW and peak learning rate.
pub(crate) trait EncoderWithHeads<B: AutodiffBackend>: AutodiffModule<B> {
    /// The gradients of the encoder's parameters and of the heads'.
    fn part_gradients(&self, grads: &mut B::Gradients) -> (GradientsParams, GradientsParams);
}

/// One optimisation step on a batch's `loss`: the encoder and the heads
/// stepped by their optimisers at `share` of their peak learning rates.
/// Returns the stepped model and the loss; a loss that is not finite is an
/// error naming the epoch and step (`at`).
pub(crate) fn optimise<B, M, O>(
    model: M,
    loss: Tensor<B, 1>,
    optimisers: &mut (O, O),
    (options, share): (&TrainOptions, f64),
    at: (usize, usize),
) -> Result<(M, f64)>
where
    B: AutodiffBackend,
    M: EncoderWithHeads<B>,
    O: Optimizer<M, B>,
{
    let value = loss.clone().into_scalar().elem::<f64>();
    if !value.is_finite() {
        return Err(Error::invalid(format!(
            "the training loss became {value} at epoch {}, step {}: lower the learning rate",
            at.0, at.1
        )));
    }
    let mut grads = loss.backward();
    let (encoder, heads) = model.part_gradients(&mut grads);
    let model = optimisers
        .0
        .step(options.learning_rate * share, model, encoder);
    let model = optimisers
        .1
        .step(options.head_learning_rate * share, model, heads);
    Ok((model, value))
}

impl<B: AutodiffBackend> EncoderWithHeads<B> for TaggerModel<B> {
    fn part_gradients(&self, grads: &mut B::Gradients) -> (GradientsParams, GradientsParams) {
        let heads = GradientsParams::from_module(grads, &self.heads);
        let encoder = GradientsParams::from_module(grads, &self.encoder);
        (encoder, heads)
    }
}

/// Mean cross-entropy over the labelled positions of a batch.
fn batch_loss<B: AutodiffBackend>(
    model: &TaggerModel<B>,
    examples: &[&Example],
    n_labels: usize,
    device: &B::Device,
) -> (Tensor<B, 1>, usize) {
    let ids: Vec<&[i64]> = examples.iter().map(|e| e.ids.as_slice()).collect();
    let (ids, mask, len) = batch_tensors::<B>(&ids, device);
    let n = examples.len();
    let mut target = vec![0f32; n * len * n_labels];
    let mut count = 0usize;
    for (r, e) in examples.iter().enumerate() {
        for (j, &label) in e.labels.iter().enumerate() {
            if label != IGNORED {
                target[(r * len + j) * n_labels + usize::from(label)] = 1.0;
                count += 1;
            }
        }
    }
    let target = Tensor::<B, 3>::from_data(TensorData::new(target, [n, len, n_labels]), device);
    let logp = log_softmax(model.logits(examples[0].task, ids, mask), 2);
    let loss = (logp * target).sum().neg().div_scalar(count.max(1) as f64);
    (loss, count)
}

/// Fine-tunes the encoder in `training.encoder_dir` with one head per task.
///
/// Every epoch ends with the development corpora scored (strict span F1 per
/// task and kind); the epoch with the best mean F1 is kept. `progress` hears
/// of every step. After each epoch `on_epoch` receives its figures and a
/// [`TaggerCheckpoint`] to resume from, and may stop the run. With `resume`,
/// the model, optimizers and kept epoch come from the checkpoint (written
/// with the same settings and data, the number of epochs aside) and training
/// continues after its last epoch: a run stopped and resumed ends with the
/// same weights as one never stopped. (Asking a finished run for more epochs
/// continues it under the longer learning-rate schedule.) The same seed
/// gives the same weights.
pub fn train_tagger<B: AutodiffBackend>(
    training: &TaggerTraining,
    options: &TrainOptions,
    device: &B::Device,
    resume: Option<&TaggerCheckpoint>,
    progress: &mut dyn FnMut(&TrainProgress),
    on_epoch: &mut dyn FnMut(&EpochReport, &TaggerCheckpoint) -> Control,
) -> Result<TrainedTagger<B>> {
    let dir = &training.encoder_dir;
    let bert = read_bert_config(dir)?;
    options.check(&bert)?;
    if training.tasks.is_empty() || training.corpora.is_empty() {
        return Err(Error::invalid("tagger training needs a task and a corpus"));
    }
    if let Some(c) = training
        .corpora
        .iter()
        .find(|c| c.task >= training.tasks.len())
    {
        return Err(Error::invalid(format!(
            "a corpus names task {}, but there are {} tasks",
            c.task,
            training.tasks.len()
        )));
    }
    let vocab = dir.join("vocab.txt");
    let wp = WordPieces::from_vocab(&vocab)?;
    let mut all = Vec::new();
    let mut alignment = Alignment::default();
    for corpus in &training.corpora {
        let (ex, stats) = examples(
            &wp,
            &training.tasks,
            corpus,
            options.max_pieces,
            options.max_documents,
        );
        all.extend(ex);
        alignment.add(stats);
    }
    if all.is_empty() {
        return Err(Error::invalid("the training corpora hold no text"));
    }
    let windows: Vec<usize> = (0..training.tasks.len())
        .map(|t| all.iter().filter(|e| e.task == t).count())
        .collect();
    let identity = {
        let mut hash = Fingerprint::new();
        for e in &all {
            hash.add(e.task as u64);
            hash.add(e.ids.len() as u64);
            e.ids.iter().for_each(|&id| hash.add(id as u64));
            e.labels.iter().for_each(|&l| hash.add(u64::from(l)));
        }
        let mut dev_documents = Vec::new();
        for corpus in &training.corpora {
            let dev = corpus.dev.as_ref().map_or(&[][..], |c| &c.documents[..]);
            hash.add(dev.len() as u64);
            for doc in dev {
                hash.add_str(&doc.pmid);
                hash.add_str(&doc.title);
                hash.add_str(&doc.abstract_text);
                hash.add(doc.annotations.len() as u64);
            }
            dev_documents.push(dev.len());
        }
        RunIdentity {
            bert: bert.clone(),
            data_hash: hash.finish(),
            counts: format!(
                "{windows:?} training windows per scheme, {dev_documents:?} development documents"
            ),
        }
    };
    if let Some(why) = resume.and_then(|c| c.state.mismatch(options, &training.tasks, &identity)) {
        return Err(Error::Checkpoint(why));
    }

    B::seed(device, options.seed);
    let encoder = pretrained_encoder::<B>(dir, &bert, options.lora.as_ref(), device)?;
    let mut model = TaggerModel::new(encoder, &training.tasks, device);
    // Heads start at the label frequencies (bias = log share), so the first
    // steps need not spend themselves learning that most pieces are outside.
    for (t, head) in model.heads.iter_mut().enumerate() {
        let n = training.tasks[t].n_labels();
        let mut counts = vec![1.0f32; n];
        for e in all.iter().filter(|e| e.task == t) {
            for &l in e.labels.iter().filter(|&&l| l != IGNORED) {
                counts[usize::from(l)] += 1.0;
            }
        }
        let total: f32 = counts.iter().sum();
        let log_share: Vec<f32> = counts.iter().map(|c| (c / total).ln()).collect();
        head.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(log_share, [n]),
            device,
        )));
    }
    let parameters = count_parameters(&model);
    let spec = TaggerSpec {
        bert,
        tasks: training.tasks.clone(),
        max_pieces: options.max_pieces,
    };

    let adamw = AdamWConfig::new().with_weight_decay(options.weight_decay as f32);
    let optimisers = (
        adamw.init::<B, TaggerModel<B>>(),
        adamw.init::<B, TaggerModel<B>>(),
    );
    let fresh = TaggerTrainerState::new(options, training.tasks.clone(), identity);
    // `best`: the kept epoch's weights.
    let (mut model, mut optimisers, mut best, mut state) =
        start(resume, model, optimisers, fresh, device)?;
    let keys: Vec<(usize, usize)> = all.iter().map(|e| (e.task, e.ids.len())).collect();
    let steps_per_epoch = batches(&keys, options.batch_size, 0).len();
    let schedule = Schedule::new(steps_per_epoch * options.epochs, options.warmup_fraction);
    let mut stopped = false;
    for epoch in state.epochs_done + 1..=options.epochs {
        let started = Instant::now();
        let seed = epoch_seed(options.seed, epoch);
        B::seed(device, seed);
        let (mut sum, mut weight) = (0.0, 0.0);
        let order = batches(&keys, options.batch_size, seed);
        for (i, batch) in order.iter().enumerate() {
            let chosen: Vec<&Example> = batch.iter().map(|&j| &all[j]).collect();
            let n_labels = training.tasks[chosen[0].task].n_labels();
            let (loss, count) = batch_loss(&model, &chosen, n_labels, device);
            let share = schedule.share(state.steps_done);
            let value;
            (model, value) = optimise(
                model,
                loss,
                &mut optimisers,
                (options, share),
                (epoch, i + 1),
            )?;
            sum += value * count as f64;
            weight += count as f64;
            state.steps_done += 1;
            progress(&TrainProgress {
                epoch,
                step: i + 1,
                steps_per_epoch,
                loss: value,
            });
        }
        let inference = model.valid();
        let mut dev = Vec::new();
        for corpus in &training.corpora {
            let Some(dev_corpus) = &corpus.dev else {
                continue;
            };
            let name = &training.tasks[corpus.task].name;
            for (kind, scores) in
                score_task(&inference, &wp, &spec, dev_corpus, corpus.task, device)?
            {
                dev.push((name.clone(), kind, scores));
            }
        }
        let report = EpochReport {
            epoch,
            train_loss: sum / weight.max(1.0),
            dev,
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
    let (encoder, heads) = kept.into_parts();
    let merged = TaggerModel::from_parts(encoder.merge_lora(), heads);
    let tagger = NeuralTagger::from_parts(spec, wp, merged.valid(), device.clone());
    Ok(TrainedTagger {
        tagger,
        epochs: state.history,
        best_epoch: state.best_epoch,
        parameters,
        alignment,
        windows,
        stopped,
    })
}
