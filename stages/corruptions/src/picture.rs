//! A picture of every corruption of one image, for looking at them.

use crate::{Corruption, CorruptionError, Image, Severity, corrupt};

/// A PNG with one row per corruption (in [`Corruption::ALL`]'s order): the
/// clean image, then severities 1 to 5, each `zoom`× enlarged (nearest
/// neighbour), with a 2-pixel white gap between cells.
pub fn grid_png(image: &Image, seed: u64, zoom: usize) -> Result<Vec<u8>, CorruptionError> {
    const GAP: usize = 2;
    let zoom = zoom.max(1);
    let (h, w) = (image.height() * zoom, image.width() * zoom);
    let columns = 1 + Severity::ALL.len();
    let rows = Corruption::ALL.len();
    let (width, height) = (columns * (w + GAP) + GAP, rows * (h + GAP) + GAP);
    let mut canvas = vec![255u8; width * height * 3];
    for (row, &corruption) in Corruption::ALL.iter().enumerate() {
        for column in 0..columns {
            let cell = match column {
                0 => image.clone(),
                k => corrupt(image, corruption, Severity::ALL[k - 1], seed)?,
            };
            let (top, left) = (GAP + row * (h + GAP), GAP + column * (w + GAP));
            for y in 0..h {
                for x in 0..w {
                    let from = ((y / zoom) * image.width() + x / zoom) * 3;
                    let to = ((top + y) * width + left + x) * 3;
                    canvas[to..to + 3].copy_from_slice(&cell.pixels()[from..from + 3]);
                }
            }
        }
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let png_error = |e: png::EncodingError| CorruptionError::Png(e.to_string());
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&canvas).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(bytes)
}
