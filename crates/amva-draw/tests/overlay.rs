//! The paper's overlay 0.5 * jet(heat) + image (ALGORITHMS.md section 5.1).

use amva_draw::Styled;
use amva_draw::{jet, overlay, overlay_figure, DrawError, RgbImage};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Per pixel, per channel, in f64: min(255, round(image + 0.5 * jet(heat))).
fn naive_overlay(image: &RgbImage, heat: &[f32], w: usize) -> RgbImage {
    let mut out = image.clone();
    for y in 0..image.height() as usize {
        for x in 0..w {
            let v = heat[y * w + x];
            if v.is_nan() {
                continue;
            }
            let c = jet(v);
            let p = image.get_pixel(x as u32, y as u32).0;
            let mut q = [0u8; 3];
            for k in 0..3 {
                let sum = f64::from(p[k]) + 0.5 * f64::from(c[k]);
                q[k] = sum.round().min(255.0) as u8;
            }
            out.put_pixel(x as u32, y as u32, image::Rgb(q));
        }
    }
    out
}

fn random_case(seed: u64, h: usize, w: usize) -> (RgbImage, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let img = RgbImage::from_fn(w as u32, h as u32, |_, _| {
        image::Rgb(rng.random::<[u8; 3]>())
    });
    let heat = (0..h * w).map(|_| rng.random_range(-0.1f32..1.1)).collect();
    (img, heat)
}

#[test]
fn overlay_matches_naive_formula_on_random_data() {
    let (h, w) = (37, 53);
    let (img, heat) = random_case(7, h, w);
    assert_eq!(
        overlay(&img, &heat, h, w).unwrap(),
        naive_overlay(&img, &heat, w)
    );
}

proptest! {
    #[test]
    fn overlay_matches_naive_formula(seed in 0u64..10_000, h in 1usize..12, w in 1usize..12) {
        let (img, heat) = random_case(seed, h, w);
        prop_assert_eq!(overlay(&img, &heat, h, w).unwrap(), naive_overlay(&img, &heat, w));
    }
}

#[test]
fn overlay_clips_and_skips_nan() {
    let img = RgbImage::from_pixel(2, 1, image::Rgb([250, 250, 250]));
    let out = overlay(&img, &[1.0, f32::NAN], 1, 2).unwrap();
    // jet(1) = (127, 0, 0): 250 + 63.5 clips to 255; 250 + 0 stays.
    assert_eq!(out.get_pixel(0, 0).0, [255, 250, 250]);
    assert_eq!(out.get_pixel(1, 0).0, [250, 250, 250]);
}

#[test]
fn overlay_rejects_mismatched_sizes() {
    let img = RgbImage::new(4, 3);
    let e = overlay(&img, &[0.0; 12], 4, 3).unwrap_err();
    assert!(
        matches!(
            e,
            DrawError::SizeMismatch {
                expected_w: 3,
                expected_h: 4,
                got_w: 4,
                got_h: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = overlay(&img, &[0.0; 11], 3, 4).unwrap_err();
    assert!(matches!(e, DrawError::ShapeMismatch { .. }), "{e}");
}

#[test]
fn overlay_figure_panel_shows_the_overlay_at_cell_centres() {
    let (h, w) = (6, 6);
    // Uniform image: resizing it to the panel changes nothing, so the panel must show
    // exactly overlay() at each cell.
    let img = RgbImage::from_pixel(w as u32, h as u32, image::Rgb([60, 90, 30]));
    let heat: Vec<f32> = (0..h * w).map(|i| i as f32 / (h * w - 1) as f32).collect();
    let fig = overlay_figure(&img, &heat, h, w).unwrap().title("overlay");
    let l = fig.layout().unwrap();
    let out = fig.render().unwrap();
    let plain = overlay(&img, &heat, h, w).unwrap();
    for row in 0..h {
        for col in 0..w {
            let x = l.panel.x + ((col as f64 + 0.5) * l.panel.width as f64 / w as f64) as u32;
            let y = l.panel.y + ((row as f64 + 0.5) * l.panel.height as f64 / h as f64) as u32;
            assert_eq!(
                out.get_pixel(x, y),
                plain.get_pixel(col as u32, row as u32),
                "({row}, {col})"
            );
        }
    }
}

/// The paper's one published sample: its face and Score-CAM map.
#[test]
fn overlay_of_the_papers_sample_face() {
    let sample = "reference/amva-official-sample";
    let Some(shared) = amva_testkit::shared_with(&[sample]) else {
        return;
    };
    let dir = shared.join(sample);
    let img = image::open(dir.join("example_image.jpg")).expect("the sample face");
    let npy = std::fs::read(dir.join("example_image.npy")).expect("the sample map");
    let img = img.to_rgb8();
    // NumPy v1 header: magic (6) + version (2) + header length (2, LE) + header.
    let start = 10 + usize::from(u16::from_le_bytes([npy[8], npy[9]]));
    assert!(String::from_utf8_lossy(&npy[10..start]).contains("'<f4'"));
    let heat: Vec<f32> = npy[start..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let (w, h) = (img.width() as usize, img.height() as usize);
    assert_eq!(heat.len(), h * w);
    let out = overlay(&img, &heat, h, w).unwrap();
    assert_eq!(out, naive_overlay(&img, &heat, w));
    // Adding colour never darkens a channel.
    assert!(out
        .pixels()
        .zip(img.pixels())
        .all(|(o, i)| (0..3).all(|k| o.0[k] >= i.0[k])));
    let fig = overlay_figure(&img, &heat, h, w)
        .unwrap()
        .title("sample")
        .render()
        .unwrap();
    assert!(fig.width() > 112 && fig.height() > 112);
}
