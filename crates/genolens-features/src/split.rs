//! Seeded sample-level splits: train/validation/test partitions and k-fold
//! cross-validation, or folds taken from an assignment file.
//!
//! Every random split is a function of its seed alone: the same `(n, ..., seed)`
//! gives the same assignment on every platform and every run. The stream is
//! ChaCha8 (`rand_chacha`) keyed with the seed's 8 little-endian bytes followed by
//! zeros, and the permutation is our own Fisher–Yates shuffle with Lemire's
//! unbiased bounded integers, so the result does not change when the `rand`
//! family's own shuffles or seeding helpers change.

use std::collections::{BTreeSet, HashMap};

use genolens_io::folds::FoldAssignment;
use genolens_io::{Sample, SampleId};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::{Error, Result};

/// How far the fractions of [`train_validation_test`] may sum from 1.
pub const FRACTION_TOLERANCE: f64 = 1e-6;

/// The unmatched samples named in an [`Error::UnmatchedSamples`].
const MAX_LISTED: usize = 5;

/// The random stream of a seed.
fn stream(seed: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// A uniform integer in `0..bound` (`bound > 0`), by Lemire's multiply-and-reject,
/// which is unbiased and usually takes one draw.
fn below(rng: &mut ChaCha8Rng, bound: u64) -> u64 {
    // 2^64 mod bound: products whose low word falls under it would bias the result.
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(bound);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// A uniformly random permutation of `0..n` determined by `seed`.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = stream(seed);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        // i + 1 <= n fits in u64, and the draw is <= i, so both casts are exact.
        let j = below(&mut rng, i as u64 + 1) as usize;
        p.swap(i, j);
    }
    p
}

/// A train/validation/test partition of samples `0..n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training samples, increasing.
    pub train: Vec<usize>,
    /// Validation samples, increasing.
    pub validation: Vec<usize>,
    /// Test samples, increasing.
    pub test: Vec<usize>,
}

/// Splits samples `0..n` at random into train, validation and test sets of the
/// given fractions.
///
/// Sizes are `n × fraction` rounded by largest remainder (ties to the earlier
/// set), so they sum to `n`; a non-zero fraction that rounds to no sample then
/// takes one from the largest set, so every non-zero fraction gets a sample. The
/// samples are those of a seeded [`permutation`], in order: the first go to
/// train, the next to validation, the rest to test.
///
/// Errors when a fraction is negative or not finite, when they do not sum to 1
/// (within [`FRACTION_TOLERANCE`]), or when `n` is smaller than the number of
/// non-zero fractions.
pub fn train_validation_test(n: usize, fractions: (f64, f64, f64), seed: u64) -> Result<Split> {
    let f = [fractions.0, fractions.1, fractions.2];
    if let Some(bad) = f.iter().find(|x| !x.is_finite() || **x < 0.0) {
        return Err(Error::Invalid(format!(
            "split fractions must be finite and non-negative, got {bad}"
        )));
    }
    let sum: f64 = f.iter().sum();
    if (sum - 1.0).abs() > FRACTION_TOLERANCE {
        return Err(Error::Invalid(format!(
            "split fractions {:?} sum to {sum}, not 1",
            fractions
        )));
    }
    let wanted = f.iter().filter(|x| **x > 0.0).count();
    if n < wanted {
        return Err(Error::Invalid(format!(
            "{n} samples cannot give each of the {wanted} non-zero split fractions a sample"
        )));
    }

    // Largest remainder on n × fraction, each fraction scaled by the sum so that
    // the tolerated rounding in the fractions cannot lose or add a sample.
    let exact: Vec<f64> = f.iter().map(|x| x / sum * n as f64).collect();
    let mut sizes: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let assigned: usize = sizes.iter().sum();
    let mut order = [0, 1, 2];
    // Stable, so equal remainders favour train, then validation.
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra)
    });
    for &k in order.iter().take(n.saturating_sub(assigned)) {
        sizes[k] += 1;
    }
    // A non-zero fraction may round to nothing; with n >= wanted some other set
    // then holds at least two samples and can spare one.
    for k in 0..3 {
        if f[k] > 0.0 && sizes[k] == 0 {
            let largest = (0..3)
                .max_by_key(|&i| (sizes[i], usize::MAX - i))
                .unwrap_or(0);
            sizes[largest] -= 1;
            sizes[k] += 1;
        }
    }

    let p = permutation(n, seed);
    let (train, rest) = p.split_at(sizes[0]);
    let (validation, test) = rest.split_at(sizes[1]);
    let sorted = |s: &[usize]| {
        let mut v = s.to_vec();
        v.sort_unstable();
        v
    };
    Ok(Split {
        train: sorted(train),
        validation: sorted(validation),
        test: sorted(test),
    })
}

/// Assigns samples `0..n` at random to `k` folds whose sizes differ by at most
/// one: the `i`-th sample of a seeded [`permutation`] goes to fold `i mod k`, so
/// the first `n mod k` folds hold one sample more.
///
/// Errors when `k < 2` or `k > n`.
pub fn k_folds(n: usize, k: usize, seed: u64) -> Result<Folds> {
    if k < 2 || k > n {
        return Err(Error::Invalid(format!(
            "k-fold cross-validation needs 2 <= k <= n samples, got k = {k} for n = {n}"
        )));
    }
    let mut labels = vec![0; n];
    for (i, s) in permutation(n, seed).into_iter().enumerate() {
        labels[s] = i % k;
    }
    Ok(Folds { labels, n_folds: k })
}

/// A fold label per sample, for cross-validation: fold `f`'s samples are the
/// test set of round `f`, and every other sample its training set.
///
/// Labels are 0-based and every fold has at least one sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folds {
    labels: Vec<usize>,
    n_folds: usize,
}

impl Folds {
    /// Folds from an explicit label per sample (0-based). The number of folds is
    /// the largest label plus one; errors when there is no sample or when a fold
    /// below the largest label has no sample.
    pub fn from_labels(labels: Vec<usize>) -> Result<Self> {
        let Some(&max) = labels.iter().max() else {
            return Err(Error::Invalid("fold labels: no samples".into()));
        };
        // n samples fill at most n folds; checked before `max + 1` is used, which
        // could overflow or allocate without bound.
        if max >= labels.len() {
            return Err(Error::Invalid(format!(
                "fold label {max} implies {max} + 1 folds, more than the {} samples can fill",
                labels.len()
            )));
        }
        let n_folds = max + 1;
        let mut sizes = vec![0usize; n_folds];
        for &l in &labels {
            sizes[l] += 1;
        }
        let empty: Vec<usize> = (0..n_folds).filter(|&f| sizes[f] == 0).collect();
        if !empty.is_empty() {
            return Err(Error::Invalid(format!(
                "fold labels leave folds {empty:?} of 0..{n_folds} without a sample"
            )));
        }
        Ok(Self { labels, n_folds })
    }

    /// Folds from an assignment file, aligned to `samples` by ID: by IID, or by
    /// FID and IID when the assignment has family IDs. The file's distinct labels
    /// are renumbered 0, 1, ... in increasing order (a file's folds 1..=10 become
    /// 0..=9). Entries for IDs that are not among `samples` are ignored.
    ///
    /// Errors with [`Error::UnmatchedSamples`] (how many, and the first few) when
    /// some sample has no entry, and with [`Error::Invalid`] when a fold of the
    /// file has none of `samples`.
    pub fn from_assignment(samples: &[Sample], assignment: &FoldAssignment) -> Result<Self> {
        let ranks: HashMap<i64, usize> = assignment
            .entries()
            .iter()
            .map(|e| e.fold)
            .collect::<BTreeSet<i64>>()
            .into_iter()
            .enumerate()
            .map(|(rank, label)| (label, rank))
            .collect();
        let by_id: HashMap<(Option<&str>, &str), usize> = assignment
            .entries()
            .iter()
            .map(|e| ((e.fid.as_deref(), e.iid.as_str()), ranks[&e.fold]))
            .collect();
        let has_fid = assignment.has_fid();
        let mut labels = Vec::with_capacity(samples.len());
        let mut unmatched: Vec<&SampleId> = Vec::new();
        let mut count = 0;
        for s in samples {
            let fid = has_fid.then_some(s.id.fid.as_str());
            match by_id.get(&(fid, s.id.iid.as_str())) {
                Some(&f) => labels.push(f),
                None => {
                    count += 1;
                    if unmatched.len() < MAX_LISTED {
                        unmatched.push(&s.id);
                    }
                }
            }
        }
        if count > 0 {
            return Err(Error::UnmatchedSamples {
                path: assignment.path().to_path_buf(),
                count,
                total: samples.len(),
                first: unmatched.into_iter().cloned().collect(),
            });
        }
        let n_folds = ranks.len();
        let mut sizes = vec![0usize; n_folds];
        for &l in &labels {
            sizes[l] += 1;
        }
        let mut file_labels: Vec<(i64, usize)> = ranks.into_iter().collect();
        file_labels.sort_unstable();
        let empty: Vec<i64> = file_labels
            .iter()
            .filter(|&&(_, rank)| sizes[rank] == 0)
            .map(|&(label, _)| label)
            .collect();
        if !empty.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: folds {empty:?} hold none of the {} samples",
                assignment.path().display(),
                samples.len()
            )));
        }
        Ok(Self { labels, n_folds })
    }

    /// The fold of sample `sample`, or `None` when there is no such sample.
    pub fn fold_of(&self, sample: usize) -> Option<usize> {
        self.labels.get(sample).copied()
    }

    /// The fold of every sample, in sample order.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Number of folds.
    pub fn n_folds(&self) -> usize {
        self.n_folds
    }

    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        self.labels.len()
    }

    /// Number of samples in each fold.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.n_folds];
        for &l in &self.labels {
            sizes[l] += 1;
        }
        sizes
    }

    /// The (training, test) samples of round `fold`, both increasing: the test
    /// set is the fold, the training set every other sample. Errors when `fold`
    /// is not below [`n_folds`](Self::n_folds).
    pub fn train_test(&self, fold: usize) -> Result<(Vec<usize>, Vec<usize>)> {
        if fold >= self.n_folds {
            return Err(Error::Invalid(format!(
                "fold {fold} does not exist: there are {} folds",
                self.n_folds
            )));
        }
        Ok(self.split_at(fold))
    }

    fn split_at(&self, fold: usize) -> (Vec<usize>, Vec<usize>) {
        (0..self.labels.len()).partition(|&s| self.labels[s] != fold)
    }

    /// The (training, test) samples of every round, in fold order.
    pub fn iter(&self) -> FoldIter<'_> {
        FoldIter {
            folds: self,
            next: 0,
        }
    }
}

impl<'a> IntoIterator for &'a Folds {
    type Item = (Vec<usize>, Vec<usize>);
    type IntoIter = FoldIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the (training, test) samples of each round of [`Folds`].
#[derive(Debug, Clone)]
pub struct FoldIter<'a> {
    folds: &'a Folds,
    next: usize,
}

impl Iterator for FoldIter<'_> {
    type Item = (Vec<usize>, Vec<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.folds.n_folds {
            return None;
        }
        self.next += 1;
        Some(self.folds.split_at(self.next - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.folds.n_folds.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for FoldIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use genolens_io::folds::FoldEntry;

    #[test]
    fn permutation_is_a_seeded_permutation() {
        for n in [0, 1, 2, 10, 1000] {
            let p = permutation(n, 42);
            let mut s = p.clone();
            s.sort_unstable();
            assert_eq!(s, (0..n).collect::<Vec<_>>());
            assert_eq!(permutation(n, 42), p);
        }
        assert_ne!(permutation(100, 1), permutation(100, 2));
    }

    #[test]
    fn permutation_stream_is_pinned() {
        // Guards the documented stability: a change of RNG, keying or shuffle
        // changes these values.
        let pinned = permutation(10, 2024);
        assert_eq!(pinned, PINNED_2024);
    }

    const PINNED_2024: [usize; 10] = [8, 6, 2, 9, 7, 0, 4, 3, 1, 5];

    #[test]
    fn permutation_is_roughly_uniform() {
        // Position of element 0 over many seeds: each of 5 places about 1/5.
        let mut counts = [0usize; 5];
        for seed in 0..5000 {
            let p = permutation(5, seed);
            counts[p.iter().position(|&x| x == 0).unwrap()] += 1;
        }
        for c in counts {
            assert!((850..1150).contains(&c), "{counts:?}");
        }
    }

    fn check_partition(s: &Split, n: usize) {
        let mut all: Vec<usize> = [&s.train, &s.validation, &s.test]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for part in [&s.train, &s.validation, &s.test] {
            assert!(part.windows(2).all(|w| w[0] < w[1]), "not sorted");
        }
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn train_validation_test_sizes_and_determinism() {
        let s = train_validation_test(100, (0.7, 0.2, 0.1), 7).unwrap();
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (70, 20, 10)
        );
        check_partition(&s, 100);
        assert_eq!(train_validation_test(100, (0.7, 0.2, 0.1), 7).unwrap(), s);
        assert_ne!(train_validation_test(100, (0.7, 0.2, 0.1), 8).unwrap(), s);

        // 10 × (0.34, 0.33, 0.33) = 3.4, 3.3, 3.3: one left over goes to train.
        let s = train_validation_test(10, (0.34, 0.33, 0.33), 1).unwrap();
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (4, 3, 3));
        check_partition(&s, 10);

        // Tiny fractions still get a sample each.
        let s = train_validation_test(3, (0.98, 0.01, 0.01), 3).unwrap();
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (1, 1, 1));
        check_partition(&s, 3);

        // A zero fraction stays empty.
        let s = train_validation_test(9, (0.5, 0.0, 0.5), 3).unwrap();
        assert!(s.validation.is_empty());
        assert_eq!(s.train.len() + s.test.len(), 9);
        check_partition(&s, 9);

        // Within tolerance.
        assert!(train_validation_test(10, (0.8, 0.1, 0.1 + 1e-9), 0).is_ok());
    }

    #[test]
    fn train_validation_test_errors() {
        for (n, f) in [
            (10, (0.5, 0.2, 0.2)),
            (10, (0.8, 0.3, -0.1)),
            (10, (f64::NAN, 0.5, 0.5)),
            (10, (1.0, 0.01, 0.0)),
            (2, (0.4, 0.3, 0.3)),
            (0, (1.0, 0.0, 0.0)),
        ] {
            assert!(
                matches!(train_validation_test(n, f, 0), Err(Error::Invalid(_))),
                "n {n}, fractions {f:?}"
            );
        }
        assert!(train_validation_test(1, (1.0, 0.0, 0.0), 0).is_ok());
    }

    #[test]
    fn k_folds_sizes_partition_and_determinism() {
        for (n, k) in [(10, 2), (10, 3), (599, 10), (7, 7)] {
            let f = k_folds(n, k, 11).unwrap();
            assert_eq!((f.n_samples(), f.n_folds()), (n, k));
            let sizes = f.sizes();
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1 && *lo >= 1, "{sizes:?}");
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert_eq!(k_folds(n, k, 11).unwrap(), f);
            // Each sample is a test sample in exactly one round.
            let mut tested = vec![0; n];
            for (round, (train, test)) in f.iter().enumerate() {
                assert_eq!(train.len() + test.len(), n);
                for &s in &test {
                    tested[s] += 1;
                    assert_eq!(f.fold_of(s), Some(round));
                }
                assert!(train.iter().all(|&s| f.fold_of(s) != Some(round)));
                assert_eq!(f.train_test(round).unwrap(), (train, test));
            }
            assert!(tested.iter().all(|&c| c == 1));
        }
        assert_ne!(k_folds(100, 5, 1).unwrap(), k_folds(100, 5, 2).unwrap());
        assert_eq!(k_folds(10, 3, 0).unwrap().iter().len(), 3);
    }

    #[test]
    fn k_folds_errors() {
        for (n, k) in [(10, 0), (10, 1), (3, 4), (0, 2)] {
            assert!(
                matches!(k_folds(n, k, 0), Err(Error::Invalid(_))),
                "n {n} k {k}"
            );
        }
        let f = k_folds(4, 2, 0).unwrap();
        assert!(f.train_test(2).is_err());
        assert_eq!(f.fold_of(4), None);
    }

    #[test]
    fn from_labels_validates() {
        let f = Folds::from_labels(vec![1, 0, 2, 1]).unwrap();
        assert_eq!(f.n_folds(), 3);
        assert_eq!(f.sizes(), [1, 2, 1]);
        assert_eq!(f.train_test(1).unwrap(), (vec![1, 2], vec![0, 3]));
        assert_eq!((&f).into_iter().count(), 3);
        assert!(Folds::from_labels(vec![]).is_err());
        let e = Folds::from_labels(vec![0, 2, 2]).unwrap_err();
        assert!(e.to_string().contains("[1]"), "{e}");
        assert!(Folds::from_labels(vec![0, usize::MAX]).is_err());
    }

    fn sample(fid: &str, iid: &str) -> Sample {
        Sample::new(SampleId::new(fid, iid))
    }

    fn entry(fid: Option<&str>, iid: &str, fold: i64) -> FoldEntry {
        FoldEntry {
            fid: fid.map(Into::into),
            iid: iid.into(),
            fold,
        }
    }

    #[test]
    fn from_assignment_aligns_by_iid_and_renumbers() {
        let a = FoldAssignment::from_entries(
            "folds.csv",
            vec![
                entry(None, "c", 10),
                entry(None, "a", -3),
                entry(None, "b", 10),
                entry(None, "extra", 4),
                entry(None, "d", 4),
            ],
        )
        .unwrap();
        let samples = [
            sample("x", "a"),
            sample("y", "b"),
            sample("z", "c"),
            sample("0", "d"),
        ];
        let f = Folds::from_assignment(&samples, &a).unwrap();
        // Labels -3, 4, 10 → 0, 1, 2.
        assert_eq!(f.labels(), [0, 2, 2, 1]);
        assert_eq!(f.n_folds(), 3);
    }

    #[test]
    fn from_assignment_uses_fid_when_present() {
        let a = FoldAssignment::from_entries(
            "folds.txt",
            vec![entry(Some("f1"), "x", 1), entry(Some("f2"), "x", 2)],
        )
        .unwrap();
        let f = Folds::from_assignment(&[sample("f2", "x"), sample("f1", "x")], &a).unwrap();
        assert_eq!(f.labels(), [1, 0]);
        let e = Folds::from_assignment(&[sample("f3", "x"), sample("f1", "x")], &a).unwrap_err();
        match &e {
            Error::UnmatchedSamples {
                count,
                total,
                first,
                ..
            } => {
                assert_eq!((*count, *total), (1, 2));
                assert_eq!(first, &[SampleId::new("f3", "x")]);
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("folds.txt"), "{e}");
    }

    #[test]
    fn from_assignment_reports_unmatched_and_empty_folds() {
        let a = FoldAssignment::from_entries(
            "folds.csv",
            vec![entry(None, "a", 1), entry(None, "b", 2)],
        )
        .unwrap();
        let samples: Vec<Sample> = (0..8).map(|i| sample("0", &format!("s{i}"))).collect();
        let e = Folds::from_assignment(&samples, &a).unwrap_err();
        match &e {
            Error::UnmatchedSamples { count, first, .. } => {
                assert_eq!(*count, 8);
                assert_eq!(first.len(), MAX_LISTED);
                assert_eq!(first[0].iid, "s0");
            }
            other => panic!("{other:?}"),
        }
        let msg = e.to_string();
        assert!(msg.contains("folds.csv") && msg.contains("8 of 8") && msg.contains("\"s4\""));
        assert!(!msg.contains("\"s5\""), "{msg}");

        // Only sample "a" is present: fold 2 of the file would be empty.
        let e = Folds::from_assignment(&[sample("0", "a")], &a).unwrap_err();
        assert!(matches!(&e, Error::Invalid(m) if m.contains("[2]")), "{e}");
    }
}
