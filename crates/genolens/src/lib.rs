//! genolens: from genotypes and biomedical literature to associations,
//! predictions and explanations.
//!
//! This facade re-exports the layer crates, so that an application can depend
//! on one crate and a library author can depend on just the layer it needs. Its
//! one piece of own logic is [`study`]: each analysis as one call with typed
//! options and outcome, which the CLI commands and the pipeline share.
//!
//! | module | crate | what it owns |
//! |---|---|---|
//! | [`io`] | `genolens-io` | every file format: PLINK, VCF, tables, gene maps, corpora, sumstats |
//! | [`features`] | `genolens-features` | QC, scaling, LD pruning, PCA, encodings, splits |
//! | [`assoc`] | `genolens-assoc` | GWAS scans and classical predictors |
//! | [`transformer`] | `genolens-transformer` | the burn genotype transformer |
//! | [`text`] | `genolens-text` | literature mining |
//! | [`explain`] | `genolens-explain` | attributions, evidence, reports |
//! | [`plot`] | `genolens-plot` | PNG charts (scatter, line) from plain values |
//! | [`study`] | this crate | study steps over the layers: options in, files and outcome out |
//!
//! ```no_run
//! use genolens::io::{plink::BedFile, GenotypeSource};
//!
//! # fn main() -> Result<(), genolens::io::Error> {
//! let bed = BedFile::open("cohort")?;
//! let block = bed.read_block(0..100)?;
//! println!("{} samples x {} variants", block.n_samples(), block.n_variants());
//! # Ok(())
//! # }
//! ```

mod error;
pub mod pipeline;
pub mod study;

pub use error::{Error, Result};
pub use genolens_assoc as assoc;
pub use genolens_explain as explain;
pub use genolens_features as features;
pub use genolens_io as io;
pub use genolens_plot as plot;
pub use genolens_text as text;
pub use genolens_transformer as transformer;
pub use pipeline::{Pipeline, StudyReport};
