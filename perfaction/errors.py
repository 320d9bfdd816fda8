"""Errors the user can act on. Each becomes exit code 2 with its message shown."""


class PerfActionError(Exception):
    """Base class: the message names what was wrong and how to fix it."""

    exit_code = 2


class ResultsFormatError(PerfActionError):
    """A results file that cannot be loaded: says which file, benchmark and field."""

    def __init__(self, problem: str, *, source: str | None = None,
                 benchmark: str | None = None, field: str | None = None):
        self.problem = problem
        self.source = source
        self.benchmark = benchmark
        self.field = field
        where = []
        if source:
            where.append(f"file {source}")
        if benchmark:
            where.append(f"benchmark {benchmark!r}")
        if field:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {problem}" if prefix else problem)


class ConfigError(PerfActionError):
    """A bad input or option: names the input and the accepted values."""


class BenchmarkDiscoveryError(PerfActionError):
    """The benchmark module could not be found or imported."""
