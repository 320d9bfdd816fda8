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
        echo "== setting up $VENV: installing perfaction and its test dependencies (about a" \
             "minute; pip's output goes to $VENV/install.log)"
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

ensure_valgrind() {
    # Instruction mode (--measure instructions) counts under Valgrind; its tests
    # run the real one. Installed where this user can use apt-get, else named.
    command -v valgrind >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing valgrind (instruction mode)"
        { apt-get update && apt-get install -y --no-install-recommends valgrind; } \
            > "$VENV/valgrind-install.log" 2>&1 || {
            cat "$VENV/valgrind-install.log" >&2
            echo "dev.sh: installing valgrind failed (log above)" >&2
            exit 2
        }
    else
        echo "dev.sh: valgrind is not installed; instruction mode's tests need it" \
             "(Debian/Ubuntu: sudo apt-get install valgrind)" >&2
        exit 2
    fi
}

cmd_demo() {
    # The action's main job on a pull request, run locally: the entrypoint reads
    # the same INPUT_* / GITHUB_* environment the runner gives the container.
    # Same-runner mode against HEAD: on a clean checkout an A/A comparison
    # (nothing changed, and the report says so); edit examples/ to see a change.
    ensure_venv
    local out=out/demo
    rm -rf "$out" && mkdir -p "$out"
    local head_sha
    head_sha=$(git rev-parse HEAD)
    cat > "$out/event.json" <<JSON
{"action": "synchronize", "number": 1,
 "pull_request": {"number": 1, "head": {"sha": "$head_sha", "ref": "demo"},
                  "base": {"sha": "$head_sha", "ref": "main"}},
 "repository": {"full_name": "example/trading", "default_branch": "main"}}
JSON
    local code=0
    env GITHUB_EVENT_NAME=pull_request GITHUB_EVENT_PATH="$out/event.json" \
        GITHUB_WORKSPACE="$PWD" GITHUB_REPOSITORY=example/trading GITHUB_SHA="$head_sha" \
        GITHUB_REF=refs/pull/1/merge GITHUB_BASE_REF=main GITHUB_HEAD_REF=demo \
        GITHUB_OUTPUT="$out/outputs.txt" GITHUB_STEP_SUMMARY="$out/summary.md" \
        INPUT_BENCHMARK=examples/bench_trading.py INPUT_MODE=same-runner INPUT_BASE-REF=HEAD \
        INPUT_TIME-BUDGET="${DEMO_TIME_BUDGET:-60}" INPUT_TOKEN= \
        INPUT_RESULTS-PATH="$out/results.json" INPUT_REPORT-PATH="$out/report.md" \
        "$PY" entrypoint.py || code=$?
    echo
    echo "== exit code $code (0 pass, 1 regression, 2 error)"
    echo "== files: $out/results.json (head), $out/results.base.json (base), $out/report.md (full report),"
    echo "==        $out/summary.md (job summary), $out/outputs.txt (step outputs)"
    echo "== preview the PR comment: $VENV/bin/perfaction report $out/results.base.json $out/results.json --format comment"
    [ "$code" -le 1 ]
}

cmd_test() {
    ensure_venv
    ensure_valgrind
    # Docker engine, base images and act for tests/e2e (a no-op with PERFACTION_E2E=0)
    scripts/e2e-setup.sh
    "$PY" -m pytest "$@"
}

case "${1:-}" in
    demo) shift; cmd_demo "$@" ;;
    test) shift; cmd_test "$@" ;;
    *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
