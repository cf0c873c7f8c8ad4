//! A cell's outputs in the order they came: runs of stream text and rich
//! displays (MIME bundles), as Jupyter's output list has them.
//!
//! Text runs are [`OutputBuffer`]s, each bounded; a cell that alternates
//! text and displays gets smaller bounds for each later run and keeps at
//! most [`MAX_DISPLAYS`] displays, so memory stays bounded whatever the code does.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::output::{HEAD_LINES, OutputBuffer, SpillOpener, TAIL_LINES};
use crate::protocol::{Bundle, Stream};

/// Displays kept per cell; later ones are counted, not kept.
pub const MAX_DISPLAYS: usize = 1000;
/// The smallest bounds a later text run gets (first and last lines kept).
const MIN_RUN_LINES: usize = 1000;

/// A rich output: a bundle, and the id that `update_display_data` names it by.
#[derive(Debug, Clone)]
pub struct Display {
    pub bundle: Arc<Bundle>,
    pub display_id: Option<String>,
    /// Unique to this content: a view caches what it decoded by it, and an
    /// update gives a new key.
    pub key: u64,
}

/// Equal when they show the same: the key only names a version for caches.
impl PartialEq for Display {
    fn eq(&self, other: &Self) -> bool {
        self.bundle == other.bundle && self.display_id == other.display_id
    }
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

impl Display {
    pub fn new(bundle: Arc<Bundle>, display_id: Option<String>) -> Display {
        Display {
            bundle,
            display_id,
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// A display of plain text only.
    pub fn plain(text: impl Into<String>) -> Display {
        Display::new(Arc::new(Bundle::plain(text)), None)
    }

    pub fn text(&self) -> String {
        self.bundle.text()
    }

    /// Takes `bundle` in place (an update of its `display_id`).
    fn replace(&mut self, bundle: &Arc<Bundle>) {
        self.bundle = bundle.clone();
        self.key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    }
}

// A cell holds a handful of items: boxing the text run would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum OutputItem {
    Stream(OutputBuffer),
    Display(Display),
}

#[derive(Debug, Clone, Default)]
pub struct Outputs {
    items: Vec<OutputItem>,
    displays: usize,
    /// Displays that came after [`MAX_DISPLAYS`], not kept.
    displays_dropped: usize,
    open_spill: Option<SpillOpener>,
}

impl Outputs {
    pub fn items(&self) -> &[OutputItem] {
        &self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items.iter().all(|item| match item {
            OutputItem::Stream(buffer) => buffer.is_empty(),
            OutputItem::Display(_) => false,
        })
    }

    pub fn clear(&mut self) {
        let open_spill = self.open_spill;
        *self = Outputs::default();
        self.open_spill = open_spill;
    }

    /// Replaces where left-out lines are kept (for tests).
    pub fn set_spill_opener(&mut self, open: SpillOpener) {
        self.open_spill = Some(open);
        for item in &mut self.items {
            if let OutputItem::Stream(buffer) = item {
                buffer.set_spill_opener(open);
            }
        }
    }

    /// Appends streamed text to the last text run, or starts one after a display.
    pub fn push(&mut self, stream: Stream, text: &str) {
        if !matches!(self.items.last(), Some(OutputItem::Stream(_))) {
            let kept: usize = self.streams().map(OutputBuffer::row_count).sum();
            let head = HEAD_LINES.saturating_sub(kept).max(MIN_RUN_LINES);
            let tail = TAIL_LINES.saturating_sub(kept).max(MIN_RUN_LINES);
            let mut buffer = OutputBuffer::with_limits(head, tail);
            if let Some(open) = self.open_spill {
                buffer.set_spill_opener(open);
            }
            self.items.push(OutputItem::Stream(buffer));
        }
        if let Some(OutputItem::Stream(buffer)) = self.items.last_mut() {
            buffer.push(stream, text);
        }
    }

    /// Appends a display, unless the cell already has [`MAX_DISPLAYS`].
    pub fn push_display(&mut self, display: Display) {
        if self.displays >= MAX_DISPLAYS {
            self.displays_dropped += 1;
            return;
        }
        self.displays += 1;
        self.items.push(OutputItem::Display(display));
    }

    /// Replaces every display with `display_id` by `bundle`; whether there was one.
    pub fn update_display(&mut self, display_id: &str, bundle: &Arc<Bundle>) -> bool {
        let mut found = false;
        for item in &mut self.items {
            if let OutputItem::Display(display) = item
                && display.display_id.as_deref() == Some(display_id)
            {
                display.replace(bundle);
                found = true;
            }
        }
        found
    }

    fn streams(&self) -> impl Iterator<Item = &OutputBuffer> {
        self.items.iter().filter_map(|item| match item {
            OutputItem::Stream(buffer) => Some(buffer),
            OutputItem::Display(_) => None,
        })
    }

    /// Text lines left out of memory, over every run.
    pub fn omitted(&self) -> usize {
        self.streams().map(OutputBuffer::omitted).sum()
    }

    /// Rows of text kept (with the markers of left-out lines).
    pub fn rows(&self) -> usize {
        self.streams().map(OutputBuffer::row_count).sum()
    }

    pub fn bytes_received(&self) -> usize {
        self.streams().map(OutputBuffer::bytes_received).sum()
    }

    pub fn displays_dropped(&self) -> usize {
        self.displays_dropped
    }

    /// Everything as text, in order: the text runs as kept, each display's `text/plain`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            match item {
                OutputItem::Stream(buffer) => out.push_str(&buffer.text()),
                OutputItem::Display(display) => {
                    out.push_str(&display.text());
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Writes everything, the lines left out included, as plain text.
    pub fn write_all_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for item in &self.items {
            match item {
                OutputItem::Stream(buffer) => buffer.write_all_to(out)?,
                OutputItem::Display(display) => writeln!(out, "{}", display.text())?,
            }
        }
        if self.displays_dropped > 0 {
            writeln!(out, "[{} more displays left out]", self.displays_dropped)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_displays_keep_their_order() {
        let mut outputs = Outputs::default();
        outputs.push(Stream::Stdout, "a\n");
        outputs.push_display(Display::plain("<Figure>"));
        outputs.push(Stream::Stdout, "b\n");
        outputs.push(Stream::Stderr, "c\n");
        assert_eq!(outputs.items().len(), 3);
        assert_eq!(outputs.text(), "a\n<Figure>\nb\nc\n");
    }

    #[test]
    fn an_update_replaces_every_display_with_its_id_and_gives_a_new_key() {
        let mut outputs = Outputs::default();
        outputs.push_display(Display::new(Arc::new(Bundle::plain("0%")), Some("p".into())));
        outputs.push_display(Display::plain("other"));
        let OutputItem::Display(before) = &outputs.items()[0] else {
            panic!()
        };
        let key = before.key;
        assert!(outputs.update_display("p", &Arc::new(Bundle::plain("100%"))));
        assert!(!outputs.update_display("q", &Arc::new(Bundle::plain("x"))));
        let OutputItem::Display(after) = &outputs.items()[0] else {
            panic!()
        };
        assert_eq!(after.text(), "100%");
        assert_ne!(after.key, key);
        assert_eq!(outputs.text(), "100%\nother\n");
    }

    #[test]
    fn displays_past_the_cap_are_counted_not_kept() {
        let mut outputs = Outputs::default();
        for i in 0..MAX_DISPLAYS + 5 {
            outputs.push_display(Display::plain(i.to_string()));
            outputs.push(Stream::Stdout, "x\n");
        }
        let displays = outputs
            .items()
            .iter()
            .filter(|i| matches!(i, OutputItem::Display(_)))
            .count();
        assert_eq!(displays, MAX_DISPLAYS);
        assert_eq!(outputs.displays_dropped(), 5);
        let mut all = Vec::new();
        outputs.write_all_to(&mut all).unwrap();
        assert!(
            String::from_utf8(all)
                .unwrap()
                .ends_with("[5 more displays left out]\n")
        );
    }

    #[test]
    fn later_text_runs_share_the_line_budget() {
        let mut outputs = Outputs::default();
        outputs.push(Stream::Stdout, &"x\n".repeat(HEAD_LINES + TAIL_LINES + 10));
        outputs.push_display(Display::plain("d"));
        outputs.push(Stream::Stdout, &"y\n".repeat(10 * MIN_RUN_LINES));
        // The second run keeps its first and last MIN_RUN_LINES.
        assert_eq!(
            outputs.rows(),
            HEAD_LINES + TAIL_LINES + 1 + 2 * MIN_RUN_LINES + 1,
            "two runs, each with a marker of what it left out"
        );
    }
}
