//! Livebook notebooks (`.livemd`), read and written as Livebook's own
//! `LiveMarkdown.Import` / `Export` do: `# title`, `## sections`, code cells as
//! fenced blocks (`elixir`, `erlang`, `python`, `pyproject.toml`), Markdown
//! cells in between (`break_markdown` separates two; `force_markdown` marks a
//! fenced block that belongs to the Markdown), `<!-- livebook:{…} -->`
//! metadata attached to what follows it, and outputs after a code cell
//! (`<!-- livebook:{"output":true} -->` then a fenced block; older files used
//! a block tagged `output`).
//!
//! Layout is Livebook's: one blank line between elements, a newline at the
//! end. Metadata comments are written back as they were while their JSON is
//! unchanged; comments before the title and Livebook's stamp are kept
//! verbatim. Markdown is not reformatted (Livebook reformats it on its next
//! save, which it accepts either way).

use serde_json::Value;

use super::error::ParseError;
use super::json;
use super::model::{
    Cell, CellKind, Format, Language, Notebook, NotebookExtras, Object, Output, Section, SectionExtras,
};

/// Fenced blocks with these languages are code cells, as in Livebook.
const CODE_LANGUAGES: [&str; 4] = ["elixir", "erlang", "python", "pyproject.toml"];
const OUTPUT_MARKER: &str = r#"<!-- livebook:{"output":true} -->"#;
const BREAK_MARKDOWN: &str = r#"<!-- livebook:{"break_markdown":true} -->"#;
const FORCE_MARKDOWN: &str = r#"<!-- livebook:{"force_markdown":true} -->"#;

#[derive(Debug)]
enum Item {
    Blank(String),
    Text(String),
    /// An HTML comment; `livebook` holds the JSON of a `livebook:` one.
    Comment {
        raw: String,
        livebook: Option<Object>,
    },
    Heading {
        level: usize,
        text: String,
        raw: String,
    },
    Fence {
        info: String,
        content: String,
        raw: String,
        /// The line of the block's first content line.
        content_line: usize,
    },
}

/// Splits the text into Markdown blocks that matter for notebook structure.
fn tokenize(text: &str) -> Result<Vec<(usize, Item)>, ParseError> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let number = i + 1;
        let bare = line.strip_suffix('\r').unwrap_or(line);
        if bare.trim().is_empty() {
            items.push((number, Item::Blank(line.into())));
            i += 1;
        } else if let Some((marker, info)) = fence_open(bare) {
            let close = (i + 1..lines.len()).find(|&j| fence_closes(lines[j], marker));
            let end = close.unwrap_or(lines.len());
            let content = lines[i + 1..end].join("\n");
            let raw_end = close.map_or(lines.len(), |c| c + 1);
            items.push((
                number,
                Item::Fence {
                    info: info.into(),
                    content,
                    raw: lines[i..raw_end].join("\n"),
                    content_line: number + 1,
                },
            ));
            i = raw_end;
        } else if bare.starts_with("<!--") {
            let close = (i..lines.len()).find(|&j| {
                let from = if j == i { 4 } else { 0 };
                lines[j].get(from..).is_some_and(|l| l.contains("-->"))
            });
            let Some(close) = close.filter(|&c| lines[c].trim_end().ends_with("-->")) else {
                items.push((number, Item::Text(line.into())));
                i += 1;
                continue;
            };
            let raw = lines[i..=close].join("\n");
            let inner = raw.trim().trim_start_matches("<!--").trim_end_matches("-->").trim();
            let livebook = match inner.strip_prefix("livebook:") {
                Some(json) => match serde_json::from_str::<Value>(json) {
                    Ok(Value::Object(map)) => Some(map),
                    Ok(_) => {
                        return Err(ParseError::Line {
                            line: number,
                            message: "a livebook metadata comment must hold a JSON object".into(),
                        });
                    }
                    Err(e) => {
                        return Err(ParseError::Line {
                            line: number,
                            message: format!("the livebook metadata comment is not valid JSON: {e}"),
                        });
                    }
                },
                None => None,
            };
            items.push((number, Item::Comment { raw, livebook }));
            i = close + 1;
        } else if let Some((level, text)) = heading(bare) {
            items.push((
                number,
                Item::Heading {
                    level,
                    text,
                    raw: line.into(),
                },
            ));
            i += 1;
        } else {
            items.push((number, Item::Text(line.into())));
            i += 1;
        }
    }
    Ok(items)
}

/// An opening fence at the start of a line: its marker (e.g. "```") and info string.
fn fence_open(line: &str) -> Option<(&str, &str)> {
    let ch = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.len() - line.trim_start_matches(ch).len();
    if len < 3 {
        return None;
    }
    let info = line[len..].trim();
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((&line[..len], info))
}

fn fence_closes(line: &str, marker: &str) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line).trim_end();
    let indent = line.len() - line.trim_start_matches(' ').len();
    let ch = marker.as_bytes()[0] as char;
    let rest = &line[indent..];
    indent <= 3 && rest.len() >= marker.len() && rest.chars().all(|c| c == ch)
}

fn heading(line: &str) -> Option<(usize, String)> {
    [1, 2]
        .into_iter()
        .find_map(|level| super::sections::parse_heading(line, level).map(|t| (level, t)))
}

/// A Markdown cell being collected.
struct Markdown {
    lines: Vec<String>,
    first_line: usize,
    metadata: Option<(Object, String)>,
}

#[derive(Default)]
struct Builder {
    title: Option<String>,
    metadata: Option<(Object, String)>,
    leading_comments: Vec<String>,
    stamp: Option<String>,
    sections: Vec<Section>,
    current: Section,
    markdown: Option<Markdown>,
    /// Livebook metadata waiting for the element it belongs to.
    pending: Option<(Object, String)>,
    /// An output marker waiting for its block.
    output_marker: Option<String>,
    /// The next fenced block belongs to Markdown.
    force_markdown: bool,
    /// The last element was a code cell (or its output): outputs may follow.
    after_code: bool,
    seen_content: bool,
    saw_section: bool,
}

impl Builder {
    fn text(&mut self, line: usize, raw: &str) {
        self.flush_output_marker(line);
        let markdown = self.markdown.get_or_insert_with(|| Markdown {
            lines: Vec::new(),
            first_line: line,
            metadata: self.pending.take(),
        });
        markdown.lines.extend(raw.split('\n').map(String::from));
        self.after_code = false;
    }

    fn flush_output_marker(&mut self, line: usize) {
        if let Some(raw) = self.output_marker.take() {
            self.after_code = false;
            self.text(line, &raw);
        }
    }

    fn flush_pending(&mut self, line: usize) {
        if let Some((_, raw)) = self.pending.take() {
            // Metadata with nothing to attach to stays as text, never lost.
            self.close_markdown();
            self.text(line, &raw);
            self.close_markdown();
        }
    }

    fn close_markdown(&mut self) {
        let Some(markdown) = self.markdown.take() else {
            return;
        };
        let mut lines = markdown.lines;
        let leading = lines.iter().take_while(|l| l.trim().is_empty()).count();
        lines.drain(..leading);
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        if lines.is_empty() && markdown.metadata.is_none() {
            return;
        }
        let mut cell = Cell::markdown(lines.join("\n"));
        cell.line = Some(markdown.first_line + leading);
        if let Some((metadata, raw)) = markdown.metadata {
            cell.metadata = metadata;
            cell.extras.livemd_metadata_text = Some(raw);
        }
        self.current.cells.push(cell);
    }

    fn start_section(&mut self, title: String) {
        self.close_markdown();
        let previous = std::mem::take(&mut self.current);
        if self.saw_section || !previous.cells.is_empty() {
            self.sections.push(previous);
        }
        self.saw_section = true;
        self.current.title = title;
        if let Some((metadata, raw)) = self.pending.take() {
            self.current.metadata = metadata;
            self.current.extras = SectionExtras {
                livemd_metadata_text: Some(raw),
                ..SectionExtras::default()
            };
        }
    }
}

/// Reads a `.livemd` text. Any Markdown is a notebook; only a `livebook:`
/// comment that is not a JSON object is an error (Livebook refuses it too).
pub fn parse(text: &str) -> Result<Notebook, ParseError> {
    let items = tokenize(text)?;
    let last_content = items.iter().rposition(|(_, item)| !matches!(item, Item::Blank(_)));
    let mut b = Builder::default();
    for (index, (line, item)) in items.into_iter().enumerate() {
        if let Item::Blank(raw) = &item {
            // Blank lines inside Markdown are its text; between a
            // `force_markdown` comment and its block they are layout.
            if let Some(markdown) = &mut b.markdown
                && !b.force_markdown
            {
                markdown.lines.push(raw.clone());
            }
            continue;
        }
        // `force_markdown` applies to the very next block only.
        let forced = std::mem::take(&mut b.force_markdown);
        match item {
            Item::Blank(_) => unreachable!("handled above"),
            Item::Comment { raw, livebook: None } => {
                if !b.seen_content {
                    b.leading_comments.push(raw);
                    continue;
                }
                b.text(line, &raw);
            }
            Item::Comment {
                raw,
                livebook: Some(data),
            } => {
                let flag = |key: &str| data.len() == 1 && data.get(key) == Some(&Value::Bool(true));
                if flag("output") && b.after_code {
                    b.output_marker = Some(raw);
                    b.seen_content = true;
                    continue;
                }
                b.flush_output_marker(line);
                if flag("force_markdown") {
                    b.force_markdown = true;
                } else if flag("break_markdown") {
                    b.close_markdown();
                } else if data.contains_key("stamp") && Some(index) == last_content {
                    b.stamp = Some(raw);
                } else {
                    b.close_markdown();
                    b.flush_pending(line);
                    b.pending = Some((data, raw));
                }
                b.after_code = false;
            }
            Item::Heading { level: 1, text, .. } if b.title.is_none() && !b.saw_section => {
                b.flush_output_marker(line);
                b.close_markdown();
                b.title = Some(text);
                b.metadata = b.pending.take();
                b.after_code = false;
            }
            Item::Heading { level: 2, text, .. } => {
                b.flush_output_marker(line);
                b.start_section(text);
                b.after_code = false;
            }
            Item::Heading { raw, .. } => b.text(line, &raw),
            Item::Fence {
                info,
                content,
                raw,
                content_line,
            } => {
                if b.output_marker.take().is_some() {
                    push_output(&mut b.current, &info, content);
                } else if b.after_code && info == "output" {
                    push_output(&mut b.current, "", content);
                } else if forced {
                    b.text(line, &raw);
                } else if CODE_LANGUAGES.contains(&info.as_str()) {
                    b.close_markdown();
                    let mut cell = Cell::code(content);
                    cell.language = Some(info);
                    cell.line = Some(content_line);
                    if let Some((metadata, raw)) = b.pending.take() {
                        cell.metadata = metadata;
                        cell.extras.livemd_metadata_text = Some(raw);
                    }
                    b.current.cells.push(cell);
                    b.after_code = true;
                } else {
                    b.text(line, &raw);
                }
            }
            Item::Text(raw) => b.text(line, &raw),
        }
        b.seen_content = true;
    }
    let end = text.lines().count() + 1;
    b.flush_output_marker(end);
    b.close_markdown();
    b.flush_pending(end);
    b.close_markdown();
    let current = std::mem::take(&mut b.current);
    if b.saw_section || !current.cells.is_empty() || b.sections.is_empty() {
        b.sections.push(current);
    }

    let (metadata, metadata_text) = match b.metadata {
        Some((metadata, raw)) => (metadata, Some(raw)),
        None => (Object::new(), None),
    };
    let language = language_of(&metadata, &b.sections);
    Ok(Notebook {
        title: b.title,
        sections: b.sections,
        language,
        metadata,
        format: Some(Format::Livemd),
        extras: NotebookExtras {
            livemd_leading_comments: b.leading_comments,
            livemd_metadata_text: metadata_text,
            livemd_stamp: b.stamp,
            ..NotebookExtras::default()
        },
    })
}

fn push_output(section: &mut Section, info: &str, content: String) {
    let Some(cell) = section.cells.last_mut() else {
        return;
    };
    let output = if info.is_empty() {
        Output::stream("stdout", content)
    } else if info == MARKDOWN_INFO {
        // A Markdown output Runyard wrote: Markdown again, with its text.
        let mut data = Object::new();
        data.insert("text/markdown".into(), content.clone().into());
        data.insert("text/plain".into(), content.into());
        Output::DisplayData {
            data,
            metadata: Object::new(),
            extra: Object::new(),
        }
    } else {
        let mut data = Object::new();
        data.insert("text/plain".into(), content.into());
        let mut metadata = Object::new();
        metadata.insert("livebook".into(), serde_json::json!({ "info_string": info }));
        Output::DisplayData {
            data,
            metadata,
            extra: Object::new(),
        }
    };
    cell.outputs.push(output);
}

/// `default_language` in the metadata, else the language most code cells
/// use, else Elixir (Livebook's default).
fn language_of(metadata: &Object, sections: &[Section]) -> Language {
    if let Some(name) = metadata.get("default_language").and_then(Value::as_str) {
        return Language::from_name(name);
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for cell in sections.iter().flat_map(|s| &s.cells) {
        if let Some(lang) = cell.language.as_deref().filter(|l| *l != "pyproject.toml") {
            match counts.iter_mut().find(|(l, _)| l == lang) {
                Some((_, n)) => *n += 1,
                None => counts.push((lang.to_string(), 1)),
            }
        }
    }
    let top = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    match counts.iter().find(|(_, n)| *n == top) {
        Some((lang, _)) if lang != "elixir" && counts.iter().filter(|(_, n)| *n == top).count() == 1 => {
            Language::from_name(lang)
        }
        _ => Language::Elixir,
    }
}

/// Writes the notebook as Livebook does.
pub fn to_string(notebook: &Notebook) -> String {
    let same = notebook.format == Some(Format::Livemd);
    let mut metadata = if same { notebook.metadata.clone() } else { Object::new() };
    // Runyard's own key (the runtime chosen) goes with the notebook to any format.
    if !same && let Some(runyard) = notebook.metadata.get(crate::kernels::pick::RUNYARD_KEY) {
        metadata.insert(crate::kernels::pick::RUNYARD_KEY.into(), runyard.clone());
    }
    let has_outputs = notebook
        .sections
        .iter()
        .flat_map(|s| &s.cells)
        .any(|c| !c.outputs.is_empty());
    if !same && has_outputs {
        metadata.insert("persist_outputs".into(), true.into());
    }
    if language_of(&metadata, &notebook.sections) != notebook.language {
        metadata.insert("default_language".into(), notebook.language.name().into());
    }
    let persist = metadata.get("persist_outputs") == Some(&Value::Bool(true));

    let mut parts: Vec<String> = Vec::new();
    if same {
        parts.extend(notebook.extras.livemd_leading_comments.iter().cloned());
    }
    let metadata_text = same.then_some(notebook.extras.livemd_metadata_text.as_ref()).flatten();
    parts.extend(comment(&metadata, metadata_text));
    if let Some(title) = &notebook.title {
        parts.push(format!("# {title}"));
    }
    for (index, section) in notebook.sections.iter().enumerate() {
        if index > 0 || !section.title.is_empty() {
            if same {
                parts.extend(comment(&section.metadata, section.extras.livemd_metadata_text.as_ref()));
            }
            let title = if section.title.is_empty() {
                "Section"
            } else {
                &section.title
            };
            parts.push(format!("## {title}"));
        }
        let mut previous_markdown = false;
        for cell in &section.cells {
            let own_comment = if same {
                comment(&cell.metadata, cell.extras.livemd_metadata_text.as_ref())
            } else {
                None
            };
            match cell.kind {
                CellKind::Markdown | CellKind::Raw => {
                    let source = markdown_source(&cell.source);
                    if source.is_empty() && own_comment.is_none() {
                        continue;
                    }
                    if previous_markdown {
                        parts.push(BREAK_MARKDOWN.into());
                    }
                    parts.extend(own_comment);
                    if !source.is_empty() {
                        parts.push(source);
                    }
                    previous_markdown = true;
                }
                CellKind::Code => {
                    parts.extend(own_comment);
                    let language = cell.language.as_deref().unwrap_or(notebook.language.name());
                    parts.push(fenced(language, &cell.source));
                    if persist {
                        for output in &cell.outputs {
                            if let Some((info, text)) = output_block(output) {
                                parts.push(OUTPUT_MARKER.into());
                                parts.push(fenced(info, &text));
                            }
                        }
                    }
                    previous_markdown = false;
                }
            }
        }
    }
    let mut text = parts.join("\n\n");
    text.push('\n');
    if same && let Some(stamp) = &notebook.extras.livemd_stamp {
        text.push('\n');
        text.push_str(stamp);
        text.push('\n');
    }
    text
}

/// The metadata comment: as written while it still says the same, else
/// freshly encoded; none for empty metadata (Livebook omits those).
fn comment(metadata: &Object, written: Option<&String>) -> Option<String> {
    if metadata.is_empty() {
        return None;
    }
    if let Some(raw) = written {
        let inner = raw.trim().trim_start_matches("<!--").trim_end_matches("-->").trim();
        let unchanged = inner
            .strip_prefix("livebook:")
            .and_then(|json| serde_json::from_str::<Value>(json).ok())
            .is_some_and(|v| v.as_object() == Some(metadata));
        if unchanged {
            return Some(raw.clone());
        }
    }
    Some(format!(
        "<!-- livebook:{} -->",
        json::to_compact(&Value::Object(metadata.clone()))
    ))
}

/// Markdown as written: blank lines around it dropped, and a
/// `force_markdown` comment before each fenced block Livebook would
/// otherwise take for a code cell.
fn markdown_source(source: &str) -> String {
    let lines: Vec<&str> = source.split('\n').collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    let (Some(first), Some(last)) = (first, last) else {
        return String::new();
    };
    let mut out: Vec<&str> = Vec::new();
    let mut open: Option<&str> = None;
    for line in &lines[first..=last] {
        match open {
            Some(marker) => {
                if fence_closes(line, marker) {
                    open = None;
                }
            }
            None => {
                if let Some((marker, info)) = fence_open(line.strip_suffix('\r').unwrap_or(line)) {
                    open = Some(marker);
                    if CODE_LANGUAGES.contains(&info) || info == "output" {
                        out.push(FORCE_MARKDOWN);
                        out.push("");
                    }
                }
            }
        }
        out.push(line);
    }
    out.join("\n")
}

/// A fenced block whose fence is longer than any run of backticks inside.
fn fenced(info: &str, content: &str) -> String {
    let longest = content
        .split(|c| c != '`')
        .map(str::len)
        .filter(|n| *n >= 3)
        .max()
        .unwrap_or(2);
    let fence = "`".repeat(longest + 1);
    format!("{fence}{info}\n{content}\n{fence}")
}

/// How Livebook shows an output in a file: text, without ANSI escapes and
/// one trailing newline. Outputs without a text form are left out.
fn output_block(output: &Output) -> Option<(&str, String)> {
    let (info, text) = match output {
        Output::Stream { text, .. } => ("", text.clone()),
        Output::Error { .. } => ("", output.display_text()),
        Output::ExecuteResult { data, .. } | Output::DisplayData { data, .. }
            if data.get("text/markdown").is_some_and(Value::is_string) && !has_image(data) =>
        {
            (MARKDOWN_INFO, data.get("text/markdown")?.as_str()?.to_string())
        }
        Output::ExecuteResult { data, metadata, .. } | Output::DisplayData { data, metadata, .. } => {
            let text = data.get("text/plain")?.as_str()?.to_string();
            let info = metadata
                .get("livebook")
                .and_then(|l| l.get("info_string"))
                .and_then(Value::as_str)
                .unwrap_or("");
            (info, text)
        }
    };
    let text = crate::text::strip_ansi(&text);
    Some((info, text.strip_suffix('\n').unwrap_or(&text).to_string()))
}

/// Livebook keeps only text outputs in its files; Runyard also keeps
/// Markdown ones, as a block with this info string, which Livebook shows as text.
const MARKDOWN_INFO: &str = "markdown";

/// An image would be the richer entry: its Markdown is not what was shown.
fn has_image(data: &Object) -> bool {
    data.keys().any(|mime| mime.starts_with("image/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVEBOOK: &str = r#"# My Notebook

## Section 1

Make sure to install:

* Erlang
* Elixir

<!-- livebook:{"continue_on_error":true,"output_size":"wide","reevaluate_automatically":true} -->

```elixir
Enum.to_list(1..10)
```

This is it for this section.

<!-- livebook:{"break_markdown":true} -->

Another cell, with code that is Markdown:

<!-- livebook:{"force_markdown":true} -->

```elixir
not_a_cell()
```

<!-- livebook:{"branch_parent_index":0} -->

## Section 2

```elixir
IO.puts("hey")
```

<!-- livebook:{"output":true} -->

```
hey
```

<!-- livebook:{"output":true} -->

````mermaid
graph TD;
```
````

```erlang
lists:seq(1, 10).
```
"#;

    #[test]
    fn reads_livebooks_structure_and_writes_it_back_unchanged() {
        let nb = parse(LIVEBOOK).unwrap();
        assert_eq!(nb.title.as_deref(), Some("My Notebook"));
        assert_eq!(nb.language, Language::Elixir);
        assert_eq!(nb.sections.len(), 2);
        let s1 = &nb.sections[0];
        assert_eq!(s1.cells.len(), 4, "{:#?}", s1.cells);
        assert_eq!(s1.cells[1].metadata["output_size"], "wide");
        assert_eq!(s1.cells[1].line, Some(13));
        assert_eq!(
            s1.cells[3].source,
            "Another cell, with code that is Markdown:\n\n```elixir\nnot_a_cell()\n```"
        );
        let s2 = &nb.sections[1];
        assert_eq!(s2.metadata["branch_parent_index"], 0);
        assert_eq!(s2.cells[0].outputs.len(), 2);
        assert_eq!(s2.cells[0].outputs[0], Output::stream("stdout", "hey"));
        assert_eq!(s2.cells[0].outputs[1].display_text(), "graph TD;\n```");
        assert_eq!(s2.cells[1].language.as_deref(), Some("erlang"));
        // Outputs are not persisted unless the notebook says so.
        let text = to_string(&nb);
        assert!(!text.contains("hey\n```"), "{text}");
        let mut nb = nb;
        nb.metadata.insert("persist_outputs".into(), true.into());
        let with_outputs = to_string(&nb);
        let expected = format!("<!-- livebook:{{\"persist_outputs\":true}} -->\n\n{LIVEBOOK}");
        assert_eq!(with_outputs, expected);
        assert_eq!(to_string(&parse(&expected).unwrap()), expected);
    }

    #[test]
    fn markdown_outputs_come_back_as_markdown_and_images_keep_their_text() {
        use crate::protocol::Bundle;
        let mut markdown = Bundle::plain("<Markdown>");
        markdown.data.insert("text/markdown".into(), "**bold**".into());
        let mut image = Bundle::plain("<Figure size 640x480 with 1 Axes>");
        image.data.insert("image/png".into(), "iVBORw0KGgo=".into());
        image.data.insert("text/markdown".into(), "not what was shown".into());
        let mut nb = Notebook::new(Language::Elixir);
        let mut cell = Cell::code("1");
        cell.outputs = vec![Output::display(&markdown), Output::display(&image)];
        nb.sections[0].cells.push(cell);
        let text = to_string(&nb);
        assert!(text.contains("```markdown\n**bold**\n```"), "{text}");
        assert!(text.contains("```\n<Figure size 640x480 with 1 Axes>\n```"), "{text}");
        assert!(!text.contains("iVBOR"), "no image data in a livemd: {text}");
        let back = parse(&text).unwrap();
        let outputs = &back.sections[0].cells[0].outputs;
        assert_eq!(
            outputs[0].bundle().unwrap().data.get("text/markdown"),
            Some(&Value::from("**bold**"))
        );
        assert_eq!(outputs[1].display_text(), "<Figure size 640x480 with 1 Axes>");
    }

    #[test]
    fn legacy_outputs_comments_and_stamps() {
        let text = "<!-- vim: set ft=markdown: -->\n\n<!-- livebook:{\"persist_outputs\":true} -->\n\n# T\n\n```elixir\nMix.install([])\n```\n\n## S\n\n```elixir\n1\n```\n\n```output\n1\n```\n\n<!-- livebook:{\"offset\":95,\"stamp\":{\"token\":\"x\",\"version\":2}} -->\n";
        let nb = parse(text).unwrap();
        assert_eq!(nb.extras.livemd_leading_comments, ["<!-- vim: set ft=markdown: -->"]);
        assert!(nb.extras.livemd_stamp.is_some());
        assert_eq!(nb.sections[0].title, "");
        assert_eq!(nb.sections[0].cells[0].source, "Mix.install([])");
        assert_eq!(nb.sections[1].cells[0].outputs, [Output::stream("stdout", "1")]);
        let written = to_string(&nb);
        assert_eq!(
            written,
            text.replace("```output\n1", "<!-- livebook:{\"output\":true} -->\n\n```\n1")
        );
    }

    #[test]
    fn force_markdown_applies_to_the_next_block_only() {
        let text = "# T\n\n<!-- livebook:{\"force_markdown\":true} -->\n\nJust text.\n\n```elixir\n1\n```\n";
        let nb = parse(text).unwrap();
        let cells = &nb.sections[0].cells;
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[1].kind, CellKind::Code);
    }

    #[test]
    fn bad_metadata_json_is_an_error_with_its_line() {
        let err = parse("# T\n\n<!-- livebook:{\"a\": -->\n").unwrap_err();
        assert_eq!(err.location().as_deref(), Some("line 3"));
    }
}
