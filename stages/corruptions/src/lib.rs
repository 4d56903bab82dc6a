//! The common corruptions of Hendrycks & Dietterich, "Benchmarking Neural
//! Network Robustness to Common Corruptions and Perturbations" (ICLR 2019),
//! with the CIFAR-10-C parameters.
//!
//! The reference is `make_cifar_c.py` of hendrycks/robustness
//! (`ImageNet-C/create_c/make_cifar_c.py`), shipped unmodified in
//! `data/cifar10-c-frost/` with the frost textures it reads. Every corruption
//! here is written from that file and from the library functions it calls
//! (NumPy, SciPy, scikit-image, OpenCV, Pillow, ImageMagick), step by step in
//! the same floating-point precision (float64 where NumPy computes in float64,
//! float32 where the reference's arrays are float32), and the result is cut
//! to bytes as the reference's loop does: `np.uint8(corruption(img))`, which
//! truncates the clipped [0, 255] floats. `tests/reference.rs` runs the
//! published functions on the same images with the same random draws and
//! compares byte by byte (tolerances and their reasons are there).
//!
//! # Randomness
//!
//! [`corrupt`] is a pure function of the image bytes and size, the
//! corruption, the severity and a seed: blake3 over those picks the stream
//! of a [`robbench_rng::Rng`], so results do not depend on threads or on
//! what ran before. The draws follow the reference's distributions (NumPy's
//! `normal`, `uniform`, `poisson`, `randint` and scikit-image's Bernoulli
//! trials) but not NumPy's generator, so no output of a random corruption
//! equals a published CIFAR-10-C array (nor could one: the reference never
//! seeds NumPy). [`corrupt_with_draws`] also returns the draws, which is
//! how the cross-check replays them into the reference.
//!
//! # Sizes
//!
//! The reference is written for 32×32 CIFAR images. Noise, brightness,
//! contrast, saturate and JPEG work pixel by pixel or block by block and
//! take any H×W. The spatial corruptions (blurs, snow, frost, fog, spatter,
//! elastic transform, pixelate) have pixel-sized parameters — kernel radii
//! and σ, texture scale, displacement fields, map sizes — and take 32×32
//! images, and 16×16 ones (ImageNet16-120, for which no official version
//! exists) by one rule: the image is enlarged to 32×32 (each pixel becomes
//! a 2×2 block), corrupted as CIFAR-10-C, and reduced back (each 2×2 block
//! becomes its mean, rounded half up). Every pixel-sized parameter is thus
//! halved relative to the image, as if proportional to its side, while the
//! computation stays the one checked against the reference (scaling σ and
//! radii directly would, for instance, shrink defocus blur's disk below one
//! pixel, where the reference's binary disk leaves no blur at all). Other
//! sizes are refused with an error that names the corruption and the size
//! ([`CorruptionError::Size`]).
//!
//! # Fidelity
//!
//! With the same draws, 17 of the 19 corruptions give the reference's bytes
//! exactly (on the test images, with NumPy 2.4, SciPy 1.17, scikit-image
//! 0.26, OpenCV 4.14, Pillow 12.1 and ImageMagick 6.9.11 Q16). The two
//! others: `jpeg_compression` (its encoder's quantiser and its decoder
//! round differently from libjpeg-turbo: about a quarter of the values
//! differ, mostly by 1; a rare 8×8 block by up to ~35 levels), and `frost`
//! (two of its textures are JPEGs, decoded here by zune-jpeg: a few values
//! in a thousand differ by 1). The reference's quirks are kept: glass
//! blur's "swap" copies one pixel over the other (it swaps NumPy views) and
//! only moves pixels up or left (`randint(-1, 1)` is -1 or 0); frost never
//! picks `frost6.jpg` (`randint(5)`); zoom blur's `np.arange(1, 1.06, 0.01)`
//! ends with 1.06; a spatter layer without liquid divides 0 by 0 and comes
//! out black, as `np.uint8(NaN)` does on x86.

mod blur;
mod corruption;
mod digital;
mod draws;
mod image;
mod magick;
mod noise;
mod numpy;
mod opencv;
mod picture;
mod pillow;
mod scipy;
mod skimage;
mod textures;
mod throughput;
mod weather;

pub use corruption::{Corruption, CorruptionError, Family, Severity};
pub use draws::Draw;
pub use image::Image;
pub use picture::grid_png;
pub use throughput::{Throughput, synthetic_images, throughput};

use draws::Source;

/// `image` with `corruption` at `severity`: a pure function of the image
/// bytes and size, the corruption, the severity and `seed`.
pub fn corrupt(image: &Image, corruption: Corruption, severity: Severity, seed: u64) -> Result<Image, CorruptionError> {
    run(image, corruption, severity, seed, false).map(|(image, _)| image)
}

/// [`corrupt`], and every random number it drew, in order (what NumPy's
/// functions would have returned to the reference; see [`Draw`]). For a
/// 16×16 image and a spatial corruption, the draws of its 32×32 version.
pub fn corrupt_with_draws(
    image: &Image,
    corruption: Corruption,
    severity: Severity,
    seed: u64,
) -> Result<(Image, Vec<Draw>), CorruptionError> {
    run(image, corruption, severity, seed, true)
}

/// Whether `corruption` handles a `height`×`width` image (see the crate's
/// documentation, "Sizes"); the error names the corruption and the size.
pub fn check_size(corruption: Corruption, height: usize, width: usize) -> Result<(), CorruptionError> {
    let refuse = |why: &str| Err(CorruptionError::Size { corruption, height, width, why: why.to_string() });
    if height == 0 || width == 0 {
        return refuse("the image is empty");
    }
    if corruption == Corruption::JpegCompression && height.max(width) > usize::from(u16::MAX) {
        return refuse("JPEG holds sides up to 65535");
    }
    if !corruption.is_spatial() {
        return Ok(());
    }
    if (height, width) != (SIDE, SIDE) && (height, width) != (SIDE / 2, SIDE / 2) {
        return refuse("its pixel-sized parameters are defined for 32x32 images (CIFAR) and 16x16 ones (via 32x32)");
    }
    Ok(())
}

/// The side of CIFAR's images, for which the reference's parameters are set.
const SIDE: usize = 32;

fn run(
    image: &Image,
    corruption: Corruption,
    severity: Severity,
    seed: u64,
    record: bool,
) -> Result<(Image, Vec<Draw>), CorruptionError> {
    check_size(corruption, image.height(), image.width())?;
    let mut source = Source::new(stream_seed(image, corruption, severity, seed), record);
    let pixels = if corruption.is_spatial() && image.width() == SIDE / 2 {
        halve(SIDE, &apply(&double(image), corruption, severity.index(), &mut source))
    } else {
        apply(image, corruption, severity.index(), &mut source)
    };
    let out = Image::new(image.height(), image.width(), pixels).expect("a corruption keeps the image's size");
    Ok((out, source.into_draws()))
}

/// The corrupted bytes of `image` (severity index `s`, 0 to 4).
fn apply(image: &Image, corruption: Corruption, s: usize, source: &mut Source) -> Vec<u8> {
    match corruption {
        Corruption::GaussianNoise => noise::gaussian_noise(image, s, source),
        Corruption::ShotNoise => noise::shot_noise(image, s, source),
        Corruption::ImpulseNoise => noise::impulse_noise(image, s, source),
        Corruption::SpeckleNoise => noise::speckle_noise(image, s, source),
        Corruption::DefocusBlur => blur::defocus_blur(image, s),
        Corruption::GlassBlur => blur::glass_blur(image, s, source),
        Corruption::MotionBlur => blur::motion_blur(image, s, source),
        Corruption::ZoomBlur => blur::zoom_blur(image, s),
        Corruption::GaussianBlur => blur::gaussian_blur(image, s),
        Corruption::Snow => weather::snow(image, s, source),
        Corruption::Frost => weather::frost(image, s, source),
        Corruption::Fog => weather::fog(image, s, source),
        Corruption::Spatter => weather::spatter(image, s, source),
        Corruption::Brightness => digital::brightness(image, s),
        Corruption::Contrast => digital::contrast(image, s),
        Corruption::ElasticTransform => digital::elastic_transform(image, s, source),
        Corruption::Pixelate => digital::pixelate(image, s),
        Corruption::JpegCompression => digital::jpeg_compression(image, s),
        Corruption::Saturate => digital::saturate(image, s),
    }
}

/// Each pixel as a 2×2 block.
fn double(image: &Image) -> Image {
    let side = image.width();
    let pixels = (0..4 * side * side)
        .flat_map(|i| {
            let (y, x) = (i / (2 * side) / 2, i % (2 * side) / 2);
            let at = (y * side + x) * 3;
            image.pixels()[at..at + 3].to_vec()
        })
        .collect();
    Image::new(2 * side, 2 * side, pixels).expect("twice the side, four times the bytes")
}

/// Each 2×2 block of a side×side image as its mean, rounded half up.
fn halve(side: usize, pixels: &[u8]) -> Vec<u8> {
    let half = side / 2;
    (0..half * half * 3)
        .map(|i| {
            let (y, x, c) = (i / 3 / half, i / 3 % half, i % 3);
            let at = |dy: usize, dx: usize| u32::from(pixels[((2 * y + dy) * side + 2 * x + dx) * 3 + c]);
            ((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) / 4) as u8
        })
        .collect()
}

/// The random stream of one call: blake3 over everything the result may
/// depend on, so equal inputs draw equal numbers and any change draws anew.
fn stream_seed(image: &Image, corruption: Corruption, severity: Severity, seed: u64) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"robbench-corruptions v1\0");
    hasher.update(corruption.name().as_bytes());
    hasher.update(&[0, severity.get()]);
    hasher.update(&seed.to_le_bytes());
    hasher.update(&(image.height() as u64).to_le_bytes());
    hasher.update(&(image.width() as u64).to_le_bytes());
    hasher.update(image.pixels());
    let bytes = hasher.finalize();
    u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("blake3 gives 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_then_halving_is_the_identity() {
        let pixels: Vec<u8> = (0..16 * 16 * 3).map(|i| (i * 37 % 256) as u8).collect();
        let image = Image::new(16, 16, pixels.clone()).unwrap();
        assert_eq!(halve(32, double(&image).pixels()), pixels);
        assert_eq!(halve(2, &[1, 2, 3, 2, 2, 2, 4, 4, 4, 4, 4, 4]), [3, 3, 3]);
    }
}
