"""Fault injection for ``/api/v1`` calls: scripted one-offs and seeded random ones.

:meth:`Faults.decide` is called once per API call and returns what to do to it; the backend
applies that. Scripted faults (``fail_next``, ``drop_next``) take precedence over random ones
and are consumed in the order they were added.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

API_PREFIX = "/api/v1"
START_PATH = "/instances/start"

ALL_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502",
    "503",
    "drop",
    "slow",
    "token_expiry",
    "lost_start",
)
_STATUS_KINDS = {"429": 429, "500": 500, "502": 502, "503": 503}
# The Retry-After a random 429 carries; short so retrying clients stay fast in tests.
RANDOM_RETRY_AFTER = 0.1
DEFAULT_SLOW_SECONDS = 1.0


def api_path(path: str) -> str:
    """``path`` relative to the API prefix and without a trailing slash, for matching."""
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        path = path[len(API_PREFIX) :]
    return path.rstrip("/") or "/"


@dataclass(frozen=True)
class FaultAction:
    """What to do to one API call; the default does nothing."""

    kind: str | None = None
    status: int | None = None
    retry_after: float | None = None
    drop_before: bool = False
    drop_after: bool = False
    extra_delay: float = 0.0
    expire_tokens: bool = False


@dataclass
class _Scripted:
    action: FaultAction
    times: int
    path: str | None
    method: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )


class Faults:
    """The fault knobs of a :class:`~pulumi_cortecs.testing.fake.FakeBackend` (``backend.faults``).

    ``path`` filters take the path with or without the ``/api/v1`` prefix, e.g.
    ``"/instances/start"``. ``injected`` counts the faults applied, by kind.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripted: list[_Scripted] = []
        self._random: random.Random | None = None
        self._rate = 0.0
        self._kinds: tuple[str, ...] = ()
        self.latency = 0.0
        self.slow_seconds = DEFAULT_SLOW_SECONDS
        self.injected: Counter[str] = Counter()

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        path: str | None = None,
        method: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` matching calls with ``status``, without acting on them."""
        if not 400 <= status <= 599:
            raise ValueError("a failure status must be 4xx or 5xx")
        action = FaultAction(kind=str(status), status=status, retry_after=retry_after)
        self._script(action, times, path, method)

    def drop_next(
        self,
        *,
        times: int = 1,
        path: str | None = None,
        method: str | None = None,
        after_processing: bool = False,
    ) -> None:
        """Break the connection of the next ``times`` matching calls.

        With ``after_processing`` the call takes effect first (a start creates its instance)
        and only the response is lost, the case that makes non-idempotent calls hard.
        """
        if after_processing:
            action = FaultAction(kind="lost_response", drop_after=True)
        else:
            action = FaultAction(kind="drop", drop_before=True)
        self._script(action, times, path, method)

    def lose_next_start_response(self) -> None:
        """The next start creates its instance, but its response never arrives."""
        self.drop_next(path=START_PATH, method="POST", after_processing=True)

    def set_random(self, rate: float, seed: int, kinds: Sequence[str] = ALL_KINDS) -> None:
        """Inject a fault into each call with probability ``rate``, reproducibly for ``seed``.

        The same sequence of calls sees the same faults for the same seed: each call draws the
        same amount of randomness whatever happens to it.
        """
        unknown = sorted(set(kinds) - set(ALL_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(ALL_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        with self._lock:
            self._random = random.Random(seed)
            self._rate = rate
            self._kinds = tuple(kinds)

    def clear(self) -> None:
        """Remove every scripted and random fault and the latency; keep the counters."""
        with self._lock:
            self._scripted.clear()
            self._random = None
            self._rate = 0.0
            self._kinds = ()
            self.latency = 0.0
            self.slow_seconds = DEFAULT_SLOW_SECONDS

    def reset_counts(self) -> None:
        with self._lock:
            self.injected.clear()

    def counts(self) -> dict[str, int]:
        """A copy of ``injected``, safe to take while other threads are injecting."""
        with self._lock:
            return dict(self.injected)

    def decide(self, method: str, path: str) -> FaultAction:
        """What to do to this call (``path`` as received), counting what is injected."""
        method, path = method.upper(), api_path(path)
        with self._lock:
            action = self._take_scripted(method, path) or self._draw_random(method, path)
            if action.kind is not None:
                self.injected[action.kind] += 1
            return action

    def _script(
        self, action: FaultAction, times: int, path: str | None, method: str | None
    ) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        entry = _Scripted(
            action,
            times,
            api_path(path) if path is not None else None,
            method.upper() if method is not None else None,
        )
        with self._lock:
            self._scripted.append(entry)

    def _take_scripted(self, method: str, path: str) -> FaultAction | None:
        for entry in self._scripted:
            if entry.matches(method, path):
                entry.times -= 1
                if entry.times == 0:
                    self._scripted.remove(entry)
                return entry.action
        return None

    def _draw_random(self, method: str, path: str) -> FaultAction:
        if self._random is None:
            return FaultAction()
        roll, pick = self._random.random(), self._random.random()
        is_start = method == "POST" and path == START_PATH
        kinds = [k for k in self._kinds if k != "lost_start" or is_start]
        if roll >= self._rate or not kinds:
            return FaultAction()
        kind = kinds[int(pick * len(kinds))]
        if kind in _STATUS_KINDS:
            retry_after = RANDOM_RETRY_AFTER if kind == "429" else None
            return FaultAction(kind=kind, status=_STATUS_KINDS[kind], retry_after=retry_after)
        if kind == "drop":
            return FaultAction(kind=kind, drop_before=True)
        if kind == "slow":
            return FaultAction(kind=kind, extra_delay=self.slow_seconds)
        if kind == "token_expiry":
            return FaultAction(kind=kind, expire_tokens=True)
        return FaultAction(kind=kind, drop_after=True)
