//! Completion and documentation for a cell's code, from the live runtime.
//!
//! The editor calls [`Session::complete`] or [`Session::inspect`] with a
//! cell and a cursor and sends the command it gets; the answer comes back
//! as an event that [`Session::apply`] keeps only if it answers the latest
//! request (ids increase), so a slow answer never replaces a newer one. The
//! names come from the context an evaluation of that cell would start from
//! — the cell above's, exactly as the queue chains them — so what is
//! offered is what the cell would see.

use super::Session;
use super::cell::CellId;
use crate::manager::{Command, Completion, CompletionRequest};
use crate::protocol::Bundle;

/// The answer to the latest completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct Completions {
    pub cell: CellId,
    pub id: u64,
    /// The characters (code points) of the cell's code a match replaces.
    pub start: usize,
    pub end: usize,
    /// Best first; empty when the runtime had nothing (or none is connected).
    pub matches: Vec<Completion>,
}

/// The answer to the latest documentation request.
#[derive(Debug, Clone, PartialEq)]
pub struct Documentation {
    pub cell: CellId,
    pub id: u64,
    /// Whether there was a name to document at the cursor.
    pub found: bool,
    /// `text/plain`, and `text/markdown` where the runtime's docs are Markdown.
    pub bundle: Bundle,
}

/// The requests asked and the answers kept.
#[derive(Debug, Default)]
pub(super) struct Assist {
    last_id: u64,
    completing: Option<(u64, CellId)>,
    inspecting: Option<(u64, CellId)>,
    pub completions: Option<Completions>,
    pub documentation: Option<Documentation>,
}

impl Session {
    /// The command that asks the runtime what could be typed at `cursor`
    /// (in characters) in cell `cell`; `None` for a cell that is not code.
    /// The answer ends up in [`Session::completions`]. Asking again replaces
    /// the question: an answer to an older one is dropped.
    pub fn complete(&mut self, cell: CellId, cursor: usize) -> Option<Command> {
        let request = self.request_for(cell, cursor)?;
        self.assist.completing = Some((request.id, cell));
        Some(Command::Complete {
            session: self.id,
            request,
        })
    }

    /// The command that asks the runtime for the signature and documentation
    /// of the name under `cursor` (`detail` 1: with its source). The answer
    /// ends up in [`Session::documentation`].
    pub fn inspect(&mut self, cell: CellId, cursor: usize, detail: u8) -> Option<Command> {
        let request = self.request_for(cell, cursor)?;
        self.assist.inspecting = Some((request.id, cell));
        Some(Command::Inspect {
            session: self.id,
            request,
            detail,
        })
    }

    /// The answer to the latest completion request, once it came.
    pub fn completions(&self) -> Option<&Completions> {
        self.assist.completions.as_ref()
    }

    /// The answer to the latest documentation request, once it came.
    pub fn documentation(&self) -> Option<&Documentation> {
        self.assist.documentation.as_ref()
    }

    /// Forgets the completion list (the popup was closed): an answer still
    /// on its way is dropped too.
    pub fn dismiss_completions(&mut self) {
        self.assist.completing = None;
        self.assist.completions = None;
    }

    pub fn dismiss_documentation(&mut self) {
        self.assist.inspecting = None;
        self.assist.documentation = None;
    }

    fn request_for(&mut self, cell: CellId, cursor: usize) -> Option<CompletionRequest> {
        let code = self.cell(cell).filter(|c| c.is_code())?.code.clone();
        let chain = self.chain_of(cell);
        self.assist.last_id += 1;
        Some(CompletionRequest {
            id: self.assist.last_id,
            container: chain.container,
            prev_evaluation_ref: chain.prev_evaluation_ref,
            prev_container: chain.prev_container,
            cursor: cursor.min(code.chars().count()),
            code,
        })
    }

    pub(super) fn completions_came(&mut self, id: u64, start: usize, end: usize, matches: &[Completion]) {
        if let Some((asked, cell)) = self.assist.completing
            && asked == id
        {
            self.assist.completions = Some(Completions {
                cell,
                id,
                start,
                end,
                matches: matches.to_vec(),
            });
        }
    }

    pub(super) fn documentation_came(&mut self, id: u64, found: bool, bundle: &Bundle) {
        if let Some((asked, cell)) = self.assist.inspecting
            && asked == id
        {
            self.assist.documentation = Some(Documentation {
                cell,
                id,
                found,
                bundle: bundle.clone(),
            });
        }
    }
}
