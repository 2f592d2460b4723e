//! Box outlines and dots against a pixel-by-pixel reference (the loops face previews
//! used before they went through the canvas).

use amva_draw::{draw_marks, Mark, RgbImage};
use proptest::prelude::*;

fn put(img: &mut RgbImage, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && x < img.width() as i64 && y < img.height() as i64 {
        img.put_pixel(x as u32, y as u32, image::Rgb(c));
    }
}

fn naive(image: &RgbImage, marks: &[Mark]) -> RgbImage {
    let mut img = image.clone();
    for m in marks {
        match *m {
            Mark::Box {
                x0,
                y0,
                x1,
                y1,
                width,
                color,
            } => {
                for k in 0..width {
                    for x in x0..=x1 {
                        put(&mut img, x, y0 + k, color);
                        put(&mut img, x, y1 - k, color);
                    }
                    for y in y0..=y1 {
                        put(&mut img, x0 + k, y, color);
                        put(&mut img, x1 - k, y, color);
                    }
                }
            }
            Mark::Dot {
                x,
                y,
                radius,
                color,
            } => {
                for dy in -radius..=radius {
                    for dx in -radius..=radius {
                        put(&mut img, x + dx, y + dy, color);
                    }
                }
            }
        }
    }
    img
}

fn photo(w: u32, h: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = x.wrapping_mul(31) ^ y.wrapping_mul(17) ^ seed;
        image::Rgb([v as u8, (v >> 3) as u8, (v >> 5) as u8])
    })
}

fn mark() -> impl Strategy<Value = Mark> {
    let c = any::<[u8; 3]>();
    prop_oneof![
        (-20i64..60, -20i64..60, -20i64..60, -20i64..60, -1i64..6, c).prop_map(
            |(x0, y0, x1, y1, width, color)| Mark::Box {
                x0,
                y0,
                x1,
                y1,
                width,
                color
            }
        ),
        (-10i64..50, -10i64..50, -1i64..5, c).prop_map(|(x, y, radius, color)| Mark::Dot {
            x,
            y,
            radius,
            color
        }),
    ]
}

proptest! {
    #[test]
    fn marks_cover_exactly_the_pixels_of_the_reference(
        (w, h) in (1u32..40, 1u32..40),
        seed in any::<u32>(),
        marks in prop::collection::vec(mark(), 0..8),
    ) {
        let img = photo(w, h, seed);
        prop_assert_eq!(draw_marks(&img, &marks).unwrap(), naive(&img, &marks));
    }
}

#[test]
fn a_box_far_outside_the_image_changes_nothing_and_does_not_overflow() {
    let img = photo(9, 7, 1);
    let marks = [
        Mark::Box {
            x0: i64::MIN,
            y0: -5,
            x1: i64::MAX,
            y1: i64::MAX,
            width: 3,
            color: [255, 0, 0],
        },
        Mark::Dot {
            x: i64::MAX,
            y: 3,
            radius: 2,
            color: [0, 255, 0],
        },
    ];
    let out = draw_marks(&img, &marks).unwrap();
    // Only the top edge (rows 0..-5+3, none) and the left/right edges are off the image:
    // the box covers nothing, the dot is beyond the right border.
    assert_eq!(out, img);
    let empty = RgbImage::new(0, 0);
    assert_eq!(draw_marks(&empty, &marks).unwrap(), empty);
}
