"""What a `pulumi up` shows the user: messages sent to the engine's Log service (a recording
one, at the address a provider process gets on its command line), each under the resource it
is about, a step of bringing an instance up as that resource's status; stderr when there is no
engine to send them to. The dynamic provider here; the native plugin in test_native_provider.py;
no secret in any of them in test_reliability_secrets.py and there."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2
from pulumi_cortecs.resource._reporting import EngineLog, engine_address
from pulumi_cortecs.resource._request_urn import request_urn
from pulumi_cortecs.testing import (
    EngineMessage,
    FakeApiProcess,
    RecordingEngine,
    provider_env,
)
from pulumi_cortecs.testing.engine import Deployment, ProviderProcess
from pulumi_cortecs.testing.engine import urn as dynamic_urn
from pulumi_cortecs.testing.plugin import PluginProcess

from tests import LLAMA
from tests.test_engine_lifecycle import declare

PRICE = " EUR/hour"


def recorded(process: PluginProcess | ProviderProcess) -> list[EngineMessage]:
    assert process.engine is not None
    return list(process.engine.messages)


def assert_shown_under(messages: list[EngineMessage], instance_id: str, urn: str) -> None:
    """Every message about the instance is under its resource; its boot steps were its status,
    and the rest of what it went through stays in the summary."""
    about = [message for message in messages if instance_id in message.text]
    assert {message.urn for message in about} == {urn}
    statuses = [message.text for message in about if message.ephemeral]
    kept = [message.text for message in about if not message.ephemeral]
    assert statuses and all(f"{instance_id}: step " in text for text in statuses)
    assert kept[0].startswith(f"started {instance_id} for ")
    assert f"{instance_id}: running, " in kept[1]
    assert kept[-1].startswith(f"{instance_id}: ready in ")


@pytest.mark.engine
def test_a_dynamic_create_shows_its_messages_under_its_resource(
    cortecs_engine: ProviderProcess,
) -> None:
    stack = Deployment(cortecs_engine)
    stack.up({"chat": declare(model_id=LLAMA)})
    instance_id = stack.state["chat"].id
    messages = recorded(cortecs_engine)
    [price] = [message for message in messages if PRICE in message.text]
    assert (price.urn, price.severity, price.ephemeral) == (dynamic_urn("chat"), "INFO", False)
    assert_shown_under(messages, instance_id, dynamic_urn("chat"))
    stack.destroy()
    destroyed = recorded(cortecs_engine)[len(messages) :]
    said = [message.text for message in destroyed if not message.ephemeral]
    assert said[0].startswith(f"{instance_id} cost ") and " EUR since its last start " in said[0]
    assert said[1::2] == [f"stopping {instance_id}", f"deleted {instance_id}"]
    assert {message.urn for message in destroyed} == {dynamic_urn("chat")}
    assert cortecs_engine.stderr == ""


@pytest.mark.engine
def test_without_an_engine_messages_go_to_stderr(
    cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    provider = ProviderProcess(env=provider_env(cortecs_home), engine=False)
    try:
        provider.configure(cortecs_api.stack_config())
        stack = Deployment(provider)
        stack.up({"chat": declare(model_id=LLAMA)})
        instance_id = stack.state["chat"].id
        assert provider.logged(f"info: started {instance_id} for ")
        assert provider.logged(f"info: {instance_id}: step ")
        assert provider.logged(f"info: {instance_id}: ready in ")
        stack.destroy()
    finally:
        provider.close()


def test_an_engine_that_cannot_be_reached_leaves_messages_on_stderr() -> None:
    gone = RecordingEngine()
    gone.close()
    stderr = io.StringIO()
    log = EngineLog(gone.address, stderr=stderr)
    log.reporter("urn:pulumi:dev::p::t::chat").warn("the pool stays at 4")
    log.reporter("urn:pulumi:dev::p::t::chat").status("step 1/5")
    assert stderr.getvalue() == "warning: the pool stays at 4\ninfo: step 1/5\n"
    assert gone.messages == []


def test_an_engine_that_fails_once_is_not_asked_again() -> None:
    """A hung engine would hold every message up for the timeout: after one failure, stderr."""

    class Hung:
        calls = 0

        def Log(self, request: object, timeout: float) -> None:
            Hung.calls += 1
            raise grpc.RpcError()

    stderr = io.StringIO()
    log = EngineLog("127.0.0.1:1", stderr=stderr)
    log._stub = Hung()  # type: ignore[assignment]
    for step in range(1, 4):
        log.reporter("urn:pulumi:dev::p::t::chat").status(f"step {step}/5")
    assert Hung.calls == 1
    assert stderr.getvalue() == "info: step 1/5\ninfo: step 2/5\ninfo: step 3/5\n"


def test_messages_reach_the_engine_at_the_address_on_the_command_line() -> None:
    engine = RecordingEngine()
    try:
        argv = ["--logtostderr", "-v=9", "--tracing", "http://127.0.0.1:9/", engine.address]
        stderr = io.StringIO()
        EngineLog(engine_address(argv), stderr=stderr).reporter("urn:x").info("hello")
        EngineLog(engine_address([]), stderr=stderr).reporter("urn:x").info("to stderr")
    finally:
        engine.close()
    assert engine.messages == [EngineMessage("INFO", "hello", "urn:x", ephemeral=False)]
    assert stderr.getvalue() == "info: to stderr\n"


def test_the_urn_is_that_of_the_request_being_served() -> None:
    def servicer(request: Any) -> str:
        return provider(request.properties)

    def provider(props: Any) -> str:
        return request_urn()

    assert provider({}) == "", "no request on the stack"
    urn = "urn:pulumi:dev::p::t::chat"
    assert servicer(provider_pb2.CreateRequest(urn=urn)) == urn
