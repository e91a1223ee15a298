"""The client against the fake API: whole lifecycles in-process (instant, on a manual clock) and
over HTTP, ending with LangChain answering from a running instance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_openai import ChatOpenAI
from pulumi_cortecs import (
    Client,
    Instance,
    InstanceArgs,
    InstanceStoppedError,
    NotFoundError,
    UnknownModelError,
)
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer, ManualClock, mock_api

from tests import LLAMA


@pytest.fixture(
    params=[("today", "newer"), ("today", "older"), ("seed", "newer"), ("seed", "older")],
    ids="-".join,
)
def api(request: pytest.FixtureRequest, cortecs_clock: ManualClock) -> Iterator[FakeBackend]:
    era, shape = request.param
    backend = FakeBackend(clock=cortecs_clock, step_seconds=12.0, api_era=era, response_shape=shape)
    with mock_api(backend):
        yield backend


def test_lifecycle_start_wait_stop_restart_delete(api: FakeBackend, client: Client) -> None:
    started = client.start(InstanceArgs(model_id=LLAMA, num_workers=2))
    assert started.status == "pending" and started.base_url is None
    seen: list[tuple[str, int | None]] = []

    def progress(instance: Instance) -> None:
        step = instance.instance_status.init_progress
        seen.append((instance.status, step.current_step if step else None))

    running = client.wait_until_running(started.instance_id, on_progress=progress)
    # Each step seen is reported once, in order (a 12 s step may pass unseen near the finish).
    steps = [step for status, step in seen if status == "pending"]
    assert steps[0] == 1 and steps[-1] == 5 and steps == sorted(set(steps))
    assert seen[-1][0] == "running"
    assert running.base_url and running.instance_status.started_at is not None
    assert running.instance_args.num_workers == 2  # read from worker_statuses in the newer shape
    assert running.instance_args.hardware_type_id == "NVIDIA_L4_1"

    client.stop(running.instance_id)
    stopped = client.wait_until_stopped(running.instance_id)
    assert stopped.base_url is None and stopped.instance_status.init_progress is None
    assert client.restart(running.instance_id).status == "pending"
    client.wait_until_running(running.instance_id)
    client.stop(running.instance_id)
    assert client.delete(running.instance_id) == running.instance_id
    with pytest.raises(NotFoundError, match="404"):
        client.get_instance(running.instance_id)
    assert client.list_instances() == []


def test_waiting_on_an_instance_stopped_meanwhile_fails_fast(
    api: FakeBackend, client: Client, cortecs_clock: ManualClock
) -> None:
    instance_id = client.start(InstanceArgs(model_id=LLAMA)).instance_id
    api.stop_instance(instance_id)
    with pytest.raises(InstanceStoppedError, match=instance_id):
        client.wait_until_running(instance_id)


def test_a_lost_start_response_yields_exactly_one_instance(
    api: FakeBackend, client: Client
) -> None:
    api.faults.lose_next_start_response()
    instance = client.start(InstanceArgs(model_id=LLAMA))
    assert api.starts == 1
    assert list(api.instances) == [instance.instance_id]


def test_an_expired_token_is_renewed_once(api: FakeBackend, client: Client) -> None:
    client.list_instances()
    api.expire_tokens()
    client.list_instances()
    assert api.token_fetches == 2


def test_retry_after_is_honoured(api: FakeBackend, cortecs_clock: ManualClock) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        cortecs_clock.advance(seconds)

    api.faults.fail_next(503, path="/instances/", retry_after=2)
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, sleep=sleep, clock=cortecs_clock) as client:
        assert client.list_instances() == []
    assert sleeps == [2]


def test_langchain_answers_from_an_instance_started_over_http() -> None:
    with FakeServer(FakeBackend(step_seconds=0.02)) as server:
        with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, server.api_base_url) as client:
            started = client.start(InstanceArgs(model_id="microsoft/Phi-3.5-mini-instruct"))
            instance = client.wait_until_running(started.instance_id, timeout=30)
        llm = ChatOpenAI(**instance.chat_openai_config(temperature=0), api_key="demo-api-key")
        reply = llm.invoke("hello from the client test")
    assert "hello from the client test" in str(reply.content)


@pytest.mark.parametrize("typed", [f"{LLAMA[:-1]}", f"{LLAMA[:-1]}".replace("/", "--")])
def test_starting_a_misspelt_model_offers_the_hugging_face_name(
    api: FakeBackend, client: Client, typed: str
) -> None:
    with pytest.raises(UnknownModelError) as raised:
        client.start(InstanceArgs(model_id=typed))
    assert str(raised.value) == (
        f"model {typed.replace('--', '/')!r} is not in the catalog; did you mean {LLAMA}?"
    )
    assert isinstance(raised.value, NotFoundError) and raised.value.suggestions == [LLAMA]
    assert api.instances == {}, "nothing was started"
