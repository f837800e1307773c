//! Tagger and relation-classifier checkpoints on the pretrained
//! all-MiniLM-L6-v2 (`GENOLENS_MINILM`) and real BioRED abstracts: a run
//! stopped after its first epoch and resumed from the checkpoint's bytes ends
//! with the same weights, history and kept epoch as a run never stopped; a
//! checkpoint refuses other settings or data; a finished run resumes without
//! training. Its own test binary with one test, because the CPU backend's
//! random stream (dropout) is process-wide.

use std::path::{Path, PathBuf};

use genolens_io::corpus::Corpus;
use genolens_text::classify::gene_disease_pairs;
use genolens_text::tagger::{
    train_relations, train_tagger, Control, LabelledCorpus, RelationCheckpoint, RelationClassifier,
    RelationTraining, TaggerCheckpoint, TaggerTraining, TaskSpec, TrainOptions, TrainedRelations,
    TrainedTagger,
};
use genolens_transformer::CpuBackend;
use genolens_transformer::CpuInference;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn model_dir() -> PathBuf {
    std::env::var("GENOLENS_MINILM")
        .expect("GENOLENS_MINILM must name the all-MiniLM-L6-v2 directory (cargo xtask text-env)")
        .into()
}

fn biored(name: &str, skip: usize, n: usize) -> Corpus {
    let mut c = Corpus::read_pubtator(format!("{DATA}/biored/{name}")).unwrap();
    c.documents = c.documents.into_iter().skip(skip).take(n).collect();
    c
}

/// Trains, stopping after `stop_after` epochs when given; every checkpoint
/// goes through its byte form, as it would through a file.
fn run(
    training: &TaggerTraining,
    options: &TrainOptions,
    resume: Option<&TaggerCheckpoint>,
    stop_after: Option<usize>,
) -> (TrainedTagger<CpuBackend>, Vec<TaggerCheckpoint>, usize) {
    let mut saved = Vec::new();
    let mut steps = 0;
    let trained = train_tagger::<CpuBackend>(
        training,
        options,
        &Default::default(),
        resume,
        &mut |_| steps += 1,
        &mut |report, checkpoint| {
            let bytes = checkpoint.to_bytes().unwrap();
            saved.push(TaggerCheckpoint::from_bytes(&bytes).unwrap());
            if stop_after == Some(report.epoch) {
                Control::Stop
            } else {
                Control::Continue
            }
        },
    )
    .unwrap();
    (trained, saved, steps)
}

fn weights(trained: &TrainedTagger<CpuBackend>, dir: &Path) -> Vec<u8> {
    trained
        .tagger
        .save(dir, &model_dir().join("vocab.txt"))
        .unwrap();
    std::fs::read(dir.join("weights.mpk")).unwrap()
}

#[test]
fn stopped_runs_resume_to_the_same_weights() {
    tagger_resumes();
    relations_resume();
}

fn tagger_resumes() {
    let training = TaggerTraining {
        encoder_dir: model_dir(),
        tasks: vec![TaskSpec::biored()],
        corpora: vec![LabelledCorpus {
            task: 0,
            train: biored("Train.PubTator", 0, 10),
            dev: Some(biored("Dev.PubTator", 0, 4)),
        }],
    };
    // Full fine-tuning: the encoder's AdamW moments are in the checkpoint too.
    let options = TrainOptions {
        epochs: 3,
        batch_size: 4,
        learning_rate: 1e-4,
        head_learning_rate: 2e-3,
        max_pieces: 62,
        seed: 3,
        ..TrainOptions::default()
    };
    let (whole, whole_checkpoints, whole_steps) = run(&training, &options, None, None);
    assert_eq!(whole_checkpoints.len(), 3);
    assert!(!whole.stopped);

    let (first, checkpoints, first_steps) = run(&training, &options, None, Some(1));
    assert!(first.stopped);
    assert_eq!(first.epochs.len(), 1);
    assert_eq!(checkpoints.len(), 1);
    let checkpoint = &checkpoints[0];
    assert_eq!(checkpoint.state.epochs_done, 1);
    assert_eq!(checkpoint.state.steps_done, first_steps);
    // The first epoch went the same way in both runs (its wall time aside).
    let at_one = &whole_checkpoints[0].state;
    let first_epoch = |s: &genolens_text::tagger::TaggerTrainerState| {
        let e = &s.history[0];
        (
            e.train_loss,
            format!("{:?}", e.dev),
            s.steps_done,
            s.best_epoch,
        )
    };
    assert_eq!(first_epoch(&checkpoint.state), first_epoch(at_one));
    assert_eq!(checkpoint.state.identity, at_one.identity);

    let (resumed, _, resumed_steps) = run(&training, &options, Some(checkpoint), None);
    assert_eq!(first_steps + resumed_steps, whole_steps);
    assert_eq!(resumed.best_epoch, whole.best_epoch);
    let losses = |t: &TrainedTagger<CpuBackend>| -> Vec<(f64, String)> {
        t.epochs
            .iter()
            .map(|e| (e.train_loss, format!("{:?}", e.dev)))
            .collect()
    };
    assert_eq!(losses(&resumed), losses(&whole));
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert_eq!(weights(&resumed, a.path()), weights(&whole, b.path()));

    // A finished run's checkpoint resumes without a step, to the same tagger.
    let last = whole_checkpoints.last().unwrap();
    let (again, more, steps) = run(&training, &options, Some(last), None);
    assert_eq!((steps, more.len()), (0, 0));
    let c = tempfile::tempdir().unwrap();
    assert_eq!(weights(&again, c.path()), weights(&whole, b.path()));

    // Other settings or other data are refused, naming why.
    let other = TrainOptions {
        learning_rate: 2e-4,
        ..options.clone()
    };
    let err = train_tagger::<CpuBackend>(
        &training,
        &other,
        &Default::default(),
        Some(checkpoint),
        &mut |_| {},
        &mut |_, _| Control::Continue,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("other training settings"), "{err}");
    let mut fewer = training.clone();
    fewer.corpora[0].train.documents.truncate(5);
    let mut no_dev = training.clone();
    no_dev.corpora[0].dev = None;
    let shorter = TrainOptions {
        epochs: 2,
        ..options.clone()
    };
    for (t, o, c, why) in [
        (&fewer, &options, checkpoint, "other data"),
        (&no_dev, &options, checkpoint, "other data"),
        (&training, &shorter, last, "more than the 2 asked for"),
    ] {
        let err = train_tagger::<CpuBackend>(
            t,
            o,
            &Default::default(),
            Some(c),
            &mut |_| {},
            &mut |_, _| Control::Continue,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(why), "{err}");
    }

    // Truncated or foreign bytes are errors, not panics.
    let bytes = checkpoint.to_bytes().unwrap();
    for bad in [
        &bytes[..bytes.len() / 2],
        &bytes[..4],
        b"GLTCKPT1\0\0".as_slice(),
    ] {
        assert!(TaggerCheckpoint::from_bytes(bad).is_err());
    }
}

fn relation_run(
    training: &RelationTraining,
    options: &TrainOptions,
    resume: Option<&RelationCheckpoint>,
    stop_after: Option<usize>,
) -> (TrainedRelations<CpuBackend>, Vec<RelationCheckpoint>) {
    let mut saved = Vec::new();
    let trained = train_relations::<CpuBackend>(
        training,
        options,
        &Default::default(),
        resume,
        &mut |_| {},
        &mut |report, checkpoint| {
            let bytes = checkpoint.to_bytes().unwrap();
            saved.push(RelationCheckpoint::from_bytes(&bytes).unwrap());
            if stop_after == Some(report.epoch) {
                Control::Stop
            } else {
                Control::Continue
            }
        },
    )
    .unwrap();
    (trained, saved)
}

fn relations_resume() {
    let pairs = |name: &str| gene_disease_pairs(&biored(name, 0, 8));
    let training = RelationTraining {
        encoder_dir: model_dir(),
        train: pairs("Train.PubTator"),
        dev: pairs("Dev.PubTator"),
        salience: true,
        entity_pooling: true,
    };
    let options = TrainOptions {
        epochs: 2,
        batch_size: 4,
        max_pieces: 62,
        seed: 9,
        ..TrainOptions::default()
    };
    let (whole, _) = relation_run(&training, &options, None, None);
    let (first, checkpoints) = relation_run(&training, &options, None, Some(1));
    assert!(first.stopped && checkpoints.len() == 1);
    let (resumed, _) = relation_run(&training, &options, Some(&checkpoints[0]), None);
    assert_eq!(resumed.best_epoch, whole.best_epoch);
    let figures = |t: &TrainedRelations<CpuBackend>| -> Vec<(f64, Option<f64>)> {
        t.epochs.iter().map(|e| (e.train_loss, e.dev_auc)).collect()
    };
    assert_eq!(figures(&resumed), figures(&whole));
    let save = |c: &RelationClassifier<CpuInference>| {
        let dir = tempfile::tempdir().unwrap();
        c.save(dir.path(), &model_dir().join("vocab.txt")).unwrap();
        std::fs::read(dir.path().join("weights.mpk")).unwrap()
    };
    assert_eq!(save(&resumed.classifier), save(&whole.classifier));
    // Another head does not fit the checkpoint; other pairs are other data;
    // a relation checkpoint is not a tagger checkpoint.
    for (other, why) in [
        (
            RelationTraining {
                salience: false,
                ..training.clone()
            },
            "salience",
        ),
        (
            RelationTraining {
                train: training.train[1..].to_vec(),
                ..training.clone()
            },
            "other data",
        ),
    ] {
        let err = train_relations::<CpuBackend>(
            &other,
            &options,
            &Default::default(),
            Some(&checkpoints[0]),
            &mut |_| {},
            &mut |_, _| Control::Continue,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(why), "{err}");
    }
    let bytes = checkpoints[0].to_bytes().unwrap();
    assert!(TaggerCheckpoint::from_bytes(&bytes).is_err());
}
