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

    /// The calls of `variant` with calls missing at `missing_rate`; the
    /// genotypes do not depend on the rate (every sample draws its missing
    /// flag either way).
    fn fill(&self, variant: usize, out: &mut [f32], missing_rate: f64) {
        if variant >= self.variants.len() || out.len() != self.samples.len() {
            // Callers go through the trait's checked paths; this guards direct use.
            out.fill(f32::NAN);
            return;
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
            let missing = uniform(&mut rng) < missing_rate;
            *o = if missing { f32::NAN } else { f32::from(a) };
        }
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
        self.fill(variant, out, self.spec.missing_rate);
        Ok(())
    }

    fn hardcalls_exact(&self) -> bool {
        true
    }
}

/// Families added to a simulated cohort: founders paired as parents, each
/// pair with children whose genotypes follow Mendel (each parent passes on
/// one of its two alleles, drawn per variant: variants segregate
/// independently, as unlinked loci do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilySpec {
    /// Parent pairs, taken from consecutive founders (samples `2k`, `2k + 1`)
    /// within a population.
    pub families: usize,
    /// Children per pair.
    pub children: usize,
    /// Seed of the transmissions.
    pub seed: u64,
}

/// A [`SimulatedCohort`] of founders plus the children of
/// [`FamilySpec::families`] parent pairs: full siblings (kinship 1/4) and
/// parent–offspring pairs (1/4), the relatedness a mixed model accounts for.
/// Children come after the founders, in family order; FID `famK`, IID
/// `cK_J`, with their parents in the `.fam` columns.
#[derive(Debug, Clone)]
pub struct FamilyCohort {
    founders: SimulatedCohort,
    spec: FamilySpec,
    samples: Vec<Sample>,
    /// Founder indices of each family's parents.
    parents: Vec<(usize, usize)>,
}

impl FamilyCohort {
    /// Pairs founders `2k` and `2k + 1` (the same population whenever the
    /// population sizes allow) for `k < families`.
    pub fn new(founders: SimulatedCohort, spec: FamilySpec) -> Result<Self> {
        if 2 * spec.families > founders.n_samples() || spec.children == 0 {
            return Err(Error::Invalid(format!(
                "{} families of {} children need {} founders and at least one child; \
                 the cohort has {} samples",
                spec.families,
                spec.children,
                2 * spec.families,
                founders.n_samples()
            )));
        }
        let parents: Vec<(usize, usize)> = (0..spec.families).map(|k| (2 * k, 2 * k + 1)).collect();
        let mut samples = founders.samples().to_vec();
        for (k, &(f, m)) in parents.iter().enumerate() {
            for j in 0..spec.children {
                let mut child = Sample::new(SampleId::new(
                    format!("fam{}", k + 1),
                    format!("c{}_{}", k + 1, j + 1),
                ));
                child.father = samples[f].id.iid.clone();
                child.mother = samples[m].id.iid.clone();
                samples.push(child);
            }
        }
        Ok(Self {
            founders,
            spec,
            samples,
            parents,
        })
    }

    /// The founders' cohort.
    pub fn founders(&self) -> &SimulatedCohort {
        &self.founders
    }

    /// Population (0-based) of sample `i` (a child's is its father's).
    pub fn population(&self, i: usize) -> usize {
        let n = self.founders.n_samples();
        if i < n {
            self.founders.population(i)
        } else {
            self.founders
                .population(self.parents[(i - n) / self.spec.children].0)
        }
    }
}

impl GenotypeSource for FamilyCohort {
    fn samples(&self) -> &[Sample] {
        &self.samples
    }

    fn variants(&self) -> &[Variant] {
        self.founders.variants()
    }

    fn origin(&self) -> &Path {
        self.founders.origin()
    }

    fn read_variant_into(&self, variant: usize, out: &mut [f32]) -> genolens_io::Result<()> {
        let n = self.founders.n_samples();
        if out.len() != self.samples.len() {
            out.fill(f32::NAN);
            return Ok(());
        }
        // The founders' calls without missingness decide what parents pass on;
        // the children's own calls then go missing at the cohort's rate.
        let (head, tail) = out.split_at_mut(n);
        self.founders.read_variant_into(variant, head)?;
        let mut full = vec![0.0f32; n];
        self.founders.fill(variant, &mut full, 0.0);
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.spec.seed.to_le_bytes());
        key[8..16].copy_from_slice(&(variant as u64).to_le_bytes());
        key[16] = 0x46; // 'F': a stream apart from the founders'
        let mut rng = ChaCha8Rng::from_seed(key);
        let pass = |g: f32, rng: &mut ChaCha8Rng| u8::from(uniform(rng) < f64::from(g) / 2.0);
        for (k, &(f, m)) in self.parents.iter().enumerate() {
            for j in 0..self.spec.children {
                let a = pass(full[f], &mut rng) + pass(full[m], &mut rng);
                let missing = uniform(&mut rng) < self.founders.spec.missing_rate;
                tail[k * self.spec.children + j] = if missing { f32::NAN } else { f32::from(a) };
            }
        }
        Ok(())
    }

    fn hardcalls_exact(&self) -> bool {
        true
    }
}

/// How a causal variant acts on the trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneticModel {
    /// Linear in the allele count.
    Additive,
    /// Any copy of the counted allele (dosage ≥ 1).
    Dominant,
    /// Two copies (dosage 2).
    Recessive,
}

/// One causal term of a simulated trait.
#[derive(Debug, Clone, PartialEq)]
pub enum CausalTerm {
    /// One variant under a genetic model.
    Single {
        /// Source index of the variant.
        variant: usize,
        /// Its model.
        model: GeneticModel,
        /// Effect sign and relative size (the term is standardised, then
        /// scaled by this).
        effect: f64,
    },
    /// The product of two variants' standardised dosages (pure epistasis:
    /// neither has a marginal additive effect through this term).
    Interaction {
        /// Source indices of the two variants.
        variants: (usize, usize),
        /// Effect sign and relative size.
        effect: f64,
    },
}

/// A quantitative trait from real or simulated genotypes: each causal term
/// is standardised over the samples (missing calls at the mean), weighted by
/// its effect, summed, and Gaussian noise is added so that the terms explain
/// `heritability` of the variance. Seeded: the same seed gives the same
/// trait. Errors on a term naming no variant of the source, a constant term,
/// or a heritability outside (0, 1).
pub fn simulate_trait<S: GenotypeSource + ?Sized>(
    source: &S,
    terms: &[CausalTerm],
    heritability: f64,
    seed: u64,
) -> Result<Vec<f64>> {
    if !(heritability > 0.0 && heritability < 1.0) {
        return Err(Error::Invalid(format!(
            "heritability {heritability} is not in (0, 1)"
        )));
    }
    if terms.is_empty() {
        return Err(Error::Invalid(
            "a trait needs at least one causal term".into(),
        ));
    }
    let n = source.n_samples();
    let m = source.n_variants();
    let mut column = vec![0.0f32; n];
    let read = |column: &mut Vec<f32>, v: usize, model: GeneticModel| -> Result<Vec<f64>> {
        if v >= m {
            return Err(Error::Invalid(format!(
                "causal variant {v} is outside the {m} variants"
            )));
        }
        source.read_variant_into(v, column)?;
        let x: Vec<f64> = column
            .iter()
            .map(|&d| {
                if d.is_nan() {
                    f64::NAN
                } else {
                    let d = f64::from(d);
                    match model {
                        GeneticModel::Additive => d,
                        GeneticModel::Dominant => f64::from(u8::from(d >= 0.5)),
                        GeneticModel::Recessive => f64::from(u8::from(d >= 1.5)),
                    }
                }
            })
            .collect();
        standardise(&x).ok_or_else(|| {
            Error::Invalid(format!(
                "causal variant {} ({:?}) does not vary over the samples",
                source.variants()[v].id,
                model
            ))
        })
    };
    let mut g = vec![0.0f64; n];
    for term in terms {
        let z = match *term {
            CausalTerm::Single {
                variant,
                model,
                effect,
            } => read(&mut column, variant, model)?
                .into_iter()
                .map(|z| z * effect)
                .collect::<Vec<_>>(),
            CausalTerm::Interaction {
                variants: (a, b),
                effect,
            } => {
                let za = read(&mut column, a, GeneticModel::Additive)?;
                let zb = read(&mut column, b, GeneticModel::Additive)?;
                let product: Vec<f64> = za.iter().zip(&zb).map(|(x, y)| x * y).collect();
                standardise(&product)
                    .ok_or_else(|| Error::Invalid("an interaction term does not vary".into()))?
                    .into_iter()
                    .map(|z| z * effect)
                    .collect()
            }
        };
        for (gi, zi) in g.iter_mut().zip(z) {
            *gi += zi;
        }
    }
    let mean = g.iter().sum::<f64>() / n as f64;
    let var_g = g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
    if var_g <= 0.0 {
        return Err(Error::Invalid("the causal terms cancel out".into()));
    }
    let noise_sd = (var_g * (1.0 - heritability) / heritability).sqrt();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok(g.into_iter()
        .map(|gi| {
            // Box–Muller on our own uniforms: the same bytes on every platform.
            let (u1, u2) = (uniform(&mut rng), uniform(&mut rng));
            let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            gi - mean + noise_sd * z
        })
        .collect())
}

/// `(x − mean) / sd` with missing values at 0; `None` when constant.
fn standardise(x: &[f64]) -> Option<Vec<f64>> {
    let present: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = present.len().max(1) as f64;
    let mean = present.iter().sum::<f64>() / n;
    let sd = (present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    (sd > 1e-12).then(|| {
        x.iter()
            .map(|v| if v.is_nan() { 0.0 } else { (v - mean) / sd })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_traits_have_their_heritability_and_models() {
        let cohort = SimulatedCohort::new(CohortSpec {
            samples: 2000,
            variants: 50,
            populations: 1,
            fst: 0.0,
            missing_rate: 0.0,
            seed: 3,
        })
        .unwrap();
        let terms = vec![
            CausalTerm::Single {
                variant: 1,
                model: GeneticModel::Additive,
                effect: 1.0,
            },
            CausalTerm::Single {
                variant: 2,
                model: GeneticModel::Recessive,
                effect: -1.0,
            },
            CausalTerm::Interaction {
                variants: (3, 4),
                effect: 1.0,
            },
        ];
        let y = simulate_trait(&cohort, &terms, 0.5, 9).unwrap();
        assert_eq!(y, simulate_trait(&cohort, &terms, 0.5, 9).unwrap());
        assert_ne!(y, simulate_trait(&cohort, &terms, 0.5, 10).unwrap());
        let var = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
        };
        // Three unit terms, nearly independent: total variance ≈ 3 / 0.5.
        assert!((var(&y) - 6.0).abs() < 0.6, "{}", var(&y));
        assert!(simulate_trait(&cohort, &terms, 1.0, 9).is_err());
        assert!(simulate_trait(&cohort, &[], 0.5, 9).is_err());
        let bad = [CausalTerm::Single {
            variant: 99,
            model: GeneticModel::Additive,
            effect: 1.0,
        }];
        assert!(simulate_trait(&cohort, &bad, 0.5, 9).is_err());
    }

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
