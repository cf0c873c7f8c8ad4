//! The runtime's output pipes, as the manager reads them.
//!
//! An agent that is handed the pipes (see `runtime::supervisor`) writes
//! plain bytes to them, as any program does, and marks where each
//! evaluation's output begins and ends with a line that no program writes by
//! chance: the byte 0x1E, the key from `RUNYARD_CAPTURE`, `b` or `e`, the
//! evaluation ref as a JSON string, and `\n`. Rich outputs travel the same
//! way, so that they keep their place among the text: the key, `d`, a
//! protocol message as one line of JSON (a `display`). Everything else is
//! output. A marker split across reads is put together; a 0x1E that starts
//! no marker is output like any other byte.

use super::{FrameError, FromAgent, MAX_FRAME, Utf8Stream};

/// What one read of a capture pipe held, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Captured {
    Text(String),
    Begin(String),
    End(String),
    /// A message that came in the pipe (a `display`), in its place.
    Message(Box<FromAgent>),
    /// A `d` marker whose message could not be used.
    Bad(FrameError),
}

/// A marker longer than this is not one (the refs are short): its bytes
/// count as output, so that a stray 0x1E and the key cannot hold output back.
const MAX_MARKER: usize = 4096;

/// Splits a capture pipe's bytes into output text and markers.
#[derive(Debug)]
pub struct CaptureDecoder {
    /// 0x1E then the key.
    marker: Vec<u8>,
    /// Bytes that may begin a marker, kept for the next read.
    carry: Vec<u8>,
    /// A character split across reads.
    utf8: Utf8Stream,
    /// The message of a `d` marker, while its line is being read.
    message: Option<Vec<u8>>,
    /// That message grew past [`MAX_FRAME`]: the rest of its line is skipped.
    message_too_large: bool,
}

impl CaptureDecoder {
    pub fn new(key: &str) -> CaptureDecoder {
        let mut marker = vec![0x1e];
        marker.extend_from_slice(key.as_bytes());
        CaptureDecoder {
            marker,
            carry: Vec::new(),
            utf8: Utf8Stream::default(),
            message: None,
            message_too_large: false,
        }
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Captured>) {
        let joined;
        let data: &[u8] = if self.carry.is_empty() {
            bytes
        } else {
            let mut all = std::mem::take(&mut self.carry);
            all.extend_from_slice(bytes);
            joined = all;
            &joined
        };
        let mut pos = 0;
        while pos < data.len() {
            pos += if self.message.is_some() {
                self.message_line(&data[pos..], out)
            } else {
                self.text_and_markers(&data[pos..], out)
            };
        }
    }

    /// Reads a `d` marker's message up to its newline; returns the bytes used.
    fn message_line(&mut self, data: &[u8], out: &mut Vec<Captured>) -> usize {
        let newline = data.iter().position(|&b| b == b'\n');
        let piece = &data[..newline.unwrap_or(data.len())];
        if let Some(message) = &mut self.message {
            if message.len() + piece.len() > MAX_FRAME {
                self.message_too_large = true;
                *message = Vec::new();
            }
            if !self.message_too_large {
                message.extend_from_slice(piece);
            }
        }
        let Some(newline) = newline else {
            return data.len();
        };
        let message = self.message.take().unwrap_or_default();
        if std::mem::take(&mut self.message_too_large) {
            out.push(Captured::Bad(FrameError::TooLarge { max: MAX_FRAME }));
        } else {
            out.push(match serde_json::from_slice::<FromAgent>(&message) {
                Ok(message) => Captured::Message(Box::new(message)),
                Err(error) => Captured::Bad(FrameError::Invalid {
                    reason: error.to_string(),
                    start: String::from_utf8_lossy(&message[..message.len().min(80)]).into_owned(),
                }),
            });
        }
        newline + 1
    }

    /// Reads output and markers up to the start of a `d` marker's message,
    /// or to the end; returns the bytes used.
    fn text_and_markers(&mut self, data: &[u8], out: &mut Vec<Captured>) -> usize {
        let mut text = Vec::new();
        let mut start = 0;
        let mut search = 0;
        while let Some(offset) = data[search..].iter().position(|&b| b == 0x1e) {
            let at = search + offset;
            match self.marker_at(&data[at..]) {
                Marker::Found { kind, len } => {
                    text.extend_from_slice(&data[start..at]);
                    self.text(&mut text, out, true);
                    out.push(kind);
                    start = at + len;
                    search = start;
                }
                Marker::Message { len } => {
                    text.extend_from_slice(&data[start..at]);
                    self.text(&mut text, out, true);
                    self.message = Some(Vec::new());
                    return at + len;
                }
                Marker::Incomplete => {
                    text.extend_from_slice(&data[start..at]);
                    self.carry = data[at..].to_vec();
                    self.text(&mut text, out, false);
                    return data.len();
                }
                Marker::No => search = at + 1,
            }
        }
        text.extend_from_slice(&data[start..]);
        self.text(&mut text, out, false);
        data.len()
    }

    /// The pipe ended: whatever was held back is output; a message cut
    /// short is reported.
    pub fn finish(&mut self, out: &mut Vec<Captured>) {
        if let Some(message) = self.message.take() {
            out.push(Captured::Bad(FrameError::Truncated { len: message.len() }));
        }
        let mut text = std::mem::take(&mut self.carry);
        self.text(&mut text, out, true);
    }

    fn marker_at(&self, data: &[u8]) -> Marker {
        let key = &self.marker;
        if data.len() < key.len() {
            return if key.starts_with(data) {
                Marker::Incomplete
            } else {
                Marker::No
            };
        }
        if !data.starts_with(key) {
            return Marker::No;
        }
        let Some(&kind) = data.get(key.len()) else {
            return Marker::Incomplete;
        };
        if kind == b'd' {
            return Marker::Message { len: key.len() + 1 };
        }
        if kind != b'b' && kind != b'e' {
            return Marker::No;
        }
        let body = &data[key.len() + 1..];
        let Some(newline) = body.iter().take(MAX_MARKER).position(|&b| b == b'\n') else {
            return if body.len() < MAX_MARKER {
                Marker::Incomplete
            } else {
                Marker::No
            };
        };
        match serde_json::from_slice::<String>(&body[..newline]) {
            Ok(evaluation_ref) => Marker::Found {
                kind: if kind == b'b' {
                    Captured::Begin(evaluation_ref)
                } else {
                    Captured::End(evaluation_ref)
                },
                len: key.len() + 1 + newline + 1,
            },
            Err(_) => Marker::No,
        }
    }

    fn text(&mut self, bytes: &mut Vec<u8>, out: &mut Vec<Captured>, flush: bool) {
        let decoded = self.utf8.decode(bytes, flush);
        bytes.clear();
        if !decoded.is_empty() {
            out.push(Captured::Text(decoded));
        }
    }
}

enum Marker {
    Found {
        kind: Captured,
        len: usize,
    },
    /// The key and `d`: a message follows, up to the next newline.
    Message {
        len: usize,
    },
    Incomplete,
    No,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k3y";

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<Captured> {
        let mut decoder = CaptureDecoder::new(KEY);
        let mut out = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            decoder.push(chunk, &mut out);
        }
        decoder.finish(&mut out);
        // Text pieces are joined: how reads split it is not part of the meaning.
        let mut joined: Vec<Captured> = Vec::new();
        for item in out {
            match (joined.last_mut(), item) {
                (Some(Captured::Text(a)), Captured::Text(b)) => a.push_str(&b),
                (_, item) => joined.push(item),
            }
        }
        joined
    }

    #[test]
    fn markers_split_output_whatever_the_read_sizes() {
        let input = "before\n\x1ek3yb\"e1\"\nhé llo\x1e not a marker\n\x1ek3ye\"e1\"\nafter".as_bytes();
        let expected = vec![
            Captured::Text("before\n".into()),
            Captured::Begin("e1".into()),
            Captured::Text("hé llo\x1e not a marker\n".into()),
            Captured::End("e1".into()),
            Captured::Text("after".into()),
        ];
        for piece in 1..=input.len() {
            assert_eq!(decode_in_pieces(input, piece), expected, "pieces of {piece}");
        }
    }

    #[test]
    fn near_misses_are_output() {
        for input in [
            "\x1ek3\n",
            "\x1ek3yx\"e\"\n",
            "\x1ek3yb\"unterminated\n",
            "\x1ek3yb e1\n",
            "\x1e",
            "\x1ek3yb\"e1\"",
        ] {
            assert_eq!(
                decode_in_pieces(input.as_bytes(), 3),
                vec![Captured::Text(input.into())],
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_long_line_after_the_key_is_not_held_back() {
        let mut input = b"\x1ek3yb\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_MARKER * 2));
        let mut decoder = CaptureDecoder::new(KEY);
        let mut out = Vec::new();
        decoder.push(&input, &mut out);
        let text: usize = out
            .iter()
            .map(|c| match c {
                Captured::Text(t) => t.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(text, input.len(), "all of it is output at once");
    }

    #[test]
    fn a_display_keeps_its_place_among_the_text_whatever_the_read_sizes() {
        let display = r#"{"type":"display","ref":"e1","bundle":{"data":{"text/plain":"x\u001e","image/png":"iVBO"}}}"#;
        let input = format!("a\n\x1ek3yd{display}\nb\x1ek3yd{{bad}}\nc").into_bytes();
        for piece in 1..=input.len() {
            let out = decode_in_pieces(&input, piece);
            assert_eq!(out.len(), 5, "pieces of {piece}: {out:?}");
            assert_eq!(out[0], Captured::Text("a\n".into()));
            match &out[1] {
                Captured::Message(message) => match message.as_ref() {
                    FromAgent::Display {
                        evaluation_ref, bundle, ..
                    } => {
                        assert_eq!(evaluation_ref.as_deref(), Some("e1"));
                        assert_eq!(bundle.text(), "x\u{1e}");
                    }
                    other => panic!("not a display: {other:?}"),
                },
                other => panic!("pieces of {piece}: {other:?}"),
            }
            assert_eq!(out[2], Captured::Text("b".into()));
            assert!(
                matches!(out[3], Captured::Bad(FrameError::Invalid { .. })),
                "{:?}",
                out[3]
            );
            assert_eq!(out[4], Captured::Text("c".into()));
        }
    }

    #[test]
    fn a_display_cut_short_by_the_end_of_the_pipe_is_reported() {
        let out = decode_in_pieces(b"\x1ek3yd{\"type\":", 4);
        assert!(
            matches!(out.as_slice(), [Captured::Bad(FrameError::Truncated { .. })]),
            "{out:?}"
        );
    }

    #[test]
    fn a_display_of_megabytes_is_read_whole() {
        let data = "A".repeat(24 << 20);
        let line = format!("\x1ek3yd{{\"type\":\"display\",\"bundle\":{{\"data\":{{\"text/plain\":\"{data}\"}}}}}}\n");
        let out = decode_in_pieces(line.as_bytes(), 65536);
        assert!(matches!(out.as_slice(), [Captured::Message(_)]), "{:?}", out.len());
    }

    #[test]
    fn invalid_utf8_is_replaced_and_split_characters_joined() {
        let input = [b"a\xff".as_slice(), "é€𝄞".as_bytes(), b"\xe2\x82"].concat();
        assert_eq!(
            decode_in_pieces(&input, 1),
            vec![Captured::Text("a\u{fffd}é€𝄞\u{fffd}".into())]
        );
    }
}
