//! The noise family (make_cifar_c.py: `gaussian_noise`, `shot_noise`,
//! `impulse_noise`, `speckle_noise`), in float64 on `x / 255`.

use crate::Image;
use crate::draws::Source;
use crate::numpy::{clip01, to_u8};

/// `x + N(0, c²)`.
pub(crate) fn gaussian_noise(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let c = [0.04, 0.06, 0.08, 0.09, 0.10][s];
    let z = source.normal(image.pixels().len());
    let x = image.unit_f64();
    x.iter().zip(z).map(|(&x, z)| to_u8(clip01(x + (0.0 + c * z)) * 255.0)).collect()
}

/// `Poisson(x · c) / c`.
pub(crate) fn shot_noise(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let c = [500.0, 250.0, 100.0, 75.0, 50.0][s];
    let means: Vec<f64> = image.unit_f64().iter().map(|&x| x * c).collect();
    source.poisson(&means).into_iter().map(|k| to_u8(clip01(k as f64 / c) * 255.0)).collect()
}

/// scikit-image's `random_noise(x, mode='s&p', amount=c)`: every value is
/// flipped with probability c, to 1 or 0 with even odds (two Bernoulli
/// trials per value, `u <= p`).
pub(crate) fn impulse_noise(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let c = [0.01, 0.02, 0.03, 0.05, 0.07][s];
    let n = image.pixels().len();
    let flipped = source.random(n);
    let salted = source.random(n);
    image
        .unit_f64()
        .iter()
        .zip(flipped.iter().zip(&salted))
        .map(|(&x, (&f, &s))| {
            let v = if f <= c { if s <= 0.5 { 1.0 } else { 0.0 } } else { x };
            to_u8(clip01(v) * 255.0)
        })
        .collect()
}

/// `x + x · N(0, c²)`.
pub(crate) fn speckle_noise(image: &Image, s: usize, source: &mut Source) -> Vec<u8> {
    let c = [0.06, 0.1, 0.12, 0.16, 0.2][s];
    let z = source.normal(image.pixels().len());
    let x = image.unit_f64();
    x.iter().zip(z).map(|(&x, z)| to_u8(clip01(x + x * (0.0 + c * z)) * 255.0)).collect()
}
