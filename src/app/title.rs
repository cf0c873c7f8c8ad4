//! The window title: the selected notebook, marked while it has unsaved
//! changes, as `analysis.ipynb • — Runyard`.

use super::RunyardApp;
use crate::session::Session;

/// The title for a notebook (by file name, else the session's name).
fn title_for(session: Option<&Session>) -> String {
    let Some(session) = session else {
        return "Runyard".to_string();
    };
    let name = session
        .file
        .as_deref()
        .and_then(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| session.name.clone());
    let unsaved = if session.is_dirty() { " •" } else { "" };
    format!("{name}{unsaved} — Runyard")
}

impl RunyardApp {
    pub fn window_title(&self) -> String {
        title_for(self.selected.and_then(|id| self.session(id)))
    }

    /// Sends the title when it changes (a command every frame would make
    /// the window system redraw the title bar every frame).
    pub(super) fn update_title(&mut self, ctx: &egui::Context) {
        let title = self.window_title();
        if self.title.as_ref() != Some(&title) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = Some(title);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::SessionId;
    use crate::runtime::RuntimeConfig;

    #[test]
    fn names_the_file_and_marks_unsaved_changes() {
        assert_eq!(title_for(None), "Runyard");
        let mut session = Session::new(SessionId(1), "Notebook 1", RuntimeConfig::python());
        session.mark_saved(session.revision());
        assert_eq!(title_for(Some(&session)), "Notebook 1 — Runyard");
        session.file = Some("/work/analysis.ipynb".into());
        assert_eq!(title_for(Some(&session)), "analysis.ipynb — Runyard");
        session.add_cell("x = 1");
        assert_eq!(title_for(Some(&session)), "analysis.ipynb • — Runyard");
    }
}
