//! The Hardy–Weinberg exact test (Wigginton, Cutler & Abecasis 2005), as
//! `plink2 --hardy` reports it.

use super::counts::CallCounts;

/// Relative tolerance under which two genotype-configuration probabilities count as
/// equal, so that floating-point noise does not split exact ties (PLINK 2 uses a
/// comparable epsilon).
const TIE_EPSILON: f64 = 1e-9;

/// Terms below this fraction of the largest are too small to change a sum.
const NEGLIGIBLE: f64 = 1e-20;

/// A walk stops once the rest of its side cannot change the sums by more than
/// this relative amount (far below the 6 digits PLINK 2 prints).
const STOP_RELATIVE: f64 = 1e-11;

/// The Hardy–Weinberg exact test p-value for `het` heterozygotes and `hom1`, `hom2`
/// homozygotes.
///
/// The p-value is the total probability, under HWE and given the allele counts, of
/// every heterozygote count no more likely than the observed one. With `midp`, tied
/// configurations (the observed one included) count half, as in PLINK 2's `midp`
/// modifier. Returns 1 when no genotype was observed.
///
/// The probabilities are summed relative to the most likely configuration, and in
/// log space when the observed one is too unlikely for that, so p-values far below
/// `1e-300` keep their digits in [`hwe_exact_ln`].
pub fn hwe_exact(het: u32, hom1: u32, hom2: u32, midp: bool) -> f64 {
    hwe_exact_ln(het, hom1, hom2, midp).exp()
}

/// Natural log of [`hwe_exact`].
pub fn hwe_exact_ln(het: u32, hom1: u32, hom2: u32, midp: bool) -> f64 {
    let n = u64::from(het) + u64::from(hom1) + u64::from(hom2);
    if n == 0 {
        // One possible configuration, tied with itself.
        return if midp { 0.5f64.ln() } else { 0.0 };
    }
    let rare = 2 * u64::from(hom1.min(hom2)) + u64::from(het);
    let obs = u64::from(het);
    // The most likely heterozygote count, with the parity of `rare`.
    let mut mode = (rare * (2 * n - rare)) / (2 * n);
    if (mode ^ rare) & 1 == 1 {
        mode += 1;
    }
    let hwe = Support::new(n, rare);
    // The estimate can be one step off: climb to the true maximum.
    while mode + 2 <= rare && hwe.up(mode) > 1.0 {
        mode += 2;
    }
    while mode >= 2 && hwe.down(mode) > 1.0 {
        mode -= 2;
    }

    // P(mode) and P(obs) / P(mode) from log-factorials: no walk from the mode to a
    // far observation and no normalising sum over the whole support are needed.
    let ln_mode = hwe.ln_prob(mode);
    let p_mode = ln_mode.exp();
    let ln_ratio = hwe.ln_prob(obs) - ln_mode;
    if ln_ratio < (1e-280f64).ln() {
        return ln_tail_far(&hwe, obs, mode, midp);
    }
    let p_obs = ln_ratio.exp().min(1.0);
    let above = p_obs * (1.0 + TIE_EPSILON);
    let below = p_obs * (1.0 - TIE_EPSILON);
    if p_obs < FAR && obs != mode {
        return ln_tail_from_obs(&hwe, obs, mode, p_obs, p_mode, midp);
    }
    // The centre: terms more likely than the observed one, contiguous around the
    // mode (the distribution is unimodal). `edge` is the first term past it on each
    // side: (h, term), or None at the end of the support.
    let mut center = 0.0f64;
    let mut edges: [Option<(u64, f64)>; 2] = [None, None];
    if 1.0 <= above {
        // The observed term is as likely as the mode (it is the mode, or its twin
        // in a two-peaked case): every configuration is in the tail, and the tied
        // ones are the mode and any neighbour equal to it.
        let twins: f64 = [true, false]
            .into_iter()
            .filter_map(|up| hwe.step(mode, up))
            .map(|(_, r)| r)
            .filter(|&r| r >= 1.0 - TIE_EPSILON)
            .sum();
        let p = if midp {
            1.0 - 0.5 * (1.0 + twins) * p_mode
        } else {
            1.0
        };
        return p.ln().min(0.0);
    }
    for (side, upward) in [true, false].into_iter().enumerate() {
        let (mut h, mut t) = (mode, 1.0f64);
        center += if side == 0 { 1.0 } else { 0.0 };
        while let Some((next, r)) = hwe.step(h, upward) {
            t *= r;
            h = next;
            if t > above {
                center += t;
            } else {
                edges[side] = Some((h, t));
                break;
            }
        }
    }
    let tied_edges: f64 = edges
        .iter()
        .flatten()
        .filter(|&&(_, t)| t >= below)
        .map(|&(_, t)| t)
        .sum();
    let p_center = center * p_mode;
    if p_center < 0.5 {
        // Everything outside the centre is in the tail: no cancellation worth
        // worrying about when the answer is at least one half.
        let p = 1.0 - p_center;
        let p = if midp {
            p - 0.5 * tied_edges * p_mode
        } else {
            p
        };
        return p.ln().min(0.0);
    }
    // A small p-value: sum the tail itself, outward from the centre's edges.
    let mut tail = Tail::new(midp);
    for (edge, upward) in edges.into_iter().zip([true, false]) {
        if let Some((h, t)) = edge {
            tail.walk_out(&hwe, h, t, upward, p_obs);
        }
    }
    (tail.sum() * p_mode).ln().min(0.0)
}

/// Below this P(obs) / P(mode) the observation is in a tail: the p-value is summed
/// from the tail terms themselves, found directly, rather than as one minus the
/// centre.
const FAR: f64 = 0.5;

/// The p-value when the observation is in a tail: the terms beyond it on its side,
/// and on the other side those beyond the first one no more likely than it (found
/// by bisection on the log-probability, which falls monotonically away from the
/// mode). Terms are relative to P(mode).
fn ln_tail_from_obs(
    hwe: &Support,
    obs: u64,
    mode: u64,
    p_obs: f64,
    p_mode: f64,
    midp: bool,
) -> f64 {
    let above = p_obs * (1.0 + TIE_EPSILON);
    let obs_up = obs > mode;
    let ln_mode = hwe.ln_prob(mode);
    // The mirror side: the first h (same parity) from the mode whose term is
    // ≤ P(obs)(1 + ε); `None` when every term there is more likely.
    let mirror = {
        // Steps k = 1, 2, … from the mode on the other side; the distribution is
        // nearly symmetric about the mode, so start from the mirror image of the
        // observation and walk the few steps to the boundary with ratios.
        let max_k = if obs_up {
            mode / 2
        } else {
            (hwe.rare - mode) / 2
        };
        let at = |k: u64| if obs_up { mode - 2 * k } else { mode + 2 * k };
        let down = !obs_up;
        if max_k == 0 {
            None
        } else {
            let mut k = (obs.abs_diff(mode) / 2).clamp(1, max_k);
            let mut t = (hwe.ln_prob(at(k)) - ln_mode).exp();
            if t > above {
                // Outward until a term is no more likely than the observation.
                loop {
                    match hwe.step(at(k), down) {
                        Some((_, r)) if k < max_k => {
                            t *= r;
                            k += 1;
                            if t <= above {
                                break Some((at(k), t));
                            }
                        }
                        _ => break None,
                    }
                }
            } else {
                // Inward while the next term in is still no more likely.
                while k > 1 {
                    let inner = hwe.step(at(k), !down).map(|(_, r)| t * r);
                    match inner {
                        Some(ti) if ti <= above => {
                            t = ti;
                            k -= 1;
                        }
                        _ => break,
                    }
                }
                Some((at(k), t))
            }
        }
    };
    let mut tail = Tail::new(midp);
    tail.walk_out(hwe, obs, p_obs, obs_up, p_obs);
    if let Some((h, t)) = mirror {
        tail.walk_out(hwe, h, t, !obs_up, p_obs);
    }
    // A neighbour towards the mode tied with the observation.
    if let Some((_, r)) = hwe.step(obs, !obs_up) {
        let t = p_obs * r;
        if t <= above && t >= p_obs * (1.0 - TIE_EPSILON) {
            tail.add(t, t / p_obs);
        }
    }
    (tail.sum() * p_mode).ln().min(0.0)
}

/// The support of the heterozygote count given `n` genotypes and `rare` copies of
/// the minor allele, with the HWE probability ratios between neighbours.
struct Support {
    n: u64,
    rare: u64,
    /// The part of ln P(h) that does not depend on h.
    ln_const: f64,
}

impl Support {
    fn new(n: u64, rare: u64) -> Self {
        Self {
            n,
            rare,
            ln_const: ln_factorial(n) + ln_factorial(rare) + ln_factorial(2 * n - rare)
                - ln_factorial(2 * n),
        }
    }

    /// The neighbour of `h` away from the mode in direction `upward`, with the
    /// probability ratio to it; `None` past the end of the support.
    fn step(&self, h: u64, upward: bool) -> Option<(u64, f64)> {
        if upward {
            (h + 2 <= self.rare).then(|| (h + 2, self.up(h)))
        } else {
            (h >= 2).then(|| (h - 2, self.down(h)))
        }
    }

    /// ln P(h) under HWE given `n` and `rare`:
    /// `n! / (h! hr! hc!) · 2^h · rare! (2n - rare)! / (2n)!`.
    fn ln_prob(&self, h: u64) -> f64 {
        let hr = (self.rare - h) / 2;
        let hc = self.n - h - hr;
        self.ln_const - ln_factorial(h) - ln_factorial(hr) - ln_factorial(hc)
            + h as f64 * std::f64::consts::LN_2
    }

    /// P(h + 2) / P(h).
    fn up(&self, h: u64) -> f64 {
        let hr = (self.rare - h) / 2;
        let hc = self.n - h - hr;
        (4.0 * hr as f64 * hc as f64) / ((h + 2) as f64 * (h + 1) as f64)
    }

    /// P(h - 2) / P(h).
    fn down(&self, h: u64) -> f64 {
        let hr = (self.rare - h) / 2;
        let hc = self.n - h - hr;
        (h as f64 * (h - 1) as f64) / (4.0 * (hr + 1) as f64 * (hc + 1) as f64)
    }
}

/// ln(k!): the product itself up to 20 (exact or within one rounding), Stirling's
/// series beyond, whose first omitted term is below 1e-15 there.
fn ln_factorial(k: u64) -> f64 {
    if k <= 20 {
        return (2..=k).map(|i| i as f64).product::<f64>().ln();
    }
    const HALF_LN_TAU: f64 = 0.918_938_533_204_672_8; // ln(2π) / 2
    let x = k as f64;
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    (x + 0.5) * x.ln() - x
        + HALF_LN_TAU
        + inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)))
}

/// Sums the configurations no more likely than the observed one.
struct Tail {
    midp: bool,
    less: f64,
    tied: f64,
}

impl Tail {
    fn new(midp: bool) -> Self {
        Self {
            midp,
            less: 0.0,
            tied: 0.0,
        }
    }

    /// Adds term `t` whose ratio to the observed term is `ratio`.
    fn add(&mut self, t: f64, ratio: f64) {
        if ratio <= 1.0 + TIE_EPSILON {
            if ratio >= 1.0 - TIE_EPSILON {
                self.tied += t;
            } else {
                self.less += t;
            }
        }
    }

    /// Adds the term `t` at `h` and every term beyond it away from the mode, until
    /// the rest cannot matter. Ratios only fall away from the mode (the
    /// distribution is log-concave), so what is left sums to at most t·r/(1-r).
    fn walk_out(&mut self, hwe: &Support, mut h: u64, mut t: f64, upward: bool, p_obs: f64) {
        self.add(t, t / p_obs);
        while let Some((next, r)) = hwe.step(h, upward) {
            t *= r;
            h = next;
            self.add(t, t / p_obs);
            if r < 1.0 && t * r / (1.0 - r) < STOP_RELATIVE * self.sum() {
                break;
            }
        }
    }

    fn sum(&self) -> f64 {
        if self.midp {
            self.less + 0.5 * self.tied
        } else {
            self.less + self.tied
        }
    }
}

/// The observed configuration is so unlikely that terms relative to the mode
/// underflow: sum in log space, relative to the observed term.
fn ln_tail_far(hwe: &Support, obs: u64, mode: u64, midp: bool) -> f64 {
    let mut ln_obs = 0.0;
    let mut h = mode;
    while h != obs {
        ln_obs += if obs > mode { hwe.up(h) } else { hwe.down(h) }.ln();
        h = if obs > mode { h + 2 } else { h - 2 };
    }
    // Terms relative to P(obs) (for the tail) and to P(mode) (for the total).
    // The mode is far more likely than the observed term, so it is not in the tail;
    // the walks below visit every other term, the observed one included.
    let mut tail = Tail::new(midp);
    let mut total = 1.0f64;
    for upward in [true, false] {
        let mut ln_t = 0.0;
        let mut h = mode;
        loop {
            if upward {
                if h + 2 > hwe.rare {
                    break;
                }
                ln_t += hwe.up(h).ln();
                h += 2;
            } else {
                if h < 2 {
                    break;
                }
                ln_t += hwe.down(h).ln();
                h -= 2;
            }
            total += ln_t.exp();
            let rel = (ln_t - ln_obs).exp();
            tail.add(rel, rel);
            if rel < NEGLIGIBLE {
                break;
            }
        }
    }
    (ln_obs + tail.sum().ln() - total.ln()).min(0.0)
}

/// One row of a `.hardy` report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HardyRow {
    /// Homozygous allele-1 calls.
    pub hom_allele1: u32,
    /// Heterozygous calls.
    pub het: u32,
    /// Homozygous allele-2 calls.
    pub hom_allele2: u32,
    /// Observed heterozygote frequency.
    pub observed_het: f64,
    /// Heterozygote frequency expected under HWE, `2pq`.
    pub expected_het: f64,
    /// Exact-test p-value (mid-p when asked).
    pub p: f64,
}

impl HardyRow {
    /// The row for diploid counts.
    pub fn from_counts(c: &CallCounts, midp: bool) -> Self {
        let n = f64::from(c.observed());
        // With no call PLINK 2 prints O(HET) as nan and E(HET) as 0.
        let (observed_het, expected_het) = if n == 0.0 {
            (f64::NAN, 0.0)
        } else {
            let p = (2.0 * f64::from(c.hom_allele1) + f64::from(c.het)) / (2.0 * n);
            (f64::from(c.het) / n, 2.0 * p * (1.0 - p))
        };
        Self {
            hom_allele1: c.hom_allele1,
            het: c.het,
            hom_allele2: c.hom_allele2,
            observed_het,
            expected_het,
            p: hwe_exact(c.het, c.hom_allele1, c.hom_allele2, midp),
        }
    }
}

/// Hardy–Weinberg rows for the autosomal variants (PLINK 2 tests X only with sex
/// information and never Y or MT), computed in parallel on the current rayon pool:
/// `(variant index, row)` in variant order.
pub fn hardy_rows(
    variants: &[genolens_io::Variant],
    calls: &[super::VariantCalls],
    midp: bool,
) -> Vec<(usize, HardyRow)> {
    use rayon::prelude::*;
    variants
        .par_iter()
        .zip(calls)
        .enumerate()
        .filter(|(_, (v, _))| v.chrom_kind() == genolens_io::ChromKind::Autosome)
        .map(|(i, (_, c))| (i, HardyRow::from_counts(&c.diploid, midp)))
        .collect()
}

/// The Hardy–Weinberg exact test on chrX (Graffelman & Weir 2016), as `plink2
/// --hardy` reports it in `.hardy.x`: females' genotype counts and males'
/// allele counts, tested jointly for HWE in females and equal allele
/// frequencies in both sexes. Conditional on the allele total, a
/// configuration with `m1` male allele-1 copies and `h` female
/// heterozygotes has probability ∝ C(n_m, m1) · n_f!/(f11! h! f22!) · 2^h;
/// the p-value sums the configurations no more likely than the observed one
/// (ties counted half with `midp`). Without males it is [`hwe_exact`].
pub fn hwe_x_exact(
    female_het: u32,
    female_hom1: u32,
    female_hom2: u32,
    male1: u32,
    male2: u32,
    midp: bool,
) -> f64 {
    if male1 + male2 == 0 {
        return hwe_exact(female_het, female_hom1, female_hom2, midp);
    }
    let nf = u64::from(female_het) + u64::from(female_hom1) + u64::from(female_hom2);
    let nm = u64::from(male1) + u64::from(male2);
    let n_a = 2 * u64::from(female_hom1) + u64::from(female_het) + u64::from(male1);
    let size = (2 * nf + nm + 1) as usize;
    let mut lf = vec![0.0f64; size + 1];
    for k in 1..=size {
        lf[k] = lf[k - 1] + (k as f64).ln();
    }
    let ln2 = std::f64::consts::LN_2;
    // ln P(m1, h) up to the constant.
    let ln_p = |m1: u64, h: u64| -> f64 {
        let af = n_a - m1;
        let f11 = (af - h) / 2;
        let f22 = nf - f11 - h;
        lf[nm as usize] - lf[m1 as usize] - lf[(nm - m1) as usize] + lf[nf as usize]
            - lf[f11 as usize]
            - lf[h as usize]
            - lf[f22 as usize]
            + h as f64 * ln2
    };
    let m_lo = n_a.saturating_sub(2 * nf);
    let m_hi = nm.min(n_a);
    // Each slice (fixed m1) is unimodal in h: its mode, climbed from the
    // expectation.
    let slice = |m1: u64| -> (u64, u64, u64) {
        let af = n_a - m1;
        let h_max = af.min(2 * nf - af);
        let h_min = af % 2;
        let mut h = if nf == 0 {
            0
        } else {
            (af * (2 * nf - af)) / (2 * nf)
        };
        if (h ^ af) & 1 == 1 {
            h += 1;
        }
        h = h.clamp(h_min, h_max.max(h_min));
        while h + 2 <= h_max && ln_p(m1, h + 2) > ln_p(m1, h) {
            h += 2;
        }
        while h >= h_min + 2 && ln_p(m1, h - 2) > ln_p(m1, h) {
            h -= 2;
        }
        (h_min, h, h_max)
    };
    let obs = ln_p(u64::from(male1), u64::from(female_het));
    let mut top = obs;
    for m1 in m_lo..=m_hi {
        let (_, mode, _) = slice(m1);
        top = top.max(ln_p(m1, mode));
    }
    // Terms this far below the observed one change neither sum.
    let negligible = obs - 50.0;
    let tie = TIE_EPSILON;
    let (mut all, mut tail, mut ties) = (0.0f64, 0.0f64, 0.0f64);
    let mut add = |t: f64| {
        let rel = (t - obs).exp();
        let w = (t - top).exp();
        all += w;
        if rel < 1.0 - tie {
            tail += w;
        } else if rel <= 1.0 + tie {
            ties += w;
        }
    };
    for m1 in m_lo..=m_hi {
        let (h_min, mode, h_max) = slice(m1);
        if ln_p(m1, mode) < negligible {
            continue;
        }
        let mut h = mode;
        loop {
            let t = ln_p(m1, h);
            if t < negligible {
                break;
            }
            add(t);
            if h + 2 > h_max {
                break;
            }
            h += 2;
        }
        let mut h = mode;
        while h >= h_min + 2 {
            h -= 2;
            let t = ln_p(m1, h);
            if t < negligible {
                break;
            }
            add(t);
        }
    }
    let p = (tail + if midp { 0.5 * ties } else { ties }) / all;
    p.min(1.0)
}

/// One `.hardy.x` row: females' genotype counts and males' allele counts
/// (allele 1 = the counted allele; male heterozygous calls are left out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HardyXRow {
    /// Female homozygous allele-1 calls.
    pub female_hom_allele1: u32,
    /// Female heterozygous calls.
    pub female_het: u32,
    /// Female homozygous allele-2 calls.
    pub female_hom_allele2: u32,
    /// Male allele-1 (hemizygous) calls.
    pub male_allele1: u32,
    /// Male allele-2 calls.
    pub male_allele2: u32,
    /// Observed female heterozygote frequency.
    pub observed_het: f64,
    /// Expected female heterozygote frequency, `2pq` from the female
    /// frequency.
    pub expected_het: f64,
    /// Allele-1 frequency among females.
    pub female_allele1_freq: f64,
    /// Allele-1 frequency among males.
    pub male_allele1_freq: f64,
    /// [`hwe_x_exact`]'s p-value.
    pub p: f64,
}

impl HardyXRow {
    /// The row from female (diploid) and male (haploid) counts.
    pub fn from_counts(female: &CallCounts, male: &CallCounts, midp: bool) -> Self {
        let nf = f64::from(female.observed());
        let nm = f64::from(male.hom_allele1 + male.hom_allele2);
        let female_freq = if nf == 0.0 {
            f64::NAN
        } else {
            (2.0 * f64::from(female.hom_allele1) + f64::from(female.het)) / (2.0 * nf)
        };
        Self {
            female_hom_allele1: female.hom_allele1,
            female_het: female.het,
            female_hom_allele2: female.hom_allele2,
            male_allele1: male.hom_allele1,
            male_allele2: male.hom_allele2,
            observed_het: if nf == 0.0 {
                f64::NAN
            } else {
                f64::from(female.het) / nf
            },
            expected_het: if nf == 0.0 {
                0.0
            } else {
                2.0 * female_freq * (1.0 - female_freq)
            },
            female_allele1_freq: female_freq,
            male_allele1_freq: if nm == 0.0 {
                f64::NAN
            } else {
                f64::from(male.hom_allele1) / nm
            },
            p: hwe_x_exact(
                female.het,
                female.hom_allele1,
                female.hom_allele2,
                male.hom_allele1,
                male.hom_allele2,
                midp,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chrX test by full enumeration in f64, for small counts.
    fn brute_x(fh: u32, f1: u32, f2: u32, m1: u32, m2: u32, midp: bool) -> f64 {
        let ln_fact = |k: u64| (1..=k).map(|i| (i as f64).ln()).sum::<f64>();
        let (nf, nm) = (u64::from(fh + f1 + f2), u64::from(m1 + m2));
        let n_a = u64::from(2 * f1 + fh + m1);
        let lp = |a: u64, h: u64| {
            let af = n_a - a;
            let f11 = (af - h) / 2;
            let f22 = nf - f11 - h;
            ln_fact(nm) - ln_fact(a) - ln_fact(nm - a) + ln_fact(nf)
                - ln_fact(f11)
                - ln_fact(h)
                - ln_fact(f22)
                + h as f64 * 2f64.ln()
        };
        let obs = lp(u64::from(m1), u64::from(fh)).exp();
        let (mut all, mut tail, mut ties) = (0.0, 0.0, 0.0);
        for a in 0..=nm.min(n_a) {
            let af = n_a - a;
            if af > 2 * nf {
                continue;
            }
            let mut h = af % 2;
            while h <= af.min(2 * nf - af) {
                let t = lp(a, h).exp();
                all += t;
                if t < obs * (1.0 - 1e-9) {
                    tail += t;
                } else if t <= obs * (1.0 + 1e-9) {
                    ties += t;
                }
                h += 2;
            }
        }
        (tail + if midp { ties / 2.0 } else { ties }) / all
    }

    #[test]
    fn chrx_exact_test_equals_full_enumeration() {
        for &(fh, f1, f2, m1, m2) in &[
            (5, 15, 0, 2, 25),
            (3, 17, 0, 4, 23),
            (4, 14, 2, 6, 21),
            (0, 10, 10, 12, 3),
            (20, 0, 0, 0, 9),
            (1, 2, 3, 4, 5),
        ] {
            for midp in [false, true] {
                let (a, b) = (
                    hwe_x_exact(fh, f1, f2, m1, m2, midp),
                    brute_x(fh, f1, f2, m1, m2, midp),
                );
                assert!(
                    (a - b).abs() <= 1e-10 * b.max(1e-300),
                    "{fh} {f1} {f2} {m1} {m2}: {a} vs {b}"
                );
            }
        }
        // No males: the autosomal test.
        assert_eq!(
            hwe_x_exact(5, 15, 0, 0, 0, false),
            hwe_exact(5, 15, 0, false)
        );
    }

    /// Exact enumeration in f64 over all configurations, for small n.
    fn brute(het: u32, hom1: u32, hom2: u32, midp: bool) -> f64 {
        let n = u64::from(het + hom1 + hom2);
        let rare = (2 * hom1.min(hom2) + het) as u64;
        let ln_fact = |k: u64| (1..=k).map(|i| (i as f64).ln()).sum::<f64>();
        let ln_p = |h: u64| {
            let hr = (rare - h) / 2;
            let hc = n - h - hr;
            ln_fact(n) - ln_fact(hr) - ln_fact(hc) - ln_fact(h)
                + (h as f64) * 2f64.ln()
                + ln_fact(rare)
                + ln_fact(2 * n - rare)
                - ln_fact(2 * n)
        };
        let p_obs = ln_p(u64::from(het)).exp();
        let mut less = 0.0;
        let mut tied = 0.0;
        let mut h = rare % 2;
        while h <= rare {
            let p = ln_p(h).exp();
            if (p - p_obs).abs() <= 1e-9 * p_obs {
                tied += p;
            } else if p < p_obs {
                less += p;
            }
            h += 2;
        }
        if midp {
            less + 0.5 * tied
        } else {
            less + tied
        }
    }

    #[test]
    fn matches_brute_force_enumeration() {
        for (het, a, b) in [
            (29, 19, 12),
            (0, 210, 389),
            (10, 0, 50),
            (5, 5, 5),
            (57, 1, 2),
            (1, 0, 0),
            (0, 7, 0),
            (2, 1, 1),
            (28, 26, 6),
            (103, 390, 7),
            (10, 45, 5),
            (30, 10, 20),
            (40, 0, 20),
        ] {
            assert_matches_brute(het, a, b, 1e-9);
        }
    }

    /// Both p-value flavours of one configuration agree with enumeration to `tol`.
    fn assert_matches_brute(het: u32, a: u32, b: u32, tol: f64) {
        for midp in [false, true] {
            let got = hwe_exact(het, a, b, midp);
            let want = brute(het, a, b, midp);
            assert!(
                (got - want).abs() <= tol * want.max(1e-300),
                "{het} {a} {b} midp={midp}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn far_tail_keeps_its_digits_below_1e_300() {
        // 4000 rare homozygotes vs 4000 common, no heterozygotes: p is astronomically
        // small, yet its log is finite and agrees with the log of brute force terms.
        let ln = hwe_exact_ln(0, 4000, 4000, false);
        assert!(ln.is_finite() && ln < (1e-300f64).ln(), "{ln}");
        // Monotone: one more heterozygote is less extreme.
        assert!(hwe_exact_ln(2, 3999, 3999, false) > ln);
    }

    #[test]
    fn ln_factorial_is_accurate_on_both_sides_of_the_switch() {
        for k in [0u64, 1, 5, 20, 21, 22, 50, 170] {
            let exact: f64 = (1..=k).map(|i| (i as f64).ln()).sum();
            assert!(
                (ln_factorial(k) - exact).abs() < 1e-12 * exact.max(1.0),
                "{k}"
            );
        }
    }

    #[test]
    fn large_samples_agree_with_brute_force() {
        // n in the thousands, where the log-factorial normalisation matters.
        for (het, a, b) in [
            (2400, 1900, 700),
            (2000, 2500, 500),
            (100, 4800, 100),
            (4999, 1, 0),
        ] {
            assert_matches_brute(het, a, b, 1e-8);
        }
    }

    #[test]
    fn no_observations_is_p_one() {
        assert_eq!(hwe_exact(0, 0, 0, false), 1.0);
        assert_eq!(hwe_exact(0, 0, 0, true), 0.5);
        let r = HardyRow::from_counts(&CallCounts::default(), false);
        assert!(r.observed_het.is_nan());
    }
}
