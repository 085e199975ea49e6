#!/usr/bin/env bash
# System packages the end-to-end tests use (headless Chromium for the officer page, PostgreSQL for
# the audit store, a Java runtime for Spark's local mode in tests/test_spark.py). Installed only when
# missing; needs root (as on CI and the dev machines).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# PySpark 4 needs Java 17 or later; any java on the PATH (or JAVA_HOME's) is used as it is
command -v java >/dev/null 2>&1 || [ -x "${JAVA_HOME:-/nonexistent}/bin/java" ] || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${need[*]} (run as root or: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
