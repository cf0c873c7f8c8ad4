//! Completion and documentation from live runtimes (docs/protocol.md,
//! `complete` / `inspect`): real python3, real elixir, real ipykernel from
//! the test venv, through the manager as the editor uses them.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use runyard::manager::{Command, Completion, CompletionKind, CompletionRequest};
use runyard::protocol::Bundle;
use runyard::{Event, RuntimeConfig, SessionId};

const S: SessionId = SessionId(1);

/// What one `complete` came back with.
struct Answer {
    start: usize,
    end: usize,
    matches: Vec<Completion>,
}

impl Answer {
    fn texts(&self) -> Vec<&str> {
        self.matches.iter().map(|m| m.text.as_str()).collect()
    }

    fn find(&self, text: &str) -> &Completion {
        self.matches
            .iter()
            .find(|m| m.text == text)
            .unwrap_or_else(|| panic!("{text:?} is not among {:?}", self.texts()))
    }

    fn has(&self, text: &str) -> bool {
        self.matches.iter().any(|m| m.text == text)
    }
}

fn request(id: u64, prev: Option<&str>, code: &str, cursor: Option<usize>) -> CompletionRequest {
    CompletionRequest {
        id,
        container: "main".into(),
        prev_evaluation_ref: prev.map(Into::into),
        prev_container: None,
        code: code.into(),
        cursor: cursor.unwrap_or_else(|| code.chars().count()),
    }
}

/// Asks for completions at the end of `code` (or at `cursor`), in the
/// context `prev` left, and waits for the answer with that id.
fn complete_at(h: &mut Harness, id: u64, prev: Option<&str>, code: &str, cursor: Option<usize>) -> Answer {
    h.manager.send(Command::Complete {
        session: S,
        request: request(id, prev, code, cursor),
    });
    h.wait_for(&format!("completions {id}"), |e| match e {
        Event::Completions {
            id: i,
            start,
            end,
            matches,
            ..
        } if *i == id => Some(Answer {
            start: *start,
            end: *end,
            matches: matches.clone(),
        }),
        _ => None,
    })
}

fn complete(h: &mut Harness, id: u64, prev: Option<&str>, code: &str) -> Answer {
    complete_at(h, id, prev, code, None)
}

fn inspect(h: &mut Harness, id: u64, prev: Option<&str>, code: &str) -> (bool, Bundle) {
    h.manager.send(Command::Inspect {
        session: S,
        request: request(id, prev, code, None),
        detail: 0,
    });
    h.wait_for(&format!("documentation {id}"), |e| match e {
        Event::Documentation {
            id: i, found, bundle, ..
        } if *i == id => Some((*found, bundle.clone())),
        _ => None,
    })
}

fn plain(bundle: &Bundle) -> String {
    bundle.text()
}

fn python() -> Harness {
    let mut h = Harness::new();
    h.connect(S, python_config());
    h
}

const PYTHON_SETUP: &str = "\
import os, collections
counter = 0
data = {'alpha': 1, 'beta': 2, 7: 'seven'}
def fit(model, *, learning_rate=0.1, epochs=10):
    'Fits the model.'
    return model
class Point:
    'A point in the plane.'
    def __init__(self, x, y):
        self.x, self.y = x, y
    def norm(self, squared=False):
        return 0
point = Point(1, 2)
";

#[test]
fn python_completes_names_attributes_modules_keyword_arguments_and_dict_keys() {
    let mut h = python();
    h.eval(S, "c1", None, PYTHON_SETUP).value();

    // Names of the context, builtins and keywords, replacing what was typed.
    let names = complete(&mut h, 1, Some("c1"), "x = cou");
    assert_eq!((names.start, names.end), (4, 7));
    assert_eq!(names.find("counter").kind, CompletionKind::Variable);
    let names = complete(&mut h, 2, Some("c1"), "pri");
    assert_eq!(names.find("print").kind, CompletionKind::Function);
    assert!(
        names
            .find("print")
            .signature
            .as_deref()
            .is_some_and(|s| s.contains("sep="))
    );
    let names = complete(&mut h, 3, Some("c1"), "whi");
    assert_eq!(names.find("while").kind, CompletionKind::Keyword);
    // A fresh context (no prev) has no user names.
    assert!(!complete(&mut h, 4, None, "cou").has("counter"));

    // Attributes of an object, of a class, of a module; private ones only when asked.
    let attrs = complete(&mut h, 5, Some("c1"), "point.");
    assert_eq!(
        attrs.texts(),
        ["norm", "x", "y"],
        "instance and class attributes, no dunders"
    );
    assert_eq!(
        attrs.find("norm").signature.as_deref(),
        Some("(squared=False)"),
        "bound: no self"
    );
    assert!(complete(&mut h, 6, Some("c1"), "point.__").has("__init__"));
    let module = complete(&mut h, 7, Some("c1"), "os.pa");
    assert_eq!((module.start, module.end), (3, 5));
    assert_eq!(module.find("path").kind, CompletionKind::Module);
    assert!(module.has("pathsep"));
    let class = complete(&mut h, 8, Some("c1"), "collections.OrderedDict.move");
    assert_eq!(class.texts(), ["move_to_end"]);

    // Module names for import statements, without importing anything.
    let modules = complete(&mut h, 9, Some("c1"), "import collec");
    assert_eq!(modules.find("collections").kind, CompletionKind::Module);
    let sub = complete(&mut h, 10, Some("c1"), "import xml.e");
    assert_eq!((sub.start, sub.texts()), (11, vec!["etree"]));
    let from = complete(&mut h, 11, Some("c1"), "from collections import Ord");
    assert_eq!(from.find("OrderedDict").kind, CompletionKind::Class);
    let unimported = complete(&mut h, 12, Some("c1"), "from email import mi");
    assert!(
        unimported.has("mime"),
        "a submodule of a package not imported: {:?}",
        unimported.texts()
    );
    let imported = h.eval(S, "c2", Some("c1"), "import sys\n'email' in sys.modules");
    assert_eq!(imported.value(), Some("False"), "completing did not import the package");

    // Keyword arguments where an argument starts, then the names.
    let call = complete(&mut h, 13, Some("c1"), "fit(point, ");
    assert_eq!(&call.texts()[..2], ["epochs=", "learning_rate="]);
    assert_eq!(call.find("epochs=").kind, CompletionKind::Parameter);
    assert!(call.has("counter"), "names follow the parameters");
    let call = complete(&mut h, 14, Some("c1"), "fit(point, learning_rate=0.5, e");
    assert!(call.has("epochs=") && !call.has("learning_rate="), "{:?}", call.texts());
    assert!(!complete(&mut h, 15, Some("c1"), "fit(point + ").has("epochs="));

    // Dictionary keys inside a string, and quoted after a bare [.
    let keys = complete(&mut h, 16, Some("c1"), "data['al");
    assert_eq!((keys.start, keys.texts()), (6, vec!["alpha"]));
    assert_eq!(keys.find("alpha").kind, CompletionKind::Key);
    let quoted = complete(&mut h, 17, Some("c1"), "data[");
    assert_eq!(&quoted.texts()[..3], ["'alpha'", "'beta'", "7"]);

    // Nothing inside comments, other strings or numbers.
    for (id, code) in [(18, "# pri"), (19, "s = 'pri"), (20, "x = 1.5")] {
        assert!(complete(&mut h, id, Some("c1"), code).matches.is_empty(), "{code}");
    }
    // The cursor in the middle: what is before it is completed (characters, not bytes).
    let middle = complete_at(&mut h, 21, Some("c1"), "é = pri(1)", Some(7));
    assert_eq!((middle.start, middle.end), (4, 7));
    assert!(middle.has("print"));
}

#[test]
fn python_documentation_is_the_signature_and_docstring_of_the_name_under_the_cursor() {
    let mut h = python();
    h.eval(S, "c1", None, PYTHON_SETUP).value();
    let (found, docs) = inspect(&mut h, 1, Some("c1"), "fit");
    assert!(found);
    let text = plain(&docs);
    assert!(
        text.contains("Signature: fit(model, *, learning_rate=0.1, epochs=10)"),
        "{text}"
    );
    assert!(text.contains("Fits the model."), "{text}");
    // Inside a call's arguments: the function called.
    let (found, docs) = inspect(&mut h, 2, Some("c1"), "fit(point, ");
    assert!(found && plain(&docs).contains("learning_rate=0.1"));
    // An instance: its class's docstring; a method: its bound signature.
    assert!(plain(&inspect(&mut h, 3, Some("c1"), "point").1).contains("A point in the plane."));
    assert!(plain(&inspect(&mut h, 4, Some("c1"), "point.norm").1).contains("point.norm(squared=False)"));
    assert!(!inspect(&mut h, 5, Some("c1"), "undefined_name").0);
    assert!(!inspect(&mut h, 6, Some("c1"), "# fit").0, "comments are not looked up");
}

/// Completion reads classes' and instances' dictionaries: a property, a
/// descriptor, `__getattr__` and `__dir__` with side effects never run. The
/// last evaluation proves that the side effect is real.
#[test]
fn completing_an_object_never_runs_its_properties_descriptors_or_getattr() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("ran");
    let mut h = python();
    let setup = format!(
        "TRACE = {trace:?}\n\
         def ran(what):\n    open(TRACE, 'a').write(what + '\\n')\n    return 1\n\
         class Lazy:\n    def __get__(self, obj, cls):\n        return ran('descriptor')\n\
         class Meta(type):\n    def __getattr__(cls, name):\n        return ran('metaclass getattr')\n\
         class Sneaky(metaclass=Meta):\n\
         \x20   lazy = Lazy()\n\
         \x20   @property\n    def heavy(self):\n        return ran('property')\n\
         \x20   def __getattr__(self, name):\n        return ran('getattr')\n\
         \x20   def __dir__(self):\n        ran('dir')\n        return ['x']\n\
         \x20   def method(self, a):\n        pass\n\
         obj = Sneaky()\n",
        trace = trace.to_str().unwrap()
    );
    h.eval(S, "c1", None, &setup).value();

    let attrs = complete(&mut h, 1, Some("c1"), "obj.");
    assert_eq!(attrs.texts(), ["heavy", "lazy", "method"]);
    assert_eq!(attrs.find("heavy").kind, CompletionKind::Property);
    assert_eq!(attrs.find("lazy").kind, CompletionKind::Property);
    assert_eq!(attrs.find("method").signature.as_deref(), Some("(a)"));
    // After a property, an unknown name or a metaclass: nothing, rather than running code to know.
    for (id, code) in [
        (2, "obj.heavy."),
        (3, "obj.nothing."),
        (4, "Sneaky.nothing."),
        (5, "obj.lazy."),
    ] {
        assert!(complete(&mut h, id, Some("c1"), code).matches.is_empty(), "{code}");
    }
    assert!(
        complete(&mut h, 6, Some("c1"), "Sneaky(")
            .matches
            .iter()
            .all(|m| m.kind != CompletionKind::Parameter)
    );
    let (found, docs) = inspect(&mut h, 7, Some("c1"), "obj.heavy");
    assert!(found && plain(&docs).contains("Type:      property"), "{docs:?}");
    assert!(inspect(&mut h, 8, Some("c1"), "obj.lazy").0);
    assert!(
        !trace.exists(),
        "completion ran user code: {:?}",
        std::fs::read_to_string(&trace)
    );
    // The control: evaluating runs them, and the trace file says so.
    h.eval(S, "c2", Some("c1"), "obj.heavy, obj.lazy, obj.nothing, dir(obj)")
        .value();
    let ran = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(
        ran.lines().collect::<Vec<_>>(),
        ["property", "descriptor", "getattr", "dir"]
    );
}

/// Asks while `sleeping` (a cell that sleeps 5 s) runs: both answers come
/// in well under that, and the cell is still running when they do.
fn answers_while_a_cell_sleeps(h: &mut Harness, sleeping: &str, code: &str, want: &str, docs_of: &str) {
    h.submit(S, "main", "sleeper", Some("c1"), sleeping);
    std::thread::sleep(Duration::from_millis(300)); // the cell is asleep by now
    let asked = Instant::now();
    let answer = complete(h, 100, Some("c1"), code);
    let completed = asked.elapsed();
    let (found, docs) = inspect(h, 101, Some("c1"), docs_of);
    let documented = asked.elapsed();
    assert!(answer.has(want), "{:?}", answer.texts());
    assert!(found && !plain(&docs).is_empty());
    assert!(
        completed < Duration::from_secs(1) && documented < Duration::from_secs(2),
        "completion took {completed:?}, documentation {documented:?}"
    );
    let finished = h.drain_matching(Duration::ZERO, |e| matches!(e, Event::EvaluationFinished { .. }));
    assert!(finished.is_empty(), "the sleeping cell must still run: {finished:?}");
    h.finish(S, "sleeper");
}

#[test]
fn python_answers_while_another_cell_sleeps() {
    let mut h = python();
    h.eval(S, "c1", None, "import time\nlong_name_here = 1").value();
    answers_while_a_cell_sleeps(&mut h, "time.sleep(5)", "long_na", "long_name_here", "time.sleep");
    // The running cell's own namespace is read as it is: a name it bound before sleeping.
    h.submit(S, "main", "c2", Some("c1"), "bound_while_running = 1\ntime.sleep(3)");
    std::thread::sleep(Duration::from_millis(300));
    assert!(complete(&mut h, 3, Some("c2"), "bound_wh").has("bound_while_running"));
    h.finish(S, "c2");
}

#[test]
fn without_a_connected_runtime_the_answer_is_empty_at_once() {
    let mut h = Harness::new();
    let asked = Instant::now();
    let answer = complete(&mut h, 1, None, "pri");
    assert!(answer.matches.is_empty());
    assert!(!inspect(&mut h, 2, None, "print").0);
    assert!(asked.elapsed() < Duration::from_secs(1), "{:?}", asked.elapsed());
}

#[test]
fn malformed_requests_get_empty_answers_and_the_runtime_carries_on() {
    let mut h = python();
    h.eval(S, "c1", None, "value = 1").value();
    let out_of_range = complete_at(&mut h, 1, Some("c1"), "val", Some(99));
    assert!(out_of_range.matches.is_empty());
    let huge = "x".repeat(runyard::protocol::MAX_QUERY_CODE + 1);
    let asked = Instant::now();
    assert!(complete(&mut h, 2, Some("c1"), &huge).matches.is_empty());
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "answered by the manager, not sent"
    );
    // Code just under the limit is looked at, and answered.
    let long = format!("{}\nval", "#".repeat(runyard::protocol::MAX_QUERY_CODE - 10));
    assert!(complete(&mut h, 3, Some("c1"), &long).has("value"));
    assert!(complete(&mut h, 4, Some("c1"), "val").has("value"));
    assert_eq!(h.eval(S, "c2", Some("c1"), "value + 1").value(), Some("2"));
}

/// What the Python agent answers to frames the manager would never send
/// (lone UTF-16 surrogates, wrong types, no id): an empty answer or a
/// warning, and a well-formed request afterwards still works.
#[test]
fn the_python_agent_survives_frames_no_manager_sends() {
    use runyard::protocol::{Decoded, FrameDecoder, FromAgent};
    use std::io::{Read, Write};
    let mut agent = bare_agent(python_config().executable());
    let huge = "x".repeat(runyard::protocol::MAX_QUERY_CODE + 5);
    let frames = [
        r#"{"type":"complete","id":1,"container":"main","prev":null,"code":"pri\ud800nt","cursor":4}"#.to_string(),
        r#"{"type":"inspect","id":2,"container":"main","prev":null,"code":"\udc00\ud800","cursor":2,"detail":1}"#
            .to_string(),
        r#"{"type":"complete","id":3,"container":"main","prev":null,"code":"pri","cursor":-1}"#.to_string(),
        r#"{"type":"complete","id":4,"container":["x"],"prev":7,"code":3,"cursor":"no"}"#.to_string(),
        r#"{"type":"complete","container":"main","prev":null,"code":"pri","cursor":3}"#.to_string(),
        format!(r#"{{"type":"complete","id":5,"container":"main","prev":null,"code":"{huge}","cursor":3}}"#),
        r#"{"type":"complete","id":6,"container":"main","prev":"never","code":"pri","cursor":3}"#.to_string(),
        r#"{"type":"complete","id":7,"container":"main","prev":null,"code":"pri","cursor":3}"#.to_string(),
    ];
    let mut stdin = agent.stdin.take().unwrap();
    for frame in &frames {
        stdin.write_all(format!("\x1e{frame}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        // One at a time: requests that pile up are answered empty as superseded.
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut stdout = agent.stdout.take().unwrap();
    let (mut decoder, mut items, mut buf) = (FrameDecoder::default(), Vec::new(), vec![0u8; 65536]);
    let mut answers = std::collections::BTreeMap::new();
    while !answers.contains_key(&7) {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the agent ended; answers so far {answers:?}");
        decoder.push(&buf[..n], &mut items);
        for item in items.drain(..) {
            match item {
                Decoded::Message(FromAgent::Completions { id, matches, .. }) => {
                    answers.insert(id, matches.len());
                }
                Decoded::Message(FromAgent::Documentation { id, found, .. }) => {
                    answers.insert(id, usize::from(found));
                }
                _ => {}
            }
        }
    }
    drop(stdin);
    agent.wait().unwrap();
    assert_eq!(answers.get(&2), Some(&0), "nothing to document in surrogates");
    for id in [3, 4, 5] {
        assert_eq!(answers.get(&id), Some(&0), "request {id}: {answers:?}");
    }
    assert_eq!(answers.get(&1), Some(&0), "code with a lone surrogate is malformed");
    assert!(answers[&6] > 0, "an unknown prev falls back on a fresh context");
    assert!(answers[&7] > 0, "print and co.");
}

// ---------------------------------------------------------------------------
// Elixir
// ---------------------------------------------------------------------------

fn elixir() -> Option<Harness> {
    if common::elixir::skip() {
        return None;
    }
    let mut h = Harness::new();
    h.connect(S, RuntimeConfig::elixir().with_executable(common::elixir::elixir_exe()));
    Some(h)
}

#[test]
fn elixir_completes_modules_functions_variables_and_erlang_modules() {
    let Some(mut h) = elixir() else { return };
    h.eval(
        S,
        "c1",
        None,
        "my_variable = %{name: 1, size: 2}\nalias String.Chars, as: Stringy\n:ok",
    )
    .value();

    let functions = complete(&mut h, 1, Some("c1"), "Enum.ma");
    assert_eq!((functions.start, functions.end), (5, 7));
    for name in ["map", "map_reduce", "max"] {
        assert_eq!(functions.find(name).kind, CompletionKind::Function);
    }
    assert!(!functions.has("module_info") && !functions.has("__info__"));
    let signature = functions.find("map").signature.clone().unwrap_or_default();
    assert!(signature.contains("map(enumerable, fun)"), "{signature}");
    let modules = complete(&mut h, 2, Some("c1"), "x = Enu");
    assert!(
        modules.has("Enum") && modules.has("Enumerable"),
        "{:?}",
        modules.texts()
    );
    assert_eq!(modules.find("Enum").kind, CompletionKind::Module);
    let nested = complete(&mut h, 3, Some("c1"), "String.Cha");
    assert_eq!((nested.start, nested.texts()), (7, vec!["Chars"]));
    assert!(
        complete(&mut h, 4, Some("c1"), "Stri").has("Stringy"),
        "an alias of the context"
    );

    let variables = complete(&mut h, 5, Some("c1"), "my_va");
    assert_eq!(variables.find("my_variable").kind, CompletionKind::Variable);
    assert!(
        !complete(&mut h, 6, None, "my_va").has("my_variable"),
        "not in a fresh context"
    );
    let keys = complete(&mut h, 7, Some("c1"), "my_variable.si");
    assert_eq!(keys.texts(), ["size"]);
    let imported = complete(&mut h, 8, Some("c1"), "is_ato");
    assert!(imported.has("is_atom"), "Kernel's imports: {:?}", imported.texts());

    let erlang = complete(&mut h, 9, Some("c1"), ":lis");
    assert_eq!((erlang.start, erlang.end), (1, 4));
    assert_eq!(erlang.find("lists").kind, CompletionKind::Module);
    assert!(complete(&mut h, 10, Some("c1"), ":lists.keyf").has("keyfind"));
    for (id, code) in [(11, "# Enum.ma"), (12, "\"Enum.ma"), (13, "1.5")] {
        assert!(complete(&mut h, id, Some("c1"), code).matches.is_empty(), "{code}");
    }
    assert!(
        complete_at(&mut h, 14, Some("c1"), "Enum.ma", Some(50))
            .matches
            .is_empty()
    );
}

#[test]
fn elixir_documentation_is_markdown_from_the_docs_chunk() {
    let Some(mut h) = elixir() else { return };
    h.eval(S, "c1", None, "list = [1, 2]").value();
    let (found, docs) = inspect(&mut h, 1, Some("c1"), "Enum.map");
    assert!(found);
    let markdown = docs.data["text/markdown"].as_str().unwrap();
    assert!(
        markdown.starts_with("```elixir\nEnum.map(enumerable, fun)\n```"),
        "{markdown}"
    );
    assert!(markdown.contains("Returns a list where each element is the result of invoking"));
    assert!(plain(&docs).starts_with("Enum.map(enumerable, fun)"));
    // In a call's arguments: the function called; a module: its moduledoc.
    assert!(inspect(&mut h, 2, Some("c1"), "Enum.map(list, ").0);
    let (found, module) = inspect(&mut h, 3, Some("c1"), "Enum");
    assert!(found && module.data["text/markdown"].as_str().unwrap().starts_with("# Enum"));
    let (found, kernel) = inspect(&mut h, 4, Some("c1"), "is_atom(");
    assert!(found && plain(&kernel).contains("Kernel.is_atom(term)"), "{kernel:?}");
    assert!(!inspect(&mut h, 5, Some("c1"), "list").0, "a variable has no docs");
}

#[test]
fn elixir_answers_while_another_cell_sleeps() {
    let Some(mut h) = elixir() else { return };
    h.eval(S, "c1", None, "long_name_here = 1").value();
    answers_while_a_cell_sleeps(&mut h, "Process.sleep(5000)", "long_na", "long_name_here", "Enum.map");
}

// ---------------------------------------------------------------------------
// Jupyter kernels (ipykernel)
// ---------------------------------------------------------------------------

/// A kernelspec for the test venv's ipykernel, in a fresh directory, with a
/// Jupyter runtime directory of its own.
fn ipykernel() -> (tempfile::TempDir, RuntimeConfig) {
    let dir = tempfile::tempdir().unwrap();
    let spec_dir: PathBuf = dir.path().join("pyk");
    std::fs::create_dir_all(&spec_dir).unwrap();
    let python = test_venv_python();
    let spec = serde_json::json!({
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (test venv)",
        "language": "python",
        "env": {"JUPYTER_RUNTIME_DIR": dir.path().join("runtime")},
    });
    std::fs::write(spec_dir.join("kernel.json"), spec.to_string()).unwrap();
    let spec = runyard::kernels::KernelSpec::read(Path::new(&spec_dir)).unwrap();
    let config = RuntimeConfig::jupyter(spec).with_init_timeout(Duration::from_secs(60));
    (dir, config)
}

#[test]
fn ipykernel_completion_and_documentation_go_through_the_bridge() {
    let (_dir, config) = ipykernel();
    let mut h = Harness::new();
    h.connect(S, config);
    h.eval(
        S,
        "c1",
        None,
        "import os\ndef fit(model, learning_rate=0.1):\n    'Fits the model.'\n",
    )
    .value();
    // A cold jedi (its first completions, parso's caches written) can take longer
    // than the manager waits; those requests are answered empty.
    for id in 1000.. {
        if complete(&mut h, id, None, "fi").has("fit") {
            break;
        }
        assert!(id < 1010, "ipykernel never answered a completion in time");
    }
    let attrs = complete(&mut h, 1, None, "os.pa");
    assert_eq!((attrs.start, attrs.end), (3, 5));
    assert!(attrs.has("path") && attrs.has("pathsep"), "{:?}", attrs.texts());
    assert_eq!(attrs.find("path").kind, CompletionKind::Module, "from IPython's types");
    let names = complete(&mut h, 2, None, "fi");
    assert_eq!(names.find("fit").kind, CompletionKind::Function);
    let (found, docs) = inspect(&mut h, 3, None, "fit");
    let text = plain(&docs);
    assert!(
        found && text.contains("Fits the model.") && text.contains("learning_rate=0.1"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "ANSI colours are taken out");
    assert!(!inspect(&mut h, 4, None, "no_such_name_here").0);

    // ipykernel answers shell requests between executions only: while a cell
    // runs, the manager answers empty after its timeout, and the kernel's
    // late reply (after the cell) is dropped; the next request works.
    h.submit(S, "main", "sleeper", Some("c1"), "import time\ntime.sleep(4)");
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let busy = complete(&mut h, 5, None, "os.pa");
    let waited = asked.elapsed();
    assert!(busy.matches.is_empty(), "{:?}", busy.texts());
    assert!(
        waited >= runyard::manager::QUERY_TIMEOUT - Duration::from_millis(100) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    h.finish(S, "sleeper");
    assert!(complete(&mut h, 6, None, "os.pa").has("path"));
    let late = h.drain_matching(Duration::from_millis(300), |e| {
        matches!(e, Event::Completions { id: 5, .. })
    });
    assert!(late.is_empty(), "one answer per request: {late:?}");
}
