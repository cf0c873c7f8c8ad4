//! A cell's output: lines of stdout and stderr, bounded in memory.
//!
//! Keeps the first and the last lines in memory and counts what was left out
//! between them, so that a cell printing millions of lines neither exhausts
//! memory nor slows the window; the lines left out go to an anonymous
//! temporary file, so the whole output can still be saved. A carriage return
//! overwrites the current line, as a terminal does, so progress bars render as
//! one line. Escape sequences are parsed by `vte` (the parser of Alacritty's
//! terminal): SGR colours (16, 256 and 24-bit, foreground and background),
//! bold, dim, italic, underline and reverse become styles; every other
//! sequence is consumed, never shown raw.

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

/// A terminal colour as SGR sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// 0–7 normal, 8–15 bright, 16–231 the 6×6×6 cube, 232–255 greys.
    Indexed(u8),
    Rgb(u8, u8, u8),
}

/// What ANSI SGR codes set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub fg: Option<Color>,
    pub bg: Option<Color>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub reverse: bool,
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

pub struct OutputBuffer {
    /// One escape-sequence parser per stream: a sequence split across two
    /// reads of stdout must not be cut by stderr between them. Held only
    /// while a sequence may be unfinished (about 500 bytes each, and a
    /// notebook has thousands of outputs that never hold one).
    parsers: [Option<Box<vte::Parser>>; 2],
    lines: Lines,
}

/// A copy holds the same lines; its parsers start afresh (a copy is made of
/// finished output: a duplicated cell).
impl Clone for OutputBuffer {
    fn clone(&self) -> Self {
        OutputBuffer {
            parsers: [None, None],
            lines: self.lines.clone(),
        }
    }
}

impl std::fmt::Debug for OutputBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputBuffer")
            .field("lines", &self.lines)
            .finish_non_exhaustive()
    }
}

/// The kept lines and the pen: what the parsers act on.
#[derive(Debug, Clone)]
struct Lines {
    head: Vec<Line>,
    tail: VecDeque<Line>,
    /// Lines dropped between head and tail.
    omitted: usize,
    /// The unfinished last line.
    partial: Option<Line>,
    head_limit: usize,
    tail_limit: usize,
    /// The stream whose text is being parsed.
    stream: Stream,
    /// The style of each stream's next characters.
    pens: [Style; 2],
    /// A `\r` was seen: the next character starts the line afresh.
    carriage_return: bool,
    bytes: usize,
    /// Lines left out, kept on disk for "save output".
    spill: Option<Arc<std::fs::File>>,
    /// Where that file comes from (an anonymous temporary file); injected
    /// so that tests can make it fail.
    open_spill: SpillOpener,
    /// The file could not be made: lines left out are lost, and saving says so.
    spill_failed: bool,
}

/// Makes the file that lines left out go to.
pub type SpillOpener = fn() -> std::io::Result<std::fs::File>;

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

fn index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

impl OutputBuffer {
    pub fn with_limits(head_limit: usize, tail_limit: usize) -> Self {
        OutputBuffer {
            parsers: [None, None],
            lines: Lines {
                head: Vec::new(),
                tail: VecDeque::new(),
                omitted: 0,
                partial: None,
                head_limit,
                tail_limit,
                stream: Stream::Stdout,
                pens: [Style::default(); 2],
                carriage_return: false,
                bytes: 0,
                spill: None,
                open_spill: tempfile::tempfile,
                spill_failed: false,
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.head.is_empty() && self.lines.tail.is_empty() && self.lines.partial.is_none()
    }

    /// Lines left out between the first and the last ones kept.
    pub fn omitted(&self) -> usize {
        self.lines.omitted
    }

    /// Bytes received in all (kept or not).
    pub fn bytes_received(&self) -> usize {
        self.lines.bytes
    }

    pub fn clear(&mut self) {
        let open_spill = self.lines.open_spill;
        *self = Self::with_limits(self.lines.head_limit, self.lines.tail_limit);
        self.lines.open_spill = open_spill;
    }

    /// Replaces where lines left out are kept (for tests).
    pub fn set_spill_opener(&mut self, open: SpillOpener) {
        self.lines.open_spill = open;
    }

    /// Appends streamed text.
    pub fn push(&mut self, stream: Stream, text: &str) {
        self.lines.bytes += text.len();
        self.lines.stream = stream;
        let held = &mut self.parsers[index(stream)];
        match held {
            Some(parser) => parser.advance(&mut self.lines, text.as_bytes()),
            None => {
                let mut parser = vte::Parser::new();
                parser.advance(&mut self.lines, text.as_bytes());
                // Whole UTF-8 with no ESC leaves a parser in its ground
                // state, where a fresh one starts: nothing to keep.
                if text.contains('\x1b') {
                    *held = Some(Box::new(parser));
                }
            }
        }
    }

    /// Writes the whole output, the lines left out included, as plain text.
    pub fn write_all_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.lines.write_all_to(out)
    }

    /// Number of rows to show: kept lines, plus the unfinished one, plus a
    /// marker row where lines were left out.
    pub fn row_count(&self) -> usize {
        self.lines.row_count()
    }

    /// Row `index` of [`Self::row_count`]: a line, or the omission marker.
    pub fn row(&self, index: usize) -> Row<'_> {
        self.lines.row(index)
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

impl vte::Perform for Lines {
    fn print(&mut self, c: char) {
        self.push_char(c);
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' => {
                self.carriage_return = false;
                self.end_line(self.stream);
            }
            // The cursor goes back to the line's start: what is printed next
            // overwrites it (a progress bar redraws the whole line), but a
            // line ended by \r\n keeps its text.
            b'\r' => self.carriage_return = true,
            b'\t' => self.push_char('\t'),
            _ => {} // bell, backspace, shifts: nothing to draw
        }
    }

    fn csi_dispatch(&mut self, params: &vte::Params, intermediates: &[u8], _ignore: bool, action: char) {
        if action == 'm' && intermediates.is_empty() {
            let pen = &mut self.pens[index(self.stream)];
            let mut style = *pen;
            apply_sgr(&mut style, params);
            if style != *pen {
                *pen = style;
                let stream = self.stream;
                let line = self.partial_mut(stream);
                let at = line.text.len();
                line.styles.retain(|(offset, _)| *offset < at);
                line.styles.push((at, style));
            }
        }
    }
}

/// Applies one SGR sequence's parameters (`ESC [ … m`) to `style`.
fn apply_sgr(style: &mut Style, params: &vte::Params) {
    let mut params = params.iter();
    while let Some(param) = params.next() {
        match param {
            [] | [0] => *style = Style::default(),
            [1] => style.bold = true,
            [2] => style.dim = true,
            [3] => style.italic = true,
            [4, 0] | [24] => style.underline = false,
            [4, ..] => style.underline = true,
            [7] => style.reverse = true,
            [22] => (style.bold, style.dim) = (false, false),
            [23] => style.italic = false,
            [27] => style.reverse = false,
            [n @ 30..=37] => style.fg = Some(Color::Indexed((n - 30) as u8)),
            [n @ 90..=97] => style.fg = Some(Color::Indexed((n - 90 + 8) as u8)),
            [39] => style.fg = None,
            [n @ 40..=47] => style.bg = Some(Color::Indexed((n - 40) as u8)),
            [n @ 100..=107] => style.bg = Some(Color::Indexed((n - 100 + 8) as u8)),
            [49] => style.bg = None,
            [38, rest @ ..] => style.fg = extended_color(rest, &mut params),
            [48, rest @ ..] => style.bg = extended_color(rest, &mut params),
            _ => {}
        }
    }
}

/// The colour after 38 or 48: `5;n` / `2;r;g;b` as further parameters, or
/// `5:n` / `2:r:g:b` / `2::r:g:b` as sub-parameters (`colon`).
fn extended_color<'a>(colon: &[u16], params: &mut impl Iterator<Item = &'a [u16]>) -> Option<Color> {
    let byte = |v: u16| u8::try_from(v).ok();
    if !colon.is_empty() {
        return match colon {
            [5, n] => byte(*n).map(Color::Indexed),
            [2, r, g, b] | [2, _, r, g, b] => Some(Color::Rgb(byte(*r)?, byte(*g)?, byte(*b)?)),
            _ => None,
        };
    }
    let mut next = || params.next().and_then(|p| p.first().copied());
    match next()? {
        5 => byte(next()?).map(Color::Indexed),
        2 => {
            let (r, g, b) = (next()?, next()?, next()?);
            Some(Color::Rgb(byte(r)?, byte(g)?, byte(b)?))
        }
        _ => None,
    }
}

impl Lines {
    fn partial_mut(&mut self, stream: Stream) -> &mut Line {
        if self.partial.as_ref().is_some_and(|p| p.stream != stream) {
            // Another stream interleaves: the unfinished line ends here.
            let other = self.partial.as_ref().map(|p| p.stream).unwrap_or(stream);
            self.end_line(other);
        }
        let style = self.pens[index(stream)];
        self.partial.get_or_insert_with(|| {
            let mut line = Line::new(stream);
            if style != Style::default() {
                line.styles.push((0, style));
            }
            line
        })
    }

    fn push_char(&mut self, ch: char) {
        let stream = self.stream;
        if std::mem::take(&mut self.carriage_return) {
            let style = self.pens[index(stream)];
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
        let mut line = self.partial.take().unwrap_or_else(|| Line::new(stream));
        // Grown a character at a time, a line's text holds up to twice its
        // length; kept lines can be a notebook's bulk.
        if line.text.capacity() - line.text.len() > 16 {
            line.text.shrink_to_fit();
        }
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
        if self.spill_failed {
            return;
        }
        if self.spill.is_none() {
            match (self.open_spill)() {
                Ok(file) => self.spill = Some(Arc::new(file)),
                Err(err) => {
                    tracing::warn!(%err, "cannot keep left-out output lines on disk");
                    self.spill_failed = true;
                    return;
                }
            }
        }
        if let Some(mut file) = self.spill.as_deref() {
            let _ = file.write_all(text.as_bytes()).and_then(|_| file.write_all(b"\n"));
        }
    }

    fn write_all_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for line in &self.head {
            writeln!(out, "{}", line.text)?;
        }
        if self.spill_failed {
            writeln!(
                out,
                "[{} lines left out could not be kept: no temporary file]",
                self.omitted
            )?;
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

    fn row_count(&self) -> usize {
        self.head.len() + self.tail.len() + usize::from(self.partial.is_some()) + usize::from(self.omitted > 0)
    }

    fn row(&self, index: usize) -> Row<'_> {
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
    fn an_escape_sequence_split_across_chunks_is_still_parsed_whole() {
        let mut out = OutputBuffer::default();
        out.push(Stream::Stdout, "a\x1b[3");
        // Plain text on the other stream between the halves.
        out.push(Stream::Stderr, "err\n");
        out.push(Stream::Stdout, "1mred\n");
        // (The other stream ends the unfinished line, as it always does.)
        assert_eq!(lines(&out), ["a", "err", "red"]);
        // And the parser of plain output is not held once the sequence ended.
        out.push(Stream::Stdout, "plain\n");
        assert!(out.parsers[1].is_none(), "stderr never saw an escape");
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
            fg: Some(Color::Indexed(1)),
            bold: true,
            ..Style::default()
        };
        let green = Style {
            fg: Some(Color::Indexed(10)),
            ..Style::default()
        };
        assert_eq!(line.styles, [(6, red), (14, Style::default()), (20, green)]);
        // The style carries on to the next line, as in a terminal.
        out.push(Stream::Stdout, "still green\n");
        let Row::Line(line) = out.row(1) else { panic!() };
        assert_eq!(line.styles, [(0, green)]);
    }

    /// Each form a terminal program writes, with the style it must give.
    #[test]
    fn every_sgr_form_becomes_its_style() {
        let style_of = |sequence: &str| {
            let mut out = OutputBuffer::default();
            out.push(Stream::Stdout, &format!("a{sequence}b\n"));
            let Row::Line(line) = out.row(0) else { panic!() };
            assert_eq!(line.text, "ab", "{sequence:?} left no trace in the text");
            line.styles.last().map(|(at, style)| {
                assert_eq!(*at, 1);
                *style
            })
        };
        let fg = |c| Style {
            fg: Some(c),
            ..Style::default()
        };
        let bg = |c| Style {
            bg: Some(c),
            ..Style::default()
        };
        assert_eq!(style_of("\x1b[31m"), Some(fg(Color::Indexed(1))));
        assert_eq!(style_of("\x1b[97m"), Some(fg(Color::Indexed(15))));
        assert_eq!(style_of("\x1b[38;5;31m"), Some(fg(Color::Indexed(31))));
        assert_eq!(style_of("\x1b[38:5:31m"), Some(fg(Color::Indexed(31))));
        assert_eq!(style_of("\x1b[38;2;0;0;32m"), Some(fg(Color::Rgb(0, 0, 32))));
        assert_eq!(style_of("\x1b[38:2::10:20:30m"), Some(fg(Color::Rgb(10, 20, 30))));
        assert_eq!(style_of("\x1b[44m"), Some(bg(Color::Indexed(4))));
        assert_eq!(style_of("\x1b[103m"), Some(bg(Color::Indexed(11))));
        assert_eq!(style_of("\x1b[48;5;200m"), Some(bg(Color::Indexed(200))));
        assert_eq!(style_of("\x1b[48;2;1;2;3m"), Some(bg(Color::Rgb(1, 2, 3))));
        let flags = style_of("\x1b[1;2;3;4;7m").unwrap();
        assert!(flags.bold && flags.dim && flags.italic && flags.underline && flags.reverse);
        // What `tput sgr0` writes: a charset designation, then a reset.
        assert_eq!(style_of("\x1b(B\x1b[m"), None);
        assert_eq!(style_of("\x1b[?25l\x1b[2K\x1b]8;;http://x\x1b\\"), None);
        // Resets of single attributes.
        let mut out = OutputBuffer::default();
        out.push(Stream::Stdout, "\x1b[1;3;4;7;31;42mx\x1b[22;23;24;27;39;49my\n");
        let Row::Line(line) = out.row(0) else { panic!() };
        assert_eq!(line.styles.last(), Some(&(1, Style::default())));
    }

    #[test]
    fn without_a_temporary_file_saving_says_what_is_missing() {
        let mut out = OutputBuffer::with_limits(2, 2);
        out.set_spill_opener(|| Err(std::io::Error::other("disk full")));
        for i in 0..10 {
            out.push(Stream::Stdout, &format!("{i}\n"));
        }
        let mut saved = Vec::new();
        out.write_all_to(&mut saved).unwrap();
        assert_eq!(
            String::from_utf8(saved).unwrap(),
            "0\n1\n[6 lines left out could not be kept: no temporary file]\n8\n9\n"
        );
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
