//! The wire protocol between the manager and a runtime agent (docs/protocol.md):
//! RS-framed JSON (RFC 7464) over a byte stream, and the typed messages.

pub mod bundle;
pub mod capture;

pub use bundle::Bundle;

use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change; checked at the handshake.
pub const PROTOCOL_VERSION: u32 = 4;

/// The most matches one `completions` message carries.
pub const MAX_MATCHES: usize = 500;
/// The most characters of one entry of a `documentation` bundle (64 Ki).
pub const MAX_DOC_CHARS: usize = 64 * 1024;
/// The longest code a `complete` or `inspect` looks at, in characters:
/// longer code gets an empty answer (a cell is rarely a tenth of it).
pub const MAX_QUERY_CODE: usize = 1_000_000;

/// The record separator that opens every frame.
pub const RS: u8 = 0x1E;

/// Frames larger than this are dropped unread: no agent message comes close
/// (agents chunk output at 64 KiB, cut results at 1,000,000 characters and
/// replace a display over [`MAX_OUTPUT_BYTES`] by a note).
pub const MAX_FRAME: usize = 40 * 1024 * 1024;

/// The default size cap of one display's data, as sent (base64 included).
pub const DEFAULT_OUTPUT_BYTES: u64 = 20 * 1024 * 1024;
/// The largest cap a user may set: a capped display still fits in a frame.
pub const MAX_OUTPUT_BYTES: u64 = 32 * 1024 * 1024;
/// Rows of a table sent by default; the rest are counted, not sent.
pub const DEFAULT_TABLE_ROWS: u32 = 1000;

/// A message from the manager to an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToAgent {
    Evaluate {
        container: String,
        #[serde(rename = "ref")]
        evaluation_ref: String,
        #[serde(rename = "prev")]
        prev_evaluation_ref: Option<String>,
        /// The container `prev` was evaluated in, when not this one: a section's
        /// first cell continues from the last cell of the section above.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prev_container: Option<String>,
        code: String,
        /// Names the code in tracebacks, e.g. `cell 3`.
        file: String,
        /// How values are displayed; the agent's defaults when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        options: Option<DisplayOptions>,
        /// A branching section's evaluation: started at once, beside the main
        /// flow, by an agent that can (Elixir); others queue it as usual.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        branch: bool,
    },
    Forget {
        container: String,
        #[serde(rename = "ref")]
        evaluation_ref: String,
    },
    DropContainer {
        container: String,
    },
    Interrupt,
    Memory,
    Stop,
    /// The answer to the pending `input_request`: a line without its
    /// newline, or `null` for end of input (`EOFError`, `:eof`).
    InputReply {
        value: Option<String>,
    },
    /// What could be typed at the cursor: answered by one `completions`,
    /// at once, even while an evaluation runs.
    Complete(CompletionRequest),
    /// The signature and documentation of the name under the cursor:
    /// answered by one `documentation`, at once, even while an evaluation runs.
    Inspect {
        #[serde(flatten)]
        request: CompletionRequest,
        /// 0: signature and docstring; 1: the source too, where there is one.
        detail: u8,
    },
}

/// A cursor in a cell's code, with the context to look names up in: the
/// one an evaluation of that cell would start from (`container`, `prev`,
/// `prev_container` as in `evaluate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// Chosen by the caller and echoed in the answer; callers number their
    /// requests upwards and drop an answer whose id is not their latest.
    pub id: u64,
    pub container: String,
    /// The evaluation whose context names come from; `None`: a fresh context.
    #[serde(rename = "prev")]
    pub prev_evaluation_ref: Option<String>,
    /// The container of `prev` when it is not `container`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_container: Option<String>,
    pub code: String,
    /// Where the cursor is in `code`, in characters (Unicode code points,
    /// not bytes, not UTF-16 units), from 0 to the code's length.
    pub cursor: usize,
}

/// One thing that could be typed at the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// What replaces the answer's `start..end` range.
    pub text: String,
    pub kind: CompletionKind,
    /// For callables: the parameters, e.g. `(a, b=1)` (Python) or
    /// `map(enumerable, fun)` (Elixir, one line per arity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What a completion is, for its icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionKind {
    Function,
    Module,
    Class,
    Keyword,
    Variable,
    Attribute,
    /// An attribute whose value only running code gives (a property, a
    /// descriptor): listed, never read.
    Property,
    /// A keyword argument of the call the cursor is in (`text` ends in `=`).
    Parameter,
    /// A dictionary key (Python `d["…`), without its quotes.
    Key,
    /// A file or directory (Jupyter kernels).
    Path,
    /// An IPython magic (Jupyter kernels).
    Magic,
    /// Anything a runtime sends that is none of the above.
    #[serde(other)]
    Other,
}

/// A message from an agent to the manager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromAgent {
    Hello(Hello),
    Output {
        #[serde(rename = "ref")]
        evaluation_ref: Option<String>,
        stream: Stream,
        text: String,
    },
    /// The evaluation `ref` waits for a line of input (`input()`,
    /// `IO.gets`); answered by one `input_reply`.
    InputRequest {
        #[serde(rename = "ref", default)]
        evaluation_ref: Option<String>,
        #[serde(default)]
        prompt: String,
        /// Not to be echoed (`getpass`).
        #[serde(default)]
        password: bool,
    },
    /// A rich output of evaluation `ref` (or between evaluations: null).
    /// With `update`, it replaces every earlier output with its
    /// `display_id` instead (Jupyter's `update_display_data`).
    Display {
        #[serde(rename = "ref", default)]
        evaluation_ref: Option<String>,
        bundle: Bundle,
        #[serde(default)]
        display_id: Option<String>,
        #[serde(default)]
        update: bool,
    },
    Result {
        #[serde(rename = "ref")]
        evaluation_ref: String,
        status: ResultStatus,
        /// The last expression's value as a bundle.
        #[serde(default)]
        value: Option<Bundle>,
        #[serde(default)]
        error: Option<EvalError>,
        #[serde(default)]
        duration_us: u64,
    },
    Memory(MemoryUsage),
    Log {
        level: LogLevel,
        message: String,
    },
    /// Sent by an agent that cannot get ready (an attached bridge that cannot
    /// reach its target, say) just before it exits.
    InitError {
        reason: String,
        message: String,
    },
    /// The answer to `complete` `id`: replace the characters `start..end` of
    /// the code (code points, `start <= cursor <= end`) by one of `matches`
    /// (at most [`MAX_MATCHES`], best first).
    Completions {
        id: u64,
        start: usize,
        end: usize,
        #[serde(default)]
        matches: Vec<Completion>,
    },
    /// The answer to `inspect` `id`: `found` says whether there was a name
    /// to document; `bundle` has `text/plain` (and `text/markdown` where the
    /// documentation is Markdown), each at most [`MAX_DOC_CHARS`] characters.
    Documentation {
        id: u64,
        found: bool,
        #[serde(default)]
        bundle: Bundle,
    },
    /// Sent before `hello` by an agent that has work to do before it can be
    /// ready (the Elixir agent compiling itself on a first start): the init
    /// timeout waits meanwhile, up to a longer limit.
    Preparing {
        message: String,
    },
}

/// How an agent displays values: sent with each evaluation, so that a
/// change of the window's width or the settings applies to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayOptions {
    /// Characters per line for the plain value display (`pprint`, `inspect`).
    pub width: u32,
    /// Rows of a table sent; the total is sent with them.
    pub table_rows: u32,
    /// Largest display sent, in bytes of its data; a larger one becomes a note.
    pub max_output_bytes: u64,
}

impl Default for DisplayOptions {
    fn default() -> Self {
        DisplayOptions {
            width: 100,
            table_rows: DEFAULT_TABLE_ROWS,
            max_output_bytes: DEFAULT_OUTPUT_BYTES,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub token: String,
    pub protocol: u32,
    pub pid: u32,
    pub language: String,
    pub language_version: String,
    pub executable: String,
    pub node: String,
    #[serde(default)]
    pub cookie: Option<String>,
    #[serde(default)]
    pub otp_release: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Ok,
    Error,
    Interrupted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// An error raised by evaluated code, with the user's frames only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalError {
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub column: Option<u32>,
    #[serde(default)]
    pub frames: Vec<Frame>,
    #[serde(default)]
    pub formatted: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Empty when the runtime knows no file for the frame.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub file: String,
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub name: String,
    #[serde(default)]
    pub text: Option<String>,
}

/// A missing detail of one frame must not cost the whole result: `null`
/// reads as an empty string.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Memory used by a runtime node, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryUsage {
    pub total: u64,
    /// Named parts (Python: `rss`; Elixir: processes, atom, binary, code, ets, other).
    #[serde(default)]
    pub parts: Vec<(String, u64)>,
}

/// Encodes one message as a frame: RS, JSON, newline.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(RS);
    // Serialising these plain data types cannot fail.
    serde_json::to_writer(&mut out, message).expect("protocol messages always serialise");
    out.push(b'\n');
    out
}

/// One item the decoder found in the byte stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A well-formed message.
    Message(FromAgent),
    /// Bytes outside any frame, kept as output (lossily decoded as UTF-8).
    Stray(String),
    /// A frame that could not be used; the stream carries on after it.
    Bad(FrameError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame was cut short by the next frame ({len} bytes lost)")]
    Truncated { len: usize },
    #[error("a frame of more than {max} bytes was dropped")]
    TooLarge { max: usize },
    #[error("a frame is not a valid message: {reason} (starts with {start:?})")]
    Invalid { reason: String, start: String },
}

/// Splits an agent's byte stream into messages and stray output.
///
/// Memory is bounded by [`MAX_FRAME`] whatever the child writes: stray bytes
/// are handed out as they arrive, and an oversized frame is skipped, not kept.
#[derive(Debug)]
pub struct FrameDecoder {
    state: State,
    frame: Vec<u8>,
    max_frame: usize,
    /// Stray text's character split across reads.
    stray: Utf8Stream,
}

/// Decodes UTF-8 that arrives in pieces: a character split across pieces is
/// put together, invalid bytes become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    partial: Vec<u8>,
}

impl Utf8Stream {
    /// Decodes `bytes` after what is pending; `flush` ends a split character
    /// (something else follows), else its start waits for the next piece.
    pub fn decode(&mut self, bytes: &[u8], flush: bool) -> String {
        let joined;
        let mut rest: &[u8] = if self.partial.is_empty() {
            bytes
        } else {
            let mut all = std::mem::take(&mut self.partial);
            all.extend_from_slice(bytes);
            joined = all;
            &joined
        };
        let mut decoded = String::with_capacity(rest.len());
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    decoded.push_str(valid);
                    return decoded;
                }
                Err(error) => {
                    let (valid, after) = rest.split_at(error.valid_up_to());
                    decoded.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match error.error_len() {
                        Some(bad) => {
                            decoded.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None if flush => {
                            decoded.push(char::REPLACEMENT_CHARACTER);
                            return decoded;
                        }
                        None => {
                            self.partial = after.to_vec();
                            return decoded;
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside a frame: bytes are stray output.
    Outside,
    /// Inside a frame, collecting until `\n`.
    InFrame,
    /// Inside a frame that grew past the limit: skipping until `\n` or RS.
    Skipping,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(MAX_FRAME)
    }
}

impl FrameDecoder {
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder {
            state: State::Outside,
            frame: Vec::new(),
            max_frame,
            stray: Utf8Stream::default(),
        }
    }

    /// Feeds bytes; appends what they complete to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<Decoded>) {
        while !bytes.is_empty() {
            match self.state {
                State::Outside => {
                    let end = memchr(RS, bytes).unwrap_or(bytes.len());
                    // A frame after it ends the stray text; else it may go on in the next read.
                    let text = self.stray.decode(&bytes[..end], end < bytes.len());
                    if !text.is_empty() {
                        out.push(Decoded::Stray(text));
                    }
                    if end < bytes.len() {
                        self.state = State::InFrame;
                        self.frame.clear();
                        bytes = &bytes[end + 1..];
                    } else {
                        bytes = &[];
                    }
                }
                State::InFrame => {
                    let stop = bytes.iter().position(|&b| b == b'\n' || b == RS);
                    let take = stop.unwrap_or(bytes.len());
                    if self.frame.len() + take > self.max_frame {
                        self.frame = Vec::new();
                        self.state = State::Skipping;
                        out.push(Decoded::Bad(FrameError::TooLarge { max: self.max_frame }));
                        continue;
                    }
                    self.frame.extend_from_slice(&bytes[..take]);
                    match stop {
                        None => bytes = &[],
                        Some(i) if bytes[i] == b'\n' => {
                            out.push(parse_frame(&self.frame));
                            self.frame.clear();
                            self.state = State::Outside;
                            bytes = &bytes[i + 1..];
                        }
                        Some(i) => {
                            out.push(Decoded::Bad(FrameError::Truncated { len: self.frame.len() }));
                            self.frame.clear();
                            bytes = &bytes[i + 1..];
                        }
                    }
                }
                State::Skipping => match bytes.iter().position(|&b| b == b'\n' || b == RS) {
                    None => bytes = &[],
                    Some(i) => {
                        self.state = if bytes[i] == RS { State::InFrame } else { State::Outside };
                        bytes = &bytes[i + 1..];
                    }
                },
            }
        }
    }

    /// Bytes of an unfinished frame held at end of stream, if any.
    pub fn finish(&mut self, out: &mut Vec<Decoded>) {
        let text = self.stray.decode(&[], true);
        if !text.is_empty() {
            out.push(Decoded::Stray(text));
        }
        if self.state == State::InFrame && !self.frame.is_empty() {
            out.push(Decoded::Bad(FrameError::Truncated { len: self.frame.len() }));
        }
        self.frame = Vec::new();
        self.state = State::Outside;
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn parse_frame(frame: &[u8]) -> Decoded {
    match serde_json::from_slice::<FromAgent>(frame) {
        Ok(message) => Decoded::Message(message),
        Err(err) => {
            let start: String = String::from_utf8_lossy(&frame[..frame.len().min(80)]).into_owned();
            Decoded::Bad(FrameError::Invalid {
                reason: err.to_string(),
                start,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<Decoded> {
        let mut decoder = FrameDecoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.push(chunk, &mut out);
        }
        decoder.finish(&mut out);
        out
    }

    fn output_frame(text: &str) -> Vec<u8> {
        let mut frame = vec![RS];
        frame.extend_from_slice(
            format!(
                r#"{{"type":"output","ref":"a","stream":"stdout","text":{}}}"#,
                serde_json::to_string(text).unwrap()
            )
            .as_bytes(),
        );
        frame.push(b'\n');
        frame
    }

    fn is_output(decoded: &Decoded, want: &str) -> bool {
        matches!(decoded, Decoded::Message(FromAgent::Output { text, .. }) if text == want)
    }

    #[test]
    fn encodes_commands_as_rs_framed_json() {
        let frame = encode(&ToAgent::Evaluate {
            container: "s1".into(),
            evaluation_ref: "c2".into(),
            prev_evaluation_ref: None,
            prev_container: None,
            code: "print('a\nb')".into(),
            file: "cell 2".into(),
            options: None,
            branch: false,
        });
        assert_eq!(frame[0], RS);
        assert_eq!(*frame.last().unwrap(), b'\n');
        assert_eq!(
            frame.iter().filter(|&&b| b == b'\n').count(),
            1,
            "no raw newline inside the JSON"
        );
        let json: serde_json::Value = serde_json::from_slice(&frame[1..frame.len() - 1]).unwrap();
        assert_eq!(json["type"], "evaluate");
        assert_eq!(json["ref"], "c2");
        assert_eq!(json["prev"], serde_json::Value::Null);
        assert_eq!(encode(&ToAgent::Interrupt), b"\x1e{\"type\":\"interrupt\"}\n");
    }

    #[test]
    fn completion_messages_have_the_documented_shape() {
        let request = CompletionRequest {
            id: 12,
            container: "s1".into(),
            prev_evaluation_ref: Some("c3".into()),
            prev_container: None,
            code: "pd.re".into(),
            cursor: 5,
        };
        let frame = encode(&ToAgent::Inspect {
            request: request.clone(),
            detail: 1,
        });
        let json: serde_json::Value = serde_json::from_slice(&frame[1..frame.len() - 1]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "inspect", "id": 12, "container": "s1", "prev": "c3",
                               "code": "pd.re", "cursor": 5, "detail": 1})
        );
        let frame = encode(&ToAgent::Complete(request));
        let json: serde_json::Value = serde_json::from_slice(&frame[1..frame.len() - 1]).unwrap();
        assert_eq!(json["type"], "complete");
        assert!(json.get("detail").is_none() && json.get("prev_container").is_none());

        let answer = br#"{"type":"completions","id":12,"start":3,"end":5,"matches":[{"text":"read_csv","kind":"function","signature":"(path)"},{"text":"x","kind":"macro"}]}"#;
        match parse_frame(answer) {
            Decoded::Message(FromAgent::Completions {
                id,
                start,
                end,
                matches,
            }) => {
                assert_eq!((id, start, end), (12, 3, 5));
                assert_eq!(matches[0].kind, CompletionKind::Function);
                assert_eq!(matches[0].signature.as_deref(), Some("(path)"));
                assert_eq!(
                    matches[1].kind,
                    CompletionKind::Other,
                    "a kind this Runyard does not know"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decodes_frames_split_at_every_byte() {
        let frame = output_frame("héllo");
        let chunks: Vec<&[u8]> = frame.chunks(1).collect();
        let out = decode_all(&chunks);
        assert_eq!(out.len(), 1);
        assert!(is_output(&out[0], "héllo"), "{out:?}");
    }

    #[test]
    fn keeps_stray_bytes_and_resynchronises() {
        let mut stream = b"garbage from C\n".to_vec();
        stream.extend(output_frame("one"));
        stream.extend(b"more junk \xff\xfe");
        stream.extend(output_frame("two"));
        let out = decode_all(&[&stream]);
        assert!(matches!(&out[0], Decoded::Stray(s) if s == "garbage from C\n"));
        assert!(is_output(&out[1], "one"));
        assert!(matches!(&out[2], Decoded::Stray(s) if s.starts_with("more junk ") && s.contains('\u{FFFD}')));
        assert!(is_output(&out[3], "two"));
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn a_truncated_frame_is_reported_and_the_next_one_survives() {
        let mut stream = b"\x1e{\"type\":\"output\",\"te".to_vec();
        stream.extend(output_frame("after"));
        let out = decode_all(&[&stream]);
        assert!(matches!(out[0], Decoded::Bad(FrameError::Truncated { .. })), "{out:?}");
        assert!(is_output(&out[1], "after"));
    }

    #[test]
    fn bad_json_unknown_types_and_invalid_utf8_are_reported_not_fatal() {
        let mut stream = b"\x1enot json\n".to_vec();
        stream.extend(b"\x1e{\"type\":\"launch_missiles\"}\n");
        stream.extend(b"\x1e{\"type\":\"output\",\"ref\":null,\"stream\":\"stdout\",\"text\":\"\xff\"}\n");
        stream.extend(output_frame("ok"));
        let out = decode_all(&[&stream]);
        assert_eq!(out.len(), 4, "{out:?}");
        for bad in &out[..3] {
            assert!(matches!(bad, Decoded::Bad(FrameError::Invalid { .. })), "{bad:?}");
        }
        assert!(is_output(&out[3], "ok"));
    }

    #[test]
    fn an_oversized_frame_is_skipped_without_buffering_it() {
        let mut decoder = FrameDecoder::new(1024);
        let mut out = Vec::new();
        decoder.push(b"\x1e{\"type\":\"output\",\"text\":\"", &mut out);
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..100 {
            decoder.push(&chunk, &mut out);
            assert!(
                decoder.frame.capacity() <= 2048,
                "the decoder must not keep an oversized frame"
            );
        }
        decoder.push(b"\"}\n", &mut out);
        decoder.push(&output_frame("next"), &mut out);
        assert!(matches!(out[0], Decoded::Bad(FrameError::TooLarge { max: 1024 })));
        assert!(is_output(&out[1], "next"), "{out:?}");
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_100_mb_line_of_stray_output_is_passed_on_in_pieces() {
        let mut decoder = FrameDecoder::default();
        let chunk = vec![b'y'; 1024 * 1024];
        let mut total = 0;
        for _ in 0..100 {
            let mut out = Vec::new();
            decoder.push(&chunk, &mut out);
            for item in out {
                match item {
                    Decoded::Stray(s) => total += s.len(),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(total, 100 * 1024 * 1024);
        let mut out = Vec::new();
        decoder.push(&output_frame("still works"), &mut out);
        assert!(is_output(&out[0], "still works"));
    }

    #[test]
    fn decodes_every_agent_message() {
        let lines = [
            r#"{"type":"hello","token":"t","protocol":4,"pid":7,"language":"python","language_version":"3.11.7","executable":"/usr/bin/python3","node":"python-x"}"#,
            r#"{"type":"result","ref":"c1","status":"error","value":null,"duration_us":12,"error":{"kind":"ZeroDivisionError","message":"division by zero","line":1,"column":null,"frames":[{"file":"cell 1","line":1,"name":"<module>","text":"1/0"},{"file":null,"name":null}],"formatted":"Traceback"}}"#,
            r#"{"type":"memory","total":100,"parts":[["rss",100]]}"#,
            r#"{"type":"log","level":"warn","message":"m"}"#,
            r#"{"type":"init_error","reason":"unreachable","message":"m"}"#,
        ];
        let mut stream = Vec::new();
        for line in lines {
            stream.push(RS);
            stream.extend(line.as_bytes());
            stream.push(b'\n');
        }
        let out = decode_all(&[&stream]);
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|d| matches!(d, Decoded::Message(_))), "{out:?}");
        match &out[1] {
            Decoded::Message(FromAgent::Result { error: Some(error), .. }) => {
                assert_eq!(error.frames[0].file, "cell 1");
                assert_eq!(error.frames[1].file, "", "a null file reads as empty");
                assert_eq!(error.line, Some(1));
            }
            other => panic!("{other:?}"),
        }
    }
}
