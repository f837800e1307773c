//! Scatter plots of points coloured by group, such as PC1 against PC2 coloured
//! by population.

use std::collections::HashMap;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis;
use crate::error::{Error, Result};
use crate::render::{self, LegendEntry, Scale, Swatch, BAND};
use crate::LineStyle;
use crate::{PlotSummary, DEFAULT_SIZE};

/// A scatter plot of `(x, y)` points, each in a named group.
///
/// Groups are told apart by colour (ten colours), then by marker shape (circle,
/// triangle, square, diamond), so the first forty groups all look different.
/// Groups are styled and listed in the legend in the order they first appear.
/// The legend is left out when every point is in one group with an empty name.
///
/// Points are drawn in the order given, so later points cover earlier ones.
/// Points with a NaN or infinite coordinate are skipped and counted in the
/// [`PlotSummary`] returned by [`write_png`](Self::write_png).
///
/// ```no_run
/// use genolens_plot::ScatterPlot;
///
/// let pc1 = [0.12, 0.10, -0.08, -0.11];
/// let pc2 = [0.02, -0.01, 0.09, 0.07];
/// let population = ["EUR", "EUR", "AFR", "AFR"];
/// let summary = ScatterPlot::new()
///     .title("PCA")
///     .x_label("PC1")
///     .y_label("PC2")
///     .columns(&pc1, &pc2, &population)
///     .write_png("pca.png")?;
/// assert_eq!(summary.drawn, 4);
/// # Ok::<(), genolens_plot::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScatterPlot {
    title: String,
    x_label: String,
    y_label: String,
    size: (u32, u32),
    /// Group names, in order of first appearance.
    groups: Vec<String>,
    group_index: HashMap<String, usize>,
    /// `(x, y, index into groups)`.
    points: Vec<(f64, f64, usize)>,
    /// An input error found while building, reported by `write_png`.
    problem: Option<String>,
    /// Draw the legend (when there is more than one group).
    legend: bool,
    /// Text labels drawn at data coordinates: `(x, y, text)`.
    labels: Vec<(f64, f64, String)>,
    /// Tick labels replacing the numeric x axis: `(x, text)`.
    x_ticks: Option<Vec<(f64, String)>>,
    /// Horizontal reference lines: `(y, legend label, style)`.
    hlines: Vec<(f64, String, LineStyle)>,
    /// Lines drawn over the points.
    lines: Vec<Overlay>,
    /// Shaded bands drawn under the points.
    bands: Vec<Band>,
}

/// A line over the points: legend label, points, style.
type Overlay = (String, Vec<(f64, f64)>, LineStyle);
/// A band under the points: legend label, `(x, low, high)` by increasing x.
type Band = (String, Vec<(f64, f64, f64)>);

impl Default for ScatterPlot {
    fn default() -> Self {
        Self::new()
    }
}

impl ScatterPlot {
    /// An empty plot of [`DEFAULT_SIZE`] with no title or axis labels.
    pub fn new() -> Self {
        ScatterPlot {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            size: DEFAULT_SIZE,
            groups: Vec::new(),
            group_index: HashMap::new(),
            points: Vec::new(),
            problem: None,
            legend: true,
            labels: Vec::new(),
            x_ticks: None,
            hlines: Vec::new(),
            lines: Vec::new(),
            bands: Vec::new(),
        }
    }

    /// Labels the x axis only at `ticks` (`(x, text)`), instead of numbers:
    /// chromosome names at the middle of each chromosome on a Manhattan plot.
    pub fn x_ticks(mut self, ticks: Vec<(f64, String)>) -> Self {
        self.x_ticks = Some(ticks);
        self
    }

    /// A horizontal line across the plot at `y` (a significance threshold),
    /// listed in the legend as `label`; the y axis stretches to show it.
    pub fn hline(mut self, y: f64, label: impl Into<String>, style: LineStyle) -> Self {
        self.hlines.push((y, label.into(), style));
        self
    }

    /// A line through `points`, drawn over the scatter (the diagonal of a QQ
    /// plot) and listed in the legend as `label`.
    pub fn line<I>(mut self, label: impl Into<String>, points: I, style: LineStyle) -> Self
    where
        I: IntoIterator<Item = (f64, f64)>,
    {
        self.lines
            .push((label.into(), points.into_iter().collect(), style));
        self
    }

    /// A grey band between `low` and `high` along x (`(x, low, high)`, by
    /// increasing x), drawn under the points: a confidence band.
    pub fn band<I>(mut self, label: impl Into<String>, points: I) -> Self
    where
        I: IntoIterator<Item = (f64, f64, f64)>,
    {
        self.bands
            .push((label.into(), points.into_iter().collect()));
        self
    }

    crate::render::frame_setters!();

    /// Draws the legend of groups (default), or not: groups that only alternate
    /// colours, such as chromosomes on a Manhattan plot, need none.
    pub fn legend(mut self, show: bool) -> Self {
        self.legend = show;
        self
    }

    /// Writes `text` just above and right of the data point `(x, y)` (for
    /// naming the top genes on a Manhattan-style plot). Labels with a
    /// non-finite coordinate are not drawn.
    pub fn label(mut self, x: f64, y: f64, text: impl Into<String>) -> Self {
        self.labels.push((x, y, text.into()));
        self
    }

    /// Adds one point in `group`.
    pub fn point(mut self, x: f64, y: f64, group: impl AsRef<str>) -> Self {
        self.push(x, y, group.as_ref());
        self
    }

    /// Adds points given as `(x, y, group)`.
    pub fn points<I, S>(mut self, points: I) -> Self
    where
        I: IntoIterator<Item = (f64, f64, S)>,
        S: AsRef<str>,
    {
        for (x, y, group) in points {
            self.push(x, y, group.as_ref());
        }
        self
    }

    /// Adds points given as columns: point `i` is `(xs[i], ys[i])` in group
    /// `groups[i]`. If the three lengths differ, no point is added and
    /// [`write_png`](Self::write_png) fails with [`Error::InvalidInput`].
    pub fn columns<S: AsRef<str>>(mut self, xs: &[f64], ys: &[f64], groups: &[S]) -> Self {
        if xs.len() != ys.len() || xs.len() != groups.len() {
            self.problem.get_or_insert_with(|| {
                format!(
                    "point columns have different lengths: {} x values, {} y values, {} groups",
                    xs.len(),
                    ys.len(),
                    groups.len()
                )
            });
            return self;
        }
        for ((&x, &y), group) in xs.iter().zip(ys).zip(groups) {
            self.push(x, y, group.as_ref());
        }
        self
    }

    fn push(&mut self, x: f64, y: f64, group: &str) {
        let index = match self.group_index.get(group) {
            Some(&i) => i,
            None => {
                let i = self.groups.len();
                self.groups.push(group.to_string());
                self.group_index.insert(group.to_string(), i);
                i
            }
        };
        self.points.push((x, y, index));
    }

    /// Renders the plot and writes it to `path` as a PNG.
    ///
    /// The file is written to a temporary file in the same directory and
    /// renamed into place, so on any error no file is left at `path` (an
    /// existing file there is kept as it was). The same plot always gives the
    /// same bytes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when there are no points, when no point has
    /// finite coordinates, when [`columns`](Self::columns) got columns of
    /// different lengths, or when the size is out of range;
    /// [`Error::Io`] when the file cannot be created or renamed;
    /// [`Error::Draw`] when rendering or encoding fails.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<PlotSummary> {
        let path = path.as_ref();
        if let Some(problem) = &self.problem {
            return Err(Error::invalid(path, problem.clone()));
        }
        render::check_size(path, self.size)?;
        if self.points.is_empty() {
            return Err(Error::invalid(path, "no points to plot"));
        }
        let finite = |&&(x, y, _): &&(f64, f64, usize)| x.is_finite() && y.is_finite();
        let drawn = self.points.iter().filter(finite).count();
        let summary = PlotSummary {
            drawn,
            skipped: self.points.len() - drawn,
        };
        if drawn == 0 {
            return Err(Error::invalid(
                path,
                format!(
                    "all {} points have a NaN or infinite coordinate",
                    self.points.len()
                ),
            ));
        }
        let xs = self.points.iter().filter(finite).map(|p| p.0).chain(
            self.lines
                .iter()
                .flat_map(|l| l.1.iter().map(|p| p.0))
                .chain(self.bands.iter().flat_map(|b| b.1.iter().map(|p| p.0)))
                .filter(|x| x.is_finite()),
        );
        let ys = self.points.iter().filter(finite).map(|p| p.1).chain(
            self.hlines
                .iter()
                .map(|h| h.0)
                .chain(self.lines.iter().flat_map(|l| l.1.iter().map(|p| p.1)))
                .chain(
                    self.bands
                        .iter()
                        .flat_map(|b| b.1.iter().flat_map(|p| [p.1, p.2])),
                )
                .filter(|y| y.is_finite()),
        );
        let ranges = axis::extent(xs)
            .zip(axis::extent(ys))
            .and_then(|((x0, x1), (y0, y1))| {
                axis::linear_range(x0, x1).zip(axis::linear_range(y0, y1))
            });
        let Some((x_range, y_range)) = ranges else {
            return Err(Error::invalid(path, "the data range is too wide to plot"));
        };

        let show_legend = self.legend && !(self.groups.len() == 1 && self.groups[0].is_empty());
        let mut legend: Vec<LegendEntry> = if show_legend {
            self.groups
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let (shape, color) = render::group_style(i);
                    LegendEntry {
                        label: name.clone(),
                        swatch: Swatch::Marker(shape, color),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        // Lines and bands are listed even when the groups are not.
        legend.extend(
            self.lines
                .iter()
                .map(|(label, _, style)| (label, style))
                .chain(self.hlines.iter().map(|(_, label, style)| (label, style)))
                .filter(|(label, _)| !label.is_empty())
                .map(|(label, style)| LegendEntry {
                    label: label.clone(),
                    swatch: Swatch::Line(render::color(style.colour), style.dashed),
                }),
        );
        legend.extend(
            self.bands
                .iter()
                .filter(|(label, _)| !label.is_empty())
                .map(|(label, _)| LegendEntry {
                    label: label.clone(),
                    swatch: Swatch::Band(BAND),
                }),
        );
        let scale = Scale::for_size(self.size);
        let radius = i32::try_from(scale.px(4.0)).unwrap_or(4);
        let outlines: Vec<Vec<(i32, i32)>> = (0..self.groups.len())
            .map(|i| render::marker_outline(render::group_style(i).0, radius))
            .collect();

        render::render_png(path, self.size, |root| {
            let area = render::frame(root, scale, &self.title, &legend)?;
            let y_format = axis::linear_tick_formatter(&y_range);
            let y: RangedCoordf64 = y_range.into();
            let labels = (self.x_label.as_str(), self.y_label.as_str());
            let (x_lo, x_hi) = (x_range.start, x_range.end);
            let mut chart = render::chart(
                &area,
                scale,
                x_range,
                y,
                labels,
                &y_format,
                self.x_ticks.as_deref(),
            )?;
            for (_, band) in &self.bands {
                let outline: Vec<(f64, f64)> = band
                    .iter()
                    .map(|p| (p.0, p.1))
                    .chain(band.iter().rev().map(|p| (p.0, p.2)))
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, BAND.filled())))?;
            }
            chart.draw_series(self.points.iter().filter(finite).map(|&(x, y, g)| {
                let color = render::group_style(g).1.mix(0.8);
                EmptyElement::at((x, y)) + Polygon::new(outlines[g].clone(), color.filled())
            }))?;
            let width = scale.px(2.5);
            for (_, points, style) in &self.lines {
                let points: Vec<(f64, f64)> = points
                    .iter()
                    .copied()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .collect();
                render::draw_line(&mut chart, &points, *style, width)?;
            }
            for (y, _, style) in &self.hlines {
                render::draw_line(&mut chart, &[(x_lo, *y), (x_hi, *y)], *style, width)?;
            }
            let style = TextStyle::from((crate::font::FAMILY, scale.tick()).into_font())
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            let offset = i32::try_from(scale.px(5.0)).unwrap_or(5);
            chart.draw_series(
                self.labels
                    .iter()
                    .filter(|(x, y, _)| x.is_finite() && y.is_finite())
                    .map(|(x, y, text)| {
                        EmptyElement::at((*x, *y))
                            + Text::new(text.clone(), (offset, -offset), style.clone())
                    }),
            )?;
            Ok(())
        })?;
        Ok(summary)
    }
}
