//! Heatmap figures: colours at known pixels, layout, text, errors, PNG output.

use amva_draw::{jet, viridis, Blend, Colormap, DrawError, Heatmap, Outline, RgbImage};
use amva_draw::{HeatStyled, Styled};

/// Pixel centre of data cell (row, col) in a rendered heatmap.
fn cell_centre(
    l: &amva_draw::HeatmapLayout,
    h: usize,
    w: usize,
    row: usize,
    col: usize,
) -> (u32, u32) {
    let x = l.panel.x as f64 + (col as f64 + 0.5) * l.panel.width as f64 / w as f64;
    let y = l.panel.y as f64 + (row as f64 + 0.5) * l.panel.height as f64 / h as f64;
    (x as u32, y as u32)
}

/// A horizontal gradient: column c holds c / (w - 1).
fn gradient(h: usize, w: usize) -> Vec<f32> {
    (0..h * w)
        .map(|i| (i % w) as f32 / (w - 1) as f32)
        .collect()
}

fn dark_pixels(img: &RgbImage, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
    let mut n = 0;
    for y in y0..y1.min(img.height()) {
        for x in x0..x1.min(img.width()) {
            let p = img.get_pixel(x, y).0;
            if p.iter().all(|&c| c < 128) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn gradient_has_jet_colours_at_cell_centres() {
    let (h, w) = (4, 8);
    let hm = Heatmap::new(gradient(h, w), h, w)
        .unwrap()
        .title("gradient")
        .colorbar_label("value (0-1)")
        .range(0.0, 1.0);
    let l = hm.layout().unwrap();
    let img = hm.render().unwrap();
    assert_eq!(img.dimensions(), l.size);
    // Pixels are square: the same number of screen pixels per data pixel on both axes.
    assert_eq!(l.panel.width * h as u32, l.panel.height * w as u32);
    for row in 0..h {
        for col in 0..w {
            let (x, y) = cell_centre(&l, h, w, row, col);
            let expected = jet(col as f32 / (w - 1) as f32);
            assert_eq!(
                img.get_pixel(x, y).0,
                expected,
                "cell ({row}, {col}) at ({x}, {y})"
            );
        }
    }
}

#[test]
fn data_range_is_used_without_explicit_range_and_viridis_applies() {
    let (h, w) = (3, 5);
    // Values 10..14 along x: min 10 -> colour map 0, max 14 -> colour map 1.
    let data: Vec<f32> = (0..h * w).map(|i| 10.0 + (i % w) as f32).collect();
    let hm = Heatmap::new(data, h, w)
        .unwrap()
        .colormap(Colormap::Viridis);
    let l = hm.layout().unwrap();
    assert_eq!(l.range, (10.0, 14.0));
    let img = hm.render().unwrap();
    for col in 0..w {
        let (x, y) = cell_centre(&l, h, w, 1, col);
        assert_eq!(
            img.get_pixel(x, y).0,
            viridis(col as f32 / 4.0),
            "column {col}"
        );
    }
}

#[test]
fn colour_bar_runs_from_range_min_at_bottom_to_max_at_top() {
    let hm = Heatmap::new(gradient(10, 10), 10, 10)
        .unwrap()
        .range(0.0, 1.0);
    let l = hm.layout().unwrap();
    let img = hm.render().unwrap();
    let cx = l.colorbar.x + l.colorbar.width / 2;
    let top = img.get_pixel(cx, l.colorbar.y).0;
    let bottom = img.get_pixel(cx, l.colorbar.y + l.colorbar.height - 1).0;
    let n = l.colorbar.height as f32;
    assert_eq!(top, jet(1.0 - 0.5 / n));
    assert_eq!(bottom, jet(0.5 / n));
    // Middle of the bar is the middle of the map.
    let mid = img.get_pixel(cx, l.colorbar.y + l.colorbar.height / 2).0;
    assert_eq!(mid, jet(1.0 - (l.colorbar.height / 2) as f32 / n - 0.5 / n));
}

#[test]
fn nan_values_are_grey_and_values_outside_the_range_get_end_colours() {
    let data = vec![f32::NAN, -5.0, 0.5, 7.0];
    let hm = Heatmap::new(data, 1, 4).unwrap().range(0.0, 1.0);
    let l = hm.layout().unwrap();
    let img = hm.render().unwrap();
    let px = |c| {
        let (x, y) = cell_centre(&l, 1, 4, 0, c);
        img.get_pixel(x, y).0
    };
    assert_eq!(px(0), [200, 200, 200]);
    assert_eq!(px(1), jet(0.0));
    assert_eq!(px(2), jet(0.5));
    assert_eq!(px(3), jet(1.0));
}

#[test]
fn alpha_underlay_blends_at_every_cell() {
    let (h, w) = (2, 2);
    let data = vec![0.0, 0.25, 0.75, 1.0];
    // A uniform underlay resizes to itself, so the expected blend is exact.
    let under = RgbImage::from_pixel(50, 30, image::Rgb([200, 100, 50]));
    let alpha = 0.4f32;
    let hm = Heatmap::new(data.clone(), h, w)
        .unwrap()
        .range(0.0, 1.0)
        .underlay(under, Blend::Alpha(alpha));
    let l = hm.layout().unwrap();
    let img = hm.render().unwrap();
    for (i, &v) in data.iter().enumerate() {
        let (x, y) = cell_centre(&l, h, w, i / w, i % w);
        let c = jet(v);
        let base = [200.0f32, 100.0, 50.0];
        let expected: [u8; 3] = std::array::from_fn(|k| {
            (base[k] * (1.0 - alpha) + f32::from(c[k]) * alpha).round() as u8
        });
        assert_eq!(img.get_pixel(x, y).0, expected, "cell {i}");
    }
}

#[test]
fn outline_is_drawn_on_the_mask_boundary_only() {
    let (h, w) = (20, 20);
    // Mask: rows 5..15, cols 5..15.
    let mask: Vec<bool> = (0..h * w)
        .map(|i| (5..15).contains(&(i / w)) && (5..15).contains(&(i % w)))
        .collect();
    let data = vec![0.5f32; h * w];
    let hm = Heatmap::new(data, h, w)
        .unwrap()
        .range(0.0, 1.0)
        .outline(Outline::new(mask, h, w, "central face region").unwrap());
    let l = hm.layout().unwrap();
    let img = hm.render().unwrap();
    let per = l.panel.width / w as u32;
    assert!(
        per >= 4,
        "test needs an enlarged panel, got {per} px per cell"
    );
    // The boundary between column 4 and 5 on row 10 is white.
    let bx = l.panel.x + 5 * per;
    let (_, by) = cell_centre(&l, h, w, 10, 5);
    assert_eq!(img.get_pixel(bx, by).0, [255, 255, 255]);
    assert_eq!(img.get_pixel(bx - 1, by).0, [255, 255, 255]);
    // Far from the boundary, inside and outside, the heat colour is untouched.
    for (row, col) in [(10, 10), (1, 1), (18, 10)] {
        let (x, y) = cell_centre(&l, h, w, row, col);
        assert_eq!(img.get_pixel(x, y).0, jet(0.5), "cell ({row}, {col})");
    }
}

#[test]
fn title_text_draws_dark_pixels_in_the_title_band() {
    let data = gradient(8, 8);
    let with = Heatmap::new(data.clone(), 8, 8)
        .unwrap()
        .title("AM-V high quality");
    let l = with.layout().unwrap();
    let img = with.render().unwrap();
    let t = l.title;
    let inked = dark_pixels(&img, t.x, t.y, t.x + t.width, t.y + t.height);
    assert!(inked > 100, "title band has only {inked} dark pixels");
    // Without a title the same band is blank.
    let without = Heatmap::new(data, 8, 8).unwrap();
    let img2 = without.render().unwrap();
    assert_eq!(
        dark_pixels(&img2, t.x, t.y, t.x + t.width, t.y + t.height.min(10)),
        0
    );
}

#[test]
fn colour_bar_label_and_ticks_draw_text_right_of_the_bar() {
    let data = gradient(8, 8);
    let plain = Heatmap::new(data.clone(), 8, 8).unwrap().range(0.0, 1.0);
    let labelled = plain
        .clone()
        .colorbar_label("AM-V (std of normalised activation, 0-1 scale)");
    let l = labelled.layout().unwrap();
    let img = labelled.render().unwrap();
    let right = l.colorbar.x + l.colorbar.width + 2;
    let inked = dark_pixels(
        &img,
        right,
        l.colorbar.y,
        img.width(),
        l.colorbar.y + l.colorbar.height,
    );
    let l0 = plain.layout().unwrap();
    let img0 = plain.render().unwrap();
    let r0 = l0.colorbar.x + l0.colorbar.width + 2;
    let inked0 = dark_pixels(
        &img0,
        r0,
        l0.colorbar.y,
        img0.width(),
        l0.colorbar.y + l0.colorbar.height,
    );
    assert!(inked0 > 20, "tick labels drew only {inked0} dark pixels");
    assert!(
        inked > inked0 + 100,
        "label added too little ink: {inked} vs {inked0}"
    );
}

#[test]
fn written_png_decodes_with_the_layout_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amv.png");
    let hm = Heatmap::new(gradient(112, 112), 112, 112)
        .unwrap()
        .title("AM-V")
        .size(500, 400);
    hm.write_png(&path).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    let l = hm.layout().unwrap();
    assert_eq!(img.dimensions(), l.size);
    assert!(l.size.0 <= 500 && l.size.1 <= 400);
    assert_eq!(img, hm.render().unwrap());
}

#[test]
fn bad_inputs_are_errors_naming_the_problem() {
    let e = Heatmap::new(vec![0.0; 5], 2, 3).unwrap_err();
    assert!(
        matches!(
            e,
            DrawError::ShapeMismatch {
                expected: 6,
                got: 5,
                ..
            }
        ),
        "{e}"
    );
    let e = Heatmap::new(vec![], 0, 3).unwrap_err();
    assert!(matches!(e, DrawError::Empty { .. }), "{e}");
    let e = Heatmap::new(vec![0.0; 4], 2, 2)
        .unwrap()
        .range(1.0, 1.0)
        .render()
        .unwrap_err();
    assert!(matches!(e, DrawError::InvalidRange { .. }), "{e}");
    let e = Heatmap::new(vec![0.0; 4], 2, 2)
        .unwrap()
        .range(0.0, f32::NAN)
        .render()
        .unwrap_err();
    assert!(matches!(e, DrawError::InvalidRange { .. }), "{e}");
    let e = Heatmap::new(vec![0.0; 4], 2, 2)
        .unwrap()
        .size(60, 40)
        .render()
        .unwrap_err();
    assert!(matches!(e, DrawError::FigureTooSmall { .. }), "{e}");
    let e = Outline::new(vec![true; 3], 2, 2, "x").unwrap_err();
    assert!(e.to_string().contains("outline mask"), "{e}");
}

#[test]
fn constant_map_renders_at_the_bottom_colour() {
    let hm = Heatmap::new(vec![0.3; 9], 3, 3).unwrap();
    let l = hm.layout().unwrap();
    assert_eq!(l.range, (0.3, 1.3));
    let img = hm.render().unwrap();
    let (x, y) = cell_centre(&l, 3, 3, 1, 1);
    assert_eq!(img.get_pixel(x, y).0, jet(0.0));
}
