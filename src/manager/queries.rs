//! Completion and inspection requests in flight to one runtime node.
//!
//! They are best effort and never queued: each gets exactly one answer —
//! the runtime's (checked and bounded here, since a kernel's reply is
//! untrusted), or an empty one when the runtime is not connected, goes
//! away, or does not answer within [`super::QUERY_TIMEOUT`]. An answer that
//! comes after its empty one is dropped.

use std::collections::HashMap;

use serde_json::Value;

use super::{Event, SessionId};
use crate::protocol::{Bundle, Completion, MAX_DOC_CHARS, MAX_MATCHES, bundle::TEXT_MARKDOWN, bundle::TEXT_PLAIN};

/// The longest signature kept on a completion, in characters.
const MAX_SIGNATURE_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum QueryKind {
    Complete,
    Inspect,
}

/// What the worker remembers of a request until it is answered.
pub(super) struct Pending {
    pub kind: QueryKind,
    /// The request's cursor and code length, in characters: an answer's
    /// range must lie within the code.
    pub cursor: usize,
    pub length: usize,
    pub timer: Option<tokio::task::AbortHandle>,
}

impl Pending {
    pub fn new(kind: QueryKind, cursor: usize, length: usize) -> Pending {
        Pending {
            kind,
            cursor: cursor.min(length),
            length,
            timer: None,
        }
    }

    /// The answer that says "nothing": no matches at the cursor, or nothing found.
    pub fn empty(&self, session: SessionId, id: u64) -> Event {
        empty(session, id, self.kind, self.cursor)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(timer) = &self.timer {
            timer.abort();
        }
    }
}

/// An empty answer for a request that was never sent.
pub(super) fn empty(session: SessionId, id: u64, kind: QueryKind, cursor: usize) -> Event {
    match kind {
        QueryKind::Complete => Event::Completions {
            session,
            id,
            start: cursor,
            end: cursor,
            matches: Vec::new(),
        },
        QueryKind::Inspect => Event::Documentation {
            session,
            id,
            found: false,
            bundle: Bundle::plain(""),
        },
    }
}

/// The requests of one node, by id.
#[derive(Default)]
pub(super) struct Queries {
    pending: HashMap<u64, Pending>,
}

impl Queries {
    /// Remembers a request; a request with the same id still pending is
    /// returned, to be answered empty (ids are the caller's).
    pub fn insert(&mut self, id: u64, pending: Pending) -> Option<Pending> {
        self.pending.insert(id, pending)
    }

    pub fn take(&mut self, id: u64, kind: QueryKind) -> Option<Pending> {
        match self.pending.get(&id) {
            Some(p) if p.kind == kind => self.pending.remove(&id),
            _ => None,
        }
    }

    pub fn drain(&mut self) -> impl Iterator<Item = (u64, Pending)> + '_ {
        self.pending.drain()
    }
}

/// The `Completions` event for a runtime's answer: a range outside the
/// code gives an empty answer; matches are capped at [`MAX_MATCHES`].
pub(super) fn completions(
    session: SessionId,
    id: u64,
    pending: &Pending,
    start: usize,
    end: usize,
    mut matches: Vec<Completion>,
) -> Event {
    if start > end || end > pending.length {
        tracing::debug!(%session, id, start, end, "a completion range outside the code was dropped");
        return pending.empty(session, id);
    }
    matches.truncate(MAX_MATCHES);
    for completion in &mut matches {
        if let Some(signature) = &mut completion.signature {
            cut(signature, MAX_SIGNATURE_CHARS);
        }
    }
    Event::Completions {
        session,
        id,
        start,
        end,
        matches,
    }
}

/// The `Documentation` event for a runtime's answer: each entry at most
/// [`MAX_DOC_CHARS`] characters (a JSON entry over that is left out), and a
/// `text/plain` always there.
pub(super) fn documentation(session: SessionId, id: u64, found: bool, bundle: Bundle) -> Event {
    if !found {
        return empty(session, id, QueryKind::Inspect, 0);
    }
    let mut data = serde_json::Map::new();
    for (mime, value) in bundle.data {
        match value {
            Value::String(mut text) => {
                cut(&mut text, MAX_DOC_CHARS);
                data.insert(mime, Value::String(text));
            }
            other if other.to_string().len() <= MAX_DOC_CHARS => {
                data.insert(mime, other);
            }
            _ => {}
        }
    }
    if !data.get(TEXT_PLAIN).is_some_and(Value::is_string) {
        let plain = data
            .get(TEXT_MARKDOWN)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        data.insert(TEXT_PLAIN.into(), Value::String(plain));
    }
    Event::Documentation {
        session,
        id,
        found,
        bundle: Bundle {
            data,
            metadata: bundle.metadata,
        },
    }
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
fn cut(text: &mut String, max: usize) {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.pop();
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CompletionKind;

    const S: SessionId = SessionId(1);

    fn completion(text: &str) -> Completion {
        Completion {
            text: text.into(),
            kind: CompletionKind::Variable,
            signature: Some("x".repeat(5000)),
        }
    }

    #[test]
    fn answers_are_bounded_and_a_range_outside_the_code_is_empty() {
        let pending = Pending::new(QueryKind::Complete, 3, 5);
        let many = (0..700).map(|i| completion(&format!("n{i}"))).collect();
        match completions(S, 7, &pending, 1, 3, many) {
            Event::Completions {
                matches, start, end, ..
            } => {
                assert_eq!((start, end, matches.len()), (1, 3, MAX_MATCHES));
                assert_eq!(
                    matches[0].signature.as_ref().unwrap().chars().count(),
                    MAX_SIGNATURE_CHARS
                );
            }
            other => panic!("{other:?}"),
        }
        for (start, end) in [(4, 2), (0, 6)] {
            match completions(S, 7, &pending, start, end, vec![completion("a")]) {
                Event::Completions {
                    matches, start, end, ..
                } => {
                    assert!(matches.is_empty());
                    assert_eq!((start, end), (3, 3), "empty, at the cursor");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn documentation_always_has_plain_text_and_is_capped() {
        let mut bundle = Bundle::default();
        bundle
            .data
            .insert(TEXT_MARKDOWN.into(), Value::String("é".repeat(100_000)));
        match documentation(S, 1, true, bundle) {
            Event::Documentation { bundle, found, .. } => {
                assert!(found);
                let markdown = bundle.data[TEXT_MARKDOWN].as_str().unwrap();
                assert_eq!(markdown.chars().count(), MAX_DOC_CHARS);
                assert_eq!(bundle.data[TEXT_PLAIN], bundle.data[TEXT_MARKDOWN]);
            }
            other => panic!("{other:?}"),
        }
        match documentation(S, 1, false, Bundle::plain("ignored")) {
            Event::Documentation { bundle, found, .. } => {
                assert!(!found);
                assert_eq!(bundle, Bundle::plain(""));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_pending_request_of_the_other_kind_is_not_taken() {
        let mut queries = Queries::default();
        queries.insert(4, Pending::new(QueryKind::Inspect, 0, 0));
        assert!(queries.take(4, QueryKind::Complete).is_none());
        assert!(queries.take(4, QueryKind::Inspect).is_some());
        assert!(queries.take(4, QueryKind::Inspect).is_none(), "answered once");
    }
}
