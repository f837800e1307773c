//! Hyperparameter search over learning rate, depth and LoRA rank, scored by
//! a caller-supplied validation loss (the caller trains on training folds and
//! scores validation folds; this module only enumerates and ranks).

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::error::{Error, Result};

/// One point of the search space.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trial {
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// Encoder layers.
    pub n_layers: usize,
    /// LoRA rank (`None`: full fine-tuning).
    pub lora_rank: Option<usize>,
}

/// Every combination, learning rate varying fastest.
pub fn grid(learning_rates: &[f64], depths: &[usize], lora_ranks: &[Option<usize>]) -> Vec<Trial> {
    let mut out = Vec::new();
    for &lora_rank in lora_ranks {
        for &n_layers in depths {
            for &learning_rate in learning_rates {
                out.push(Trial {
                    learning_rate,
                    n_layers,
                    lora_rank,
                });
            }
        }
    }
    out
}

/// `n` seeded draws: learning rate log-uniform in `[lr_min, lr_max]`, depth
/// and rank uniform among those given.
pub fn random(
    n: usize,
    seed: u64,
    (lr_min, lr_max): (f64, f64),
    depths: &[usize],
    lora_ranks: &[Option<usize>],
) -> Result<Vec<Trial>> {
    if depths.is_empty() || lora_ranks.is_empty() || !(lr_min > 0.0 && lr_max >= lr_min) {
        return Err(Error::Invalid(
            "a random search needs depths, ranks and 0 < lr_min ≤ lr_max".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pick = |k: usize| (rng.next_u64() % k as u64) as usize;
    let mut trials = Vec::with_capacity(n);
    for _ in 0..n {
        let u = pick(1 << 30) as f64 / f64::from(1u32 << 30);
        trials.push(Trial {
            learning_rate: (lr_min.ln() + u * (lr_max.ln() - lr_min.ln())).exp(),
            n_layers: depths[pick(depths.len())],
            lora_rank: lora_ranks[pick(lora_ranks.len())],
        });
    }
    Ok(trials)
}

/// Scores every trial with `score` (lower is better, e.g. the validation
/// loss) and returns the best with all scores, in trial order. Trials whose
/// score is not finite are kept in the table but never chosen.
pub fn search(
    trials: &[Trial],
    mut score: impl FnMut(&Trial) -> Result<f64>,
) -> Result<(Trial, Vec<(Trial, f64)>)> {
    let mut table = Vec::with_capacity(trials.len());
    for t in trials {
        table.push((*t, score(t)?));
    }
    let best = table
        .iter()
        .filter(|(_, s)| s.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(t, _)| *t)
        .ok_or_else(|| Error::Invalid("no trial gave a finite score".into()))?;
    Ok((best, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_and_draws_cover_the_space_and_the_best_wins() {
        let g = grid(&[1e-3, 3e-3], &[1, 2], &[None, Some(4)]);
        assert_eq!(g.len(), 8);
        let r = random(20, 5, (1e-4, 1e-2), &[1, 2], &[Some(2), Some(8)]).unwrap();
        assert_eq!(
            r,
            random(20, 5, (1e-4, 1e-2), &[1, 2], &[Some(2), Some(8)]).unwrap()
        );
        assert!(r.iter().all(|t| (1e-4..=1e-2).contains(&t.learning_rate)));
        assert!(r.iter().any(|t| t.n_layers == 2) && r.iter().any(|t| t.n_layers == 1));
        let (best, table) = search(&g, |t| {
            Ok(if t.n_layers == 2 && t.lora_rank.is_none() {
                (t.learning_rate - 3e-3).abs()
            } else if t.learning_rate < 2e-3 {
                f64::NAN
            } else {
                1.0
            })
        })
        .unwrap();
        assert_eq!(table.len(), 8);
        assert_eq!(
            (best.n_layers, best.lora_rank, best.learning_rate),
            (2, None, 3e-3)
        );
        assert!(search(&g, |_| Ok(f64::NAN)).is_err());
    }
}
