#!/usr/bin/env bash
# Install everything into .venv and run the linters and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
# axe-core for the accessibility tests, at the version package-lock.json pins.
if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent; fi
.venv/bin/ruff check dashapp tests bench app.py gunicorn.conf.py
.venv/bin/ruff format --check dashapp tests bench app.py gunicorn.conf.py
exec .venv/bin/python -m pytest "$@"
