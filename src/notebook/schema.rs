//! Jupyter's nbformat 4 schema (`nbformat.v4.N.schema.json`), checked by
//! hand before an `.ipynb` is read, so that a file Jupyter's
//! `nbformat.validate` refuses is refused here too, with the JSON path of the
//! first problem.
//!
//! A hand check rather than a JSON-schema crate: the schema is small and
//! fixed (six files that differ in a few places), a general validator would
//! need the schema files embedded and its errors translated into paths and
//! sentences, and a thing `nbformat.validate` does is not in the schema
//! at all (future minor versions relaxed).
//!
//! Differences between the 4.x schemas that matter here: cell `id` exists
//! from 4.5 (required there, refused before; one missing is given one by
//! the reader, as `nbformat.reads` does), `jupyter` cell metadata is
//! typed from 4.3, `execution` from 4.4. A minor version newer than 4.5 is
//! checked as `nbformat` does: against 4.5 with extra keys allowed.

use serde_json::Value;

use super::error::ParseError;
use super::model::Object;

/// The newest minor version whose schema Runyard knows.
const NEWEST_MINOR: u64 = 5;

/// Checks the top-level object of an nbformat 4 notebook of `minor` version.
pub(crate) fn check(top: &Object, minor: u64) -> Result<(), ParseError> {
    let v = Checker { minor };
    for key in ["metadata", "nbformat_minor", "nbformat", "cells"] {
        v.required(top, key, "")?;
    }
    v.only(top, &["metadata", "nbformat_minor", "nbformat", "cells"], "")?;
    v.notebook_metadata(object(&top["metadata"], "metadata")?)?;
    let Value::Array(cells) = &top["cells"] else {
        return Err(invalid("cells", "expected a list of cells"));
    };
    // Missing and repeated cell ids are repaired by the reader, as
    // `nbformat.reads` does, not refused.
    for (i, cell) in cells.iter().enumerate() {
        v.cell(cell, &format!("cells[{i}]"))?;
    }
    Ok(())
}

fn invalid(at: impl Into<String>, message: impl Into<String>) -> ParseError {
    ParseError::invalid(at, message)
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Object, ParseError> {
    value.as_object().ok_or_else(|| invalid(at, "expected a JSON object"))
}

fn string<'a>(value: &'a Value, at: &str) -> Result<&'a str, ParseError> {
    value.as_str().ok_or_else(|| invalid(at, "expected a string"))
}

fn optional(
    map: &Object,
    key: &str,
    at: &str,
    check: impl Fn(&Value, &str) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    match map.get(key) {
        Some(value) => check(value, &join(at, key)),
        None => Ok(()),
    }
}

fn is_string(value: &Value, at: &str) -> Result<(), ParseError> {
    string(value, at).map(|_| ())
}

fn is_object(value: &Value, at: &str) -> Result<(), ParseError> {
    object(value, at).map(|_| ())
}

fn is_bool(value: &Value, at: &str) -> Result<(), ParseError> {
    match value {
        Value::Bool(_) => Ok(()),
        _ => Err(invalid(at, "expected true or false")),
    }
}

/// nbformat's multi-line string: a string or a list of strings.
fn multiline(value: &Value, at: &str) -> Result<(), ParseError> {
    match value {
        Value::String(_) => Ok(()),
        Value::Array(parts) => {
            for (i, part) in parts.iter().enumerate() {
                is_string(part, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ => Err(invalid(at, "expected a string or a list of strings")),
    }
}

/// An execution count: a non-negative integer or null.
fn count(value: &Value, at: &str) -> Result<(), ParseError> {
    match value {
        Value::Null => Ok(()),
        Value::Number(n) if n.is_u64() => Ok(()),
        _ => Err(invalid(at, "expected a non-negative integer or null")),
    }
}

/// A MIME bundle: JSON types (`application/json`, `application/…+json`)
/// hold any JSON, the others text.
fn mimebundle(value: &Value, at: &str) -> Result<(), ParseError> {
    for (mime, data) in object(value, at)? {
        let json = mime
            .strip_prefix("application/")
            .is_some_and(|rest| rest == "json" || rest.ends_with("+json"));
        if !json {
            multiline(data, &join(at, mime))?;
        }
    }
    Ok(())
}

struct Checker {
    minor: u64,
}

impl Checker {
    /// Keys beyond the schema's are refused up to 4.5, allowed in newer minors.
    fn only(&self, map: &Object, allowed: &[&str], at: &str) -> Result<(), ParseError> {
        if self.minor > NEWEST_MINOR {
            return Ok(());
        }
        match map.keys().find(|k| !allowed.contains(&k.as_str())) {
            // Colab writes 4.0 notebooks with 4.5's cell ids.
            Some(key) if key == "id" && at.starts_with("cells[") => Err(invalid(
                join(at, key),
                format!(
                    "cell ids exist from nbformat 4.5, but the file says 4.{} (Jupyter refuses it too); \
                     if the ids are right, make \"nbformat_minor\" 5",
                    self.minor
                ),
            )),
            Some(key) => Err(invalid(
                join(at, key),
                format!(
                    "not a field nbformat 4.{} allows here (allowed: {})",
                    self.minor,
                    allowed.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    fn required(&self, map: &Object, key: &str, at: &str) -> Result<(), ParseError> {
        if map.contains_key(key) {
            Ok(())
        } else {
            Err(invalid(join(at, key), "missing (a required field)"))
        }
    }

    fn notebook_metadata(&self, metadata: &Object) -> Result<(), ParseError> {
        let at = "metadata";
        optional(metadata, "kernelspec", at, |spec, at| {
            let spec = object(spec, at)?;
            for key in ["name", "display_name"] {
                self.required(spec, key, at)?;
                is_string(&spec[key], &join(at, key))?;
            }
            Ok(())
        })?;
        optional(metadata, "language_info", at, |info, at| {
            let info = object(info, at)?;
            self.required(info, "name", at)?;
            for key in ["name", "file_extension", "mimetype", "pygments_lexer"] {
                optional(info, key, at, is_string)?;
            }
            optional(info, "codemirror_mode", at, |mode, at| match mode {
                Value::String(_) | Value::Object(_) => Ok(()),
                _ => Err(invalid(at, "expected a string or a JSON object")),
            })
        })?;
        optional(metadata, "orig_nbformat", at, |n, at| match n.as_u64() {
            Some(n) if n >= 1 => Ok(()),
            _ => Err(invalid(at, "expected an integer of at least 1")),
        })?;
        optional(metadata, "title", at, is_string)?;
        optional(metadata, "authors", at, |authors, at| match authors {
            Value::Array(_) => Ok(()),
            _ => Err(invalid(at, "expected a list")),
        })
    }

    fn cell(&self, cell: &Value, at: &str) -> Result<(), ParseError> {
        let map = object(cell, at)?;
        self.required(map, "cell_type", at)?;
        let kind_at = join(at, "cell_type");
        let kind = string(&map["cell_type"], &kind_at)?;
        let mut allowed = vec!["cell_type", "metadata", "source"];
        match kind {
            "code" => allowed.extend(["outputs", "execution_count"]),
            "markdown" | "raw" => allowed.push("attachments"),
            other => {
                return Err(invalid(
                    kind_at,
                    format!("unknown cell type {other:?} (expected code, markdown or raw)"),
                ));
            }
        }
        if self.minor >= 5 {
            allowed.push("id");
        }
        for key in allowed.iter().filter(|k| !matches!(**k, "attachments" | "id")) {
            self.required(map, key, at)?;
        }
        self.only(map, &allowed, at)?;
        multiline(&map["source"], &join(at, "source"))?;
        if let Some(id) = map.get("id").filter(|_| self.minor >= 5) {
            let id_at = join(at, "id");
            let id = string(id, &id_at)?;
            if !super::ipynb::valid_id(id) {
                return Err(invalid(
                    id_at,
                    format!("cell id {id:?} is not 1 to 64 letters, digits, '-' or '_'"),
                ));
            }
        }
        self.cell_metadata(
            object(&map["metadata"], &join(at, "metadata"))?,
            kind,
            &join(at, "metadata"),
        )?;
        optional(map, "attachments", at, |attachments, at| {
            for (name, bundle) in object(attachments, at)? {
                mimebundle(bundle, &join(at, name))?;
            }
            Ok(())
        })?;
        if kind == "code" {
            count(&map["execution_count"], &join(at, "execution_count"))?;
            let outputs_at = join(at, "outputs");
            let Value::Array(outputs) = &map["outputs"] else {
                return Err(invalid(outputs_at, "expected a list"));
            };
            for (i, output) in outputs.iter().enumerate() {
                self.output(output, &format!("{outputs_at}[{i}]"))?;
            }
        }
        Ok(())
    }

    fn cell_metadata(&self, metadata: &Object, kind: &str, at: &str) -> Result<(), ParseError> {
        optional(metadata, "name", at, |name, at| {
            let name = string(name, at)?;
            // The schema's `^.+$`, as Python's re.search reads it.
            let line = name.strip_suffix('\n').unwrap_or(name);
            if line.is_empty() || line.contains('\n') {
                return Err(invalid(at, "expected a name of one non-empty line"));
            }
            Ok(())
        })?;
        optional(metadata, "tags", at, |tags, at| {
            let Value::Array(tags) = tags else {
                return Err(invalid(at, "expected a list of strings"));
            };
            for (i, tag) in tags.iter().enumerate() {
                let tag_at = format!("{at}[{i}]");
                let text = string(tag, &tag_at)?;
                if text.is_empty() || text.contains(',') {
                    return Err(invalid(tag_at, "a tag is a non-empty string without commas"));
                }
                if tags[..i].contains(tag) {
                    return Err(invalid(tag_at, format!("tag {text:?} is listed twice")));
                }
            }
            Ok(())
        })?;
        if self.minor >= 3 {
            optional(metadata, "jupyter", at, is_object)?;
        }
        match kind {
            "code" => {
                optional(metadata, "collapsed", at, is_bool)?;
                optional(metadata, "scrolled", at, |scrolled, at| match scrolled {
                    Value::Bool(_) => Ok(()),
                    Value::String(s) if s == "auto" => Ok(()),
                    _ => Err(invalid(at, "expected true, false or \"auto\"")),
                })?;
                if self.minor >= 4 {
                    optional(metadata, "execution", at, |execution, at| {
                        for (key, value) in object(execution, at)? {
                            is_string(value, &join(at, key))?;
                        }
                        Ok(())
                    })?;
                }
            }
            "raw" => optional(metadata, "format", at, is_string)?,
            _ => {}
        }
        Ok(())
    }

    fn output(&self, output: &Value, at: &str) -> Result<(), ParseError> {
        let map = object(output, at)?;
        self.required(map, "output_type", at)?;
        let kind_at = join(at, "output_type");
        let fields: &[&str] = match string(&map["output_type"], &kind_at)? {
            "stream" => &["output_type", "name", "text"],
            "display_data" => &["output_type", "data", "metadata"],
            "execute_result" => &["output_type", "data", "metadata", "execution_count"],
            "error" => &["output_type", "ename", "evalue", "traceback"],
            other => {
                return Err(invalid(
                    kind_at,
                    format!("unknown output type {other:?} (expected stream, display_data, execute_result or error)"),
                ));
            }
        };
        for key in fields {
            self.required(map, key, at)?;
        }
        self.only(map, fields, at)?;
        for key in &fields[1..] {
            let value = &map[*key];
            let key_at = join(at, key);
            match *key {
                "name" | "ename" | "evalue" => is_string(value, &key_at)?,
                "text" => multiline(value, &key_at)?,
                "data" => mimebundle(value, &key_at)?,
                "metadata" => is_object(value, &key_at)?,
                "execution_count" => count(value, &key_at)?,
                "traceback" => {
                    let Value::Array(lines) = value else {
                        return Err(invalid(key_at, "expected a list of strings"));
                    };
                    for (i, line) in lines.iter().enumerate() {
                        is_string(line, &format!("{key_at}[{i}]"))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
