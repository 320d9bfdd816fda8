"""Native peak memory: the kernel's high-water mark, reset before and read after the calls."""

from perfaction.harness import native_memory


def status(kib_rss: int, kib_hwm: int) -> str:
    return f"Name:\tpython\nVmHWM:\t{kib_hwm} kB\nVmRSS:\t{kib_rss} kB\nThreads:\t1\n"


def test_growth_is_the_peak_after_the_calls_minus_the_resident_size_before(tmp_path):
    proc_status, clear_refs = tmp_path / "status", tmp_path / "clear_refs"
    proc_status.write_text(status(10_000, 50_000))          # an old peak from the set-up
    watch = native_memory.PeakWatch(status=proc_status, clear_refs=clear_refs)
    assert clear_refs.read_text() == native_memory.RESET_PEAK
    proc_status.write_text(status(10_500, 42_000))          # the calls peaked at 42,000 kB
    assert watch.growth() == (42_000 - 10_000) * 1024


def test_no_value_where_the_peak_cannot_be_reset_or_read(tmp_path):
    proc_status = tmp_path / "status"
    proc_status.write_text(status(10_000, 50_000))
    refused = native_memory.PeakWatch(status=proc_status, clear_refs=tmp_path / "no" / "such")
    assert refused.growth() is None          # an old peak would pass for the benchmark's
    unreadable = native_memory.PeakWatch(status=tmp_path / "missing",
                                         clear_refs=tmp_path / "clear_refs")
    assert unreadable.growth() is None


def test_this_process_reads_its_own_resident_size():
    assert native_memory.resident_bytes() > 1024 * 1024
