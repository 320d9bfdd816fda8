"""The standard world the integration tests start from, matching tests/data/events/*.json."""

from __future__ import annotations

from .server import FakeGitHub

REPO = "octo-org/widgets"
REPO_ID = 1296269
FORK = "outsider/widgets"
FORK_ID = 7777777
BOT = "github-actions[bot]"
BOT_TOKEN = "ghs_fake_installation_token"
READ_ONLY_TOKEN = "ghs_fake_read_only_token"
NO_ISSUES_TOKEN = "ghs_fake_no_issues_token"   # a job without `permissions: issues: write`
USER_TOKEN = "ghp_fake_personal_token"
USER = "octocat"
PR = 42          # a PR from a branch of REPO
FORK_PR = 43     # a PR from FORK


def seed(fake: FakeGitHub) -> FakeGitHub:
    fake.add_repo(REPO, REPO_ID)
    fake.add_repo(FORK, FORK_ID, fork=True)
    fake.add_token(BOT_TOKEN, BOT, installation=True)
    fake.add_token(READ_ONLY_TOKEN, BOT, installation=True, read_only=True)
    fake.add_token(NO_ISSUES_TOKEN, BOT, installation=True, issues_write=False)
    fake.add_token(USER_TOKEN, USER)
    fake.add_pull(REPO, PR, author=USER, head_ref="faster-parser",
                  head_sha="1f0c9e3a4b5d6e7f8091a2b3c4d5e6f708192a3b",
                  base_sha="0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5")
    fake.add_pull(REPO, FORK_PR, author="outsider", head_repo=FORK, head_ref="main",
                  head_sha="2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d",
                  base_sha="0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5")
    return fake
