//! Folds from the BGLR wheat `cv_fold` column, aligned to the wheat fileset's
//! samples.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use genolens_features::split::Folds;
use genolens_io::folds::{FoldAssignment, FoldFileOptions};
use genolens_io::plink::BedFile;
use genolens_io::GenotypeSource;

fn data(rel: &str) -> PathBuf {
    std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join(rel)
}

#[test]
fn wheat_folds_align_to_the_fam_samples() {
    let bed = BedFile::open(data("bglr_wheat/wheat")).unwrap();
    let assignment = FoldAssignment::read(
        data("bglr_wheat/wheat_Y.csv"),
        &FoldFileOptions::new("line_id", "cv_fold"),
    )
    .unwrap();
    let folds = Folds::from_assignment(bed.samples(), &assignment).unwrap();
    assert_eq!(folds.n_samples(), 599);
    assert_eq!(folds.n_folds(), 10);

    // The file's folds are 1..=10, so 0-based fold f is file fold f + 1.
    let file_fold: HashMap<&str, i64> = assignment
        .entries()
        .iter()
        .map(|e| (e.iid.as_str(), e.fold))
        .collect();
    for (i, s) in bed.samples().iter().enumerate() {
        let want = file_fold[s.id.iid.as_str()];
        assert_eq!(
            folds.fold_of(i).map(|f| f as i64 + 1),
            Some(want),
            "sample {}",
            s.id
        );
    }
    assert_eq!(folds.sizes(), [57, 50, 61, 73, 52, 68, 51, 64, 63, 60]);
}
