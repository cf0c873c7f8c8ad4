//! Jupyter notebooks (`.ipynb`): reads nbformat 4.0 to 4.5, writes 4.5 the
//! way Jupyter does (same key order, indent, line splitting), so a notebook
//! saved unchanged keeps its bytes.
//!
//! Written here rather than with the `nbformat` crate (runtimed, 3.0): that
//! crate drops unknown keys of cells and outputs, silently skips outputs it
//! cannot parse (printing to stderr), re-encodes MIME data through its own
//! media types, keeps extra metadata in a `HashMap` (random key order on
//! write), gives cells without ids random UUIDs, and its errors carry no JSON
//! path. Here every key is kept and errors say where.

use serde_json::{Map, Value};

use super::error::ParseError;
use super::json;
use super::model::{Cell, CellExtras, CellKind, Format, Language, Notebook, NotebookExtras, Object, Output};
use super::sections;

const CELL_KEYS: [&str; 6] = ["cell_type", "source", "metadata", "id", "execution_count", "outputs"];

/// Reads a notebook from its JSON text.
pub fn parse(text: &str) -> Result<Notebook, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ParseError::Json {
        line: e.line(),
        column: e.column(),
        message: json_message(&e),
    })?;
    let Value::Object(mut top) = value else {
        return Err(ParseError::invalid("(top level)", "expected a JSON object"));
    };
    // The version first: older formats have other keys (no `nbformat_minor`
    // in nbformat 2, `worksheets` instead of `cells` before 4).
    let major = top
        .get("nbformat")
        .ok_or_else(|| ParseError::invalid("nbformat", "missing (a required field)"))?;
    let Some(major) = major.as_u64() else {
        return Err(ParseError::invalid("nbformat", "expected an integer"));
    };
    let minor = top.get("nbformat_minor").and_then(Value::as_u64);
    if major != 4 {
        return Err(ParseError::UnsupportedVersion {
            major,
            found: match minor {
                Some(minor) => format!("{major}.{minor}"),
                None => major.to_string(),
            },
        });
    }
    let Some(minor) = minor else {
        return Err(match top.get("nbformat_minor") {
            None => ParseError::invalid("nbformat_minor", "missing (a required field)"),
            Some(_) => ParseError::invalid("nbformat_minor", "expected an integer"),
        });
    };
    super::schema::check(&top, minor)?;
    top.remove("nbformat");
    top.remove("nbformat_minor");
    let metadata = object(take(&mut top, "metadata", "metadata")?, "metadata")?;
    let Value::Array(cells) = take(&mut top, "cells", "cells")? else {
        return Err(ParseError::invalid("cells", "expected a list of cells"));
    };
    let cells = cells
        .into_iter()
        .enumerate()
        .map(|(i, cell)| read_cell(cell, &format!("cells[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cells = cells;
    if minor >= 5 {
        repair_ids(&mut cells);
    }

    let language = language_of(&metadata).unwrap_or_default();
    let split = sections::split(cells);
    Ok(Notebook {
        title: split.title,
        sections: split.sections,
        language,
        metadata,
        format: Some(Format::Ipynb),
        extras: NotebookExtras {
            title_heading: split.title_heading,
            ipynb_keys: top,
            ipynb_minor: Some(minor),
            ..NotebookExtras::default()
        },
    })
}

/// A cell as the first ones of a big file are shown while the rest is read.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewCell {
    pub kind: CellKind,
    pub source: String,
}

/// The first `max` cells of an nbformat 4 file, read without parsing the
/// rest of it: the file's other keys are skipped, and the parse stops at the
/// `max`-th cell. A cell that does not read stops the preview there (the
/// whole parse reports it).
pub fn first_cells(text: &str, max: usize) -> Vec<PreviewCell> {
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    // The parse is cut short on purpose: its error says nothing.
    let _ = serde::Deserializer::deserialize_map(&mut de, preview::Top { max, found: &mut found });
    found
}

mod preview {
    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    use super::{PreviewCell, read_cell};

    pub(super) struct Top<'a> {
        pub max: usize,
        pub found: &'a mut Vec<PreviewCell>,
    }

    fn enough<E: de::Error>() -> E {
        E::custom("the preview has its cells")
    }

    impl<'de> Visitor<'de> for Top<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a notebook object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if key == "cells" {
                    map.next_value_seed(Cells {
                        max: self.max,
                        found: self.found,
                    })?;
                    return Err(enough());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    struct Cells<'a> {
        max: usize,
        found: &'a mut Vec<PreviewCell>,
    }

    impl<'de> DeserializeSeed<'de> for Cells<'_> {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Cells<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of cells")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while self.found.len() < self.max {
                let Some(value) = seq.next_element::<Value>()? else {
                    return Ok(());
                };
                let Ok(cell) = read_cell(value, "") else {
                    return Err(enough());
                };
                self.found.push(PreviewCell {
                    kind: cell.kind,
                    source: cell.source,
                });
            }
            Err(enough())
        }
    }
}

/// serde_json's message without its own " at line N column M" suffix.
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(pos) => text[..pos].to_string(),
        None => text,
    }
}

/// `metadata.kernelspec.language`, else `metadata.language_info.name`.
pub fn language_of(metadata: &Object) -> Option<Language> {
    let from = |outer: &str, inner: &str| {
        metadata
            .get(outer)
            .and_then(|v| v.get(inner))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(Language::from_name)
    };
    from("kernelspec", "language").or_else(|| from("language_info", "name"))
}

fn take(map: &mut Object, key: &str, at: &str) -> Result<Value, ParseError> {
    map.remove(key)
        .ok_or_else(|| ParseError::invalid(at, "missing (a required field)"))
}

fn object(value: Value, at: &str) -> Result<Object, ParseError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ParseError::invalid(at, "expected a JSON object")),
    }
}

fn string(value: Value, at: &str) -> Result<String, ParseError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(ParseError::invalid(at, "expected a string")),
    }
}

/// nbformat's multi-line strings: a string, or a list of strings to join.
fn multiline(value: Value, at: &str) -> Result<String, ParseError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Array(parts) => {
            let mut text = String::new();
            for (i, part) in parts.into_iter().enumerate() {
                match part {
                    Value::String(s) => text.push_str(&s),
                    _ => return Err(ParseError::invalid(format!("{at}[{i}]"), "expected a string")),
                }
            }
            Ok(text)
        }
        _ => Err(ParseError::invalid(at, "expected a string or a list of strings")),
    }
}

fn count(value: Option<Value>, at: &str) -> Result<Option<u32>, ParseError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(ParseError::invalid(at, "expected a non-negative integer or null")),
        },
        Some(_) => Err(ParseError::invalid(at, "expected a non-negative integer or null")),
    }
}

/// Gives a fresh id to each cell of a 4.5 notebook that has none or the
/// id of a cell above, as Jupyter's `nbformat.reads` does (with a warning;
/// nbformat says this will become an error, and `validate` counts it so
/// when asked to): such files are common and Jupyter opens them.
fn repair_ids(cells: &mut [Cell]) {
    use std::hash::{Hash, Hasher};
    let mut seen: std::collections::HashSet<String> = cells.iter().filter_map(|c| c.id.clone()).collect();
    let mut used = std::collections::HashSet::new();
    for (i, cell) in cells.iter_mut().enumerate() {
        if let Some(id) = &cell.id
            && used.insert(id.clone())
        {
            continue;
        }
        // Derived from the cell, so the same file gets the same ids each time.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (i, &cell.source).hash(&mut hasher);
        let mut n = hasher.finish();
        let id = loop {
            let id = format!("{:08x}", n as u32);
            if seen.insert(id.clone()) {
                break id;
            }
            n = n.rotate_left(13).wrapping_add(1);
        };
        match &cell.id {
            Some(old) => tracing::warn!("cells[{i}]: the id {old:?} is also an earlier cell's; renamed {id:?}"),
            None => tracing::warn!("cells[{i}]: no id (nbformat 4.5 requires one); gave it {id:?}"),
        }
        used.insert(id.clone());
        cell.id = Some(id);
    }
}

fn read_cell(value: Value, at: &str) -> Result<Cell, ParseError> {
    let mut map = object(value, at)?;
    let kind = match string(
        take(&mut map, "cell_type", &format!("{at}.cell_type"))?,
        &format!("{at}.cell_type"),
    )?
    .as_str()
    {
        "code" => CellKind::Code,
        "markdown" => CellKind::Markdown,
        "raw" => CellKind::Raw,
        other => {
            return Err(ParseError::invalid(
                format!("{at}.cell_type"),
                format!("unknown cell type {other:?} (expected code, markdown or raw)"),
            ));
        }
    };
    let source = multiline(
        take(&mut map, "source", &format!("{at}.source"))?,
        &format!("{at}.source"),
    )?;
    let metadata = match map.remove("metadata") {
        Some(v) => object(v, &format!("{at}.metadata"))?,
        None => Object::new(),
    };
    let id = match map.remove("id") {
        Some(v) => Some(string(v, &format!("{at}.id"))?),
        None => None,
    };
    let mut cell = Cell::new(kind, source);
    cell.metadata = metadata;
    cell.id = id;
    if kind == CellKind::Code {
        cell.execution_count = count(map.remove("execution_count"), &format!("{at}.execution_count"))?;
        if let Some(outputs) = map.remove("outputs") {
            let Value::Array(outputs) = outputs else {
                return Err(ParseError::invalid(format!("{at}.outputs"), "expected a list"));
            };
            cell.outputs = outputs
                .into_iter()
                .enumerate()
                .map(|(i, o)| read_output(o, &format!("{at}.outputs[{i}]")))
                .collect::<Result<_, _>>()?;
        }
    }
    if let Some(Value::Object(attachments)) = map.get_mut("attachments") {
        for bundle in attachments.values_mut() {
            if let Value::Object(bundle) = bundle {
                rejoin_bundle(bundle);
            }
        }
    }
    cell.extras = CellExtras {
        ipynb_keys: map,
        ..CellExtras::default()
    };
    Ok(cell)
}

fn read_output(value: Value, at: &str) -> Result<Output, ParseError> {
    let mut map = object(value, at)?;
    let kind_at = format!("{at}.output_type");
    let kind = string(take(&mut map, "output_type", &kind_at)?, &kind_at)?;
    let field = |map: &mut Object, key: &str| take(map, key, &format!("{at}.{key}"));
    let optional_object = |map: &mut Object, key: &str| match map.remove(key) {
        Some(v) => object(v, &format!("{at}.{key}")),
        None => Ok(Object::new()),
    };
    let output = match kind.as_str() {
        "stream" => Output::Stream {
            name: string(field(&mut map, "name")?, &format!("{at}.name"))?,
            text: multiline(field(&mut map, "text")?, &format!("{at}.text"))?,
            extra: Object::new(),
        },
        "display_data" => Output::DisplayData {
            data: bundle(field(&mut map, "data")?, &format!("{at}.data"))?,
            metadata: optional_object(&mut map, "metadata")?,
            extra: Object::new(),
        },
        "execute_result" => Output::ExecuteResult {
            data: bundle(field(&mut map, "data")?, &format!("{at}.data"))?,
            metadata: optional_object(&mut map, "metadata")?,
            execution_count: count(map.remove("execution_count"), &format!("{at}.execution_count"))?,
            extra: Object::new(),
        },
        "error" => {
            let traceback_at = format!("{at}.traceback");
            let Value::Array(lines) = field(&mut map, "traceback")? else {
                return Err(ParseError::invalid(traceback_at, "expected a list of strings"));
            };
            Output::Error {
                ename: string(field(&mut map, "ename")?, &format!("{at}.ename"))?,
                evalue: string(field(&mut map, "evalue")?, &format!("{at}.evalue"))?,
                traceback: lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| string(l, &format!("{traceback_at}[{i}]")))
                    .collect::<Result<_, _>>()?,
                extra: Object::new(),
            }
        }
        other => {
            return Err(ParseError::invalid(
                kind_at,
                format!("unknown output type {other:?} (expected stream, display_data, execute_result or error)"),
            ));
        }
    };
    Ok(match output {
        Output::Stream { name, text, .. } => Output::Stream { name, text, extra: map },
        Output::DisplayData { data, metadata, .. } => Output::DisplayData {
            data,
            metadata,
            extra: map,
        },
        Output::ExecuteResult {
            data,
            metadata,
            execution_count,
            ..
        } => Output::ExecuteResult {
            data,
            metadata,
            execution_count,
            extra: map,
        },
        Output::Error {
            ename,
            evalue,
            traceback,
            ..
        } => Output::Error {
            ename,
            evalue,
            traceback,
            extra: map,
        },
    })
}

fn bundle(value: Value, at: &str) -> Result<Object, ParseError> {
    let mut map = object(value, at)?;
    rejoin_bundle(&mut map);
    Ok(map)
}

/// JSON MIME types keep their structure; every other type's list of strings
/// is one string (as Jupyter's `rejoin_lines`).
fn is_json_mime(mime: &str) -> bool {
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn rejoin_bundle(bundle: &mut Object) {
    for (mime, value) in bundle.iter_mut() {
        if is_json_mime(mime) {
            continue;
        }
        if let Value::Array(parts) = value
            && parts.iter().all(Value::is_string)
        {
            let joined: String = parts.iter().filter_map(Value::as_str).collect();
            *value = Value::String(joined);
        }
    }
}

/// Jupyter's `_split_mimebundle`: text types and two others are written as
/// lists of lines.
fn split_bundle(bundle: &Object) -> Value {
    let mut out = Map::new();
    for (mime, value) in bundle {
        let split = mime.starts_with("text/") || mime == "application/javascript" || mime == "image/svg+xml";
        let value = match value {
            Value::String(s) if split => lines(s),
            other => other.clone(),
        };
        out.insert(mime.clone(), value);
    }
    Value::Object(out)
}

/// Python's `str.splitlines(True)`: every line break Python knows ends a line.
fn lines(text: &str) -> Value {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '\r' => match chars.peek() {
                Some((_, '\n')) => {
                    chars.next();
                    i + 2
                }
                _ => i + 1,
            },
            '\n' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                i + c.len_utf8()
            }
            _ => continue,
        };
        out.push(Value::String(text[start..end].to_string()));
        start = end;
    }
    if start < text.len() {
        out.push(Value::String(text[start..].to_string()));
    }
    Value::Array(out)
}

/// Writes the notebook as nbformat 4.5 (or the newer 4.x it was read in),
/// as Jupyter lays it out (with the trailing newline Jupyter adds).
pub fn to_string(notebook: &Notebook) -> String {
    // A notebook from a newer minor keeps it: the keys kept from it may be
    // ones 4.5 does not allow.
    let minor = match notebook.format {
        Some(Format::Ipynb) => notebook.extras.ipynb_minor.unwrap_or(5).max(5),
        _ => 5,
    };
    write(notebook, minor)
}

/// Writes the notebook in the nbformat 4 minor version it was read in (4.5
/// for one read from another format), as `jupyter nbconvert --to notebook`
/// does: before 4.5 cells have no ids, and none are added. A notebook read
/// from an `.ipynb` and not changed gets its bytes back.
pub fn to_string_as_read(notebook: &Notebook) -> String {
    let minor = match notebook.format {
        Some(Format::Ipynb) => notebook.extras.ipynb_minor.unwrap_or(5),
        _ => 5,
    };
    write(notebook, minor)
}

fn write(notebook: &Notebook, minor: u64) -> String {
    let same = notebook.format == Some(Format::Ipynb);
    let mut cells = sections::flatten(notebook, same, same || notebook.format == Some(Format::Percent));
    if minor >= 5 {
        assign_ids(&mut cells);
    }
    let cells: Vec<Value> = cells.iter().map(write_cell).collect();

    let mut metadata = if same { notebook.metadata.clone() } else { Object::new() };
    if !same {
        // The runtime chosen for the notebook (see kernels::pick::remember) goes with it.
        for key in ["kernelspec", "language_info", crate::kernels::pick::RUNYARD_KEY] {
            if let Some(value) = notebook.metadata.get(key) {
                metadata.insert(key.into(), value.clone());
            }
        }
    }
    // A notebook read without a language was read as Python: leave it so.
    if !same || language_of(&metadata).unwrap_or_default() != notebook.language {
        set_language(&mut metadata, &notebook.language);
    }
    let mut top = if same {
        notebook.extras.ipynb_keys.clone()
    } else {
        Object::new()
    };
    top.insert("cells".into(), Value::Array(cells));
    top.insert("metadata".into(), Value::Object(metadata));
    top.insert("nbformat".into(), 4.into());
    top.insert("nbformat_minor".into(), minor.into());
    let mut text = json::to_jupyter(&Value::Object(top));
    text.push('\n');
    text
}

/// Makes the metadata name the notebook's language. A kernelspec for
/// another language is dropped (Jupyter then asks which kernel to use) rather
/// than left pointing at the wrong one.
fn set_language(metadata: &mut Object, language: &Language) {
    // A whole kernelspec for this language (one a jupytext header named) stays.
    let kernelspec = metadata.get("kernelspec");
    let whole = kernelspec
        .and_then(|k| k.get("name").zip(k.get("display_name")))
        .is_some_and(|(n, d)| n.is_string() && d.is_string());
    let same_language = kernelspec
        .and_then(|k| k.get("language"))
        .and_then(Value::as_str)
        .is_some_and(|l| Language::from_name(l) == *language);
    match language {
        _ if whole && same_language => {}
        Language::Python => {
            metadata.insert(
                "kernelspec".into(),
                serde_json::json!({"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}),
            );
        }
        _ => {
            metadata.remove("kernelspec");
        }
    }
    match metadata.get_mut("language_info") {
        Some(Value::Object(info)) => {
            info.insert("name".into(), language.name().into());
        }
        _ => {
            metadata.insert("language_info".into(), serde_json::json!({"name": language.name()}));
        }
    }
}

/// nbformat 4.5 cell ids: 1 to 64 of `[a-zA-Z0-9-_]`, unique. Kept when valid
/// and unique; otherwise derived from the cell's content (so saving the same
/// notebook twice gives the same ids).
pub fn assign_ids(cells: &mut [Cell]) {
    let mut seen = std::collections::HashSet::new();
    for cell in cells.iter_mut() {
        if let Some(id) = &cell.id
            && valid_id(id)
            && seen.insert(id.clone())
        {
            continue;
        }
        let mut salt = 0u64;
        let id = loop {
            let candidate = format!("{:08x}", content_hash(cell, salt) as u32);
            if seen.insert(candidate.clone()) {
                break candidate;
            }
            salt += 1;
        };
        cell.id = Some(id);
    }
}

pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// FNV-1a: stable across runs and platforms, unlike std's hasher.
fn content_hash(cell: &Cell, salt: u64) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    let kind = [cell.kind as u8];
    for chunk in [&kind[..], &salt.to_le_bytes(), cell.source.as_bytes()] {
        for byte in chunk {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    hash ^ (hash >> 32)
}

fn write_cell(cell: &Cell) -> Value {
    let mut map = cell.extras.ipynb_keys.clone();
    for key in CELL_KEYS {
        map.remove(key);
    }
    if let Some(Value::Object(attachments)) = map.get_mut("attachments") {
        for bundle in attachments.values_mut() {
            if let Value::Object(b) = bundle {
                *bundle = split_bundle(b);
            }
        }
    }
    let kind = match cell.kind {
        CellKind::Code => "code",
        CellKind::Markdown => "markdown",
        CellKind::Raw => "raw",
    };
    map.insert("cell_type".into(), kind.into());
    // Before 4.5 there are no ids, unless the file had them (Colab writes 4.0 with ids).
    if let Some(id) = &cell.id {
        map.insert("id".into(), id.clone().into());
    }
    map.insert("metadata".into(), Value::Object(cell.metadata.clone()));
    map.insert("source".into(), lines(&cell.source));
    if cell.kind == CellKind::Code {
        map.insert("execution_count".into(), cell.execution_count.into());
        map.insert("outputs".into(), cell.outputs.iter().map(write_output).collect());
    }
    Value::Object(map)
}

fn write_output(output: &Output) -> Value {
    let (mut map, fields): (Object, Vec<(&str, Value)>) = match output {
        Output::Stream { name, text, extra } => (
            extra.clone(),
            vec![
                ("output_type", "stream".into()),
                ("name", name.clone().into()),
                ("text", lines(text)),
            ],
        ),
        Output::DisplayData { data, metadata, extra } => (
            extra.clone(),
            vec![
                ("output_type", "display_data".into()),
                ("data", split_bundle(data)),
                ("metadata", Value::Object(metadata.clone())),
            ],
        ),
        Output::ExecuteResult {
            data,
            execution_count,
            metadata,
            extra,
        } => (
            extra.clone(),
            vec![
                ("output_type", "execute_result".into()),
                ("data", split_bundle(data)),
                ("execution_count", (*execution_count).into()),
                ("metadata", Value::Object(metadata.clone())),
            ],
        ),
        Output::Error {
            ename,
            evalue,
            traceback,
            extra,
        } => (
            extra.clone(),
            vec![
                ("output_type", "error".into()),
                ("ename", ename.clone().into()),
                ("evalue", evalue.clone().into()),
                ("traceback", traceback.clone().into()),
            ],
        ),
    };
    for (key, value) in fields {
        map.insert(key.into(), value);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metadata first, as some writers put it; then five cells.
    const FIVE_CELLS: &str = r##"{"metadata": {"kernelspec": {"name": "python3", "language": "python"}},
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "text"]},
  {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [], "source": "x = 1"},
  {"cell_type": "raw", "metadata": {}, "source": "raw text"},
  {"cell_type": "code", "metadata": {}, "execution_count": 2, "outputs": [], "source": ["print(x)"]},
  {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": ""}
 ],
 "nbformat": 4, "nbformat_minor": 5}"##;

    #[test]
    fn first_cells_stops_after_the_asked_number() {
        let cells = first_cells(FIVE_CELLS, 3);
        let got: Vec<_> = cells.iter().map(|c| (c.kind, c.source.as_str())).collect();
        assert_eq!(
            got,
            [
                (CellKind::Markdown, "# Title\ntext"),
                (CellKind::Code, "x = 1"),
                (CellKind::Raw, "raw text")
            ]
        );
        assert_eq!(first_cells(FIVE_CELLS, 100).len(), 5);
        assert_eq!(first_cells(FIVE_CELLS, 0).len(), 0);
    }

    #[test]
    fn first_cells_needs_only_the_start_of_the_file() {
        // Cut inside the fourth cell: what is after the cut is never parsed.
        let cut = FIVE_CELLS.find("print(x)").unwrap();
        assert_eq!(first_cells(&FIVE_CELLS[..cut], 3).len(), 3);
        // Asked for more than is there before the cut: the whole ones come.
        assert_eq!(first_cells(&FIVE_CELLS[..cut], 10).len(), 3);
    }

    #[test]
    fn first_cells_of_what_is_not_a_notebook_is_nothing() {
        for text in [
            "",
            "[1, 2]",
            "{\"cells\": 3}",
            "{\"cells\": [{\"cell_type\": \"video\", \"source\": \"\"}]}",
            "not json",
        ] {
            assert!(first_cells(text, 10).is_empty(), "{text}");
        }
        // A bad cell ends the preview before it.
        let bad = FIVE_CELLS.replace("\"raw\"", "\"video\"");
        assert_eq!(first_cells(&bad, 10).len(), 2);
    }

    #[test]
    fn splits_lines_as_python_does() {
        let split = |s: &str| -> Vec<String> {
            match lines(s) {
                Value::Array(v) => v.into_iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                _ => unreachable!(),
            }
        };
        assert!(split("").is_empty());
        assert_eq!(split("a"), ["a"]);
        assert_eq!(split("a\nb\n"), ["a\n", "b\n"]);
        assert_eq!(
            split("a\r\nb\rc\u{2028}d\u{c}"),
            ["a\r\n", "b\r", "c\u{2028}", "d\u{c}"]
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let text = r#"{"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "x"},
            {"cell_type": "code", "metadata": {}, "source": ["a", 3], "outputs": [], "execution_count": null}]}"#;
        let err = parse(text).unwrap_err();
        assert_eq!(err.location().as_deref(), Some("cells[1].source[1]"), "{err}");
        let err = parse(r#"{"nbformat": 4, "nbformat_minor": 2, "metadata": {}}"#).unwrap_err();
        assert_eq!(err.to_string(), "cells: missing (a required field)");
        let err = parse(r#"{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}"#).unwrap_err();
        assert!(matches!(err, ParseError::UnsupportedVersion { .. }), "{err}");
        let err = parse("{\"nbformat\": 4,\n \"cells\": [").unwrap_err();
        assert!(matches!(err, ParseError::Json { line: 2, .. }), "{err}");
    }

    #[test]
    fn ids_are_kept_valid_unique_and_stable() {
        let mut cells = vec![Cell::code("a"), Cell::code("a"), Cell::code("b"), Cell::code("c")];
        cells[2].id = Some("keep-me_1".into());
        cells[3].id = Some("bad id!".into());
        let mut again = cells.clone();
        assign_ids(&mut cells);
        assign_ids(&mut again);
        assert_eq!(cells, again);
        assert_eq!(cells[2].id.as_deref(), Some("keep-me_1"));
        assert_ne!(cells[0].id, cells[1].id);
        assert!(cells.iter().all(|c| valid_id(c.id.as_deref().unwrap())));
    }
}
