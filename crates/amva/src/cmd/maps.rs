//! `amva maps`: not yet implemented (see the open issues).

use crate::common::Ui;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_a: Args, _ui: &Ui) -> Result<()> {
    anyhow::bail!("`amva maps` is not implemented yet")
}
