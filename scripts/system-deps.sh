#!/bin/sh
# Idempotent system packages that the test suite drives as real, independent components:
#   redis-server  — Redis Streams adapter tests (a real broker on loopback)
#   fis-gtm       — GT.M loads our VistA ZWR exports with `mupip load` and reads them back
#   chromium      — the HTML report is opened and screenshotted in headless Chromium
# Installs what is missing when running as root with apt-get; otherwise says what to install
# and succeeds (the tests that need a missing tool skip and name it).
set -eu
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
ls /usr/lib/*/fis-gtm/*/mumps >/dev/null 2>&1 || missing="$missing fis-gtm"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  echo "installed:$missing"
else
  echo "missing system packages:$missing (install them with apt-get to run every test)" >&2
fi
