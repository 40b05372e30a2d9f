use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

use super::{
    frame::{Cursor, ENHANCE_YOUR_CALM, FrameHeader, kind},
    *,
};

const CFG: GuardConfig = GuardConfig {
    ping_min_time: Duration::from_secs(30),
    max_control_frames_per_second: 10,
    header_block_timeout: Duration::from_secs(10),
};

fn frame(kind: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend([kind, flags]);
    f.extend(stream_id.to_be_bytes());
    f.extend(payload);
    f
}

fn ping() -> Vec<u8> {
    frame(kind::PING, 0, 0, &[7; 8])
}

fn settings() -> Vec<u8> {
    frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100])
}

/// The headers a cursor reports for `bytes` cut into the given pieces.
fn headers(bytes: &[u8], cuts: &[usize]) -> Vec<FrameHeader> {
    let mut cursor = Cursor::default();
    let mut seen = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([&bytes.len()]) {
        cursor.feed(&bytes[from..cut], |h| seen.push(h));
        from = cut;
    }
    assert!(cursor.at_boundary());
    seen
}

#[test]
fn frame_headers_are_found_at_every_split() {
    let mut bytes = frame(kind::HEADERS, 0x4, 1, &[1; 20]);
    bytes.extend(frame(kind::DATA, 0x1, 1, &[]));
    bytes.extend(ping());
    bytes.extend(frame(kind::DATA, 0, 3, &[9; 300]));
    let whole = headers(&bytes, &[]);
    assert_eq!(
        whole
            .iter()
            .map(|h| (h.kind, h.len, h.stream_id))
            .collect::<Vec<_>>(),
        [
            (kind::HEADERS, 20, 1),
            (kind::DATA, 0, 1),
            (kind::PING, 8, 0),
            (kind::DATA, 300, 3)
        ]
    );
    for a in 0..=bytes.len() {
        assert_eq!(headers(&bytes, &[a]), whole, "cut at {a}");
        for b in (a..=bytes.len()).step_by(7) {
            assert_eq!(headers(&bytes, &[a, b]), whole, "cuts at {a}, {b}");
        }
    }
    // One byte at a time.
    let every: Vec<usize> = (1..bytes.len()).collect();
    assert_eq!(headers(&bytes, &every), whole);
}

#[test]
fn to_boundary_stops_at_the_end_of_the_current_frame() {
    let mut bytes = frame(kind::DATA, 0, 1, &[1; 10]);
    bytes.extend(frame(kind::DATA, 0, 1, &[2; 4]));
    for written in 1..19 {
        let mut cursor = Cursor::default();
        cursor.feed(&bytes[..written], |_| {});
        assert_eq!(
            cursor.to_boundary(&bytes[written..]),
            19 - written,
            "after {written}"
        );
    }
    let mut cursor = Cursor::default();
    cursor.feed(&bytes[..3], |_| {});
    // The header does not complete in 2 bytes: all of them may go.
    assert_eq!(cursor.to_boundary(&bytes[3..5]), 2);
    assert_eq!(Cursor::default().to_boundary(&bytes), 0);
}

#[test]
fn goaway_frame_layout() {
    let g = GoAway::new(5, Reason::TooManyPings);
    let b = g.remaining();
    let h = FrameHeader::parse(b[..9].try_into().unwrap());
    assert_eq!(
        (h.kind, h.stream_id, h.len as usize),
        (kind::GOAWAY, 0, b.len() - 9)
    );
    assert_eq!(&b[9..13], &5u32.to_be_bytes());
    assert_eq!(&b[13..17], &ENHANCE_YOUR_CALM.to_be_bytes());
    assert_eq!(&b[17..], b"too_many_pings");
}

fn header(kind: u8, flags: u8) -> FrameHeader {
    FrameHeader {
        len: 8,
        kind,
        flags,
        stream_id: 0,
    }
}

#[tokio::test(start_paused = true)]
async fn the_third_ping_strike_ends_the_connection() {
    let mut p = Police::new(CFG);
    assert_eq!(
        p.inbound(header(kind::PING, 0)),
        None,
        "the first ping is free"
    );
    assert_eq!(p.inbound(header(kind::PING, 0)), None, "strike 1");
    assert_eq!(p.inbound(header(kind::PING, 0)), None, "strike 2");
    assert_eq!(p.inbound(header(kind::PING, 0)), Some(Reason::TooManyPings));
}

#[tokio::test(start_paused = true)]
async fn pings_at_min_time_or_after_data_are_no_strikes() {
    let mut p = Police::new(CFG);
    for _ in 0..10 {
        assert_eq!(p.inbound(header(kind::PING, 0)), None);
        tokio::time::advance(Duration::from_secs(30)).await;
    }
    for _ in 0..10 {
        p.outbound(header(kind::DATA, 0));
        assert_eq!(p.inbound(header(kind::PING, 0)), None);
    }
    // ACKs answer the server's PINGs: neither strikes nor control frames.
    for _ in 0..100 {
        assert_eq!(p.inbound(header(kind::PING, ACK_FLAG)), None);
    }
}

const ACK_FLAG: u8 = 0x1;

#[tokio::test(start_paused = true)]
async fn control_frames_past_the_rate_end_the_connection() {
    let mut p = Police::new(CFG);
    // 9 per second for a while: under the limit of 10.
    for _ in 0..5 {
        for _ in 0..9 {
            assert_eq!(p.inbound(header(kind::SETTINGS, 0)), None);
        }
        tokio::time::advance(Duration::from_millis(1100)).await;
    }
    for _ in 0..4 {
        assert_eq!(p.inbound(header(kind::PRIORITY, 0)), None);
    }
    // SETTINGS ACKs answer the server's own SETTINGS: not counted.
    for _ in 0..100 {
        assert_eq!(p.inbound(header(kind::SETTINGS, ACK_FLAG)), None);
    }
    let verdicts: Vec<_> = (0..20)
        .filter_map(|_| p.inbound(header(kind::SETTINGS, 0)))
        .collect();
    assert_eq!(verdicts.first(), Some(&Reason::TooManyControlFrames));
}

/// A guarded server end and the client end of an in-memory connection.
fn pair(cfg: GuardConfig) -> (H2Guard<DuplexStream>, DuplexStream) {
    let (server, client) = duplex(64 * 1024);
    let deadline = Instant::now() + Duration::from_secs(10);
    (H2Guard::new(server, cfg, deadline, None), client)
}

/// Reads from the guard until EOF, returning what came through.
async fn read_to_end(guard: &mut H2Guard<DuplexStream>) -> Vec<u8> {
    let mut got = Vec::new();
    guard.read_to_end(&mut got).await.unwrap();
    got
}

#[tokio::test(start_paused = true)]
async fn ping_flood_gets_goaway_at_a_frame_boundary_then_eof() {
    let mut hello = PREFACE.to_vec();
    hello.extend(settings());
    let mut input = frame(kind::HEADERS, 0x5, 3, &[0x82]);
    for _ in 0..4 {
        input.extend(ping());
    }
    // The client's bytes arrive in every split, while the server is halfway through a frame.
    for cut in 0..=input.len() {
        let (mut guard, mut client) = pair(CFG);
        client.write_all(&hello).await.unwrap();
        let mut got = vec![0; hello.len()];
        guard.read_exact(&mut got).await.unwrap();
        let out = frame(kind::DATA, 0, 3, &[5; 40]);
        guard.write_all(&out[..20]).await.unwrap();
        let mut n = 0;
        if cut > 0 {
            client.write_all(&input[..cut]).await.unwrap();
            let mut got = vec![0; input.len()];
            n = guard.read(&mut got).await.unwrap();
            assert!(n > 0, "cut {cut}");
        }
        client.write_all(&input[cut..]).await.unwrap();
        client.shutdown().await.unwrap();
        // What hyper reads ends at EOF: the client's own, or the guard's after the GOAWAY.
        let rest = read_to_end(&mut guard).await;
        assert!(n + rest.len() <= input.len());
        // hyper finishes its frame; the GOAWAY comes after it, then the write side closes.
        guard.write_all(&out[20..]).await.unwrap();
        guard.flush().await.unwrap();
        let mut sent = Vec::new();
        client.read_to_end(&mut sent).await.unwrap();
        assert_eq!(
            &sent[..out.len()],
            &out[..],
            "cut {cut}: the frame is finished first"
        );
        let goaway = &sent[out.len()..];
        assert_eq!(goaway[3], kind::GOAWAY, "cut {cut}");
        assert_eq!(&goaway[9..13], &3u32.to_be_bytes(), "last stream id");
        assert_eq!(&goaway[13..17], &ENHANCE_YOUR_CALM.to_be_bytes());
        assert_eq!(&goaway[17..], b"too_many_pings");
        assert!(guard.write_all(b"more").await.is_err());
        let mut buf = [0; 8];
        assert_eq!(guard.read(&mut buf).await.unwrap(), 0, "EOF after GOAWAY");
    }
}

#[tokio::test(start_paused = true)]
async fn http1_passes_through_untouched() {
    let (mut guard, mut client) = pair(CFG);
    let mut input = b"POST / HTTP/1.1\r\nhost: x\r\n\r\n".to_vec();
    for _ in 0..10 {
        input.extend(ping());
    }
    client.write_all(&input).await.unwrap();
    client.shutdown().await.unwrap();
    assert_eq!(read_to_end(&mut guard).await, input);
    guard.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
    drop(guard);
    let mut sent = Vec::new();
    client.read_to_end(&mut sent).await.unwrap();
    assert_eq!(sent, b"HTTP/1.1 200 OK\r\n\r\n");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_finishes_its_handshake_is_cut_off() {
    let (mut guard, mut client) = pair(CFG);
    client.write_all(&PREFACE[..10]).await.unwrap();
    let mut buf = [0; 64];
    assert_eq!(guard.read(&mut buf).await.unwrap(), 10);
    let err = guard.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);

    // Preface and SETTINGS in time: no deadline afterwards.
    let (mut guard, mut client) = pair(CFG);
    let mut input = PREFACE.to_vec();
    input.extend(settings());
    client.write_all(&input).await.unwrap();
    let mut got = vec![0; input.len()];
    guard.read_exact(&mut got).await.unwrap();
    tokio::time::advance(Duration::from_secs(60)).await;
    client.write_all(&ping()).await.unwrap();
    let mut p = [0; 17];
    guard.read_exact(&mut p).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_header_block_left_open_ends_the_connection_and_a_finished_one_does_not() {
    let mut hello = PREFACE.to_vec();
    hello.extend(settings());
    // HEADERS without END_HEADERS, then CONTINUATION with it: finished, no deadline left.
    let (mut guard, mut client) = pair(CFG);
    let mut input = hello.clone();
    input.extend(frame(kind::HEADERS, 0x1, 1, &[0x82]));
    input.extend(frame(kind::CONTINUATION, 0x4, 1, &[0x84]));
    client.write_all(&input).await.unwrap();
    let mut got = vec![0; input.len()];
    guard.read_exact(&mut got).await.unwrap();
    tokio::time::advance(Duration::from_secs(60)).await;
    client.write_all(&ping()).await.unwrap();
    let mut p = [0; 17];
    guard.read_exact(&mut p).await.unwrap();

    // HEADERS without END_HEADERS and nothing after: closed after header_block_timeout.
    let (mut guard, mut client) = pair(CFG);
    let mut input = hello.clone();
    input.extend(frame(kind::HEADERS, 0x1, 1, &[0x82]));
    client.write_all(&input).await.unwrap();
    let mut got = vec![0; input.len()];
    guard.read_exact(&mut got).await.unwrap();
    let started = Instant::now();
    let mut buf = [0; 64];
    let err = guard.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("header block"), "{err}");
    assert_eq!(started.elapsed(), CFG.header_block_timeout);
}
