//! The semi-synthetic fusion benchmark: real genotypes, real gene positions,
//! a real literature prior, and traits simulated with known causal variants,
//! so that every gain of fusion is measured against the same analysis
//! without it, on the same traits, folds and seeds, with controls that must
//! show no gain.
//!
//! Arms: the fraction `f` of causal variants placed near genes the literature
//! links to the query (`f ∈ {0, ½, 1}`, true prior), and at `f = 1` a
//! **shuffled** prior (the gene scores permuted among the prior's genes) and
//! an **inverted** prior (every variant's score `s` turned to `1 − s`: the
//! variants near linked genes get the lowest weight, those near no gene the
//! highest).
//!
//! Truth for multiple testing: a causal variant is **discovered** when a
//! rejected variant lies within 1 Mb of it with genotype r² ≥ 0.2 (or is it);
//! a rejection is **false** when it has r² < 0.05 with every causal variant
//! within 1 Mb (rejections in between are neither: they tag a causal variant
//! weakly). The empirical FDR is false rejections over rejections.

use genolens_assoc::epistasis::{epistasis_scan, EpistasisOptions};
use genolens_assoc::linear::{linear_scan, Covariates, Phenotype};
use genolens_assoc::predict::{cross_validate, ModelKind, ModelSpec, PriorPenalty, Task};
use genolens_features::simulate::{simulate_trait, CausalTerm, GeneticModel};
use genolens_features::split::{k_folds, permutation};
use genolens_io::genes::GeneMap;
use genolens_io::{GenotypeSource, Subset};
use ndarray::Array2;

use crate::attribution::{
    explain, Attributions, ExplainInput, ExplainOptions, Explainable, Method, TransformerArtifact,
};
use crate::error::{Error, Result};
use crate::fdr::{prior_weighted_tests, AdaptiveOptions, Weighting};
use crate::fusion::variant_prior_inputs;
use crate::mapping::{map_variants, variant_weights, MappingOptions};
use crate::prior::GenePriors;

/// Which prior an arm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorKind {
    /// The literature prior.
    True,
    /// Scores permuted among the prior's genes (seeded per replicate).
    Shuffled,
    /// `1 − score` per variant.
    Inverted,
}

impl PriorKind {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::True => "true",
            Self::Shuffled => "shuffled",
            Self::Inverted => "inverted",
        }
    }
}

/// One arm: where the causal variants are and which prior is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arm {
    /// Fraction of causal variants near literature-linked genes.
    pub fraction: f64,
    /// The prior applied.
    pub prior: PriorKind,
}

impl Arm {
    /// The five arms of the benchmark.
    pub fn all() -> Vec<Arm> {
        vec![
            Arm {
                fraction: 0.0,
                prior: PriorKind::True,
            },
            Arm {
                fraction: 0.5,
                prior: PriorKind::True,
            },
            Arm {
                fraction: 1.0,
                prior: PriorKind::True,
            },
            Arm {
                fraction: 1.0,
                prior: PriorKind::Shuffled,
            },
            Arm {
                fraction: 1.0,
                prior: PriorKind::Inverted,
            },
        ]
    }

    /// `f=0.5 true` and the like.
    pub fn label(&self) -> String {
        format!("f={} {}", self.fraction, self.prior.name())
    }
}

/// Settings of the benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    /// Seeded replicates per arm.
    pub replicates: usize,
    /// Causal variants per trait.
    pub n_causal: usize,
    /// Variance explained by them.
    pub heritability: f64,
    /// Causal variants have at least this minor-allele frequency.
    pub min_maf: f64,
    /// Causal variants are at least this far apart (bp).
    pub min_distance: u64,
    /// FDR level.
    pub alpha: f64,
    /// Weight floor.
    pub floor: f64,
    /// Variant → gene mapping.
    pub mapping: MappingOptions,
    /// Outer folds of the prediction arm (0: no prediction arm).
    pub folds: usize,
    /// Inner folds of the prediction arm.
    pub inner_folds: usize,
    /// Repeats of the inner cross-validation (the same with and without
    /// the prior, so the arms differ only by the prior).
    pub inner_repeats: usize,
    /// Models of the prediction arm.
    pub models: Vec<ModelKind>,
    /// The transformer arm (gene tokens), when set.
    pub transformer: Option<TransformerArm>,
    /// Base seed.
    pub seed: u64,
}

/// The transformer arm: the genotype transformer cross-validated on the
/// same GWAS-selected tokens, splits and seeds, without and with gene tokens
/// (each token's gene score and literature embedding as its prior input).
#[derive(Debug, Clone, PartialEq)]
pub struct TransformerArm {
    /// Outer folds.
    pub folds: usize,
    /// Tokens: the strongest LD-clumped GWAS leads of each training set.
    pub max_variants: usize,
    /// Token width.
    pub d_model: usize,
    /// Attention heads.
    pub heads: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Most epochs (early stopping on a 15 % validation split).
    pub epochs: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
}

impl Default for TransformerArm {
    fn default() -> Self {
        Self {
            folds: 3,
            max_variants: 64,
            d_model: 16,
            heads: 2,
            layers: 1,
            epochs: 30,
            learning_rate: 3e-3,
        }
    }
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            replicates: 20,
            n_causal: 10,
            heritability: 0.5,
            min_maf: 0.05,
            min_distance: 250_000,
            alpha: 0.05,
            floor: 0.1,
            mapping: MappingOptions::default(),
            folds: 5,
            inner_folds: 5,
            inner_repeats: 3,
            models: vec![ModelKind::Lasso, ModelKind::Ridge],
            transformer: None,
            seed: 1,
        }
    }
}

/// Multiple-testing counts of one procedure on one trait.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Discoveries {
    /// Causal variants discovered.
    pub true_discoveries: usize,
    /// Rejections with no causal variant in LD.
    pub false_rejections: usize,
    /// All rejections.
    pub rejections: usize,
}

impl Discoveries {
    /// False rejections over rejections (0 without rejections).
    pub fn fdp(&self) -> f64 {
        if self.rejections == 0 {
            0.0
        } else {
            self.false_rejections as f64 / self.rejections as f64
        }
    }
}

/// One replicate of one arm.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicateResult {
    /// The arm.
    pub arm: Arm,
    /// The replicate.
    pub replicate: usize,
    /// Source indices of the causal variants.
    pub causal: Vec<usize>,
    /// Unweighted BH.
    pub bh: Discoveries,
    /// Weighted BH with the prior's fixed weights.
    pub fixed: Discoveries,
    /// Weighted BH with cross-fitted adaptive weights.
    pub adaptive: Discoveries,
    /// Held-out R² per model, without and with the prior.
    pub prediction: Vec<PredictionResult>,
    /// Held-out R² of the transformer without and with gene tokens.
    pub transformer: Option<(f64, f64)>,
}

/// One model's prediction arm on one trait: the same outer folds and seeds
/// without and with the prior.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictionResult {
    /// The model family.
    pub model: ModelKind,
    /// Mean held-out R² over the outer folds without the prior.
    pub plain: f64,
    /// The same with the prior.
    pub with_prior: f64,
    /// Outer folds whose inner folds chose a prior strength above 0.
    pub prior_used: usize,
    /// Outer folds.
    pub folds: usize,
}

/// The data a benchmark runs on.
pub struct BenchData<'a> {
    /// Real genotypes.
    pub source: &'a dyn GenotypeSource,
    /// The literature prior.
    pub priors: &'a GenePriors,
    /// Gene coordinates in the genotypes' build.
    pub map: &'a GeneMap,
}

/// The variants causal variants are drawn from: near literature-linked genes
/// (`linked`), and near no gene the prior supports (`unlinked`), each with
/// MAF ≥ `min_maf`.
#[derive(Debug, Clone, PartialEq)]
pub struct CausalPools {
    /// Variants near a supported gene.
    pub linked: Vec<usize>,
    /// Variants near none.
    pub unlinked: Vec<usize>,
}

/// Splits the variants into the two pools.
pub fn causal_pools(data: &BenchData<'_>, options: &BenchOptions) -> Result<CausalPools> {
    let genes = map_variants(
        data.source.variants(),
        data.map,
        Some(data.priors),
        &options.mapping,
    )?;
    let maf = minor_allele_frequencies(data.source)?;
    let mut pools = CausalPools {
        linked: Vec::new(),
        unlinked: Vec::new(),
    };
    for (v, &s) in genes.score.iter().enumerate() {
        if maf[v] < options.min_maf {
            continue;
        }
        if s > 0.0 {
            pools.linked.push(v);
        } else {
            pools.unlinked.push(v);
        }
    }
    if pools.linked.len() < options.n_causal {
        return Err(Error::invalid(format!(
            "only {} common variants lie near genes the prior supports; {} causal variants \
             are needed",
            pools.linked.len(),
            options.n_causal
        )));
    }
    Ok(pools)
}

fn minor_allele_frequencies(source: &dyn GenotypeSource) -> Result<Vec<f64>> {
    let n = source.n_samples();
    let mut col = vec![0.0f32; n];
    (0..source.n_variants())
        .map(|v| {
            source.read_variant_into(v, &mut col)?;
            let (sum, count) = col
                .iter()
                .filter(|d| !d.is_nan())
                .fold((0.0f64, 0usize), |(s, c), &d| (s + f64::from(d), c + 1));
            let p = sum / (2.0 * count.max(1) as f64);
            Ok(p.min(1.0 - p))
        })
        .collect()
}

/// Draws `n` causal variants, `round(f·n)` from the linked pool, at least
/// `min_distance` apart on a chromosome.
fn draw_causal(
    data: &BenchData<'_>,
    pools: &CausalPools,
    fraction: f64,
    options: &BenchOptions,
    seed: u64,
) -> Result<Vec<usize>> {
    let n_linked = (fraction * options.n_causal as f64).round() as usize;
    let variants = data.source.variants();
    let mut chosen: Vec<usize> = Vec::new();
    let far = |chosen: &[usize], v: usize| {
        chosen.iter().all(|&c| {
            variants[c].plink_chrom() != variants[v].plink_chrom()
                || variants[c].pos.abs_diff(variants[v].pos) >= options.min_distance
        })
    };
    for (pool, want, salt) in [
        (&pools.linked, n_linked, 1u64),
        (&pools.unlinked, options.n_causal - n_linked, 2u64),
    ] {
        let order = permutation(pool.len(), seed.wrapping_mul(31).wrapping_add(salt));
        let mut got = 0;
        for &k in &order {
            if got == want {
                break;
            }
            if far(&chosen, pool[k]) {
                chosen.push(pool[k]);
                got += 1;
            }
        }
        if got < want {
            return Err(Error::invalid(format!(
                "could not place {want} causal variants {} bp apart in a pool of {}",
                options.min_distance,
                pool.len()
            )));
        }
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Standardised dosages of some variants (`n × k`, missing at 0).
fn standardised(source: &dyn GenotypeSource, variants: &[usize]) -> Result<Array2<f64>> {
    let n = source.n_samples();
    let mut out = Array2::<f64>::zeros((n, variants.len()));
    let mut col = vec![0.0f32; n];
    for (k, &v) in variants.iter().enumerate() {
        source.read_variant_into(v, &mut col)?;
        let present: Vec<f64> = col
            .iter()
            .filter(|d| !d.is_nan())
            .map(|&d| f64::from(d))
            .collect();
        let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
        let sd = (present.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
            / present.len().max(1) as f64)
            .sqrt();
        for (i, &d) in col.iter().enumerate() {
            out[[i, k]] = if d.is_nan() || sd == 0.0 {
                0.0
            } else {
                (f64::from(d) - mean) / sd
            };
        }
    }
    Ok(out)
}

/// Scores rejected variants against the causal variants (source indices),
/// by the module's truth rule: a causal variant is discovered by a rejection
/// within 1 Mb at r² ≥ 0.2; a rejection is false below r² 0.05 with every
/// causal variant within 1 Mb.
pub fn score_rejections(
    source: &dyn GenotypeSource,
    causal: &[usize],
    rejected: &[usize],
) -> Result<Discoveries> {
    const WINDOW: u64 = 1_000_000;
    let variants = source.variants();
    let zc = standardised(source, causal)?;
    let zr = standardised(source, rejected)?;
    let n = source.n_samples() as f64;
    let mut found = vec![false; causal.len()];
    let mut false_rejections = 0;
    for (r, &v) in rejected.iter().enumerate() {
        let mut best = 0.0f64;
        for (c, &cv) in causal.iter().enumerate() {
            let same = variants[v].plink_chrom() == variants[cv].plink_chrom()
                && variants[v].pos.abs_diff(variants[cv].pos) <= WINDOW;
            if !same {
                continue;
            }
            let r2 = if v == cv {
                1.0
            } else {
                let rho = zr.column(r).dot(&zc.column(c)) / n;
                rho * rho
            };
            if r2 >= 0.2 {
                found[c] = true;
            }
            best = best.max(r2);
        }
        if best < 0.05 {
            false_rejections += 1;
        }
    }
    Ok(Discoveries {
        true_discoveries: found.iter().filter(|&&f| f).count(),
        false_rejections,
        rejections: rejected.len(),
    })
}

/// Every variant's prior score under an arm's prior, for replicate `seed`.
fn arm_scores(
    data: &BenchData<'_>,
    kind: PriorKind,
    seed: u64,
    mapping: &MappingOptions,
) -> Result<Vec<f64>> {
    let variants = data.source.variants();
    Ok(match kind {
        PriorKind::True => map_variants(variants, data.map, Some(data.priors), mapping)?.score,
        PriorKind::Shuffled => {
            map_variants(
                variants,
                data.map,
                Some(&data.priors.shuffled(seed)),
                mapping,
            )?
            .score
        }
        PriorKind::Inverted => map_variants(variants, data.map, Some(data.priors), mapping)?
            .score
            .into_iter()
            .map(|s| 1.0 - s)
            .collect(),
    })
}

/// Runs replicate `replicate` of every arm in `arms`: the traits of the
/// arms' fractions are simulated once and scanned together; each arm's
/// prior re-tests its trait; with `options.folds > 0` each model is
/// cross-validated with and without the prior on the same folds.
pub fn run_replicate(
    data: &BenchData<'_>,
    pools: &CausalPools,
    arms: &[Arm],
    replicate: usize,
    options: &BenchOptions,
) -> Result<Vec<ReplicateResult>> {
    let seed = options
        .seed
        .wrapping_mul(1_000_003)
        .wrapping_add(replicate as u64);
    // One trait per distinct fraction.
    let mut fractions: Vec<f64> = arms.iter().map(|a| a.fraction).collect();
    fractions.sort_by(|a, b| a.total_cmp(b));
    fractions.dedup();
    let mut causal_of = Vec::new();
    let mut traits = Vec::new();
    for (k, &f) in fractions.iter().enumerate() {
        let trait_seed = seed.wrapping_mul(7).wrapping_add(k as u64);
        let causal = draw_causal(data, pools, f, options, trait_seed)?;
        let terms: Vec<CausalTerm> = causal
            .iter()
            .enumerate()
            .map(|(i, &variant)| CausalTerm::Single {
                variant,
                model: GeneticModel::Additive,
                effect: if i % 2 == 0 { 1.0 } else { -1.0 },
            })
            .collect();
        traits.push(simulate_trait(
            data.source,
            &terms,
            options.heritability,
            trait_seed,
        )?);
        causal_of.push(causal);
    }
    let names: Vec<String> = (0..fractions.len()).map(|k| format!("f{k}")).collect();
    let phenotypes: Vec<Phenotype<'_>> = names
        .iter()
        .zip(&traits)
        .map(|(name, values)| Phenotype { name, values })
        .collect();
    let scan = linear_scan(
        data.source,
        &phenotypes,
        &Covariates::none(data.source.n_samples()),
        1024,
        &|_| {},
    )?;
    let mut out = Vec::with_capacity(arms.len());
    for arm in arms {
        let k = fractions
            .iter()
            .position(|&f| f == arm.fraction)
            .expect("every arm's fraction was simulated");
        let causal = &causal_of[k];
        let p: Vec<f64> = scan.tests[k].iter().map(|t| t.p_value()).collect();
        let scores = arm_scores(data, arm.prior, seed, &options.mapping)?;
        let tested: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
        let w_tested = variant_weights(
            &tested.iter().map(|&i| scores[i]).collect::<Vec<_>>(),
            options.floor,
        )?;
        let mut weights = vec![1.0; p.len()];
        for (&i, &w) in tested.iter().zip(&w_tested) {
            weights[i] = w;
        }
        let rejected =
            |q: &[f64]| -> Vec<usize> { (0..q.len()).filter(|&i| q[i] <= options.alpha).collect() };
        let fixed = prior_weighted_tests(&p, &weights, &Weighting::Fixed, options.alpha)?;
        let adaptive = prior_weighted_tests(
            &p,
            &weights,
            &Weighting::Adaptive(AdaptiveOptions::default()),
            options.alpha,
        )?;
        let bh = score_rejections(data.source, causal, &rejected(&fixed.q))?;
        let fixed_d = score_rejections(data.source, causal, &rejected(&fixed.q_weighted))?;
        let adaptive_d = score_rejections(data.source, causal, &rejected(&adaptive.q_weighted))?;
        let mut prediction = Vec::new();
        if options.folds > 0 {
            let folds = k_folds(data.source.n_samples(), options.folds, seed)
                .map_err(|e| Error::invalid(e.to_string()))?;
            let penalty_weights = variant_weights(&scores, options.floor)?;
            for &kind in &options.models {
                let spec = ModelSpec {
                    inner_folds: options.inner_folds,
                    inner_repeats: options.inner_repeats,
                    seed,
                    ..ModelSpec::new(kind)
                };
                let run = |spec: &ModelSpec| {
                    cross_validate(
                        data.source,
                        &traits[k],
                        None,
                        &folds,
                        Task::Quantitative,
                        spec,
                    )
                };
                let r2 = |cv: &genolens_assoc::predict::CvReport| {
                    cv.folds.iter().map(|f| f.metrics[1]).sum::<f64>() / cv.folds.len() as f64
                };
                let plain = run(&spec)?;
                let with = run(&ModelSpec {
                    prior: Some(PriorPenalty::new(penalty_weights.clone())),
                    ..spec.clone()
                })?;
                let prior_used = with
                    .folds
                    .iter()
                    .filter(|f| {
                        f.model
                            .hyperparameter("prior_strength")
                            .is_some_and(|k| k != 0.0)
                    })
                    .count();
                prediction.push(PredictionResult {
                    model: kind,
                    plain: r2(&plain),
                    with_prior: r2(&with),
                    prior_used,
                    folds: with.folds.len(),
                });
            }
        }
        let transformer = match &options.transformer {
            None => None,
            Some(t) => {
                let prior = match arm.prior {
                    PriorKind::Shuffled => data.priors.shuffled(seed),
                    _ => data.priors.clone(),
                };
                let invert = arm.prior == PriorKind::Inverted;
                let inputs = |variants: &[usize]| -> Result<Array2<f32>> {
                    let vs: Vec<genolens_io::Variant> = variants
                        .iter()
                        .map(|&v| data.source.variants()[v].clone())
                        .collect();
                    let (mut m, _) = variant_prior_inputs(&vs, &prior, data.map, &options.mapping)?;
                    if invert {
                        m.column_mut(0).mapv_inplace(|s| 1.0 - s);
                    }
                    Ok(m)
                };
                Some(transformer_arm(data.source, &traits[k], &inputs, t, seed)?)
            }
        };
        out.push(ReplicateResult {
            arm: *arm,
            replicate,
            causal: causal.clone(),
            bh,
            fixed: fixed_d,
            adaptive: adaptive_d,
            prediction,
            transformer,
        });
    }
    Ok(out)
}

/// Variants for transformer tokens: the strongest LD-clumped GWAS leads of
/// the samples `rows` (the CLI's default selection).
/// `0..n`.
fn all_samples(n: usize) -> Vec<usize> {
    (0..n).collect()
}

fn gwas_tokens(
    source: &dyn GenotypeSource,
    y: &[f64],
    rows: &[usize],
    max_variants: usize,
) -> Result<Vec<usize>> {
    use genolens_assoc::predict::select::{select_variants, SelectOptions};
    Ok(select_variants(
        source,
        y,
        &Covariates::none(source.n_samples()),
        rows,
        Task::Quantitative,
        &SelectOptions {
            max_variants,
            ..SelectOptions::default()
        },
    )?)
}

/// A transformer fitted on `train` (15 % of it, seeded, for early stopping)
/// over `variants`, with `prior` inputs when given; the model is returned as
/// a saved artifact (description + weights), ready to predict or explain.
fn fit_transformer(
    source: &dyn GenotypeSource,
    y: &[f64],
    train: &[usize],
    variants: &[usize],
    prior: Option<&Array2<f32>>,
    arm: &TransformerArm,
    seed: u64,
) -> Result<TransformerArtifact> {
    use genolens_transformer::burn::module::AutodiffModule;
    use genolens_transformer::burn::tensor::backend::Backend;
    use genolens_transformer::finetune::{
        fine_tune, Control, FineTuneOptions, OutputKind, Preprocessing, TaskData,
    };
    use genolens_transformer::model::{GenotypeTransformer, TransformerConfig};
    use genolens_transformer::saved::{SavedTransformer, SavedVariant};
    use genolens_transformer::tokens::GenotypeTokens;
    use genolens_transformer::CpuBackend;

    let order = permutation(train.len(), seed);
    let n_valid = (train.len() as f64 * 0.15).round() as usize;
    let valid: Vec<usize> = order[..n_valid].iter().map(|&k| train[k]).collect();
    let fit: Vec<usize> = order[n_valid..].iter().map(|&k| train[k]).collect();
    let part = |rows: &[usize]| -> Result<(GenotypeTokens, Array2<f32>)> {
        let dosages = crate::attribution::read_dosages(source, variants, rows)?;
        let targets = Array2::from_shape_fn((rows.len(), 1), |(i, _)| y[rows[i]] as f32);
        Ok((GenotypeTokens::from_dosages(dosages.view())?, targets))
    };
    let ((fit_t, fit_y), (valid_t, valid_y)) = (part(&fit)?, part(&valid)?);
    let data = |t, y| TaskData {
        tokens: t,
        covariates: None,
        targets: y,
        offsets: None,
    };
    let mut prep = Preprocessing::fit(&data(&fit_t, fit_y.view()), &[OutputKind::Regression])?;
    if let Some(p) = prior {
        prep = prep.with_priors(p.view())?;
    }
    let config = TransformerConfig {
        n_variants: variants.len(),
        d_model: arm.d_model,
        n_heads: arm.heads,
        n_layers: arm.layers,
        d_ff: 2 * arm.d_model,
        dropout: 0.1,
        d_prior: prior.map(|p| p.ncols()),
        n_covariates: 0,
        n_outputs: 1,
    };
    let device = Default::default();
    CpuBackend::seed(&device, seed);
    let model = GenotypeTransformer::<CpuBackend>::new(&config, &device)?;
    let tuned = fine_tune(
        model,
        &prep,
        &data(&fit_t, fit_y.view()),
        &data(&valid_t, valid_y.view()),
        &FineTuneOptions {
            epochs: arm.epochs,
            learning_rate: arm.learning_rate,
            patience: Some(6),
            seed,
            ..FineTuneOptions::default()
        },
        &device,
        None,
        &mut |_, _| Control::Continue,
    )?;
    let all = source.variants();
    let saved = SavedTransformer::new(
        config,
        prep,
        variants
            .iter()
            .map(|&v| SavedVariant {
                id: all[v].id.clone(),
                chrom: all[v].chrom.clone(),
                pos: all[v].pos,
                allele1: all[v].allele1.clone(),
                allele2: all[v].allele2.clone(),
            })
            .collect(),
        vec!["trait".to_string()],
        Vec::new(),
    )?;
    let weights = SavedTransformer::weights(&tuned.model.valid())?;
    Ok(TransformerArtifact {
        saved,
        weights,
        additive: Vec::new(),
    })
}

/// Cross-validated held-out R² (mean over folds) of the transformer on
/// trait `y`, without and with the prior inputs `inputs(tokens)`: the same
/// folds, token selection, validation split, initial seed and sample order
/// for both.
pub fn transformer_arm(
    source: &dyn GenotypeSource,
    y: &[f64],
    inputs: &dyn Fn(&[usize]) -> Result<Array2<f32>>,
    arm: &TransformerArm,
    seed: u64,
) -> Result<(f64, f64)> {
    use genolens_assoc::predict::metrics::r_squared;

    let n = source.n_samples();
    let folds = k_folds(n, arm.folds, seed).map_err(|e| Error::invalid(e.to_string()))?;
    let (mut plain, mut fused) = (Vec::new(), Vec::new());
    for fold in 0..folds.n_folds() {
        let (train, test) = folds
            .train_test(fold)
            .map_err(|e| Error::invalid(e.to_string()))?;
        let variants = gwas_tokens(source, y, &train, arm.max_variants)?;
        let prior = inputs(&variants)?;
        let observed: Vec<f64> = test.iter().map(|&i| y[i]).collect();
        for with in [false, true] {
            let model = Explainable::Transformer(fit_transformer(
                source,
                y,
                &train,
                &variants,
                with.then_some(&prior),
                arm,
                seed ^ fold as u64,
            )?);
            let predicted = predictions(&model, source, &test)?;
            let r2 = r_squared(&observed, &predicted);
            if with {
                fused.push(r2);
            } else {
                plain.push(r2);
            }
        }
    }
    Ok((mean_se(&plain).0, mean_se(&fused).0))
}

/// A model's predictions for `samples` (no covariates).
fn predictions(
    model: &Explainable,
    source: &dyn GenotypeSource,
    samples: &[usize],
) -> Result<Vec<f64>> {
    let a = explain(
        model,
        &ExplainInput {
            source,
            samples,
            covariates: None,
            phenotype: None,
        },
        &ExplainOptions {
            steps: 1,
            ..ExplainOptions::new(match model {
                Explainable::Linear(_) => Method::Shap,
                Explainable::Transformer(_) => Method::GradientTimesInput,
            })
        },
    )?;
    Ok(match model {
        // A linear score is the prediction; the transformer's output is
        // on the standardised scale.
        Explainable::Linear(_) => a.output,
        Explainable::Transformer(t) => {
            let (m, sd) = (
                f64::from(t.saved.preprocessing.targets.mean[0]),
                f64::from(t.saved.preprocessing.targets.sd[0]),
            );
            a.output.iter().map(|z| z * sd + m).collect()
        }
    })
}

/// Settings of the attribution benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionBench {
    /// Seeded replicates.
    pub replicates: usize,
    /// Additive causal variants per trait.
    pub additive: usize,
    /// Dominant and recessive causal variants per trait (each).
    pub dominance: usize,
    /// Interacting pairs per trait (pure epistasis: the product of two
    /// standardised dosages).
    pub pairs: usize,
    /// Variance explained by all terms.
    pub heritability: f64,
    /// Causal variants and decoys have at least this MAF.
    pub min_maf: f64,
    /// Models trained with this many seeds (stability).
    pub seeds: usize,
    /// The transformer.
    pub transformer: TransformerArm,
    /// Tokens added to the transformer's GWAS-selected ones: the variants with
    /// the largest pairwise interaction χ² in an all-pairs epistasis scan (a
    /// marginal scan cannot see a pure interaction). 0 = GWAS tokens only.
    pub epistasis_tokens: usize,
    /// The epistasis scan's minor allele frequency filter.
    pub epistasis_min_maf: f64,
    /// Base seed.
    pub seed: u64,
}

impl Default for AttributionBench {
    fn default() -> Self {
        Self {
            replicates: 20,
            additive: 4,
            dominance: 2,
            pairs: 2,
            heritability: 0.6,
            min_maf: 0.2,
            seeds: 5,
            transformer: TransformerArm::default(),
            epistasis_tokens: 16,
            epistasis_min_maf: 0.05,
            seed: 1,
        }
    }
}

/// The class of a causal variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CausalClass {
    /// Additive.
    Additive,
    /// Dominant or recessive.
    Dominance,
    /// One side of an interacting pair.
    Interacting,
}

/// One method's result on one replicate.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionScore {
    /// `gwas`, or `model:method`.
    pub method: String,
    /// Fraction of causal variants of each class ranked in the top 1 % of all
    /// variants: `(additive, dominance, interacting)`.
    pub recall: (f64, f64, f64),
    /// Causal variants over causal variants and decoys in the top 1 % (`NaN`
    /// when neither is there).
    pub decoy_precision: f64,
    /// Mean over the 10 most important variants of the relative SD of their
    /// importance across seeds (0 for deterministic rankings).
    pub stability: f64,
}

/// Ranks (0 = most important) of every variant by `importance` (ties and
/// variants a model does not see share the order of their index).
fn rank_all(importance: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..importance.len()).collect();
    order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]).then(a.cmp(&b)));
    let mut rank = vec![0; importance.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    rank
}

/// One replicate of the attribution benchmark: a trait with additive,
/// dominant/recessive and interacting causal variants plus one matched null
/// decoy per causal variant (same MAF within 0.02, 1 Mb from every causal
/// variant); GWAS p-values, ridge (SHAP, permutation) and the transformer on
/// GWAS-selected tokens (IG, saliency, gradient × input, SmoothGrad,
/// permutation), each model trained with `seeds` seeds on every sample.
pub fn attribution_replicate(
    source: &dyn GenotypeSource,
    bench: &AttributionBench,
    replicate: usize,
) -> Result<Vec<AttributionScore>> {
    let seed = bench
        .seed
        .wrapping_mul(7_919)
        .wrapping_add(replicate as u64);
    let n = source.n_samples();
    let m = source.n_variants();
    let variants = source.variants();
    let maf = minor_allele_frequencies(source)?;
    let order = permutation(m, seed);
    let n_causal = bench.additive + 2 * bench.dominance + 2 * bench.pairs;
    let mut causal: Vec<usize> = Vec::new();
    for &v in &order {
        if causal.len() == n_causal {
            break;
        }
        let far = causal.iter().all(|&c| {
            variants[c].plink_chrom() != variants[v].plink_chrom()
                || variants[c].pos.abs_diff(variants[v].pos) >= 1_000_000
        });
        if maf[v] >= bench.min_maf && far {
            causal.push(v);
        }
    }
    if causal.len() < n_causal {
        return Err(Error::invalid("not enough common variants far apart"));
    }
    let mut class = Vec::with_capacity(n_causal);
    let mut terms = Vec::new();
    let mut k = 0;
    for i in 0..bench.additive {
        terms.push(CausalTerm::Single {
            variant: causal[k],
            model: GeneticModel::Additive,
            effect: if i % 2 == 0 { 1.0 } else { -1.0 },
        });
        class.push(CausalClass::Additive);
        k += 1;
    }
    for model in [GeneticModel::Dominant, GeneticModel::Recessive] {
        for _ in 0..bench.dominance {
            terms.push(CausalTerm::Single {
                variant: causal[k],
                model,
                effect: 1.0,
            });
            class.push(CausalClass::Dominance);
            k += 1;
        }
    }
    for _ in 0..bench.pairs {
        terms.push(CausalTerm::Interaction {
            variants: (causal[k], causal[k + 1]),
            effect: 1.0,
        });
        class.extend([CausalClass::Interacting, CausalClass::Interacting]);
        k += 2;
    }
    let y = simulate_trait(source, &terms, bench.heritability, seed)?;
    // Decoys: null variants matched on MAF, far from every causal variant.
    let mut decoys = Vec::new();
    for &c in &causal {
        let pick = order.iter().rev().copied().find(|&v| {
            (maf[v] - maf[c]).abs() <= 0.02
                && !decoys.contains(&v)
                && causal.iter().all(|&x| {
                    variants[x].plink_chrom() != variants[v].plink_chrom()
                        || variants[x].pos.abs_diff(variants[v].pos) >= 1_000_000
                })
        });
        if let Some(d) = pick {
            decoys.push(d);
        }
    }
    let top = (m as f64 * 0.01).ceil() as usize;
    let score = |method: String, runs: &[Vec<f64>]| -> AttributionScore {
        let mean: Vec<f64> = (0..m)
            .map(|v| runs.iter().map(|r| r[v]).sum::<f64>() / runs.len() as f64)
            .collect();
        let rank = rank_all(&mean);
        let recall = |want: CausalClass| {
            let members: Vec<usize> = causal
                .iter()
                .zip(&class)
                .filter(|(_, c)| **c == want)
                .map(|(&v, _)| v)
                .collect();
            members.iter().filter(|&&v| rank[v] < top).count() as f64 / members.len().max(1) as f64
        };
        let hits = causal.iter().filter(|&&v| rank[v] < top).count() as f64;
        let false_hits = decoys.iter().filter(|&&v| rank[v] < top).count() as f64;
        let mut best: Vec<usize> = (0..m).collect();
        best.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
        let stability = if runs.len() < 2 {
            0.0
        } else {
            let rel: Vec<f64> = best
                .iter()
                .take(10)
                .map(|&v| {
                    let vals: Vec<f64> = runs.iter().map(|r| r[v]).collect();
                    let mu = vals.iter().sum::<f64>() / vals.len() as f64;
                    let sd = (vals.iter().map(|x| (x - mu).powi(2)).sum::<f64>()
                        / (vals.len() - 1) as f64)
                        .sqrt();
                    if mu.abs() > 0.0 {
                        sd / mu.abs()
                    } else {
                        0.0
                    }
                })
                .collect();
            rel.iter().sum::<f64>() / rel.len().max(1) as f64
        };
        AttributionScore {
            method,
            recall: (
                recall(CausalClass::Additive),
                recall(CausalClass::Dominance),
                recall(CausalClass::Interacting),
            ),
            decoy_precision: if hits + false_hits > 0.0 {
                hits / (hits + false_hits)
            } else {
                f64::NAN
            },
            stability,
        }
    };
    let mut out = Vec::new();
    // GWAS p-values.
    let scan = linear_scan(
        source,
        &[Phenotype {
            name: "trait",
            values: &y,
        }],
        &Covariates::none(n),
        1024,
        &|_| {},
    )?;
    let gwas: Vec<f64> = scan.tests[0]
        .iter()
        .map(|t| if t.error.is_none() { -t.ln_p } else { 0.0 })
        .collect();
    out.push(score("gwas".to_string(), &[gwas]));
    // The all-pairs epistasis scan: each variant's best interaction χ². It runs
    // on common variants, as one runs `--epistasis` after `--maf`: pairs of
    // rare variants with a handful of double carriers give the largest χ² by
    // chance and would crowd the top of the ranking.
    let common: Vec<usize> = (0..m)
        .filter(|&v| maf[v] >= bench.epistasis_min_maf)
        .collect();
    let scanned = Subset::new(source, None, Some(common.clone()))?;
    let epistasis = epistasis_scan(
        &scanned,
        &y,
        &EpistasisOptions {
            report_p: 1e-300,
            ..EpistasisOptions::default()
        },
        &|_| {},
    )?;
    let mut best_pair = vec![0.0; m];
    for (k, &v) in common.iter().enumerate() {
        best_pair[v] = epistasis.variants[k].best_chisq;
    }
    out.push(score(
        "epistasis scan".to_string(),
        std::slice::from_ref(&best_pair),
    ));
    let mut tokens = gwas_tokens(source, &y, &all_samples(n), bench.transformer.max_variants)?;
    let mut by_pair: Vec<usize> = (0..m).collect();
    by_pair.sort_by(|&a, &b| best_pair[b].total_cmp(&best_pair[a]).then(a.cmp(&b)));
    let extra: Vec<usize> = by_pair
        .into_iter()
        .filter(|v| !tokens.contains(v))
        .take(bench.epistasis_tokens)
        .collect();
    tokens.extend(extra);
    tokens.sort_unstable();
    // Models, one importance vector per seed and method, on all variants.
    let all: Vec<usize> = (0..n).collect();
    let input = ExplainInput {
        source,
        samples: &all,
        covariates: None,
        phenotype: Some(&y),
    };
    let spread = |a: &Attributions| -> Vec<f64> {
        let mut full = vec![0.0; m];
        for (k, &v) in a.variants.iter().enumerate() {
            full[v] = a.importance[k].abs();
        }
        full
    };
    let mut runs: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
    let mut push = |name: String, values: Vec<f64>| match runs.iter_mut().find(|(n, _)| *n == name)
    {
        Some((_, r)) => r.push(values),
        None => runs.push((name, vec![values])),
    };
    for s in 0..bench.seeds {
        let model_seed = seed.wrapping_add(1000 * (s as u64 + 1));
        let ridge = genolens_assoc::predict::fit_predictor(
            source,
            &y,
            None,
            &all,
            Task::Quantitative,
            &ModelSpec {
                seed: model_seed,
                ..ModelSpec::new(ModelKind::Ridge)
            },
        )?;
        let ridge = Explainable::Linear(ridge);
        for method in [Method::Shap, Method::Permutation] {
            let mut options = ExplainOptions::new(method);
            options.seed = model_seed;
            options.repeats = 2;
            push(
                format!("ridge:{}", method.name()),
                spread(&explain(&ridge, &input, &options)?),
            );
        }
        let tf = Explainable::Transformer(fit_transformer(
            source,
            &y,
            &all,
            &tokens,
            None,
            &bench.transformer,
            model_seed,
        )?);
        for method in [
            Method::IntegratedGradients,
            Method::Saliency,
            Method::GradientTimesInput,
            Method::SmoothGrad,
            Method::Permutation,
        ] {
            let mut options = ExplainOptions::new(method);
            options.seed = model_seed;
            options.repeats = 2;
            options.steps = 32;
            push(
                format!("transformer:{}", method.name()),
                spread(&explain(&tf, &input, &options)?),
            );
        }
    }
    for (name, r) in runs {
        out.push(score(name, &r));
    }
    Ok(out)
}

/// The attribution benchmark's table: per method, mean ± SE over replicates
/// of recall in the top 1 % per causal class, decoy precision and stability.
pub fn attribution_markdown(results: &[Vec<AttributionScore>]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "| method | recall additive | recall dominant/recessive | recall interacting | decoy precision | stability (relative SD, top 10) |\n|---|---|---|---|---|---|\n",
    );
    let ms = |x: &[f64]| {
        let x: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
        let (m, s) = mean_se(&x);
        format!("{m:.3} ± {s:.3}")
    };
    let Some(first) = results.first() else {
        return out;
    };
    for (k, method) in first.iter().enumerate() {
        let col = |f: &dyn Fn(&AttributionScore) -> f64| -> Vec<f64> {
            results.iter().filter_map(|r| r.get(k)).map(f).collect()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            method.method,
            ms(&col(&|s| s.recall.0)),
            ms(&col(&|s| s.recall.1)),
            ms(&col(&|s| s.recall.2)),
            ms(&col(&|s| s.decoy_precision)),
            ms(&col(&|s| s.stability)),
        );
    }
    out
}

/// Mean and standard error of the mean.
pub fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = x.iter().sum::<f64>() / n;
    if x.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Per-arm summary rows of a set of replicate results, as Markdown.
pub fn summary_markdown(results: &[ReplicateResult], models: &[ModelKind]) -> String {
    use std::fmt::Write as _;
    let mut arms: Vec<Arm> = Vec::new();
    for r in results {
        if !arms.contains(&r.arm) {
            arms.push(r.arm);
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| arm | replicates | BH true disc. | weighted BH (fixed) | weighted BH (adaptive) | \
         gain fixed | gain adaptive | FDR BH | FDR fixed | FDR adaptive |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    let ms = |x: &[f64]| {
        let (m, s) = mean_se(x);
        format!("{m:.3} ± {s:.3}")
    };
    for arm in &arms {
        let rs: Vec<&ReplicateResult> = results.iter().filter(|r| r.arm == *arm).collect();
        let col = |f: &dyn Fn(&ReplicateResult) -> f64| rs.iter().map(|r| f(r)).collect::<Vec<_>>();
        let bh = col(&|r| r.bh.true_discoveries as f64);
        let fx = col(&|r| r.fixed.true_discoveries as f64);
        let ad = col(&|r| r.adaptive.true_discoveries as f64);
        let gain = |w: &[f64]| {
            let (b, _) = mean_se(&bh);
            let (x, _) = mean_se(w);
            if b > 0.0 {
                format!("{:+.1} %", 100.0 * (x / b - 1.0))
            } else {
                "NA".to_string()
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            arm.label(),
            rs.len(),
            ms(&bh),
            ms(&fx),
            ms(&ad),
            gain(&fx),
            gain(&ad),
            ms(&col(&|r| r.bh.fdp())),
            ms(&col(&|r| r.fixed.fdp())),
            ms(&col(&|r| r.adaptive.fdp())),
        );
    }
    if results.iter().any(|r| !r.prediction.is_empty()) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| arm | model | held-out R² without prior | with prior | difference | relative gain | \
             folds using the prior |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for arm in &arms {
            let rs: Vec<&ReplicateResult> = results.iter().filter(|r| r.arm == *arm).collect();
            for kind in models {
                let found: Vec<&PredictionResult> = rs
                    .iter()
                    .filter_map(|r| r.prediction.iter().find(|p| p.model == *kind))
                    .collect();
                let plain: Vec<f64> = found.iter().map(|p| p.plain).collect();
                let with: Vec<f64> = found.iter().map(|p| p.with_prior).collect();
                let diff: Vec<f64> = found.iter().map(|p| p.with_prior - p.plain).collect();
                let used: usize = found.iter().map(|p| p.prior_used).sum();
                let folds: usize = found.iter().map(|p| p.folds).sum();
                let (a, _) = mean_se(&plain);
                let (b, _) = mean_se(&with);
                // A relative gain over an R² near zero (or below) means nothing.
                let gain = if a >= 0.02 {
                    format!("{:+.1} %", 100.0 * (b / a - 1.0))
                } else {
                    "n/a (R² without ≈ 0)".to_string()
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {gain} | {used}/{folds} |",
                    arm.label(),
                    kind.name(),
                    ms(&plain),
                    ms(&with),
                    ms(&diff),
                );
            }
        }
    }
    if results.iter().any(|r| r.transformer.is_some()) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| arm | transformer R² without gene tokens | with gene tokens | difference |"
        );
        let _ = writeln!(out, "|---|---|---|---|");
        for arm in &arms {
            let pairs: Vec<(f64, f64)> = results
                .iter()
                .filter(|r| r.arm == *arm)
                .filter_map(|r| r.transformer)
                .collect();
            let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let b: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let d: Vec<f64> = pairs.iter().map(|p| p.1 - p.0).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                arm.label(),
                ms(&a),
                ms(&b),
                ms(&d)
            );
        }
    }
    out
}
