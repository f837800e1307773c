//! How a study step reports progress: through a [`Progress`] the caller
//! gives (the CLI draws bars with it; a library user may ignore it).

/// Receives a step's stages and their counts. One stage runs at a time.
pub trait Progress: Sync {
    /// A stage starts: `what` over `total` items named `unit` (`None`: no
    /// natural count).
    fn start(&self, what: &str, total: Option<usize>, unit: &str);
    /// `done` items of the current stage are finished.
    fn set(&self, done: usize);
    /// The current stage is over.
    fn finish(&self);
    /// A note on what the current stage is doing now (e.g. an epoch's loss).
    fn message(&self, _text: &str) {}
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _what: &str, _total: Option<usize>, _unit: &str) {}
    fn set(&self, _done: usize) {}
    fn finish(&self) {}
}

/// Runs `work` as one stage of `total` items, handing it the callback the
/// layers take (`Fn(done)`).
pub fn stage<T>(
    progress: &dyn Progress,
    what: &str,
    total: usize,
    unit: &str,
    work: impl FnOnce(&(dyn Fn(usize) + Sync)) -> T,
) -> T {
    progress.start(what, Some(total), unit);
    let result = work(&|n| progress.set(n));
    progress.finish();
    result
}
