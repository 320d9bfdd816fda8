"""The sweep of processes a worker left behind: found by token, killed, and gone when reported."""

import time

import psutil

from perfaction.harness import leftovers


class SlowToDie:
    """A process that carries a token and keeps running for a while after SIGKILL,
    as a real one does until the kernel has torn it down."""

    def __init__(self, pid, token, dies_after=0.05):
        self.pid, self.token, self.dies_after = pid, token, dies_after
        self.killed_at = None

    def create_time(self):
        return time.time()

    def environ(self):
        return {leftovers.TOKEN_VARIABLE: self.token}

    def cmdline(self):
        return ["python", "-c", "serve()"]

    def name(self):
        return "python"

    def kill(self):
        self.killed_at = time.monotonic()

    def is_running(self):
        return self.killed_at is None or time.monotonic() - self.killed_at < self.dies_after

    def status(self):
        return psutil.STATUS_SLEEPING if self.is_running() else psutil.STATUS_ZOMBIE


def test_the_sweep_returns_only_once_the_killed_processes_are_gone():
    helper = SlowToDie(4242, "abc")
    killed = leftovers.stop_leftovers("abc", since=time.time() - 5, processes=[helper])
    assert killed == ("pid 4242: python -c serve()",)
    assert helper.killed_at is not None and not helper.is_running()


def test_processes_of_another_worker_or_started_before_it_are_left_alone():
    other = SlowToDie(1, "other-token")

    class Older(SlowToDie):
        def create_time(self):
            return time.time() - 60

    older = Older(2, "abc")
    assert leftovers.stop_leftovers("abc", since=time.time() - 5, processes=[other, older]) == ()
    assert other.killed_at is None and older.killed_at is None


def test_one_that_outlives_the_wait_does_not_hang_the_sweep(monkeypatch):
    monkeypatch.setattr(leftovers, "GONE_WAIT", 0.05)
    stubborn = SlowToDie(7, "abc", dies_after=3600)
    assert leftovers.stop_leftovers("abc", since=time.time(), processes=[stubborn])
    assert stubborn.is_running()        # returned after the wait, with the process still there
