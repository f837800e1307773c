//! Progress bars. Only the CLI draws them; libraries report through a callback.

use std::sync::Mutex;

use genolens::pipeline::{PipelineProgress, StepStatus};
use genolens::study::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The study steps' progress as bars on stderr, one stage at a time.
#[derive(Debug, Default)]
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Bars {
    fn start(&self, what: &str, total: Option<usize>, unit: &str) {
        let bar = match total {
            Some(total) => counted(total, what, unit),
            None => ticking(what),
        };
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn set(&self, done: usize) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.set_position(done as u64);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }

    fn message(&self, text: &str) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.set_message(text.to_string());
            }
        }
    }
}

/// A bar over `total` variants on stderr; it hides itself when stderr is not a
/// terminal, so logs and pipes stay clean.
pub fn variants(total: usize, what: &str) -> ProgressBar {
    counted(total, what, "variants")
}

/// A bar over `total` items named `unit` on stderr (hidden when stderr is not
/// a terminal).
pub fn counted(total: usize, what: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    let template = format!("{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}})");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

impl PipelineProgress for Bars {
    fn step_done(&self, step: &str, status: StepStatus, wall_s: f64) {
        match status {
            StepStatus::Ran => eprintln!("genolens: {step}: done in {wall_s:.1} s"),
            StepStatus::Skipped => eprintln!(
                "genolens: {step}: inputs, options and version unchanged; kept the outputs of \
                 its last run ({wall_s:.1} s)"
            ),
        }
    }
}

/// Runs `work` with a progress callback drawn as a bar over `total` variants, and
/// clears the bar when it returns.
pub fn over_variants<T>(
    total: usize,
    what: &str,
    work: impl FnOnce(&(dyn Fn(usize) + Sync)) -> T,
) -> T {
    let bar = variants(total, what);
    let result = work(&|n| bar.set_position(n as u64));
    bar.finish_and_clear();
    result
}

/// Runs `work` with a progress callback drawn as a bar over `total` items named
/// `unit`, and clears the bar when it returns.
pub fn over_items<T>(
    total: usize,
    what: &str,
    unit: &str,
    work: impl FnOnce(&dyn Fn(usize)) -> T,
) -> T {
    let bar = counted(total, what, unit);
    let result = work(&|n| bar.set_position(n as u64));
    bar.finish_and_clear();
    result
}

/// A spinner with elapsed time on stderr (hidden when stderr is not a terminal).
fn ticking(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
