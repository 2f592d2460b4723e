#!/usr/bin/env bash
# Runs one fuzz target for SECONDS on its committed corpus (new finds are added to it;
# minimise with `cargo +nightly fuzz cmin --sanitizer none TARGET` before committing).
# Usage: fuzz/run.sh TARGET SECONDS [more libFuzzer flags]
# Targets: image scores landmarks map_store model_settings pairs table exif (fuzz/Cargo.toml).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer flags]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
cd "$(dirname "$0")/.."
mkdir -p "fuzz/corpus/$target"
# Safe Rust: no sanitizer (much faster to build and run); debug assertions and
# overflow checks stay on (cargo fuzz's default).
exec cargo +nightly fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
    -rss_limit_mb=2048 -timeout=10 -max_total_time="$seconds" "$@"
