"""Finding benchmarks in a user's module and building the callables to time.

Runs inside worker processes only: the parent never imports user code, so a
module that crashes, hangs or mutates global state cannot take the runner (or
the other side of an A/B run) with it. Standard library only.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from perfaction import compat
from perfaction.harness.api import definition_of

DECORATED = "decorated"
LEGACY = "legacy"


class DiscoveryFailure(Exception):
    """The module cannot be imported or holds no benchmarks (the whole run fails)."""


class BenchmarkFailure(Exception):
    """One benchmark cannot be built or run; others continue. ``phase`` says where."""

    def __init__(self, phase: str, message: str):
        super().__init__(message)
        self.phase = phase
        self.message = message


@dataclass(frozen=True)
class Spec:
    """One benchmark as discovery found it; travels to workers as JSON."""

    name: str
    kind: str = DECORATED
    attr: str | None = None           # module attribute holding the set-up (decorated)
    entry: str | None = None          # legacy: function whose run() call defines it
    params: dict[str, Any] = field(default_factory=dict)
    latency: bool | None = None
    timeout: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Spec:
        return cls(**data)


def is_path_target(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def prepare_sys_path(root: Path, target: str) -> None:
    """Make the tree at ``root`` win over anything installed.

    The tree (and its ``src/`` when present) goes first on sys.path, ahead of
    site-packages, so an installed or editable copy of the same project cannot
    shadow the code under test. A file target's own directory comes first, as
    ``python file.py`` would do, so its sibling imports work.
    """
    front = []
    if is_path_target(target):
        front.append(str((root / target).resolve().parent))
    front.append(str(root))
    if (root / "src").is_dir():
        front.append(str(root / "src"))
    cwd = os.getcwd()
    rest = [p for p in sys.path if p not in front and p not in ("", cwd)]
    sys.path[:] = front + rest


def import_target(root: Path, target: str) -> ModuleType:
    """Import a file path (relative to ``root``) or a dotted module name."""
    try:
        if is_path_target(target):
            path = (root / target).resolve()
            if path.is_dir():
                raise DiscoveryFailure(
                    f"{target!r} is a folder; a benchmark module is one file. For a folder of "
                    "pytest-benchmark tests, add --pytest (the action's input pytest: true)")
            if not path.is_file():
                raise DiscoveryFailure(f"benchmark module {target!r} not found (looked for {path}); "
                                       "check the path, relative to the project root")
            name = path.stem
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise DiscoveryFailure(f"cannot load {path} as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module   # dataclasses and pickle look modules up here
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(target)
    except DiscoveryFailure:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (target == exc.name or target.startswith(exc.name + ".")):
            raise DiscoveryFailure(f"benchmark module {target!r} not found on the project path "
                                   f"({root}); check the name or pass a file path") from None
        raise DiscoveryFailure(f"importing {target!r} failed: {describe_exception(exc)}") from None
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything, even SystemExit
        raise DiscoveryFailure(f"importing {target!r} failed: {describe_exception(exc)}") from None


def find_benchmarks(module: ModuleType) -> list[Spec]:
    """Every benchmark in the module: ``@benchmark`` functions, else the legacy style."""
    specs: list[Spec] = []
    seen_defs: set[int] = set()
    for attr, obj in list(vars(module).items()):
        definition = definition_of(obj)
        if definition is None or id(definition) in seen_defs:
            continue
        seen_defs.add(id(definition))
        for name, kwargs in definition.cases():
            specs.append(Spec(name=name, attr=attr, params=kwargs,
                              latency=definition.latency, timeout=definition.timeout))
    if not specs and compat.is_legacy_module(module):
        specs = [Spec(name=c.name, kind=LEGACY, entry=c.entry)
                 for c in _collect_legacy(module, entry=None)]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DiscoveryFailure(f"benchmark names must be unique; repeated: {', '.join(duplicates)} "
                               "(use @benchmark(name=...) to rename one)")
    if not specs:
        # a package is a folder: likely one of pytest-benchmark tests
        folder = (" It is a package (a folder): for pytest-benchmark tests in it, add --pytest "
                  "(the action's input pytest: true).") if hasattr(module, "__path__") else ""
        raise DiscoveryFailure(
            f"no benchmarks found in {module.__name__!r}: decorate set-up functions with "
            "@benchmark (from perfaction import benchmark), or define run_all_benchmarks() "
            f"in the PerformanceBenchmark style.{folder}")
    return specs


def build_callable(module: ModuleType, spec: Spec) -> Callable[[], Any]:
    """Run the benchmark's set-up and return the callable to time."""
    if spec.kind == LEGACY:
        found = [c for c in _collect_legacy(module, spec.entry) if c.name == spec.name]
        if not found:
            raise BenchmarkFailure("setup", f"benchmark {spec.name!r}: PerformanceBenchmark"
                                            f"({spec.name!r}).run(...) was not called this time")
        func: Any = found[-1].func
    else:
        definition = definition_of(getattr(module, spec.attr or "", None))
        if definition is None:
            raise BenchmarkFailure("setup", f"benchmark {spec.name!r}: {spec.attr!r} is no longer "
                                            "a @benchmark function")
        try:
            func = definition.setup(**spec.params)
        except BaseException as exc:  # noqa: BLE001
            raise BenchmarkFailure("setup", f"benchmark {spec.name!r}: its set-up raised "
                                            f"{describe_exception(exc)}") from None
    if not callable(func):
        raise BenchmarkFailure("setup", f"benchmark {spec.name!r}: its set-up returned "
                                        f"{_short_repr(func)}, not a callable; return the "
                                        "function to time (e.g. `return lambda: work(data)`)")
    return func


def _collect_legacy(module: ModuleType, entry: str | None) -> list[compat.Collected]:
    """Call the legacy module's benchmark functions with the collecting shim in place."""
    _install_shim(module)
    runner = getattr(module, entry, None) if entry else None
    if not callable(runner):
        runner = getattr(module, "run_all_benchmarks", None)
    with compat.collecting() as found:
        try:
            if callable(runner):
                runner()
            else:
                for name, obj in list(vars(module).items()):
                    if name.startswith("benchmark_") and callable(obj) \
                            and getattr(obj, "__module__", None) == module.__name__:
                        obj()
        except BaseException as exc:  # noqa: BLE001
            where = getattr(runner, "__name__", "benchmark functions")
            if entry is None:
                raise DiscoveryFailure(f"{where}() raised {describe_exception(exc)}") from None
            raise BenchmarkFailure("setup", f"{where}() raised {describe_exception(exc)}") from None
    return list(found)


# The class name user modules import and the shim replaces, in whichever module holds it.
_SHIMMED = "PerformanceBenchmark"


def _install_shim(module: ModuleType) -> None:
    """Replace ``PerformanceBenchmark`` in the module and in modules of its tree."""
    home = Path(getattr(module, "__file__", "") or ".").resolve().parent
    for other in [module, *sys.modules.values()]:
        current = getattr(other, _SHIMMED, None)
        if not isinstance(current, type) or current is compat.PerformanceBenchmark:
            continue
        path = getattr(other, "__file__", None)
        if other is module or (path and Path(path).resolve().is_relative_to(home)):
            setattr(other, _SHIMMED, compat.PerformanceBenchmark)


def describe_exception(exc: BaseException) -> str:
    """``ValueError: msg (at file.py:12 in func)``: the innermost user frame."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    harness_dir = str(Path(__file__).resolve().parent.parent)
    user_frames = [f for f in frames if not f.filename.startswith(harness_dir)
                   and "importlib" not in f.filename]
    if user_frames:
        last = user_frames[-1]
        text += f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return text


def _short_repr(obj: Any) -> str:
    text = repr(obj)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(obj).__name__} {text}"
