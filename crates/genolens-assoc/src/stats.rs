//! Distribution tails in log space, so that `LOG10_P` stays right far below the
//! smallest `f64` (1e-308): the log-gamma function, the regularized incomplete beta
//! function and the Student t and normal survival functions built on it.

use std::f64::consts::{LN_10, PI};

/// Lanczos coefficients (g = 7, n = 9): |relative error| < 1e-15 for x > 0.
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln Γ(x) for x > 0.
pub fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = LANCZOS[0];
    let t = x + 7.5;
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// ln B(a, b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// The continued fraction of the incomplete beta function (modified Lentz), valid
/// where `x < (a + 1) / (a + b + 2)`.
fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=10_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// ln I_x(a, b), the log of the regularized incomplete beta function, given both
/// `x` and `y = 1 − x` (passing both avoids cancellation when one is tiny).
pub fn ln_beta_inc(x: f64, y: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if y <= 0.0 {
        return 0.0;
    }
    let ln_front = a * x.ln() + b * y.ln() - ln_beta(a, b);
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front + (beta_fraction(x, a, b) / a).ln()
    } else {
        // I_x(a, b) = 1 − I_y(b, a).
        let other = (ln_front + (beta_fraction(y, b, a) / b).ln()).exp();
        (-other).ln_1p()
    }
}

/// ln P(|T| ≥ |t|) for Student's t with `df` degrees of freedom (two-sided).
pub fn ln_t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return f64::NEG_INFINITY;
    }
    let t2 = t * t;
    // P = I_{df/(df+t²)}(df/2, 1/2).
    ln_beta_inc(df / (df + t2), t2 / (df + t2), df / 2.0, 0.5)
}

/// ln P(|Z| ≥ |z|) for a standard normal (two-sided), accurate in the far tail.
pub fn ln_normal_two_sided(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    // P(|Z| ≥ |z|) = P(χ²₁ ≥ z²) = Q(1/2, z²/2), the upper regularized gamma.
    ln_gamma_upper(0.5, z * z / 2.0)
}

/// ln Q(a, x), the log of the upper regularized incomplete gamma function.
fn ln_gamma_upper(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let ln_front = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        // Series for P(a, x); Q = 1 − P.
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        (-(ln_front + sum.ln()).exp()).ln_1p()
    } else {
        // Continued fraction for Q (modified Lentz).
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..=10_000 {
            let i = f64::from(i);
            let an = -i * (i - a);
            b += 2.0;
            d = an * d + b;
            d = if d.abs() < TINY { TINY } else { d };
            c = b + an / c;
            c = if c.abs() < TINY { TINY } else { c };
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        ln_front + h.ln()
    }
}

/// `-log10(p)` from `ln p`.
pub fn neg_log10(ln_p: f64) -> f64 {
    -ln_p / LN_10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        for n in 1..30u32 {
            let exact: f64 = (1..n).map(|k| f64::from(k).ln()).sum();
            assert!((ln_gamma(f64::from(n)) - exact).abs() < 1e-12 * exact.max(1.0));
        }
        // Γ(1/2) = √π.
        assert!((ln_gamma(0.5) - 0.5 * PI.ln()).abs() < 1e-14);
    }

    #[test]
    fn t_and_normal_tails_match_known_values() {
        // Two-sided p-values in closed form for 1, 2 and 3 degrees of freedom
        // (Cauchy: P(|T| > 1) = 1/2; df 2: 1 − t/√(2 + t²)).
        let cases = [
            (1.0, 1.0, 0.5),
            (2.0, 2.0, 1.0 - 2.0 / 6f64.sqrt()),
            (-3.5, 3.0, {
                // df 3: 1 − (2/π)(atan(x) + x/(1 + x²)), x = t/√3.
                let x = 3.5 / 3f64.sqrt();
                1.0 - 2.0 / PI * (x.atan() + x / (1.0 + x * x))
            }),
            (0.0, 7.0, 1.0),
        ];
        for (t, df, want) in cases {
            let got = ln_t_two_sided(t, df).exp();
            assert!(
                (got - want).abs() < 1e-12 * want.max(0.1) + 1e-15 || (got - want).abs() < 2e-10,
                "t={t} df={df}: {got} vs {want}"
            );
        }
        // P(|Z| ≥ 1.959964) = 0.05; P(|Z| ≥ 10) = 1.523971e-23.
        assert!((ln_normal_two_sided(1.959_963_984_540_054).exp() - 0.05).abs() < 1e-12);
        let far = ln_normal_two_sided(10.0).exp();
        assert!((far - 1.523_970_604_832_105e-23).abs() < 1e-9 * far);
    }

    #[test]
    fn far_tails_stay_finite_in_log_space() {
        // p ≈ 1e-1000 does not fit an f64, but its log does.
        let ln_p = ln_normal_two_sided(68.0);
        assert!(ln_p.is_finite() && neg_log10(ln_p) > 1000.0, "{ln_p}");
        let ln_p = ln_t_two_sided(200.0, 400.0);
        assert!(ln_p.is_finite() && neg_log10(ln_p) > 300.0, "{ln_p}");
        // Consistency: a large-df t tail approaches the normal one.
        let (a, b) = (ln_t_two_sided(5.0, 1e7), ln_normal_two_sided(5.0));
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}
