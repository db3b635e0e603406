#!/usr/bin/env bash
# Install the app into .venv and serve the offline demo on http://127.0.0.1:8050
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt
exec .venv/bin/python app.py --demo
