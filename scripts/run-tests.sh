#!/usr/bin/env bash
# The whole suite: once on the embedded default (SQLite), then again on
# PostgreSQL for the tests that touch a database.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
.venv/bin/pytest "$@"
