//! `genolens clump`, and the `--clump` thresholds `genolens gwas` shares.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use genolens::assoc::clump::ClumpOptions;
use genolens::io::clumped::read_report_p_values;
use genolens::study::clump::clump_to_file;

use crate::commands::freq::with_suffix;
use crate::commands::runlog::{finish, log_header};
use crate::error::CliError;
use crate::input::InputArgs;

/// PLINK 1.9's `--clump` thresholds.
#[derive(Debug, Clone, clap::Args)]
pub struct ClumpArgs {
    /// Index variants need p ≤ this.
    #[arg(long, value_name = "P", default_value_t = 1e-4)]
    clump_p1: f64,
    /// Members are listed (SP2) when p < this.
    #[arg(long, value_name = "P", default_value_t = 0.01)]
    clump_p2: f64,
    /// Members need |r²| above this with the index (phased r², founders).
    #[arg(long, value_name = "R2", default_value_t = 0.5)]
    clump_r2: f64,
    /// Window radius in kb.
    #[arg(long, value_name = "KB", default_value_t = 250.0)]
    clump_kb: f64,
}

impl ClumpArgs {
    /// The thresholds as the library takes them.
    pub fn options(&self) -> ClumpOptions {
        ClumpOptions {
            p1: self.clump_p1,
            p2: self.clump_p2,
            r2: self.clump_r2,
            kb: self.clump_kb,
        }
    }
}

/// Flags of `genolens clump`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Association report to clump (PLINK 1.9 `.assoc`/`.qassoc`, PLINK 2 `.glm.*`,
    /// or any whitespace-separated table with a header).
    #[arg(long, value_name = "FILE")]
    clump: PathBuf,
    /// Variant ID column(s), the first present wins.
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        default_value = "SNP,ID"
    )]
    clump_snp_field: Vec<String>,
    /// p-value column.
    #[arg(long, value_name = "NAME", default_value = "P")]
    clump_field: String,
    #[command(flatten)]
    thresholds: ClumpArgs,
    /// Output prefix: writes `OUT.clumped` and `OUT.log`.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

/// Clumps a report file against the genotypes.
pub fn run(args: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let source = args.input.open()?;
    let mut log = log_header("clump", source.as_ref());
    let fields: Vec<&str> = args.clump_snp_field.iter().map(String::as_str).collect();
    let reported = read_report_p_values(&args.clump, &fields, &args.clump_field)?;
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (v, variant) in source.variants().iter().enumerate() {
        index.entry(variant.id.as_str()).or_insert(v);
    }
    let mut p_values = vec![f64::NAN; source.n_variants()];
    let options = args.thresholds.options();
    let mut absent_top = Vec::new();
    for r in &reported {
        match index.get(r.id.as_str()) {
            // A variant reported twice keeps its smallest p, as in PLINK 1.9.
            Some(&v) => p_values[v] = p_values[v].min(r.p),
            None if r.p <= options.p1 => absent_top.push(r.id.as_str()),
            None => {}
        }
    }
    let _ = writeln!(
        log,
        "--clump {}: {} p-values read, {} on variants of the genotypes",
        args.clump.display(),
        reported.len(),
        p_values.iter().filter(|p| !p.is_nan()).count()
    );
    for id in absent_top {
        let _ = writeln!(
            log,
            "warning: '{id}' is missing from the genotypes, and is a top variant"
        );
    }
    let path = with_suffix(&args.out, "clumped");
    let summary = clump_to_file(source.as_ref(), &p_values, &options, &path)?;
    let _ = writeln!(log, "{}", summary.log_line());
    finish(log, vec![path], &args.out, started)
}
