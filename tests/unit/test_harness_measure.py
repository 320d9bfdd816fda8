"""Measuring inside one process: calibration, values, latency, memory."""

import math
import tracemalloc

import pytest

from perfaction.harness import measure


class FakeClock:
    """Advances by ``per_call`` seconds each time the fake workload runs."""

    def __init__(self, per_call):
        self.now = 0.0
        self.per_call = per_call
        self.calls = 0

    def __call__(self):
        return self.now

    def work(self):
        self.calls += 1
        self.now += self.per_call


def test_calibration_reaches_the_minimum_value_time():
    clock = FakeClock(per_call=1e-6)
    result = measure.calibrate(clock.work, 0.05, clock=clock, cpu_clock=clock)
    assert result.loops * 1e-6 >= 0.05
    assert result.loops * 1e-6 < 0.05 * 2.5          # not wildly past it
    assert result.seconds_per_call == pytest.approx(1e-6)


def test_a_call_slower_than_the_target_is_timed_alone():
    clock = FakeClock(per_call=0.2)
    result = measure.calibrate(clock.work, 0.05, clock=clock, cpu_clock=clock)
    assert result.loops == 1
    assert clock.calls == 3       # the warm-up call, one timed call, its confirmation


class StallingClock(FakeClock):
    """A FakeClock whose ``stall_at``-th call is preempted for ``stall`` seconds."""

    def __init__(self, per_call, stall_at, stall):
        super().__init__(per_call)
        self.stall_at, self.stall = stall_at, stall

    def work(self):
        super().work()
        if self.calls == self.stall_at:
            self.now += self.stall


def test_one_preemption_during_calibration_does_not_shorten_the_loops():
    # 1 us calls; the 12th call (inside the 10-loop timing) stalls for 60 ms,
    # which alone would pass the 50 ms target with only 10 loops.
    clock = StallingClock(per_call=1e-6, stall_at=12, stall=0.06)
    result = measure.calibrate(clock.work, 0.05, clock=clock, cpu_clock=clock)
    assert result.loops * 1e-6 >= 0.05
    assert result.seconds_per_call == pytest.approx(1e-6)


def test_values_skip_warmup_and_divide_by_loops():
    clock = FakeClock(per_call=2e-6)
    values = measure.time_values(clock.work, loops=1000, count=3, warmup=2,
                                 clock=clock, cpu_clock=clock)
    assert len(values) == 3
    assert clock.calls == 5 * 1000
    assert all(v.wall == pytest.approx(2e-6) and v.utilisation == pytest.approx(1.0)
               for v in values)


def test_timing_refuses_to_run_while_tracemalloc_is_tracing():
    tracemalloc.start()
    try:
        with pytest.raises(measure.TracingWhileTimingError, match="tracemalloc"):
            measure.time_values(lambda: None, loops=10, count=1)
        with pytest.raises(measure.TracingWhileTimingError):
            measure.latency_pass(lambda: None, 0.001)
    finally:
        tracemalloc.stop()


def test_latency_pass_times_calls_one_by_one_for_the_duration():
    clock = FakeClock(per_call=0.01)
    latencies = measure.latency_pass(clock.work, 0.1, clock=clock)
    assert len(latencies) in (10, 11)     # floating-point sums land either side of 0.1
    assert all(v == pytest.approx(0.01) for v in latencies)


def test_percentile_interpolates():
    assert measure.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert measure.percentile([1.0, 2.0], 50) == 1.5
    assert measure.percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        measure.percentile([], 50)


def test_memory_pass_sees_a_leak_and_leaves_tracing_off():
    kept = []
    # the wall clock held still: a busy machine must not reach the pass's wall-time
    # cap (MEMORY_TIME_CAP), which ends it after 3 rounds whatever it saw
    result = measure.memory_pass(lambda: kept.append(bytearray(100)), round_time=0.01,
                                 wall_clock=lambda: 0.0)
    assert result.retained_per_call > 100
    assert len(result.round_growth) == 5          # a leak grows every round: all of them run
    assert not tracemalloc.is_tracing()


def test_memory_pass_reads_a_filled_bounded_cache_as_no_growth():
    cache, counter = {}, [0]

    def put():
        counter[0] += 1
        cache[counter[0] % 200] = bytearray(100)

    for _ in range(1000):      # filled, as the timing pass would have done
        put()
    result = measure.memory_pass(put, round_time=0.01)
    assert result.retained_per_call == 0


def test_growth_that_stops_during_the_first_rounds_is_not_a_leak():
    # Fills during the memory pass itself: the first round grows, later ones do not.
    items = []

    def fill():
        if len(items) < 50:
            items.append(bytearray(1000))

    result = measure.memory_pass(fill, rounds=5, round_time=0.01)
    assert result.round_growth[0] > 0
    assert result.retained_per_call == 0


def test_peak_counts_memory_alive_during_one_call():
    result = measure.memory_pass(lambda: bytearray(50_000), round_time=0.001)
    assert 50_000 <= result.peak < 60_000
    assert result.retained_per_call == 0


def test_memory_pass_needs_tracing_off_and_two_rounds():
    with pytest.raises(ValueError):
        measure.memory_pass(lambda: None, rounds=1)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError):
            measure.memory_pass(lambda: None)
    finally:
        tracemalloc.stop()


def test_memory_rounds_last_their_own_time_whatever_the_value_time():
    # A fake CPU clock advancing ~1 ms per call: a round must hold
    # MEMORY_ROUND_TIME of calls, not a share of a (possibly tiny) min_value_time,
    # so that a bounded structure settling inside a round cannot read as a leak.
    now = [0.0]

    def clock():
        return now[0]

    step = 2 ** -10                      # exact in binary: no rounding at the boundary

    def call():
        now[0] += step

    # The wall clock stands still: on a slow machine the real one could reach
    # the pass's wall-time cap and stop it after 3 rounds, which is not what
    # this test is about.
    result = measure.memory_pass(call, clock=clock, wall_clock=lambda: 0.0)
    assert result.calls_per_round == math.ceil(measure.MEMORY_ROUND_TIME / step)
    # nothing retained: two flat rounds after the first end the pass
    assert len(result.round_growth) == 3
    assert result.retained_per_call == 0


def test_memory_rounds_of_a_waiting_call_are_bounded_by_wall_time():
    # A call that sleeps uses no CPU time: sized by CPU time alone, its rounds
    # would never end. The wall clock bounds them.
    wall = [0.0]
    step = 2 ** -10

    def call():
        wall[0] += step

    result = measure.memory_pass(call, clock=lambda: 0.0, wall_clock=lambda: wall[0])
    limit = measure.MEMORY_WALL_FACTOR * measure.MEMORY_ROUND_TIME
    assert result.calls_per_round == math.ceil(limit / step)
    assert len(result.round_growth) >= 3
