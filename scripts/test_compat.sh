#!/usr/bin/env bash
# The core test suite on the oldest supported stack (pandas 2.2, scikit-learn 1.6, numpy 2.1),
# in its own venv (.venv-oldest); the service's tests run on the newest stack only.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv-oldest/bin/python ] || "$PY" -m venv .venv-oldest
.venv-oldest/bin/python -m pip install -q --upgrade pip
.venv-oldest/bin/python -m pip install -q -r requirements-oldest.txt
.venv-oldest/bin/python -m pip install -q -c requirements-oldest.txt -e '.[cli,test]'
# scikit-learn 1.6 hands pytest a generator of estimator checks, which new pytest deprecates
exec .venv-oldest/bin/python -m pytest -q -p no:cacheprovider -W "ignore::pytest.PytestRemovedIn10Warning" \
  tests/test_woe.py tests/test_binning.py tests/test_logit.py tests/test_scaling.py tests/test_scorecard.py \
  tests/test_artifact.py tests/test_sql_export.py tests/test_data_io.py tests/test_data_quality.py \
  tests/test_data_derive.py tests/test_data_profiles.py tests/test_metrics.py tests/test_calibration.py \
  tests/test_cli.py tests/test_affordability.py tests/test_decide.py tests/test_policy.py tests/test_public_api.py
