//! Training augmentation as NAS-RobBench-201 uses it: random crop with zero
//! padding (4 pixels at 32×32, 2 at 16×16) and a horizontal flip with
//! probability ½, drawn per image.

use robbench_rng::Rng;
use tch::Tensor;

/// Draws (row offset, column offset, flip) per image, in that order, then
/// gathers every crop at once: two gathers instead of a few small ops per
/// image.
pub fn crop_and_flip(x: &Tensor, rng: &mut Rng) -> Tensor {
    let size = x.size();
    let (n, c, h, w) = (size[0], size[1], size[2], size[3]);
    let pad = if h <= 16 { 2 } else { 4 };
    let mut rows = Vec::with_capacity((n * h) as usize);
    let mut cols = Vec::with_capacity((n * w) as usize);
    for _ in 0..n {
        let dy = rng.below(2 * pad as u64 + 1) as i64;
        let dx = rng.below(2 * pad as u64 + 1) as i64;
        let flip = rng.below(2) == 1;
        rows.extend((0..h).map(|r| dy + r));
        cols.extend((0..w).map(|col| dx + if flip { w - 1 - col } else { col }));
    }
    let device = x.device();
    let rows = Tensor::from_slice(&rows).view([n, 1, h, 1]).to_device(device);
    let cols = Tensor::from_slice(&cols).view([n, 1, 1, w]).to_device(device);
    let padded = x.constant_pad_nd([pad, pad, pad, pad]);
    padded.gather(2, &rows.expand([n, c, h, w + 2 * pad], false), false).gather(
        3,
        &cols.expand([n, c, h, w], false),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn each_image_is_a_padded_crop_possibly_flipped() {
        let x = Tensor::arange(2 * 3 * 32 * 32, (Kind::Float, robbench_nn::test_device())).view([2, 3, 32, 32]) + 1.0;
        let y = crop_and_flip(&x, &mut Rng::new(3));
        assert_eq!(y.size(), vec![2, 3, 32, 32]);
        let padded = x.constant_pad_nd([4, 4, 4, 4]);
        for i in 0..2 {
            let out = y.get(i);
            let matches = (0..9)
                .flat_map(|dy| (0..9).map(move |dx| (dy, dx)))
                .filter(|&(dy, dx)| {
                    let crop = padded.get(i).narrow(1, dy, 32).narrow(2, dx, 32);
                    crop.equal(&out) || crop.flip([2]).equal(&out)
                })
                .count();
            assert_eq!(matches, 1, "image {i} is not exactly one crop/flip of its padded input");
        }
    }

    #[test]
    fn crops_follow_the_draws_image_by_image() {
        for size in [16, 32] {
            let x = Tensor::rand([5, 3, size, size], (Kind::Float, robbench_nn::test_device()));
            let y = crop_and_flip(&x, &mut Rng::new(11));
            let pad = if size <= 16 { 2 } else { 4 };
            let padded = x.constant_pad_nd([pad, pad, pad, pad]);
            let mut rng = Rng::new(11);
            for i in 0..5 {
                let dy = rng.below(2 * pad as u64 + 1) as i64;
                let dx = rng.below(2 * pad as u64 + 1) as i64;
                let crop = padded.get(i).narrow(1, dy, size).narrow(2, dx, size);
                let expected = if rng.below(2) == 1 { crop.flip([2]) } else { crop };
                assert!(expected.equal(&y.get(i)), "image {i} at {size}x{size}");
            }
        }
    }
}
