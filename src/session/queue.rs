//! The evaluation queue, with Livebook's semantics: each section is a
//! container, and the notebook is one chain — a code cell starts from the
//! context of the nearest code cell above it, which for a section's first
//! cell is the last code cell of a section above (Livebook's non-branching
//! sections; a Jupyter notebook split at `##` headings keeps its imports).
//! The notebook's first code cell starts fresh. Cells are sent one at a
//! time, so that an interrupt can unqueue the rest.
//!
//! Livebook's branching sections are the exception: a branch's cells start
//! from the end of its parent section and run beside the main flow (one
//! cell per branch at a time, `Command::EvaluateBranch`); the main flow
//! skips them, so a long-running branch never holds up the sections after it.

use super::cell::{Cell, CellId, CellState};
use super::{RuntimeState, Session};
use crate::manager::{Command, Evaluation};

/// Where an evaluation of a cell stores its context and whose it starts from.
pub(super) struct Chain {
    pub container: String,
    pub prev_evaluation_ref: Option<String>,
    /// Set when `prev_evaluation_ref` is in another container (a section above).
    pub prev_container: Option<String>,
}

impl Session {
    /// Queues a code cell, and before it every code cell above it that is not
    /// up to date. Starts the runtime first if there is none (lazy start, as
    /// in Livebook).
    pub fn evaluate(&mut self, id: CellId) -> Vec<Command> {
        if !self.cell(id).is_some_and(Cell::is_code) {
            return Vec::new();
        }
        if self.unavailable.is_some() {
            // Nothing is queued: no runtime here can run it (connect says why).
            return self.connect();
        }
        let mut to_queue = Vec::new();
        let chain = self.chain_above(id);
        for cell in self.cells() {
            let waiting = self.is_running(cell.id) || self.queue.contains(&cell.id);
            let needed = cell.id == id || (self.evaluate_above && !cell.is_up_to_date() && chain.contains(&cell.id));
            if cell.is_code() && !waiting && needed {
                to_queue.push(cell.id);
            }
            if cell.id == id {
                break;
            }
        }
        for id in to_queue {
            if let Some(cell) = self.cell_mut(id) {
                cell.queue();
            }
            self.queue.push_back(id);
        }
        self.start_or_pump()
    }

    /// Evaluates the cell alone, from whatever context the cell above it has
    /// now (Jupyter's way), whatever `evaluate_above` says.
    pub fn evaluate_only(&mut self, id: CellId) -> Vec<Command> {
        let above = std::mem::replace(&mut self.evaluate_above, false);
        let commands = self.evaluate(id);
        self.evaluate_above = above;
        commands
    }

    /// After cell `id` failed: the queued cells that chain from it (every
    /// code cell below it: the notebook is one chain) are not evaluated, and
    /// say which cell they wait for.
    pub(super) fn skip_dependents_of(&mut self, id: CellId) {
        let Some(number) = self.cells().position(|c| c.id == id).map(|n| n + 1) else {
            return;
        };
        let queued: Vec<CellId> = self.queue.drain(..).collect();
        let (skipped, kept): (Vec<CellId>, Vec<CellId>) =
            queued.into_iter().partition(|q| self.chain_above(*q).contains(&id));
        self.queue = kept.into();
        for id in skipped {
            if let Some(cell) = self.cell_mut(id) {
                cell.state_before_queue();
                cell.state = CellState::NotEvaluated { failed: number };
            }
        }
    }

    /// A cell evaluated while a code cell above it is not up to date (run
    /// alone, Jupyter's way) ran from a context that does not match the
    /// notebook: it is stale, its result kept.
    pub(super) fn tell_truth_after(&mut self, id: CellId) {
        let above_outdated = self
            .chain_above(id)
            .iter()
            .any(|above| self.cell(*above).is_some_and(|c| !c.is_up_to_date()));
        if let Some(cell) = self.cell_mut(id)
            && above_outdated
            && cell.is_evaluated()
        {
            cell.state = CellState::Stale;
        }
    }

    /// Queues every code cell that is not up to date.
    pub fn evaluate_all(&mut self) -> Vec<Command> {
        // Each one with what it chains from: the main flow and every branch.
        let outdated: Vec<CellId> = self
            .cells()
            .filter(|c| c.is_code() && !c.is_up_to_date())
            .map(|c| c.id)
            .collect();
        let above = std::mem::replace(&mut self.evaluate_above, true);
        let mut commands = Vec::new();
        for id in outdated {
            if !self.is_running(id) && !self.queue.contains(&id) {
                commands.extend(self.evaluate(id));
            }
        }
        self.evaluate_above = above;
        commands
    }

    pub fn is_queued(&self, id: CellId) -> bool {
        self.queue.contains(&id)
    }

    /// Takes a queued cell off the queue, and the queued cells below it,
    /// which would chain from it.
    pub fn unqueue(&mut self, id: CellId) {
        let below: Vec<CellId> = self.cells().map(|c| c.id).skip_while(|c| *c != id).collect();
        let (gone, kept): (Vec<CellId>, Vec<CellId>) = self.queue.drain(..).partition(|q| below.contains(q));
        self.queue = kept.into();
        for id in gone {
            if let Some(cell) = self.cell_mut(id) {
                cell.state = cell.state_before_queue();
            }
        }
    }

    pub(super) fn start_or_pump(&mut self) -> Vec<Command> {
        match self.runtime {
            RuntimeState::Disconnected | RuntimeState::NodeDown { .. } | RuntimeState::InitFailed => self.connect(),
            RuntimeState::Starting { .. } => Vec::new(),
            RuntimeState::Connected { .. } => self.pump(),
        }
    }

    /// Sends the queued cells that can run now: the main flow's next one
    /// when none of its cells runs, and each branch's next one when none of
    /// that branch's runs, once what they chain from is done.
    pub(super) fn pump(&mut self) -> Vec<Command> {
        if !matches!(self.runtime, RuntimeState::Connected { .. }) {
            return Vec::new();
        }
        let mut commands = Vec::new();
        let mut i = 0;
        while i < self.queue.len() {
            let id = self.queue[i];
            // Deleting a cell takes it off the queue; should one slip through, skip it.
            let Some((s, c)) = self.locate(id) else {
                self.queue.remove(i);
                continue;
            };
            let branch = self.branch_parent_index(s).is_some();
            let flow_busy = if branch {
                self.branch_running
                    .iter()
                    .any(|r| self.locate(*r).is_some_and(|(rs, _)| rs == s))
            } else {
                self.running.is_some()
            };
            let ahead: Vec<CellId> = self.queue.iter().take(i).copied().collect();
            let waits = self
                .chain_above(id)
                .iter()
                .any(|above| self.is_running(*above) || ahead.contains(above));
            if flow_busy || waits {
                i += 1;
                continue;
            }
            self.queue.remove(i);
            commands.push(self.start(id, s, c, branch));
        }
        commands
    }

    fn start(&mut self, id: CellId, s: usize, c: usize, branch: bool) -> Command {
        let chain = self.chain_of(id);
        let number = self.cells().position(|x| x.id == id).unwrap_or(0) + 1;
        if branch {
            // Only the branch's own later cells chain from it.
            for cell in self.sections[s].cells.iter_mut().skip(c + 1) {
                if cell.is_evaluated() {
                    cell.state = CellState::Stale;
                }
            }
        } else {
            self.mark_stale_from(s, c + 1);
        }
        self.evaluation_count += 1;
        let now = (self.clock)();
        let cell = &mut self.sections[s].cells[c];
        let code = cell.start(self.evaluation_count, now);
        let evaluation = Evaluation {
            container: chain.container,
            evaluation_ref: cell.evaluation_ref(),
            prev_evaluation_ref: chain.prev_evaluation_ref,
            prev_container: chain.prev_container,
            code,
            file: format!("cell {number}"),
            options: Some(self.display_options),
        };
        let session = self.id;
        if branch {
            self.branch_running.push(id);
            Command::EvaluateBranch { session, evaluation }
        } else {
            self.running = Some(id);
            Command::Evaluate { session, evaluation }
        }
    }

    /// Section `s`'s parent section if it is a branch (Livebook's rule: an
    /// earlier section that is not itself a branch).
    fn branch_parent_index(&self, s: usize) -> Option<usize> {
        let parent = self.branch_parents.get(&self.sections.get(s)?.id)?;
        let p = self.sections.iter().position(|x| x.id == *parent)?;
        (p < s && !self.branch_parents.contains_key(parent)).then_some(p)
    }

    /// The code cells above `id` whose context it starts from, nearest last:
    /// for the main flow, every main-flow cell above; for a branch, the
    /// branch's cells above and the main flow up to the end of its parent.
    fn chain_above(&self, id: CellId) -> Vec<CellId> {
        let Some((s, _)) = self.locate(id) else {
            return Vec::new();
        };
        let parent = self.branch_parent_index(s);
        let mut chain = Vec::new();
        for (t, section) in self.sections.iter().enumerate() {
            let feeds = match parent {
                Some(p) => t == s || (t <= p && self.branch_parent_index(t).is_none()),
                None => self.branch_parent_index(t).is_none(),
            };
            for cell in &section.cells {
                if cell.id == id {
                    return chain;
                }
                if feeds && cell.is_code() {
                    chain.push(cell.id);
                }
            }
        }
        chain
    }

    pub(super) fn is_running(&self, id: CellId) -> bool {
        self.running == Some(id) || self.branch_running.contains(&id)
    }

    /// The context an evaluation of cell `id` starts from: its section's
    /// container, and the nearest code cell above it, in this section or a
    /// section above (none: a fresh context). Completion asks in the same one.
    pub(super) fn chain_of(&self, id: CellId) -> Chain {
        let container = self
            .locate(id)
            .map(|(s, _)| self.sections[s].id.container())
            .unwrap_or_default();
        let prev = self.chain_above(id).last().and_then(|above| {
            let (s, c) = self.locate(*above)?;
            Some((
                self.sections[s].id.container(),
                self.sections[s].cells[c].evaluation_ref(),
            ))
        });
        let (prev_container, prev_evaluation_ref) = match prev {
            Some((prev_container, prev_ref)) => {
                ((prev_container != container).then_some(prev_container), Some(prev_ref))
            }
            None => (None, None),
        };
        Chain {
            container,
            prev_evaluation_ref,
            prev_container,
        }
    }

    pub(super) fn unqueue_all(&mut self) {
        for id in std::mem::take(&mut self.queue) {
            if let Some(cell) = self.cell_mut(id) {
                cell.state = cell.state_before_queue();
            }
        }
    }

    /// After the runtime went away: no cell is backed by a context any more.
    pub(super) fn contexts_lost(&mut self, evaluated_become: CellState) {
        self.unqueue_all();
        self.running = None;
        self.branch_running.clear();
        self.interrupt_unanswered = false;
        self.input = None;
        for cell in self.sections.iter_mut().flat_map(|s| s.cells.iter_mut()) {
            if cell.is_evaluated() || matches!(cell.state, CellState::Evaluating { .. } | CellState::Stale) {
                cell.state = evaluated_become.clone();
            }
        }
    }

    pub(super) fn cell_by_ref(&mut self, evaluation_ref: &str) -> Option<&mut Cell> {
        self.cell_mut(CellId::from_ref(evaluation_ref)?)
    }

    /// The cell being evaluated, if any.
    pub fn running(&self) -> Option<CellId> {
        self.running
    }
}
