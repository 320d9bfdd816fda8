"""Fixtures for integration tests: the fake GitHub server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The fake lives in tests/fake_github; make `tests.fake_github` importable however pytest is started.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.fake_github import FakeGitHub  # noqa: E402
from tests.fake_github.seed import seed  # noqa: E402


@pytest.fixture(params=["/api/v3", ""], ids=["ghes-prefix", "root"])
def any_fake(request):
    """The fake under a GHES-style /api/v3 prefix and at the root, like api.github.com."""
    with seed(FakeGitHub(prefix=request.param)) as fake:
        yield fake


@pytest.fixture
def fake():
    with seed(FakeGitHub(prefix="/api/v3")) as fake:
        yield fake


# ---------------------------------------------------------------------------
# entrypoint.py as the runner starts a Docker action
# ---------------------------------------------------------------------------

import shutil  # noqa: E402

from tests.fake_github.seed import BOT_TOKEN  # noqa: E402
from tests.integration.action_process import ROOT, ActionRun, start_action  # noqa: E402

DATA = ROOT / "tests" / "data"


@pytest.fixture
def workspace(tmp_path):
    """What the runner mounts at /github/workspace: a checkout of a small project."""
    root = tmp_path / "workspace"
    shutil.copytree(DATA / "entrypoint_project", root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture
def run_action(fake, workspace, tmp_path):
    """Run entrypoint.py in a subprocess with the environment a Docker action gets."""
    counter = iter(range(1, 1000))

    def run(event: str, *, event_name: str | None = None, inputs: dict[str, str] | None = None,
            env: dict[str, str] | None = None, token: str = BOT_TOKEN) -> ActionRun:
        given = {"benchmark": "bench_widgets.py", "time-budget": "2", **(inputs or {})}
        return start_action(fake, workspace, tmp_path / f"file_commands_{next(counter)}", event,
                            inputs=given, event_name=event_name, env=env, token=token,
                            runner_temp=tmp_path / "runner_temp")

    return run
