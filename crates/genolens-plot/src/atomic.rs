//! Writing a PNG so that it appears whole or not at all.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Creates a temporary `.png` file next to `path`, lets `render` write the image
/// to the temporary file's path, then syncs it and renames it over `path`.
///
/// If `render` or any step fails, the temporary file is removed and `path` is
/// left as it was.
pub(crate) fn write_png_atomically<F>(path: &Path, render: F) -> Result<()>
where
    F: FnOnce(&Path) -> Result<()>,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // The suffix matters: the encoder picks the image format from the extension.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".genolens-plot-").suffix(".png");
    // Private (0600) by default; an image gets what the user's umask gives.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(path, e))?;
    render(tmp.path())?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
