//! Notebook parameters as papermill gives them (`-p NAME VALUE`, `-r`, `-f
//! FILE`, `-y YAML`): typed values, turned into a code cell of assignments in
//! the notebook's language and injected after the cell tagged `parameters`.
//!
//! papermill's conventions, kept so that the same command line gives the same
//! cell: `-p` values are typed by papermill's `_resolve_type` (`True`,
//! `False`, `None`, then what Python's `int()`, then `float()` accept, else a
//! string); later sources win in papermill's order (files, YAML strings, `-p`,
//! `-r`), a name keeping the place it was first given; the cell is `# Parameters`
//! then one `name = value` line each, Python strings escaped as papermill's
//! `translate_escaped_str` does; it is tagged `injected-parameters`, replaces
//! an earlier injected cell in place, else follows the first cell tagged
//! `parameters`, else goes first (with a warning).
//!
//! Where the tags live: `.ipynb` cell metadata (`tags`); percent scripts
//! jupytext's `# %% tags=["parameters"]`; `.livemd` a `tags` key in the
//! cell's `<!-- livebook:{…} -->` comment, or, since Livebook has no tags, a
//! code cell whose first line is the comment `# parameters` (any case).

use std::path::{Path, PathBuf};

use crate::notebook::model::PercentLayout;
use crate::notebook::{Cell, CellKind, Format, Language, Notebook};

/// The tag of the cell whose values the parameters override.
pub const PARAMETERS_TAG: &str = "parameters";
/// The tag of the cell Runyard (or papermill) injected.
pub const INJECTED_TAG: &str = "injected-parameters";

/// A parameter's value: what YAML and JSON can say.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    /// An integer of any size, in canonical decimal (`-12`, no leading zeros).
    Int(String),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// Keys in the order given.
    Map(Vec<(String, Value)>),
}

/// Parameters in papermill's order: a name set again keeps its first place.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parameters(pub Vec<(String, Value)>);

impl Parameters {
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name, value)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Collects the command line's parameters in papermill's precedence:
    /// files, then YAML strings, then `-p`, then `-r` (each in given order).
    pub fn collect(
        files: &[PathBuf],
        yamls: &[String],
        typed_pairs: &[(String, String)],
        raw_pairs: &[(String, String)],
    ) -> Result<Parameters, ParameterError> {
        let mut parameters = Parameters::default();
        for file in files {
            for (name, value) in read_file(file)? {
                parameters.set(name, value);
            }
        }
        for yaml in yamls {
            for (name, value) in parse_mapping(yaml, Syntax::Yaml, "--parameters-yaml")? {
                parameters.set(name, value);
            }
        }
        for (name, value) in typed_pairs {
            parameters.set(name.clone(), typed(value));
        }
        for (name, value) in raw_pairs {
            parameters.set(name.clone(), Value::Str(value.clone()));
        }
        Ok(parameters)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ParameterError {
    /// The file's own error names it (missing, too large, not UTF-8).
    #[error("parameters file: {0}")]
    File(crate::notebook::NotebookError),
    #[error("{origin}: not valid {syntax}: {message}")]
    Syntax {
        origin: String,
        syntax: &'static str,
        message: String,
    },
    #[error("{origin}: parameters must be a mapping of names to values, not {found}")]
    NotAMapping { origin: String, found: &'static str },
    #[error("{origin}: {what} cannot be a parameter value")]
    Unsupported { origin: String, what: String },
    #[error("parameter name {name:?} is not a valid {language} variable name")]
    BadName { name: String, language: &'static str },
    #[error("parameter {name}: {language} has no literal for {what}")]
    NotRepresentable {
        name: String,
        language: &'static str,
        what: String,
    },
    #[error("parameters are injected into Python and Elixir notebooks; this one is in {language}")]
    Language { language: String },
}

/// How papermill's `_resolve_type` types a `-p` value.
pub fn typed(text: &str) -> Value {
    match text {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        "None" => Value::None,
        _ => python_int(text)
            .map(Value::Int)
            .or_else(|| python_float(text).map(Value::Float))
            .unwrap_or_else(|| Value::Str(text.to_string())),
    }
}

/// What Python's `int(text)` accepts (ASCII digits, a sign, single
/// underscores between digits, surrounding whitespace), in canonical form.
fn python_int(text: &str) -> Option<String> {
    let t = text.trim_matches(python_space);
    let (negative, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = python_digits(digits)?;
    let trimmed = digits.trim_start_matches('0');
    Some(match (trimmed.is_empty(), negative) {
        (true, _) => "0".to_string(),
        (false, true) => format!("-{trimmed}"),
        (false, false) => trimmed.to_string(),
    })
}

/// ASCII digits with single underscores between them, underscores removed.
fn python_digits(text: &str) -> Option<String> {
    if text.is_empty() || text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    text.chars()
        .all(|c| c.is_ascii_digit() || c == '_')
        .then(|| text.replace('_', ""))
}

/// What Python's `float(text)` accepts: decimal and exponent forms (with
/// underscores between digits), `inf`, `infinity`, `nan` in any case.
fn python_float(text: &str) -> Option<f64> {
    let t = text.trim_matches(python_space);
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let special = unsigned.to_ascii_lowercase();
    if ["inf", "infinity", "nan"].contains(&special.as_str()) {
        return t.to_ascii_lowercase().parse().ok();
    }
    // Digits, one dot, an exponent: each run of digits may hold single underscores.
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let whole = if whole.is_empty() {
        Some(String::new())
    } else {
        python_digits(whole)
    }?;
    let fraction = match fraction {
        Some("") | None => String::new(),
        Some(f) => python_digits(f)?,
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let exponent = match exponent {
        None => String::new(),
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            format!("e{}{}", &e[..e.len() - digits.len()], python_digits(digits)?)
        }
    };
    let sign = &t[..t.len() - unsigned.len()];
    format!(
        "{sign}{}.{}{exponent}",
        if whole.is_empty() { "0" } else { &whole },
        fraction
    )
    .parse()
    .ok()
}

/// The whitespace Python's `int()`/`float()` strip.
fn python_space(c: char) -> bool {
    c.is_whitespace()
}

enum Syntax {
    Json,
    Yaml,
}

/// Reads a parameters file: JSON for `.json`, YAML (which JSON also is) otherwise.
pub fn read_file(path: &Path) -> Result<Vec<(String, Value)>, ParameterError> {
    let text = crate::notebook::read_text(path).map_err(ParameterError::File)?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let syntax = if json { Syntax::Json } else { Syntax::Yaml };
    parse_mapping(&text, syntax, &path.display().to_string())
}

/// A mapping of names to values, from JSON or YAML text. An empty YAML
/// document is no parameters, as papermill's `or {}` makes it.
fn parse_mapping(text: &str, syntax: Syntax, origin: &str) -> Result<Vec<(String, Value)>, ParameterError> {
    let value = match syntax {
        Syntax::Json => {
            let json: serde_json::Value = serde_json::from_str(text).map_err(|e| ParameterError::Syntax {
                origin: origin.into(),
                syntax: "JSON",
                message: e.to_string(),
            })?;
            from_json(&json)
        }
        Syntax::Yaml => {
            let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| ParameterError::Syntax {
                origin: origin.into(),
                syntax: "YAML",
                message: e.to_string(),
            })?;
            from_yaml(&yaml, origin)?
        }
    };
    match value {
        Value::Map(entries) => Ok(entries),
        Value::None => Ok(Vec::new()),
        other => Err(ParameterError::NotAMapping {
            origin: origin.into(),
            found: kind(&other),
        }),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::None => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::List(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

pub fn from_json(json: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::None,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) if n.is_f64() => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        J::Number(n) => Value::Int(n.to_string()),
        J::String(s) => Value::Str(s.clone()),
        J::Array(items) => Value::List(items.iter().map(from_json).collect()),
        J::Object(map) => Value::Map(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

fn from_yaml(yaml: &serde_norway::Value, origin: &str) -> Result<Value, ParameterError> {
    use serde_norway::Value as Y;
    Ok(match yaml {
        Y::Null => Value::None,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i.to_string()),
            (None, Some(u)) => Value::Int(u.to_string()),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Y::String(s) => Value::Str(s.clone()),
        Y::Sequence(items) => Value::List(items.iter().map(|v| from_yaml(v, origin)).collect::<Result<_, _>>()?),
        Y::Mapping(map) => {
            let mut entries: Vec<(String, Value)> = Vec::new();
            for (k, v) in map {
                let key = match from_yaml(k, origin)? {
                    Value::Str(s) => s,
                    // papermill formats other keys with str(): 1, True, None.
                    Value::Int(i) => i,
                    Value::Bool(b) => if b { "True" } else { "False" }.to_string(),
                    Value::None => "None".to_string(),
                    Value::Float(f) => python_float_repr(f),
                    other => {
                        return Err(ParameterError::Unsupported {
                            origin: origin.into(),
                            what: format!("{} as a mapping key", kind(&other)),
                        });
                    }
                };
                let value = from_yaml(v, origin)?;
                match entries.iter_mut().find(|(n, _)| *n == key) {
                    Some((_, old)) => *old = value,
                    None => entries.push((key, value)),
                }
            }
            Value::Map(entries)
        }
        Y::Tagged(tagged) => {
            return Err(ParameterError::Unsupported {
                origin: origin.into(),
                what: format!("a value tagged {}", tagged.tag),
            });
        }
    })
}

/// The injected cell's source: `# Parameters` and one assignment a line, in
/// the notebook's language. Names that are not variables of that language,
/// and values it cannot write, are refused.
pub fn cell_source(parameters: &Parameters, language: &Language) -> Result<String, ParameterError> {
    let mut source = String::from("# Parameters\n");
    for (name, value) in &parameters.0 {
        let literal = match language {
            Language::Python => {
                if !is_python_name(name) {
                    return Err(ParameterError::BadName {
                        name: name.clone(),
                        language: "Python",
                    });
                }
                python_literal(value)
            }
            Language::Elixir => {
                if !is_elixir_name(name) {
                    return Err(ParameterError::BadName {
                        name: name.clone(),
                        language: "Elixir",
                    });
                }
                elixir_literal(value).map_err(|what| ParameterError::NotRepresentable {
                    name: name.clone(),
                    language: "Elixir",
                    what,
                })?
            }
            Language::Other(other) => {
                return Err(ParameterError::Language {
                    language: other.clone(),
                });
            }
        };
        source.push_str(&format!("{name} = {literal}\n"));
    }
    Ok(source)
}

const PYTHON_KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// Python's `str.isidentifier()` and not a keyword.
pub fn is_python_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else { return false };
    (first == '_' || unicode_ident::is_xid_start(first))
        && chars.all(unicode_ident::is_xid_continue)
        && !PYTHON_KEYWORDS.contains(&name)
}

const ELIXIR_RESERVED: [&str; 15] = [
    "true", "false", "nil", "when", "and", "or", "not", "in", "fn", "do", "end", "catch", "rescue", "after", "else",
];

/// An Elixir variable: a lower-case letter or `_` first, then letters,
/// digits and `_`; not a reserved word.
pub fn is_elixir_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else { return false };
    (first == '_' || first.is_lowercase())
        && chars.all(|c| c == '_' || unicode_ident::is_xid_continue(c))
        && !ELIXIR_RESERVED.contains(&name)
}

/// papermill's `PythonTranslator.translate`.
pub fn python_literal(value: &Value) -> String {
    match value {
        Value::None => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.clone(),
        Value::Float(f) if f.is_nan() => "float('nan')".into(),
        Value::Float(f) if f.is_infinite() => if *f < 0.0 { "float('-inf')" } else { "float('inf')" }.into(),
        Value::Float(f) => python_float_repr(*f),
        Value::Str(s) => python_string(s),
        Value::List(items) => format!("[{}]", items.iter().map(python_literal).collect::<Vec<_>>().join(", ")),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", python_string(k), python_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// papermill's `translate_escaped_str`: Python's `unicode_escape` codec,
/// then `"` escaped, in double quotes.
fn python_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        let code = c as u32;
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            _ if code >= 0x10000 => out.push_str(&format!("\\U{code:08x}")),
            _ if code >= 0x100 => out.push_str(&format!("\\u{code:04x}")),
            _ if !(0x20..0x7f).contains(&code) => out.push_str(&format!("\\x{code:02x}")),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The shortest digits that read back as `f` and the decimal exponent of
/// the first: `1.5e-3` → ("15", -3).
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let scientific = format!("{:e}", f.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (f.is_sign_negative(), digits, exponent.parse().unwrap_or(0))
}

/// Python's `repr(float)` for a finite value: fixed notation while the
/// decimal point falls within 16 digits, else `1e+16` / `1.5e-05`.
pub fn python_float_repr(f: f64) -> String {
    let (negative, digits, exponent) = shortest_digits(f);
    let sign = if negative { "-" } else { "" };
    let point = exponent + 1;
    if !(-4 < point && point <= 16) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    format!("{sign}{}", fixed(&digits, point))
}

/// `digits` with the decimal point after `point` of them (zeros padded), `.0` if whole.
fn fixed(digits: &str, point: i32) -> String {
    if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    }
}

/// An Elixir literal; `Err` names what Elixir cannot write (NaN, infinities).
pub fn elixir_literal(value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::None => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.clone(),
        Value::Float(f) if f.is_nan() => return Err("NaN".into()),
        Value::Float(f) if f.is_infinite() => return Err("infinity".into()),
        Value::Float(f) => elixir_float(*f),
        Value::Str(s) => elixir_string(s),
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(elixir_literal)
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        ),
        Value::Map(entries) => format!(
            "%{{{}}}",
            entries
                .iter()
                .map(|(k, v)| Ok(format!("{} => {}", elixir_string(k), elixir_literal(v)?)))
                .collect::<Result<Vec<_>, String>>()?
                .join(", ")
        ),
    })
}

/// Elixir floats need digits on both sides of the point and take `e-5`, not `e-05`.
fn elixir_float(f: f64) -> String {
    let (negative, digits, exponent) = shortest_digits(f);
    let sign = if negative { "-" } else { "" };
    let point = exponent + 1;
    if -4 < point && point <= 16 {
        return format!("{sign}{}", fixed(&digits, point));
    }
    let (first, rest) = digits.split_at(1);
    let rest = if rest.is_empty() { "0" } else { rest };
    format!("{sign}{first}.{rest}e{exponent}")
}

/// A double-quoted Elixir string: escapes for `"`, `\`, control characters,
/// and `#{` (which would interpolate).
fn elixir_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '#' if chars.peek() == Some(&'{') => out.push_str("\\#"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where the parameters went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Over an earlier `injected-parameters` cell.
    Replaced,
    /// After the cell tagged `parameters`.
    AfterParameters,
    /// First: the notebook has no `parameters` cell (papermill warns too).
    First,
}

/// Injects the parameters' cell into `nb` (see the module's rules).
pub fn inject(nb: &mut Notebook, parameters: &Parameters) -> Result<Placement, ParameterError> {
    let source = cell_source(parameters, &nb.language)?;
    let cell = injected_cell(source, nb.format);
    let find = |nb: &Notebook, pick: &dyn Fn(&Cell) -> bool| {
        nb.sections
            .iter()
            .enumerate()
            .find_map(|(s, section)| section.cells.iter().position(pick).map(|c| (s, c)))
    };
    let livemd = nb.format == Some(Format::Livemd);
    if let Some((s, c)) = find(nb, &|cell| has_tag(cell, INJECTED_TAG)) {
        nb.sections[s].cells[c] = cell;
        return Ok(Placement::Replaced);
    }
    if let Some((s, c)) = find(nb, &|cell| is_parameters_cell(cell, livemd)) {
        nb.sections[s].cells.insert(c + 1, cell);
        return Ok(Placement::AfterParameters);
    }
    if nb.sections.is_empty() {
        nb.sections.push(Default::default());
    }
    nb.sections[0].cells.insert(0, cell);
    Ok(Placement::First)
}

/// `runyard run`'s step: injects the parameters, if any, saying so when no
/// cell was tagged for them.
pub(super) fn apply(
    nb: &mut Notebook,
    parameters: &Parameters,
    err: &mut dyn std::io::Write,
) -> Result<(), super::RunError> {
    if parameters.is_empty() {
        return Ok(());
    }
    if inject(nb, parameters)? == Placement::First {
        writeln!(
            err,
            "runyard: warning: no cell is tagged \"{PARAMETERS_TAG}\": the parameters go in a new first cell"
        )?;
    }
    Ok(())
}

fn is_parameters_cell(cell: &Cell, livemd: bool) -> bool {
    if has_tag(cell, PARAMETERS_TAG) {
        return true;
    }
    livemd
        && cell.kind == CellKind::Code
        && !has_tag(cell, INJECTED_TAG)
        && cell
            .source
            .lines()
            .next()
            .is_some_and(|line| line.trim().eq_ignore_ascii_case("# parameters"))
}

/// The cell's tags: `metadata.tags`, and for a percent cell the marker's
/// `tags=[…]` as jupytext writes it.
pub fn tags(cell: &Cell) -> Vec<String> {
    let mut tags: Vec<String> = cell
        .metadata
        .get("tags")
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
        .unwrap_or_default();
    if let Some(layout) = &cell.extras.percent {
        tags.extend(percent_tags(&layout.title));
    }
    tags
}

fn has_tag(cell: &Cell, tag: &str) -> bool {
    tags(cell).iter().any(|t| t == tag)
}

/// `tags=["a", "b"]` in a percent marker's text (a JSON list, as jupytext writes it).
fn percent_tags(title: &str) -> Vec<String> {
    let Some(at) = title.find("tags=[") else {
        return Vec::new();
    };
    let list = &title[at + "tags=".len()..];
    let mut stream = serde_json::Deserializer::from_str(list).into_iter::<Vec<String>>();
    stream.next().and_then(Result::ok).unwrap_or_default()
}

/// The new cell, tagged as each format keeps tags.
fn injected_cell(source: String, format: Option<Format>) -> Cell {
    let mut cell = Cell::code(source);
    cell.metadata.insert("tags".into(), serde_json::json!([INJECTED_TAG]));
    if format == Some(Format::Percent) {
        // jupytext's marker; a percent script has no other place for tags.
        cell.metadata.clear();
        let title = format!("tags=[\"{INJECTED_TAG}\"]");
        cell.extras.percent = Some(PercentLayout {
            marker: Some(format!("# %% {title}")),
            title,
            body: String::new(),
            blank_lines_after: 1,
        });
    }
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Parameters {
        Parameters(pairs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect())
    }

    #[test]
    fn p_values_are_typed_as_papermill_types_them() {
        assert_eq!(typed("True"), Value::Bool(true));
        assert_eq!(typed("False"), Value::Bool(false));
        assert_eq!(typed("true"), Value::Str("true".into()));
        assert_eq!(typed("None"), Value::None);
        assert_eq!(typed("null"), Value::Str("null".into()));
        assert_eq!(typed("42"), Value::Int("42".into()));
        assert_eq!(typed(" -007 "), Value::Int("-7".into()));
        assert_eq!(typed("1_000"), Value::Int("1000".into()));
        assert_eq!(
            typed("123456789012345678901234567890"),
            Value::Int("123456789012345678901234567890".into())
        );
        assert_eq!(typed("0.1"), Value::Float(0.1));
        assert_eq!(typed("1e3"), Value::Float(1000.0));
        assert_eq!(typed(".5"), Value::Float(0.5));
        assert_eq!(typed("5."), Value::Float(5.0));
        assert_eq!(typed("-Infinity"), Value::Float(f64::NEG_INFINITY));
        assert!(matches!(typed("nan"), Value::Float(f) if f.is_nan()));
        for text in ["1__0", "_1", "1_", "1e", "e5", ".", "0x10", "abc", "", "1.5.2", "١٢"] {
            assert_eq!(typed(text), Value::Str(text.into()), "{text:?}");
        }
    }

    #[test]
    fn python_floats_are_written_as_repr_writes_them() {
        let cases = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789.125, "123456789.125"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (f, text) in cases {
            assert_eq!(python_float_repr(f), text);
        }
        assert_eq!(python_literal(&Value::Float(f64::NAN)), "float('nan')");
        assert_eq!(python_literal(&Value::Float(f64::NEG_INFINITY)), "float('-inf')");
    }

    #[test]
    fn python_strings_are_escaped_as_papermill_escapes_them() {
        assert_eq!(python_string("plain"), r#""plain""#);
        assert_eq!(python_string("it's \"q\""), r#""it's \"q\"""#);
        assert_eq!(python_string("a\\b\n\t\r\x01\x7f"), r#""a\\b\n\t\r\x01\x7f""#);
        assert_eq!(python_string("café €😀"), r#""caf\xe9 \u20ac\U0001f600""#);
    }

    #[test]
    fn the_cell_is_papermills_for_python_and_literal_elixir() {
        let p = params(&[
            ("alpha", Value::Float(0.1)),
            ("n", Value::Int("3".into())),
            ("on", Value::Bool(true)),
            ("none", Value::None),
            ("name", Value::Str("x\"y".into())),
            (
                "nested",
                Value::Map(vec![(
                    "k".into(),
                    Value::List(vec![Value::Int("1".into()), Value::Str("#{a}".into())]),
                )]),
            ),
        ]);
        assert_eq!(
            cell_source(&p, &Language::Python).unwrap(),
            "# Parameters\nalpha = 0.1\nn = 3\non = True\nnone = None\nname = \"x\\\"y\"\nnested = {\"k\": [1, \"#{a}\"]}\n"
        );
        assert_eq!(
            cell_source(&p, &Language::Elixir).unwrap(),
            "# Parameters\nalpha = 0.1\nn = 3\non = true\nnone = nil\nname = \"x\\\"y\"\nnested = %{\"k\" => [1, \"\\#{a}\"]}\n"
        );
        assert_eq!(elixir_float(1e20), "1.0e20");
        assert_eq!(elixir_float(-1.5e-7), "-1.5e-7");
        let nan = params(&[("x", Value::Float(f64::NAN))]);
        assert!(matches!(
            cell_source(&nan, &Language::Elixir),
            Err(ParameterError::NotRepresentable { .. })
        ));
    }

    #[test]
    fn names_must_be_variables_of_the_language() {
        for good in ["alpha", "_x", "x1", "été", "match"] {
            assert!(is_python_name(good), "{good}");
        }
        for bad in ["1x", "a-b", "class", "None", "", "a b", "x!"] {
            assert!(!is_python_name(bad), "{bad}");
        }
        for good in ["alpha", "_x", "x1", "été"] {
            assert!(is_elixir_name(good), "{good}");
        }
        for bad in ["Alpha", "1x", "end", "nil", "a-b", "x?", ""] {
            assert!(!is_elixir_name(bad), "{bad}");
        }
        let p = params(&[("Bad", Value::None)]);
        assert!(matches!(
            cell_source(&p, &Language::Elixir),
            Err(ParameterError::BadName { .. })
        ));
        assert!(cell_source(&p, &Language::Python).is_ok());
        assert!(matches!(
            cell_source(&p, &Language::Other("r".into())),
            Err(ParameterError::Language { .. })
        ));
    }

    #[test]
    fn later_sources_win_and_names_keep_their_first_place() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("p.yaml");
        std::fs::write(&yaml, "a: 1\nb: [x, 2.5, null, true]\nc: {d: e}\n").unwrap();
        let json = dir.path().join("p.json");
        std::fs::write(&json, r#"{"c": 1.0, "e": "f"}"#).unwrap();
        let p = Parameters::collect(
            &[yaml, json],
            &["a: 2".into()],
            &[("b".into(), "None".into()), ("g".into(), "7".into())],
            &[("g".into(), "7".into())],
        )
        .unwrap();
        assert_eq!(
            p,
            params(&[
                ("a", Value::Int("2".into())),
                ("b", Value::None),
                ("c", Value::Float(1.0)),
                ("e", Value::Str("f".into())),
                ("g", Value::Str("7".into())),
            ])
        );
        let list = Parameters::collect(&[], &["[1, 2]".into()], &[], &[]);
        assert!(matches!(list, Err(ParameterError::NotAMapping { .. })));
        let bad = Parameters::collect(&[], &["a: [".into()], &[], &[]);
        assert!(matches!(bad, Err(ParameterError::Syntax { .. })));
        assert_eq!(
            Parameters::collect(&[], &["".into()], &[], &[]).unwrap(),
            Parameters::default()
        );
    }

    #[test]
    fn percent_markers_tags_are_read_as_jupytext_writes_them() {
        assert_eq!(percent_tags(r#"tags=["parameters"]"#), ["parameters"]);
        assert_eq!(
            percent_tags(r#"Setup tags=[ "a", "parameters" ] key="v""#),
            ["a", "parameters"]
        );
        assert!(percent_tags("tags=[broken").is_empty());
        assert!(percent_tags("Load").is_empty());
    }

    fn notebook(cells: Vec<Cell>, format: Format) -> Notebook {
        let mut nb = Notebook::new(Language::Python);
        nb.format = Some(format);
        nb.sections[0].cells = cells;
        nb
    }

    fn tagged(source: &str, tag: &str) -> Cell {
        let mut cell = Cell::code(source);
        cell.metadata.insert("tags".into(), serde_json::json!([tag]));
        cell
    }

    #[test]
    fn the_cell_goes_after_the_parameters_cell_replaces_an_old_one_or_goes_first() {
        let p = params(&[("x", Value::Int("1".into()))]);
        let mut nb = notebook(
            vec![Cell::code("a"), tagged("x = 0", PARAMETERS_TAG), Cell::code("b")],
            Format::Ipynb,
        );
        assert_eq!(inject(&mut nb, &p).unwrap(), Placement::AfterParameters);
        let cells = &nb.sections[0].cells;
        assert_eq!(cells[2].source, "# Parameters\nx = 1\n");
        assert_eq!(tags(&cells[2]), [INJECTED_TAG]);
        let p2 = params(&[("x", Value::Int("2".into()))]);
        assert_eq!(inject(&mut nb, &p2).unwrap(), Placement::Replaced);
        assert_eq!(nb.sections[0].cells.len(), 4);
        assert_eq!(nb.sections[0].cells[2].source, "# Parameters\nx = 2\n");

        let mut nb = notebook(vec![Cell::code("a")], Format::Ipynb);
        assert_eq!(inject(&mut nb, &p).unwrap(), Placement::First);
        assert_eq!(nb.sections[0].cells[0].source, "# Parameters\nx = 1\n");
    }

    #[test]
    fn percent_and_livemd_cells_carry_their_tags_where_those_formats_can() {
        let p = params(&[("x", Value::Int("1".into()))]);
        let mut nb = crate::notebook::percent::to_notebook(
            "# %%\na = 1\n\n# %% tags=[\"parameters\"]\nx = 0\n\n# %%\nprint(x)\n",
        );
        assert_eq!(inject(&mut nb, &p).unwrap(), Placement::AfterParameters);
        let text = crate::notebook::percent::to_string(&nb);
        assert!(
            text.contains("x = 0\n\n# %% tags=[\"injected-parameters\"]\n# Parameters\nx = 1\n\n# %%\nprint(x)"),
            "{text}"
        );
        let mut again = crate::notebook::percent::to_notebook(&text);
        assert_eq!(inject(&mut again, &p).unwrap(), Placement::Replaced);

        let mut nb =
            crate::notebook::livemd::parse("# T\n\n```elixir\n# Parameters\nx = 0\n```\n\n```elixir\nx\n```\n")
                .unwrap();
        assert_eq!(inject(&mut nb, &p).unwrap(), Placement::AfterParameters);
        let text = crate::notebook::livemd::to_string(&nb);
        let mut again = crate::notebook::livemd::parse(&text).unwrap();
        assert_eq!(inject(&mut again, &p).unwrap(), Placement::Replaced, "{text}");
    }
}
