//! Output files that appear whole or not at all.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file being written. On Linux the bytes go to an unnamed file
/// (`O_TMPFILE`) in the destination's directory, which [`commit`](Self::commit)
/// links in under a hidden name and renames over the destination: a process
/// killed before that (even by `SIGKILL`) leaves nothing behind. Elsewhere,
/// or on a filesystem without unnamed files, a hidden named temporary file
/// takes its place, removed when dropped. Either way a failed run leaves no
/// partial output.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    writer: BufWriter<Pending>,
}

/// Where the bytes go until the commit.
#[derive(Debug)]
enum Pending {
    /// An unnamed file in `dir` (Linux).
    #[cfg(target_os = "linux")]
    Unnamed { file: File, dir: PathBuf },
    /// A hidden named temporary file.
    Named(NamedTempFile),
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            #[cfg(target_os = "linux")]
            Pending::Unnamed { file, .. } => file.write(buf),
            Pending::Named(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Pending::Unnamed { file, .. } => file.flush(),
            Pending::Named(f) => f.flush(),
        }
    }
}

/// A hidden named temporary file in `dir`, with the permissions the user's
/// umask gives any new file (a temporary file is 0600 by default).
fn named_temp(dir: &Path) -> std::io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".genolens-").suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(dir)
}

/// An unnamed file in `dir`, or `None` where the filesystem has none.
#[cfg(target_os = "linux")]
fn unnamed_in(dir: &Path) -> Option<File> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::openat(
        rustix::fs::CWD,
        dir,
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )
    .ok()
    .map(File::from)
}

/// Gives the unnamed `file` the name `path`: linked into `dir` under a
/// hidden name through `/proc/self/fd`, then renamed over `path`. Where the
/// link is impossible (no `/proc`), the bytes are copied to a named
/// temporary file instead.
#[cfg(target_os = "linux")]
fn name_unnamed(mut file: File, dir: &Path, path: &Path) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    use std::os::fd::AsRawFd;
    file.sync_all()?;
    let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    for attempt in 0..8 {
        let hidden = dir.join(format!(
            ".genolens-{}-{stamp}-{attempt}.tmp",
            std::process::id()
        ));
        match rustix::fs::linkat(
            rustix::fs::CWD,
            proc.as_str(),
            rustix::fs::CWD,
            &hidden,
            rustix::fs::AtFlags::SYMLINK_FOLLOW,
        ) {
            Ok(()) => {
                return std::fs::rename(&hidden, path).inspect_err(|_| {
                    let _ = std::fs::remove_file(&hidden);
                });
            }
            Err(e) if e == rustix::io::Errno::EXIST => continue,
            Err(_) => break,
        }
    }
    let mut named = named_temp(dir)?;
    file.seek(SeekFrom::Start(0))?;
    std::io::copy(&mut file, named.as_file_mut())?;
    named.as_file().sync_all()?;
    named.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl AtomicFile {
    /// Starts writing `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        #[cfg(target_os = "linux")]
        if let Some(file) = unnamed_in(&dir) {
            return Ok(Self {
                path,
                writer: BufWriter::with_capacity(1 << 20, Pending::Unnamed { file, dir }),
            });
        }
        let tmp = named_temp(&dir).map_err(|e| Error::io(&path, e))?;
        Ok(Self {
            path,
            writer: BufWriter::with_capacity(1 << 20, Pending::Named(tmp)),
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
        let pending = self
            .writer
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        match pending {
            #[cfg(target_os = "linux")]
            Pending::Unnamed { file, dir } => {
                name_unnamed(file, &dir, &path).map_err(|e| Error::io(&path, e))
            }
            Pending::Named(tmp) => {
                tmp.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
                tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
                Ok(())
            }
        }
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

/// Reads a text file, without the byte-order mark some Windows editors put
/// first (it would otherwise stick to the first column name).
pub(crate) fn read_to_string(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    text_from_bytes(path, bytes)
}

/// The text of `path`'s (possibly decompressed) `bytes`: without a leading
/// byte-order mark, and an error naming the line where UTF-8 breaks.
pub(crate) fn text_from_bytes(path: &Path, mut bytes: Vec<u8>) -> Result<String> {
    if bytes.starts_with(&[0xef, 0xbb, 0xbf]) {
        bytes.drain(..3);
    }
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
