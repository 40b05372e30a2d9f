//! `grpckit call|list|describe|perf` against an outside server: Python grpcio with
//! grpcio-reflection (which serves reflection v1alpha, exercising the fallback). Stubs are
//! generated at test time with grpcio-tools. Prints SKIPPED when python grpcio is missing,
//! fails under CI=true.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use grpckit_cli::{
    call::{self, CallArgs, DescribeArgs, ListArgs},
    conn::ConnArgs,
    perf::{self, Format, PerfArgs},
    reflect::ProtoArgs,
};

struct PyServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<&'static str> {
    ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import grpc, grpc_reflection, grpc_tools"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn start_or_skip(test: &str) -> Option<PyServer> {
    start_with(test, &[])
}

fn start_with(test: &str, extra: &[&std::path::Path]) -> Option<PyServer> {
    let Some(py) = python() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "{test}: python3 with grpcio, grpcio-reflection and grpcio-tools is required under CI"
            );
        }
        println!(
            "SKIPPED {test} because python3 grpcio/grpcio-reflection/grpcio-tools are not installed"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/echo_server.py");
    let mut child = Command::new(py)
        .arg(script)
        .arg(dir.path())
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .unwrap_or_else(|| panic!("python server said {line:?}"))
        .parse()
        .unwrap();
    Some(PyServer {
        child,
        port,
        _dir: dir,
    })
}

fn call_args(addr: &str, method: &str, data: &str) -> CallArgs {
    CallArgs {
        conn: ConnArgs::plaintext(addr),
        proto: ProtoArgs::default(),
        method: method.into(),
        data: Some(data.into()),
        deadline: Some(std::time::Duration::from_secs(10)),
        emit_defaults: false,
        verbose: false,
        protocol: Default::default(),
        http2: false,
    }
}

async fn run_call(args: &CallArgs) -> (call::CallOutcome, Vec<serde_json::Value>) {
    let mut out = Vec::new();
    let o = call::call(args, &mut out).await.expect("call runs");
    let text = String::from_utf8(out).unwrap();
    (
        o,
        serde_json::Deserializer::from_str(&text)
            .into_iter::<serde_json::Value>()
            .map(Result::unwrap)
            .collect(),
    )
}

#[tokio::test]
async fn reflection_client_against_python_grpcio() {
    let Some(py) = start_or_skip("reflection_client_against_python_grpcio") else {
        return;
    };
    let addr = format!("127.0.0.1:{}", py.port);

    let mut out = Vec::new();
    call::list(
        &ListArgs {
            conn: ConnArgs::plaintext(&addr),
            proto: ProtoArgs::default(),
            service: None,
        },
        &mut out,
    )
    .await
    .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .lines()
            .any(|l| l == "echo.v1.Echo")
    );

    let mut out = Vec::new();
    call::describe_cmd(
        &DescribeArgs {
            conn: ConnArgs::plaintext(&addr),
            proto: ProtoArgs::default(),
            symbol: Some("echo.v1.Echo".into()),
        },
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("rpc Chat(stream .echo.v1.SayRequest) returns (stream .echo.v1.SayReply);"),
        "{text}"
    );

    // Unary with metadata and a 64-bit integer (a JSON string in proto3 JSON).
    let mut a = call_args(
        &addr,
        "echo.v1.Echo/Say",
        r#"{"text":"hi","big":"9007199254740993"}"#,
    );
    a.conn.headers = vec!["x-trace: abc".into()];
    let (o, v) = run_call(&a).await;
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(v[0]["text"], "hi");
    assert_eq!(v[0]["big"], "9007199254740993");
    assert_eq!(v[0]["seen"][0], "x-trace=abc");

    // Server streaming.
    let (o, v) = run_call(&call_args(
        &addr,
        "echo.v1.Echo/Repeat",
        r#"{"text":"r","times":3}"#,
    ))
    .await;
    assert!(o.error.is_none());
    assert_eq!(
        v.iter()
            .map(|x| x["text"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["r-0", "r-1", "r-2"]
    );

    // Client streaming (concatenated objects) and bidi (array).
    let (_, v) = run_call(&call_args(
        &addr,
        "echo.v1.Echo/Collect",
        r#"{"text":"a"} {"text":"b"} {"text":"c"}"#,
    ))
    .await;
    assert_eq!(v[0]["text"], "a,b,c");
    let (_, v) = run_call(&call_args(
        &addr,
        "echo.v1.Echo/Chat",
        r#"[{"text":"x"},{"text":"y"}]"#,
    ))
    .await;
    assert_eq!(
        v.iter()
            .map(|x| x["text"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["X", "Y"]
    );

    // Errors carry the server's status; exit code = 64 + code.
    let (o, _) = run_call(&call_args(
        &addr,
        "echo.v1.Echo/Fail",
        r#"{"code":7,"message":"nope"}"#,
    ))
    .await;
    let s = o.error.as_ref().unwrap();
    assert_eq!(
        (s.code(), s.message()),
        (tonic::Code::PermissionDenied, "nope")
    );
    assert_eq!(o.exit_code(), 71);

    // --proto files instead of reflection.
    let mut a = call_args(&addr, "echo.v1.Echo/Say", r#"{"text":"from-file"}"#);
    a.proto = ProtoArgs {
        protos: vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/echo.proto")],
        import_paths: vec![],
    };
    let (_, v) = run_call(&a).await;
    assert_eq!(v[0]["text"], "from-file");
}

#[tokio::test]
async fn perf_against_python_grpcio_streams() {
    let Some(py) = start_or_skip("perf_against_python_grpcio_streams") else {
        return;
    };
    let addr = format!("127.0.0.1:{}", py.port);
    for (method, data) in [
        ("echo.v1.Echo/Chat", r#"{"text":"x"}"#),
        ("echo.v1.Echo/Collect", r#"{"text":"{{.WorkerID}}"}"#),
        ("echo.v1.Echo/Repeat", r#"{"text":"r","times":2}"#),
    ] {
        let args = PerfArgs {
            call: Some(method.into()),
            data: Some(data.into()),
            stream_messages: Some(3),
            ..perf_args(&addr, 20)
        };
        let r = perf::run(&args).await.unwrap();
        assert_eq!((r.total, r.ok, r.errors), (20, 20, 0), "{method}");
    }
    let args = PerfArgs {
        call: Some("echo.v1.Echo/Fail".into()),
        data: Some(r#"{"code":5,"message":"gone"}"#.into()),
        ..perf_args(&addr, 10)
    };
    let r = perf::run(&args).await.unwrap();
    assert_eq!(r.errors, 10);
    assert_eq!(
        (
            r.errors_by_code[0].name.as_str(),
            r.errors_by_code[0].sample.as_str()
        ),
        ("NOT_FOUND", "gone")
    );
    assert!(
        perf::render(&r, Format::Text)
            .unwrap()
            .contains("NOT_FOUND")
    );
}

fn perf_args(addr: &str, n: u64) -> PerfArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct P {
        #[command(flatten)]
        p: PerfArgs,
    }
    let mut p = P::parse_from(["perf", "--addr", addr, "-q", "-c", "2"]).p;
    p.requests = Some(n);
    p
}

#[tokio::test]
async fn tls_with_cacert_and_insecure() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    // A CA and a leaf signed by it (webpki rejects a self-signed certificate as end entity).
    let d = certs.path();
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    let ssl = |args: &[&str]| {
        Command::new("openssl")
            .current_dir(d)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ok = ssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]) && ssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]) && ssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "openssl is required under CI"
        );
        println!("SKIPPED tls_with_cacert_and_insecure because openssl is not available");
        return;
    }
    let Some(py) = start_with("tls_with_cacert_and_insecure", &[&cert, &key]) else {
        return;
    };
    let addr = format!("localhost:{}", py.port);
    let mut a = call_args(&addr, "echo.v1.Echo/Say", r#"{"text":"secure"}"#);
    a.conn.plaintext = false;
    a.conn.cacert = Some(d.join("ca.pem"));
    let (o, v) = run_call(&a).await;
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(v[0]["text"], "secure");

    let mut a = call_args(&addr, "echo.v1.Echo/Say", r#"{"text":"insecure"}"#);
    a.conn.plaintext = false;
    a.conn.insecure = true;
    let (_, v) = run_call(&a).await;
    assert_eq!(v[0]["text"], "insecure");

    // perf's load connections (bare HTTP/2, not tonic's Channel) over TLS too.
    let mut p = PerfArgs {
        call: Some("echo.v1.Echo/Say".into()),
        data: Some(r#"{"text":"load"}"#.into()),
        ..perf_args(&addr, 20)
    };
    p.conn.plaintext = false;
    p.conn.cacert = Some(d.join("ca.pem"));
    let r = perf::run(&p).await.unwrap();
    assert_eq!((r.total, r.ok, r.errors), (20, 20, 0));

    // Plaintext against a TLS port fails locally (no status from the server).
    let a = call_args(&addr, "echo.v1.Echo/Say", "{}");
    let mut out = Vec::new();
    let failed = match call::call(&a, &mut out).await {
        Err(_) => true,
        Ok(o) => o.error.is_some(),
    };
    assert!(failed);
}
