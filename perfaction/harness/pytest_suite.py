"""pytest-benchmark suites, measured by perfaction's workers (``--pytest``).

A team's tests that use pytest-benchmark's ``benchmark`` fixture run
unchanged: inside a worker, pytest collects the target (a test file or
folder) and runs the wanted tests through its own protocol, so fixtures,
parametrisation, conftest files and markers behave as under ``pytest``. Only
the ``benchmark`` fixture is perfaction's: when a test calls
``benchmark(fn, *args, **kwargs)`` (or ``benchmark.pedantic(fn, args,
kwargs)``), the worker measures ``fn(*args, **kwargs)`` right there, with the
same passes a ``@benchmark`` gets, then returns one call's result so the
test's own assertions still run. Each worker takes one value set of every
test in its batch; the process stays the unit of replication.

Names are pytest's node ids (``tests/test_sort.py::test_sort[100]``).
Not supported, with an error naming the test: ``benchmark.weave`` (it
patches code for the whole run) and ``pedantic(setup=...)`` (a fresh
set-up per round; perfaction times repeated calls of one callable).

Runs inside the worker only; pytest is the project's, imported here lazily.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfaction.harness import discovery, protocol

PYTEST = "pytest"           # Spec.kind, and the job's "collector"
FIXTURE = "benchmark"
_ERROR_CHARS = 1500         # of a failing test's report, in the benchmark's error


class _Aborted(Exception):
    """Ends a test whose measurement failed; its reason is kept by the plugin."""


class _BenchmarkFixture:
    """What a test gets as ``benchmark``: measures on the first call."""

    def __init__(self, measure: Callable[[Callable[[], Any]], Any], nodeid: str):
        self._measure = measure
        self._nodeid = nodeid
        self.result: Any = None
        self.failure: discovery.BenchmarkFailure | None = None
        self.called = False
        # read or written by tests; kept so such tests run unchanged
        self.extra_info: dict[str, Any] = {}
        self.group: str | None = None
        self.name = nodeid

    def _refuse(self, message: str) -> None:
        """End the test; the message, not pytest's traceback, is the benchmark's error."""
        self.failure = discovery.BenchmarkFailure("setup", message)
        raise _Aborted(message)

    def __call__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.called:
            self._refuse(f"{self._nodeid} calls the benchmark fixture twice; perfaction "
                         "measures one callable per test: split it into two tests")
        self.called = True
        try:
            self.result = self._measure(lambda: function(*args, **kwargs))
        except discovery.BenchmarkFailure as exc:
            self.failure = exc
            raise _Aborted(exc.message) from None
        return function(*args, **kwargs)      # the test may assert on the value

    def pedantic(self, target: Callable[..., Any], args: tuple = (), kwargs: dict | None = None,
                 setup: Callable[[], Any] | None = None, rounds: int = 1,
                 warmup_rounds: int = 0, iterations: int = 1) -> Any:
        if setup is not None:
            self._refuse(f"{self._nodeid} uses benchmark.pedantic(setup=...), a fresh set-up "
                         "before every round, which perfaction does not support: it times "
                         "repeated calls of one callable. Build the data once, outside the "
                         "benchmarked call, or write it as a perfaction @benchmark")
        # rounds, warm-ups and iterations are perfaction's to choose (budget.py)
        return self(target, *args, **(kwargs or {}))

    def weave(self, *args: Any, **kwargs: Any) -> None:
        self._refuse(f"{self._nodeid} uses benchmark.weave, which patches a function for the "
                     "whole test run; perfaction measures one callable per test: call "
                     "benchmark(fn, ...) instead")


class _Plugin:
    """Collects the target; for a batch, runs the wanted tests through pytest's protocol."""

    def __init__(self, wanted: dict[str, float | None] | None,
                 measure: Callable[[str, Callable[[], Any]], dict[str, Any]],
                 emit: Callable[[dict[str, Any]], None], before_tests: Callable[[], None]):
        self.before_tests = before_tests
        self.wanted = wanted
        self.measure = measure
        self.emit = emit
        self.found: list[str] = []
        self.current: _BenchmarkFixture | None = None
        self.reports: list[Any] = []
        self.fixtures: Any = None       # the module holding the benchmark fixture (run_job)
        self.collect_errors: list[tuple[str, str]] = []   # (file, why) pytest could not collect

    def benchmark_fixture(self, request: Any) -> _BenchmarkFixture:
        nodeid = request.node.nodeid
        fixture = _BenchmarkFixture(lambda func: self.measure(nodeid, func), nodeid)
        self.current = fixture
        return fixture

    def pytest_sessionstart(self, session: Any) -> None:
        manager = session.config.pluginmanager
        # pytest-benchmark's plugin has parsed its options (a project's addopts may hold
        # them) and may now go: its hooks insist that `benchmark` is its own fixture.
        theirs = manager.get_plugin("benchmark")
        if theirs is not None:
            manager.unregister(theirs)
        # registered last, so of two plugins defining the fixture this one is used
        manager.register(self.fixtures, "perfaction-benchmark-fixture")

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collect_errors.append((report.nodeid or "(the test path)",
                                        _failure_text(report).splitlines()[-1]))

    def pytest_collection_finish(self, session: Any) -> None:
        self.found = [item.nodeid for item in session.items
                      if FIXTURE in getattr(item, "fixturenames", ())]

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.reports.append(report)

    def pytest_runtestloop(self, session: Any) -> bool:
        if self.wanted is None:           # discovery: collection was all
            return True
        # pytest's own set-up, call and teardown of one test
        from _pytest.runner import runtestprotocol

        items = {item.nodeid: item for item in session.items}
        self.before_tests()
        names = list(self.wanted)
        for index, name in enumerate(names):
            # each test's own timeout: the parent restarts its clock on every BEGIN
            self.emit({"event": protocol.BEGIN, "name": name, "timeout": self.wanted[name]})
            item = items.get(name)
            if item is None:
                result = {"ok": False, "phase": "setup",
                          "error": f"pytest collected no test {name!r} in this tree"}
            else:
                following = names[index + 1] if index + 1 < len(names) else None
                # the next wanted test, so module and session fixtures live across tests
                self.current, self.reports = None, []
                runtestprotocol(item, nextitem=items.get(following or ""), log=True)
                result = self._outcome(name)
            self.emit({"event": protocol.DONE, "name": name, "result": result})
        return True

    def _outcome(self, name: str) -> dict[str, Any]:
        fixture = self.current
        if fixture is not None and fixture.failure is not None:
            return {"ok": False, "phase": fixture.failure.phase, "error": fixture.failure.message}
        for report in self.reports:
            if report.failed:
                return {"ok": False, "phase": "setup" if report.when == "setup" else "call",
                        "error": f"the test failed in its {report.when}: {_failure_text(report)}"}
            if report.skipped and report.when in ("setup", "call"):
                return {"ok": False, "phase": "setup",
                        "error": f"the test was skipped: {_skip_reason(report)}"}
        if fixture is None or not fixture.called:
            return {"ok": False, "phase": "setup",
                    "error": f"{name} never called the benchmark fixture"}
        return {"ok": True, **fixture.result}


def _failure_text(report: Any) -> str:
    """Where and what, as pytest's one-line summary says it; the whole report when it has none."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return f"{crash.message} (at {Path(crash.path).name}:{crash.lineno})"[:_ERROR_CHARS]
    return report.longreprtext.strip()[-_ERROR_CHARS:]


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def _pytest_args(root: Path, target: str) -> list[str]:
    # pytest-benchmark stays loaded when installed: a project's addopts often hold its
    # options (--benchmark-sort=...), which pytest refuses without it. pytest's cache is
    # the project's, not to be written by measuring workers.
    return [str(root / target), "-p", "no:cacheprovider", "-q", "--rootdir", str(root)]


def run_job(job: dict[str, Any], emit: Callable[[dict[str, Any]], None],
            measure_job: Callable[[dict[str, Any], str, Callable[[], Any]], dict[str, Any]],
            before_tests: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """A worker job for a pytest target: ``discover`` or a ``batch``.

    ``measure_job`` is the worker's own (calibrate, measure or count one
    callable), passed in so both kinds of benchmark are measured alike;
    ``before_tests`` runs once collection is done (the worker freezes the
    heap pytest and the imports left, as after a module import).
    """
    try:
        import pytest
    except ImportError:
        raise discovery.DiscoveryFailure(
            "--pytest needs pytest in the interpreter that runs the benchmarks; install it "
            "there (pip install pytest)") from None
    root = Path(job["root"]).resolve()
    target = job["target"]
    if not (root / target).exists():
        raise discovery.DiscoveryFailure(
            f"test path {target!r} not found (looked for {root / target}); check the path, "
            "relative to the project root")
    discovering = job["mode"] == "discover"
    entries = {} if discovering else {e["spec"]["name"]: e for e in job["benchmarks"]}

    def measure(name: str, func: Callable[[], Any]) -> dict[str, Any]:
        task = {**job, **entries[name], "mode": job["task"]}
        return measure_job(task, name, func)

    plugin = _Plugin(None if discovering else {name: entry.get("timeout")
                                               for name, entry in entries.items()},
                     measure, emit, before_tests)

    def benchmark(request: Any) -> _BenchmarkFixture:
        return plugin.benchmark_fixture(request)

    # a plugin module holding the fixture: pytest reads fixtures off registered plugins
    plugin.fixtures = types.ModuleType("perfaction_benchmark_fixture")
    plugin.fixtures.benchmark = pytest.fixture(benchmark)
    cwd = os.getcwd()
    try:
        code = pytest.main(_pytest_args(root, target), plugins=[plugin])
    finally:
        os.chdir(cwd)
    if plugin.collect_errors:
        # pytest would stop here too: a test file that cannot be imported would
        # otherwise drop its benchmarks from the run without a word
        where, why = plugin.collect_errors[0]
        more = len(plugin.collect_errors) - 1
        raise discovery.DiscoveryFailure(
            f"pytest could not collect {where}: {why}" + (f" (and {more} more file(s))"
                                                          if more else ""))
    if discovering:
        if code not in (0, 5) and not plugin.found:
            usage = (": a usage error, often an option in the project's addopts from a pytest "
                     "plugin not installed in this environment") if int(code) == 4 else ""
            raise discovery.DiscoveryFailure(
                f"pytest could not collect {target!r} (exit code {int(code)}{usage}); run "
                f"`pytest --collect-only {target}` with the same interpreter to see why")
        if not plugin.found:
            raise discovery.DiscoveryFailure(
                f"no test in {target!r} uses the benchmark fixture (pytest-benchmark's "
                "benchmark(fn, ...)); --pytest measures those tests")
        return {"ok": True, "specs": [discovery.Spec(name=n, kind=PYTEST).to_json()
                                      for n in plugin.found]}
    return {"ok": True, "protocol": protocol.PROTOCOL_VERSION}
