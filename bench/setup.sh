#!/usr/bin/env bash
# Installs what the benchmark needs beyond the project: rdflib-endpoint with its CLI (click, uvicorn)
# in its own venv, so that it never becomes a dependency of the project, and py-spy for
# profiles. Run once from the repository root: bash bench/setup.sh
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv-rdflib-endpoint
.venv-rdflib-endpoint/bin/pip install --quiet --disable-pip-version-check "rdflib-endpoint[cli]==0.6.3"
python3 -m pip install --quiet --disable-pip-version-check "py-spy>=0.4"
