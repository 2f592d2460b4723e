//! The paper's overlay of a heatmap on the face image (ALGORITHMS.md section 5.1).

use image::RgbImage;

use crate::colormap::jet;
use crate::error::{check_shape, DrawError, Result};
use crate::heatmap::Heatmap;
use crate::panel::Blend;
use crate::style::HeatStyled;

/// `0.5 * jet(heat) + image`, per channel, rounded and clipped to 255: the deviation
/// overlay of ALGORITHMS.md section 5.1.
///
/// `heat` is `h x w`, row-major, expected in `[0, 1]` (values outside get jet's end
/// colours, NaN adds nothing); `image` must be `w x h` pixels.
pub fn overlay(image: &RgbImage, heat: &[f32], h: usize, w: usize) -> Result<RgbImage> {
    check_shape("overlay heat", heat.len(), h, w)?;
    if (image.width() as usize, image.height() as usize) != (w, h) {
        return Err(DrawError::SizeMismatch {
            what: "overlay image".to_string(),
            expected_w: w as u32,
            expected_h: h as u32,
            got_w: image.width(),
            got_h: image.height(),
        });
    }
    let blend = Blend::Add(0.5);
    let mut out = image.clone();
    for (i, px) in out.pixels_mut().enumerate() {
        let v = heat[i];
        if !v.is_nan() {
            px.0 = blend.apply(px.0, jet(v));
        }
    }
    Ok(out)
}

/// A figure of [`overlay`]: the image with `0.5 * jet(heat)` added, with a colour bar for
/// heat in `[0, 1]`. Set the title (and, if the heat is not a deviation, the colour-bar
/// label) on the returned builder.
///
/// The image may have any size; it is scaled to the panel.
pub fn overlay_figure(image: &RgbImage, heat: &[f32], h: usize, w: usize) -> Result<Heatmap> {
    Ok(Heatmap::new(heat.to_vec(), h, w)?
        .underlay(image.clone(), Blend::Add(0.5))
        .range(0.0, 1.0)
        .colorbar_label("deviation |AM - MAM_ref| (0-1), jet added at 50% to the image"))
}
