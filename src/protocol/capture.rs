//! The runtime's output pipes, as the manager reads them.
//!
//! An agent that is handed the pipes (see `runtime::supervisor`) writes
//! plain bytes to them, as any program does, and marks where each
//! evaluation's output begins and ends with a line that no program writes by
//! chance: the byte 0x1E, the key from `RUNYARD_CAPTURE`, `b` or `e`, the
//! evaluation ref as a JSON string, and `\n`. Everything else is output. A
//! marker split across reads is put together; a 0x1E that starts no marker
//! is output like any other byte.

use super::Utf8Stream;

/// What one read of a capture pipe held, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured {
    Text(String),
    Begin(String),
    End(String),
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
}

impl CaptureDecoder {
    pub fn new(key: &str) -> CaptureDecoder {
        let mut marker = vec![0x1e];
        marker.extend_from_slice(key.as_bytes());
        CaptureDecoder {
            marker,
            carry: Vec::new(),
            utf8: Utf8Stream::default(),
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
                Marker::Incomplete => {
                    text.extend_from_slice(&data[start..at]);
                    self.carry = data[at..].to_vec();
                    self.text(&mut text, out, false);
                    return;
                }
                Marker::No => search = at + 1,
            }
        }
        text.extend_from_slice(&data[start..]);
        self.text(&mut text, out, false);
    }

    /// The pipe ended: whatever was held back is output.
    pub fn finish(&mut self, out: &mut Vec<Captured>) {
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
    Found { kind: Captured, len: usize },
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
    fn invalid_utf8_is_replaced_and_split_characters_joined() {
        let input = [b"a\xff".as_slice(), "é€𝄞".as_bytes(), b"\xe2\x82"].concat();
        assert_eq!(
            decode_in_pieces(&input, 1),
            vec![Captured::Text("a\u{fffd}é€𝄞\u{fffd}".into())]
        );
    }
}
