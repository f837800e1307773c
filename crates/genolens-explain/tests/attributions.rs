//! Explanations recover what a trait is made of: on a simulated cohort with
//! five additive causal variants, exact SHAP of a ridge model and permutation
//! importance both put the causal variants first; SHAP values sum to the
//! prediction minus the baseline; an unsupported method is refused with the
//! list of supported ones; seeded permutations repeat.

use genolens_assoc::predict::{fit_predictor, ModelKind, ModelSpec, Task};
use genolens_explain::aggregate::explain_person;
use genolens_explain::attribution::{
    completeness_error, explain, ExplainInput, ExplainOptions, Explainable, Method,
};
use genolens_explain::Error;
use genolens_features::simulate::{
    simulate_trait, CausalTerm, CohortSpec, GeneticModel, SimulatedCohort,
};
use genolens_io::GenotypeSource;

#[test]
fn shap_and_permutation_find_the_causal_variants() {
    let cohort = SimulatedCohort::new(CohortSpec {
        samples: 600,
        variants: 120,
        populations: 1,
        fst: 0.0,
        missing_rate: 0.01,
        seed: 11,
    })
    .unwrap();
    let causal = [7usize, 30, 55, 80, 111];
    let terms: Vec<CausalTerm> = causal
        .iter()
        .enumerate()
        .map(|(i, &variant)| CausalTerm::Single {
            variant,
            model: GeneticModel::Additive,
            effect: if i % 2 == 0 { 1.0 } else { -1.0 },
        })
        .collect();
    let y = simulate_trait(&cohort, &terms, 0.7, 3).unwrap();
    let all: Vec<usize> = (0..cohort.n_samples()).collect();
    let model = fit_predictor(
        &cohort,
        &y,
        None,
        &all,
        Task::Quantitative,
        &ModelSpec::new(ModelKind::Ridge),
    )
    .unwrap();
    let model = Explainable::Linear(model);
    let input = ExplainInput {
        source: &cohort,
        samples: &all,
        covariates: None,
        phenotype: Some(&y),
    };
    let top5 = |importance: &[f64], variants: &[usize]| {
        let mut order: Vec<usize> = (0..importance.len()).collect();
        order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]));
        let mut top: Vec<usize> = order[..5].iter().map(|&k| variants[k]).collect();
        top.sort_unstable();
        top
    };
    let shap = explain(&model, &input, &ExplainOptions::new(Method::Shap)).unwrap();
    assert_eq!(top5(&shap.importance, &shap.variants), causal);
    // Exact: Σ φ = prediction − baseline for every sample.
    let (median, max) = completeness_error(&shap).unwrap();
    assert!(max < 1e-9, "{median} {max}");
    // The causal variants' mean SHAP is 0 (centred at the training mean).
    assert!(shap.mean_signed().iter().all(|m| m.abs() < 1e-9));
    let person = explain_person(&shap, 0, None, 3).unwrap();
    let row = shap.local.as_ref().unwrap().row(0).to_vec();
    assert_eq!(
        person.raising[0].1,
        row.iter().copied().fold(f64::MIN, f64::max)
    );

    let mut options = ExplainOptions::new(Method::Permutation);
    options.repeats = 3;
    let perm = explain(&model, &input, &options).unwrap();
    assert_eq!(top5(&perm.importance, &perm.variants), causal);
    let sd = perm.importance_sd.as_ref().unwrap();
    assert!(sd.iter().all(|s| s.is_finite() && *s >= 0.0));
    assert_eq!(perm, explain(&model, &input, &options).unwrap(), "seeded");
    options.seed = 2;
    assert_ne!(
        perm.importance,
        explain(&model, &input, &options).unwrap().importance
    );

    // Methods the model does not support, and permutation without a phenotype.
    let e = explain(
        &model,
        &input,
        &ExplainOptions::new(Method::IntegratedGradients),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }));
    assert!(e.to_string().contains("shap, permutation"), "{e}");
    let no_pheno = ExplainInput {
        phenotype: None,
        ..input
    };
    let e = explain(&model, &no_pheno, &ExplainOptions::new(Method::Permutation)).unwrap_err();
    assert!(e.to_string().contains("needs the phenotype"), "{e}");
}
