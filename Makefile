# One command runner for README, CI and developers.
.PHONY: run test lint fmt bench

# Start the server on the embedded SQLite default (0.0.0.0:9090, metrics 0.0.0.0:9091).
run:
	cargo run --release -- server

# Every test: unit, integration (real servers on loopback), storage suite on SQLite and
# PostgreSQL (skipped with a note when PostgreSQL is absent outside CI).
test:
	cargo test --workspace

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --features grpckit/bench-internals -- -D warnings

fmt:
	cargo fmt --all
