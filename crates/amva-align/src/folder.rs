//! `amva align` as one call: every image of a list aligned on all cores, its crops (and
//! previews) written under the output folder at the images' relative paths, and the
//! record of every face ([`write_faces_csv`]).

use crate::landmarks_csv::LandmarkTable;
use crate::{AlignError, AlignOptions, AlignedFace, Aligner, FaceSearch, Result};
use amva_io::images::{ImageItem, ImageList};
use image::RgbImage;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Where the five points come from.
pub enum Source {
    /// The detector and landmark models.
    Detector(Box<Aligner>),
    /// Given landmarks (`--landmarks`).
    Given(LandmarkTable),
}

/// What a folder run is asked besides the alignment itself.
pub struct FolderOptions<'a> {
    /// Crops, previews and tables go here.
    pub out: &'a Path,
    /// Also write `preview/<image>.jpg` with boxes and landmarks drawn.
    pub preview: bool,
    /// The alignment (crop size, all faces, detector thresholds).
    pub align: AlignOptions,
}

/// One line of faces.csv.
pub struct FaceRow {
    /// The image's id.
    pub image: String,
    /// The crop's path, relative to the output folder.
    pub crop: String,
    /// The face.
    pub face: AlignedFace,
}

/// What happened to all input images.
#[derive(Default)]
pub struct Aligned {
    /// faces.csv, in the images' order.
    pub rows: Vec<FaceRow>,
    /// (image, why) of the images with no crop.
    pub failed: Vec<(String, String)>,
    /// Faces skipped for being too small.
    pub too_small: usize,
    /// (image, what): damage the decoder forgave and EXIF rotations applied
    /// (warnings.csv).
    pub warnings: Vec<(String, String)>,
}

impl Aligned {
    /// Mean RMS distance of the mapped points from the template, in crop pixels (0 when
    /// no face was aligned).
    pub fn mean_residual(&self) -> f64 {
        if self.rows.is_empty() {
            return 0.0;
        }
        self.rows.iter().map(|r| r.face.residual).sum::<f64>() / self.rows.len() as f64
    }
}

/// What happened to one input image.
#[derive(Default)]
struct ItemResult {
    rows: Vec<FaceRow>,
    failed: Option<String>,
    too_small: usize,
    warning: Option<String>,
}

/// Aligns every image of `list` on all cores and writes its crops (and previews).
/// `done()` follows each image. Failures that concern one image (unreadable, no face, no
/// landmarks) are listed in [`Aligned::failed`]; write errors stop the run.
pub fn align_list(
    list: &ImageList,
    source: &Source,
    opts: &FolderOptions<'_>,
    done: &(dyn Fn() + Sync),
) -> Result<Aligned> {
    let results: Vec<Result<ItemResult>> = list
        .items
        .par_iter()
        .map(|item| {
            let r = process(item, source, opts);
            done();
            r
        })
        .collect();
    let mut all = Aligned::default();
    for (item, r) in list.items.iter().zip(results) {
        let r = r.map_err(|e| AlignError::Item {
            id: item.id.clone(),
            source: Box::new(e),
        })?;
        if let Some(why) = r.failed {
            all.failed.push((item.id.clone(), why));
        }
        if let Some(what) = r.warning {
            all.warnings.push((item.id.clone(), what));
        }
        all.too_small += r.too_small;
        all.rows.extend(r.rows);
    }
    Ok(all)
}

/// Aligns one image and writes its crops (and preview).
fn process(item: &ImageItem, source: &Source, opts: &FolderOptions<'_>) -> Result<ItemResult> {
    let mut res = ItemResult::default();
    let img = match amva_io::images::load_checked(&item.path) {
        Ok(d) => {
            res.warning = d.notes();
            d.image
        }
        Err(e) => {
            res.failed = Some(format!("unreadable: {e}"));
            return Ok(res);
        }
    };
    let found = match find(&img, &item.id, source, &opts.align)? {
        Ok(found) => found,
        Err(why) => {
            res.failed = Some(why);
            return Ok(res);
        }
    };
    res.too_small = found.too_small.len();
    if found.faces.is_empty() {
        res.failed = Some(no_face(&found, &opts.align));
    }
    if opts.preview {
        let view = crate::draw::preview(&img, &found)?;
        let rel = Path::new("preview")
            .join(inside_out(&item.id))
            .with_extension("jpg");
        write_image(&opts.out.join(&rel), &view, "jpg", 90)?;
    }
    for face in found.faces {
        let crop = crop_id(&item.id, opts.align.all_faces.then_some(face.index));
        let ext = Path::new(&crop)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        write_image(&opts.out.join(&crop), &face.image, &ext, 95)?;
        res.rows.push(FaceRow {
            image: item.id.clone(),
            crop,
            face,
        });
    }
    Ok(res)
}

/// The faces of one image from `source`: `Ok(Err(why))` when the image's landmarks are
/// missing or unusable.
fn find(
    img: &RgbImage,
    id: &str,
    source: &Source,
    opts: &AlignOptions,
) -> Result<std::result::Result<FaceSearch, String>> {
    let table = match source {
        Source::Detector(aligner) => return Ok(Ok(aligner.search(img)?)),
        Source::Given(table) => table,
    };
    Ok(match table.get(id) {
        None => Err("not in the --landmarks file".into()),
        Some(None) => Err("no landmarks (empty field in the --landmarks file)".into()),
        Some(Some(pts)) => match crate::align_with_landmarks(img, &pts, opts.size) {
            Ok(face) => Ok(FaceSearch {
                faces: vec![face],
                too_small: vec![],
            }),
            Err(e) => Err(format!("landmarks unusable: {e}")),
        },
    })
}

/// Why an image gave no crop: its largest too-small face, or no face at all.
fn no_face(found: &FaceSearch, opts: &AlignOptions) -> String {
    let largest = found
        .too_small
        .iter()
        .map(|d| d.bbox.height())
        .fold(None, |m: Option<f32>, h| Some(m.map_or(h, |m| m.max(h))));
    match largest {
        Some(h) => format!(
            "face too small: {h:.0} px high, below --min-face {}",
            opts.min_face
        ),
        None => "no face found".into(),
    }
}

/// The crop's id: the image's id, with `_face<k>` before the extension for all-faces runs.
pub fn crop_id(id: &str, face: Option<usize>) -> String {
    let id = inside_out(id);
    let Some(k) = face else { return id };
    match id.rfind('.').filter(|&dot| !id[dot..].contains('/')) {
        Some(dot) => format!("{}_face{k}{}", &id[..dot], &id[dot..]),
        None => format!("{id}_face{k}"),
    }
}

/// An image id as a path that stays inside the output folder: ids from a list file can
/// be absolute or climb with `..`, and joined as they are they would write over the
/// source images. Keeps the plain components only ("/data/a/../b.jpg" -> "data/a/b.jpg").
fn inside_out(id: &str) -> String {
    Path::new(&id.replace('\\', "/"))
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Encodes by extension (JPEG at `quality`) and writes under a temporary name, then
/// renames: readers never see half a crop. Unlike `write_atomic` there is no fsync:
/// with thousands of small crops it made the run I/O-bound, and a crop lost in a
/// crash is simply made again by the next run.
fn write_image(path: &Path, img: &RgbImage, ext: &str, quality: u8) -> Result<()> {
    let bytes = crate::encode::encode_image(img, ext, quality)?;
    let io = |path: PathBuf| move |source| AlignError::Io { path, source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir.into()))?;
    }
    let tmp = amva_io::atomic::temp_path(path);
    std::fs::write(&tmp, &bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(path.into())(e)
        })
}

/// Writes faces.csv: per face its image, index, detector box and score, the five points
/// in the photo, the residual and the crop's path (usable as an image list).
pub fn write_faces_csv(path: &Path, rows: &[FaceRow]) -> Result<()> {
    let csv_err = |e: csv::Error| AlignError::Io {
        path: path.into(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["image", "face", "x1", "y1", "x2", "y2", "score"];
    head.extend([
        "leye_x", "leye_y", "reye_x", "reye_y", "nose_x", "nose_y", "lmouth_x", "lmouth_y",
        "rmouth_x", "rmouth_y",
    ]);
    head.extend(["residual", "path"]);
    w.write_record(&head).map_err(csv_err)?;
    for r in rows {
        w.write_record(face_record(r)).map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| csv_err(e.into_error().into()))?;
    Ok(amva_io::atomic::write_atomic(path, &bytes)?)
}

/// One face's fields of faces.csv.
fn face_record(r: &FaceRow) -> Vec<String> {
    let mut rec = vec![r.image.clone(), r.face.index.to_string()];
    match &r.face.detection {
        Some(d) => {
            rec.extend([d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2].map(|v| format!("{v:.2}")));
            rec.push(format!("{:.4}", d.score));
        }
        None => rec.extend(std::iter::repeat_n(String::new(), 5)),
    }
    rec.extend(
        r.face
            .landmarks
            .iter()
            .flat_map(|p| [format!("{:.2}", p[0]), format!("{:.2}", p[1])]),
    );
    rec.push(format!("{:.3}", r.face.residual));
    rec.push(r.crop.clone());
    rec
}

#[cfg(test)]
mod tests {
    use super::crop_id;

    #[test]
    fn crop_ids_insert_the_face_index_before_the_extension() {
        assert_eq!(crop_id("a/b.jpg", None), "a/b.jpg");
        assert_eq!(crop_id("a/b.jpg", Some(2)), "a/b_face2.jpg");
        assert_eq!(crop_id("a.b/c", Some(0)), "a.b/c_face0");
        assert_eq!(crop_id("x.tar.png", Some(1)), "x.tar_face1.png");
    }

    #[test]
    fn crops_never_leave_the_output_folder() {
        assert_eq!(crop_id("/data/photos/a.jpg", None), "data/photos/a.jpg");
        assert_eq!(crop_id("../../etc/b.png", Some(0)), "etc/b_face0.png");
        assert_eq!(crop_id("a/./b/../c.jpg", None), "a/b/c.jpg");
        let win = crop_id("C:\\x\\y.jpg", None);
        assert!(
            !std::path::Path::new(&win).is_absolute() && win.ends_with("x/y.jpg"),
            "{win}"
        );
    }
}
