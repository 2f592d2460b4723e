//! Encoding crops and previews for writing.

use crate::{AlignError, Result};
use image::RgbImage;

/// Encodes `img` for a file ending in `ext` (lower case, no dot): JPEG at `quality`
/// for `jpg`/`jpeg`, 8-bit grey PNM for `pgm`, the format the extension names
/// otherwise, PNG when the extension names none.
pub fn encode_image(img: &RgbImage, ext: &str, quality: u8) -> Result<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let fail = |e: image::ImageError| AlignError::Encode {
        format: ext.to_string(),
        reason: e.to_string(),
    };
    match ext {
        "jpg" | "jpeg" => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
            .encode_image(img)
            .map_err(fail)?,
        "pgm" => image::DynamicImage::ImageRgb8(img.clone())
            .to_luma8()
            .write_to(&mut buf, image::ImageFormat::Pnm)
            .map_err(fail)?,
        other => {
            let fmt = image::ImageFormat::from_extension(other).unwrap_or(image::ImageFormat::Png);
            img.write_to(&mut buf, fmt).map_err(fail)?
        }
    }
    Ok(buf.into_inner())
}
