//! Test fixtures shared by the modules' tests.

use genolens_features::simulate::{
    simulate_trait, CausalTerm, CohortSpec, FamilyCohort, FamilySpec, GeneticModel, SimulatedCohort,
};
use genolens_io::plink::BedFile;
use genolens_io::GenotypeSource;

/// A cohort with relatives and a polygenic trait: `founders` simulated
/// samples of 2 populations (F_ST 0.02, 12,000 variants, no missing call),
/// `families` of whose pairs get `children` children each, written as a
/// `.bed` in a temporary directory (the simulator draws every call anew, so
/// it is read back); h² 0.8 over every 40th variant (effects 1, −0.7, …).
/// Returns the directory (keep it alive), the fileset, the causal variants
/// and the trait.
pub(crate) fn families_with_trait(
    founders: usize,
    families: usize,
    children: usize,
) -> (tempfile::TempDir, BedFile, Vec<usize>, Vec<f64>) {
    let founders = SimulatedCohort::new(CohortSpec {
        samples: founders,
        variants: 12000,
        populations: 2,
        fst: 0.02,
        missing_rate: 0.0,
        seed: 17,
    })
    .unwrap();
    let cohort = FamilyCohort::new(
        founders,
        FamilySpec {
            families,
            children,
            seed: 5,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    genolens_io::plink::write_bed_fileset(&cohort, dir.path().join("f"), 1024).unwrap();
    let cohort = BedFile::open(dir.path().join("f")).unwrap();
    let causal: Vec<usize> = (0..cohort.n_variants()).step_by(40).collect();
    let terms: Vec<CausalTerm> = causal
        .iter()
        .enumerate()
        .map(|(k, &v)| CausalTerm::Single {
            variant: v,
            model: GeneticModel::Additive,
            effect: if k % 2 == 0 { 1.0 } else { -0.7 },
        })
        .collect();
    let y = simulate_trait(&cohort, &terms, 0.8, 9).unwrap();
    (dir, cohort, causal, y)
}
