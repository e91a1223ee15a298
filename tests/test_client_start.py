"""``start`` sends at most one instance into existence, whatever happens to its response."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pulumi_cortecs import Client
from pulumi_cortecs._exceptions import ServerError, UncertainStartError
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.api._starts import InMemoryLedger, StartIntent
from pulumi_cortecs.testing import DEMO_CLIENT_ID, ManualClock

from tests import BASE, LLAMA_ID
from tests._client_helpers import (
    SECRET,
    instance_json,
    mock_model_detail,
    token_response,
)

ARGS = InstanceArgs(model_id=LLAMA_ID, context_length=8192)


class Server:
    """Instances that exist server-side, and a scripted outcome for each start request."""

    def __init__(self, router: respx.MockRouter, outcomes: list[tuple[bool, Any]]) -> None:
        self.instances: list[dict[str, Any]] = []
        self._outcomes = outcomes  # (creates an instance?, what the client gets back)
        router.post("/oauth2/token").mock(return_value=token_response())
        self.list = router.get("/instances/").mock(side_effect=self._list)
        self.start = router.post("/instances/start").mock(side_effect=self.respond)
        mock_model_detail(router)

    def add(self, **args: Any) -> dict[str, Any]:
        instance = instance_json(f"instance-{len(self.instances) + 1}", **args)
        self.instances.append(instance)
        return instance

    def _list(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"instances": self.instances})

    def respond(self, request: httpx.Request) -> httpx.Response:
        creates, answer = self._outcomes.pop(0)
        instance = self.add(context_length=8192) if creates else None
        if isinstance(answer, Exception):
            raise answer
        if answer == 200:
            return httpx.Response(
                200, json={"message": "Instance is starting.", "instance": instance}
            )
        return httpx.Response(answer, json={"detail": "Internal error"})


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE) as router:
        yield router


def make_client(clock: ManualClock, settle_seconds: float = 0.0) -> Client:
    return Client(
        DEMO_CLIENT_ID, SECRET, sleep=clock.sleep, clock=clock, settle_seconds=settle_seconds
    )


@pytest.fixture
def client(cortecs_clock: ManualClock) -> Iterator[Client]:
    """A client that decides at once after an unknown outcome (the API here never lags)."""
    with make_client(cortecs_clock) as client:
        yield client


DROPPED = httpx.RemoteProtocolError("Server disconnected without sending a response.")


@pytest.mark.parametrize("answer", [DROPPED, httpx.ReadTimeout("timed out"), 500, 503])
def test_a_lost_response_is_reconciled_without_a_second_start(
    router: respx.MockRouter,
    client: Client,
    answer: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Server(router, [(True, answer)])
    with caplog.at_level(logging.WARNING, logger="pulumi_cortecs.api"):
        instance = client.start(ARGS)
    assert instance.instance_id == "instance-1"
    assert len(server.instances) == 1
    assert server.start.call_count == 1
    [record] = caplog.records
    assert "created instance-1, the only new instance with these arguments" in record.getMessage()
    assert SECRET not in record.getMessage() and "tok-1" not in record.getMessage()


@pytest.mark.parametrize("answer", [DROPPED, httpx.ReadError("reset"), 502])
def test_a_start_that_provably_did_not_happen_is_sent_again(
    router: respx.MockRouter, client: Client, answer: Any
) -> None:
    server = Server(router, [(False, answer), (True, 200)])
    instance = client.start(ARGS)
    assert instance.instance_id == "instance-1"
    assert len(server.instances) == 1
    assert server.start.call_count == 2
    assert server.list.call_count == 2  # the snapshot, then the reconciliation


@pytest.mark.parametrize(
    "answer",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("timed out")],
)
def test_a_request_that_was_never_sent_is_resent_without_reconciling(
    router: respx.MockRouter, client: Client, answer: Any
) -> None:
    server = Server(router, [(False, answer), (True, 200)])
    assert client.start(ARGS).instance_id == "instance-1"
    assert server.start.call_count == 2
    assert server.list.call_count == 1


def test_rate_limited_start_is_resent(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    server = Server(router, [(True, 200)])
    server.start.side_effect = [
        httpx.Response(429, headers={"Retry-After": "4"}),
        server.respond,
    ]
    assert client.start(ARGS).instance_id == "instance-1"
    assert cortecs_clock.sleeps == [4.0]
    assert server.list.call_count == 1


def test_older_instances_and_other_arguments_are_not_mistaken_for_the_result(
    router: respx.MockRouter, client: Client
) -> None:
    server = Server(router, [(True, 200)])
    server.add(context_length=8192)  # existed before the call: not this start's
    server.start.side_effect = [
        _creating(server, context_length=4096, answer=DROPPED),  # someone else's, other args
        server.respond,
    ]
    instance = client.start(ARGS)
    assert instance.instance_id == "instance-3"
    assert server.start.call_count == 2


def test_several_matches_are_reported_not_guessed(router: respx.MockRouter, client: Client) -> None:
    server = Server(router, [])

    def two_appear(request: httpx.Request) -> httpx.Response:
        server.add(context_length=8192)
        server.add(context_length=8192)
        raise DROPPED

    server.start.side_effect = two_appear
    with pytest.raises(UncertainStartError, match="several new instances") as raised:
        client.start(ARGS)
    assert raised.value.candidates == ["instance-1", "instance-2"]
    assert "instance-1, instance-2" in str(raised.value)
    assert server.start.call_count == 1


def test_persistent_server_errors_stop_after_max_attempts(
    router: respx.MockRouter, client: Client
) -> None:
    server = Server(router, [(False, 500)] * 5)
    with pytest.raises(ServerError, match="POST /instances/start failed with HTTP 500"):
        client.start(ARGS)
    assert server.start.call_count == 5
    assert server.instances == []


def test_a_refused_token_on_start_is_renewed_and_the_start_sent_once(
    router: respx.MockRouter, client: Client
) -> None:
    server = Server(router, [])
    server.start.side_effect = [
        httpx.Response(401, json={"detail": "Token expired"}),
        _creating(server, context_length=8192, answer=200),
    ]
    assert client.start(ARGS).instance_id == "instance-1"
    assert server.start.call_count == 2
    assert len(server.instances) == 1


def _creating(server: Server, *, context_length: int, answer: Any) -> Any:
    def start(request: httpx.Request) -> httpx.Response:
        instance = server.add(context_length=context_length)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json={"instance": instance})

    return start


def test_an_instance_the_api_lists_late_is_still_found(
    router: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    server = Server(router, [])
    lagging: list[dict[str, Any]] = []

    def created_but_not_listed_yet(request: httpx.Request) -> httpx.Response:
        lagging.append(instance_json("instance-1", context_length=8192))
        raise DROPPED

    def listed_after_a_second(request: httpx.Request) -> httpx.Response:
        shown = lagging if cortecs_clock() >= 1.0 else []
        return httpx.Response(200, json={"instances": shown})

    server.start.side_effect = created_but_not_listed_yet
    server.list.side_effect = listed_after_a_second
    with make_client(cortecs_clock, settle_seconds=3.0) as client:
        assert client.start(ARGS).instance_id == "instance-1"
    assert server.start.call_count == 1


def test_a_new_instance_is_not_taken_while_a_rival_start_is_in_flight(
    router: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    server = Server(router, [(True, DROPPED)])
    ledger = InMemoryLedger()
    ledger.begin(StartIntent(ARGS.model_copy(update=RESOLVED), frozenset()))  # never settles
    with make_client(cortecs_clock) as client, pytest.raises(UncertainStartError) as raised:
        client.start(ARGS, ledger=ledger)
    assert raised.value.candidates == ["instance-1"]
    assert "1 other start(s) with the same arguments are still under way" in str(raised.value)
    assert server.start.call_count == 1


def test_a_rival_that_learns_its_outcome_leaves_ours_to_take(
    router: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    server = Server(router, [])
    ledger = InMemoryLedger()
    rival = StartIntent(ARGS.model_copy(update=RESOLVED), frozenset())
    ledger.begin(rival)

    def both_appear(request: httpx.Request) -> httpx.Response:
        server.add(context_length=8192)  # the rival's, whose answer is on its way
        server.add(context_length=8192)  # ours, whose answer is lost
        raise DROPPED

    def rival_answered(seconds: float) -> None:
        ledger.started(rival, "instance-1")
        cortecs_clock.sleep(seconds)

    server.start.side_effect = both_appear
    with Client(DEMO_CLIENT_ID, SECRET, sleep=rival_answered, clock=cortecs_clock) as client:
        assert client.start(ARGS, ledger=ledger).instance_id == "instance-2"
    assert server.start.call_count == 1


# The API's defaults for ARGS, from MODEL_DETAIL.
RESOLVED = {"hardware_type_id": "NVIDIA_L4_1", "billing_interval": "per_minute", "num_workers": 1}
