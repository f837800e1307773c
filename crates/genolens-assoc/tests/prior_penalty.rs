//! Prior-informed penalties on real genotypes (CIMMYT wheat, 599 lines ×
//! 1,279 markers): a trait simulated from 12 causal markers, cross-validated
//! on the data's own folds with and without a prior, same folds and seeds.
//! An informative prior (the causal markers up-weighted among a tenth of the
//! markers) must raise held-out R² and be chosen by the inner folds; a
//! shuffled prior (the same weights on other markers) must not cost more
//! than noise, because the inner folds can choose strength 0.

use std::path::PathBuf;

use genolens_assoc::predict::{cross_validate, ModelKind, ModelSpec, PriorPenalty, Task};
use genolens_features::split::{k_folds, permutation};
use genolens_io::plink::BedFile;
use genolens_io::GenotypeSource;

fn wheat() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bglr_wheat/wheat")
}

/// A trait from `causal` markers (effects ±1 on standardised dosage) with
/// heritability ~0.4, seeded noise.
fn simulate(bed: &BedFile, causal: &[usize], seed: u64) -> Vec<f64> {
    let n = bed.n_samples();
    let mut g = vec![0.0f64; n];
    let mut col = vec![0.0f32; n];
    for (k, &v) in causal.iter().enumerate() {
        bed.read_variant_into(v, &mut col).unwrap();
        let mean = col.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        let sd = (col
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / n as f64)
            .sqrt()
            .max(1e-9);
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        for (gi, &x) in g.iter_mut().zip(&col) {
            *gi += sign * (f64::from(x) - mean) / sd;
        }
    }
    let var_g = g.iter().map(|x| x * x).sum::<f64>() / n as f64;
    let noise_sd = (var_g * 1.5).sqrt();
    let order = permutation(2 * n, seed);
    g.iter()
        .enumerate()
        .map(|(i, gi)| {
            // Box–Muller from two seeded uniforms.
            let u1 = (order[2 * i] as f64 + 0.5) / (2 * n) as f64;
            let u2 = (order[2 * i + 1] as f64 + 0.5) / (2 * n) as f64;
            gi + noise_sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

fn mean_r2(report: &genolens_assoc::predict::CvReport) -> f64 {
    report.folds.iter().map(|f| f.metrics[1]).sum::<f64>() / report.folds.len() as f64
}

fn strength(report: &genolens_assoc::predict::CvReport) -> Vec<f64> {
    report
        .folds
        .iter()
        .map(|f| f.model.hyperparameter("prior_strength").unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn an_informative_prior_helps_and_a_shuffled_one_costs_little() {
    let path = wheat();
    if !path.with_extension("bed").exists() {
        eprintln!("skipping: {} not found", path.display());
        return;
    }
    let bed = BedFile::open(&path).unwrap();
    let m = bed.n_variants();
    let pick = permutation(m, 5);
    let causal: Vec<usize> = pick[..12].to_vec();
    let y = simulate(&bed, &causal, 9);
    let folds = k_folds(bed.n_samples(), 5, 3).unwrap();
    // Informative: the 12 causal markers among 128 up-weighted ones (10×).
    let mut good = vec![1.0; m];
    for &v in &pick[..128] {
        good[v] = 10.0;
    }
    // Shuffled: the same weights on other markers.
    let mut shuffled = vec![1.0; m];
    for &v in &pick[500..628] {
        shuffled[v] = 10.0;
    }
    for kind in [ModelKind::Lasso, ModelKind::Ridge] {
        // Three inner folds, repeated three times (the CLI's default with a
        // prior), keep the test quick; the choice is the same kind.
        let base = ModelSpec {
            inner_folds: 3,
            inner_repeats: 3,
            ..ModelSpec::new(kind)
        };
        let plain = cross_validate(&bed, &y, None, &folds, Task::Quantitative, &base).unwrap();
        let with = |w: &Vec<f64>| {
            let spec = ModelSpec {
                prior: Some(PriorPenalty::new(w.clone())),
                ..base.clone()
            };
            cross_validate(&bed, &y, None, &folds, Task::Quantitative, &spec).unwrap()
        };
        let informed = with(&good);
        let control = with(&shuffled);
        let (r0, r1, r2) = (mean_r2(&plain), mean_r2(&informed), mean_r2(&control));
        eprintln!(
            "{}: R2 plain {r0:.4}, informative prior {r1:.4} (strengths {:?}), shuffled {r2:.4} (strengths {:?})",
            kind.name(),
            strength(&informed),
            strength(&control)
        );
        assert!(r1 > r0 * 1.05, "{}: {r1} vs {r0}", kind.name());
        // The informative prior passes the inner test in most outer folds,
        // the shuffled one at most by chance.
        let used = |r| strength(r).iter().filter(|&&s| s > 0.0).count();
        assert!(used(&informed) >= 3, "{}", kind.name());
        assert!(used(&control) <= 1, "{}", kind.name());
        assert!(
            r2 > r0 - 0.03,
            "{}: shuffled prior {r2} vs {r0}",
            kind.name()
        );
    }
    // A prior on a model family without penalties is refused.
    let spec = ModelSpec {
        prior: Some(PriorPenalty::new(good.clone())),
        ..ModelSpec::new(ModelKind::Ols)
    };
    let e = cross_validate(&bed, &y, None, &folds, Task::Quantitative, &spec)
        .unwrap_err()
        .to_string();
    assert!(e.contains("takes no prior"), "{e}");
    let spec = ModelSpec {
        prior: Some(PriorPenalty::new(vec![1.0; 3])),
        ..ModelSpec::new(ModelKind::Lasso)
    };
    assert!(cross_validate(&bed, &y, None, &folds, Task::Quantitative, &spec).is_err());
}
