//! `amva model`: a model's tensors and shapes, to pick `--layer`.

use crate::common::{ModelArgs, Ui};
use anyhow::Result;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  amva model                 # the default model\n  amva model --model my.onnx --model-config my.toml"
)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let m = a.model.load(ui)?;
    println!("model     {}", m.graph.path.display());
    println!("sha256    {}", m.graph.sha256);
    println!("engine    {}", m.engine());
    println!(
        "embedding {} ({} values)",
        m.spec.embedding, m.embedding_dim
    );
    println!("target    {} {:?}", m.spec.target, m.target_shape);
    println!("spatial tensors (candidates for --layer):");
    for (name, shape) in m.tensor_shapes()? {
        if shape.len() == 4 && shape[2] > 1 && shape[3] > 1 {
            println!("  {name:<12} {shape:?}");
        }
    }
    Ok(())
}
