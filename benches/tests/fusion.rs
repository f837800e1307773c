//! The fusion benchmark's testing arm, small: 6 seeded replicates of every
//! arm on the real data. The directions the full benchmark reports
//! (docs/benchmarks.md, `cargo xtask fusion-bench`) must hold with margins:
//! the literature prior finds more causal variants at f = 1, costs little at
//! f = 0 and with the shuffled and inverted controls (adaptive weights), and
//! the FDR stays near its level.

use std::path::PathBuf;

use benches::fusion::FusionData;
use genolens::explain::benchmark::{
    causal_pools, mean_se, run_replicate, Arm, BenchData, BenchOptions, PriorKind,
};

#[test]
fn the_prior_helps_when_right_and_costs_little_when_wrong() {
    let data = std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    if !data.join("biored/Train.PubTator").exists() {
        eprintln!("skipping: data not found");
        return;
    }
    let d = FusionData::load(&data, "cancer", None).unwrap();
    let bench = BenchData {
        source: &d.bed,
        priors: &d.priors,
        map: &d.map,
    };
    let options = BenchOptions {
        replicates: 6,
        folds: 0,
        ..BenchOptions::default()
    };
    let pools = causal_pools(&bench, &options).unwrap();
    let arms = Arm::all();
    let mut results = Vec::new();
    for r in 0..options.replicates {
        results.extend(run_replicate(&bench, &pools, &arms, r, &options).unwrap());
    }
    let mean = |arm: Arm, pick: &dyn Fn(&genolens::explain::benchmark::ReplicateResult) -> f64| {
        let v: Vec<f64> = results.iter().filter(|r| r.arm == arm).map(pick).collect();
        mean_se(&v).0
    };
    let arm = |fraction, prior| Arm { fraction, prior };
    let bh = |a| mean(a, &|r| r.bh.true_discoveries as f64);
    let adaptive = |a| mean(a, &|r| r.adaptive.true_discoveries as f64);
    let right = arm(1.0, PriorKind::True);
    eprintln!(
        "f=1: {} -> {}; f=0: {} -> {}; shuffled {}; inverted {}",
        bh(right),
        adaptive(right),
        bh(arm(0.0, PriorKind::True)),
        adaptive(arm(0.0, PriorKind::True)),
        adaptive(arm(1.0, PriorKind::Shuffled)),
        adaptive(arm(1.0, PriorKind::Inverted))
    );
    assert!(adaptive(right) >= 1.15 * bh(right), "gain at f = 1");
    for control in [
        arm(0.0, PriorKind::True),
        arm(1.0, PriorKind::Shuffled),
        arm(1.0, PriorKind::Inverted),
    ] {
        assert!(adaptive(control) >= 0.9 * bh(control), "{control:?}");
    }
    for a in &arms {
        let fdr = mean(*a, &|r| r.adaptive.fdp());
        assert!(fdr <= 0.1, "{a:?}: FDR {fdr}");
    }
}
