"""Fakes for the runner's tests: a clock and a launcher that answer instantly."""

from pathlib import Path

from perfaction.harness.launcher import WorkerOutcome
from perfaction.harness.runner import RunOptions

ENVIRONMENT = {"cpu_model": "Test CPU", "logical_cores": 2, "os": "Linux 6", "machine": "x86_64",
               "python_version": "3.11.7", "python_implementation": "CPython",
               "perfaction_version": "0.1.0"}


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeLauncher:
    """Answers jobs like a worker would; each job advances the fake clock by its cost.

    ``cost`` is paid once per process (start-up and import), ``benchmark_cost``
    once per benchmark a process measures. ``protocol=1`` plays a worker of an
    older perfaction that knows one-benchmark jobs only. ``failures`` map
    (name, task) to an outcome: a "timeout" or "crash" phase stops a batch
    worker there (the benchmarks after it are not reported), any other phase
    is that benchmark's own result and the batch carries on. ``peak`` gives a
    benchmark's peak memory from (name, cwd, how many it measured before).
    ``reference`` gives each measuring batch worker's speed reference from its
    cwd (harness/reference.py); None sends no reference event.
    """

    def __init__(self, clock, names, *, per_call=None, failures=None, cost=1.0,
                 benchmark_cost=0.0, discovery_error=None, trees=None, protocol=2, peak=None,
                 reference=None):
        self.clock, self.names, self.cost = clock, names, cost
        self.benchmark_cost = benchmark_cost
        self.per_call = per_call or {}
        self.failures = failures or {}          # (name, task) -> WorkerOutcome
        self.discovery_error = discovery_error
        self.trees = trees or {}                # cwd -> names, for A/B
        self.protocol = protocol
        self.peak = peak or (lambda name, cwd, count: 100.0)
        self.reference = reference
        self.memory_counts = {}                 # (name, cwd) -> memory passes run
        self.jobs = []                          # every process's job, in order
        self.benchmark_jobs = []                # one per benchmark a process ran

    def run(self, job, *, cwd, python, timeout, stop_after=None):
        self.jobs.append({**job, "cwd": cwd, "python": python, "timeout": timeout,
                          "stop_after": stop_after})
        self.clock.now += self.cost
        if job["mode"] == "discover":
            if self.discovery_error:
                return WorkerOutcome(False, error=self.discovery_error, phase="import")
            names = self.trees.get(cwd, self.names)
            data = {"specs": [{"name": n} for n in names], "environment": ENVIRONMENT}
            if self.protocol >= 2:
                data["protocol"] = self.protocol
            return WorkerOutcome(True, data, wall=self.cost)
        if job["mode"] != "batch":
            assert self.protocol == 1 or job["mode"] in ("calibrate", "measure")
            return self._one(job["mode"], {**job, "timeout": timeout}, cwd, python)
        assert self.protocol >= 2, "an old worker would not understand a batch job"
        events = []
        if self.reference is not None and job["task"] == "measure":
            events.append({"event": "reference", "seconds": self.reference(cwd)})
        for entry in job["benchmarks"]:
            name = entry["spec"]["name"]
            events.append({"event": "begin", "name": name, "timeout": entry["timeout"]})
            outcome = self._one(job["task"], {**job, **entry}, cwd, python)
            if outcome.phase in ("timeout", "crash"):
                return WorkerOutcome(False, error=outcome.error, phase=outcome.phase,
                                     wall=self.cost, events=tuple(events),
                                     returncode=outcome.returncode)
            result = outcome.data if outcome.ok else {"ok": False, "phase": outcome.phase,
                                                      "error": outcome.error}
            events.append({"event": "done", "name": name, "result": {"ok": outcome.ok, **result}})
        return WorkerOutcome(True, {"ok": True, "protocol": self.protocol,
                                    "timings": {"import": 0.0, "total": self.cost}},
                             wall=self.cost, events=tuple(events))

    def _one(self, task, job, cwd, python):
        name = job["spec"]["name"]
        self.clock.now += self.benchmark_cost
        self.benchmark_jobs.append({**job, "mode": task, "cwd": cwd, "python": python})
        failure = self.failures.get((name, task))
        if failure is not None:
            return failure
        per_call = self.per_call.get((cwd, name), self.per_call.get(name, 1e-6))
        if task == "calibrate":
            return WorkerOutcome(True, {"loops": max(1, int(0.05 / per_call)),
                                        "seconds_per_call": per_call}, wall=self.cost)
        metrics = {"time": [per_call] * job["values"]}
        if job["memory"]:
            count = self.memory_counts.get((name, cwd), 0)
            self.memory_counts[(name, cwd)] = count + 1
            metrics["peak_memory"] = [self.peak(name, cwd, count)]
        if job["latency"]:
            metrics["latency_p99"] = [per_call * 2]
        return WorkerOutcome(True, {"metrics": metrics}, wall=self.cost)

    def measure_jobs(self):
        """One entry per benchmark measured, in the order the workers measured them."""
        return [j for j in self.benchmark_jobs if j["mode"] == "measure"]

    def measuring_processes(self):
        return [j for j in self.jobs if j["mode"] == "measure"
                or (j["mode"] == "batch" and j["task"] == "measure")]


def options(**kwargs):
    return RunOptions(**{"time_budget": 20.0, "cwd": Path("/project"), "seed": 3, **kwargs})
