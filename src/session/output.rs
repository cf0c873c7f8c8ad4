//! A cell's output: lines of stdout and stderr, bounded in memory.
//!
//! Keeps the first and the last lines and counts what was left out between
//! them, so that a cell printing millions of lines neither exhausts memory
//! nor slows the window. A carriage return overwrites the current line, as a
//! terminal does, so progress bars render as one line. ANSI escape sequences
//! are removed (never shown raw).

use std::collections::VecDeque;

use crate::protocol::Stream;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub stream: Stream,
    pub text: String,
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
    bytes: usize,
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
            bytes: 0,
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
                    '\n' => self.end_line(stream),
                    '\r' => self.partial_mut(stream).text.clear(),
                    '\t' => self.push_char(stream, '\t'),
                    c if c.is_control() => {}
                    c => self.push_char(stream, c),
                },
                EscapeState::Escape => {
                    self.escape = match ch {
                        '[' => EscapeState::Csi,
                        ']' => EscapeState::Osc,
                        _ => EscapeState::Text,
                    }
                }
                EscapeState::Csi => {
                    if ('\u{40}'..='\u{7e}').contains(&ch) {
                        self.escape = EscapeState::Text;
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

    fn partial_mut(&mut self, stream: Stream) -> &mut Line {
        if self.partial.as_ref().is_some_and(|p| p.stream != stream) {
            // Another stream interleaves: the unfinished line ends here.
            let other = self.partial.as_ref().map(|p| p.stream).unwrap_or(stream);
            self.end_line(other);
        }
        self.partial.get_or_insert_with(|| Line {
            stream,
            text: String::new(),
        })
    }

    fn push_char(&mut self, stream: Stream, ch: char) {
        let line = self.partial_mut(stream);
        if line.text.len() < MAX_LINE_CHARS {
            line.text.push(ch);
        } else if !line.text.ends_with('…') {
            line.text.push('…');
        }
    }

    fn end_line(&mut self, stream: Stream) {
        let line = self.partial.take().unwrap_or(Line {
            stream,
            text: String::new(),
        });
        if self.head.len() < self.head_limit {
            self.head.push(line);
        } else {
            self.tail.push_back(line);
            if self.tail.len() > self.tail_limit {
                self.tail.pop_front();
                self.omitted += 1;
            }
        }
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
        assert_eq!(lines(&out), ["100%|██████████|", "", "b"]);
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
        assert_eq!(
            out.row(0),
            Row::Line(&Line {
                stream: Stream::Stdout,
                text: "out".into()
            })
        );
        assert_eq!(
            out.row(1),
            Row::Line(&Line {
                stream: Stream::Stderr,
                text: "err".into()
            })
        );
    }
}
