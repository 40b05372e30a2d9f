//! Counts gRPC messages in a byte stream of length-prefixed frames (1 flag byte, 4 bytes
//! big-endian length, payload), however the bytes are split into chunks.

/// The incremental frame parser.
#[derive(Debug, Default, Clone)]
pub struct FrameCounter {
    header_pos: u8,
    len: u32,
    remaining: u64,
}

impl FrameCounter {
    /// Feeds the next chunk; returns how many messages it completed.
    pub fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut done = 0;
        while !data.is_empty() {
            if self.remaining > 0 {
                let take = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                self.remaining -= take as u64;
                data = &data[take..];
                if self.remaining == 0 {
                    done += 1;
                    self.header_pos = 0;
                }
                continue;
            }
            let b = data[0];
            data = &data[1..];
            if self.header_pos >= 1 {
                self.len = (self.len << 8) | u32::from(b);
            }
            self.header_pos += 1;
            if self.header_pos == 5 {
                self.remaining = u64::from(self.len);
                self.len = 0;
                if self.remaining == 0 {
                    done += 1;
                    self.header_pos = 0;
                }
            }
        }
        done
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
            let mut c = FrameCounter::default();
            let n: u64 = bytes.chunks(chunk).map(|p| c.feed(p)).sum();
            assert_eq!(n, 3, "chunk size {chunk}");
        }
    }
}
