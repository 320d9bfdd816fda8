"""SIGTERM becomes KeyboardInterrupt inside the block, and only there."""

import os
import signal
import threading

import pytest

from perfaction.signals import terminate_as_interrupt


def test_sigterm_raises_keyboard_interrupt_inside_and_the_old_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        with terminate_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):   # the handler runs between bytecodes of the main thread
                pass
    assert signal.getsignal(signal.SIGTERM) is before


def test_outside_the_main_thread_the_block_runs_unchanged():
    seen = []

    def body():
        with terminate_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    assert seen == [before]
