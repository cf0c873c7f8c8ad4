//! The find bar above a notebook (Ctrl+F): a query, "N of M", next and
//! previous, match case, Esc to close. It searches (`session::find`) only
//! when the query or the notebook's revision changed, never every frame;
//! the notebook view marks the matches and brings the current one in.

use std::collections::HashMap;
use std::ops::Range;

use egui::text::{CCursor, CCursorRange};
use egui::text_edit::TextEditState;

use crate::session::find::{Match, Query};
use crate::session::{CellId, Session};

#[derive(Default)]
pub struct FindBar {
    open: bool,
    query: Query,
    /// What `matches` were found for: the notebook's revision and the query.
    searched: Option<(u64, Query)>,
    matches: Vec<Match>,
    /// Each cell's matches, as a range of `matches`.
    by_cell: HashMap<CellId, Range<usize>>,
    current: Option<usize>,
    /// The field takes the keyboard focus on the next frame (Ctrl+F).
    focus_field: bool,
    /// The current match, to bring into view once.
    pub reveal: Option<Reveal>,
}

/// A match for the notebook view to scroll to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reveal {
    pub found: Match,
    /// Also give its cell the keyboard focus with the match selected: the
    /// bar was closed with Esc, the user goes back to the text.
    pub select: bool,
}

impl FindBar {
    /// Opens the bar, or brings the focus back to its field.
    pub fn open(&mut self) {
        self.open = true;
        self.focus_field = true;
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Searches again if the query or the notebook changed since the last
    /// search; returns whether it did. A new query moves to its first
    /// match at or after the current one and brings it into view; a
    /// notebook edited meanwhile keeps the current match where it can and
    /// scrolls nowhere.
    pub fn refresh(&mut self, session: &Session) -> bool {
        let key = (session.revision(), self.query.clone());
        if self.searched.as_ref() == Some(&key) {
            return false;
        }
        let query_changed = self.searched.as_ref().is_none_or(|(_, q)| *q != self.query);
        let before = self.current_match().cloned();
        self.matches = session.find(&self.query);
        self.searched = Some(key);
        self.by_cell.clear();
        for (i, m) in self.matches.iter().enumerate() {
            self.by_cell.entry(m.cell).or_insert(i..i).end = i + 1;
        }
        self.current = match (&before, self.matches.is_empty()) {
            (_, true) => None,
            (None, false) => Some(0),
            (Some(before), false) => Some(
                self.matches
                    .iter()
                    .position(|m| m.cell == before.cell && m.range.start >= before.range.start)
                    .unwrap_or_else(|| self.current.unwrap_or(0).min(self.matches.len() - 1)),
            ),
        };
        if query_changed {
            self.reveal_current(false);
        }
        true
    }

    pub fn current_match(&self) -> Option<&Match> {
        self.matches.get(self.current?)
    }

    /// The next match (`1`) or the previous (`-1`), round the notebook.
    pub fn step(&mut self, delta: isize) {
        let count = self.matches.len();
        if count == 0 {
            return;
        }
        let at = self
            .current
            .map_or(0, |c| (c as isize + delta).rem_euclid(count as isize) as usize);
        self.current = Some(at);
        self.reveal_current(false);
    }

    fn reveal_current(&mut self, select: bool) {
        self.reveal = self.current_match().map(|found| Reveal {
            found: found.clone(),
            select,
        });
    }

    /// Closes the bar; with `select`, the current match's cell gets the
    /// focus with the match selected.
    pub fn close(&mut self, select: bool) {
        self.open = false;
        self.reveal = None;
        if select {
            self.reveal_current(true);
        }
    }

    /// "2 of 5", "No matches", or nothing before a query is typed.
    pub fn status(&self) -> String {
        match (self.current, self.matches.len()) {
            _ if self.query.text.is_empty() => String::new(),
            (Some(current), count) => format!("{} of {count}", current + 1),
            (None, _) => "No matches".to_string(),
        }
    }

    /// The matches in a cell while the bar is open: char ranges, and
    /// whether it is the current match.
    pub fn in_cell(&self, id: CellId) -> Vec<(Range<usize>, bool)> {
        if !self.open {
            return Vec::new();
        }
        let Some(range) = self.by_cell.get(&id) else {
            return Vec::new();
        };
        range
            .clone()
            .map(|i| (self.matches[i].range.clone(), self.current == Some(i)))
            .collect()
    }
}

/// Draws the bar when it is open and does what was asked of it.
pub fn show(ui: &mut egui::Ui, session: &Session, bar: &mut FindBar) {
    if !bar.open {
        return;
    }
    let field_id = ui.make_persistent_id(("find field", session.id));
    // Enter and Shift+Enter move between matches; a one-line field would
    // otherwise take Enter as the end of input and give up the focus.
    let (mut next, mut previous) = (false, false);
    if ui.memory(|m| m.has_focus(field_id)) {
        ui.input_mut(|i| {
            previous = i.consume_key(egui::Modifiers::SHIFT, egui::Key::Enter);
            next = i.consume_key(egui::Modifiers::NONE, egui::Key::Enter);
        });
    }
    let mut close = false;
    ui.horizontal(|ui| {
        let field = egui::TextEdit::singleline(&mut bar.query.text)
            .id(field_id)
            .hint_text("Find in notebook")
            .desired_width(260.0);
        let response = ui.add(field);
        // egui drops the focus on Esc before anyone sees the key.
        close = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Escape));
        if std::mem::take(&mut bar.focus_field) {
            response.request_focus();
            // Ctrl+F again: typing replaces the last query.
            if let Some(mut state) = TextEditState::load(ui.ctx(), field_id) {
                let all = CCursorRange::two(CCursor::new(0), CCursor::new(bar.query.text.chars().count()));
                state.cursor.set_char_range(Some(all));
                state.store(ui.ctx(), field_id);
            }
        }
        bar.refresh(session);
        ui.label(bar.status());
        let any = !bar.matches.is_empty();
        if ui
            .add_enabled(any, egui::Button::new("Previous"))
            .on_hover_text("Shift+Enter")
            .clicked()
        {
            previous = true;
        }
        if ui
            .add_enabled(any, egui::Button::new("Next"))
            .on_hover_text("Enter")
            .clicked()
        {
            next = true;
        }
        ui.checkbox(&mut bar.query.match_case, "Match case");
        if ui.button("Close").on_hover_text("Esc").clicked() {
            bar.close(false);
        }
    });
    if next {
        bar.step(1);
    }
    if previous {
        bar.step(-1);
    }
    if close {
        bar.close(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::CellKind;

    fn session() -> Session {
        let mut session = Session::new(crate::SessionId(1), "Notebook", crate::RuntimeConfig::python());
        session.add_cell("x = 1");
        session.add_cell("y = 2");
        session.add_cell("print(x, x)");
        session
    }

    fn bar(text: &str) -> FindBar {
        let mut bar = FindBar::default();
        bar.open();
        bar.query.text = text.into();
        bar
    }

    #[test]
    fn searches_only_when_the_query_or_the_notebook_changed() {
        let mut session = session();
        let mut bar = bar("x");
        assert!(bar.refresh(&session));
        assert!(!bar.refresh(&session), "nothing changed: no search");
        assert_eq!(bar.status(), "1 of 3");
        bar.query.text = "print".into();
        assert!(bar.refresh(&session));
        assert_eq!(bar.status(), "1 of 1");
        let third = session.nth_cell(2).unwrap().id;
        session.set_code(third, "print(x); print(y)".into());
        assert!(bar.refresh(&session));
        assert_eq!(bar.status(), "1 of 2");
        bar.query.match_case = true;
        assert!(bar.refresh(&session), "the toggle is part of the query");
    }

    #[test]
    fn next_and_previous_go_round_and_reveal_the_match() {
        let session = session();
        let mut bar = bar("x");
        bar.refresh(&session);
        let first = bar.reveal.take().expect("a new query shows its first match");
        assert_eq!(first.found.range, 0..1);
        bar.step(-1);
        assert_eq!(bar.status(), "3 of 3");
        bar.step(1);
        bar.step(1);
        assert_eq!(bar.status(), "2 of 3");
        let third = session.nth_cell(2).unwrap().id;
        assert_eq!(
            bar.reveal.take(),
            Some(Reveal {
                found: Match {
                    cell: third,
                    range: 6..7
                },
                select: false
            })
        );
        assert_eq!(bar.in_cell(third), [(6..7, true), (9..10, false)]);
        bar.close(true);
        assert!(
            bar.reveal.as_ref().is_some_and(|r| r.select),
            "Esc selects it in its cell"
        );
        assert!(bar.in_cell(third).is_empty(), "no marks once closed");
    }

    #[test]
    fn a_longer_query_stays_at_the_current_match_and_edits_do_not_scroll() {
        let mut session = session();
        let mut bar = bar("x");
        bar.refresh(&session);
        bar.step(1);
        bar.query.text = "x)".into();
        bar.refresh(&session);
        assert_eq!(bar.status(), "1 of 1");
        assert_eq!(bar.current_match().unwrap().range, 9..11);
        bar.reveal = None;
        let id = session.add_cell("x)");
        assert!(bar.refresh(&session));
        assert!(bar.reveal.is_none(), "an edit elsewhere does not move the view");
        assert_eq!(bar.status(), "1 of 2");
        assert_eq!(session.cell(id).unwrap().kind, CellKind::Code);
    }

    #[test]
    fn no_matches_and_no_query() {
        let session = session();
        let mut bar = bar("");
        bar.refresh(&session);
        assert_eq!(bar.status(), "");
        bar.query.text = "zzz".into();
        bar.refresh(&session);
        assert_eq!(bar.status(), "No matches");
        bar.step(1);
        assert!(bar.current_match().is_none());
    }
}
