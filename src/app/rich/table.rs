//! Tables (`application/vnd.dataresource+json`): parsed once per display
//! into cells and their text, sorted by an index permutation, drawn with
//! egui_extras' `TableBuilder` so that only the visible rows are laid out.

use std::cmp::Ordering;

use egui::RichText;
use egui_extras::{Column, TableBuilder};
use serde_json::Value;

/// Longest text kept for one cell; the rest is cut (the row stays one line).
const MAX_CELL_CHARS: usize = 200;
/// Height of the table's own scroll area.
const MAX_HEIGHT: f32 = 320.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Number(f64),
    Text(String),
}

impl Cell {
    fn from_json(value: Option<&Value>) -> Cell {
        match value {
            None | Some(Value::Null) => Cell::Null,
            Some(Value::Number(n)) => n.as_f64().map(Cell::Number).unwrap_or(Cell::Null),
            Some(Value::String(s)) => Cell::Text(cut(s)),
            Some(other) => Cell::Text(cut(&other.to_string())),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Number(n) => format_number(*n),
            Cell::Text(s) => s.clone(),
        }
    }
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Integers without a fraction; others as Rust prints them (shortest round trip).
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Rows the value has; more than `rows` when only the first were sent.
    pub total_rows: u64,
    /// A first width per column, in characters (header and first rows).
    pub widths: Vec<usize>,
}

/// A data resource as a table; `None` when it is not one (then it is shown
/// as text): no `schema.fields` list of named fields, or rows that are not objects.
pub fn parse(value: &Value) -> Option<Table> {
    let fields = value.get("schema")?.get("fields")?.as_array()?;
    let columns: Vec<String> = fields
        .iter()
        .map(|f| f.get("name").and_then(Value::as_str).map(str::to_string))
        .collect::<Option<_>>()?;
    let data = value.get("data")?.as_array()?;
    let mut rows = Vec::with_capacity(data.len());
    for row in data {
        let row = row.as_object()?;
        rows.push(columns.iter().map(|c| Cell::from_json(row.get(c))).collect::<Vec<_>>());
    }
    let total_rows = value
        .get("total_rows")
        .and_then(Value::as_u64)
        .unwrap_or(rows.len() as u64)
        .max(rows.len() as u64);
    let widths = columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            rows.iter()
                .take(50)
                .map(|r: &Vec<Cell>| r[i].text().chars().count())
                .chain([name.chars().count() + 2])
                .max()
                .unwrap_or(4)
                .clamp(4, 40)
        })
        .collect();
    Some(Table {
        columns,
        rows,
        total_rows,
        widths,
    })
}

/// Numbers before text, empty cells last; numbers as numbers.
fn compare(a: &Cell, b: &Cell) -> Ordering {
    match (a, b) {
        (Cell::Number(x), Cell::Number(y)) => x.total_cmp(y),
        (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
        (Cell::Number(_), Cell::Text(_)) => Ordering::Less,
        (Cell::Text(_), Cell::Number(_)) => Ordering::Greater,
        (Cell::Null, Cell::Null) => Ordering::Equal,
        (Cell::Null, _) => Ordering::Greater,
        (_, Cell::Null) => Ordering::Less,
    }
}

/// The row order for a sort by `column`, stable (equal rows keep their
/// order); empty cells stay last either way.
pub fn sorted_order(table: &Table, column: usize, ascending: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..table.rows.len()).collect();
    if column >= table.columns.len() {
        return order;
    }
    order.sort_by(|&a, &b| {
        let (x, y) = (&table.rows[a][column], &table.rows[b][column]);
        match (x, y) {
            (Cell::Null, Cell::Null) => Ordering::Equal,
            (Cell::Null, _) => Ordering::Greater,
            (_, Cell::Null) => Ordering::Less,
            _ if ascending => compare(x, y),
            _ => compare(y, x),
        }
    });
    order
}

/// The rows in `order`, tab-separated with a header line (tabs and line
/// breaks inside a cell become spaces, so a spreadsheet pastes it whole).
pub fn to_tsv(table: &Table, order: &[usize]) -> String {
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    let mut out = table.columns.iter().map(|c| clean(c)).collect::<Vec<_>>().join("\t");
    out.push('\n');
    for &i in order {
        let line: Vec<String> = table.rows[i].iter().map(|c| clean(&c.text())).collect();
        out.push_str(&line.join("\t"));
        out.push('\n');
    }
    out
}

/// `1234567` as `1,234,567`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A parsed table and how it is sorted, kept per display key.
pub struct Shown {
    pub table: Option<Table>,
    /// The column sorted by and whether ascending.
    pub sort: Option<(usize, bool)>,
    pub order: Vec<usize>,
    pub last_drawn: u64,
}

impl Shown {
    pub fn new(value: &Value) -> Shown {
        let table = parse(value);
        let order = (0..table.as_ref().map_or(0, |t| t.rows.len())).collect();
        Shown {
            table,
            sort: None,
            order,
            last_drawn: 0,
        }
    }

    /// A click on a header: ascending first, then the other way.
    pub fn click(&mut self, column: usize) {
        let Some(table) = &self.table else { return };
        let ascending = !matches!(self.sort, Some((c, true)) if c == column);
        self.sort = Some((column, ascending));
        self.order = sorted_order(table, column, ascending);
    }
}

/// Draws the table; false if it is malformed (the caller shows the text).
pub fn show(ui: &mut egui::Ui, key: u64, shown: &mut Shown, greyed: bool) -> bool {
    let Some(table) = &shown.table else {
        return false;
    };
    let weak = ui.visuals().weak_text_color();
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "{} of {} rows",
                format_count(table.rows.len() as u64),
                format_count(table.total_rows)
            ))
            .color(weak),
        );
        if ui.small_button("Copy as TSV").clicked() {
            ui.ctx().copy_text(to_tsv(table, &shown.order));
        }
    });
    let char_width = ui.fonts_mut(|f| f.glyph_width(&egui::TextStyle::Monospace.resolve(ui.style()), '0'));
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let mut clicked = None;
    let text_color = if greyed { weak } else { ui.visuals().text_color() };
    egui::ScrollArea::horizontal().id_salt(("table-h", key)).show(ui, |ui| {
        let mut builder = TableBuilder::new(ui)
            .id_salt(("table", key))
            .striped(true)
            .resizable(true)
            .max_scroll_height(MAX_HEIGHT)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
        for width in &table.widths {
            builder = builder.column(
                Column::initial(*width as f32 * char_width + 12.0)
                    .at_least(24.0)
                    .clip(true)
                    .resizable(true),
            );
        }
        builder
            .header(row_height + 2.0, |mut header| {
                for (i, name) in table.columns.iter().enumerate() {
                    header.col(|ui| {
                        let sorted = shown.sort.filter(|(c, _)| *c == i).map(|(_, ascending)| ascending);
                        let hint = match sorted {
                            Some(true) => "Sorted ascending; click to sort descending",
                            Some(false) => "Sorted descending; click to sort ascending",
                            None => "Sort by this column",
                        };
                        let button = egui::Button::new(RichText::new(name).strong()).frame(false);
                        if ui.add(button).on_hover_text(hint).clicked() {
                            clicked = Some(i);
                        }
                        if let Some(ascending) = sorted {
                            sort_arrow(ui, ascending);
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, shown.order.len(), |mut row| {
                    let cells = &table.rows[shown.order[row.index()]];
                    for cell in cells {
                        row.col(|ui| {
                            let text = RichText::new(cell.text()).color(text_color);
                            let text = if matches!(cell, Cell::Number(_)) {
                                text.monospace()
                            } else {
                                text
                            };
                            ui.add(egui::Label::new(text).truncate());
                        });
                    }
                });
            });
    });
    if let Some(column) = clicked {
        shown.click(column);
    }
    true
}

/// A small triangle, drawn: the bundled fonts have no arrow glyphs.
fn sort_arrow(ui: &mut egui::Ui, ascending: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(8.0, 8.0), egui::Sense::hover());
    let (top, bottom) = (rect.top(), rect.bottom());
    let points = if ascending {
        vec![
            egui::pos2(rect.left(), bottom),
            egui::pos2(rect.right(), bottom),
            egui::pos2(rect.center().x, top),
        ]
    } else {
        vec![
            egui::pos2(rect.left(), top),
            egui::pos2(rect.right(), top),
            egui::pos2(rect.center().x, bottom),
        ]
    };
    let color = ui.visuals().strong_text_color();
    ui.painter()
        .add(egui::Shape::convex_polygon(points, color, egui::Stroke::NONE));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Table {
        parse(&json!({
            "schema": {"fields": [{"name": "name", "type": "string"}, {"name": "n", "type": "integer"}]},
            "data": [
                {"name": "b", "n": 10},
                {"name": "a", "n": 9},
                {"name": "c\tx", "n": null},
                {"name": "d", "n": 100}
            ],
            "total_rows": 1_000_000
        }))
        .unwrap()
    }

    #[test]
    fn a_data_resource_parses_into_columns_rows_and_a_total() {
        let t = sample();
        assert_eq!(t.columns, ["name", "n"]);
        assert_eq!(t.rows.len(), 4);
        assert_eq!(t.rows[0], vec![Cell::Text("b".into()), Cell::Number(10.0)]);
        assert_eq!(t.total_rows, 1_000_000);
        assert_eq!(format_count(t.total_rows), "1,000,000");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
    }

    #[test]
    fn malformed_tables_are_refused() {
        for bad in [
            json!({"data": []}),
            json!({"schema": {"fields": [{"type": "integer"}]}, "data": []}),
            json!({"schema": {"fields": [{"name": "a"}]}, "data": [[1, 2]]}),
            json!({"schema": {"fields": "a"}, "data": []}),
            json!([1, 2]),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
        // A total smaller than what came is taken as what came.
        let t = parse(&json!({"schema": {"fields": [{"name": "a"}]}, "data": [{"a": 1}], "total_rows": 0})).unwrap();
        assert_eq!(t.total_rows, 1);
    }

    #[test]
    fn numbers_sort_as_numbers_and_empty_cells_stay_last() {
        let t = sample();
        assert_eq!(sorted_order(&t, 1, true), [1, 0, 3, 2], "9 < 10 < 100, null last");
        assert_eq!(sorted_order(&t, 1, false), [3, 0, 1, 2]);
        assert_eq!(sorted_order(&t, 0, true), [1, 0, 2, 3]);
        assert_eq!(sorted_order(&t, 7, true), [0, 1, 2, 3], "no such column: as it came");
    }

    #[test]
    fn a_header_click_sorts_ascending_then_descending() {
        let value = json!({"schema": {"fields": [{"name": "n"}]}, "data": [{"n": 2}, {"n": 1}, {"n": 3}]});
        let mut shown = Shown::new(&value);
        shown.click(0);
        assert_eq!((shown.sort, shown.order.clone()), (Some((0, true)), vec![1, 0, 2]));
        shown.click(0);
        assert_eq!((shown.sort, shown.order.clone()), (Some((0, false)), vec![2, 0, 1]));
    }

    #[test]
    fn tsv_has_a_header_and_no_stray_tabs() {
        let t = sample();
        let tsv = to_tsv(&t, &sorted_order(&t, 1, true));
        assert_eq!(tsv, "name\tn\na\t9\nb\t10\nd\t100\nc x\t\n");
    }

    #[test]
    fn cells_are_cut_and_numbers_printed_plainly() {
        assert_eq!(Cell::Number(3.0).text(), "3");
        assert_eq!(Cell::Number(2.5).text(), "2.5");
        let long = Cell::from_json(Some(&json!("x".repeat(1000))));
        assert_eq!(long.text().chars().count(), MAX_CELL_CHARS + 1);
        assert_eq!(Cell::from_json(Some(&json!({"a": 1}))).text(), r#"{"a":1}"#);
    }
}
