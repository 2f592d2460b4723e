//! Line plots: size, series colours, clipping, text, errors.

use amva_draw::Styled;
use amva_draw::{Corner, DrawError, LinePlot, RgbImage, Series, TAB10};

fn count_near(img: &RgbImage, c: [u8; 3], tol: i16) -> usize {
    img.pixels()
        .filter(|p| (0..3).all(|k| (i16::from(p.0[k]) - i16::from(c[k])).abs() <= tol))
        .count()
}

/// Bounding box (x0, y0, x1, y1) of pixels near colour `c`.
fn bbox(img: &RgbImage, c: [u8; 3], tol: i16) -> Option<(u32, u32, u32, u32)> {
    let mut b: Option<(u32, u32, u32, u32)> = None;
    for (x, y, p) in img.enumerate_pixels() {
        if (0..3).all(|k| (i16::from(p.0[k]) - i16::from(c[k])).abs() <= tol) {
            b = Some(match b {
                None => (x, y, x, y),
                Some((a, b0, c0, d)) => (a.min(x), b0.min(y), c0.max(x), d.max(y)),
            });
        }
    }
    b
}

#[test]
fn series_get_the_tab10_cycle_and_reference_is_grey() {
    let plot = LinePlot::new("two series")
        .axis_labels("x", "y")
        .series(Series::line("a", vec![(0.0, 0.0), (1.0, 1.0)]))
        .series(Series::reference("random", vec![(0.0, 1.0), (1.0, 0.0)]))
        .series(Series::line("b", vec![(0.0, 0.5), (1.0, 0.5)]));
    let img = plot.render().unwrap();
    assert_eq!(img.dimensions(), (720, 480));
    assert!(
        count_near(&img, TAB10[0], 2) > 200,
        "first series not in tab10 blue"
    );
    // The reference does not use up a colour: the third series is the second colour.
    assert!(
        count_near(&img, TAB10[1], 2) > 200,
        "second coloured series not tab10 orange"
    );
    assert!(
        count_near(&img, [120, 120, 120], 2) > 50,
        "reference series not grey"
    );
}

#[test]
fn a_horizontal_line_lands_at_its_y_value() {
    // y range 0..1 fixed; a line at y = 0.5 must be half-way down the plot, and one at
    // y = 0.25 three quarters down: check ratio of the rows found.
    let plot = LinePlot::new("levels")
        .y_range(0.0, 1.0)
        .x_range(0.0, 1.0)
        .legend_corner(Corner::LowerLeft)
        .series(Series::line("", vec![(0.0, 1.0), (1.0, 1.0)]).color([255, 0, 0]))
        .series(Series::line("", vec![(0.0, 0.5), (1.0, 0.5)]).color([0, 200, 0]))
        .series(Series::line("", vec![(0.0, 0.0), (1.0, 0.0)]).color([0, 0, 255]));
    let img = plot.render().unwrap();
    let row = |c| {
        let (_, y0, _, y1) = bbox(&img, c, 10).expect("line not drawn");
        (f64::from(y0) + f64::from(y1)) / 2.0
    };
    let (top, mid, bottom) = (row([255, 0, 0]), row([0, 200, 0]), row([0, 0, 255]));
    assert!(top < mid && mid < bottom);
    assert!(
        ((mid - top) - (bottom - mid)).abs() <= 1.5,
        "{top} {mid} {bottom}"
    );
}

#[test]
fn lines_are_clipped_to_the_plot_area() {
    // The data leave the fixed range on both sides; nothing may be drawn outside the
    // horizontal extent of an in-range reference line.
    let plot = LinePlot::new("clipped")
        .x_range(0.0, 1.0)
        .y_range(0.0, 1.0)
        .series(Series::line("", vec![(-5.0, 0.5), (5.0, 0.5)]).color([255, 0, 0]))
        .series(Series::line("", vec![(0.0, 0.9), (1.0, 0.9)]).color([0, 0, 255]));
    let img = plot.render().unwrap();
    let (rx0, _, rx1, _) = bbox(&img, [255, 0, 0], 30).unwrap();
    let (bx0, _, bx1, _) = bbox(&img, [0, 0, 255], 30).unwrap();
    assert!(
        rx0 + 1 >= bx0 && rx1 <= bx1 + 1,
        "red {rx0}..{rx1} vs blue {bx0}..{bx1}"
    );
}

#[test]
fn step_series_hold_their_value_until_the_next_x() {
    // Steps-post through (0, 0) and (1, 1): a horizontal run at y = 0 across the whole
    // width, then a vertical rise at x = 1. A straight line would be a diagonal.
    let steps = LinePlot::new("steps")
        .x_range(0.0, 1.0)
        .y_range(-0.1, 1.1)
        .series(
            Series::line("", vec![(0.0, 0.0), (1.0, 1.0)])
                .steps()
                .color([255, 0, 0]),
        );
    let img = steps.render().unwrap();
    let (x0, y0, x1, y1) = bbox(&img, [255, 0, 0], 30).unwrap();
    let reddish = |x: u32, y: u32| {
        let p = img.get_pixel(x, y).0;
        p[0] > 180 && p[1] < 120 && p[2] < 120
    };
    // The row with most red pixels is the y = 0 run: low in the shape and (almost) as
    // wide as it. A diagonal would have a few pixels per row.
    let (best_row, best_count) = (y0..=y1)
        .map(|y| (y, (x0..=x1).filter(|&x| reddish(x, y)).count() as u32))
        .max_by_key(|&(_, n)| n)
        .unwrap();
    assert!(
        best_row > (y0 + y1) / 2,
        "longest run at row {best_row}, shape rows {y0}..{y1}"
    );
    assert!(
        best_count > (x1 - x0) * 9 / 10,
        "run {best_count} of {}",
        x1 - x0
    );
    assert!(y1 - y0 > 100);
}

#[test]
fn title_axis_labels_legend_and_annotation_draw_text() {
    let base = LinePlot::new("").series(Series::line("", vec![(0.0, 0.0), (1.0, 1.0)]));
    let full = LinePlot::new("KDE of AM-V")
        .axis_labels("AM-V", "density")
        .annotation("KS D = 0.31, W1 = 0.012")
        .series(Series::line("high quality", vec![(0.0, 0.0), (1.0, 1.0)]));
    let dark = |img: &RgbImage| {
        img.pixels()
            .filter(|p| p.0.iter().all(|&c| c < 100))
            .count()
    };
    let (a, b) = (dark(&base.render().unwrap()), dark(&full.render().unwrap()));
    assert!(b > a + 500, "text added only {} dark pixels", b - a);
    // The title band (top 40 px) is blank without a title and inked with one.
    let band = |img: &RgbImage| {
        (0..40)
            .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count()
    };
    assert_eq!(band(&base.render().unwrap()), 0);
    assert!(band(&full.render().unwrap()) > 100);
}

#[test]
fn non_finite_points_break_the_line_and_empty_plots_are_errors() {
    let plot = LinePlot::new("gaps").series(Series::line(
        "a",
        vec![(0.0, 0.0), (1.0, f64::NAN), (2.0, 1.0), (3.0, 0.0)],
    ));
    assert!(plot.render().is_ok());
    let e = LinePlot::new("none").render().unwrap_err();
    assert!(matches!(e, DrawError::Empty { .. }), "{e}");
    let e = LinePlot::new("nan only")
        .series(Series::line("a", vec![(f64::NAN, 1.0)]))
        .render()
        .unwrap_err();
    assert!(matches!(e, DrawError::Empty { .. }), "{e}");
    let e = LinePlot::new("bad range")
        .series(Series::line("a", vec![(0.0, 1.0)]))
        .x_range(1.0, 0.0)
        .render()
        .unwrap_err();
    assert!(matches!(e, DrawError::InvalidRange { .. }), "{e}");
}

#[test]
fn written_png_decodes_with_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edc.png");
    LinePlot::new("EDC")
        .size(900, 500)
        .series(Series::line("m", vec![(0.0, 0.1), (1.0, 0.0)]).steps())
        .write_png(&path)
        .unwrap();
    let img = image::open(&path).unwrap();
    assert_eq!((img.width(), img.height()), (900, 500));
}

/// One `Style` given whole draws what the builder methods draw.
#[test]
fn a_style_given_whole_equals_the_builder_methods() {
    let series = || Series::line("a", vec![(0.0, 0.0), (1.0, 2.0), (2.0, 1.0)]);
    let built = LinePlot::new("shared")
        .axis_labels("x (units)", "y (units)")
        .note("a note")
        .size(500, 360)
        .series(series());
    let style = amva_draw::Style {
        title: "shared".to_string(),
        x_label: "x (units)".to_string(),
        y_label: "y (units)".to_string(),
        note: Some("a note".to_string()),
        size: Some((500, 360)),
    };
    let given = LinePlot::new("other").style(style).series(series());
    let (a, b) = (built.render().unwrap(), given.render().unwrap());
    assert_eq!(a.dimensions(), (500, 360));
    assert_eq!(a, b);
    // And the style matters: another note draws other pixels.
    assert_ne!(a, built.note("another note").render().unwrap());
}
