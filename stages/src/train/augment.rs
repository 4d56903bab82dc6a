//! Training augmentation as NAS-RobBench-201 uses it: random crop with zero
//! padding (4 pixels at 32×32, 2 at 16×16) and a horizontal flip with
//! probability ½, drawn per image.

use robbench_rng::Rng;
use tch::Tensor;

pub fn crop_and_flip(x: &Tensor, rng: &mut Rng) -> Tensor {
    let size = x.size();
    let (n, h, w) = (size[0], size[2], size[3]);
    let pad = if h <= 16 { 2 } else { 4 };
    let padded = x.constant_pad_nd([pad, pad, pad, pad]);
    let images: Vec<Tensor> = (0..n)
        .map(|i| {
            let dy = rng.below(2 * pad as u64 + 1) as i64;
            let dx = rng.below(2 * pad as u64 + 1) as i64;
            let crop = padded.get(i).narrow(1, dy, h).narrow(2, dx, w);
            if rng.below(2) == 1 { crop.flip([2]) } else { crop }
        })
        .collect();
    Tensor::stack(&images, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn each_image_is_a_padded_crop_possibly_flipped() {
        let x = Tensor::arange(2 * 3 * 32 * 32, (Kind::Float, tch::Device::Cpu)).view([2, 3, 32, 32]) + 1.0;
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
}
