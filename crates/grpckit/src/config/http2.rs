//! `server.http2:` the HTTP/2 limits a client cannot push past. The defaults are the
//! effective defaults of hyper 1.x / h2 0.4 (read from their sources, `hyper`
//! `proto/h2/server.rs` and `h2` `proto/mod.rs`), except `max_control_frames_per_second`,
//! which grpckit's own connection guard enforces (h2 bounds neither PING nor SETTINGS nor
//! PRIORITY floods).

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// The smallest frame size HTTP/2 allows (RFC 9113 §6.5.2), also its default.
const MIN_FRAME_SIZE: u32 = 16_384;
/// The largest frame size HTTP/2 allows (2^24 - 1).
const MAX_FRAME_SIZE: u32 = 16_777_215;
/// The largest flow-control window HTTP/2 allows (2^31 - 1).
const MAX_WINDOW_SIZE: u32 = 2_147_483_647;

/// `server.http2:` HTTP/2 limits per connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Http2Config {
    /// The largest header block a request may send (`SETTINGS_MAX_HEADER_LIST_SIZE`, bytes);
    /// a larger one (HPACK bomb, header flood) resets the stream. Default `16384`.
    pub max_header_list_size: u32,
    /// Flow-control window of each stream (`SETTINGS_INITIAL_WINDOW_SIZE`, bytes): how much a
    /// client may send on one call before the server has read it. Default `1048576` (1 MiB,
    /// hyper's default).
    pub initial_stream_window_size: u32,
    /// Flow-control window of the whole connection (bytes). Default `1048576` (1 MiB,
    /// hyper's default).
    pub initial_connection_window_size: u32,
    /// Grow the windows with the measured bandwidth-delay product (hyper's BDP pings) instead
    /// of the two fixed sizes above, which are then ignored. Default `false`.
    pub adaptive_window: bool,
    /// Largest frame payload the server accepts (`SETTINGS_MAX_FRAME_SIZE`, bytes),
    /// `16384..=16777215`. Default `16384`.
    pub max_frame_size: u32,
    /// Response bytes buffered per stream before the handler waits for the client to read
    /// (bytes). Default `409600` (400 KiB, hyper's default).
    pub max_send_buf_size: usize,
    /// Streams a client may open and reset before the server accepted them, before the
    /// connection gets GOAWAY (rapid reset, CVE-2023-44487). Default `20` (h2's default).
    pub max_pending_accept_reset_streams: usize,
    /// Streams the server may reset because of the client's protocol errors before the
    /// connection gets GOAWAY ("MadeYouReset", CVE-2025-8671). Default `1024` (hyper's
    /// default).
    pub max_local_error_reset_streams: usize,
    /// SETTINGS (not ACK) and PRIORITY frames a client may send per second before
    /// the connection gets GOAWAY `ENHANCE_YOUR_CALM` (`too_many_control_frames`); h2 answers
    /// or ignores each of them without a bound. PINGs are policed separately by
    /// `server.keep_alive.min_time`. `0`: no limit. Default `1000`.
    pub max_control_frames_per_second: u32,
}

impl Default for Http2Config {
    fn default() -> Self {
        Self {
            max_header_list_size: 16 * 1024,
            initial_stream_window_size: 1024 * 1024,
            initial_connection_window_size: 1024 * 1024,
            adaptive_window: false,
            max_frame_size: MIN_FRAME_SIZE,
            max_send_buf_size: 400 * 1024,
            max_pending_accept_reset_streams: 20,
            max_local_error_reset_streams: 1024,
            max_control_frames_per_second: 1000,
        }
    }
}

impl Http2Config {
    /// Checks the ranges HTTP/2 (RFC 9113) and h2 accept; errors name the key.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let key = |k: &str| format!("server.http2.{k}");
        if self.max_header_list_size == 0 {
            return Err(InvalidValue::new(
                key("max_header_list_size"),
                "must be greater than 0",
            ));
        }
        for (name, value) in [
            (
                "initial_stream_window_size",
                self.initial_stream_window_size,
            ),
            (
                "initial_connection_window_size",
                self.initial_connection_window_size,
            ),
        ] {
            if value == 0 || value > MAX_WINDOW_SIZE {
                return Err(InvalidValue::new(
                    key(name),
                    format!("must be in 1..={MAX_WINDOW_SIZE} (2^31-1), got {value}"),
                ));
            }
        }
        if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&self.max_frame_size) {
            return Err(InvalidValue::new(
                key("max_frame_size"),
                format!(
                    "must be in {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE}, got {}",
                    self.max_frame_size
                ),
            ));
        }
        if self.max_send_buf_size == 0 || self.max_send_buf_size > u32::MAX as usize {
            return Err(InvalidValue::new(
                key("max_send_buf_size"),
                format!(
                    "must be in 1..={}, got {}",
                    u32::MAX,
                    self.max_send_buf_size
                ),
            ));
        }
        for (name, value) in [
            (
                "max_pending_accept_reset_streams",
                self.max_pending_accept_reset_streams,
            ),
            (
                "max_local_error_reset_streams",
                self.max_local_error_reset_streams,
            ),
        ] {
            if value == 0 {
                return Err(InvalidValue::new(
                    key(name),
                    "must be greater than 0 (every reset would end the connection)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Http2Config::default().validate().unwrap();
    }

    /// Sets one bad value.
    type Mutation = fn(&mut Http2Config);

    #[test]
    fn out_of_range_values_name_the_key() {
        let cases: [(Mutation, &str); 6] = [
            (|c| c.max_frame_size = 16_383, "server.http2.max_frame_size"),
            (
                |c| c.max_frame_size = 1 << 24,
                "server.http2.max_frame_size",
            ),
            (
                |c| c.initial_stream_window_size = 1 << 31,
                "server.http2.initial_stream_window_size",
            ),
            (
                |c| c.initial_connection_window_size = 0,
                "server.http2.initial_connection_window_size",
            ),
            (
                |c| c.max_header_list_size = 0,
                "server.http2.max_header_list_size",
            ),
            (
                |c| c.max_pending_accept_reset_streams = 0,
                "server.http2.max_pending_accept_reset_streams",
            ),
        ];
        for (set, key) in cases {
            let mut cfg = Http2Config::default();
            set(&mut cfg);
            assert_eq!(cfg.validate().unwrap_err().key, key);
        }
        let edges = Http2Config {
            max_frame_size: 16_777_215,
            initial_stream_window_size: (1 << 31) - 1,
            ..Default::default()
        };
        edges.validate().unwrap();
    }
}
