//! Grids of heatmaps with one shared colour bar.

use amva_draw::{jet, DrawError, Grid, Outline};
use amva_draw::{HeatStyled, Styled};

fn centre(r: &amva_draw::PixelRect, h: usize, w: usize, row: usize, col: usize) -> (u32, u32) {
    (
        r.x + ((col as f64 + 0.5) * r.width as f64 / w as f64) as u32,
        r.y + ((row as f64 + 0.5) * r.height as f64 / h as f64) as u32,
    )
}

#[test]
fn cells_share_one_range_and_show_their_values() {
    let (rows, cols) = (2, 3);
    // Cell (r, c) is constant r * 3 + c: the shared range is 0..5.
    let mut grid = Grid::new(rows, cols)
        .unwrap()
        .title("statistics")
        .row_labels(["MagFace", "SER-FIQ"])
        .col_titles(["MAM high", "AM-V high", "D-AM-V"])
        .colorbar_label("value");
    for r in 0..rows {
        for c in 0..cols {
            grid = grid.cell(r, c, vec![(r * 3 + c) as f32; 16], 4, 4).unwrap();
        }
    }
    let l = grid.layout().unwrap();
    assert_eq!(l.range, (0.0, 5.0));
    assert_eq!(l.panels.len(), rows * cols);
    let img = grid.render().unwrap();
    assert_eq!(img.dimensions(), l.size);
    for r in 0..rows {
        for c in 0..cols {
            let p = &l.panels[r * cols + c];
            let (x, y) = centre(p, 4, 4, 1, 2);
            assert_eq!(
                img.get_pixel(x, y).0,
                jet((r * 3 + c) as f32 / 5.0),
                "cell ({r}, {c})"
            );
        }
    }
    // Panels do not overlap and keep square pixels.
    for (i, a) in l.panels.iter().enumerate() {
        assert_eq!(a.width, a.height);
        for b in &l.panels[i + 1..] {
            let apart = a.x + a.width <= b.x
                || b.x + b.width <= a.x
                || a.y + a.height <= b.y
                || b.y + b.height <= a.y;
            assert!(apart, "{a:?} overlaps {b:?}");
        }
    }
    // The colour bar spans the grid's height, top = max colour.
    let bar = l.colorbar;
    let last = l.panels[rows * cols - 1];
    assert!(bar.y <= l.panels[0].y && bar.y + 2 >= l.panels[0].y);
    assert!(
        bar.y + bar.height >= last.y + last.height
            && bar.y + bar.height <= last.y + last.height + 2
    );
    assert_eq!(
        img.get_pixel(bar.x + 2, bar.y).0,
        jet(1.0 - 0.5 / bar.height as f32)
    );
}

#[test]
fn labels_and_titles_draw_text_and_empty_cells_are_marked() {
    let make = |labelled: bool| {
        let mut g = Grid::new(2, 2).unwrap().range(0.0, 1.0);
        if labelled {
            g = g
                .title("Grid")
                .row_labels(["row one", "row two"])
                .col_titles(["col one", "col two"]);
        }
        g.cell(0, 0, vec![0.5; 4], 2, 2).unwrap()
    };
    let dark = |img: &image::RgbImage| {
        img.pixels()
            .filter(|p| p.0.iter().all(|&c| c < 100))
            .count()
    };
    let (plain, labelled) = (make(false).render().unwrap(), make(true).render().unwrap());
    assert!(dark(&labelled) > dark(&plain) + 400);
    // An empty cell is light grey, not a colour of the map.
    let g = make(false);
    let l = g.layout().unwrap();
    let (x, y) = (l.panels[3].x + 3, l.panels[3].y + 3);
    assert_eq!(plain.get_pixel(x, y).0, [242, 242, 242]);
}

#[test]
fn outline_applies_to_every_cell() {
    let (h, w) = (10, 10);
    let mask: Vec<bool> = (0..h * w).map(|i| i % w >= 5).collect();
    let mut g = Grid::new(1, 2)
        .unwrap()
        .range(0.0, 1.0)
        .outline(Outline::new(mask, h, w, "right half").unwrap());
    for c in 0..2 {
        g = g.cell(0, c, vec![0.2; h * w], h, w).unwrap();
    }
    let l = g.layout().unwrap();
    let img = g.render().unwrap();
    for p in &l.panels {
        let bx = p.x + p.width / 2;
        assert_eq!(img.get_pixel(bx, p.y + p.height / 2).0, [255, 255, 255]);
        let (x, y) = centre(p, h, w, 5, 1);
        assert_eq!(img.get_pixel(x, y).0, jet(0.2));
    }
}

#[test]
fn bad_indices_and_label_counts_are_errors() {
    let e = Grid::new(0, 3).unwrap_err();
    assert!(matches!(e, DrawError::Empty { .. }), "{e}");
    let e = Grid::new(2, 3)
        .unwrap()
        .cell(2, 0, vec![0.0; 4], 2, 2)
        .unwrap_err();
    assert!(
        matches!(
            e,
            DrawError::GridIndex {
                row: 2,
                col: 0,
                rows: 2,
                cols: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = Grid::new(2, 3)
        .unwrap()
        .cell(0, 0, vec![0.0; 3], 2, 2)
        .unwrap_err();
    assert!(e.to_string().contains("grid cell (0, 0)"), "{e}");
    let e = Grid::new(2, 3)
        .unwrap()
        .row_labels(["only one"])
        .render()
        .unwrap_err();
    assert!(
        matches!(
            e,
            DrawError::LabelCount {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{e}"
    );
}
