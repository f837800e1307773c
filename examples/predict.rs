//! Genomic prediction on bundled data: CIMMYT wheat grain yield (599 lines ×
//! 1,279 markers) by ridge regression, λ chosen by inner cross-validation, over
//! the data's own 10 folds (published GBLUP accuracy is about r = 0.5).
//!
//! Run with `cargo run --release --example predict`. The data is looked up in
//! `$GENOLENS_DATA`, else `../shared/data` beside the repository.

mod common;

use genolens::assoc::predict::{cross_validate, ModelKind, ModelSpec, Task};
use genolens::features::split::Folds;
use genolens::io::folds::{FoldAssignment, FoldFileOptions};
use genolens::io::plink::BedFile;
use genolens::io::report::format_g;
use genolens::io::table::{SampleTable, TableOptions};
use genolens::io::GenotypeSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = common::data_dir();
    // Genomic prediction: wheat grain yield (environment 1) by ridge regression,
    // λ chosen by inner cross-validation, over the data's own 10 folds.
    let wheat_dir = data.join("bglr_wheat");
    let wheat = BedFile::open(wheat_dir.join("wheat"))?;
    let ids: Vec<_> = wheat.samples().iter().map(|s| s.id.clone()).collect();
    let (yield_table, _) =
        SampleTable::read_phenotypes(wheat_dir.join("wheat.pheno"), &TableOptions::default())?
            .align(&ids)?;
    let yield1: Vec<f64> = yield_table.values.column(0).to_vec();
    let assignment = FoldAssignment::read(
        wheat_dir.join("wheat_Y.csv"),
        &FoldFileOptions::new("line_id", "cv_fold"),
    )?;
    let folds = Folds::from_assignment(wheat.samples(), &assignment)?;
    let cv = cross_validate(
        &wheat,
        &yield1,
        None,
        &folds,
        Task::Quantitative,
        &ModelSpec::new(ModelKind::Ridge),
    )?;
    let r: Vec<f64> = cv.folds.iter().map(|f| f.metrics[0]).collect();
    println!(
        "wheat yield (env 1), ridge over {} folds: mean Pearson r {} (published GBLUP level ~0.5)",
        r.len(),
        format_g(r.iter().sum::<f64>() / r.len() as f64, 3)
    );

    Ok(())
}
