//! PNG encoding and writing, and number formatting.

use amva_draw::{encode_png, format_number, write_png_atomic, RgbImage};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn png_round_trips_exactly_with_its_dimensions() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let img = RgbImage::from_fn(37, 19, |_, _| image::Rgb(rng.random::<[u8; 3]>()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.png");
    write_png_atomic(&path, &img).unwrap();
    let back = image::open(&path).unwrap().to_rgb8();
    assert_eq!(back.dimensions(), (37, 19));
    assert_eq!(back, img);
    assert_eq!(std::fs::read(&path).unwrap(), encode_png(&img).unwrap());
}

#[test]
fn png_write_leaves_only_the_target_and_reports_failures_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("figure.png");
    let (a, b) = (
        RgbImage::from_pixel(2, 2, image::Rgb([1, 2, 3])),
        RgbImage::from_pixel(3, 1, image::Rgb([4, 5, 6])),
    );
    write_png_atomic(&path, &a).unwrap();
    write_png_atomic(&path, &b).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), encode_png(&b).unwrap());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // The target is a directory: the rename fails, the temporary is cleaned up.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("keep"), b"k").unwrap();
    let e = write_png_atomic(&sub, &a).unwrap_err();
    assert!(e.to_string().contains("sub"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn format_number_examples() {
    for (x, s) in [
        (0.123456, "0.1235"),
        (1.0, "1.000"),
        (12.5, "12.50"),
        (1234.56, "1235"),
        // Exact ties round to even, like Rust's and numpy's formatting.
        (1234.5, "1234"),
        (99999.0, "99999"),
        (9.99996, "10.00"),
        (-0.5, "-0.5000"),
        (0.001, "0.001000"),
        (0.000123456, "1.235e-4"),
        (123456.0, "1.235e5"),
        (0.0, "0"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        assert_eq!(format_number(x, 4), s, "format_number({x})");
    }
    assert_eq!(format_number(0.123456, 2), "0.12");
}

proptest! {
    /// The text parses back to the number within rounding to 4 significant digits.
    #[test]
    fn format_number_keeps_four_significant_digits(m in 1.0f64..10.0, e in -8i32..9, neg: bool) {
        let x = if neg { -m } else { m } * 10f64.powi(e);
        let s = format_number(x, 4);
        let back: f64 = s.parse().unwrap();
        prop_assert!(((back - x) / x).abs() <= 5.0001e-4, "{x} -> {s}");
    }
}
