//! What the charts share: image size checks, text sizes, the palette and marker
//! shapes, the frame (title, legend panel), the axes and the PNG output.

use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::atomic::write_png_atomically;
use crate::axis;
use crate::error::{Error, Result};
use crate::font::{self, FAMILY};

/// The root drawing area of a chart being rendered.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// The error plotters reports while drawing on an [`Area`].
pub(crate) type DrawError =
    DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

/// Smallest accepted width or height, in pixels.
pub(crate) const MIN_SIDE: u32 = 200;
/// Largest accepted width or height, in pixels.
pub(crate) const MAX_SIDE: u32 = 8192;

/// Longest label drawn in a legend, in characters; longer ones are shortened.
const MAX_LEGEND_CHARS: usize = 40;

/// Checks an image size against [`MIN_SIDE`] and [`MAX_SIDE`].
pub(crate) fn check_size(path: &Path, (width, height): (u32, u32)) -> Result<()> {
    let ok = |side: u32| (MIN_SIDE..=MAX_SIDE).contains(&side);
    if ok(width) && ok(height) {
        Ok(())
    } else {
        Err(Error::invalid(
            path,
            format!(
                "image size {width}x{height} is outside {MIN_SIDE}..={MAX_SIDE} pixels per side"
            ),
        ))
    }
}

/// Renders an image of `size` pixels with `draw` and writes it to `path` as a
/// PNG, atomically.
pub(crate) fn render_png<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&Area<'_>) -> Result<(), DrawError>,
{
    if !font::ensure_registered() {
        return Err(Error::draw(path, "the bundled font could not be loaded"));
    }
    // Rendered and encoded in memory, then written in one piece.
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        draw(&root).map_err(|e| Error::draw(path, e))?;
        root.present().map_err(|e| Error::draw(path, e))?;
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &pixels,
        size.0,
        size.1,
        image::ColorType::Rgb8,
    )
    .map_err(|e| Error::draw(path, e))?;
    write_png_atomically(path, &png)
}

/// Text and marker sizes, scaled with the image so that large images stay legible.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale(f64);

impl Scale {
    pub(crate) fn for_size((width, height): (u32, u32)) -> Self {
        Scale((f64::from(width.min(height)) / 700.0).clamp(0.75, 4.0))
    }

    /// `base` pixels at the default size, scaled.
    pub(crate) fn px(self, base: f64) -> u32 {
        // The product is at most a few hundred, so the cast cannot truncate.
        (base * self.0).round().max(1.0) as u32
    }

    pub(crate) fn title(self) -> u32 {
        self.px(24.0)
    }
    pub(crate) fn axis_desc(self) -> u32 {
        self.px(17.0)
    }
    pub(crate) fn tick(self) -> u32 {
        self.px(14.0)
    }
    pub(crate) fn legend(self) -> u32 {
        self.px(15.0)
    }
    pub(crate) fn margin(self) -> u32 {
        self.px(12.0)
    }
}

/// Tableau's ten categorical colours (as in matplotlib's `tab10`).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `index`-th group or series; colours repeat after ten.
pub(crate) fn color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// A marker shape for scatter points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Circle,
    Triangle,
    Square,
    Diamond,
}

const SHAPES: [Shape; 4] = [
    Shape::Circle,
    Shape::Triangle,
    Shape::Square,
    Shape::Diamond,
];

/// The marker of the `index`-th group: the colour cycles first, then the shape,
/// so the first forty groups all look different.
pub(crate) fn group_style(index: usize) -> (Shape, RGBColor) {
    (SHAPES[(index / PALETTE.len()) % SHAPES.len()], color(index))
}

/// The vertices of a filled marker, as pixel offsets from its centre.
pub(crate) fn marker_outline(shape: Shape, radius: i32) -> Vec<(i32, i32)> {
    let r = radius;
    match shape {
        Shape::Circle => {
            // A 16-gon: at marker sizes it cannot be told from a circle.
            let rf = f64::from(r) + 0.5;
            (0..16)
                .map(|k| {
                    let a = f64::from(k) * std::f64::consts::TAU / 16.0;
                    // |offset| <= radius + 1, far inside i32.
                    ((rf * a.cos()).round() as i32, (rf * a.sin()).round() as i32)
                })
                .collect()
        }
        Shape::Triangle => {
            let r = r + 1;
            vec![(0, -r), (r, r - 1), (-r, r - 1)]
        }
        Shape::Square => vec![(-r, -r), (r, -r), (r, r), (-r, r)],
        Shape::Diamond => {
            let r = r + 1;
            vec![(0, -r), (r, 0), (0, r), (-r, 0)]
        }
    }
}

/// How an entry of a legend is drawn before its label.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    /// A scatter marker.
    Marker(Shape, RGBColor),
    /// A short line of a series (dashed when `true`).
    Line(RGBColor, bool),
    /// A filled block of a shaded band.
    Band(RGBColor),
}

/// The fill of confidence bands: a light grey the points stay visible on.
pub(crate) const BAND: RGBColor = RGBColor(215, 215, 215);

/// Draws a polyline in a [`crate::LineStyle`] (dashed or solid) on a chart.
pub(crate) fn draw_line<Y>(
    chart: &mut Chart<'_, '_, Y>,
    points: &[(f64, f64)],
    style: crate::LineStyle,
    width: u32,
) -> Result<(), DrawError>
where
    Y: Ranged<ValueType = f64>,
{
    if points.len() < 2 {
        return Ok(());
    }
    let colour = color(style.colour);
    if style.dashed {
        chart.draw_series(DashedLineSeries::new(
            points.iter().copied(),
            width * 3,
            width * 2,
            colour.stroke_width(width),
        ))?;
    } else {
        chart.draw_series(LineSeries::new(
            points.iter().copied(),
            colour.stroke_width(width),
        ))?;
    }
    Ok(())
}

/// One row of a legend.
#[derive(Debug, Clone)]
pub(crate) struct LegendEntry {
    pub(crate) label: String,
    pub(crate) swatch: Swatch,
}

/// Shortens a label to [`MAX_LEGEND_CHARS`] characters.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LEGEND_CHARS {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(MAX_LEGEND_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// Fills the image white, draws the title and, when `legend` is not empty, a
/// legend panel on the right. Returns the area left for the chart itself.
pub(crate) fn frame<'a>(
    root: &Area<'a>,
    scale: Scale,
    title: &str,
    legend: &[LegendEntry],
) -> Result<Area<'a>, DrawError> {
    root.fill(&WHITE)?;
    let m = scale.margin();
    let mut body = root.margin(m, m, m, m);
    if !title.is_empty() {
        body = body.titled(title, (FAMILY, scale.title()).into_font().color(&BLACK))?;
    }
    if legend.is_empty() {
        return Ok(body);
    }

    let text_style = TextStyle::from((FAMILY, scale.legend()).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let labels: Vec<String> = legend.iter().map(|e| shorten(&e.label)).collect();
    let mut text_w = 0u32;
    for label in &labels {
        text_w = text_w.max(body.estimate_text_size(label, &text_style)?.0);
    }

    let (body_w, body_h) = body.dim_in_pixel();
    let row_h = scale.px(24.0);
    let swatch_w = scale.px(22.0);
    let gap = scale.px(8.0);
    let top = scale.px(30.0);
    let rows = (body_h.saturating_sub(top) / row_h).max(1) as usize;
    let cols = legend.len().div_ceil(rows);
    let col_w = swatch_w + gap + text_w + scale.px(16.0);
    let cols_u32 = u32::try_from(cols).unwrap_or(u32::MAX);
    let legend_w = col_w
        .saturating_mul(cols_u32)
        .saturating_add(gap)
        .min(body_w / 2);

    let (chart, panel) = body.split_horizontally(body_w - legend_w);
    let radius = i32::try_from(scale.px(4.0)).unwrap_or(4);
    for (i, (entry, label)) in legend.iter().zip(&labels).enumerate() {
        let col = u32::try_from(i / rows).unwrap_or(u32::MAX);
        let row = u32::try_from(i % rows).unwrap_or(u32::MAX);
        let x0 = i32::try_from(gap.saturating_add(col.saturating_mul(col_w))).unwrap_or(i32::MAX);
        let y = i32::try_from(top.saturating_add(row * row_h)).unwrap_or(i32::MAX);
        let sw = i32::try_from(swatch_w).unwrap_or(0);
        match entry.swatch {
            Swatch::Marker(shape, color) => panel.draw(
                &(EmptyElement::at((x0 + sw / 2, y))
                    + Polygon::new(marker_outline(shape, radius), color.filled())),
            )?,
            Swatch::Line(color, false) => panel.draw(&PathElement::new(
                vec![(x0, y), (x0 + sw, y)],
                color.stroke_width(scale.px(3.0)),
            ))?,
            Swatch::Line(color, true) => {
                // Two dashes with a gap between them.
                let third = sw / 3;
                for start in [x0, x0 + 2 * third] {
                    panel.draw(&PathElement::new(
                        vec![(start, y), (start + third, y)],
                        color.stroke_width(scale.px(3.0)),
                    ))?;
                }
            }
            Swatch::Band(color) => {
                let half = i32::try_from(scale.px(6.0)).unwrap_or(6);
                panel.draw(&Rectangle::new(
                    [(x0, y - half), (x0 + sw, y + half)],
                    color.filled(),
                ))?;
            }
        }
        let text_x = x0 + sw + i32::try_from(gap).unwrap_or(0);
        panel.draw(&Text::new(label.clone(), (text_x, y), text_style.clone()))?;
    }
    Ok(chart)
}

/// A chart drawn on an [`Area`]: a linear x axis and the y axis `Y`.
pub(crate) type Chart<'a, 'b, Y> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;

/// Builds the chart on `area` and draws its axes, tick labels, grid and axis
/// labels (`labels.0` below the x axis, `labels.1` beside the y axis, none
/// when empty). The x ticks are labelled by [`axis::linear_tick_formatter`],
/// or, when `x_ticks` is given, only at those positions with those texts
/// (chromosome names on a Manhattan plot); the y ticks by `y_format`.
pub(crate) fn chart<'a, 'b, Y>(
    area: &'a Area<'b>,
    scale: Scale,
    x_range: Range<f64>,
    y: Y,
    labels: (&str, &str),
    y_format: &dyn Fn(&f64) -> String,
    x_ticks: Option<&[(f64, String)]>,
) -> Result<Chart<'a, 'b, Y>, DrawError>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_format = axis::linear_tick_formatter(&x_range);
    let (x0, x1) = (x_range.start, x_range.end);
    let mut chart = ChartBuilder::on(area)
        .margin(scale.margin())
        .x_label_area_size(scale.px(50.0))
        .y_label_area_size(scale.px(80.0))
        .build_cartesian_2d(x_range, y)?;
    {
        let mut mesh = chart.configure_mesh();
        mesh.label_style((FAMILY, scale.tick()))
            .axis_desc_style((FAMILY, scale.axis_desc()))
            .x_label_formatter(&x_format)
            .y_label_formatter(y_format)
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08));
        if x_ticks.is_some() {
            mesh.x_labels(0);
        }
        if !labels.0.is_empty() {
            mesh.x_desc(labels.0);
        }
        if !labels.1.is_empty() {
            mesh.y_desc(labels.1);
        }
        mesh.draw()?;
    }
    if let Some(ticks) = x_ticks {
        // Below the x axis: the y range's lower end maps onto it.
        let y_low = chart.y_range().start;
        let base = area.get_base_pixel();
        let style = TextStyle::from((FAMILY, scale.tick()).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        let drop = i32::try_from(scale.px(6.0)).unwrap_or(6);
        for (x, text) in ticks.iter().filter(|(x, _)| (x0..=x1).contains(x)) {
            let (px, py) = chart.backend_coord(&(*x, y_low));
            area.draw(&Text::new(
                text.clone(),
                (px - base.0, py - base.1 + drop),
                style.clone(),
            ))?;
        }
    }
    Ok(chart)
}

/// The builder methods every chart shares (title, axis labels, size), for types
/// with `title`, `x_label`, `y_label` and `size` fields.
macro_rules! frame_setters {
    () => {
        /// Sets the title drawn above the chart (none when empty).
        pub fn title(mut self, title: impl Into<String>) -> Self {
            self.title = title.into();
            self
        }

        /// Sets the label of the horizontal axis.
        pub fn x_label(mut self, label: impl Into<String>) -> Self {
            self.x_label = label.into();
            self
        }

        /// Sets the label of the vertical axis.
        pub fn y_label(mut self, label: impl Into<String>) -> Self {
            self.y_label = label.into();
            self
        }

        /// Sets the image size in pixels (default [`DEFAULT_SIZE`](crate::DEFAULT_SIZE)).
        /// Each side must be within [`MIN_SIDE`](crate::MIN_SIDE)..=
        /// [`MAX_SIDE`](crate::MAX_SIDE), or `write_png` fails.
        pub fn size(mut self, width: u32, height: u32) -> Self {
            self.size = (width, height);
            self
        }
    };
}
pub(crate) use frame_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_forty_groups_differ() {
        let styles: Vec<_> = (0..40).map(group_style).collect();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert!(a.0 != b.0 || a.1 != b.1);
            }
        }
    }

    #[test]
    fn long_labels_are_shortened() {
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).chars().count(), MAX_LEGEND_CHARS);
        assert_eq!(shorten("EUR"), "EUR");
    }
}
