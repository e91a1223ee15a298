"""Ready means it answers: a real one-token chat completion against a running instance.

Endpoints often report ``running`` minutes before the model can answer, and the ingress in front
of a fresh endpoint may answer 404, 502 or 503 before it routes to it, so a running status is
where the probe starts, not where waiting ends. Only what cannot get better ends it early: a
refused key (401/403), a key no HTTP header can carry, a 404 that outlasts a fresh endpoint's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

import httpx

from pulumi_cortecs._exceptions import ReadinessProbeError
from pulumi_cortecs._schema import API_KEY, NAMESPACE, PYTHON_NAMING, Naming
from pulumi_cortecs.api._auth import Secret
from pulumi_cortecs.api._polling import Observation, PollPolicy

PROBE_MESSAGE = "Reply with OK."
# How long a 404 counts as an ingress that does not route to a fresh endpoint yet; past that,
# nothing serves the model at that URL.
FRESH_ENDPOINT_WINDOW = 60.0
_KEY_CONFIG = f"{NAMESPACE}:{API_KEY.key} or {API_KEY.environment}"
ANSWERED = "answered"


class _BearerKey(httpx.Auth):
    """The API key as a bearer token, put on each request as it is sent, so that no frame holds
    it as a plain string (a traceback with locals shows only this object)."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "_BearerKey(***)"


def probe_client() -> httpx.Client:
    """A client for probing instances' endpoints; share one: each new one costs a TLS context
    (about 19 ms of CPU), which sixty-four creates at once would pay sixty-four times."""
    return httpx.Client(
        timeout=httpx.Timeout(30.0, connect=5.0),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
    )


def wait_until_answering(
    base_url: str,
    model_name: str,
    api_key: Secret,
    *,
    timeout: float,
    policy: PollPolicy,
    http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    naming: Naming = PYTHON_NAMING,
) -> int:
    """Send a tiny chat completion, at the policy's cadence, until one succeeds; returns how
    many attempts it took. Failures name the inputs as ``naming`` does."""
    probe = _Probe(base_url, model_name, api_key, naming)
    session = http or probe_client()
    try:
        return probe.run(session, policy, timeout=timeout, sleep=sleep, clock=clock)
    finally:
        if http is None:
            session.close()


class _Probe:
    """One instance's readiness probe: its request, and what its answers have said so far."""

    def __init__(
        self, base_url: str, model_name: str, api_key: Secret, naming: Naming = PYTHON_NAMING
    ) -> None:
        _refuse_unsendable(api_key)
        self.naming = naming
        self.base_url = base_url
        self.model_name = model_name
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self._auth = _BearerKey(api_key)
        self._body = {
            "model": model_name,
            "messages": [{"role": "user", "content": PROBE_MESSAGE}],
            "max_tokens": 1,
        }
        self._not_found_since: float | None = None

    def run(
        self,
        session: httpx.Client,
        policy: PollPolicy,
        *,
        timeout: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> int:
        deadline = clock() + timeout
        attempts: list[Observation] = []
        while True:
            sent = clock()
            outcome = self._attempt(session, sent)
            attempts.append(Observation(sent, outcome))
            if outcome == ANSWERED:
                return len(attempts)
            if sent >= deadline:
                raise self._error(
                    f"{self.base_url} reported running but did not answer a chat completion "
                    f"within {timeout:.0f} s (last: {outcome})"
                )
            pause = min(sent + policy.next_delay(attempts), deadline) - clock()
            if pause > 0:
                sleep(pause)

    def _attempt(self, session: httpx.Client, sent: float) -> str:
        """:data:`ANSWERED`, or what kept the endpoint from answering; raises for what cannot
        get better."""
        try:
            response = session.post(self.url, json=self._body, auth=self._auth)
        except httpx.LocalProtocolError as error:
            # The request could not even be written (its message may quote the header).
            raise self._error(
                f"the readiness probe of {self.base_url} could not be sent "
                f"({type(error).__name__}); check the API key ({_KEY_CONFIG})"
            ) from None
        except httpx.TransportError as error:
            return type(error).__name__
        status = response.status_code
        if status in (401, 403):
            raise self._error(
                f"the readiness probe of {self.base_url} was refused with HTTP {status}: the "
                "API key is missing or wrong. Set it with `pulumi config set --secret "
                f"{NAMESPACE}:{API_KEY.key} ...` or {API_KEY.environment}, or set "
                f"{self.naming('readiness_probe')} to false",
                status,
            )
        if status != 404:
            self._not_found_since = None
            return ANSWERED if response.is_success else f"HTTP {status}"
        if self._not_found_since is None:
            self._not_found_since = sent
        if sent - self._not_found_since >= FRESH_ENDPOINT_WINDOW:
            raise self._error(
                f"{self.base_url} answered the readiness probe with HTTP 404 for "
                f"{sent - self._not_found_since:.0f} s: it does not serve the model "
                f"{self.model_name!r}",
                404,
            )
        return "HTTP 404"

    def _error(self, message: str, status: int | None = None) -> ReadinessProbeError:
        return ReadinessProbeError(message, method="POST", path=self.url, status_code=status)


def _refuse_unsendable(api_key: Secret) -> None:
    """Fail at once for a key no request can carry, naming where it is set, never showing it:
    sent anyway, each attempt would fail the same way until the timeout."""
    key = api_key.reveal()
    if key != key.strip():
        problem = "has whitespace around it (a trailing newline?)"
    elif not (key.isascii() and key.isprintable()) or " " in key:
        problem = "holds characters an HTTP header cannot carry"
    else:
        return
    raise ReadinessProbeError(
        f"the API key ({_KEY_CONFIG}) {problem}, so the readiness probe cannot send it; set "
        "it again without them"
    )
