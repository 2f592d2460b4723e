//! Writes a sample figure set to amva-draw-samples in the temporary directory (or the
//! directory given).
use amva_draw::*;
use amva_draw::{HeatStyled, Styled};

/// The bytes of `path`, or an error naming it.
fn read(path: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    std::fs::read(path).map_err(|e| format!("{path}: {e}").into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        let tmp = std::env::temp_dir().join("amva-draw-samples");
        tmp.display().to_string()
    });
    std::fs::create_dir_all(&dir).map_err(|e| format!("{dir}: {e}"))?;
    let (h, w) = (112, 112);
    let data: Vec<f32> = (0..h * w)
        .map(|i| {
            let (y, x) = ((i / w) as f32, (i % w) as f32);
            let d = ((x - 56.0).powi(2) + (y - 60.0).powi(2)).sqrt() / 80.0;
            (0.05 + 0.3 * d * d).min(0.5)
        })
        .collect();
    let mask: Vec<bool> = (0..h * w)
        .map(|i| {
            let (y, x) = ((i / w) as f32, (i % w) as f32);
            ((x - 56.0) / 30.0).powi(2) + ((y - 72.0) / 32.0).powi(2) <= 1.0
        })
        .collect();
    Heatmap::new(data, h, w)?
        .title("AM-V, low-quality group (MagFace bottom 20%, n = 1,234)")
        .colorbar_label("AM-V (std of normalised activation, 0-1 scale)")
        .outline(Outline::new(
            mask.clone(),
            h,
            w,
            "central face region (landmark hull + 12 px)",
        )?)
        .note("Score-CAM on layer 'stage4'; maps min-max normalised per image")
        .write_png(format!("{dir}/heatmap_amv.png"))?;
    // A low-resolution 7 x 7 map as stored (before upsampling), viridis, small figure.
    let low: Vec<f32> = (0..49)
        .map(|i| ((i / 7) as f32 * 0.1 + (i % 7) as f32 * 0.05).sin().abs())
        .collect();
    Heatmap::new(low, 7, 7)?
        .title("Stored low-resolution map (7 x 7, layer '507')")
        .colorbar_label("activation (ReLU, before normalisation)")
        .axis_labels("x (cell)", "y (cell)")
        .colormap(Colormap::Viridis)
        .size(380, 340)
        .write_png(format!("{dir}/heatmap_lowres_small.png"))?;
    let kde = |mu: f64, sd: f64| -> Vec<(f64, f64)> {
        (0..200)
            .map(|i| {
                let x = i as f64 / 199.0 * 0.5;
                (
                    x,
                    (-(x - mu).powi(2) / (2.0 * sd * sd)).exp()
                        / (sd * (2.0 * std::f64::consts::PI).sqrt()),
                )
            })
            .collect()
    };
    LinePlot::new("AM-V per-pixel distribution, MagFace: high vs low quality")
        .axis_labels("AM-V (std of normalised activation)", "density")
        .series(Series::line(
            "high quality (top 20%, n = 1,234)",
            kde(0.12, 0.03),
        ))
        .series(Series::line(
            "low quality (bottom 20%, n = 1,234)",
            kde(0.21, 0.05),
        ))
        .annotation("KS D = 0.31")
        .annotation("W1 = 0.012")
        .write_png(format!("{dir}/kde_amv.png"))?;
    let edc = |k: f64| -> Vec<(f64, f64)> {
        (0..=50)
            .map(|i| {
                let d = i as f64 / 50.0;
                (d, 0.1 * (1.0 - d).powf(k))
            })
            .collect()
    };
    LinePlot::new("EDC: FNMR at FMR = 1e-3 vs fraction of comparisons discarded")
        .axis_labels("fraction discarded", "FNMR")
        .series(Series::line("MagFace (pAUC 0.0123)", edc(3.0)).steps())
        .series(Series::line("SER-FIQ (pAUC 0.0150)", edc(2.0)).steps())
        .series(Series::reference("random quality", edc(1.0)))
        .series(
            Series::line("ideal", vec![(0.0, 0.1), (0.1, 0.0), (1.0, 0.0)])
                .dashed()
                .color([0, 0, 0])
                .width(1),
        )
        .y_range(0.0, 0.11)
        .x_range(0.0, 1.0)
        .write_png(format!("{dir}/edc.png"))?;
    let methods = ["MagFace", "SER-FIQ", "BRISQUE (lower is better)", "CR-FIQA"];
    let cols = ["MAM high", "MAM low", "AM-V high", "AM-V low", "D-AM-V"];
    let mut grid = Grid::new(methods.len(), cols.len())?
        .title("Activation map statistics per FIQA method (top vs bottom 20%)")
        .row_labels(methods)
        .col_titles(cols)
        .colorbar_label("value (0-1 scale; D-AM-V divided by its max)")
        .range(0.0, 1.0)
        .outline(Outline::new(mask.clone(), h, w, "central face region")?)
        .note("Maps: Score-CAM; statistics per pixel over each group");
    for r in 0..methods.len() {
        for c in 0..cols.len() {
            if r == 3 && c == 4 {
                continue;
            }
            let v: Vec<f32> = (0..h * w)
                .map(|i| {
                    let (y, x) = ((i / w) as f32, (i % w) as f32);
                    let d = ((x - 56.0).powi(2) + (y - 60.0).powi(2)).sqrt() / 80.0;
                    ((c as f32 + 1.0) * 0.15 * (1.0 - d) + r as f32 * 0.05).clamp(0.0, 1.0)
                })
                .collect();
            grid = grid.cell(r, c, v, h, w)?;
        }
    }
    grid.write_png(format!("{dir}/grid.png"))?;

    // The paper's overlay, on its own published sample when ../shared is there.
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/amva-official-sample"
    );
    let (face, heat) = match (
        image::open(format!("{shared}/example_image.jpg")),
        std::fs::read(format!("{shared}/example_image.npy")),
    ) {
        (Ok(img), Ok(npy)) => {
            // NumPy v1 header: magic (6) + version (2) + header length (2, LE) + header.
            let start = 10 + u16::from_le_bytes([npy[8], npy[9]]) as usize;
            let heat: Vec<f32> = npy[start..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (img.to_rgb8(), heat)
        }
        _ => {
            eprintln!("../shared missing: overlay sample uses a synthetic face");
            let img = RgbImage::from_fn(112, 112, |x, y| {
                image::Rgb([(x * 2) as u8, 120, (y * 2) as u8])
            });
            (
                img,
                (0..112 * 112).map(|i| (i % 112) as f32 / 111.0).collect(),
            )
        }
    };
    let ov = overlay(&face, &heat, 112, 112)?;
    write_png_atomic(format!("{dir}/overlay_plain.png"), &ov)?;
    overlay_figure(&face, &heat, 112, 112)?
        .title("Score-CAM map of the paper's sample face (overlay: 0.5 x jet + image)")
        .colorbar_label("activation (min-max normalised, 0-1)")
        .write_png(format!("{dir}/overlay_figure.png"))?;

    let mut report = Report::new("amva sample report <with> \"odd\" & characters");
    report
        .param("command", "amva analyze --maps maps/ --scores q.csv")
        .param("FR model", "fr_feature.onnx")
        .param("groups", "top 20% / bottom 20%");
    report.section("Activation map statistics");
    report.paragraph(
        "High-quality images give consistently low activation outside the central face region.",
    );
    report.figure_png(
        read(&format!("{dir}/grid.png"))?,
        "MAM, AM-V and D-AM-V per FIQA method.",
    )?;
    report.figure_png(
        read(&format!("{dir}/heatmap_amv.png"))?,
        "AM-V of the low-quality group.",
    )?;
    report.section("Distributions and regions");
    report.figure_png(
        read(&format!("{dir}/kde_amv.png"))?,
        "Per-pixel AM-V, KDE (Scott).",
    )?;
    report.table(
        Table::new([
            "group",
            "n",
            "mean MAM inside",
            "mean AM-V inside",
            "mean AM-V outside",
            "outside/inside",
        ])
        .caption("Region table (central face region = landmark hull + 12 px)")
        .row(vec![
            "MagFace high".into(),
            1234usize.into(),
            0.41234.into(),
            0.10101.into(),
            0.0456.into(),
            0.4514.into(),
        ])?
        .row(vec![
            "MagFace low".into(),
            1234usize.into(),
            0.39876.into(),
            0.1502.into(),
            0.1987.into(),
            1.3229.into(),
        ])?
        .row(vec![
            "<script>alert(1)</script>".into(),
            Cell::Empty,
            f64::NAN.into(),
            0.000012345.into(),
            123456.0.into(),
            1.0.into(),
        ])?,
    );
    report.section("Explanation of one image");
    report.figure(
        &ov,
        "Overlay of the sample face (0.5 x jet + image, clipped).",
    )?;
    report.figure_png(read(&format!("{dir}/edc.png"))?, "EDC curves.")?;
    report.code("amva explain --reference out/ face.jpg");
    report.write(format!("{dir}/report.html"))?;
    println!("wrote samples to {dir}");
    Ok(())
}
