//! Library-level properties of scaling, PCA and LD pruning on a simulated cohort
//! with known structure and on the bundled HapMap fileset (missing calls).

use std::path::{Path, PathBuf};

use genolens_features::ld::{indep_pairwise, IndepPairwise};
use genolens_features::pca::{pca, PcaMethod, PcaOptions};
use genolens_features::scale::{Imputation, Scaling, Standardizer};
use genolens_features::simulate::{CohortSpec, SimulatedCohort};
use genolens_io::plink::BedFile;
use genolens_io::{GenotypeSource, Subset};

fn data(rel: &str) -> PathBuf {
    std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join(rel)
}

fn cohort(samples: usize, variants: usize, seed: u64) -> SimulatedCohort {
    SimulatedCohort::new(CohortSpec {
        samples,
        variants,
        populations: 5,
        fst: 0.05,
        missing_rate: 0.02,
        seed,
    })
    .unwrap()
}

fn abs_corr(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut c, mut vx, mut vy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        c += (a - mx) * (b - my);
        vx += (a - mx).powi(2);
        vy += (b - my).powi(2);
    }
    (c / (vx * vy).sqrt()).abs()
}

#[test]
fn scaling_fitted_on_training_samples_never_sees_the_test_samples() {
    let c = cohort(300, 200, 3);
    let train: Vec<usize> = (0..300).filter(|i| i % 3 != 0).collect();
    let test: Vec<usize> = (0..300).filter(|i| i % 3 == 0).collect();
    let fit = Standardizer::fit(
        &c,
        Some(&train),
        Imputation::Mean,
        Scaling::Hwe,
        64,
        &|_| {},
    )
    .unwrap();
    // The centre is the training mean, computed here by hand.
    let block = c.read_block(0..200).unwrap();
    for v in [0usize, 17, 199] {
        let col = block.variant(v);
        let vals: Vec<f64> = train
            .iter()
            .map(|&i| col[i])
            .filter(|d| !d.is_nan())
            .map(f64::from)
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        assert!((fit.center[v] - mean).abs() < 1e-12);
    }
    // Transforming the test samples uses those parameters unchanged: a test
    // sample's value does not depend on which other test samples come along.
    let test_view = Subset::new(&c, Some(test.clone()), None).unwrap();
    let all = fit
        .transform(&test_view.read_block(0..200).unwrap())
        .unwrap();
    let one = Subset::new(&c, Some(vec![test[5]]), None).unwrap();
    let single = fit.transform(&one.read_block(0..200).unwrap()).unwrap();
    for v in 0..200 {
        assert_eq!(all[[5, v]], single[[0, v]]);
        assert!(all.column(v).iter().all(|x| x.is_finite()));
    }
    // A different variant list is refused.
    let fewer = Subset::new(&c, None, Some((0..199).collect())).unwrap();
    assert!(fit.check_variants(fewer.variants()).is_err());
}

#[test]
fn randomized_pca_agrees_with_exact_and_projection_reproduces_scores() {
    let c = cohort(400, 1500, 9);
    let exact = pca(&c, &PcaOptions::new(4, PcaMethod::Exact), &|_| {}).unwrap();
    let approx = pca(&c, &PcaOptions::new(4, PcaMethod::randomized(5)), &|_| {}).unwrap();
    // Five populations give four structured PCs; the weakest sits near the noise
    // bulk at this size, so compare the first three.
    for k in 0..3 {
        let a: Vec<f64> = (0..400).map(|i| exact.eigenvectors[(i, k)]).collect();
        let b: Vec<f64> = (0..400).map(|i| approx.eigenvectors[(i, k)]).collect();
        assert!(abs_corr(&a, &b) > 0.999, "PC{}", k + 1);
        let rel = (exact.eigenvalues[k] - approx.eigenvalues[k]).abs() / exact.eigenvalues[k];
        assert!(rel < 1e-6, "eigenvalue {k}: {rel}");
    }
    // Eigenvalues come largest first.
    assert!(exact.eigenvalues.windows(2).all(|w| w[0] >= w[1]));
    // Projecting the training samples gives back their eigenvectors.
    let projected = exact.project(&c, &|_| {}).unwrap();
    for i in 0..400 {
        for k in 0..4 {
            assert!((projected[(i, k)] - exact.eigenvectors[(i, k)]).abs() < 1e-9);
        }
    }
    // The same seed gives the same bytes.
    let again = pca(&c, &PcaOptions::new(4, PcaMethod::randomized(5)), &|_| {}).unwrap();
    assert_eq!(approx.eigenvalues, again.eigenvalues);
    assert_eq!(approx.eigenvectors, again.eigenvectors);
}

#[test]
fn new_samples_project_next_to_their_population() {
    // Fit on 4/5 of the samples, project the rest: each held-out sample lands
    // closest to its own population's centroid on PC1–PC4.
    let c = cohort(500, 2000, 21);
    let train: Vec<usize> = (0..500).filter(|i| i % 5 != 0).collect();
    let held: Vec<usize> = (0..500).filter(|i| i % 5 == 0).collect();
    let train_view = Subset::new(&c, Some(train.clone()), None).unwrap();
    let fit = pca(&train_view, &PcaOptions::new(4, PcaMethod::Exact), &|_| {}).unwrap();
    let held_view = Subset::new(&c, Some(held.clone()), None).unwrap();
    let scores = fit.project(&held_view, &|_| {}).unwrap();
    let mut centroids = [[0.0f64; 4]; 5];
    let mut counts = [0usize; 5];
    for (r, &i) in train.iter().enumerate() {
        let p = c.population(i);
        counts[p] += 1;
        for (k, c) in centroids[p].iter_mut().enumerate() {
            *c += fit.eigenvectors[(r, k)];
        }
    }
    for (p, cen) in centroids.iter_mut().enumerate() {
        cen.iter_mut().for_each(|x| *x /= counts[p] as f64);
    }
    let mut right = 0;
    for (r, &i) in held.iter().enumerate() {
        let d = |p: usize| {
            (0..4)
                .map(|k| (scores[(r, k)] - centroids[p][k]).powi(2))
                .sum::<f64>()
        };
        let nearest = (0..5).min_by(|&a, &b| d(a).total_cmp(&d(b))).unwrap();
        right += usize::from(nearest == c.population(i));
    }
    assert!(right >= held.len() * 95 / 100, "{right} of {}", held.len());
}

#[test]
fn too_many_components_is_a_clear_error() {
    let c = cohort(20, 300, 1);
    let err = pca(&c, &PcaOptions::new(20, PcaMethod::Exact), &|_| {}).unwrap_err();
    assert!(err.to_string().contains("at most 19"), "{err}");
    let few_variants = Subset::new(&c, None, Some((0..5).collect())).unwrap();
    let err = pca(
        &few_variants,
        &PcaOptions::new(6, PcaMethod::Exact),
        &|_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
}

#[test]
fn ld_pruning_is_stable_and_removes_monomorphic_variants() {
    let bed = BedFile::open(data("hapmap_snprelate_60x5000/plinkhapmap")).unwrap();
    let params = IndepPairwise {
        window: 50,
        step: 5,
        r2: 0.2,
    };
    let a = indep_pairwise(&bed, params, &|_| {}).unwrap();
    let b = indep_pairwise(&bed, params, &|_| {}).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.kept.len() + a.pruned.len() + a.ignored.len(), 5000);
    // Agreement with plink2 is tested in the CLI's tests; here: monomorphic
    // variants are pruned.
    let calls = genolens_features::qc::count_calls(&bed, 256, &|_| {}).unwrap();
    for (v, c) in calls.variants.iter().enumerate() {
        let d = c.diploid;
        let mono =
            d.observed() == d.hom_allele1 || d.observed() == d.hom_allele2 || d.het == d.observed();
        if mono && bed.variants()[v].plink_chrom() != "0" {
            assert!(a.pruned.contains(&v), "monomorphic variant {v} kept");
        }
    }
    // A stricter threshold keeps fewer.
    let strict = indep_pairwise(&bed, IndepPairwise { r2: 0.05, ..params }, &|_| {}).unwrap();
    assert!(strict.kept.len() < a.kept.len());
}
