//! A neural mention tagger: a pretrained BERT encoder (all-MiniLM-L6-v2 by
//! default) with one token-classification head per training task, fine-tuned
//! fully or with LoRA on PubTator corpora.
//!
//! The encoder is [`genolens_transformer::bert::BertEncoder`] on burn, so the
//! tagger trains and runs on the same devices as the genotype transformer and
//! uses its LoRA adapters. Each *task* is a corpus' annotation scheme (BioRED:
//! genes, diseases, variants; NCBI-disease: diseases) with its own BIO head on
//! the shared encoder: the corpora annotate different things with different
//! guidelines, so one head per scheme avoids teaching the model that the other
//! corpus' mentions are "outside". A kind is read at inference from the task
//! that names the fewest kinds among those that have it (the specialist: NCBI
//! for diseases).
//!
//! Layout of a saved tagger directory: `tagger.json` ([`TaggerSpec`]),
//! `vocab.txt`, `weights.mpk` (burn named MessagePack, LoRA merged).

mod checkpoint;
mod link;
mod pieces;
mod relation;
mod train;

use std::path::Path;

use burn_nn::{Linear, LinearConfig};
use genolens_io::atomic::commit_all;
use genolens_io::corpus::{Corpus, EntityType};
use genolens_io::AtomicFile;
use genolens_transformer::bert::{BertConfig, BertEncoder};
use genolens_transformer::burn;
use genolens_transformer::burn::module::Module;
use genolens_transformer::burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use genolens_transformer::burn::tensor::backend::Backend;
use genolens_transformer::burn::tensor::{Int, Tensor, TensorData};
use genolens_transformer::model::with_stable_ids;
use genolens_transformer::CpuInference;

pub use checkpoint::{
    CheckpointState, RelationCheckpoint, RelationHead, RelationTrainerState, RunIdentity,
    TaggerCheckpoint, TaggerTrainerState, TrainerState, TrainingCheckpoint,
};
pub use genolens_transformer::finetune::Control;
pub use link::{link_mentions, union_mentions, LinkCounts};
pub use pieces::{
    begin_label, bio_labels, decode_bio, windows, Alignment, Piece, WordPieces, IGNORED, OUTSIDE,
};
pub use relation::{
    train_relations, RelationClassifier, RelationEpoch, RelationSpec, RelationTraining,
    TrainedRelations,
};
pub use train::{
    train_tagger, EpochReport, LabelledCorpus, TaggerTraining, TrainOptions, TrainProgress,
    TrainedTagger,
};

use crate::error::{Error, Result};
use crate::eval::SpanScores;
use crate::mention::{gold_mentions, Mention, MentionKind};
use crate::preprocess::Span;

/// One annotation scheme: the kinds its head tags, in label order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskSpec {
    /// Short name (`biored`, `ncbi-disease`).
    pub name: String,
    /// Kinds tagged, in label order (`B-`/`I-` of kind `k` are `1 + 2k`, `2 + 2k`).
    pub kinds: Vec<MentionKind>,
}

impl TaskSpec {
    /// Labels of the head: O plus B/I per kind.
    pub fn n_labels(&self) -> usize {
        1 + 2 * self.kinds.len()
    }

    /// BioRED's genes, diseases and variants.
    pub fn biored() -> Self {
        Self {
            name: "biored".into(),
            kinds: vec![
                MentionKind::Gene,
                MentionKind::Disease,
                MentionKind::Variant,
            ],
        }
    }

    /// NCBI-disease's diseases.
    pub fn ncbi_disease() -> Self {
        Self {
            name: "ncbi-disease".into(),
            kinds: vec![MentionKind::Disease],
        }
    }

    /// The kind number of a corpus entity type under this task's scheme
    /// (BioRED's and NCBI-disease's types), if the task tags it.
    pub fn kind_of(&self, t: EntityType) -> Option<usize> {
        let kind = match t {
            EntityType::GeneOrGeneProduct => MentionKind::Gene,
            EntityType::SequenceVariant => MentionKind::Variant,
            EntityType::DiseaseOrPhenotypicFeature
            | EntityType::SpecificDisease
            | EntityType::DiseaseClass
            | EntityType::Modifier
            | EntityType::CompositeMention => MentionKind::Disease,
            _ => return None,
        };
        self.kinds.iter().position(|&k| k == kind)
    }
}

/// What a saved tagger is: encoder sizes, tasks, window length.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaggerSpec {
    /// The encoder's sizes.
    pub bert: BertConfig,
    /// The heads, in order.
    pub tasks: Vec<TaskSpec>,
    /// Most word pieces per window, `[CLS]` and `[SEP]` not counted.
    pub max_pieces: usize,
}

impl TaggerSpec {
    /// For each kind any task tags: the task it is read from at inference
    /// (the one naming the fewest kinds; the first on ties).
    pub fn sources(&self) -> Vec<(MentionKind, usize)> {
        let mut out: Vec<(MentionKind, usize)> = Vec::new();
        for (t, task) in self.tasks.iter().enumerate() {
            for &kind in &task.kinds {
                match out.iter_mut().find(|(k, _)| *k == kind) {
                    Some(entry) if self.tasks[entry.1].kinds.len() > task.kinds.len() => {
                        entry.1 = t
                    }
                    Some(_) => {}
                    None => out.push((kind, t)),
                }
            }
        }
        out
    }
}

/// The encoder and its heads (crate-private: burn tensors stay out of this
/// crate's public API).
#[derive(Module, Debug)]
pub(crate) struct TaggerModel<B: Backend> {
    encoder: BertEncoder<B>,
    heads: Vec<Linear<B>>,
}

impl<B: Backend> TaggerModel<B> {
    /// An encoder (pretrained or not) with fresh heads for `tasks`.
    pub(crate) fn new(encoder: BertEncoder<B>, tasks: &[TaskSpec], device: &B::Device) -> Self {
        let d = encoder.hidden_size();
        Self {
            heads: tasks
                .iter()
                .map(|t| LinearConfig::new(d, t.n_labels()).init(device))
                .collect(),
            encoder,
        }
    }

    /// Label scores `[batch, len, labels of task]`.
    pub(crate) fn logits(
        &self,
        task: usize,
        ids: Tensor<B, 2, Int>,
        mask: Tensor<B, 2>,
    ) -> Tensor<B, 3> {
        let hidden = self.encoder.forward(ids, mask);
        self.heads[task].forward(hidden)
    }

    fn into_parts(self) -> (BertEncoder<B>, Vec<Linear<B>>) {
        (self.encoder, self.heads)
    }

    fn from_parts(encoder: BertEncoder<B>, heads: Vec<Linear<B>>) -> Self {
        Self { encoder, heads }
    }
}

/// Windows of word-piece ids, padded into one batch: ids `[n, len]` and the
/// attention mask.
pub(crate) fn batch_tensors<B: Backend>(
    windows: &[&[i64]],
    device: &B::Device,
) -> (Tensor<B, 2, Int>, Tensor<B, 2>, usize) {
    let len = windows.iter().map(|w| w.len()).max().unwrap_or(0).max(1);
    let n = windows.len();
    let mut ids = vec![0i64; n * len];
    let mut mask = vec![0f32; n * len];
    for (r, w) in windows.iter().enumerate() {
        ids[r * len..r * len + w.len()].copy_from_slice(w);
        mask[r * len..r * len + w.len()].fill(1.0);
    }
    (
        Tensor::from_data(TensorData::new(ids, [n, len]), device),
        Tensor::from_data(TensorData::new(mask, [n, len]), device),
        len,
    )
}

/// A text split into model windows: pieces and, per window, its range of
/// pieces and its ids with `[CLS]`/`[SEP]`.
pub(crate) struct EncodedText {
    pub(crate) pieces: Vec<Piece>,
    pub(crate) windows: Vec<(std::ops::Range<usize>, Vec<i64>)>,
}

pub(crate) fn encode_text(wp: &WordPieces, text: &str, max_pieces: usize) -> EncodedText {
    let pieces = wp.encode(text);
    let windows = windows(&pieces, max_pieces)
        .into_iter()
        .map(|r| {
            let mut ids = Vec::with_capacity(r.len() + 2);
            ids.push(wp.cls());
            ids.extend(pieces[r.clone()].iter().map(|p| p.id));
            ids.push(wp.sep());
            (r, ids)
        })
        .collect();
    EncodedText { pieces, windows }
}

/// Windows scored per forward pass at inference.
const INFERENCE_BATCH: usize = 16;

/// Per-piece labels of many texts under each of `tasks` (argmax of each
/// head; `result[i][t]` for `tasks[i]` and text `t`). The encoder runs once
/// per window, whatever the number of heads.
pub(crate) fn predict_labels<B: Backend>(
    model: &TaggerModel<B>,
    tasks: &[usize],
    texts: &[EncodedText],
    device: &B::Device,
) -> Result<Vec<Vec<Vec<u8>>>> {
    let empty: Vec<Vec<u8>> = texts
        .iter()
        .map(|t| vec![OUTSIDE; t.pieces.len()])
        .collect();
    let mut labels = vec![empty; tasks.len()];
    // Longest windows first, so batches pad little.
    let mut all: Vec<(usize, usize)> = texts
        .iter()
        .enumerate()
        .flat_map(|(t, e)| (0..e.windows.len()).map(move |w| (t, w)))
        .collect();
    all.sort_by_key(|&(t, w)| std::cmp::Reverse(texts[t].windows[w].1.len()));
    for chunk in all.chunks(INFERENCE_BATCH) {
        let ids: Vec<&[i64]> = chunk
            .iter()
            .map(|&(t, w)| texts[t].windows[w].1.as_slice())
            .collect();
        let (ids, mask, len) = batch_tensors::<B>(&ids, device);
        let hidden = model.encoder.forward(ids, mask);
        for (i, &task) in tasks.iter().enumerate() {
            let best: Vec<i64> = model.heads[task]
                .forward(hidden.clone())
                .argmax(2)
                .into_data()
                .convert::<i64>()
                .into_vec()
                .map_err(|e| Error::invalid(format!("tagger output: {e:?}")))?;
            for (r, &(t, w)) in chunk.iter().enumerate() {
                let range = texts[t].windows[w].0.clone();
                for (j, piece) in range.enumerate() {
                    // +1: position 0 is [CLS].
                    labels[i][t][piece] = best[r * len + j + 1] as u8;
                }
            }
        }
    }
    Ok(labels)
}

/// A trained tagger, ready for inference.
#[derive(Debug)]
pub struct NeuralTagger<B: Backend = CpuInference> {
    spec: TaggerSpec,
    pieces: WordPieces,
    model: TaggerModel<B>,
    device: B::Device,
}

/// File names inside a tagger directory.
const SPEC_FILE: &str = "tagger.json";
const VOCAB_FILE: &str = "vocab.txt";
const WEIGHTS_FILE: &str = "weights";

impl<B: Backend> NeuralTagger<B> {
    pub(crate) fn from_parts(
        spec: TaggerSpec,
        pieces: WordPieces,
        model: TaggerModel<B>,
        device: B::Device,
    ) -> Self {
        Self {
            spec,
            pieces,
            model,
            device,
        }
    }

    /// Loads a tagger directory written by [`NeuralTagger::save`].
    pub fn load(dir: &Path, device: &B::Device) -> Result<Self> {
        let spec: TaggerSpec = read_spec(dir, SPEC_FILE)?;
        let pieces = WordPieces::from_vocab(&dir.join(VOCAB_FILE))?;
        let encoder = BertEncoder::new(&spec.bert, device).map_err(|e| Error::Model {
            path: dir.join(SPEC_FILE),
            reason: e.to_string(),
        })?;
        let model = load_weights(TaggerModel::new(encoder, &spec.tasks, device), dir, device)?;
        Ok(Self {
            model,
            spec,
            pieces,
            device: device.clone(),
        })
    }

    /// Writes `tagger.json`, `vocab.txt` (copied from `vocab`) and
    /// `weights.mpk` into `dir` (created if needed).
    pub fn save(&self, dir: &Path, vocab: &Path) -> Result<()> {
        save_dir(dir, SPEC_FILE, &self.spec, vocab, &self.model)
    }

    /// What the tagger is.
    pub fn spec(&self) -> &TaggerSpec {
        &self.spec
    }

    /// Mentions of every kind in `texts` (byte spans; ids left empty, for
    /// linking). Each kind is read from its source task ([`TaggerSpec::sources`]).
    pub fn tag(&self, texts: &[&str]) -> Result<Vec<Vec<Mention>>> {
        let encoded: Vec<EncodedText> = texts
            .iter()
            .map(|t| encode_text(&self.pieces, t, self.spec.max_pieces))
            .collect();
        let mut out: Vec<Vec<Mention>> = vec![Vec::new(); texts.len()];
        let sources = self.spec.sources();
        let mut tasks: Vec<usize> = sources.iter().map(|&(_, t)| t).collect();
        tasks.sort_unstable();
        tasks.dedup();
        let per_task = predict_labels(&self.model, &tasks, &encoded, &self.device)?;
        for (&task, labels) in tasks.iter().zip(&per_task) {
            for (i, text_labels) in labels.iter().enumerate() {
                for (span, k) in decode_bio(&encoded[i].pieces, text_labels) {
                    let kind = self.spec.tasks[task].kinds[k];
                    if sources.contains(&(kind, task)) {
                        out[i].push(Mention {
                            span,
                            kind,
                            id: String::new(),
                        });
                    }
                }
            }
        }
        for mentions in &mut out {
            mentions.sort_by_key(|m| (m.span.start, m.span.end));
        }
        Ok(out)
    }

    /// Strict span scores of `kind` against a corpus' gold annotations whose
    /// type passes `gold_type`, reading `kind` from task `task`.
    pub fn evaluate(
        &self,
        corpus: &Corpus,
        task: usize,
        kind: MentionKind,
        gold_type: impl Fn(EntityType) -> bool,
    ) -> Result<SpanScores> {
        let k = self
            .spec
            .tasks
            .get(task)
            .and_then(|t| t.kinds.iter().position(|&x| x == kind))
            .ok_or_else(|| Error::invalid(format!("task {task} does not tag {kind}")))?;
        let scores = score_kinds(
            &self.model,
            &self.pieces,
            &self.spec,
            corpus,
            task,
            &[(k, &gold_type)],
            &self.device,
        )?;
        Ok(scores[0])
    }

    /// Strict span scores of every kind of task `task` against the gold
    /// types its scheme maps to that kind, with one pass of the model.
    pub fn evaluate_task(
        &self,
        corpus: &Corpus,
        task: usize,
    ) -> Result<Vec<(MentionKind, SpanScores)>> {
        score_task(
            &self.model,
            &self.pieces,
            &self.spec,
            corpus,
            task,
            &self.device,
        )
    }
}

/// Reads a model directory's JSON description (`file` in `dir`).
pub(crate) fn read_spec<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Result<T> {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .map_err(|reason| Error::Model { path, reason })
}

/// Loads `weights.mpk` of `dir` into a model built from its description.
pub(crate) fn load_weights<B: Backend, M: Module<B>>(
    model: M,
    dir: &Path,
    device: &B::Device,
) -> Result<M> {
    let record = NamedMpkFileRecorder::<FullPrecisionSettings>::default()
        .load(dir.join(WEIGHTS_FILE), device)
        .map_err(|e| Error::Model {
            path: dir.join(format!("{WEIGHTS_FILE}.mpk")),
            reason: e.to_string(),
        })?;
    Ok(model.load_record(record))
}

/// Writes a model directory: the description as `file`, `vocab.txt` (copied
/// from `vocab`) and `weights.mpk` (parameter ids made stable, so the same
/// weights give the same bytes), all three renamed into place together.
pub(crate) fn save_dir<B: Backend, M: Module<B>>(
    dir: &Path,
    file: &str,
    spec: &impl serde::Serialize,
    vocab: &Path,
    model: &M,
) -> Result<()> {
    let io = |path: &Path, e: std::io::Error| Error::Model {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let text =
        serde_json::to_string_pretty(spec).map_err(|e| Error::invalid(format!("{file}: {e}")))?;
    let vocab_text = std::fs::read(vocab).map_err(|e| io(vocab, e))?;
    let weights = genolens_transformer::burn::record::NamedMpkBytesRecorder::<
        FullPrecisionSettings,
    >::default()
    .record(with_stable_ids(model.clone()).into_record(), ())
    .map_err(|e| Error::invalid(format!("model weights: {e}")))?;
    // All three or none: a resumed run saves over an earlier directory.
    let mut files = Vec::new();
    for (name, bytes) in [
        (file.to_string(), text.as_bytes()),
        (VOCAB_FILE.to_string(), &vocab_text[..]),
        (format!("{WEIGHTS_FILE}.mpk"), &weights[..]),
    ] {
        let mut f = AtomicFile::create(dir.join(name))?;
        f.write_all(bytes)?;
        files.push(f);
    }
    commit_all(files)?;
    Ok(())
}

/// Strict span scores on a corpus of several kinds of one task, each
/// `(kind number, gold types it is compared with)`: the corpus is encoded and
/// the encoder run once for all of them.
pub(crate) fn score_kinds<B: Backend>(
    model: &TaggerModel<B>,
    wp: &WordPieces,
    spec: &TaggerSpec,
    corpus: &Corpus,
    task: usize,
    targets: &[(usize, &dyn Fn(EntityType) -> bool)],
    device: &B::Device,
) -> Result<Vec<SpanScores>> {
    let texts: Vec<String> = corpus.iter().map(|d| d.text()).collect();
    let encoded: Vec<EncodedText> = texts
        .iter()
        .map(|t| encode_text(wp, t, spec.max_pieces))
        .collect();
    let labels = predict_labels(model, &[task], &encoded, device)?.remove(0);
    let mut scores = vec![SpanScores::default(); targets.len()];
    for (i, doc) in corpus.iter().enumerate() {
        let decoded = decode_bio(&encoded[i].pieces, &labels[i]);
        for (&(k, gold_type), score) in targets.iter().zip(&mut scores) {
            let predicted: Vec<Span> = decoded
                .iter()
                .filter(|&&(_, kk)| kk == k)
                .map(|&(s, _)| s)
                .collect();
            let gold: Vec<Span> = gold_mentions(doc, &texts[i], gold_type)
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            score.add(SpanScores::compare(&predicted, &gold));
        }
    }
    Ok(scores)
}

/// Every kind of `task` scored against the gold types its scheme maps to it
/// ([`TaskSpec::kind_of`]), in the task's kind order.
pub(crate) fn score_task<B: Backend>(
    model: &TaggerModel<B>,
    wp: &WordPieces,
    spec: &TaggerSpec,
    corpus: &Corpus,
    task: usize,
    device: &B::Device,
) -> Result<Vec<(MentionKind, SpanScores)>> {
    let t = spec
        .tasks
        .get(task)
        .ok_or_else(|| Error::invalid(format!("there is no task {task}")))?;
    let predicates: Vec<Box<dyn Fn(EntityType) -> bool + '_>> = (0..t.kinds.len())
        .map(|k| Box::new(move |e| t.kind_of(e) == Some(k)) as Box<dyn Fn(EntityType) -> bool>)
        .collect();
    let targets: Vec<(usize, &dyn Fn(EntityType) -> bool)> = predicates
        .iter()
        .enumerate()
        .map(|(k, p)| (k, p.as_ref()))
        .collect();
    let scores = score_kinds(model, wp, spec, corpus, task, &targets, device)?;
    Ok(t.kinds.iter().copied().zip(scores).collect())
}
