"""entrypoint.py keeps the job's credentials away from the project's own code.

The setup-command and the benchmarks are the pull request's code. Here both
look for the token and the runner's credentials the easy ways: in their own
environment and in /proc/<pid>/environ of every ancestor (the entry point
included), and write down what they find.
"""

from __future__ import annotations

import json
import sys

from tests.fake_github.seed import BOT_TOKEN, PR, REPO

SECRETS = {
    "ACTIONS_RUNTIME_TOKEN": "runtime-secret-5b1f",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-secret-77a0",
    "GITHUB_TOKEN": "ghs_env_secret_c3d9",
}

PROBE = '''
import json
import os
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.jsonl")
SECRETS = {secrets!r}
NAMES = ("INPUT_TOKEN", "GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def ancestors():
    pid, chain = os.getpid(), []
    while pid > 1:
        stat = read(f"/proc/{{pid}}/stat")
        if stat is None:
            break
        pid = int(stat.rsplit(b")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def probe(where):
    found = [f"own env {{n}}" for n in NAMES if n in os.environ]
    found += [f"own env value of {{n}}" for n, v in os.environ.items()
              if any(s in v for s in SECRETS)]
    seen = []
    for pid in [os.getpid(), *ancestors()]:
        environ, cmdline = read(f"/proc/{{pid}}/environ"), read(f"/proc/{{pid}}/cmdline") or b""
        seen.append({{"pid": pid, "entrypoint": b"entrypoint.py" in cmdline,
                     "environ_read": environ is not None and b"GITHUB_REPOSITORY=" in environ}})
        for blob, what in ((environ or b"", "environ"), (cmdline, "cmdline")):
            found += [f"/proc/{{pid}}/{{what}}: {{s[:8]}}" for s in SECRETS if s.encode() in blob]
            found += [f"/proc/{{pid}}/{{what}}: {{n}}=" for n in NAMES
                      if (n + "=").encode() in blob]
    with open(OUT, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({{"where": where, "found": found, "seen": seen}}) + "\\n")


if __name__ == "__main__":
    probe(sys.argv[1])
'''

BENCH = '''
import probe_token
from perfaction import benchmark

probe_token.probe("benchmark")


@benchmark
def tiny():
    return lambda: sum(range(100))
'''


def test_setup_command_and_benchmarks_cannot_find_the_token_yet_the_api_gets_it(fake, run_action,
                                                                                 workspace):
    (workspace / "probe_token.py").write_text(PROBE.format(secrets=[BOT_TOKEN, *SECRETS.values()]))
    (workspace / "bench_probe.py").write_text(BENCH)
    result = run_action("pull_request", env={**SECRETS, "MY_SETTING": "kept"}, inputs={
        "benchmark": "bench_probe.py",
        "setup-command": f'{sys.executable} probe_token.py setup && echo "setting=$MY_SETTING"'})
    assert result.returncode == 0, result.explain()

    records = [json.loads(line) for line in (workspace / "probe.jsonl").read_text().splitlines()]
    assert {r["where"] for r in records} == {"setup", "benchmark"}
    for record in records:
        assert record["found"] == [], record
        # The probe did read the entry point's environment block: an empty finding means something.
        assert any(p["entrypoint"] and p["environ_read"] for p in record["seen"]), record["seen"]
    assert "setting=kept" in result.stdout, "variables other than credentials are passed on"

    # The API calls still carried the token, and it never reached the log unmasked.
    authorised = [r for r in fake.requests("api") if BOT_TOKEN in r.headers.get("authorization", "")]
    assert authorised and len(authorised) == len(fake.requests("api"))
    assert len(fake.comments_on(REPO, PR)) == 1
    assert result.stdout.count(BOT_TOKEN) == 1   # the ::add-mask:: line only
