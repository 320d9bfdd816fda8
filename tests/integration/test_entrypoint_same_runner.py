"""entrypoint.py in same-runner mode: the base commit measured in the same job, from git."""

from __future__ import annotations

import json
import subprocess

from perfaction.report.context import COMMENT_MARKER
from tests.fake_github.seed import PR, REPO


def git(workspace, *args):
    subprocess.run(["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    *args], check=True, capture_output=True)


# The fixture's 2 s budget buys about five processes a side, enough for an
# untouched benchmark to be flagged by chance on a busy machine (Mann-Whitney's
# smallest p at 5 + 5 is 1/252 < 0.01). Tests of the wiring set the time
# thresholds out of reach; the verdicts are other tests' subject.
WIRING_ONLY = "time:500%,cpu_time:500%"


def test_same_runner_measures_the_base_commit_and_fetches_no_artifact(fake, run_action, workspace):
    bench = workspace / "bench_widgets.py"
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "base")
    # The change is cosmetic and the threshold generous: this test is about the
    # wiring, not the verdict (see WIRING_ONLY).
    bench.write_text(bench.read_text() + "\n# head\n")
    git(workspace, "commit", "-q", "-am", "head")

    result = run_action("pull_request", inputs={"mode": "same-runner", "base-ref": "HEAD~1",
                                                "thresholds": WIRING_ONLY})
    assert result.returncode == 0, result.explain()
    assert result.outputs["baseline-status"] == "same-runner"
    assert not fake.requests("api", path=r".*/actions/.*"), "same-runner needs no artifact"
    head = json.loads((workspace / "perf-results.json").read_text())
    base = json.loads((workspace / "perf-results.base.json").read_text())
    assert head["settings"]["mode"] == base["settings"]["mode"] == "same-runner"
    base_sha = subprocess.run(["git", "-C", str(workspace), "rev-parse", "HEAD~1"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert base["environment"]["commit_sha"] == base_sha
    [comment] = fake.comments_on(REPO, PR)
    assert comment.body.startswith(COMMENT_MARKER)
    assert "same runner" in comment.body


def commit_all(repo, message):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def test_a_base_commit_without_the_benchmark_module_makes_every_benchmark_new_and_says_so(
        fake, run_action, workspace):
    bench = workspace / "bench_widgets.py"
    code = bench.read_text()
    bench.unlink()
    (workspace / "README.md").write_text("widgets\n")
    git(workspace, "init", "-q", "-b", "main")
    commit_all(workspace, "before the benchmarks")
    bench.write_text(code)
    commit_all(workspace, "add benchmarks")

    result = run_action("pull_request", inputs={"mode": "same-runner", "base-ref": "HEAD~1"})
    assert result.returncode == 0, result.explain()
    warnings = [line for line in result.annotations("warning") if "title=Same-runner base" in line]
    assert len(warnings) == 1 and "has no bench_widgets.py" in warnings[0]
    [comment] = fake.comments_on(REPO, PR)
    for text in (comment.body, result.summary):
        assert "has no bench_widgets.py, so every benchmark is new" in text, text


def test_a_base_commit_whose_benchmark_module_cannot_be_imported_is_an_error(fake, run_action,
                                                                              workspace):
    bench = workspace / "bench_widgets.py"
    code = bench.read_text()
    bench.write_text('raise RuntimeError("the base commit is broken")\n' + code)
    git(workspace, "init", "-q", "-b", "main")
    commit_all(workspace, "broken base")
    bench.write_text(code)
    commit_all(workspace, "fixed head")

    result = run_action("pull_request", inputs={"mode": "same-runner", "base-ref": "HEAD~1"})
    assert result.returncode == 2, result.explain()
    [error] = result.annotations("error")
    assert "cannot measure the base 'HEAD~1'" in error and "the base commit is broken" in error
    assert fake.comments_on(REPO, PR) == []


BROKEN_IN_BASE = '''

@benchmark
def parse_header():
    raise ValueError("no header parser in this version")
'''

FIXED_IN_HEAD = '''

@benchmark
def parse_header():
    return lambda: "a: b".partition(":")
'''


def test_same_runner_in_a_sub_folder_checkout_and_a_benchmark_failing_only_in_the_base(
        fake, run_action, workspace):
    # actions/checkout with `path: sub`: the repository is a folder of the workspace.
    repo = workspace / "sub"
    repo.mkdir()
    (workspace / "bench_widgets.py").rename(repo / "bench_widgets.py")
    bench = repo / "bench_widgets.py"
    code = bench.read_text()
    bench.write_text(code + BROKEN_IN_BASE)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "base")
    bench.write_text(code + FIXED_IN_HEAD)
    commit_all(repo, "head")

    result = run_action("pull_request", inputs={"mode": "same-runner", "base-ref": "HEAD~1",
                                                "working-directory": "sub",
                                                "thresholds": WIRING_ONLY})
    assert result.returncode == 0, result.explain()
    base = json.loads((workspace / "perf-results.base.json").read_text())
    assert base["environment"]["commit_sha"] == subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD~1"], capture_output=True, text=True,
        check=True).stdout.strip()
    failed = [line for line in result.annotations("warning")
              if "title=Base benchmark failed%3A parse_header" in line]
    assert len(failed) == 1 and "no header parser in this version" in failed[0]
    [comment] = fake.comments_on(REPO, PR)
    assert "parse_header failed on the base commit" in comment.body
