//! `application/json` as a collapsible tree. Only open branches are drawn,
//! and each shows at most [`MAX_CHILDREN`] children and a count of the rest,
//! so a huge value costs what is on screen.

use egui::RichText;
use serde_json::Value;

pub const MAX_CHILDREN: usize = 100;
/// Longest string shown in a leaf.
const MAX_LEAF_CHARS: usize = 500;

/// The children shown of an object or array (key, value) and how many are left out.
pub fn children(value: &Value, max: usize) -> (Vec<(String, &Value)>, usize) {
    match value {
        Value::Object(map) => (
            map.iter().take(max).map(|(k, v)| (k.clone(), v)).collect(),
            map.len().saturating_sub(max),
        ),
        Value::Array(items) => (
            items
                .iter()
                .take(max)
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            items.len().saturating_sub(max),
        ),
        _ => (Vec::new(), 0),
    }
}

/// A branch's header: `key {3}` for an object of three, `key [10]` for a list.
pub fn summary(key: Option<&str>, value: &Value) -> String {
    let key = key.map(|k| format!("{k}: ")).unwrap_or_default();
    match value {
        Value::Object(map) => format!("{key}{{{}}}", map.len()),
        Value::Array(items) => format!("{key}[{}]", items.len()),
        other => format!("{key}{}", leaf(other)),
    }
}

/// A scalar as JSON, long strings cut.
pub fn leaf(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(MAX_LEAF_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

pub fn show(ui: &mut egui::Ui, key: u64, value: &Value, greyed: bool) {
    let color = greyed.then(|| ui.visuals().weak_text_color());
    let id = ui.make_persistent_id(("json", key));
    node(ui, id, None, value, true, color);
}

fn node(ui: &mut egui::Ui, id: egui::Id, key: Option<&str>, value: &Value, open: bool, color: Option<egui::Color32>) {
    let text = |s: String| {
        let t = RichText::new(s).monospace();
        match color {
            Some(c) => t.color(c),
            None => t,
        }
    };
    if !(value.is_object() || value.is_array()) {
        ui.add(egui::Label::new(text(summary(key, value))).selectable(true));
        return;
    }
    egui::CollapsingHeader::new(text(summary(key, value)))
        .id_salt(id)
        .default_open(open)
        .show(ui, |ui| {
            let (shown, hidden) = children(value, MAX_CHILDREN);
            for (k, v) in shown {
                node(ui, id.with(&k), Some(&k), v, false, color);
            }
            if hidden > 0 {
                ui.label(RichText::new(format!("… {hidden} more")).italics().weak());
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn branches_are_summarised_and_long_ones_cut() {
        let value = json!({"a": [1, 2, 3], "b": {"c": "x"}});
        assert_eq!(summary(None, &value), "{2}");
        assert_eq!(summary(Some("a"), &value["a"]), "a: [3]");
        assert_eq!(summary(Some("c"), &value["b"]["c"]), "c: \"x\"");
        let long: Vec<u32> = (0..1000).collect();
        let long = json!(long);
        let (shown, hidden) = children(&long, MAX_CHILDREN);
        assert_eq!((shown.len(), hidden), (MAX_CHILDREN, 900));
        assert_eq!(shown[5].0, "5");
        assert_eq!(leaf(&json!("y".repeat(2000))).chars().count(), MAX_LEAF_CHARS + 1);
    }
}
