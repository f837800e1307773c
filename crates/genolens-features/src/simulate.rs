//! A seeded, structured-population genotype source: the test and benchmark
//! cohort with known ancestry (PLINK 2's `--dummy` has no structure, so PCs of it
//! are noise).
//!
//! Allele frequencies follow a Balding–Nichols-like model: an ancestral frequency
//! `p ~ U(0.05, 0.95)` per variant, and per population
//! `p_k = p + N(0, F_k p(1-p))` clamped to `[0.001, 0.999]`. Population `k` (of
//! `P`) holds a share of the samples proportional to `k + 1` and drifts by
//! `F_k = F_ST (k + 1) / P`, so the structure's eigenvalues are distinct and its
//! principal components well defined (equal groups would make them degenerate). Genotypes are two Bernoulli draws; calls go missing
//! at a fixed rate. Each variant has its own ChaCha8 stream keyed by the seed and
//! the variant index, so any block is generated independently and in parallel,
//! and the same seed gives the same genotypes.

use std::path::{Path, PathBuf};

use genolens_io::{GenotypeSource, Sample, SampleId, Variant};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::error::{Error, Result};

/// Settings of a simulated cohort.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CohortSpec {
    /// Samples, split into `populations` contiguous groups of sizes proportional to
    /// 1, 2, …, `populations`.
    pub samples: usize,
    /// Variants, spread over 22 chromosomes in order.
    pub variants: usize,
    /// Number of populations.
    pub populations: usize,
    /// Differentiation between populations (0 = none).
    pub fst: f64,
    /// Probability that a call is missing.
    pub missing_rate: f64,
    /// Seed.
    pub seed: u64,
}

/// A simulated cohort; genotypes are generated on demand.
#[derive(Debug, Clone)]
pub struct SimulatedCohort {
    spec: CohortSpec,
    samples: Vec<Sample>,
    variants: Vec<Variant>,
    origin: PathBuf,
    /// First sample of each population, plus the sample count at the end.
    bounds: Vec<usize>,
}

impl SimulatedCohort {
    /// Builds the cohort's samples and variants.
    pub fn new(spec: CohortSpec) -> Result<Self> {
        if spec.samples == 0 || spec.variants == 0 || spec.populations == 0 {
            return Err(Error::Invalid(
                "a simulated cohort needs samples, variants and populations".into(),
            ));
        }
        if spec.populations > spec.samples {
            return Err(Error::Invalid(format!(
                "{} populations cannot share {} samples",
                spec.populations, spec.samples
            )));
        }
        if !(0.0..1.0).contains(&spec.fst) || !(0.0..1.0).contains(&spec.missing_rate) {
            return Err(Error::Invalid(
                "F_ST and the missing rate must be in [0, 1)".into(),
            ));
        }
        let p = spec.populations;
        let weight_total = p * (p + 1) / 2;
        let bounds: Vec<usize> = (0..=p)
            .map(|k| spec.samples * (k * (k + 1) / 2) / weight_total)
            .collect();
        if bounds.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::Invalid(format!(
                "{} samples are too few for {p} populations",
                spec.samples
            )));
        }
        let pop_of = |i: usize| bounds.partition_point(|&b| b <= i) - 1;
        let samples = (0..spec.samples)
            .map(|i| {
                Sample::new(SampleId::new(
                    format!("pop{}", pop_of(i) + 1),
                    format!("s{}", i + 1),
                ))
            })
            .collect();
        let variants = (0..spec.variants)
            .map(|v| Variant {
                chrom: (1 + v * 22 / spec.variants).to_string(),
                pos: 10_000 * (v as u64 + 1),
                id: format!("sim{}", v + 1),
                cm: 0.0,
                allele1: "A".into(),
                allele2: "G".into(),
            })
            .collect();
        Ok(Self {
            spec,
            samples,
            variants,
            origin: PathBuf::from(format!("simulated-cohort-seed{}", spec.seed)),
            bounds,
        })
    }

    /// The settings.
    pub fn spec(&self) -> &CohortSpec {
        &self.spec
    }

    /// Population (0-based) of sample `i`.
    pub fn population(&self, i: usize) -> usize {
        self.bounds.partition_point(|&b| b <= i) - 1
    }

    fn rng(&self, variant: usize) -> ChaCha8Rng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.spec.seed.to_le_bytes());
        key[8..16].copy_from_slice(&(variant as u64).to_le_bytes());
        ChaCha8Rng::from_seed(key)
    }
}

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl GenotypeSource for SimulatedCohort {
    fn samples(&self) -> &[Sample] {
        &self.samples
    }

    fn variants(&self) -> &[Variant] {
        &self.variants
    }

    fn origin(&self) -> &Path {
        &self.origin
    }

    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> genolens_io::Result<()> {
        if variant >= self.variants.len() || out.len() != self.samples.len() {
            // Callers go through the trait's checked paths; this guards direct use.
            out.fill(f32::NAN);
            return Ok(());
        }
        let mut rng = self.rng(variant);
        let p = 0.05 + 0.9 * uniform(&mut rng);
        let n_pop = self.spec.populations as f64;
        let freqs: Vec<f64> = (0..self.spec.populations)
            .map(|k| {
                let fst = self.spec.fst * (k as f64 + 1.0) / n_pop;
                let sd = (fst * p * (1.0 - p)).sqrt();
                // Box–Muller normal.
                let u1 = 1.0 - uniform(&mut rng);
                let u2 = uniform(&mut rng);
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (p + sd * z).clamp(0.001, 0.999)
            })
            .collect();
        for (i, o) in out.iter_mut().enumerate() {
            let pk = freqs[self.population(i)];
            let a = u8::from(uniform(&mut rng) < pk) + u8::from(uniform(&mut rng) < pk);
            let missing = uniform(&mut rng) < self.spec.missing_rate;
            *o = if missing { f32::NAN } else { f32::from(a) };
        }
        Ok(())
    }

    fn hardcalls_exact(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_genotypes_and_structure_shows() {
        let spec = CohortSpec {
            samples: 200,
            variants: 50,
            populations: 2,
            fst: 0.2,
            missing_rate: 0.01,
            seed: 7,
        };
        let a = SimulatedCohort::new(spec).expect("valid spec");
        let b = SimulatedCohort::new(spec).expect("valid spec");
        let ba = a.read_block(0..50).expect("block");
        assert_eq!(ba, b.read_block(0..50).expect("block"));
        let other = SimulatedCohort::new(CohortSpec { seed: 8, ..spec }).expect("valid");
        assert_ne!(ba, other.read_block(0..50).expect("block"));
        // Mean |frequency difference| between the populations is far above what
        // sampling noise alone gives with F_ST = 0.
        let diff = |c: &SimulatedCohort| {
            let blk = c.read_block(0..50).expect("block");
            let mut total = 0.0;
            for j in 0..50 {
                let col = blk.variant(j);
                let mean = |r: std::ops::Range<usize>| {
                    let v: Vec<f32> = r.map(|i| col[i]).filter(|d| !d.is_nan()).collect();
                    v.iter().sum::<f32>() as f64 / v.len() as f64
                };
                total += (mean(0..66) - mean(66..200)).abs();
            }
            total / 50.0
        };
        let flat = SimulatedCohort::new(CohortSpec { fst: 0.0, ..spec }).expect("valid");
        assert!(
            diff(&a) > 2.0 * diff(&flat),
            "{} vs {}",
            diff(&a),
            diff(&flat)
        );
        assert!(SimulatedCohort::new(CohortSpec {
            populations: 0,
            ..spec
        })
        .is_err());
    }
}
