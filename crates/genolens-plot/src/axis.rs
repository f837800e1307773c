//! Axis ranges, tick positions and tick labels.

use std::ops::Range;

/// Most ticks placed on a logarithmic axis.
const MAX_LOG_TICKS: usize = 10;

/// Minimum and maximum of `values`; `None` when there are none. The values
/// must be finite.
pub(crate) fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// A linear axis range around `[lo, hi]` with 5% padding on each side (or a
/// range of ±10% around a single value, ±1 around zero); `None` if it does not
/// fit in `f64`.
pub(crate) fn linear_range(lo: f64, hi: f64) -> Option<Range<f64>> {
    let (a, b) = if lo == hi {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - d, hi + d)
    } else {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    };
    (a.is_finite() && b.is_finite() && a < b).then_some(a..b)
}

/// A logarithmic axis range around positive `[lo, hi]`, padded by 5% of its
/// decades on each side (a factor of two around a single value); `None` if it
/// does not fit in `f64`.
pub(crate) fn log_range(lo: f64, hi: f64) -> Option<Range<f64>> {
    let factor = if lo == hi { 2.0 } else { (hi / lo).powf(0.05) };
    let (a, b) = (lo / factor, hi * factor);
    (a.is_finite() && b.is_finite() && a > 0.0 && a < b).then_some(a..b)
}

/// A tick label formatter.
pub(crate) type TickFormat = Box<dyn Fn(&f64) -> String>;

/// Tick positions and their labels for a logarithmic axis over positive
/// `range`: `1, 2, ... 9` times powers of ten when that gives few enough, then
/// `1, 2, 5`, `1, 3`, `1`, then every few powers of ten, labelled by
/// [`format_log_tick`]. Ranges too narrow for two such ticks get evenly spaced
/// ones, labelled as on a linear axis.
pub(crate) fn log_axis(range: &Range<f64>) -> (Vec<f64>, TickFormat) {
    match log_ticks(range) {
        Some(ticks) => (ticks, Box::new(format_log_tick)),
        None => (
            linear_ticks(range.start, range.end),
            Box::new(linear_tick_formatter(range)),
        ),
    }
}

/// The digit-times-power-of-ten ticks of [`log_axis`]; `None` when fewer than
/// two fit in `range`.
fn log_ticks(range: &Range<f64>) -> Option<Vec<f64>> {
    let (lo, hi) = (range.start, range.end);
    // lo and hi are positive and finite, so the exponents fit in i32 easily.
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let ticks = |mantissas: &[f64], every: i32| -> Vec<f64> {
        (first..=last)
            .filter(|d| d.rem_euclid(every) == 0)
            .flat_map(|d| mantissas.iter().map(move |m| m * 10f64.powi(d)))
            .filter(|v| (lo..=hi).contains(v))
            .collect()
    };
    const MANTISSAS: [&[f64]; 4] = [
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 3.0],
        &[1.0],
    ];
    for mantissas in MANTISSAS {
        let t = ticks(mantissas, 1);
        if t.len() <= MAX_LOG_TICKS {
            return (t.len() >= 2).then_some(t);
        }
    }
    let decades = usize::try_from(last - first + 1).unwrap_or(1);
    let every = i32::try_from(decades.div_ceil(MAX_LOG_TICKS)).unwrap_or(1);
    Some(ticks(&[1.0], every.max(1)))
}

/// Evenly spaced ticks at multiples of 1, 2 or 5 times a power of ten: three
/// to nine of them within `[lo, hi]`.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 8.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    let (k0, k1) = ((lo / step).ceil(), (hi / step).floor());
    let mut out = Vec::new();
    let mut k = k0;
    // The cap only matters where k is too large for `k + 1.0` to change it.
    while k <= k1 && out.len() < 16 {
        let v = k * step;
        if (lo..=hi).contains(&v) {
            out.push(v);
        }
        k += 1.0;
    }
    out
}

/// A formatter for the ticks of a linear axis over `range`: one decimal more
/// than the tick spacing needs, trailing zeros dropped; scientific notation for
/// values of a million or more, or below 0.001.
pub(crate) fn linear_tick_formatter(range: &Range<f64>) -> impl Fn(&f64) -> String {
    let step = (range.end - range.start) / 10.0;
    let max_abs = range.start.abs().max(range.end.abs());
    let step_exp = step.log10().floor();
    let scientific = !(1e-3..1e6).contains(&max_abs);
    // Precisions are clamped to 0..=15, so the casts cannot truncate.
    let precision = if scientific {
        (max_abs.log10().floor() - step_exp + 1.0).clamp(0.0, 15.0) as usize
    } else {
        (1.0 - step_exp).clamp(0.0, 15.0) as usize
    };
    move |&v: &f64| {
        if scientific {
            format_scientific(v, precision)
        } else {
            format_fixed(v, precision)
        }
    }
}

/// Formats a tick of a logarithmic axis (whose ticks are a digit times a power
/// of ten): plain for ordinary magnitudes, scientific for tiny or huge ones,
/// without floating-point noise such as `0.30000000000000004`.
pub(crate) fn format_log_tick(v: &f64) -> String {
    let v = *v;
    let a = v.abs();
    if a == 0.0 || !a.is_finite() {
        format!("{v}")
    } else if (1e-3..1e6).contains(&a) {
        // Four significant digits; `a` is within 1e-3..1e6, so 0..=6 decimals.
        let decimals = (3.0 - a.log10().floor()).clamp(0.0, 6.0) as usize;
        format_fixed(v, decimals)
    } else {
        format_scientific(v, 3)
    }
}

/// `v` with `decimals` decimals, trailing zeros and a negative zero dropped.
fn format_fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// `v` in scientific notation with at most `precision` mantissa decimals,
/// trailing zeros dropped: `1e-4`, `2.5e6`.
fn format_scientific(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let s = format!("{v:.precision$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => {
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e{exp}")
        }
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_pad_and_reject_overflow() {
        assert_eq!(linear_range(0.0, 10.0), Some(-0.5..10.5));
        assert_eq!(linear_range(0.0, 0.0), Some(-1.0..1.0));
        assert_eq!(linear_range(5.0, 5.0), Some(4.5..5.5));
        assert_eq!(linear_range(-f64::MAX, f64::MAX), None);
        assert_eq!(log_range(1.0, 1.0), Some(0.5..2.0));
        assert!(log_range(1e-3, 1e3).is_some());
        assert_eq!(log_range(f64::MIN_POSITIVE, f64::MAX), None);
        assert_eq!(extent([3.0, -1.0, 2.0]), Some((-1.0, 3.0)));
        assert_eq!(extent([]), None);
    }

    #[test]
    fn log_ticks_fit_the_range() {
        let labels = |r: Range<f64>| -> Vec<String> {
            let (ticks, format) = log_axis(&r);
            let inside = |v: &f64| (r.start..=r.end).contains(v);
            assert!(ticks.iter().all(inside), "{r:?}: {ticks:?}");
            ticks.iter().map(format).collect()
        };
        // Within one decade: all digits.
        assert_eq!(
            labels(0.25..0.95),
            ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"]
        );
        // Two decades: 1, 2, 5.
        assert_eq!(
            labels(0.012..2.3),
            ["0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
        );
        // Many decades: powers of ten, thinned.
        assert_eq!(labels(1e-9..1.5).len(), 10);
        let thin = labels(1e-30..1e30);
        assert!((2..=MAX_LOG_TICKS).contains(&thin.len()), "{thin:?}");
        // Too narrow for digit ticks: evenly spaced, labelled precisely.
        assert_eq!(labels(0.61..0.65), ["0.61", "0.62", "0.63", "0.64", "0.65"]);
        assert_eq!(labels(3.0..3.0001)[..2], ["3", "3.00002"]);
        for r in [1e-300..1e-299, 1e300..1.5e300] {
            assert!(labels(r).len() >= 2);
        }
    }

    #[test]
    fn linear_ticks_are_compact() {
        let f = linear_tick_formatter(&(-2.5..52.5));
        assert_eq!([0.0, 5.0, 50.0, -0.0].map(|v| f(&v)), ["0", "5", "50", "0"]);
        let f = linear_tick_formatter(&(-0.03..0.017));
        assert_eq!(
            [0.025, -0.005, 0.0].map(|v| f(&v)),
            ["0.025", "-0.005", "0"]
        );
        let f = linear_tick_formatter(&(0.0..2.5e7));
        assert_eq!([0.0, 5e6, 2.5e7].map(|v| f(&v)), ["0", "5e6", "2.5e7"]);
        let f = linear_tick_formatter(&(-2e-5..3e-5));
        assert_eq!([1e-5, -1.5e-5].map(|v| f(&v)), ["1e-5", "-1.5e-5"]);
    }

    #[test]
    fn log_ticks_are_formatted_without_noise() {
        assert_eq!(format_log_tick(&1.0), "1");
        assert_eq!(format_log_tick(&0.0), "0");
        assert_eq!(format_log_tick(&0.1), "0.1");
        assert_eq!(format_log_tick(&(3.0 * 0.1)), "0.3");
        assert_eq!(format_log_tick(&2000.0), "2000");
        assert_eq!(format_log_tick(&1e-4), "1e-4");
        assert_eq!(format_log_tick(&2.5e6), "2.5e6");
    }
}
