//! Trains the relation classifier on BioRED's gene–disease pairs and scores
//! the test pairs, in one of four arms on the same seed and settings:
//! `salience` (text with entity pooling + salience features), `text` (text
//! with entity pooling only), `mean` (text mean-pooled + salience, no entity
//! pooling) and `shuffled` (as `salience`, training labels permuted with a
//! fixed seed: the control, which must show no skill on the test pairs).
//!
//! Usage: `relation_eval ENCODER_DIR BIORED_DIR ARM EPOCHS LORA_RANK [LR]`
//! (rank 0: full fine-tuning; LR the encoder's peak learning rate, by default
//! 1e-4, or 1e-3 with LoRA). Prints each epoch's development AUC, the kept epoch's
//! test AUC and the wall time.

use std::path::PathBuf;
use std::time::Instant;

use genolens::io::corpus::Corpus;
use genolens::text::classify::gene_disease_pairs;
use genolens::text::eval::auc;
use genolens::text::tagger::{train_relations, Control, RelationTraining, TrainOptions};
use genolens::transformer::lora::LoraConfig;
use genolens::transformer::CpuBackend;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(5..=6).contains(&args.len()) {
        eprintln!(
            "usage: relation_eval ENCODER_DIR BIORED_DIR salience|text|mean|shuffled EPOCHS LORA_RANK [LR]"
        );
        std::process::exit(2);
    }
    let dir = PathBuf::from(&args[1]);
    let pairs = |name: &str| {
        gene_disease_pairs(&Corpus::read_pubtator(dir.join(name)).expect("BioRED corpus"))
    };
    let (mut train, dev, test) = (
        pairs("Train.PubTator"),
        pairs("Dev.PubTator"),
        pairs("Test.PubTator"),
    );
    let arm = args[2].as_str();
    if arm == "shuffled" {
        // Fisher–Yates with a fixed SplitMix64 stream.
        let mut labels: Vec<bool> = train.iter().map(|p| p.related).collect();
        let mut state = 0x5EED_u64;
        for i in (1..labels.len()).rev() {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            labels.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
        }
        for (p, l) in train.iter_mut().zip(labels) {
            p.related = l;
        }
    }
    let epochs: usize = args[3].parse().expect("EPOCHS");
    let rank: usize = args[4].parse().expect("LORA_RANK");
    let training = RelationTraining {
        encoder_dir: PathBuf::from(&args[0]),
        train,
        dev,
        salience: arm != "text",
        entity_pooling: arm != "mean",
    };
    let options = TrainOptions {
        epochs,
        learning_rate: match args.get(5) {
            Some(lr) => lr.parse().expect("LR"),
            None if rank > 0 => 1e-3,
            None => 1e-4,
        },
        head_learning_rate: 1e-3,
        max_pieces: 254,
        lora: (rank > 0).then(|| LoraConfig::new(rank)),
        seed: 1,
        ..TrainOptions::default()
    };
    let started = Instant::now();
    let trained = train_relations::<CpuBackend>(
        &training,
        &options,
        &Default::default(),
        None,
        &mut |p| {
            if p.step % 20 == 0 {
                eprintln!(
                    "epoch {} step {}/{} loss {:.4}",
                    p.epoch, p.step, p.steps_per_epoch, p.loss
                );
            }
        },
        &mut |_, _| Control::Continue,
    )
    .expect("training");
    for e in &trained.epochs {
        println!(
            "{arm}\tepoch {}\ttrain loss {:.4}\tdev AUC {:.4}\t{:.0} s",
            e.epoch,
            e.train_loss,
            e.dev_auc.unwrap_or(f64::NAN),
            e.seconds
        );
    }
    let p = trained.classifier.probabilities(&test).expect("scoring");
    let labels: Vec<bool> = test.iter().map(|x| x.related).collect();
    println!(
        "{arm}\tkept epoch {}\ttest AUC {:.4}\t{} test pairs\ttrainable {} of {}\t{:.0} s",
        trained.best_epoch,
        auc(&p, &labels).unwrap_or(f64::NAN),
        test.len(),
        trained.parameters.trainable,
        trained.parameters.total,
        started.elapsed().as_secs_f64()
    );
}
