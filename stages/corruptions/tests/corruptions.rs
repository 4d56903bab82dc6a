//! Properties that need no reference: determinism, the seed's effect,
//! errors for bad input, the names, and the scaled 16×16 version.

use robbench_corruptions::{
    Corruption, CorruptionError, Family, Image, Severity, check_size, corrupt, corrupt_with_draws, grid_png,
    synthetic_images, throughput,
};

fn image(side: usize, k: u64) -> Image {
    synthetic_images(1, side, k).remove(0)
}

#[test]
fn same_inputs_give_the_same_bytes_on_any_thread() {
    let images = synthetic_images(2, 32, 5);
    let all = |images: &[Image]| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for image in images {
            for corruption in Corruption::ALL {
                for severity in Severity::ALL {
                    out.push(corrupt(image, corruption, severity, 42).unwrap().into_pixels());
                }
            }
        }
        out
    };
    let here = all(&images);
    // Other threads, run at once, in the reverse order: no shared state shows.
    let there: Vec<Vec<Vec<u8>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3).map(|_| scope.spawn(|| all(&images))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for other in there {
        assert!(other == here, "a corruption's bytes depend on the thread");
    }
    let mut reversed = images.clone();
    reversed.reverse();
    let mut again = all(&reversed);
    let half = again.len() / 2;
    again.rotate_left(half);
    assert!(again == here, "a corruption's bytes depend on what ran before");
}

#[test]
fn the_seed_changes_exactly_the_random_corruptions() {
    let img = image(32, 1);
    for corruption in Corruption::ALL {
        for severity in [Severity::ALL[0], Severity::ALL[4]] {
            // Four seeds: a motion blur's angle may by chance round to the same kernel twice.
            let outputs: std::collections::HashSet<Vec<u8>> =
                (1..=4).map(|seed| corrupt(&img, corruption, severity, seed).unwrap().into_pixels()).collect();
            let (_, draws) = corrupt_with_draws(&img, corruption, severity, 1).unwrap();
            assert_eq!(draws.is_empty(), !corruption.is_random(), "{corruption}");
            if corruption.is_random() {
                assert!(outputs.len() > 1, "{corruption} {severity}: the seed changed nothing");
            } else {
                assert_eq!(outputs.len(), 1, "{corruption} {severity}: the seed changed a deterministic corruption");
            }
        }
    }
    // The stream also depends on the image: equal seeds, different images, different noise.
    let other = image(32, 2);
    let noise = |img: &Image| {
        let clean = img.pixels();
        let noisy = corrupt(img, Corruption::GaussianNoise, Severity::ALL[2], 7).unwrap();
        noisy.pixels().iter().zip(clean).map(|(&a, &b)| i16::from(a) - i16::from(b)).collect::<Vec<_>>()
    };
    assert_ne!(noise(&img), noise(&other));
}

#[test]
fn every_corruption_changes_the_image_more_at_higher_severity() {
    let img = image(32, 3);
    for corruption in Corruption::ALL {
        let distance: Vec<f64> = Severity::ALL
            .iter()
            .map(|&s| {
                let out = corrupt(&img, corruption, s, 9).unwrap();
                out.pixels().iter().zip(img.pixels()).map(|(&a, &b)| f64::from(a.abs_diff(b))).sum::<f64>()
            })
            .collect();
        assert!(distance.iter().all(|&d| d > 0.0) || corruption == Corruption::Saturate, "{corruption}: {distance:?}");
        // Not monotone by design: saturate desaturates at 1-2 and saturates at
        // 3-5; elastic's affine part shrinks as its displacement grows;
        // frost, spatter and glass blur depend on their draws.
        let exempt = [
            Corruption::Saturate,
            Corruption::ElasticTransform,
            Corruption::Frost,
            Corruption::Spatter,
            Corruption::GlassBlur,
        ];
        if !exempt.contains(&corruption) {
            assert!(distance[4] > distance[0], "{corruption}: severity 5 is not worse than 1: {distance:?}");
        }
    }
}

#[test]
fn severities_outside_one_to_five_are_refused() {
    for bad in [0, 6, -1, 255] {
        let e = Severity::new(bad).unwrap_err();
        assert!(matches!(e, CorruptionError::Severity(b) if b == bad));
        assert_eq!(e.to_string(), format!("severity {bad} is out of range: severities are 1 to 5"));
    }
    assert_eq!(Severity::ALL.map(Severity::get), [1, 2, 3, 4, 5]);
    let e = serde_json::from_str::<Severity>("0").unwrap_err().to_string();
    assert!(e.contains("severity 0 is out of range"), "{e}");
    assert!(serde_json::from_str::<Severity>("6").is_err());
    assert_eq!(serde_json::from_str::<Severity>("3").unwrap().get(), 3);
}

#[test]
fn names_round_trip_and_unknown_names_list_the_valid_ones() {
    for corruption in Corruption::ALL {
        let json = serde_json::to_string(&corruption).unwrap();
        assert_eq!(json, format!("\"{}\"", corruption.name()));
        assert_eq!(serde_json::from_str::<Corruption>(&json).unwrap(), corruption);
        assert_eq!(corruption.name().parse::<Corruption>().unwrap(), corruption);
    }
    let e = serde_json::from_str::<Corruption>("\"gaussian\"").unwrap_err().to_string();
    assert!(e.contains("unknown variant `gaussian`") && e.contains("gaussian_noise") && e.contains("saturate"), "{e}");
    let e = "fog2".parse::<Corruption>().unwrap_err().to_string();
    assert!(e.contains("unknown corruption `fog2`") && e.contains("elastic_transform"), "{e}");
}

#[test]
fn the_sets_and_families_are_the_papers() {
    assert_eq!(Corruption::ALL.len(), 19);
    assert_eq!(Corruption::STANDARD, Corruption::ALL[..15]);
    let extras: Vec<_> = Corruption::ALL.iter().filter(|c| !c.is_standard()).map(|c| (c.name(), c.family())).collect();
    assert_eq!(
        extras,
        [
            ("speckle_noise", Family::Noise),
            ("gaussian_blur", Family::Blur),
            ("spatter", Family::Weather),
            ("saturate", Family::Digital)
        ]
    );
    let count = |f: Family| Corruption::STANDARD.iter().filter(|c| c.family() == f).count();
    assert_eq!([Family::Noise, Family::Blur, Family::Weather, Family::Digital].map(count), [3, 4, 4, 4]);
}

#[test]
fn sizes_a_corruption_cannot_scale_to_are_refused_by_name() {
    let e = check_size(Corruption::Fog, 24, 24).unwrap_err().to_string();
    assert_eq!(
        e,
        "fog cannot corrupt a 24x24 image: its pixel-sized parameters are defined for 32x32 images (CIFAR) and 16x16 ones (via 32x32)"
    );
    let e = corrupt(&Image::new(32, 16, vec![0; 32 * 16 * 3]).unwrap(), Corruption::ZoomBlur, Severity::ALL[0], 0)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("zoom_blur cannot corrupt a 32x16 image: "), "{e}");
    let e = check_size(Corruption::GlassBlur, 64, 64).unwrap_err().to_string();
    assert!(e.starts_with("glass_blur cannot corrupt a 64x64 image"), "{e}");
    let e = check_size(Corruption::GaussianNoise, 0, 4).unwrap_err().to_string();
    assert_eq!(e, "gaussian_noise cannot corrupt a 0x4 image: the image is empty");
    // Pixel-wise corruptions take any shape.
    let wide = Image::new(5, 7, (0..105).map(|i| (i * 2) as u8).collect()).unwrap();
    for corruption in
        [Corruption::GaussianNoise, Corruption::Contrast, Corruption::JpegCompression, Corruption::Saturate]
    {
        let out = corrupt(&wide, corruption, Severity::ALL[2], 0).unwrap();
        assert_eq!((out.height(), out.width()), (5, 7));
    }
    let e = Image::new(2, 2, vec![0; 11]).unwrap_err().to_string();
    assert_eq!(e, "a 2x2 RGB image has 12 bytes, not 11");
}

#[test]
fn imagenet16_images_get_the_scaled_corruptions() {
    let small = image(16, 4);
    let big = image(32, 4);
    for corruption in Corruption::ALL {
        for severity in Severity::ALL {
            let out = corrupt(&small, corruption, severity, 3).unwrap();
            assert_eq!((out.height(), out.width()), (16, 16));
            assert_eq!(out, corrupt(&small, corruption, severity, 3).unwrap());
        }
    }
    // Through 32×32, blurs change a 16×16 image about as much as a 32×32
    // one: the mean change per value stays within a factor of three.
    let mean_change = |img: &Image, c: Corruption| {
        let out = corrupt(img, c, Severity::ALL[4], 1).unwrap();
        let n = out.pixels().len() as f64;
        out.pixels().iter().zip(img.pixels()).map(|(&a, &b)| f64::from(a.abs_diff(b))).sum::<f64>() / n
    };
    for c in [Corruption::GaussianBlur, Corruption::DefocusBlur, Corruption::MotionBlur, Corruption::Pixelate] {
        let (s, b) = (mean_change(&small, c), mean_change(&big, c));
        assert!(s > 0.0 && s < 3.0 * b && b < 3.0 * s, "{c}: 16×16 {s}, 32×32 {b}");
    }
}

#[test]
fn draws_are_the_replayable_record() {
    let img = image(32, 6);
    let (out, draws) = corrupt_with_draws(&img, Corruption::GlassBlur, Severity::ALL[3], 11).unwrap();
    assert_eq!(out, corrupt(&img, Corruption::GlassBlur, Severity::ALL[3], 11).unwrap());
    // Two passes over rows and columns 31..=2, two integers in [-1, 0) each.
    let json = serde_json::to_value(&draws).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["kind"], "randint");
    let values = json[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2 * 30 * 30 * 2);
    assert!(values.iter().all(|v| [-1, 0].contains(&v.as_i64().unwrap())));
}

#[test]
fn the_grid_and_the_benchmark_run() {
    let img = image(16, 8);
    let png = grid_png(&img, 0, 2).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let t = throughput(&synthetic_images(2, 16, 0), 0).unwrap();
    assert_eq!((t.images, t.outputs, t.per_corruption.len()), (2, 2 * 19 * 5, 19));
    assert!(t.seconds > 0.0 && t.outputs_per_second() > 0.0);
}
