//! Scatter plots of points coloured by group, such as PC1 against PC2 coloured
//! by population.

use std::collections::HashMap;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis;
use crate::error::{Error, Result};
use crate::render::{self, LegendEntry, Scale, Swatch};
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
}

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
        }
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
        let ranges = axis::extent(self.points.iter().filter(finite).map(|p| p.0))
            .zip(axis::extent(self.points.iter().filter(finite).map(|p| p.1)))
            .and_then(|((x0, x1), (y0, y1))| {
                axis::linear_range(x0, x1).zip(axis::linear_range(y0, y1))
            });
        let Some((x_range, y_range)) = ranges else {
            return Err(Error::invalid(path, "the data range is too wide to plot"));
        };

        let show_legend = self.legend && !(self.groups.len() == 1 && self.groups[0].is_empty());
        let legend: Vec<LegendEntry> = if show_legend {
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
            let mut chart = render::chart(&area, scale, x_range, y, labels, &y_format)?;
            chart.draw_series(self.points.iter().filter(finite).map(|&(x, y, g)| {
                let color = render::group_style(g).1.mix(0.8);
                EmptyElement::at((x, y)) + Polygon::new(outlines[g].clone(), color.filled())
            }))?;
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
