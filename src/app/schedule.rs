//! When the next frame is due: autosaves, memory refreshes, running cells'
//! clocks, and the focus coming back (files changed by other programs).

use std::time::{Duration, Instant};

use super::RunyardApp;
use crate::manager::SessionId;
use crate::session::{CellState, Status};

/// How often unsaved changes are written to the autosave folder.
const AUTOSAVE: Duration = Duration::from_secs(5);
/// How often connected runtimes report their memory (and uptimes refresh).
const MEMORY_REFRESH: Duration = Duration::from_secs(5);
/// How often a running cell's elapsed time is redrawn.
const ELAPSED_REFRESH: Duration = Duration::from_millis(100);

impl RunyardApp {
    /// Asks for memory every few seconds while runtimes are connected, and
    /// schedules the next frame only when something on screen changes by time.
    pub(super) fn schedule(&mut self, ctx: &egui::Context) {
        let now = Instant::now();
        // A failed autosave is unmarked first, so it counts as due again.
        self.autosave_results();
        // Unsaved work reaches the autosave folder within a few seconds; once
        // it is there, nothing is scheduled until the next change.
        let autosave_due = self
            .sessions
            .iter()
            .any(|s| s.is_dirty() && self.files.autosaved.get(&s.id) != Some(&s.revision()));
        if autosave_due {
            let since = now.duration_since(self.last_autosave);
            if since >= AUTOSAVE {
                self.last_autosave = now;
                self.autosave();
                ctx.request_repaint_after(AUTOSAVE);
            } else {
                ctx.request_repaint_after(AUTOSAVE - since);
            }
        }
        // Files changed by other programs are noticed when the window gets the focus back.
        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
        if focused && !self.was_focused {
            self.check_outside_changes();
        }
        self.was_focused = focused;
        let connected: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|s| s.node_info().is_some())
            .map(|s| s.id)
            .collect();
        if !connected.is_empty() {
            let since = now.duration_since(self.last_memory_poll);
            if since >= MEMORY_REFRESH {
                self.last_memory_poll = now;
                for id in connected {
                    if let Some(session) = self.session(id) {
                        let commands = session.request_memory();
                        self.send(commands);
                    }
                }
                ctx.request_repaint_after(MEMORY_REFRESH);
            } else {
                ctx.request_repaint_after(MEMORY_REFRESH - since);
            }
        }
        let evaluating = self
            .selected
            .and_then(|id| self.session(id))
            .is_some_and(|s| s.cells().any(|c| matches!(c.state, CellState::Evaluating { .. })));
        // A starting runtime shows how long it has been starting.
        let starting = self
            .selected
            .and_then(|id| self.session(id))
            .is_some_and(|s| s.status() == Status::Starting);
        if evaluating || starting {
            ctx.request_repaint_after(ELAPSED_REFRESH);
        }
    }
}
