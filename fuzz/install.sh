#!/usr/bin/env bash
# Installs the tools the fuzz targets need: cargo-fuzz (pinned) and a nightly
# toolchain (cargo-fuzz needs -Z flags). Idempotent: does nothing when present.
set -euo pipefail
CARGO_FUZZ_VERSION=0.13.1
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION"; then
    echo "cargo-fuzz $CARGO_FUZZ_VERSION already installed"
else
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
