"""Progress output: live on a terminal, plain rate-limited lines elsewhere."""

import io

from perfaction.harness.progress import LiveProgress, PlainProgress, Progress, make_progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_plain_progress_prints_whole_lines_with_benchmark_round_and_time_left():
    out, clock = io.StringIO(), Clock()
    progress = PlainProgress(out, interval=5.0, clock=clock)
    progress.start(benchmarks=2, budget=60)
    progress.step(round_index=1, rounds=10, benchmark="book[size=100]", time_left=42.4)
    progress.step(round_index=1, rounds=10, benchmark="var", time_left=41.0)   # too soon
    clock.now = 6.0
    progress.step(round_index=1, rounds=10, benchmark="var", time_left=35.0)   # interval passed
    progress.step(round_index=2, rounds=10, benchmark="book[size=100]", time_left=34.0)  # new round
    progress.failure("benchmark 'x': boom")
    progress.finish(elapsed=59.5)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines == [
        "perfaction: measuring 2 benchmark(s), time budget 60 s",
        "perfaction: round 1/10  book[size=100]  (42 s left)",
        "perfaction: round 1/10  var  (35 s left)",
        "perfaction: round 2/10  book[size=100]  (34 s left)",
        "perfaction: FAILED: benchmark 'x': boom",
        "perfaction: done in 59.5 s",
    ]


def test_live_progress_rewrites_one_line_and_keeps_failures():
    out = TTY()
    progress = LiveProgress(out, width=lambda: 40)
    progress.step(round_index=3, rounds=9, benchmark="a_rather_long_benchmark_name[size=10000]",
                  time_left=-1)
    text = out.getvalue()
    assert text.startswith("\rround 3/9")
    assert len(text) == 1 + 39           # truncated to the terminal width
    progress.failure("benchmark 'b': boom")
    assert out.getvalue().endswith("perfaction: FAILED: benchmark 'b': boom\n")


def test_make_progress_picks_by_stream():
    assert isinstance(make_progress(TTY()), LiveProgress)
    assert isinstance(make_progress(io.StringIO()), PlainProgress)
    quiet = make_progress(io.StringIO(), quiet=True)
    assert type(quiet) is Progress


def command_lines(text: str) -> list[str]:
    """Lines a workflow runner would act on: '::' after leading blanks, or '##[' anywhere."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line]


def test_failure_text_from_the_project_cannot_become_a_workflow_command():
    hostile = ("benchmark 'x': the worker process exited with code 1; its last output: "
               "Traceback\n::error title=x::fake failure\n  ::add-mask::ghs_x\n##[warning]old form")
    out = io.StringIO()
    progress = PlainProgress(out, clock=Clock())
    progress.failure(hostile)
    progress.status("discovering\n::stop-commands::abc")
    assert command_lines(out.getvalue()) == []
    assert "fake failure" in out.getvalue() and "Traceback" in out.getvalue()

    live = TTY()
    LiveProgress(live, width=lambda: 200).failure(hostile)
    LiveProgress(live, width=lambda: 200).status("x\n::error::y")
    assert command_lines(live.getvalue().replace("\r", "\n")) == []


HOSTILE_NAME = "bench\x1b[2J\x1b]8;;https://evil.example\x07link\x00nul\x9b31mc1\u202eevil"


def test_benchmark_names_cannot_steer_the_terminal_or_reorder_the_line():
    out = io.StringIO()
    PlainProgress(out, clock=Clock()).step(round_index=1, rounds=3, benchmark=HOSTILE_NAME,
                                          time_left=9)
    live = TTY()
    LiveProgress(live, width=lambda: 400).step(round_index=1, rounds=3, benchmark=HOSTILE_NAME,
                                               time_left=9)
    for text in (out.getvalue(), live.getvalue()):
        assert not any(c in text for c in "\x1b\x00\x07\x9b\u202e"), repr(text)
        assert "bench\\x1b[2J\\x1b]8;;https://evil.example\\x07link\\x00nul\\x9b31mc1\\u202eevil" \
            in text


def test_an_estimated_total_is_not_shown_so_it_cannot_jump():
    # The budget's plan is revised after every round (1/5, 2/4, 3/5 read as a bug);
    # the time left is what moves steadily then.
    out = io.StringIO()
    PlainProgress(out, interval=5.0, clock=Clock()).step(
        round_index=2, rounds=None, benchmark="var", time_left=30.2)
    assert out.getvalue().splitlines() == ["perfaction: round 2  var  (30 s left)"]
