//! MIME bundles: the one model of a rich output, as Jupyter's
//! `display_data` / `execute_result` have it. `data` maps MIME types to their
//! data (text as a string, binary images as base64, `application/json` and
//! `*+json` types as JSON), `metadata` carries Jupyter's sizes and flags
//! (`{"image/png": {"width": 640, "height": 480}}`). Every bundle has a
//! `text/plain` entry, so every consumer can fall back on text.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const TEXT_PLAIN: &str = "text/plain";
pub const TEXT_MARKDOWN: &str = "text/markdown";
pub const TEXT_HTML: &str = "text/html";
pub const TEXT_LATEX: &str = "text/latex";
pub const APPLICATION_JSON: &str = "application/json";
/// Frictionless data resource (pandas' `to_json(orient="table")`): a table's
/// schema and rows; Runyard adds `total_rows` when it sends only the first ones.
pub const TABLE: &str = "application/vnd.dataresource+json";
pub const IMAGE_PNG: &str = "image/png";
pub const IMAGE_JPEG: &str = "image/jpeg";
pub const IMAGE_GIF: &str = "image/gif";
pub const IMAGE_WEBP: &str = "image/webp";
pub const IMAGE_SVG: &str = "image/svg+xml";

/// The raster image types Runyard shows (base64 in the bundle).
pub const RASTER_IMAGES: [&str; 4] = [IMAGE_PNG, IMAGE_JPEG, IMAGE_GIF, IMAGE_WEBP];

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Bundle {
    pub data: Map<String, Value>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// The entry of a bundle a viewer shows, richest first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rich<'a> {
    Table(&'a Value),
    /// A raster image: its MIME type and base64 data.
    Image {
        mime: &'a str,
        base64: &'a str,
    },
    Svg(&'a str),
    Markdown(&'a str),
    Json(&'a Value),
    /// LaTeX, shown as its source.
    Latex(&'a str),
    /// HTML with nothing richer: shown as its plain text, with a way out to a browser.
    Html(&'a str),
    Plain(&'a str),
}

impl Bundle {
    /// A bundle of only `text/plain`.
    pub fn plain(text: impl Into<String>) -> Bundle {
        let mut data = Map::new();
        data.insert(TEXT_PLAIN.into(), Value::String(text.into()));
        Bundle {
            data,
            metadata: Map::new(),
        }
    }

    /// The `text/plain` entry (Jupyter also allows a list of lines), or a
    /// placeholder naming the types there are.
    pub fn text(&self) -> String {
        match self.text_entry(TEXT_PLAIN) {
            Some(text) => text.into_owned(),
            None => {
                let types: Vec<&str> = self.data.keys().map(String::as_str).collect();
                format!("[{} output]", types.join(", "))
            }
        }
    }

    /// A text entry: a string, or a list of strings joined (nbformat's multiline form).
    pub fn text_entry(&self, mime: &str) -> Option<std::borrow::Cow<'_, str>> {
        match self.data.get(mime)? {
            Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
            Value::Array(parts) => Some(std::borrow::Cow::Owned(
                parts.iter().filter_map(Value::as_str).collect::<String>(),
            )),
            _ => None,
        }
    }

    fn str_entry(&self, mime: &str) -> Option<&str> {
        self.data.get(mime)?.as_str()
    }

    /// The entry to show: a table, an image, SVG, Markdown, JSON, LaTeX, HTML
    /// (as text) or plain text, in that order, as far as the bundle has them
    /// in a usable shape.
    pub fn richest(&self) -> Rich<'_> {
        if let Some(table) = self.data.get(TABLE).filter(|t| t.is_object()) {
            return Rich::Table(table);
        }
        for mime in RASTER_IMAGES {
            if let Some((mime, base64)) = self.data.get_key_value(mime).and_then(|(k, v)| Some((k, v.as_str()?))) {
                return Rich::Image { mime, base64 };
            }
        }
        if let Some(svg) = self.str_entry(IMAGE_SVG) {
            return Rich::Svg(svg);
        }
        if let Some(markdown) = self.str_entry(TEXT_MARKDOWN) {
            return Rich::Markdown(markdown);
        }
        if let Some(json) = self.data.get(APPLICATION_JSON) {
            return Rich::Json(json);
        }
        if let Some(latex) = self.str_entry(TEXT_LATEX) {
            return Rich::Latex(latex);
        }
        if let Some(html) = self.str_entry(TEXT_HTML) {
            return Rich::Html(html);
        }
        Rich::Plain(self.str_entry(TEXT_PLAIN).unwrap_or(""))
    }

    /// The logical size (points) the metadata gives an entry, Jupyter's
    /// `metadata[mime].width/height` or top-level `width/height`.
    pub fn size_of(&self, mime: &str) -> (Option<f32>, Option<f32>) {
        let number = |v: Option<&Value>| {
            v.and_then(Value::as_f64)
                .filter(|v| v.is_finite() && *v > 0.0)
                .map(|v| v as f32)
        };
        let get = |key: &str| {
            number(self.metadata.get(mime).and_then(|m| m.get(key))).or_else(|| number(self.metadata.get(key)))
        };
        (get("width"), get("height"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(value: Value) -> Bundle {
        serde_json::from_value(json!({ "data": value })).unwrap()
    }

    #[test]
    fn the_richest_entry_wins_and_plain_text_is_the_fallback() {
        let b = bundle(json!({"text/plain": "<Figure>", "image/png": "iVBO", "text/html": "<img>"}));
        assert_eq!(
            b.richest(),
            Rich::Image {
                mime: "image/png",
                base64: "iVBO"
            }
        );
        let b = bundle(json!({"text/plain": "df", "text/html": "<table>", TABLE: {"data": []}}));
        assert!(matches!(b.richest(), Rich::Table(_)));
        let b = bundle(json!({"text/plain": "x", "text/html": "<b>x</b>"}));
        assert_eq!(b.richest(), Rich::Html("<b>x</b>"));
        assert_eq!(Bundle::plain("1").richest(), Rich::Plain("1"));
    }

    #[test]
    fn an_entry_of_the_wrong_shape_is_passed_over() {
        let b = bundle(json!({"text/plain": "x", "image/png": 42, TABLE: "no", "text/markdown": ["a"]}));
        assert_eq!(b.richest(), Rich::Plain("x"));
    }

    #[test]
    fn multiline_text_joins_and_a_bundle_without_text_names_its_types() {
        let b = bundle(json!({"text/plain": ["a\n", "b"]}));
        assert_eq!(b.text(), "a\nb");
        let b = bundle(json!({"image/png": "iVBO"}));
        assert_eq!(b.text(), "[image/png output]");
    }

    #[test]
    fn sizes_come_from_the_entry_or_the_top_level_metadata() {
        let b: Bundle = serde_json::from_value(json!({
            "data": {"image/png": "x", "text/plain": "y"},
            "metadata": {"image/png": {"width": 320, "height": -1}, "height": 240}
        }))
        .unwrap();
        assert_eq!(b.size_of("image/png"), (Some(320.0), Some(240.0)));
        assert_eq!(b.size_of("image/jpeg"), (None, Some(240.0)));
    }
}
