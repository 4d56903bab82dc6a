//! In-memory datasets: uint8 images in CHW order with 0-based labels.

/// One split (train or test).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    /// `len × channels × height × width` bytes, one CHW image after another.
    pub images: Vec<u8>,
    pub labels: Vec<u16>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image.
    pub fn image_size(&self) -> usize {
        if self.labels.is_empty() { 0 } else { self.images.len() / self.labels.len() }
    }

    /// The CHW bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.image_size();
        &self.images[i * size..(i + 1) * size]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// `synthetic`, `cifar10`, `cifar100` or `imagenet16-120`.
    pub name: String,
    pub classes: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub train: Split,
    pub test: Split,
}

/// Per-channel mean and (population) standard deviation of the pixels of
/// `split`, in [0, 1] units: the normalisation constants of the model.
pub fn channel_stats(split: &Split) -> (Vec<f64>, Vec<f64>) {
    let n = split.len();
    if n == 0 {
        return (vec![], vec![]);
    }
    // Images here are always 3 channels; derive the plane size from that.
    let channels = 3;
    let plane = split.image_size() / channels;
    let mut sum = vec![0f64; channels];
    let mut sum_sq = vec![0f64; channels];
    for i in 0..n {
        let image = split.image(i);
        for c in 0..channels {
            for &p in &image[c * plane..(c + 1) * plane] {
                let v = p as f64 / 255.0;
                sum[c] += v;
                sum_sq[c] += v * v;
            }
        }
    }
    let count = (n * plane) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let std = sum_sq.iter().zip(&mean).map(|(s, m)| (s / count - m * m).max(0.0).sqrt()).collect();
    (mean, std)
}
