//! Writing a PNG so that it appears whole or not at all.
//!
//! The same scheme as `genolens_io::AtomicFile` (this crate stays free of
//! the I/O crate's dependencies): on Linux an unnamed file (`O_TMPFILE`) in
//! the destination's directory, linked in under a hidden name and renamed
//! over the destination, so that even a process killed mid-write leaves
//! nothing; elsewhere a hidden named temporary file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes the encoded image `png` to `path`, atomically, with the
/// permissions the user's umask gives any new file.
pub(crate) fn write_png_atomically(path: &Path, png: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    #[cfg(target_os = "linux")]
    if let Some(written) = unnamed::write(&dir, path, png) {
        return written.map_err(|e| Error::io(path, e));
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".genolens-plot-").suffix(".png");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(path, e))?;
    tmp.write_all(png).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(target_os = "linux")]
mod unnamed {
    use std::fs::File;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    use rustix::fs::{AtFlags, Mode, OFlags, CWD};

    /// `None` where the directory's filesystem has no unnamed files or the
    /// file cannot be linked in (no `/proc`): the caller falls back.
    pub(super) fn write(dir: &Path, path: &Path, bytes: &[u8]) -> Option<std::io::Result<()>> {
        let fd = rustix::fs::openat(
            CWD,
            dir,
            OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        )
        .ok()?;
        let mut file = File::from(fd);
        if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
            return Some(Err(e));
        }
        let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let hidden = dir.join(format!(".genolens-plot-{}-{stamp}.png", std::process::id()));
        rustix::fs::linkat(CWD, proc.as_str(), CWD, &hidden, AtFlags::SYMLINK_FOLLOW).ok()?;
        Some(std::fs::rename(&hidden, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&hidden);
        }))
    }
}
