//! Output files that appear whole or not at all.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file being written: the bytes go to a temporary file in the destination's
/// directory, which is renamed over the destination by [`commit`](Self::commit).
/// Dropped without committing, the temporary file is removed, so a failed run
/// leaves no partial output behind.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    writer: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".genolens-").suffix(".tmp");
        // A temporary file is private (0600) by default; an output gets what
        // the user's umask gives any new file, as every Unix tool's does.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(&path, e))?;
        Ok(Self {
            path,
            writer: BufWriter::with_capacity(1 << 20, tmp),
        })
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes bytes, naming the destination in any error.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer
            .write_all(bytes)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let tmp = self
            .writer
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        tmp.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// Commits several files together: all are renamed into place only after every
/// one was written; if one rename fails, the files already renamed are removed.
pub fn commit_all(files: Vec<AtomicFile>) -> Result<()> {
    let mut done: Vec<PathBuf> = Vec::new();
    for f in files {
        let path = f.path.clone();
        if let Err(e) = f.commit() {
            for p in &done {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        done.push(path);
    }
    Ok(())
}

pub(crate) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io(path, e))
}

pub(crate) fn read_to_string(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::parse(path, line, "not valid UTF-8 text")
    })
}

/// Fills `buf` from `offset` of `file` (positional: threads may share the file).
#[cfg(unix)]
pub(crate) fn read_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
        .map_err(|e| Error::io(path, e))
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, path: &Path, mut buf: &mut [u8], mut offset: u64) -> Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file
            .seek_read(buf, offset)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Err(Error::io(
                path,
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            ));
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}
