//! What every command shares: global flags, the terminal UI (progress, summaries,
//! errors), model and image options.

use amva_model::{EngineKind, FrModel, ModelSpec};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ndefault model: fr_feature.onnx from npm faceplugin-face-recognition-js@0.0.1",
    "\nengines: tract-onnx 0.23.9 (built in); ONNX Runtime via `amva engine install` (optional)"
);

/// The FIQA methods `--fiqa` runs when not given (quality, demo, bench quality).
pub const DEFAULT_FIQA: &str = "magnitude,serfiq,brisque,pose";

/// Flags every command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// More detail on stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr; no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print the end-of-run summary as one JSON line on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Terminal output: progress bars and colour only on a terminal.
pub struct Ui {
    pub quiet: bool,
    pub verbose: u8,
    pub json: bool,
    tty: bool,
}

impl Ui {
    pub fn new(g: &Global) -> Self {
        Ui {
            quiet: g.quiet,
            verbose: g.verbose,
            json: g.json,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// A progress bar over `n` items (hidden when quiet or not on a terminal).
    pub fn progress(&self, n: u64, what: &str) -> ProgressBar {
        if self.quiet || !self.tty {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(n);
        pb.set_style(
            ProgressStyle::with_template(
                "{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_prefix(what.to_string());
        pb
    }

    /// Runs the analysis with a progress bar that follows its stages.
    pub fn analyze(
        &self,
        opts: &amva_analysis::AnalyzeOptions,
        shown: &amva_report::ReportOptions,
    ) -> amva_report::Result<amva_analysis::Outcome> {
        let pb = self.progress(0, "analyze");
        let outcome = amva_report::analyze(opts, shown, &mut |stage, done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
            pb.set_message(stage.to_string());
        });
        pb.finish_and_clear();
        outcome
    }

    /// A note on stderr (not when quiet).
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// Detail shown with -v.
    pub fn detail(&self, msg: &str) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// The one-line summary at the end of a command, and its JSON form with --json
    /// (`json`, serialised once: usually a [`Tagged`] result of the library call).
    pub fn summary(&self, line: &str, json: impl serde::Serialize) {
        if self.json {
            match serde_json::to_string(&json) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("error: the JSON summary could not be written: {e}"),
            }
        } else if !self.quiet {
            println!("{line}");
        }
    }

    pub fn error(&self, e: &anyhow::Error) {
        let head = if self.tty {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        eprintln!("{head}: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
    }
}

/// Prints what amva's libraries report through the `log` facade (the engine
/// calibration's progress, warnings about its cache) on stderr, a line each.
struct LibraryLog;

impl LibraryLog {
    /// The line a record prints as: warnings after `warning: `; nothing for other
    /// crates' records or below info.
    fn line(r: &log::Record) -> Option<String> {
        if r.level() > log::Level::Info || !r.target().starts_with("amva") {
            return None;
        }
        Some(match r.level() {
            log::Level::Error => format!("error: {}", r.args()),
            log::Level::Warn => format!("warning: {}", r.args()),
            _ => r.args().to_string(),
        })
    }
}

impl log::Log for LibraryLog {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Info && m.target().starts_with("amva")
    }

    fn log(&self, r: &log::Record) {
        if let Some(line) = Self::line(r) {
            eprintln!("{line}");
        }
    }

    fn flush(&self) {}
}

/// Installs the logger of [`LibraryLog`] (once, at the start of `main`).
pub fn show_library_log() {
    if log::set_logger(&LibraryLog).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// A command's result for `--json`: `{"command": NAME, ...the result's fields}`.
#[derive(serde::Serialize)]
pub struct Tagged<'a, T: serde::Serialize> {
    pub command: &'a str,
    #[serde(flatten)]
    pub result: &'a T,
}

impl<'a, T: serde::Serialize> Tagged<'a, T> {
    pub fn new(command: &'a str, result: &'a T) -> Self {
        Tagged { command, result }
    }
}

/// Tells of a download before it starts, as `amva: downloading ...` on stderr, even
/// with --quiet: a wait of minutes should never be silent.
pub fn downloading(msg: &str) {
    eprintln!("amva: {msg}");
}

/// The path of default model `name` (`amva_io::models::FR_*`): from $AMVA_MODELS or
/// the cache, downloaded on first use, which [`downloading`] announces.
pub fn default_model(name: &str) -> amva_io::Result<PathBuf> {
    amva_fetch::models::ensure(name, &downloading)
}

/// The command line as typed (arguments with spaces quoted), for the outputs' records.
pub fn command_line() -> String {
    std::env::args()
        .map(|s| if s.contains(' ') { format!("'{s}'") } else { s })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The model files and tensors every model option set names.
#[derive(Args, Debug, Clone)]
pub struct ModelFiles {
    /// ONNX model file (default: the built-in fr_feature.onnx, downloaded on first use).
    #[arg(long, value_name = "ONNX")]
    pub model: Option<PathBuf>,
    /// Preprocessing settings (TOML/JSON); default: <model>.toml beside the model, or the built-in preset.
    #[arg(long, value_name = "FILE")]
    pub model_config: Option<PathBuf>,
    /// CAM target layer (ONNX tensor name; `amva model` lists the spatial ones).
    #[arg(long, value_name = "TENSOR")]
    pub layer: Option<String>,
    /// Embedding output (ONNX tensor name), overriding the settings.
    #[arg(long, value_name = "TENSOR")]
    pub embedding: Option<String>,
}

/// Which FR model and how to run it.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    #[command(flatten)]
    pub files: ModelFiles,
    /// Input colour order, overriding the settings.
    #[arg(long, value_parser = ["rgb", "bgr"])]
    pub channel_order: Option<String>,
    /// Inference engine: auto (the fastest on this machine, measured once and cached:
    /// `amva engine status`), tract, ort.
    #[arg(long, default_value = "auto")]
    pub engine: EngineKind,
}

impl std::ops::Deref for ModelArgs {
    type Target = ModelFiles;
    fn deref(&self) -> &ModelFiles {
        &self.files
    }
}

impl ModelFiles {
    /// The model path and settings, these files run with `engine` (for the benchmarks,
    /// which load one model per engine).
    pub fn path_and_spec(&self, engine: EngineKind) -> Result<(PathBuf, ModelSpec)> {
        let args = ModelArgs {
            files: self.clone(),
            channel_order: None,
            engine,
        };
        let path = args.path()?;
        let spec = args.spec(&path)?;
        Ok((path, spec))
    }
}

impl ModelArgs {
    /// The model path: --model, else the default model.
    pub fn path(&self) -> Result<PathBuf> {
        match &self.model {
            Some(p) => {
                anyhow::ensure!(
                    !p.is_dir(),
                    "--model {}: is a folder; expected an ONNX model file (.onnx) in it, e.g. --model {}",
                    p.display(),
                    p.join("model.onnx").display()
                );
                anyhow::ensure!(
                    p.is_file(),
                    "--model {}: no such file; expected an ONNX model file",
                    p.display()
                );
                Ok(p.clone())
            }
            None => Ok(default_model(amva_io::models::FR_FEATURE)?),
        }
    }

    /// Settings after files and flags.
    pub fn spec(&self, path: &Path) -> Result<ModelSpec> {
        let mut spec = match &self.model_config {
            Some(f) => ModelSpec::from_file(f)?,
            None => ModelSpec::for_model(path)?,
        };
        if let Some(l) = &self.layer {
            spec.target = l.clone();
        }
        if let Some(e) = &self.embedding {
            spec.embedding = e.clone();
        }
        if let Some(c) = &self.channel_order {
            spec.preprocess.channel_order = if c == "rgb" {
                amva_model::ChannelOrder::Rgb
            } else {
                amva_model::ChannelOrder::Bgr
            };
        }
        Ok(spec)
    }

    /// Loads the model; says which engine runs it.
    pub fn load(&self, ui: &Ui) -> Result<FrModel> {
        let path = self.path()?;
        let spec = self.spec(&path)?;
        let settings = match &self.model_config {
            Some(f) => format!("settings {}", f.display()),
            None if ModelSpec::sidecar_path(&path).is_file() => {
                format!("settings {}", ModelSpec::sidecar_path(&path).display())
            }
            None => "the built-in settings".into(),
        };
        let model = FrModel::load(&path, spec, self.engine)
            .with_context(|| format!("loading {} with {settings}", path.display()))?;
        let choice = model.engine_choice();
        ui.note(&format!("engine: {} ({})", choice.config, choice.reason));
        ui.detail(&format!(
            "model {} (sha256 {})",
            path.display(),
            model.graph.sha256,
        ));
        Ok(model)
    }
}

/// Which images.
#[derive(Args, Debug, Clone)]
pub struct ImageArgs {
    /// The images: a folder (searched recursively) or a CSV/TSV list with a path column.
    #[arg(long, value_name = "DIR|LIST")]
    pub images: PathBuf,
    /// Resize images of the wrong size (otherwise they are listed as failed).
    #[arg(long)]
    pub resize: bool,
    /// Leave out damaged images that still decode (e.g. a truncated JPEG); by default
    /// they are used and listed in warnings.csv.
    #[arg(long)]
    pub strict: bool,
}

/// The input of a command for the output guard (`amva_io::outputs`).
pub fn input<'a>(flag: &'a str, path: &'a Path) -> amva_io::outputs::Input<'a> {
    amva_io::outputs::Input { flag, path }
}

/// `--images` and `--model` (when given): the inputs of most commands.
pub fn images_and_model<'a>(
    images: &'a Path,
    model: Option<&'a Path>,
) -> Vec<amva_io::outputs::Input<'a>> {
    let mut v = vec![input("--images", images)];
    v.extend(model.map(|m| input("--model", m)));
    v
}

/// The images of `--images` (a folder, a list or one file), saying on stderr which
/// files of a folder are not read and why (hidden, or not an image type).
pub fn open_images(images: &Path, ui: &Ui) -> Result<amva_io::images::ImageList> {
    let list = amva_io::images::ImageList::open(images)?;
    if let Some(n) = list.skipped_note() {
        ui.note(&n);
    }
    Ok(list)
}

/// The images of `--images`, sorted: all, or `limit` of them evenly spread over the list.
pub fn spread_images(
    images: &Path,
    limit: Option<usize>,
) -> Result<Vec<amva_io::images::ImageItem>> {
    let list = amva_maps::store::sorted_list(amva_io::images::ImageList::open(images)?, images)?;
    anyhow::ensure!(!list.is_empty(), "{}: no images found", images.display());
    Ok(match limit {
        Some(n) if n < list.len() => {
            let step = list.len() / n.max(1);
            (0..n).map(|i| list.items[i * step].clone()).collect()
        }
        _ => list.items,
    })
}

/// Parses `i/n` (1-based shard index).
pub fn parse_shard(s: &str) -> std::result::Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("'{s}': expected i/n, e.g. 2/8"))?;
    let (i, n): (usize, usize) = (
        i.trim()
            .parse()
            .map_err(|_| format!("'{s}': i is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("'{s}': n is not a number"))?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(format!("'{s}': need 1 <= i <= n"));
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::LibraryLog;

    fn line(level: log::Level, target: &str) -> Option<String> {
        let args = format_args!("the engine calibration is not cached");
        let r = log::Record::builder()
            .level(level)
            .target(target)
            .args(args)
            .build();
        LibraryLog::line(&r)
    }

    #[test]
    fn library_records_print_as_the_libraries_used_to_print_them() {
        let calibrate = "amva_model::calibrate";
        assert_eq!(
            line(log::Level::Warn, calibrate).as_deref(),
            Some("warning: the engine calibration is not cached")
        );
        assert_eq!(
            line(log::Level::Info, calibrate).as_deref(),
            Some("the engine calibration is not cached")
        );
        assert_eq!(line(log::Level::Debug, calibrate), None);
        assert_eq!(line(log::Level::Warn, "tract_core::model"), None);
    }
}
