"""Environment fingerprint helpers."""

import re
from datetime import UTC, datetime

from perfaction.harness import environment


def test_cpu_model_from_cpuinfo_x86_and_arm():
    x86 = "processor\t: 0\nmodel name\t: AMD EPYC 7763  64-Core Processor\nflags\t: fpu\n"
    assert environment.parse_cpuinfo(x86) == "AMD EPYC 7763 64-Core Processor"
    arm = "processor\t: 0\nBogoMIPS\t: 48.00\nHardware\t: BCM2835\n"
    assert environment.parse_cpuinfo(arm) == "BCM2835"
    assert environment.parse_cpuinfo("") is None


def test_gather_fills_the_model_fields():
    env = environment.gather()
    assert env["logical_cores"] >= 1
    assert env["python_implementation"] and re.match(r"\d+\.\d+\.\d+", env["python_version"])
    assert env["perfaction_version"]


def test_timestamp_is_iso_utc():
    moment = datetime(2025, 1, 31, 12, 0, 5, 999, tzinfo=UTC)
    assert environment.utc_timestamp(moment) == "2025-01-31T12:00:05Z"


def test_the_base_worktree_path_is_as_long_as_the_repository_path(tmp_path):
    # lengths of paths shape the heap after them: counts of identical code differ
    from perfaction.harness.gitinfo import _leaf_as_long_as

    repo = tmp_path / "a-repository-with-a-long-name"
    parent = tmp_path / "pb1234"
    assert len(str(parent / _leaf_as_long_as(repo, parent))) == len(str(repo))
    assert _leaf_as_long_as(tmp_path / "r", tmp_path / "a-much-longer-parent") == "tree"
