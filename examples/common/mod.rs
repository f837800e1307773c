//! What the examples share: where the bundled data is and where to write.

// Each example compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;

/// The bundled data: `$GENOLENS_DATA`, else `../shared/data` beside the
/// repository.
pub fn data_dir() -> PathBuf {
    std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

/// The output directory: the first argument, else `genolens-NAME` in the
/// temporary directory; created if missing.
pub fn out_dir(name: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("genolens-{name}")));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
