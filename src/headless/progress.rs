//! Progress of `runyard run` on stderr: a bar redrawn in place on a
//! terminal, one line per cell otherwise (logs and CI keep every line).

use std::io::Write;
use std::time::Duration;

use super::CellName;
use crate::session::format_duration;

const BAR_WIDTH: usize = 24;

pub(super) struct Progress {
    style: Style,
    total: usize,
    done: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Bar,
    Lines,
    /// Nothing: stdout and stderr carry the cells' own output.
    Quiet,
}

impl Progress {
    pub fn new(style: Style, total: usize) -> Progress {
        Progress { style, total, done: 0 }
    }

    pub fn style(&self) -> Style {
        self.style
    }

    /// A cell starts: the bar names it (lines wait for its end).
    pub fn start(&mut self, err: &mut dyn Write, cell: &CellName) -> std::io::Result<()> {
        if self.style == Style::Bar {
            self.draw(err, &format!("{cell}"))?;
        }
        Ok(())
    }

    /// A cell ended with `status` ("ok", "failed", "skipped: …").
    pub fn finish(
        &mut self,
        err: &mut dyn Write,
        cell: &CellName,
        status: &str,
        took: Option<Duration>,
    ) -> std::io::Result<()> {
        self.done += 1;
        let took = took.map(|d| format!(" in {}", format_duration(d))).unwrap_or_default();
        match self.style {
            Style::Bar => self.draw(err, &format!("{cell}: {status}{took}")),
            Style::Lines => {
                writeln!(err, "[{}/{}] {cell}: {status}{took}", self.done, self.total)?;
                err.flush()
            }
            Style::Quiet => Ok(()),
        }
    }

    /// Leaves the bar's line (before other messages, and at the end).
    pub fn end(&mut self, err: &mut dyn Write) -> std::io::Result<()> {
        if self.style == Style::Bar {
            self.style = Style::Quiet;
            writeln!(err)?;
            err.flush()?;
        }
        Ok(())
    }

    fn draw(&self, err: &mut dyn Write, label: &str) -> std::io::Result<()> {
        let filled = (self.done * BAR_WIDTH).checked_div(self.total).unwrap_or(BAR_WIDTH);
        let bar: String = "#".repeat(filled) + &"-".repeat(BAR_WIDTH - filled);
        let label: String = label.chars().take(60).collect();
        // Carriage return and erase-line redraw the same terminal line.
        write!(err, "\r\u{1b}[2K[{bar}] {}/{} {label}", self.done, self.total)?;
        err.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(number: usize) -> CellName {
        CellName {
            number,
            line: None,
            id: None,
            section: None,
        }
    }

    #[test]
    fn lines_or_a_bar() {
        let mut out = Vec::new();
        let mut p = Progress::new(Style::Lines, 2);
        p.start(&mut out, &name(1)).unwrap();
        p.finish(&mut out, &name(1), "ok", None).unwrap();
        p.end(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[1/2] cell 1: ok\n");

        let mut out = Vec::new();
        let mut p = Progress::new(Style::Bar, 2);
        p.start(&mut out, &name(1)).unwrap();
        p.finish(&mut out, &name(1), "ok", None).unwrap();
        p.end(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("[------------------------] 0/2 cell 1"), "{text:?}");
        assert!(text.contains("[############------------] 1/2 cell 1: ok"), "{text:?}");
        assert!(text.ends_with('\n'));
    }
}
