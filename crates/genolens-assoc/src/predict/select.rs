//! Which variants a sequence model reads: LD clumping driven by GWAS
//! p-values, learnt on the training samples only.
//!
//! The default (used by `genolens train`): scan the training samples with
//! the GWAS engine (linear, or logistic for case/control traits; everyone
//! else's phenotype masked), clump every variant by LD among the training
//! samples (index p ≤ 1, members with r² > 0.5 within 250 kb), and keep the
//! `max_variants` (512) clump leads with the smallest p-values, in genomic
//! order. This prunes LD (one token per haplotype block) while preferring
//! associated blocks, and held-out samples never influence the choice.

use genolens_io::GenotypeSource;

use super::model::Task;
use super::prs_ct::leads;
use crate::clump::ClumpOptions;
use crate::error::{Error, Result};
use crate::linear::Covariates;

/// Settings of [`select_variants`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectOptions {
    /// Most variants kept (the model's sequence length).
    pub max_variants: usize,
    /// Clump members need r² above this with their lead.
    pub r2: f64,
    /// Clumping window radius, kb.
    pub kb: f64,
}

impl Default for SelectOptions {
    fn default() -> Self {
        Self {
            max_variants: 512,
            r2: 0.5,
            kb: 250.0,
        }
    }
}

/// Indices (into `source`'s variants, ascending) of the selected variants,
/// learnt from the samples `rows` of outcome `y` (one value per source
/// sample; only `rows` are read).
pub fn select_variants<S: GenotypeSource + ?Sized>(
    source: &S,
    y: &[f64],
    covariates: &Covariates<'_>,
    rows: &[usize],
    task: Task,
    options: &SelectOptions,
) -> Result<Vec<usize>> {
    if options.max_variants == 0 {
        return Err(Error::Invalid("select at least one variant".into()));
    }
    if y.len() != source.n_samples() {
        return Err(Error::Invalid(format!(
            "{} outcomes for {} samples",
            y.len(),
            source.n_samples()
        )));
    }
    let clumping = ClumpOptions {
        p1: 1.0,
        p2: 1.0,
        r2: options.r2,
        kb: options.kb,
    };
    let found = leads(source, y, covariates, rows, task, &clumping)?;
    let mut chosen: Vec<usize> = (0..found.p.len())
        .filter(|&j| found.lead[j] && !found.p[j].is_nan())
        .collect();
    if chosen.is_empty() {
        return Err(Error::Invalid(
            "no variant could be tested in the training samples (all monomorphic?)".into(),
        ));
    }
    chosen.sort_by(|&a, &b| found.p[a].total_cmp(&found.p[b]).then(a.cmp(&b)));
    chosen.truncate(options.max_variants);
    chosen.sort_unstable();
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genolens_features::simulate::{CohortSpec, SimulatedCohort};
    use ndarray::Array2;

    #[test]
    fn selection_finds_the_causal_variant_and_ignores_held_out_phenotypes() {
        let source = SimulatedCohort::new(CohortSpec {
            samples: 400,
            variants: 300,
            populations: 1,
            fst: 0.0,
            missing_rate: 0.01,
            seed: 3,
        })
        .unwrap();
        let g = source.read_block(0..300).unwrap();
        let mut y: Vec<f64> = (0..400)
            .map(|i| {
                let d = g.dosages()[[i, 77]];
                f64::from(if d.is_nan() { 1.0 } else { d }) + ((i * 37) % 11) as f64 * 0.1
            })
            .collect();
        let train: Vec<usize> = (0..300).collect();
        let empty = Array2::<f64>::zeros((400, 0));
        let covariates = Covariates {
            names: &[],
            values: empty.view(),
        };
        let options = SelectOptions {
            max_variants: 20,
            ..SelectOptions::default()
        };
        let a = select_variants(
            &source,
            &y,
            &covariates,
            &train,
            Task::Quantitative,
            &options,
        )
        .unwrap();
        assert_eq!(a.len(), 20);
        assert!(a.contains(&77), "{a:?}");
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        for v in &mut y[300..] {
            *v = -*v * 3.0;
        }
        let b = select_variants(
            &source,
            &y,
            &covariates,
            &train,
            Task::Quantitative,
            &options,
        )
        .unwrap();
        assert_eq!(a, b, "held-out phenotypes changed the selection");
    }
}
