//! The relation training step (`genolens text-train --task relations`):
//! fine-tunes the pretrained BERT encoder (fully or with LoRA) into a
//! gene–disease relation classifier on BioRED-style corpora (their relation
//! annotations label the pairs, see
//! [`gene_disease_pairs`]), keeps
//! the epoch with the best development AUC, scores test corpora, and writes
//! the classifier with its metrics, per-pair test probabilities, a
//! learning-curve plot and a log. `OUT/checkpoints/relation.ckpt` is written
//! after every epoch; `resume` continues from it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use crate::io::corpus::{Corpus, MentionCheck};
use crate::io::report::write_text;
use crate::plot::{LinePlot, LineStyle};
use crate::study::progress::Progress;
use crate::study::text_train::{with_checkpoints, TextTrainOptions};
use crate::study::RunLog;
use crate::text::classify::{gene_disease_pairs, PairExample};
use crate::text::eval::auc;
use crate::text::tagger::{train_relations, RelationEpoch, RelationTraining};
use crate::transformer::burn::tensor::backend::AutodiffBackend;
use crate::transformer::device::BackendTask;
use crate::{Error, Result};

/// AUC of the kept epoch on one test corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationTestScore {
    /// The test file.
    pub file: PathBuf,
    /// Candidate pairs in it.
    pub pairs: usize,
    /// Related pairs among them.
    pub related: usize,
    /// Area under the ROC curve (`None` without pairs of both classes).
    pub auc: Option<f64>,
}

/// What [`text_relations`] did.
#[derive(Debug, Clone)]
pub struct RelationsOutcome {
    /// Per epoch.
    pub epochs: Vec<RelationEpoch>,
    /// 1-based epoch kept.
    pub best_epoch: usize,
    /// Trainable parameters.
    pub trainable: usize,
    /// All parameters.
    pub total: usize,
    /// Test AUCs of the kept epoch.
    pub test: Vec<RelationTestScore>,
    /// Files written, the log last.
    pub written: Vec<PathBuf>,
}

/// The labelled pairs of a corpus file, which must carry relations.
fn read_pairs(path: &std::path::Path) -> Result<Vec<PairExample>> {
    let corpus = Corpus::read_pubtator_with(path, MentionCheck::TrimWhitespace)?;
    if corpus.iter().all(|d| d.relations.is_empty()) {
        return Err(Error::Invalid(format!(
            "{}: no relation annotations (relation training needs BioRED-style \
             relation lines)",
            path.display()
        )));
    }
    Ok(gene_disease_pairs(&corpus))
}

struct Job<'a> {
    options: &'a TextTrainOptions,
    training: RelationTraining,
    tests: &'a [(PathBuf, Vec<PairExample>)],
    progress: &'a dyn Progress,
}

/// What the device job hands back.
struct JobDone {
    epochs: Vec<RelationEpoch>,
    best_epoch: usize,
    parameters: (usize, usize),
    /// Training pairs used.
    pairs: usize,
    /// Per test file, the probability of each pair.
    probabilities: Vec<Vec<f64>>,
    /// The checkpoint resumed from, and its epochs done.
    resumed: Option<(PathBuf, usize)>,
}

impl BackendTask for Job<'_> {
    type Output = Result<JobDone>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let (trained, resumed) = with_checkpoints(
            self.options,
            "relation.ckpt",
            self.progress,
            |resume, progress, on_epoch| {
                train_relations::<B>(
                    &self.training,
                    &self.options.training,
                    &device,
                    resume,
                    progress,
                    on_epoch,
                )
            },
        )?;
        let probabilities = self
            .tests
            .iter()
            .map(|(_, pairs)| trained.classifier.probabilities(pairs))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        trained.classifier.save(
            &self.options.out,
            &self.training.encoder_dir.join("vocab.txt"),
        )?;
        Ok(JobDone {
            epochs: trained.epochs,
            best_epoch: trained.best_epoch,
            parameters: (trained.parameters.trainable, trained.parameters.total),
            pairs: trained.pairs,
            probabilities,
            resumed,
        })
    }
}

/// Trains the relation classifier and writes `OUT/` (`relation.json`,
/// `vocab.txt`, `weights.mpk`, `metrics.tsv`, with test corpora `test.tsv`
/// and `test_pairs.tsv`, `curve.png`, `text-train.log`). Every training and
/// development file must follow BioRED's scheme (relation lines).
pub fn text_relations(
    options: &TextTrainOptions,
    progress: &dyn Progress,
) -> Result<RelationsOutcome> {
    let started = Instant::now();
    if options.train.is_empty() {
        return Err(Error::Invalid("text-train needs a --train corpus".into()));
    }
    let mut log = RunLog::new();
    let _ = writeln!(log, "genolens text-train --task relations");
    let mut train = Vec::new();
    for file in &options.train {
        let pairs = read_pairs(&file.path)?;
        let _ = writeln!(
            log,
            "train: {}: {} gene–disease pairs, {} related",
            file.path.display(),
            pairs.len(),
            pairs.iter().filter(|p| p.related).count()
        );
        train.extend(pairs);
    }
    let mut dev = Vec::new();
    for file in &options.dev {
        let pairs = read_pairs(&file.path)?;
        let _ = writeln!(log, "dev: {}: {} pairs", file.path.display(), pairs.len());
        dev.extend(pairs);
    }
    let mut tests = Vec::new();
    for file in &options.test {
        tests.push((file.path.clone(), read_pairs(&file.path)?));
    }
    std::fs::create_dir_all(options.out.join("checkpoints"))
        .map_err(|e| Error::Invalid(format!("{}: {e}", options.out.display())))?;
    let _ = writeln!(
        log,
        "{}; salience features {}; entity pooling on",
        options.settings_line(),
        if options.salience { "on" } else { "off" }
    );
    let job = Job {
        options,
        training: RelationTraining {
            encoder_dir: options.encoder.clone(),
            train,
            dev,
            salience: options.salience,
            entity_pooling: true,
        },
        tests: &tests,
        progress,
    };
    let JobDone {
        epochs,
        best_epoch,
        parameters: (trainable, total),
        pairs,
        probabilities,
        resumed,
    } = options.device.run(job)??;
    if let Some((path, epoch)) = resumed {
        let _ = writeln!(log, "resumed from {} after epoch {epoch}", path.display());
    }
    let _ = writeln!(log, "training pairs used: {pairs}");
    let _ = writeln!(
        log,
        "parameters: {trainable} of {total} trainable ({:.2} %)",
        100.0 * trainable as f64 / total.max(1) as f64
    );
    let fmt_auc = |a: Option<f64>| a.map_or("NA".to_string(), |a| format!("{a:.4}"));
    for e in &epochs {
        let _ = writeln!(
            log,
            "epoch {}: train loss {:.5}, {:.1} s, dev AUC {}",
            e.epoch,
            e.train_loss,
            e.seconds,
            fmt_auc(e.dev_auc)
        );
    }
    let _ = writeln!(log, "kept epoch {best_epoch}");

    let out = &options.out;
    let mut written = vec![
        out.join("relation.json"),
        out.join("vocab.txt"),
        out.join("weights.mpk"),
    ];
    let mut metrics = String::from("epoch\ttrain_loss\tseconds\tdev_auc\n");
    for e in &epochs {
        let _ = writeln!(
            metrics,
            "{}\t{}\t{:.3}\t{}",
            e.epoch,
            e.train_loss,
            e.seconds,
            e.dev_auc.map_or("NA".to_string(), |a| a.to_string())
        );
    }
    write_text(out.join("metrics.tsv"), &metrics)?;
    written.push(out.join("metrics.tsv"));
    let mut test = Vec::new();
    if !tests.is_empty() {
        let mut summary = String::from("file\tpairs\trelated\tauc\n");
        let mut rows = String::from("file\tpmid\tgene_id\tdisease_id\trelated\tprobability\n");
        for ((file, pairs), p) in tests.iter().zip(&probabilities) {
            let labels: Vec<bool> = pairs.iter().map(|x| x.related).collect();
            let score = RelationTestScore {
                file: file.clone(),
                pairs: pairs.len(),
                related: labels.iter().filter(|&&l| l).count(),
                auc: auc(p, &labels),
            };
            let _ = writeln!(
                log,
                "test {}: {} pairs ({} related), AUC {}",
                file.display(),
                score.pairs,
                score.related,
                fmt_auc(score.auc)
            );
            let _ = writeln!(
                summary,
                "{}\t{}\t{}\t{}",
                file.display(),
                score.pairs,
                score.related,
                score.auc.map_or("NA".to_string(), |a| a.to_string())
            );
            for (pair, prob) in pairs.iter().zip(p) {
                let _ = writeln!(
                    rows,
                    "{}\t{}\t{}\t{}\t{}\t{prob}",
                    file.display(),
                    pair.pmid,
                    pair.gene_id,
                    pair.disease_id,
                    u8::from(pair.related)
                );
            }
            test.push(score);
        }
        write_text(out.join("test.tsv"), &summary)?;
        write_text(out.join("test_pairs.tsv"), &rows)?;
        written.push(out.join("test.tsv"));
        written.push(out.join("test_pairs.tsv"));
    }
    // curve.png: training loss (solid) and development AUC (dashed).
    let xs: Vec<f64> = epochs.iter().map(|e| e.epoch as f64).collect();
    let loss: Vec<f64> = epochs.iter().map(|e| e.train_loss).collect();
    let mut plot = LinePlot::new()
        .title("genolens text-train: relation classifier learning curve")
        .x_label("epoch")
        .y_label("training loss / development AUC")
        .series_styled(
            "train loss",
            &xs,
            &loss,
            LineStyle {
                colour: 0,
                dashed: false,
            },
        );
    if epochs.iter().all(|e| e.dev_auc.is_some()) {
        let aucs: Vec<f64> = epochs.iter().filter_map(|e| e.dev_auc).collect();
        plot = plot.series_styled(
            "dev AUC",
            &xs,
            &aucs,
            LineStyle {
                colour: 1,
                dashed: true,
            },
        );
    }
    let curve = out.join("curve.png");
    plot.write_png(&curve)?;
    written.push(curve);
    let log_path = log.write(&out.join("text-train"), &written, started.elapsed())?;
    written.push(log_path);
    Ok(RelationsOutcome {
        epochs,
        best_epoch,
        trainable,
        total,
        test,
        written,
    })
}
