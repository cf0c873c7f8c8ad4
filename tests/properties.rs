//! Every text path that takes input from outside (what a user types, what a
//! runtime writes, what a file holds) fed arbitrary Unicode and bytes, split
//! at arbitrary places: nothing panics, and nothing is lost.

use proptest::prelude::*;
use runyard::app::highlight::{elixir_tokens, highlight};
use runyard::notebook::{self, Format};
use runyard::protocol::capture::{CaptureDecoder, Captured};
use runyard::protocol::{self, Decoded, FrameDecoder, FromAgent, LogLevel, Stream};
use runyard::session::output::OutputBuffer;

/// Text rich in what lexers and parsers branch on: quotes, sigils, escapes,
/// comments, delimiters, multi-byte characters, control bytes.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("~s".to_string()),
        Just("~r/".to_string()),
        Just("\"\"\"".to_string()),
        Just("'''".to_string()),
        Just("\\".to_string()),
        Just("#".to_string()),
        Just(":a".to_string()),
        Just("do:".to_string()),
        Just("\u{1e}".to_string()),
        Just("\x1b[".to_string()),
        Just("\r".to_string()),
        Just("\n".to_string()),
        "[(){}<>\\[\\]\"'/|]".prop_map(String::from),
        "[éü€𝄞ß日本\u{300}\u{200d}]".prop_map(String::from),
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// Splits `bytes` at the given points (taken modulo its length).
fn split_at_points(bytes: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return vec![bytes];
    }
    points.iter_mut().for_each(|p| *p %= bytes.len());
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in points {
        pieces.push(&bytes[start..p]);
        start = p;
    }
    pieces.push(&bytes[start..]);
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_elixir_lexer_covers_any_text_exactly(code in tricky_text()) {
        let joined: String = elixir_tokens(&code).iter().map(|(_, t)| *t).collect();
        prop_assert_eq!(joined, code);
    }

    #[test]
    fn highlighting_any_text_keeps_it(code in tricky_text(), language in prop_oneof![Just("python"), Just("elixir"), Just("r")]) {
        let ctx = egui::Context::default();
        let job = highlight(&ctx, &ctx.style_of(egui::Theme::Light), &code, language);
        prop_assert_eq!(job.text, code);
    }

    #[test]
    fn frames_survive_any_stray_bytes_and_any_split(
        stray in prop::collection::vec("[^\u{1e}]*", 1..5),
        messages in prop::collection::vec(tricky_text(), 0..5),
        points in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut stream = Vec::new();
        let mut expected_stray = String::new();
        for (i, text) in stray.iter().enumerate() {
            stream.extend_from_slice(text.as_bytes());
            expected_stray.push_str(text);
            if let Some(message) = messages.get(i) {
                let log = FromAgent::Log { level: LogLevel::Info, message: message.clone() };
                stream.extend(protocol::encode(&log));
            }
        }
        let mut decoder = FrameDecoder::default();
        let mut out = Vec::new();
        for piece in split_at_points(&stream, points) {
            decoder.push(piece, &mut out);
        }
        decoder.finish(&mut out);
        let mut got_stray = String::new();
        let mut got_messages = Vec::new();
        for item in out {
            match item {
                Decoded::Stray(text) => got_stray.push_str(&text),
                Decoded::Message(FromAgent::Log { message, .. }) => got_messages.push(message),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(got_stray, expected_stray);
        let sent: Vec<String> = messages.into_iter().take(stray.len()).collect();
        prop_assert_eq!(got_messages, sent);
    }

    #[test]
    fn the_frame_decoder_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2000), points in prop::collection::vec(any::<usize>(), 0..20)) {
        let mut decoder = FrameDecoder::new(256);
        let mut out = Vec::new();
        for piece in split_at_points(&bytes, points) {
            decoder.push(piece, &mut out);
        }
        decoder.finish(&mut out);
    }

    #[test]
    fn capture_output_arrives_whole_whatever_the_reads(
        texts in prop::collection::vec(tricky_text(), 1..6),
        points in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        // Output, with each evaluation's markers around all but the first piece.
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let reference = format!("c{i}");
            if i > 0 {
                stream.extend(format!("\u{1e}KEYb\"{reference}\"\n").bytes());
                expected.push(Captured::Begin(reference.clone()));
            }
            stream.extend(text.bytes());
            if !text.is_empty() {
                expected.push(Captured::Text(text.clone()));
            }
            if i > 0 {
                stream.extend(format!("\u{1e}KEYe\"{reference}\"\n").bytes());
                expected.push(Captured::End(reference));
            }
        }
        let mut decoder = CaptureDecoder::new("KEY");
        let mut out = Vec::new();
        for piece in split_at_points(&stream, points) {
            decoder.push(piece, &mut out);
        }
        decoder.finish(&mut out);
        let mut joined: Vec<Captured> = Vec::new();
        for item in out {
            match (joined.last_mut(), item) {
                (Some(Captured::Text(a)), Captured::Text(b)) => a.push_str(&b),
                (_, item) => joined.push(item),
            }
        }
        prop_assert_eq!(joined, expected);
    }

    #[test]
    fn capture_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..3000), points in prop::collection::vec(any::<usize>(), 0..20)) {
        let mut decoder = CaptureDecoder::new("k");
        let mut out = Vec::new();
        for piece in split_at_points(&bytes, points) {
            decoder.push(piece, &mut out);
        }
        decoder.finish(&mut out);
    }

    #[test]
    fn notebook_readers_take_any_text_and_what_they_read_writes_back_stably(text in tricky_text()) {
        for format in [Format::Ipynb, Format::Livemd, Format::Percent] {
            if let Ok(read) = notebook::parse(format, &text) {
                let written = notebook::to_string(format, &read);
                let again = notebook::parse(format, &written);
                prop_assert!(again.is_ok(), "{:?} cannot read what it wrote: {:?}", format, written);
                prop_assert_eq!(notebook::to_string(format, &again.unwrap()), written, "{:?}", format);
            }
        }
    }

    #[test]
    fn output_buffers_take_any_text_and_keep_plain_text(text in tricky_text(), plain in "[^\u{1b}\r\u{0}-\u{8}\u{b}-\u{1f}\u{7f}-\u{9f}]*") {
        let mut buffer = OutputBuffer::default();
        buffer.push(Stream::Stdout, &text);
        buffer.push(Stream::Stderr, &text);
        let _ = buffer.text();
        let mut kept = OutputBuffer::default();
        kept.push(Stream::Stdout, &plain);
        // Kept as lines: an unfinished last line reads back with its newline.
        let expected = if plain.is_empty() || plain.ends_with('\n') { plain.clone() } else { format!("{plain}\n") };
        prop_assert_eq!(kept.text(), expected);
    }
}
