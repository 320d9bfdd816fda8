"""The worker protocol: what the parent and a worker of another perfaction version agree on.

A worker may come from another perfaction install than the parent
(``--python`` / ``--base-python`` point at other environments), so both ends
stay backward-aware:

- version 1 (no ``protocol`` key in the discovery result): one job, one
  benchmark. Modes ``discover``, ``calibrate``, ``measure``; the worker writes
  one JSON document on its result stream.
- version 2: adds mode ``batch``. One worker imports the module once and runs
  a task (``calibrate`` or ``measure``) for each benchmark of the job's
  ``benchmarks`` list, in the order given. It writes one JSON line per event
  as it goes, then the final result line:

  ``{"event": "begin", "name": ..., "timeout": s}``  before a benchmark's set-up;
  ``{"event": "done", "name": ..., "result": {...}}`` after its passes, ``result``
  shaped like a version-1 job's result (``ok``, ``phase``, ``error``, ...);
  ``{"ok": ..., "protocol": 2, "timings": {...}}``     last.

  A ``measure`` batch also writes ``{"event": "reference", "seconds": s}``
  before its first benchmark: the runner's speed (``reference.py``). A parent
  that does not know an event ignores it, so older parents are unaffected.

  The ``begin`` line lets the parent give each benchmark its own timeout and
  name the one that was running when a worker hung or died. Version-2 workers
  still answer version-1 jobs the version-1 way, so an older parent works
  with them; a newer parent that finds no ``protocol`` in the discovery
  result sends version-1 jobs only.

- version 3: adds task ``count`` (instruction mode, counting.py): the worker
  runs under Valgrind and its counts go to Valgrind's dump files; each
  benchmark's ``done`` result carries ``cpu_features`` as the counted code saw
  them. A parent in instruction mode refuses a worker of an older version
  (its answer to ``count`` would be a crash), naming the interpreter.

Standard library only: the worker imports this next to user code.
"""

PROTOCOL_VERSION = 3
BATCH_PROTOCOL = 2      # first version that understands ``batch`` jobs
COUNT_PROTOCOL = 3      # first version that counts instructions (task ``count``)

BEGIN = "begin"
DONE = "done"
REFERENCE = "reference"
