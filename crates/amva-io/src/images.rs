//! Image lists (a folder, or a CSV/TSV with a path column) and decoding with limits.
//!
//! Image ids are paths relative to the list's root with `/` separators, so they are the
//! same on every platform and in every output file.

use crate::{Error, Result};
use image::RgbImage;
use std::path::{Path, PathBuf};

/// File endings that are read as images when listing a folder.
pub const IMAGE_EXTENSIONS: [&str; 10] = [
    "jpg", "jpeg", "png", "pgm", "ppm", "pnm", "bmp", "tif", "tiff", "webp",
];

/// One image of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageItem {
    /// Path relative to the root, `/`-separated.
    pub id: String,
    /// Where to read it.
    pub path: PathBuf,
}

/// A sorted list of images under one root.
#[derive(Debug, Clone, Default)]
pub struct ImageList {
    pub root: PathBuf,
    pub items: Vec<ImageItem>,
    /// Files of a listed folder that are not read, with why (hidden, or not an image
    /// type), sorted by id: commands list them beside the images that failed.
    pub skipped: Vec<(String, String)>,
}

impl ImageList {
    /// A folder (recursive, sorted by id), a CSV/TSV list file, or one image file.
    pub fn open(spec: &Path) -> Result<Self> {
        let meta = std::fs::metadata(spec).map_err(|e| Error::io(spec, e))?;
        if meta.is_dir() {
            Self::from_dir(spec)
        } else if has_image_extension(spec) {
            Ok(Self::single(spec))
        } else {
            Self::from_list_file(spec)
        }
    }

    /// One image: its folder is the root, its file name the id.
    fn single(path: &Path) -> Self {
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        ImageList {
            items: vec![ImageItem {
                id: relative_id(&root, path),
                path: path.to_path_buf(),
            }],
            root,
            skipped: Vec::new(),
        }
    }

    /// Every image file below `root`, sorted by id. Hidden files are skipped. Symbolic
    /// links are followed, but each real folder is entered once and each real file listed
    /// once (under its first id in walking order), so link loops cannot hang the walk.
    pub fn from_dir(root: &Path) -> Result<Self> {
        let canon = |p: &Path| std::fs::canonicalize(p).map_err(|e| Error::io(p, e));
        let mut seen_dirs = std::collections::HashSet::from([canon(root)?]);
        let mut found = Vec::new();
        let mut skipped = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let mut entries = std::fs::read_dir(&dir)
                .map_err(|e| Error::io(&dir, e))?
                .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(&dir, e)))
                .collect::<Result<Vec<_>>>()?;
            entries.retain(|p| {
                let hidden = p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                if hidden {
                    let what = if p.is_dir() { "folder" } else { "file" };
                    skipped.push((relative_id(root, p), format!("hidden {what}: not read")));
                }
                !hidden
            });
            // Sorted, so that which id a linked folder or file keeps does not depend on
            // the file system: the first in id order.
            entries.sort();
            let mut subdirs = Vec::new();
            for path in entries {
                if path.is_dir() {
                    if seen_dirs.insert(canon(&path)?) {
                        subdirs.push(path);
                    }
                } else if has_image_extension(&path) {
                    // A dangling link is kept: reading it then fails with its name.
                    let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                    found.push((real, path));
                } else {
                    skipped.push((relative_id(root, &path), not_an_image(&path)));
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        let mut items: Vec<_> = found
            .into_iter()
            .map(|(real, path)| {
                (
                    real,
                    ImageItem {
                        id: relative_id(root, &path),
                        path,
                    },
                )
            })
            .collect();
        items.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        let mut seen_files = std::collections::HashSet::new();
        items.retain(|(real, _)| seen_files.insert(real.clone()));
        skipped.sort();
        Ok(ImageList {
            root: root.to_path_buf(),
            items: items.into_iter().map(|(_, it)| it).collect(),
            skipped,
        })
    }

    /// One line on the files of the folder that were not read, if any (at most five
    /// named, with why).
    pub fn skipped_note(&self) -> Option<String> {
        let n = self.skipped.len();
        (n > 0).then(|| {
            let shown = self
                .skipped
                .iter()
                .map(|(id, why)| format!("{id} ({})", why.split(':').next().unwrap_or(why)));
            format!(
                "{n} files in {} are not read (listed in the run's failed.csv): {}; amva reads {}",
                self.root.display(),
                crate::image_notes::first_few(shown, n, 5),
                IMAGE_EXTENSIONS.join(", ")
            )
        })
    }

    /// A CSV (or, for `.tsv`/`.txt` with tabs, TSV) file with a header. The path column is
    /// the one named `path`, `image`, `img`, `file`, `relpath` or `filename`, else the first.
    /// Relative paths are taken relative to the list file's folder, which is the root.
    pub fn from_list_file(list: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(list).map_err(|e| Error::io(list, e))?;
        let mut rdr = crate::table::delimited(&text).from_reader(text.as_bytes());
        let bad = |reason: String| Error::List {
            path: list.to_path_buf(),
            reason,
        };
        let headers = rdr.headers().map_err(|e| bad(e.to_string()))?.clone();
        let col = ["path", "image", "img", "file", "relpath", "filename"]
            .iter()
            .find_map(|n| {
                headers
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(n))
            })
            .unwrap_or(0);
        let root = list.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut items = Vec::new();
        for (line, rec) in crate::table::strict_rows(&mut rdr, &text) {
            let rec = rec.map_err(|e| bad(format!("line {line}: {e}")))?;
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let raw = rec.get(col).map(str::trim).unwrap_or("");
            if raw.is_empty() {
                return Err(bad(format!(
                    "line {line}: empty path in column '{}'",
                    &headers[col]
                )));
            }
            let p = Path::new(raw);
            let path = if p.is_absolute() {
                p.to_path_buf()
            } else {
                root.join(p)
            };
            let id = if p.is_absolute() {
                relative_id(&root, p)
            } else {
                raw.replace('\\', "/")
            };
            items.push(ImageItem { id, path });
        }
        Ok(ImageList {
            root,
            items,
            skipped: Vec::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The deterministic `i`-th of `n` shards (1-based `i`): every n-th image from i-1.
    pub fn shard(&self, i: usize, n: usize) -> ImageList {
        let items = self.items.iter().skip(i - 1).step_by(n).cloned().collect();
        ImageList {
            root: self.root.clone(),
            items,
            skipped: self.skipped.clone(),
        }
    }
}

/// Why a file of a folder is not read as an image.
fn not_an_image(p: &Path) -> String {
    let ext = p.extension().map_or("no extension".into(), |e| {
        format!(".{}", e.to_string_lossy())
    });
    format!("not an image type, {ext}: not read")
}

fn has_image_extension(p: &Path) -> bool {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

fn relative_id(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Most pixels accepted in one image (64 Mpx: a 9000 x 7000 photo fits).
pub const MAX_PIXELS: u64 = 64_000_000;
/// Most bytes the decoder may allocate for one image (64 Mpx of 8-bit RGBA is 256 MiB).
pub const MAX_ALLOC: u64 = 320 << 20;

/// Decoding limits against hostile files (see [`MAX_SIDE`], [`MAX_ALLOC`]).
pub fn decode_limits() -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_ALLOC);
    l
}

/// An image that decoded, and what was wrong with its file if something was (a
/// truncated JPEG decodes with the missing part grey: usable, but not silently).
#[derive(Debug, Clone)]
pub struct Decoded {
    pub image: RgbImage,
    /// Damage the decoder forgave (refused with `--strict`).
    pub warning: Option<String>,
    /// The EXIF orientation applied, if the file had one (not damage: listed beside it).
    pub turned: Option<String>,
}

impl Decoded {
    /// What to list in warnings.csv for this image: its damage and its orientation.
    pub fn notes(&self) -> Option<String> {
        match (&self.warning, &self.turned) {
            (Some(w), Some(t)) => Some(format!("{w}; {t}")),
            (w, t) => w.clone().or_else(|| t.clone()),
        }
    }
}

/// Reads any supported image as 8-bit RGB (greyscale expanded, alpha dropped).
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    Ok(load_checked(path)?.image)
}

/// Like [`load_rgb`], with a warning when the file is damaged but decodes.
pub fn load_checked(path: &Path) -> Result<Decoded> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_checked(&bytes, path)
}

/// Decodes image bytes (format guessed from content) as 8-bit RGB; `path` names it in errors.
pub fn decode_rgb(bytes: &[u8], path: &Path) -> Result<RgbImage> {
    Ok(decode_checked(bytes, path)?.image)
}

/// Decodes image bytes with the size checked from the header first, so a small file
/// declaring a huge image is refused before anything is allocated.
pub fn decode_checked(bytes: &[u8], path: &Path) -> Result<Decoded> {
    let reader = || -> Result<_> {
        let mut r = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Error::io(path, e))?;
        r.limits(decode_limits());
        Ok(r)
    };
    let bad = |reason: String| Error::Decode {
        path: path.into(),
        reason,
    };
    let format = reader()?
        .format()
        .ok_or_else(|| bad("not a recognised image format".into()))?;
    let (w, h) = reader()?
        .into_dimensions()
        .map_err(|e| bad(e.to_string()))?;
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(bad(format!(
            "the header declares {w}x{h} pixels; expected at most {MAX_SIDE} a side and {} megapixels",
            MAX_PIXELS / 1_000_000
        )));
    }
    let (img, turned) = decode_upright(reader()?).map_err(|e| bad(e.to_string()))?;
    Ok(Decoded {
        image: img.to_rgb8(),
        warning: damage(format, bytes),
        turned,
    })
}

/// Decodes with the EXIF orientation applied (a phone photo stored sideways comes out
/// upright, as every viewer shows it), and says which tag was applied.
fn decode_upright<R: std::io::BufRead + std::io::Seek>(
    reader: image::ImageReader<R>,
) -> image::ImageResult<(image::DynamicImage, Option<String>)> {
    use image::metadata::Orientation;
    use image::ImageDecoder;
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder)?;
    if orientation == Orientation::NoTransforms {
        return Ok((img, None));
    }
    img.apply_orientation(orientation);
    let note = format!(
        "EXIF orientation {} ({orientation:?}) applied: decoded upright",
        orientation.to_exif()
    );
    Ok((img, Some(note)))
}

/// Damage a decoder forgives: a JPEG cut short, which has no end-of-image marker
/// after its last scan (entropy-coded data cannot hold one: 0xFF is stuffed there).
/// Data after the marker (some cameras append some) is not damage.
fn damage(format: image::ImageFormat, bytes: &[u8]) -> Option<String> {
    if format != image::ImageFormat::Jpeg {
        return None;
    }
    let find_last = |m: [u8; 2]| bytes.windows(2).rposition(|w| w == m);
    let scan = find_last([0xFF, 0xDA]).unwrap_or(0);
    match find_last([0xFF, 0xD9]) {
        Some(end) if end > scan => None,
        _ => Some(format!(
            "truncated JPEG: no end-of-image marker after {} bytes; the missing part decodes grey",
            bytes.len()
        )),
    }
}

/// Returns `img` at exactly `w` x `h`: unchanged if it already is, bilinearly resized
/// if `resize` is allowed, else an error naming the image and both sizes.
pub fn fit(img: RgbImage, w: u32, h: u32, resize: bool, path: &Path) -> Result<RgbImage> {
    if img.dimensions() == (w, h) {
        Ok(img)
    } else if resize {
        Ok(image::imageops::resize(
            &img,
            w,
            h,
            image::imageops::FilterType::Triangle,
        ))
    } else {
        let (got_w, got_h) = img.dimensions();
        Err(Error::WrongSize {
            path: path.into(),
            got_w,
            got_h,
            want_w: w,
            want_h: h,
        })
    }
}

/// Loads and fits one image (see [`load_rgb`] and [`fit`]).
pub fn load_fitted(path: &Path, w: u32, h: u32, resize: bool) -> Result<RgbImage> {
    fit(load_rgb(path)?, w, h, resize, path)
}

/// Loads and fits one image, keeping the damage warning (see [`load_checked`]).
pub fn load_fitted_checked(path: &Path, w: u32, h: u32, resize: bool) -> Result<Decoded> {
    let d = load_checked(path)?;
    Ok(Decoded {
        image: fit(d.image, w, h, resize, path)?,
        ..d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26, row 11: a .gif and a dot-file in an image folder were left out without
    /// a word; now they are kept in the list's `skipped`, with why, and in one note.
    #[test]
    fn files_left_out_of_a_folder_are_kept_with_why() {
        let dir = tempfile::tempdir().unwrap();
        RgbImage::new(4, 4).save(dir.path().join("a.png")).unwrap();
        std::fs::write(dir.path().join("b.gif"), b"GIF89a").unwrap();
        std::fs::write(dir.path().join(".DS_Store"), b"x").unwrap();
        let list = ImageList::from_dir(dir.path()).unwrap();
        assert_eq!(list.items.len(), 1);
        let ids: Vec<&str> = list.skipped.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, [".DS_Store", "b.gif"]);
        assert!(list.skipped[1].1.contains(".gif"), "{:?}", list.skipped);
        let note = list.skipped_note().unwrap();
        assert!(
            note.starts_with("2 files in") && note.contains("b.gif (not an image type, .gif)"),
            "{note}"
        );
    }

    /// A JPEG whose EXIF orientation tag is `tag` (a little-endian TIFF block with one
    /// IFD entry), of a 16 x 8 image: left half red, right half blue.
    fn jpeg_with_orientation(tag: u16) -> Vec<u8> {
        use image::ImageEncoder;
        let img = RgbImage::from_fn(16, 8, |x, _| {
            image::Rgb(if x < 8 { [250, 0, 0] } else { [0, 0, 250] })
        });
        let mut exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
        exif.extend_from_slice(&tag.to_le_bytes());
        exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut out = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
        enc.set_exif_metadata(exif).unwrap();
        enc.write_image(img.as_raw(), 16, 8, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    /// Issue 26, row 2: a photo stored sideways with EXIF orientation 6 decoded sideways.
    #[test]
    fn the_exif_orientation_is_applied_and_said() {
        let p = Path::new("phone.jpg");
        let d = decode_checked(&jpeg_with_orientation(6), p).unwrap();
        // 6: rotate 90 degrees clockwise; the left (red) half becomes the top.
        assert_eq!(d.image.dimensions(), (8, 16));
        assert!(d.image.get_pixel(4, 2)[0] > 200 && d.image.get_pixel(4, 13)[2] > 200);
        let turned = d.turned.clone().unwrap();
        assert!(turned.contains("EXIF orientation 6"), "{turned}");
        assert_eq!(d.warning, None, "an orientation is not damage");
        assert_eq!(d.notes(), Some(turned));
        let upright = decode_checked(&jpeg_with_orientation(1), p).unwrap();
        assert_eq!(
            (upright.image.dimensions(), upright.turned),
            ((16, 8), None)
        );
    }

    #[test]
    fn greyscale_is_expanded_to_three_equal_channels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.pgm");
        let grey = image::GrayImage::from_fn(4, 3, |x, y| image::Luma([(x * 40 + y * 7) as u8]));
        grey.save(&p).unwrap();
        let rgb = load_rgb(&p).unwrap();
        assert_eq!(rgb.dimensions(), (4, 3));
        for (x, y, px) in rgb.enumerate_pixels() {
            let g = grey.get_pixel(x, y)[0];
            assert_eq!(px.0, [g, g, g]);
        }
    }

    #[test]
    fn corrupt_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("broken.jpg");
        std::fs::write(&p, b"\xFF\xD8\xFF\xE0 not really a jpeg").unwrap();
        let err = load_rgb(&p).unwrap_err().to_string();
        assert!(err.contains("broken.jpg"), "{err}");
        let q = dir.path().join("text.png");
        std::fs::write(&q, b"hello").unwrap();
        assert!(load_rgb(&q).unwrap_err().to_string().contains("text.png"));
    }

    #[test]
    fn wrong_size_is_an_error_unless_resize() {
        let img = RgbImage::from_pixel(50, 40, image::Rgb([10, 20, 30]));
        let err = fit(img.clone(), 112, 112, false, Path::new("a/b.png"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a/b.png")
                && err.contains("50x40")
                && err.contains("112x112")
                && err.contains("--resize"),
            "{err}"
        );
        let ok = fit(img, 112, 112, true, Path::new("a/b.png")).unwrap();
        assert_eq!(ok.dimensions(), (112, 112));
        assert_eq!(ok.get_pixel(56, 56).0, [10, 20, 30]);
    }

    #[test]
    fn folder_listing_is_recursive_sorted_and_relative() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        for p in ["b/c/z.png", "a.JPG", "b/y.webp", "notes.txt", ".hidden.png"] {
            std::fs::write(dir.path().join(p), b"").unwrap();
        }
        let list = ImageList::from_dir(dir.path()).unwrap();
        let ids: Vec<_> = list.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a.JPG", "b/c/z.png", "b/y.webp"]);
    }

    #[test]
    fn list_file_finds_path_column_and_names_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("list.tsv");
        std::fs::write(&p, "identity\timage\nx\tp/1.jpg\ny\tp/2.jpg\n").unwrap();
        let list = ImageList::open(&p).unwrap();
        assert_eq!(list.items[1].id, "p/2.jpg");
        assert_eq!(list.items[1].path, dir.path().join("p/2.jpg"));
        std::fs::write(&p, "identity\timage\nx\t\n").unwrap();
        let err = ImageList::open(&p).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("list.tsv"), "{err}");
    }

    #[test]
    fn shards_partition_the_list() {
        let items = (0..10)
            .map(|i| ImageItem {
                id: format!("{i:02}"),
                path: PathBuf::new(),
            })
            .collect();
        let list = ImageList {
            root: PathBuf::new(),
            items,
            ..Default::default()
        };
        let mut all: Vec<String> = (1..=3)
            .flat_map(|i| list.shard(i, 3).items)
            .map(|i| i.id)
            .collect();
        all.sort();
        assert_eq!(
            all,
            list.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>()
        );
    }
}
