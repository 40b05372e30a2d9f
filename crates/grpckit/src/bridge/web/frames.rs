//! Length-prefixed envelopes as gRPC-Web and Connect streams carry them (1 flag byte, a
//! 4-byte big-endian length, the payload), the base64 text form of gRPC-Web, and the
//! gRPC-Web trailer frame.

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use tonic::{Status, body::Body};

use crate::{
    framing::PREFIX_LEN,
    headers::{GRPC_MESSAGE, GRPC_STATUS},
};

/// `grpc-status-details-bin`.
const GRPC_STATUS_DETAILS: http::HeaderName =
    http::HeaderName::from_static("grpc-status-details-bin");

/// The flag of a gRPC-Web frame holding the trailers.
pub(crate) const TRAILERS: u8 = 0x80;

/// The flag of a compressed message (both protocols).
pub(crate) const COMPRESSED: u8 = 0x01;

/// One envelope: `flags`, the length of `payload`, `payload`.
pub(crate) fn envelope(flags: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(PREFIX_LEN + payload.len());
    out.put_u8(flags);
    out.put_u32(u32::try_from(payload.len()).unwrap_or(u32::MAX));
    out.put_slice(payload);
    out.freeze()
}

/// The gRPC-Web trailer frame: `status` (`grpc-status`, `grpc-message`,
/// `grpc-status-details-bin`) and the trailing metadata `trailers`, as HTTP/1 header lines
/// with lower-case names.
pub(crate) fn trailer_frame(status: &Status, trailers: &HeaderMap) -> Bytes {
    let mut all = trailers.clone();
    all.remove(GRPC_STATUS);
    all.remove(GRPC_MESSAGE);
    all.remove(GRPC_STATUS_DETAILS);
    // The status alone: its metadata is the call's, already in the headers or `trailers`.
    let bare = Status::with_details(
        status.code(),
        status.message(),
        Bytes::copy_from_slice(status.details()),
    );
    if bare.add_header(&mut all).is_err() {
        // A message that cannot be a header value: the code alone.
        let _ = Status::new(status.code(), "").add_header(&mut all);
    }
    let mut block = BytesMut::with_capacity(64);
    for (name, value) in &all {
        block.put_slice(name.as_str().as_bytes());
        block.put_u8(b':');
        block.put_slice(value.as_bytes());
        block.put_slice(b"\r\n");
    }
    envelope(TRAILERS, &block)
}

/// The first complete envelope of `buf`: its flags and the length of its payload; `None`
/// while incomplete.
fn split(buf: &[u8]) -> Option<(u8, usize)> {
    let p = buf.get(..PREFIX_LEN)?;
    let len = u32::from_be_bytes([p[1], p[2], p[3], p[4]]) as usize;
    (buf.len() - PREFIX_LEN >= len).then_some((p[0], len))
}

/// Every envelope of a whole body (base64 text when `text`), the payloads sharing its
/// memory; a body that ends inside an envelope is `INVALID_ARGUMENT`.
pub(crate) fn split_all(body: Bytes, text: bool) -> Result<Vec<(u8, Bytes)>, Status> {
    let mut body = if text {
        let mut out = BytesMut::with_capacity(body.len() / 4 * 3);
        let mut b64 = Base64Text::default();
        b64.push(&body, &mut out)?;
        if b64.is_incomplete() {
            return Err(Status::invalid_argument(
                "request body ended inside a base64 group",
            ));
        }
        out.freeze()
    } else {
        body
    };
    let mut out = Vec::with_capacity(1);
    while !body.is_empty() {
        let Some((flags, len)) = split(&body) else {
            return Err(Status::invalid_argument(
                "request body ended inside a message",
            ));
        };
        let mut whole = body.split_to(PREFIX_LEN + len);
        out.push((flags, whole.split_off(PREFIX_LEN)));
    }
    Ok(out)
}

/// Decodes base64 text that arrives in pieces, possibly as several padded segments one
/// after another (gRPC-Web text clients encode each chunk on its own).
#[derive(Debug, Default)]
pub(crate) struct Base64Text {
    pending: Vec<u8>,
}

impl Base64Text {
    /// Decodes what `data` completes into `out`; an undecodable text is `INVALID_ARGUMENT`.
    pub(crate) fn push(&mut self, data: &[u8], out: &mut BytesMut) -> Result<(), Status> {
        self.pending
            .extend(data.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        let whole = self.pending.len() / 4 * 4;
        let mut start = 0;
        for group in (0..whole).step_by(4) {
            // A group with padding ends a segment.
            if self.pending[group + 3] == b'=' {
                decode_into(&self.pending[start..group + 4], out)?;
                start = group + 4;
            }
        }
        decode_into(&self.pending[start..whole], out)?;
        self.pending.drain(..whole);
        Ok(())
    }

    /// Whether text is left over that does not make a whole group.
    pub(crate) fn is_incomplete(&self) -> bool {
        !self.pending.is_empty()
    }
}

fn decode_into(text: &[u8], out: &mut BytesMut) -> Result<(), Status> {
    if text.is_empty() {
        return Ok(());
    }
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| Status::invalid_argument(format!("invalid base64 request body: {e}")))?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Reads the envelopes of a request body as they arrive.
#[derive(Debug)]
pub(crate) struct EnvelopeReader {
    body: Body,
    buf: BytesMut,
    text: Option<Base64Text>,
    max: usize,
    ended: bool,
}

impl EnvelopeReader {
    /// Reads `body` (base64 text when `text`), refusing envelopes longer than `max` bytes.
    pub(crate) fn new(body: Body, text: bool, max: usize) -> Self {
        Self {
            body,
            buf: BytesMut::new(),
            text: text.then(Base64Text::default),
            max,
            ended: false,
        }
    }

    /// The next envelope's flags and payload; `Ok(None)` at the end of the body. A body
    /// that ends inside an envelope is `INVALID_ARGUMENT`, a longer envelope than allowed
    /// `RESOURCE_EXHAUSTED`, a broken body `CANCELLED`.
    pub(crate) async fn next(&mut self) -> Result<Option<(u8, Bytes)>, Status> {
        loop {
            if self.buf.len() >= PREFIX_LEN {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
                if len as usize > self.max {
                    return Err(Status::resource_exhausted(format!(
                        "request message larger than {} bytes",
                        self.max
                    )));
                }
            }
            if let Some((flags, len)) = split(&self.buf) {
                let mut whole = self.buf.split_to(PREFIX_LEN + len);
                let payload = whole.split_off(PREFIX_LEN).freeze();
                return Ok(Some((flags, payload)));
            }
            if self.ended {
                let broken = !self.buf.is_empty()
                    || self.text.as_ref().is_some_and(Base64Text::is_incomplete);
                return if broken {
                    Err(Status::invalid_argument(
                        "request body ended inside a message",
                    ))
                } else {
                    Ok(None)
                };
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        match &mut self.text {
                            Some(text) => text.push(&data, &mut self.buf)?,
                            None => self.buf.extend_from_slice(&data),
                        }
                    }
                }
                Some(Err(e)) => return Err(Status::cancelled(format!("request body: {e}"))),
                None => self.ended = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: &[&[u8]]) -> Body {
        let frames: Vec<Result<_, Status>> = chunks
            .iter()
            .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        Body::new(http_body_util::StreamBody::new(futures::stream::iter(
            frames,
        )))
    }

    #[tokio::test]
    async fn envelopes_split_across_chunks_are_read_whole() {
        let mut all = envelope(0, b"hello").to_vec();
        all.extend_from_slice(&envelope(2, b"{}"));
        let (a, b) = all.split_at(3);
        let mut r = EnvelopeReader::new(body(&[a, b]), false, 1024);
        assert_eq!(
            r.next().await.unwrap(),
            Some((0, Bytes::from_static(b"hello")))
        );
        assert_eq!(
            r.next().await.unwrap(),
            Some((2, Bytes::from_static(b"{}")))
        );
        assert_eq!(r.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn text_bodies_of_several_padded_segments_decode() {
        let one = STANDARD.encode(envelope(0, b"a"));
        let two = STANDARD.encode(envelope(0, b"bc"));
        let joined = format!("{one}{two}");
        let (a, b) = joined.as_bytes().split_at(5);
        let mut r = EnvelopeReader::new(body(&[a, b]), true, 1024);
        assert_eq!(r.next().await.unwrap(), Some((0, Bytes::from_static(b"a"))));
        assert_eq!(
            r.next().await.unwrap(),
            Some((0, Bytes::from_static(b"bc")))
        );
        assert_eq!(r.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn truncated_and_oversized_envelopes_are_refused() {
        let e = envelope(0, b"hello");
        let mut r = EnvelopeReader::new(body(&[&e[..6]]), false, 1024);
        assert_eq!(
            r.next().await.unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        let mut r = EnvelopeReader::new(body(&[&e]), false, 4);
        assert_eq!(
            r.next().await.unwrap_err().code(),
            tonic::Code::ResourceExhausted
        );
        let mut r = EnvelopeReader::new(body(&[b"!!!!"]), true, 1024);
        assert_eq!(
            r.next().await.unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }

    #[test]
    fn whole_bodies_split_into_envelopes() {
        let mut all = envelope(0, b"one").to_vec();
        all.extend_from_slice(&envelope(0, b""));
        let got = split_all(Bytes::from(all.clone()), false).unwrap();
        assert_eq!(got, [(0, Bytes::from_static(b"one")), (0, Bytes::new())]);
        let text = Bytes::from(STANDARD.encode(&all));
        assert_eq!(split_all(text, true).unwrap(), got);
        assert!(split_all(Bytes::copy_from_slice(&all[..7]), false).is_err());
        assert!(split_all(Bytes::from_static(b"AAA"), true).is_err());
    }

    #[test]
    fn trailer_frame_carries_status_and_metadata_lines() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-trace", "abc".parse().unwrap());
        trailers.insert(GRPC_STATUS, "0".parse().unwrap());
        let f = trailer_frame(&Status::not_found("no user 1"), &trailers);
        assert_eq!(f[0], TRAILERS);
        let text = std::str::from_utf8(&f[PREFIX_LEN..]).unwrap();
        assert!(text.contains("grpc-status:5\r\n"), "{text}");
        assert!(text.contains("grpc-message:no%20user%201\r\n"), "{text}");
        assert!(text.contains("x-trace:abc\r\n"), "{text}");
        assert_eq!(text.matches("grpc-status").count(), 1, "{text}");
    }
}
