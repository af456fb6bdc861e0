#!/usr/bin/env bash
# Create .venv-bq/ (inside the project folder) with the BigQuery emulator bqemulator, idempotently.
#
# bqemulator 1.4.0 runs offline only with DuckDB 1.5.5 and the spatial extension shipped as a
# PyPI package, so it gets its own venv instead of the project's (which has DuckDB 2.0).
# Its pytest plugin imports testcontainers and it imports numpy without declaring either.
# The spatial extension is copied into .venv-bq/duckdb-home/.duckdb (HOME is pointed there when the
# emulator runs), so nothing is written outside the project folder.
#
# Usage: bash scripts/bq-emulator-venv.sh        (PYTHON=python3.11 to choose the interpreter)
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv-bq
STAMP="$VENV/.hospigen-ready-2"
PINS=(
    "bqemulator==1.4.0"
    "duckdb==1.5.5"
    "duckdb-extension-spatial==1.5.5"
    "duckdb-extensions==1.5.5"
    "numpy"
    "testcontainers"
    "google-cloud-bigquery"
)

if [[ -f "$STAMP" ]]; then
    echo "$VENV is ready"
    exit 0
fi

"${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
mkdir -p "$VENV/duckdb-home"
HOME="$PWD/$VENV/duckdb-home" "$VENV/bin/python" - <<'PY'
import duckdb_extensions

duckdb_extensions.import_extension("spatial")
import duckdb

con = duckdb.connect()
con.execute("LOAD spatial")  # proves the emulator's requirement is met offline
print("duckdb", duckdb.__version__, "with spatial")
PY
touch "$STAMP"
echo "$VENV is ready"
