//! Seeded CPU pretraining is bit-for-bit repeatable. One test in its own
//! binary: the ndarray backend's random stream is process-wide, so a test
//! running beside it would draw from the same stream.

use burn_core::tensor::backend::Backend;
use genolens_transformer::model::{GenotypeTransformer, TransformerConfig};
use genolens_transformer::pretrain::{pretrain, PretrainOptions};
use genolens_transformer::tokens::{DosageScaling, GenotypeTokens};
use genolens_transformer::CpuBackend as Cpu;
use ndarray::Array2;

fn run(seed: u64, data: &GenotypeTokens) -> Vec<u64> {
    let device = Default::default();
    Cpu::seed(&device, seed);
    // Dropout on: its masks must come from the seeded stream too.
    let model =
        GenotypeTransformer::<Cpu>::new(&TransformerConfig::new(data.n_variants()), &device)
            .unwrap();
    let options = PretrainOptions {
        epochs: 3,
        batch_size: 8,
        seed,
        ..PretrainOptions::default()
    };
    let (_, history) = pretrain(
        model,
        data,
        &DosageScaling::fit(data),
        &options,
        &device,
        &|_, _| {},
    )
    .unwrap();
    history.iter().map(|l| l.to_bits()).collect()
}

#[test]
fn same_seed_same_bits_other_seed_other_bits() {
    // A small cohort with a haplotype structure: variant v copies v-1 mostly.
    let dosages = Array2::from_shape_fn((40, 24), |(s, v)| ((s * 7 + v / 3 * 5) % 3) as f32);
    let data = GenotypeTokens::from_dosages(dosages.view()).unwrap();
    let a = run(11, &data);
    assert_eq!(a, run(11, &data));
    assert_ne!(a, run(12, &data));
}
