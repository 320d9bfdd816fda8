"""The action's configuration: every input and GitHub context value, read once.

``Config.from_env(environ, event=...)`` is the only place in perfaction that
reads ``INPUT_*`` and ``GITHUB_*`` variables. The runner hands a Docker action
each declared input as ``INPUT_<NAME>`` with the name upper-cased and hyphens
kept (``baseline-artifact`` -> ``INPUT_BASELINE-ARTIFACT``), and sets every
declared input, to an empty string when it has no value. An empty or absent
input therefore means "use the default" here, so the defaults in ``INPUTS``
must match action.yml (docs/configuration.md lists them).

The event payload is read from ``GITHUB_EVENT_PATH`` by ``load_event`` and
passed in, so parsing stays a pure function of its arguments.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from perfaction.errors import ConfigError, ResultsFormatError
from perfaction.github.client import ApiSettings
from perfaction.github.workflow import in_actions
from perfaction.metrics import MEASURES
from perfaction.results.files import parse_json
from perfaction.results.model import text_or_none
from perfaction.results.shards import DEFAULT_PREFIX, Shard

MODES = ("baseline", "same-runner")
COMMENT_MODES = ("always", "on-change", "on-regression", "never")
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

# Set by the image (Dockerfile): the project's own environment, apart from the action's.
PROJECT_PYTHON_ENV = "PERFACTION_PROJECT_PYTHON"

# Declared inputs and their defaults (as in action.yml). "" means no default.
INPUTS: dict[str, str] = {
    "benchmark": "",
    "results-file": "",
    "working-directory": ".",
    "setup-command": "",
    "time-budget": "60",
    "measure": "time",
    "pytest": "false",
    "filter": "",
    "benchmark-timeout": "",
    "mode": "baseline",
    "base-ref": "",
    "baseline-artifact": "perf-baseline",
    "baseline-path": "",
    "thresholds": "",
    "thresholds-file": "",
    "fail-on-regression": "true",
    "confirm": "true",
    "fail-on-missing-baseline": "false",
    "comment-mode": "always",
    "comment-id": "default",
    "token": "",
    "results-path": "perf-results.json",
    "report-path": "perf-report.md",
    "history-artifact": "perf-history",
    "history-path": "",
    "history-length": "200",
    "nightly-issue": "false",
    "issue-label": "performance-regression",
    "shard": "",
    "shard-artifact": "perf-shard",
    "merge-shards": "false",
}

# Where the extended history is written when no history-path is given; the
# workflow uploads it as the next history artifact.
DEFAULT_HISTORY_FILE = "perf-history.json"
MAX_HISTORY_LENGTH = 10_000   # far beyond years of nights; the file's size limit binds first
# Events that extend the history (push and workflow_dispatch: on the default branch only).
HISTORY_EVENTS = ("schedule", "push", "workflow_dispatch")

# Advanced settings that are environment variables rather than inputs: the
# HTTP behaviour towards the GitHub API (GHES installations differ).
API_ENV = {
    "PERFACTION_API_TIMEOUT": "30",
    "PERFACTION_API_RETRIES": "4",
    "PERFACTION_API_BACKOFF": "1",
}


def input_env_name(name: str) -> str:
    """The variable the runner sets for input ``name``: upper-cased, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def load_event(path: str | None) -> dict[str, Any]:
    """Read the webhook payload the runner stored at ``GITHUB_EVENT_PATH``."""
    if not path:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: cannot read the event payload: {exc}") from exc
    try:
        data = parse_json(text)
    except ResultsFormatError as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: expected a JSON object, got {type(data).__name__}")
    return data


@dataclass(frozen=True)
class GitHubContext:
    """What the runner tells us about the repository, the event and this run."""

    event_name: str
    repository: str                      # "owner/name"
    sha: str = ""
    ref: str = ""
    repository_id: int | None = None
    ref_name: str | None = None          # branch or tag name of ``ref``
    default_branch: str | None = None
    pr_number: int | None = None
    base_ref: str | None = None          # PR base branch
    base_sha: str | None = None
    head_ref: str | None = None          # PR head branch
    head_sha: str | None = None          # PR head commit (GITHUB_SHA is the merge commit)
    head_repository: str | None = None   # "owner/name" of the PR head, None if the fork was deleted
    before_sha: str | None = None        # push: the commit before the push
    run_id: int | None = None
    run_attempt: int | None = None
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    workspace: str = "."
    output_file: str | None = None       # GITHUB_OUTPUT
    summary_file: str | None = None      # GITHUB_STEP_SUMMARY
    in_actions: bool = True              # GITHUB_ACTIONS=true: workflow commands are read
    event: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", self.repository):
            raise ConfigError(f"GITHUB_REPOSITORY must look like owner/name, got {self.repository!r}")

    @property
    def is_pull_request(self) -> bool:
        return self.event_name in PULL_REQUEST_EVENTS

    @property
    def is_fork(self) -> bool:
        """A PR whose head lives in another repository (or in a deleted fork)."""
        if not self.is_pull_request:
            return False
        return self.head_repository is None or self.head_repository.lower() != self.repository.lower()

    @property
    def baseline_branch(self) -> str | None:
        """The branch whose runs provide baselines: the PR base, else the default branch."""
        if self.is_pull_request:
            return self.base_ref
        return self.default_branch or self.ref_name

    @property
    def records_history(self) -> bool:
        """Nightly duty: a scheduled run, or a push (or manual run) on the default branch.

        A schedule always runs on the default branch. For push and
        workflow_dispatch the payload names the default branch; without it the
        run is not trusted to extend the history.
        """
        if self.event_name == "schedule":
            return True
        if self.event_name not in HISTORY_EVENTS or not self.ref.startswith("refs/heads/"):
            return False
        return self.default_branch is not None and self.ref_name == self.default_branch

    @property
    def head_commit(self) -> str:
        """The commit the benchmarks measure: the PR head, else GITHUB_SHA."""
        return self.head_sha or self.sha

    @property
    def run_url(self) -> str | None:
        if self.run_id is None:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], event: Mapping[str, Any]) -> GitHubContext:
        repository = _env(environ, "GITHUB_REPOSITORY")
        event_name = _env(environ, "GITHUB_EVENT_NAME")
        if not repository or not event_name:
            missing = [n for n in ("GITHUB_REPOSITORY", "GITHUB_EVENT_NAME") if not _env(environ, n)]
            raise ConfigError(
                f"{' and '.join(missing)} not set: the action must run inside a GitHub Actions "
                "job (locally, use the perfaction command-line tool instead)")
        repo_payload = _dict(event.get("repository"))
        pull = _dict(event.get("pull_request"))
        base = _dict(pull.get("base"))
        head = _dict(pull.get("head"))
        head_repo = head.get("repo")
        ref = _env(environ, "GITHUB_REF")
        return cls(
            event_name=event_name,
            repository=repository,
            sha=_env(environ, "GITHUB_SHA"),
            ref=ref,
            repository_id=_int_env(environ, "GITHUB_REPOSITORY_ID") or int_or_none(repo_payload.get("id")),
            ref_name=_env(environ, "GITHUB_REF_NAME") or _ref_name(ref),
            default_branch=text_or_none(repo_payload.get("default_branch")),
            pr_number=_pr_number(pull, event),
            base_ref=_env(environ, "GITHUB_BASE_REF") or text_or_none(base.get("ref")),
            base_sha=text_or_none(base.get("sha")),
            head_ref=_env(environ, "GITHUB_HEAD_REF") or text_or_none(head.get("ref")),
            head_sha=text_or_none(head.get("sha")),
            head_repository=text_or_none(_dict(head_repo).get("full_name")) if pull else None,
            before_sha=text_or_none(event.get("before")),
            run_id=_int_env(environ, "GITHUB_RUN_ID"),
            run_attempt=_int_env(environ, "GITHUB_RUN_ATTEMPT"),
            server_url=_env(environ, "GITHUB_SERVER_URL") or "https://github.com",
            api_url=(_env(environ, "GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            workspace=_env(environ, "GITHUB_WORKSPACE") or ".",
            output_file=_env(environ, "GITHUB_OUTPUT") or None,
            summary_file=_env(environ, "GITHUB_STEP_SUMMARY") or None,
            in_actions=in_actions(environ),
            event=dict(event),
        )


@dataclass(frozen=True)
class Config:
    """Every input of the action, validated; paths still as the user wrote them."""

    benchmark: str
    github: GitHubContext
    working_directory: str = "."
    setup_command: str | None = None
    time_budget: float = 60.0
    measure: str = "time"              # metrics.MEASURES: wall time, or instruction counts
    pytest: bool = False               # benchmark is a pytest-benchmark test path
    results_file: str | None = None    # compare-only: results an earlier step made
    # the interpreter the benchmark workers run, where setup-command installed the
    # project (the image's /opt/project, PERFACTION_PROJECT_PYTHON); None: this one
    project_python: str | None = None
    filter: str | None = None
    benchmark_timeout: float | None = None
    mode: str = "baseline"
    base_ref: str | None = None
    baseline_artifact: str = "perf-baseline"
    baseline_path: str | None = None
    thresholds: str | None = None
    thresholds_file: str | None = None
    fail_on_regression: bool = True
    confirm: bool = True               # baseline mode: re-measure flags beside the base commit
    fail_on_missing_baseline: bool = False
    comment_mode: str = "always"
    comment_id: str = "default"
    token: str = field(default="", repr=False)
    results_path: str = "perf-results.json"
    report_path: str = "perf-report.md"
    history_artifact: str = "perf-history"
    history_path: str | None = None
    history_length: int = 200
    nightly_issue: bool = False
    issue_label: str = "performance-regression"
    shard: Shard | None = None         # a matrix job measuring part K of N, results only
    shard_artifact: str = DEFAULT_PREFIX   # shards' artifacts are called PREFIX-K-of-N
    merge_shards: bool = False         # the job after the matrix: merge, compare, report
    api: ApiSettings = field(default_factory=ApiSettings)

    def __post_init__(self) -> None:
        if self.results_file and self.mode == "same-runner":
            raise ConfigError("input 'results-file' needs mode 'baseline': same-runner measures "
                              "the base commit and the head in this job, and results-file means "
                              "this job measures nothing; drop one of them")
        _check_sharding(self)
        if not self.benchmark and not self.results_file and not self.merge_shards:
            raise ConfigError("input 'benchmark' is required: a module name (my_pkg.benchmarks) "
                              "or a path to a benchmark file or folder (or give results-file: "
                              "results an earlier step made, to compare without measuring)")
        _check_choice("mode", self.mode, MODES)
        _check_choice("measure", self.measure, MEASURES)
        _check_choice("comment-mode", self.comment_mode, COMMENT_MODES)
        if not (self.time_budget > 0 and math.isfinite(self.time_budget)):
            raise ConfigError(f"input 'time-budget' must be a positive number of seconds, got {self.time_budget!r}")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.comment_id):
            raise ConfigError("input 'comment-id' accepts 1 to 64 letters, digits, '.', '_' or '-' "
                              f"(it keeps one comment per id), got {self.comment_id!r}")
        if isinstance(self.history_length, bool) or not isinstance(self.history_length, int) \
                or not 1 <= self.history_length <= MAX_HISTORY_LENGTH:
            raise ConfigError(f"input 'history-length' accepts a whole number of entries from 1 to "
                              f"{MAX_HISTORY_LENGTH}, got {self.history_length!r}")
        _check_label(self.issue_label)
        if self.baseline_path and self.mode == "same-runner":
            raise ConfigError("inputs 'baseline-path' and mode 'same-runner' exclude each other: "
                              "same-runner measures the base commit itself; drop one of them")
        _check_output_paths(self)

    @property
    def workspace(self) -> Path:
        return Path(self.github.workspace)

    @property
    def history_output(self) -> str:
        """The history file this run writes: history-path when given, else the default name."""
        return self.history_path or DEFAULT_HISTORY_FILE

    def in_workspace(self, path: str) -> Path:
        """Resolve a path input against the workspace (absolute paths stay as they are)."""
        return self.workspace / path

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, event: Mapping[str, Any] | None = None) -> Config:
        values = {name: _input(environ, name) for name in INPUTS}
        return cls(
            benchmark=values["benchmark"],
            results_file=values["results-file"] or None,
            github=GitHubContext.from_env(environ, event or {}),
            working_directory=values["working-directory"],
            setup_command=values["setup-command"] or None,
            time_budget=_parse_duration("time-budget", values["time-budget"]),
            measure=_parse_choice("measure", values["measure"], MEASURES),
            pytest=_parse_bool("pytest", values["pytest"]),
            filter=values["filter"] or None,
            benchmark_timeout=(_parse_duration("benchmark-timeout", values["benchmark-timeout"])
                               if values["benchmark-timeout"] else None),
            mode=_parse_choice("mode", values["mode"], MODES),
            base_ref=values["base-ref"] or None,
            baseline_artifact=_parse_artifact_name("baseline-artifact", values["baseline-artifact"]),
            baseline_path=values["baseline-path"] or None,
            thresholds=values["thresholds"] or None,
            thresholds_file=values["thresholds-file"] or None,
            fail_on_regression=_parse_bool("fail-on-regression", values["fail-on-regression"]),
            confirm=_parse_bool("confirm", values["confirm"]),
            fail_on_missing_baseline=_parse_bool("fail-on-missing-baseline",
                                                 values["fail-on-missing-baseline"]),
            comment_mode=_parse_choice("comment-mode", values["comment-mode"], COMMENT_MODES),
            comment_id=values["comment-id"],
            token=environ.get(input_env_name("token"), "").strip(),
            results_path=_parse_relative_file("results-path", values["results-path"]),
            report_path=_parse_relative_file("report-path", values["report-path"]),
            history_artifact=_parse_artifact_name("history-artifact", values["history-artifact"]),
            history_path=(_parse_relative_file("history-path", values["history-path"])
                          if values["history-path"] else None),
            history_length=_parse_count("history-length", values["history-length"]),
            nightly_issue=_parse_bool("nightly-issue", values["nightly-issue"]),
            issue_label=values["issue-label"],
            api=_parse_api_settings(environ),
            project_python=_project_python(environ),
            shard=Shard.parse(values["shard"], name="input 'shard'") if values["shard"] else None,
            shard_artifact=_parse_artifact_name("shard-artifact", values["shard-artifact"]),
            merge_shards=_parse_bool("merge-shards", values["merge-shards"]),
        )


def _project_python(environ: Mapping[str, str]) -> str | None:
    """The image's project interpreter (Dockerfile), if this runs in the image."""
    path = environ.get(PROJECT_PYTHON_ENV, "").strip()
    if not path:
        return None
    if not os.access(path, os.X_OK):
        raise ConfigError(f"{PROJECT_PYTHON_ENV} names {path!r}, which is not an executable "
                          "interpreter; unset it to run the benchmarks with the action's own")
    return path


# ---------------------------------------------------------------------------
# Parsing helpers: each error names the input and what it accepts
# ---------------------------------------------------------------------------

def _input(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(input_env_name(name), "").strip()
    return value or INPUTS[name]


def _check_choice(name: str, value: str, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise ConfigError(f"input '{name}' accepts {', '.join(accepted)}; got {value!r}")


def _parse_choice(name: str, value: str, accepted: tuple[str, ...]) -> str:
    normalised = value.strip().lower()
    _check_choice(name, normalised, accepted)
    return normalised


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"input '{name}' accepts true or false; got {value!r}")


_DURATION = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>s|sec|m|min)?", re.IGNORECASE)


# A job on GitHub-hosted runners ends after 6 hours; no duration input may exceed it
# (and a larger one would overflow the timeouts built from it).
MAX_DURATION = 6 * 3600.0


def _pr_number(pull: Mapping[str, Any], event: Mapping[str, Any]) -> int | None:
    """The pull request's number from the payload: a positive integer, or the payload is refused."""
    if not pull:
        return None
    number = int_or_none(pull.get("number", event.get("number")))
    if number is not None and number < 1:
        raise ConfigError(f"the event payload (GITHUB_EVENT_PATH) gives pull request number "
                          f"{number}; a pull request's number is a positive integer")
    return number


def _parse_duration(name: str, value: str) -> float:
    match = _DURATION.fullmatch(value.strip())
    seconds = None
    if match:
        seconds = float(match["number"])
        if (match["unit"] or "s").lower() in ("m", "min"):
            seconds *= 60
    if seconds is None or seconds <= 0:
        raise ConfigError(f"input '{name}' accepts a positive duration in seconds, "
                          f"such as 60, 90s or 2m; got {value!r}")
    if seconds > MAX_DURATION:
        raise ConfigError(f"input '{name}' is {value!r}, longer than a GitHub Actions job may "
                          f"run ({MAX_DURATION // 3600:.0f} hours); give at most {MAX_DURATION:.0f}s")
    return seconds


def _check_sharding(config: Config) -> None:
    """The shard inputs: a shard job measures, the merge job compares; never both."""
    if config.shard is not None and config.merge_shards:
        raise ConfigError("inputs 'shard' and 'merge-shards' exclude each other: the matrix jobs "
                          "set shard (K/N), the one job after them sets merge-shards: true")
    for name, value in (("shard", config.shard), ("merge-shards", config.merge_shards)):
        if value and config.results_file:
            raise ConfigError(f"inputs '{name}' and 'results-file' exclude each other: "
                              "results-file compares one earlier step's results; drop one")
    if not config.shard_artifact:
        raise ConfigError("input 'shard-artifact' is empty: give the prefix of the shards' "
                          f"artifact names (default {DEFAULT_PREFIX})")


def _parse_artifact_name(name: str, value: str) -> str:
    # The characters upload-artifact refuses in a name.
    bad = set('"<>|*?:\\/\r\n') & set(value)
    if bad:
        raise ConfigError(f"input '{name}' is an artifact name and cannot contain "
                          f"{' '.join(sorted(repr(c) for c in bad))}; got {value!r}")
    return value


def _parse_count(name: str, value: str) -> int:
    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_HISTORY_LENGTH:
        raise ConfigError(f"input '{name}' accepts a whole number of entries from 1 to "
                          f"{MAX_HISTORY_LENGTH}, got {value!r}")
    return int(text)


def _check_label(value: str) -> None:
    # The issues listing takes labels as a comma-separated list, so a comma would
    # split the label in two; GitHub caps label names at 50 characters.
    if not value or len(value) > 50 or "," in value or not value.isprintable() \
            or value != value.strip():
        raise ConfigError("input 'issue-label' accepts a label name of 1 to 50 printable "
                          f"characters without commas or surrounding spaces, got {value!r}")


def _normal(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/"))


def _check_output_paths(config: Config) -> None:
    """Files the run writes stay in the workspace and never land on one another, or on the
    baseline it reads: a report written over the results left later pull requests an
    'invalid' baseline, and results written over baseline-path compare a run with itself."""
    results = config.results_path
    stem = posixpath.splitext(results)[0]
    written = {"results-path": results, "report-path": config.report_path}
    if config.history_path or config.github.records_history:
        written["history-path"] = config.history_output
    derived = {f"{stem}.{suffix}.json": f"the {what} results written beside results-path"
               for suffix, what in (("base", "base commit's"), ("confirm-base", "confirming run's base"),
                                    ("confirm-head", "confirming run's head"))}
    seen: dict[str, str] = {}
    for name, path in written.items():
        normal = _normal(path)
        if normal.startswith("../") or normal == ".." or posixpath.isabs(normal):
            raise ConfigError(f"input '{name}' must stay inside the workspace (where the upload "
                              f"step finds it), got {path!r}; give a path relative to it")
        for other, taken in seen.items():
            if taken == normal:
                raise ConfigError(f"inputs '{other}' and '{name}' name the same file {path!r}; "
                                  "each would overwrite the other: give them different names")
        if name != "results-path" and normal in {_normal(p) for p in derived}:
            raise ConfigError(f"input '{name}' names {path!r}, which is "
                              f"{derived[next(p for p in derived if _normal(p) == normal)]}; "
                              "give it another name")
        seen[name] = normal
    if config.results_file:
        clash = next((n for n, p in seen.items()
                      if n != "results-path" and p == _normal(config.results_file)), None)
        if clash:
            raise ConfigError(f"input '{clash}' names the same file as 'results-file' "
                              f"({config.results_file!r}): this run would overwrite the results "
                              "it compares; give them different names")
    if config.baseline_path and _normal(config.baseline_path) in seen.values():
        clash = next(n for n, p in seen.items() if p == _normal(config.baseline_path or ""))
        raise ConfigError(f"input 'baseline-path' names the same file as '{clash}' "
                          f"({config.baseline_path!r}): this run would overwrite the baseline "
                          "before reading it; write the results elsewhere")


def _parse_relative_file(name: str, value: str) -> str:
    parts = PurePosixPath(value).parts
    if value.endswith("/") or not parts:
        raise ConfigError(f"input '{name}' must name a file, got {value!r}")
    return value


def _parse_api_settings(environ: Mapping[str, str]) -> ApiSettings:
    raw = {name: environ.get(name, "").strip() or default for name, default in API_ENV.items()}
    try:
        return ApiSettings(timeout=float(raw["PERFACTION_API_TIMEOUT"]),
                           retries=int(raw["PERFACTION_API_RETRIES"]),
                           backoff=float(raw["PERFACTION_API_BACKOFF"]))
    except ValueError as exc:
        raise ConfigError(f"PERFACTION_API_TIMEOUT, _RETRIES and _BACKOFF take numbers; {exc}") from exc


def _env(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def _int_env(environ: Mapping[str, str], name: str) -> int | None:
    value = _env(environ, name)
    if not value:
        return None
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def int_or_none(value: Any) -> int | None:
    """``value`` when it is a JSON integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _ref_name(ref: str) -> str | None:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return None
