"""Only a confirmed state ends a wait, and ready means it answers: the client's waits and the
readiness probe against an API and endpoints that glitch, on the in-process fake."""

from __future__ import annotations

import re
import traceback
from collections.abc import Sequence

import httpx
import pytest
from pulumi_cortecs import Client
from pulumi_cortecs._exceptions import (
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ReadinessProbeError,
    WaitTimeoutError,
)
from pulumi_cortecs.api._auth import Secret
from pulumi_cortecs.api._models import Instance, InstanceArgs
from pulumi_cortecs.api._polling import MINIMUM_GAP, Observation, ProportionalPollPolicy
from pulumi_cortecs.api._waits import OUTAGE_WINDOW
from pulumi_cortecs.native._provider import NATIVE_NAMING
from pulumi_cortecs.resource._readiness import FRESH_ENDPOINT_WINDOW, wait_until_answering
from pulumi_cortecs.testing import (
    DEMO_API_KEY,
    FakeBackend,
    ManualClock,
)

from tests import LLAMA

MALFORMED = ["html_body", "empty_body", "null_status"]
STATUS_GET = {"path": "/instances/*", "method": "GET"}  # a status request, not the list
LIST = {"path": "/instances", "method": "GET"}
START = "/api/v1/instances/start"
CANARY_KEY = "canary-key-3e9a71"
DEMO_KEY = Secret(DEMO_API_KEY)


def start(client: Client) -> str:
    return client.start(InstanceArgs(model_id=LLAMA)).instance_id


def glitch_status(backend: FakeBackend, kind: str, times: int = 1) -> None:
    """The next ``times`` lists glitch, and so do the status requests the waits fall back on."""
    backend.faults.inject(kind, times=times, **LIST)
    backend.faults.inject(kind, times=times, **STATUS_GET)


# Waits


@pytest.mark.parametrize("kind", [*MALFORMED, "not_found"])
def test_one_glitch_on_a_status_poll_mid_boot_does_not_end_the_wait(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client, kind: str
) -> None:
    instance_id = start(client)
    cortecs_clock.advance(2.0)  # step 3 of 5 x 1 s
    glitch_status(cortecs_mock, kind)
    assert client.wait_until_running(instance_id).status == "running"
    assert cortecs_mock.faults.counts() == {kind: 2}
    assert cortecs_clock() - cortecs_mock.instances[instance_id].running_since <= 1.0


def test_two_404s_just_after_the_start_then_found(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance_id = start(client)
    glitch_status(cortecs_mock, "not_found", times=2)
    seen: list[Instance] = []
    assert client.wait_until_running(instance_id, on_progress=seen.append).status == "running"
    assert cortecs_mock.faults.counts() == {"not_found": 4}
    after_start = cortecs_mock.calls[cortecs_mock.calls.index(("POST", START)) + 1 :]
    # A list each time, then the GET it could not answer; two 404s prove nothing, so the
    # wait goes on at the usual cadence rather than asking the list to confirm them.
    assert (
        after_start[:4]
        == [
            ("GET", "/api/v1/instances"),
            ("GET", f"/api/v1/instances/{instance_id}"),
        ]
        * 2
    )
    assert seen[-1].status == "running"


def test_a_status_get_that_lags_for_good_is_read_from_the_list(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance_id = start(client)
    cortecs_mock.faults.inject("not_found", times=1000, **STATUS_GET)
    assert client.wait_until_running(instance_id).status == "running"
    running_since = cortecs_mock.instances[instance_id].running_since
    # Every third answer asks the list, so it is seen at most three requests late.
    assert cortecs_clock() - running_since <= 3.0


def test_404s_over_a_short_window_that_the_list_agrees_with_mean_gone(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance_id = start(client)
    cortecs_mock.delete_instance(instance_id)
    with pytest.raises(NotFoundError, match=r"answered 404 3 times over 1\.9 s and the instance"):
        client.wait_until_running(instance_id)
    assert cortecs_clock.sleeps == pytest.approx([MINIMUM_GAP] * 3)


@pytest.mark.parametrize("kind", MALFORMED)
def test_unreadable_answers_that_persist_end_the_wait_with_the_last_one(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client, kind: str
) -> None:
    instance_id = start(client)
    glitch_status(cortecs_mock, kind, times=1000)
    with pytest.raises(MalformedResponseError, match="cannot read"):
        client.wait_until_running(instance_id)
    assert 30.0 <= cortecs_clock() <= 32.0


def test_an_outage_that_outlasts_a_calls_retries_does_not_end_the_wait(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    """Waits share one list: were its failure the end of them, every boot of the stack would
    be stopped and deleted for a blip of the API."""
    instance_id = start(client)
    cortecs_clock.advance(2.0)
    cortecs_mock.faults.fail_next(503, times=12, **LIST)  # more than two lists' five tries
    assert client.wait_until_running(instance_id).status == "running"
    assert cortecs_mock.faults.counts() == {"503": 12}


def test_an_outage_that_persists_ends_the_wait_with_its_last_failure(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance_id = start(client)
    cortecs_mock.faults.fail_next(429, times=100_000, **LIST)
    with pytest.raises(RateLimitError, match="HTTP 429"):
        client.wait_until_running(instance_id)
    assert OUTAGE_WINDOW <= cortecs_clock() <= OUTAGE_WINDOW + 60


def test_a_refusal_of_a_status_request_ends_the_wait_at_once(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance_id = start(client)
    cortecs_mock.faults.fail_next(403, times=100, **LIST)
    with pytest.raises(AuthenticationError):
        client.wait_until_running(instance_id)
    assert cortecs_clock() <= 1.0


def test_find_instance_tells_a_lagging_404_from_a_deleted_instance(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    lagging, deleted = start(client), start(client)
    cortecs_mock.delete_instance(deleted)
    cortecs_mock.faults.inject("not_found", path=f"/instances/{lagging}", method="GET")
    found = client.find_instance(lagging)
    assert found is not None and found.instance_id == lagging
    assert client.find_instance(deleted) is None


def test_a_list_entry_that_cannot_be_read_may_be_the_instance_so_it_is_not_gone(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance_id = start(client)
    cortecs_mock.faults.inject("not_found", times=1000, **STATUS_GET)
    cortecs_mock.faults.inject("null_status", times=1000, path="/instances", method="GET")
    with pytest.raises(WaitTimeoutError, match="none confirmed") as caught:
        client.find_instance(instance_id, timeout=10)
    assert caught.value.last_status is None


# The readiness probe


def running_instance(client: Client, cortecs_clock: ManualClock) -> Instance:
    instance_id = start(client)
    cortecs_clock.advance(10.0)
    return client.wait_until_running(instance_id)


def probe(
    instance: Instance,
    cortecs_clock: ManualClock,
    key: Secret = DEMO_KEY,
    **kwargs: object,
) -> int:
    return wait_until_answering(
        instance.base_url or "",
        str(kwargs.pop("model_name", instance.hf_name)),
        key,
        timeout=1800,
        policy=ProportionalPollPolicy(),
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_probe_waits_out_a_fresh_endpoints_404_502_and_503(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    cortecs_mock.configure(ingress_errors=[404, 502, 503])
    instance = running_instance(client, cortecs_clock)
    cortecs_clock.sleeps.clear()
    assert probe(instance, cortecs_clock) == 4
    assert cortecs_clock.sleeps == pytest.approx([MINIMUM_GAP] * 3)


def test_a_refused_key_ends_the_probe_at_once(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance = running_instance(client, cortecs_clock)
    before = cortecs_mock.serve_requests
    with pytest.raises(ReadinessProbeError, match="was refused with HTTP 401"):
        probe(instance, cortecs_clock, key=Secret("not-the-demo-key"))
    assert cortecs_mock.serve_requests - before == 1


def test_a_refused_key_names_the_switch_as_the_users_provider_does(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance = running_instance(client, cortecs_clock)
    with pytest.raises(ReadinessProbeError, match="or set readiness_probe to false"):
        probe(instance, cortecs_clock, key=Secret("not-the-demo-key"))
    with pytest.raises(ReadinessProbeError, match="or set readinessProbe to false"):
        probe(instance, cortecs_clock, key=Secret("not-the-demo-key"), naming=NATIVE_NAMING)


def test_a_404_that_outlasts_a_fresh_endpoint_ends_the_probe_clearly(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance = running_instance(client, cortecs_clock)
    began = cortecs_clock()
    with pytest.raises(ReadinessProbeError) as caught:
        probe(instance, cortecs_clock, model_name="org/another-model")
    assert re.search(r"answered the readiness probe with HTTP 404 for \d+ s", str(caught.value))
    assert "does not serve the model 'org/another-model'" in str(caught.value)
    assert FRESH_ENDPOINT_WINDOW <= cortecs_clock() - began <= FRESH_ENDPOINT_WINDOW + 6


@pytest.mark.parametrize("key", [f"{DEMO_API_KEY}\n", f" {DEMO_API_KEY}", "demo api key"])
def test_a_key_no_header_can_carry_fails_at_once_naming_its_config_not_its_value(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client, key: str
) -> None:
    instance = running_instance(client, cortecs_clock)
    before = cortecs_mock.serve_requests
    with pytest.raises(ReadinessProbeError) as caught:
        probe(instance, cortecs_clock, key=Secret(key))
    message = str(caught.value)
    assert "cortecs:apiKey or CORTECS_API_KEY" in message
    assert DEMO_API_KEY not in message and "demo api key" not in message
    assert cortecs_mock.serve_requests == before


def test_a_request_that_cannot_be_written_ends_the_probe_at_once(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    instance = running_instance(client, cortecs_clock)

    attempts: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.LocalProtocolError(f"Illegal header value {request.headers['authorization']}")

    with (
        httpx.Client(transport=httpx.MockTransport(refuse)) as http,
        pytest.raises(ReadinessProbeError, match=r"could not be sent \(LocalProtocolError\)"),
    ):
        probe(instance, cortecs_clock, http=http)
    assert len(attempts) == 1


def failing_probe(instance: Instance, cortecs_clock: ManualClock) -> ReadinessProbeError:
    """Fail a probe with a refused key; in a function of its own, so that the traceback's
    frames hold no key the test itself put in a local variable."""
    try:
        probe(instance, cortecs_clock, key=Secret(CANARY_KEY))
    except ReadinessProbeError as error:
        return error
    raise AssertionError("the probe did not fail")


def test_the_probe_holds_its_key_only_as_a_secret(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    error = failing_probe(running_instance(client, cortecs_clock), cortecs_clock)
    shown = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    assert CANARY_KEY not in shown and "Secret('***')" in shown


def test_the_probe_asks_at_the_cadence_of_its_poll_policy(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, client: Client
) -> None:
    cortecs_mock.configure(ingress_errors=[503, 503])
    instance = running_instance(client, cortecs_clock)
    shown: list[list[Observation]] = []

    class Every:
        def next_delay(self, observations: Sequence[Observation]) -> float:
            shown.append(list(observations))
            return 7.0

    cortecs_clock.sleeps.clear()
    attempts = wait_until_answering(
        instance.base_url or "",
        instance.hf_name,
        Secret(DEMO_API_KEY),
        timeout=60,
        policy=Every(),
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
    )
    assert attempts == 3 and cortecs_clock.sleeps == [7.0, 7.0]
    assert [o.status for o in shown[-1]] == ["HTTP 503", "HTTP 503"]
