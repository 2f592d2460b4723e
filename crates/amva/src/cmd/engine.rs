//! `amva engine install|status`.

use crate::common::Ui;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum EngineCmd {
    /// Downloads the official onnxruntime CPU wheel from PyPI, checks the SHA-256 PyPI
    /// publishes for it, and puts its shared library into amva's cache.
    #[command(
        after_help = "Example:\n  amva engine install\n  amva engine install --version 1.30.0"
    )]
    Install {
        /// onnxruntime version on PyPI.
        #[arg(long, default_value = amva_model::ort_install::DEFAULT_VERSION)]
        version: String,
    },
    /// Says which engines are usable and which one `--engine auto` picks.
    Status,
}

pub fn run(cmd: EngineCmd, ui: &Ui) -> Result<()> {
    match cmd {
        EngineCmd::Install { version } => {
            let path = amva_model::ort_install::install(&version)?;
            ui.summary(
                &format!("installed ONNX Runtime {version}: {}", path.display()),
                serde_json::json!({"command": "engine install", "version": version, "library": path}),
            );
            Ok(())
        }
        EngineCmd::Status => {
            let ort = amva_model::engine::ort_available();
            let lib = amva_model::ort_engine::library_path();
            let why = amva_model::ort_engine::environment()
                .err()
                .map(|e| e.to_string());
            println!("tract: usable (built in, pure Rust)");
            match (&lib, ort) {
                (Some(p), true) => println!("ort:   usable ({})", p.display()),
                _ => println!("ort:   not usable: {}", why.clone().unwrap_or_default()),
            }
            let auto = amva_model::EngineKind::Auto.resolve();
            ui.summary(
                &format!("--engine auto uses {auto}"),
                serde_json::json!({"command": "engine status", "tract": true, "ort": ort, "ort_library": lib, "auto": auto.to_string()}),
            );
            Ok(())
        }
    }
}
