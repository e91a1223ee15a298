"""Signals in a job: raised where the teardown can run, held where an answer must not be lost."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from pulumi_cortecs import _signals


def test_a_postponed_signal_lands_where_the_block_delivers_it() -> None:
    told: list[int] = []
    steps: list[str] = []
    with (
        _signals.raising(),
        pytest.raises(_signals.Terminated) as raised,
        _signals.postponed(told.append) as deliver,
    ):
        os.kill(os.getpid(), signal.SIGTERM)
        steps.append("the step went on")
        try:
            deliver()
        finally:
            steps.append("delivered")
        steps.append("not reached")
    assert raised.value.signum == signal.SIGTERM
    assert told == [signal.SIGTERM]
    assert steps == ["the step went on", "delivered"]


def test_a_postponed_signal_not_delivered_inside_lands_when_the_block_ends() -> None:
    steps: list[str] = []
    with _signals.raising(), pytest.raises(KeyboardInterrupt), _signals.postponed(lambda _: None):
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("the step went on")
    assert steps == ["the step went on"]


def test_a_block_without_a_signal_changes_nothing() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with _signals.postponed(lambda _: None) as deliver:
        deliver()
        deliver()
    assert signal.getsignal(signal.SIGTERM) is before


def test_outside_the_main_thread_nothing_is_installed() -> None:
    seen: list[object] = []

    def in_a_thread() -> None:
        with _signals.postponed(lambda _: None) as deliver:
            seen.append(signal.getsignal(signal.SIGTERM))
            deliver()

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [before]
