//! Comments of `grpckit config default`, one per key of the default file, seeded from the
//! doc comments of the config types (keep them in step when a doc changes).
//! A test checks that every key of `AppConfig::default()` has one and that every entry
//! names a key that exists.

/// `(key path, comment)` in the order of the file.
pub(super) const COMMENTS: &[(&str, &str)] = &[
    (
        "server",
        "Listener, HTTP/2 and runtime settings (framework).",
    ),
    ("server.address", "Bind address. Default `0.0.0.0`."),
    ("server.port", "gRPC port. Default `9090`."),
    (
        "server.metrics_listen",
        "Admin/metrics listener. Default `0.0.0.0:9091`.",
    ),
    (
        "server.enable_tls",
        "TLS on the gRPC port with `tls` (its `cert_file` and `key_file` are then required). Default `false`.",
    ),
    (
        "server.tls",
        "The gRPC port's certificate, key and client certificate checks.",
    ),
    (
        "server.tls.cert_file",
        "PEM file with the server certificate, then its intermediates. Required with TLS.",
    ),
    (
        "server.tls.key_file",
        "PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1). Required with TLS.",
    ),
    (
        "server.tls.client_ca_file",
        "PEM file with the CA certificates client certificates are checked against; enables client certificate checks (`client_auth` then defaults to `required`).",
    ),
    (
        "server.tls.client_auth",
        "`none`, `optional` (a client may present no certificate; one it presents must be valid) or `required`. Default: `required` with `client_ca_file`, else `none`.",
    ),
    (
        "server.tls.min_version",
        "The oldest protocol version accepted: `\"1.3\"` (default) or `\"1.2\"`.",
    ),
    (
        "server.admin_tls",
        "TLS on the admin port; optional: without it the admin port is plain HTTP.",
    ),
    (
        "server.admin_tls.cert_file",
        "PEM file with the certificate, then its intermediates. Required with `key_file`.",
    ),
    (
        "server.admin_tls.key_file",
        "PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1). Required with `cert_file`.",
    ),
    (
        "server.proxy_protocol",
        "`proxy_protocol:` load balancers that send a PROXY protocol header naming the client.",
    ),
    (
        "server.proxy_protocol.trusted_proxies",
        "Peers (CIDR) that send the header. Default empty: off.",
    ),
    (
        "server.debug",
        "`debug:` CPU profile (`/debug/pprof/profile?seconds=N`), task counts (`/debug/tasks`) and open connections (`/debug/connections`) on the admin port, for a caller with `role` (bearer token or `x-api-key`; the gRPC port's auth must be on). Needs a restart to change.",
    ),
    (
        "server.debug.enabled",
        "Serve the debug endpoints. Default `false`.",
    ),
    (
        "server.debug.role",
        "The role a caller needs. Default `admin`.",
    ),
    (
        "server.debug.max_profile_seconds",
        "The longest CPU profile a request may ask for, in seconds. Default `60`.",
    ),
    (
        "server.http",
        "`http:` REST/JSON, gRPC-Web and Connect on the gRPC port, OpenAPI and CORS.",
    ),
    (
        "server.http.enabled",
        "Serve REST/JSON (from the `google.api.http` options), gRPC-Web and Connect on the gRPC port. Default `true`; `false` answers every non-gRPC request `415`/`404`.",
    ),
    (
        "server.http.openapi",
        "Serve the OpenAPI 3.1 document at `GET /openapi.json`. Default `true`.",
    ),
    ("server.http.cors", "Cross-origin requests from browsers."),
    (
        "server.http.cors.allowed_origins",
        "Origins allowed to call (`https://app.example.com`), or `*` for any. Default empty.",
    ),
    (
        "server.http.cors.allowed_headers",
        "Request headers a browser may send besides the CORS-safelisted ones. Default: the headers the gRPC-Web, Connect and REST clients send (`authorization`, `content-type`, `x-api-key`, `x-grpc-web`, `x-user-agent`, `grpc-timeout`, `connect-protocol-version`, `connect-timeout-ms`, `traceparent`, `tracestate`, `x-request-id`).",
    ),
    (
        "server.http.cors.max_age",
        "How long a browser may cache a preflight answer. Default `2h`.",
    ),
    (
        "server.http.cors.allow_credentials",
        "Allow credentials (cookies, HTTP auth) on cross-origin calls; not allowed with `*`. Default `false`.",
    ),
    (
        "server.max_recv_size",
        "Largest accepted message in bytes. Default `4194304` (4 MiB).",
    ),
    (
        "server.max_send_size",
        "Largest sent message in bytes. Default `4194304` (4 MiB).",
    ),
    (
        "server.max_concurrent_streams",
        "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. Default `1000`.",
    ),
    ("server.keep_alive", "HTTP/2 keep-alive."),
    (
        "server.keep_alive.time",
        "Idle time before a connection is probed. Default `60s`.",
    ),
    (
        "server.keep_alive.timeout",
        "A probe not answered within this closes the connection. Default `5s`.",
    ),
    (
        "server.keep_alive.min_time",
        "Minimum interval a client may send PINGs at, enforced as grpc-go does: a PING sooner than this after the previous one is a strike (strikes reset when the server sends HEADERS or DATA); the third strike gets GOAWAY `ENHANCE_YOUR_CALM` (`too_many_pings`) and the connection is closed. Default `30s`.",
    ),
    (
        "server.keep_alive.probe",
        "How idle connections are probed: `tcp` (default) or `http2`.",
    ),
    (
        "server.http2",
        "HTTP/2 limits: windows, frame and header sizes, reset and control-frame floods.",
    ),
    (
        "server.http2.max_header_list_size",
        "The largest header block a request may send (`SETTINGS_MAX_HEADER_LIST_SIZE`, bytes); a larger one (HPACK bomb, header flood) resets the stream. Default `16384`.",
    ),
    (
        "server.http2.initial_stream_window_size",
        "Flow-control window of each stream (`SETTINGS_INITIAL_WINDOW_SIZE`, bytes): how much a client may send on one call before the server has read it. Default `1048576` (1 MiB, hyper's default).",
    ),
    (
        "server.http2.initial_connection_window_size",
        "Flow-control window of the whole connection (bytes). Default `1048576` (1 MiB, hyper's default).",
    ),
    (
        "server.http2.adaptive_window",
        "Grow the windows with the measured bandwidth-delay product (hyper's BDP pings) instead of the two fixed sizes above, which are then ignored. Default `false`.",
    ),
    (
        "server.http2.max_frame_size",
        "Largest frame payload the server accepts (`SETTINGS_MAX_FRAME_SIZE`, bytes), `16384..=16777215`. Default `16384`.",
    ),
    (
        "server.http2.max_send_buf_size",
        "Response bytes buffered per stream before the handler waits for the client to read (bytes). Default `409600` (400 KiB, hyper's default).",
    ),
    (
        "server.http2.max_pending_accept_reset_streams",
        "Streams a client may open and reset before the server accepted them, before the connection gets GOAWAY (rapid reset, CVE-2023-44487). Default `20` (h2's default).",
    ),
    (
        "server.http2.max_local_error_reset_streams",
        "Streams the server may reset because of the client's protocol errors before the connection gets GOAWAY (\"MadeYouReset\", CVE-2025-8671). Default `1024` (hyper's default).",
    ),
    (
        "server.http2.max_control_frames_per_second",
        "SETTINGS (not ACK) and PRIORITY frames a client may send per second before the connection gets GOAWAY `ENHANCE_YOUR_CALM` (`too_many_control_frames`); h2 answers or ignores each of them without a bound. PINGs are policed separately by `server.keep_alive.min_time`. `0`: no limit. Default `1000`.",
    ),
    (
        "server.handshake_timeout",
        "A connection must finish its TLS handshake (with TLS) and then its HTTP/2 preface and first SETTINGS frame within this of being accepted, else it is closed (slowloris). An HTTP/2 connection past its handshake may then stay idle without a call (gRPC clients keep one ready). On HTTP/1.1 every request's headers must arrive within this of the server waiting for them (hyper's header read timeout), so an idle HTTP/1.1 keep-alive connection is closed after it too. Default `10s`.",
    ),
    (
        "server.shutdown_grace",
        "How long in-flight calls may take to finish after SIGTERM. Default `10s`.",
    ),
    (
        "server.drain_delay",
        "How long health reports `NOT_SERVING` before the server stops accepting, so load balancers see it first (see `# Shutdown` on `ServerBuilder::serve`). Default `0s`. Under Kubernetes, match it with the pod's `preStop` sleep and keep `terminationGracePeriodSeconds` above `drain_delay + shutdown_grace`.",
    ),
    (
        "server.max_connection_age",
        "A connection older than this gets GOAWAY (its open calls may finish), so clients reconnect and long-lived connections spread again behind a load balancer. Default none (`~`): connections live as long as the client keeps them.",
    ),
    (
        "server.max_connection_age_grace",
        "How long the calls of a connection past `max_connection_age` may still run before the connection is closed. Default `10s`.",
    ),
    (
        "server.max_connections",
        "Open connections the gRPC port holds at most (all `thread_per_core` threads together); one more is closed as soon as it is accepted. `0`: no cap. Default `20000`.",
    ),
    (
        "server.runtime",
        "Runtime flavour: `auto` (default), `multi_thread`, `current_thread`, `thread_per_core`.",
    ),
    (
        "server.workers",
        "Worker threads for `multi_thread`; 0 = one per available CPU. Default `0`.",
    ),
    (
        "server.cores",
        "Serving threads for `thread_per_core`; 0 = one per available CPU. Default `0`.",
    ),
    (
        "server.pin_cores",
        "Pin each `thread_per_core` thread to its own CPU. Default `false`.",
    ),
    (
        "client",
        "The gRPC client, e.g. OrderService's calls to UserService (framework).",
    ),
    (
        "client.enable_load_balancing",
        "Spread calls over several endpoints. Default `true`.",
    ),
    (
        "client.load_balancing_policy",
        "`round_robin`, `weighted_round_robin`, `least_connections` or `p2c_ewma`.",
    ),
    (
        "client.connection_timeout",
        "TCP connect timeout. Default `10s`.",
    ),
    (
        "client.keep_alive",
        "HTTP/2 keep-alive of client connections.",
    ),
    ("client.keep_alive.time", "PING interval. Default `30s`."),
    (
        "client.keep_alive.timeout",
        "PING ack timeout. Default `5s`.",
    ),
    ("client.retry", "Retry policy (gRPC A6)."),
    (
        "client.retry.max_attempts",
        "Attempts including the first. Default `3`.",
    ),
    ("client.retry.initial_backoff", "Default `100ms`."),
    ("client.retry.max_backoff", "Default `5s`."),
    (
        "client.retry.backoff_multiplier",
        "Back-off growth per attempt. Default `2.0`.",
    ),
    (
        "client.retry.retryable_codes",
        "Status codes that are retried. Default `[UNAVAILABLE]`.",
    ),
    (
        "client.retry.idempotent_methods",
        "Methods safe to send twice, as `MethodPattern`s (`/pkg.Service/Method`, `/pkg.Service/*`, `/pkg.Service/Get*`, `*`; the leading `/` is optional), besides the methods whose registered descriptor says `idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT`. Others are retried only when the request surely never left the client. Default empty.",
    ),
    (
        "client.retry.budget",
        "Retry throttle (A6 `retryThrottling`).",
    ),
    (
        "client.retry.budget.max_tokens",
        "Bucket size (1..=1000). Default `10`.",
    ),
    (
        "client.retry.budget.token_ratio",
        "Tokens regained per successful call (0 < r <= 1). Default `0.1`.",
    ),
    (
        "client.retry.max_buffer_bytes",
        "Largest request body buffered for replay; bigger or streaming bodies are not retried. Default `65536`.",
    ),
    (
        "client.endpoints",
        "Default endpoints of a `ClientBuilder` (`http://HOST:PORT`, `dns://NAME:PORT`, ...). Default none.",
    ),
    (
        "client.connections_per_endpoint",
        "HTTP/2 connections per endpoint (calls spread over them). Default `1`.",
    ),
    (
        "client.dns_refresh_interval",
        "How often `dns://` names are re-resolved. Default `30s`.",
    ),
    (
        "client.outlier_detection",
        "Per-endpoint ejection after failures.",
    ),
    (
        "client.outlier_detection.enabled",
        "Turn ejection on. Default `true`.",
    ),
    (
        "client.outlier_detection.consecutive_failures",
        "Consecutive failures that eject. Default `5`.",
    ),
    (
        "client.outlier_detection.failure_ratio",
        "Failure ratio over `interval` that ejects (0 = off). Default `0` (off).",
    ),
    (
        "client.outlier_detection.min_requests",
        "Calls needed in `interval` before `failure_ratio` applies. Default `20`.",
    ),
    (
        "client.outlier_detection.interval",
        "Window of the failure ratio. Default `10s`.",
    ),
    (
        "client.outlier_detection.base_ejection_time",
        "First ejection time. Default `1s`.",
    ),
    (
        "client.outlier_detection.max_ejection_time",
        "Longest ejection time. Default `30s`.",
    ),
    ("client.circuit_breaker", "Per-client breaker."),
    (
        "client.circuit_breaker.enabled",
        "Turn the breaker on. Default `true`.",
    ),
    (
        "client.circuit_breaker.failure_ratio",
        "Failure ratio that opens (0 < r <= 1). Default `0.5`.",
    ),
    (
        "client.circuit_breaker.min_requests",
        "Calls needed in `interval` before the ratio applies. Default `20`.",
    ),
    ("client.circuit_breaker.interval", "Window. Default `10s`."),
    (
        "client.circuit_breaker.open_time",
        "How long the breaker stays open before a probe. Default `5s`.",
    ),
    ("client.health_check", "Active `grpc.health.v1` probing."),
    (
        "client.health_check.enabled",
        "Turn probing on. Default `false`.",
    ),
    (
        "client.health_check.service",
        "Service name asked for (empty = whole server). Default empty.",
    ),
    (
        "client.health_check.interval",
        "Time between probes. Default `5s`.",
    ),
    (
        "client.health_check.timeout",
        "Probe deadline. Default `1s`.",
    ),
    (
        "client.tls",
        "TLS (and mutual TLS) to the endpoints; absent = plaintext except `https://` endpoints. Default none.",
    ),
    ("log", "Logging (framework)."),
    (
        "log.level",
        "A level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or `EnvFilter` directives, e.g. `grpckit=debug,info`; other bare words are rejected. Default `info`.",
    ),
    ("log.format", "`json` (default) or `pretty`."),
    (
        "middleware",
        "The interceptor chain (framework), with the app's defaults.",
    ),
    (
        "middleware.enabled",
        "Master switch. `false` serves with NO layers at all (benchmark baseline). Default `true`.",
    ),
    ("middleware.recover", "Panic recovery."),
    ("middleware.recover.enabled", "Default `true`."),
    ("middleware.log", "Access log and request ids."),
    (
        "middleware.log.enabled",
        "Emit access lines and handle `x-request-id`. Default `true`.",
    ),
    (
        "middleware.log.level",
        "Level of the line for sampled successful calls (hot-reloadable). Default `info`.",
    ),
    (
        "middleware.log.success_sample",
        "Share of successful calls logged at `level` (systematic: at `0.01` every 100th call of each worker thread); the others log at `debug` (shown with `--log-level debug`). Default `0.01`; `1.0` logs every call.",
    ),
    (
        "middleware.log.slow_threshold",
        "Successful calls that take at least this long are always logged at `info`, marked `\"slow\": true` (a stream's time is its whole life). Default `500ms`; `0s` turns it off.",
    ),
    (
        "middleware.log.quiet_methods",
        "Method patterns logged at `debug` only. Default health checks.",
    ),
    (
        "middleware.ip_filter",
        "Client address allow/deny lists (off while it has no list).",
    ),
    (
        "middleware.ip_filter.allow",
        "Only these networks may call (every method). Default empty: every address.",
    ),
    (
        "middleware.ip_filter.deny",
        "These networks may not call (every method). Default empty.",
    ),
    (
        "middleware.ip_filter.rules",
        "Lists for the methods a pattern matches, checked in addition to the global lists (every matching rule applies). Default none.",
    ),
    (
        "middleware.ip_filter.trusted_proxies",
        "Direct peers whose `X-Forwarded-For` header names the client: the client is the right-most address of the header that is not itself a trusted proxy. From any other peer the header is ignored. Default none (the header is never read).",
    ),
    ("middleware.auth", "Authentication and authorization."),
    ("middleware.auth.enabled", "Default `true`."),
    (
        "middleware.auth.public_methods",
        "Method patterns callable without credentials. Default: the health and reflection services only.",
    ),
    ("middleware.auth.jwt", "JWT bearer tokens."),
    (
        "middleware.auth.jwt.accept_login_tokens",
        "Accept tokens signed with the application's login secret (`AuthSecrets`; the reference server's `auth.jwt_secret`), HS256 without `kid`. Default `true`.",
    ),
    ("middleware.auth.jwt.keys", "Extra keys, selected by `kid`."),
    (
        "middleware.auth.jwt.jwks_file",
        "A JWKS file (`{\"keys\": [...]}`); each key needs a `kid`.",
    ),
    (
        "middleware.auth.jwt.issuer",
        "Required `iss`. Default: the application's issuer (`AuthSecrets::issuer`; the reference server's `auth.issuer`). Empty string: not checked.",
    ),
    (
        "middleware.auth.jwt.audience",
        "Required `aud`. Default: the application's audience (`AuthSecrets::audience`; the reference server's `auth.audience`). Empty string: not checked.",
    ),
    (
        "middleware.auth.jwt.leeway",
        "Clock skew allowed on exp/nbf. Default `30s`.",
    ),
    ("middleware.auth.api_keys", "API keys (`x-api-key`)."),
    (
        "middleware.auth.roles",
        "Role -> allowed method patterns. Default: the reference services' roles below.",
    ),
    (
        "middleware.auth.bindings",
        "Principal -> more roles (`{principal: \"user:42\", roles: [support]}`), added to the roles of its credentials. Default none.",
    ),
    (
        "middleware.auth.token_cache_size",
        "Verified tokens cached (by hash) to skip signature checks. Default `10000`; `0` off.",
    ),
    ("middleware.rate_limit", "Rate limits and load shedding."),
    (
        "middleware.rate_limit.enabled",
        "Default `true` (with no rules nothing is limited).",
    ),
    (
        "middleware.rate_limit.rules",
        "Rules; the first whose pattern matches a method applies.",
    ),
    (
        "middleware.rate_limit.redis",
        "Cluster-wide limits through Redis.",
    ),
    (
        "middleware.rate_limit.redis.url",
        "Default `redis://127.0.0.1:6379`.",
    ),
    (
        "middleware.rate_limit.redis.prefix",
        "Key prefix. Default `grpckit:rl`.",
    ),
    (
        "middleware.rate_limit.redis.fail_open",
        "Allow calls when Redis is unreachable. Default `true`.",
    ),
    (
        "middleware.rate_limit.redis.timeout",
        "Per-operation timeout. Default `50ms`.",
    ),
    ("middleware.timeout", "Deadlines."),
    ("middleware.timeout.enabled", "Default `true`."),
    (
        "middleware.timeout.default",
        "Deadline of unary calls without a shorter `grpc-timeout`. Default `30s`.",
    ),
    (
        "middleware.timeout.methods",
        "Per-method overrides, first match wins.",
    ),
    (
        "middleware.timeout.stream_max_duration",
        "Longest lifetime of a streaming call (`0s` = unlimited). Default `0s`.",
    ),
    (
        "middleware.timeout.stream_idle_timeout",
        "A response stream that sends nothing for this long is ended (`0s` = never). Default `0s`.",
    ),
    ("middleware.validate", "`buf.validate` request validation."),
    ("middleware.validate.enabled", "Default `true`."),
    (
        "middleware.audit",
        "Audit trail of the calls in `audit.methods` and of stream opens.",
    ),
    ("middleware.audit.enabled", "Default `true`."),
    ("middleware.audit.sink", "`stderr` (default) or `file`."),
    (
        "middleware.audit.file",
        "The file sink's path and rotation (only with `sink: file`).",
    ),
    (
        "middleware.audit.file.path",
        "The file (its folder is created). Default `audit.log`.",
    ),
    (
        "middleware.audit.file.max_size",
        "Bytes after which the file is rotated to `PATH.1` (older ones to `.2`, ...); a file ends at a record boundary, so it may pass this by one record. Default `100 MiB`.",
    ),
    (
        "middleware.audit.file.max_files",
        "Rotated files kept besides the current one; the oldest is deleted. Default `5`.",
    ),
    (
        "middleware.audit.methods",
        "Unary methods audited (`MethodPattern`s; every stream open is audited). The framework audits no unary method by default: an application lists the methods that change its state (the reference app: see `docs/middleware.md`). The earlier key `extra_methods` is read as this one.",
    ),
    (
        "middleware.audit.target_fields",
        "Request fields whose value is recorded as the record's `target` (the first present, non-empty string field of the request, in this order). Default none.",
    ),
    (
        "middleware.audit.buffer",
        "Records buffered before writes are counted as dropped. Default `10000`.",
    ),
    (
        "middleware.policy",
        "Per-method overrides of the policy the `.proto` declares (`grpckit.v1.policy`).",
    ),
    (
        "middleware.policy.methods",
        "Overrides of the `grpckit.v1.policy` option of the methods they match; for each method the first matching entry applies, and each key it sets replaces the value the `.proto` declares. Default none.",
    ),
    (
        "middleware.fault",
        "Fault injection (delays, aborts) for testing clients' resilience. Off by default.",
    ),
    (
        "middleware.fault.enabled",
        "Inject the faults of `rules` (hot-reloadable, this switch included). Default `false`.",
    ),
    (
        "middleware.fault.rules",
        "Rules (`methods`, optional `header: {name, value}`, `delay: {percent, fixed | min, max}`, `abort: {percent, code, message}`); the first whose methods (and header) match a call applies. Default none.",
    ),
    (
        "middleware.switches",
        "Built-in parts switched off (or back on) per method pattern (hot-reloadable), e.g. `{methods: [\"/order.v1.OrderService/*\"], disable: [audit, rate_limit]}`. Default none.",
    ),
    ("telemetry", "Metrics and tracing (framework)."),
    (
        "telemetry.metrics",
        "Prometheus metrics and the live stats page.",
    ),
    (
        "telemetry.metrics.enabled",
        "Record call metrics (the `/metrics` endpoint is served either way). Default `true`.",
    ),
    (
        "telemetry.tracing",
        "OpenTelemetry spans exported over OTLP/gRPC.",
    ),
    (
        "telemetry.tracing.enabled",
        "Create and export spans. Default `false` (the trace layer is then a pass-through).",
    ),
    (
        "telemetry.tracing.endpoint",
        "OTLP/gRPC collector endpoint. Default `http://127.0.0.1:4317`.",
    ),
    (
        "telemetry.tracing.sample_ratio",
        "Share of new traces sampled, 0..=1 (a sampled parent is always followed). Default `1.0`.",
    ),
    (
        "telemetry.tracing.service_name",
        "`service.name` resource attribute. Default `grpckit`.",
    ),
    (
        "telemetry.tracing.export_timeout",
        "Export timeout of one batch. Default `10s`.",
    ),
    (
        "telemetry.tracing.batch_delay",
        "Delay between batch exports. Default `1s`.",
    ),
    (
        "telemetry.tracing.max_queue_size",
        "Spans queued for export before new ones are dropped. Default `2048`.",
    ),
    ("services", "Which services this process serves."),
    (
        "services.serve",
        "Services served by this process (`--services`, `GRPCKIT_SERVICES`). Default both.",
    ),
    (
        "services.user_service",
        "Address of UserService when this process serves only OrderService (e.g. `http://127.0.0.1:9090`; `--user-service`, `GRPCKIT_USER_SERVICE`). Empty = in-process.",
    ),
    ("database", "Storage."),
    (
        "database.url",
        "`sqlite://grpckit.db` (default, created on first run) or `postgres://...`.",
    ),
    ("database.max_connections", "Pool size. Default `10`."),
    (
        "database.min_connections",
        "Connections kept open. Default `1`.",
    ),
    (
        "database.user_cache",
        "Read cache of users by id (`GetUser`, OrderService's user check).",
    ),
    (
        "database.user_cache.capacity",
        "Most users kept. Default `10000`; `0` = no cache.",
    ),
    (
        "database.user_cache.ttl",
        "How long an entry is trusted. Default `2s`.",
    ),
    ("auth", "Token issuing and admin bootstrap."),
    (
        "auth.jwt_secret",
        "HS256 secret for tokens issued by `Login` (env `GRPCKIT_JWT_SECRET`). Empty: a random secret is generated at start and tokens do not survive a restart. Required when the services run apart (`services.user_service`).",
    ),
    ("auth.issuer", "`iss` claim. Default `grpckit`."),
    ("auth.audience", "`aud` claim. Default `grpckit`."),
    ("auth.token_ttl", "Lifetime of issued tokens. Default `1h`."),
    (
        "auth.admin_email",
        "Admin created (or promoted) at start when both are set (env `GRPCKIT_ADMIN_EMAIL`, `GRPCKIT_ADMIN_PASSWORD`).",
    ),
    ("auth.admin_password", "See `admin_email`."),
    ("events", "Event bus for activity feed, tracking and chat."),
    (
        "events.history",
        "Events kept per topic for replay (`0`: no replay history). Default `100`.",
    ),
    (
        "events.history_bytes",
        "Bytes of replay history kept per topic (approximate, oldest evicted first). Default `65536` (64 KiB).",
    ),
    (
        "events.replay_window",
        "How long a published event stays replayable (`0s`: no replay history); an idle topic is removed once its newest event is older. Default `60s`.",
    ),
    (
        "events.max_retained_bytes",
        "Bytes of replay history kept by the whole process; past it new events are delivered but not retained. Default `67108864` (64 MiB).",
    ),
    (
        "events.buffer",
        "Per-subscriber buffer; a subscriber further behind skips ahead. Default `256`.",
    ),
    (
        "logistics",
        "The logistics simulator that moves paid orders along.",
    ),
    ("logistics.enabled", "Run the simulator. Default `true`."),
    (
        "logistics.interval",
        "Time between PAID -> SHIPPED -> DELIVERED steps. Default `5s`.",
    ),
];
