//! The completion list and the documentation popup of a code cell's
//! editor. Tab (after code) or Ctrl+Space asks the runtime what could be
//! typed, Shift+Tab (after a name) what the name is; the answers come back
//! into the session ([`Session::completions`], [`Session::documentation`])
//! and are drawn here, under the cursor. While the list is open, typing
//! narrows it, Up / Down choose, Enter or Tab accept, Esc closes.

use egui::text::CCursor;
use egui::text_edit::TextEditOutput;
use egui::{Color32, RichText};

use super::editing::complete;
use super::editor_keys;
use crate::manager::CompletionKind;
use crate::session::{CellId, Completions, Documentation, Session};

/// Rows shown without scrolling.
const ROWS: usize = 12;

/// Which popups are open, in which cell.
#[derive(Debug, Default)]
pub struct Popups {
    list: Option<List>,
    /// The documentation asked for this cell, and its answer once it came.
    doc: Option<(CellId, Option<Documentation>)>,
    /// Closed while the notebook was drawn: the session forgets the
    /// question in [`Popups::settle`], so that a late answer is dropped.
    list_closed: bool,
    doc_closed: bool,
}

#[derive(Debug)]
struct List {
    cell: CellId,
    /// The session's answer, once it came.
    answer: Option<Completions>,
    /// The chosen row among those that fit what is typed.
    chosen: usize,
    /// The answer came this frame: a single fitting match is taken at once.
    fresh: bool,
}

/// A key the open list takes from the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKey {
    Up,
    Down,
    Accept,
    Close,
}

impl Popups {
    /// A completion was asked for `cell`: the list opens when it answers.
    pub fn asked_completion(&mut self, cell: CellId) {
        self.list = Some(List {
            cell,
            answer: None,
            chosen: 0,
            fresh: false,
        });
        self.close_doc();
    }

    pub fn asked_documentation(&mut self, cell: CellId) {
        self.close_list();
        self.doc = Some((cell, None));
    }

    /// Copies in the answers that came since the last frame (once each).
    pub fn update(&mut self, session: &Session) {
        if let Some(list) = self.list.as_mut()
            && list.answer.is_none()
            && let Some(answer) = session.completions().filter(|a| a.cell == list.cell)
        {
            list.answer = Some(answer.clone());
            list.fresh = true;
        }
        if let Some((cell, doc @ None)) = self.doc.as_mut()
            && let Some(answer) = session.documentation().filter(|d| d.cell == *cell)
        {
            *doc = Some(answer.clone());
        }
    }

    fn close_list(&mut self) {
        self.list_closed |= self.list.take().is_some();
    }

    fn close_doc(&mut self) {
        self.doc_closed |= self.doc.take().is_some();
    }

    /// After drawing, before new questions are asked: the session forgets
    /// the questions whose popups closed.
    pub fn settle(&mut self, session: &mut Session) {
        if std::mem::take(&mut self.list_closed) {
            session.dismiss_completions();
        }
        if std::mem::take(&mut self.doc_closed) {
            session.dismiss_documentation();
        }
    }

    /// Whether a popup of `cell` is shown: Esc then closes it rather than
    /// leaving the editor.
    pub fn is_open_in(&self, cell: CellId) -> bool {
        self.list_shown(cell) || self.doc_shown(cell)
    }

    /// Whether the list is shown in `cell`: it then takes the arrows,
    /// Enter, Tab and Esc from the editor.
    fn list_shown(&self, cell: CellId) -> bool {
        self.list.as_ref().is_some_and(|l| l.cell == cell && l.answer.is_some())
    }

    fn doc_shown(&self, cell: CellId) -> bool {
        self.doc.as_ref().is_some_and(|(c, _)| *c == cell)
    }
}

/// Takes the keys an open popup of `cell` answers out of this frame's input,
/// before the editor `editor` sees them.
pub fn take_keys(ui: &egui::Ui, popups: &Popups, cell: CellId, editor: egui::Id) -> Vec<ListKey> {
    let list = popups.list_shown(cell);
    let doc = popups.doc_shown(cell);
    if !(list || doc) || !ui.memory(|m| m.has_focus(editor)) {
        return Vec::new();
    }
    editor_keys::take_pressed(ui, |key, modifiers| match key {
        _ if !modifiers.is_none() => None,
        egui::Key::Escape => Some(ListKey::Close),
        egui::Key::ArrowUp if list => Some(ListKey::Up),
        egui::Key::ArrowDown if list => Some(ListKey::Down),
        egui::Key::Enter | egui::Key::Tab if list => Some(ListKey::Accept),
        _ => None,
    })
}

/// After the editor of `cell` was drawn (`output`) and its keys applied to
/// `code`: handles the popup's keys, accepts or closes the list as the text
/// now says, and draws what is open under the cursor. Returns whether
/// `code` changed (an accepted completion).
pub fn show(
    ui: &egui::Ui,
    popups: &mut Popups,
    cell: CellId,
    editor: egui::Id,
    code: &mut String,
    keys: &[ListKey],
    output: &TextEditOutput,
) -> bool {
    let focused = ui.memory(|m| m.has_focus(editor));
    let cursor = output.cursor_range.map(|r| r.primary.index.0);
    let at = |index: usize| {
        let rect = output.galley.pos_from_cursor(CCursor::new(index));
        rect.translate(output.galley_pos.to_vec2())
    };
    let mut changed = false;
    if popups.doc_shown(cell) {
        if keys.contains(&ListKey::Close) || !focused || output.response.response.changed() {
            popups.close_doc();
        } else if let (Some((_, Some(doc))), Some(cursor)) = (&popups.doc, cursor) {
            documentation(ui, editor, at(cursor), doc);
        }
    }
    let Some(list) = popups.list.as_mut().filter(|l| l.cell == cell) else {
        return false;
    };
    // A row being clicked takes the focus from the editor; losing it
    // otherwise closes the list.
    let over_list = ui
        .input(|i| i.pointer.hover_pos())
        .and_then(|pos| ui.ctx().layer_id_at(pos))
        .is_some_and(|layer| layer.id == editor.with("completions"));
    if !focused && !over_list && list.answer.is_some() {
        popups.close_list();
        return false;
    }
    let (Some(answer), Some(cursor)) = (&list.answer, cursor) else {
        return false;
    };
    let Some(typed) = complete::typed(code, answer.start, cursor) else {
        popups.close_list();
        return false;
    };
    let fitting = complete::fitting(answer.matches.iter().map(|m| m.text.as_str()), &typed);
    // "No completions" stays until the cursor moves; a list, while a match fits.
    let gone = match answer.matches.is_empty() {
        true => cursor != answer.end || !keys.is_empty(),
        false => fitting.is_empty(),
    };
    if keys.contains(&ListKey::Close) || gone {
        popups.close_list();
        return false;
    }
    let count = fitting.len();
    for key in keys {
        match key {
            ListKey::Up if count > 0 => list.chosen = (list.chosen + count - 1) % count,
            ListKey::Down if count > 0 => list.chosen = (list.chosen + 1) % count,
            _ => {}
        }
    }
    list.chosen = list.chosen.min(count.saturating_sub(1));
    let fresh = std::mem::take(&mut list.fresh);
    let mut accept = keys.contains(&ListKey::Accept).then_some(list.chosen);
    // As JupyterLab: a single match is typed at once, without a list.
    if fresh && count == 1 {
        accept = Some(0);
    }
    if accept.is_none() {
        let anchor = at(answer.start);
        accept = draw_list(ui, editor, anchor, answer, &fitting, list.chosen);
    }
    if let Some(row) = accept {
        if let Some(choice) = fitting.get(row).map(|&i| &answer.matches[i]) {
            let edited = complete::accept(code, answer.start, cursor, &choice.text);
            editor_keys::replace(ui.ctx(), editor, code, edited);
            changed = true;
        }
        if !focused {
            ui.ctx().memory_mut(|m| m.request_focus(editor));
        }
        popups.close_list();
    }
    changed
}

/// The list under the start of the name being completed; returns the row
/// clicked.
fn draw_list(
    ui: &egui::Ui,
    editor: egui::Id,
    anchor: egui::Rect,
    answer: &Completions,
    fitting: &[usize],
    chosen: usize,
) -> Option<usize> {
    let mut clicked = None;
    egui::Area::new(editor.with("completions"))
        .order(egui::Order::Foreground)
        .fixed_pos(anchor.left_bottom())
        .constrain(true)
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(520.0);
                if fitting.is_empty() {
                    ui.label(RichText::new("No completions").weak());
                    return;
                }
                let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
                egui::ScrollArea::vertical()
                    .max_height(row_height * ROWS as f32)
                    .auto_shrink([false, true])
                    .show_rows(ui, row_height, fitting.len(), |ui, rows| {
                        for row in rows {
                            let item = &answer.matches[fitting[row]];
                            let label = format!("{}  {}", kind_mark(item.kind), item.text);
                            let response = ui.selectable_label(row == chosen, RichText::new(label).monospace());
                            if row == chosen {
                                response.scroll_to_me(None);
                            }
                            if response.clicked() {
                                clicked = Some(row);
                            }
                        }
                    });
                let item = &answer.matches[fitting[chosen.min(fitting.len() - 1)]];
                if let Some(signature) = &item.signature {
                    ui.separator();
                    ui.label(RichText::new(signature).monospace().weak());
                }
            });
        });
    clicked
}

/// The signature and documentation of the name at the cursor.
fn documentation(ui: &egui::Ui, editor: egui::Id, cursor: egui::Rect, doc: &Documentation) {
    egui::Area::new(editor.with("documentation"))
        .order(egui::Order::Foreground)
        .fixed_pos(cursor.left_bottom())
        .constrain(true)
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(640.0);
                if !doc.found {
                    ui.label(RichText::new("No documentation for the code at the cursor").weak());
                    return;
                }
                egui::ScrollArea::vertical().max_height(320.0).show(ui, |ui| {
                    ui.label(RichText::new(doc.bundle.text()).monospace());
                });
                ui.label(RichText::new("Esc closes").small().color(Color32::GRAY));
            });
        });
}

/// A letter for what a completion is, as editors show an icon.
fn kind_mark(kind: CompletionKind) -> &'static str {
    match kind {
        CompletionKind::Function => "ƒ",
        CompletionKind::Module => "M",
        CompletionKind::Class => "C",
        CompletionKind::Keyword => "K",
        CompletionKind::Variable => "v",
        CompletionKind::Attribute => "a",
        CompletionKind::Property => "p",
        CompletionKind::Parameter => "=",
        CompletionKind::Key => "k",
        CompletionKind::Path => "/",
        CompletionKind::Magic => "%",
        CompletionKind::Other => "·",
    }
}
