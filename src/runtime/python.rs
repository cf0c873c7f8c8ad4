//! The Python runtime: its agent, embedded at build time, and its command line.

use std::ffi::OsString;
use std::io::Write;
use std::sync::OnceLock;

use base64::Engine;
use nix::sys::signal::Signal;

/// The agent's source as written, embedded at build time. It travels as
/// [`agent_source`], on the command line (`python3 -c`), so that nothing has
/// to be installed next to the binary.
pub const AGENT_SOURCE: &str = include_str!("../../assets/agents/python_agent.py");

/// The blocks the agent compiles only when first needed (rich outputs,
/// IPython syntax, completion): see the top of the agent.
const LAZY_BLOCKS: [&str; 3] = ["_R", "_M", "_C"];

/// The agent as it goes on the command line (and to remote hosts): its lazily
/// compiled blocks zlib-compressed and base64-encoded, at about 40 % of their
/// size. CPython keeps its `-c` argument for the process's whole life, in
/// several copies, wide-character ones among them: every character costs
/// about 20 bytes of resident memory (measured: 26,000 more characters, 530
/// KiB more RSS), and the agent's idle RSS is a goal (≤ 15 MiB). Each block
/// keeps its line count, so line numbers in tracebacks stay the file's; the
/// agent's `unpack` takes either form.
pub fn agent_source() -> &'static str {
    static PACKED: OnceLock<String> = OnceLock::new();
    PACKED.get_or_init(|| pack(AGENT_SOURCE))
}

/// Replaces each `NAME = r'''TEXT'''` of [`LAZY_BLOCKS`] by
/// `NAME = '''BASE64\n…'''` with as many newlines as TEXT had.
fn pack(source: &str) -> String {
    let mut out = source.to_string();
    for name in LAZY_BLOCKS {
        let open = format!("\n{name} = r'''");
        let Some(start) = out.find(&open) else {
            continue;
        };
        let body = start + open.len();
        let Some(len) = out[body..].find("'''") else {
            continue;
        };
        let text = &out[body..body + len];
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let compressed = zlib
            .write_all(text.as_bytes())
            .and_then(|()| zlib.finish())
            .expect("compressing in memory");
        let encoded = base64::engine::general_purpose::STANDARD.encode(compressed);
        let packed = format!("\n{name} = '''{encoded}{}'''", "\n".repeat(text.matches('\n').count()));
        out.replace_range(start..body + len + 3, &packed);
    }
    out
}

/// The agent kills its own process group on SIGTERM (through a wakeup fd
/// watched by a thread, so a main thread blocked in a call that releases the
/// GIL does not delay it); SIGKILL would leave what user code spawned running.
pub const DEATH_SIGNAL: Signal = Signal::SIGTERM;

/// Arguments after the interpreter: `-c <agent> <node name> <token>`.
pub fn agent_args(node_name: &str, token: &str) -> Vec<OsString> {
    vec!["-c".into(), agent_source().into(), node_name.into(), token.into()]
}

/// The command line as shown to users, with the agent's source elided.
pub fn display_command(executable: &str, extra_args: &[String], node_name: &str) -> String {
    let mut parts = vec![executable.to_string()];
    parts.extend(extra_args.iter().cloned());
    parts.extend([
        "-c".to_string(),
        "<runyard python agent>".to_string(),
        node_name.to_string(),
        "<token>".to_string(),
    ]);
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lazy_blocks_travel_compressed_with_their_line_counts() {
        let packed = agent_source();
        assert!(
            packed.len() * 10 < AGENT_SOURCE.len() * 7,
            "{} of {}",
            packed.len(),
            AGENT_SOURCE.len()
        );
        assert_eq!(
            packed.lines().count(),
            AGENT_SOURCE.lines().count(),
            "line numbers stay the file's"
        );
        for name in LAZY_BLOCKS {
            assert!(
                AGENT_SOURCE.contains(&format!("\n{name} = r'''")),
                "{name} is still in the agent"
            );
            assert!(!packed.contains(&format!("\n{name} = r'''")), "{name} was packed");
            let start = packed.find(&format!("\n{name} = '''")).unwrap() + name.len() + 7;
            let len = packed[start..].find("'''").unwrap();
            let encoded: String = packed[start..start + len].split_whitespace().collect();
            let compressed = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::ZlibDecoder::new(&compressed[..]), &mut text).unwrap();
            let original = format!("\n{name} = r'''{text}'''");
            assert!(AGENT_SOURCE.contains(&original), "{name} unpacks to what was written");
        }
    }
}
