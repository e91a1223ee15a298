"""Ready means it answers: a real one-token chat completion against a running instance.

Endpoints often report ``running`` minutes before the model can answer, so a running status
is where the probe starts, not where waiting ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, wait_exponential

from pulumi_cortecs._exceptions import ReadinessProbeError

PROBE_MESSAGE = "Reply with OK."


class _NotAnsweringYet(Exception):
    pass


def wait_until_answering(
    base_url: str,
    model_name: str,
    api_key: str,
    *,
    timeout: float,
    http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Send a tiny chat completion until one succeeds; returns how many attempts it took."""
    url = f"{base_url.rstrip('/')}/chat/completions"
    body = {
        "model": model_name,
        "messages": [{"role": "user", "content": PROBE_MESSAGE}],
        "max_tokens": 1,
    }
    headers = {"Authorization": f"Bearer {api_key}"}
    owns_http = http is None
    session = http or httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0))
    last_problem = "no answer"

    def attempt() -> None:
        nonlocal last_problem
        try:
            response = session.post(url, json=body, headers=headers)
        except httpx.TransportError as error:
            last_problem = f"{type(error).__name__}"
            raise _NotAnsweringYet from None
        if response.status_code in (401, 403):
            raise ReadinessProbeError(
                f"the readiness probe of {base_url} was refused with HTTP "
                f"{response.status_code}: the API key is missing or wrong. Set it with "
                "`pulumi config set --secret cortecs:apiKey ...` or CORTECS_API_KEY, or set "
                "readiness_probe to false",
                method="POST",
                path=url,
                status_code=response.status_code,
            )
        if response.status_code == 404:
            raise ReadinessProbeError(
                f"{base_url} does not serve the model {model_name!r} (HTTP 404)",
                method="POST",
                path=url,
                status_code=404,
            )
        if response.status_code >= 400:
            last_problem = f"HTTP {response.status_code}"
            raise _NotAnsweringYet

    started = clock()

    def out_of_time(_state: RetryCallState) -> bool:
        return clock() - started >= timeout

    retrying = Retrying(
        retry=retry_if_exception_type(_NotAnsweringYet),
        wait=wait_exponential(multiplier=0.5, max=10.0),
        stop=out_of_time,
        sleep=sleep,
    )
    try:
        for attempt_context in retrying:
            with attempt_context:
                attempt()
    except RetryError:
        raise ReadinessProbeError(
            f"{base_url} reported running but did not answer a chat completion within "
            f"{timeout:.0f} s (last: {last_problem})",
            method="POST",
            path=url,
        ) from None
    finally:
        if owns_http:
            session.close()
    return int(retrying.statistics["attempt_number"])
