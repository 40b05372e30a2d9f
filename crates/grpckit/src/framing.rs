//! The gRPC message framing — 1 flag byte, a 4-byte big-endian length, the payload — read
//! incrementally however the bytes are split into chunks. The one parser behind every body
//! wrapper that looks at messages: the size limit, the metrics message counters and
//! validation.

use std::convert::Infallible;

/// Bytes of the prefix in front of every message.
pub const PREFIX_LEN: usize = 5;

/// The first complete message of `data`: its compressed flag, its payload and the bytes it
/// spans with the prefix; `None` while incomplete.
pub fn split_message(data: &[u8]) -> Option<(bool, &[u8], usize)> {
    let prefix = data.get(..PREFIX_LEN)?;
    let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    let end = PREFIX_LEN.checked_add(len)?;
    Some((prefix[0] != 0, data.get(PREFIX_LEN..end)?, end))
}

/// The incremental parser: remembers a prefix split across chunks and how much payload is
/// still to come.
#[derive(Debug, Default, Clone)]
pub struct FrameScanner {
    prefix: [u8; PREFIX_LEN],
    have: usize,
    left: u64,
}

impl FrameScanner {
    /// Advances over `data`, calling `on_prefix(len)` for every message length read; stops at
    /// the first error `on_prefix` returns. Returns how many messages `data` completed.
    pub fn feed<E>(
        &mut self,
        mut data: &[u8],
        mut on_prefix: impl FnMut(u32) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut done = 0;
        while !data.is_empty() {
            if self.left > 0 {
                let take = usize::try_from(self.left)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                self.left -= take as u64;
                data = &data[take..];
                if self.left == 0 {
                    done += 1;
                }
                continue;
            }
            let n = (PREFIX_LEN - self.have).min(data.len());
            self.prefix[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have == PREFIX_LEN {
                self.have = 0;
                let p = &self.prefix;
                let len = u32::from_be_bytes([p[1], p[2], p[3], p[4]]);
                on_prefix(len)?;
                if len == 0 {
                    done += 1;
                } else {
                    self.left = u64::from(len);
                }
            }
        }
        Ok(done)
    }

    /// Counts the messages `data` completes.
    pub fn count(&mut self, data: &[u8]) -> u64 {
        match self.feed(data, |_| Ok::<(), Infallible>(())) {
            Ok(n) => n,
            Err(e) => match e {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0];
        v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn counts_across_any_split() {
        let mut bytes = frame(b"hello");
        bytes.extend(frame(b""));
        bytes.extend(frame(&[7; 300]));
        for chunk in 1..bytes.len() {
            let mut c = FrameScanner::default();
            let n: u64 = bytes.chunks(chunk).map(|p| c.count(p)).sum();
            assert_eq!(n, 3, "chunk size {chunk}");
        }
    }

    #[test]
    fn reports_every_length_and_stops_at_an_error() {
        let mut bytes = frame(&[1; 10]);
        bytes.extend(frame(&[2; 2000]));
        bytes.extend(frame(&[3; 4]));
        let mut seen = Vec::new();
        let mut s = FrameScanner::default();
        let r = s.feed(&bytes, |len| {
            seen.push(len);
            if len > 1000 { Err(len) } else { Ok(()) }
        });
        assert_eq!((r, seen), (Err(2000), vec![10, 2000]));
    }

    #[test]
    fn splits_complete_messages_only() {
        let mut bytes = frame(b"abc");
        bytes.push(1);
        assert_eq!(split_message(&bytes), Some((false, &b"abc"[..], 8)));
        assert_eq!(split_message(&bytes[8..]), None);
        assert_eq!(split_message(&bytes[..7]), None);
    }
}
