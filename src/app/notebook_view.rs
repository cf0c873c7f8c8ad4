//! The notebook of a session: sections, code and Markdown cells, their
//! states and outputs. Drawing collects what the user did; it is applied
//! to the session afterwards, which answers with commands for the manager.

use std::collections::HashSet;

use egui::text::{CCursor, CCursorRange};
use egui::{Color32, RichText};
use egui_commonmark::{CommonMarkCache, CommonMarkViewer};

use super::cell_heights::CellHeights;
use super::command_mode::{self, CommandKey};
use super::completion_popup::{self, Popups};
use super::display_view::{self, Cx};
use super::editing::Rules;
use super::find_bar::{FindBar, Reveal};
use super::rich::Rich;
use super::{code_marks, editor_keys, highlight, output_view, style};
use crate::manager::Command;
use crate::protocol::EvalError;
use crate::session::outputs::OutputItem;
use crate::session::{Cell, CellId, CellKind, CellResult, CellState, SectionId, Session, format_duration};

/// What the notebook view remembers between frames for one session.
#[derive(Default)]
pub struct NotebookUi {
    /// Markdown cells shown as source rather than rendered.
    editing: HashSet<CellId>,
    /// The editor to focus on the next frame.
    focus: Option<CellId>,
    markdown: CommonMarkCache,
    /// A cell whose whole output the user wants to save to a file.
    pub save_output: Option<CellId>,
    /// The cell whose editor had the keyboard focus last frame: always drawn
    /// (egui drops the focus of a widget that is not).
    focused: Option<CellId>,
    /// Each cell's height, drawn or estimated: a cell far off-screen takes
    /// that space without being laid out.
    heights: CellHeights,
    /// The running cell's pending input request, copied in each frame.
    input: Option<crate::session::InputRequest>,
    /// What the user is typing in answer to it.
    input_text: String,
    /// A new request came: its field takes the keyboard focus once.
    input_focus: bool,
    /// The find bar above the notebook (Ctrl+F).
    pub find: FindBar,
    /// A rendered Markdown cell shown as source because it holds the
    /// current match, to render again when the search moves on.
    find_opened: Option<CellId>,
    /// The selected cell (JupyterLab's): what command-mode keys act on
    /// when no text field has the keyboard focus.
    pub selected: Option<CellId>,
    /// The first press of a double command key (D D, I I, 0 0).
    pending: Option<egui::Key>,
    /// The selection moved by a key: bring the selected cell into view.
    scroll_to_selected: bool,
    /// The completion list and documentation popup of the focused editor.
    pub popups: Popups,
}

/// Cells copied or cut in command mode (kind and source), pasted by V:
/// the app's, so that cells go from one notebook to another.
pub type Clipboard = Vec<(CellKind, String)>;

/// The session's language: its name for the highlighter, its editing rules.
struct Language<'a> {
    name: &'a str,
    rules: Rules,
}

enum Action {
    Evaluate {
        cell: CellId,
        advance: bool,
    },
    /// Only the cell, from what the cells above left (Jupyter's way).
    EvaluateOnly(CellId),
    Unqueue(CellId),
    Edit(CellId, String),
    Delete(CellId),
    Move(CellId, isize),
    Duplicate(CellId),
    ClearOutput(CellId),
    /// The line typed for the pending input request (`None`: end of input).
    Input(Option<String>),
    Insert {
        section: SectionId,
        after: Option<CellId>,
        kind: CellKind,
    },
    RenameSection(SectionId, String),
    MoveSection(SectionId, isize),
    DuplicateSection(SectionId),
    DeleteSection(SectionId),
    AddSection,
    /// A click in a cell.
    Select(CellId),
    /// A command-mode key.
    Command(CommandKey),
    /// Tab, Ctrl+Space or Shift+Tab in a cell's editor.
    Ask(CellId, editor_keys::Ask),
}

pub fn show(
    ui: &mut egui::Ui,
    session: &mut Session,
    view: &mut NotebookUi,
    rich: &mut Rich,
    clipboard: &mut Clipboard,
) -> Vec<Command> {
    let mut actions = Vec::new();
    let name = session.config.language().to_string();
    let language = Language {
        name: &name,
        rules: Rules::for_language(&name),
    };
    if view.input != session.input {
        view.input = session.input.clone();
        view.input_text.clear();
        view.input_focus = view.input.is_some();
    }
    show_found_markdown(session, view);
    view.popups.update(session);
    if view.selected.is_some_and(|id| session.cell(id).is_none()) {
        view.selected = None;
    }
    // Command mode is a selected cell and no text field focused: then no
    // key can reach an editor, and keys typed into one never get here.
    if view.selected.is_some() && ui.memory(|m| m.focused().is_none()) {
        let keys = command_mode::take(ui.ctx(), &mut view.pending);
        actions.extend(keys.into_iter().map(Action::Command));
    } else {
        view.pending = None;
    }
    let mut title = session.title().unwrap_or_default().to_string();
    let edit = egui::TextEdit::singleline(&mut title)
        .font(egui::FontId::proportional(26.0))
        .frame(egui::Frame::NONE)
        .desired_width(f32::INFINITY)
        .hint_text("Notebook title");
    if ui.add(edit).changed() {
        session.set_title(title);
    }
    if let Some(label) = session.undo_label() {
        ui.horizontal(|ui| {
            if ui.button(label).clicked() {
                session.undo_delete();
            }
        });
    }
    let section_count = session.sections.len();
    let mut number = 0;
    for (si, section) in session.sections.iter_mut().enumerate() {
        ui.push_id(("section", section.id.0), |ui| {
            section_header(ui, section.id, &section.title, si, section_count, &mut actions);
            insert_bar(ui, section.id, None, &mut actions);
            // The space of the off-screen cells in a row, added at once.
            let mut skipped = 0.0;
            for cell in section.cells.iter_mut() {
                number += 1;
                let width = ui.available_width();
                let top = ui.cursor().top() + skipped;
                if !must_draw(view, cell.id)
                    && let Some(height) = view.heights.off_screen(ui, top, cell, width)
                {
                    // Its height includes the item spacing that follows it.
                    skipped += height + ui.spacing().item_spacing.y;
                    continue;
                }
                ui.add_space(std::mem::take(&mut skipped));
                ui.push_id(("cell", cell.id.0), |ui| {
                    cell_view(ui, cell, number, &language, view, rich, &mut actions);
                });
                insert_bar(ui, section.id, Some(cell.id), &mut actions);
                let height = ui.cursor().top() - top - ui.spacing().item_spacing.y;
                view.heights.measured(cell.id, width, height);
            }
            ui.add_space(skipped);
        });
        ui.add_space(12.0);
    }
    if ui.button("+ Section").clicked() {
        actions.push(Action::AddSection);
    }
    apply(session, view, clipboard, actions)
}

/// A cell drawn whether or not it is near the visible part: egui drops
/// the focus of a widget that is not drawn, and a cell brought into view
/// must be there to be scrolled to.
fn must_draw(view: &NotebookUi, id: CellId) -> bool {
    view.focus == Some(id)
        || view.focused == Some(id)
        || view.input.as_ref().is_some_and(|r| r.cell == Some(id))
        || view.find.reveal.as_ref().is_some_and(|r| r.found.cell == id)
        || (view.scroll_to_selected && view.selected == Some(id))
}

fn apply(
    session: &mut Session,
    view: &mut NotebookUi,
    clipboard: &mut Clipboard,
    actions: Vec<Action>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    view.popups.settle(session);
    for action in actions {
        match action {
            Action::Edit(id, code) => session.set_code(id, code),
            Action::Ask(id, editor_keys::Ask::Complete(at)) => {
                if let Some(command) = session.complete(id, at) {
                    commands.push(command);
                    view.popups.asked_completion(id);
                }
            }
            Action::Ask(id, editor_keys::Ask::Inspect(at)) => {
                if let Some(command) = session.inspect(id, at, 0) {
                    commands.push(command);
                    view.popups.asked_documentation(id);
                }
            }
            Action::EvaluateOnly(id) => commands.extend(session.evaluate_only(id)),
            Action::Evaluate { cell, advance } => {
                if session.cell(cell).is_some_and(Cell::is_code) {
                    commands.extend(session.evaluate(cell));
                } else {
                    view.editing.remove(&cell);
                }
                if advance {
                    view.focus = Some(next_cell_or_new(session, cell));
                }
            }
            Action::Unqueue(id) => session.unqueue(id),
            Action::Delete(id) => commands.extend(session.delete_cell(id)),
            Action::Move(id, delta) => session.move_cell(id, delta),
            Action::Duplicate(id) => {
                view.focus = session.duplicate_cell(id);
            }
            Action::ClearOutput(id) => session.clear_output(id),
            Action::Input(line) => {
                view.input_text.clear();
                commands.extend(session.answer_input(line));
            }
            Action::Insert { section, after, kind } => {
                let id = session.insert_cell(section, after, kind, String::new());
                if kind == CellKind::Markdown {
                    view.editing.insert(id);
                }
                view.focus = Some(id);
            }
            Action::RenameSection(id, title) => session.set_section_title(id, title),
            Action::MoveSection(id, delta) => session.move_section(id, delta),
            Action::DuplicateSection(id) => {
                session.duplicate_section(id);
            }
            Action::DeleteSection(id) => commands.extend(session.delete_section(id)),
            Action::Select(id) => view.selected = Some(id),
            Action::Command(key) => commands.extend(command(session, view, clipboard, key)),
            Action::AddSection => {
                let n = session.sections.len() + 1;
                let section = session.add_section(format!("Section {n}"));
                view.focus = Some(session.insert_cell(section, None, CellKind::Code, String::new()));
            }
        }
    }
    commands
}

/// Does what a command-mode key asks of the selected cell.
fn command(session: &mut Session, view: &mut NotebookUi, clipboard: &mut Clipboard, key: CommandKey) -> Vec<Command> {
    if key == CommandKey::UndoDelete {
        session.undo_delete();
        return Vec::new();
    }
    let Some(id) = view.selected else {
        return Vec::new();
    };
    let Some(section) = session.section_of(id) else {
        return Vec::new();
    };
    let mut commands = Vec::new();
    let select = |view: &mut NotebookUi, cell: Option<CellId>| {
        if let Some(cell) = cell {
            view.selected = Some(cell);
            view.scroll_to_selected = true;
        }
    };
    match key {
        CommandKey::Edit => {
            if session.cell(id).is_some_and(|c| c.kind == CellKind::Markdown) {
                view.editing.insert(id);
            }
            view.focus = Some(id);
        }
        CommandKey::InsertAbove => {
            let above = neighbour(session, id, -1).filter(|c| session.section_of(*c) == Some(section));
            let new = session.insert_cell(section, above, CellKind::Code, String::new());
            select(view, Some(new));
        }
        CommandKey::InsertBelow => {
            let new = session.insert_cell(section, Some(id), CellKind::Code, String::new());
            select(view, Some(new));
        }
        CommandKey::Delete | CommandKey::Cut => {
            if key == CommandKey::Cut {
                *clipboard = copy(session, id);
            }
            let next = neighbour(session, id, 1).or_else(|| neighbour(session, id, -1));
            commands.extend(session.delete_cell(id));
            view.selected = next;
        }
        CommandKey::ToMarkdown => session.set_kind(id, CellKind::Markdown),
        CommandKey::ToCode => session.set_kind(id, CellKind::Code),
        CommandKey::SelectNext => select(view, neighbour(session, id, 1)),
        CommandKey::SelectPrevious => select(view, neighbour(session, id, -1)),
        CommandKey::Copy => *clipboard = copy(session, id),
        CommandKey::Paste => {
            let mut after = id;
            for (kind, source) in clipboard.clone() {
                after = session.insert_cell(section, Some(after), kind, source);
            }
            select(view, Some(after));
        }
        CommandKey::EvaluateAndSelectNext | CommandKey::EvaluateAndInsert => {
            if session.cell(id).is_some_and(Cell::is_code) {
                commands.extend(session.evaluate(id));
            } else {
                view.editing.remove(&id);
            }
            if key == CommandKey::EvaluateAndSelectNext {
                let next = next_cell_or_new(session, id);
                select(view, Some(next));
            } else {
                // As in JupyterLab: straight into the new cell's editor.
                let new = session.insert_cell(section, Some(id), CellKind::Code, String::new());
                select(view, Some(new));
                view.focus = Some(new);
            }
        }
        CommandKey::Interrupt => {
            if session.can_interrupt() {
                commands.extend(session.interrupt());
            }
        }
        CommandKey::Reconnect => {
            if session.can_reconnect() {
                commands.extend(session.reconnect());
            }
        }
        CommandKey::UndoDelete => {}
    }
    commands
}

/// The cell `delta` places from `id` in notebook order, across sections.
fn neighbour(session: &Session, id: CellId, delta: isize) -> Option<CellId> {
    let ids: Vec<CellId> = session.cells().map(|c| c.id).collect();
    let at = ids.iter().position(|c| *c == id)? as isize + delta;
    usize::try_from(at).ok().and_then(|at| ids.get(at).copied())
}

fn copy(session: &Session, id: CellId) -> Vec<(CellKind, String)> {
    session
        .cell(id)
        .map(|c| vec![(c.kind, c.code.clone())])
        .unwrap_or_default()
}

/// The cell after `id` in notebook order; a new code cell if it was the last.
fn next_cell_or_new(session: &mut Session, id: CellId) -> CellId {
    let next = session.cells().map(|c| c.id).skip_while(|c| *c != id).nth(1);
    match next {
        Some(next) => next,
        // The last cell (or one deleted in this frame: then at the end).
        None => match session.section_of(id) {
            Some(section) => session.insert_cell(section, Some(id), CellKind::Code, String::new()),
            None => session.add_cell(""),
        },
    }
}

fn section_header(
    ui: &mut egui::Ui,
    id: SectionId,
    title: &str,
    index: usize,
    count: usize,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        let mut text = title.to_string();
        let edit = egui::TextEdit::singleline(&mut text)
            .font(egui::TextStyle::Heading)
            .frame(egui::Frame::NONE)
            .desired_width(ui.available_width() - 60.0)
            .hint_text("Section title");
        if ui.add(edit).changed() {
            actions.push(Action::RenameSection(id, text));
        }
        ui.menu_button("…", |ui| {
            if ui
                .add_enabled(index > 0, egui::Button::new("Move section up"))
                .clicked()
            {
                actions.push(Action::MoveSection(id, -1));
            }
            if ui
                .add_enabled(index + 1 < count, egui::Button::new("Move section down"))
                .clicked()
            {
                actions.push(Action::MoveSection(id, 1));
            }
            if ui.button("Duplicate section").clicked() {
                actions.push(Action::DuplicateSection(id));
            }
            if ui.button("Delete section").clicked() {
                actions.push(Action::DeleteSection(id));
            }
        })
        .response
        .on_hover_text("Section actions");
    });
}

/// The thin row between cells with buttons to insert a cell there.
fn insert_bar(ui: &mut egui::Ui, section: SectionId, after: Option<CellId>, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.add_space(ui.available_width() / 2.0 - 90.0);
        for (label, kind) in [("+ Code", CellKind::Code), ("+ Markdown", CellKind::Markdown)] {
            if ui.small_button(label).clicked() {
                actions.push(Action::Insert { section, after, kind });
            }
        }
    });
}

fn cell_view(
    ui: &mut egui::Ui,
    cell: &mut Cell,
    number: usize,
    language: &Language,
    view: &mut NotebookUi,
    rich: &mut Rich,
    actions: &mut Vec<Action>,
) {
    let greyed = matches!(cell.state, CellState::Aborted | CellState::Stale);
    let frame = egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        cell_toolbar(ui, cell, number, view, actions);
        match cell.kind {
            CellKind::Code => {
                code_editor(ui, cell, number, language, view, actions);
                if cell.output.omitted() > 0 {
                    let text = format!(
                        "{} lines left out of {} ({} received); Save output… keeps them all",
                        cell.output.omitted(),
                        cell.output.omitted() + cell.output.rows() - 1,
                        style::format_bytes(cell.output.bytes_received() as u64)
                    );
                    ui.label(RichText::new(text).italics().color(style::WARNING_TEXT));
                }
                for (index, item) in cell.output.items().iter().enumerate() {
                    match item {
                        OutputItem::Stream(buffer) if !buffer.is_empty() => {
                            output_view::show(ui, ("cell-output", cell.id.0, index), buffer, greyed);
                        }
                        OutputItem::Stream(_) => {}
                        OutputItem::Display(display) => {
                            let mut cx = Cx {
                                rich,
                                markdown: &mut view.markdown,
                            };
                            display_view::show(ui, display, greyed, &mut cx);
                        }
                    }
                }
                if cell.output.displays_dropped() > 0 {
                    let text = format!(
                        "{} more displays left out (a cell keeps {})",
                        cell.output.displays_dropped(),
                        crate::session::outputs::MAX_DISPLAYS
                    );
                    ui.label(RichText::new(text).italics().color(style::WARNING_TEXT));
                }
                if view.input.as_ref().is_some_and(|r| r.cell == Some(cell.id)) {
                    input_row(ui, view, actions);
                }
                if let Some(result) = &cell.result {
                    let mut cx = Cx {
                        rich,
                        markdown: &mut view.markdown,
                    };
                    result_view(ui, result, greyed, &mut cx);
                }
            }
            CellKind::Markdown => markdown_cell(ui, cell, number, view, actions),
            CellKind::Raw => raw_cell(ui, cell, number, view, actions),
        }
    });
    selection(ui, frame.response.rect, cell.id, view, actions);
}

/// A click anywhere in the cell selects it; the selected cell has an
/// outline, strong in command mode, faint while an editor has the focus
/// (which draws its own).
fn selection(ui: &mut egui::Ui, rect: egui::Rect, id: CellId, view: &mut NotebookUi, actions: &mut Vec<Action>) {
    if ui.input(|i| i.pointer.primary_clicked()) && ui.rect_contains_pointer(rect) {
        actions.push(Action::Select(id));
    }
    if view.selected != Some(id) {
        return;
    }
    let command_mode = ui.memory(|m| m.focused().is_none());
    let colour = if command_mode {
        ui.visuals().selection.stroke.color
    } else {
        ui.visuals().weak_text_color()
    };
    let bar = egui::Rect::from_min_size(rect.min, egui::vec2(4.0, rect.height()));
    ui.painter().rect_filled(bar, 2.0, colour);
    if std::mem::take(&mut view.scroll_to_selected) {
        ui.scroll_to_rect(rect, None);
    }
}

fn cell_toolbar(ui: &mut egui::Ui, cell: &mut Cell, number: usize, view: &mut NotebookUi, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        match cell.kind {
            CellKind::Code => {
                // One number per cell, the one its tracebacks use; the
                // evaluation counter (Jupyter's In [n]) is in the tooltip.
                let runs = match cell.execution_count {
                    Some(n) => format!("Evaluation {n} of this session (Jupyter's In [{n}])"),
                    None => "Not evaluated yet".to_string(),
                };
                ui.label(RichText::new(format!("cell {number}")).monospace().weak())
                    .on_hover_text(format!("Tracebacks call this cell \"cell {number}\". {runs}"));
                if ui
                    .button("Evaluate")
                    .on_hover_text("Ctrl+Enter; Shift+Enter evaluates and moves on")
                    .clicked()
                {
                    actions.push(Action::Evaluate {
                        cell: cell.id,
                        advance: false,
                    });
                }
                if cell.state == CellState::Queued && ui.button("Unqueue").clicked() {
                    actions.push(Action::Unqueue(cell.id));
                }
                ui.label(RichText::new(state_text(&cell.state)).color(style::cell_state_color(&cell.state)));
            }
            CellKind::Raw => {
                ui.label(RichText::new("Raw").weak())
                    .on_hover_text("A raw cell: kept in the file as written, neither run nor rendered");
            }
            CellKind::Markdown => {
                let editing = view.editing.contains(&cell.id);
                ui.label(RichText::new("Markdown").weak());
                if ui.button(if editing { "Done" } else { "Edit" }).clicked() {
                    if editing {
                        view.editing.remove(&cell.id);
                    } else {
                        view.editing.insert(cell.id);
                        view.focus = Some(cell.id);
                    }
                }
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.menu_button("…", |ui| {
                for (label, action) in [
                    ("Move up", Action::Move(cell.id, -1)),
                    ("Move down", Action::Move(cell.id, 1)),
                    ("Duplicate", Action::Duplicate(cell.id)),
                    ("Delete", Action::Delete(cell.id)),
                ] {
                    if ui.button(label).clicked() {
                        actions.push(action);
                    }
                }
                if cell.is_code() {
                    ui.separator();
                    if ui
                        .button("Evaluate only this cell")
                        .on_hover_text(
                            "Runs the cell alone, from what the cells above left, as Jupyter does; it is \
                             marked stale if a cell above is not up to date",
                        )
                        .clicked()
                    {
                        actions.push(Action::EvaluateOnly(cell.id));
                    }
                    if ui
                        .add_enabled(!cell.output.is_empty(), egui::Button::new("Copy output"))
                        .clicked()
                    {
                        ui.ctx().copy_text(cell.output.text());
                    }
                    if ui
                        .add_enabled(!cell.output.is_empty(), egui::Button::new("Save output…"))
                        .clicked()
                    {
                        view.save_output = Some(cell.id);
                    }
                    let has_output = !cell.output.is_empty() || cell.result.is_some();
                    if ui.add_enabled(has_output, egui::Button::new("Clear output")).clicked() {
                        actions.push(Action::ClearOutput(cell.id));
                    }
                }
            })
            .response
            .on_hover_text("Cell actions");
            if cell.kind != CellKind::Code {
                ui.label(RichText::new(format!("cell {number}")).small().weak());
            }
        });
    });
}

fn code_editor(
    ui: &mut egui::Ui,
    cell: &mut Cell,
    number: usize,
    language: &Language,
    view: &mut NotebookUi,
    actions: &mut Vec<Action>,
) {
    let editor_id = ui.make_persistent_id(("editor", cell.id.0));
    let evaluate = evaluate_shortcut(ui, editor_id, cell.id);
    // Before the editor's keys: an open list answers Enter, Tab and Esc.
    let list_keys = completion_popup::take_keys(ui, &view.popups, cell.id, editor_id);
    let popup_open = view.popups.is_open_in(cell.id);
    let keys = editor_keys::take(ui, editor_id);
    let error_line = match &cell.result {
        Some(CellResult::Error(error)) => error.line,
        _ => None,
    };
    let cursor = code_marks::focused_cursor(ui, editor_id);
    let dark = ui.visuals().dark_mode;
    ui.horizontal_top(|ui| {
        gutter(ui, cell.code.lines().count().max(1), error_line);
        let mut code = cell.code.clone();
        // The pair the layouter marked last, for the cursor before this
        // frame's input.
        let mut marked = None;
        let found = view.find.in_cell(cell.id);
        let mut layouter = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap_width: f32| {
            let mut job = highlight::highlight(ui.ctx(), ui.style(), text.as_str(), language.name);
            marked = code_marks::pair(text.as_str(), cursor, &language.rules);
            highlight::mark(&mut job, &code_marks::marks(marked, &found, dark));
            job.wrap.max_width = wrap_width;
            ui.fonts_mut(|f| f.layout_job(job))
        };
        let output = egui::TextEdit::multiline(&mut code)
            .id(editor_id)
            .code_editor()
            .desired_rows(1)
            .desired_width(f32::INFINITY)
            .event_filter(egui::EventFilter {
                tab: true,
                horizontal_arrows: true,
                vertical_arrows: true,
                // While a popup is open Esc closes it (completion_popup),
                // not the editor.
                escape: popup_open,
            })
            .hint_text(format!("Code for cell {number}"))
            .layouter(&mut layouter)
            .show(ui);
        let response = output.response.response.clone();
        // Before a match found is given the focus: that Esc closed the find bar.
        let escaped = response.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Escape));
        reveal_found(ui, view, cell.id, editor_id, &output);
        focus_if_asked(view, cell.id, &response);
        // Settle the last frame's editing key before applying this frame's.
        editor_keys::settle(ui.ctx(), editor_id, &code);
        let applied = editor_keys::apply(ui.ctx(), editor_id, &mut code, &keys, &language.rules);
        if let Some(ask) = applied.ask {
            actions.push(Action::Ask(cell.id, ask));
        }
        let completed =
            completion_popup::show(ui, &mut view.popups, cell.id, editor_id, &mut code, &list_keys, &output);
        let keyed = applied.changed || completed;
        // The cursor moved to or from a bracket: mark the pair where it is now.
        let pair = code_marks::pair(&code, code_marks::focused_cursor(ui, editor_id), &language.rules);
        if !keyed && pair != marked {
            editor_keys::draw_again(ui.ctx(), "the bracket pair at the cursor changed");
        }
        if response.changed() || keyed {
            actions.push(Action::Edit(cell.id, code));
        }
        if escaped {
            response.surrender_focus();
        }
    });
    // After the edit: what is evaluated is the text typed up to the key press.
    actions.extend(evaluate);
}

/// Line numbers beside the editor; the line an error points at is marked.
fn gutter(ui: &mut egui::Ui, lines: usize, error_line: Option<u32>) {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let weak = ui.visuals().weak_text_color();
    let mut job = egui::text::LayoutJob::default();
    for n in 1..=lines {
        let is_error = error_line == Some(n as u32);
        let format = egui::TextFormat {
            font_id: font.clone(),
            color: if is_error { Color32::WHITE } else { weak },
            background: if is_error {
                style::ERROR_TEXT
            } else {
                Color32::TRANSPARENT
            },
            ..Default::default()
        };
        job.append(&format!("{n:>3}\n"), 0.0, format);
    }
    // Aligns with the editor's text, which sits inside its frame's margin.
    ui.vertical(|ui| {
        ui.add_space(2.0);
        ui.label(job);
    });
}

/// Takes Shift+Enter / Ctrl+Enter away from the editor (which would insert
/// a newline) and returns the evaluation they ask for. The caller pushes it
/// after the editor's own edit of this frame, so that text typed in the same
/// frame, before the key press, is evaluated too.
fn evaluate_shortcut(ui: &mut egui::Ui, editor_id: egui::Id, cell: CellId) -> Option<Action> {
    if !ui.memory(|m| m.has_focus(editor_id)) {
        return None;
    }
    let (advance, in_place) = ui.input_mut(|i| {
        (
            i.consume_key(egui::Modifiers::SHIFT, egui::Key::Enter),
            i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter),
        )
    });
    (advance || in_place).then_some(Action::Evaluate { cell, advance })
}

fn focus_if_asked(view: &mut NotebookUi, id: CellId, response: &egui::Response) {
    if response.has_focus() {
        view.focused = Some(id);
        view.selected = Some(id);
    } else if view.focused == Some(id) {
        view.focused = None;
    }
    if view.focus == Some(id) {
        response.request_focus();
        // A cell added below by Shift+Enter may be off-screen: bring it in.
        response.scroll_to_me(None);
        view.focus = None;
    }
}

/// Scrolls the find bar's current match into view if it is in this
/// editor; when the bar was closed with Esc, also gives the editor the
/// keyboard focus with the match selected. Returns whether it selected.
fn reveal_found(
    ui: &mut egui::Ui,
    view: &mut NotebookUi,
    cell: CellId,
    editor_id: egui::Id,
    output: &egui::text_edit::TextEditOutput,
) -> bool {
    let Some(Reveal { found, select }) = view.find.reveal.take_if(|r| r.found.cell == cell) else {
        return false;
    };
    let (start, end) = (CCursor::new(found.range.start), CCursor::new(found.range.end));
    let galley = &output.galley;
    let rect = galley
        .pos_from_cursor(start)
        .union(galley.pos_from_cursor(end))
        .translate(output.galley_pos.to_vec2());
    ui.scroll_to_rect(rect.expand(8.0), Some(egui::Align::Center));
    if select {
        let mut state = output.state.clone();
        state.cursor.set_char_range(Some(CCursorRange::two(start, end)));
        state.store(ui.ctx(), editor_id);
        ui.memory_mut(|m| m.request_focus(editor_id));
    }
    select
}

/// A rendered Markdown cell holding the search's current match is shown as
/// source, where the match can be marked; rendered again once the search
/// moves on or closes, unless the user went on editing it.
fn show_found_markdown(session: &Session, view: &mut NotebookUi) {
    let open = view.find.is_open();
    let wanted = view
        .find
        .current_match()
        .filter(|_| open)
        .map(|m| m.cell)
        // Closed with Esc: it takes the focus, as source.
        .or_else(|| view.find.reveal.as_ref().filter(|r| r.select).map(|r| r.found.cell))
        .filter(|id| session.cell(*id).is_some_and(|c| c.kind == CellKind::Markdown));
    if view.find_opened == wanted {
        return;
    }
    if let Some(old) = view.find_opened.take() {
        view.editing.remove(&old);
    }
    if let Some(id) = wanted
        && view.editing.insert(id)
    {
        view.find_opened = Some(id);
    }
}

/// A raw cell's text, editable, shown as it is.
fn raw_cell(ui: &mut egui::Ui, cell: &mut Cell, number: usize, view: &mut NotebookUi, actions: &mut Vec<Action>) {
    let mut text = cell.code.clone();
    let response = ui.add(
        egui::TextEdit::multiline(&mut text)
            .code_editor()
            .desired_rows(1)
            .desired_width(f32::INFINITY)
            .hint_text(format!("Raw text for cell {number}")),
    );
    // Enter in command mode comes back here, as for the other kinds.
    focus_if_asked(view, cell.id, &response);
    if response.changed() {
        actions.push(Action::Edit(cell.id, text));
    }
}

fn markdown_cell(ui: &mut egui::Ui, cell: &mut Cell, number: usize, view: &mut NotebookUi, actions: &mut Vec<Action>) {
    let editing = view.editing.contains(&cell.id) || cell.code.trim().is_empty();
    if editing {
        let editor_id = ui.make_persistent_id(("markdown", cell.id.0));
        let evaluate = evaluate_shortcut(ui, editor_id, cell.id);
        let mut text = cell.code.clone();
        let found = view.find.in_cell(cell.id);
        let dark = ui.visuals().dark_mode;
        // egui's own layout, plus the search's marks.
        let mut layouter = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap_width: f32| {
            let font = egui::TextStyle::Body.resolve(ui.style());
            let colour = ui.visuals().widgets.inactive.text_color();
            let mut job = egui::text::LayoutJob::simple(text.as_str().to_string(), font, colour, wrap_width);
            highlight::mark(&mut job, &code_marks::marks(None, &found, dark));
            ui.fonts_mut(|f| f.layout_job(job))
        };
        let mut editor = egui::TextEdit::multiline(&mut text)
            .id(editor_id)
            .desired_rows(2)
            .desired_width(f32::INFINITY)
            .hint_text(format!("Markdown for cell {number}"));
        if !found.is_empty() {
            editor = editor.layouter(&mut layouter);
        }
        let output = editor.show(ui);
        let response = output.response.response.clone();
        // Before a match found is given the focus: that Esc closed the find bar.
        let escaped = response.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Escape));
        if reveal_found(ui, view, cell.id, editor_id, &output) {
            // The user goes on in it: it stays as source.
            view.find_opened = None;
        }
        focus_if_asked(view, cell.id, &response);
        if response.changed() {
            actions.push(Action::Edit(cell.id, text));
        }
        if escaped {
            view.editing.remove(&cell.id);
        }
        actions.extend(evaluate);
    } else {
        let response = CommonMarkViewer::new()
            .show(ui, &mut view.markdown, &cell.code)
            .response;
        if response.interact(egui::Sense::click()).double_clicked() {
            view.editing.insert(cell.id);
            view.focus = Some(cell.id);
        }
    }
}

/// The line a running cell asked for (`input()`, `IO.gets`): the prompt, a
/// field focused at once, Enter sends it; "End of input" answers EOF.
fn input_row(ui: &mut egui::Ui, view: &mut NotebookUi, actions: &mut Vec<Action>) {
    let Some(request) = view.input.clone() else { return };
    ui.horizontal(|ui| {
        if !request.prompt.is_empty() {
            ui.label(RichText::new(&request.prompt).monospace());
        }
        let field = egui::TextEdit::singleline(&mut view.input_text)
            .password(request.password)
            .font(egui::TextStyle::Monospace)
            .hint_text("input — Enter sends it")
            .desired_width(ui.available_width().min(480.0));
        let response = ui.add(field);
        if std::mem::take(&mut view.input_focus) {
            response.request_focus();
            response.scroll_to_me(None);
        }
        if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            actions.push(Action::Input(Some(view.input_text.clone())));
        }
        if ui.button("Send").clicked() {
            actions.push(Action::Input(Some(view.input_text.clone())));
        }
        if ui
            .button("End of input")
            .on_hover_text("As Ctrl+D at a terminal: input() raises EOFError")
            .clicked()
        {
            actions.push(Action::Input(None));
        }
    });
}

fn state_text(state: &CellState) -> String {
    match state {
        CellState::Evaluating { since } => format!("evaluating · {}", format_duration(since.elapsed())),
        CellState::Evaluated { duration } => format!("evaluated · {}", format_duration(*duration)),
        CellState::Errored { duration } => format!("error · {}", format_duration(*duration)),
        CellState::NotEvaluated { failed } => format!("not evaluated: cell {failed} above failed"),
        other => other.label().to_string(),
    }
}

fn result_view(ui: &mut egui::Ui, result: &CellResult, greyed: bool, cx: &mut Cx<'_>) {
    match result {
        CellResult::Value(value) => display_view::show(ui, value, greyed, cx),
        CellResult::Error(error) => error_view(ui, error),
        CellResult::Interrupted(error) => {
            ui.label(RichText::new("Interrupted").color(style::WARNING_TEXT));
            if let Some(error) = error.as_ref().filter(|e| !e.formatted.is_empty()) {
                traceback(ui, error, false);
            }
        }
        CellResult::Aborted(reason) => {
            ui.label(RichText::new(format!("Aborted: {reason}")).color(style::ERROR_TEXT));
        }
    }
}

fn error_view(ui: &mut egui::Ui, error: &EvalError) {
    ui.label(
        RichText::new(format!("{}: {}", error.kind, error.message))
            .color(style::ERROR_TEXT)
            .strong(),
    );
    if !error.formatted.is_empty() {
        traceback(ui, error, true);
    }
}

fn traceback(ui: &mut egui::Ui, error: &EvalError, open: bool) {
    egui::CollapsingHeader::new("Traceback")
        .default_open(open)
        .show(ui, |ui| {
            ui.add(egui::Label::new(RichText::new(&error.formatted).monospace().weak()).selectable(true));
        });
}
