use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

use super::*;

fn http() -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    b.http2()
        .max_concurrent_streams(77)
        .max_header_list_size(16 * 1024);
    b
}

fn settings_frame(pairs: &[(u16, u32)]) -> Vec<u8> {
    let len = pairs.len() * 6;
    let mut f = vec![0, 0, len as u8, kind::SETTINGS, 0, 0, 0, 0, 0];
    for (id, v) in pairs {
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&v.to_be_bytes());
    }
    f
}

const PING: [u8; 17] = [0, 0, 8, 0x6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];

async fn read_n(c: &mut DuplexStream, n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    tokio::time::timeout(Duration::from_secs(5), c.read_exact(&mut v))
        .await
        .expect("read in time")
        .expect("read");
    v
}

#[tokio::test]
async fn learns_hypers_settings_frame() {
    let s = learn_server_settings(&http()).await.expect("learnt");
    let h = FrameHeader::parse(s.0[..9].try_into().unwrap());
    assert_eq!((h.kind, h.flags, h.stream_id), (kind::SETTINGS, 0, 0));
    assert_eq!(s.0.len(), 9 + h.len as usize);
    // SETTINGS_MAX_CONCURRENT_STREAMS (3) = 77 is among them.
    let has_77 = s.0[9..]
        .chunks(6)
        .any(|p| p[..2] == [0, 3] && p[2..] == 77u32.to_be_bytes());
    assert!(has_77, "{:?}", s.0);
}

#[tokio::test]
async fn a_bare_handshake_is_answered_parked_and_replayed_on_the_next_frame() {
    let settings = learn_server_settings(&http()).await.unwrap();
    let (mut client, server) = duplex(4096);
    let mut hello = PREFACE.to_vec();
    hello.extend(settings_frame(&[(4, 65535)]));
    client.write_all(&hello).await.unwrap();
    let parked = tokio::spawn({
        let settings = settings.clone();
        async move {
            park(
                server,
                &settings,
                Duration::from_secs(5),
                std::future::pending(),
            )
            .await
            .map(|r| (r.replay.clone(), r.drop.is_some()))
        }
    });
    // hyper's settings and an ACK of ours come back at once.
    let answer = read_n(&mut client, settings.0.len() + 9).await;
    assert_eq!(&answer[..settings.0.len()], &settings.0[..]);
    assert_eq!(answer[settings.0.len()..], SETTINGS_ACK);
    // The client's ACK keeps it parked, split in two writes.
    client.write_all(&SETTINGS_ACK[..4]).await.unwrap();
    client.write_all(&SETTINGS_ACK[4..]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!parked.is_finished(), "a settings ACK does not wake it");
    client.write_all(&PING).await.unwrap();
    let (replay, dropping) = parked.await.unwrap().expect("handed over");
    let mut want = hello.clone();
    want.extend(SETTINGS_ACK);
    want.extend(PING);
    assert_eq!(replay, want);
    assert!(dropping);
}

#[tokio::test]
async fn http1_and_busy_clients_are_handed_over_at_once_with_nothing_written() {
    for first in [
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        [
            &PREFACE[..],
            &settings_frame(&[]),
            &[0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 1, 0, 0],
        ]
        .concat(),
        [&PREFACE[..], &[0, 0, 0, 0x4, 1, 0, 0, 0, 0][..]].concat(),
    ] {
        let settings = learn_server_settings(&http()).await.unwrap();
        let (mut client, server) = duplex(4096);
        client.write_all(&first).await.unwrap();
        let r = park(
            server,
            &settings,
            Duration::from_secs(5),
            std::future::pending(),
        )
        .await
        .expect("handed over");
        assert_eq!(r.replay, first);
        assert!(r.drop.is_none());
        drop(r);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "nothing written: {rest:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_unfinished_preface_times_out_and_a_closed_one_ends() {
    let settings = learn_server_settings(&http()).await.unwrap();
    let (mut client, server) = duplex(4096);
    client.write_all(&PREFACE[..10]).await.unwrap();
    let end = park(
        server,
        &settings,
        Duration::from_secs(3),
        std::future::pending(),
    )
    .await;
    assert_eq!(end.err(), Some(ParkEnd::TimedOut));

    let (client, server) = duplex(4096);
    drop(client);
    let end = park(
        server,
        &settings,
        Duration::from_secs(3),
        std::future::pending(),
    )
    .await;
    assert_eq!(end.err(), Some(ParkEnd::Closed));
}

#[tokio::test]
async fn a_parked_connection_gets_goaway_when_closed() {
    let settings = learn_server_settings(&http()).await.unwrap();
    let (mut client, server) = duplex(4096);
    client
        .write_all(&[&PREFACE[..], &settings_frame(&[])].concat())
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let parked = tokio::spawn({
        let settings = settings.clone();
        async move {
            let close = async move {
                let _ = rx.await;
            };
            park(server, &settings, Duration::from_secs(5), close)
                .await
                .err()
        }
    });
    read_n(&mut client, settings.0.len() + 9).await;
    tx.send(()).unwrap();
    assert_eq!(parked.await.unwrap(), Some(ParkEnd::Closed));
    let goaway = read_n(&mut client, 17).await;
    assert_eq!(goaway[3], kind::GOAWAY);
    assert_eq!(&goaway[9..], &[0; 8], "last stream 0, NO_ERROR");
}

/// What hyper writes after a parked handshake, split at every offset: its first SETTINGS
/// and first SETTINGS ACK are dropped, everything else passes in order.
#[tokio::test]
async fn writes_drop_exactly_the_two_frames_already_sent_at_any_split() {
    let hyper_settings = settings_frame(&[(3, 77), (6, 16384)]);
    let window_update = vec![0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0x0f, 0, 1];
    let headers = vec![0, 0, 3, 0x1, 0x4, 0, 0, 0, 1, 0x88, 0x40, 0x00];
    let second_ack = SETTINGS_ACK.to_vec();
    let written = [
        hyper_settings.clone(),
        window_update.clone(),
        SETTINGS_ACK.to_vec(),
        headers.clone(),
        second_ack.clone(),
    ]
    .concat();
    let want = [window_update, headers, second_ack].concat();
    for split in 1..written.len() {
        let mut r = Replay::new(Vec::<u8>::new(), Vec::new(), true);
        for chunk in written.chunks(split) {
            r.write_all(chunk).await.unwrap();
        }
        r.flush().await.unwrap();
        assert_eq!(r.io, want, "split {split}");
        assert!(
            r.drop.is_none(),
            "pass-through after both frames, split {split}"
        );
    }
}

/// End to end: a real h2 client (its handshake is a bare preface + SETTINGS, so the
/// connection parks) makes a request through the parked, then handed-over, hyper connection.
#[tokio::test]
async fn a_parked_connection_serves_requests_through_hyper() {
    let http = http();
    let settings = learn_server_settings(&http).await.unwrap();
    let (client_io, server_io) = duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let io = park(
            server_io,
            &settings,
            Duration::from_secs(5),
            std::future::pending(),
        )
        .await
        .expect("handed over");
        let svc = service_fn(|_req| async {
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"hi"))))
        });
        http.serve_connection(TokioIo::new(io), svc).await.ok();
    });
    let (mut send, conn) = h2::client::handshake(client_io).await.expect("handshake");
    tokio::spawn(async move {
        conn.await.ok();
    });
    // Let the connection sit parked, with the client's SETTINGS ACK absorbed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        let req = http::Request::get("http://x/").body(()).unwrap();
        let (resp, _) = send.send_request(req, true).unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(5), resp)
            .await
            .expect("answered")
            .expect("response");
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body();
        let chunk = body.data().await.expect("data").expect("ok");
        assert_eq!(&chunk[..], b"hi");
        send = send.ready().await.unwrap();
    }
    drop(send);
    server.abort();
}
