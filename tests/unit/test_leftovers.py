"""The sweep of processes a worker left behind: found by token, killed, and gone when reported."""

import time

import psutil

from perfaction.harness import leftovers


class SlowToDie:
    """A process that carries a token and still runs for a few looks after SIGKILL,
    as a real one does until the kernel has torn it down."""

    def __init__(self, pid, token, looks_to_die=3):
        self.pid, self.token, self.looks_left = pid, token, looks_to_die
        self.killed = False

    def create_time(self):
        return time.time()

    def environ(self):
        return {leftovers.TOKEN_VARIABLE: self.token}

    def cmdline(self):
        return ["python", "-c", "serve()"]

    def name(self):
        return "python"

    def kill(self):
        self.killed = True

    def is_running(self):
        if not self.killed:
            return True
        self.looks_left -= 1
        return self.looks_left >= 0

    def status(self):
        return psutil.STATUS_SLEEPING


def test_the_sweep_returns_only_once_the_killed_processes_are_gone():
    helper = SlowToDie(4242, "abc")
    killed = leftovers.stop_leftovers("abc", since=time.time() - 5, processes=[helper])
    assert killed == ("pid 4242: python -c serve()",)
    assert helper.killed and helper.looks_left < 0     # looked at until it was gone


def test_processes_of_another_worker_or_started_before_it_are_left_alone():
    other = SlowToDie(1, "other-token")

    class Older(SlowToDie):
        def create_time(self):
            return time.time() - 60

    older = Older(2, "abc")
    assert leftovers.stop_leftovers("abc", since=time.time() - 5, processes=[other, older]) == ()
    assert not other.killed and not older.killed


def test_one_that_outlives_the_wait_does_not_hang_the_sweep(monkeypatch):
    monkeypatch.setattr(leftovers, "GONE_WAIT", 0.05)
    stubborn = SlowToDie(7, "abc", looks_to_die=10**9)
    assert leftovers.stop_leftovers("abc", since=time.time(), processes=[stubborn])
    assert stubborn.looks_left > 0      # returned after the wait, with the process still there
