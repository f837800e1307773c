//! The semi-synthetic fusion benchmark (`cargo xtask fusion-bench`): the
//! 1000 Genomes EUR subset (379 samples × 54,051 SNPs, chr 17–22, GRCh37),
//! glist-hg19 gene positions, a literature prior for "cancer" from BioRED
//! (train + dev + test) with NCBI-disease's disease names, and traits
//! simulated with known causal variants. Prints Markdown tables.
//!
//! Usage: `fusion-bench DATA_DIR [--replicates N] [--folds K] [--inner-folds K]
//! [--inner-repeats R] [--models lasso,ridge] [--no-prediction] [--transformer]
//! [--causal N] [--h2 H] [--arms 0:true,1:shuffled,…] [--query TEXT]
//! [--tf-tokens N --tf-width D --tf-epochs E --tf-lr LR]`. `--arms` picks
//! arms as `FRACTION:PRIOR` (PRIOR: true, shuffled or inverted; default the
//! five arms of docs/benchmarks.md).
//! `--attribution [--seeds S] [--epistasis-tokens K]` runs the attribution
//! benchmark instead.
//! `--checkpoint FILE` rewrites FILE with the table so far after every
//! replicate, so a long run that is interrupted still leaves its results.
//! `--transformer` adds the gene-token arm (the genotype
//! transformer without and with each token's gene score and 16-wide TF-IDF
//! literature embedding).

use std::path::PathBuf;
use std::time::Instant;

use genolens::assoc::predict::ModelKind;
use genolens::explain::benchmark::{
    attribution_markdown, attribution_replicate, causal_pools, run_replicate, summary_markdown,
    Arm, AttributionBench, BenchData, BenchOptions, PriorKind, TransformerArm,
};
use genolens::io::GenotypeSource;

use benches::fusion::FusionData;

fn main() {
    if let Err(e) = run() {
        eprintln!("fusion-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = PathBuf::from(
        args.first()
            .ok_or("usage: fusion-bench DATA_DIR [options]")?,
    );
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let mut options = BenchOptions::default();
    if let Some(n) = flag("--replicates") {
        options.replicates = n.parse()?;
    }
    if let Some(k) = flag("--folds") {
        options.folds = k.parse()?;
    }
    if let Some(k) = flag("--causal") {
        options.n_causal = k.parse()?;
    }
    if let Some(h) = flag("--h2") {
        options.heritability = h.parse()?;
    }
    if args.iter().any(|a| a == "--no-prediction") {
        options.folds = 0;
    }
    if let Some(list) = flag("--models") {
        options.models = list
            .split(',')
            .map(|m| ModelKind::from_name(m).ok_or(format!("unknown model {m}")))
            .collect::<Result<_, _>>()?;
    }
    if args.iter().any(|a| a == "--transformer") {
        let mut arm = TransformerArm::default();
        if let Some(v) = flag("--tf-tokens") {
            arm.max_variants = v.parse()?;
        }
        if let Some(v) = flag("--tf-width") {
            arm.d_model = v.parse()?;
        }
        if let Some(v) = flag("--tf-epochs") {
            arm.epochs = v.parse()?;
        }
        if let Some(v) = flag("--tf-lr") {
            arm.learning_rate = v.parse()?;
        }
        options.transformer = Some(arm);
    }
    if let Some(k) = flag("--inner-folds") {
        options.inner_folds = k.parse()?;
    }
    if let Some(k) = flag("--inner-repeats") {
        options.inner_repeats = k.parse()?;
    }
    let arms = match flag("--arms") {
        None => Arm::all(),
        Some(list) => list
            .split(',')
            .map(parse_arm)
            .collect::<Result<Vec<_>, _>>()?,
    };
    let query = flag("--query")
        .cloned()
        .unwrap_or_else(|| "cancer".to_string());

    let started = Instant::now();
    let FusionData {
        bed,
        map,
        priors,
        summary,
    } = FusionData::load(&data, &query, options.transformer.as_ref().map(|_| 16))?;
    let bench = BenchData {
        source: &bed,
        priors: &priors,
        map: &map,
    };
    let pools = causal_pools(&bench, &options)?;
    println!(
        "# Fusion benchmark\n\nEUR subset: {} samples × {} variants; prior for {query:?} from {} \
         BioRED abstracts ({} genes supported, disease ids [{}]); causal pools: {} common \
         variants near supported genes, {} elsewhere; {} causal variants per trait, h² = {}, \
         {} replicates, FDR {}; prediction: {} outer folds.\n",
        bed.n_samples(),
        bed.n_variants(),
        summary.documents,
        priors.n_supported(),
        summary.disease_ids.join(","),
        pools.linked.len(),
        pools.unlinked.len(),
        options.n_causal,
        options.heritability,
        options.replicates,
        options.alpha,
        options.folds
    );
    if args.iter().any(|a| a == "--attribution") {
        // The attribution benchmark alone (its own traits and models).
        let mut bench = AttributionBench {
            replicates: options.replicates,
            ..AttributionBench::default()
        };
        if let Some(k) = flag("--seeds") {
            bench.seeds = k.parse()?;
        }
        if let Some(k) = flag("--epistasis-tokens") {
            bench.epistasis_tokens = k.parse()?;
        }
        let mut results = Vec::new();
        for r in 0..bench.replicates {
            let t = Instant::now();
            results.push(attribution_replicate(&bed, &bench, r)?);
            checkpoint(flag("--checkpoint"), r + 1, &attribution_markdown(&results))?;
            eprintln!(
                "fusion-bench: attribution replicate {}/{} in {:.1} s",
                r + 1,
                bench.replicates,
                t.elapsed().as_secs_f64()
            );
        }
        println!(
            "## Attributions\n\n{} additive, {} dominant + {} recessive, {} interacting pairs per \
             trait (h² = {}), one MAF-matched null decoy per causal variant; models fitted on \
             all {} samples with {} seeds; transformer tokens: {} by GWAS + {} by the epistasis \
             scan; top 1 % = {} variants.\n",
            bench.additive,
            bench.dominance,
            bench.dominance,
            bench.pairs,
            bench.heritability,
            bed.n_samples(),
            bench.seeds,
            bench.transformer.max_variants,
            bench.epistasis_tokens,
            (bed.n_variants() as f64 * 0.01).ceil()
        );
        println!("{}", attribution_markdown(&results));
        println!("Total time {:.0} s.", started.elapsed().as_secs_f64());
        return Ok(());
    }
    let mut results = Vec::new();
    for r in 0..options.replicates {
        let t = Instant::now();
        results.extend(run_replicate(&bench, &pools, &arms, r, &options)?);
        checkpoint(
            flag("--checkpoint"),
            r + 1,
            &summary_markdown(&results, &options.models),
        )?;
        eprintln!(
            "fusion-bench: replicate {}/{} in {:.1} s",
            r + 1,
            options.replicates,
            t.elapsed().as_secs_f64()
        );
    }
    println!("{}", summary_markdown(&results, &options.models));
    println!("Total time {:.0} s.", started.elapsed().as_secs_f64());
    Ok(())
}

/// `0.5:true` → the arm with half the causal variants near linked genes and
/// the literature prior.
fn parse_arm(text: &str) -> Result<Arm, String> {
    let bad = || format!("--arms: {text:?} is not FRACTION:true|shuffled|inverted");
    let (fraction, prior) = text.split_once(':').ok_or_else(bad)?;
    let fraction: f64 = fraction.parse().map_err(|_| bad())?;
    if !(0.0..=1.0).contains(&fraction) {
        return Err(bad());
    }
    let prior = match prior {
        "true" => PriorKind::True,
        "shuffled" => PriorKind::Shuffled,
        "inverted" => PriorKind::Inverted,
        _ => return Err(bad()),
    };
    Ok(Arm { fraction, prior })
}

/// Writes the table after `done` replicates to `path` (temp file, then rename).
fn checkpoint(path: Option<&String>, done: usize, table: &str) -> std::io::Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, format!("After {done} replicates:\n\n{table}\n"))?;
    std::fs::rename(tmp, path)
}
