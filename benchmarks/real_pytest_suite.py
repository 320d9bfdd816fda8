"""A real project's pytest-benchmark suite through the action under act, unchanged.

Downloads a project's source distribution from the package index, builds a
repository holding this action's checkout, the project's benchmark folder and
its pytest configuration exactly as published, and a pull-request workflow
using the local action with ``pytest: true``; then runs that workflow under act
against the fake GitHub API and reports the job's outcome, the verdicts and the
comment. Nothing of the project is kept in this repository: it is fetched each
time.

    python benchmarks/real_pytest_suite.py                       # cattrs 26.1.0, instructions
    python benchmarks/real_pytest_suite.py --measure time --budget 60

Needs Docker and act (tests/e2e: `./dev.sh test` brings both up) and the
package index reachable from containers. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.support import (  # noqa: E402  (the repository root first)
    PR_NUMBER,
    REPOSITORY,
    REPOSITORY_ID,
    TOKEN,
    commit_all,
    copy_action_checkout,
    init_git_repo,
    pull_request_event,
    run_act,
    tool,
)
from tests.fake_github.server import FakeGitHub  # noqa: E402

WORKFLOW = """name: perf
on:
  pull_request:
permissions:
  contents: read
  pull-requests: write
jobs:
  perf:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - id: perf
        uses: ./
        with:
          benchmark: {folder}
          pytest: true
          mode: same-runner
          measure: {measure}
          time-budget: "{budget}"
          setup-command: pip install {requirements}
      - if: ${{{{ always() }}}}
        env:
          COMPARISON: ${{{{ steps.perf.outputs.comparison-json }}}}
          REGRESSION: ${{{{ steps.perf.outputs.regression }}}}
        run: |
          echo "E2E-OUTPUT regression=$REGRESSION"
          echo "E2E-OUTPUT comparison-json=$(printf '%s' "$COMPARISON" | tr -d '\\n')"
"""


def fetch_sdist(package: str, version: str, into: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                    ":all:", "-d", str(into), f"{package}=={version}"], check=True)
    [archive] = into.glob(f"{package}-{version}.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / f"{package}-{version}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="cattrs")
    parser.add_argument("--version", default="26.1.0")
    parser.add_argument("--folder", default="bench", help="the benchmark folder in the sdist")
    parser.add_argument("--requirements", default="pytest pytest-benchmark msgspec orjson immutables",
                        help="what the project's benchmarks need besides the package itself")
    parser.add_argument("--measure", default="instructions", choices=("time", "instructions"))
    parser.add_argument("--budget", default="60")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="real_suite_") as tmp:
        source = fetch_sdist(args.package, args.version, Path(tmp) / "sdist")
        repo = Path(tmp) / "project"
        copy_action_checkout(repo)
        shutil.copytree(source / args.folder, repo / args.folder)
        shutil.copy2(source / "pyproject.toml", repo / "pyproject.toml")   # its pytest config
        workflows = repo / ".github" / "workflows"
        workflows.mkdir(parents=True)
        workflow = workflows / "perf.yml"
        workflow.write_text(WORKFLOW.format(
            folder=args.folder, measure=args.measure, budget=args.budget,
            requirements=f"{args.package}=={args.version} {args.requirements}"))
        base_sha = init_git_repo(repo, repository=REPOSITORY)
        (repo / "CHANGELOG.md").write_text("a change that touches no code\n")
        head_sha = commit_all(repo, "the pull request")
        event = pull_request_event(head_sha, base_sha)
        with FakeGitHub(prefix="") as fake:
            fake.add_repo(REPOSITORY, REPOSITORY_ID)
            fake.add_token(TOKEN, "perf-bot[bot]", installation=True)
            fake.add_pull(REPOSITORY, PR_NUMBER, author="octocat", head_sha=head_sha)
            started = time.monotonic()
            result = run_act(tool("act"), repo, event_name="pull_request", workflow=workflow,
                             event=event, env={"GITHUB_API_URL": fake.base_url},
                             secrets={"GITHUB_TOKEN": TOKEN}, label=f"{args.package} {args.version}",
                             timeout=3600)
            wall = time.monotonic() - started
            comments = fake.comments_on(REPOSITORY, PR_NUMBER)
        deltas = json.loads(result.outputs.get("comparison-json") or "{}").get("deltas", [])
        gating = [d for d in deltas if d.get("gating")]
        print(f"{args.package} {args.version}, {args.folder}/, measure={args.measure}: "
              f"job {'succeeded' if result.job_succeeded else 'failed'} in {wall:.0f} s")
        print(f"benchmarks: {len({d['benchmark'] for d in deltas})}; gating verdicts: "
              f"{dict(Counter(d['verdict'] for d in gating))}")
        for d in gating:
            if d["verdict"] != "unchanged":
                print(f"  {d['verdict']}: {d['benchmark']} {d['metric']} "
                      f"{d.get('reason_code')}: {d.get('reason', '')[:160]}")
        print(f"comments: {len(comments)}" + (f"; the first {len(comments[0].body)} characters, "
                                               f"headline: {comments[0].body.splitlines()[1]}"
                                               if comments else ""))
        if not result.job_succeeded:
            print(result.log[-4000:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
