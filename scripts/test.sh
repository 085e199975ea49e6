#!/usr/bin/env bash
# Run the whole test suite as CI does: install what it needs, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system_deps.sh
exec .venv/bin/python -m pytest "$@"
