#!/usr/bin/env bash
# The Python tests (README, "Python"): a fresh venv in target/pyvenv, the module built by
# maturin in the workspace's dev profile into the shared target/ (no second release
# build), then pytest on python/tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/pyvenv
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.9,<2" "numpy>=1.21" "pytest>=7"
VIRTUAL_ENV="$PWD/$venv" PATH="$PWD/$venv/bin:$PATH" maturin develop -q
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q -rs python/tests "$@"
