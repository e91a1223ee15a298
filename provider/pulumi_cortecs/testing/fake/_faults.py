"""Faults for ``/api/v1`` calls: the registry of fault kinds, and the knobs that inject them.

A fault kind is one entry in :data:`FAULT_KINDS`: a name, and what it does to one call. It gets
the call (:class:`Call`) and either answers in the API's place (a 503, a dropped connection) or
lets the API act first and then spoils the answer (a lost response). Everything else reaches a
kind through its name: scripted injection (:meth:`Faults.inject` and its helpers), random
injection (:meth:`Faults.set_random`, over :data:`DEFAULT_RANDOM_KINDS` unless told otherwise),
the counters, and the admin endpoint, which dispatches each key of a ``/_fake/faults`` body
through :data:`FAULT_COMMANDS`. So adding a kind is one entry here.

Scripted faults take precedence over random ones and are consumed in the order they were added.
"""

from __future__ import annotations

import fnmatch
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

from pulumi_cortecs.testing.fake._constants import START_PATH, api_path
from pulumi_cortecs.testing.fake._wire import FakeResponse, HttpError, error_response

# The Retry-After a random 429 carries; short so retrying clients stay fast in tests.
RANDOM_RETRY_AFTER = 0.1
DEFAULT_SLOW_SECONDS = 1.0


class Call(Protocol):
    """One API call a fault applies to, as the kinds see it."""

    @property
    def method(self) -> str:
        """Upper-case."""

    @property
    def path(self) -> str:
        """Relative to the API prefix, without a trailing slash (``/instances/start``)."""

    def proceed(self) -> FakeResponse:
        """Let the API act on the call; its answer."""

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far."""

    def not_found(self) -> FakeResponse:
        """The API's own 404 for this path, as if what it names did not exist (yet)."""


Apply = Callable[["Faults", Call], FakeResponse]


@dataclass(frozen=True)
class FaultKind:
    """A kind of fault: what it does to a call (``apply``), and which calls it can hit."""

    name: str
    description: str
    apply: Apply
    only: tuple[str, str] | None = None
    """``(method, path)`` of the one call it makes sense for; ``None``: any call."""

    def can_hit(self, method: str, path: str) -> bool:
        return self.only is None or self.only == (method, path)


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def refuse(status: int, retry_after: float | None = None) -> FakeResponse:
    """An error answer the API never acted on (``processed`` is false)."""
    headers = {} if retry_after is None else {"retry-after": _format_seconds(retry_after)}
    phrase = HTTPStatus(status).phrase
    response = error_response(HttpError(status, f"{phrase} (injected)", headers))
    response.processed = False
    return response


def _refusing(status: int, retry_after: float | None = None) -> Apply:
    return lambda faults, call: refuse(status, retry_after)


def _drop(faults: Faults, call: Call) -> FakeResponse:
    return FakeResponse(status=0, drop=True, processed=False)


def _lose_response(faults: Faults, call: Call) -> FakeResponse:
    call.proceed()
    return FakeResponse(status=0, drop=True, processed=True)


def _slow(faults: Faults, call: Call) -> FakeResponse:
    response = call.proceed()
    response.delay += faults.slow_seconds
    return response


def _expire_tokens(faults: Faults, call: Call) -> FakeResponse:
    call.expire_tokens()
    return call.proceed()


def _not_found(faults: Faults, call: Call) -> FakeResponse:
    response = call.not_found()
    response.processed = False
    return response


# What a proxy or a maintenance page puts in front of an API: a 200 that is not JSON.
_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
    b"<body><h1>We'll be right back</h1></body></html>"
)


def _html_body(faults: Faults, call: Call) -> FakeResponse:
    call.proceed()
    return FakeResponse(status=200, headers={"content-type": "text/html"}, body=_HTML_PAGE)


def _empty_body(faults: Faults, call: Call) -> FakeResponse:
    call.proceed()
    return FakeResponse(status=200, headers={"content-type": "application/json"}, body=b"")


def _null_status(faults: Faults, call: Call) -> FakeResponse:
    response = call.proceed()
    try:
        body = json.loads(response.body)
    except ValueError:
        return response
    if isinstance(body, dict):
        instances = [body["instance"]] if isinstance(body.get("instance"), dict) else []
        instances += [i for i in body.get("instances") or [] if isinstance(i, dict)]
        for instance in instances:
            instance["instance_status"] = None
        response.body = json.dumps(body).encode()
    return response


FAULT_KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in (
        FaultKind("429", "answer 429 with a short Retry-After", _refusing(429, RANDOM_RETRY_AFTER)),
        FaultKind("500", "answer 500", _refusing(500)),
        FaultKind("502", "answer 502", _refusing(502)),
        FaultKind("503", "answer 503", _refusing(503)),
        FaultKind("drop", "break the connection before the API acts", _drop),
        FaultKind("slow", "answer slow_seconds late", _slow),
        FaultKind("token_expiry", "expire every token, then let the call through", _expire_tokens),
        FaultKind(
            "lost_start",
            "create the instance, then break the connection",
            _lose_response,
            only=("POST", START_PATH),
        ),
        FaultKind("lost_response", "let the API act, then break the connection", _lose_response),
        FaultKind(
            "not_found",
            "answer 404 as for something unknown, without acting: an API that lags behind "
            "its own writes (e.g. a GET of an instance just started)",
            _not_found,
        ),
        FaultKind("html_body", "let the API act, then answer 200 with an HTML page", _html_body),
        FaultKind("empty_body", "let the API act, then answer 200 with an empty body", _empty_body),
        FaultKind(
            "null_status",
            "let the API act, then answer with instance_status null in its instance(s)",
            _null_status,
        ),
    )
}
"""Every fault kind, by name."""

DEFAULT_RANDOM_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502",
    "503",
    "drop",
    "slow",
    "token_expiry",
    "lost_start",
)
"""What :meth:`Faults.set_random` draws from unless told otherwise: the transient faults a
client must ride out (soak runs use this mix). The other kinds are injected when named."""


@dataclass
class _Scripted:
    label: str
    apply: Apply
    times: int
    path: str | None
    method: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or fnmatch.fnmatchcase(path, self.path)
        )


@dataclass(frozen=True)
class Injection:
    """A fault chosen for one call: counted under ``label``, done by ``apply``."""

    label: str
    apply: Apply


class Faults:
    """The fault knobs of a :class:`~pulumi_cortecs.testing.fake.FakeBackend` (``backend.faults``).

    ``path`` filters take the path with or without the ``/api/v1`` prefix, e.g.
    ``"/instances/start"``, and may be a glob (``"/instances/*"``: any one instance, not the
    list). ``injected`` counts the faults applied, by kind.
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

    def inject(
        self, kind: str, *, times: int = 1, path: str | None = None, method: str | None = None
    ) -> None:
        """Apply fault ``kind`` (a name of :data:`FAULT_KINDS`) to the next ``times`` matching
        calls."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        self._script(kind, FAULT_KINDS[kind].apply, times, path, method)

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
        self._script(str(status), _refusing(status, retry_after), times, path, method)

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
        kind = "lost_response" if after_processing else "drop"
        self.inject(kind, times=times, path=path, method=method)

    def lose_next_start_response(self) -> None:
        """The next start creates its instance, but its response never arrives."""
        self.drop_next(path=START_PATH, method="POST", after_processing=True)

    def set_random(
        self, rate: float, seed: int, kinds: Sequence[str] = DEFAULT_RANDOM_KINDS
    ) -> None:
        """Inject a fault into each call with probability ``rate``, reproducibly for ``seed``.

        The same sequence of calls sees the same faults for the same seed: each call draws the
        same amount of randomness whatever happens to it.
        """
        unknown = sorted(set(kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
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

    def decide(self, method: str, path: str) -> Injection | None:
        """The fault for this call (``path`` as received), if any, counting what is injected."""
        method, path = method.upper(), api_path(path)
        with self._lock:
            injection = self._take_scripted(method, path) or self._draw_random(method, path)
            if injection is not None:
                self.injected[injection.label] += 1
            return injection

    def _script(
        self, label: str, apply: Apply, times: int, path: str | None, method: str | None
    ) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        entry = _Scripted(
            label,
            apply,
            times,
            api_path(path) if path is not None else None,
            method.upper() if method is not None else None,
        )
        with self._lock:
            self._scripted.append(entry)

    def _take_scripted(self, method: str, path: str) -> Injection | None:
        for entry in self._scripted:
            if entry.matches(method, path):
                entry.times -= 1
                if entry.times == 0:
                    self._scripted.remove(entry)
                return Injection(entry.label, entry.apply)
        return None

    def _draw_random(self, method: str, path: str) -> Injection | None:
        if self._random is None:
            return None
        roll, pick = self._random.random(), self._random.random()
        kinds = [k for k in self._kinds if FAULT_KINDS[k].can_hit(method, path)]
        if roll >= self._rate or not kinds:
            return None
        kind = FAULT_KINDS[kinds[int(pick * len(kinds))]]
        return Injection(kind.name, kind.apply)


def _keywords(method: Callable[..., None]) -> Callable[[Faults, Any], None]:
    def run(faults: Faults, value: Any) -> None:
        if not isinstance(value, Mapping):
            raise ValueError("takes an object of keyword arguments")
        method(faults, **value)

    return run


def _seconds(attribute: str) -> Callable[[Faults, Any], None]:
    def run(faults: Faults, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{attribute} must be a non-negative number of seconds")
        setattr(faults, attribute, float(value))

    return run


FAULT_COMMANDS: dict[str, Callable[[Faults, Any], None]] = {
    "inject": _keywords(Faults.inject),
    "fail_next": _keywords(Faults.fail_next),
    "drop_next": _keywords(Faults.drop_next),
    "lose_next_start_response": _keywords(Faults.lose_next_start_response),
    "random": _keywords(Faults.set_random),
    "clear": _keywords(Faults.clear),
    "latency": _seconds("latency"),
    "slow_seconds": _seconds("slow_seconds"),
}
"""What a key of a ``/_fake/faults`` body does, with its value: keyword arguments of the
:class:`Faults` method of that name (``random`` is :meth:`Faults.set_random`), or a number of
seconds for ``latency`` and ``slow_seconds``. Every kind is reachable through ``inject``."""
