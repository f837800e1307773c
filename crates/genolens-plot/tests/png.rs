//! PNG output of the charts: signature, dimensions, determinism, error cases.

use std::fs;
use std::path::Path;

use genolens_plot::{Error, LinePlot, LineStyle, PlotSummary, ScatterPlot, DEFAULT_SIZE};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Checks the PNG signature and returns the IHDR width and height.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = fs::read(path).expect("read png");
    assert!(bytes.len() > 24, "PNG too short: {} bytes", bytes.len());
    assert_eq!(bytes[..8], PNG_SIGNATURE, "not a PNG signature");
    // First chunk: 4-byte length, then the type, which must be IHDR.
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// Names of the files in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A PCA-like plot: three populations in clusters, with a few missing values.
fn pca_plot() -> ScatterPlot {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    let mut pops = Vec::new();
    let centres = [(0.1, 0.0), (-0.1, 0.05), (0.0, -0.1)];
    for (p, (cx, cy)) in centres.into_iter().enumerate() {
        for i in 0..60 {
            let t = f64::from(i) * 0.7 + p as f64;
            xs.push(cx + 0.02 * t.sin());
            ys.push(cy + 0.02 * (1.3 * t).cos());
            pops.push(["EUR", "AFR", "EAS"][p]);
        }
    }
    xs[5] = f64::NAN;
    ys[70] = f64::INFINITY;
    ScatterPlot::new()
        .title("Principal components")
        .x_label("PC1")
        .y_label("PC2")
        .columns(&xs, &ys, &pops)
}

fn loss_plot() -> LinePlot {
    let epochs: Vec<f64> = (1..=30).map(f64::from).collect();
    let train: Vec<f64> = epochs
        .iter()
        .map(|e| 2.0 * (-e / 8.0).exp() + 0.05)
        .collect();
    let mut valid: Vec<f64> = epochs
        .iter()
        .map(|e| 2.1 * (-e / 9.0).exp() + 0.1)
        .collect();
    valid[10] = f64::NAN;
    LinePlot::new()
        .title("Training")
        .x_label("epoch")
        .y_label("loss")
        .series_xy("train", &epochs, &train)
        .series_xy("validation", &epochs, &valid)
}

#[test]
fn scatter_writes_png_of_default_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pca.png");
    let summary = pca_plot().write_png(&path).expect("write");
    assert_eq!(
        summary,
        PlotSummary {
            drawn: 178,
            skipped: 2
        }
    );
    assert_eq!(png_size(&path), DEFAULT_SIZE);
    assert_eq!(DEFAULT_SIZE, (900, 700));
    // Only the PNG is left: the temporary file was renamed.
    assert_eq!(entries(dir.path()), ["pca.png"]);
}

#[test]
fn scatter_honours_size_and_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pca.png");
    pca_plot().write_png(&path).expect("first write");
    pca_plot()
        .size(640, 480)
        .write_png(&path)
        .expect("second write");
    assert_eq!(png_size(&path), (640, 480));
}

#[test]
fn scatter_output_is_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    pca_plot().write_png(&a).expect("a");
    pca_plot().write_png(&b).expect("b");
    assert_eq!(fs::read(&a).expect("read a"), fs::read(&b).expect("read b"));
}

#[test]
fn scatter_builders_agree() {
    // point, points and columns build the same plot, hence the same bytes.
    let dir = tempfile::tempdir().expect("tempdir");
    let pts = [(1.0, 2.0, "a"), (2.0, 1.0, "b"), (3.0, 3.0, "a")];
    let by_point = pts
        .iter()
        .fold(ScatterPlot::new(), |p, &(x, y, g)| p.point(x, y, g));
    let by_points = ScatterPlot::new().points(pts);
    let by_columns =
        ScatterPlot::new().columns(&[1.0, 2.0, 3.0], &[2.0, 1.0, 3.0], &["a", "b", "a"]);
    let mut outputs = Vec::new();
    for (i, plot) in [by_point, by_points, by_columns].iter().enumerate() {
        let path = dir.path().join(format!("{i}.png"));
        plot.write_png(&path).expect("write");
        outputs.push(fs::read(&path).expect("read"));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn scatter_handles_many_groups_and_degenerate_ranges() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 45 groups (more than the 40 distinct styles), long and non-ASCII labels.
    let labels: Vec<String> = (0..45)
        .map(|i| format!("population {i} — {}", "x".repeat(i)))
        .collect();
    let xs: Vec<f64> = (0..45).map(f64::from).collect();
    let ys: Vec<f64> = xs.iter().map(|x| x * x).collect();
    let path = dir.path().join("many.png");
    let summary = ScatterPlot::new()
        .columns(&xs, &ys, &labels)
        .write_png(&path)
        .expect("many groups");
    assert_eq!(summary.drawn, 45);
    assert_eq!(png_size(&path), DEFAULT_SIZE);

    // One point, no title, unlabelled group: no legend, a unit range.
    let one = dir.path().join("one.png");
    ScatterPlot::new()
        .point(3.0, 3.0, "")
        .write_png(&one)
        .expect("one point");
    assert_eq!(png_size(&one), DEFAULT_SIZE);
}

#[test]
fn line_writes_png_and_is_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    let summary = loss_plot().write_png(&a).expect("a");
    assert_eq!(
        summary,
        PlotSummary {
            drawn: 59,
            skipped: 1
        }
    );
    loss_plot().write_png(&b).expect("b");
    assert_eq!(png_size(&a), DEFAULT_SIZE);
    assert_eq!(fs::read(&a).expect("read a"), fs::read(&b).expect("read b"));
}

#[test]
fn line_log_y_skips_non_positive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.png");
    let summary = LinePlot::new()
        .log_y(true)
        .size(400, 300)
        .series(
            "loss",
            [
                (0.0, 10.0),
                (1.0, 1.0),
                (2.0, 0.0),
                (3.0, 1e-3),
                (4.0, -1.0),
            ],
        )
        .write_png(&path)
        .expect("log plot");
    assert_eq!(
        summary,
        PlotSummary {
            drawn: 3,
            skipped: 2
        }
    );
    assert_eq!(png_size(&path), (400, 300));

    let linear = dir.path().join("linear.png");
    let summary = LinePlot::new()
        .series("", [(0.0, 0.0), (1.0, -1.0)])
        .write_png(&linear)
        .expect("linear plot");
    assert_eq!(summary.skipped, 0);
}

/// Asserts `result` is an `InvalidInput` naming `path`, and no file is there.
fn assert_invalid(result: Result<PlotSummary, Error>, path: &Path, needle: &str) {
    match result {
        Err(Error::InvalidInput { path: p, reason }) => {
            assert_eq!(p, path);
            assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(!path.exists(), "{} was written", path.display());
}

#[test]
fn invalid_input_is_reported_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.png");

    assert_invalid(ScatterPlot::new().write_png(&path), &path, "no points");
    assert_invalid(LinePlot::new().write_png(&path), &path, "no points");
    assert_invalid(
        LinePlot::new().series("empty", []).write_png(&path),
        &path,
        "no points",
    );
    assert_invalid(
        ScatterPlot::new()
            .points([(f64::NAN, 1.0, "a"), (1.0, f64::NEG_INFINITY, "b")])
            .write_png(&path),
        &path,
        "NaN or infinite",
    );
    assert_invalid(
        LinePlot::new()
            .series("s", [(f64::NAN, f64::NAN)])
            .write_png(&path),
        &path,
        "NaN or infinite",
    );
    assert_invalid(
        LinePlot::new()
            .log_y(true)
            .series("s", [(1.0, 0.0), (2.0, -3.0)])
            .write_png(&path),
        &path,
        "not positive",
    );
    assert_invalid(
        ScatterPlot::new()
            .columns(&[1.0, 2.0], &[1.0], &["a", "b"])
            .write_png(&path),
        &path,
        "different lengths",
    );
    assert_invalid(
        ScatterPlot::new()
            .columns(&[1.0, 2.0], &[1.0, 2.0], &["a"])
            .write_png(&path),
        &path,
        "different lengths",
    );
    assert_invalid(
        LinePlot::new()
            .series_xy("train", &[1.0, 2.0, 3.0], &[1.0, 2.0])
            .write_png(&path),
        &path,
        "3 x values but 2 y values",
    );
    assert_invalid(
        ScatterPlot::new()
            .point(1.0, 1.0, "a")
            .size(0, 700)
            .write_png(&path),
        &path,
        "image size",
    );
    assert_invalid(
        ScatterPlot::new()
            .point(1.0, 1.0, "a")
            .size(900, 100_000)
            .write_png(&path),
        &path,
        "image size",
    );
    assert_invalid(
        ScatterPlot::new()
            .points([(-f64::MAX, 0.0, "a"), (f64::MAX, 1.0, "a")])
            .write_png(&path),
        &path,
        "too wide",
    );
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[test]
fn unwritable_path_leaves_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");

    // The directory does not exist.
    let missing = dir.path().join("no-such-dir").join("pca.png");
    match pca_plot().write_png(&missing) {
        Err(Error::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(!missing.exists());

    // The destination is a directory: rendering succeeds, the rename fails,
    // and the temporary file is removed.
    let occupied = dir.path().join("occupied.png");
    fs::create_dir(&occupied).expect("mkdir");
    let err = loss_plot()
        .write_png(&occupied)
        .expect_err("rename over a directory");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("occupied.png"),
        "message lacks the path: {err}"
    );
    assert!(occupied.is_dir());
    assert_eq!(entries(dir.path()), ["occupied.png"]);
}

#[test]
fn error_message_names_path() {
    let err = ScatterPlot::new()
        .write_png("/some/where/pca.png")
        .expect_err("empty");
    assert_eq!(
        err.to_string(),
        "/some/where/pca.png: cannot plot: no points to plot"
    );
}

/// Pixels that are not grey (axes, text and background are grey levels).
fn coloured_pixels(path: &Path) -> usize {
    rgb_rows(path)
        .iter()
        .flatten()
        .filter(|p| p[0] != p[1] || p[1] != p[2])
        .count()
}

#[test]
fn styled_series_share_a_colour_and_dashes_leave_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xs: Vec<f64> = (0..40).map(f64::from).collect();
    let low = vec![1.0; 40];
    let high = vec![2.0; 40];
    let plot = |dashed| {
        LinePlot::new()
            .series_styled(
                "fold 1 train",
                &xs,
                &low,
                LineStyle {
                    colour: 3,
                    dashed: false,
                },
            )
            .series_styled("fold 1 valid", &xs, &high, LineStyle { colour: 3, dashed })
    };
    let (solid, dashed) = (dir.path().join("solid.png"), dir.path().join("dashed.png"));
    plot(false).write_png(&solid).expect("solid");
    plot(true).write_png(&dashed).expect("dashed");
    let (a, b) = (coloured_pixels(&solid), coloured_pixels(&dashed));
    // The dashed line draws its colour on part of its length only; the solid
    // one and the legend are the same in both.
    assert!(
        b < a && b * 10 > a * 6,
        "solid {a} coloured pixels, dashed {b}"
    );
}

/// The RGB pixels of a PNG, row by row.
fn rgb_rows(path: &Path) -> Vec<Vec<[u8; 3]>> {
    let decoder = png::Decoder::new(fs::File::open(path).expect("open png"));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks_exact(info.line_size)
        .map(|row| {
            row.chunks_exact(channels)
                .map(|p| [p[0], p[1], p[2]])
                .collect()
        })
        .collect()
}

#[test]
fn reference_lines_bands_and_named_ticks_are_drawn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let red = [214, 39, 40]; // palette colour 3
    let grey_band = [215, 215, 215];
    let points: Vec<(f64, f64, &str)> = (0..50).map(|i| (f64::from(i), 1.0, "")).collect();
    let base = || {
        ScatterPlot::new()
            .size(600, 400)
            .legend(false)
            .points(points.iter().copied())
    };
    let plain = dir.path().join("plain.png");
    base().write_png(&plain).expect("plain");
    // A threshold far above the data: the axis stretches to show it, and a
    // long horizontal run of its colour appears.
    let lined = dir.path().join("line.png");
    base()
        .hline(
            8.0,
            "",
            LineStyle {
                colour: 3,
                dashed: false,
            },
        )
        .write_png(&lined)
        .expect("line");
    let longest_run = |path: &Path, colour: [u8; 3]| {
        rgb_rows(path)
            .iter()
            .map(|row| row.iter().filter(|p| **p == colour).count())
            .max()
            .unwrap_or(0)
    };
    assert!(longest_run(&plain, red) < 10);
    assert!(
        longest_run(&lined, red) > 300,
        "{}",
        longest_run(&lined, red)
    );
    // A band fills an area with its grey; the points stay above it.
    let banded = dir.path().join("band.png");
    base()
        .band("band", (0..50).map(|i| (f64::from(i), 0.0, 2.0)))
        .write_png(&banded)
        .expect("band");
    let band_pixels: usize = rgb_rows(&banded)
        .iter()
        .map(|row| row.iter().filter(|p| **p == grey_band).count())
        .sum();
    assert!(band_pixels > 20_000, "{band_pixels}");
    // Named ticks replace the numbers: different labels, different pixels.
    let ticks = |names: [&str; 2]| {
        let path = dir.path().join(format!("{}.png", names[0]));
        base()
            .x_ticks(vec![(10.0, names[0].into()), (40.0, names[1].into())])
            .write_png(&path)
            .expect("ticks");
        fs::read(path).expect("read")
    };
    assert_ne!(ticks(["17", "18"]), ticks(["chrX", "chrY"]));
    assert_ne!(ticks(["17", "18"]), fs::read(&plain).expect("read"));
}
