#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install lendscore with its locked dependencies (every extra the
# test suite reaches, Spark's included: tests/test_spark.py needs Java too, see system_deps.sh). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c requirements.lock -e '.[all,spark,test,lint]'
