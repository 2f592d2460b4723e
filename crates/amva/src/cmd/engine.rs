//! `amva engine install|status|calibrate`.

use crate::common::{ModelArgs, Tagged, Ui};
use amva_model::calibrate::Calibration;
use amva_model::EngineStatus;
use anyhow::{Context, Result};

#[derive(clap::Subcommand, Debug)]
pub enum EngineCmd {
    /// Downloads the official onnxruntime CPU wheel from PyPI, checks the SHA-256 PyPI
    /// publishes for it, and puts its shared library into amva's cache.
    #[command(
        after_help = "Example:\n  amva engine install\n  amva engine install --ort-version 1.30.0"
    )]
    Install {
        /// onnxruntime version on PyPI.
        #[arg(long, default_value = amva_fetch::ort::DEFAULT_VERSION, value_name = "VERSION")]
        ort_version: String,
    },
    /// Says which engines are usable, what the calibration measured for the model and
    /// which configuration `--engine auto` runs it with.
    #[command(
        after_help = "Example:\n  amva engine status\n  amva engine status --model lightcnn_v4.onnx --json"
    )]
    Status {
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Times every engine and configuration on the model again (a few seconds) and caches
    /// the fastest for `--engine auto`. Run it on a quiet machine.
    #[command(
        after_help = "Example:\n  amva engine calibrate\n  amva engine calibrate --model lightcnn_v4.onnx"
    )]
    Calibrate {
        #[command(flatten)]
        model: ModelArgs,
    },
}

pub fn run(cmd: EngineCmd, ui: &Ui) -> Result<()> {
    match cmd {
        EngineCmd::Install { ort_version } => {
            let path = amva_fetch::ort::install(&ort_version, &crate::common::downloading)?;
            let brief = Installed {
                version: &ort_version,
                library: &path,
            };
            ui.summary(
                &format!("installed ONNX Runtime {ort_version}: {}", path.display()),
                Tagged::new("engine install", &brief),
            );
            Ok(())
        }
        EngineCmd::Status { model } => status(&model, ui),
        EngineCmd::Calibrate { model } => {
            let path = model.path()?;
            let spec = model.spec(&path)?;
            let cal = amva_model::fr::calibrate(&path, &spec)
                .with_context(|| format!("calibrating {}", path.display()))?;
            print_table(&cal, ui);
            ui.summary(
                &format!("--engine auto runs {} with {}", path.display(), cal.choice),
                Tagged::new("engine calibrate", &Calibrated { calibration: &cal }),
            );
            Ok(())
        }
    }
}

fn status(model: &ModelArgs, ui: &Ui) -> Result<()> {
    let path = model.path()?;
    let st = EngineStatus::of(&path, &model.spec(&path)?)?;
    if !ui.json {
        println!("cpu:   {}", st.cpu);
        println!(
            "tract: usable ({}, built in, pure Rust)",
            amva_model::calibrate::TRACT_VERSION
        );
        match (&st.ort_library, st.ort) {
            (Some(p), true) => println!(
                "ort:   usable ({}, {})",
                st.ort_version.as_deref().unwrap_or_default(),
                p.display()
            ),
            _ => println!(
                "ort:   not usable: {}",
                st.ort_problem.as_deref().unwrap_or_default()
            ),
        }
    }
    let line = match &st.calibration {
        Some(c) => {
            print_table(c, ui);
            format!("--engine auto runs {} with {}", path.display(), c.choice)
        }
        None => format!(
            "{} is not calibrated on this machine yet: its first run with --engine auto (or `amva engine calibrate`) measures every engine",
            path.display()
        ),
    };
    ui.summary(&line, Tagged::new("engine status", &st));
    Ok(())
}

/// The measured figures, fastest first, the choice marked.
fn print_table(cal: &Calibration, ui: &Ui) {
    if ui.json || ui.quiet {
        return;
    }
    println!(
        "calibration of {} on {} (amva {}, tract {}, ONNX Runtime {}):",
        cal.model.display(),
        cal.key.cpu,
        cal.key.amva,
        cal.key.tract,
        cal.key.ort.as_deref().unwrap_or("not usable")
    );
    let mut rows = cal.measured.clone();
    rows.sort_by(|a, b| b.images_per_s.total_cmp(&a.images_per_s));
    for m in rows {
        let mark = if m.config == cal.choice { "*" } else { " " };
        println!("  {mark} {:>8.1} images/s  {}", m.images_per_s, m.config);
    }
}

/// The summary of `amva engine install --json`.
#[derive(serde::Serialize)]
struct Installed<'a> {
    version: &'a str,
    library: &'a std::path::Path,
}

/// The summary of `amva engine calibrate --json`.
#[derive(serde::Serialize)]
struct Calibrated<'a> {
    calibration: &'a Calibration,
}
