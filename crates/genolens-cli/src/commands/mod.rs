//! One module per subcommand.

pub mod clump;
pub mod convert;
pub mod epistasis;
pub mod explain;
pub mod fdr;
pub mod freq;
pub mod gwas;
pub mod info;
pub mod literature;
pub mod merge;
pub mod pca;
pub mod predict;
pub mod prior;
pub mod qc;
pub mod relatedness;
pub mod run;
pub mod runlog;
pub mod simulate;
pub mod text_train;
pub mod train;
