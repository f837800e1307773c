//! No test-fold sample influences a fold's model: scaling, SNP selection (C+T's
//! GWAS and clumping), hyperparameter search and fit see only the training
//! samples. Shown on the CIMMYT wheat data
//! by scrambling the held-out fold's phenotypes (permuting them, then replacing
//! them with noise) and checking that the fold's fitted model is unchanged, bit
//! for bit, while the scrambled values do change the out-of-fold metrics.

use std::path::PathBuf;

use genolens_assoc::predict::{cross_validate, fit_predictor, ModelKind, ModelSpec, Task};
use genolens_features::split::Folds;
use genolens_io::folds::{FoldAssignment, FoldFileOptions};
use genolens_io::plink::BedFile;
use genolens_io::table::{SampleTable, TableOptions};
use genolens_io::{GenotypeSource, SampleId};

fn wheat() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bglr_wheat")
}

#[test]
fn test_fold_phenotypes_never_reach_the_training_fit() {
    let dir = wheat();
    if !dir.join("wheat.bed").exists() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let bed = BedFile::open(dir.join("wheat")).unwrap();
    let ids: Vec<SampleId> = bed.samples().iter().map(|s| s.id.clone()).collect();
    let options = TableOptions {
        columns: Some(vec!["yield_env1".into()]),
        ..TableOptions::default()
    };
    let (table, _) = SampleTable::read_phenotypes(dir.join("wheat.pheno"), &options)
        .unwrap()
        .align(&ids)
        .unwrap();
    let y: Vec<f64> = table.values.column(0).to_vec();
    let assignment = FoldAssignment::read(
        dir.join("wheat_Y.csv"),
        &FoldFileOptions::new("line_id", "cv_fold"),
    )
    .unwrap();
    let folds = Folds::from_assignment(bed.samples(), &assignment).unwrap();
    let (_, held_out) = folds.train_test(0).unwrap();

    let (train, _) = folds.train_test(0).unwrap();
    // Permute the held-out fold's phenotypes among themselves, or replace them
    // with noise far off the trait's scale.
    let mut permuted = y.clone();
    let values: Vec<f64> = held_out.iter().map(|&i| y[i]).collect();
    for (k, &i) in held_out.iter().enumerate() {
        permuted[i] = values[(k * 7 + 3) % values.len()];
    }
    let mut noise = y.clone();
    for (k, &i) in held_out.iter().enumerate() {
        noise[i] = 1000.0 * (k as f64 * 0.37).sin();
    }
    // C+T included: its GWAS, clumping and threshold search must not see them
    // either.
    for kind in [ModelKind::Ridge, ModelKind::Lasso, ModelKind::PrsCt] {
        let mut spec = ModelSpec::new(kind);
        match kind {
            ModelKind::Lasso => spec.grid = Some(vec![0.1, 0.05]),
            ModelKind::PrsCt => spec.grid = Some(vec![1e-3, 0.5]),
            _ => {}
        }
        let base = fit_predictor(&bed, &y, None, &train, Task::Quantitative, &spec).unwrap();
        // The scaling is the training samples' own: each variant's centre is
        // their mean dosage (this differs from the all-sample mean).
        let mut dosages = vec![0.0f32; train.len()];
        let mut all = vec![0.0f32; bed.n_samples()];
        let mut differs = 0;
        for v in [0, 100, 640, 1278] {
            bed.read_variant_subset_into(v, &train, &mut dosages)
                .unwrap();
            let mean = dosages.iter().map(|&d| f64::from(d)).sum::<f64>() / train.len() as f64;
            assert!(
                (base.center[v] - mean).abs() < 1e-12,
                "variant {v}: centre {} vs {mean}",
                base.center[v]
            );
            bed.read_variant_into(v, &mut all).unwrap();
            let everyone = all.iter().map(|&d| f64::from(d)).sum::<f64>() / all.len() as f64;
            differs += usize::from((everyone - mean).abs() > 1e-9);
        }
        assert!(differs > 0, "the check can tell training from all samples");
        for scrambled in [&permuted, &noise] {
            let other =
                fit_predictor(&bed, scrambled, None, &train, Task::Quantitative, &spec).unwrap();
            assert_eq!(
                other,
                base,
                "{}: the fold's model changed with held-out phenotypes",
                kind.name()
            );
        }
        // A training sample's phenotype does move the model.
        let mut touched = y.clone();
        touched[train[0]] += 1.0;
        let moved = fit_predictor(&bed, &touched, None, &train, Task::Quantitative, &spec).unwrap();
        assert_ne!(moved.weights, base.weights);
    }
    // Cross-validation fits each fold exactly so: its fold-1 model is the one
    // above, and the scrambled held-out values change only the evaluation.
    let spec = ModelSpec::new(ModelKind::Ridge);
    let base = cross_validate(&bed, &y, None, &folds, Task::Quantitative, &spec).unwrap();
    let direct = fit_predictor(&bed, &y, None, &train, Task::Quantitative, &spec).unwrap();
    assert_eq!(base.folds[0].model, direct);
    let other = cross_validate(&bed, &noise, None, &folds, Task::Quantitative, &spec).unwrap();
    assert_eq!(other.folds[0].model, base.folds[0].model);
    assert_ne!(other.folds[0].metrics, base.folds[0].metrics);
}
