//! The frost textures of hendrycks/robustness, shipped byte-identical in
//! `data/cifar10-c-frost/` (provenance and licence in its README.md) and
//! decoded once.
//!
//! The reference reads them with `cv2.imread` (colour: a PNG's alpha is
//! dropped, a JPEG decoded by libjpeg-turbo). PNG decoding is exact; the
//! JPEG decoder here (zune-jpeg) rounds its inverse DCT and chroma
//! upsampling differently from libjpeg-turbo, so texels of frost4.jpg and
//! frost5.jpg may differ from OpenCV's by a few levels. `frost6.jpg` is
//! shipped but never used: the reference picks `np.random.randint(5)`,
//! i.e. one of the first five.

use std::io::Cursor;
use std::sync::OnceLock;

/// A decoded texture, RGB bytes, row-major.
pub(crate) struct Texture {
    pub(crate) height: usize,
    pub(crate) width: usize,
    pub(crate) rgb: Vec<u8>,
}

macro_rules! frost_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/cifar10-c-frost/", $name))
    };
}

/// The textures the reference chooses from, in its order.
pub(crate) fn textures() -> &'static [Texture; 5] {
    static TEXTURES: OnceLock<[Texture; 5]> = OnceLock::new();
    TEXTURES.get_or_init(|| {
        [
            png_rgb(frost_file!("frost1.png")),
            png_rgb(frost_file!("frost2.png")),
            png_rgb(frost_file!("frost3.png")),
            jpeg_rgb(frost_file!("frost4.jpg")),
            jpeg_rgb(frost_file!("frost5.jpg")),
        ]
    })
}

/// An 8-bit RGB or RGBA PNG as RGB (alpha dropped, as `cv2.imread` does).
fn png_rgb(bytes: &[u8]) -> Texture {
    let mut reader = png::Decoder::new(Cursor::new(bytes)).read_info().expect("a shipped frost PNG decodes");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a frost PNG's size fits memory")];
    let info = reader.next_frame(&mut buffer).expect("a shipped frost PNG decodes");
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "frost PNGs are 8-bit");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("frost PNGs are RGB or RGBA, not {other:?}"),
    };
    let rgb = buffer[..info.buffer_size()].chunks_exact(channels).flat_map(|p| [p[0], p[1], p[2]]).collect();
    Texture { height: info.height as usize, width: info.width as usize, rgb }
}

fn jpeg_rgb(bytes: &[u8]) -> Texture {
    let mut decoder = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(bytes));
    let rgb = decoder.decode().expect("a shipped frost JPEG decodes");
    let info = decoder.info().expect("decoded JPEGs have a header");
    Texture { height: usize::from(info.height), width: usize::from(info.width), rgb }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_match_the_hashes_their_readme_records() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/cifar10-c-frost");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let files = [
            "make_cifar_c.py",
            "frost1.png",
            "frost2.png",
            "frost3.png",
            "frost4.jpg",
            "frost5.jpg",
            "frost6.jpg",
            "LICENSE",
        ];
        for name in files {
            let hash = blake3::hash(&std::fs::read(dir.join(name)).unwrap()).to_hex();
            let row = readme.lines().find(|l| l.starts_with(&format!("| `{name}`")));
            let row = row.unwrap_or_else(|| panic!("README.md has no row for {name}"));
            assert!(row.contains(&hash[..16]), "{name}: blake3 {} is not the one README.md records", &hash[..16]);
        }
    }

    #[test]
    fn the_textures_have_the_published_sizes() {
        let sizes: Vec<(usize, usize)> = textures().iter().map(|t| (t.height, t.width)).collect();
        assert_eq!(sizes, [(600, 900), (315, 560), (315, 560), (350, 527), (495, 660)]);
        assert!(textures().iter().all(|t| t.rgb.len() == t.height * t.width * 3));
    }
}
