//! After the scan: genomic control, multiple-testing corrections, and the points
//! of Manhattan and QQ plots (thinned so that millions of variants draw fast).

use crate::stats::{ln_normal_two_sided, neg_log10};

/// Median of the χ²₁ distribution: λGC divides the observed median by it.
pub const CHI2_1_MEDIAN: f64 = 0.454_936_423_119_572_8;

/// The χ²₁ statistic whose upper tail is `exp(ln_p)`: the square of the normal
/// quantile, found by Newton steps on the log tail (accurate for tiny p too).
pub fn chi2_1_from_ln_p(ln_p: f64) -> f64 {
    if ln_p.is_nan() {
        return f64::NAN;
    }
    if ln_p >= 0.0 {
        return 0.0;
    }
    // Start from the tail's asymptote, z ≈ sqrt(−2 ln p), then refine z on
    // g(z) = ln P(|Z| ≥ z) − ln p, with g'(z) = −2φ(z) / P(|Z| ≥ z).
    let mut z = (-2.0 * ln_p).sqrt().max(1e-3);
    for _ in 0..60 {
        let ln_tail = ln_normal_two_sided(z);
        let ln_density = -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let slope = -2.0 * (ln_density - ln_tail).exp();
        let step = (ln_tail - ln_p) / slope;
        let next = (z - step).max(z / 4.0);
        if (next - z).abs() <= 1e-14 * z {
            z = next;
            break;
        }
        z = next;
    }
    z * z
}

/// Genomic-control λ: the median χ²₁ of the finite p-values over its expected
/// value. `None` when there is no finite p-value.
pub fn genomic_control(ln_p: &[f64]) -> Option<f64> {
    let mut finite: Vec<f64> = ln_p.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    finite.sort_by(|a, b| a.total_cmp(b));
    let m = finite.len();
    // The median of χ² is the χ² of the median p (the map is monotone).
    let median_chi2 = if m % 2 == 1 {
        chi2_1_from_ln_p(finite[m / 2])
    } else {
        0.5 * (chi2_1_from_ln_p(finite[m / 2 - 1]) + chi2_1_from_ln_p(finite[m / 2]))
    };
    Some(median_chi2 / CHI2_1_MEDIAN)
}

/// λGC within minor-allele-frequency bins: `(lower, upper, variants, λ)` per bin
/// of `edges` (e.g. `[0.0, 0.01, 0.05, 0.5]`), variants with a `NaN` MAF left out.
pub fn genomic_control_by_maf(
    ln_p: &[f64],
    maf: &[f64],
    edges: &[f64],
) -> Vec<(f64, f64, usize, Option<f64>)> {
    edges
        .windows(2)
        .map(|w| {
            let inside: Vec<f64> = ln_p
                .iter()
                .zip(maf)
                .filter(|(_, &m)| m >= w[0] && (m < w[1] || (w[1] >= 0.5 && m <= w[1])))
                .map(|(&p, _)| p)
                .collect();
            let n = inside.iter().filter(|p| p.is_finite()).count();
            (w[0], w[1], n, genomic_control(&inside))
        })
        .collect()
}

/// The Bonferroni significance threshold for `m` tests at level `alpha`.
pub fn bonferroni_threshold(alpha: f64, m: usize) -> f64 {
    alpha / m.max(1) as f64
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the input order; `NaN`
/// p-values stay `NaN` and do not count as tests.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank as f64 + 1.0));
        q[i] = running;
    }
    q
}

/// Points of a Manhattan plot: `(x, −log10 p, chromosome)` with chromosomes laid
/// end to end in order of first appearance, `x` in megabases. Weak signals are
/// thinned to one point per cell of a `width × height` grid (strong ones, above
/// `keep_above` in −log10 p, are all kept), so the picture is the same and the
/// drawing cost stays bounded.
pub fn manhattan_points(
    chrom_pos: &[(&str, u64)],
    ln_p: &[f64],
    width: usize,
    height: usize,
    keep_above: f64,
) -> Vec<(f64, f64, String)> {
    let mut offsets: Vec<(&str, f64, f64)> = Vec::new(); // (chrom, start, max pos)
    for &(c, pos) in chrom_pos {
        match offsets.iter_mut().find(|(name, _, _)| *name == c) {
            Some(entry) => entry.2 = entry.2.max(pos as f64),
            None => offsets.push((c, 0.0, pos as f64)),
        }
    }
    let mut start = 0.0;
    for entry in &mut offsets {
        entry.1 = start;
        start += entry.2 + 1.0;
    }
    let span = start.max(1.0);
    let ys: Vec<f64> = ln_p.iter().map(|&l| neg_log10(l)).collect();
    let top = ys
        .iter()
        .copied()
        .filter(|y| y.is_finite())
        .fold(1.0f64, f64::max);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (&(c, pos), &y) in chrom_pos.iter().zip(&ys) {
        if !y.is_finite() {
            continue;
        }
        let Some(&(_, off, _)) = offsets.iter().find(|(name, _, _)| *name == c) else {
            continue;
        };
        let x = off + pos as f64;
        if y <= keep_above {
            let cell = (
                (x / span * width as f64) as usize,
                (y / top * height as f64) as usize,
                c,
            );
            if !seen.insert(cell) {
                continue;
            }
        }
        out.push((x / 1e6, y, c.to_string()));
    }
    out
}

/// Points of a QQ plot: `(expected, observed)` −log10 p for the finite p-values,
/// sorted, thinned like [`manhattan_points`] below `keep_above`.
pub fn qq_points(ln_p: &[f64], cells: usize, keep_above: f64) -> Vec<(f64, f64)> {
    let mut obs: Vec<f64> = ln_p
        .iter()
        .filter(|l| l.is_finite())
        .map(|&l| neg_log10(l))
        .collect();
    obs.sort_by(|a, b| b.total_cmp(a));
    let m = obs.len() as f64;
    let top = obs.first().copied().unwrap_or(1.0).max(1.0);
    let mut last_cell = usize::MAX;
    let mut out = Vec::new();
    for (i, &y) in obs.iter().enumerate() {
        let expected = -((i as f64 + 0.5) / m).log10();
        if y <= keep_above {
            let cell = (y / top * cells as f64) as usize;
            if cell == last_cell {
                continue;
            }
            last_cell = cell;
        }
        out.push((expected, y));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_quantiles_invert_the_tail() {
        // χ²₁ = 3.841459 at p = 0.05; the median p = 0.5 gives the χ²₁ median.
        assert!((chi2_1_from_ln_p(0.05f64.ln()) - 3.841_458_820_694_124).abs() < 1e-9);
        assert!((chi2_1_from_ln_p(0.5f64.ln()) - CHI2_1_MEDIAN).abs() < 1e-9);
        // Far below f64: the round trip through the log tail holds.
        let chi2 = chi2_1_from_ln_p(-2000.0);
        assert!((ln_normal_two_sided(chi2.sqrt()) + 2000.0).abs() < 1e-8);
    }

    #[test]
    fn lambda_is_one_for_uniform_p_and_grows_with_inflation() {
        let n = 9999;
        let uniform: Vec<f64> = (1..=n).map(|i| (i as f64 / (n + 1) as f64).ln()).collect();
        let lambda = genomic_control(&uniform).expect("finite p-values");
        assert!((lambda - 1.0).abs() < 1e-3, "{lambda}");
        // Squaring every p-value (a stronger signal everywhere) inflates λ.
        let inflated: Vec<f64> = uniform.iter().map(|l| 2.0 * l).collect();
        assert!(genomic_control(&inflated).expect("finite") > 2.0);
        assert!(genomic_control(&[f64::NAN]).is_none());
    }

    #[test]
    fn benjamini_hochberg_matches_the_step_up_rule() {
        let p = [0.01, 0.04, 0.03, 0.005, f64::NAN];
        let q = benjamini_hochberg(&p);
        // Sorted 0.005, 0.01, 0.03, 0.04 with m = 4: q = p·m/rank, made monotone.
        let want = [0.02, 0.04, 0.04, 0.02];
        for (got, want) in q.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{q:?}");
        }
        assert!(q[4].is_nan());
        assert!((bonferroni_threshold(0.05, 1_000_000) - 5e-8).abs() < 1e-20);
    }

    #[test]
    fn manhattan_thinning_keeps_every_strong_signal() {
        let chrom_pos: Vec<(&str, u64)> = (0..20_000)
            .map(|i| (if i < 10_000 { "1" } else { "2" }, i as u64 * 100))
            .collect();
        let mut ln_p: Vec<f64> = (0..20_000).map(|i| -((i % 97) as f64) / 40.0).collect();
        ln_p[12_345] = -50.0; // one strong hit
        let pts = manhattan_points(&chrom_pos, &ln_p, 200, 100, 5.0);
        assert!(pts.len() < 5_000, "{}", pts.len());
        assert!(pts
            .iter()
            .any(|p| (p.1 - 50.0 / std::f64::consts::LN_10).abs() < 1e-9));
        // Chromosome 2 starts after chromosome 1 ends.
        let max1 = pts
            .iter()
            .filter(|p| p.2 == "1")
            .map(|p| p.0)
            .fold(0.0, f64::max);
        let min2 = pts
            .iter()
            .filter(|p| p.2 == "2")
            .map(|p| p.0)
            .fold(f64::MAX, f64::min);
        assert!(min2 > max1);
        let qq = qq_points(&ln_p, 100, 5.0);
        assert!(qq.len() < 500 && qq[0].1 > 20.0);
    }
}
