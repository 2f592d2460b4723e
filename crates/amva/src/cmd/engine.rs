//! `amva engine install|status|calibrate`.

use crate::common::{ModelArgs, Ui};
use amva_model::calibrate::Calibration;
use anyhow::{Context, Result};

#[derive(clap::Subcommand, Debug)]
pub enum EngineCmd {
    /// Downloads the official onnxruntime CPU wheel from PyPI, checks the SHA-256 PyPI
    /// publishes for it, and puts its shared library into amva's cache.
    #[command(
        after_help = "Example:\n  amva engine install\n  amva engine install --version 1.30.0"
    )]
    Install {
        /// onnxruntime version on PyPI.
        #[arg(long, default_value = amva_fetch::ort::DEFAULT_VERSION)]
        version: String,
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
        EngineCmd::Install { version } => {
            let path = amva_fetch::ort::install(&version, &crate::common::downloading)?;
            ui.summary(
                &format!("installed ONNX Runtime {version}: {}", path.display()),
                serde_json::json!({"command": "engine install", "version": version, "library": path}),
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
                serde_json::json!({"command": "engine calibrate", "calibration": cal}),
            );
            Ok(())
        }
    }
}

fn status(model: &ModelArgs, ui: &Ui) -> Result<()> {
    let ort = amva_model::engine::ort_available();
    let lib = amva_model::ort_engine::library_path();
    let why = amva_model::ort_engine::environment()
        .err()
        .map(|e| e.to_string());
    if !ui.json {
        println!("cpu:   {}", amva_model::calibrate::cpu_model());
        println!(
            "tract: usable ({}, built in, pure Rust)",
            amva_model::calibrate::TRACT_VERSION
        );
        match (&lib, ort) {
            (Some(p), true) => println!(
                "ort:   usable ({}, {})",
                amva_model::engine::ort_version().unwrap_or_default(),
                p.display()
            ),
            _ => println!("ort:   not usable: {}", why.clone().unwrap_or_default()),
        }
    }
    let path = model.path()?;
    let spec = model.spec(&path)?;
    let cal = amva_model::fr::cached_calibration(&path, &spec)?;
    let line = match &cal {
        Some(c) => {
            print_table(c, ui);
            format!("--engine auto runs {} with {}", path.display(), c.choice)
        }
        None => format!(
            "{} is not calibrated on this machine yet: its first run with --engine auto (or `amva engine calibrate`) measures every engine",
            path.display()
        ),
    };
    ui.summary(
        &line,
        serde_json::json!({
            "command": "engine status", "cpu": amva_model::calibrate::cpu_model(),
            "tract": true, "ort": ort, "ort_library": lib, "ort_version": amva_model::engine::ort_version(),
            "model": path, "calibration": cal, "auto": cal.as_ref().map(|c| c.choice),
        }),
    );
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
