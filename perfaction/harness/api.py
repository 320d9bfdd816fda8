"""The user-facing benchmark API: ``@benchmark``.

A decorated function is the *set-up*: its body builds whatever the benchmark
needs and returns the callable to time. The harness calls the set-up once per
worker process, then calls the returned callable many times::

    from perfaction import benchmark

    @benchmark(params={"size": [100, 10_000]})
    def book_updates(size):
        book = make_book(size)
        return lambda: book.apply(next_update())

This module is imported by every worker process and by ``import perfaction``,
so it stays on the standard library.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Attribute the decorator sets on the user's function; discovery looks for it.
MARKER = "__perfaction_benchmark__"

_PARAM_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class BenchmarkDef:
    """What ``@benchmark`` records about one decorated set-up function."""

    setup: Callable[..., Any]
    name: str
    params: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    latency: bool | None = None    # None: automatic (on when a call takes >= ~10 us)
    timeout: float | None = None   # seconds per worker process; None: the run's

    def __post_init__(self) -> None:
        if not callable(self.setup):
            raise TypeError(f"@benchmark decorates a function, got {self.setup!r}")
        if not isinstance(self.name, str) or not self.name or "[" in self.name:
            raise ValueError(f"benchmark name must be a non-empty string without '[', "
                             f"got {self.name!r}")
        if self.latency not in (None, True, False):
            raise ValueError(f"latency must be True, False or None, got {self.latency!r}")
        if self.timeout is not None and not (isinstance(self.timeout, (int, float))
                                             and self.timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        object.__setattr__(self, "params", _validate_params(self.name, self.params))

    def cases(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every parameter combination as (benchmark name, keyword arguments)."""
        if not self.params:
            yield self.name, {}
            return
        keys = list(self.params)
        for combo in itertools.product(*(self.params[k] for k in keys)):
            kwargs = dict(zip(keys, combo, strict=True))
            yield case_name(self.name, kwargs), kwargs


def case_name(base: str, kwargs: Mapping[str, Any]) -> str:
    """``book_updates[size=100]``; several parameters are joined with commas."""
    if not kwargs:
        return base
    inner = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{base}[{inner}]"


def _validate_params(name: str, params: Any) -> dict[str, tuple[Any, ...]]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"benchmark {name!r}: params must be a dict of name -> list of values, "
                        f"got {type(params).__name__}")
    checked: dict[str, tuple[Any, ...]] = {}
    for key, values in params.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"benchmark {name!r}: parameter name {key!r} must be an identifier")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"benchmark {name!r}: params[{key!r}] must be a list of values, "
                            f"got {values!r}")
        values = tuple(values)
        if not values:
            raise ValueError(f"benchmark {name!r}: params[{key!r}] is empty")
        for value in values:
            # Values end up in the results JSON and in benchmark names.
            if not isinstance(value, _PARAM_TYPES) or (
                    isinstance(value, float) and not math.isfinite(value)):
                raise TypeError(f"benchmark {name!r}: params[{key!r}] value {value!r} must be "
                                f"a str, int, bool or finite float")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"benchmark {name!r}: params[{key!r}] repeats a value: {values!r}")
        checked[key] = values
    return checked


def benchmark(func: Callable[..., Any] | None = None, *, params: Mapping[str, Any] | None = None,
              name: str | None = None, latency: bool | None = None,
              timeout: float | None = None) -> Any:
    """Mark a set-up function as a benchmark; usable as ``@benchmark`` or ``@benchmark(...)``.

    - ``params``: ``{"size": [100, 10_000]}`` makes one benchmark per value
      (``name[size=100]``); several keys give their cartesian product.
    - ``name``: the benchmark's name; default the function's name.
    - ``latency``: per-call latency percentiles; default on when one call
      takes at least ~10 us (faster calls cannot be timed one by one).
    - ``timeout``: seconds one worker process may take for this benchmark.

    The function itself is returned unchanged (still callable by tests).
    """
    def decorate(setup: Callable[..., Any]) -> Callable[..., Any]:
        definition = BenchmarkDef(setup=setup, name=name or setup.__name__,
                                  params=params or {}, latency=latency, timeout=timeout)
        setattr(setup, MARKER, definition)
        return setup

    if func is not None:
        if not callable(func):
            raise TypeError(f"@benchmark decorates a function, got {func!r}; "
                            "pass options as keywords: @benchmark(params=...)")
        return decorate(func)
    return decorate


def definition_of(obj: Any) -> BenchmarkDef | None:
    """The BenchmarkDef attached to ``obj`` by ``@benchmark``, if any."""
    found = getattr(obj, MARKER, None) if callable(obj) else None
    return found if isinstance(found, BenchmarkDef) else None
