//! The bundled font, registered once with plotters' ab_glyph font table.
//!
//! plotters built with `ab_glyph` has no system fonts: every family it draws
//! must be registered first. DejaVu Sans (see `assets/DejaVuSans-LICENSE.txt`)
//! is registered as `"sans-serif"`, the family plotters uses for its own
//! defaults (tick labels, captions), so every text drawn here uses it.

use std::sync::OnceLock;

use plotters::style::FontStyle;

/// The family name the bundled font is registered under.
pub(crate) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the bundled font on first use; returns whether it is available.
pub(crate) fn ensure_registered() -> bool {
    *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok()
    })
}
