#!/bin/sh
# Idempotent system dependencies for the test suite: redis-server (Redis Streams tests).
# Installs only when missing and when running as root; otherwise says what to do and succeeds.
set -eu
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  echo "installed redis-server"
else
  echo "redis-server is missing; install it (e.g. apt-get install redis-server) to run the Redis tests" >&2
fi
