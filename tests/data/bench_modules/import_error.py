"""Fails at import: a dependency that is not installed."""

import perfaction_missing_dependency_xyz  # noqa: F401

from perfaction import benchmark


@benchmark
def never_seen():
    return lambda: None
