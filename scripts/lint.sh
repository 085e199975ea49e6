#!/usr/bin/env bash
# Linters and types, as CI runs them before the tests (configured in pyproject.toml; the same hooks
# run on commit through .pre-commit-config.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests scripts benchmarks
.venv/bin/ruff format --check src tests scripts benchmarks
.venv/bin/mypy
