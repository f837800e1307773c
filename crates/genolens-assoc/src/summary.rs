//! After the scan: genomic control, multiple-testing corrections, and the points
//! of Manhattan and QQ plots (thinned so that millions of variants draw fast).

use crate::stats::{ln_beta_inc, ln_normal_two_sided, neg_log10};

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

/// One chromosome's stretch of a Manhattan plot's x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct ChromosomeSpan {
    /// The chromosome, as given.
    pub name: String,
    /// Where its first variant lies on the axis.
    pub start: f64,
    /// Where its last variant lies.
    pub end: f64,
}

impl ChromosomeSpan {
    /// The middle of the stretch, where its name is written.
    pub fn middle(&self) -> f64 {
        0.5 * (self.start + self.end)
    }
}

/// A Manhattan plot's layout: chromosomes side by side in order of first
/// appearance, each spanning only its first to last variant (so a cohort on
/// two short regions shows no empty stretch between them), separated by a
/// gap of 1 % of the total span. Axis units are megabases within a
/// chromosome.
#[derive(Debug, Clone, PartialEq)]
pub struct ManhattanLayout {
    /// The chromosomes, in order along the axis.
    pub chromosomes: Vec<ChromosomeSpan>,
    /// Each variant's x (in the input's order).
    pub x: Vec<f64>,
    /// The points to draw: `(x, −log10 p, chromosome index)`. Weak signals
    /// are thinned to one point per cell of a `width × height` grid (strong
    /// ones, above `keep_above` in −log10 p, are all kept), so the picture is
    /// the same and the drawing cost stays bounded.
    pub points: Vec<(f64, f64, usize)>,
}

/// Lays out a Manhattan plot of `ln_p` at `chrom_pos` (see [`ManhattanLayout`]).
pub fn manhattan_layout(
    chrom_pos: &[(&str, u64)],
    ln_p: &[f64],
    width: usize,
    height: usize,
    keep_above: f64,
) -> ManhattanLayout {
    // (name, min, max) in bp, in order of first appearance.
    let mut ranges: Vec<(&str, u64, u64)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = Default::default();
    for &(c, pos) in chrom_pos {
        match index.get(c) {
            Some(&k) => {
                ranges[k].1 = ranges[k].1.min(pos);
                ranges[k].2 = ranges[k].2.max(pos);
            }
            None => {
                index.insert(c, ranges.len());
                ranges.push((c, pos, pos));
            }
        }
    }
    let total: f64 = ranges
        .iter()
        .map(|r| (r.2 - r.1) as f64 / 1e6)
        .sum::<f64>()
        .max(1e-6);
    let gap = 0.01 * total;
    let mut chromosomes = Vec::with_capacity(ranges.len());
    let mut at = 0.0;
    for &(name, lo, hi) in &ranges {
        let len = (hi - lo) as f64 / 1e6;
        chromosomes.push(ChromosomeSpan {
            name: name.to_string(),
            start: at,
            end: at + len,
        });
        at += len + gap;
    }
    let span = (at - gap).max(1e-6);
    let x: Vec<f64> = chrom_pos
        .iter()
        .map(|&(c, pos)| {
            let k = index[c];
            chromosomes[k].start + (pos - ranges[k].1) as f64 / 1e6
        })
        .collect();
    let ys: Vec<f64> = ln_p.iter().map(|&l| neg_log10(l)).collect();
    let top = ys
        .iter()
        .copied()
        .filter(|y| y.is_finite())
        .fold(1.0f64, f64::max);
    let mut seen = std::collections::HashSet::new();
    let mut points = Vec::new();
    for ((&(c, _), &y), &xv) in chrom_pos.iter().zip(&ys).zip(&x) {
        if !y.is_finite() {
            continue;
        }
        let k = index[c];
        if y <= keep_above {
            let cell = (
                (xv / span * width as f64) as usize,
                (y / top * height as f64) as usize,
                k,
            );
            if !seen.insert(cell) {
                continue;
            }
        }
        points.push((xv, y, k));
    }
    ManhattanLayout {
        chromosomes,
        x,
        points,
    }
}

/// The `level` (e.g. 0.95) pointwise band of a QQ plot under the null for
/// `m` p-values: `(expected, low, high)` −log10 p, where the i-th smallest of
/// `m` uniform p-values is Beta(i, m − i + 1). Evaluated at up to `points`
/// ranks spaced evenly in −log10 (every rank near the top).
pub fn qq_band(m: usize, level: f64, points: usize) -> Vec<(f64, f64, f64)> {
    if m == 0 || points == 0 {
        return Vec::new();
    }
    let mf = m as f64;
    let top = -(0.5 / mf).log10();
    let mut ranks: Vec<usize> = (0..points)
        .map(|k| {
            let e = top * (1.0 - k as f64 / points as f64);
            // Rank i (1-based) whose expected −log10 is closest to e.
            ((10f64.powf(-e) * mf).round() as usize).clamp(1, m)
        })
        .collect();
    ranks.push(m);
    ranks.dedup();
    let tail = (1.0 - level) / 2.0;
    ranks
        .into_iter()
        .map(|i| {
            let (a, b) = (i as f64, (m - i + 1) as f64);
            let expected = -((i as f64 - 0.5) / mf).log10();
            // A small p is a large −log10 p: the upper quantile gives the low end.
            let low = -beta_quantile(1.0 - tail, a, b).log10();
            let high = -beta_quantile(tail, a, b).log10();
            (expected, low, high)
        })
        .collect()
}

/// The `q` quantile of Beta(a, b), by bisection on the log of its regularized
/// incomplete beta function (in log space, so tiny quantiles stay exact).
fn beta_quantile(q: f64, a: f64, b: f64) -> f64 {
    let target = q.ln();
    // Bisect on ln x over [ln 1e-300, 0].
    let (mut lo, mut hi) = (-690.0f64, 0.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let x = mid.exp();
        if ln_beta_inc(x, 1.0 - x, a, b) < target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    (0.5 * (lo + hi)).exp()
}

/// Points of a QQ plot: `(expected, observed)` −log10 p for the finite p-values,
/// sorted, thinned like [`manhattan_layout`]'s points below `keep_above`.
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
        let layout = manhattan_layout(&chrom_pos, &ln_p, 200, 100, 5.0);
        let pts = &layout.points;
        assert!(pts.len() < 5_000, "{}", pts.len());
        assert!(pts
            .iter()
            .any(|p| (p.1 - 50.0 / std::f64::consts::LN_10).abs() < 1e-9));
        // Chromosome 2 starts after chromosome 1 ends.
        let max1 = pts
            .iter()
            .filter(|p| p.2 == 0)
            .map(|p| p.0)
            .fold(0.0, f64::max);
        let min2 = pts
            .iter()
            .filter(|p| p.2 == 1)
            .map(|p| p.0)
            .fold(f64::MAX, f64::min);
        assert!(min2 > max1);
        let qq = qq_points(&ln_p, 100, 5.0);
        assert!(qq.len() < 500 && qq[0].1 > 20.0);
    }

    #[test]
    fn chromosomes_sit_side_by_side_without_empty_stretches() {
        // Two regions far from their chromosomes' starts, as a cohort on
        // chr20:20-35 Mb and chr22:20-35 Mb.
        let chrom_pos = [
            ("20", 20_000_000),
            ("20", 35_000_000),
            ("22", 20_000_000),
            ("22", 35_000_000),
        ];
        let layout = manhattan_layout(&chrom_pos, &[-1.0; 4], 100, 100, 0.0);
        let c = &layout.chromosomes;
        assert_eq!((c[0].start, c[0].end), (0.0, 15.0));
        // The gap is 1 % of the 30 Mb both cover.
        assert!((c[1].start - 15.3).abs() < 1e-9 && (c[1].end - 30.3).abs() < 1e-9);
        assert_eq!(layout.x, vec![0.0, 15.0, c[1].start, c[1].end]);
        assert!((c[1].middle() - 22.8).abs() < 1e-9);
    }

    #[test]
    fn qq_band_holds_the_beta_order_statistics() {
        let m = 1000;
        let band = qq_band(m, 0.95, 50);
        // The smallest of m uniforms: P(min <= x) = 1 - (1-x)^m, so its 2.5 %
        // and 97.5 % quantiles are 1 - (1 - q)^(1/m).
        let first = band
            .iter()
            .find(|b| (b.0 - -(0.5f64 / 1000.0).log10()).abs() < 1e-12);
        let (_, low, high) = *first.expect("the top rank is in the band");
        let q = |p: f64| 1.0 - (1.0 - p).powf(1.0 / m as f64);
        assert!((high - -q(0.025).log10()).abs() < 1e-6, "{high}");
        assert!((low - -q(0.975).log10()).abs() < 1e-6, "{low}");
        // The band widens towards the top and always holds the diagonal.
        for &(e, lo, hi) in &band {
            assert!(lo < e + 0.05 && e < hi + 0.05 && lo < hi, "{e} {lo} {hi}");
        }
    }
}
