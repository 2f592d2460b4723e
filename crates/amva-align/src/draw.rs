//! Preview images: the photo with face boxes and landmarks drawn on it.

use crate::detect::{BoxF, Detection};
use crate::pipeline::FaceSearch;
use crate::similarity::Point;
use image::{Rgb, RgbImage};

const GREEN: Rgb<u8> = Rgb([0, 230, 0]);
const GREY: Rgb<u8> = Rgb([150, 150, 150]);
const RED: Rgb<u8> = Rgb([255, 40, 40]);
const CYAN: Rgb<u8> = Rgb([0, 220, 255]);

/// Line width scaled to the image, so previews of large photos stay legible.
fn thickness(img: &RgbImage) -> i64 {
    (img.width().max(img.height()) as i64 / 400).max(1)
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && x < img.width() as i64 && y < img.height() as i64 {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// Outline of `b`, `t` pixels thick, inside the box edges.
pub fn draw_box(img: &mut RgbImage, b: &BoxF, t: i64, c: Rgb<u8>) {
    let (x1, y1, x2, y2) = (
        b.x1.round() as i64,
        b.y1.round() as i64,
        b.x2.round() as i64,
        b.y2.round() as i64,
    );
    for k in 0..t {
        for x in x1..=x2 {
            put(img, x, y1 + k, c);
            put(img, x, y2 - k, c);
        }
        for y in y1..=y2 {
            put(img, x1 + k, y, c);
            put(img, x2 - k, y, c);
        }
    }
}

/// A filled square of side `2r + 1` at `p`.
pub fn draw_dot(img: &mut RgbImage, p: Point, r: i64, c: Rgb<u8>) {
    let (x, y) = (p[0].round() as i64, p[1].round() as i64);
    for dy in -r..=r {
        for dx in -r..=r {
            put(img, x + dx, y + dy, c);
        }
    }
}

/// A copy of `img` with the faces of `found`: aligned faces in green with their 68
/// points in red and five alignment points in cyan; too-small faces in grey.
pub fn preview(img: &RgbImage, found: &FaceSearch) -> RgbImage {
    let mut out = img.clone();
    let t = thickness(img);
    for d in &found.too_small {
        draw_box(&mut out, &d.bbox, t, GREY);
    }
    for f in &found.faces {
        if let Some(Detection { bbox, .. }) = &f.detection {
            draw_box(&mut out, bbox, t, GREEN);
        }
        for p in f.landmarks68.iter().flatten() {
            draw_dot(&mut out, *p, t / 2, RED);
        }
        for p in &f.landmarks {
            draw_dot(&mut out, *p, t, CYAN);
        }
    }
    out
}
