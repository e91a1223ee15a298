"""A clock that only moves when told to, so lifecycle tests are instant and deterministic."""

from __future__ import annotations

import threading


class ManualClock:
    """Returns "now" as epoch seconds when called; :meth:`advance` moves it forward.

    ``advance`` has the signature of ``time.sleep``, so the same object can be a backend's
    clock and a client's sleep function: a client that waits for an instance then makes the
    fake's time pass instead of the test's.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        # Like time.sleep, refuse to go backwards: lifecycle maths assumes time never decreases.
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
