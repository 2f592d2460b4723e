//! PNG and JPEG encoding, PNG writing, panels side by side. Files are written through
//! amva-io's atomic write (temporary file, then rename), the one way amva writes.

use std::path::Path;

use image::{ImageEncoder, RgbImage};

use crate::error::{DrawError, Result};

/// The eight bytes every PNG file starts with.
pub(crate) const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// Encodes an RGB image as PNG bytes.
pub fn encode_png(image: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|source| DrawError::Encode {
            what: format!("{} x {} image", image.width(), image.height()),
            source,
        })?;
    Ok(bytes)
}

/// JPEG quality of amva's pictures (the explorer's sprite sheets and pair strips).
pub const JPEG_QUALITY: u8 = 80;

/// Encodes an RGB image as JPEG bytes at [`JPEG_QUALITY`].
pub fn encode_jpeg(image: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .encode_image(image)
        .map_err(|source| DrawError::Encode {
            what: format!("{} x {} image as JPEG", image.width(), image.height()),
            source,
        })?;
    Ok(bytes)
}

/// Places panels left to right on a white background, top-aligned: one figure of several
/// plots.
pub fn side_by_side(panels: &[RgbImage]) -> RgbImage {
    let width = panels.iter().map(|p| p.width()).sum::<u32>().max(1);
    let height = panels.iter().map(|p| p.height()).max().unwrap_or(1).max(1);
    let mut out = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let mut x = 0i64;
    for p in panels {
        image::imageops::replace(&mut out, p, x, 0);
        x += i64::from(p.width());
    }
    out
}

/// Writes `image` as a PNG file at `path` atomically
/// ([`amva_io::atomic::write_atomic`]: a reader sees the old file or the whole new one).
pub fn write_png_atomic(path: impl AsRef<Path>, image: &RgbImage) -> Result<()> {
    let path = path.as_ref();
    let bytes = encode_png(image).map_err(|e| match e {
        DrawError::Encode { source, .. } => DrawError::Encode {
            what: path.display().to_string(),
            source,
        },
        other => other,
    })?;
    Ok(amva_io::atomic::write_atomic(path, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_places_every_pixel_once() {
        let a = RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8, y as u8, 1]));
        let b = RgbImage::from_fn(2, 4, |x, y| image::Rgb([x as u8, y as u8, 2]));
        let out = side_by_side(&[a.clone(), b.clone()]);
        assert_eq!(out.dimensions(), (5, 4));
        for (x, y, p) in a.enumerate_pixels() {
            assert_eq!(out.get_pixel(x, y), p);
        }
        for (x, y, p) in b.enumerate_pixels() {
            assert_eq!(out.get_pixel(x + 3, y), p);
        }
        // Below the shorter panel: white.
        assert_eq!(out.get_pixel(0, 3), &image::Rgb([255, 255, 255]));
    }
}
