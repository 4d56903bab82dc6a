//! An 8-bit RGB image.

use crate::CorruptionError;

/// An H×W×3 image of bytes, row-major, channels last (HWC), R G B — the
/// layout of a CIFAR image as NumPy holds it (`x[row, column, channel]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Image {
    height: usize,
    width: usize,
    pixels: Vec<u8>,
}

impl Image {
    /// `pixels` must hold `height * width * 3` bytes.
    pub fn new(height: usize, width: usize, pixels: Vec<u8>) -> Result<Image, CorruptionError> {
        let expected = height * width * 3;
        if pixels.len() != expected {
            return Err(CorruptionError::Pixels { height, width, expected, got: pixels.len() });
        }
        Ok(Image { height, width, pixels })
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// The bytes, HWC.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// The values as the reference's `np.array(x) / 255.` (float64).
    pub(crate) fn unit_f64(&self) -> Vec<f64> {
        self.pixels.iter().map(|&v| f64::from(v) / 255.0).collect()
    }

    /// The values as `np.array(x, dtype=np.float32) / 255.` (float32).
    pub(crate) fn unit_f32(&self) -> Vec<f32> {
        self.pixels.iter().map(|&v| f32::from(v) / 255.0).collect()
    }
}
