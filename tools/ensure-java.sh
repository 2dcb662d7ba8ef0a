#!/usr/bin/env bash
# Local Spark 3.5 (the Glue 5.0 runtime) needs Java 17. Install it from Debian when missing.
set -euo pipefail
if command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -q 'version "17'; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing OpenJDK 17 (needed by local PySpark)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
else
  echo "Java 17 is required for local PySpark; install OpenJDK 17 and retry." >&2
  exit 1
fi
