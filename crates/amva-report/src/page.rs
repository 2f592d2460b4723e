//! The parts of a report page: the caller's extra sections ([`ReportSection`]), and
//! the blocks, tables and figures the analysis's own sections are built from.

use amva_draw::{Cell, RgbImage, Table};

use crate::figures::Figures;
use crate::{ReportError, Result};

/// One block of an extra report section.
#[derive(Debug, Clone)]
pub enum Item {
    /// A subsection heading.
    Subsection(String),
    /// A paragraph of plain text.
    Paragraph(String),
    /// A table.
    Table(Table),
    /// A figure, written to `figures/<name>.png`, listed in summary.json and embedded.
    Figure {
        /// File name without `.png` (letters, digits, `_` and `-`).
        name: String,
        /// Caption.
        caption: String,
        /// The picture.
        image: RgbImage,
    },
}

/// An extra section of the analysis report, placed after the methods and the agreement
/// across them, before the list of files. This is how a caller adds its own results to
/// the one report (the demo's table of degradations, for instance).
///
/// ```
/// use amva_draw::Table;
/// use amva_report::{Item, ReportOptions, ReportSection};
/// let table = Table::new(["method", "blur"]).row(vec!["magnitude".into(), (-0.8).into()])?;
/// let section = ReportSection::new("Ground truth")
///     .paragraph("Spearman of each quality with the degradation level.")
///     .item(Item::Table(table));
/// let mut shown = ReportOptions::default();
/// shown.sections.push(section);
/// # Ok::<(), amva_draw::DrawError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReportSection {
    /// The section heading.
    pub title: String,
    /// Its content, in order.
    pub items: Vec<Item>,
}

impl ReportSection {
    /// An empty section.
    pub fn new(title: impl Into<String>) -> Self {
        ReportSection {
            title: title.into(),
            items: Vec::new(),
        }
    }

    /// Appends a paragraph.
    pub fn paragraph(self, text: impl Into<String>) -> Self {
        self.item(Item::Paragraph(text.into()))
    }

    /// Appends any item.
    pub fn item(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }
}

/// A block of a rendered section: figures by their index in [`Figures`].
pub(crate) enum Block {
    Sub(String),
    Para(String),
    Table(Table),
    Fig(usize),
}

/// A section being rendered: its blocks and the run's figures.
pub(crate) struct Page<'f> {
    pub figs: &'f mut Figures,
    pub blocks: Vec<Block>,
}

impl Page<'_> {
    pub fn sub(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Sub(s.into()));
    }

    pub fn para(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Para(s.into()));
    }

    pub fn table(&mut self, t: Table) {
        self.blocks.push(Block::Table(t));
    }

    /// Encodes and records a figure and shows it here.
    pub fn figure(&mut self, name: &str, caption: impl Into<String>, img: &RgbImage) -> Result<()> {
        let i = self.figs.add(name, caption, img)?;
        self.blocks.push(Block::Fig(i));
        Ok(())
    }

    pub fn take(&mut self) -> Vec<Block> {
        std::mem::take(&mut self.blocks)
    }
}

/// Appends a row to a report table.
pub(crate) fn table_row(t: Table, cells: Vec<Cell>) -> Result<Table> {
    t.row(cells).map_err(ReportError::draw("report table"))
}

/// A number for report text.
pub(crate) fn fmt(x: f64) -> String {
    amva_draw::format_number(x, 4)
}
