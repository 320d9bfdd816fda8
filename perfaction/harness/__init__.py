"""The benchmark harness: ``@benchmark``, discovery, worker processes, progress.

Users import ``benchmark`` from ``perfaction``; the runner lives in
``perfaction.harness.runner``. Nothing heavy is imported here: every worker
process imports this package next to the user's code.
"""
