"""A clock that only moves when told to, so lifecycle tests are instant and deterministic."""

from __future__ import annotations

import threading


class ManualClock:
    """Returns "now" in seconds when called; only :meth:`sleep` and :meth:`advance` move it.

    ``sleep`` has the signature of ``time.sleep``, so the same object can be a backend's clock
    and a client's clock and sleep function: a client that waits for an instance then makes the
    fake's time pass instead of the test's. ``sleeps`` records what the code under test slept;
    ``advance`` is time passing outside it (the test's own doing), so it is not recorded.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self._move(seconds)
        self.sleeps.append(seconds)

    def advance(self, seconds: float) -> None:
        self._move(seconds)

    def _move(self, seconds: float) -> None:
        # Like time.sleep, refuse to go backwards: lifecycle maths assumes time never decreases.
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
