//! Notebook files as users have them: round trips of Jupyter-, Livebook- and
//! editor-written fixtures (tests/fixtures), Save As between formats, Jupyter's
//! own validator on what Runyard writes, malformed files of every kind, and
//! saves killed at random moments.

mod common;

use common::validate_with_jupyter;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use runyard::notebook::{self, Cell, CellKind, Format, Language, Notebook, NotebookError, Output, ParseError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Saves `nb` to `dir/name` and returns the path.
fn save_in(dir: &Path, name: &str, nb: &Notebook) -> PathBuf {
    let path = dir.join(name);
    notebook::save(&path, nb).unwrap();
    path
}

/// The notebook without what differs legitimately between two files of the
/// same content: cell ids Runyard generated, source line numbers and the
/// nbformat minor version read.
fn without_ids(mut nb: Notebook) -> Notebook {
    nb.extras.ipynb_minor = None;
    let clear = |cell: &mut Cell| {
        cell.id = None;
        cell.line = None;
    };
    for section in &mut nb.sections {
        section.cells.iter_mut().for_each(clear);
        if let Some(cell) = section.extras.heading.as_mut().and_then(|h| h.cell.as_mut()) {
            clear(cell);
        }
    }
    if let Some(cell) = nb.extras.title_heading.as_mut().and_then(|h| h.cell.as_mut()) {
        clear(cell);
    }
    nb
}

#[test]
fn a_notebook_written_by_jupyter_saves_to_the_same_bytes() {
    let path = fixture("jupyter-4.5.ipynb");
    let nb = notebook::open(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = save_in(dir.path(), "saved.ipynb", &nb);
    assert!(
        read(&saved) == read(&path),
        "open then save changed the bytes of a Jupyter-written notebook"
    );
    assert_eq!(notebook::open(&saved).unwrap(), nb);
    validate_with_jupyter(&saved);
}

#[test]
fn jupyter_notebooks_open_with_their_sections_outputs_and_metadata() {
    let nb = notebook::open(&fixture("jupyter-4.5.ipynb")).unwrap();
    assert_eq!(nb.language, Language::Python);
    assert_eq!(nb.title.as_deref(), Some("Fixture notebook"));
    let titles: Vec<_> = nb.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["", "Rich outputs", "Unicode ✓"]);
    assert_eq!(nb.metadata["toc"]["sideBar"], true);
    assert_eq!(nb.metadata["custom_tool"]["settings"]["unicode"], "Ünïcödé");

    let intro = &nb.sections[0];
    assert!(intro.cells[0].source.starts_with("Written by Jupyter's nbformat"));
    assert!(intro.cells[0].extras.ipynb_keys.contains_key("attachments"));
    let hello = &intro.cells[1];
    assert_eq!(hello.execution_count, Some(1));
    assert_eq!(hello.metadata["some_extension"]["opaque"][1], 2.5);
    assert_eq!(hello.outputs, [Output::stream("stdout", "héllo wörld 🌍\n")]);
    assert_eq!(intro.cells[2].source, "", "empty cells are kept");

    let rich = &nb.sections[1].cells[0].outputs;
    let png = rich[0].data().unwrap()["image/png"].as_str().unwrap();
    assert!(png.starts_with("iVBORw0KGgo") && png.ends_with('\n'));
    assert_eq!(rich[0].display_text(), "<IPython.core.display.Image object>");
    assert_eq!(
        rich[1].data().unwrap()["text/html"],
        "<b>bold</b> &amp; <i>safe</i>\n<br/>"
    );
    assert_eq!(rich[2].data().unwrap()["application/json"]["a"][1], 2.5);
    let error = &nb.sections[1].cells[2].outputs[0];
    assert!(
        matches!(error, Output::Error { ename, traceback, .. } if ename == "ZeroDivisionError" && traceback.len() == 4)
    );

    let unicode = &nb.sections[2];
    assert!(unicode.cells[0].source.contains("emoji 👩‍👩‍👧"));
    assert_eq!(unicode.cells[1].kind, CellKind::Raw);
    let huge = unicode.cells[2].outputs[0].display_text();
    assert_eq!(huge.lines().count(), 10_000);
}

#[test]
fn a_session_opened_from_a_file_and_saved_unchanged_writes_the_files_bytes() {
    // The session holds rich data once, shared with what it shows, and plain
    // outputs not at all (it writes them from what it shows): what it writes
    // must still be the file.
    let dir = tempfile::tempdir().unwrap();
    // (A 4.4 file gains 4.5's cell ids when saved: see the test below.)
    for name in ["jupyter-4.5.ipynb", "livebook.livemd", "script.py"] {
        let read_back = notebook::open(&fixture(name)).unwrap();
        let config = match read_back.language {
            Language::Elixir => runyard::RuntimeConfig::elixir(),
            _ => runyard::RuntimeConfig::python(),
        };
        let session = runyard::session::Session::from_notebook(runyard::SessionId(1), "n", config, &read_back);
        let saved = save_in(dir.path(), name, &session.to_notebook());
        assert!(read(&saved) == read(&fixture(name)), "{name} changed on a save");
    }
}

#[test]
fn older_jupyter_notebooks_open_the_same_and_save_as_4_5_with_ids() {
    let old = notebook::open(&fixture("jupyter-4.4.ipynb")).unwrap();
    let new = notebook::open(&fixture("jupyter-4.5.ipynb")).unwrap();
    assert_eq!(without_ids(old.clone()), without_ids(new));

    let dir = tempfile::tempdir().unwrap();
    let saved = save_in(dir.path(), "upgraded.ipynb", &old);
    validate_with_jupyter(&saved);
    let text = String::from_utf8(read(&saved)).unwrap();
    assert!(text.contains("\"nbformat_minor\": 5"));
    assert_eq!(text.matches("\"id\": ").count(), 11, "every cell has an id");
    let reopened = notebook::open(&saved).unwrap();
    assert_eq!(without_ids(reopened.clone()), without_ids(old.clone()));
    // Our 4.5 file read and written again gives the same bytes; ids are stable.
    let again = save_in(dir.path(), "again.ipynb", &reopened);
    assert_eq!(read(&again), read(&saved));
    let twice = save_in(dir.path(), "twice.ipynb", &old);
    assert_eq!(read(&twice), read(&saved), "generated ids do not change between saves");
}

#[test]
fn keys_runyard_does_not_know_are_kept_everywhere() {
    let text = r###"{
 "cells": [
  {"cell_type": "code", "id": "a", "source": ["x = 1\n", "x"], "metadata": {"future": {"a": [1]}},
   "execution_count": 7, "future_cell_key": "kept",
   "outputs": [
     {"output_type": "execute_result", "execution_count": 7, "data": {"text/plain": ["1"]},
      "metadata": {}, "future_output_key": {"deep": true}},
     {"output_type": "stream", "name": "stdout", "text": "a\n", "transient_like": 1}
   ]},
  {"cell_type": "markdown", "id": "b", "source": "## Heading\n\ntext", "metadata": {"tags": ["x"]}}
 ],
 "metadata": {"language_info": {"name": "python"}, "anything": null},
 "future_top_level": [1, 2],
 "nbformat": 4,
 "nbformat_minor": 6
}"###;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unknown.ipynb");
    std::fs::write(&path, text).unwrap();
    let nb = notebook::open(&path).unwrap();
    let saved = save_in(dir.path(), "saved.ipynb", &nb);
    let value: serde_json::Value = serde_json::from_slice(&read(&saved)).unwrap();
    assert_eq!(value["future_top_level"], serde_json::json!([1, 2]));
    assert_eq!(value["metadata"]["anything"], serde_json::Value::Null);
    assert_eq!(value["cells"][0]["future_cell_key"], "kept");
    assert_eq!(value["cells"][0]["metadata"]["future"]["a"][0], 1);
    assert_eq!(value["cells"][0]["outputs"][0]["future_output_key"]["deep"], true);
    assert_eq!(value["cells"][0]["outputs"][1]["transient_like"], 1);
    assert_eq!(
        value["cells"][1]["source"],
        serde_json::json!(["## Heading\n", "\n", "text"])
    );
    assert_eq!(value["cells"][1]["metadata"]["tags"][0], "x");
    assert_eq!(without_ids(notebook::open(&saved).unwrap()), without_ids(nb));
}

#[test]
fn the_kernel_language_chooses_the_notebook_language() {
    let with = |metadata: &str| {
        let text = format!(r#"{{"cells": [], "metadata": {metadata}, "nbformat": 4, "nbformat_minor": 4}}"#);
        notebook::parse(Format::Ipynb, &text).unwrap().language
    };
    assert_eq!(
        with(r#"{"kernelspec": {"language": "python", "name": "python3", "display_name": "Python 3"}}"#),
        Language::Python
    );
    assert_eq!(
        with(r#"{"kernelspec": {"language": "elixir", "name": "ielixir", "display_name": "Elixir"}}"#),
        Language::Elixir
    );
    assert_eq!(with(r#"{"language_info": {"name": "elixir"}}"#), Language::Elixir);
    assert_eq!(
        with(r#"{"language_info": {"name": "julia"}}"#),
        Language::Other("julia".into())
    );
    assert_eq!(with("{}"), Language::Python);
}

#[test]
fn a_notebook_written_by_livebook_saves_to_the_same_text() {
    let path = fixture("livebook.livemd");
    let nb = notebook::open(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = save_in(dir.path(), "saved.livemd", &nb);
    assert_eq!(
        String::from_utf8(read(&saved)).unwrap(),
        String::from_utf8(read(&path)).unwrap()
    );

    assert_eq!(nb.language, Language::Elixir);
    assert_eq!(nb.title.as_deref(), Some("Fixture: Livebook ✓ notebook"));
    assert_eq!(nb.metadata["persist_outputs"], true);
    assert!(nb.extras.livemd_stamp.as_deref().unwrap().contains("XCP.fixture-token"));
    assert_eq!(nb.extras.livemd_leading_comments, ["<!-- vim: syntax=markdown -->"]);
    let titles: Vec<_> = nb.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["", "Basics", "Branch ✓", "Empty section"]);
    assert!(nb.sections[0].cells[0].source.starts_with("Mix.install"));

    let basics = &nb.sections[1].cells;
    assert_eq!(basics[1].metadata["reevaluate_automatically"], true);
    assert_eq!(
        basics[1].outputs,
        [Output::stream("stdout", "héllo"), Output::stream("stdout", "\"HÉLLO\"")]
    );
    assert_eq!(basics[2].source, "", "an empty code cell");
    assert!(
        basics[3].source.contains("```elixir\nEnum.map"),
        "force_markdown keeps code in Markdown"
    );
    assert!(basics[4].source.contains("# not a heading"));

    let branch = &nb.sections[2];
    assert_eq!(branch.metadata["branch_parent_index"], 0);
    assert_eq!(branch.cells[0].metadata["livebook_object"], "smart_cell");
    assert_eq!(branch.cells[0].outputs[0].display_text(), "code with ``` inside");
    assert_eq!(branch.cells[1].metadata["future_key"]["nested"][1], 2);
    assert_eq!(branch.cells[1].outputs.len(), 2);
    assert_eq!(branch.cells[2].language.as_deref(), Some("erlang"));
    assert_eq!(branch.cells[3].language.as_deref(), Some("python"));
    assert!(nb.sections[3].cells.is_empty());
}

#[test]
fn a_percent_script_saves_to_the_same_text() {
    let path = fixture("script.py");
    let nb = notebook::open(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = save_in(dir.path(), "saved.py", &nb);
    assert_eq!(
        String::from_utf8(read(&saved)).unwrap(),
        String::from_utf8(read(&path)).unwrap()
    );
    assert_eq!(nb.title.as_deref(), Some("Fixture: a percent script"));
    let titles: Vec<_> = nb.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["", "Second part", "Last part"]);
    assert_eq!(
        nb.sections[0].cells[0].source,
        "Cells as VS Code and jupytext write them.\n"
    );
    assert_eq!(nb.sections[0].cells[2].line, Some(12));
}

/// A section's title and its cells' kinds and texts.
type SectionContent = (String, Vec<(CellKind, String)>);

/// What every format keeps: title, section titles, and each cell's kind and text.
fn content(nb: &Notebook, target: Format) -> (Option<String>, Vec<SectionContent>) {
    let sections = nb
        .sections
        .iter()
        .map(|s| {
            let cells = s
                .cells
                .iter()
                .map(|c| {
                    let kind = match (c.kind, target) {
                        (CellKind::Raw, Format::Livemd | Format::Percent) => CellKind::Markdown,
                        (kind, _) => kind,
                    };
                    (kind, c.source.trim_end().to_string())
                })
                .filter(|(kind, source)| !(*kind == CellKind::Markdown && source.is_empty()))
                .collect();
            (s.title.clone(), cells)
        })
        .collect();
    (nb.title.clone(), sections)
}

#[test]
fn save_as_another_format_keeps_the_content() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["jupyter-4.5.ipynb", "livebook.livemd", "script.py"] {
        let nb = notebook::open(&fixture(name)).unwrap();
        for target in Format::ALL {
            let saved = save_in(dir.path(), &format!("{name}.{}", target.extension()), &nb);
            let reopened = notebook::open(&saved).unwrap();
            assert_eq!(content(&reopened, target), content(&nb, target), "{name} as {target:?}");
            if target != Format::Percent {
                assert_eq!(reopened.language, nb.language, "{name} as {target:?}");
            }
            if target == Format::Ipynb {
                validate_with_jupyter(&saved);
            }
            // Saving the reopened file again changes nothing.
            let again = save_in(dir.path(), &format!("again-{name}.{}", target.extension()), &reopened);
            assert_eq!(read(&again), read(&saved), "{name} as {target:?}, saved twice");
        }
    }
}

#[test]
fn outputs_survive_save_as_livebook_and_back() {
    let nb = notebook::open(&fixture("jupyter-4.5.ipynb")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = save_in(dir.path(), "from-jupyter.livemd", &nb);
    let text = String::from_utf8(read(&saved)).unwrap();
    assert!(
        text.starts_with(
            "<!-- livebook:{\"default_language\":\"python\",\"persist_outputs\":true} -->\n\n# Fixture notebook\n"
        ),
        "{}",
        &text[..200]
    );
    let reopened = notebook::open(&saved).unwrap();
    let hello = &reopened.sections[0].cells[1];
    assert_eq!(hello.outputs, [Output::stream("stdout", "héllo wörld 🌍")]);
    // An image has no text form in a .livemd; its text/plain stands in.
    let rich = &reopened.sections[1].cells[0].outputs;
    assert_eq!(rich[0].display_text(), "<IPython.core.display.Image object>");
}

/// Checks that opening `bytes` as `name` fails with an error mentioning
/// `location` (and the file name), and leaves the file as it was.
fn refuses(dir: &Path, name: &str, bytes: &[u8], location: Option<&str>) -> NotebookError {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let err = notebook::open(&path).expect_err(name);
    let message = err.to_string();
    assert!(message.contains(name), "{name}: {message}");
    if let Some(location) = location {
        assert_eq!(err.location().as_deref(), Some(location), "{name}: {message}");
    }
    assert_eq!(read(&path), bytes, "{name} was changed");
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified);
    err
}

#[test]
fn malformed_files_give_errors_that_say_where_and_stay_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = read(&fixture("jupyter-4.5.ipynb"));

    let truncated = refuses(d, "truncated.ipynb", &good[..1000], None);
    assert!(
        matches!(truncated, NotebookError::Parse { error: ParseError::Json { line, .. }, .. } if line > 10),
        "{truncated}"
    );
    refuses(d, "empty.ipynb", b"", Some("line 1, column 0"));
    refuses(d, "not-an-object.ipynb", b"[1, 2, 3]", Some("(top level)"));
    let v3 = refuses(
        d,
        "v3.ipynb",
        br#"{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}"#,
        Some("nbformat"),
    );
    assert!(v3.to_string().contains("nbformat 3.0 is not supported"), "{v3}");
    refuses(
        d,
        "v5.ipynb",
        br#"{"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}"#,
        Some("nbformat"),
    );
    refuses(
        d,
        "string-version.ipynb",
        br#"{"nbformat": "4", "nbformat_minor": 4, "metadata": {}, "cells": []}"#,
        Some("nbformat"),
    );
    let nb = |cells: &str| format!(r#"{{"nbformat": 4, "nbformat_minor": 4, "metadata": {{}}, "cells": {cells}}}"#);
    refuses(
        d,
        "no-cells.ipynb",
        br#"{"nbformat": 4, "nbformat_minor": 4, "metadata": {}}"#,
        Some("cells"),
    );
    refuses(
        d,
        "no-metadata.ipynb",
        br#"{"nbformat": 4, "nbformat_minor": 4, "cells": []}"#,
        Some("metadata"),
    );
    refuses(d, "cells-not-a-list.ipynb", nb("{}").as_bytes(), Some("cells"));
    refuses(
        d,
        "no-source.ipynb",
        nb(r#"[{"cell_type": "markdown", "metadata": {}, "source": ""}, {"cell_type": "code", "metadata": {}}]"#)
            .as_bytes(),
        Some("cells[1].source"),
    );
    refuses(
        d,
        "no-type.ipynb",
        nb(r#"[{"metadata": {}, "source": ""}]"#).as_bytes(),
        Some("cells[0].cell_type"),
    );
    refuses(
        d,
        "odd-type.ipynb",
        nb(r#"[{"cell_type": "sql", "metadata": {}, "source": ""}]"#).as_bytes(),
        Some("cells[0].cell_type"),
    );
    refuses(
        d,
        "bad-output.ipynb",
        nb(r#"[{"cell_type": "code", "metadata": {}, "execution_count": null, "source": "", "outputs": [{"output_type": "stream", "name": "stdout", "text": 3}]}]"#)
            .as_bytes(),
        Some("cells[0].outputs[0].text"),
    );
    refuses(
        d,
        "error-without-ename.ipynb",
        nb(r#"[{"cell_type": "code", "metadata": {}, "execution_count": null, "source": "", "outputs": [{"output_type": "error", "evalue": "", "traceback": []}]}]"#)
            .as_bytes(),
        Some("cells[0].outputs[0].ename"),
    );
    refuses(
        d,
        "negative-count.ipynb",
        nb(r#"[{"cell_type": "code", "metadata": {}, "source": "", "execution_count": -1, "outputs": []}]"#).as_bytes(),
        Some("cells[0].execution_count"),
    );
    // Deep nesting stops at serde_json's recursion limit, not the stack's.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    refuses(d, "deep.ipynb", deep.as_bytes(), None);

    let mut garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    garbage[100] = 0;
    for name in ["garbage.ipynb", "garbage.livemd", "garbage.py"] {
        let err = refuses(d, name, &garbage, None);
        assert!(
            err.to_string().contains("not a text file") || err.to_string().contains("not UTF-8"),
            "{err}"
        );
    }
    refuses(
        d,
        "latin1.livemd",
        b"# Title\n\n## S\n\ncaf\xe9\n",
        Some("line 5, column 4"),
    );
    refuses(d, "nul.py", b"x = 1\ny = 2\0\n", Some("line 2"));
    refuses(
        d,
        "bad-comment.livemd",
        b"# T\n\n<!-- livebook:{\"persist_outputs\": -->\n",
        Some("line 3"),
    );
    refuses(
        d,
        "comment-not-object.livemd",
        b"# T\n\n## S\n\n<!-- livebook:[1] -->\n",
        Some("line 5"),
    );

    let unknown = refuses(d, "notes.txt", b"hello", None);
    assert!(matches!(unknown, NotebookError::UnknownFormat { .. }));
    assert!(matches!(
        notebook::open(&d.join("missing.ipynb")),
        Err(NotebookError::Read { .. })
    ));
    std::fs::create_dir(d.join("folder.ipynb")).unwrap();
    assert!(matches!(
        notebook::open(&d.join("folder.ipynb")),
        Err(NotebookError::Read { .. })
    ));
}

#[test]
fn a_200_mb_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.ipynb");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(200 * 1024 * 1024).unwrap();
    drop(file);
    let started = Instant::now();
    let err = notebook::open(&path).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "it was read: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, NotebookError::TooLarge { size, .. } if size == 200 * 1024 * 1024),
        "{err}"
    );
    assert!(err.to_string().contains("huge.ipynb"));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 200 * 1024 * 1024);
}

/// A notebook with a huge output: about `mib` MiB of text in one cell.
fn notebook_with_output(mib: usize, marker: &str) -> Notebook {
    let mut nb = notebook::parse(
        Format::Ipynb,
        r#"{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
    )
    .unwrap();
    let line = format!("{marker} — a line of output that is long enough to matter ✓\n");
    let mut cell = Cell::code("for i in range(10**6): print(i)");
    cell.outputs
        .push(Output::stream("stdout", line.repeat(mib * 1024 * 1024 / line.len())));
    cell.execution_count = Some(1);
    nb.sections[0].cells.push(cell);
    nb
}

#[test]
fn a_huge_output_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let nb = notebook_with_output(20, "big");
    let saved = save_in(dir.path(), "huge-output.ipynb", &nb);
    let reopened = notebook::open(&saved).unwrap();
    assert_eq!(without_ids(reopened.clone()), without_ids(nb));
    let again = save_in(dir.path(), "again.ipynb", &reopened);
    assert!(read(&again) == read(&saved));
}

const SAVER_ENV: &str = "RUNYARD_TEST_SAVE_LOOP";

/// Runs only inside the helper process of `a_killed_save_never_damages_the_file`:
/// saves two different notebooks to one file, over and over, until killed.
#[test]
#[ignore = "helper process for a_killed_save_never_damages_the_file"]
fn save_loop() {
    let Some(path) = std::env::var_os(SAVER_ENV) else {
        return;
    };
    let path = PathBuf::from(path);
    let (a, b) = (notebook_with_output(4, "old"), notebook_with_output(4, "new"));
    println!("SAVING");
    loop {
        notebook::save(&path, &b).unwrap();
        notebook::save(&path, &a).unwrap();
    }
}

#[test]
fn a_killed_save_never_damages_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("precious.ipynb");
    let (a, b) = (notebook_with_output(4, "old"), notebook_with_output(4, "new"));
    notebook::save(&path, &a).unwrap();
    let old = read(&path);
    notebook::save(&path, &b).unwrap();
    let new = read(&path);
    notebook::save(&path, &a).unwrap();

    let mut seen_new = false;
    for round in 0..12 {
        let mut helper = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "save_loop", "--ignored", "--nocapture", "--test-threads=1"])
            .env(SAVER_ENV, &path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until it saves, then kill it at a random moment within a few saves.
        let mut stdout = std::io::BufReader::new(helper.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("SAVING") {
            line.clear();
            if std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() == 0 {
                break;
            }
        }
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        std::thread::sleep(Duration::from_millis(20 + u64::from(nanos % 400)));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(helper.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        helper.wait().unwrap();

        let bytes = read(&path);
        assert!(
            bytes == old || bytes == new,
            "round {round}: the file is neither the old nor the new notebook"
        );
        seen_new |= bytes == new;
        notebook::open(&path).unwrap();
    }
    eprintln!("the killed saver left the new notebook in some rounds: {seen_new}");
}

#[test]
fn a_notebook_made_in_runyard_saves_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for language in [Language::Python, Language::Elixir] {
        let mut nb = Notebook::new(language.clone());
        nb.title = Some("New".into());
        nb.sections[0].cells.push(Cell::markdown("Intro"));
        nb.sections[0].cells.push(Cell::code("1 + 1"));
        nb.sections.push(notebook::Section {
            title: "More".into(),
            cells: vec![Cell::code("2 + 2")],
            ..Default::default()
        });
        for format in Format::ALL {
            let name = format!("new-{}.{}", language.name(), format.extension());
            let saved = save_in(dir.path(), &name, &nb);
            let reopened = notebook::open(&saved).unwrap();
            assert_eq!(content(&reopened, format), content(&nb, format), "{name}");
            if format == Format::Ipynb {
                validate_with_jupyter(&saved);
                assert_eq!(reopened.language, language);
            }
        }
    }
}

/// Truncated and corrupted versions of every fixture: each reader answers
/// with a notebook or an error, never a panic.
#[test]
fn damaged_files_never_make_a_reader_panic() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for (name, format) in [
        ("jupyter-4.5.ipynb", Format::Ipynb),
        ("livebook.livemd", Format::Livemd),
        ("script.py", Format::Percent),
    ] {
        let text = String::from_utf8(read(&fixture(name))).unwrap();
        // The ipynb fixture is mostly one long output: damage its first part.
        let span = text.len().min(20_000);
        for _ in 0..150 {
            let mut cut = next() % span;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let _ = notebook::parse(format, &text[..cut]);
            let mut damaged: Vec<char> = text[..span].chars().collect();
            for _ in 0..4 {
                let at = next() % damaged.len();
                damaged[at] = ['{', '}', '"', '[', '\n', '`', '#', '<', '-', ' ', 'é'][next() % 11];
            }
            let damaged: String = damaged.into_iter().collect();
            if let Ok(nb) = notebook::parse(format, &damaged) {
                // Whatever was read can be written, and reads back to the same file.
                let written = notebook::to_string(format, &nb);
                let again = notebook::to_string(format, &notebook::parse(format, &written).unwrap());
                assert_eq!(again, written, "{name}: not stable after damage");
            }
        }
    }
}
