//! The corruptions, their families and severities, and the errors that
//! name them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of CIFAR-10-C's 19 corruptions: the 15 of the benchmark, then the 4
/// held out for validation. Serialised (and parsed) as the reference's
/// function names, e.g. `gaussian_noise`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corruption {
    GaussianNoise,
    ShotNoise,
    ImpulseNoise,
    DefocusBlur,
    GlassBlur,
    MotionBlur,
    ZoomBlur,
    Snow,
    Frost,
    Fog,
    Brightness,
    Contrast,
    ElasticTransform,
    Pixelate,
    JpegCompression,
    SpeckleNoise,
    GaussianBlur,
    Spatter,
    Saturate,
}

/// The paper's four groups. Each extra corruption belongs to the group of
/// its kind (the paper held one out of each group: speckle noise, Gaussian
/// blur, spatter, saturate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Noise,
    Blur,
    Weather,
    Digital,
}

impl Corruption {
    /// All 19, in the reference's order: the 15 standard ones, then the extras.
    pub const ALL: [Corruption; 19] = [
        Corruption::GaussianNoise,
        Corruption::ShotNoise,
        Corruption::ImpulseNoise,
        Corruption::DefocusBlur,
        Corruption::GlassBlur,
        Corruption::MotionBlur,
        Corruption::ZoomBlur,
        Corruption::Snow,
        Corruption::Frost,
        Corruption::Fog,
        Corruption::Brightness,
        Corruption::Contrast,
        Corruption::ElasticTransform,
        Corruption::Pixelate,
        Corruption::JpegCompression,
        Corruption::SpeckleNoise,
        Corruption::GaussianBlur,
        Corruption::Spatter,
        Corruption::Saturate,
    ];

    /// The 15 corruptions of the benchmark (mCE is averaged over these): the
    /// first 15 of [`Corruption::ALL`].
    pub const STANDARD: [Corruption; 15] = {
        let mut standard = [Corruption::GaussianNoise; 15];
        let mut i = 0;
        while i < standard.len() {
            standard[i] = Corruption::ALL[i];
            i += 1;
        }
        standard
    };

    /// The reference's function name, e.g. `gaussian_noise`.
    pub fn name(self) -> &'static str {
        match self {
            Corruption::GaussianNoise => "gaussian_noise",
            Corruption::ShotNoise => "shot_noise",
            Corruption::ImpulseNoise => "impulse_noise",
            Corruption::DefocusBlur => "defocus_blur",
            Corruption::GlassBlur => "glass_blur",
            Corruption::MotionBlur => "motion_blur",
            Corruption::ZoomBlur => "zoom_blur",
            Corruption::Snow => "snow",
            Corruption::Frost => "frost",
            Corruption::Fog => "fog",
            Corruption::Brightness => "brightness",
            Corruption::Contrast => "contrast",
            Corruption::ElasticTransform => "elastic_transform",
            Corruption::Pixelate => "pixelate",
            Corruption::JpegCompression => "jpeg_compression",
            Corruption::SpeckleNoise => "speckle_noise",
            Corruption::GaussianBlur => "gaussian_blur",
            Corruption::Spatter => "spatter",
            Corruption::Saturate => "saturate",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Corruption::GaussianNoise | Corruption::ShotNoise | Corruption::ImpulseNoise | Corruption::SpeckleNoise => {
                Family::Noise
            }
            Corruption::DefocusBlur
            | Corruption::GlassBlur
            | Corruption::MotionBlur
            | Corruption::ZoomBlur
            | Corruption::GaussianBlur => Family::Blur,
            Corruption::Snow | Corruption::Frost | Corruption::Fog | Corruption::Brightness | Corruption::Spatter => {
                Family::Weather
            }
            Corruption::Contrast
            | Corruption::ElasticTransform
            | Corruption::Pixelate
            | Corruption::JpegCompression
            | Corruption::Saturate => Family::Digital,
        }
    }

    /// One of the 15 of the benchmark (not a held-out extra).
    pub fn is_standard(self) -> bool {
        Corruption::STANDARD.contains(&self)
    }

    /// Whether the result depends on the seed.
    pub fn is_random(self) -> bool {
        !matches!(
            self,
            Corruption::DefocusBlur
                | Corruption::ZoomBlur
                | Corruption::GaussianBlur
                | Corruption::Brightness
                | Corruption::Contrast
                | Corruption::Pixelate
                | Corruption::JpegCompression
                | Corruption::Saturate
        )
    }

    /// Whether it has pixel-sized parameters (kernels, textures, maps), so
    /// takes 32×32 images and 16×16 ones through them (crate docs, "Sizes").
    pub(crate) fn is_spatial(self) -> bool {
        !matches!(
            self,
            Corruption::GaussianNoise
                | Corruption::ShotNoise
                | Corruption::ImpulseNoise
                | Corruption::SpeckleNoise
                | Corruption::Brightness
                | Corruption::Contrast
                | Corruption::JpegCompression
                | Corruption::Saturate
        )
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Corruption {
    type Err = CorruptionError;

    fn from_str(name: &str) -> Result<Corruption, CorruptionError> {
        Corruption::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| CorruptionError::UnknownCorruption(name.to_string()))
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Noise => "noise",
            Family::Blur => "blur",
            Family::Weather => "weather",
            Family::Digital => "digital",
        })
    }
}

/// A severity level, 1 (mildest) to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Severity(u8);

impl Severity {
    /// 1 to 5.
    pub const ALL: [Severity; 5] = [Severity(1), Severity(2), Severity(3), Severity(4), Severity(5)];

    pub fn new(level: i64) -> Result<Severity, CorruptionError> {
        match level {
            1..=5 => Ok(Severity(level as u8)),
            _ => Err(CorruptionError::Severity(level)),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// 0 to 4: the index into the reference's parameter lists.
    pub(crate) fn index(self) -> usize {
        usize::from(self.0 - 1)
    }
}

impl TryFrom<i64> for Severity {
    type Error = CorruptionError;

    fn try_from(level: i64) -> Result<Severity, CorruptionError> {
        Severity::new(level)
    }
}

impl From<Severity> for u8 {
    fn from(severity: Severity) -> u8 {
        severity.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What cannot be corrupted, and why; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CorruptionError {
    #[error("severity {0} is out of range: severities are 1 to 5")]
    Severity(i64),
    #[error("unknown corruption `{0}`; the corruptions are: {list}", list = Corruption::ALL.map(Corruption::name).join(", "))]
    UnknownCorruption(String),
    #[error("{corruption} cannot corrupt a {height}x{width} image: {why}")]
    Size { corruption: Corruption, height: usize, width: usize, why: String },
    #[error("a {height}x{width} RGB image has {expected} bytes, not {got}")]
    Pixels { height: usize, width: usize, expected: usize, got: usize },
    #[error("cannot write the PNG: {0}")]
    Png(String),
}
