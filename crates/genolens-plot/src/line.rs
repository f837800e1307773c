//! Line plots of named series, such as training and validation loss per epoch.

use std::path::Path;

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::axis;
use crate::error::{Error, Result};
use crate::render::{self, Chart, DrawError, LegendEntry, Scale, Swatch};
use crate::{PlotSummary, DEFAULT_SIZE};

/// A line plot of one or more named series of `(x, y)` points.
///
/// Each series is drawn in the order its points are given, in its own colour
/// (ten colours, then they repeat) unless [`series_styled`](Self::series_styled)
/// names a colour and a dashed line, and listed in the legend in the order
/// the series were added. The legend is left out when there is one series with an
/// empty name.
///
/// A point with a NaN or infinite coordinate (or, on a logarithmic y axis, a
/// y that is not positive) is skipped and counted in the [`PlotSummary`]
/// returned by [`write_png`](Self::write_png); the line is broken there rather
/// than joined across the gap. A point with no valid neighbour is drawn as a dot.
///
/// ```no_run
/// use genolens_plot::LinePlot;
///
/// let train = [0.93, 0.61, 0.48, 0.44];
/// let valid = [0.95, 0.70, 0.62, 0.63];
/// let epochs = [1.0, 2.0, 3.0, 4.0];
/// LinePlot::new()
///     .title("Training")
///     .x_label("epoch")
///     .y_label("loss")
///     .log_y(true)
///     .series_xy("train", &epochs, &train)
///     .series_xy("validation", &epochs, &valid)
///     .write_png("loss.png")?;
/// # Ok::<(), genolens_plot::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LinePlot {
    title: String,
    x_label: String,
    y_label: String,
    size: (u32, u32),
    log_y: bool,
    series: Vec<Series>,
    /// An input error found while building, reported by `write_png`.
    problem: Option<String>,
}

#[derive(Debug, Clone)]
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    style: Option<LineStyle>,
}

/// How one series is drawn: its colour (an index into the palette of ten
/// colours, which repeat) and whether the line is dashed. Series that belong
/// together (a fold's training and validation loss) share a colour and
/// differ by the dash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStyle {
    /// Palette index (0-based; taken modulo the palette's ten colours).
    pub colour: usize,
    /// A dashed line instead of a solid one.
    pub dashed: bool,
}

impl Default for LinePlot {
    fn default() -> Self {
        Self::new()
    }
}

impl LinePlot {
    /// An empty plot of [`DEFAULT_SIZE`] with a linear y axis, no title and no
    /// axis labels.
    pub fn new() -> Self {
        LinePlot {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            size: DEFAULT_SIZE,
            log_y: false,
            series: Vec::new(),
            problem: None,
        }
    }

    crate::render::frame_setters!();

    /// Uses a logarithmic y axis when `yes` (default: linear). Points with a y
    /// that is zero or negative are then skipped.
    pub fn log_y(mut self, yes: bool) -> Self {
        self.log_y = yes;
        self
    }

    /// Adds a series named `name` with points given as `(x, y)`.
    pub fn series<I>(mut self, name: impl Into<String>, points: I) -> Self
    where
        I: IntoIterator<Item = (f64, f64)>,
    {
        self.series.push(Series {
            name: name.into(),
            points: points.into_iter().collect(),
            style: None,
        });
        self
    }

    /// Adds a series named `name` whose point `i` is `(xs[i], ys[i])`. If the
    /// lengths differ, the series is not added and
    /// [`write_png`](Self::write_png) fails with [`Error::InvalidInput`].
    pub fn series_xy(self, name: impl Into<String>, xs: &[f64], ys: &[f64]) -> Self {
        self.push_xy(name.into(), xs, ys, None)
    }

    /// Like [`series_xy`](Self::series_xy), drawn in `style`.
    pub fn series_styled(
        self,
        name: impl Into<String>,
        xs: &[f64],
        ys: &[f64],
        style: LineStyle,
    ) -> Self {
        self.push_xy(name.into(), xs, ys, Some(style))
    }

    fn push_xy(mut self, name: String, xs: &[f64], ys: &[f64], style: Option<LineStyle>) -> Self {
        if xs.len() != ys.len() {
            self.problem.get_or_insert_with(|| {
                format!(
                    "series {name:?} has {} x values but {} y values",
                    xs.len(),
                    ys.len()
                )
            });
            return self;
        }
        self.series.push(Series {
            name,
            points: xs.iter().copied().zip(ys.iter().copied()).collect(),
            style,
        });
        self
    }

    /// Series `i`'s colour and dash.
    fn style_of(&self, i: usize) -> (RGBColor, bool) {
        match self.series[i].style {
            Some(style) => (render::color(style.colour), style.dashed),
            None => (render::color(i), false),
        }
    }

    fn is_valid(&self, (x, y): (f64, f64)) -> bool {
        x.is_finite() && y.is_finite() && (!self.log_y || y > 0.0)
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
    /// [`Error::InvalidInput`] when there are no points, when no point can be
    /// drawn (NaN, infinite, or not positive on a logarithmic axis), when
    /// [`series_xy`](Self::series_xy) got slices of different lengths, or when
    /// the size is out of range;
    /// [`Error::Io`] when the file cannot be created or renamed;
    /// [`Error::Draw`] when rendering or encoding fails.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<PlotSummary> {
        let path = path.as_ref();
        if let Some(problem) = &self.problem {
            return Err(Error::invalid(path, problem.clone()));
        }
        render::check_size(path, self.size)?;
        let total: usize = self.series.iter().map(|s| s.points.len()).sum();
        if total == 0 {
            return Err(Error::invalid(path, "no points to plot"));
        }
        let valid = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().copied())
                .filter(|&p| self.is_valid(p))
        };
        let drawn = valid().count();
        let summary = PlotSummary {
            drawn,
            skipped: total - drawn,
        };
        if drawn == 0 {
            let why = if self.log_y {
                "a NaN or infinite coordinate, or a y that is not positive on the logarithmic axis"
            } else {
                "a NaN or infinite coordinate"
            };
            return Err(Error::invalid(
                path,
                format!("all {total} points have {why}"),
            ));
        }
        let x_extent = axis::extent(valid().map(|p| p.0));
        let y_extent = axis::extent(valid().map(|p| p.1));
        let too_wide = || Error::invalid(path, "the data range is too wide to plot");
        let x_range = x_extent
            .and_then(|(lo, hi)| axis::linear_range(lo, hi))
            .ok_or_else(too_wide)?;
        let y_range = y_extent
            .and_then(|(lo, hi)| {
                if self.log_y {
                    axis::log_range(lo, hi)
                } else {
                    axis::linear_range(lo, hi)
                }
            })
            .ok_or_else(too_wide)?;

        let show_legend = !(self.series.len() == 1 && self.series[0].name.is_empty());
        let legend: Vec<LegendEntry> = if show_legend {
            self.series
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (color, dashed) = self.style_of(i);
                    LegendEntry {
                        label: s.name.clone(),
                        swatch: Swatch::Line(color, dashed),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let scale = Scale::for_size(self.size);

        render::render_png(path, self.size, |root| {
            let area = render::frame(root, scale, &self.title, &legend)?;
            let labels = (self.x_label.as_str(), self.y_label.as_str());
            if self.log_y {
                let (ticks, y_format) = axis::log_axis(&y_range);
                let y = LogCoord::from(y_range.log_scale()).with_key_points(ticks);
                let chart = render::chart(&area, scale, x_range, y, labels, &y_format, None)?;
                self.draw_series(chart, scale)
            } else {
                let y_format = axis::linear_tick_formatter(&y_range);
                let y: RangedCoordf64 = y_range.into();
                let chart = render::chart(&area, scale, x_range, y, labels, &y_format, None)?;
                self.draw_series(chart, scale)
            }
        })?;
        Ok(summary)
    }

    fn draw_series<Y>(&self, mut chart: Chart<'_, '_, Y>, scale: Scale) -> Result<(), DrawError>
    where
        Y: Ranged<ValueType = f64>,
    {
        let stroke = scale.px(2.0);
        let dot = scale.px(3.0);
        for (i, series) in self.series.iter().enumerate() {
            let (color, dashed) = self.style_of(i);
            // Runs of consecutive valid points; an invalid point breaks the line.
            let runs = series
                .points
                .split(|&p| !self.is_valid(p))
                .filter(|run| !run.is_empty());
            for run in runs {
                if let [only] = run {
                    chart.draw_series(std::iter::once(Circle::new(*only, dot, color.filled())))?;
                } else if dashed {
                    chart.draw_series(DashedLineSeries::new(
                        run.iter().copied(),
                        scale.px(7.0),
                        scale.px(5.0),
                        color.stroke_width(stroke),
                    ))?;
                } else {
                    chart.draw_series(LineSeries::new(
                        run.iter().copied(),
                        color.stroke_width(stroke),
                    ))?;
                }
            }
        }
        Ok(())
    }
}
