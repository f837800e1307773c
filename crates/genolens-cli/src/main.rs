//! The `genolens` command-line tool. Flags reuse PLINK 2's names wherever PLINK 2
//! has the concept (`--bfile`, `--vcf`, `--out`, `--threads`, ...).

mod commands;
mod error;
mod input;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// mimalloc keeps the large blocks of a training step mapped; glibc's
/// allocator returned and re-faulted them every step (an eighth of the
/// transformer's CPU training time in page faults; docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// genolens: genotypes and literature to associations, predictions and explanations.
#[derive(Debug, Parser)]
#[command(name = "genolens", version, about, long_about = None)]
struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print sample, variant and chromosome counts and the missing-call rate.
    Info(commands::info::Args),
    /// Write allele frequencies (`OUT.afreq`) like `plink2 --freq`.
    Freq(commands::freq::Args),
    /// Convert genotypes, e.g. a VCF to a PLINK binary fileset (`--make-bed`).
    Convert(commands::convert::Args),
    /// QC reports (--freq, --hardy, --missing, --het), the --mind/--geno/--hwe/--maf
    /// filters, LD pruning (--indep-pairwise) and --make-bed, as PLINK 2 does them.
    Qc(commands::qc::Args),
    /// Principal components (exact or --approx), PLINK 2's .eigenvec/.eigenval, and
    /// a PC1/PC2 plot.
    Pca(commands::pca::Args),
    /// Relatedness: KING-robust kinship (--make-king-table), the unrelated set of
    /// --king-cutoff, and the relationship matrix (--make-grm), as PLINK 2.
    Relatedness(commands::relatedness::Args),
    /// Per-variant association as plink2 --glm: linear for quantitative traits,
    /// logistic (Firth fallback) or the score test for case/control traits.
    Gwas(commands::gwas::Args),
    /// Prior-weighted multiple testing (weighted Benjamini-Hochberg and
    /// Bonferroni) of an association report from any tool.
    Fdr(commands::fdr::Args),
    /// Join the .glm.* results of a sharded run (per chromosome or range) into
    /// one, with lambda GC, Bonferroni/BH counts and plots over all variants.
    Merge(commands::merge::Args),
    /// Clump an association report into lead variants by LD, as plink1.9 --clump.
    Clump(commands::clump::Args),
    /// Test every pair of variants for an interaction effect on a quantitative
    /// trait, as plink1.9 --epistasis.
    Epistasis(commands::epistasis::Args),
    /// Predict a phenotype from genotypes: cross-validated metrics and
    /// predictions, a picture, and a saved model.
    Predict(commands::predict::Args),
    /// Train the genotype transformer: cross-validated held-out predictions,
    /// per-epoch metrics and checkpoints, a loss curve, and a final model.
    Train(commands::train::TrainArgs),
    /// Apply a saved model to genotypes.
    Score(commands::predict::ScoreArgs),
    /// Explain a saved model: the variants and genes that drive its
    /// predictions (cohort and per person) and the sentences behind each gene.
    Explain(commands::explain::Args),
    /// Mine abstracts: gene, disease and variant mentions, gene profiles for a
    /// trait with evidence sentences, BM25 and dense retrieval, embeddings.
    Literature(commands::literature::Args),
    /// Fine-tune the pretrained language model into a mention tagger (genes,
    /// diseases, variants), fully or with LoRA.
    TextTrain(commands::text_train::Args),
    /// A gene prior for a trait from the literature (or a table of gene
    /// scores): scores in [0, 1], evidence sentences, gene embeddings.
    Prior(commands::prior::Args),
    /// Run a whole study from a TOML configuration into one output directory
    /// and a self-contained HTML report; unchanged steps are skipped on rerun.
    Run(commands::run::Args),
    /// Re-render the HTML report of a study's output directory.
    Report(commands::run::ReportArgs),
    /// Write a seeded cohort with population structure as a PLINK fileset.
    Simulate(commands::simulate::Args),
}

fn run(cli: Cli) -> Result<(), CliError> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = cli.threads {
        if n == 0 {
            return Err(CliError::Usage("--threads must be at least 1".into()));
        }
        pool = pool.num_threads(n);
    }
    let pool = pool.build().map_err(|e| {
        CliError::Usage(format!(
            "cannot start {} threads: {e}",
            cli.threads.unwrap_or(0)
        ))
    })?;
    pool.install(|| match cli.command {
        Command::Info(a) => commands::info::run(a),
        Command::Freq(a) => commands::freq::run(a),
        Command::Convert(a) => commands::convert::run(a),
        Command::Qc(a) => commands::qc::run(a),
        Command::Pca(a) => commands::pca::run(a),
        Command::Relatedness(a) => commands::relatedness::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Report(a) => commands::run::report(a),
        Command::Simulate(a) => commands::simulate::run(a),
        Command::Gwas(a) => commands::gwas::run(a),
        Command::Clump(a) => commands::clump::run(a),
        Command::Epistasis(a) => commands::epistasis::run(a),
        Command::Fdr(a) => commands::fdr::run(a),
        Command::Merge(a) => commands::merge::run(a),
        Command::Explain(a) => commands::explain::run(a),
        Command::Predict(a) => commands::predict::run(a),
        Command::Score(a) => commands::predict::score(a),
        Command::Train(a) => commands::train::run(a),
        Command::Literature(a) => commands::literature::run(a),
        Command::Prior(a) => commands::prior::run(a),
        Command::TextTrain(a) => commands::text_train::run(a),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, so scripts can log it.
            let msg = e.to_string().replace('\n', " ");
            eprintln!("genolens: error: {msg}");
            ExitCode::FAILURE
        }
    }
}
