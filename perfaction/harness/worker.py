"""The worker process: ``python -m perfaction.harness.worker``.

Reads one JSON job on stdin, writes its result on stdout, then exits: every
process is a fresh interpreter. Benchmark code that prints cannot corrupt the
result: file descriptor 1 is pointed at stderr before any user code runs, and
the result goes to a private copy of the original stdout.

Jobs (``mode``; the versions are in ``protocol.py``):

- ``discover``: import the module, list its benchmarks, report the environment;
- ``calibrate``: build one benchmark, find its loop count;
- ``measure``: build one benchmark, time values, latency and memory passes;
- ``batch``: import once, then ``calibrate``, ``measure`` or ``count`` each
  benchmark of a list in turn, reporting each as it finishes (one event line
  each). ``count`` runs under Valgrind (instruction mode, counting.py): the
  counts go to Valgrind's dump files, which the parent reads.

Results: ``{"ok": true, ...}`` or ``{"ok": false, "phase": ..., "error": ...}``
where phase is ``import``, ``setup``, ``call``, ``timing`` or ``isolation``.
Standard library only.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfaction.harness import (
    counting,
    discovery,
    environment,
    measure,
    native_memory,
    protocol,
    pytest_suite,
    reference,
)
from perfaction.metrics import (
    CPU_TIME,
    CPU_UTILISATION,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    NATIVE_PEAK,
    PEAK_MEMORY,
    RETAINED_MEMORY,
    TIME,
)

# Each latency row of the registry and the percentile that measures it.
_PERCENTILES = ((LATENCY_P50, 50), (LATENCY_P95, 95), (LATENCY_P99, 99))


Emit = Callable[[dict[str, Any]], None]


def run_job(job: dict[str, Any], emit: Emit | None = None) -> dict[str, Any]:
    """The job's final result; a ``batch`` job also reports each benchmark through ``emit``."""
    root = Path(job["root"]).resolve()
    target = job["target"]
    started = time.perf_counter()
    try:
        discovery.prepare_sys_path(root, target)
        if job.get("collector") == pytest_suite.PYTEST:
            return _pytest_job(job, emit, started)
        module = discovery.import_target(root, target)
        imported = time.perf_counter()
        result: dict[str, Any]
        if job["mode"] == "discover":
            result = {"ok": True, "specs": [s.to_json() for s in discovery.find_benchmarks(module)],
                      "environment": environment.gather(),
                      "protocol": protocol.PROTOCOL_VERSION}
        elif job["mode"] == "batch":
            _freeze_import_heap()
            _emit_reference(job, emit)
            forbidden = [Path(p) for p in job.get("forbid_paths", [])]
            _check_isolation(root, forbidden)   # the module's own imports: the whole batch
            result = _run_batch(job, module, root, forbidden, emit or (lambda event: None))
        else:
            _freeze_import_heap()
            spec = discovery.Spec.from_json(job["spec"])
            func = discovery.build_callable(module, spec)
            result = {"ok": True, **_measure_job(job, spec.name, func)}
        _check_isolation(root, [Path(p) for p in job.get("forbid_paths", [])])
        result["timings"] = {**result.get("timings", {}), "import": imported - started,
                             "total": time.perf_counter() - started}
        return result
    except discovery.DiscoveryFailure as exc:
        return {"ok": False, "phase": "import", "error": str(exc)}
    except discovery.BenchmarkFailure as exc:
        return {"ok": False, "phase": exc.phase, "error": exc.message}
    except measure.TracingWhileTimingError as exc:
        return {"ok": False, "phase": "timing", "error": str(exc)}
    finally:
        gc.unfreeze()   # a worker exits next; a caller running jobs in-process keeps its heap


def _emit_reference(job: dict[str, Any], emit: Emit | None) -> None:
    """A measuring batch's speed reference (reference.py), before its benchmarks."""
    if job.get("task") == "measure" and emit is not None:
        emit({"event": protocol.REFERENCE, "seconds": reference.time_reference()})


def _pytest_job(job: dict[str, Any], emit: Emit | None, started: float) -> dict[str, Any]:
    """A pytest target (pytest_suite.py): pytest collects and runs, this worker measures."""
    if job["mode"] == "batch":
        _emit_reference(job, emit)
    result = pytest_suite.run_job(job, emit or (lambda event: None), _measure_job,
                                  before_tests=_freeze_import_heap)
    if job["mode"] == "discover":
        result.update(environment=environment.gather(), protocol=protocol.PROTOCOL_VERSION)
    result["timings"] = {"import": 0.0, "total": time.perf_counter() - started}
    return result


def _freeze_import_heap() -> None:
    """Move every object alive after the import out of the collector's reach.

    Measuring runs a full collection before each timed value and memory round
    (measure.py); each one walks every tracked object, and a module importing
    scipy leaves ~65,000 of them: ~30 ms per collection on a 2-core runner,
    more than the timed values of a fast benchmark. Frozen objects
    (``gc.freeze``) are skipped, so collections cost what the benchmark's own
    objects cost. They are the import's modules, classes and functions, alive
    until the worker exits whatever happens; a benchmark's set-up data is
    created later and stays collectable, so collections its code triggers
    still walk it.
    """
    gc.collect()    # the import's garbage is freed, not frozen
    gc.freeze()


def _run_batch(job: dict[str, Any], module: Any, root: Path, forbidden: list[Path],
               emit: Emit) -> dict[str, Any]:
    """Each benchmark of the batch in turn: set-up, passes, result, then the next.

    A benchmark's passes run back to back (timing, latency, memory, as in a
    one-benchmark worker), and its callable is dropped before the next set-up,
    so no benchmark times its code while another's data is still alive beyond
    what the collector has not freed yet. A failure of one benchmark is its
    result; the worker carries on with the others.
    """
    memory_seconds = 0.0
    seen_modules = set(sys.modules)
    for entry in job["benchmarks"]:
        spec = discovery.Spec.from_json(entry["spec"])
        emit({"event": protocol.BEGIN, "name": spec.name, "timeout": entry.get("timeout")})
        task = {**job, **entry, "mode": job["task"]}
        setup_started = time.perf_counter()
        try:
            func = discovery.build_callable(module, spec)
            setup_seconds = time.perf_counter() - setup_started
            result = {"ok": True, **_measure_job(task, spec.name, func)}
            del func   # the benchmark's data must not stay alive while the next one is timed
            new_modules = set(sys.modules) - seen_modules
            seen_modules |= new_modules
            _check_isolation(root, forbidden, only=new_modules)
            result["timings"] = {**result.get("timings", {}), "setup": setup_seconds}
            memory_seconds += float(result["timings"].get("memory", 0.0))
        except discovery.BenchmarkFailure as exc:
            result = {"ok": False, "phase": exc.phase, "error": exc.message}
        except measure.TracingWhileTimingError as exc:
            result = {"ok": False, "phase": "timing", "error": str(exc)}
        if tracemalloc.is_tracing():
            # a set-up that started tracemalloc fails alone, not every later benchmark
            tracemalloc.stop()
        emit({"event": protocol.DONE, "name": spec.name, "result": result})
    return {"ok": True, "protocol": protocol.PROTOCOL_VERSION,
            "timings": {"memory": memory_seconds}}


_requests: counting.ClientRequests | None = None


def _count_job(job: dict[str, Any], name: str, func: Callable[[], Any]) -> dict[str, Any]:
    global _requests
    if _requests is None:
        try:
            _requests = counting.ClientRequests()
        except counting.UnsupportedMachine as exc:
            raise discovery.BenchmarkFailure("timing", str(exc)) from None
        if not _requests.on_valgrind():
            raise discovery.BenchmarkFailure(
                "timing", f"the counting worker {sys.executable} is not running under "
                          "Valgrind, so nothing would be counted: is the interpreter given "
                          "a script that starts Python (a pyenv shim, a wrapper)? Valgrind "
                          "follows no second process; give the interpreter itself, as "
                          "python -c 'import sys; print(sys.executable)' prints it")
    requests = _requests
    _guarded(name, lambda: counting.count(func, requests, index=int(job["count_index"])))
    # as Valgrind's emulated CPU reports them: what the counted code could use
    return {"metrics": {}, "counted": True, "cpu_features": requests.cpu_features()}


def _measure_job(job: dict[str, Any], name: str, func: Callable[[], Any]) -> dict[str, Any]:
    if job["mode"] == "count":
        return _count_job(job, name, func)
    min_value_time = float(job["min_value_time"])
    if job["mode"] == "calibrate":
        calibration = _guarded(name, lambda: measure.calibrate(func, min_value_time))
        return {"loops": calibration.loops, "seconds_per_call": calibration.seconds_per_call}
    loops = int(job["loops"])
    native = native_memory.PeakWatch()      # read outside the timed loops
    values = _guarded(name, lambda: measure.time_values(
        func, loops, int(job["values"]), int(job["warmup_values"])))
    native_growth = native.growth()
    # Names are the registry's (perfaction.metrics), which says which pass measures each.
    metrics: dict[str, list[float]] = {
        TIME: [v.wall for v in values],
        CPU_TIME: [v.cpu for v in values],
        CPU_UTILISATION: [v.utilisation for v in values],
    }
    if native_growth is not None:
        metrics[NATIVE_PEAK] = [native_growth]
    if job.get("latency"):
        latencies = _guarded(name, lambda: measure.latency_pass(func, min_value_time))
        for metric_name, q in _PERCENTILES:
            metrics[metric_name] = [measure.percentile(latencies, q)]
    timings = {}
    if job.get("memory", True):
        # Rounds of their own length, not a share of min_value_time: short
        # timed values must not make the leak signal noisy (measure.py).
        round_time = float(job.get("memory_round_time", measure.MEMORY_ROUND_TIME))
        started = time.perf_counter()
        memory = _guarded(name, lambda: measure.memory_pass(
            func, round_time=round_time,
            time_cap=max(measure.MEMORY_TIME_CAP, 10 * round_time)))
        timings["memory"] = time.perf_counter() - started
        metrics[PEAK_MEMORY] = [float(memory.peak)]
        metrics[RETAINED_MEMORY] = [memory.retained_per_call]
    return {"metrics": metrics, "timings": timings}


def _guarded(name: str, action: Callable[[], Any]) -> Any:
    """Run a pass; an exception from the user's callable names the benchmark."""
    try:
        return action()
    except measure.TracingWhileTimingError:
        raise
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything
        raise discovery.BenchmarkFailure(
            "call", f"benchmark {name!r}: the timed callable raised "
                    f"{discovery.describe_exception(exc)}") from None


def _check_isolation(root: Path, forbidden: list[Path], only: set[str] | None = None) -> None:
    """Fail when code came from the other side's tree (A/B runs).

    ``only``: check just these module names (those a benchmark's set-up
    imported), so the benchmark that pulled the module in is the one blamed.
    """
    if not forbidden:
        return
    # The interpreter's environment and perfaction itself are the tool, not the
    # project: a virtualenv (or an editable install of perfaction) may sit
    # inside a tree, and importing from it is no leak between the sides.
    tool = [Path(sys.prefix).resolve(), Path(sys.exec_prefix).resolve(),
            Path(__file__).resolve().parents[1]]
    roots = sorted([(root, True)] + [(p, True) for p in tool]
                   + [(p.resolve(), False) for p in forbidden],
                   key=lambda item: len(str(item[0])), reverse=True)
    for name, module in list(sys.modules.items()):
        if only is not None and name not in only:
            continue
        path = getattr(module, "__file__", None)
        if not path:
            continue
        resolved = Path(path).resolve()
        owner = next(((r, own) for r, own in roots if resolved.is_relative_to(r)), None)
        if owner is not None and not owner[1]:
            raise discovery.BenchmarkFailure(
                "isolation", f"module {name!r} was imported from {resolved}, inside the other "
                             f"side's tree {owner[0]}, not from {root}; check sys.path "
                             "manipulation or .pth files that point at the other tree")


def main() -> int:
    result_fd = os.dup(1)
    os.dup2(2, 1)   # anything user code prints goes to stderr, never into the result
    job = json.loads(sys.stdin.read())
    with os.fdopen(result_fd, "w", encoding="utf-8") as out:
        def emit(event: dict[str, Any]) -> None:
            # flushed at once: if the process dies later, the parent still has it
            sys.stdout.flush()
            out.write(json.dumps(event, allow_nan=False) + "\n")
            out.flush()

        result = run_job(job, emit)
        sys.stdout.flush()
        out.write(json.dumps(result, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
