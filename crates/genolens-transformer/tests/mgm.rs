//! Masked-genotype pretraining on the 1000 Genomes LCT region (503 Europeans,
//! variants in strong LD): held-out masked-token accuracy must beat the
//! allele-frequency baseline (each variant's most frequent genotype).

use burn_core::tensor::backend::Backend;
use genolens_io::plink::BedFile;
use genolens_io::GenotypeSource;
use genolens_transformer::model::{GenotypeTransformer, TransformerConfig};
use genolens_transformer::pretrain::{for_inference, masked_accuracy, pretrain, PretrainOptions};
use genolens_transformer::tokens::{DosageScaling, GenotypeTokens};

type Cpu = genolens_transformer::CpuBackend;

#[test]
fn pretraining_beats_the_allele_frequency_baseline_on_held_out_samples() {
    let bed = BedFile::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/1000g_lct_region_gaston/LCT"
    ))
    .unwrap();
    let n_variants = 96;
    let block = bed.read_block(0..n_variants).unwrap();
    let tokens = GenotypeTokens::from_dosages(block.dosages()).unwrap();
    let n = tokens.n_samples();
    let train: Vec<usize> = (0..n).filter(|i| i % 5 != 0).collect();
    let test: Vec<usize> = (0..n).filter(|i| i % 5 == 0).collect();
    let (train, test) = (tokens.select(&train), tokens.select(&test));

    let device = Default::default();
    Cpu::seed(&device, 7);
    let mut config = TransformerConfig::new(n_variants);
    config.dropout = 0.0;
    let model = GenotypeTransformer::<Cpu>::new(&config, &device).unwrap();
    let options = PretrainOptions {
        epochs: 12,
        batch_size: 32,
        learning_rate: 3e-3,
        mask_rate: 0.15,
        seed: 7,
    };
    let (model, history) = pretrain(
        model,
        &train,
        &DosageScaling::fit(&train),
        &options,
        &device,
        &|_, _| {},
    )
    .unwrap();
    eprintln!("MGM training loss by epoch: {history:.3?}");
    assert!(history.last().unwrap() < &history[0]);
    let acc = masked_accuracy(
        &for_inference(&model),
        &test,
        &DosageScaling::fit(&train),
        &train.modal_classes(),
        0.15,
        99,
        &device,
    )
    .unwrap();
    eprintln!(
        "held-out masked accuracy {:.3} vs allele-frequency baseline {:.3} ({} masked)",
        acc.model, acc.baseline, acc.n_masked
    );
    assert!(acc.n_masked > 500);
    assert!(acc.model > acc.baseline + 0.02, "{acc:?}");
}
