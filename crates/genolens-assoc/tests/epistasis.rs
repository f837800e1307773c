//! The epistasis scan on real genotypes (1000 Genomes EUR, 379 samples; every
//! 60th of the 54,051 SNPs): a trait with one planted pure interaction (the
//! product of two standardised dosages, no marginal effect) plus one additive
//! variant. The planted pair must be the scan's strongest pair and each
//! other's best partner, while the marginal-only variant's pairs are not
//! inflated and missing phenotypes are left out. (Agreement with
//! `plink1.9 --epistasis` is tested on the CLI, where both tools run.)

use std::path::PathBuf;

use genolens_assoc::epistasis::{epistasis_scan, EpistasisOptions};
use genolens_features::simulate::{simulate_trait, CausalTerm, GeneticModel};
use genolens_io::plink::BedFile;
use genolens_io::{GenotypeSource, Subset};

fn eur() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/bolt_lmm_eur_subset_1000g/EUR_subset")
}

#[test]
fn planted_interaction_is_the_strongest_pair() {
    let bed = BedFile::open(eur()).unwrap();
    let every: Vec<usize> = (0..bed.n_variants()).step_by(60).collect();
    let source = Subset::new(bed, None, Some(every)).unwrap();
    let m = source.n_variants();
    // Common variants (MAF ≥ 0.3) far apart (indices into the subset).
    let mut col = vec![0.0f32; source.n_samples()];
    let mut common_from = |start: usize| -> usize {
        (start..m)
            .find(|&v| {
                source.read_variant_into(v, &mut col).unwrap();
                let called: Vec<f64> = col
                    .iter()
                    .filter(|x| !x.is_nan())
                    .map(|&x| f64::from(x))
                    .collect();
                let p = called.iter().sum::<f64>() / (2.0 * called.len() as f64);
                p.min(1.0 - p) >= 0.3
            })
            .unwrap()
    };
    let (a, b, add) = (common_from(100), common_from(600), common_from(300));
    let terms = [
        CausalTerm::Interaction {
            variants: (a, b),
            effect: 1.0,
        },
        CausalTerm::Single {
            variant: add,
            model: GeneticModel::Additive,
            effect: 1.0,
        },
    ];
    let mut y = simulate_trait(&source, &terms, 0.5, 11).unwrap();
    // A few samples without a phenotype.
    for i in (0..y.len()).step_by(37) {
        y[i] = f64::NAN;
    }
    let scan = epistasis_scan(
        &source,
        &y,
        &EpistasisOptions {
            report_p: 1.0,
            ..EpistasisOptions::default()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(scan.n_samples, y.iter().filter(|v| v.is_finite()).count());
    let tested = (m - scan.skipped.len()) as u64;
    assert_eq!(
        scan.n_tests + scan.n_failed,
        tested * (tested - 1) / 2,
        "every pair of tested variants is tested or failed"
    );
    let best = scan
        .pairs
        .iter()
        .filter(|p| !p.chisq.is_nan())
        .max_by(|x, y| x.chisq.total_cmp(&y.chisq))
        .unwrap();
    assert_eq!(
        (best.first, best.second),
        (a, b),
        "strongest pair: {best:?}"
    );
    assert!(best.p_value() < 1e-8, "planted pair p = {}", best.p_value());
    assert_eq!(scan.variants[a].best_partner, Some(b));
    assert_eq!(scan.variants[b].best_partner, Some(a));
    // The additive variant's pairs stay null: its best χ² is unremarkable
    // next to the planted pair's.
    assert!(scan.variants[add].best_chisq < best.chisq / 2.0);
    // Summary counts add up: each test counts for both of its variants.
    let total: u64 = scan.variants.iter().map(|v| v.n_tests).sum();
    assert_eq!(total, 2 * scan.n_tests);
}
