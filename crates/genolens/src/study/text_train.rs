//! The tagger training step (`genolens text-train --task ner`): fine-tunes a
//! pretrained BERT encoder (fully or with LoRA) into a mention tagger with one
//! head per corpus annotation scheme, keeps the epoch with the best
//! development F1, scores test corpora, and writes the tagger directory with
//! its metrics, a learning-curve plot and a log. `OUT/checkpoints/tagger.ckpt`
//! is written after every epoch; `resume` continues from it. (The relation
//! step, [`super::text_relations`], shares the options and checkpoint files.)
//!
//! Each corpus' scheme comes from its entity types: NCBI-disease's
//! (`SpecificDisease`, `DiseaseClass`, `Modifier`, `CompositeMention`) make
//! it an `ncbi-disease` corpus, anything else is read as BioRED's (genes,
//! diseases, variants). `SCHEME:FILE` names the scheme explicitly.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::io::corpus::{Corpus, EntityType, MentionCheck};
use crate::io::report::{write_bytes, write_text};
use crate::plot::{LinePlot, LineStyle};
use crate::study::progress::Progress;
use crate::study::RunLog;
use crate::text::eval::SpanScores;
use crate::text::tagger::{
    train_tagger, CheckpointState, Control, EpochReport, LabelledCorpus, TaggerTraining, TaskSpec,
    TrainOptions, TrainProgress, TrainerState, TrainingCheckpoint,
};
use crate::text::Error as TextError;
use crate::transformer::burn::tensor::backend::AutodiffBackend;
use crate::transformer::device::{BackendTask, ComputeDevice};
use crate::transformer::lora::LoraConfig;
use crate::{Error, Result};

/// A corpus file and the annotation scheme it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeFile {
    /// `biored` or `ncbi-disease`; `None`: from the file's entity types.
    pub scheme: Option<String>,
    /// The PubTator file.
    pub path: PathBuf,
}

impl SchemeFile {
    /// Parses `FILE` or `SCHEME:FILE` (the scheme one of the known names).
    pub fn parse(arg: &str) -> Self {
        for scheme in [TaskSpec::biored().name, TaskSpec::ncbi_disease().name] {
            if let Some(path) = arg.strip_prefix(&format!("{scheme}:")) {
                return Self {
                    scheme: Some(scheme),
                    path: path.into(),
                };
            }
        }
        Self {
            scheme: None,
            path: arg.into(),
        }
    }
}

/// Everything `genolens text-train` takes (both tasks).
#[derive(Debug, Clone)]
pub struct TextTrainOptions {
    /// The pretrained BERT directory (`config.json`, `model.safetensors`,
    /// `vocab.txt`).
    pub encoder: PathBuf,
    /// Training corpora.
    pub train: Vec<SchemeFile>,
    /// Development corpora (their scheme must have a training corpus).
    pub dev: Vec<SchemeFile>,
    /// Test corpora, scored once with the kept epoch.
    pub test: Vec<SchemeFile>,
    /// Optimisation settings (LoRA among them).
    pub training: TrainOptions,
    /// Compute device.
    pub device: ComputeDevice,
    /// Output directory.
    pub out: PathBuf,
    /// Continue from `OUT/checkpoints/tagger.ckpt` (`relation.ckpt` for
    /// relations; written after every epoch) when it exists.
    pub resume: bool,
    /// Relation training: give the classifier head the pairs' salience
    /// features (co-mention counts, title co-mention) beside the text.
    pub salience: bool,
}

impl TextTrainOptions {
    /// The log line of the encoder and optimisation settings.
    pub fn settings_line(&self) -> String {
        let t = &self.training;
        format!(
            "encoder: {}; {}; epochs {}, batch {}, learning rate {} (heads {}), weight decay \
             {}, warm-up {}, windows of ≤ {} word pieces, seed {}, device {}",
            self.encoder.display(),
            match &t.lora {
                Some(l) => format!("LoRA rank {} alpha {}", l.rank, l.alpha),
                None => "full fine-tuning".into(),
            },
            t.epochs,
            t.batch_size,
            t.learning_rate,
            t.head_learning_rate,
            t.weight_decay,
            t.warmup_fraction,
            t.max_pieces,
            t.seed,
            self.device.as_str()
        )
    }
}

/// Scores of one scheme–kind pair on a test corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct TestScore {
    /// The test file.
    pub file: PathBuf,
    /// The scheme (head).
    pub scheme: String,
    /// The mention kind.
    pub kind: crate::text::mention::MentionKind,
    /// Strict span counts.
    pub scores: SpanScores,
}

/// What [`text_train`] did.
#[derive(Debug, Clone)]
pub struct TextTrainOutcome {
    /// Per epoch.
    pub epochs: Vec<EpochReport>,
    /// 1-based epoch kept.
    pub best_epoch: usize,
    /// Trainable and total parameters.
    pub trainable: usize,
    /// All parameters.
    pub total: usize,
    /// Test scores of the kept epoch.
    pub test: Vec<TestScore>,
    /// Files written, the log last.
    pub written: Vec<PathBuf>,
}

fn is_ncbi_type(t: EntityType) -> bool {
    matches!(
        t,
        EntityType::SpecificDisease
            | EntityType::DiseaseClass
            | EntityType::Modifier
            | EntityType::CompositeMention
    )
}

/// The corpus and the name of its scheme.
fn read_scheme_file(file: &SchemeFile) -> Result<(Corpus, String)> {
    // NCBI-disease's training file has a mention with trailing spaces its
    // offsets leave out (see MentionCheck::TrimWhitespace).
    let corpus = Corpus::read_pubtator_with(&file.path, MentionCheck::TrimWhitespace)?;
    let scheme = match &file.scheme {
        Some(s) => s.clone(),
        None if corpus
            .iter()
            .flat_map(|d| &d.annotations)
            .any(|a| is_ncbi_type(a.entity_type)) =>
        {
            TaskSpec::ncbi_disease().name
        }
        None => TaskSpec::biored().name,
    };
    Ok((corpus, scheme))
}

struct Job<'a> {
    options: &'a TextTrainOptions,
    training: TaggerTraining,
    tests: Vec<(PathBuf, usize, Corpus)>,
    progress: &'a dyn Progress,
}

/// What the device job hands back.
type JobOutput = Result<(
    Vec<EpochReport>,
    usize,
    (usize, usize),
    Vec<TestScore>,
    String,
)>;

/// Where `text-train` keeps a checkpoint (`tagger.ckpt`, `relation.ckpt`).
fn checkpoint_path(out: &Path, file: &str) -> PathBuf {
    out.join("checkpoints").join(file)
}

/// The checkpoint at `path` when resuming and it exists.
fn read_checkpoint<S: CheckpointState>(
    path: &Path,
    resume: bool,
) -> Result<Option<TrainingCheckpoint<S>>> {
    if !(resume && path.exists()) {
        return Ok(None);
    }
    std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| TrainingCheckpoint::from_bytes(&bytes).map_err(|e| e.to_string()))
        .map(Some)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

/// Progress bars of a training run: one per epoch, counting steps.
struct EpochBars<'a> {
    progress: &'a dyn Progress,
    epochs: usize,
    current: usize,
}

impl<'a> EpochBars<'a> {
    fn new(progress: &'a dyn Progress, epochs: usize) -> Self {
        Self {
            progress,
            epochs,
            current: 0,
        }
    }

    /// Shows a step (starting the epoch's bar at its first step).
    fn step(&mut self, p: &TrainProgress) {
        if p.epoch != self.current {
            self.finish();
            self.current = p.epoch;
            self.progress.start(
                &format!("epoch {}/{}", p.epoch, self.epochs),
                Some(p.steps_per_epoch),
                "steps",
            );
        }
        self.progress.set(p.step);
        self.progress.message(&format!("loss {:.4}", p.loss));
    }

    /// Closes the open bar, if any.
    fn finish(&mut self) {
        if self.current != 0 {
            self.progress.finish();
            self.current = 0;
        }
    }
}

/// A training error, the checkpoint named when it is the checkpoint that
/// does not fit.
fn training_error(path: &Path) -> impl Fn(TextError) -> Error + '_ {
    move |e| match e {
        TextError::Checkpoint(_) => Error::Invalid(format!("{}: {e}", path.display())),
        e => e.into(),
    }
}

/// Runs a training call with checkpoints in `OUT/checkpoints/FILE`: reads
/// the checkpoint when resuming, shows progress bars, writes a checkpoint
/// after every epoch (a failed write stops the run and is the error), and
/// names the checkpoint in the error when it does not fit. Returns the
/// call's result and, when it resumed, the checkpoint and its epochs done.
#[allow(clippy::type_complexity)]
pub(crate) fn with_checkpoints<H, D, T>(
    options: &TextTrainOptions,
    file: &str,
    progress: &dyn Progress,
    train: impl FnOnce(
        Option<&TrainingCheckpoint<TrainerState<H, D>>>,
        &mut dyn FnMut(&TrainProgress),
        &mut dyn FnMut(&H, &TrainingCheckpoint<TrainerState<H, D>>) -> Control,
    ) -> std::result::Result<T, TextError>,
) -> Result<(T, Option<(PathBuf, usize)>)>
where
    TrainerState<H, D>: CheckpointState,
{
    let path = checkpoint_path(&options.out, file);
    let resume = read_checkpoint(&path, options.resume)?;
    let mut bars = EpochBars::new(progress, options.training.epochs);
    let mut write_error = None;
    let trained = train(
        resume.as_ref(),
        &mut |p| bars.step(p),
        &mut |_, checkpoint| match write_checkpoint(&path, checkpoint) {
            Ok(()) => Control::Continue,
            Err(e) => {
                write_error = Some(e);
                Control::Stop
            }
        },
    )
    .map_err(training_error(&path))?;
    bars.finish();
    if let Some(e) = write_error {
        return Err(e);
    }
    let resumed = resume.map(|c| c.state.epochs_done);
    Ok((trained, resumed.map(|n| (path, n))))
}

/// Writes a checkpoint atomically.
fn write_checkpoint<S: CheckpointState>(
    path: &Path,
    checkpoint: &TrainingCheckpoint<S>,
) -> Result<()> {
    Ok(write_bytes(path, &checkpoint.to_bytes()?)?)
}

impl BackendTask for Job<'_> {
    type Output = JobOutput;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let (trained, resumed) = with_checkpoints(
            self.options,
            "tagger.ckpt",
            self.progress,
            |resume, progress, on_epoch| {
                train_tagger::<B>(
                    &self.training,
                    &self.options.training,
                    &device,
                    resume,
                    progress,
                    on_epoch,
                )
            },
        )?;
        let mut test = Vec::new();
        for (file, task, corpus) in &self.tests {
            let scheme = &self.training.tasks[*task].name;
            for (kind, scores) in trained.tagger.evaluate_task(corpus, *task)? {
                test.push(TestScore {
                    file: file.clone(),
                    scheme: scheme.clone(),
                    kind,
                    scores,
                });
            }
        }
        trained.tagger.save(
            &self.options.out,
            &self.training.encoder_dir.join("vocab.txt"),
        )?;
        let note = format!(
            "{}training windows per scheme: {:?}; gold mentions on piece bounds: {} exact, {} \
             inexact (unreachable for a strict match), {} overlapping (left out)",
            match resumed {
                Some((path, n)) => format!("resumed from {} after epoch {n}; ", path.display()),
                None => String::new(),
            },
            trained.windows,
            trained.alignment.exact,
            trained.alignment.inexact,
            trained.alignment.overlapping
        );
        Ok((
            trained.epochs,
            trained.best_epoch,
            (trained.parameters.trainable, trained.parameters.total),
            test,
            note,
        ))
    }
}

/// Trains the tagger and writes `OUT/` (`tagger.json`, `vocab.txt`,
/// `weights.mpk`, `metrics.tsv`, `test.tsv` with test corpora, `curve.png`,
/// `text-train.log`, `checkpoints/tagger.ckpt`).
pub fn text_train(options: &TextTrainOptions, progress: &dyn Progress) -> Result<TextTrainOutcome> {
    let started = Instant::now();
    if options.train.is_empty() {
        return Err(Error::Invalid("text-train needs a --train corpus".into()));
    }
    let mut tasks: Vec<TaskSpec> = Vec::new();
    let mut corpora: Vec<LabelledCorpus> = Vec::new();
    let task_of = |tasks: &mut Vec<TaskSpec>, name: &str| -> Result<usize> {
        if let Some(i) = tasks.iter().position(|t| t.name == name) {
            return Ok(i);
        }
        let spec = [TaskSpec::biored(), TaskSpec::ncbi_disease()]
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::Invalid(format!("unknown annotation scheme {name:?}")))?;
        tasks.push(spec);
        Ok(tasks.len() - 1)
    };
    let mut log = RunLog::new();
    let _ = writeln!(log, "genolens text-train --task ner");
    for file in &options.train {
        let (corpus, scheme) = read_scheme_file(file)?;
        let task = task_of(&mut tasks, &scheme)?;
        let _ = writeln!(
            log,
            "train: {} ({scheme}): {} documents",
            file.path.display(),
            corpus.len()
        );
        corpora.push(LabelledCorpus {
            task,
            train: corpus,
            dev: None,
        });
    }
    for file in &options.dev {
        let (corpus, scheme) = read_scheme_file(file)?;
        let slot = corpora
            .iter_mut()
            .find(|c| tasks[c.task].name == scheme && c.dev.is_none())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: a {scheme} development corpus needs a {scheme} training corpus \
                     without one",
                    file.path.display()
                ))
            })?;
        let _ = writeln!(
            log,
            "dev: {} ({scheme}): {} documents",
            file.path.display(),
            corpus.len()
        );
        slot.dev = Some(corpus);
    }
    let mut tests = Vec::new();
    for file in &options.test {
        let (corpus, scheme) = read_scheme_file(file)?;
        let task = tasks.iter().position(|t| t.name == scheme).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no {scheme} training corpus, so no head scores it",
                file.path.display()
            ))
        })?;
        tests.push((file.path.clone(), task, corpus));
    }
    std::fs::create_dir_all(options.out.join("checkpoints"))
        .map_err(|e| Error::Invalid(format!("{}: {e}", options.out.display())))?;
    let _ = writeln!(log, "{}", options.settings_line());
    let job = Job {
        options,
        training: TaggerTraining {
            encoder_dir: options.encoder.clone(),
            tasks: tasks.clone(),
            corpora,
        },
        tests,
        progress,
    };
    let (epochs, best_epoch, (trainable, total), test, note) = options.device.run(job)??;
    let _ = writeln!(log, "{note}");
    let _ = writeln!(
        log,
        "parameters: {trainable} of {total} trainable ({:.2} %)",
        100.0 * trainable as f64 / total.max(1) as f64
    );
    for e in &epochs {
        let _ = writeln!(
            log,
            "epoch {}: train loss {:.5}, {:.1} s{}",
            e.epoch,
            e.train_loss,
            e.seconds,
            e.dev
                .iter()
                .map(|(s, k, sc)| format!(", dev {s} {k} F1 {:.4}", sc.f1()))
                .collect::<String>()
        );
    }
    let _ = writeln!(log, "kept epoch {best_epoch}");
    for s in &test {
        let _ = writeln!(
            log,
            "test {} ({} {}): P {:.4} R {:.4} F1 {:.4}",
            s.file.display(),
            s.scheme,
            s.kind,
            s.scores.precision(),
            s.scores.recall(),
            s.scores.f1()
        );
    }

    let out = &options.out;
    let mut written = vec![
        out.join("tagger.json"),
        out.join("vocab.txt"),
        out.join("weights.mpk"),
    ];
    let mut metrics =
        String::from("epoch\ttrain_loss\tseconds\tscheme\tkind\tprecision\trecall\tf1\n");
    for e in &epochs {
        if e.dev.is_empty() {
            let _ = writeln!(
                metrics,
                "{}\t{}\t{:.3}\t.\t.\t.\t.\t.",
                e.epoch, e.train_loss, e.seconds
            );
        }
        for (scheme, kind, s) in &e.dev {
            let _ = writeln!(
                metrics,
                "{}\t{}\t{:.3}\t{scheme}\t{kind}\t{}\t{}\t{}",
                e.epoch,
                e.train_loss,
                e.seconds,
                s.precision(),
                s.recall(),
                s.f1()
            );
        }
    }
    write_text(out.join("metrics.tsv"), &metrics)?;
    written.push(out.join("metrics.tsv"));
    if !test.is_empty() {
        let mut tsv = String::from("file\tscheme\tkind\ttp\tfp\tfn\tprecision\trecall\tf1\n");
        for s in &test {
            let _ = writeln!(
                tsv,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                s.file.display(),
                s.scheme,
                s.kind,
                s.scores.true_positives,
                s.scores.false_positives,
                s.scores.false_negatives,
                s.scores.precision(),
                s.scores.recall(),
                s.scores.f1()
            );
        }
        write_text(out.join("test.tsv"), &tsv)?;
        written.push(out.join("test.tsv"));
    }
    // curve.png: training loss (solid) and development F1 per task–kind
    // (dashed), by epoch.
    let xs: Vec<f64> = epochs.iter().map(|e| e.epoch as f64).collect();
    let loss: Vec<f64> = epochs.iter().map(|e| e.train_loss).collect();
    let mut plot = LinePlot::new()
        .title("genolens text-train: tagger learning curve")
        .x_label("epoch")
        .y_label("training loss / development F1")
        .series_styled(
            "train loss",
            &xs,
            &loss,
            LineStyle {
                colour: 0,
                dashed: false,
            },
        );
    if let Some(first) = epochs.first() {
        for (i, (scheme, kind, _)) in first.dev.iter().enumerate() {
            // Epochs resumed with another development set were refused, so
            // every epoch has the same scores; `get` keeps a bad file from
            // panicking.
            let f1: Vec<f64> = epochs
                .iter()
                .map(|e| e.dev.get(i).map_or(f64::NAN, |d| d.2.f1()))
                .collect();
            plot = plot.series_styled(
                format!("dev F1 {scheme} {kind}"),
                &xs,
                &f1,
                LineStyle {
                    colour: i + 1,
                    dashed: true,
                },
            );
        }
    }
    let curve = out.join("curve.png");
    plot.write_png(&curve)?;
    written.push(curve);
    let log_path = log.write(&out.join("text-train"), &written, started.elapsed())?;
    written.push(log_path);
    Ok(TextTrainOutcome {
        epochs,
        best_epoch,
        trainable,
        total,
        test,
        written,
    })
}

/// LoRA settings from a rank and an optional alpha (default 2·rank).
pub fn lora_config(rank: Option<usize>, alpha: Option<f64>) -> Option<LoraConfig> {
    rank.map(|r| {
        let mut c = LoraConfig::new(r);
        if let Some(a) = alpha {
            c.alpha = a;
        }
        c
    })
}
