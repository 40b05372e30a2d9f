//! Every server describes the `google.rpc` error model through reflection, so a reflection
//! client can decode the rich error details: a plain tonic reflection client resolves
//! `google.rpc.BadRequest` and its imports, and so does the real grpcurl.

use std::process::Command;

use grpckit_app_test::{TestServer, require_tool};
use prost::Message;
use prost_types::FileDescriptorProto;
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

/// Asks the server for `req` and returns the files of the answer.
async fn files(
    client: &mut ServerReflectionClient<tonic::transport::Channel>,
    req: MessageRequest,
) -> Vec<FileDescriptorProto> {
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(req),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::once(req))
        .await
        .expect("reflection call")
        .into_inner();
    let answer = answers.next().await.expect("an answer").expect("answer ok");
    match answer.message_response {
        Some(MessageResponse::FileDescriptorResponse(f)) => f
            .file_descriptor_proto
            .iter()
            .map(|b| FileDescriptorProto::decode(&b[..]).expect("file decodes"))
            .collect(),
        other => panic!("unexpected answer {other:?}"),
    }
}

#[tokio::test]
async fn reflection_client_resolves_google_rpc_bad_request() {
    let srv = TestServer::start().await.unwrap();
    let mut client = ServerReflectionClient::new(srv.channel().await);
    let mut found = files(
        &mut client,
        MessageRequest::FileContainingSymbol("google.rpc.BadRequest".into()),
    )
    .await;
    let main = found
        .iter()
        .find(|f| f.message_type.iter().any(|m| m.name() == "BadRequest"))
        .expect("the file defining BadRequest");
    assert_eq!(main.name(), "google/rpc/error_details.proto");
    // Every import resolves by name on the same server, as a client loading it would ask.
    let mut wanted: Vec<String> = vec!["google/rpc/status.proto".into()];
    wanted.extend(main.dependency.iter().cloned());
    while let Some(name) = wanted.pop() {
        if found.iter().any(|f| f.name() == name) {
            continue;
        }
        let got = files(&mut client, MessageRequest::FileByFilename(name.clone())).await;
        assert!(got.iter().any(|f| f.name() == name), "{name} not served");
        wanted.extend(got.iter().flat_map(|f| f.dependency.iter().cloned()));
        found.extend(got);
    }
    let set = prost_types::FileDescriptorSet { file: found };
    let pool = prost_reflect::DescriptorPool::from_file_descriptor_set(set).expect("pool builds");
    let br = pool
        .get_message_by_name("google.rpc.BadRequest")
        .expect("BadRequest");
    assert!(br.get_field_by_name("field_violations").is_some());
    for m in [
        "google.rpc.Status",
        "google.rpc.RetryInfo",
        "google.rpc.ErrorInfo",
    ] {
        assert!(pool.get_message_by_name(m).is_some(), "{m}");
    }
}

fn grpcurl_present() -> bool {
    Command::new("grpcurl")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty())
}

#[tokio::test]
async fn grpcurl_describes_google_rpc_bad_request() {
    if !require_tool(
        "grpcurl_describes_google_rpc_bad_request",
        grpcurl_present(),
        "grpcurl (scripts/install-test-tools.sh)",
    ) {
        return;
    }
    let srv = TestServer::start().await.unwrap();
    let addr = srv.addr.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("grpcurl")
            .args(["-plaintext", &addr, "describe", "google.rpc.BadRequest"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("google.rpc.BadRequest is a message"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("field_violations"), "{text}");
}
