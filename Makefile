# The two commands of the quick start. Each first installs the system packages it needs.
.PHONY: run test

run:
	scripts/setup run
	cargo run --release --bin switchboard -- serve

test:
	scripts/setup test
	cargo test --workspace
