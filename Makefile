# Thin aliases; the logic lives in scripts/ and in Rust. Targets that need the emulator or the
# linters install them first (scripts/setup: about a second when all is there).
.PHONY: build test demo lint fmt lint-templates package bench fuzz resilience

# The binaries (target/debug) and the tests, built as make test and make demo build them: one
# feature set, so the three share every compiled crate.
build:
	cargo test --workspace --locked --no-run

# Starts a private local AWS emulator (installing it on first use), runs every test, stops it.
test:
	scripts/test

# The demo on a private local AWS emulator.
demo:
	scripts/demo

lint:
	cargo fmt --all --check && cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
	cargo fmt --all

# cfn-lint and checkov on every rendered template (part of `make test`).
lint-templates:
	scripts/setup test && scripts/lint-templates

# Release arm64 Lambda zips of every rule with cargo-lambda, and their sizes.
package:
	scripts/package

# Throughput beside rdklib, cold start and memory, API-call accounting on a private emulator:
# one table (see BENCHMARKS.md). Slow the first time (release builds); not part of `make test`.
bench:
	scripts/setup demo && scripts/bench

# Proptest at scale on the event decoder and deployer.toml parsing: 5 minutes each.
fuzz:
	scripts/fuzz

# The fault-injection tests with 10 seeds each (make test runs a few), with their figures.
resilience:
	scripts/setup demo && scripts/resilience
