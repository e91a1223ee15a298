"""``start`` sends at most one instance into existence, whatever happens to its response."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pulumi_cortecs import Client
from pulumi_cortecs._exceptions import ApiError, ServerError
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.testing import DEMO_CLIENT_ID, ManualClock

from tests import BASE, LLAMA_ID
from tests._client_helpers import (
    SECRET,
    instance_json,
    token_response,
)

ARGS = InstanceArgs(model_id=LLAMA_ID, context_length=8192)


class Server:
    """Instances that exist server-side, and a scripted outcome for each start request."""

    def __init__(self, router: respx.MockRouter, outcomes: list[tuple[bool, Any]]) -> None:
        self.instances: list[dict[str, Any]] = []
        self._outcomes = outcomes  # (creates an instance?, what the client gets back)
        router.post("/oauth2/token").mock(return_value=token_response())
        router.get("/instances/").mock(side_effect=self._list)
        self.start = router.post("/instances/start").mock(side_effect=self.respond)
        self.list = router.routes[1]

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


@pytest.fixture
def client(cortecs_clock: ManualClock) -> Iterator[Client]:
    with Client(DEMO_CLIENT_ID, SECRET, sleep=cortecs_clock.sleep, clock=cortecs_clock) as client:
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
    assert "created instance instance-1; using it" in record.getMessage()
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
    with pytest.raises(
        ApiError, match=r"several new instances match it \(instance-1, instance-2\)"
    ):
        client.start(ARGS)
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
