//! Prediction metrics: Pearson r, R² and MSE for quantitative traits; AUC,
//! log-loss and a reliability (calibration) table for binary traits.

/// Pearson correlation of `a` and `b` (`NaN` when either is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}

/// Mean squared error of `predicted` against `observed`.
pub fn mse(observed: &[f64], predicted: &[f64]) -> f64 {
    observed
        .iter()
        .zip(predicted)
        .map(|(y, p)| (y - p).powi(2))
        .sum::<f64>()
        / observed.len() as f64
}

/// Coefficient of determination `1 − SS_res / SS_tot` (negative when the
/// predictions are worse than the mean).
pub fn r_squared(observed: &[f64], predicted: &[f64]) -> f64 {
    let n = observed.len() as f64;
    let mean = observed.iter().sum::<f64>() / n;
    let ss_tot: f64 = observed.iter().map(|y| (y - mean).powi(2)).sum();
    let ss_res: f64 = observed
        .iter()
        .zip(predicted)
        .map(|(y, p)| (y - p).powi(2))
        .sum();
    1.0 - ss_res / ss_tot
}

/// Area under the ROC curve of `scores` for `labels` (true = case): the
/// Mann–Whitney probability that a case outscores a control, ties counting ½.
/// `NaN` without both classes.
pub fn auc(labels: &[bool], scores: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    // Mid-ranks over ties.
    let mut rank_sum_cases = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_cases += order[i..=j].iter().filter(|&&k| labels[k]).count() as f64 * mid;
        i = j + 1;
    }
    let cases = labels.iter().filter(|&&l| l).count() as f64;
    let controls = labels.len() as f64 - cases;
    if cases == 0.0 || controls == 0.0 {
        return f64::NAN;
    }
    (rank_sum_cases - cases * (cases + 1.0) / 2.0) / (cases * controls)
}

/// Mean negative log-likelihood of `labels` under predicted probabilities
/// (clipped to `[1e-15, 1 − 1e-15]`, as scikit-learn does).
pub fn log_loss(labels: &[bool], probabilities: &[f64]) -> f64 {
    labels
        .iter()
        .zip(probabilities)
        .map(|(&l, &p)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -if l { p.ln() } else { (1.0 - p).ln() }
        })
        .sum::<f64>()
        / labels.len() as f64
}

/// The ROC curve: (false-positive rate, true-positive rate) at every distinct
/// score threshold, from (0, 0) to (1, 1).
pub fn roc_curve(labels: &[bool], scores: &[f64]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]));
    let cases = labels.iter().filter(|&&l| l).count().max(1) as f64;
    let controls = (labels.len() - labels.iter().filter(|&&l| l).count()).max(1) as f64;
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut points = vec![(0.0, 0.0)];
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            points.push((fp / controls, tp / cases));
        }
    }
    points
}

/// One bin of a reliability table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationBin {
    /// Lower edge of the predicted-probability bin.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Samples in the bin.
    pub n: usize,
    /// Their mean predicted probability.
    pub mean_predicted: f64,
    /// Their observed case fraction.
    pub observed: f64,
}

/// Reliability table over `bins` equal-width probability bins (empty bins
/// left out).
pub fn calibration(labels: &[bool], probabilities: &[f64], bins: usize) -> Vec<CalibrationBin> {
    let bins = bins.max(1);
    let mut acc = vec![(0usize, 0.0f64, 0usize); bins];
    for (&l, &p) in labels.iter().zip(probabilities) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        acc[b].0 += 1;
        acc[b].1 += p;
        acc[b].2 += usize::from(l);
    }
    acc.iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0)
        .map(|(b, &(n, sum_p, cases))| CalibrationBin {
            lower: b as f64 / bins as f64,
            upper: (b + 1) as f64 / bins as f64,
            n,
            mean_predicted: sum_p / n as f64,
            observed: cases as f64 / n as f64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantitative_metrics() {
        let y = [1.0, 2.0, 3.0, 4.0];
        assert!((pearson(&y, &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&y, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(pearson(&y, &[1.0; 4]).is_nan());
        assert_eq!(mse(&y, &y), 0.0);
        assert!((mse(&y, &[2.0, 3.0, 4.0, 5.0]) - 1.0).abs() < 1e-12);
        assert_eq!(r_squared(&y, &y), 1.0);
        assert!(
            (r_squared(&y, &[2.5; 4])).abs() < 1e-12,
            "the mean scores 0"
        );
    }

    #[test]
    fn auc_counts_pairs_and_ties() {
        let labels = [false, false, true, true];
        assert_eq!(auc(&labels, &[0.1, 0.2, 0.3, 0.4]), 1.0);
        assert_eq!(auc(&labels, &[0.4, 0.3, 0.2, 0.1]), 0.0);
        assert_eq!(auc(&labels, &[0.5; 4]), 0.5);
        // Pairs: (c1,k1) win, (c1,k2) tie, (c2,k1) win, (c2,k2) loss → 2.5 / 4.
        assert_eq!(auc(&labels, &[0.1, 0.5, 0.5, 0.3]), 0.625);
        assert!(auc(&[true, true], &[0.1, 0.2]).is_nan());
        let roc = roc_curve(&labels, &[0.1, 0.2, 0.3, 0.4]);
        assert_eq!(roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(roc.last(), Some(&(1.0, 1.0)));
    }

    #[test]
    fn log_loss_and_calibration() {
        let labels = [true, false];
        assert!((log_loss(&labels, &[0.5, 0.5]) - std::f64::consts::LN_2).abs() < 1e-12);
        assert!(log_loss(&labels, &[1.0, 0.0]) < 1e-12);
        let table = calibration(&[true, false, true, true], &[0.05, 0.07, 0.91, 0.99], 10);
        assert_eq!(table.len(), 2);
        assert_eq!((table[0].n, table[0].observed), (2, 0.5));
        assert_eq!((table[1].n, table[1].observed), (2, 1.0));
    }
}
