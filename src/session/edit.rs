//! Editing the notebook: sections and cells, moves, duplicates, deletion
//! with undo. Edits that change what a cell's context came from mark the
//! evaluated cells below it stale; deletions free contexts in the runtime.

use super::cell::{Cell, CellId, CellKind, CellState};
use super::{RuntimeState, Session};
use crate::manager::Command;

/// How many deletions (and kind changes) `undo_delete` can take back.
pub const UNDO_DEPTH: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SectionId(pub u64);

impl SectionId {
    /// The container (evaluation flow) of the section's cells.
    pub fn container(self) -> String {
        format!("s{}", self.0)
    }
}

#[derive(Debug, Clone)]
pub struct Section {
    pub id: SectionId,
    pub title: String,
    pub cells: Vec<Cell>,
}

/// What the last deletion removed, or the cell as it was before its kind
/// changed: what Undo (Z in command mode) puts back.
#[derive(Debug)]
pub(super) enum Deleted {
    Kind(Box<Cell>),
    Cell {
        section: SectionId,
        index: usize,
        cell: Box<Cell>,
    },
    Section {
        index: usize,
        section: Section,
    },
}

impl Session {
    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Every cell, section by section.
    pub fn cells(&self) -> impl Iterator<Item = &Cell> {
        self.sections.iter().flat_map(|s| s.cells.iter())
    }

    /// The `n`th cell of the notebook (0-based, across sections).
    pub fn nth_cell(&self, n: usize) -> Option<&Cell> {
        self.cells().nth(n)
    }

    pub fn cell(&self, id: CellId) -> Option<&Cell> {
        self.cells().find(|c| c.id == id)
    }

    pub fn cell_mut(&mut self, id: CellId) -> Option<&mut Cell> {
        self.sections
            .iter_mut()
            .flat_map(|s| s.cells.iter_mut())
            .find(|c| c.id == id)
    }

    /// (section index, cell index) of a cell.
    pub(super) fn locate(&self, id: CellId) -> Option<(usize, usize)> {
        self.sections
            .iter()
            .enumerate()
            .find_map(|(s, section)| section.cells.iter().position(|c| c.id == id).map(|c| (s, c)))
    }

    pub fn section_of(&self, id: CellId) -> Option<SectionId> {
        self.locate(id).map(|(s, _)| self.sections[s].id)
    }

    fn next_section_id(&mut self) -> SectionId {
        self.next_section += 1;
        SectionId(self.next_section)
    }

    pub fn add_section(&mut self, title: impl Into<String>) -> SectionId {
        self.revision += 1;
        let id = self.next_section_id();
        self.sections.push(Section {
            id,
            title: title.into(),
            cells: Vec::new(),
        });
        id
    }

    /// Adds a code cell at the end of the last section (one is made if needed).
    pub fn add_cell(&mut self, code: impl Into<String>) -> CellId {
        if self.sections.is_empty() {
            self.add_section("Section 1");
        }
        let section = self.sections.last().expect("a section");
        let (id, last) = (section.id, section.cells.last().map(|c| c.id));
        match last {
            Some(last) => self.insert_cell(id, Some(last), CellKind::Code, code.into()),
            None => self.insert_cell(id, None, CellKind::Code, code.into()),
        }
    }

    /// Inserts a cell into `section` after `after` (at the start if `None`).
    pub fn insert_cell(&mut self, section: SectionId, after: Option<CellId>, kind: CellKind, source: String) -> CellId {
        self.revision += 1;
        let id = CellId(self.next_id());
        let Some(s) = self.sections.iter().position(|x| x.id == section) else {
            return id;
        };
        let index = match after.and_then(|a| self.sections[s].cells.iter().position(|c| c.id == a)) {
            Some(i) => i + 1,
            None if after.is_some() => self.sections[s].cells.len(),
            None => 0,
        };
        self.sections[s].cells.insert(index, Cell::new(id, kind, source));
        id
    }

    /// Changes a cell's source; an evaluated cell and every evaluated cell
    /// below it become stale.
    pub fn set_code(&mut self, id: CellId, code: String) {
        self.revision += 1;
        let Some((s, c)) = self.locate(id) else { return };
        let cell = &mut self.sections[s].cells[c];
        if cell.code == code {
            return;
        }
        cell.code = code;
        if cell.is_evaluated() {
            cell.state = CellState::Stale;
            self.mark_stale_from(s, c + 1);
        }
    }

    /// Makes a cell code or Markdown. A code cell that was evaluated no
    /// longer leaves a context, so it and the evaluated cells below it
    /// become stale; its outputs go, as a Markdown cell shows none.
    /// `undo_delete` takes it back, outputs and all.
    pub fn set_kind(&mut self, id: CellId, kind: CellKind) {
        let Some((s, c)) = self.locate(id) else { return };
        let busy = self.is_running(id) || self.queue.contains(&id);
        let cell = &mut self.sections[s].cells[c];
        if cell.kind == kind || busy {
            return;
        }
        self.revision += 1;
        let was_evaluated = cell.is_evaluated();
        let before = Box::new(cell.clone());
        cell.kind = kind;
        cell.clear_output();
        cell.state = CellState::Fresh;
        if was_evaluated {
            self.mark_stale_from(s, c + 1);
        }
        self.remember(Deleted::Kind(before));
    }

    pub fn set_section_title(&mut self, section: SectionId, title: String) {
        self.revision += 1;
        if let Some(s) = self.sections.iter_mut().find(|s| s.id == section) {
            s.title = title;
        }
    }

    /// Marks evaluated cells from cell `start` of section `s` on, through the
    /// end of the notebook, as stale: they all chain from what changed.
    pub(super) fn mark_stale_from(&mut self, s: usize, start: usize) {
        let (this, below) = self.sections[s..].split_at_mut(1);
        let later = this[0].cells.iter_mut().skip(start);
        for cell in later.chain(below.iter_mut().flat_map(|x| x.cells.iter_mut())) {
            if cell.is_evaluated() {
                cell.state = CellState::Stale;
            }
        }
    }

    /// Moves a cell up (`-1`) or down (`1`) within its section. The cells it
    /// passes change what they chain from, so evaluated ones become stale.
    pub fn move_cell(&mut self, id: CellId, delta: isize) {
        self.revision += 1;
        let Some((s, c)) = self.locate(id) else { return };
        let target = c as isize + delta;
        if target < 0 || target as usize >= self.sections[s].cells.len() {
            return;
        }
        let target = target as usize;
        self.sections[s].cells.swap(c, target);
        self.mark_stale_from(s, c.min(target));
    }

    /// Moves a section up or down; containers are independent, so nothing goes stale.
    pub fn move_section(&mut self, section: SectionId, delta: isize) {
        self.revision += 1;
        let Some(i) = self.sections.iter().position(|s| s.id == section) else {
            return;
        };
        let target = i as isize + delta;
        if target >= 0 && (target as usize) < self.sections.len() {
            self.sections.swap(i, target as usize);
        }
    }

    /// Inserts a fresh copy of a cell below it.
    pub fn duplicate_cell(&mut self, id: CellId) -> Option<CellId> {
        self.revision += 1;
        let (s, _) = self.locate(id)?;
        let cell = self.cell(id)?;
        let (kind, code) = (cell.kind, cell.code.clone());
        let section = self.sections[s].id;
        Some(self.insert_cell(section, Some(id), kind, code))
    }

    /// Inserts a copy of a section (fresh cells) below it.
    pub fn duplicate_section(&mut self, section: SectionId) -> Option<SectionId> {
        self.revision += 1;
        let i = self.sections.iter().position(|s| s.id == section)?;
        let title = format!("{} (copy)", self.sections[i].title);
        let cells: Vec<(CellKind, String)> = self.sections[i]
            .cells
            .iter()
            .map(|c| (c.kind, c.code.clone()))
            .collect();
        let id = self.next_section_id();
        let mut copy = Section {
            id,
            title,
            cells: Vec::new(),
        };
        for (kind, code) in cells {
            let cell_id = CellId(self.next_id());
            copy.cells.push(Cell::new(cell_id, kind, code));
        }
        self.sections.insert(i + 1, copy);
        Some(id)
    }

    /// Deletes a cell. If it was evaluated, its context is forgotten in the
    /// runtime and the cells below become stale; a running cell is interrupted.
    pub fn delete_cell(&mut self, id: CellId) -> Vec<Command> {
        self.revision += 1;
        let Some((s, c)) = self.locate(id) else {
            return Vec::new();
        };
        let mut commands = Vec::new();
        let was_running = self.is_running(id);
        if was_running {
            commands.extend(self.interrupt());
        }
        self.queue.retain(|q| *q != id);
        let cell = self.sections[s].cells.remove(c);
        if cell.is_evaluated() || was_running {
            self.mark_stale_from(s, c);
            if matches!(self.runtime, RuntimeState::Connected { .. }) {
                commands.push(Command::ForgetEvaluation {
                    session: self.id,
                    container: self.sections[s].id.container(),
                    evaluation_ref: cell.evaluation_ref(),
                });
            }
        }
        self.remember(Deleted::Cell {
            section: self.sections[s].id,
            index: c,
            cell: Box::new(cell),
        });
        commands
    }

    /// Deletes a section and drops its container in the runtime.
    pub fn delete_section(&mut self, section: SectionId) -> Vec<Command> {
        self.revision += 1;
        let Some(i) = self.sections.iter().position(|s| s.id == section) else {
            return Vec::new();
        };
        let mut commands = Vec::new();
        let ids: Vec<CellId> = self.sections[i].cells.iter().map(|c| c.id).collect();
        if ids.iter().any(|id| self.is_running(*id)) {
            commands.extend(self.interrupt());
        }
        self.queue.retain(|q| !ids.contains(q));
        let removed = self.sections.remove(i);
        // The sections below chained through it.
        if removed.cells.iter().any(Cell::is_evaluated) && i < self.sections.len() {
            self.mark_stale_from(i, 0);
        }
        if matches!(self.runtime, RuntimeState::Connected { .. }) {
            commands.push(Command::DropContainer {
                session: self.id,
                container: removed.id.container(),
            });
        }
        self.remember(Deleted::Section {
            index: i,
            section: removed,
        });
        commands
    }

    pub fn can_undo_delete(&self) -> bool {
        !self.deleted.is_empty()
    }

    /// Keeps what an edit removed for `undo_delete`, the oldest forgotten
    /// past [`UNDO_DEPTH`].
    fn remember(&mut self, deleted: Deleted) {
        if self.deleted.len() == UNDO_DEPTH {
            self.deleted.remove(0);
        }
        self.deleted.push(deleted);
    }

    /// What `undo_delete` would undo, as its button says it.
    pub fn undo_label(&self) -> Option<&'static str> {
        match self.deleted.last()? {
            Deleted::Kind(_) => Some("Undo kind change"),
            _ => Some("Undo delete"),
        }
    }

    /// Puts back what the last deletion removed (pressed again, the one
    /// before it, as JupyterLab's Z does). Its contexts were freed, so
    /// evaluated cells come back stale (outputs kept).
    pub fn undo_delete(&mut self) {
        self.revision += 1;
        let stale = |cell: &mut Cell| {
            if !matches!(cell.state, CellState::Fresh) {
                cell.state = CellState::Stale;
            }
        };
        match self.deleted.pop() {
            Some(Deleted::Cell {
                section,
                index,
                mut cell,
            }) => {
                let Some(s) = self.sections.iter().position(|x| x.id == section) else {
                    return;
                };
                stale(&mut cell);
                let index = index.min(self.sections[s].cells.len());
                self.sections[s].cells.insert(index, *cell);
                self.mark_stale_from(s, index + 1);
            }
            Some(Deleted::Section { index, mut section }) => {
                section.cells.iter_mut().for_each(stale);
                let index = index.min(self.sections.len());
                self.sections.insert(index, section);
                if index + 1 < self.sections.len() {
                    self.mark_stale_from(index + 1, 0);
                }
            }
            Some(Deleted::Kind(mut before)) => {
                let Some((s, c)) = self.locate(before.id) else { return };
                // Nothing can have run it meanwhile: the cells below went
                // stale with the change and stay so, and so does it.
                if before.is_evaluated() {
                    before.state = CellState::Stale;
                }
                self.sections[s].cells[c] = *before;
            }
            None => {}
        }
    }

    /// Clears one cell's output and result.
    pub fn clear_output(&mut self, id: CellId) {
        self.revision += 1;
        if let Some(cell) = self.cell_mut(id) {
            cell.clear_output();
        }
    }

    /// Clears every cell's output and result.
    pub fn clear_all_outputs(&mut self) {
        self.revision += 1;
        for cell in self.sections.iter_mut().flat_map(|s| s.cells.iter_mut()) {
            cell.clear_output();
        }
    }
}
