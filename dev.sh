#!/usr/bin/env bash
# Set-up and entry points for contributors and CI.
#   ./dev.sh demo   run the bundled example end to end and print the report
#   ./dev.sh test   run the whole test suite (what CI runs)
# Each creates (or refreshes) its own virtual environment in .venv first.
set -euo pipefail
cd "$(dirname "$0")"

VENV="${PERFACTION_VENV:-.venv}"
PY="$VENV/bin/python"

ensure_venv() {
    # Reinstall when pyproject.toml changed since the last install.
    if [ ! -x "$PY" ] || [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
        echo "== setting up $VENV"
        python3 -m venv "$VENV"
        # pip's output goes to a log, shown only when the install fails
        if ! { "$PY" -m pip install --upgrade pip && "$PY" -m pip install -e '.[test]'; } > "$VENV/install.log" 2>&1; then
            cat "$VENV/install.log" >&2
            echo "dev.sh: installing into $VENV failed (log above)" >&2
            exit 2
        fi
        touch "$VENV/.installed"
    fi
}

cmd_demo() {
    ensure_venv
    mkdir -p out
    "$VENV/bin/perfaction" run examples/bench_trading.py -o out/demo-results.json --time-budget "${DEMO_TIME_BUDGET:-60}"
}

cmd_test() {
    ensure_venv
    "$PY" -m pytest "$@"
}

case "${1:-}" in
    demo) shift; cmd_demo "$@" ;;
    test) shift; cmd_test "$@" ;;
    *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
