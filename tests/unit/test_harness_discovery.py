"""Discovery inside a worker: decorated and legacy modules, set-up failures."""

import types

import pytest

from perfaction.harness import discovery


def module_from(source, name):
    module = types.ModuleType(name)
    module.__file__ = f"/nonexistent/{name}.py"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


DECORATED = '''
from perfaction import benchmark

@benchmark(params={"n": [1, 2]})
def scaled(n):
    return lambda: n

@benchmark
def plain():
    return lambda: None

@benchmark
def not_callable():
    return [1, 2]

@benchmark
def explodes():
    raise ValueError("bad input")

alias = plain   # the same benchmark under another name is found once
'''


def test_decorated_benchmarks_are_found_in_definition_order():
    module = module_from(DECORATED, "decorated_mod")
    specs = discovery.find_benchmarks(module)
    assert [s.name for s in specs] == ["scaled[n=1]", "scaled[n=2]", "plain", "not_callable",
                                       "explodes"]
    assert specs[1].params == {"n": 2} and specs[1].attr == "scaled"
    assert discovery.Spec.from_json(specs[1].to_json()) == specs[1]


def test_build_callable_runs_the_setup_with_its_params():
    module = module_from(DECORATED, "decorated_mod2")
    spec = discovery.find_benchmarks(module)[1]
    assert discovery.build_callable(module, spec)() == 2


def test_setup_failures_name_the_benchmark_and_the_cause():
    module = module_from(DECORATED, "decorated_mod3")
    specs = {s.name: s for s in discovery.find_benchmarks(module)}
    with pytest.raises(discovery.BenchmarkFailure, match=r"'not_callable'.*list.*not a callable"):
        discovery.build_callable(module, specs["not_callable"])
    with pytest.raises(discovery.BenchmarkFailure,
                       match=r"'explodes'.*ValueError: bad input \(at decorated_mod3.py:\d+"):
        discovery.build_callable(module, specs["explodes"])


def test_a_module_without_benchmarks_says_how_to_add_them():
    module = module_from("def helper():\n    return 1\n", "empty_mod")
    with pytest.raises(discovery.DiscoveryFailure, match="@benchmark"):
        discovery.find_benchmarks(module)


def test_duplicate_names_are_refused():
    source = DECORATED + '\n@benchmark(name="plain")\ndef other():\n    return lambda: None\n'
    with pytest.raises(discovery.DiscoveryFailure, match="repeated: plain"):
        discovery.find_benchmarks(module_from(source, "dup_mod"))


LEGACY = '''
CALLED = []

class PerformanceBenchmark:
    def __init__(self, name, warmup_iterations=100, benchmark_iterations=1000):
        self.name = name

    def run(self, func):
        raise RuntimeError("own harness used")

def benchmark_first():
    CALLED.append("first")
    return PerformanceBenchmark("first", 10, 100).run(lambda: 1)

def benchmark_second():
    CALLED.append("second")
    return PerformanceBenchmark("second", 10, 100).run(lambda: 2)

def run_all_benchmarks():
    return {"first": benchmark_first(), "second": benchmark_second()}
'''


def test_legacy_module_is_collected_through_the_shim():
    module = module_from(LEGACY, "legacy_mod")
    specs = discovery.find_benchmarks(module)
    assert [(s.name, s.kind, s.entry) for s in specs] == [
        ("first", "legacy", "benchmark_first"), ("second", "legacy", "benchmark_second")]


def test_legacy_callable_is_built_by_calling_only_its_own_function():
    module = module_from(LEGACY, "legacy_mod2")
    spec = discovery.find_benchmarks(module)[1]
    module.CALLED.clear()
    func = discovery.build_callable(module, spec)
    assert func() == 2
    assert module.CALLED == ["second"]


def test_legacy_module_without_run_all_uses_benchmark_functions():
    source = LEGACY.replace("def run_all_benchmarks", "def _unused")
    specs = discovery.find_benchmarks(module_from(source, "legacy_mod3"))
    assert [s.name for s in specs] == ["first", "second"]


def test_missing_file_and_failing_import_are_discovery_failures(tmp_path):
    with pytest.raises(discovery.DiscoveryFailure, match="not found"):
        discovery.import_target(tmp_path, "bench_missing.py")
    (tmp_path / "bench_exits.py").write_text("raise SystemExit(4)\n")
    with pytest.raises(discovery.DiscoveryFailure, match="SystemExit"):
        discovery.import_target(tmp_path, "bench_exits.py")
    with pytest.raises(discovery.DiscoveryFailure, match="not found on the project path"):
        discovery.import_target(tmp_path, "perfaction_no_such_module_abc")


def test_path_targets_are_recognised():
    assert discovery.is_path_target("benchmarks/bench_orders.py")
    assert discovery.is_path_target("bench.py")
    assert not discovery.is_path_target("benchmarks.bench_orders")
