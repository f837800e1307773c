//! `genolens simulate`: a seeded cohort with population structure, written as a
//! PLINK fileset plus its population labels (what `plink2 --dummy` cannot give:
//! PCs with a known answer).

use std::fmt::Write as _;
use std::path::PathBuf;

use genolens::features::simulate::{CohortSpec, FamilyCohort, FamilySpec, SimulatedCohort};
use genolens::io::plink::write_bed_fileset;
use genolens::io::{AtomicFile, GenotypeSource};

use crate::commands::freq::with_suffix;
use crate::error::CliError;
use crate::progress;

/// Flags of `genolens simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of samples.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Number of variants (spread over chromosomes 1–22).
    #[arg(long, default_value_t = 10_000)]
    variants: usize,
    /// Number of populations (sizes proportional to 1, 2, …).
    #[arg(long, default_value_t = 6)]
    populations: usize,
    /// Differentiation of the most drifted population.
    #[arg(long, default_value_t = 0.05)]
    fst: f64,
    /// Probability that a call is missing.
    #[arg(long, default_value_t = 0.01)]
    missing_rate: f64,
    /// Seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Add relatives: pair the first 2·K samples as parents (within their
    /// population) and give each pair --children children (full siblings;
    /// parents in the .fam), written after the founders.
    #[arg(long, value_name = "K", default_value_t = 0)]
    families: usize,
    /// Children per family, with --families.
    #[arg(long, default_value_t = 2)]
    children: usize,
    /// Output prefix: OUT.bed/.bim/.fam and OUT.pop.tsv.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Writes the cohort.
pub fn run(args: Args) -> Result<(), CliError> {
    let cohort = SimulatedCohort::new(CohortSpec {
        samples: args.samples,
        variants: args.variants,
        populations: args.populations,
        fst: args.fst,
        missing_rate: args.missing_rate,
        seed: args.seed,
    })?;
    let families = (args.families > 0)
        .then(|| {
            FamilyCohort::new(
                cohort.clone(),
                FamilySpec {
                    families: args.families,
                    children: args.children,
                    seed: args.seed,
                },
            )
        })
        .transpose()?;
    let (source, population): (&dyn GenotypeSource, Box<dyn Fn(usize) -> usize>) = match &families {
        Some(f) => (f, Box::new(|i| f.population(i))),
        None => (&cohort, Box::new(|i| cohort.population(i))),
    };
    progress::over_variants(source.n_variants(), "simulating", |_| {
        write_bed_fileset(source, &args.out, 1024)
    })?;
    let mut text = String::from("FID\tIID\tpopulation\n");
    for (i, s) in source.samples().iter().enumerate() {
        let _ = writeln!(text, "{}\t{}\tpop{}", s.id.fid, s.id.iid, population(i) + 1);
    }
    let pop = with_suffix(&args.out, "pop.tsv");
    let mut f = AtomicFile::create(&pop)?;
    f.write_all(text.as_bytes())?;
    f.commit()?;
    eprintln!(
        "genolens: wrote {} samples x {} variants to {}.bed/.bim/.fam and {}",
        source.n_samples(),
        source.n_variants(),
        args.out.display(),
        pop.display()
    );
    Ok(())
}
