//! `amva model`: a model's inputs, outputs and activation tensors, and a proposed
//! settings file. Works with no settings file: that is what it helps to write.

use crate::common::{ModelArgs, Tagged, Ui};
use amva_model::graph::OnnxGraph;
use amva_model::inspect::{self, Listing, ModelReport, Proposal};
use amva_model::ModelSpec;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    amva model                                # the default model\n  \
    amva model --model my.onnx                # list it and propose my.toml\n  \
    amva model --model my.onnx --write-config # write the proposal to my.toml")]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Write the proposed settings beside the model (`model.onnx` -> `model.toml`).
    #[arg(long)]
    pub write_config: bool,
    /// With --write-config: replace an existing settings file.
    #[arg(long, requires = "write_config")]
    pub force: bool,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let path = a.model.path()?;
    let graph = OnnxGraph::load(&path)?;
    let current = current_settings(&a.model, &path)?;
    let listing = match (Listing::new(&graph, None), &current) {
        (Ok(l), _) => l,
        // A symbolic input size: the settings in use give it.
        (Err(_), Some((_, spec))) => Listing::new(&graph, Some(&spec.preprocess.batch_shape(1)))?,
        (Err(e), None) => return Err(e.into()),
    };
    check_names(&a.model, &listing, &path)?;
    let proposal = inspect::propose(&graph, &listing)?;
    let written = if a.write_config {
        Some(write_config(&path, &proposal, a.force, ui)?)
    } else {
        None
    };
    if !ui.json {
        print_listing(&graph, &listing, &proposal);
        print_settings(&path, current.as_ref(), &proposal);
    }
    let line = match &written {
        Some(p) => format!("wrote the proposed settings to {}", p.display()),
        None => format!(
            "{} activation tensors, {} spatial; proposed target '{}' (--write-config writes {})",
            listing.tensors.len(),
            listing.tensors.iter().filter(|t| t.is_spatial()).count(),
            proposal.spec.target,
            ModelSpec::sidecar_path(&path).display()
        ),
    };
    let brief = ModelBrief {
        report: ModelReport::new(&graph, &listing, &proposal),
        settings_in_use: current.as_ref().map(|(from, _)| from.as_str()),
        written: written.as_deref(),
    };
    ui.summary(&line, Tagged::new("model", &brief));
    Ok(())
}

/// The summary of `amva model --json`.
#[derive(serde::Serialize)]
struct ModelBrief<'a> {
    #[serde(flatten)]
    report: ModelReport<'a>,
    /// Where the settings the other commands would use come from (None: nowhere).
    settings_in_use: Option<&'a str>,
    /// The settings file written (--write-config).
    written: Option<&'a Path>,
}

/// `--layer` and `--embedding` must name activation tensors of the model: otherwise the
/// error lists the tensors nearest to the name, with their shapes.
fn check_names(m: &ModelArgs, listing: &Listing, path: &Path) -> Result<()> {
    let all: Vec<&amva_model::inspect::TensorInfo> =
        listing.tensors.iter().chain(&listing.outputs).collect();
    let names: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
    for (flag, name) in [("--layer", &m.layer), ("--embedding", &m.embedding)] {
        let Some(name) = name.as_deref().filter(|n| !names.iter().any(|t| t == n)) else {
            continue;
        };
        let near: Vec<String> = amva_model::graph::nearest(name, &names, 10)
            .into_iter()
            .filter_map(|n| all.iter().find(|t| t.name == n))
            .map(|t| format!("{} {:?}", t.name, t.shape))
            .collect();
        bail!(
            "{}: {flag} {name}: no activation tensor of that name; nearest: {}",
            path.display(),
            near.join(", ")
        );
    }
    Ok(())
}

/// The settings the other commands would use for this model, and where they come from;
/// None when there are none (no file, not the default model).
fn current_settings(m: &ModelArgs, path: &Path) -> Result<Option<(String, ModelSpec)>> {
    let sidecar = ModelSpec::sidecar_path(path);
    let from = if let Some(f) = &m.model_config {
        f.display().to_string()
    } else if sidecar.is_file() {
        sidecar.display().to_string()
    } else if path
        .file_name()
        .is_some_and(|n| n == amva_io::models::FR_FEATURE)
    {
        "amva's built-in preset for fr_feature.onnx".into()
    } else {
        return Ok(None);
    };
    Ok(Some((from, m.spec(path)?)))
}

fn print_listing(graph: &OnnxGraph, listing: &Listing, proposal: &Proposal) {
    let dims = |d: &[Option<i64>]| {
        let v: Vec<String> = d
            .iter()
            .map(|x| x.map_or("N".into(), |v| v.to_string()))
            .collect();
        format!("[{}]", v.join(", "))
    };
    println!("model    {}", graph.path.display());
    println!("sha256   {}", graph.sha256);
    for (name, d) in &listing.inputs {
        println!("input    {name} {}", dims(d));
    }
    for o in &listing.outputs {
        println!("output   {} {:?} ({})", o.name, o.shape, o.op);
    }
    println!(
        "activation tensors in graph order, shapes at batch 1 (* = spatial, a candidate for --layer; \
         > = proposed target):"
    );
    let width = listing
        .tensors
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(0);
    for t in &listing.tensors {
        let mark = if t.name == proposal.spec.target {
            '>'
        } else if t.is_spatial() {
            '*'
        } else {
            ' '
        };
        let shape = if t.shape.is_empty() {
            "?".into()
        } else {
            format!("{:?}", t.shape)
        };
        println!("{mark} {:<width$}  {shape:<18} {}", t.name, t.op);
    }
}

fn print_settings(path: &Path, current: Option<&(String, ModelSpec)>, proposal: &Proposal) {
    match current {
        Some((from, spec)) => {
            println!("\nsettings in use: {from}");
            println!("  target '{}', embedding '{}'", spec.target, spec.embedding);
            if spec.target != proposal.spec.target || spec.embedding != proposal.spec.embedding {
                println!("  (they differ from the proposal below)");
            }
        }
        None => println!(
            "\nsettings in use: none ({} does not exist); the other commands need one",
            ModelSpec::sidecar_path(path).display()
        ),
    }
    println!(
        "\nproposed settings ({}):\n",
        ModelSpec::sidecar_path(path).display()
    );
    print!("{}", proposal.toml);
    for n in &proposal.notes {
        println!("# note: {n}");
    }
}

/// Writes the proposal beside the model (temp name, then rename); an existing file is
/// replaced only with `force`, and then the note says so.
fn write_config(model: &Path, proposal: &Proposal, force: bool, ui: &Ui) -> Result<PathBuf> {
    let out = ModelSpec::sidecar_path(model);
    if out.exists() {
        if !force {
            bail!(
                "{} exists; not overwritten (pass --force to replace it with the proposal)",
                out.display()
            );
        }
        ui.note(&format!("replacing {} (--force)", out.display()));
    }
    amva_io::atomic::write_atomic(&out, proposal.toml.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}
