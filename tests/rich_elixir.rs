//! Rich outputs from real `elixir` runtimes: Livebook's value display
//! (pretty `inspect` at the asked width, short `defmodule` values), the
//! `Runyard` helpers (image, Markdown, table; display and update), the size
//! cap, Kino's render protocol (with a stand-in: Kino itself cannot be
//! installed here), standalone and attached.
//!
//! Like tests/elixir_runtime.rs: fails when `elixir` is missing, unless
//! `RUNYARD_SKIP_ELIXIR=1`; `RUNYARD_TEST_ELIXIR` picks another `elixir`.

mod common;

use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use common::elixir::{elixir_exe, skip};
use common::*;
use runyard::protocol::{Bundle, DisplayOptions, Stream};
use runyard::{Command, RuntimeConfig, SessionId};
use serde_json::json;

const S: SessionId = SessionId(1);

/// The PNG signature's first four bytes, and their base64.
const PNG_BYTES: &str = "<<137, 80, 78, 71>>";
const PNG_BASE64: &str = "iVBORw==";

fn connected() -> Harness {
    let mut h = Harness::new();
    h.connect(S, RuntimeConfig::elixir().with_executable(elixir_exe()));
    h
}

fn options(width: u32, table_rows: u32, max_output_bytes: u64) -> DisplayOptions {
    DisplayOptions {
        width,
        table_rows,
        max_output_bytes,
    }
}

/// The MIME types of a bundle, sorted.
fn mimes(bundle: &Bundle) -> Vec<&str> {
    let mut keys: Vec<&str> = bundle.data.keys().map(String::as_str).collect();
    keys.sort();
    keys
}

/// An evaluation's output as a list: adjacent text merged, a display as
/// `display:<its richest MIME type>`.
fn shape(evaluated: &Evaluated) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in &evaluated.items {
        match item {
            Item::Text(Stream::Stdout, text) => match out.last_mut() {
                Some(last) if last.starts_with("text:") => last.push_str(text),
                _ => out.push(format!("text:{text}")),
            },
            Item::Text(Stream::Stderr, text) => out.push(format!("stderr:{text}")),
            Item::Display { bundle, .. } => {
                let rich = mimes(bundle)
                    .into_iter()
                    .find(|m| *m != "text/plain")
                    .unwrap_or("text/plain");
                out.push(format!("display:{rich}"));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The value display
// ---------------------------------------------------------------------------

#[test]
fn values_are_inspected_as_livebook_does_at_the_asked_width() {
    if skip() {
        return;
    }
    let mut h = connected();
    let module = h.eval(
        S,
        "mod",
        None,
        "defmodule Big do\n  def f(x), do: x * 2\n  def g, do: :ok\nend",
    );
    let text = module.value().unwrap();
    assert!(text.starts_with("{:module, Big, "), "{text}");
    assert!(
        text.len() < 1000,
        "a module's bytecode is not shown whole: {} chars",
        text.len()
    );

    // Pretty at the width of the options: every line fits, several lines.
    let list = "Enum.map(1..40, &(&1 * 1000))";
    let narrow = h.eval_with(S, "narrow", None, list, options(30, 1000, 1 << 20));
    let narrow = narrow.value().unwrap();
    assert!(narrow.lines().count() > 3, "{narrow}");
    assert!(narrow.lines().all(|l| l.chars().count() <= 30), "{narrow}");
    // Without options the width is 100.
    let default = h.eval(S, "default", None, list);
    let default = default.value().unwrap();
    assert!(default.lines().count() > 1, "{default}");
    assert!(default.lines().all(|l| l.chars().count() <= 100), "{default}");
    assert!(default.lines().any(|l| l.chars().count() > 80), "{default}");

    // limit: 50, as Livebook: a long list ends in "...".
    let long = h.eval(S, "long", None, "Enum.to_list(1..1000)");
    let long = long.value().unwrap();
    assert!(long.ends_with("...]"), "{long}");
    assert!(long.len() < 400, "{long}");
    // Strings are not cut at inspect's default of 4096 characters.
    let string = h.eval(S, "string", None, "String.duplicate(\"ab\", 5000)");
    assert_eq!(string.value().map(str::len), Some(10_002));
}

// ---------------------------------------------------------------------------
// The Runyard helpers
// ---------------------------------------------------------------------------

#[test]
fn helpers_are_shown_as_their_bundles_as_values() {
    if skip() {
        return;
    }
    let mut h = connected();
    let png = h.eval(S, "png", None, &format!("Runyard.image({PNG_BYTES}, \"image/png\")"));
    let png = png.value_bundle().unwrap();
    assert_eq!(png.data["image/png"], json!(PNG_BASE64));
    assert!(png.data["text/plain"].as_str().unwrap().contains("image/png"));

    for (atom, mime) in [("jpeg", "image/jpeg"), ("gif", "image/gif"), ("webp", "image/webp")] {
        let image = h.eval(S, atom, None, &format!("Runyard.image({PNG_BYTES}, :{atom})"));
        assert_eq!(image.value_bundle().unwrap().data[mime], json!(PNG_BASE64), "{atom}");
    }
    let svg = h.eval(
        S,
        "svg",
        None,
        "Runyard.image(\"<svg xmlns='http://www.w3.org/2000/svg'/>\", :svg)",
    );
    assert_eq!(
        svg.value_bundle().unwrap().data["image/svg+xml"],
        json!("<svg xmlns='http://www.w3.org/2000/svg'/>")
    );
    let bad = h.eval(S, "bad", None, "Runyard.image(<<1>>, :bmp)");
    assert_eq!(bad.error().kind, "ArgumentError");
    // A PNG's header gives its size, as Jupyter's metadata carries it.
    let sized = h.eval(
        S,
        "sized",
        None,
        "Runyard.image(<<137, 80, 78, 71, 13, 10, 26, 10, 13::32, \"IHDR\", 300::32, 200::32, 8, 6, 0, 0, 0>>, :png)",
    );
    assert_eq!(
        sized.value_bundle().unwrap().metadata["image/png"],
        json!({"width": 300, "height": 200})
    );

    let md = h.eval(S, "md", None, "Runyard.markdown(\"# Title\\n\\n*hi*\")");
    let md = md.value_bundle().unwrap();
    assert_eq!(mimes(md), ["text/markdown", "text/plain"]);
    assert_eq!(md.data["text/markdown"], json!("# Title\n\n*hi*"));

    let table = h.eval(
        S,
        "table",
        None,
        "Runyard.table([%{name: \"ada\", age: 36, score: 1.5}, [name: \"alan\", age: 41, score: 2], %{\"name\" => nil, :ok => true}])",
    );
    let table = table.value_bundle().unwrap();
    let resource = &table.data["application/vnd.dataresource+json"];
    let fields: Vec<(String, String)> = resource["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().into(), f["type"].as_str().unwrap().into()))
        .collect();
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str());
    assert_eq!(fields.len(), 4, "{fields:?}");
    assert_eq!(field("name"), Some("string"));
    assert_eq!(field("age"), Some("integer"));
    assert_eq!(field("score"), Some("number"));
    assert_eq!(field("ok"), Some("boolean"));
    assert_eq!(resource["total_rows"], json!(3));
    assert_eq!(resource["data"][0], json!({"name": "ada", "age": 36, "score": 1.5}));
    assert_eq!(resource["data"][2], json!({"name": null, "ok": true}));
    let text = table.data["text/plain"].as_str().unwrap();
    assert!(
        text.contains("ada") && text.contains("alan") && text.contains("age"),
        "{text}"
    );

    // Any other value is still its inspect, and only that.
    let plain = h.eval(S, "plain", None, "%{a: 1}");
    assert_eq!(mimes(plain.value_bundle().unwrap()), ["text/plain"]);
    assert_eq!(plain.value(), Some("%{a: 1}"));
}

#[test]
fn tables_send_at_most_table_rows_and_say_how_many_there_are() {
    if skip() {
        return;
    }
    let mut h = connected();
    let code = "Runyard.table(for i <- 1..12, do: %{i: i, sq: i * i})";
    let capped = h.eval_with(S, "capped", None, code, options(100, 5, 1 << 20));
    let resource = &capped.value_bundle().unwrap().data["application/vnd.dataresource+json"];
    assert_eq!(resource["data"].as_array().unwrap().len(), 5);
    assert_eq!(resource["data"][4], json!({"i": 5, "sq": 25}));
    assert_eq!(resource["total_rows"], json!(12));
    let text = capped.value_bundle().unwrap().data["text/plain"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("5 of 12 rows"), "{text}");

    let all = h.eval(S, "all", None, code);
    let resource = &all.value_bundle().unwrap().data["application/vnd.dataresource+json"];
    assert_eq!(resource["data"].as_array().unwrap().len(), 12);
    assert_eq!(resource["total_rows"], json!(12));
}

#[test]
fn displays_come_at_once_in_their_place_among_printed_text() {
    if skip() {
        return;
    }
    let mut h = connected();
    let out = h.eval(
        S,
        "order",
        None,
        &format!(
            "IO.puts(\"a\")\n\
             Runyard.display(Runyard.markdown(\"*m*\"))\n\
             IO.write(\"b\")\n\
             Runyard.display(Runyard.image({PNG_BYTES}, :png))\n\
             Task.async(fn -> IO.puts(\"c\"); Runyard.display(Runyard.table([%{{x: 1}}])) end) |> Task.await()\n\
             Runyard.display(%{{plain: [1, 2]}})\n\
             IO.puts(\"d\")\n\
             :done"
        ),
    );
    assert_eq!(out.value(), Some(":done"));
    assert_eq!(
        shape(&out),
        [
            "text:a\n",
            "display:text/markdown",
            "text:b",
            "display:image/png",
            "text:c\n",
            "display:application/vnd.dataresource+json",
            "display:text/plain",
            "text:d\n",
        ]
    );
    let shown = out.displays();
    assert_eq!(shown[0].0.data["text/markdown"], json!("*m*"));
    assert_eq!(shown[1].0.data["image/png"], json!(PNG_BASE64));
    // A term that is no Runyard output is its inspect.
    assert_eq!(mimes(&shown[3].0), ["text/plain"]);
    assert_eq!(shown[3].0.data["text/plain"], json!("%{plain: [1, 2]}"));
    assert!(shown.iter().all(|(_, id, update)| id.is_none() && !update));
}

#[test]
fn update_replaces_a_display_by_its_id() {
    if skip() {
        return;
    }
    let mut h = connected();
    let first = h.eval(
        S,
        "first",
        None,
        "Runyard.display(Runyard.markdown(\"step 1\"), display_id: \"progress\")\n\
         Runyard.display(Runyard.markdown(\"other\"), display_id: :other)",
    );
    let shown = first.displays();
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0].1.as_deref(), Some("progress"));
    assert!(!shown[0].2, "a display is not an update");
    assert_eq!(shown[1].1.as_deref(), Some("other"), "an atom id is sent as a string");

    // From another cell, as Jupyter's update_display_data.
    let second = h.eval(
        S,
        "second",
        None,
        "Runyard.update(\"progress\", Runyard.markdown(\"step 2\"))",
    );
    assert_eq!(second.value(), Some(":ok"));
    let updates = second.displays();
    assert_eq!(updates.len(), 1);
    let (bundle, id, update) = &updates[0];
    assert_eq!(id.as_deref(), Some("progress"));
    assert!(*update);
    assert_eq!(bundle.data["text/markdown"], json!("step 2"));
}

#[test]
fn a_display_over_max_output_bytes_becomes_a_note_with_its_size_and_the_cap() {
    if skip() {
        return;
    }
    let mut h = connected();
    let cap = options(100, 1000, 10_000);
    let out = h.eval_with(
        S,
        "big",
        None,
        "Runyard.display(Runyard.image(:binary.copy(<<0>>, 30_000), :png))\n\
         Runyard.display(Runyard.image(:binary.copy(<<0>>, 3_000), :png))\n\
         Runyard.image(:binary.copy(<<0>>, 30_000), :png)",
        cap,
    );
    let shown = out.displays();
    assert_eq!(shown.len(), 2);
    assert_eq!(mimes(&shown[0].0), ["text/plain"], "the big one is a note");
    let note = shown[0].0.data["text/plain"].as_str().unwrap();
    assert!(note.contains("10000 bytes"), "{note}");
    // 30,000 bytes are 40,000 in base64, plus the text/plain line.
    let size: u64 = note
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .find(|&n| n >= 40_000)
        .unwrap_or_else(|| panic!("no size in {note}"));
    assert!(size < 40_100, "{note}");
    assert!(shown[1].0.data.contains_key("image/png"), "a small one is shown");
    // The value is capped the same way.
    let value = out.value().unwrap();
    assert!(value.contains("10000 bytes"), "{value}");

    // The default cap (20 MiB) lets a 1 MB image through.
    let default = h.eval(
        S,
        "default",
        None,
        "Runyard.display(Runyard.image(:binary.copy(<<0>>, 1_000_000), :png))",
    );
    let shown = default.displays();
    assert_eq!(shown[0].0.data["image/png"].as_str().map(str::len), Some(1_333_336));
}

// ---------------------------------------------------------------------------
// Kino
// ---------------------------------------------------------------------------

/// Kino cannot be installed here (no hex.pm), so this defines a stand-in
/// `Kino.Render` protocol in the runtime, as Kino has it, with
/// implementations returning Livebook's outputs, both the maps (2023 on) and
/// the older tuples, and an application spec for `:kino`, as a project or
/// `Mix.install` that has Kino loads.
const KINO_STAND_IN: &str = r#"
:ok = :application.load({:application, :kino, [vsn: ~c"0.0.0-stand-in", modules: [], registered: [], applications: [:kernel, :stdlib]]})

defprotocol Kino.Render do
  def to_livebook(term)
end
defmodule Pic, do: defstruct [:bytes]
defmodule Note, do: defstruct [:text]
defmodule Term, do: defstruct [:text]
defmodule Plain, do: defstruct [:text]
defmodule OldPic, do: defstruct [:bytes]
defmodule OldNote, do: defstruct [:text]
defmodule OldTerm, do: defstruct [:text]
defmodule Js, do: defstruct [:x]
defmodule Unrendered, do: defstruct [:x]
defimpl Kino.Render, for: Pic do
  def to_livebook(p), do: %{type: :image, content: p.bytes, mime_type: "image/png"}
end
defimpl Kino.Render, for: Note do
  def to_livebook(n), do: %{type: :markdown, text: n.text, chunk: false}
end
defimpl Kino.Render, for: Term do
  def to_livebook(t), do: %{type: :terminal_text, text: "\e[34m" <> t.text <> "\e[0m", chunk: false}
end
defimpl Kino.Render, for: Plain do
  def to_livebook(t), do: %{type: :plain_text, text: t.text, chunk: false, style: []}
end
defimpl Kino.Render, for: OldPic do
  def to_livebook(p), do: {:image, p.bytes, "image/jpeg"}
end
defimpl Kino.Render, for: OldNote do
  def to_livebook(n), do: {:markdown, n.text}
end
defimpl Kino.Render, for: OldTerm do
  def to_livebook(t), do: {:terminal_text, t.text, %{chunk: false}}
end
defimpl Kino.Render, for: Js do
  def to_livebook(_), do: %{type: :js, js_view: %{}, export: false}
end
:ok
"#;

#[test]
fn values_with_a_kino_render_implementation_map_to_the_same_outputs() {
    if skip() {
        return;
    }
    let mut h = connected();
    let setup = h.eval(S, "kino", None, KINO_STAND_IN);
    assert_eq!(setup.value(), Some(":ok"), "{:?}", setup.stderr);
    let mut value =
        |name: &str, code: &str| -> Bundle { h.eval(S, name, Some("kino"), code).value_bundle().unwrap().clone() };

    assert_eq!(
        value("pic", &format!("%Pic{{bytes: {PNG_BYTES}}}")).data["image/png"],
        json!(PNG_BASE64)
    );
    let note = value("note", "%Note{text: \"# Kino\"}");
    assert_eq!(note.data["text/markdown"], json!("# Kino"));
    let term = value("term", "%Term{text: \"coloured\"}");
    assert_eq!(mimes(&term), ["text/plain"]);
    assert_eq!(term.data["text/plain"], json!("coloured"), "ANSI colours are dropped");
    assert_eq!(value("plain", "%Plain{text: \"p\"}").data["text/plain"], json!("p"));
    assert_eq!(
        value("oldpic", &format!("%OldPic{{bytes: {PNG_BYTES}}}")).data["image/jpeg"],
        json!(PNG_BASE64)
    );
    assert_eq!(
        value("oldnote", "%OldNote{text: \"*old*\"}").data["text/markdown"],
        json!("*old*")
    );
    assert_eq!(value("oldterm", "%OldTerm{text: \"t\"}").data["text/plain"], json!("t"));
    // What has no mapping (a JS view), or no implementation, is its inspect.
    assert_eq!(value("js", "%Js{x: 1}").data["text/plain"], json!("%Js{x: 1}"));
    assert_eq!(
        value("none", "%Unrendered{x: 2}").data["text/plain"],
        json!("%Unrendered{x: 2}")
    );

    // Displayed, the same.
    let shown = h.eval(S, "shown", Some("kino"), "Runyard.display(%Note{text: \"shown\"})");
    assert_eq!(shown.displays()[0].0.data["text/markdown"], json!("shown"));
}

// ---------------------------------------------------------------------------
// Attached
// ---------------------------------------------------------------------------

/// A node the test runs, as a user would (`elixir --sname … --cookie …`,
/// running `code`), killed with its process group when dropped.
struct Target {
    child: Child,
    node: String,
}

impl Target {
    fn start(code: &str, cookie: &str) -> Target {
        use std::os::unix::process::CommandExt;
        let name = format!("rich-{}-{}", std::process::id(), runyard::runtime::short_id().unwrap());
        let child = Proc::new(elixir_exe())
            .args(["--sname", &name, "--cookie", cookie, "-e", code])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("elixir starts");
        let host = Proc::new("hostname").arg("-s").output().expect("hostname runs");
        let node = format!("{name}@{}", String::from_utf8(host.stdout).unwrap().trim());
        let target = Target { child, node };
        let deadline = Instant::now() + WAIT;
        while !probe(&target.node, cookie, ":ready").ends_with(":ready") {
            assert!(Instant::now() < deadline, "the target node {name} never answered");
            std::thread::sleep(Duration::from_millis(200));
        }
        target
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

/// Evaluates `expr` on `node` from a throwaway node: what is there,
/// independently of Runyard.
fn probe(node: &str, cookie: &str, expr: &str) -> String {
    let code = format!(
        "true = Node.connect(:\"{node}\")\n\
         {{value, _}} = :rpc.call(:\"{node}\", Code, :eval_string, [{expr:?}])\n\
         IO.puts(inspect(value))"
    );
    let name = format!("probe-{}-{}", std::process::id(), runyard::runtime::short_id().unwrap());
    let out = Proc::new(elixir_exe())
        .args(["--sname", &name, "--cookie", cookie, "-e", &code])
        .stdin(Stdio::null())
        .output()
        .expect("elixir runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

fn disconnect(h: &mut Harness, session: SessionId, pid: u32) {
    h.manager.send(Command::Disconnect { session });
    assert_eq!(wait_gone(&[pid], Duration::from_secs(10)), Vec::<u32>::new());
}

#[test]
fn attached_runtimes_have_the_helpers_and_take_them_away_with_the_last_session() {
    if skip() {
        return;
    }
    let cookie = format!("rich{}", runyard::runtime::short_id().unwrap());
    let target = Target::start("Process.sleep(:infinity)", &cookie);
    let mut h = Harness::new();
    let config = RuntimeConfig::elixir_attached(&target.node, &cookie).with_executable(elixir_exe());
    let info = h.connect(S, config);

    let md = h.eval(S, "md", None, "Runyard.markdown(\"on #{node()}\")");
    assert_eq!(
        md.value_bundle().unwrap().data["text/markdown"],
        json!(format!("on {}", target.node))
    );
    // Across the bridge, a display still lands between the text around it.
    let out = h.eval_with(
        S,
        "order",
        None,
        "IO.puts(\"a\")\nRunyard.display(Runyard.table(for i <- 1..3, do: [i: i]))\nIO.puts(\"b\")",
        options(100, 2, 1 << 20),
    );
    assert_eq!(
        shape(&out),
        ["text:a\n", "display:application/vnd.dataresource+json", "text:b\n"]
    );
    let table = &out.displays()[0].0.data["application/vnd.dataresource+json"];
    assert_eq!(
        (table["data"].as_array().unwrap().len(), &table["total_rows"]),
        (2, &json!(3))
    );
    assert_eq!(out.value(), Some(":ok"));
    let module = h.eval(S, "mod", None, "defmodule OnTarget do\n  def f, do: 1\nend");
    assert!(module.value().unwrap().len() < 1000);

    disconnect(&mut h, S, info.pid);
    // Evaluated on the target, retrying there: cleaning up follows the
    // bridge's disconnection, a moment after its exit.
    let left = probe(
        &target.node,
        &cookie,
        "Enum.reduce_while(1..100, nil, fn _, _ ->\n\
           left = :code.is_loaded(Runyard)\n\
           if left == false, do: {:halt, left}, else: (Process.sleep(100); {:cont, left})\n\
         end)",
    );
    assert_eq!(left, "false", "the helpers leave with the last session");
}

#[test]
fn a_projects_own_runyard_module_is_left_alone() {
    if skip() {
        return;
    }
    let cookie = format!("rich{}", runyard::runtime::short_id().unwrap());
    let target = Target::start(
        "defmodule Runyard do\n  def mine, do: :the_projects\nend\nProcess.sleep(:infinity)",
        &cookie,
    );
    // The node answers before its `-e` code has defined the module: wait for
    // the project's module, or the agent would find none and bring its own.
    let deadline = Instant::now() + WAIT;
    while probe(&target.node, &cookie, "function_exported?(Runyard, :mine, 0)") != "true" {
        assert!(Instant::now() < deadline, "the target never defined its Runyard module");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut h = Harness::new();
    let config = RuntimeConfig::elixir_attached(&target.node, &cookie).with_executable(elixir_exe());
    let info = h.connect(S, config);
    assert_eq!(h.eval(S, "mine", None, "Runyard.mine()").value(), Some(":the_projects"));
    // Values are still shown as bundles of their inspect.
    assert_eq!(h.eval(S, "v", None, "[1, 2]").value(), Some("[1, 2]"));
    disconnect(&mut h, S, info.pid);
    assert_eq!(probe(&target.node, &cookie, "Runyard.mine()"), ":the_projects");
}
