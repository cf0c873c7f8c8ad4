//! The Jupyter messaging protocol's wire format (5.x): a multipart ZeroMQ
//! message `[ids…, "<IDS|MSG>", signature, header, parent_header, metadata,
//! content, buffers…]`, signed with HMAC-SHA256 of the four JSON parts.
//!
//! Everything a kernel sends is untrusted: a message that is not signed with
//! our key, or is not this shape, is an error value, never a panic.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

pub const DELIMITER: &[u8] = b"<IDS|MSG>";
/// The protocol version we speak.
pub const PROTOCOL_VERSION: &str = "5.3";

/// A decoded message: the parts Runyard reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub msg_type: String,
    pub msg_id: String,
    /// The `msg_id` of the request this answers or belongs to, if any.
    pub parent_id: Option<String>,
    pub content: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("no <IDS|MSG> delimiter")]
    NoDelimiter,
    #[error("{0} parts after the delimiter; at least 5 expected")]
    TooShort(usize),
    #[error("the signature does not match (not signed with this kernel's key)")]
    BadSignature,
    #[error("the {part} is not a JSON object: {message}")]
    NotJson { part: &'static str, message: String },
    #[error("the header has no msg_type")]
    NoType,
}

/// Signs and encodes messages of one client session.
#[derive(Clone)]
pub struct Session {
    key: Vec<u8>,
    session: String,
    counter: u64,
}

impl Session {
    pub fn new(key: &str, session: String) -> Session {
        Session {
            key: key.as_bytes().to_vec(),
            session,
            counter: 0,
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }

    /// The frames of a new request of `msg_type`, and its msg_id.
    pub fn encode(&mut self, msg_type: &str, content: Value) -> (Vec<Vec<u8>>, String) {
        self.counter += 1;
        let msg_id = format!("{}_{}", self.session, self.counter);
        let header = json!({
            "msg_id": msg_id,
            "session": self.session,
            "username": "runyard",
            "date": now_iso8601(),
            "msg_type": msg_type,
            "version": PROTOCOL_VERSION,
        });
        let parts = [
            header.to_string().into_bytes(),
            b"{}".to_vec(),
            b"{}".to_vec(),
            content.to_string().into_bytes(),
        ];
        let mut mac = self.mac();
        for part in &parts {
            mac.update(part);
        }
        let signature = hex(&mac.finalize().into_bytes());
        let mut frames = vec![DELIMITER.to_vec(), signature.into_bytes()];
        frames.extend(parts);
        (frames, msg_id)
    }

    /// Checks and decodes one received message (its frames, ids included).
    pub fn decode<B: AsRef<[u8]>>(&self, frames: &[B]) -> Result<Message, WireError> {
        let start = frames
            .iter()
            .position(|f| f.as_ref() == DELIMITER)
            .ok_or(WireError::NoDelimiter)?;
        let rest = &frames[start + 1..];
        if rest.len() < 5 {
            return Err(WireError::TooShort(rest.len()));
        }
        let mut mac = self.mac();
        for part in &rest[1..5] {
            mac.update(part.as_ref());
        }
        let signature = unhex(rest[0].as_ref()).ok_or(WireError::BadSignature)?;
        // Constant-time comparison.
        mac.verify_slice(&signature).map_err(|_| WireError::BadSignature)?;
        let object = |part: &'static str, bytes: &[u8]| -> Result<Map<String, Value>, WireError> {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(WireError::NotJson {
                    part,
                    message: "not an object".into(),
                }),
                Err(e) => Err(WireError::NotJson {
                    part,
                    message: e.to_string(),
                }),
            }
        };
        let header = object("header", rest[1].as_ref())?;
        let parent = object("parent header", rest[2].as_ref())?;
        let content = object("content", rest[4].as_ref())?;
        let text = |map: &Map<String, Value>, key: &str| map.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(Message {
            msg_type: text(&header, "msg_type").ok_or(WireError::NoType)?,
            msg_id: text(&header, "msg_id").unwrap_or_default(),
            parent_id: text(&parent, "msg_id"),
            content,
        })
    }

    /// The frames of a reply on the stdin channel to `parent` (an `input_request`).
    pub fn encode_reply(&mut self, msg_type: &str, content: Value, parent: &Message) -> Vec<Vec<u8>> {
        let (mut frames, _) = self.encode(msg_type, content);
        // Re-sign with the parent header filled in.
        frames[3] = json!({"msg_id": parent.msg_id, "msg_type": parent_type(parent)})
            .to_string()
            .into_bytes();
        let mut mac = self.mac();
        for part in &frames[2..6] {
            mac.update(part);
        }
        frames[1] = hex(&mac.finalize().into_bytes()).into_bytes();
        frames
    }
}

fn parent_type(parent: &Message) -> &str {
    &parent.msg_type
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

/// Now as ISO 8601 in UTC with microseconds, as Jupyter's headers carry it.
fn now_iso8601() -> String {
    crate::text::iso8601(std::time::SystemTime::now())
}

/// Parses a `protocol_version` such as `5.3` into (major, minor).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_a_wrong_key() {
        let mut ours = Session::new("secret", "s1".into());
        let (frames, id) = ours.encode("kernel_info_request", json!({}));
        let decoded = ours.decode(&frames).unwrap();
        assert_eq!(decoded.msg_type, "kernel_info_request");
        assert_eq!(decoded.msg_id, id);
        assert_eq!(decoded.parent_id, None);
        let theirs = Session::new("other", "s2".into());
        assert_eq!(theirs.decode(&frames), Err(WireError::BadSignature));
        let reply = ours.encode_reply("input_reply", json!({"value": ""}), &decoded);
        let decoded = ours.decode(&reply).unwrap();
        assert_eq!(decoded.parent_id.as_deref(), Some(id.as_str()));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let session = Session::new("k", "s".into());
        let cases: Vec<Vec<Vec<u8>>> = vec![
            vec![],
            vec![b"x".to_vec()],
            vec![DELIMITER.to_vec()],
            vec![
                DELIMITER.to_vec(),
                b"zz".to_vec(),
                b"{}".to_vec(),
                b"{}".to_vec(),
                b"{}".to_vec(),
                b"{}".to_vec(),
            ],
            vec![
                DELIMITER.to_vec(),
                b"abc".to_vec(),
                vec![0xff],
                b"".to_vec(),
                b"".to_vec(),
                b"".to_vec(),
            ],
        ];
        for frames in cases {
            assert!(session.decode(&frames).is_err());
        }
    }

    #[test]
    fn dates_and_versions() {
        let date = now_iso8601();
        assert_eq!(date.len(), "2024-01-01T00:00:00.000000Z".len(), "{date}");
        assert!(date.starts_with("20"));
        assert_eq!(parse_version("5.3"), Some((5, 3)));
        assert_eq!(parse_version("4"), Some((4, 0)));
        assert_eq!(parse_version("x"), None);
    }
}
