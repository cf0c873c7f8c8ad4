//! Rich outputs of the Python runtime (display(), Jupyter's rich reprs,
//! IPython's display classes, matplotlib, pandas, Pillow, pprint, the size
//! cap), on the test venv's python (`RUNYARD_TEST_VENV`, see
//! `rich_python_config`).

mod common;

use common::*;
use runyard::SessionId;
use runyard::protocol::{Bundle, DisplayOptions, Stream};
use serde_json::Value;

const S: SessionId = SessionId(1);

fn connected() -> Harness {
    let mut h = Harness::new();
    h.connect(S, rich_python_config());
    h
}

fn only_display(e: &Evaluated) -> Bundle {
    let mut d = e.displays();
    assert_eq!(
        d.len(),
        1,
        "expected one display: {:#?} (stderr {:?})",
        e.items,
        e.stderr
    );
    d.remove(0).0
}

fn str_of<'a>(b: &'a Bundle, mime: &str) -> &'a str {
    b.data
        .get(mime)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {mime} string in {b:#?}"))
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn options(width: u32, table_rows: u32, max_output_bytes: u64) -> DisplayOptions {
    DisplayOptions {
        width,
        table_rows,
        max_output_bytes,
    }
}

#[test]
fn display_keeps_its_place_between_prints() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "print('before')\ndisplay(1, 'two')\nprint('after')");
    let kinds: Vec<String> = e
        .items
        .iter()
        .map(|item| match item {
            Item::Text(Stream::Stdout, t) => format!("out:{t}"),
            Item::Text(Stream::Stderr, t) => format!("err:{t}"),
            Item::Display { bundle, .. } => format!("display:{}", bundle.text()),
        })
        .collect();
    assert_eq!(
        kinds,
        ["out:before\n", "display:1", "display:'two'", "out:after\n"],
        "{:#?}",
        e.items
    );
    assert_eq!(e.value(), None);
}

const ALL_REPRS: &str = r#"
class All:
    def __repr__(self): return 'All()'
    def _repr_html_(self): return '<b>html</b>'
    def _repr_markdown_(self): return '*md*'
    def _repr_svg_(self): return '<svg xmlns="http://www.w3.org/2000/svg"/>'
    def _repr_png_(self): return b'\x89PNG fake', {'width': 3, 'height': 2}
    def _repr_jpeg_(self): return '/9j/already-base64'
    def _repr_latex_(self): return r'$x^2$'
    def _repr_json_(self): return {'a': [1, 2.5, None]}
"#;

#[test]
fn every_rich_repr_method_becomes_its_mime_type_in_displays_and_values() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, &format!("{ALL_REPRS}\ndisplay(All())\nAll()"));
    let shown = only_display(&e);
    let value = e.value_bundle().expect("a value").clone();
    for b in [&shown, &value] {
        assert_eq!(str_of(b, "text/plain"), "All()");
        assert_eq!(str_of(b, "text/html"), "<b>html</b>");
        assert_eq!(str_of(b, "text/markdown"), "*md*");
        assert_eq!(
            str_of(b, "image/svg+xml"),
            r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#
        );
        assert_eq!(base64_decode(str_of(b, "image/png")), b"\x89PNG fake");
        assert_eq!(b.metadata["image/png"], serde_json::json!({"width": 3, "height": 2}));
        assert_eq!(str_of(b, "image/jpeg"), "/9j/already-base64");
        assert_eq!(str_of(b, "text/latex"), "$x^2$");
        assert_eq!(b.data["application/json"], serde_json::json!({"a": [1, 2.5, null]}));
    }
}

#[test]
fn repr_mimebundle_wins_and_a_failing_repr_method_is_left_out_with_a_warning() {
    let mut h = connected();
    let code = r#"
class B:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {'text/html': '<i>bundle</i>', 'text/plain': 'plain B'}, {'text/html': {'isolated': True}}
    def _repr_html_(self): return 'not used'
    def _repr_markdown_(self): raise ValueError('broken markdown')
display(B())
B()
"#;
    let e = h.eval(S, "e1", None, code);
    let shown = only_display(&e);
    assert_eq!(str_of(&shown, "text/html"), "<i>bundle</i>");
    assert_eq!(str_of(&shown, "text/plain"), "plain B");
    assert_eq!(shown.metadata["text/html"], serde_json::json!({"isolated": true}));
    assert!(!shown.data.contains_key("text/markdown"), "{shown:#?}");
    assert!(e.stderr.contains("broken markdown"), "no warning: {:?}", e.stderr);
    assert_eq!(e.value(), Some("plain B"), "the value is kept");
}

#[test]
fn ipython_display_classes_and_handles_route_to_runyard() {
    let mut h = connected();
    let code = r#"
from IPython.display import display, update_display, HTML, Markdown, SVG, JSON, Image, DisplayHandle
import base64
png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==')
display(HTML('<p>h</p>'), Markdown('**m**'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"/>'))
display(JSON({'k': 1}))
display(Image(data=png, format='png'))
handle = display(HTML('first'), display_id=True)
handle.update(HTML('second'))
update_display(HTML('third'), display_id=handle.display_id)
DisplayHandle('fixed').display(Markdown('d'))
"#;
    let e = h.eval(S, "e1", None, code);
    let d = e.displays();
    assert_eq!(d.len(), 9, "{:#?} stderr {:?}", e.items, e.stderr);
    assert_eq!(str_of(&d[0].0, "text/html"), "<p>h</p>");
    assert_eq!(str_of(&d[1].0, "text/markdown"), "**m**");
    assert!(str_of(&d[2].0, "image/svg+xml").contains("<svg"));
    assert_eq!(d[3].0.data["application/json"], serde_json::json!({"k": 1}));
    assert!(base64_decode(str_of(&d[4].0, "image/png")).starts_with(b"\x89PNG"));
    let id = d[5].1.clone().expect("display_id=True makes an id");
    assert_eq!((str_of(&d[5].0, "text/html"), d[5].2), ("first", false));
    assert_eq!(
        (str_of(&d[6].0, "text/html"), d[6].1.as_ref(), d[6].2),
        ("second", Some(&id), true)
    );
    assert_eq!(
        (str_of(&d[7].0, "text/html"), d[7].1.as_ref(), d[7].2),
        ("third", Some(&id), true)
    );
    assert_eq!(d[8].1.as_deref(), Some("fixed"));
    assert!(e.stdout.is_empty(), "IPython's print fallback ran: {:?}", e.stdout);
}

#[test]
fn update_display_replaces_by_display_id_across_cells() {
    let mut h = connected();
    let e1 = h.eval(
        S,
        "e1",
        None,
        "h = display('v1', display_id='counter')\nprint(h.display_id)",
    );
    let d1 = e1.displays();
    assert_eq!(d1.len(), 1);
    assert_eq!((d1[0].1.as_deref(), d1[0].2), (Some("counter"), false));
    assert_eq!(e1.stdout, "counter\n");
    let e2 = h.eval(
        S,
        "e2",
        Some("e1"),
        "update_display('v2', display_id='counter')\nh.update('v3')",
    );
    let d2 = e2.displays();
    assert_eq!(d2.len(), 2, "{:#?}", e2.items);
    for (d, text) in d2.iter().zip(["'v2'", "'v3'"]) {
        assert_eq!(
            (d.0.text(), d.1.as_deref(), d.2),
            (text.to_string(), Some("counter"), true)
        );
    }
}

#[test]
fn matplotlib_figures_show_as_png_and_never_leak_into_the_next_cell() {
    let mut h = connected();
    let e1 = h.eval(
        S,
        "e1",
        None,
        "import os, matplotlib.pyplot as plt\nplt.plot(range(10))\nplt.show()\nos.environ.get('MPLBACKEND')",
    );
    let shown = only_display(&e1);
    assert_eq!(str_of(&shown, "text/plain"), "<Figure size 640x480 with 1 Axes>");
    let png = base64_decode(str_of(&shown, "image/png"));
    assert!(png.starts_with(b"\x89PNG"));
    // Rendered at 2x: 1280x960 pixels, shown at 640x480.
    let px = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((px(16), px(20)), (1280, 960));
    assert_eq!(
        shown.metadata["image/png"],
        serde_json::json!({"width": 640, "height": 480})
    );
    assert_eq!(e1.value(), None, "MPLBACKEND is not left in the environment");

    // A figure left open at the end of a cell is shown once, then closed.
    let e2 = h.eval(
        S,
        "e2",
        Some("e1"),
        "plt.figure(figsize=(3, 2))\nplt.plot([1, 2])\nprint('drawn')",
    );
    let left_open = only_display(&e2);
    assert_eq!(
        left_open.metadata["image/png"],
        serde_json::json!({"width": 300, "height": 200})
    );
    assert!(
        matches!(&e2.items[0], Item::Text(Stream::Stdout, t) if t == "drawn\n"),
        "{:#?}",
        e2.items
    );

    let e3 = h.eval(S, "e3", Some("e2"), "plt.get_fignums()");
    assert_eq!(e3.value(), Some("[]"));
    assert!(e3.displays().is_empty(), "a figure leaked: {:#?}", e3.items);

    // A figure as the value is the value (with its PNG), not shown a second time.
    let e4 = h.eval(S, "e4", Some("e3"), "fig, ax = plt.subplots()\nfig");
    assert!(e4.displays().is_empty(), "{:#?}", e4.items);
    let value = e4.value_bundle().unwrap();
    assert_eq!(str_of(value, "text/plain"), "<Figure size 640x480 with 1 Axes>");
    assert!(value.data.contains_key("image/png"));

    // A child Python does not inherit a backend it could not import.
    let e5 = h.eval(
        S,
        "e5",
        Some("e4"),
        "import subprocess, sys\nsubprocess.run([sys.executable, '-c', \
         'import matplotlib.pyplot as p; print(p.get_backend())'], capture_output=True, text=True).stdout",
    );
    assert_eq!(e5.value(), Some("'agg\\n'"));
}

#[test]
fn a_dataframe_is_a_capped_table_with_its_total_and_pandas_html() {
    let mut h = connected();
    h.submit_with(
        S,
        "e1",
        None,
        "import pandas as pd\ndf = pd.DataFrame({'a': range(1_000), 'b': ['x'] * 1_000})\ndf",
        options(100, 5, 20 << 20),
    );
    let e = h.finish(S, "e1");
    let b = e.value_bundle().unwrap();
    let table = &b.data["application/vnd.dataresource+json"];
    assert_eq!(table["total_rows"], 1_000);
    assert_eq!(table["data"].as_array().unwrap().len(), 5);
    assert_eq!(table["data"][4]["a"], 4);
    assert!(str_of(b, "text/html").contains("<table"));
    assert!(str_of(b, "text/plain").contains("[1000 rows x 2 columns]"));

    let e = h.eval(
        S,
        "e2",
        Some("e1"),
        "big = pd.DataFrame({'a': range(1_000_000), 'b': 0.5, 'c': 'text'})\ndisplay(big)\nbig['a']",
    );
    let shown = only_display(&e);
    let table = &shown.data["application/vnd.dataresource+json"];
    assert_eq!(table["total_rows"], 1_000_000);
    assert_eq!(table["data"].as_array().unwrap().len(), 1000, "default table_rows");
    let sent = serde_json::to_vec(&shown).unwrap().len();
    assert!(sent <= 1 << 20, "a million-row frame sent {sent} bytes");
    let series = e.value_bundle().unwrap();
    assert_eq!(
        series.data["application/vnd.dataresource+json"]["total_rows"],
        1_000_000
    );
}

#[test]
fn a_pillow_image_is_a_png_with_its_size() {
    let mut h = connected();
    let e = h.eval(
        S,
        "e1",
        None,
        "from PIL import Image\nImage.new('RGB', (30, 20), 'red')",
    );
    let b = e.value_bundle().unwrap();
    assert!(base64_decode(str_of(b, "image/png")).starts_with(b"\x89PNG"));
    assert_eq!(b.metadata["image/png"], serde_json::json!({"width": 30, "height": 20}));
    assert!(str_of(b, "text/plain").starts_with("<PIL.Image.Image image mode=RGB size=30x20"));
}

#[test]
fn an_output_over_the_cap_becomes_a_note_naming_its_size_and_the_cap() {
    let mut h = connected();
    h.submit_with(
        S,
        "e1",
        None,
        "class Big:\n    def _repr_html_(self): return 'x' * 30000\ndisplay(Big())\nBig()",
        options(100, 1000, 10_000),
    );
    let e = h.finish(S, "e1");
    for b in [only_display(&e), e.value_bundle().unwrap().clone()] {
        assert_eq!(b.data.len(), 1, "{b:#?}");
        let note = str_of(&b, "text/plain");
        assert!(note.contains(" 29.") && note.contains("9.8 KiB"), "{note}");
    }
}

#[test]
fn long_containers_are_pretty_printed_at_the_width() {
    let mut h = connected();
    h.submit_with(S, "e1", None, "list(range(30))", options(40, 1000, 20 << 20));
    let e = h.finish(S, "e1");
    let text = e.value().unwrap();
    assert!(text.lines().count() > 1, "{text}");
    assert!(text.lines().all(|l| l.len() <= 40), "{text}");
    h.submit_with(S, "e2", None, "{'a': 1, 'b': [1, 2]}", options(40, 1000, 20 << 20));
    assert_eq!(h.finish(S, "e2").value(), Some("{'a': 1, 'b': [1, 2]}"));
}

#[test]
fn a_plain_value_stays_on_the_fast_path() {
    let mut h = connected();
    let e = h.eval(S, "e1", None, "1 + 1");
    assert_eq!(e.value_bundle(), Some(&Bundle::plain("2")));
    let e = h.eval(
        S,
        "e2",
        Some("e1"),
        "import sys\n('pprint' in sys.modules, 'json' in sys.modules, 'matplotlib' in sys.modules)",
    );
    assert_eq!(
        e.value(),
        Some("(False, False, False)"),
        "the display machinery was loaded"
    );
}

#[test]
fn a_trailing_semicolon_hides_the_value_as_in_ipython() {
    let mut h = connected();
    assert_eq!(h.eval(S, "e1", None, "x = [1]\nx;").value_bundle(), None);
    assert_eq!(h.eval(S, "e2", None, "'é'.upper() ; # done").value_bundle(), None);
    assert_eq!(h.eval(S, "e3", None, "'a;b'  # no; here").value(), Some("'a;b'"));
    assert_eq!(h.eval(S, "e4", None, "(1 +\n 2);").value_bundle(), None);
}

#[test]
fn without_the_supervisors_pipes_displays_stay_in_order() {
    use runyard::protocol::FromAgent;
    let code = "print('one')\ndisplay('two')\nprint('three')\nimport matplotlib.pyplot as plt\nplt.plot([1])\n4";
    let (mut seen, mut value) = (Vec::new(), None);
    for message in bare_agent_messages(rich_python_config().executable(), code) {
        match message {
            FromAgent::Output {
                evaluation_ref, text, ..
            } => {
                assert_eq!(evaluation_ref.as_deref(), Some("e1"));
                seen.push(text);
            }
            FromAgent::Display {
                evaluation_ref, bundle, ..
            } => {
                assert_eq!(evaluation_ref.as_deref(), Some("e1"));
                let png = if bundle.data.contains_key("image/png") {
                    " png"
                } else {
                    ""
                };
                seen.push(format!("display {}{png}", bundle.text()));
            }
            FromAgent::Result { value: v, .. } => value = Some(v),
            _ => {}
        }
    }
    assert_eq!(value, Some(Some(Bundle::plain("4"))));
    assert_eq!(
        seen,
        [
            "one\n",
            "display 'two'",
            "three\n",
            "display <Figure size 640x480 with 1 Axes> png"
        ]
    );
}
