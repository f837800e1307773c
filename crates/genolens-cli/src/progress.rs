//! Progress bars. Only the CLI draws them; libraries report through a callback.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

/// Runs `work` under a ticking spinner with elapsed time (for steps without a
/// natural count), and clears it when it returns.
pub fn spinner<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = work();
    bar.finish_and_clear();
    result
}
