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
    fn crops_keep_shape_and_content_up_to_shift_and_flip() {
        let x = Tensor::arange(2 * 3 * 32 * 32, (Kind::Float, tch::Device::Cpu)).view([2, 3, 32, 32]) + 1.0;
        let y = crop_and_flip(&x, &mut Rng::new(3));
        assert_eq!(y.size(), vec![2, 3, 32, 32]);
        // Every output pixel is either padding (0) or a pixel of the same image.
        for i in 0..2 {
            let out = y.get(i);
            let nonzero = out.ne(0.0);
            let values = out.masked_select(&nonzero);
            let source = x.get(i).flatten(0, -1);
            assert!(bool::try_from(values.isin(&source, false, false).all()).unwrap());
            // At most 4 rows and 4 columns of padding.
            assert!(nonzero.sum(Kind::Int64).int64_value(&[]) >= 3 * 28 * 28);
        }
    }
}
