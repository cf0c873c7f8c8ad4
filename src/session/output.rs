//! A cell's output: lines of stdout and stderr, bounded in memory.
//!
//! Keeps the first and the last lines in memory and counts what was left out
//! between them, so that a cell printing millions of lines neither exhausts
//! memory nor slows the window; the lines left out go to an anonymous
//! temporary file, so the whole output can still be saved. A carriage return
//! overwrites the current line, as a terminal does, so progress bars render as
//! one line. ANSI colours (the 16 basic ones) and bold are kept as styles;
//! other escape sequences are dropped, never shown raw.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::protocol::Stream;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub stream: Stream,
    pub text: String,
    /// Style changes: from this byte offset of `text` on, this style. Empty
    /// for plain lines.
    pub styles: Vec<(usize, Style)>,
}

/// What ANSI SGR codes set: one of the 16 basic colours, and bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// 0–7 normal, 8–15 bright.
    pub color: Option<u8>,
    pub bold: bool,
}

impl Line {
    fn new(stream: Stream) -> Line {
        Line {
            stream,
            text: String::new(),
            styles: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutputBuffer {
    head: Vec<Line>,
    tail: VecDeque<Line>,
    /// Lines dropped between head and tail.
    omitted: usize,
    /// The unfinished last line, per stream.
    partial: Option<Line>,
    head_limit: usize,
    tail_limit: usize,
    escape: EscapeState,
    /// Parameters of the CSI sequence being read.
    csi: String,
    style: Style,
    /// A `\r` was seen: the next character starts the line afresh.
    carriage_return: bool,
    bytes: usize,
    /// Lines left out, kept on disk for "save output".
    spill: Option<Arc<std::fs::File>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum EscapeState {
    #[default]
    Text,
    /// After ESC.
    Escape,
    /// Inside a CSI sequence (`ESC [` … final byte).
    Csi,
    /// Inside an OSC sequence (`ESC ]` … BEL or ST).
    Osc,
}

/// Default bounds: 100,000 lines shown in full, a longer output keeps its
/// first and last 50,000.
pub const HEAD_LINES: usize = 50_000;
pub const TAIL_LINES: usize = 50_000;
/// Longer lines are cut: a single line of megabytes cannot be laid out usefully.
pub const MAX_LINE_CHARS: usize = 10_000;

impl Default for OutputBuffer {
    fn default() -> Self {
        Self::with_limits(HEAD_LINES, TAIL_LINES)
    }
}

impl OutputBuffer {
    pub fn with_limits(head_limit: usize, tail_limit: usize) -> Self {
        OutputBuffer {
            head: Vec::new(),
            tail: VecDeque::new(),
            omitted: 0,
            partial: None,
            head_limit,
            tail_limit,
            escape: EscapeState::Text,
            csi: String::new(),
            style: Style::default(),
            carriage_return: false,
            bytes: 0,
            spill: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty() && self.partial.is_none()
    }

    /// Lines left out between the first and the last ones kept.
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    /// Bytes received in all (kept or not).
    pub fn bytes_received(&self) -> usize {
        self.bytes
    }

    pub fn clear(&mut self) {
        *self = Self::with_limits(self.head_limit, self.tail_limit);
    }

    /// Appends streamed text.
    pub fn push(&mut self, stream: Stream, text: &str) {
        self.bytes += text.len();
        for ch in text.chars() {
            match self.escape {
                EscapeState::Text => match ch {
                    '\u{1b}' => self.escape = EscapeState::Escape,
                    '\n' => {
                        self.carriage_return = false;
                        self.end_line(stream);
                    }
                    // The cursor goes back to the line's start: what is
                    // printed next overwrites it (a progress bar redraws the
                    // whole line), but a line ended by \r\n keeps its text.
                    '\r' => self.carriage_return = true,
                    '\t' => self.push_char(stream, '\t'),
                    c if c.is_control() => {}
                    c => self.push_char(stream, c),
                },
                EscapeState::Escape => {
                    self.csi.clear();
                    self.escape = match ch {
                        '[' => EscapeState::Csi,
                        ']' => EscapeState::Osc,
                        _ => EscapeState::Text,
                    }
                }
                EscapeState::Csi => {
                    if ('\u{40}'..='\u{7e}').contains(&ch) {
                        self.escape = EscapeState::Text;
                        if ch == 'm' {
                            self.apply_sgr(stream);
                        }
                    } else if self.csi.len() < 64 {
                        self.csi.push(ch);
                    }
                }
                EscapeState::Osc => {
                    if ch == '\u{7}' || ch == '\\' {
                        self.escape = EscapeState::Text;
                    }
                }
            }
        }
    }

    /// Applies an SGR sequence (`ESC [ … m`) to the current style.
    fn apply_sgr(&mut self, stream: Stream) {
        let mut style = self.style;
        let params = std::mem::take(&mut self.csi);
        for code in params.split(';').map(|p| p.parse::<u16>().unwrap_or(0)) {
            match code {
                0 => style = Style::default(),
                1 => style.bold = true,
                22 => style.bold = false,
                30..=37 => style.color = Some((code - 30) as u8),
                90..=97 => style.color = Some((code - 90 + 8) as u8),
                39 => style.color = None,
                _ => {}
            }
        }
        if style != self.style {
            self.style = style;
            let line = self.partial_mut(stream);
            let at = line.text.len();
            line.styles.retain(|(offset, _)| *offset < at);
            line.styles.push((at, style));
        }
    }

    fn partial_mut(&mut self, stream: Stream) -> &mut Line {
        if self.partial.as_ref().is_some_and(|p| p.stream != stream) {
            // Another stream interleaves: the unfinished line ends here.
            let other = self.partial.as_ref().map(|p| p.stream).unwrap_or(stream);
            self.end_line(other);
        }
        let style = self.style;
        self.partial.get_or_insert_with(|| {
            let mut line = Line::new(stream);
            if style != Style::default() {
                line.styles.push((0, style));
            }
            line
        })
    }

    fn push_char(&mut self, stream: Stream, ch: char) {
        if std::mem::take(&mut self.carriage_return) {
            let style = self.style;
            let line = self.partial_mut(stream);
            line.text.clear();
            line.styles.clear();
            if style != Style::default() {
                line.styles.push((0, style));
            }
        }
        let line = self.partial_mut(stream);
        if line.text.len() < MAX_LINE_CHARS {
            line.text.push(ch);
        } else if !line.text.ends_with('…') {
            line.text.push('…');
        }
    }

    fn end_line(&mut self, stream: Stream) {
        let line = self.partial.take().unwrap_or_else(|| Line::new(stream));
        if self.head.len() < self.head_limit {
            self.head.push(line);
        } else {
            self.tail.push_back(line);
            if self.tail.len() > self.tail_limit
                && let Some(dropped) = self.tail.pop_front()
            {
                self.omitted += 1;
                self.spill_line(&dropped.text);
            }
        }
    }

    fn spill_line(&mut self, text: &str) {
        if self.spill.is_none() {
            match tempfile::tempfile() {
                Ok(file) => self.spill = Some(Arc::new(file)),
                Err(err) => {
                    tracing::warn!(%err, "cannot keep left-out output lines on disk");
                    return;
                }
            }
        }
        if let Some(mut file) = self.spill.as_deref() {
            let _ = file.write_all(text.as_bytes()).and_then(|_| file.write_all(b"\n"));
        }
    }

    /// Writes the whole output, the lines left out included, as plain text.
    pub fn write_all_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for line in &self.head {
            writeln!(out, "{}", line.text)?;
        }
        if let Some(mut file) = self.spill.as_deref() {
            file.seek(SeekFrom::Start(0))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
            }
            file.seek(SeekFrom::End(0))?;
        }
        for line in &self.tail {
            writeln!(out, "{}", line.text)?;
        }
        if let Some(line) = &self.partial {
            writeln!(out, "{}", line.text)?;
        }
        Ok(())
    }

    /// Number of rows to show: kept lines, plus the unfinished one, plus a
    /// marker row where lines were left out.
    pub fn row_count(&self) -> usize {
        self.head.len() + self.tail.len() + usize::from(self.partial.is_some()) + usize::from(self.omitted > 0)
    }

    /// Row `index` of [`Self::row_count`]: a line, or the omission marker.
    pub fn row(&self, index: usize) -> Row<'_> {
        let mut i = index;
        if i < self.head.len() {
            return Row::Line(&self.head[i]);
        }
        i -= self.head.len();
        if self.omitted > 0 {
            if i == 0 {
                return Row::Omitted(self.omitted);
            }
            i -= 1;
        }
        if i < self.tail.len() {
            return Row::Line(&self.tail[i]);
        }
        match &self.partial {
            Some(line) => Row::Line(line),
            None => Row::Omitted(0),
        }
    }

    /// All kept text, with a note where lines were left out.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for i in 0..self.row_count() {
            match self.row(i) {
                Row::Line(line) => out.push_str(&line.text),
                Row::Omitted(n) => out.push_str(&format!("[… {n} lines left out …]")),
            }
            out.push('\n');
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row<'a> {
    Line(&'a Line),
    Omitted(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(buffer: &OutputBuffer) -> Vec<String> {
        (0..buffer.row_count())
            .map(|i| match buffer.row(i) {
                Row::Line(l) => l.text.clone(),
                Row::Omitted(n) => format!("<{n} omitted>"),
            })
            .collect()
    }

    #[test]
    fn splits_streamed_text_into_lines_across_chunks() {
        let mut out = OutputBuffer::default();
        out.push(Stream::Stdout, "hel");
        out.push(Stream::Stdout, "lo\nwor");
        assert_eq!(lines(&out), ["hello", "wor"]);
        out.push(Stream::Stdout, "ld\n");
        assert_eq!(lines(&out), ["hello", "world"]);
    }

    #[test]
    fn carriage_returns_overwrite_the_line_like_a_terminal() {
        let mut out = OutputBuffer::default();
        out.push(Stream::Stderr, " 10%|█         |\r 50%|█████     |\r100%|██████████|\n");
        assert_eq!(lines(&out), ["100%|██████████|"]);
        out.push(Stream::Stdout, "a\r\nb\n");
        assert_eq!(
            lines(&out),
            ["100%|██████████|", "a", "b"],
            "\\r\\n ends a line as \\n does"
        );
        // A bar left at \r, as tqdm leaves it between updates, stays visible.
        out.push(Stream::Stderr, "  0%\r 40%\r");
        assert_eq!(lines(&out).last().unwrap(), " 40%");
        out.push(Stream::Stderr, "100%\n");
        assert_eq!(lines(&out).last().unwrap(), "100%");
    }

    #[test]
    fn ansi_escape_codes_are_never_shown() {
        let mut out = OutputBuffer::default();
        out.push(
            Stream::Stdout,
            "\u{1b}[1;31mred\u{1b}[0m and \u{1b}]0;title\u{7}plain\n",
        );
        assert_eq!(lines(&out), ["red and plain"]);
        // A sequence split across chunks.
        out.push(Stream::Stdout, "x\u{1b}[3");
        out.push(Stream::Stdout, "2my\n");
        assert_eq!(lines(&out)[1], "xy");
    }

    #[test]
    fn colours_and_bold_become_styles() {
        let mut out = OutputBuffer::default();
        out.push(
            Stream::Stdout,
            "plain \u{1b}[1;31mred bold\u{1b}[0m back \u{1b}[92mgreen\n",
        );
        let Row::Line(line) = out.row(0) else { panic!() };
        assert_eq!(line.text, "plain red bold back green");
        let red = Style {
            color: Some(1),
            bold: true,
        };
        let green = Style {
            color: Some(10),
            bold: false,
        };
        assert_eq!(line.styles, [(6, red), (14, Style::default()), (20, green)]);
        // The style carries on to the next line, as in a terminal.
        out.push(Stream::Stdout, "still green\n");
        let Row::Line(line) = out.row(1) else { panic!() };
        assert_eq!(line.styles, [(0, green)]);
    }

    #[test]
    fn the_whole_output_can_be_saved_though_lines_were_left_out() {
        let mut out = OutputBuffer::with_limits(2, 2);
        for i in 0..1000 {
            out.push(Stream::Stdout, &format!("{i}\n"));
        }
        out.push(Stream::Stdout, "partial");
        let mut saved = Vec::new();
        out.write_all_to(&mut saved).unwrap();
        let expected: String = (0..1000).map(|i| format!("{i}\n")).collect::<String>() + "partial\n";
        assert_eq!(String::from_utf8(saved).unwrap(), expected);
        assert_eq!(out.omitted(), 996);
    }

    #[test]
    fn memory_stays_bounded_and_the_omission_is_counted() {
        let mut out = OutputBuffer::with_limits(3, 2);
        for i in 0..1_000_000 {
            out.push(Stream::Stdout, &format!("{i}\n"));
        }
        assert_eq!(lines(&out), ["0", "1", "2", "<999995 omitted>", "999998", "999999"]);
        assert_eq!(out.omitted(), 999_995);
        assert!(out.text().contains("[… 999995 lines left out …]"));
    }

    #[test]
    fn interleaved_streams_keep_their_own_lines() {
        let mut out = OutputBuffer::default();
        out.push(Stream::Stdout, "out");
        out.push(Stream::Stderr, "err\n");
        assert!(matches!(out.row(0), Row::Line(l) if l.stream == Stream::Stdout && l.text == "out"));
        assert!(matches!(out.row(1), Row::Line(l) if l.stream == Stream::Stderr && l.text == "err"));
    }
}
